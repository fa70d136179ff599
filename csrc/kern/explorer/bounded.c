/*
 * bounded: every schedule with at most k preemptions (thread choices
 * other than the default), depth first.  A run's tail past its forced
 * prefix is the default schedule, and each step there offers its other
 * runnable threads as new prefixes (from the step log, s->brlog).
 */
#include <stdlib.h>
#include <string.h>

#include "../kern.h"
#include "explorer.h"

struct bounded_item {
	uint32_t	*prefix;	/* decisions forced on the run */
	size_t		len;
	int		preempts;	/* preemptions in the prefix */
};

struct bounded_state {
	struct bounded_item *stack;	/* prefixes still to run */
	size_t		nstack, capstack;
	struct bounded_item cur;	/* the run under way */
};

static int
push(struct bounded_state *b, const uint32_t *dec, size_t len, uint32_t last,
    int preempts)
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
	it->prefix = malloc((len + 1) * sizeof(uint32_t));
	if (it->prefix == NULL)
		return (-1);
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

	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return (UMASIM_E_NOMEM);
	x->priv = b;
	x->s->brlog_on = 1;
	if (push(b, NULL, 0, 0, 0) == 0)
		b->stack[0].len = 0;	/* the empty prefix: the default run */
	return (0);
}

static int
bounded_next(struct explorer *x, uint64_t run, struct umasim_policy *pol)
{
	struct bounded_state *b = x->priv;

	(void)run;
	if (b->nstack == 0)
		return (1);
	b->cur = b->stack[--b->nstack];
	pol->kind = UMASIM_POL_SCRIPT;
	pol->decisions = b->cur.prefix;
	pol->ndecisions = b->cur.len;
	pol->then_kind = UMASIM_POL_SEQUENTIAL;
	return (0);
}

/* Branches past the forced prefix, if preemptions are left. */
static void
bounded_done(struct explorer *x, int r, size_t dec0)
{
	struct bounded_state *b = x->priv;
	struct sim *s = x->s;
	size_t i, j;

	if (r == 0 && b->cur.preempts < x->p->bound) {
		for (i = s->nbrlog; i-- > b->cur.len;) {
			for (j = 0; j < s->brlog[i].n; j++) {
				if (j == s->brlog[i].def)
					continue;
				if (push(b, s->dec + dec0, i, (uint32_t)(1 + j),
				    b->cur.preempts + 1) != 0)
					break;
			}
		}
	}
	free(b->cur.prefix);
	b->cur.prefix = NULL;
}

static void
bounded_finish(struct explorer *x)
{
	struct bounded_state *b = x->priv;
	size_t i;

	if (b == NULL)
		return;
	if (b->nstack == 0)
		x->res->exhausted = 1;
	for (i = 0; i < b->nstack; i++)
		free(b->stack[i].prefix);
	free(b->stack);
	free(b);
	x->priv = NULL;
}

const struct explorer_ops explorer_bounded = {
	.start = bounded_start,
	.next = bounded_next,
	.done = bounded_done,
	.finish = bounded_finish,
};
