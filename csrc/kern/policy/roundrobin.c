/*
 * roundrobin: each step goes to the next runnable thread after the one
 * that ran last, in thread order, wrapping around.
 */
#include "../kern.h"
#include "policy.h"

static int
roundrobin_init(struct sim *s, const struct umasim_policy *p)
{

	(void)s;
	(void)p;
	return (0);
}

static int
roundrobin_choose(struct sim *s, const struct runview *rv, int n, int def, int *mig)
{
	int i;

	(void)def;
	(void)n;
	*mig = -1;
	i = runview_after(rv, s->st.lastrun);
	return (i >= 0 ? i : 0);
}

const struct policy_ops policy_roundrobin = {
	roundrobin_init, roundrobin_choose
};
