/*
 * kern_driver: the simulated kernel's checks in C alone, no Python.
 *
 * Links the kernel's sources directly (csrc/tests/Makefile) and drives
 * simulations through the umasim_* API of csrc/umasim_api.h, the same
 * interface the Python package uses, running the kernel's own programs:
 * mutex contention under many schedules, tsleep/wakeup with and without
 * timeouts, a deadlock, panics (including a stack overflow into the guard
 * page), simulations driven from several host threads and handed from one
 * host thread to another.
 *
 * Built natively, with -DUMASIM_UCONTEXT, under valgrind, with ASan+UBSan
 * and for aarch64 under qemu (scripts/check-c-core), so that each context
 * switch is exercised for real.  Every variant must print the same
 * "fingerprint" line (a hash of every outcome, decision list, step and tick
 * count seen) and the same "digests" line (a hash of every umasim_digest()
 * seen), which the design promises are equal on every machine.
 *
 * Usage: kern_driver [-n SEEDS] [-s NAME[,NAME...]] [-v]
 *   -n SEEDS	random schedules per scenario (default 200)
 *   -s NAMES	only these scenarios (names as printed)
 *   -v		a line per check, not only per scenario
 * Environment: UMASIM_SKIP_OVERFLOW=1 skips the guard-page checks (for a
 * sanitizer runtime that keeps SIGSEGV to itself).
 *
 * Exits 0 when every check passed, 1 otherwise.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umasim_api.h"

#if defined(__SANITIZE_ADDRESS__)
/*
 * The guard page needs our SIGSEGV handler (csrc/kern/stack.c).  Fake
 * stacks stay off: a snapshot copies a thread's real stack, and locals kept
 * on a fake stack would not travel with it.  Leak checking stays on (the
 * Python suite needs it off: CPython leaks by design).
 */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{

	return ("allow_user_segv_handler=1:detect_stack_use_after_return=0");
}
#endif

static int	nseeds = 200;
static const char *only;
static int	verbose;
static int	skip_overflow;
static pthread_mutex_t	out_lock = PTHREAD_MUTEX_INITIALIZER;
static int	failures;
static int	checks;

/* ---- checks and the fingerprint ---------------------------------------- */

/*
 * Two hashes: 'h' of what the runs did (outcomes, steps, ticks, every
 * decision), 'd' of the digests of the states they left.
 */
struct fp {
	uint64_t	h;
	uint64_t	d;
};

static uint64_t
fnv(uint64_t h, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= 0x100000001b3ULL;			/* FNV-1a */
	}
	return (h);
}

static void
fp_add(struct fp *f, uint64_t v)
{

	f->h = fnv(f->h, v);
}

static void
fp_merge(struct fp *f, const struct fp *g)
{

	f->h = fnv(f->h, g->h);
	f->d = fnv(f->d, g->d);
}

static void
fp_init(struct fp *f)
{

	f->h = f->d = 0xcbf29ce484222325ULL;
}

#define	CHECK(cond, ...)	check_((cond), __FILE__, __LINE__, #cond, __VA_ARGS__)

static int
check_(int ok, const char *file, int line, const char *expr, const char *fmt,
    ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	checks++;
	if (!ok) {
		failures++;
		fprintf(stderr, "FAIL %s:%d: %s: ", file, line, expr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	pthread_mutex_unlock(&out_lock);
	return (ok);
}

static void
note(const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* ---- building simulations ------------------------------------------------ */

static int	opc_lock, opc_unlock, opc_crit_enter, opc_crit_exit, opc_tsleep,
		opc_wakeup, opc_sleep, opc_yield, opc_recurse;
static int	evk_contended;

static int
opcode(const char *name)
{
	int i;

	for (i = 0; i < umasim_nopcodes(); i++)
		if (strcmp(umasim_op_name(i), name) == 0)
			return (i);
	fprintf(stderr, "kern_driver: the kernel has no op \"%s\"\n", name);
	exit(2);
}

static void
lookup_codes(void)
{
	int i;

	opc_lock = opcode("lock");
	opc_unlock = opcode("unlock");
	opc_crit_enter = opcode("crit_enter");
	opc_crit_exit = opcode("crit_exit");
	opc_tsleep = opcode("tsleep");
	opc_wakeup = opcode("wakeup");
	opc_sleep = opcode("sleep");
	opc_yield = opcode("yield");
	opc_recurse = opcode("recurse");
	evk_contended = -1;
	for (i = 0; i < umasim_nevkinds(); i++)
		if (strcmp(umasim_evkind_name(i), "lock_contended") == 0)
			evk_contended = i;
	if (evk_contended < 0) {
		fprintf(stderr, "kern_driver: no event kind lock_contended\n");
		exit(2);
	}
}

static struct umasim_op
op2(int code, int64_t a, int64_t b)
{
	struct umasim_op o;

	memset(&o, 0, sizeof(o));
	o.code = code;
	o.a = a;
	o.b = b;
	return (o);
}

static struct umasim_op
op1(int code, int64_t a)
{

	return (op2(code, a, 0));
}

static struct umasim_op
op0(int code)
{

	return (op2(code, 0, 0));
}

/* A simulation of the driver's configuration (INVARIANTS, coarse points). */
static struct sim *
sim_new_config(int cpus, int pages, uint64_t bugs, int trace)
{
	struct umasim_config cfg;
	struct sim *s;
	char err[256];

	memset(&cfg, 0, sizeof(cfg));
	cfg.cpus = cpus;
	cfg.pages = pages;
	cfg.kmem_pages = 512;
	cfg.free_min = 0;
	cfg.boot_pages = 48;
	cfg.ticks_per_step = 1;
	cfg.granularity = UMASIM_GRAN_COARSE;
	cfg.invariants = 1;
	cfg.bugs = bugs;
	cfg.trace_level = trace;
	err[0] = '\0';
	s = umasim_new(&cfg, err, sizeof(err));
	if (s == NULL) {
		fprintf(stderr, "kern_driver: umasim_new: %s\n", err);
		exit(2);
	}
	return (s);
}

static struct sim *
sim_make(int cpus, int trace)
{
	struct sim *s;

	s = sim_new_config(cpus, 256, 0, trace);
	/* The oracle judges every run (it changes none). */
	if (umasim_oracle_enable(s, 1) != 0) {
		fprintf(stderr, "kern_driver: umasim_oracle_enable failed\n");
		exit(2);
	}
	return (s);
}

static struct umasim_policy
policy(int kind, uint64_t seed, double migrate)
{
	struct umasim_policy p;

	memset(&p, 0, sizeof(p));
	p.kind = kind;
	p.seed = seed;
	p.migrate = migrate;
	p.depth = 3;
	p.steps_hint = 100;
	return (p);
}

static int
spawn(struct sim *s, const char *name, int cpu, const struct umasim_op *ops,
    int nops, int64_t repeat)
{
	int tid;

	tid = umasim_spawn(s, name, cpu, ops, nops, repeat);
	if (tid < 0) {
		fprintf(stderr, "kern_driver: umasim_spawn(%s): %d\n", name, tid);
		exit(2);
	}
	return (tid);
}

static struct umasim_thread_info
tinfo(struct sim *s, int tid)
{
	struct umasim_thread_info ti;

	if (umasim_thread_info(s, tid, &ti) != 0) {
		fprintf(stderr, "kern_driver: no thread %d\n", tid);
		exit(2);
	}
	return (ti);
}

/* Everything a run leaves that must not depend on the machine. */
static void
fp_sim(struct fp *f, struct sim *s)
{
	const uint32_t *d;
	size_t i, n;

	fp_add(f, (uint64_t)umasim_outcome(s));
	f->d = fnv(f->d, umasim_digest(s));
	fp_add(f, umasim_steps(s));
	fp_add(f, (uint64_t)umasim_ticks(s));
	n = umasim_ndecisions(s);
	d = umasim_decisions(s);
	fp_add(f, n);
	for (i = 0; i < n; i++)
		fp_add(f, d[i]);
}

static size_t
count_events(struct sim *s, int kind)
{
	const struct umasim_event *e;
	size_t i, n, c;

	e = umasim_events(s);
	n = umasim_nevents(s);
	for (i = c = 0; i < n; i++)
		if (e[i].kind == kind)
			c++;
	return (c);
}

static const char *
outcome_name(int o)
{
	static const char *const names[] = { "running", "completed", "deadlock",
	    "panic", "step_limit" };

	return (o >= 0 && o <= 4 ? names[o] : "?");
}

static int
has_console(struct sim *s, const char *line)
{
	size_t i;

	for (i = 0; i < umasim_nconsole(s); i++)
		if (strcmp(umasim_console_line(s, i), line) == 0)
			return (1);
	return (0);
}

/* ---- mutex contention ---------------------------------------------------- */

#define	MUTEX_THREADS	4
#define	MUTEX_REPEAT	4

/* NTHREADS threads doing "lock m; yield; unlock m" REPEAT times. */
static struct sim *
mutex_sim(int cpus, int trace)
{
	struct umasim_op prog[3];
	struct sim *s;
	char name[16];
	int m, i;

	s = sim_make(cpus, trace);
	m = umasim_mtx_new(s, "m");
	prog[0] = op1(opc_lock, m);
	prog[1] = op0(opc_yield);
	prog[2] = op1(opc_unlock, m);
	for (i = 0; i < MUTEX_THREADS; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		spawn(s, name, i % cpus, prog, 3, MUTEX_REPEAT);
	}
	return (s);
}

static void
check_all_finished(struct sim *s, const char *what, uint64_t seed)
{
	struct umasim_oracle_verdict v;
	struct umasim_thread_info ti;
	int i;

	CHECK(umasim_oracle_verdict(s, &v) == 0, "%s seed %" PRIu64
	    ": the oracle: %s", what, seed, v.message);

	for (i = 1; i < umasim_nthreads(s); i++) {
		ti = tinfo(s, i);
		if (ti.kernel)
			continue;
		CHECK(ti.state == UMASIM_TS_FINISHED && ti.nlocks == 0,
		    "%s seed %" PRIu64 ": thread %s state %d nlocks %d", what,
		    seed, ti.name, ti.state, ti.nlocks);
	}
}

/* Random schedules, with migration: all complete; replays are identical. */
static void
scen_mutex_random(struct fp *f, int seeds)
{
	struct umasim_policy pol;
	struct sim *s, *t;
	struct fp dh;
	uint64_t seed, contended, first, distinct;
	int r;

	contended = distinct = first = 0;
	for (seed = 0; seed < (uint64_t)seeds; seed++) {
		s = mutex_sim(4, UMASIM_TRACE_FULL);
		pol = policy(UMASIM_POL_RANDOM, seed, 0.25);
		r = umasim_run(s, &pol, 100000);
		CHECK(r == UMASIM_OUT_COMPLETED, "seed %" PRIu64 ": run gave %d (%s)",
		    seed, r, umasim_panic_msg(s) ? umasim_panic_msg(s) : "");
		check_all_finished(s, "mutex-random", seed);
		contended += count_events(s, evk_contended);
		fp_sim(f, s);

		/* The same seed again: the same run, to the bit. */
		t = mutex_sim(4, UMASIM_TRACE_FULL);
		r = umasim_run(t, &pol, 100000);
		CHECK(r == UMASIM_OUT_COMPLETED, "replay seed %" PRIu64, seed);
		CHECK(umasim_digest(s) == umasim_digest(t) &&
		    umasim_steps(s) == umasim_steps(t) &&
		    umasim_ndecisions(s) == umasim_ndecisions(t) &&
		    memcmp(umasim_decisions(s), umasim_decisions(t),
		    umasim_ndecisions(s) * sizeof(uint32_t)) == 0,
		    "seed %" PRIu64 " does not replay", seed);
		fp_init(&dh);
		fp_sim(&dh, s);		/* 'h' only: digests may be equal */
		if (seed == 0)
			first = dh.h;
		else if (dh.h != first)
			distinct++;
		umasim_free(t);
		umasim_free(s);
	}
	CHECK(seeds < 10 || (contended > 0 && distinct > 0),
	    "%d random schedules: %" PRIu64 " contended locks, %" PRIu64
	    " runs unlike the first", seeds, contended, distinct);
	note("  mutex-random: %d seeds, %" PRIu64 " contended locks", seeds,
	    contended);
}

/* The other policies finish the same program too. */
static void
scen_mutex_policies(struct fp *f)
{
	static const int kinds[] = { UMASIM_POL_SEQUENTIAL,
	    UMASIM_POL_ROUNDROBIN, UMASIM_POL_PCT };
	struct umasim_policy pol;
	struct sim *s;
	size_t k;
	uint64_t seed;
	int r;

	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		for (seed = 0; seed < 8; seed++) {
			s = mutex_sim(2, UMASIM_TRACE_DECISIONS);
			pol = policy(kinds[k], seed, 0.0);
			r = umasim_run(s, &pol, 100000);
			CHECK(r == UMASIM_OUT_COMPLETED,
			    "policy %d seed %" PRIu64 ": %d", kinds[k], seed, r);
			check_all_finished(s, "mutex-policies", seed);
			fp_sim(f, s);
			umasim_free(s);
		}
	}
}

/*
 * Manual steps in an order of our own choosing; after every step at most
 * one thread holds the mutex, and every blocked thread waits for its owner.
 */
static void
scen_mutex_steps(struct fp *f, int seeds)
{
	struct umasim_thread_info ti;
	int32_t run[UMASIM_MAXTHREADS];
	struct sim *s;
	uint64_t seed, x;
	int n, i, holders, holder, steps, r, nt;

	for (seed = 0; seed < (uint64_t)seeds; seed++) {
		s = mutex_sim(2, UMASIM_TRACE_DECISIONS);
		x = seed * 0x9e3779b97f4a7c15ULL + 1;
		nt = umasim_nthreads(s);
		for (steps = 0; steps < 10000; steps++) {
			n = umasim_runnable(s, run, UMASIM_MAXTHREADS);
			if (n == 0)
				break;
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			r = umasim_step(s, run[x % (uint64_t)n]);
			if (!CHECK(r >= 0, "seed %" PRIu64 ": step gave %d: %s",
			    seed, r, umasim_error_msg(s)))
				break;
			holders = 0;
			holder = -1;
			for (i = 0; i < nt; i++) {
				ti = tinfo(s, i);
				if (ti.nlocks > 0) {
					holders++;
					holder = i;
				}
			}
			CHECK(holders <= 1, "seed %" PRIu64 ": %d threads hold m",
			    seed, holders);
			for (i = 0; i < nt; i++) {
				ti = tinfo(s, i);
				if (ti.state == UMASIM_TS_BLOCKED)
					CHECK(ti.mutex_owner == holder &&
					    strcmp(ti.mutex_name, "m") == 0,
					    "seed %" PRIu64 ": %s waits for %d, "
					    "holder %d", seed, ti.name,
					    ti.mutex_owner, holder);
			}
		}
		CHECK(umasim_step(s, -1) == UMASIM_E_NOTRUNNABLE,
		    "a finished simulation still steps");
		check_all_finished(s, "mutex-steps", seed);
		fp_sim(f, s);
		umasim_free(s);
	}
}

/* ---- tsleep / wakeup ------------------------------------------------------ */

static void
scen_sleep(struct fp *f, int seeds)
{
	struct umasim_op sl[1], wk[2];
	struct umasim_thread_info ti;
	struct umasim_policy pol;
	struct sim *s;
	uint64_t seed;
	int c, r, a, b, woken, timedout;

	/* Woken long before its timeout. */
	s = sim_make(2, UMASIM_TRACE_FULL);
	c = umasim_chan_new(s, "c");
	sl[0] = op2(opc_tsleep, c, 1000);
	wk[0] = op1(opc_sleep, 10);
	wk[1] = op1(opc_wakeup, c);
	a = spawn(s, "sleeper", 0, sl, 1, 1);
	b = spawn(s, "waker", 1, wk, 2, 1);
	pol = policy(UMASIM_POL_SEQUENTIAL, 0, 0.0);
	r = umasim_run(s, &pol, 10000);
	CHECK(r == UMASIM_OUT_COMPLETED, "wakeup: %s", outcome_name(r));
	CHECK(umasim_ticks(s) >= 10 && umasim_ticks(s) < 1000,
	    "wakeup: ended at tick %" PRId64, umasim_ticks(s));
	CHECK(tinfo(s, a).state == UMASIM_TS_FINISHED &&
	    tinfo(s, b).state == UMASIM_TS_FINISHED, "wakeup: not finished");
	fp_sim(f, s);
	umasim_free(s);

	/* Nobody wakes it: the timeout does, time jumping ahead. */
	s = sim_make(1, UMASIM_TRACE_DECISIONS);
	c = umasim_chan_new(s, "c");
	sl[0] = op2(opc_tsleep, c, 100);
	a = spawn(s, "sleeper", 0, sl, 1, 1);
	r = umasim_run(s, &pol, 10000);
	CHECK(r == UMASIM_OUT_COMPLETED, "timeout: %s", outcome_name(r));
	CHECK(umasim_ticks(s) >= 100 && umasim_ticks(s) < 110,
	    "timeout: ended at tick %" PRId64, umasim_ticks(s));
	fp_sim(f, s);
	umasim_free(s);

	/* No timeout and nobody to wake it: a deadlock that names the sleep. */
	s = sim_make(1, UMASIM_TRACE_DECISIONS);
	c = umasim_chan_new(s, "chan0");
	sl[0] = op2(opc_tsleep, c, 0);
	a = spawn(s, "sleeper", 0, sl, 1, 1);
	r = umasim_run(s, &pol, 10000);
	CHECK(r == UMASIM_OUT_DEADLOCK, "forever: %s", outcome_name(r));
	ti = tinfo(s, a);
	CHECK(ti.state == UMASIM_TS_SLEEPING && ti.wmesg != NULL &&
	    strcmp(ti.wmesg, "chan0") == 0 && ti.timeout == -1,
	    "forever: state %d wmesg %s timeout %" PRId64, ti.state,
	    ti.wmesg ? ti.wmesg : "(null)", ti.timeout);
	fp_sim(f, s);
	umasim_free(s);

	/*
	 * Random schedules: the wakeup may come before the sleep (then the
	 * timeout ends it) or after; either way the run completes in time.
	 */
	woken = timedout = 0;
	for (seed = 0; seed < (uint64_t)seeds; seed++) {
		s = sim_make(2, UMASIM_TRACE_DECISIONS);
		c = umasim_chan_new(s, "c");
		sl[0] = op2(opc_tsleep, c, 50);
		wk[0] = op0(opc_yield);
		wk[1] = op1(opc_wakeup, c);
		spawn(s, "sleeper", 0, sl, 1, 1);
		spawn(s, "waker", 1, wk, 2, 1);
		pol = policy(UMASIM_POL_RANDOM, seed, 0.5);
		r = umasim_run(s, &pol, 10000);
		CHECK(r == UMASIM_OUT_COMPLETED, "sleep seed %" PRIu64 ": %s",
		    seed, outcome_name(r));
		if (umasim_ticks(s) >= 50)
			timedout++;
		else
			woken++;
		fp_sim(f, s);
		umasim_free(s);
	}
	CHECK(seeds < 20 || (woken > 0 && timedout > 0),
	    "sleep: %d woken, %d timed out: schedules do not vary", woken,
	    timedout);
	note("  sleep: %d woken by wakeup, %d by their timeout", woken,
	    timedout);
}

/* ---- deadlock ------------------------------------------------------------- */

static struct sim *
abba_sim(int *ta, int *tb, int *m1, int *m2)
{
	struct umasim_op pa[5], pb[5];
	struct sim *s;

	s = sim_make(2, UMASIM_TRACE_DECISIONS);
	*m1 = umasim_mtx_new(s, "m1");
	*m2 = umasim_mtx_new(s, "m2");
	pa[0] = op1(opc_lock, *m1);
	pa[1] = op0(opc_yield);
	pa[2] = op1(opc_lock, *m2);
	pa[3] = op1(opc_unlock, *m2);
	pa[4] = op1(opc_unlock, *m1);
	pb[0] = op1(opc_lock, *m2);
	pb[1] = op0(opc_yield);
	pb[2] = op1(opc_lock, *m1);
	pb[3] = op1(opc_unlock, *m1);
	pb[4] = op1(opc_unlock, *m2);
	*ta = spawn(s, "a", 0, pa, 5, 1);
	*tb = spawn(s, "b", 1, pb, 5, 1);
	return (s);
}

static void
scen_deadlock(struct fp *f, int seeds)
{
	struct umasim_thread_info ia, ib;
	struct umasim_policy pol;
	struct sim *s;
	uint64_t seed;
	int ta, tb, m1, m2, r, dead, done;

	/* a takes m1, b takes m2, then each wants the other's. */
	s = abba_sim(&ta, &tb, &m1, &m2);
	CHECK(umasim_step(s, ta) >= 0, "step a: %s", umasim_error_msg(s));
	CHECK(umasim_step(s, tb) >= 0, "step b: %s", umasim_error_msg(s));
	CHECK(tinfo(s, ta).nlocks == 1 && tinfo(s, tb).nlocks == 1,
	    "each should hold one mutex");
	pol = policy(UMASIM_POL_SEQUENTIAL, 0, 0.0);
	r = umasim_run(s, &pol, 1000);
	CHECK(r == UMASIM_OUT_DEADLOCK, "abba: %s", outcome_name(r));
	ia = tinfo(s, ta);
	ib = tinfo(s, tb);
	CHECK(ia.state == UMASIM_TS_BLOCKED && ia.mutex_name != NULL &&
	    strcmp(ia.mutex_name, "m2") == 0 && ia.mutex_owner == tb,
	    "a: state %d on %s owner %d", ia.state,
	    ia.mutex_name ? ia.mutex_name : "-", ia.mutex_owner);
	CHECK(ib.state == UMASIM_TS_BLOCKED && ib.mutex_name != NULL &&
	    strcmp(ib.mutex_name, "m1") == 0 && ib.mutex_owner == ta,
	    "b: state %d on %s owner %d", ib.state,
	    ib.mutex_name ? ib.mutex_name : "-", ib.mutex_owner);
	CHECK(umasim_step(s, -1) == UMASIM_E_NOTRUNNABLE,
	    "a deadlocked simulation still steps");
	CHECK(umasim_step(s, ta) == UMASIM_E_NOTRUNNABLE &&
	    strstr(umasim_error_msg(s), "deadlock") != NULL,
	    "error message: %s", umasim_error_msg(s));
	fp_sim(f, s);
	umasim_free(s);

	/* Under random schedules it deadlocks sometimes, and only so. */
	dead = done = 0;
	for (seed = 0; seed < (uint64_t)seeds; seed++) {
		s = abba_sim(&ta, &tb, &m1, &m2);
		pol = policy(UMASIM_POL_RANDOM, seed, 0.0);
		r = umasim_run(s, &pol, 1000);
		CHECK(r == UMASIM_OUT_DEADLOCK || r == UMASIM_OUT_COMPLETED,
		    "abba seed %" PRIu64 ": %s", seed, outcome_name(r));
		if (r == UMASIM_OUT_DEADLOCK)
			dead++;
		else
			done++;
		fp_sim(f, s);
		umasim_free(s);
	}
	CHECK(seeds < 20 || (dead > 0 && done > 0),
	    "abba: %d deadlocks, %d completed", dead, done);
	note("  deadlock: %d of %d random schedules deadlock", dead, seeds);
}

/* ---- panics ----------------------------------------------------------------- */

static void
expect_panic(struct fp *f, const char *what, const struct umasim_op *ops,
    int nops, const char *msg)
{
	struct umasim_policy pol;
	struct sim *s;
	char line[600];
	int a, r;

	s = sim_make(1, UMASIM_TRACE_FULL);
	umasim_mtx_new(s, "m");
	umasim_chan_new(s, "c");
	a = spawn(s, "a", 0, ops, nops, 1);
	pol = policy(UMASIM_POL_SEQUENTIAL, 0, 0.0);
	r = umasim_run(s, &pol, 1000);
	CHECK(r == UMASIM_OUT_PANIC, "%s: %s", what, outcome_name(r));
	CHECK(umasim_panic_msg(s) != NULL &&
	    strcmp(umasim_panic_msg(s), msg) == 0, "%s: panic message \"%s\"",
	    what, umasim_panic_msg(s) ? umasim_panic_msg(s) : "(none)");
	snprintf(line, sizeof(line), "panic: %s", msg);
	CHECK(has_console(s, line), "%s: no console line \"%s\"", what, line);
	CHECK(tinfo(s, a).state == UMASIM_TS_PANICKED, "%s: state %d", what,
	    tinfo(s, a).state);
	CHECK(umasim_run(s, &pol, 1000) == UMASIM_E_PANICKED &&
	    umasim_step(s, -1) == UMASIM_E_PANICKED,
	    "%s: a panicked simulation runs on", what);
	fp_sim(f, s);
	umasim_free(s);
	note("  panic %s: ok", what);
}

static void
scen_panic(struct fp *f)
{
	struct umasim_op p[3];

	p[0] = op1(opc_unlock, 0);
	expect_panic(f, "unlock-not-owned", p, 1, "mutex m not owned");
	p[0] = op1(opc_lock, 0);
	p[1] = op1(opc_lock, 0);
	expect_panic(f, "recursion", p, 2,
	    "_mtx_lock_sleep: recursed on non-recursive mutex m");
	p[0] = op1(opc_lock, 0);
	expect_panic(f, "exit-holding", p, 1,
	    "thread a exited with 1 mutex held");
	p[0] = op0(opc_crit_enter);
	p[1] = op2(opc_tsleep, 0, 5);
	expect_panic(f, "sleep-in-critical", p, 2,
	    "mi_switch: switch in a critical section");
	p[0] = op0(opc_crit_exit);
	expect_panic(f, "crit-exit", p, 1,
	    "crit_exit outside a critical section in thread a");
}

/* Deep recursion hits the guard page: the simulation panics, not us. */
static void
scen_overflow(struct fp *f)
{
	struct umasim_op p[2];
	int i;

	if (skip_overflow) {
		note("  overflow: skipped (UMASIM_SKIP_OVERFLOW)");
		return;
	}
	p[0] = op1(opc_recurse, 100000);
	for (i = 0; i < 3; i++)
		expect_panic(f, "overflow", p, 1, "stack overflow in thread a");
	/* A shallow recursion is fine, also on a stack that overflowed. */
	p[0] = op1(opc_recurse, 16);
	p[1] = op0(opc_yield);
	{
		struct umasim_policy pol = policy(UMASIM_POL_SEQUENTIAL, 0, 0);
		struct sim *s = sim_make(1, UMASIM_TRACE_DECISIONS);
		int r;

		spawn(s, "a", 0, p, 2, 3);
		r = umasim_run(s, &pol, 1000);
		CHECK(r == UMASIM_OUT_COMPLETED, "recurse 16: %s",
		    outcome_name(r));
		fp_sim(f, s);
		umasim_free(s);
	}
}

/* ---- snapshots -------------------------------------------------------------- */

/*
 * A snapshot taken with threads suspended mid-program (live frames on their
 * stacks), then runs from it: each restore gives back the same future.
 */
static void
scen_snapshot(struct fp *f, int seeds)
{
	struct umasim_policy pol;
	struct snapshot *sn;
	struct sim *s;
	struct fp a, b;
	uint64_t seed, dig;
	int k, r;

	for (seed = 0; seed < (uint64_t)seeds; seed++) {
		s = mutex_sim(2, UMASIM_TRACE_DECISIONS);
		for (k = 0; k < (int)(seed % 9); k++)
			CHECK(umasim_step(s, 1 + (int)((seed + (uint64_t)k) % 4))
			    >= 0 || umasim_step(s, -1) >= 0, "snapshot: step");
		sn = umasim_snapshot(s);
		if (!CHECK(sn != NULL, "seed %" PRIu64 ": no snapshot", seed)) {
			umasim_free(s);
			continue;
		}
		pol = policy(UMASIM_POL_RANDOM, seed, 0.25);
		r = umasim_run(s, &pol, 100000);
		CHECK(r == UMASIM_OUT_COMPLETED, "snapshot seed %" PRIu64 ": %s",
		    seed, outcome_name(r));
		fp_init(&a);
		fp_sim(&a, s);
		dig = umasim_digest(s);

		/* Elsewhere first, so the stacks hold other frames. */
		CHECK(umasim_restore(s, sn) == 0, "restore");
		pol = policy(UMASIM_POL_RANDOM, seed + 1000, 0.5);
		r = umasim_run(s, &pol, 100000);
		CHECK(r == UMASIM_OUT_COMPLETED, "snapshot seed %" PRIu64
		    " (other): %s", seed, outcome_name(r));

		CHECK(umasim_restore(s, sn) == 0, "restore");
		pol = policy(UMASIM_POL_RANDOM, seed, 0.25);
		r = umasim_run(s, &pol, 100000);
		fp_init(&b);
		fp_sim(&b, s);
		CHECK(r == UMASIM_OUT_COMPLETED && a.h == b.h && a.d == b.d &&
		    umasim_digest(s) == dig,
		    "seed %" PRIu64 ": the run from a restored snapshot differs",
		    seed);
		check_all_finished(s, "snapshot", seed);
		fp_merge(f, &a);
		umasim_snapshot_free(sn);
		umasim_free(s);
	}
}

/* ---- the oracle --------------------------------------------------------- */

/* A named constant of the core (csrc/vm/uma_consts.c). */
static int64_t
constant(const char *name)
{
	int i;

	for (i = 0; i < umasim_nconsts(); i++)
		if (strcmp(umasim_const_name(i), name) == 0)
			return (umasim_const_value(i));
	fprintf(stderr, "kern_driver: the core has no constant %s\n", name);
	exit(2);
}

/*
 * UMA work for the oracle (csrc/kern/oracle.c): on a zone of one-item
 * slabs limited to 8 items, thread a allocates 12 (M_WAITOK, M_ZERO) and
 * writes to each, thread c frees them on the same vCPU, and thread b
 * allocates and frees 12 on the other, under random schedules with
 * migration: zonelimit sleeps, frees that read UMA_ZFLAG_FULL, wakeups,
 * the limit's race, buckets swapped on the fast path; each run goes
 * through a snapshot (the oracle's state in it) taken and restored
 * mid-run.  The faithful port never fails it (its deadlocks are FreeBSD
 * 7's own: items stranded in a cache); with zero_bucket on, an M_ZERO
 * item from the fast path does not read zero.
 */
static struct sim *
oracle_sim(uint64_t bugs, int trace)
{
	struct umasim_op a[3], b[2], c[1];
	struct sim *s;
	char name[16];
	int64_t x, y, v;
	int slot, ialloc, ifree, zero, i;

	s = sim_new_config(2, 64, bugs, trace);
	slot = umasim_zone_new(s, "z");
	if (slot < 0 || umasim_zcreate(s, slot, -1, 4096, 7, 0, 8) != 0) {
		fprintf(stderr, "kern_driver: no zone z\n");
		exit(2);
	}
	ialloc = opcode("alloc");
	ifree = opcode("free");
	zero = (int)constant("OPF_ZERO");
	x = y = -1;
	for (i = 0; i < 24; i++) {
		snprintf(name, sizeof(name), "%c%d", i < 12 ? 'x' : 'y', i % 12);
		v = umasim_var_new(s, name);
		if (i == 0)
			x = v;
		else if (i == 12)
			y = v;
		CHECK(v == x + i, "variable %s: id %" PRId64, name, v);
	}
	/*
	 * a: alloc z zero -> x{i}, touch x{i}, yield; b: alloc z -> y{i},
	 * free y{i}; c: free x{i}.
	 */
	a[0] = op2(ialloc, slot, x);
	a[0].b_stride = 1;
	a[0].flags = zero;
	a[1] = op1(opcode("touch"), x);
	a[1].a_stride = 1;
	a[2] = op0(opcode("yield"));
	b[0] = op2(ialloc, slot, y);
	b[0].b_stride = 1;
	b[1] = op2(ifree, y, -1);
	b[1].a_stride = 1;
	c[0] = op2(ifree, x, -1);
	c[0].a_stride = 1;
	spawn(s, "a", 0, a, 3, 12);
	spawn(s, "b", 1, b, 2, 12);
	spawn(s, "c", 0, c, 1, 12);
	return (s);
}

static void
scen_oracle(struct fp *f, int seeds)
{
	struct umasim_oracle_verdict v;
	struct umasim_policy pol;
	struct snapshot *sn;
	struct sim *s;
	uint64_t seed, zb = 0;
	int r, i, failed = 0;

	for (i = 0; i < umasim_nbugs(); i++)
		if (strcmp(umasim_bug_name(i), "zero_bucket") == 0)
			zb = umasim_bug_bit(i);
	for (seed = 0; seed < (uint64_t)seeds; seed++) {
		s = oracle_sim(0, UMASIM_TRACE_OFF);
		umasim_oracle_enable(s, 1);
		pol = policy(UMASIM_POL_RANDOM, seed, 0.25);
		r = umasim_run(s, &pol, 5 + seed % 50);
		/*
		 * A snapshot mid-run, with the oracle's state in it, restored
		 * at once: the run goes on from it.  (Not after running on:
		 * a restore writes a thread's stack below where it stands
		 * then, which memcheck takes for writes below a stack.)
		 */
		sn = umasim_snapshot(s);
		CHECK(sn != NULL && umasim_restore(s, sn) == 0, "oracle seed %"
		    PRIu64 ": snapshot", seed);
		umasim_snapshot_free(sn);
		if (r == UMASIM_OUT_STEP_LIMIT)
			r = umasim_run_more(s, 100000);
		CHECK(umasim_oracle_verdict(s, &v) == 0, "oracle seed %" PRIu64
		    ": %s (%s)", seed, v.message, outcome_name(r));
		fp_sim(f, s);
		umasim_free(s);

		s = oracle_sim(zb, UMASIM_TRACE_OFF);
		umasim_oracle_enable(s, 1);
		pol = policy(UMASIM_POL_RANDOM, seed, 0.25);
		r = umasim_run(s, &pol, 100000);
		if (umasim_oracle_verdict(s, &v) != 0) {
			failed++;
			CHECK(strcmp(umasim_oracle_kind_name(v.kind), "zero") == 0,
			    "oracle seed %" PRIu64 " with zero_bucket: %s: %s", seed,
			    umasim_oracle_kind_name(v.kind), v.message);
		}
		fp_add(f, (uint64_t)v.kind);
		umasim_free(s);
	}
	CHECK(seeds < 10 || failed > 0, "zero_bucket: no run of %d failed", seeds);
	note("  oracle: %d seeds, %d failed with zero_bucket", seeds, failed);
}

/* ---- host threads --------------------------------------------------------- */

/*
 * The same work on several host threads at once (each simulation on one);
 * every thread must find what the main thread found.
 */
struct worker {
	pthread_t	thr;
	int		seeds;
	struct fp	fp;
};

static void
work(struct fp *f, int seeds)
{

	scen_mutex_random(f, seeds);
	scen_overflow(f);
	scen_deadlock(f, seeds);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	fp_init(&w->fp);
	work(&w->fp, w->seeds);
	return (NULL);
}

/* A simulation begun on one host thread and finished on another. */
struct handoff {
	struct sim	*s;
	int		r;
};

static void *
handoff_main(void *arg)
{
	struct handoff *h = arg;
	struct umasim_policy pol = policy(UMASIM_POL_RANDOM, 7, 0.25);

	h->r = umasim_run(h->s, &pol, 100000);
	return (NULL);
}

static void
scen_threads(struct fp *f, int seeds)
{
	struct worker w[3];
	struct handoff h;
	struct fp ref;
	struct umasim_policy pol;
	struct sim *s, *t;
	int i, k;

	fp_init(&ref);
	work(&ref, seeds);
	for (i = 0; i < 3; i++) {
		w[i].seeds = seeds;
		if (pthread_create(&w[i].thr, NULL, worker_main, &w[i]) != 0) {
			CHECK(0, "pthread_create");
			return;
		}
	}
	for (i = 0; i < 3; i++) {
		pthread_join(w[i].thr, NULL);
		CHECK(w[i].fp.h == ref.h && w[i].fp.d == ref.d,
		    "host thread %d: fingerprint %016" PRIx64 "/%016" PRIx64
		    ", main thread %016" PRIx64 "/%016" PRIx64, i, w[i].fp.h,
		    w[i].fp.d, ref.h, ref.d);
	}
	fp_merge(f, &ref);

	/* Hand-off: steps here, the rest of the run on another thread. */
	s = mutex_sim(4, UMASIM_TRACE_DECISIONS);
	t = mutex_sim(4, UMASIM_TRACE_DECISIONS);
	for (k = 0; k < 5; k++) {
		CHECK(umasim_step(s, -1) >= 0, "hand-off step");
		CHECK(umasim_step(t, -1) >= 0, "hand-off step");
	}
	h.s = s;
	if (pthread_create(&w[0].thr, NULL, handoff_main, &h) != 0) {
		CHECK(0, "pthread_create");
		return;
	}
	pthread_join(w[0].thr, NULL);
	pol = policy(UMASIM_POL_RANDOM, 7, 0.25);
	CHECK(h.r == UMASIM_OUT_COMPLETED, "hand-off run: %s",
	    outcome_name(h.r));
	CHECK(umasim_run(t, &pol, 100000) == UMASIM_OUT_COMPLETED,
	    "same run, one thread");
	CHECK(umasim_digest(s) == umasim_digest(t) &&
	    umasim_steps(s) == umasim_steps(t), "hand-off changed the run");
	check_all_finished(s, "hand-off", 7);
	fp_sim(f, s);
	umasim_free(s);
	umasim_free(t);
	note("  threads: 3 host threads agree; hand-off ok");
}

/* ---- main -------------------------------------------------------------------- */

struct scenario {
	const char	*name;
	void		(*fn)(struct fp *, int);
};

static void	scen_mutex_policies_(struct fp *f, int n) { (void)n; scen_mutex_policies(f); }
static void	scen_panic_(struct fp *f, int n) { (void)n; scen_panic(f); }
static void	scen_overflow_(struct fp *f, int n) { (void)n; scen_overflow(f); }
static void	scen_mutex_steps_(struct fp *f, int n) { scen_mutex_steps(f, n / 4 + 1); }
static void	scen_threads_(struct fp *f, int n) { scen_threads(f, n / 10 + 2); }
static void	scen_snapshot_(struct fp *f, int n) { scen_snapshot(f, n / 4 + 2); }
static void	scen_oracle_(struct fp *f, int n) { scen_oracle(f, n / 10 + 2); }

static const struct scenario scenarios[] = {
	{ "mutex-random",	scen_mutex_random },
	{ "mutex-policies",	scen_mutex_policies_ },
	{ "mutex-steps",	scen_mutex_steps_ },
	{ "sleep-wakeup",	scen_sleep },
	{ "deadlock",		scen_deadlock },
	{ "panic",		scen_panic_ },
	{ "overflow",		scen_overflow_ },
	{ "snapshot",		scen_snapshot_ },
	{ "oracle",		scen_oracle_ },
	{ "host-threads",	scen_threads_ },
};

/* Is 'name' in the comma-separated 'list'? */
static int
listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	for (p = list; p != NULL; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return (1);
	}
	return (0);
}

int
main(int argc, char **argv)
{
	struct fp f, one;
	const char *e;
	size_t i;
	int before, arg, ran;

	for (arg = 1; arg < argc; arg++) {
		if (strcmp(argv[arg], "-n") == 0 && arg + 1 < argc)
			nseeds = atoi(argv[++arg]);
		else if (strcmp(argv[arg], "-s") == 0 && arg + 1 < argc)
			only = argv[++arg];
		else if (strcmp(argv[arg], "-v") == 0)
			verbose = 1;
		else {
			fprintf(stderr, "usage: kern_driver [-n SEEDS] "
			    "[-s NAME[,NAME...]] [-v]\n");
			return (2);
		}
	}
	if (nseeds < 1)
		nseeds = 1;
	e = getenv("UMASIM_SKIP_OVERFLOW");
	skip_overflow = e != NULL && e[0] != '\0' && strcmp(e, "0") != 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	lookup_codes();

	fp_init(&f);
	ran = 0;
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (only != NULL && !listed(only, scenarios[i].name))
			continue;
		ran++;
		before = failures;
		fp_init(&one);
		scenarios[i].fn(&one, nseeds);
		fp_merge(&f, &one);
		printf("%-4s %-16s %016" PRIx64 " %016" PRIx64 "\n",
		    failures == before ? "ok" : "FAIL", scenarios[i].name, one.h,
		    one.d);
	}
	/*
	 * The same on every build and machine (checked by
	 * scripts/check-c-core): schedules, and the states' digests.
	 */
	if (ran == 0) {
		fprintf(stderr, "kern_driver: no scenario named in -s %s\n",
		    only);
		return (2);
	}
	printf("fingerprint %016" PRIx64 " (seeds %d%s)\n", f.h, nseeds,
	    skip_overflow ? ", overflow skipped" : "");
	printf("digests %016" PRIx64 "\n", f.d);
	printf("kern_driver: %d passed, %d failed\n", checks - failures,
	    failures);
	return (failures == 0 ? 0 : 1);
}
