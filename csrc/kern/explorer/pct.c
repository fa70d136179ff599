/*
 * pct: each run under PCT of depth d, seeded seed + run index; steps_hint
 * 0 means: estimate the run length from a first, sequential run (run 0),
 * as shuttle's pct.rs does.
 */
#include <string.h>

#include "../kern.h"
#include "explorer.h"

static int
pct_start(struct explorer *x)
{
	struct umasim_policy pol;
	size_t dec0;
	int r;

	if (x->p->steps_hint != 0)
		return (0);
	memset(&pol, 0, sizeof(pol));
	pol.kind = UMASIM_POL_SEQUENTIAL;
	r = explore_run(x, &pol, 0, &dec0);
	if (r == 0) {
		x->res->steps_hint = (int64_t)(x->s->ndec - dec0);
		if (x->res->steps_hint < 1)
			x->res->steps_hint = 1;
	}
	return (r);
}

static int
pct_next(struct explorer *x, uint64_t run, struct umasim_policy *pol)
{

	pol->kind = UMASIM_POL_PCT;
	pol->seed = x->p->seed + run;
	pol->migrate = x->p->migrate;
	pol->depth = x->p->depth;
	pol->steps_hint = x->res->steps_hint;
	return (0);
}

const struct explorer_ops explorer_pct = {
	.start = pct_start,
	.next = pct_next,
};
