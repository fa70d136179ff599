/*
 * Scheduling policies: each chooses the decision of one step of one run.
 * One file per policy behind this interface; replay of a recorded schedule
 * is just the script policy.  Explorers (many runs) live elsewhere.
 *
 * choose() gets the runnable threads in tid order and the index of the
 * default choice, and returns the index to run, setting *mig to a vCPU to
 * migrate to first (or -1).  It returns -1 to stop the run with an error in
 * s->st.errmsg.
 *
 * A policy's own state is private to its file: a struct of its own, kept
 * in the run's struct kpolicy (kern.h) and reached with POLICY_PRIV.  What
 * every policy shares (kind, rng, migrate) is set by policy_init().
 */
#ifndef _KERN_POLICY_H_
#define	_KERN_POLICY_H_

#include <stdint.h>

struct sim;
struct umasim_policy;

struct policy_ops {
	int		(*init)(struct sim *s, const struct umasim_policy *p);
	int		(*choose)(struct sim *s, const struct runview *rv, int n,
			    int def, int *mig);
};

extern const struct policy_ops policy_sequential;
extern const struct policy_ops policy_roundrobin;
extern const struct policy_ops policy_random;
extern const struct policy_ops policy_pct;
extern const struct policy_ops policy_script;

/* The policy's own state, a 'type' that must fit in struct kpolicy. */
#define	POLICY_PRIV(s, type)						\
	((type *)(void *)(s)->st.pol.priv.bytes)
#define	POLICY_PRIV_FITS(type)						\
	_Static_assert(sizeof(type) <= KPOLICY_PRIVSIZE,		\
	    #type " does not fit in struct kpolicy")

const struct policy_ops *policy_lookup(int kind);
int	policy_init(struct sim *s, const struct umasim_policy *p);
int	policy_choose(struct sim *s, const struct runview *rv, int n, int def,
	    int *mig);

#endif /* !_KERN_POLICY_H_ */
