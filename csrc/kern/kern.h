/*
 * The simulated kernel: internal interfaces shared by csrc/kern/ and by
 * the kernel-style headers under csrc/sys/ that the UMA port includes.
 *
 * Everything a simulation owns hangs off its struct sim.  The simulation
 * being driven on a host thread is 'cursim' (thread-local: CFFI releases
 * the GIL, so two host threads may drive two simulations at once).
 */
#ifndef _KERN_KERN_H_
#define	_KERN_KERN_H_

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>

#include "../umasim_api.h"
#include "ctx.h"
#include "digest.h"
#include "oracle.h"
#include "vm.h"
#include "../sys/_mutex.h"

#define	KERN_NAMELEN	32
#define	KERN_PANICLEN	512
#define	KERN_MAXCALLOUT	64
#define	KERN_XTAB_MAX	16
#define	UMASIM_DISPLAY_BASE	0xfffff80000000000ULL
#define	KERN_MAXHELD	8	/* mutexes a thread's footprint names */
#define	KERN_MAXFPZ	4	/* kegs an op's footprint names */

enum point_id {
#define	POINT(id, name, func, line)	PT_##id,
#include "points.def"
#undef POINT
	PT_COUNT
};

enum window_id {
#define	POINT(id, name, func, line)
#define	WINDOW(id, name, point, fine, closes, gives_up)	W_##id,
#include "points.def"
#undef WINDOW
#undef POINT
	W_COUNT
};

/*
 * Race-window coverage (cover.c; docs/design.md, "Coverage"): what a run
 * saw, not what its future depends on -- kept in the simulated state so
 * that a restore brings back the coverage of the snapshot's moment, and
 * never part of the digest.
 */
#define	COV_NSTATES	128	/* abstract states at a point (cover.c) */
#define	COV_MAXNEST	8	/* windows one thread can be inside at once */
#define	COV_NWORDS	((PT_COUNT * COV_NSTATES + 63) / 64)

struct kcover {
	uint8_t		win[W_COUNT];	/* UMASIM_COV_* flags */
	int		nopen;		/* windows open over all threads */
	uint64_t	states[COV_NWORDS];	/* (point, state) pairs seen */
};

struct kcovwin {
	int		w;		/* enum window_id */
	const void	*obj;		/* the keg the window is about */
};

enum op_code {
#define	OP(id, name, point, handler)	OPC_##id,
#include "ops.def"
#undef OP
	OPC_COUNT
};

enum bug_bit {
#define	BUG(id, bit, name, what)	BUG_##id = bit,
#include "bugs.def"
#undef BUG
};

enum ev_kind {
#define	EV(id, name)	EVK_##id,
#include "evkinds.def"
#undef EV
	EVK_COUNT
};

struct kstack;
struct mtx;
struct sim;

/*
 * A step's footprint (footprint.c; docs/engine.md, "Footprints"): the
 * shared objects it read or wrote, as a small set, or 'all' when it may
 * have touched anything.  Recorded only for the bounded explorer's sleep
 * sets (s->fp_on).
 */
#define	FP_MAX		16
struct kfoot {
	uint16_t	n;
	uint8_t		all;
	uint8_t		w[FP_MAX];	/* 1: written */
	uint64_t	any, wr;	/* a bit per object (hashed): a quick test */
	uint64_t	obj[FP_MAX];
};

/* The bounded explorer's log of a run's steps (s->xlog). */
struct xstep {
	uint32_t	run;		/* its runnable threads: xrun[run..run+n) */
	uint16_t	n, def;		/* how many; the default's index */
	int16_t		tid;		/* the thread that ran */
	struct kfoot	fp;
};

struct xrun {
	int32_t		tid;
	uint64_t	mig;		/* vCPUs it may be migrated to */
};

/* What a program variable holds (docs/design.md, "Programs"). */
enum var_state { VAR_UNSET, VAR_HELD, VAR_NULL, VAR_FREED };

struct kvar {
	int		v_state;
	int		v_zone;		/* zone it came from, or VAR_SRC_* */
	uint64_t	v_item;		/* arena offset of the item */
	int64_t		v_size;		/* bytes, for kmem and large malloc */
};

#define	VAR_SRC_LARGE	-3		/* malloc_large */
#define	VAR_SRC_KMEM	-2		/* kmem_alloc */
#define	VAR_SRC_MALLOC	-1		/* malloc(9) */

/* Operation flags (struct umasim_op.flags), from the op's bare words. */
#define	OPF_NOWAIT	0x01
#define	OPF_ZERO	0x02
#define	OPF_NOVM	0x04
#define	OPF_WAITOK	0x08

struct kprog {
	struct umasim_op *p_ops;
	int		p_nops;
	int64_t		p_repeat;
};

struct kthread {
	/*
	 * What a step touches, together in the first cache line (a step
	 * to another thread reads it cold; struct kthread_chunk aligns it):
	 * the machine, the stop's bookkeeping and the program's loop.
	 */
	struct ctx	td_ctx;
	uint64_t	td_acts;	/* actions taken so far */
	uint64_t	td_stop_acts;	/* td_acts at the last stop */
	int64_t		td_iter;
	int		td_tid;
	int		td_state;	/* UMASIM_TS_* */
	int		td_point;	/* where it last stopped */
	int		td_pc;
	int		td_nopoints;	/* runs to completion (boot work) */
	int		td_busy;	/* inside an operation or kernel work */
	int		td_nfpz;	/* footprints: kegs its op reads (td_fpz) */
	int		td_fpall;	/* the op conflicts with every step */
	/* then what the kernel's paths read: vCPU, critical sections */
	int		td_cpu;
	int		td_critnest;
	int		td_migrate_to;	/* pending sim.migrate(), or -1 */
	int		td_nwin;	/* race windows it is inside (td_win) */
	struct kprog	td_prog;
	int		td_kernel;	/* softclock, pagedaemon */
	int		td_nlocks;	/* mutexes held */
	uint64_t	td_sleepseq;	/* order of falling asleep */
	/* sleeping */
	const void	*td_wchan;
	const char	*td_wmesg;
	int64_t		td_timo_at;	/* tick of a timed wakeup, or -1 */
	char		td_nokva;	/* kmem_malloc's "nokva" channel */
	int		td_timedout;
	/* blocked on a mutex, or waiting for a variable */
	struct mtx	*td_blocked;
	int64_t		td_waitvar;
	void		(*td_main)(struct kthread *);
	/* footprints (footprint.c): mutexes held, kegs its op reads */
	int		td_nheld;
	int		td_heldlost;	/* held more than KERN_MAXHELD: unnamed */
	struct mtx	*td_held[KERN_MAXHELD];
	const void	*td_fpz[KERN_MAXFPZ];
	struct kstack	*td_stack;
	char		td_name[KERN_NAMELEN];
	/* race windows the thread is inside, innermost last (cover.c) */
	struct kcovwin	td_win[COV_MAXNEST];
	/* indexes (struct kindex): wait queue and timed sleepers' links */
	int		td_wqnext, td_wqprev;
	int		td_tnext, td_tprev;
	const void	*td_wqkey;	/* the queue it is on, or NULL */
	int		td_timed;	/* on the timed sleepers' list */
	int64_t		td_pct_prio;	/* the PCT policy's priority, 0: unseen */
#if !defined(UMASIM_UCONTEXT) && !defined(UMASIM_ASAN)
	/* to a whole number of cache lines (struct kthread_chunk) */
	char		td_pad[24];
#endif
};

#if !defined(UMASIM_UCONTEXT) && !defined(UMASIM_ASAN)
_Static_assert(sizeof(struct kthread) % 64 == 0 &&
    offsetof(struct kthread, td_fpall) < 64,
    "struct kthread: its first cache line, and a whole number of them");
#endif

struct callout {
	void		(*c_func)(void *);
	void		*c_arg;
	int64_t		c_time;
	int		c_pending;
	uint64_t	c_seq;		/* order among callouts due together */
};

struct kevlog {
	struct umasim_event *e;
	size_t		n, cap;
};

struct kconsole {
	char		*buf;		/* NUL-separated lines */
	size_t		len, cap;
	size_t		*off;		/* start of each line */
	size_t		n, ncap;
};

/*
 * The policy of a run (policy/): what every policy shares, set by
 * policy_init(); the rest is the policy's own, in 'priv', which only its
 * file reads (policy/policy.h: POLICY_PRIV).
 */
#define	KPOLICY_PRIVSIZE	256

struct kpolicy {
	int		kind;
	uint64_t	rng[4];
	double		migrate;
	union {
		uint64_t	align;
		char		bytes[KPOLICY_PRIVSIZE];
	}		priv;
};

/*
 * The simulated state: what a simulation's future depends on, but for the
 * thread table and the memory that hangs off struct sim (mutexes,
 * variables, the VM's tables and arena, thread stacks), which a snapshot
 * copies region by region (snapshot.c).  A snapshot copies this struct
 * whole.  The pointers in it (into struct sim, the arena, the VM's tables)
 * stay valid for the simulation's life, so a copy is only ever restored
 * into the simulation it was taken from.
 */
struct simstate {
	struct umasim_config cfg;
	int		ncpus;
	int		maxid;
	int64_t		now;		/* virtual time, in ticks */
	uint64_t	nsteps;
	int		outcome;	/* UMASIM_OUT_* of the last run */
	int		panicked;
	int		faulted;	/* a host fault (panicked is set too) */
	struct umasim_host_fault fault;	/* what it was, when faulted */
	int		script_error;
	int		nlive;		/* user threads not finished */
	uint64_t	sleepseq;

	/* threads and scheduling (the thread table is in struct sim) */
	int		nthreads;
	int		lastrun;	/* tid the default decision continues */
	struct kthread	*curthread;
	int		in_run;		/* inside umasim_run() */
	uint64_t	run_limit;	/* nsteps at which the run stops */

	/* what is recorded (a restore brings back the snapshot's settings) */
	int		trace_level;
	uint64_t	digest_every;	/* record a digest every this many steps */

	/* timers: next tick at which a timed sleep or a callout is due */
	int64_t		next_timer;
	int		ncallouts;
	uint64_t	callout_seq;
	int		softclock_chan;	/* wait channel of softclock */

	/* program-visible objects, by id (their tables are host memory) */
	int		nmtx;
	int		nchan;
	int64_t		nvars;

	/* UMA's globals, in the simulated bss (csrc/vm/uma_core.c) */
	void		*uma;
	void		*kmem;		/* malloc(9)'s kmemzones (vm/kern_malloc.c) */
	void		*umasim;	/* the simulator's UMA tables (vm/uma_sim.c) */

	int		cpu_crit[UMASIM_MAXCPU];	/* tid inside a critical section, or -1 */
	struct callout	*callouts[KERN_MAXCALLOUT];
	char		panicmsg[KERN_PANICLEN];
	char		errmsg[KERN_PANICLEN];

	struct vmstate	vm;

	struct kpolicy	pol;		/* the run's policy (policy/) */

	struct kcover	cov;		/* race-window coverage (cover.c) */
};

/*
 * The thread table is allocated, and copied by snapshots, in chunks of
 * this many threads; a thread slot keeps its stack for the simulation's
 * life (frames hold absolute addresses into it).
 */
#define	KERN_THREAD_CHUNK	32

/*
 * Where a suspended thread's step will first read its stack: near the
 * stack pointer it was switched out at, recorded then (sched.c).  Only
 * ever prefetched, never read as state: after a restore a hint may be
 * stale, which costs a useless prefetch and nothing else.  Kept beside
 * the thread table, densely, so that reading one is no miss of its own.
 */
struct kthread_chunk {
	struct kthread	td[KERN_THREAD_CHUNK];
	struct kstack	*stack[KERN_THREAD_CHUNK];
	const char	*sphint[KERN_THREAD_CHUNK];
};

/* Bitmap words over UMASIM_MAXTHREADS threads. */
#define	KIX_WORDS	(UMASIM_MAXTHREADS / 64)
/* Prefix counts of the words (struct kindex): nwords + 1, in 8s. */
#define	KIX_PREWORDS	((KIX_WORDS + 1 + 7) / 8 * 8)
#define	KIX_PRE_END	0x7fff	/* above any count */

/*
 * Indexes that keep every per-step operation independent of the number
 * of threads (sched.c, sleep.c, mutex.c, program.c):
 *  - the set of threads whose state is runnable, a bit per tid; a step
 *    masks out the vCPUs held in critical sections by other threads;
 *  - wait queues: the threads blocked on a mutex, asleep on a channel or
 *    waiting for a variable, hashed by what they wait on, in the order
 *    they began to wait;
 *  - the timed sleepers.
 * Derived from the thread table alone (kix_rebuild()).
 */
struct kwq {				/* a wait queue (open addressing) */
	const void	*key;		/* NULL: free slot */
	int		head, tail;	/* tids, -1: empty (a tombstone) */
};

struct kindex {
	uint64_t	run[KIX_WORDS];	/* td_state == UMASIM_TS_RUNNABLE */
	uint8_t		runcnt[KIX_WORDS];	/* bits set in each word */
	/*
	 * Bits set in the words before each, to nwords; past it KIX_PRE_END
	 * (runview_nth())
	 */
	uint16_t	runpre[KIX_PREWORDS] __attribute__((aligned(16)));
	int		nrun;
	int		nwords;		/* words in use: (nthreads + 63) / 64 */
	uint64_t	*oncpu;		/* [ncpus][KIX_WORDS]: td_cpu */
	int		nheld;		/* vCPUs held in critical sections */
	uint64_t	elig[KIX_WORDS];	/* scratch: run minus masked vCPUs */
	uint8_t		eligcnt[KIX_WORDS];
	uint16_t	eligpre[KIX_PREWORDS] __attribute__((aligned(16)));
	struct kwq	*wq;		/* wait queues by key */
	int		wqcap, wqused;	/* slots; slots with a key */
	int		timed_head;	/* timed sleepers, a list by td_tnext */
	int		ntimed;
	int		nwaitvar;	/* threads waiting for a variable */
	int		nmigrate;	/* threads with a pending sim.migrate() */
	int		*due;		/* scratch: timed sleepers due */
	int		capdue;
};

/*
 * A simulation: its simulated state, then the host's state -- what
 * belongs to the process driving it, never restored by a snapshot.
 */
struct sim {
	struct simstate	st;

	/* ---- the host's state ---- */
	uint64_t	sim_id;		/* unique in the process: snapshots check it */
	int		busy;		/* a host thread is inside the C API */
	/*
	 * The decisions (output): dec[0..ndec).  Every entry from dec_dirty
	 * on, to capdec, is 0, so that a default decision (0) is recorded
	 * by counting it, not by writing it: a long run of them touches no
	 * memory (events.c, dec_grow(), dec_truncate()).
	 */
	uint32_t	*dec;
	size_t		ndec, capdec;
	size_t		dec_dirty;	/* <= ndec */
	uint8_t		*cover;		/* explorers: points stopped at */
	int		brlog_on;	/* explorers: log each step's choices */
	/*
	 * Set for the length of one umasim_run() (sched_run_host()) whose
	 * steps record nothing but their decision: the sequential policy,
	 * no trace events, digests, explorer logs or footprints.  A point
	 * then continues the thread that stops there with no more than
	 * the step's bookkeeping (sched.c, sched_seq_continue()).
	 */
	int		seq_fast;
	/*
	 * How many more stops the sequential policy continues with no test
	 * but this count (sched_point_in()), 0 when the next stop must look
	 * (always, unless s->seq_fast).  Set by sched_seq_continue() from
	 * what bounds a run of such stops -- the step limit, the room in the
	 * decision log, the next timer -- and cleared by whatever changes
	 * those or the thread that continues: every scheduled step
	 * (step_begin()), a nearer timer (sched_timer_add()).
	 */
	uint64_t	seq_left;
	/*
	 * Whether the interpreter's hooks around each op have anything to
	 * do: a full trace, footprints or the oracle (program_main()).  Set
	 * where the host hands the simulation to its threads
	 * (sched_run_host(), sched_step_host()), which none of the three
	 * changes under.
	 */
	int		op_hooks;
	struct ctx	sched_ctx;	/* the host side of the step loop */
	jmp_buf		host_jmp;	/* panics outside any thread land here */
	int		host_jmp_armed;

	/* subsystems' digest walks */
	digest_fn_t	*digesters[8];
	int		ndigesters;

	/* tables of the program-visible objects (contents: simulated) */
	struct mtx	*umtx;
	char		(*umtx_name)[KERN_NAMELEN];
	char		*chans;		/* a byte each: its address is the wait channel */
	char		(*chan_name)[KERN_NAMELEN];
	int64_t		capvars;
	struct kvar	*vars;
	char		(*var_names)[KERN_NAMELEN];

	/*
	 * Tables of the UMA port's beyond what its simulated bss holds (the
	 * zone slots past the 64th: vm/uma_sim_tables.h), a chunk of
	 * xtab_chunk bytes at a time, never moved.  Contents: simulated
	 * (snapshots copy them); addresses: canonical (kern_canon()).
	 */
	char		*xtab[KERN_XTAB_MAX];
	int		nxtab;
	size_t		xtab_chunk;

	/* the arena (VM); none yet until the VM is attached */
	char		*arena;
	size_t		arena_len;

	/* output (a restore puts back the counts, keeps the buffers) */
	struct kevlog	ev;
	struct kconsole	con;
	struct umasim_digest_rec *dg;
	size_t		ndg, capdg;

	/* explorers */
	struct brlog {
		uint16_t n, def;	/* runnable threads, default's index */
	}		*brlog;		/* each step's choices */
	size_t		nbrlog, capbrlog;
	struct explore_state *explore;
	int		oracle_on;	/* the oracle judges runs (oracle.h) */
	struct oracle	*oracle;	/* its state, private to oracle.c */
	int		xlog_on;	/* bounded: log each step (xstep) */
	struct xstep	*xlog;
	size_t		nxlog, capxlog;
	struct xrun	*xrun;		/* the runnable threads of each step */
	size_t		nxrun, capxrun;
	int		fp_on;		/* record footprints into *fp */
	struct kfoot	*fp;		/* the current step's */
	struct kfoot	fp_spare;	/* where it goes when the log is full */
	int		xlog_oom;	/* the log lost a step (no memory) */

	/* kernel work for the host (hostcall.c); never live across calls */
	struct kthread	hostcall;
	struct kstack	*hostcall_stack;
	void		(*hostcall_fn)(void *);
	void		*hostcall_arg;

	/*
	 * Host resources that outlive a restore: every program ever spawned
	 * stays allocated until the simulation is freed (thread slots keep
	 * their stacks: struct kthread_chunk).
	 */
	struct umasim_op **oppool;
	size_t		noppool, capoppool;

	/*
	 * The thread table: simulated state, allocated a chunk at a time as
	 * threads are created (never moved: frames and sleepers hold
	 * pointers into it), copied by snapshots chunk by chunk up to the
	 * last thread in use.
	 */
	int		ntdchunks;
	struct kthread_chunk *tdchunks[UMASIM_MAXTHREADS / KERN_THREAD_CHUNK];

	/*
	 * Indexes over the thread table, derived from it (sched.c): rebuilt
	 * after a restore, never part of a snapshot or the digest.
	 */
	struct kindex	ix;
};

/* The thread 'tid' (0 <= tid < the chunks' capacity). */
static inline struct kthread *
sim_td(const struct sim *s, int tid)
{

	return (&s->tdchunks[tid / KERN_THREAD_CHUNK]->
	    td[tid % KERN_THREAD_CHUNK]);
}

/* The threads from tid c * KERN_THREAD_CHUNK on. */
static inline struct kthread *
sim_thread_chunk(struct sim *s, int c)
{

	return (s->tdchunks[c]->td);
}

extern __thread struct sim *cursim;

/*
 * Set while this host thread runs a simulated thread's code, i.e. between
 * the host side's switch to a thread and its return (sched_enter()): the
 * signal handler of stack.c catches faults only then.
 */
extern __thread int kern_on_thread;

/* The host side of the step loop resumes a thread. */
static inline void
sched_enter(struct sim *s, struct ctx *to)
{

	kern_on_thread = 1;
	ctx_switch(&s->sched_ctx, to);
	kern_on_thread = 0;
}

/*
 * The busy guard (api.c): an entry point of the C API makes its
 * simulation current on this host thread, and refuses one that another
 * host thread is driving -- UMASIM_E_BUSY, or nothing done for one that
 * returns nothing (API_ENTER_VOID).
 */
#define	API_ENTER_RET(s, ret) do {				\
	if (__atomic_exchange_n(&(s)->busy, 1, __ATOMIC_ACQUIRE))	\
		return ret;						\
	cursim = (s);							\
} while (0)
#define	API_ENTER(s)		API_ENTER_RET(s, (UMASIM_E_BUSY))
#define	API_ENTER_VOID(s)	API_ENTER_RET(s, )
#define	API_LEAVE(s)	__atomic_store_n(&(s)->busy, 0, __ATOMIC_RELEASE)

/* kindex.c: the indexes over the thread table (struct kindex) */
struct runview {			/* the threads a step chooses from */
	const uint64_t	*w;		/* a bit per tid */
	const uint8_t	*cnt;		/* bits set in each word */
	const uint16_t	*pre;		/* bits set in the words before each */
	int		nwords;
	int		n;		/* bits set */
};
int	kix_init(struct sim *s);
void	kix_free(struct sim *s);
int	kix_rebuild(struct sim *s);
void	kix_thread_new(struct sim *s, struct kthread *td);
void	kix_migrate(struct sim *s, struct kthread *td, int to);
void	kix_state(struct sim *s, struct kthread *td);
void	kix_wait(struct sim *s, struct kthread *td);
void	kix_wake(struct sim *s, struct kthread *td);
void	kix_view_masked(struct sim *s, struct runview *rv);
int	kix_sleep_first(struct sim *s, const void *chan);
int	kix_mtx_first(struct sim *s, const struct mtx *m);
int	kix_var_first(struct sim *s, int64_t vid);
int	kix_timed_first(struct sim *s);
int	runview_after(const struct runview *rv, int tid);


/*
 * Bit counting without the POPCNT instruction, which the portable build
 * cannot assume (GCC would call libgcc's __popcountdi2).
 */
static inline uint64_t
bytes_pop(uint64_t x)
{

	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	return ((x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL);
}

static inline int
pop64(uint64_t x)
{
#ifdef __POPCNT__
	return (__builtin_popcountll(x));
#else
	return ((int)((bytes_pop(x) * 0x0101010101010101ULL) >> 56));
#endif
}

extern const uint8_t kix_select8[256][8];	/* kindex.c */

/* The position of the k-th set bit of x (0 <= k < pop64(x)). */
static inline int
select64(uint64_t x, int k)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t highs = 0x8080808080808080ULL;
	uint64_t cum, le, y;
	int byte;

	/* Byte i of cum: the bits set in bytes 0 to i (at most 64). */
	cum = bytes_pop(x) * ones;
	if ((int)(cum & 0xff) > k)	/* few threads: the first byte */
		return (kix_select8[x & 0xff][k]);
	/*
	 * High bit of byte i: cum's byte i <= k (k < 64: no borrow).  They
	 * are bytes 0 to byte - 1, counted with no loop (which would be
	 * mispredicted where it stops).
	 */
	le = (((uint64_t)k * ones | highs) - cum) & highs;
	byte = (int)(((le >> 7) * ones) >> 56);
	k -= (int)(((cum << 8) >> (byte * 8)) & 0xff);
	y = (x >> (byte * 8)) & 0xff;
	return (byte * 8 + kix_select8[y][k]);
}

/*
 * The threads a step may choose from: runnable, on a vCPU that no other
 * thread holds in a critical section.  The same set, in the same (tid)
 * order, as a scan of the thread table with thread_runnable().
 */
static inline void
kix_view(struct sim *s, struct runview *rv)
{
	struct kindex *ix = &s->ix;

	if (__builtin_expect(ix->nheld != 0, 0)) {
		kix_view_masked(s, rv);
		return;
	}
	rv->nwords = ix->nwords;
	rv->w = ix->run;
	rv->cnt = ix->runcnt;
	rv->pre = ix->runpre;
	rv->n = ix->nrun;
}

typedef int16_t kix_v8 __attribute__((vector_size(16), may_alias));

/*
 * The tid of the k-th thread of the view (0 <= k < n), or -1.  Its word
 * is the number of words that start at or before it, less one: a count
 * of the prefixes (rv->pre, KIX_PRE_END past the last word) at most k,
 * eight at a time, with no branch to mispredict where the words run out.
 */
static inline int
runview_nth(const struct runview *rv, int k)
{
	const kix_v8 *pre = (const kix_v8 *)(const void *)rv->pre;
	union {
		kix_v8		v;
		uint64_t	h[2];
	} le;
	kix_v8 kv;
	int i, w;

	if (k < rv->cnt[0])
		return (select64(rv->w[0], k));
	if (__builtin_expect(k < 0 || k >= rv->n, 0))
		return (-1);
	kv = (kix_v8){ 0 } + (int16_t)k;
	le.v = (kix_v8){ 0 };
	for (i = 0; i <= rv->nwords / 8; i++)
		le.v -= pre[i] <= kv;	/* a compare is -1 in a lane at most k */
	/* The sum of the eight lanes (each at most 9): four to a word. */
	w = (int)(((le.h[0] + le.h[1]) * 0x0001000100010001ULL) >> 48) - 1;
	return (w * 64 + select64(rv->w[w], k - rv->pre[w]));
}

/* Whether 'tid' (>= 0) is in the view. */
static inline int
runview_has(const struct runview *rv, int tid)
{

	return (tid / 64 < rv->nwords && ((rv->w[tid / 64] >> (tid % 64)) & 1));
}

/* The index of 'tid' in the view, or -1 when it is not in it. */
static inline int
runview_rank(const struct runview *rv, int tid)
{

	if (tid < 0 || tid / 64 >= rv->nwords ||
	    !((rv->w[tid / 64] >> (tid % 64)) & 1))
		return (-1);
	return (rv->pre[tid / 64] + pop64(rv->w[tid / 64] &
	    (((uint64_t)1 << (tid % 64)) - 1)));
}

/* sched.c */
void	sched_point(int pt);
void	sched_point_slow(int pt);
void	sched_fine_point(int pt);
void	sched_fine_point_always(int pt);
void	sched_block(struct kthread *td, int pt);
void	sched_overflow(struct sim *s, struct kthread *td)
	    __attribute__((noreturn));
void	sched_host_fault(struct sim *s, struct kthread *td, int signo,
	    const void *addr) __attribute__((noreturn));
void	sched_wake_thread(struct sim *s, struct kthread *td);
void	sched_set_asleep(struct sim *s, struct kthread *td, const void *chan,
	    const char *wmesg);
void	sched_timer_add(struct sim *s, int64_t when);
struct kthread *thread_create(struct sim *s, const char *name, int cpu,
	    int kernel, void (*main)(struct kthread *));
int	thread_runnable(const struct sim *s, const struct kthread *td);
void	critical_enter(void);
void	critical_exit(void);

static inline struct kthread *
kern_curthread(void)
{

	return (cursim->st.curthread);
}

static inline void
sched_act(void)
{

	cursim->st.curthread->td_acts++;
}

int	sched_step_host(struct sim *s, int tid);
int	sched_run_host(struct sim *s, uint64_t max_steps);
int	sched_migrate_host(struct sim *s, int tid, int cpu);
int	sched_runnable_host(struct sim *s, int32_t *tids, int max);

/* sleep.c */
#define	PDROP		0x200	/* msleep: do not retake the mutex */
#define	EWOULDBLOCK	35
int	msleep(const void *chan, struct mtx *m, int pri, const char *wmesg,
	    int timo);
int	sleep_internal(struct kthread *td, const void *chan, struct mtx *m,
	    int pri, const char *wmesg, int timo);
void	wakeup(const void *chan);
void	wakeup_one(const void *chan);
int	wakeup_internal(struct sim *s, const void *chan, int one);
int64_t	sleep_wakeup_timers(struct sim *s);
int64_t	sleep_next_timeout(const struct sim *s);

/* callout.c */
void	callout_init(struct callout *c, int mpsafe);
void	callout_reset(struct callout *c, int to_ticks, void (*func)(void *),
	    void *arg);
int	callout_stop(struct callout *c);
int	callout_due(const struct sim *s);
int64_t	callout_next_after(const struct sim *s);
int	softclock_create(struct sim *s);
void	softclock_wake(struct sim *s);

/* panic.c, console */
void	panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void	kern_panic_finish(struct sim *s, struct kthread *td)
	    __attribute__((noreturn));
void	kern_fault_finish(struct sim *s, struct kthread *td)
	    __attribute__((noreturn));
int	kern_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int	kern_vprintf(const char *fmt, va_list ap);

/* events.c */
void	ev_record(struct sim *s, int kind, int64_t a, int64_t b);
void	ev_record_sleep(struct sim *s, int64_t chan, int64_t timo,
	    const char *wmesg);
int	console_append(struct sim *s, const char *line);
int	dec_grow(struct sim *s);
void	dec_truncate(struct sim *s, size_t n);

/*
 * Records the decision of a step (every step takes one).  The entry is
 * already 0 (struct sim, dec_dirty): only another decision is written.
 */
static inline int
dec_append(struct sim *s, uint32_t d)
{

	if (__builtin_expect(s->ndec == s->capdec, 0) && dec_grow(s) != 0)
		return (-1);
	if (d != 0) {
		s->dec[s->ndec] = d;
		s->dec_dirty = s->ndec + 1;
	}
	s->ndec++;
	return (0);
}
void	digest_record(struct sim *s);
void	brlog_append(struct sim *s, int n, int def);

/* Program operations: handlers in program.c and vm/uma_ops.c. */
#define	OP(id, name, point, handler)					\
	void handler(struct kthread *td, const struct umasim_op *op);
#include "ops.def"
#undef OP

static inline int64_t
op_a(const struct kthread *td, const struct umasim_op *op)
{

	return (op->a + op->a_stride * td->td_iter);
}

static inline int64_t
op_b(const struct kthread *td, const struct umasim_op *op)
{

	return (op->b + op->b_stride * td->td_iter);
}

/* program.c; var_wait_set(), var_set(), var_item(): inline, below. */
struct kvar *var_wait_unset(struct kthread *td, int64_t vid);
void	var_wake(struct sim *s, int64_t vid);
void	program_main(struct kthread *td);
extern const int op_point[OPC_COUNT];
extern const char *const op_names[OPC_COUNT];

/* the UMA port's hooks (csrc/vm/) */
int	uma_sim_attach(struct sim *s);
void	uma_digest(struct digest *d, const struct sim *s);
int	uma_check(struct sim *s, struct umasim_check_report *rep);

/* explore.c */
void	explore_free(struct sim *s);
uint64_t digest_final(struct sim *s);

/* hostcall.c */
int	kern_hostcall(struct sim *s, void (*fn)(void *), void *arg);

/* api.c: a new chunk of xtab (zeroed), or -1 */
int	sim_xtab_grow(struct sim *s, size_t chunk);

/* snapshot.c */
struct snapshot;
struct snapshot *snapshot_take(struct sim *s);
int	snapshot_restore(struct sim *s, const struct snapshot *sn);
void	snapshot_free(struct snapshot *sn);

/* digest.c */
uint64_t digest_sim(struct sim *s);
uint64_t kern_canon(const struct sim *s, const void *p);
const char *kern_chan_name(const struct sim *s, const void *p);

static inline int
arena_contains(const struct sim *s, const void *p, uint64_t *canon)
{
	const char *c = p;

	if (s->arena == NULL || c < s->arena || c >= s->arena + s->arena_len)
		return (0);
	*canon = UMASIM_DISPLAY_BASE + (uint64_t)(c - s->arena);
	return (1);
}

/* cover.c */
void	cov_win_open(int w, const void *obj);
void	cov_win_open_inner(int w);
void	cov_win_close(int w);
void	cov_win_close_nested(int w);
void	cov_touch_slow(struct sim *s, const void *obj);
void	cov_migrated(struct sim *s, struct kthread *td);
void	cov_union(uint8_t *win, uint64_t *states, const struct kcover *c);
void	cov_report(const uint8_t *win, const uint64_t *states,
	    struct umasim_coverage *out);

/*
 * Another thread than those inside a window on 'obj' acted on it (took
 * its lock, passed one of its points): those windows are interleaved.
 */
static inline void
cov_touch(const void *obj)
{
	struct sim *s = cursim;
	const struct kthread *cur = s->st.curthread;

	/* Nothing to do when the only open windows are this thread's. */
	if (__builtin_expect(s->st.cov.nopen != 0, 0) &&
	    (cur == NULL || s->st.cov.nopen != cur->td_nwin))
		cov_touch_slow(s, obj);
}

/* The current thread stops at UMA's point 'pt' in abstract state 'state'. */
static inline void
cov_state(int pt, unsigned state)
{
	size_t bit = (size_t)pt * COV_NSTATES + (state % COV_NSTATES);

	cursim->st.cov.states[bit / 64] |= (uint64_t)1 << (bit % 64);
}

/* Would sched_point() stop the current thread here? */
static inline int
sched_point_stops(const struct kthread *td)
{

	return (td->td_acts != td->td_stop_acts && !td->td_nopoints);
}

#ifdef UMASIM_SANITIZE
void	sched_seq_verify(struct sim *s, struct kthread *td);
#endif

/*
 * A stop on s->seq_left's count: one the sequential policy continues with
 * decision 0 (sched.c, sched_seq_continue(), which set the count), the
 * step's bookkeeping and nothing else.
 */
static inline void
sched_seq_step(struct sim *s, struct kthread *td, int pt)
{

#ifdef UMASIM_SANITIZE
	sched_seq_verify(s, td);
#endif
	s->seq_left--;
	td->td_point = pt;
	td->td_stop_acts = td->td_acts;
	s->st.now += s->st.cfg.ticks_per_step;
	s->ndec++;		/* decision 0: dec_append() writes nothing */
	s->st.nsteps++;
}

/*
 * sched_point(), inline, for the current thread 'td' of 's' (read before:
 * a stop that switches threads may resume this one on another host
 * thread, see sched_point()): a stop on the count inline, any other
 * sched_point_slow()'s, out of line.
 */
static inline void
sched_point_in(struct sim *s, struct kthread *td, int pt)
{

	if (!sched_point_stops(td))
		return;		/* back to back with the last stop: one point */
	if (__builtin_expect(s->seq_left != 0, 1)) {
		sched_seq_step(s, td, pt);
		return;
	}
	sched_point_slow(pt);
}

/* footprint.c */
#define	FPK_CPU		(1ULL << 60)	/* a vCPU: who runs there, its caches */
#define	FPK_VAR		(2ULL << 60)	/* a program variable */
#define	FPK_VM		(3ULL << 60)	/* the page supply and kmem_map */
#define	FPK_SLEEPQ	(4ULL << 60)	/* the order of sleepers */
void	fp_add(struct sim *s, uint64_t obj, int w);
void	fp_step_begin(struct sim *s, struct kthread *td);
int	fp_independent(const struct kfoot *a, const struct kfoot *b);
void	fp_zone(const void *lock);
void	fp_cpu_released(struct sim *s, const struct kthread *td);
struct runview;
int	xlog_append(struct sim *s, const struct runview *rv, int def, int tid);

/* Notes that the current step read (w = 0) or wrote (w = 1) 'obj'. */
static inline void
fp_note(uint64_t obj, int w)
{
	struct sim *s = cursim;

	if (__builtin_expect(s->fp_on, 0))
		fp_add(s, obj, w);
}
#define	FP_PTR(p)	((uint64_t)(uintptr_t)(p))
#define	FP_READ(p)	fp_note(FP_PTR(p), 0)
#define	FP_WRITE(p)	fp_note(FP_PTR(p), 1)
/* The current step may have touched anything (conservative). */
#define	FP_ALL() do {							\
	if (__builtin_expect(cursim->fp_on, 0))				\
		cursim->fp->all = 1;					\
} while (0)
/* The current op reads the keg whose lock is 'lock' at every step. */
#define	FP_ZONE(lock) do {						\
	if (__builtin_expect(cursim->fp_on, 0))				\
		fp_zone(lock);						\
} while (0)

/* rng.c */
uint64_t rng_next(uint64_t st[4]);
void	rng_seed(uint64_t st[4], uint64_t seed);
uint64_t rng_below(uint64_t st[4], uint64_t n);
double	rng_unit(uint64_t st[4]);

/*
 * critical_enter() and critical_exit() (sched.c), inline: the UMA port's
 * fast paths enter and leave a critical section once or twice an
 * operation, and uma_sim.h maps its critical_enter()/critical_exit() to
 * these in the simulator's build (the native build keeps its own
 * functions).  A stop at the section's point is sched_point_in()'s, out
 * of line but for the sequential policy's common case; everything after
 * it uses the sim and thread read before it, which stay the same
 * whichever host thread the thread resumes on.
 */
static inline void
kern_critical_enter(void)
{
	struct sim *s = cursim;
	struct kthread *td = s->st.curthread;

	sched_point_in(s, td, PT_CRITICAL_ENTER);
	fp_note(FPK_CPU | (uint64_t)td->td_cpu, 1);
	if (td->td_critnest++ == 0) {
		s->st.cpu_crit[td->td_cpu] = td->td_tid;
		s->ix.nheld++;
	}
	td->td_acts++;
}

static inline void
kern_critical_exit(void)
{
	struct sim *s = cursim;
	struct kthread *td = s->st.curthread;

	sched_point_in(s, td, PT_CRITICAL_EXIT);
	if (__builtin_expect(td->td_critnest <= 0, 0))
		panic("critical_exit: td_critnest == 0");
	fp_note(FPK_CPU | (uint64_t)td->td_cpu, 1);
	if (--td->td_critnest == 0) {
		s->st.cpu_crit[td->td_cpu] = -1;
		s->ix.nheld--;
		if (__builtin_expect(s->fp_on, 0))
			fp_cpu_released(s, td);
	}
	td->td_acts++;
}

/*
 * The push and the pop of a race window, inline, for a window that exists
 * in this simulation (uma_sim.h: uma_sim_window_exists() has answered
 * the granularity test that cover.c's cov_win_open() adds to the push);
 * a pop of a window that is not the innermost is cover.c's
 * cov_win_close_nested().
 */
static inline void
cov_win_open_fast(int w, const void *obj)
{
	struct sim *s = cursim;
	struct kthread *td = s->st.curthread;

	if (td->td_nopoints || td->td_nwin == COV_MAXNEST)
		return;
	td->td_win[td->td_nwin].w = w;
	td->td_win[td->td_nwin].obj = obj;
	td->td_nwin++;
	s->st.cov.nopen++;
	s->st.cov.win[w] |= UMASIM_COV_ENTERED;
}

static inline void
cov_win_close_fast(int w)
{
	struct sim *s = cursim;
	struct kthread *td = s->st.curthread;
	int i;

	i = td->td_nwin - 1;
	if (i >= 0 && td->td_win[i].w == w) {	/* the innermost: common */
		td->td_nwin = i;
		s->st.cov.nopen--;
		return;
	}
	cov_win_close_nested(w);
}

/*
 * The program's variables, inline: the interpreter's alloc and free ops
 * read or set one each.
 */
static inline void *
var_item(const struct sim *s, const struct kvar *v)
{

	return (s->arena + (v->v_item - UMASIM_DISPLAY_BASE));
}

/*
 * The variable, once some thread has set it: freeing an unset variable is
 * the consumer side of a hand-off and waits for the producer
 * (var_wait_unset()).
 */
static inline struct kvar *
var_wait_set(struct kthread *td, int64_t vid)
{
	struct sim *s = cursim;

	if (__builtin_expect(s->vars[vid].v_state == VAR_UNSET, 0))
		return (var_wait_unset(td, vid));
	fp_note(FPK_VAR | (uint64_t)vid, 1);
	td->td_waitvar = -1;
	return (&s->vars[vid]);
}

static inline void
var_set(struct sim *s, int64_t vid, int state, int zone, void *item,
    int64_t size)
{
	struct kvar *v = &s->vars[vid];
	uint64_t a;

	fp_note(FPK_VAR | (uint64_t)vid, 1);
	v->v_state = state;
	v->v_zone = zone;
	v->v_item = item != NULL && arena_contains(s, item, &a) ? a : 0;
	v->v_size = size;
	if (s->ix.nwaitvar == 0)	/* kix_var_first()'s own test */
		return;
	var_wake(s, vid);
}

#endif /* !_KERN_KERN_H_ */
