/*
 * Race-window coverage (docs/design.md, "Coverage").
 *
 * A race window (points.def, WINDOW) is a stretch of FreeBSD 7's code
 * where a protection is given up -- the zone lock, the critical section --
 * or shared state was read unprotected, and what was seen is acted on
 * later.  The port marks where each window opens and closes
 * (UMA_WINDOW_OPEN/UMA_WINDOW_CLOSE, csrc/vm/uma_sim.h); here each thread
 * keeps the windows it is inside (td_win, innermost last) and a run
 * records, per window:
 *
 *  entered      a thread opened it;
 *  interleaved  while a thread was inside it, another thread acted on the
 *               same keg (took its lock, passed one of its points, entered
 *               an allocation or a free on one of its zones);
 *  migrated     a thread moved to another vCPU while inside it.
 *
 * and the (point, abstract state) pairs its stops at UMA's points saw
 * (cov_state(); the state is computed by the port, uma_sim.c).
 *
 * All of it lives in the simulated state (struct kcover), so a restore
 * brings back the coverage of the snapshot's moment: an explorer's runs
 * each start from the start snapshot's coverage, and explore.c takes the
 * union after every run.  Nothing here is part of the digest: coverage is
 * an observation of a run, not state its future depends on.  The work is
 * done where windows open and close and where a keg is touched while some
 * window is open; the step loop only looks at td_nwin when it migrates a
 * thread.
 */
#include <string.h>

#include "kern.h"

_Static_assert(W_COUNT <= UMASIM_MAXWINDOWS, "too many race windows");

static const char *const window_names[W_COUNT] = {
#define	POINT(id, name, func, line)
#define	WINDOW(id, name, point, fine, closes, gives_up)	[W_##id] = name,
#include "points.def"
#undef WINDOW
#undef POINT
};
static const int window_points[W_COUNT] = {
#define	POINT(id, name, func, line)
#define	WINDOW(id, name, point, fine, closes, gives_up)	[W_##id] = PT_##point,
#include "points.def"
#undef WINDOW
#undef POINT
};
static const uint8_t window_fine[W_COUNT] = {
#define	POINT(id, name, func, line)
#define	WINDOW(id, name, point, fine, closes, gives_up)	[W_##id] = fine,
#include "points.def"
#undef WINDOW
#undef POINT
};
static const char *const window_closes[W_COUNT] = {
#define	POINT(id, name, func, line)
#define	WINDOW(id, name, point, fine, closes, gives_up)	[W_##id] = closes,
#include "points.def"
#undef WINDOW
#undef POINT
};
static const char *const window_gives_up[W_COUNT] = {
#define	POINT(id, name, func, line)
#define	WINDOW(id, name, point, fine, closes, gives_up)	[W_##id] = gives_up,
#include "points.def"
#undef WINDOW
#undef POINT
};

/*
 * The current thread enters window 'w' on 'obj'.  A fine window exists
 * only with granularity "fine" (its points stop only then).
 */
void
cov_win_open(int w, const void *obj)
{

	if (window_fine[w] && cursim->st.cfg.granularity != UMASIM_GRAN_FINE)
		return;
	cov_win_open_fast(w, obj);
}

/*
 * Window 'w' nested in the innermost window the thread is in, on the same
 * object (vmwait inside slab_zalloc); nothing outside any window.
 */
void
cov_win_open_inner(int w)
{
	struct kthread *td = cursim->st.curthread;

	if (td->td_nwin > 0)
		cov_win_open(w, td->td_win[td->td_nwin - 1].obj);
}

/* The current thread leaves the innermost window 'w' it is in. */
void
cov_win_close(int w)
{

	cov_win_close_fast(w);
}

/* cov_win_close_fast() when 'w' is not the innermost window: out of the middle. */
void
cov_win_close_nested(int w)
{
	struct sim *s = cursim;
	struct kthread *td = s->st.curthread;
	int i;

	for (i = td->td_nwin - 1; i >= 0; i--) {
		if (td->td_win[i].w != w)
			continue;
		memmove(&td->td_win[i], &td->td_win[i + 1],
		    (size_t)(td->td_nwin - 1 - i) * sizeof(td->td_win[0]));
		td->td_nwin--;
		s->st.cov.nopen--;
		return;
	}
}

void
cov_touch_slow(struct sim *s, const void *obj)
{
	const struct kthread *cur = s->st.curthread, *td;
	int i, j;

	for (i = 0; i < s->st.nthreads; i++) {
		td = sim_td(s, i);
		if (td == cur)
			continue;
		for (j = 0; j < td->td_nwin; j++)
			if (td->td_win[j].obj == obj)
				s->st.cov.win[td->td_win[j].w] |=
				    UMASIM_COV_INTERLEAVED;
	}
}

/* 'td' is being migrated (sched.c): every window it is inside. */
void
cov_migrated(struct sim *s, struct kthread *td)
{
	int j;

	for (j = 0; j < td->td_nwin; j++)
		s->st.cov.win[td->td_win[j].w] |= UMASIM_COV_MIGRATED;
}


/* Adds the coverage 'c' into win[W_COUNT] and states[] (explore.c). */
void
cov_union(uint8_t *win, uint64_t *states, const struct kcover *c)
{
	size_t i;

	for (i = 0; i < W_COUNT; i++)
		win[i] |= c->win[i];
	for (i = 0; i < COV_NWORDS; i++)
		states[i] |= c->states[i];
}

/* The points a state is recorded at: UMA's own (a FreeBSD 7 line). */
static int
uma_points(void)
{
	int i, n;

	for (i = n = 0; i < PT_COUNT; i++)
		n += umasim_point_line(i) > 0;
	return (n);
}

void
cov_report(const uint8_t *win, const uint64_t *states,
    struct umasim_coverage *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	out->nwindows = W_COUNT;
	memcpy(out->windows, win, W_COUNT);
	for (i = 0; i < COV_NWORDS; i++)
		out->state_pairs += __builtin_popcountll(states[i]);
	out->state_pairs_total = (int64_t)uma_points() * COV_NSTATES;
}

int
umasim_coverage(struct sim *s, struct umasim_coverage *out)
{

	API_ENTER(s);
	cov_report(s->st.cov.win, s->st.cov.states, out);
	API_LEAVE(s);
	return (0);
}

int
umasim_nwindows(void)
{

	return (W_COUNT);
}

const char *
umasim_window_name(int w)
{

	return (w >= 0 && w < W_COUNT ? window_names[w] : NULL);
}

int
umasim_window_point(int w)
{

	return (w >= 0 && w < W_COUNT ? window_points[w] : -1);
}

int
umasim_window_fine(int w)
{

	return (w >= 0 && w < W_COUNT ? window_fine[w] : -1);
}

const char *
umasim_window_closes(int w)
{

	return (w >= 0 && w < W_COUNT ? window_closes[w] : NULL);
}

const char *
umasim_window_gives_up(int w)
{

	return (w >= 0 && w < W_COUNT ? window_gives_up[w] : NULL);
}
