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
	/* No thread seen yet (the priorities live in the thread table). */
	for (i = 0; i < s->st.nthreads; i++)
		sim_td(s, i)->td_pct_prio = 0;
	for (i = 0; i < p->depth - 1; i++)
		pol->change[i] = 1 + (int64_t)rng_below(s->st.pol.rng,
		    (uint64_t)p->steps_hint);
	return (0);
}

static int
pct_choose(struct sim *s, const struct runview *rv, int n, int def, int *mig)
{
	struct pct_state *pol = POLICY_PRIV(s, struct pct_state);
	uint64_t *rng = s->st.pol.rng;
	struct kthread *td;
	uint64_t x;
	int64_t best;
	int i, w, idx;

	(void)def;
	(void)n;
	/* Initial priorities, above d, in tid order. */
	for (w = 0; w < rv->nwords; w++)
		for (x = rv->w[w]; x != 0; x &= x - 1) {
			td = sim_td(s, w * 64 + __builtin_ctzll(x));
			if (td->td_pct_prio == 0)
				td->td_pct_prio = pol->depth +
				    (int64_t)(rng_next(rng) >> 2);
		}
	if (n > 1) {
		pol->pct_steps++;
		for (i = 0; i < pol->depth - 1; i++)
			if (pol->change[i] == pol->pct_steps &&
			    s->st.lastrun >= 0)
				sim_td(s, s->st.lastrun)->td_pct_prio =
				    pol->depth - 1 - i;
	}
	idx = 0;
	best = -1;
	i = 0;
	for (w = 0; w < rv->nwords; w++)
		for (x = rv->w[w]; x != 0; x &= x - 1, i++) {
			td = sim_td(s, w * 64 + __builtin_ctzll(x));
			if (td->td_pct_prio > best) {
				best = td->td_pct_prio;
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
