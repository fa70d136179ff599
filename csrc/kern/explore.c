/*
 * Explorers: many runs of one simulation, each from the same snapshot,
 * inside one C call (design.md, "Schedules": an explorer is not a
 * policy).
 *
 *  random   each run under the random policy, seeded seed + run index;
 *  pct      each run under PCT of depth d, seeded likewise; steps_hint 0
 *           means: estimate the run length from a first sequential run, as
 *           shuttle's pct.rs does;
 *  bounded  every schedule with at most k preemptions (thread choices
 *           other than the default), depth first: a run's tail past its
 *           forced prefix is the default schedule, and each step there
 *           offers its other runnable threads as new prefixes.
 *
 * A run fails when its outcome is not the expected one, or when the
 * invariant checker objects at its end.  Runs are grouped into classes by
 * (outcome, panic or checker message); the first run of each class keeps
 * its decisions, so the host can write a trace of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "policy/policy.h"

#define	EXPLORE_MAXCLASSES	64

struct explore_class {
	struct umasim_explore_class c;
	uint32_t	*dec;
};

struct explore_item {
	uint32_t	*prefix;
	size_t		len;
	int		preempts;
};

struct explore_state {
	struct explore_class classes[EXPLORE_MAXCLASSES];
	int		nclasses;
	uint8_t		cover[PT_COUNT];
	struct explore_item *stack;
	size_t		nstack, capstack;
	uint64_t	*states;	/* distinct final digests (sorted at the end) */
	size_t		nstates, capstates;
};

int	umasim_check(struct sim *s, struct umasim_check_report *rep);

static void
explore_reset(struct explore_state *e)
{
	int i;
	size_t j;

	for (i = 0; i < e->nclasses; i++)
		free(e->classes[i].dec);
	for (j = 0; j < e->nstack; j++)
		free(e->stack[j].prefix);
	free(e->stack);
	free(e->states);
	memset(e, 0, sizeof(*e));
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

/* Records one finished run; returns 1 if it failed. */
static int
classify(struct sim *s, struct explore_state *e,
    const struct umasim_explore_params *p, size_t dec0, uint64_t run)
{
	struct umasim_check_report rep;
	struct explore_class *k;
	const char *msg;
	int failed, checkfail, i;
	uint64_t h;

	checkfail = 0;
	rep.ok = 1;
	rep.message[0] = '\0';
	if (p->check && !s->st.panicked)
		checkfail = umasim_check(s, &rep) != 0;
	failed = s->st.outcome != p->expect_outcome || checkfail;
	if (p->expect_panic[0] != '\0' && s->st.panicked &&
	    strstr(s->st.panicmsg, p->expect_panic) == NULL)
		failed = 1;
	msg = checkfail ? rep.message : s->st.panicked ? s->st.panicmsg : "";
	h = strhash(msg) ^ ((uint64_t)s->st.outcome << 56) ^
	    (uint64_t)checkfail;
	if (p->states) {
		if (e->nstates == e->capstates) {
			e->capstates = e->capstates ? e->capstates * 2 : 256;
			e->states = realloc(e->states,
			    e->capstates * sizeof(*e->states));
		}
		if (e->states != NULL)
			e->states[e->nstates++] = digest_sim(s);
	}
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
	k->c.first_run = run;
	k->c.count = 1;
	k->c.steps = s->ndec - dec0;
	snprintf(k->c.message, sizeof(k->c.message), "%s", msg);
	k->c.ndecisions = s->ndec - dec0;
	k->dec = malloc((k->c.ndecisions + 1) * sizeof(uint32_t));
	if (k->dec != NULL && k->c.ndecisions > 0)
		memcpy(k->dec, s->dec + dec0, k->c.ndecisions * sizeof(uint32_t));
	return (failed);
}

static int
push(struct explore_state *e, const uint32_t *dec, size_t len, uint32_t last,
    int preempts)
{
	struct explore_item *it;

	if (e->nstack == e->capstack) {
		size_t cap = e->capstack ? e->capstack * 2 : 64;
		void *n = realloc(e->stack, cap * sizeof(*e->stack));

		if (n == NULL)
			return (-1);
		e->stack = n;
		e->capstack = cap;
	}
	it = &e->stack[e->nstack];
	it->prefix = malloc((len + 1) * sizeof(uint32_t));
	if (it->prefix == NULL)
		return (-1);
	if (len > 0)
		memcpy(it->prefix, dec, len * sizeof(uint32_t));
	it->prefix[len] = last;
	it->len = len + 1;
	it->preempts = preempts;
	e->nstack++;
	return (0);
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
	r = policy_init(s, pol);
	if (r != 0)
		return (r);
	r = sched_run_host(s, max_steps);
	return (r < 0 && r != UMASIM_E_PANICKED ? r : 0);
}

int
umasim_explore(struct sim *s, const struct snapshot *start,
    const struct umasim_explore_params *p, struct umasim_explore_result *res)
{
	struct explore_state *e;
	struct umasim_policy pol;
	struct explore_item it;
	size_t dec0, i, j;
	uint64_t run;
	int r, trace_level;

	API_ENTER(s);
	memset(res, 0, sizeof(*res));
	if (s->explore == NULL)
		s->explore = calloc(1, sizeof(*s->explore));
	if (s->explore == NULL) {
		API_LEAVE(s);
		return (UMASIM_E_NOMEM);
	}
	e = s->explore;
	explore_reset(e);
	trace_level = s->st.trace_level;
	s->st.trace_level = UMASIM_TRACE_OFF;
	s->cover = e->cover;
	s->brlog_on = p->kind == UMASIM_EXPLORE_BOUNDED;
	memset(&pol, 0, sizeof(pol));
	r = 0;
	res->steps_hint = p->steps_hint;
	if (p->kind == UMASIM_EXPLORE_PCT && p->steps_hint == 0) {
		/* Estimate the run length: a first, sequential run. */
		pol.kind = UMASIM_POL_SEQUENTIAL;
		r = one_run(s, start, &pol, p->max_steps, &dec0);
		if (r == 0) {
			res->failures += classify(s, e, p, dec0, 0);
			res->runs++;
			res->steps_hint = (int64_t)(s->ndec - dec0);
			if (res->steps_hint < 1)
				res->steps_hint = 1;
		}
	}
	if (p->kind == UMASIM_EXPLORE_BOUNDED && push(e, NULL, 0, 0, 0) == 0)
		e->stack[0].len = 0;	/* the empty prefix: the default run */
	for (run = res->runs; r == 0 && run < p->runs; run++) {
		memset(&pol, 0, sizeof(pol));
		if (p->kind == UMASIM_EXPLORE_RANDOM) {
			pol.kind = UMASIM_POL_RANDOM;
			pol.seed = p->seed + run;
			pol.migrate = p->migrate;
		} else if (p->kind == UMASIM_EXPLORE_PCT) {
			pol.kind = UMASIM_POL_PCT;
			pol.seed = p->seed + run;
			pol.migrate = p->migrate;
			pol.depth = p->depth;
			pol.steps_hint = res->steps_hint;
		} else {
			if (e->nstack == 0) {
				res->exhausted = 1;
				break;
			}
			it = e->stack[--e->nstack];
			pol.kind = UMASIM_POL_SCRIPT;
			pol.decisions = it.prefix;
			pol.ndecisions = it.len;
			pol.then_kind = UMASIM_POL_SEQUENTIAL;
		}
		r = one_run(s, start, &pol, p->max_steps, &dec0);
		if (r != 0) {
			if (p->kind == UMASIM_EXPLORE_BOUNDED)
				free(it.prefix);
			break;
		}
		res->failures += classify(s, e, p, dec0, run);
		res->runs++;
		if (p->kind == UMASIM_EXPLORE_BOUNDED) {
			/* Branch past the forced prefix, if preemptions are left. */
			if (it.preempts < p->bound) {
				for (i = s->nbrlog; i-- > it.len;) {
					for (j = 0; j < s->brlog[i].n; j++) {
						if (j == s->brlog[i].def)
							continue;
						if (push(e, s->dec + dec0, i,
						    (uint32_t)(1 + j),
						    it.preempts + 1) != 0)
							break;
					}
				}
			}
			free(it.prefix);
		}
	}
	if (p->kind == UMASIM_EXPLORE_BOUNDED && e->nstack == 0)
		res->exhausted = 1;
	for (i = 0; i < PT_COUNT; i++)
		res->points_covered += e->cover[i] != 0;
	res->points_total = PT_COUNT;
	res->classes = e->nclasses;
	if (p->states && e->nstates > 0) {
		/* Distinct final states: count distinct digests. */
		qsort(e->states, e->nstates, sizeof(uint64_t), cmp_u64);
		res->distinct_states = 1;
		for (i = 1; i < e->nstates; i++)
			res->distinct_states += e->states[i] != e->states[i - 1];
	}
	s->cover = NULL;
	s->brlog_on = 0;
	s->st.trace_level = trace_level;
	snapshot_restore(s, start);
	API_LEAVE(s);
	return (r);
}

int
umasim_explore_class(struct sim *s, int i, struct umasim_explore_class *out)
{

	if (s->explore == NULL || i < 0 || i >= s->explore->nclasses)
		return (UMASIM_E_INVAL);
	*out = s->explore->classes[i].c;
	return (0);
}

const uint32_t *
umasim_explore_decisions(struct sim *s, int i)
{

	if (s->explore == NULL || i < 0 || i >= s->explore->nclasses)
		return (NULL);
	return (s->explore->classes[i].dec);
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
		free(s->explore);
		s->explore = NULL;
	}
	free(s->brlog);
}
