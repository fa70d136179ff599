/*
 * Explorers: many runs of one simulation from one snapshot, inside one C
 * call (explore.c).  One file per explorer behind this interface, as the
 * policies (policy/): an explorer only chooses the policy of each run
 * (docs/design.md: an explorer is not a policy); explore.c does the runs,
 * classifies them and counts the points covered.
 */
#ifndef _KERN_EXPLORER_H_
#define	_KERN_EXPLORER_H_

#include <stddef.h>
#include <stdint.h>

struct sim;
struct snapshot;
struct umasim_explore_params;
struct umasim_explore_result;
struct umasim_policy;

/* One exploration in progress, as an explorer sees it. */
struct explorer {
	struct sim	*s;
	const struct snapshot *start;
	const struct umasim_explore_params *p;
	struct umasim_explore_result *res;
	void		*priv;		/* the explorer's own state */
	int		novel;		/* the last run added coverage or a class */
};

/*
 * start()  before the first run; may do runs of its own (explore_run());
 *          returns 0 or a UMASIM_E_* error.
 * next()   the policy of run 'run' into *pol (zeroed); returns 1 when no
 *          run is left (the exploration is exhausted).
 * done()   after that run: r is explore_run()'s result, dec0 where the
 *          run's decisions start in s->dec.
 * finish() after the last run; frees the explorer's own state.
 * Any of them may be NULL.
 */
struct explorer_ops {
	int	(*start)(struct explorer *x);
	int	(*next)(struct explorer *x, uint64_t run,
		    struct umasim_policy *pol);
	void	(*done)(struct explorer *x, int r, size_t dec0);
	void	(*finish)(struct explorer *x);
};

extern const struct explorer_ops explorer_random;
extern const struct explorer_ops explorer_pct;
extern const struct explorer_ops explorer_bounded;
extern const struct explorer_ops explorer_guided;

/*
 * One run from the start snapshot under 'pol', numbered 'run': when it
 * runs (returns 0), it is classified and counted in x->res.  *dec0 is
 * where its decisions start in s->dec.
 */
int	explore_run(struct explorer *x, const struct umasim_policy *pol,
	    uint64_t run, size_t *dec0);

/* guided: the corpus to start from, and the one a run ends with. */
const uint32_t *explore_corpus_in(struct sim *s, size_t *nwords);
void	explore_corpus_in_done(struct sim *s);
void	explore_corpus_out(struct sim *s, uint32_t *words, size_t nwords);

#endif /* !_KERN_EXPLORER_H_ */
