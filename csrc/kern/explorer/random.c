/*
 * random: each run under the random policy, seeded seed + run index.
 */
#include "../kern.h"
#include "explorer.h"

static int
random_next(struct explorer *x, uint64_t run, struct umasim_policy *pol)
{

	pol->kind = UMASIM_POL_RANDOM;
	pol->seed = x->p->seed + run;
	pol->migrate = x->p->migrate;
	return (0);
}

const struct explorer_ops explorer_random = {
	.next = random_next,
};
