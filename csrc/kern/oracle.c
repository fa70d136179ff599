/*
 * The oracle: the fuzzing properties of umasim/search/properties.py that
 * the core can judge by itself, on every run while it is on, whatever the
 * trace level (docs/fuzzing.md, "What the explorers judge").  Its state
 * is private to this file; the hooks (oracle.h) feed it where operations
 * begin and end, where UMA reads its limit and UMA_ZFLAG_FULL, where
 * wakeups and page frees happen; csrc/vm/uma_oracle.c holds the checks
 * that need UMA's structures.  Per run:
 *
 *  zero        the item of an "alloc ... zero" or "malloc ... zero" reads
 *              zero as the op ends, whichever path gave it;
 *  duplicate   no item is handed out while another live variable holds
 *              it (a variable stops holding its item as its free begins);
 *              at the end, no held item is also free in its keg;
 *  limit       a limited keg holds at most uk_maxpages - 1 + k * uk_ppera
 *              pages, k the most threads between uma_zone_slab's test and
 *              slab_zalloc's update at once, and no thread goes to sleep
 *              in "zonelimit" while uk_pages < uk_maxpages (limits a
 *              scenario's zone was created with: a setmax op anywhere in
 *              the programs leaves its keg out);
 *  liveness    by the end of the op of a free whose unlocked test read
 *              UMA_ZFLAG_FULL set, every thread asleep in "zonelimit" on
 *              that keg at the read has been woken; after a page free
 *              that leaves max(free_min, 1) pages or more free, no thread
 *              sleeps in "vmwait" without a timeout;
 *  stats,      at the end of a completed run whose kernel threads are
 *  accounting  idle: vmstat -z against the programs' own operations, the
 *              kegs' items, LIMIT, the bucket zones' USED and the slab
 *              headers (uma_oracle.c).
 *
 * The first failure is kept, with the step it happened at.  The state
 * goes with snapshots (oracle_save, oracle_restore): a snapshot taken
 * while the oracle was off restores a fresh state, as if the oracle had
 * been turned on at that moment (what an explorer's runs start from).
 * Scenario zones are told apart from a program's own by how they were
 * made: umasim_zcreate (oracle_declare), which keeps their max.  Started
 * after the run's first step (a mid-run snapshot taken while it was off),
 * it has not seen the ops before: vmstat -z against the programs' ops is
 * not judged then.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "oracle.h"

static const char *const kind_names[OK_COUNT] = {
	[OK_NONE] = "", [OK_ZERO] = "zero", [OK_DUPLICATE] = "duplicate",
	[OK_LIMIT] = "limit", [OK_LIVENESS] = "liveness", [OK_STATS] = "stats",
	[OK_ACCOUNTING] = "accounting",
};

/* A free that read UMA_ZFLAG_FULL set, until its op ends. */
struct opend {
	const void	*keg;		/* NULL: none */
	uint64_t	seq;		/* the sleep order at the read */
	int64_t		woken;		/* wakeups on the keg since */
	int		nsleepers;	/* asleep in zonelimit on it then */
};

struct oitem {
	uint64_t	item;		/* display address; 0: empty */
	int64_t		vid;
};

/* What a snapshot keeps: the run so far. */
struct orun {
	int		kind;
	uint64_t	step;
	char		msg[ORACLE_MSGLEN];
	int		counted;	/* it has seen every op of the run (stats) */
	int		nflight;	/* threads between test and update now */
	int		flight_max;
	int		npend;		/* entries of pend in use */
	int		nthreads;	/* entries of depth and pend */
	int		*depth;
	struct opend	*pend;
	int		nslots;		/* slots of counts */
	int64_t		*counts;	/* per slot: items, NULLs, frees */
	size_t		mapcap, mapn;	/* item -> live variable */
	struct oitem	*map;
};

struct odecl {
	int		declared, master, max;
};

struct oracle {
	struct orun	r;
	/* the scenario's zones (umasim_zcreate) */
	struct odecl	*decl;
	int		ndecl;
	/* the slots setmax ops name, for the threads' programs so far */
	uint8_t		*setmax;
	int		nsetmax, setmax_threads;
};

const char *
oracle_kind_name(int kind)
{

	return (kind >= 0 && kind < OK_COUNT ? kind_names[kind] : NULL);
}

static struct oracle *
oracle_get(struct sim *s)
{

	if (s->oracle == NULL)
		s->oracle = calloc(1, sizeof(*s->oracle));
	return (s->oracle);
}

/* ---- growing the per-thread and per-slot tables ---- */

static int
grow_threads(struct orun *r, int n)
{
	int cap = r->nthreads, *d;
	struct opend *p;

	if (n <= cap)
		return (0);
	cap = cap ? cap : 8;
	while (cap < n)
		cap *= 2;
	d = realloc(r->depth, (size_t)cap * sizeof(*d));
	if (d == NULL)
		return (-1);
	r->depth = d;
	p = realloc(r->pend, (size_t)cap * sizeof(*p));
	if (p == NULL)
		return (-1);
	r->pend = p;
	memset(r->depth + r->nthreads, 0,
	    (size_t)(cap - r->nthreads) * sizeof(*d));
	memset(r->pend + r->nthreads, 0,
	    (size_t)(cap - r->nthreads) * sizeof(*p));
	r->nthreads = cap;
	return (0);
}

static int
grow_slots(struct orun *r, int n)
{
	int cap = r->nslots;
	int64_t *c;

	if (n <= cap)
		return (0);
	cap = cap ? cap : 8;
	while (cap < n)
		cap *= 2;
	c = realloc(r->counts, (size_t)cap * 3 * sizeof(*c));
	if (c == NULL)
		return (-1);
	memset(c + (size_t)r->nslots * 3, 0,
	    (size_t)(cap - r->nslots) * 3 * sizeof(*c));
	r->counts = c;
	r->nslots = cap;
	return (0);
}

/* ---- the items live variables hold (open addressing, linear probing) ---- */

static size_t
map_hash(uint64_t item, size_t cap)
{

	return ((size_t)((item >> 3) * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1));
}

static int64_t
map_get(const struct orun *r, uint64_t item)
{
	size_t i;

	if (r->mapcap == 0)
		return (-1);
	for (i = map_hash(item, r->mapcap); r->map[i].item != 0;
	    i = (i + 1) & (r->mapcap - 1))
		if (r->map[i].item == item)
			return (r->map[i].vid);
	return (-1);
}

static void map_put(struct orun *r, uint64_t item, int64_t vid);

static int
map_grow(struct orun *r)
{
	struct oitem *old = r->map;
	size_t oldcap = r->mapcap, i;

	r->mapcap = oldcap ? oldcap * 2 : 64;
	r->map = calloc(r->mapcap, sizeof(*r->map));
	if (r->map == NULL) {
		r->map = old;
		r->mapcap = oldcap;
		return (-1);
	}
	r->mapn = 0;
	for (i = 0; i < oldcap; i++)
		if (old[i].item != 0)
			map_put(r, old[i].item, old[i].vid);
	free(old);
	return (0);
}

static void
map_put(struct orun *r, uint64_t item, int64_t vid)
{
	size_t i;

	if ((r->mapn + 1) * 2 > r->mapcap && map_grow(r) != 0)
		return;
	for (i = map_hash(item, r->mapcap); r->map[i].item != 0;
	    i = (i + 1) & (r->mapcap - 1))
		if (r->map[i].item == item) {
			r->map[i].vid = vid;
			return;
		}
	r->map[i].item = item;
	r->map[i].vid = vid;
	r->mapn++;
}

static void
map_del(struct orun *r, uint64_t item)
{
	size_t i, j, k, mask;

	if (r->mapcap == 0)
		return;
	mask = r->mapcap - 1;
	for (i = map_hash(item, r->mapcap); r->map[i].item != item; i =
	    (i + 1) & mask)
		if (r->map[i].item == 0)
			return;
	/* Backward shift: no tombstones. */
	for (j = (i + 1) & mask; r->map[j].item != 0; j = (j + 1) & mask) {
		k = map_hash(r->map[j].item, r->mapcap);
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			r->map[i] = r->map[j];
			i = j;
		}
	}
	r->map[i].item = 0;
	r->mapn--;
}

/* ---- failures ---- */

void
oracle_fail(struct sim *s, int kind, const char *fmt, ...)
{
	struct orun *r = &s->oracle->r;
	va_list ap;

	if (r->kind != OK_NONE)
		return;
	r->kind = kind;
	r->step = s->st.nsteps;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

int
oracle_failed(const struct sim *s)
{

	return (s->oracle != NULL && s->oracle->r.kind != OK_NONE);
}

const char *
oracle_thread_name(const struct sim *s, int tid)
{

	if (tid < 0 || tid >= s->st.nthreads)
		return ("?");
	return (sim_td(s, tid)->td_name);
}

static const char *
var_name(const struct sim *s, int64_t vid)
{

	return (s->var_names != NULL ? s->var_names[vid] : "?");
}

/* ---- the fresh state ---- */

static int
op_frees(int code)
{

	return (code == OPC_FREE || code == OPC_FREE_LARGE ||
	    code == OPC_KMEM_FREE);
}

static int
op_stores(int code)
{

	return (code == OPC_ALLOC || code == OPC_MALLOC ||
	    code == OPC_MALLOC_LARGE || code == OPC_KMEM_ALLOC);
}

/* The op a thread is inside, or NULL. */
static const struct umasim_op *
op_inside(const struct kthread *td)
{

	if (!td->td_busy || td->td_pc < 0 || td->td_pc >= td->td_prog.p_nops)
		return (NULL);
	return (&td->td_prog.p_ops[td->td_pc]);
}

/*
 * The state of a run just started from here: no failure, nothing counted;
 * the threads inside slab_zalloc's unlocked part and the items live
 * variables hold are read from the simulation.
 */
static void
oracle_reset(struct sim *s)
{
	struct orun *r = &s->oracle->r;
	const struct umasim_op *op;
	struct kthread *td;
	int64_t vid;
	int t, w, d;

	r->kind = OK_NONE;
	r->step = 0;
	r->msg[0] = '\0';
	/* Started after some steps, it has not counted the ops before them. */
	r->counted = s->st.nsteps == 0;
	r->nflight = r->flight_max = 0;
	r->npend = 0;
	if (r->nthreads > 0) {
		memset(r->depth, 0, (size_t)r->nthreads * sizeof(*r->depth));
		memset(r->pend, 0, (size_t)r->nthreads * sizeof(*r->pend));
	}
	if (r->nslots > 0)
		memset(r->counts, 0, (size_t)r->nslots * 3 * sizeof(*r->counts));
	if (r->mapcap > 0)
		memset(r->map, 0, r->mapcap * sizeof(*r->map));
	r->mapn = 0;
	if (grow_threads(r, s->st.nthreads) != 0)
		return;
	for (t = 0; t < s->st.nthreads; t++) {
		td = sim_td(s, t);
		for (d = 0, w = 0; w < td->td_nwin && w < COV_MAXNEST; w++)
			d += td->td_win[w].w == W_SLAB_ZALLOC;
		if ((r->depth[t] = d) > 0)
			r->nflight++;
	}
	r->flight_max = r->nflight;
	for (vid = 0; vid < s->st.nvars; vid++)
		if (s->vars[vid].v_state == VAR_HELD)
			map_put(r, s->vars[vid].v_item, vid);
	/* A free under way has given its item back. */
	for (t = 0; t < s->st.nthreads; t++) {
		td = sim_td(s, t);
		if ((op = op_inside(td)) != NULL && op_frees(op->code)) {
			vid = op_a(td, op);
			if (vid >= 0 && vid < s->st.nvars &&
			    map_get(r, s->vars[vid].v_item) == vid)
				map_del(r, s->vars[vid].v_item);
		}
	}
}

int
oracle_enable(struct sim *s, int on)
{

	if (on && oracle_get(s) == NULL)
		return (UMASIM_E_NOMEM);
	if (on && !s->oracle_on)
		oracle_reset(s);
	s->oracle_on = on != 0;
	return (0);
}

void
oracle_declare(struct sim *s, int slot, int master, int maxitems)
{
	struct oracle *o = oracle_get(s);
	struct odecl *d;
	int cap;

	if (o == NULL || slot < 0)
		return;
	if (slot >= o->ndecl) {
		cap = o->ndecl ? o->ndecl : 8;
		while (cap <= slot)
			cap *= 2;
		d = realloc(o->decl, (size_t)cap * sizeof(*d));
		if (d == NULL)
			return;
		memset(d + o->ndecl, 0, (size_t)(cap - o->ndecl) * sizeof(*d));
		o->decl = d;
		o->ndecl = cap;
	}
	o->decl[slot].declared = 1;
	o->decl[slot].master = master;
	o->decl[slot].max = maxitems;
}

int
oracle_declared(const struct sim *s, int slot, int *master, int *max)
{
	const struct oracle *o = s->oracle;

	if (o == NULL || slot < 0 || slot >= o->ndecl ||
	    !o->decl[slot].declared)
		return (0);
	*master = o->decl[slot].master;
	*max = o->decl[slot].max;
	return (1);
}

int
oracle_setmax_slot(struct sim *s, int slot)
{
	struct oracle *o = s->oracle;
	const struct kprog *p;
	uint8_t *n;
	int t, i, a, cap;

	if (o->setmax_threads != s->st.nthreads) {
		/* The programs do not change: read again when threads came. */
		if (o->nsetmax > 0)
			memset(o->setmax, 0, (size_t)o->nsetmax);
		for (t = 0; t < s->st.nthreads; t++) {
			p = &sim_td(s, t)->td_prog;
			for (i = 0; i < p->p_nops; i++) {
				if (p->p_ops[i].code != OPC_SETMAX)
					continue;
				a = (int)p->p_ops[i].a;
				if (a < 0 || p->p_ops[i].a_stride != 0)
					continue;
				if (a >= o->nsetmax) {
					cap = o->nsetmax ? o->nsetmax : 64;
					while (cap <= a)
						cap *= 2;
					n = realloc(o->setmax, (size_t)cap);
					if (n == NULL)
						continue;
					memset(n + o->nsetmax, 0,
					    (size_t)(cap - o->nsetmax));
					o->setmax = n;
					o->nsetmax = cap;
				}
				o->setmax[a] = 1;
			}
		}
		o->setmax_threads = s->st.nthreads;
	}
	return (slot >= 0 && slot < o->nsetmax && o->setmax[slot]);
}

void
oracle_slot_counts(const struct sim *s, int slot, int64_t *items,
    int64_t *nulls, int64_t *frees)
{
	const struct orun *r = &s->oracle->r;

	*items = *nulls = *frees = 0;
	if (slot < 0 || slot >= r->nslots)
		return;
	*items = r->counts[slot * 3];
	*nulls = r->counts[slot * 3 + 1];
	*frees = r->counts[slot * 3 + 2];
}

int
oracle_counted(const struct sim *s)
{

	return (s->oracle != NULL && s->oracle->r.counted);
}

int
oracle_flight_max(const struct sim *s)
{

	return (s->oracle->r.flight_max > 1 ? s->oracle->r.flight_max : 1);
}

/* ---- snapshots ---- */

/* memcpy() for arrays that may not exist yet (NULL) when len is 0. */
static void
ocopy(void *dst, const void *src, size_t len)
{

	if (len > 0)
		memcpy(dst, src, len);
}

struct osaved {
	struct orun	r;		/* its arrays point into the copy below */
};

void *
oracle_save(struct sim *s)
{
	const struct orun *r;
	struct osaved *sv;
	size_t nd, np, nc, nm;
	char *p;

	if (!s->oracle_on || s->oracle == NULL)
		return (NULL);
	r = &s->oracle->r;
	nd = (size_t)r->nthreads * sizeof(*r->depth);
	np = (size_t)r->nthreads * sizeof(*r->pend);
	nc = (size_t)r->nslots * 3 * sizeof(*r->counts);
	nm = r->mapcap * sizeof(*r->map);
	sv = malloc(sizeof(*sv) + nd + np + nc + nm);
	if (sv == NULL)
		return (NULL);
	sv->r = *r;
	p = (char *)(sv + 1);
	sv->r.pend = (struct opend *)(void *)p;
	ocopy(p, r->pend, np);
	p += np;
	sv->r.map = (struct oitem *)(void *)p;
	ocopy(p, r->map, nm);
	p += nm;
	sv->r.counts = (int64_t *)(void *)p;
	ocopy(p, r->counts, nc);
	p += nc;
	sv->r.depth = (int *)(void *)p;
	ocopy(p, r->depth, nd);
	return (sv);
}

void
oracle_restore(struct sim *s, const void *saved)
{
	const struct osaved *sv = saved;
	struct orun *r;

	if (s->oracle == NULL)
		return;
	r = &s->oracle->r;
	if (sv == NULL) {
		if (s->oracle_on)
			oracle_reset(s);
		return;
	}
	if (grow_threads(r, sv->r.nthreads) != 0 ||
	    grow_slots(r, sv->r.nslots) != 0)
		return;
	if (r->mapcap < sv->r.mapcap) {
		free(r->map);
		r->map = calloc(sv->r.mapcap, sizeof(*r->map));
		r->mapcap = r->map != NULL ? sv->r.mapcap : 0;
		if (r->map == NULL)
			return;
	}
	r->kind = sv->r.kind;
	r->step = sv->r.step;
	r->counted = sv->r.counted;
	memcpy(r->msg, sv->r.msg, sizeof(r->msg));
	r->nflight = sv->r.nflight;
	r->flight_max = sv->r.flight_max;
	r->npend = sv->r.npend;
	if (r->nthreads > 0) {
		memset(r->depth, 0, (size_t)r->nthreads * sizeof(*r->depth));
		memset(r->pend, 0, (size_t)r->nthreads * sizeof(*r->pend));
	}
	ocopy(r->depth, sv->r.depth, (size_t)sv->r.nthreads * sizeof(*r->depth));
	ocopy(r->pend, sv->r.pend, (size_t)sv->r.nthreads * sizeof(*r->pend));
	if (r->nslots > 0)
		memset(r->counts, 0, (size_t)r->nslots * 3 * sizeof(*r->counts));
	ocopy(r->counts, sv->r.counts,
	    (size_t)sv->r.nslots * 3 * sizeof(*r->counts));
	/* The map keeps its capacity: put the items in again. */
	if (r->mapcap > 0)
		memset(r->map, 0, r->mapcap * sizeof(*r->map));
	r->mapn = 0;
	if (r->mapcap == sv->r.mapcap) {
		ocopy(r->map, sv->r.map, r->mapcap * sizeof(*r->map));
		r->mapn = sv->r.mapn;
	} else {
		size_t i;

		for (i = 0; i < sv->r.mapcap; i++)
			if (sv->r.map[i].item != 0)
				map_put(r, sv->r.map[i].item, sv->r.map[i].vid);
	}
}

void
oracle_saved_free(void *saved)
{

	free(saved);
}

void
oracle_free(struct sim *s)
{
	struct oracle *o = s->oracle;

	if (o == NULL)
		return;
	free(o->r.depth);
	free(o->r.pend);
	free(o->r.counts);
	free(o->r.map);
	free(o->decl);
	free(o->setmax);
	free(o);
	s->oracle = NULL;
	s->oracle_on = 0;
}

/* ---- hooks ---- */

void
oracle_op_begin(struct sim *s, struct kthread *td, const struct umasim_op *op)
{
	struct orun *r = &s->oracle->r;
	const struct kvar *v;
	int64_t vid;

	if (!op_frees(op->code))
		return;
	/* The free gives its item back as it begins. */
	vid = op_a(td, op);
	v = &s->vars[vid];
	if (v->v_state == VAR_HELD && map_get(r, v->v_item) == vid)
		map_del(r, v->v_item);
}

/* Threads asleep in zonelimit on 'keg' since the sleep order 'seq'. */
static int
zonelimit_sleepers(struct sim *s, const void *keg, uint64_t seq, int *tids,
    int max)
{
	struct kthread *td;
	int tid, n = 0;

	for (tid = kix_sleep_first(s, keg); tid >= 0; tid = td->td_wqnext) {
		td = sim_td(s, tid);
		if (td->td_state != UMASIM_TS_SLEEPING || td->td_wchan != keg ||
		    td->td_wmesg == NULL || strcmp(td->td_wmesg, "zonelimit") != 0 ||
		    td->td_sleepseq > seq)
			continue;
		if (n < max)
			tids[n] = tid;
		n++;
	}
	return (n);
}

static int
cmp_int(const void *a, const void *b)
{

	return (*(const int *)a - *(const int *)b);
}

/* Names of threads (sorted by tid) into buf. */
static void
thread_list(const struct sim *s, int *tids, int n, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	qsort(tids, (size_t)n, sizeof(*tids), cmp_int);
	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? ", " : "", oracle_thread_name(s, tids[i]));
}

/*
 * The end of the op of a free that read UMA_ZFLAG_FULL set: every thread
 * asleep in zonelimit on the keg at the read has been woken (a lost
 * wakeup is flagged here, not at the deadlock it leads to).
 */
static void
full_free_end(struct sim *s, struct kthread *td)
{
	struct orun *r = &s->oracle->r;
	struct opend p = r->pend[td->td_tid];
	int tids[64], n;
	char names[256];

	memset(&r->pend[td->td_tid], 0, sizeof(p));
	r->npend--;
	if (p.nsleepers <= p.woken)
		return;
	n = zonelimit_sleepers(s, p.keg, p.seq, tids, 64);
	if (n == 0)
		return;
	thread_list(s, tids, n < 64 ? n : 64, names, sizeof(names));
	oracle_fail(s, OK_LIVENESS, "lost wakeup: %s's free read UMA_ZFLAG_FULL "
	    "set on keg %#llx with %d thread(s) asleep in zonelimit there, and "
	    "only %lld were woken by the end of it (%s still asleep)",
	    td->td_name, (unsigned long long)kern_canon(s, p.keg), p.nsleepers,
	    (long long)p.woken, names);
}

int
oracle_freeing(struct sim *s, int64_t *vids, int max)
{
	const struct umasim_op *op;
	struct kthread *td;
	int t, n = 0;

	for (t = 0; t < s->st.nthreads; t++) {
		td = sim_td(s, t);
		if ((op = op_inside(td)) != NULL && op_frees(op->code)) {
			if (n < max)
				vids[n] = op_a(td, op);
			n++;
		}
	}
	return (n);
}

int
oracle_being_freed(struct sim *s, int64_t vid)
{
	const struct umasim_op *op;
	struct kthread *td;
	int t;

	for (t = 0; t < s->st.nthreads; t++) {
		td = sim_td(s, t);
		if ((op = op_inside(td)) != NULL && op_frees(op->code) &&
		    op_a(td, op) == vid)
			return (1);
	}
	return (0);
}

void
oracle_op_end(struct sim *s, struct kthread *td, const struct umasim_op *op)
{
	struct orun *r = &s->oracle->r;
	const struct kvar *v;
	int64_t vid, other;
	int tid = td->td_tid, slot;

	if (tid < r->nthreads) {
		if (r->depth[tid] > 0) {
			r->depth[tid] = 0;
			r->nflight--;
		}
		if (r->pend[tid].keg != NULL)
			full_free_end(s, td);
	}
	if (op_frees(op->code)) {
		vid = op_a(td, op);
		v = &s->vars[vid];
		if (v->v_state == VAR_FREED && v->v_zone >= 0 &&
		    grow_slots(r, v->v_zone + 1) == 0)
			r->counts[v->v_zone * 3 + 2]++;
		if (map_get(r, v->v_item) == vid)
			map_del(r, v->v_item);
		return;
	}
	if (!op_stores(op->code))
		return;
	vid = op_b(td, op);
	v = &s->vars[vid];
	if (op->code == OPC_ALLOC) {
		slot = (int)op_a(td, op);
		if (slot >= 0 && grow_slots(r, slot + 1) == 0)
			r->counts[slot * 3 + (v->v_state == VAR_NULL)]++;
	}
	if (v->v_state != VAR_HELD)
		return;
	if ((op->flags & OPF_ZERO) &&
	    (op->code == OPC_ALLOC || op->code == OPC_MALLOC))
		uma_oracle_zero(s, op->code == OPC_ALLOC ? (int)op_a(td, op) : -1,
		    op->code == OPC_MALLOC ? op_a(td, op) : 0, vid, v->v_item);
	other = map_get(r, v->v_item);
	/*
	 * (A free that began while its variable was unset, waiting for its
	 * producer, gives the item back once it is set: a free under way.)
	 */
	if (other >= 0 && other != vid && !oracle_being_freed(s, other))
		oracle_fail(s, OK_DUPLICATE, "item %#llx handed out twice: %s "
		    "and %s hold it", (unsigned long long)v->v_item,
		    var_name(s, other), var_name(s, vid));
	map_put(r, v->v_item, vid);
}

void
oracle_wakeup(struct sim *s, const void *chan, int n)
{
	struct orun *r = &s->oracle->r;
	int t;

	if (r->npend == 0 || n <= 0)
		return;
	for (t = 0; t < r->nthreads; t++)
		if (r->pend[t].keg == chan)
			r->pend[t].woken += n;
}

void
oracle_full_read(struct sim *s, const void *keg)
{
	struct orun *r = &s->oracle->r;
	struct kthread *td = s->st.curthread;
	struct opend *p;
	int n;

	/* (Not the host's work, zone creation say: it ends no op.) */
	if (td == NULL || td->td_tid >= s->st.nthreads ||
	    grow_threads(r, td->td_tid + 1) != 0)
		return;
	p = &r->pend[td->td_tid];
	n = zonelimit_sleepers(s, keg, UINT64_MAX, NULL, 0);
	if (p->keg != NULL && n == 0) {
		memset(p, 0, sizeof(*p));
		r->npend--;
		return;
	}
	if (n == 0)
		return;
	if (p->keg == NULL)
		r->npend++;
	p->keg = keg;
	p->seq = s->st.sleepseq;
	p->woken = 0;
	p->nsleepers = n;
}

void
oracle_flight_enter(struct sim *s)
{
	struct orun *r = &s->oracle->r;
	struct kthread *td = s->st.curthread;

	if (td == NULL || td->td_nopoints || td->td_tid >= s->st.nthreads ||
	    grow_threads(r, td->td_tid + 1) != 0)
		return;
	if (r->depth[td->td_tid]++ == 0 && ++r->nflight > r->flight_max)
		r->flight_max = r->nflight;
}

int
oracle_flight_exit(struct sim *s)
{
	struct orun *r = &s->oracle->r;
	struct kthread *td = s->st.curthread;

	if (td != NULL && td->td_tid < r->nthreads &&
	    r->depth[td->td_tid] > 0 && --r->depth[td->td_tid] == 0)
		r->nflight--;
	return (oracle_flight_max(s));
}

/*
 * Pages were freed: once free pages reach max(free_min, 1), VM_WAIT's
 * sleepers have been woken (vm_page_free_wakeup), so none may still sleep
 * in vmwait -- but those with a timeout (VM_WAIT after an injected page
 * failure sleeps a tick), which do not wait for that wakeup.
 */
void
oracle_pages_freed(struct sim *s)
{
	const void *chan = &s->st.vm.cnt.v_free_count;
	int64_t thresh, nfree;
	struct kthread *td;
	int tids[64], tid, n = 0;
	char names[256];

	thresh = s->st.vm.cnt.v_free_min > 1 ? s->st.vm.cnt.v_free_min : 1;
	nfree = s->st.vm.cnt.v_free_count;
	if (nfree < thresh || oracle_failed(s))
		return;
	for (tid = kix_sleep_first(s, chan); tid >= 0; tid = td->td_wqnext) {
		td = sim_td(s, tid);
		if (td->td_state != UMASIM_TS_SLEEPING || td->td_kernel ||
		    td->td_timo_at >= 0 || td->td_wmesg == NULL ||
		    strcmp(td->td_wmesg, "vmwait") != 0)
			continue;
		if (n < 64)
			tids[n++] = tid;
	}
	if (n == 0)
		return;
	thread_list(s, tids, n, names, sizeof(names));
	oracle_fail(s, OK_LIVENESS, "lost wakeup: %lld pages are free (wake "
	    "threshold %lld) after a page free, and %s still sleep(s) in vmwait",
	    (long long)nfree, (long long)thresh, names);
}

/* ---- the verdict ---- */

/* Every kernel thread sleeps where it waits for work. */
static int
kernel_idle(struct sim *s)
{
	struct kthread *td;
	const char *want;
	int t;

	for (t = 0; t < s->st.nthreads; t++) {
		td = sim_td(s, t);
		if (!td->td_kernel)
			continue;
		want = strcmp(td->td_name, "softclock") == 0 ? "softclock" :
		    strcmp(td->td_name, "pagedaemon") == 0 ? "psleep" : NULL;
		if (td->td_state != UMASIM_TS_SLEEPING || want == NULL ||
		    td->td_wmesg == NULL || strcmp(td->td_wmesg, want) != 0)
			return (0);
	}
	return (1);
}

int
oracle_verdict(struct sim *s, char *msg, size_t len, uint64_t *step)
{
	struct orun *r;
	int kind, out = s->st.outcome, ended = 0;

	if (s->oracle == NULL)
		return (OK_NONE);
	r = &s->oracle->r;
	if (r->kind == OK_NONE && !s->st.panicked &&
	    (out == UMASIM_OUT_COMPLETED || out == UMASIM_OUT_DEADLOCK ||
	    out == UMASIM_OUT_STEP_LIMIT)) {
		/* The end checks: judged now, not kept (the run may go on). */
		uma_oracle_end(s, out == UMASIM_OUT_COMPLETED &&
		    kernel_idle(s));
		ended = 1;
	}
	kind = r->kind;
	if (msg != NULL && len > 0)
		snprintf(msg, len, "%s", kind != OK_NONE ? r->msg : "");
	if (step != NULL)
		*step = kind != OK_NONE ? r->step : 0;
	if (ended)
		r->kind = OK_NONE;
	return (kind);
}

/* ---- the C interface ---- */

int
umasim_oracle_enable(struct sim *s, int on)
{
	int r;

	API_ENTER(s);
	r = oracle_enable(s, on);
	API_LEAVE(s);
	return (r);
}

int
umasim_oracle_verdict(struct sim *s, struct umasim_oracle_verdict *out)
{

	API_ENTER(s);
	out->kind = oracle_verdict(s, out->message, sizeof(out->message),
	    &out->step);
	API_LEAVE(s);
	return (out->kind);
}

int
umasim_oracle_nkinds(void)
{

	return (OK_COUNT);
}

const char *
umasim_oracle_kind_name(int kind)
{

	return (oracle_kind_name(kind));
}
