/*
 * The oracle (oracle.c): the fuzzing properties of
 * umasim/search/properties.py that the core can judge by itself, checked
 * on every run while it is on -- whatever the trace level -- from hooks
 * where operations begin and end, where UMA tests its limits and reads
 * UMA_ZFLAG_FULL, where wakeups and page frees happen, and at the end of
 * a run.  Each hook costs one test of s->oracle_on when it is off.
 *
 * The checks live in oracle.c (what the kernel and the programs know)
 * and csrc/vm/uma_oracle.c (what needs UMA's structures).
 */
#ifndef _KERN_ORACLE_H_
#define	_KERN_ORACLE_H_

#include <stdint.h>

struct sim;
struct kthread;
struct umasim_op;
struct oracle;

/* Kinds of failure (the names of properties.py's Verdict.kind). */
enum oracle_kind {
	OK_NONE, OK_ZERO, OK_DUPLICATE, OK_LIMIT, OK_LIVENESS, OK_STATS,
	OK_ACCOUNTING, OK_COUNT
};

#define	ORACLE_MSGLEN	512

/* Is the oracle on (a hook's test)? */
#define	ORACLE_ON(s)	__builtin_expect((s)->oracle_on, 0)

/* ---- hooks (each called only when ORACLE_ON) ---- */
void	oracle_op_begin(struct sim *s, struct kthread *td,
	    const struct umasim_op *op);
void	oracle_op_end(struct sim *s, struct kthread *td,
	    const struct umasim_op *op);
void	oracle_wakeup(struct sim *s, const void *chan, int n);
void	oracle_pages_freed(struct sim *s);
/* slab_zalloc dropped the zone lock / added a slab (the current thread) */
void	oracle_flight_enter(struct sim *s);
int	oracle_flight_exit(struct sim *s);
/* A free read UMA_ZFLAG_FULL set on 'keg' (the current thread). */
void	oracle_full_read(struct sim *s, const void *keg);

/* ---- for csrc/vm/uma_oracle.c ---- */
void	oracle_fail(struct sim *s, int kind, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	oracle_failed(const struct sim *s);
/* Zone slots the scenario declared (umasim_zcreate), with their max. */
int	oracle_declared(const struct sim *s, int slot, int *master, int *max);
/* Is 'slot' the target of some thread's setmax operation? */
int	oracle_setmax_slot(struct sim *s, int slot);
/* Allocations (items, NULLs) and frees the programs made on a slot. */
void	oracle_slot_counts(const struct sim *s, int slot, int64_t *items,
	    int64_t *nulls, int64_t *frees);
/* Whether it has seen every op of the run (it started at step 0). */
int	oracle_counted(const struct sim *s);
/* Is a free op under way (its thread inside it) freeing variable 'vid'? */
int	oracle_being_freed(struct sim *s, int64_t vid);
/* The variables free ops under way free (at most 'max'); how many. */
int	oracle_freeing(struct sim *s, int64_t *vids, int max);
/* The most threads between uma_zone_slab's test and update at once. */
int	oracle_flight_max(const struct sim *s);
const char *oracle_thread_name(const struct sim *s, int tid);

/* ---- the core ---- */
int	oracle_enable(struct sim *s, int on);
void	oracle_declare(struct sim *s, int slot, int master, int maxitems);
void	*oracle_save(struct sim *s);
void	oracle_restore(struct sim *s, const void *saved);
void	oracle_saved_free(void *saved);
/* The verdict of the run so far, end checks included when it is over. */
int	oracle_verdict(struct sim *s, char *msg, size_t len, uint64_t *step);
void	oracle_free(struct sim *s);
const char *oracle_kind_name(int kind);

/* csrc/vm/uma_oracle.c */
/* The end checks: held items free; with 'quiescent', vmstat -z and more. */
void	uma_oracle_end(struct sim *s, int quiescent);
void	uma_oracle_zero(struct sim *s, int slot, int64_t size, int64_t vid,
	    uint64_t item);

#endif /* !_KERN_ORACLE_H_ */
