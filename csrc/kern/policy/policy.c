/*
 * Policy dispatch.
 */
#include <string.h>

#include "../kern.h"
#include "policy.h"

const struct policy_ops *
policy_lookup(int kind)
{

	switch (kind) {
	case UMASIM_POL_SEQUENTIAL:
		return (&policy_sequential);
	case UMASIM_POL_ROUNDROBIN:
		return (&policy_roundrobin);
	case UMASIM_POL_RANDOM:
		return (&policy_random);
	case UMASIM_POL_PCT:
		return (&policy_pct);
	case UMASIM_POL_SCRIPT:
		return (&policy_script);
	}
	return (NULL);
}

int
policy_init(struct sim *s, const struct umasim_policy *p)
{
	const struct policy_ops *ops;

	ops = policy_lookup(p->kind);
	if (ops == NULL || (p->kind == UMASIM_POL_SCRIPT &&
	    (policy_lookup(p->then_kind) == NULL ||
	    p->then_kind == UMASIM_POL_SCRIPT)))
		return (UMASIM_E_INVAL);
	memset(&s->st.pol, 0, sizeof(s->st.pol));
	s->st.pol.kind = p->kind;
	rng_seed(s->st.pol.rng, p->seed);
	s->st.pol.migrate = p->migrate;
	return (ops->init(s, p));
}

int
policy_choose(struct sim *s, const struct runview *rv, int n, int def, int *mig)
{

	*mig = -1;
	/* The fast path: sequential continues without a table lookup. */
	if (s->st.pol.kind == UMASIM_POL_SEQUENTIAL)
		return (def);
	return (policy_lookup(s->st.pol.kind)->choose(s, rv, n, def, mig));
}
