/*
 * bounded: every schedule with at most k preemptions, depth first.  A
 * preemption is a decision other than the default: another thread, or a
 * migration (of any thread, the default one included) to a vCPU it may
 * go to.  A run's tail past its forced prefix is the default schedule,
 * and each step there offers every other decision as a new prefix, in the
 * kernel's canonical numbering (docs/design.md, "Machine form"), from the
 * step log (s->xlog: the runnable threads and the vCPUs each may go to).
 *
 * With reduction (p->reduction), sleep sets (Godefroid): the core records
 * each step's footprint (footprint.c), and a branch carries the steps
 * known to lead to runs explored elsewhere.  At every step of a run the
 * default step -- the one the run takes -- is put to sleep for the other
 * decisions there; a sleeping step stays asleep down a branch while the
 * steps taken are independent of it (footprint.c, fp_independent) and
 * other threads', and a branch that would run a sleeping thread (without
 * a migration) is pruned: moving that step back to where it slept gives
 * an equivalent run, with the same final state, that is explored from
 * there.  Only default steps go to sleep, never the other decisions: the
 * equivalent run then takes no more preemptions than the pruned one
 * (docs/engine.md, "Footprints and sleep sets"), so the bound loses
 * nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "../kern.h"
#include "explorer.h"

struct sleeper {
	int32_t		tid;
	struct kfoot	fp;	/* its step, where it went to sleep */
};

/* A sleep set, shared by the branches of one step. */
struct sleepset {
	int		refs;
	int		n;
	struct sleeper	e[];
};

struct bounded_item {
	uint32_t	*prefix;	/* decisions forced on the run */
	size_t		len;
	int		preempts;	/* preemptions in the prefix */
	struct sleepset	*sleep;		/* asleep before its last decision */
};

struct bounded_state {
	struct bounded_item *stack;	/* prefixes still to run */
	size_t		nstack, capstack;
	struct bounded_item cur;	/* the run under way */
	struct sleeper	*sl;		/* the sleep set along the run */
	int		nsl;
	int		oom;
};

static void
item_free(struct bounded_item *it)
{

	free(it->prefix);
	if (it->sleep != NULL && --it->sleep->refs == 0)
		free(it->sleep);
	it->prefix = NULL;
	it->sleep = NULL;
}

static int
push(struct bounded_state *b, const uint32_t *dec, size_t len, uint32_t last,
    int preempts, struct sleepset *sl)
{
	struct bounded_item *it;

	if (b->nstack == b->capstack) {
		size_t cap = b->capstack ? b->capstack * 2 : 64;
		void *n = realloc(b->stack, cap * sizeof(*b->stack));

		if (n == NULL)
			return (-1);
		b->stack = n;
		b->capstack = cap;
	}
	it = &b->stack[b->nstack];
	memset(it, 0, sizeof(*it));
	it->prefix = malloc((len + 1) * sizeof(uint32_t));
	if (it->prefix == NULL)
		return (-1);
	if (sl != NULL) {
		it->sleep = sl;
		sl->refs++;
	}
	if (len > 0)
		memcpy(it->prefix, dec, len * sizeof(uint32_t));
	it->prefix[len] = last;
	it->len = len + 1;
	it->preempts = preempts;
	b->nstack++;
	return (0);
}

static int
bounded_start(struct explorer *x)
{
	struct bounded_state *b;
	struct sim *s = x->s;

	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return (UMASIM_E_NOMEM);
	b->sl = calloc(UMASIM_MAXTHREADS + 1, sizeof(*b->sl));
	if (b->sl == NULL) {
		free(b);
		return (UMASIM_E_NOMEM);
	}
	x->priv = b;
	s->xlog_on = 1;
	s->fp_on = x->p->reduction != 0;
	s->fp = &s->fp_spare;
	if (push(b, NULL, 0, 0, 0, NULL) == 0)
		b->stack[0].len = 0;	/* the empty prefix: the default run */
	else
		return (UMASIM_E_NOMEM);
	return (0);
}

static int
bounded_next(struct explorer *x, uint64_t run, struct umasim_policy *pol)
{
	struct bounded_state *b = x->priv;

	(void)run;
	if (b->nstack == 0 || b->oom)
		return (1);
	b->cur = b->stack[--b->nstack];
	pol->kind = UMASIM_POL_SCRIPT;
	pol->decisions = b->cur.prefix;
	pol->ndecisions = b->cur.len;
	pol->then_kind = UMASIM_POL_SEQUENTIAL;
	return (0);
}

/* The sleep set after step 'st': what stays independent of it. */
static void
sleep_after(struct bounded_state *b, const struct xstep *st)
{
	int i, n;

	for (i = n = 0; i < b->nsl; i++)
		if (b->sl[i].tid != st->tid &&
		    fp_independent(&b->sl[i].fp, &st->fp))
			b->sl[n++] = b->sl[i];
	b->nsl = n;
}

static int
asleep(const struct bounded_state *b, int32_t tid)
{
	int i;

	for (i = 0; i < b->nsl; i++)
		if (b->sl[i].tid == tid)
			return (1);
	return (0);
}

/*
 * The branches of step i (past the forced prefix), with the sleep set
 * before it in b->sl: every decision but the default, but for the
 * sleeping threads' own steps.  Their sleep set is b->sl plus the
 * default step i itself.  Pushed in the reverse of the order they are
 * to run in (bounded_done() reverses a run's branches).
 */
static int
branch(struct explorer *x, struct bounded_state *b, size_t i, size_t dec0)
{
	struct sim *s = x->s;
	const struct xstep *st = &s->xlog[i];
	const struct xrun *r = &s->xrun[st->run];
	struct sleepset *sl = NULL;
	int j, c, red = x->p->reduction, ret = -1;
	uint32_t n = st->n, d;

	if (red) {
		sl = malloc(sizeof(*sl) + (size_t)(b->nsl + 1) * sizeof(sl->e[0]));
		if (sl == NULL)
			return (-1);
		sl->refs = 1;		/* ours, until the end of this function */
		sl->n = b->nsl + 1;
		memcpy(sl->e, b->sl, (size_t)b->nsl * sizeof(sl->e[0]));
		sl->e[b->nsl].tid = st->tid;
		sl->e[b->nsl].fp = st->fp;
	}
	for (j = (int)n; j-- > 0;) {
		for (c = s->st.ncpus; c-- > 0;) {
			if ((r[j].mig >> c & 1) == 0)
				continue;
			d = 1 + (uint32_t)j + n * (uint32_t)(c + 1);
			if (push(b, s->dec + dec0, i, d, b->cur.preempts + 1,
			    sl) != 0)
				goto out;
		}
		if (j == st->def)
			continue;
		if (red && asleep(b, r[j].tid))
			x->res->pruned++;
		else if (push(b, s->dec + dec0, i, (uint32_t)(1 + j),
		    b->cur.preempts + 1, sl) != 0)
			goto out;
	}
	ret = 0;
out:
	if (sl != NULL && --sl->refs == 0)
		free(sl);
	return (ret);
}

/* Branches past the forced prefix, if preemptions are left. */
static void
bounded_done(struct explorer *x, int r, size_t dec0)
{
	struct bounded_state *b = x->priv;
	struct sim *s = x->s;
	struct bounded_item tmp;
	size_t i, len = b->cur.len, nsteps, base, lo, hi;

	nsteps = s->ndec - dec0;
	if (r == 0 && (s->xlog_oom || s->nxlog != nsteps))
		b->oom = 1;
	if (r != 0 || b->oom || b->cur.preempts >= x->p->bound) {
		item_free(&b->cur);
		return;
	}
	/* The sleep set after the branch's own decision (step len - 1). */
	b->nsl = 0;
	if (len > 0 && len <= nsteps && b->cur.sleep != NULL) {
		memcpy(b->sl, b->cur.sleep->e, (size_t)b->cur.sleep->n *
		    sizeof(*b->sl));
		b->nsl = b->cur.sleep->n;
		sleep_after(b, &s->xlog[len - 1]);
	}
	/*
	 * Each step's sleep set is the one before it, so the branches are
	 * found first step first; the run's branches are then reversed on
	 * the stack, so that the earliest branch point is explored first.
	 */
	base = b->nstack;
	for (i = len; i < nsteps; i++) {
		if (branch(x, b, i, dec0) != 0) {
			b->oom = 1;
			break;
		}
		if (x->p->reduction)
			sleep_after(b, &s->xlog[i]);
	}
	for (lo = base, hi = b->nstack; hi > lo + 1; lo++, hi--) {
		tmp = b->stack[lo];
		b->stack[lo] = b->stack[hi - 1];
		b->stack[hi - 1] = tmp;
	}
	item_free(&b->cur);
}

static void
bounded_finish(struct explorer *x)
{
	struct bounded_state *b = x->priv;
	size_t i;

	x->s->xlog_on = 0;
	x->s->fp_on = 0;
	if (b == NULL)
		return;
	x->res->exhausted = b->nstack == 0 && !b->oom;
	for (i = 0; i < b->nstack; i++)
		item_free(&b->stack[i]);
	item_free(&b->cur);
	free(b->stack);
	free(b->sl);
	free(b);
	x->priv = NULL;
}

const struct explorer_ops explorer_bounded = {
	.start = bounded_start,
	.next = bounded_next,
	.done = bounded_done,
	.finish = bounded_finish,
};
