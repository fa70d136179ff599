/*
 * script: a given schedule, then another policy once it runs out.
 *
 * Machine form: decision 0 is the default; d >= 1 with k = d - 1 runs
 * runnable thread k mod n and, when k div n > 0, first migrates it to vCPU
 * (k div n - 1) mod cpus.  Human form: (thread, vCPU or -1) pairs; naming
 * a thread that cannot run stops the run with an error.
 */
#include <stdio.h>

#include "../kern.h"
#include "policy.h"

struct script_state {
	const uint32_t	*dec;		/* machine form */
	size_t		ndec, dpos;
	const int32_t	*stid, *scpu;	/* human form */
	size_t		nscript, spos;
	int		then_kind;	/* the policy once the script runs out */
};
POLICY_PRIV_FITS(struct script_state);

static int
script_init(struct sim *s, const struct umasim_policy *p)
{
	struct script_state *pol = POLICY_PRIV(s, struct script_state);
	const struct policy_ops *then;

	pol->dec = p->decisions;
	pol->ndec = p->decisions != NULL ? p->ndecisions : 0;
	pol->stid = p->script_tids;
	pol->scpu = p->script_cpus;
	pol->nscript = p->script_tids != NULL ? p->nscript : 0;
	pol->then_kind = p->then_kind;
	then = policy_lookup(p->then_kind);
	/*
	 * PCT needs its own parameters, and its state would share struct
	 * kpolicy's private part with this policy's: the policies that may
	 * follow a script keep no private state.
	 */
	if (p->then_kind == UMASIM_POL_PCT)
		return (UMASIM_E_INVAL);
	return (then->init(s, p));
}

static int
script_human(struct sim *s, const struct runview *rv, int *mig)
{
	struct script_state *pol = POLICY_PRIV(s, struct script_state);
	int tid, cpu, i;

	tid = pol->stid[pol->spos];
	cpu = pol->scpu[pol->spos];
	i = runview_rank(rv, tid);
	if (i >= 0) {
		pol->spos++;
		*mig = cpu;
		return (i);
	}
	snprintf(s->st.errmsg, sizeof(s->st.errmsg),
	    "schedule step %zu: thread %s cannot run now", pol->spos,
	    sim_td(s, tid)->td_name);
	return (-1);
}

static int
script_choose(struct sim *s, const struct runview *rv, int n, int def, int *mig)
{
	struct script_state *pol = POLICY_PRIV(s, struct script_state);
	uint32_t d, k, q;

	*mig = -1;
	if (pol->spos < pol->nscript)
		return (script_human(s, rv, mig));
	if (pol->dpos < pol->ndec) {
		d = pol->dec[pol->dpos++];
		if (d == 0)
			return (def);
		k = d - 1;
		q = k / (uint32_t)n;
		if (q > 0)
			*mig = (int)((q - 1) % (uint32_t)s->st.ncpus);
		return ((int)(k % (uint32_t)n));
	}
	if (pol->then_kind == UMASIM_POL_SEQUENTIAL)
		return (def);
	return (policy_lookup(pol->then_kind)->choose(s, rv, n, def, mig));
}

const struct policy_ops policy_script = {
	script_init, script_choose
};
