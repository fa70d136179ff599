/*
 * A minimal single-threaded kernel for a native build of the UMA port:
 * the same csrc/vm/uma_core.c, uma_dbg.c, uma_sim.c (VM objects, sbuf,
 * the boot) and csrc/vm/kern_malloc.c, vm.c and mutex.c, linked against
 * this file instead of the simulated kernel's scheduler.  bench/uma.py
 * builds it (with native_bench.c) into a shared object of its own, all
 * symbols hidden but umasim_native_bench, as the baseline the simulator
 * is measured against.
 *
 * There is one struct sim and one thread, always current.  No scheduler:
 * preemption points are no-ops; mutexes are mutex.c's, which here only
 * record their owner (with one thread, a contended mutex cannot happen:
 * sched_block panics); critical sections are counters; nothing may sleep
 * (msleep panics), so wakeups find no sleeper.  Callouts are recorded and
 * never run: there is no virtual time.  Trace events, digests and the
 * console are not kept: printf goes to stderr, and a panic prints its
 * message and returns from the entry point (or aborts outside one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "native.h"

__thread struct sim *cursim;

/* ---- the one thread --------------------------------------------------- */

static void
native_thread_init(struct sim *s)
{
	struct kthread *td;

	s->tdchunks[0] = calloc(1, sizeof(*s->tdchunks[0]));
	if (s->tdchunks[0] == NULL)
		abort();
	s->ntdchunks = 1;
	td = sim_td(s, 0);
	snprintf(td->td_name, sizeof(td->td_name), "native");
	td->td_state = UMASIM_TS_RUNNABLE;
	td->td_migrate_to = -1;
	td->td_timo_at = -1;
	td->td_waitvar = -1;
	td->td_nopoints = 1;
	s->st.nthreads = 1;
	s->st.curthread = td;
}

struct sim *
native_sim_new(const struct umasim_config *cfg, char *err, size_t errlen)
{
	struct sim *s;
	int i;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	s->st.cfg = *cfg;
	s->st.ncpus = cfg->cpus;
	s->st.maxid = cfg->cpus - 1;
	s->st.trace_level = UMASIM_TRACE_OFF;
	s->st.lastrun = -1;
	s->st.next_timer = INT64_MAX;
	for (i = 0; i < UMASIM_MAXCPU; i++)
		s->st.cpu_crit[i] = -1;
	cursim = s;
	native_thread_init(s);
	if (vm_attach(s, err, errlen) != 0) {
		native_sim_free(s);
		return (NULL);
	}
	/* uma_startup, kmeminit, uma_startup3: the simulator's own boot. */
	if (uma_sim_attach(s) != 0) {
		snprintf(err, errlen, "UMA did not boot: %s", s->st.panicmsg);
		native_sim_free(s);
		return (NULL);
	}
	return (s);
}

void
native_sim_free(struct sim *s)
{

	if (s == NULL)
		return;
	vm_detach(s);
	if (cursim == s)
		cursim = NULL;
	free(s);
}

/*
 * Kernel work for the host (the boot): with one thread, simply a call,
 * which a panic leaves for the host's own landing place, if it has one.
 */
int
kern_hostcall(struct sim *s, void (*fn)(void *), void *arg)
{

	if (s->st.panicked)
		return (UMASIM_E_PANICKED);
	if (s->host_jmp_armed) {
		fn(arg);
		return (0);
	}
	s->host_jmp_armed = 1;
	if (setjmp(s->host_jmp) == 0)
		fn(arg);
	s->host_jmp_armed = 0;
	return (s->st.panicked ? UMASIM_E_PANICKED : 0);
}

/* The simulator's zone tables (uma_zones.c) are not part of this build. */
void
uma_sim_tables_init(void)
{
}

struct kthread *
thread_create(struct sim *s, const char *name, int cpu, int kernel,
    void (*main)(struct kthread *))
{

	(void)s;
	(void)cpu;
	(void)kernel;
	(void)main;
	panic("native kernel: cannot create thread %s", name);
}

/* ---- preemption points and critical sections ---------------------------- */

void
sched_point(int pt)
{

	(void)pt;
}

/* kern.h's sched_point_in() past its count (always, here: s->seq_left is 0) */
void
sched_point_slow(int pt)
{

	(void)pt;
}

void
sched_fine_point(int pt)
{

	(void)pt;
}

void
sched_fine_point_always(int pt)
{

	(void)pt;
}

void
critical_enter(void)
{
	struct kthread *td = cursim->st.curthread;

	td->td_critnest++;
}

void
critical_exit(void)
{
	struct kthread *td = cursim->st.curthread;

	if (td->td_critnest <= 0)
		panic("critical_exit: td_critnest == 0");
	td->td_critnest--;
}

/*
 * Mutexes are csrc/kern/mutex.c's: with one thread, a mutex that is owned
 * is owned by the caller (recursion, or a panic), so mtx_lock never
 * blocks and mtx_unlock never finds a waiter.
 */
void
sched_block(struct kthread *td, int pt)
{

	(void)pt;
	panic("native kernel: %s would block (%s) with no other thread to "
	    "run", td->td_name, td->td_wmesg != NULL ? td->td_wmesg : "mutex");
}

void
sched_set_asleep(struct sim *s, struct kthread *td, const void *chan,
    const char *wmesg)
{

	(void)s;
	td->td_state = UMASIM_TS_SLEEPING;
	td->td_wchan = chan;
	td->td_wmesg = wmesg;
}

/* The one thread never waits: every wait queue is empty. */
int
kix_mtx_first(struct sim *s, const struct mtx *m)
{

	(void)s;
	(void)m;
	return (-1);
}

void
sched_wake_thread(struct sim *s, struct kthread *td)
{

	(void)s;
	(void)td;
}

/* ---- sleep and wakeup: nothing ever sleeps -------------------------------- */

int
msleep(const void *chan, struct mtx *m, int pri, const char *wmesg, int timo)
{

	(void)chan;
	(void)m;
	(void)pri;
	(void)timo;
	panic("native kernel: msleep(\"%s\") with no other thread to wake it",
	    wmesg);
}

int
sleep_internal(struct kthread *td, const void *chan, struct mtx *m, int pri,
    const char *wmesg, int timo)
{

	(void)td;
	return (msleep(chan, m, pri, wmesg, timo));
}

void
wakeup(const void *chan)
{

	(void)chan;
}

void
wakeup_one(const void *chan)
{

	(void)chan;
}

int
wakeup_internal(struct sim *s, const void *chan, int one)
{

	(void)s;
	(void)chan;
	(void)one;
	return (0);
}

/* ---- callouts: recorded, never run ----------------------------------------- */

void
callout_init(struct callout *c, int mpsafe)
{

	(void)mpsafe;
	memset(c, 0, sizeof(*c));
}

void
callout_reset(struct callout *c, int to_ticks, void (*func)(void *), void *arg)
{

	c->c_func = func;
	c->c_arg = arg;
	c->c_time = cursim->st.now + (to_ticks > 0 ? to_ticks : 1);
	c->c_pending = 1;
}

/* ---- panic, console, trace, digest ------------------------------------------- */

void
panic(const char *fmt, ...)
{
	struct sim *s = cursim;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->st.panicmsg, sizeof(s->st.panicmsg), fmt, ap);
	va_end(ap);
	s->st.panicked = 1;
	fprintf(stderr, "umasim native: panic: %s\n", s->st.panicmsg);
	if (s->host_jmp_armed)
		longjmp(s->host_jmp, 1);
	abort();
}

int
kern_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vfprintf(stderr, fmt, ap);
	va_end(ap);
	return (n);
}

/* Addresses in messages: arena offsets, as the simulator shows them. */
uint64_t
kern_canon(const struct sim *s, const void *p)
{
	uint64_t a;

	if (p == NULL)
		return (0);
	return (arena_contains(s, p, &a) ? a : (uint64_t)(uintptr_t)p);
}

void
ev_record(struct sim *s, int kind, int64_t a, int64_t b)
{

	(void)s;
	(void)kind;
	(void)a;
	(void)b;
}

/* vm.c's digest walk is linked but never called. */
void
dg_bytes(struct digest *d, const void *p, size_t n)
{

	(void)d;
	(void)p;
	(void)n;
}

void
dg_u64(struct digest *d, uint64_t v)
{

	(void)d;
	(void)v;
}

void
dg_ptr(struct digest *d, const struct sim *s, const void *p)
{

	(void)d;
	(void)s;
	(void)p;
}

/* ---- race-window coverage: nothing is recorded -------------------------- */

void
cov_win_open(int w, const void *obj)
{

	(void)w;
	(void)obj;
}

void
cov_win_open_inner(int w)
{

	(void)w;
}

void
cov_win_close(int w)
{

	(void)w;
}

void
cov_touch_slow(struct sim *s, const void *obj)
{

	(void)s;
	(void)obj;
}

/* Footprints (csrc/kern/footprint.c): no explorer here, s->fp_on stays 0. */
void
fp_add(struct sim *s, uint64_t obj, int w)
{

	(void)s;
	(void)obj;
	(void)w;
}

void
fp_zone(const void *lock)
{

	(void)lock;
}

/* The oracle (csrc/kern/oracle.c): never on here, s->oracle_on stays 0. */
void
oracle_flight_enter(struct sim *s)
{

	(void)s;
}

void
oracle_full_read(struct sim *s, const void *keg)
{

	(void)s;
	(void)keg;
}

void
oracle_pages_freed(struct sim *s)
{

	(void)s;
}

struct uma_keg;

void
uma_oracle_slab_alloc(struct uma_keg *keg)
{

	(void)keg;
}

void
uma_oracle_zonelimit_sleep(struct uma_keg *keg)
{

	(void)keg;
}
