/*
 * Explorers: many runs of one simulation, each from the same snapshot,
 * inside one C call (docs/design.md, "Schedules": an explorer is not a
 * policy).  Each explorer, one file each under explorer/, chooses the
 * policy of every run:
 *
 *  random   the random policy (explorer/random.c);
 *  pct      PCT of depth d (explorer/pct.c);
 *  bounded  every schedule with at most k preemptions -- other threads
 *           or migrations -- with sleep sets over the steps' footprints
 *           (explorer/bounded.c, footprint.c);
 *  guided   a corpus of schedules mutated, kept when a run reaches new
 *           coverage (explorer/guided.c).
 *
 * A run fails when its outcome is not the expected one, when the
 * invariant checker objects at its end, or (params oracle) when the
 * oracle fails it (oracle.c): a failure it saw during the run first, then
 * the checker and the expectations, then its end-of-run checks on a run
 * that went as expected.  Runs are grouped into classes by (outcome,
 * panic or checker message), or (outcome, the oracle's kind and message
 * with its numbers left out); the first run of each class keeps its
 * decisions, so the host can write a trace of it (and, for a deadlock the
 * oracle did not fail, tell a FreeBSD 7 liveness hazard from a failure:
 * search/explore.py).
 * Final states are counted by digest_final().  Every run's
 * coverage (cover.c) is added to the union of the runs'; each run that
 * adds to it is a point of the coverage growth curve (the run, and the
 * union's counts after it).
 *
 * For the fuzzer's bursts (umasim/search/fuzz.py): with stop_first the
 * exploration ends after the first run that panics, faults, fails the
 * checker or the oracle; with keep k, the decisions of the last k runs
 * that added coverage are kept (umasim_explore_kept), for the host to
 * judge by properties the core does not check.
 */#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "stack.h"
#include "explorer/explorer.h"
#include "policy/policy.h"

#define	EXPLORE_MAXCLASSES	64

struct explore_class {
	struct umasim_explore_class c;
	uint32_t	*dec;
};

struct explore_state {
	struct explore_class classes[EXPLORE_MAXCLASSES];
	int		nclasses;
	uint8_t		cover[PT_COUNT];
	uint8_t		cov_win[W_COUNT];	/* union of the runs' coverage */
	uint64_t	cov_states[COV_NWORDS];
	uint64_t	*states;	/* distinct final digests (sorted at the end) */
	size_t		nstates, capstates;
	struct umasim_explore_growth *growth;	/* runs that added coverage */
	size_t		ngrowth, capgrowth;
	/* guided: the corpus to start from (kept across explore_reset) and
	 * the one the last exploration ended with (umasim_api.h's format) */
	uint32_t	*corpus_in, *corpus_out;
	size_t		ncorpus_in, ncorpus_out;
	struct {				/* the last runs that added coverage */
		uint32_t *dec;
		size_t	n;
	}		kept[UMASIM_EXPLORE_KEEP_MAX];
	int		keep, nkept, nextkept;
	int		hard;		/* the last run panicked, faulted or failed the checker */
};

static void
explore_reset(struct explore_state *e)
{
	uint32_t *in = e->corpus_in;
	size_t nin = e->ncorpus_in;
	int i;

	for (i = 0; i < e->nclasses; i++)
		free(e->classes[i].dec);
	for (i = 0; i < UMASIM_EXPLORE_KEEP_MAX; i++)
		free(e->kept[i].dec);
	free(e->states);
	free(e->growth);
	free(e->corpus_out);
	memset(e, 0, sizeof(*e));
	e->corpus_in = in;
	e->ncorpus_in = nin;
}

static struct explore_state *
explore_state(struct sim *s)
{

	if (s->explore == NULL)
		s->explore = calloc(1, sizeof(*s->explore));
	return (s->explore);
}

/*
 * The guided explorer's corpus in and out (umasim_api.h gives the
 * format: entry after entry, len, len decisions, len (n << 16 | def)).
 */
const uint32_t *
explore_corpus_in(struct sim *s, size_t *nwords)
{

	*nwords = s->explore != NULL ? s->explore->ncorpus_in : 0;
	return (s->explore != NULL ? s->explore->corpus_in : NULL);
}

/* Drops the starting corpus (the exploration has taken it). */
void
explore_corpus_in_done(struct sim *s)
{

	if (s->explore != NULL) {
		free(s->explore->corpus_in);
		s->explore->corpus_in = NULL;
		s->explore->ncorpus_in = 0;
	}
}

/* Keeps 'words' (malloc'ed, taken over) as the corpus the run ended with. */
void
explore_corpus_out(struct sim *s, uint32_t *words, size_t nwords)
{

	free(s->explore->corpus_out);
	s->explore->corpus_out = words;
	s->explore->ncorpus_out = nwords;
}

int
umasim_guided_corpus_in(struct sim *s, const uint32_t *words, size_t nwords)
{
	struct explore_state *e;
	uint32_t *copy = NULL;
	size_t i, len;

	/* Whole entries only: len, then 2 * len words. */
	for (i = 0; i < nwords; i += 1 + 2 * len) {
		len = words[i];
		if (len > nwords - i - 1 || 2 * len > nwords - i - 1)
			return (UMASIM_E_INVAL);
	}
	API_ENTER(s);
	e = explore_state(s);
	if (e == NULL || (nwords > 0 &&
	    (copy = malloc(nwords * sizeof(*copy))) == NULL)) {
		API_LEAVE(s);
		return (UMASIM_E_NOMEM);
	}
	if (nwords > 0)
		memcpy(copy, words, nwords * sizeof(*copy));
	free(e->corpus_in);
	e->corpus_in = copy;
	e->ncorpus_in = nwords;
	API_LEAVE(s);
	return (0);
}

int64_t
umasim_guided_corpus_out(struct sim *s, uint32_t *out, size_t cap)
{
	size_t n;

	if (s->explore == NULL || s->explore->corpus_out == NULL)
		return (0);
	n = s->explore->ncorpus_out;
	if (out != NULL && cap > 0)
		memcpy(out, s->explore->corpus_out,
		    (cap < n ? cap : n) * sizeof(*out));
	return ((int64_t)n);
}

/* The (point, state) pairs of the last exploration's union, as bits. */
int64_t
umasim_explore_state_bits(struct sim *s, uint64_t *out, size_t nwords)
{

	if (s->explore == NULL)
		return (0);
	if (out != NULL && nwords > 0)
		memcpy(out, s->explore->cov_states,
		    (nwords < COV_NWORDS ? nwords : COV_NWORDS) *
		    sizeof(*out));
	return (COV_NWORDS);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

static uint64_t
strhash(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	while (*p)
		h = (h ^ (unsigned char)*p++) * 0x100000001b3ULL;
	return (h);
}

/*
 * The hash of an oracle's message with its numbers left out (each run of
 * digits, and each hexadecimal number, counts as one 'N'): the runs that
 * fail the same way on other items, variables or steps are one class.
 */
static uint64_t
strhash_norm(const char *p)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	unsigned char c;

	while ((c = (unsigned char)*p) != '\0') {
		if (c >= '0' && c <= '9') {
			if (c == '0' && (p[1] == 'x' || p[1] == 'X'))
				p += 2;
			while ((*p >= '0' && *p <= '9') ||
			    (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F'))
				p++;
			c = 'N';
		} else
			p++;
		h = (h ^ c) * 0x100000001b3ULL;
	}
	return (h);
}

/* Room for one more final state; on failure the old buffer is kept. */
static int
states_room(struct explore_state *e)
{
	size_t cap;
	uint64_t *n;

	if (e->nstates < e->capstates)
		return (0);
	cap = e->capstates ? e->capstates * 2 : 256;
	n = realloc(e->states, cap * sizeof(*e->states));
	if (n == NULL)
		return (-1);
	e->states = n;
	e->capstates = cap;
	return (0);
}

/*
 * Adds the coverage of the run just done, numbered 'run', to the union;
 * returns 1 if it had something new (then it is a point of the growth
 * curve, when there is room for one).
 */
static int
cover_add(struct explore_state *e, const struct kcover *c, uint64_t run)
{
	struct umasim_explore_growth *g;
	size_t i, cap;
	uint64_t grew = 0;
	void *n;

	for (i = 0; i < W_COUNT; i++)
		grew |= (uint64_t)(c->win[i] & ~e->cov_win[i]);
	for (i = 0; i < COV_NWORDS; i++)
		grew |= c->states[i] & ~e->cov_states[i];
	if (grew == 0)
		return (0);
	cov_union(e->cov_win, e->cov_states, c);
	if (e->ngrowth == e->capgrowth) {
		cap = e->capgrowth ? e->capgrowth * 2 : 64;
		n = realloc(e->growth, cap * sizeof(*e->growth));
		if (n == NULL)
			return (1);
		e->growth = n;
		e->capgrowth = cap;
	}
	g = &e->growth[e->ngrowth++];
	memset(g, 0, sizeof(*g));
	g->run = run;
	for (i = 0; i < W_COUNT; i++) {
		g->windows_entered += (e->cov_win[i] & UMASIM_COV_ENTERED) != 0;
		g->windows_interleaved +=
		    (e->cov_win[i] & UMASIM_COV_INTERLEAVED) != 0;
		g->windows_migrated += (e->cov_win[i] & UMASIM_COV_MIGRATED) != 0;
	}
	for (i = 0; i < COV_NWORDS; i++)
		g->state_pairs += __builtin_popcountll(e->cov_states[i]);
	return (1);
}

/*
 * The digest of a run's final state.  Once the run is over (completed,
 * deadlock, panic, host fault) no thread runs again, and which thread ran
 * last -- the default's memory -- is left out: two runs that differ only
 * in the order of their last independent steps end in the same state
 * (the bounded explorer's sleep sets explore one of them).
 */
uint64_t
digest_final(struct sim *s)
{
	uint64_t h;
	int last;

	if (s->st.outcome == UMASIM_OUT_STEP_LIMIT ||
	    s->st.outcome == UMASIM_OUT_RUNNING)
		return (digest_sim(s));
	last = s->st.lastrun;
	s->st.lastrun = -1;
	h = digest_sim(s);
	s->st.lastrun = last;
	return (h);
}

/* Records one finished run; returns 1 if it failed. */
static int
classify(struct sim *s, struct explore_state *e,
    const struct umasim_explore_params *p, size_t dec0, uint64_t run)
{
	struct umasim_check_report rep;
	struct explore_class *k;
	char omsg[ORACLE_MSGLEN];
	const char *msg;
	int failed, checkfail, okind, i;
	uint64_t h, ostep;
	size_t n;

	checkfail = 0;
	rep.ok = 1;
	rep.message[0] = '\0';
	/* The oracle's failure during the run comes first (the earliest). */
	okind = p->oracle && oracle_failed(s) ?
	    oracle_verdict(s, omsg, sizeof(omsg), &ostep) : OK_NONE;
	if (p->check && !s->st.panicked && okind == OK_NONE)
		checkfail = uma_check(s, &rep) != 0;
	failed = s->st.outcome != p->expect_outcome || checkfail;
	if (p->expect_panic[0] != '\0' && s->st.panicked &&
	    strstr(s->st.panicmsg, p->expect_panic) == NULL)
		failed = 1;
	/* Then its checks at the end of a run that went as expected. */
	if (p->oracle && !failed && okind == OK_NONE)
		okind = oracle_verdict(s, omsg, sizeof(omsg), &ostep);
	failed |= okind != OK_NONE;
	e->hard = checkfail || s->st.panicked || okind != OK_NONE ||
	    s->st.outcome == UMASIM_OUT_HOST_FAULT;
	if (okind != OK_NONE) {
		msg = omsg;
		h = strhash_norm(msg) ^ ((uint64_t)s->st.outcome << 56) ^
		    ((uint64_t)okind << 48);
	} else {
		msg = checkfail ? rep.message : s->st.panicked ?
		    s->st.panicmsg : "";
		h = strhash(msg) ^ ((uint64_t)s->st.outcome << 56) ^
		    (uint64_t)checkfail;
	}
	if (p->states && states_room(e) == 0)
		e->states[e->nstates++] = digest_final(s);
	for (i = 0; i < e->nclasses; i++) {
		if (e->classes[i].c.key == h) {
			e->classes[i].c.count++;
			return (failed);
		}
	}
	if (e->nclasses == EXPLORE_MAXCLASSES)
		return (failed);
	k = &e->classes[e->nclasses++];
	memset(k, 0, sizeof(*k));
	k->c.key = h;
	k->c.outcome = s->st.outcome;
	k->c.failed = failed;
	k->c.check_failed = checkfail;
	k->c.oracle_kind = okind;
	k->c.oracle_step = okind != OK_NONE && ostep >= s->st.nsteps - (s->ndec -
	    dec0) ? ostep - (s->st.nsteps - (s->ndec - dec0)) : 0;
	k->c.first_run = run;
	k->c.count = 1;
	k->c.steps = s->ndec - dec0;
	/* (A longer oracle message is cut.) */
	n = strnlen(msg, sizeof(k->c.message) - 1);
	memcpy(k->c.message, msg, n);
	k->c.message[n] = '\0';
	k->c.ndecisions = s->ndec - dec0;
	k->dec = malloc((k->c.ndecisions + 1) * sizeof(uint32_t));
	if (k->dec != NULL && k->c.ndecisions > 0)
		memcpy(k->dec, s->dec + dec0, k->c.ndecisions * sizeof(uint32_t));
	return (failed);
}

/* Keeps the decisions of the run just done, in place of the oldest kept. */
static void
keep_run(struct explore_state *e, const struct sim *s, int keep, size_t dec0)
{
	size_t n = s->ndec - dec0;
	uint32_t *d;
	int k = e->nextkept;

	d = malloc((n + 1) * sizeof(uint32_t));
	if (d == NULL)
		return;
	if (n > 0)
		memcpy(d, s->dec + dec0, n * sizeof(uint32_t));
	free(e->kept[k].dec);
	e->kept[k].dec = d;
	e->kept[k].n = n;
	e->keep = keep;
	e->nextkept = (k + 1) % keep;
	if (e->nkept < keep)
		e->nkept++;
}

/* One run from the snapshot under the given policy. */
static int
one_run(struct sim *s, const struct snapshot *start,
    const struct umasim_policy *pol, uint64_t max_steps, size_t *dec0)
{
	int r;

	r = snapshot_restore(s, start);
	if (r != 0)
		return (r);
	*dec0 = s->ndec;
	s->nbrlog = 0;
	s->nxlog = 0;
	s->nxrun = 0;
	s->xlog_oom = 0;
	s->fp = &s->fp_spare;
	r = policy_init(s, pol);
	if (r != 0)
		return (r);
	r = sched_run_host(s, max_steps);
	return (r < 0 && r != UMASIM_E_PANICKED && r != UMASIM_E_FAULTED ?
	    r : 0);
}

int
explore_run(struct explorer *x, const struct umasim_policy *pol,
    uint64_t run, size_t *dec0)
{
	struct explore_state *e = x->s->explore;
	int r, nclasses;

	x->novel = 0;
	r = one_run(x->s, x->start, pol, x->p->max_steps, dec0);
	if (r == 0) {
		x->novel = cover_add(e, &x->s->st.cov, run);
		nclasses = e->nclasses;
		x->res->failures += classify(x->s, e, x->p, *dec0, run);
		x->novel |= e->nclasses != nclasses;
		x->res->runs++;
		if (x->novel && x->p->keep > 0)
			keep_run(e, x->s, x->p->keep, *dec0);
	}
	return (r);
}

static const struct explorer_ops *
explorer_lookup(int kind)
{

	switch (kind) {
	case UMASIM_EXPLORE_RANDOM:
		return (&explorer_random);
	case UMASIM_EXPLORE_PCT:
		return (&explorer_pct);
	case UMASIM_EXPLORE_BOUNDED:
		return (&explorer_bounded);
	case UMASIM_EXPLORE_GUIDED:
		return (&explorer_guided);
	}
	return (NULL);
}

int
umasim_explore(struct sim *s, const struct snapshot *start,
    const struct umasim_explore_params *p, struct umasim_explore_result *res)
{
	const struct explorer_ops *ops;
	struct explorer x;
	struct explore_state *e;
	struct umasim_policy pol;
	size_t dec0, i;
	uint64_t run;
	int r, trace_level, oracle_on;

	API_ENTER(s);
	kstack_guard_install();	/* this host thread may not have made s */
	kstack_handler_check();
	memset(res, 0, sizeof(*res));
	ops = explorer_lookup(p->kind);
	if (ops == NULL || p->keep < 0 || p->keep > UMASIM_EXPLORE_KEEP_MAX) {
		API_LEAVE(s);
		return (UMASIM_E_INVAL);
	}
	e = explore_state(s);
	if (e == NULL) {
		API_LEAVE(s);
		return (UMASIM_E_NOMEM);
	}
	explore_reset(e);
	oracle_on = s->oracle_on;
	if (oracle_enable(s, p->oracle) != 0) {
		API_LEAVE(s);
		return (UMASIM_E_NOMEM);
	}
	trace_level = s->st.trace_level;
	s->st.trace_level = UMASIM_TRACE_OFF;
	s->cover = e->cover;
	s->brlog_on = 0;
	res->steps_hint = p->steps_hint;
	x.s = s;
	x.start = start;
	x.p = p;
	x.res = res;
	x.priv = NULL;
	x.novel = 0;
	r = ops->start != NULL ? ops->start(&x) : 0;
	for (run = res->runs; r == 0 && run < p->runs; run++) {
		memset(&pol, 0, sizeof(pol));
		if (ops->next(&x, run, &pol) != 0) {
			res->exhausted = 1;
			break;
		}
		r = explore_run(&x, &pol, run, &dec0);
		if (ops->done != NULL)
			ops->done(&x, r, dec0);
		if (r == 0 && p->stop_first && e->hard)
			break;
	}
	if (ops->finish != NULL)
		ops->finish(&x);
	for (i = 0; i < PT_COUNT; i++)
		res->points_covered += e->cover[i] != 0;
	res->points_total = PT_COUNT;
	res->classes = e->nclasses;
	if (p->states && e->nstates > 0) {
		/* Distinct final states: count distinct digests. */
		qsort(e->states, e->nstates, sizeof(uint64_t), cmp_u64);
		res->distinct_states = 1;
		for (i = 1; i < e->nstates; i++)
			if (e->states[i] != e->states[res->distinct_states - 1])
				e->states[res->distinct_states++] = e->states[i];
		e->nstates = res->distinct_states;
	}
	s->cover = NULL;
	s->brlog_on = 0;
	s->xlog_on = 0;
	s->fp_on = 0;
	s->st.trace_level = trace_level;
	snapshot_restore(s, start);
	s->oracle_on = oracle_on;
	API_LEAVE(s);
	return (r);
}

static int
explore_class_unlocked(struct sim *s, int i, struct umasim_explore_class *out)
{

	if (s->explore == NULL || i < 0 || i >= s->explore->nclasses)
		return (UMASIM_E_INVAL);
	*out = s->explore->classes[i].c;
	return (0);
}

int
umasim_explore_class(struct sim *s, int i, struct umasim_explore_class *out)
{
	int r;

	API_ENTER(s);
	r = explore_class_unlocked(s, i, out);
	API_LEAVE(s);
	return (r);
}

const uint32_t *
umasim_explore_decisions(struct sim *s, int i)
{

	if (s->explore == NULL || i < 0 || i >= s->explore->nclasses)
		return (NULL);
	return (s->explore->classes[i].dec);
}

/* How many runs' decisions the last exploration kept (params keep). */
int
umasim_explore_nkept(struct sim *s)
{

	return (s->explore != NULL ? s->explore->nkept : 0);
}

/* Kept run i (0 the oldest), its length in *n; NULL if none. */
const uint32_t *
umasim_explore_kept(struct sim *s, int i, size_t *n)
{
	struct explore_state *e = s->explore;
	int k;

	*n = 0;
	if (e == NULL || i < 0 || i >= e->nkept)
		return (NULL);
	/* Once the ring is full, the oldest is where the next one goes. */
	k = e->nkept < e->keep ? i : (e->nextkept + i) % e->keep;
	*n = e->kept[k].n;
	return (e->kept[k].dec);
}

/* The union of the last exploration's runs' coverage. */
int
umasim_explore_coverage(struct sim *s, struct umasim_coverage *out)
{

	API_ENTER(s);
	if (s->explore == NULL) {
		API_LEAVE(s);
		return (UMASIM_E_INVAL);
	}
	cov_report(s->explore->cov_win, s->explore->cov_states, out);
	API_LEAVE(s);
	return (0);
}

/*
 * The distinct final-state digests of the last exploration (with
 * p->states), sorted; their number in *n.
 */
const uint64_t *
umasim_explore_states(struct sim *s, size_t *n)
{

	*n = s->explore != NULL ? s->explore->nstates : 0;
	return (*n > 0 ? s->explore->states : NULL);
}

/* The coverage growth curve of the last exploration: its length. */
int64_t
umasim_explore_ngrowth(struct sim *s)
{

	return (s->explore != NULL ? (int64_t)s->explore->ngrowth : 0);
}

/* Its point i (in the order of the runs). */
int
umasim_explore_growth(struct sim *s, int64_t i,
    struct umasim_explore_growth *out)
{

	if (s->explore == NULL || i < 0 || (uint64_t)i >= s->explore->ngrowth)
		return (UMASIM_E_INVAL);
	*out = s->explore->growth[i];
	return (0);
}

int
umasim_explore_point_covered(struct sim *s, int pt)
{

	if (s->explore == NULL || pt < 0 || pt >= PT_COUNT)
		return (0);
	return (s->explore->cover[pt]);
}

void
explore_free(struct sim *s)
{

	if (s->explore != NULL) {
		explore_reset(s->explore);
		free(s->explore->corpus_in);
		free(s->explore);
		s->explore = NULL;
	}
	free(s->brlog);
	free(s->xlog);
	free(s->xrun);
}
