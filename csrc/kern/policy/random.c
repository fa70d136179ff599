/*
 * random: a uniformly chosen runnable thread each step; with probability
 * 'migrate' the step also migrates it to a uniformly chosen vCPU.
 */
#include "../kern.h"
#include "policy.h"

static int
random_init(struct sim *s, const struct umasim_policy *p)
{

	(void)s;
	if (!(p->migrate >= 0.0 && p->migrate <= 1.0))
		return (UMASIM_E_INVAL);
	return (0);
}

static int
random_choose(struct sim *s, const struct runview *rv, int n, int def, int *mig)
{
	int idx;

	(void)rv;
	(void)def;
	idx = n > 1 ? (int)rng_below(s->st.pol.rng, (uint64_t)n) : 0;
	*mig = -1;
	if (s->st.pol.migrate > 0.0 && s->st.ncpus > 1 &&
	    rng_unit(s->st.pol.rng) < s->st.pol.migrate)
		*mig = (int)rng_below(s->st.pol.rng, (uint64_t)s->st.ncpus);
	return (idx);
}

const struct policy_ops policy_random = {
	random_init, random_choose
};
