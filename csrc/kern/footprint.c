/*
 * Footprints: what a step touched, for the bounded explorer's sleep sets
 * (explorer/bounded.c; docs/engine.md, "Footprints").
 *
 * A footprint is a small set of (object, read or written) pairs, or 'all'
 * when the step may have touched anything.  The objects are mutexes (a
 * keg's lock stands for the keg, its zones, slabs and zone buckets, which
 * FreeBSD 7 changes only under it), vCPUs (a CPU's per-CPU caches and who
 * may run there), program variables, the VM (pages, kmem_map, the page
 * table), sleep channels and the order of sleepers.  Two steps are
 * independent when no object is in both with a write in either.
 *
 * Nothing is recorded unless s->fp_on (set by the bounded explorer when
 * it reduces): the hooks are one predictable branch on a flag.  Where the
 * simulator cannot name what a step touched, it marks the step 'all'.
 */
#include <stdlib.h>
#include <string.h>

#include "kern.h"

static inline uint64_t
fp_bit(uint64_t obj)
{

	return (1ULL << ((obj * 0x9e3779b97f4a7c15ULL) >> 58));
}

void
fp_add(struct sim *s, uint64_t obj, int w)
{
	struct kfoot *f = s->fp;
	int i;

	if (f->all)
		return;
	f->any |= fp_bit(obj);
	if (w)
		f->wr |= fp_bit(obj);
	for (i = 0; i < f->n; i++) {
		if (f->obj[i] == obj) {
			f->w[i] |= (uint8_t)(w != 0);
			return;
		}
	}
	if (f->n == FP_MAX) {
		f->all = 1;		/* too many to name: everything */
		return;
	}
	f->obj[f->n] = obj;
	f->w[f->n] = (uint8_t)(w != 0);
	f->n++;
}

/*
 * The start of a step of 'td' (after its migration, if any): it runs on
 * its vCPU (read: who holds it in a critical section decides whether it
 * may run), and keeps writing what it holds -- the mutexes it owns, its
 * vCPU while in a critical section -- and reading the kegs of the op it
 * is inside.  Kernel threads (softclock's callouts, the pagedaemon's
 * uma_reclaim) and ops the simulator does not break down touch anything.
 */
void
fp_step_begin(struct sim *s, struct kthread *td)
{
	struct kfoot *f = s->fp;
	int i;

	f->n = 0;
	f->all = 0;
	f->any = f->wr = 0;
	if (td->td_kernel || td->td_fpall || td->td_nheld > KERN_MAXHELD ||
	    td->td_heldlost) {
		f->all = 1;
		return;
	}
	fp_add(s, FPK_CPU | (uint64_t)td->td_cpu, td->td_critnest != 0);
	for (i = 0; i < td->td_nheld; i++)
		fp_add(s, FP_PTR(td->td_held[i]), 1);
	for (i = 0; i < td->td_nfpz; i++)
		fp_add(s, FP_PTR(td->td_fpz[i]), 0);
}

/*
 * 'td' left its critical section: the other threads on its vCPU may run
 * again, so the default may pick another thread -- the step conflicts
 * with every other (as any step that makes a thread runnable).
 */
void
fp_cpu_released(struct sim *s, const struct kthread *td)
{
	const struct kthread *o;
	int i;

	for (i = 0; i < s->st.nthreads; i++) {
		o = sim_td(s, i);
		if (i != td->td_tid && o->td_cpu == td->td_cpu &&
		    o->td_state == UMASIM_TS_RUNNABLE)
			s->fp->all = 1;
	}
}

/* Independent: no object in both that either of them writes. */
int
fp_independent(const struct kfoot *a, const struct kfoot *b)
{
	int i, j;

	if (a->all || b->all)
		return (0);
	if ((a->any & b->wr) == 0 && (a->wr & b->any) == 0)
		return (1);	/* no object written by one is in the other */
	for (i = 0; i < a->n; i++)
		for (j = 0; j < b->n; j++)
			if (a->obj[i] == b->obj[j] && (a->w[i] | b->w[j]))
				return (0);
	return (1);
}

/*
 * The op under way reads the keg whose lock is 'lock' unlocked at times
 * (FreeBSD 7's unlocked reads of UMA_ZFLAG_FULL, uz_count, ...): every
 * later step of the op reads it.  Too many kegs: the op touches anything.
 */
void
fp_zone(const void *lock)
{
	struct kthread *td = cursim->st.curthread;
	int i;

	for (i = 0; i < td->td_nfpz; i++)
		if (td->td_fpz[i] == lock)
			goto note;
	if (td->td_nfpz == KERN_MAXFPZ) {
		td->td_fpall = 1;
		cursim->fp->all = 1;
		return;
	}
	td->td_fpz[td->td_nfpz++] = lock;
note:
	fp_add(cursim, FP_PTR(lock), 0);
}

/*
 * Logs the step about to start: its runnable threads, with the vCPUs each
 * may be migrated to, the default's index and the chosen thread.  The
 * step's footprint is filled as it runs (s->fp points at it).
 */
int
xlog_append(struct sim *s, const struct runview *rv, int def, int tid)
{
	const struct kthread *td;
	struct xstep *x;
	struct xrun *r;
	uint64_t all, held;
	size_t cap;
	uint64_t bits;
	void *p;
	int i, c, n, w;

	n = rv->n;
	if (s->nxlog == s->capxlog) {
		cap = s->capxlog ? s->capxlog * 2 : 1024;
		p = realloc(s->xlog, cap * sizeof(*s->xlog));
		if (p == NULL)
			goto nomem;
		s->xlog = p;
		s->capxlog = cap;
	}
	if (s->nxrun + (size_t)n > s->capxrun) {
		cap = s->capxrun ? s->capxrun * 2 : 4096;
		while (cap < s->nxrun + (size_t)n)
			cap *= 2;
		p = realloc(s->xrun, cap * sizeof(*s->xrun));
		if (p == NULL)
			goto nomem;
		s->xrun = p;
		s->capxrun = cap;
	}
	all = s->st.ncpus >= 64 ? ~0ULL : (1ULL << s->st.ncpus) - 1;
	held = 0;
	for (c = 0; c < s->st.ncpus; c++)
		if (s->st.cpu_crit[c] >= 0)
			held |= 1ULL << c;
	x = &s->xlog[s->nxlog++];
	x->run = (uint32_t)s->nxrun;
	x->n = (uint16_t)n;
	x->def = (uint16_t)def;
	x->tid = (int16_t)tid;
	x->fp.n = 0;
	x->fp.all = 0;
	x->fp.any = x->fp.wr = 0;
	/* The runnable threads in tid order, as the decision numbers them. */
	for (w = 0; w < rv->nwords; w++) {
		for (bits = rv->w[w]; bits != 0; bits &= bits - 1) {
			i = w * 64 + __builtin_ctzll(bits);
			td = sim_td(s, i);
			r = &s->xrun[s->nxrun++];
			r->tid = i;
			/* As migrate_allowed() (sched.c) has it. */
			r->mig = td->td_critnest != 0 ? 0 :
			    all & ~(1ULL << td->td_cpu) & ~held;
		}
	}
	s->fp = &x->fp;
	return (0);
nomem:
	s->xlog_oom = 1;
	s->fp = &s->fp_spare;
	return (-1);
}
