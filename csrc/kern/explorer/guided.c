/*
 * guided: coverage-guided search over schedules in machine form
 * (docs/design.md, "The guided explorer").
 *
 * The corpus holds whole schedules: the decisions of runs that reached
 * new coverage (a race window entered, interleaved or migrated in, a
 * (point, state) pair, or a new class of outcome; explore.c says which
 * runs did), each with its steps' runnable counts and default choices
 * (the step log, s->brlog).  Each run is the default schedule (the first),
 * a run under the random policy (one in GUIDED_FRESH, and while the
 * corpus is empty), or a corpus entry changed by one to four mutations:
 *
 *  change   a decision becomes another thread, perhaps migrated first;
 *  insert   a new such decision is put in at a step;
 *  move     a preemption (nonzero decision) moves to another step;
 *  remove   a preemption becomes the default, or its step is dropped;
 *  splice   the entry up to a step, another entry from there on;
 *  migrate  the default thread is migrated to a vCPU at a step;
 *  cut      the entry ends at a step, the random policy goes on.
 *
 * A schedule is run by the script policy, then the default (sequential)
 * or, after a cut, the random policy.  A decision means what the script
 * policy makes of it where it lands (policy/script.c: thread k mod n), so
 * a mutated schedule always runs.  All choices come from the explorer's
 * own generator, seeded with the exploration's seed: the same seed gives
 * the same runs.  The corpus holds at most corpus_max entries (2 to
 * UMASIM_GUIDED_CORPUS_MAX, the default) and GUIDED_MAXSTEPS steps in all (an entry keeps at most its
 * first GUIDED_MAXSTEPS / 2 steps; past them the default schedule goes
 * on); to make room for a new entry, random ones other than the first go.
 *
 * A campaign runs guided shards in rounds: an exploration may start from
 * a corpus (umasim_guided_corpus_in: the entries, in order, up to the
 * most it keeps; the default schedule is then not run again) and leaves
 * the corpus it ended with for umasim_guided_corpus_out.
 */
#include <stdlib.h>
#include <string.h>

#include "../kern.h"
#include "explorer.h"

#define	GUIDED_FRESH	16	/* one run in this many is a random one */
#define	GUIDED_MAXMUT	4	/* mutations per run, at most */
#define	GUIDED_MAXSTEPS	(1u << 22)	/* steps the corpus holds, in all */

struct gentry {
	uint32_t	*dec;
	struct brlog	*br;
	size_t		len;
};

struct guided_state {
	uint64_t	rng[4];
	int		did_default;
	struct gentry	corpus[UMASIM_GUIDED_CORPUS_MAX];
	int		n, max;	/* entries, at most */
	size_t		nsteps;		/* steps the corpus holds */
	struct gentry	cur;		/* the schedule under way */
	size_t		cap;
};

static uint64_t
below(struct guided_state *g, uint64_t n)
{

	return (n > 1 ? rng_below(g->rng, n) : 0);
}

/* Room for 'len' steps in the schedule under way. */
static int
room(struct guided_state *g, size_t len)
{
	size_t cap;
	void *d, *b;

	if (len <= g->cap)
		return (0);
	cap = g->cap ? g->cap : 256;
	while (cap < len)
		cap *= 2;
	d = realloc(g->cur.dec, cap * sizeof(*g->cur.dec));
	if (d == NULL)
		return (-1);
	g->cur.dec = d;
	b = realloc(g->cur.br, cap * sizeof(*g->cur.br));
	if (b == NULL)
		return (-1);
	g->cur.br = b;
	g->cap = cap;
	return (0);
}

/*
 * A decision other than the default at a step with these choices: another
 * thread (or the same, migrated), migrated first one time in four.
 */
static uint32_t
rand_decision(struct guided_state *g, const struct brlog *br, int ncpus)
{
	uint32_t n = br->n > 0 ? br->n : 1, idx;
	int mig = -1;

	idx = (uint32_t)below(g, n);
	if (n > 1 && idx == br->def)
		idx = (idx + 1 + (uint32_t)below(g, n - 1)) % n;
	if (ncpus > 1 && (below(g, 4) == 0 || (n == 1 && idx == br->def)))
		mig = (int)below(g, (uint64_t)ncpus);
	return (1 + idx + n * (uint32_t)(mig + 1));
}

/* A step holding a preemption, from a random place on; -1 if none. */
static long
find_preemption(struct guided_state *g)
{
	size_t i, j, len = g->cur.len;

	if (len == 0)
		return (-1);
	j = (size_t)below(g, len);
	for (i = 0; i < len; i++)
		if (g->cur.dec[(j + i) % len] != 0)
			return ((long)((j + i) % len));
	return (-1);
}

static void
insert_at(struct guided_state *g, size_t i, uint32_t d, struct brlog br)
{

	memmove(&g->cur.dec[i + 1], &g->cur.dec[i],
	    (g->cur.len - i) * sizeof(*g->cur.dec));
	memmove(&g->cur.br[i + 1], &g->cur.br[i],
	    (g->cur.len - i) * sizeof(*g->cur.br));
	g->cur.dec[i] = d;
	g->cur.br[i] = br;
	g->cur.len++;
}

static void
delete_at(struct guided_state *g, size_t i)
{

	memmove(&g->cur.dec[i], &g->cur.dec[i + 1],
	    (g->cur.len - i - 1) * sizeof(*g->cur.dec));
	memmove(&g->cur.br[i], &g->cur.br[i + 1],
	    (g->cur.len - i - 1) * sizeof(*g->cur.br));
	g->cur.len--;
}

/* One mutation of the schedule under way; returns 1 if it was cut. */
static int
mutate(struct guided_state *g, int ncpus)
{
	static const struct brlog one = { 1, 0 };
	const struct gentry *b;
	struct brlog br;
	size_t len = g->cur.len, i, j;
	long k;
	uint32_t d;

	switch (below(g, 7)) {
	case 0:		/* change */
		if (len == 0)
			break;
		i = (size_t)below(g, len);
		g->cur.dec[i] = rand_decision(g, &g->cur.br[i], ncpus);
		break;
	case 1:		/* insert */
		if (room(g, len + 1) != 0)
			break;
		i = (size_t)below(g, len + 1);
		br = len == 0 ? one : g->cur.br[i < len ? i : len - 1];
		insert_at(g, i, rand_decision(g, &br, ncpus), br);
		break;
	case 2:		/* move: near by, or anywhere */
		if ((k = find_preemption(g)) < 0)
			break;
		d = g->cur.dec[k];
		g->cur.dec[k] = 0;
		if (below(g, 2) == 0) {
			j = (size_t)k + (size_t)below(g, 17);
			j = j < 8 ? 0 : j - 8;
			if (j >= len)
				j = len - 1;
		} else
			j = (size_t)below(g, len);
		g->cur.dec[j] = d;
		break;
	case 3:		/* remove */
		if ((k = find_preemption(g)) < 0)
			break;
		if (below(g, 2) == 0)
			g->cur.dec[k] = 0;
		else
			delete_at(g, (size_t)k);
		break;
	case 4:		/* splice */
		b = &g->corpus[below(g, (uint64_t)g->n)];
		i = (size_t)below(g, (len < b->len ? len : b->len) + 1);
		if (room(g, b->len) != 0)
			break;
		memcpy(&g->cur.dec[i], &b->dec[i], (b->len - i) * sizeof(*b->dec));
		memcpy(&g->cur.br[i], &b->br[i], (b->len - i) * sizeof(*b->br));
		g->cur.len = b->len;
		break;
	case 5:		/* migrate the default thread */
		if (len == 0 || ncpus < 2)
			break;
		i = (size_t)below(g, len);
		br = g->cur.br[i];
		g->cur.dec[i] = 1 + br.def +
		    (uint32_t)(br.n > 0 ? br.n : 1) *
		    (uint32_t)(1 + below(g, (uint64_t)ncpus));
		break;
	case 6:		/* cut */
		g->cur.len = (size_t)below(g, len + 1);
		return (1);
	}
	return (0);
}

/* The starting corpus, if any (explore.c checked its entries are whole). */
static int
load_corpus(struct sim *s, struct guided_state *g)
{
	const uint32_t *w;
	struct gentry *e;
	size_t nw, i, j, len;

	w = explore_corpus_in(s, &nw);
	for (i = 0; i < nw && g->n < g->max; i += 1 + 2 * len) {
		len = w[i];
		if (len > GUIDED_MAXSTEPS / 2 || g->nsteps + len > GUIDED_MAXSTEPS)
			break;
		e = &g->corpus[g->n];
		e->dec = malloc((len + 1) * sizeof(*e->dec));
		e->br = malloc((len + 1) * sizeof(*e->br));
		if (e->dec == NULL || e->br == NULL) {
			free(e->dec);
			free(e->br);
			memset(e, 0, sizeof(*e));
			return (UMASIM_E_NOMEM);
		}
		memcpy(e->dec, &w[i + 1], len * sizeof(*e->dec));
		for (j = 0; j < len; j++) {
			e->br[j].n = (uint16_t)(w[i + 1 + len + j] >> 16);
			e->br[j].def = (uint16_t)(w[i + 1 + len + j] & 0xffff);
		}
		e->len = len;
		g->nsteps += len;
		g->n++;
	}
	if (g->n > 0)
		g->did_default = 1;
	explore_corpus_in_done(s);
	return (0);
}

/* The corpus as words (umasim_api.h's format), kept for corpus_out. */
static void
save_corpus(struct sim *s, const struct guided_state *g)
{
	uint32_t *w;
	size_t nw = 0, k = 0, j;
	int i;

	for (i = 0; i < g->n; i++)
		nw += 1 + 2 * g->corpus[i].len;
	w = malloc((nw + 1) * sizeof(*w));
	if (w == NULL)
		return;
	for (i = 0; i < g->n; i++) {
		const struct gentry *e = &g->corpus[i];

		w[k++] = (uint32_t)e->len;
		memcpy(&w[k], e->dec, e->len * sizeof(*w));
		k += e->len;
		for (j = 0; j < e->len; j++)
			w[k++] = (uint32_t)e->br[j].n << 16 | e->br[j].def;
	}
	explore_corpus_out(s, w, nw);
}

static int
guided_start(struct explorer *x)
{
	struct guided_state *g;

	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return (UMASIM_E_NOMEM);
	rng_seed(g->rng, x->p->seed);
	g->max = x->p->corpus_max;
	if (g->max <= 0 || g->max > UMASIM_GUIDED_CORPUS_MAX)
		g->max = UMASIM_GUIDED_CORPUS_MAX;
	if (g->max < 2)
		g->max = 2;
	x->priv = g;
	x->s->brlog_on = 1;
	return (load_corpus(x->s, g));
}

static int
guided_next(struct explorer *x, uint64_t run, struct umasim_policy *pol)
{
	struct guided_state *g = x->priv;
	const struct gentry *a;
	int i, nmut, cut;

	(void)run;
	pol->migrate = x->p->migrate;
	if (!g->did_default) {
		/* The default schedule: an empty script. */
		g->did_default = 1;
		pol->kind = UMASIM_POL_SCRIPT;
		pol->then_kind = UMASIM_POL_SEQUENTIAL;
		return (0);
	}
	if (g->n == 0 || below(g, GUIDED_FRESH) == 0) {
		pol->kind = UMASIM_POL_RANDOM;
		pol->seed = rng_next(g->rng);
		return (0);
	}
	a = &g->corpus[below(g, (uint64_t)g->n)];
	g->cur.len = 0;
	if (room(g, a->len + 1) != 0) {
		pol->kind = UMASIM_POL_SEQUENTIAL;
		return (0);
	}
	memcpy(g->cur.dec, a->dec, a->len * sizeof(*a->dec));
	memcpy(g->cur.br, a->br, a->len * sizeof(*a->br));
	g->cur.len = a->len;
	nmut = 1 + (int)below(g, GUIDED_MAXMUT);
	cut = 0;
	for (i = 0; i < nmut && !cut; i++)
		cut = mutate(g, x->s->st.ncpus);
	pol->kind = UMASIM_POL_SCRIPT;
	pol->decisions = g->cur.dec;
	pol->ndecisions = g->cur.len;
	pol->then_kind = cut ? UMASIM_POL_RANDOM : UMASIM_POL_SEQUENTIAL;
	pol->seed = cut ? rng_next(g->rng) : 0;
	return (0);
}

/* Frees a random entry other than the first; returns its slot. */
static int
evict(struct guided_state *g)
{
	int i = 1 + (int)below(g, (uint64_t)(g->n - 1));

	g->nsteps -= g->corpus[i].len;
	free(g->corpus[i].dec);
	free(g->corpus[i].br);
	memset(&g->corpus[i], 0, sizeof(g->corpus[i]));
	return (i);
}

/* A run that reached new coverage joins the corpus. */
static void
guided_done(struct explorer *x, int r, size_t dec0)
{
	struct guided_state *g = x->priv;
	struct sim *s = x->s;
	struct gentry *e;
	uint32_t *dec;
	struct brlog *br;
	size_t len;
	int i;

	if (r != 0 || !x->novel)
		return;
	len = s->ndec - dec0;
	if (len > s->nbrlog)
		len = s->nbrlog;
	if (len > GUIDED_MAXSTEPS / 2)
		len = GUIDED_MAXSTEPS / 2;
	dec = malloc((len + 1) * sizeof(*dec));
	br = malloc((len + 1) * sizeof(*br));
	if (dec == NULL || br == NULL) {
		free(dec);
		free(br);
		return;
	}
	memcpy(dec, s->dec + dec0, len * sizeof(*dec));
	memcpy(br, s->brlog, len * sizeof(*br));
	/* Room: a random entry goes, the last one moves to its slot. */
	while (g->n > 1 && (g->n >= g->max ||
	    g->nsteps + len > GUIDED_MAXSTEPS)) {
		i = evict(g);
		g->corpus[i] = g->corpus[g->n - 1];
		g->n--;
	}
	g->nsteps += len;
	e = &g->corpus[g->n++];
	e->dec = dec;
	e->br = br;
	e->len = len;
}

static void
guided_finish(struct explorer *x)
{
	struct guided_state *g = x->priv;
	int i;

	if (g == NULL)
		return;
	save_corpus(x->s, g);
	for (i = 0; i < g->n; i++) {
		free(g->corpus[i].dec);
		free(g->corpus[i].br);
	}
	free(g->cur.dec);
	free(g->cur.br);
	free(g);
	x->priv = NULL;
}

const struct explorer_ops explorer_guided = {
	.start = guided_start,
	.next = guided_next,
	.done = guided_done,
	.finish = guided_finish,
};
