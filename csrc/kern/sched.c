/*
 * The step loop: vCPUs, threads, preemption points, decisions.
 *
 * A step resumes one thread and runs it to its next stop: a preemption
 * point, a block (mutex, sleep, variable), its end, or a panic.  When a
 * thread stops inside umasim_run(), it asks the policy for the next
 * decision itself; if the same thread continues it simply returns (no
 * context switch), otherwise it switches straight to the chosen thread.
 * Only the end of a run, a manual step or a panic goes back to the host
 * side (sched_ctx).
 */
#include <signal.h>
#include <stdlib.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kern.h"
#include "policy/policy.h"
#include "stack.h"

__thread struct sim *cursim;
__thread int kern_on_thread;

struct choice {
	int	tid;		/* -1: the run ends (outcome set) */
	int	mig;		/* vCPU to migrate to first, or -1 */
	int	idx, n, def;	/* for the canonical decision */
	int	deftid;
};

int
thread_runnable(const struct sim *s, const struct kthread *td)
{
	int owner;

	if (td->td_state != UMASIM_TS_RUNNABLE)
		return (0);
	owner = s->st.cpu_crit[td->td_cpu];
	return (owner < 0 || owner == td->td_tid);
}

/*
 * The index of the default decision's thread among the runnable ones:
 * the thread that ran last while it can, else the first.
 */
static int
default_index(const struct sim *s, const struct runview *rv)
{
	int i;

	if (s->st.lastrun >= 0 &&
	    (i = runview_rank(rv, s->st.lastrun)) >= 0)
		return (i);
	return (0);
}

/*
 * Whether the run's policy reads the default decision's index (sequential
 * and script decide by it), or something else logs it (the explorers).
 * The others -- random, pct, roundrobin -- choose without it.
 */
static inline int
policy_needs_default(const struct sim *s)
{

	return (s->st.pol.kind == UMASIM_POL_SEQUENTIAL ||
	    s->st.pol.kind == UMASIM_POL_SCRIPT || s->brlog_on || s->xlog_on);
}

/*
 * A migration happens only outside critical sections, to another vCPU
 * that no other thread holds in a critical section.
 */
static int
migrate_allowed(const struct sim *s, const struct kthread *td, int cpu)
{

	if (cpu < 0 || cpu >= s->st.ncpus || cpu == td->td_cpu)
		return (0);
	if (td->td_critnest != 0)
		return (0);
	return (s->st.cpu_crit[cpu] < 0);
}

void
sched_timer_add(struct sim *s, int64_t when)
{

	if (when < s->st.next_timer) {
		s->st.next_timer = when;
		s->seq_left = 0;	/* sched_seq_continue() counted to the old one */
	}
}

static void
timers_fire(struct sim *s)
{
	int64_t next;

	next = sleep_wakeup_timers(s);
	if (callout_due(s))
		softclock_wake(s);
	if (callout_next_after(s) < next)
		next = callout_next_after(s);
	s->st.next_timer = next;
}

/* Bookkeeping at the end of every step. */
static inline void
step_end(struct sim *s, struct kthread *td)
{

	if (s->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(s, EVK_STEP, td->td_point, td->td_state);
	if (s->cover != NULL)
		s->cover[td->td_point] = 1;
	s->st.now += s->st.cfg.ticks_per_step;
	if (s->st.now >= s->st.next_timer) {
		if (s->fp_on)	/* wakeups and callouts: not this step's own */
			s->fp->all = 1;
		timers_fire(s);
	}
}

/*
 * Nothing can run: jump virtual time to the next timed sleep or callout,
 * if a timed sleep is pending.  Callouts alone do not keep a run alive.
 */
static int
time_jump(struct sim *s)
{
	int64_t next;

	next = sleep_next_timeout(s);
	if (next == INT64_MAX)
		return (0);
	if (callout_next_after(s) < next)
		next = callout_next_after(s);
	if (next > s->st.now)
		s->st.now = next;
	timers_fire(s);
	return (1);
}

/*
 * The decision for the next step.  Sets s->outcome and returns tid -1 when
 * the run is over.
 */
static struct choice
sched_choose(struct sim *s)
{
	struct runview rv;
	struct choice c;
	int idx;

	c.tid = -1;
	c.mig = -1;
	for (;;) {
		if (s->st.panicked) {
			s->st.outcome = s->st.faulted ? UMASIM_OUT_HOST_FAULT :
			    UMASIM_OUT_PANIC;
			return (c);
		}
		if (s->st.nlive == 0) {
			s->st.outcome = UMASIM_OUT_COMPLETED;
			return (c);
		}
		kix_view(s, &rv);
		c.n = rv.n;
		/* A deadlock is one whatever the step limit says. */
		if (c.n == 0 && sleep_next_timeout(s) == INT64_MAX) {
			s->st.outcome = UMASIM_OUT_DEADLOCK;
			return (c);
		}
		if (s->st.nsteps >= s->st.run_limit) {
			s->st.outcome = UMASIM_OUT_STEP_LIMIT;
			return (c);
		}
		if (c.n > 0)
			break;
		time_jump(s);
	}
	if (!policy_needs_default(s)) {
		/*
		 * Only whether the policy took the default matters (the
		 * decision 0): the default's thread, not its index, which
		 * would cost a count over the view.
		 */
		c.deftid = s->st.lastrun >= 0 &&
		    runview_has(&rv, s->st.lastrun) ? s->st.lastrun :
		    runview_nth(&rv, 0);
		idx = policy_choose(s, &rv, c.n, -1, &c.mig);
		if (idx < 0)
			goto failed;
		c.idx = idx;
		c.tid = runview_nth(&rv, idx);
		c.def = c.tid == c.deftid ? idx : -1;
		goto chosen;
	}
	c.def = default_index(s, &rv);
	c.deftid = c.def != 0 ? s->st.lastrun : runview_nth(&rv, 0);
	idx = policy_choose(s, &rv, c.n, c.def, &c.mig);
	if (idx < 0) {
failed:
		s->st.outcome = UMASIM_OUT_RUNNING;
		s->st.script_error = 1;
		return (c);
	}
	c.idx = idx;
	c.tid = idx == c.def ? c.deftid : runview_nth(&rv, idx);
chosen:
	if (s->xlog_on)
		xlog_append(s, &rv, c.def, c.tid);
	/* A pending sim.migrate() folds in here. */
	if (c.mig < 0 && __builtin_expect(s->ix.nmigrate != 0, 0))
		c.mig = sim_td(s, c.tid)->td_migrate_to;
	return (c);
}

/*
 * Starts a step of 'td' taken with decision 'd': the digest due before it,
 * the decision, the step count, and 'td' made current.
 */
static inline void
step_begin(struct sim *s, struct kthread *td, int tid, uint32_t d)
{

	if (__builtin_expect(s->st.digest_every != 0, 0) && s->st.nsteps != 0 &&
	    s->st.nsteps % s->st.digest_every == 0)
		digest_record(s);
	dec_append(s, d);
	s->st.nsteps++;
	s->st.lastrun = tid;
	s->st.curthread = td;
	s->seq_left = 0;	/* sched_seq_continue() looks again */
	if (__builtin_expect(s->ix.nmigrate != 0, 0) && td->td_migrate_to >= 0) {
		td->td_migrate_to = -1;
		s->ix.nmigrate--;
	}
}

/* Applies a decision: records it, migrates, and makes the thread current. */
static void
sched_begin(struct sim *s, struct choice *c)
{
	struct kthread *td = sim_td(s, c->tid);
	uint32_t d;
	int from;

	if (c->mig >= 0 && !migrate_allowed(s, td, c->mig))
		c->mig = -1;
	if (s->brlog_on)
		brlog_append(s, c->n, c->def);
	if (c->idx == c->def && c->mig < 0)
		d = 0;
	else
		d = 1 + (uint32_t)c->idx +
		    (uint32_t)c->n * (uint32_t)(c->mig >= 0 ? c->mig + 1 : 0);
	step_begin(s, td, c->tid, d);
	if (d != 0 && s->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(s, EVK_PREEMPTION, d, c->deftid);
	if (c->mig >= 0) {
		if (td->td_nwin != 0)
			cov_migrated(s, td);
		from = td->td_cpu;
		kix_migrate(s, td, c->mig);
		td->td_cpu = c->mig;
		if (s->st.trace_level >= UMASIM_TRACE_FULL)
			ev_record(s, EVK_MIGRATION, from, c->mig);
	}
	if (__builtin_expect(s->fp_on, 0))
		fp_step_begin(s, td);
}

/*
 * The sequential policy's common case, decided without building the
 * runnable list: the thread that just stopped can go on, so the default
 * decision (0) continues it.  Exactly the cases where sched_choose() would
 * pick it with decision 0: the run is not over, it is runnable, it is the
 * one the default continues, and no sim.migrate() is pending for it.
 * Explorers that log every step's choices (brlog) take the full path.
 */
static inline int
sequential_continues(const struct sim *s, const struct kthread *td)
{

	return (!s->st.panicked && s->st.nlive != 0 &&
	    s->st.nsteps < s->st.run_limit &&
	    s->st.lastrun == td->td_tid && td->td_migrate_to < 0 &&
	    !s->brlog_on && !s->xlog_on && thread_runnable(s, td));
}

/*
 * What switching to thread 'tid' reads first, fetched while the step's
 * bookkeeping runs, so that with many threads (most of them not in the
 * cache) the misses overlap one another rather than follow: the start of
 * its struct kthread (its saved stack pointer) and its stack around where
 * it was switched out (the frames it returns through).  Where that is
 * comes from the hint its last switch left (struct kthread_chunk), not
 * from the thread itself, whose line is still on its way.
 */
static inline void
next_prefetch(const struct sim *s, int tid)
{
	const char *sp = s->tdchunks[tid / KERN_THREAD_CHUNK]->
	    sphint[tid % KERN_THREAD_CHUNK];
	int i;

	__builtin_prefetch(sim_td(s, tid));
	if (sp != NULL)
		for (i = -2; i < 6; i++)
			__builtin_prefetch(sp + i * 64);
}

/* Thread 'td' is switched out: its stack pointer is about 'sp'. */
static inline void
hint_record(struct sim *s, const struct kthread *td, const void *sp)
{

	s->tdchunks[td->td_tid / KERN_THREAD_CHUNK]->
	    sphint[td->td_tid % KERN_THREAD_CHUNK] = sp;
}

/*
 * The thread 'td' has stopped (its state says why).  Inside a run, pick
 * and start the next step from here; otherwise return to the host.
 */
static inline __attribute__((always_inline)) void
sched_stop(struct sim *s, struct kthread *td)
{
	struct kthread *next;
	struct choice c;

	step_end(s, td);
	if (!s->st.in_run) {
		s->st.curthread = NULL;
		ctx_switch(&td->td_ctx, &s->sched_ctx);
		return;
	}
	if (s->st.pol.kind == UMASIM_POL_SEQUENTIAL &&
	    sequential_continues(s, td)) {
		/* What sched_choose() would decide, without the list. */
		step_begin(s, td, td->td_tid, 0);
		return;
	}
	c = sched_choose(s);
	if (c.tid < 0) {
		s->st.curthread = NULL;
		ctx_switch(&td->td_ctx, &s->sched_ctx);
		return;
	}
	next = sim_td(s, c.tid);
	if (next != td)
		next_prefetch(s, c.tid);
	sched_begin(s, &c);
	if (next != td) {
		hint_record(s, td, &c);
		ctx_switch(&td->td_ctx, &next->td_ctx);
	}
}

/* The current thread stops at point 'pt'. */
static inline void
stop_at(struct sim *s, struct kthread *td, int pt)
{

	td->td_point = pt;
	td->td_stop_acts = td->td_acts;
	sched_stop(s, td);
}

/*
 * A stop at point 'pt' under the sequential policy, where nothing but the
 * decision is recorded (s->seq_fast), when the thread goes on: exactly
 * what stop_at() does then -- step_end() (the tick), sequential_continues()
 * (its tests, less those that s->seq_fast answers), step_begin() with
 * decision 0 -- with no call, and no frame.  Returns 0, having changed
 * nothing, when stop_at() must decide: a timer is due, the step limit or
 * the end of the run is reached, the thread cannot go on, or the decision
 * log is full.
 *
 * When it returns 1 it also sets s->seq_left: how many more stops of
 * this thread the same tests would pass whatever the thread does, but
 * for what clears the count (kern.h, struct sim) -- so that
 * sched_point_in() takes those with no test.  Of the tests, the step
 * limit, the room in the decision log and the tick of the next timer
 * bound the count; the others hold for as long as the thread runs on
 * with no scheduled step between: the run is not over (a panic or the
 * thread's end never comes back to a point), it is the one the default
 * continues (lastrun: step_begin()), no sim.migrate() is pending for it
 * (the host's, between runs), it is runnable (a thread that blocks stops
 * at sched_block(), not at a point) and no other thread holds its vCPU
 * (only a thread that runs enters a critical section on its vCPU).
 */
static inline int
sched_seq_continue(struct sim *s, struct kthread *td, int pt)
{
	uint64_t left, room;
	int64_t now, tps;
	int owner;

	if (!s->seq_fast)
		return (0);
	tps = s->st.cfg.ticks_per_step;
	now = s->st.now + tps;
	owner = s->st.cpu_crit[td->td_cpu];
	if (now >= s->st.next_timer || s->st.nsteps >= s->st.run_limit ||
	    s->st.panicked || s->st.nlive == 0 ||
	    s->st.lastrun != td->td_tid || td->td_migrate_to >= 0 ||
	    td->td_state != UMASIM_TS_RUNNABLE ||
	    (owner >= 0 && owner != td->td_tid) || s->ndec == s->capdec)
		return (0);
	td->td_point = pt;
	td->td_stop_acts = td->td_acts;
	s->st.now = now;
	s->ndec++;		/* decision 0: dec_append() writes nothing */
	s->st.nsteps++;
	/* The stops after this one that the tests above would pass. */
	left = s->st.run_limit - s->st.nsteps;
	room = s->capdec - s->ndec;
	if (room < left)
		left = room;
	if (tps > 0 && (uint64_t)(s->st.next_timer - now - 1) / (uint64_t)tps <
	    left)
		left = (uint64_t)(s->st.next_timer - now - 1) / (uint64_t)tps;
	s->seq_left = left;
	return (1);
}

#ifdef UMASIM_SANITIZE
/*
 * The sanitizer build's check of sched_point_in(): a stop it takes on
 * s->seq_left's count is one sched_seq_continue()'s tests pass.
 */
void
sched_seq_verify(struct sim *s, struct kthread *td)
{
	int owner = s->st.cpu_crit[td->td_cpu];

	if (!s->seq_fast ||
	    s->st.now + s->st.cfg.ticks_per_step >= s->st.next_timer ||
	    s->st.nsteps >= s->st.run_limit || s->st.panicked ||
	    s->st.nlive == 0 || s->st.lastrun != td->td_tid ||
	    td->td_migrate_to >= 0 || td->td_state != UMASIM_TS_RUNNABLE ||
	    (owner >= 0 && owner != td->td_tid) || s->ndec == s->capdec) {
		fprintf(stderr, "umasim: sched_point_in() continued thread %s "
		    "at step %llu where sched_seq_continue() would not\n",
		    td->td_name, (unsigned long long)s->st.nsteps);
		abort();
	}
}
#endif

/*
 * Out of line on purpose: a thread may resume on another host thread
 * (the busy guard lets a simulation change hands), and a caller that
 * inlined this read of the thread-local cursim could keep its address
 * (aarch64's tpidr_el0) across the switch.  Callers that read the sim and
 * the thread before, and only use those after, call sched_point_in().
 */
void
sched_point(int pt)
{
	struct sim *s = cursim;
	struct kthread *td = s->st.curthread;

	if (!sched_point_stops(td))
		return;		/* back to back with the last stop: one point */
	if (__builtin_expect(s->seq_left != 0, 1)) {
		sched_seq_step(s, td, pt);
		return;
	}
	if (sched_seq_continue(s, td, pt))
		return;
	stop_at(s, td, pt);
}

/* sched_point_in() past s->seq_left's count: the stop, or the test. */
void
sched_point_slow(int pt)
{
	struct sim *s = cursim;
	struct kthread *td = s->st.curthread;

	if (sched_seq_continue(s, td, pt))
		return;
	stop_at(s, td, pt);
}

/*
 * Interleaving points inside the per-CPU cache paths, only with
 * granularity "fine".  The thread is inside a critical section there, so
 * only threads on other vCPUs can run.
 */
void
sched_fine_point(int pt)
{
	struct sim *s = cursim;
	struct kthread *td = s->st.curthread;

	if (s->st.cfg.granularity != UMASIM_GRAN_FINE || td->td_nopoints)
		return;
	stop_at(s, td, pt);
}

/* A point that stops whatever the granularity (bug switches' windows). */
void
sched_fine_point_always(int pt)
{
	struct sim *s = cursim;
	struct kthread *td = s->st.curthread;

	if (td->td_nopoints)
		return;
	stop_at(s, td, pt);
}

/*
 * The current thread cannot go on (its state is already set to blocked,
 * asleep or waiting).  Blocking in a critical section is a kernel bug.
 */
void
sched_block(struct kthread *td, int pt)
{
	struct sim *s = cursim;

	if (td->td_critnest != 0)
		panic("mi_switch: switch in a critical section");
	if (td->td_nopoints)
		panic("%s blocked where it may not (%s)", td->td_name,
		    td->td_wmesg != NULL ? td->td_wmesg : "mutex");
	kix_wait(s, td);
	stop_at(s, td, pt);
}

void
sched_wake_thread(struct sim *s, struct kthread *td)
{

	/*
	 * Another thread can run now: which thread the default picks may
	 * change (footprint.c), so the step conflicts with every other.
	 */
	if (__builtin_expect(s->fp_on, 0))
		s->fp->all = 1;
	td->td_state = UMASIM_TS_RUNNABLE;
	td->td_wchan = NULL;
	td->td_blocked = NULL;
	td->td_timo_at = -1;
	kix_wake(s, td);
}

/* A kernel thread created asleep on 'chan' (softclock, pagedaemon). */
void
sched_set_asleep(struct sim *s, struct kthread *td, const void *chan,
    const char *wmesg)
{

	td->td_state = UMASIM_TS_SLEEPING;
	td->td_wchan = chan;
	td->td_wmesg = wmesg;
	kix_wait(s, td);
}

/* Ends the current thread: its program is done. */
static void
thread_exit(struct sim *s, struct kthread *td)
{

	if (td->td_critnest != 0)
		panic("thread %s exited inside a critical section",
		    td->td_name);
	if (td->td_nlocks != 0)
		panic("thread %s exited with %d mutex%s held", td->td_name,
		    td->td_nlocks, td->td_nlocks == 1 ? "" : "es");
	td->td_state = UMASIM_TS_FINISHED;
	kix_state(s, td);
	td->td_point = PT_EXIT;
	if (!td->td_kernel)
		s->st.nlive--;
	sched_stop(s, td);
	/* Never resumed. */
	panic("finished thread %s resumed", td->td_name);
}

static void
thread_entry(void *arg)
{
	struct kthread *td = arg;

	td->td_main(td);
	thread_exit(cursim, td);
}

struct kthread *
thread_create(struct sim *s, const char *name, int cpu, int kernel,
    void (*main)(struct kthread *))
{
	struct kthread_chunk *ch;
	struct kthread *td;
	int c, i;

	if (s->st.nthreads >= UMASIM_MAXTHREADS)
		return (NULL);
	c = s->st.nthreads / KERN_THREAD_CHUNK;
	i = s->st.nthreads % KERN_THREAD_CHUNK;
	if (c == s->ntdchunks) {
		/*
		 * A chunk at a time, never moved (pointers into it live on),
		 * each thread's first cache line its own (struct kthread).
		 */
		if (posix_memalign((void **)&ch, 64, sizeof(*ch)) != 0)
			return (NULL);
		memset(ch, 0, sizeof(*ch));
		s->tdchunks[s->ntdchunks++] = ch;
	}
	ch = s->tdchunks[c];
	td = &ch->td[i];
	memset(td, 0, sizeof(*td));
	if (ch->stack[i] == NULL)
		ch->stack[i] = kstack_alloc();
	td->td_stack = ch->stack[i];
	if (td->td_stack == NULL)
		return (NULL);
	td->td_tid = s->st.nthreads++;
	kstack_color(td->td_stack, td->td_tid);
	snprintf(td->td_name, sizeof(td->td_name), "%s", name);
	td->td_cpu = cpu;
	td->td_kernel = kernel;
	td->td_state = UMASIM_TS_RUNNABLE;
	td->td_point = PT_START;
	td->td_migrate_to = -1;
	td->td_timo_at = -1;
	td->td_waitvar = -1;
	td->td_main = main;
	ctx_make(&td->td_ctx, td->td_stack->ks_base, td->td_stack->ks_size,
	    thread_entry, td);
	hint_record(s, td, td->td_stack->ks_base + td->td_stack->ks_size - 128);
	kix_thread_new(s, td);
	if (!kernel)
		s->st.nlive++;
	return (td);
}

/* kern.h: kern_critical_enter(), kern_critical_exit(). */
void
critical_enter(void)
{

	kern_critical_enter();
}

void
critical_exit(void)
{

	kern_critical_exit();
}

/*
 * Called from the SIGSEGV handler, on the alternate signal stack, when the
 * running thread hit its guard page.
 */
void
sched_overflow(struct sim *s, struct kthread *td)
{

	snprintf(s->st.panicmsg, sizeof(s->st.panicmsg),
	    "stack overflow in thread %s", td->td_name);
	kern_panic_finish(s, td);
}

/*
 * Called from the SIGSEGV/SIGBUS handler, on the alternate signal stack,
 * when the running thread faulted outside its guard page: a wild or NULL
 * pointer in the port (or the simulator).  Records where, and ends the
 * simulation with outcome "host_fault".  Only what is in the simulation
 * is recorded: an address outside the arena is a host address, which
 * would differ from process to process, so only a NULL-based one (below
 * UMASIM_FAULT_NULL_LIMIT, which no process maps) is kept.
 */
void
sched_host_fault(struct sim *s, struct kthread *td, int signo,
    const void *addr)
{
	struct umasim_host_fault *f = &s->st.fault;
	const char *pt, *sig;
	uint64_t canon;
	char where[96];

	memset(f, 0, sizeof(*f));
	f->tid = td->td_tid;
	f->point = td->td_point;
	f->step = s->st.nsteps;
	f->signo = signo;
	if (arena_contains(s, addr, &canon)) {
		f->where = UMASIM_FAULT_ARENA;
		f->addr = canon;
		snprintf(where, sizeof(where), "at 0x%llx, in the arena",
		    (unsigned long long)canon);
	} else if ((uintptr_t)addr < UMASIM_FAULT_NULL_LIMIT) {
		f->where = UMASIM_FAULT_NULL;
		f->addr = (uint64_t)(uintptr_t)addr;
		snprintf(where, sizeof(where),
		    "at 0x%llx, a NULL-based address outside the arena",
		    (unsigned long long)f->addr);
	} else {
		f->where = UMASIM_FAULT_OUTSIDE;
		f->addr = 0;
		snprintf(where, sizeof(where), "outside the arena");
	}
	pt = umasim_point_name(td->td_point);
	sig = signo == SIGSEGV ? "SIGSEGV" : signo == SIGBUS ? "SIGBUS" :
	    "signal";
	snprintf(s->st.panicmsg, sizeof(s->st.panicmsg),
	    "%s %s, in thread %s (point %s, step %llu)", sig, where, td->td_name, pt != NULL ? pt : "?",
	    (unsigned long long)f->step);
	kern_fault_finish(s, td);
}

/* ---- the host side ---------------------------------------------------- */

static const char *
why_not_runnable(const struct sim *s, const struct kthread *td, char *buf,
    size_t len)
{

	switch (td->td_state) {
	case UMASIM_TS_BLOCKED:
		snprintf(buf, len, "blocked on mutex %s",
		    td->td_blocked->lock_object.lo_name);
		break;
	case UMASIM_TS_SLEEPING:
		snprintf(buf, len, "asleep on %s", td->td_wmesg);
		break;
	case UMASIM_TS_WAITVAR:
		snprintf(buf, len, "waiting for a variable");
		break;
	case UMASIM_TS_FINISHED:
		snprintf(buf, len, "finished");
		break;
	case UMASIM_TS_PANICKED:
		snprintf(buf, len, "panicked");
		break;
	case UMASIM_TS_FAULTED:
		snprintf(buf, len, "faulted");
		break;
	default:
		snprintf(buf, len, "vCPU %d is held in a critical section by %s",
		    td->td_cpu, sim_td(s, s->st.cpu_crit[td->td_cpu])->td_name);
		break;
	}
	return (buf);
}

/* s->op_hooks for the steps the host is about to run (kern.h). */
static void
sched_op_hooks(struct sim *s)
{

	s->op_hooks = s->st.trace_level >= UMASIM_TRACE_FULL || s->fp_on ||
	    s->oracle_on;
}

/* One step of thread 'tid' (-1: the default decision), from the host. */
int
sched_step_host(struct sim *s, int tid)
{
	struct runview rv;
	struct kthread *td;
	struct choice c;
	char why[160];

	if (s->st.panicked)
		return (s->st.faulted ? UMASIM_E_FAULTED : UMASIM_E_PANICKED);
	if (tid >= s->st.nthreads)
		return (UMASIM_E_NOTHREAD);
	s->seq_fast = 0;	/* one step, back to the host */
	s->seq_left = 0;
	sched_op_hooks(s);
	kix_view(s, &rv);
	if (rv.n == 0 && time_jump(s))
		kix_view(s, &rv);
	c.n = rv.n;
	if (c.n == 0) {
		snprintf(s->st.errmsg, sizeof(s->st.errmsg),
		    "no thread can run (%s)", s->st.nlive == 0 ?
		    "all threads finished" : "deadlock");
		return (UMASIM_E_NOTRUNNABLE);
	}
	c.def = default_index(s, &rv);
	c.deftid = runview_nth(&rv, c.def);
	if (tid < 0)
		tid = c.deftid;
	td = sim_td(s, tid);
	c.idx = runview_rank(&rv, tid);
	if (c.idx < 0) {
		snprintf(s->st.errmsg, sizeof(s->st.errmsg),
		    "thread %s is not runnable: %s", td->td_name,
		    why_not_runnable(s, td, why, sizeof(why)));
		return (UMASIM_E_NOTRUNNABLE);
	}
	c.tid = tid;
	c.mig = td->td_migrate_to;
	sched_begin(s, &c);
	s->st.in_run = 0;
	sched_enter(s, &td->td_ctx);
	if (s->st.panicked)
		s->st.outcome = s->st.faulted ? UMASIM_OUT_HOST_FAULT :
		    UMASIM_OUT_PANIC;
	return (td->td_point);
}

int
sched_run_host(struct sim *s, uint64_t max_steps)
{
	struct choice c;

	if (s->st.panicked)
		return (s->st.faulted ? UMASIM_E_FAULTED : UMASIM_E_PANICKED);
	s->st.script_error = 0;
	s->st.run_limit = max_steps > UINT64_MAX - s->st.nsteps ? UINT64_MAX :
	    s->st.nsteps + max_steps;
	s->st.in_run = 1;
	s->seq_fast = s->st.pol.kind == UMASIM_POL_SEQUENTIAL &&
	    s->st.trace_level < UMASIM_TRACE_FULL && s->cover == NULL &&
	    s->st.digest_every == 0 && !s->brlog_on && !s->xlog_on &&
	    !s->fp_on;
	sched_op_hooks(s);
	c = sched_choose(s);
	if (c.tid >= 0) {
		sched_begin(s, &c);
		sched_enter(s, &sim_td(s, c.tid)->td_ctx);
	}
	s->seq_fast = 0;
	s->seq_left = 0;
	s->st.in_run = 0;
	s->st.curthread = NULL;
	if (s->st.script_error)
		return (UMASIM_E_SCRIPT);
	return (s->st.outcome);
}

int
sched_migrate_host(struct sim *s, int tid, int cpu)
{
	struct kthread *td;

	if (tid < 0 || tid >= s->st.nthreads)
		return (UMASIM_E_NOTHREAD);
	if (cpu < 0 || cpu >= s->st.ncpus)
		return (UMASIM_E_INVAL);
	td = sim_td(s, tid);
	if (td->td_critnest != 0) {
		snprintf(s->st.errmsg, sizeof(s->st.errmsg),
		    "thread %s is inside a critical section and cannot migrate",
		    td->td_name);
		return (UMASIM_E_NOTRUNNABLE);
	}
	if (td->td_migrate_to < 0)
		s->ix.nmigrate++;
	td->td_migrate_to = cpu;
	return (0);
}

int
sched_runnable_host(struct sim *s, int32_t *tids, int max)
{
	struct runview rv;
	uint64_t x;
	int w, n;

	kix_view(s, &rv);
	n = 0;
	for (w = 0; w < rv.nwords; w++)
		for (x = rv.w[w]; x != 0 && n < max; x &= x - 1)
			tids[n++] = w * 64 + __builtin_ctzll(x);
	return (rv.n);
}
