/*
 * sequential: always the default decision (keep running the current
 * thread while it can run, else the lowest-numbered runnable thread).
 */
#include "../kern.h"
#include "policy.h"

static int
sequential_init(struct sim *s, const struct umasim_policy *p)
{

	(void)s;
	(void)p;
	return (0);
}

static int
sequential_choose(struct sim *s, const struct runview *rv, int n, int def, int *mig)
{

	(void)s;
	(void)rv;
	(void)n;
	*mig = -1;
	return (def);
}

const struct policy_ops policy_sequential = {
	sequential_init, sequential_choose
};
