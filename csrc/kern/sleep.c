/*
 * msleep/wakeup on wait channels (any address), with timeouts in ticks.
 */
#include <stdint.h>
#include <stdlib.h>

#include "kern.h"
#include "../sys/mutex.h"

/*
 * Puts the current thread to sleep on 'chan', dropping 'm' on the way (no
 * preemption point between the two: the real kernel holds the sleep queue
 * lock across them) and taking it back when woken unless PDROP.
 */
int
sleep_internal(struct kthread *td, const void *chan, struct mtx *m, int pri,
    const char *wmesg, int timo)
{
	struct sim *s = cursim;
	int rval;

	if (td->td_critnest != 0)
		panic("mi_switch: switch in a critical section");
	td->td_state = UMASIM_TS_SLEEPING;
	td->td_wchan = chan;
	td->td_wmesg = wmesg;
	td->td_timedout = 0;
	td->td_sleepseq = ++s->st.sleepseq;
	td->td_timo_at = -1;
	FP_WRITE(chan);
	fp_note(FPK_SLEEPQ, 1);
	if (timo > 0) {
		FP_ALL();	/* it reads the clock */
		td->td_timo_at = s->st.now + timo;
		sched_timer_add(s, td->td_timo_at);
	}
	if (s->st.trace_level >= UMASIM_TRACE_FULL && !td->td_kernel)
		ev_record_sleep(s, (int64_t)kern_canon(s, chan), timo, wmesg);
	if (m != NULL)
		mtx_unlock_nopoint(m);
	td->td_acts++;
	sched_block(td, PT_MSLEEP);
	rval = td->td_timedout ? EWOULDBLOCK : 0;
	if (m != NULL && (pri & PDROP) == 0)
		mtx_lock_nopoint(m);
	return (rval);
}

int
msleep(const void *chan, struct mtx *m, int pri, const char *wmesg, int timo)
{
	struct kthread *td = cursim->st.curthread;

	sched_point(PT_MSLEEP);
	if (m != NULL && cursim->st.cfg.invariants)
		mtx_assert(m, MA_OWNED);
	return (sleep_internal(td, chan, m, pri, wmesg, timo));
}

static int
by_tid(const void *a, const void *b)
{

	return (*(const int *)a - *(const int *)b);
}

/* Wakes the sleepers on 'chan' (the earliest one only if 'one'). */
int
wakeup_internal(struct sim *s, const void *chan, int one)
{
	int tid, n;

	/* The queue holds them in the order they fell asleep. */
	n = 0;
	FP_WRITE(chan);
	if (one)
		fp_note(FPK_SLEEPQ, 0);
	while ((tid = kix_sleep_first(s, chan)) >= 0) {
		sched_wake_thread(s, sim_td(s, tid));
		n++;
		if (one)
			break;
	}
	return (n);
}

static void
wakeup_common(const void *chan, int one, int pt)
{
	struct sim *s = cursim;
	int n;

	sched_point(pt);
	n = wakeup_internal(s, chan, one);
	if (ORACLE_ON(s))
		oracle_wakeup(s, chan, n);
	if (s->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(s, EVK_WAKEUP, (int64_t)kern_canon(s, chan), n);
	s->st.curthread->td_acts++;
}

void
wakeup(const void *chan)
{

	wakeup_common(chan, 0, PT_WAKEUP);
}

void
wakeup_one(const void *chan)
{

	wakeup_common(chan, 1, PT_WAKEUP_ONE);
}

/*
 * Wakes every timed sleeper whose time has come; returns the earliest
 * timeout still pending.
 */
int64_t
sleep_wakeup_timers(struct sim *s)
{
	struct kthread *td, *cur;
	int64_t next;
	int *due, ndue, tid, i;

	next = INT64_MAX;
	if (s->ix.ntimed == 0)
		return (next);
	/* The due sleepers, woken in tid order (their events' order). */
	due = s->ix.due;
	ndue = 0;
	for (tid = kix_timed_first(s); tid >= 0; tid = td->td_tnext) {
		td = sim_td(s, tid);
		if (td->td_timo_at <= s->st.now)
			due[ndue++] = tid;
		else if (td->td_timo_at < next)
			next = td->td_timo_at;
	}
	if (ndue > 1)
		qsort(due, (size_t)ndue, sizeof(int), by_tid);
	for (i = 0; i < ndue; i++) {
		td = sim_td(s, due[i]);
		/*
		 * A timeout is the sleeper's event, not that of whichever
		 * thread happened to stop last (which would depend on how
		 * the host split the run).
		 */
		if (s->st.trace_level >= UMASIM_TRACE_FULL) {
			cur = s->st.curthread;
			s->st.curthread = td;
			ev_record(s, EVK_WAKEUP,
			    (int64_t)kern_canon(s, td->td_wchan), -1);
			s->st.curthread = cur;
		}
		sched_wake_thread(s, td);
		td->td_timedout = 1;
	}
	return (next);
}

int64_t
sleep_next_timeout(const struct sim *s)
{
	const struct kthread *td;
	int64_t next;
	int tid;

	next = INT64_MAX;
	for (tid = s->ix.timed_head; tid >= 0; tid = td->td_tnext) {
		td = sim_td(s, tid);
		if (td->td_timo_at < next)
			next = td->td_timo_at;
	}
	return (next);
}
