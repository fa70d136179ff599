/*
 * pct: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
 * Nagarakatte, ASPLOS 2010).  Every thread gets a random priority when it
 * is first seen; d-1 change points are drawn in [1, steps_hint]; at the
 * i-th change point the thread that ran last drops to priority d-i.  The
 * highest-priority runnable thread runs.  As in shuttle's pct.rs, only
 * steps with more than one runnable thread count toward change points.
 */
#include "../kern.h"
#include "policy.h"

#define	PCT_MAXDEPTH	16

struct pct_state {
	int		depth;
	int64_t		prio[UMASIM_MAXTHREADS];	/* 0: not seen yet */
	int64_t		change[PCT_MAXDEPTH];	/* change points, in steps */
	int64_t		pct_steps;	/* steps with more than one choice */
};
POLICY_PRIV_FITS(struct pct_state);

static int
pct_init(struct sim *s, const struct umasim_policy *p)
{
	struct pct_state *pol = POLICY_PRIV(s, struct pct_state);
	int i;

	if (p->depth < 1 || p->depth > PCT_MAXDEPTH || p->steps_hint < 1)
		return (UMASIM_E_INVAL);
	if (!(p->migrate >= 0.0 && p->migrate <= 1.0))
		return (UMASIM_E_INVAL);
	pol->depth = p->depth;
	for (i = 0; i < p->depth - 1; i++)
		pol->change[i] = 1 + (int64_t)rng_below(s->st.pol.rng,
		    (uint64_t)p->steps_hint);
	return (0);
}

static int
pct_choose(struct sim *s, const int32_t *run, int n, int def, int *mig)
{
	struct pct_state *pol = POLICY_PRIV(s, struct pct_state);
	uint64_t *rng = s->st.pol.rng;
	int64_t best;
	int i, idx;

	(void)def;
	for (i = 0; i < n; i++)		/* initial priorities, above d */
		if (pol->prio[run[i]] == 0)
			pol->prio[run[i]] = pol->depth +
			    (int64_t)(rng_next(rng) >> 2);
	if (n > 1) {
		pol->pct_steps++;
		for (i = 0; i < pol->depth - 1; i++)
			if (pol->change[i] == pol->pct_steps &&
			    s->st.lastrun >= 0)
				pol->prio[s->st.lastrun] = pol->depth - 1 - i;
	}
	idx = 0;
	best = -1;
	for (i = 0; i < n; i++) {
		if (pol->prio[run[i]] > best) {
			best = pol->prio[run[i]];
			idx = i;
		}
	}
	*mig = -1;
	if (s->st.pol.migrate > 0.0 && s->st.ncpus > 1 &&
	    rng_unit(rng) < s->st.pol.migrate)
		*mig = (int)rng_below(rng, (uint64_t)s->st.ncpus);
	return (idx);
}

const struct policy_ops policy_pct = {
	pct_init, pct_choose
};
