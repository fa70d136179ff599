/*
 * Sleep mutexes (FreeBSD 7's MTX_DEF).  Waiters are found in a wait queue
 * of the simulation keyed by the mutex (kindex.c), so struct mtx keeps its
 * real size and layout.
 */
#include <string.h>

#include "kern.h"
#include "../sys/mutex.h"

#define	MTX_OWNER_OF(tid)	(((uintptr_t)(tid) + 1) << 3)

int
mtx_owner_tid(const struct mtx *m)
{
	uintptr_t v = m->mtx_lock;

	if (v & MTX_UNOWNED)
		return (-1);
	return ((int)(v >> 3) - 1);
}

/*
 * The mutexes a thread holds, for footprints (footprint.c): more than
 * KERN_MAXHELD are counted, not named, and make its steps touch anything.
 */
static void
held_drop(struct kthread *td, struct mtx *m)
{
	int i, n;

	if (td->td_nheld > KERN_MAXHELD)
		td->td_heldlost = 1;
	n = td->td_nheld < KERN_MAXHELD ? td->td_nheld : KERN_MAXHELD;
	for (i = 0; i < n; i++) {
		if (td->td_held[i] == m) {
			td->td_held[i] = td->td_held[n - 1];
			break;
		}
	}
	if (--td->td_nheld == 0)
		td->td_heldlost = 0;
}

int
mtx_owned(struct mtx *m)
{

	return (mtx_owner_tid(m) == cursim->st.curthread->td_tid);
}

void
mtx_init(struct mtx *m, const char *name, const char *type, int opts)
{

	memset(m, 0, sizeof(*m));
	m->lock_object.lo_name = name;
	m->lock_object.lo_type = type != NULL ? type : name;
	m->lock_object.lo_flags = (unsigned int)opts | LO_INITIALIZED;
	m->mtx_lock = MTX_UNOWNED;
}

void
mtx_destroy(struct mtx *m)
{

	if (mtx_owner_tid(m) >= 0 &&
	    (cursim->st.curthread == NULL || !mtx_owned(m)))
		panic("mtx_destroy: mutex %s is owned", m->lock_object.lo_name);
	if (mtx_owner_tid(m) >= 0) {
		cursim->st.curthread->td_nlocks--;
		held_drop(cursim->st.curthread, m);
	}
	FP_WRITE(m);
	m->mtx_lock = MTX_DESTROYED;
	m->lock_object.lo_flags &= ~LO_INITIALIZED;
}

void
mtx_lock_nopoint(struct mtx *m)
{
	struct sim *s = cursim;
	struct kthread *td = s->st.curthread;
	int owner;

	if (m->mtx_lock == MTX_DESTROYED)
		panic("mtx_lock() of destroyed mutex %s", m->lock_object.lo_name);
	FP_WRITE(m);
	owner = mtx_owner_tid(m);
	if (owner == td->td_tid) {
		if ((m->lock_object.lo_flags & MTX_RECURSE) == 0)
			panic("_mtx_lock_sleep: recursed on non-recursive mutex %s",
			    m->lock_object.lo_name);
		m->mtx_recurse++;
		m->mtx_lock |= MTX_RECURSED;
		td->td_acts++;
		return;
	}
	while ((owner = mtx_owner_tid(m)) >= 0) {
		if (s->st.trace_level >= UMASIM_TRACE_FULL)
			ev_record(s, EVK_LOCK_CONTENDED, (int64_t)kern_canon(s, m),
			    owner);
		m->mtx_lock |= MTX_CONTESTED;
		td->td_state = UMASIM_TS_BLOCKED;
		td->td_blocked = m;
		td->td_acts++;
		sched_block(td, PT_MTX_LOCK);
		FP_WRITE(m);
	}
	/* Keep the contested bit while others still wait. */
	m->mtx_lock = MTX_OWNER_OF(td->td_tid) | (m->mtx_lock & MTX_CONTESTED);
	if (td->td_nheld < KERN_MAXHELD)
		td->td_held[td->td_nheld] = m;
	td->td_nheld++;
	td->td_nlocks++;
	td->td_acts++;
}

void
mtx_lock(struct mtx *m)
{

	sched_point(PT_MTX_LOCK);
	mtx_lock_nopoint(m);
}

void
mtx_unlock_nopoint(struct mtx *m)
{
	struct sim *s = cursim;
	struct kthread *td = s->st.curthread;
	uintptr_t contested;
	int tid;

	if (mtx_owner_tid(m) != td->td_tid)
		panic("mutex %s not owned", m->lock_object.lo_name);
	td->td_acts++;
	FP_WRITE(m);
	if (m->mtx_recurse != 0) {
		if (--m->mtx_recurse == 0)
			m->mtx_lock &= ~(uintptr_t)MTX_RECURSED;
		return;
	}
	contested = m->mtx_lock & MTX_CONTESTED;
	m->mtx_lock = MTX_UNOWNED;
	td->td_nlocks--;
	held_drop(td, m);
	if (!contested)
		return;
	/* Every waiter runs again, and retries (the queue empties). */
	while ((tid = kix_mtx_first(s, m)) >= 0)
		sched_wake_thread(s, sim_td(s, tid));
}

void
mtx_unlock(struct mtx *m)
{

	sched_point(PT_MTX_UNLOCK);
	mtx_unlock_nopoint(m);
}

void
mtx_assert(struct mtx *m, int what)
{
	struct sim *s = cursim;
	int owned;

	if (!s->st.cfg.invariants)
		return;
	owned = mtx_owned(m);
	if ((what & MA_OWNED) && !owned)
		panic("mutex %s not owned", m->lock_object.lo_name);
	if ((what & MA_NOTOWNED) && owned)
		panic("mutex %s owned", m->lock_object.lo_name);
	if ((what & MA_RECURSED) && owned && m->mtx_recurse == 0)
		panic("mutex %s unrecursed", m->lock_object.lo_name);
	if ((what & MA_NOTRECURSED) && owned && m->mtx_recurse != 0)
		panic("mutex %s recursed", m->lock_object.lo_name);
}
