/*
 * What a run leaves behind: events, console lines and decisions, kept in
 * growable arrays owned by the simulation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"

static int
grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return (0);
	ncap = *cap != 0 ? *cap : 64;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * elem);
	if (np == NULL)
		return (-1);
	*p = np;
	*cap = ncap;
	return (0);
}

void
ev_record(struct sim *s, int kind, int64_t a, int64_t b)
{
	struct umasim_event *e;
	struct kthread *td = s->st.curthread;

	if (grow((void **)&s->ev.e, &s->ev.cap, s->ev.n + 1, sizeof(*e)) != 0)
		return;		/* out of host memory: the log is cut */
	e = &s->ev.e[s->ev.n++];
	e->step = s->st.nsteps;
	e->tick = s->st.now;
	e->kind = kind;
	e->tid = td != NULL ? td->td_tid : -1;
	e->cpu = td != NULL ? td->td_cpu : -1;
	e->point = td != NULL ? td->td_point : -1;
	e->a = a;
	e->b = b;
	e->wmesg[0] = '\0';
}

/* A sleep event: the channel, the timeout and the wait message. */
void
ev_record_sleep(struct sim *s, int64_t chan, int64_t timo, const char *wmesg)
{
	size_t n = s->ev.n;

	ev_record(s, EVK_SLEEP, chan, timo);
	if (s->ev.n > n && wmesg != NULL)
		snprintf(s->ev.e[n].wmesg, sizeof(s->ev.e[n].wmesg), "%s",
		    wmesg);
}

int
console_append(struct sim *s, const char *line)
{
	size_t len = strlen(line) + 1;

	if (grow((void **)&s->con.buf, &s->con.cap, s->con.len + len, 1) != 0 ||
	    grow((void **)&s->con.off, &s->con.ncap, s->con.n + 1,
	    sizeof(size_t)) != 0)
		return (-1);
	memcpy(s->con.buf + s->con.len, line, len);
	s->con.off[s->con.n++] = s->con.len;
	s->con.len += len;
	return (0);
}

/*
 * dec_append()'s slow path (kern.h): room for one more decision, in a
 * zeroed buffer into which only the entries that may not be 0 are copied
 * (struct sim, dec_dirty): the rest stays untouched memory.
 */
int
dec_grow(struct sim *s)
{
	size_t ncap;
	uint32_t *np;

	if (s->ndec < s->capdec)
		return (0);
	ncap = s->capdec != 0 ? s->capdec * 2 : 64;
	np = calloc(ncap, sizeof(*np));
	if (np == NULL)
		return (-1);
	if (s->dec_dirty > 0)
		memcpy(np, s->dec, s->dec_dirty * sizeof(*np));
	free(s->dec);
	s->dec = np;
	s->capdec = ncap;
	return (0);
}

/*
 * The log keeps its first n decisions (n <= ndec): the entries after
 * them are 0 again.
 */
void
dec_truncate(struct sim *s, size_t n)
{

	if (s->dec_dirty > n) {
		memset(s->dec + n, 0, (s->dec_dirty - n) * sizeof(*s->dec));
		s->dec_dirty = n;
	}
	s->ndec = n;
}

/* A digest of the state after s->st.nsteps steps, for traces. */
void
digest_record(struct sim *s)
{
	struct umasim_digest_rec *r;

	if (grow((void **)&s->dg, &s->capdg, s->ndg + 1, sizeof(*r)) != 0)
		return;
	r = &s->dg[s->ndg++];
	r->step = s->st.nsteps;
	r->digest = digest_sim(s);
}

/* The choices of a step, for the bounded explorer's tree. */
void
brlog_append(struct sim *s, int n, int def)
{

	if (grow((void **)&s->brlog, &s->capbrlog, s->nbrlog + 1,
	    sizeof(*s->brlog)) != 0)
		return;
	s->brlog[s->nbrlog].n = (uint16_t)n;
	s->brlog[s->nbrlog].def = (uint16_t)def;
	s->nbrlog++;
}
