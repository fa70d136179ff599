/*
 * The simulator's C interface (umasim_api.h).
 *
 * The busy guard (API_ENTER, kern.h): every entry point that changes a
 * simulation or walks its simulated memory sets the thread-local current
 * simulation and refuses a simulation that another host thread is inside
 * at the same moment: it returns UMASIM_E_BUSY (umasim_snapshot: NULL;
 * the setters that return nothing -- umasim_clear_log,
 * umasim_set_digest_interval, umasim_set_trace_level -- do nothing).
 * Guarded: the constructors of mutexes, channels, variables, threads and
 * zones (umasim_*_new, umasim_spawn, umasim_zone_callback, umasim_zcreate,
 * umasim_zdestroy), umasim_step, umasim_migrate, umasim_run, umasim_run_more,
 * umasim_runnable, umasim_thread_info, umasim_var_info, umasim_vars_in_state,
 * umasim_mtx_owner,
 * umasim_mem_read,
 * the setters,
 * umasim_snapshot, umasim_restore, umasim_explore, umasim_explore_class,
 * umasim_check and UMA's inspectors (umasim_zone_state,
 * umasim_nzone_slots, umasim_zones, umasim_zone_by_slot,
 * umasim_zone_caches, umasim_zone_buckets, umasim_zone_slabs,
 * umasim_zone_items, umasim_zone_stats, umasim_uma_globals).
 *
 * Not guarded, and only meaningful while no other host thread drives the
 * simulation: the readers of one field or of a log buffer
 * (umasim_outcome, umasim_panic_msg, umasim_host_fault, umasim_error_msg,
 * umasim_nthreads,
 * umasim_ticks, umasim_steps, umasim_nevents, umasim_events,
 * umasim_nconsole, umasim_console_line, umasim_ndecisions,
 * umasim_decisions, umasim_ndigests, umasim_digests,
 * umasim_explore_decisions, umasim_explore_point_covered), umasim_digest
 * (a value, with no room for an error), and umasim_free, whose caller
 * must be the simulation's last user.  The tables of points, operations,
 * event kinds and bugs belong to no simulation.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kern.h"
#include "policy/policy.h"
#include "stack.h"
#include "../sys/mutex.h"

static const char *const point_names[PT_COUNT] = {
#define	POINT(id, name, func, line)	[PT_##id] = name,
#include "points.def"
#undef POINT
};
static const char *const point_funcs[PT_COUNT] = {
#define	POINT(id, name, func, line)	[PT_##id] = func,
#include "points.def"
#undef POINT
};
static const int point_lines[PT_COUNT] = {
#define	POINT(id, name, func, line)	[PT_##id] = line,
#include "points.def"
#undef POINT
};
static const char *const evkind_names[EVK_COUNT] = {
#define	EV(id, name)	[EVK_##id] = name,
#include "evkinds.def"
#undef EV
};

static uint64_t sim_ids;

static int
config_check(const struct umasim_config *c, char *err, size_t len)
{

	if (c->cpus < 1 || c->cpus > UMASIM_MAXCPU) {
		snprintf(err, len, "cpus must be 1 to %d, not %d",
		    UMASIM_MAXCPU, c->cpus);
		return (-1);
	}
	if (c->pages < 0 || c->free_min < 0 || c->boot_pages < 0) {
		snprintf(err, len, "page counts must not be negative");
		return (-1);
	}
	if (c->kmem_pages < 1 || c->kmem_pages > (1LL << 24)) {
		snprintf(err, len, "kmem_pages must be 1 to %lld", 1LL << 24);
		return (-1);
	}
	if (c->pages > (1LL << 24) || c->boot_pages > (1LL << 16)) {
		snprintf(err, len, "too many pages for one simulation");
		return (-1);
	}
	if (c->ticks_per_step < 0) {
		snprintf(err, len, "ticks_per_step must not be negative");
		return (-1);
	}
	if (c->granularity != UMASIM_GRAN_COARSE &&
	    c->granularity != UMASIM_GRAN_FINE) {
		snprintf(err, len, "unknown granularity %d", c->granularity);
		return (-1);
	}
	if (c->trace_level < UMASIM_TRACE_OFF ||
	    c->trace_level > UMASIM_TRACE_FULL) {
		snprintf(err, len, "unknown trace level %d", c->trace_level);
		return (-1);
	}
	return (0);
}

struct sim *
umasim_new(const struct umasim_config *cfg, char *err, size_t errlen)
{
	struct sim *s;
	int i;

	if (config_check(cfg, err, errlen) != 0)
		return (NULL);
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	s->st.cfg = *cfg;
	s->sim_id = __atomic_add_fetch(&sim_ids, 1, __ATOMIC_RELAXED);
	s->st.ncpus = cfg->cpus;
	s->st.maxid = cfg->cpus - 1;
	s->st.trace_level = cfg->trace_level;
	s->st.lastrun = -1;
	s->st.next_timer = INT64_MAX;
	for (i = 0; i < UMASIM_MAXCPU; i++)
		s->st.cpu_crit[i] = -1;
	kstack_guard_install();
	kstack_handler_check();
	cursim = s;
	if (kix_init(s) != 0) {
		snprintf(err, errlen, "out of memory");
		umasim_free(s);
		return (NULL);
	}
	if (vm_attach(s, err, errlen) != 0) {
		umasim_free(s);
		return (NULL);
	}
	s->digesters[s->ndigesters++] = vm_digest;
	if (softclock_create(s) != 0 ||
	    (cfg->pagedaemon && vm_pagedaemon_create(s) != 0)) {
		snprintf(err, errlen, "cannot allocate a thread stack");
		umasim_free(s);
		return (NULL);
	}
	if (uma_sim_attach(s) != 0) {
		snprintf(err, errlen, "UMA did not boot: %s", s->st.panicmsg);
		umasim_free(s);
		return (NULL);
	}
	s->digesters[s->ndigesters++] = uma_digest;
	s->ev.n = 0;		/* the machine's construction is not history */
	return (s);
}

void
umasim_free(struct sim *s)
{
	int i;

	if (s == NULL)
		return;
	for (i = 0; i < s->ntdchunks * KERN_THREAD_CHUNK; i++)
		kstack_free(s->tdchunks[i / KERN_THREAD_CHUNK]->
		    stack[i % KERN_THREAD_CHUNK]);
	for (i = 0; i < s->ntdchunks; i++)
		free(s->tdchunks[i]);
	kix_free(s);
	for (i = 0; i < s->nxtab; i++)
		free(s->xtab[i]);
	for (i = 0; i < (int)s->noppool; i++)
		free(s->oppool[i]);
	free(s->oppool);
	free(s->umtx);
	free(s->umtx_name);
	free(s->chans);
	free(s->chan_name);
	free(s->vars);
	free(s->var_names);
	free(s->ev.e);
	free(s->con.buf);
	free(s->con.off);
	free(s->dec);
	free(s->dg);
	explore_free(s);
	oracle_free(s);
	kstack_free(s->hostcall_stack);
	vm_detach(s);
	if (cursim == s)
		cursim = NULL;
	free(s);
}

int
sim_xtab_grow(struct sim *s, size_t chunk)
{

	if (s->nxtab == KERN_XTAB_MAX ||
	    (s->xtab_chunk != 0 && s->xtab_chunk != chunk))
		return (-1);
	s->xtab[s->nxtab] = calloc(1, chunk);
	if (s->xtab[s->nxtab] == NULL)
		return (-1);
	s->xtab_chunk = chunk;
	return (s->nxtab++);
}

static int
grow_array(void **p, size_t n, size_t elem)
{
	void *np;

	np = realloc(*p, n * elem);
	if (np == NULL)
		return (-1);
	*p = np;
	return (0);
}

int
umasim_mtx_new(struct sim *s, const char *name)
{
	int id;

	API_ENTER(s);
	/* Mutexes never move once threads may hold them: grow only early. */
	if (s->st.nmtx >= UMASIM_MAXNAMES) {
		API_LEAVE(s);
		return (UMASIM_E_TOOMANY);
	}
	if (s->umtx == NULL) {
		s->umtx = calloc(UMASIM_MAXNAMES, sizeof(struct mtx));
		s->umtx_name = calloc(UMASIM_MAXNAMES, KERN_NAMELEN);
		if (s->umtx == NULL || s->umtx_name == NULL) {
			API_LEAVE(s);
			return (UMASIM_E_NOMEM);
		}
	}
	id = s->st.nmtx++;
	snprintf(s->umtx_name[id], KERN_NAMELEN, "%s", name);
	mtx_init(&s->umtx[id], s->umtx_name[id], NULL, MTX_DEF);
	API_LEAVE(s);
	return (id);
}

/*
 * The tid of the thread that owns program mutex 'id' (-1: unowned), or
 * UMASIM_E_INVAL for an id umasim_mtx_new never gave.
 */
int
umasim_mtx_owner(struct sim *s, int id)
{
	int r;

	API_ENTER(s);
	if (id < 0 || id >= s->st.nmtx || s->umtx == NULL)
		r = UMASIM_E_INVAL;
	else
		r = mtx_owner_tid(&s->umtx[id]);
	API_LEAVE(s);
	return (r);
}

int
umasim_chan_new(struct sim *s, const char *name)
{
	int id;

	API_ENTER(s);
	if (s->st.nchan >= UMASIM_MAXNAMES) {
		API_LEAVE(s);
		return (UMASIM_E_TOOMANY);
	}
	if (s->chans == NULL) {
		s->chans = calloc(UMASIM_MAXNAMES, 1);
		s->chan_name = calloc(UMASIM_MAXNAMES, KERN_NAMELEN);
		if (s->chans == NULL || s->chan_name == NULL) {
			API_LEAVE(s);
			return (UMASIM_E_NOMEM);
		}
	}
	id = s->st.nchan++;
	snprintf(s->chan_name[id], KERN_NAMELEN, "%s", name);
	API_LEAVE(s);
	return (id);
}

int64_t
umasim_var_new(struct sim *s, const char *name)
{
	int64_t id, cap;

	API_ENTER(s);
	if (s->st.nvars == s->capvars) {
		cap = s->capvars != 0 ? s->capvars * 2 : 64;
		if (grow_array((void **)&s->vars, (size_t)cap,
		    sizeof(struct kvar)) != 0 ||
		    grow_array((void **)&s->var_names, (size_t)cap,
		    KERN_NAMELEN) != 0) {
			API_LEAVE(s);
			return (UMASIM_E_NOMEM);
		}
		s->capvars = cap;
	}
	id = s->st.nvars++;
	memset(&s->vars[id], 0, sizeof(struct kvar));
	snprintf(s->var_names[id], KERN_NAMELEN, "%s", name);
	API_LEAVE(s);
	return (id);
}

int
umasim_spawn(struct sim *s, const char *name, int cpu,
    const struct umasim_op *ops, int nops, int64_t repeat)
{
	struct kthread *td;
	struct umasim_op *copy;
	int i;

	API_ENTER(s);
	if (cpu < 0 || cpu >= s->st.ncpus || nops < 0 || repeat < 0) {
		API_LEAVE(s);
		return (UMASIM_E_INVAL);
	}
	for (i = 0; i < nops; i++) {
		if (ops[i].code < 0 || ops[i].code >= OPC_COUNT) {
			API_LEAVE(s);
			return (UMASIM_E_INVAL);
		}
	}
	if (s->st.nthreads >= UMASIM_MAXTHREADS) {
		API_LEAVE(s);
		return (UMASIM_E_TOOMANY);
	}
	copy = malloc((size_t)(nops > 0 ? nops : 1) * sizeof(*copy));
	if (copy == NULL) {
		API_LEAVE(s);
		return (UMASIM_E_NOMEM);
	}
	memcpy(copy, ops, (size_t)nops * sizeof(*copy));
	if (s->noppool == s->capoppool) {
		size_t cap = s->capoppool != 0 ? s->capoppool * 2 : 16;

		if (grow_array((void **)&s->oppool, cap, sizeof(copy)) != 0) {
			free(copy);
			API_LEAVE(s);
			return (UMASIM_E_NOMEM);
		}
		s->capoppool = cap;
	}
	s->oppool[s->noppool++] = copy;
	td = thread_create(s, name, cpu, 0, program_main);
	if (td == NULL) {
		API_LEAVE(s);
		return (UMASIM_E_NOMEM);
	}
	td->td_prog.p_ops = copy;
	td->td_prog.p_nops = nops;
	td->td_prog.p_repeat = repeat;
	API_LEAVE(s);
	return (td->td_tid);
}

int
umasim_step(struct sim *s, int tid)
{
	int r;

	API_ENTER(s);
	kstack_guard_install();	/* this host thread may not have made s */
	r = sched_step_host(s, tid);
	API_LEAVE(s);
	return (r);
}

int
umasim_migrate(struct sim *s, int tid, int cpu)
{
	int r;

	API_ENTER(s);
	r = sched_migrate_host(s, tid, cpu);
	API_LEAVE(s);
	return (r);
}

int
umasim_run(struct sim *s, const struct umasim_policy *pol, uint64_t max_steps)
{
	int r;

	API_ENTER(s);
	kstack_guard_install();	/* this host thread may not have made s */
	kstack_handler_check();
	r = policy_init(s, pol);
	if (r == 0)
		r = sched_run_host(s, max_steps);
	API_LEAVE(s);
	return (r);
}

int
umasim_run_more(struct sim *s, uint64_t max_steps)
{
	int r;

	API_ENTER(s);
	kstack_guard_install();
	kstack_handler_check();
	r = sched_run_host(s, max_steps);
	API_LEAVE(s);
	return (r);
}

int
umasim_runnable(struct sim *s, int32_t *tids, int max)
{
	int r;

	API_ENTER(s);
	r = sched_runnable_host(s, tids, max);
	API_LEAVE(s);
	return (r);
}

int
umasim_outcome(struct sim *s)
{

	return (s->st.outcome);
}

const char *
umasim_panic_msg(struct sim *s)
{

	return (s->st.panicked && !s->st.faulted ? s->st.panicmsg : NULL);
}

int
umasim_host_fault(struct sim *s, struct umasim_host_fault *out)
{
	const struct kthread *td;

	if (!s->st.faulted)
		return (0);
	*out = s->st.fault;
	td = out->tid >= 0 && out->tid < s->st.nthreads ?
	    sim_td(s, out->tid) : &s->hostcall;
	out->thread = td->td_name;
	out->signame = out->signo == SIGSEGV ? "SIGSEGV" :
	    out->signo == SIGBUS ? "SIGBUS" : "signal";
	out->message = s->st.panicmsg;
	return (1);
}

const char *
umasim_error_msg(struct sim *s)
{

	return (s->st.errmsg);
}

int
umasim_nthreads(struct sim *s)
{

	return (s->st.nthreads);
}

static int
thread_info_unlocked(struct sim *s, int tid, struct umasim_thread_info *out)
{
	const struct kthread *td;

	if (tid < 0 || tid >= s->st.nthreads)
		return (UMASIM_E_NOTHREAD);
	td = sim_td(s, tid);
	memset(out, 0, sizeof(*out));
	out->name = td->td_name;
	out->tid = td->td_tid;
	out->state = td->td_state;
	out->cpu = td->td_cpu;
	out->critnest = td->td_critnest;
	out->kernel = td->td_kernel;
	out->point = td->td_point;
	out->op_index = td->td_pc;
	out->iteration = td->td_iter;
	out->nlocks = td->td_nlocks;
	out->var = -1;
	out->mutex_owner = -1;
	out->timeout = -1;
	if (td->td_state == UMASIM_TS_SLEEPING) {
		out->wmesg = td->td_wmesg;
		out->wchan = kern_canon(s, td->td_wchan);
		out->wchan_name = kern_chan_name(s, td->td_wchan);
		out->timeout = td->td_timo_at;
	} else if (td->td_state == UMASIM_TS_BLOCKED) {
		out->mutex_name = td->td_blocked->lock_object.lo_name;
		out->mutex_owner = mtx_owner_tid(td->td_blocked);
	} else if (td->td_state == UMASIM_TS_WAITVAR)
		out->var = td->td_waitvar;
	return (0);
}

int
umasim_thread_info(struct sim *s, int tid, struct umasim_thread_info *out)
{
	int r;

	API_ENTER(s);
	r = thread_info_unlocked(s, tid, out);
	API_LEAVE(s);
	return (r);
}

size_t
umasim_nevents(struct sim *s)
{

	return (s->ev.n);
}

const struct umasim_event *
umasim_events(struct sim *s)
{

	return (s->ev.e);
}

size_t
umasim_nconsole(struct sim *s)
{

	return (s->con.n);
}

const char *
umasim_console_line(struct sim *s, size_t i)
{

	return (i < s->con.n ? s->con.buf + s->con.off[i] : NULL);
}

size_t
umasim_ndecisions(struct sim *s)
{

	return (s->ndec);
}

const uint32_t *
umasim_decisions(struct sim *s)
{

	return (s->dec);
}

void
umasim_clear_log(struct sim *s)
{

	API_ENTER_VOID(s);
	s->ev.n = 0;
	dec_truncate(s, 0);
	s->ndg = 0;
	API_LEAVE(s);
}

static int
var_info_unlocked(struct sim *s, int64_t vid, int *state, int *zone,
    uint64_t *item)
{

	if (vid < 0 || vid >= s->st.nvars)
		return (UMASIM_E_INVAL);
	*state = s->vars[vid].v_state;
	*zone = s->vars[vid].v_zone;
	*item = s->vars[vid].v_item;
	return (0);
}

int
umasim_var_info(struct sim *s, int64_t vid, int *state, int *zone,
    uint64_t *item)
{
	int r;

	API_ENTER(s);
	r = var_info_unlocked(s, vid, state, zone, item);
	API_LEAVE(s);
	return (r);
}

/*
 * The variables in state 'state' (VAR_HELD, ...: uma_consts.c), in id order: the first
 * 'max' of them into ids[], zones[] and items[] (as umasim_var_info gives
 * them).  Returns how many there are, which may be more than max.
 */
int64_t
umasim_vars_in_state(struct sim *s, int state, int64_t *ids, int *zones,
    uint64_t *items, int64_t max)
{
	int64_t i, n;

	API_ENTER(s);
	for (i = n = 0; i < s->st.nvars; i++) {
		if (s->vars[i].v_state != state)
			continue;
		if (n < max) {
			ids[n] = i;
			zones[n] = s->vars[i].v_zone;
			items[n] = s->vars[i].v_item;
		}
		n++;
	}
	API_LEAVE(s);
	return (n);
}

/*
 * Copies len bytes of simulated memory at display address addr (an item's
 * address, as events and variables give them) into buf, without changing
 * the simulation.
 */
int
umasim_mem_read(struct sim *s, uint64_t addr, void *buf, size_t len)
{
	uint64_t off;

	API_ENTER(s);
	if (s->arena == NULL || addr < UMASIM_DISPLAY_BASE) {
		API_LEAVE(s);
		return (UMASIM_E_INVAL);
	}
	off = addr - UMASIM_DISPLAY_BASE;
	if (off > s->arena_len || len > s->arena_len - off) {
		API_LEAVE(s);
		return (UMASIM_E_INVAL);
	}
	memcpy(buf, s->arena + off, len);
	API_LEAVE(s);
	return (0);
}

void
umasim_set_digest_interval(struct sim *s, uint64_t every)
{

	API_ENTER_VOID(s);
	s->st.digest_every = every;
	API_LEAVE(s);
}

size_t
umasim_ndigests(struct sim *s)
{

	return (s->ndg);
}

const struct umasim_digest_rec *
umasim_digests(struct sim *s)
{

	return (s->dg);
}

uint64_t
umasim_digest(struct sim *s)
{

	cursim = s;
	return (digest_sim(s));
}

/* The digest explorers count final states by (explore.c, digest_final). */
uint64_t
umasim_digest_final(struct sim *s)
{

	cursim = s;
	return (digest_final(s));
}

static const char *const bug_names[] = {
#define	BUG(id, bit, name, what)	name,
#include "bugs.def"
#undef BUG
};
static const uint64_t bug_bits[] = {
#define	BUG(id, bit, name, what)	bit,
#include "bugs.def"
#undef BUG
};

int
umasim_nbugs(void)
{

	return ((int)(sizeof(bug_bits) / sizeof(bug_bits[0])));
}

const char *
umasim_bug_name(int i)
{

	return (i >= 0 && i < umasim_nbugs() ? bug_names[i] : NULL);
}

uint64_t
umasim_bug_bit(int i)
{

	return (i >= 0 && i < umasim_nbugs() ? bug_bits[i] : 0);
}

int64_t
umasim_ticks(struct sim *s)
{

	return (s->st.now);
}

uint64_t
umasim_steps(struct sim *s)
{

	return (s->st.nsteps);
}

void
umasim_set_trace_level(struct sim *s, int level)
{

	API_ENTER_VOID(s);
	if (level >= UMASIM_TRACE_OFF && level <= UMASIM_TRACE_FULL)
		s->st.trace_level = level;
	API_LEAVE(s);
}

int
umasim_npoints(void)
{

	return (PT_COUNT);
}

const char *
umasim_point_name(int id)
{

	return (id >= 0 && id < PT_COUNT ? point_names[id] : NULL);
}

const char *
umasim_point_func(int id)
{

	return (id >= 0 && id < PT_COUNT ? point_funcs[id] : NULL);
}

int
umasim_point_line(int id)
{

	return (id >= 0 && id < PT_COUNT ? point_lines[id] : -1);
}

int
umasim_nopcodes(void)
{

	return (OPC_COUNT);
}

const char *
umasim_op_name(int code)
{

	return (code >= 0 && code < OPC_COUNT ? op_names[code] : NULL);
}

int
umasim_nevkinds(void)
{

	return (EVK_COUNT);
}

const char *
umasim_evkind_name(int kind)
{

	return (kind >= 0 && kind < EVK_COUNT ? evkind_names[kind] : NULL);
}

struct snapshot *
umasim_snapshot(struct sim *s)
{
	struct snapshot *sn;

	API_ENTER_RET(s, (NULL));
	sn = snapshot_take(s);
	API_LEAVE(s);
	return (sn);
}

int
umasim_restore(struct sim *s, const struct snapshot *sn)
{
	int r;

	API_ENTER(s);
	r = snapshot_restore(s, sn);
	API_LEAVE(s);
	return (r);
}

void
umasim_snapshot_free(struct snapshot *sn)
{

	snapshot_free(sn);
}

/* ---- benchmark support: the raw cost of one context switch ----------- */

static struct ctx bench_main, bench_co;
static volatile uint64_t bench_left;

static void
bench_entry(void *arg)
{

	(void)arg;
	for (;;)
		ctx_switch(&bench_co, &bench_main);
}

double
umasim_bench_switch_ns(uint64_t rounds)
{
	struct kstack *ks;
	struct timespec t0, t1;
	uint64_t i;

	ks = kstack_alloc();
	if (ks == NULL)
		return (-1.0);
	ctx_make(&bench_co, ks->ks_base, ks->ks_size, bench_entry, NULL);
	ctx_switch(&bench_main, &bench_co);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < rounds; i++)
		ctx_switch(&bench_main, &bench_co);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kstack_free(ks);	/* bench_co is abandoned, never resumed */
	return (((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	    (double)(t1.tv_nsec - t0.tv_nsec)) / (double)(rounds * 2));
}
