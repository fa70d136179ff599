/*
 * The C interface of the simulator, as the Python package sees it through
 * CFFI.  Everything between the CDEF markers is fed to cffi's cdef(), so it
 * stays plain C declarations with integer #defines only.
 */
#ifndef _UMASIM_API_H_
#define	_UMASIM_API_H_

#include <stddef.h>
#include <stdint.h>

struct sim;
struct snapshot;

/* CDEF BEGIN */
#define	UMASIM_OK		0
#define	UMASIM_E_NOTRUNNABLE	-1
#define	UMASIM_E_NOTHREAD	-2
#define	UMASIM_E_PANICKED	-3
#define	UMASIM_E_BUSY		-4
#define	UMASIM_E_INVAL		-5
#define	UMASIM_E_NOMEM		-6
#define	UMASIM_E_TOOMANY	-7
#define	UMASIM_E_SCRIPT		-8
#define	UMASIM_E_FAULTED	-9

#define	UMASIM_OUT_RUNNING	0
#define	UMASIM_OUT_COMPLETED	1
#define	UMASIM_OUT_DEADLOCK	2
#define	UMASIM_OUT_PANIC	3
#define	UMASIM_OUT_STEP_LIMIT	4
#define	UMASIM_OUT_HOST_FAULT	5

#define	UMASIM_TS_RUNNABLE	0
#define	UMASIM_TS_BLOCKED	1
#define	UMASIM_TS_SLEEPING	2
#define	UMASIM_TS_WAITVAR	3
#define	UMASIM_TS_FINISHED	4
#define	UMASIM_TS_PANICKED	5
#define	UMASIM_TS_FAULTED	6

/* Where a host fault's address lies (struct umasim_host_fault.where). */
#define	UMASIM_FAULT_ARENA	0	/* in the arena: a display address */
#define	UMASIM_FAULT_NULL	1	/* below UMASIM_FAULT_NULL_LIMIT: NULL-based */
#define	UMASIM_FAULT_OUTSIDE	2	/* anywhere else (not shown) */
#define	UMASIM_FAULT_NULL_LIMIT	65536

#define	UMASIM_POL_SEQUENTIAL	0
#define	UMASIM_POL_ROUNDROBIN	1
#define	UMASIM_POL_RANDOM	2
#define	UMASIM_POL_PCT		3
#define	UMASIM_POL_SCRIPT	4

#define	UMASIM_TRACE_OFF	0
#define	UMASIM_TRACE_DECISIONS	1
#define	UMASIM_TRACE_FULL	2

#define	UMASIM_GRAN_COARSE	0
#define	UMASIM_GRAN_FINE	1

#define	UMASIM_MAXCPU		64
#define	UMASIM_MAXTHREADS	4096
#define	UMASIM_MAXNAMES		4096

struct umasim_config {
	int		cpus;
	int64_t		pages;
	int64_t		kmem_pages;
	int64_t		free_min;
	int64_t		boot_pages;
	int		md_small_alloc;
	int		pagedaemon;
	int64_t		ticks_per_step;
	int		granularity;
	int		invariants;
	uint64_t	bugs;
	uint64_t	seed;
	int		trace_level;
	int		align_cache;	/* uma_set_align() at boot; -1: none */
};

/*
 * One program operation.  'a' and 'b' are operands (ids or numbers); an
 * operand whose stride is non-zero adds stride * iteration ("{i}").
 */
struct umasim_op {
	int32_t		code;
	int32_t		flags;
	int64_t		a;
	int64_t		a_stride;
	int64_t		b;
	int64_t		b_stride;
	int64_t		c;
};

struct umasim_thread_info {
	const char	*name;
	int		tid;
	int		state;
	int		cpu;
	int		critnest;
	int		kernel;
	int		point;
	int		op_index;
	int64_t		iteration;
	const char	*wmesg;
	uint64_t	wchan;
	const char	*wchan_name;
	const char	*mutex_name;
	int		mutex_owner;
	int64_t		var;
	int64_t		timeout;
	int		nlocks;
};

struct umasim_event {
	uint64_t	step;
	int64_t		tick;
	int32_t		kind;
	int32_t		tid;
	int32_t		cpu;
	int32_t		point;
	int64_t		a;
	int64_t		b;
	char		wmesg[32];	/* sleep: the wait message; else "" */
};

struct umasim_digest_rec {
	uint64_t	step;
	uint64_t	digest;
};

struct umasim_policy {
	int		kind;
	uint64_t	seed;
	double		migrate;
	int		depth;
	int64_t		steps_hint;
	const uint32_t	*decisions;
	size_t		ndecisions;
	const int32_t	*script_tids;
	const int32_t	*script_cpus;
	size_t		nscript;
	int		then_kind;
};

/* UMA, as the host sees it (csrc/vm/uma_inspect.c) */
struct umasim_zone_info {
	uint64_t	addr;
	uint64_t	keg;
	const char	*name;
	uint32_t	size, rsize, ipers, ppera, pgoff, flags, align;
	uint32_t	pages, keg_free, maxpages, limit, recurse;
	uint64_t	allocs, frees, fails;
	uint64_t	zone_allocs, zone_frees;
	int		count, fills;
	int		full_buckets, full_items, free_buckets, cache_items;
	int		secondary, internal, hashsize, lock_owner, slot;
};

struct umasim_cache_info {
	uint64_t	alloc_bucket, free_bucket;
	int		alloc_cnt, alloc_entries, free_cnt, free_entries;
	uint64_t	allocs, frees;
};

struct umasim_bucket_info {
	uint64_t	addr;
	int		cnt, entries;
};

struct umasim_slab_info {
	uint64_t	addr, data;
	int		freecount, firstfree, flags;
};

struct umasim_uma_info {
	int		bucketdisable, booted, max_ipers, max_ipers_ref;
	int64_t		free_pages, free_min, wired_pages, kmem_used, kmem_pages;
};

/*
 * A SIGSEGV or SIGBUS raised while a simulated thread ran (outcome
 * UMASIM_OUT_HOST_FAULT): the thread, the point it last stopped at, the
 * step, the signal, and the faulting address: a display address in the
 * arena, the address itself below UMASIM_FAULT_NULL_LIMIT, else 0.
 */
struct umasim_host_fault {
	const char	*thread;	/* its name ("kernel": boot or zone work) */
	const char	*signame;	/* "SIGSEGV" or "SIGBUS" */
	const char	*message;	/* all of it, in words */
	int		tid;
	int		point;
	uint64_t	step;
	int		signo;
	int		where;
	uint64_t	addr;
};

struct umasim_check_report {
	int		ok;
	char		message[512];
};

/* Explorers (csrc/kern/explore.c) */
#define	UMASIM_EXPLORE_RANDOM	0
#define	UMASIM_EXPLORE_PCT	1
#define	UMASIM_EXPLORE_BOUNDED	2
#define	UMASIM_EXPLORE_GUIDED	3
/* guided: the most schedules its corpus keeps (explorer/guided.c) */
#define	UMASIM_GUIDED_CORPUS_MAX	512

struct umasim_explore_params {
	int		kind;
	uint64_t	runs;
	uint64_t	seed;
	double		migrate;
	int		depth;
	int64_t		steps_hint;
	int		bound;
	uint64_t	max_steps;
	int		expect_outcome;
	char		expect_panic[128];
	int		check;
	int		states;
	int		corpus_max;	/* guided: 0 for UMASIM_GUIDED_CORPUS_MAX */
	int		reduction;	/* bounded: sleep sets (footprint.c) */
	/*
	 * A fuzzer's burst (umasim/search/fuzz.py): stop after the first run
	 * that panics, faults or fails the checker; keep the decisions of
	 * the last 'keep' runs that added coverage (umasim_explore_kept).
	 */
	int		stop_first;
	int		keep;		/* 0 to UMASIM_EXPLORE_KEEP_MAX */
	/*
	 * Judge every run by the oracle too (csrc/kern/oracle.c): a run it
	 * fails is a failure (with stop_first, a hard one), of a class of
	 * its own by (kind, message).
	 */
	int		oracle;
};
#define	UMASIM_EXPLORE_KEEP_MAX	64

struct umasim_explore_result {
	uint64_t	runs;
	uint64_t	failures;
	int		classes;
	uint64_t	distinct_states;
	int		points_covered;
	int		points_total;
	int		exhausted;
	int64_t		steps_hint;
	uint64_t	pruned;		/* bounded: branches the sleep sets pruned */
};

/*
 * Race-window coverage (csrc/kern/cover.c): per window (points.def,
 * WINDOW), UMASIM_COV_* flags; state pairs: (point, abstract state)
 * pairs seen, of state_pairs_total.
 */
#define	UMASIM_MAXWINDOWS	64
#define	UMASIM_COV_ENTERED	0x1
#define	UMASIM_COV_INTERLEAVED	0x2
#define	UMASIM_COV_MIGRATED	0x4

struct umasim_coverage {
	int		nwindows;
	uint8_t		windows[UMASIM_MAXWINDOWS];
	int64_t		state_pairs;
	int64_t		state_pairs_total;
};

/* A run that added to an exploration's coverage, and the union after it. */
struct umasim_explore_growth {
	uint64_t	run;
	int		windows_entered;
	int		windows_interleaved;
	int		windows_migrated;
	int64_t		state_pairs;
};

struct umasim_explore_class {
	uint64_t	key;
	int		outcome;
	int		failed;
	int		check_failed;
	uint64_t	first_run;
	uint64_t	count;
	uint64_t	steps;
	size_t		ndecisions;
	char		message[256];
	int		oracle_kind;	/* the oracle's failure, 0: none */
	uint64_t	oracle_step;	/* the step of the run it happened at */
};

/*
 * The oracle (csrc/kern/oracle.c): the fuzzing properties the core judges
 * by itself.  umasim_oracle_enable starts it afresh from the state at
 * hand (or stops it); umasim_oracle_verdict returns the kind of the first
 * failure of the run so far (0: none; names: umasim_oracle_kind_name),
 * with the end-of-run checks when the run is over (judged, not kept).
 */
struct umasim_oracle_verdict {
	int		kind;
	uint64_t	step;
	char		message[512];
};

struct sim	*umasim_new(const struct umasim_config *cfg, char *err,
		    size_t errlen);
void		 umasim_free(struct sim *s);
int		 umasim_mtx_new(struct sim *s, const char *name);
int		 umasim_mtx_owner(struct sim *s, int id);
int		 umasim_chan_new(struct sim *s, const char *name);
int64_t		 umasim_var_new(struct sim *s, const char *name);
int		 umasim_spawn(struct sim *s, const char *name, int cpu,
		    const struct umasim_op *ops, int nops, int64_t repeat);
int		 umasim_step(struct sim *s, int tid);
int		 umasim_migrate(struct sim *s, int tid, int cpu);
int		 umasim_run(struct sim *s, const struct umasim_policy *pol,
		    uint64_t max_steps);
int		 umasim_runnable(struct sim *s, int32_t *tids, int max);
int		 umasim_outcome(struct sim *s);
const char	*umasim_panic_msg(struct sim *s);
const char	*umasim_error_msg(struct sim *s);
int		 umasim_nthreads(struct sim *s);
int		 umasim_thread_info(struct sim *s, int tid,
		    struct umasim_thread_info *out);
size_t		 umasim_nevents(struct sim *s);
const struct umasim_event *umasim_events(struct sim *s);
size_t		 umasim_nconsole(struct sim *s);
const char	*umasim_console_line(struct sim *s, size_t i);
size_t		 umasim_ndecisions(struct sim *s);
const uint32_t	*umasim_decisions(struct sim *s);
void		 umasim_clear_log(struct sim *s);
int64_t		 umasim_vars_in_state(struct sim *s, int state, int64_t *ids,
		    int *zones, uint64_t *items, int64_t max);
int		 umasim_var_info(struct sim *s, int64_t vid, int *state, int *zone,
		    uint64_t *item);
void		 umasim_set_digest_interval(struct sim *s, uint64_t every);
size_t		 umasim_ndigests(struct sim *s);
const struct umasim_digest_rec *umasim_digests(struct sim *s);
uint64_t	 umasim_digest(struct sim *s);
uint64_t	 umasim_digest_final(struct sim *s);
int64_t		 umasim_ticks(struct sim *s);
uint64_t	 umasim_steps(struct sim *s);
void		 umasim_set_trace_level(struct sim *s, int level);
int		 umasim_npoints(void);
const char	*umasim_point_name(int id);
const char	*umasim_point_func(int id);
int		 umasim_point_line(int id);
int		 umasim_nopcodes(void);
const char	*umasim_op_name(int code);
int		 umasim_nevkinds(void);
const char	*umasim_evkind_name(int kind);
struct snapshot	*umasim_snapshot(struct sim *s);
int		 umasim_restore(struct sim *s, const struct snapshot *sn);
void		 umasim_snapshot_free(struct snapshot *sn);
double		 umasim_bench_switch_ns(uint64_t rounds);
int		 umasim_zone_new(struct sim *s, const char *name);
int		 umasim_zone_callback(struct sim *s, int slot, int which,
		    int kind, int64_t n, int target);
int		 umasim_zcreate(struct sim *s, int slot, int master, int size,
		    int align, uint32_t flags, int maxitems);
int		 umasim_zdestroy(struct sim *s, int slot);
int		 umasim_zone_state(struct sim *s, int slot);
int		 umasim_nzone_slots(struct sim *s);
int		 umasim_zones(struct sim *s, struct umasim_zone_info *out,
		    int max);
int		 umasim_zone_by_slot(struct sim *s, int slot,
		    struct umasim_zone_info *out);
int		 umasim_zone_caches(struct sim *s, uint64_t zone,
		    struct umasim_cache_info *out, int max);
int		 umasim_zone_buckets(struct sim *s, uint64_t zone, int list,
		    struct umasim_bucket_info *out, int max);
int		 umasim_zone_slabs(struct sim *s, uint64_t zone, int list,
		    struct umasim_slab_info *out, int max);
int		 umasim_zone_items(struct sim *s, uint64_t zone, int where,
		    int cpu, uint64_t *out, int max);
int		 umasim_zone_stats(struct sim *s, void *buf, size_t *len);
int		 umasim_uma_globals(struct sim *s, struct umasim_uma_info *out);
int		 umasim_check(struct sim *s, struct umasim_check_report *out);
int		 umasim_explore(struct sim *s, const struct snapshot *start,
		    const struct umasim_explore_params *p,
		    struct umasim_explore_result *res);
int		 umasim_explore_class(struct sim *s, int i,
		    struct umasim_explore_class *out);
const uint32_t	*umasim_explore_decisions(struct sim *s, int i);
const uint64_t	*umasim_explore_states(struct sim *s, size_t *n);
int		 umasim_explore_nkept(struct sim *s);
const uint32_t	*umasim_explore_kept(struct sim *s, int i, size_t *n);
int		 umasim_explore_point_covered(struct sim *s, int pt);
int64_t		 umasim_explore_ngrowth(struct sim *s);
int		 umasim_explore_growth(struct sim *s, int64_t i,
		    struct umasim_explore_growth *out);
int		 umasim_coverage(struct sim *s, struct umasim_coverage *out);
int		 umasim_explore_coverage(struct sim *s,
		    struct umasim_coverage *out);
/*
 * Campaigns: the (point, state) pairs of the last exploration's union as
 * a bitset (returns its words, copies at most nwords); the guided
 * explorer's corpus in and out, as a flat list of words, entry after
 * entry: len, len decisions, then len steps' (runnable, default) as
 * (n << 16 | def).  corpus_in sets the corpus the next guided exploration
 * starts from (nwords 0: none); corpus_out copies the corpus the last one
 * ended with (returns its words, copies at most cap).
 */
int64_t		 umasim_explore_state_bits(struct sim *s, uint64_t *out,
		    size_t nwords);
int		 umasim_guided_corpus_in(struct sim *s, const uint32_t *words,
		    size_t nwords);
int64_t		 umasim_guided_corpus_out(struct sim *s, uint32_t *out,
		    size_t cap);
int		 umasim_nwindows(void);
const char	*umasim_window_name(int w);
int		 umasim_window_point(int w);
int		 umasim_window_fine(int w);
const char	*umasim_window_closes(int w);
const char	*umasim_window_gives_up(int w);
int		 umasim_oracle_enable(struct sim *s, int on);
int		 umasim_oracle_verdict(struct sim *s,
		    struct umasim_oracle_verdict *out);
int		 umasim_oracle_nkinds(void);
const char	*umasim_oracle_kind_name(int kind);
int		 umasim_nbugs(void);
const char	*umasim_bug_name(int i);
uint64_t	 umasim_bug_bit(int i);
/*
 * Named constants (csrc/vm/uma_consts.c): flags, callback slots, limits
 * and record layouts, read once by the Python bindings.
 */
int		 umasim_nconsts(void);
const char	*umasim_const_name(int i);
int64_t		 umasim_const_value(int i);
/*
 * Runs on under the policy the last umasim_run() installed, for at most
 * max_steps more steps, as if that call had gone on: a run split into
 * pieces takes the same decisions as one call.  A script policy still
 * reads the caller's arrays: they must outlive the pieces.
 */
int		 umasim_run_more(struct sim *s, uint64_t max_steps);
/* Simulated memory at a display address, read without changing anything. */
int		 umasim_mem_read(struct sim *s, uint64_t addr, void *buf, size_t len);
/*
 * The host fault that ended the simulation: 1 and *out filled in, or 0
 * when there was none.
 */
int		 umasim_host_fault(struct sim *s, struct umasim_host_fault *out);
/* Non-zero when the process runs under valgrind (RUNNING_ON_VALGRIND). */
int		 umasim_on_valgrind(void);
/* CDEF END */

/* PCT's depth limit (csrc/kern/policy/pct.c). */
#define	UMASIM_PCT_MAXDEPTH	16

#endif /* !_UMASIM_API_H_ */
