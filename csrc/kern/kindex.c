/*
 * Indexes over the thread table (struct kindex, kern.h), so that no
 * per-step operation scans every thread: the runnable set (a bit per tid,
 * with the vCPUs held in critical sections masked out when a step
 * chooses), wait queues hashed by what their threads wait on, and the
 * list of timed sleepers.
 *
 * They are derived state: what they hold follows from the thread table
 * alone, so a restore rebuilds them (kix_rebuild()) instead of copying
 * them, and nothing a run produces depends on their layout -- a queue is
 * only ever looked up by its key, never iterated in hash order.
 */
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "../sys/mutex.h"

#define	KIX_WQ_MIN	64

/* Keys: what a thread waits on, tagged by the kind of wait. */
enum { WQ_SLEEP = 0, WQ_MTX = 1, WQ_VAR = 2 };

static inline int
kix_tracked(const struct sim *s, const struct kthread *td)
{

	return (td != &s->hostcall);
}

/* runpre of no runnable thread in nwords words. */
static void
kix_pre_reset(struct kindex *ix)
{
	int w;

	for (w = 0; w < KIX_PREWORDS; w++)
		ix->runpre[w] = w <= ix->nwords ? 0 : KIX_PRE_END;
}

int
kix_init(struct sim *s)
{
	struct kindex *ix = &s->ix;

	ix->oncpu = calloc((size_t)s->st.ncpus * KIX_WORDS, sizeof(uint64_t));
	kix_pre_reset(ix);
	ix->wqcap = KIX_WQ_MIN;
	ix->wq = calloc((size_t)ix->wqcap, sizeof(*ix->wq));
	ix->timed_head = -1;
	if (ix->oncpu == NULL || ix->wq == NULL)
		return (-1);
	return (0);
}

void
kix_free(struct sim *s)
{

	free(s->ix.oncpu);
	free(s->ix.wq);
	free(s->ix.due);
}

/* ---- the runnable set ----------------------------------------------------- */

static inline void
bit_set(uint64_t *w, int i)
{

	w[i / 64] |= (uint64_t)1 << (i % 64);
}

static inline void
bit_clr(uint64_t *w, int i)
{

	w[i / 64] &= ~((uint64_t)1 << (i % 64));
}

static inline int
bit_isset(const uint64_t *w, int i)
{

	return ((w[i / 64] >> (i % 64)) & 1);
}

/*
 * The runnable count of the word of 'tid' changes by 'd': the counts, and
 * the prefix of every word after it (runpre, to nwords).
 */
static void
run_add(struct kindex *ix, int tid, int d)
{
	int w;

	ix->runcnt[tid / 64] += d;
	ix->nrun += d;
	for (w = tid / 64 + 1; w <= ix->nwords; w++)
		ix->runpre[w] += d;
}

/* The words in use become 'n' (never fewer): the new ones are empty. */
static void
kix_words(struct kindex *ix, int n)
{
	int w;

	for (w = ix->nwords + 1; w <= n; w++)
		ix->runpre[w] = ix->runpre[ix->nwords];
	if (n > ix->nwords)
		ix->nwords = n;
}

/* A new thread (thread_create()): runnable on its vCPU. */
void
kix_thread_new(struct sim *s, struct kthread *td)
{
	struct kindex *ix = &s->ix;

	td->td_wqnext = td->td_wqprev = -1;
	td->td_tnext = td->td_tprev = -1;
	kix_words(ix, (s->st.nthreads + 63) / 64);
	bit_set(&ix->oncpu[td->td_cpu * KIX_WORDS], td->td_tid);
	if (!bit_isset(ix->run, td->td_tid)) {
		bit_set(ix->run, td->td_tid);
		run_add(ix, td->td_tid, 1);
	}
}

/* 'td' changes vCPU (it is outside critical sections). */
void
kix_migrate(struct sim *s, struct kthread *td, int to)
{
	struct kindex *ix = &s->ix;

	bit_clr(&ix->oncpu[td->td_cpu * KIX_WORDS], td->td_tid);
	bit_set(&ix->oncpu[to * KIX_WORDS], td->td_tid);
}

/* The runnable bit of 'td' follows its state. */
void
kix_state(struct sim *s, struct kthread *td)
{
	struct kindex *ix = &s->ix;
	int want;

	if (!kix_tracked(s, td))
		return;
	want = td->td_state == UMASIM_TS_RUNNABLE;
	if (want == bit_isset(ix->run, td->td_tid))
		return;
	if (want)
		bit_set(ix->run, td->td_tid);
	else
		bit_clr(ix->run, td->td_tid);
	run_add(ix, td->td_tid, want ? 1 : -1);
}

/*
 * kix_view() (kern.h) while vCPUs are held in critical sections: the
 * runnable set minus the threads on a held vCPU but its holder, in a
 * scratch copy.
 */
void
kix_view_masked(struct sim *s, struct runview *rv)
{
	struct kindex *ix = &s->ix;
	const uint64_t *on;
	uint64_t hold;
	int c, w, h, n;

	rv->nwords = ix->nwords;
	memcpy(ix->elig, ix->run, (size_t)ix->nwords * sizeof(uint64_t));
	for (c = 0; c < s->st.ncpus; c++) {
		h = s->st.cpu_crit[c];
		if (h < 0)
			continue;
		on = &ix->oncpu[c * KIX_WORDS];
		for (w = 0; w < ix->nwords; w++) {
			hold = h / 64 == w ? (uint64_t)1 << (h % 64) : 0;
			ix->elig[w] &= ~(on[w] & ~hold);
		}
	}
	n = 0;
	for (w = 0; w < ix->nwords; w++) {
		ix->eligpre[w] = (uint16_t)n;
		ix->eligcnt[w] = (uint8_t)pop64(ix->elig[w]);
		n += ix->eligcnt[w];
	}
	ix->eligpre[ix->nwords] = (uint16_t)n;
	for (w = ix->nwords + 1; w < (ix->nwords / 8 + 1) * 8; w++)
		ix->eligpre[w] = KIX_PRE_END;	/* what runview_nth() reads */
	rv->w = ix->elig;
	rv->cnt = ix->eligcnt;
	rv->pre = ix->eligpre;
	rv->n = n;
}

/*
 * select64()'s last step (kern.h): kix_select8[y][k] is the position of
 * the k-th set bit of the byte y (0 where y has no k-th).  A table, not a
 * loop over the bits, which with many threads mispredicts at every step.
 */
#define	SEL_B(y, i)	(((y) >> (i)) & 1)
#define	SEL_POP8(v)	(SEL_B(v, 0) + SEL_B(v, 1) + SEL_B(v, 2) +	\
	SEL_B(v, 3) + SEL_B(v, 4) + SEL_B(v, 5) + SEL_B(v, 6) + SEL_B(v, 7))
#define	SEL_AT(y, k, i)							\
	((SEL_B(y, i) && SEL_POP8((y) & ((1 << (i)) - 1)) == (k)) ? (i) : 0)
#define	SEL(y, k)	(SEL_AT(y, k, 0) + SEL_AT(y, k, 1) +		\
	SEL_AT(y, k, 2) + SEL_AT(y, k, 3) + SEL_AT(y, k, 4) +		\
	SEL_AT(y, k, 5) + SEL_AT(y, k, 6) + SEL_AT(y, k, 7))
#define	SEL_ROW(y)	{ SEL(y, 0), SEL(y, 1), SEL(y, 2), SEL(y, 3),	\
	SEL(y, 4), SEL(y, 5), SEL(y, 6), SEL(y, 7) }
#define	SEL_R4(y)	SEL_ROW(y), SEL_ROW(y + 1), SEL_ROW(y + 2),	\
	SEL_ROW(y + 3)
#define	SEL_R16(y)	SEL_R4(y), SEL_R4(y + 4), SEL_R4(y + 8),	\
	SEL_R4(y + 12)
#define	SEL_R64(y)	SEL_R16(y), SEL_R16(y + 16), SEL_R16(y + 32),	\
	SEL_R16(y + 48)
const uint8_t kix_select8[256][8] = {
	SEL_R64(0), SEL_R64(64), SEL_R64(128), SEL_R64(192)
};
#undef SEL_R64
#undef SEL_R16
#undef SEL_R4
#undef SEL_ROW
#undef SEL
#undef SEL_AT
#undef SEL_POP8
#undef SEL_B

/* The index of the first thread of the view above 'tid', or -1. */
int
runview_after(const struct runview *rv, int tid)
{
	uint64_t x, low;
	int w, n;

	n = 0;
	for (w = 0; w < rv->nwords; w++) {
		x = rv->w[w];
		if ((w + 1) * 64 - 1 > tid) {
			if (w * 64 <= tid) {
				/* bits 0 to tid % 64 (2 << 63 is 0: all) */
				low = (((uint64_t)2) << (tid % 64)) - 1;
				if ((x & ~low) != 0)
					return (n + pop64(x & low));
			} else if (x != 0)
				return (n);
		}
		n += rv->cnt[w];
	}
	return (-1);
}

/* ---- wait queues ---------------------------------------------------------- */

static inline uint64_t
wq_hash(const void *key)
{
	uint64_t h = (uint64_t)(uintptr_t)key;

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (h);
}

static struct kwq *
wq_find(struct kindex *ix, const void *key, int create);

static int
wq_grow(struct kindex *ix)
{
	struct kwq *old = ix->wq, *q;
	int oldcap = ix->wqcap, i;

	ix->wqcap = oldcap * 2;
	ix->wq = calloc((size_t)ix->wqcap, sizeof(*ix->wq));
	if (ix->wq == NULL) {
		ix->wq = old;
		ix->wqcap = oldcap;
		return (-1);
	}
	ix->wqused = 0;
	for (i = 0; i < oldcap; i++) {
		if (old[i].key == NULL || old[i].head < 0)
			continue;	/* empty queues are dropped */
		q = wq_find(ix, old[i].key, 1);
		q->head = old[i].head;
		q->tail = old[i].tail;
	}
	free(old);
	return (0);
}

static struct kwq *
wq_find(struct kindex *ix, const void *key, int create)
{
	struct kwq *q;
	uint64_t i, mask;

	for (;;) {
		mask = (uint64_t)ix->wqcap - 1;
		for (i = wq_hash(key) & mask;; i = (i + 1) & mask) {
			q = &ix->wq[i];
			if (q->key == key)
				return (q);
			if (q->key == NULL)
				break;
		}
		if (!create)
			return (NULL);
		if ((ix->wqused + 1) * 2 <= ix->wqcap)
			break;
		if (wq_grow(ix) != 0)
			return (NULL);
	}
	q->key = key;
	q->head = q->tail = -1;
	ix->wqused++;
	return (q);
}

/*
 * Keys of the three kinds of wait never meet, nor is one NULL (a free
 * slot): a sleep's channel (which may be NULL) and a mutex are host
 * addresses, below 2^48, tagged with bit 61 and bit 62; a variable's id
 * is tagged with bits 60 and 61 both.
 */
static const void *
chan_key(const void *chan)
{

	return ((const void *)((uintptr_t)chan ^ ((uintptr_t)1 << 61)));
}

static const void *
mtx_key(const struct mtx *m)
{

	return ((const void *)((uintptr_t)m ^ ((uintptr_t)1 << 62)));
}

static const void *
var_key(int64_t vid)
{

	return ((const void *)(((uintptr_t)vid << 2) | ((uintptr_t)3 << 60)));
}

static const void *
wait_key(const struct kthread *td)
{

	switch (td->td_state) {
	case UMASIM_TS_SLEEPING:
		return (chan_key(td->td_wchan));
	case UMASIM_TS_BLOCKED:
		return (mtx_key(td->td_blocked));
	case UMASIM_TS_WAITVAR:
		return (var_key(td->td_waitvar));
	}
	return (NULL);
}

static void
wq_append(struct sim *s, struct kthread *td, const void *key)
{
	struct kwq *q;

	q = wq_find(&s->ix, key, 1);
	if (q == NULL)
		panic("out of memory for the wait queues");
	td->td_wqkey = key;
	td->td_wqnext = -1;
	td->td_wqprev = q->tail;
	if (q->tail >= 0)
		sim_td(s, q->tail)->td_wqnext = td->td_tid;
	else
		q->head = td->td_tid;
	q->tail = td->td_tid;
}

static void
wq_remove(struct sim *s, struct kthread *td)
{
	struct kwq *q;

	q = wq_find(&s->ix, td->td_wqkey, 0);
	td->td_wqkey = NULL;
	if (q == NULL)
		return;
	if (td->td_wqprev >= 0)
		sim_td(s, td->td_wqprev)->td_wqnext = td->td_wqnext;
	else
		q->head = td->td_wqnext;
	if (td->td_wqnext >= 0)
		sim_td(s, td->td_wqnext)->td_wqprev = td->td_wqprev;
	else
		q->tail = td->td_wqprev;
	td->td_wqnext = td->td_wqprev = -1;
}

static void
timed_add(struct sim *s, struct kthread *td)
{
	struct kindex *ix = &s->ix;
	int *nd, cap;

	if (ix->ntimed == ix->capdue) {
		cap = ix->capdue != 0 ? ix->capdue * 2 : 16;
		nd = realloc(ix->due, (size_t)cap * sizeof(int));
		if (nd == NULL)
			panic("out of memory for the timed sleepers");
		ix->due = nd;
		ix->capdue = cap;
	}
	td->td_timed = 1;
	td->td_tprev = -1;
	td->td_tnext = ix->timed_head;
	if (ix->timed_head >= 0)
		sim_td(s, ix->timed_head)->td_tprev = td->td_tid;
	ix->timed_head = td->td_tid;
	ix->ntimed++;
}

static void
timed_remove(struct sim *s, struct kthread *td)
{
	struct kindex *ix = &s->ix;

	if (td->td_tprev >= 0)
		sim_td(s, td->td_tprev)->td_tnext = td->td_tnext;
	else
		ix->timed_head = td->td_tnext;
	if (td->td_tnext >= 0)
		sim_td(s, td->td_tnext)->td_tprev = td->td_tprev;
	td->td_tnext = td->td_tprev = -1;
	td->td_timed = 0;
	ix->ntimed--;
}

/* 'td' off its wait queue and the timed sleepers, where it is on them. */
static void
kix_unqueue(struct sim *s, struct kthread *td)
{

	if (td->td_wqkey != NULL) {
		if (((uintptr_t)td->td_wqkey >> 60) == 3)
			s->ix.nwaitvar--;
		wq_remove(s, td);
	}
	if (td->td_timed)
		timed_remove(s, td);
}

/*
 * 'td' has begun to wait (its state says on what): off the runnable set,
 * onto its wait queue, and onto the timed sleepers if it has a timeout.
 */
void
kix_wait(struct sim *s, struct kthread *td)
{

	if (!kix_tracked(s, td))
		return;
	kix_state(s, td);
	kix_unqueue(s, td);
	wq_append(s, td, wait_key(td));
	if (td->td_state == UMASIM_TS_WAITVAR)
		s->ix.nwaitvar++;
	if (td->td_state == UMASIM_TS_SLEEPING && td->td_timo_at >= 0)
		timed_add(s, td);
}

/* 'td' is runnable again (sched_wake_thread()). */
void
kix_wake(struct sim *s, struct kthread *td)
{

	if (!kix_tracked(s, td))
		return;
	kix_unqueue(s, td);
	kix_state(s, td);
}

/*
 * The first thread waiting on a key, or -1; the queue of a key holds its
 * waiters in the order they began to wait.
 */
static int
wq_head(struct sim *s, const void *key)
{
	struct kwq *q;

	q = wq_find(&s->ix, key, 0);
	return (q != NULL ? q->head : -1);
}

int
kix_sleep_first(struct sim *s, const void *chan)
{

	return (wq_head(s, chan_key(chan)));
}

int
kix_mtx_first(struct sim *s, const struct mtx *m)
{

	return (wq_head(s, mtx_key(m)));
}

int
kix_var_first(struct sim *s, int64_t vid)
{

	if (s->ix.nwaitvar == 0)
		return (-1);
	return (wq_head(s, var_key(vid)));
}

int
kix_timed_first(struct sim *s)
{

	return (s->ix.timed_head);
}

/* ---- rebuilding (after a restore) ------------------------------------------ */

struct sleeper {
	uint64_t	seq;
	int		tid;
};

static int
by_sleepseq(const void *a, const void *b)
{
	const struct sleeper *x = a, *y = b;

	return (x->seq < y->seq ? -1 : x->seq > y->seq);
}

int
kix_rebuild(struct sim *s)
{
	struct kindex *ix = &s->ix;
	struct kthread *td;
	struct sleeper *sleepers;
	int nsl, i, c;

	for (c = 0; c < s->st.ncpus; c++)
		memset(&ix->oncpu[c * KIX_WORDS], 0,
		    (size_t)ix->nwords * sizeof(uint64_t));
	memset(ix->run, 0, (size_t)ix->nwords * sizeof(uint64_t));
	memset(ix->runcnt, 0, sizeof(ix->runcnt));
	memset(ix->wq, 0, (size_t)ix->wqcap * sizeof(*ix->wq));
	ix->wqused = 0;
	ix->nrun = 0;
	ix->timed_head = -1;
	ix->ntimed = 0;
	ix->nwaitvar = 0;
	ix->nmigrate = 0;
	ix->nheld = 0;
	for (c = 0; c < s->st.ncpus; c++)
		if (s->st.cpu_crit[c] >= 0)
			ix->nheld++;
	ix->nwords = (s->st.nthreads + 63) / 64;
	kix_pre_reset(ix);
	nsl = 0;
	for (i = 0; i < s->st.nthreads; i++) {
		td = sim_td(s, i);
		td->td_wqkey = NULL;
		td->td_wqnext = td->td_wqprev = -1;
		td->td_tnext = td->td_tprev = -1;
		td->td_timed = 0;
		ix->nmigrate += td->td_migrate_to >= 0;
		bit_set(&ix->oncpu[td->td_cpu * KIX_WORDS], i);
		kix_state(s, td);
		if (td->td_state == UMASIM_TS_SLEEPING)
			nsl++;
	}
	sleepers = malloc((size_t)(nsl + 1) * sizeof(*sleepers));
	if (sleepers == NULL)
		return (-1);
	nsl = 0;
	for (i = 0; i < s->st.nthreads; i++) {
		td = sim_td(s, i);
		if (td->td_state == UMASIM_TS_SLEEPING) {
			sleepers[nsl].seq = td->td_sleepseq;
			sleepers[nsl++].tid = i;
		} else if (td->td_state == UMASIM_TS_BLOCKED ||
		    td->td_state == UMASIM_TS_WAITVAR)
			kix_wait(s, td);
	}
	/* The order they fell asleep in: wakeup_one() takes the first. */
	qsort(sleepers, (size_t)nsl, sizeof(*sleepers), by_sleepseq);
	for (i = 0; i < nsl; i++)
		kix_wait(s, sim_td(s, sleepers[i].tid));
	free(sleepers);
	return (0);
}
