/*
 * Callouts, run when due by the softclock kernel thread (thread 0), which
 * is scheduled like any other thread: it takes locks, blocks and can be
 * preempted at its points.
 */
#include <stdint.h>
#include <string.h>

#include "kern.h"
#include "../sys/mutex.h"

void
callout_init(struct callout *c, int mpsafe)
{

	(void)mpsafe;
	memset(c, 0, sizeof(*c));
}

static void
callout_remove(struct sim *s, struct callout *c)
{
	int i;

	for (i = 0; i < s->st.ncallouts; i++) {
		if (s->st.callouts[i] == c) {
			memmove(&s->st.callouts[i], &s->st.callouts[i + 1],
			    (size_t)(s->st.ncallouts - i - 1) * sizeof(c));
			s->st.ncallouts--;
			break;
		}
	}
	c->c_pending = 0;
}

void
callout_reset(struct callout *c, int to_ticks, void (*func)(void *), void *arg)
{
	struct sim *s = cursim;

	FP_ALL();		/* it reads the clock */
	if (c->c_pending)
		callout_remove(s, c);
	if (s->st.ncallouts >= KERN_MAXCALLOUT)
		panic("callout_reset: too many callouts");
	if (to_ticks <= 0)
		to_ticks = 1;
	c->c_func = func;
	c->c_arg = arg;
	c->c_time = s->st.now + to_ticks;
	c->c_seq = ++s->st.callout_seq;
	c->c_pending = 1;
	s->st.callouts[s->st.ncallouts++] = c;
	sched_timer_add(s, c->c_time);
}

int
callout_stop(struct callout *c)
{

	FP_ALL();
	if (!c->c_pending)
		return (0);
	callout_remove(cursim, c);
	return (1);
}

/* The callout to run next, if one is due: earliest time, then order set. */
static struct callout *
callout_first_due(const struct sim *s)
{
	struct callout *c, *best;
	int i;

	best = NULL;
	for (i = 0; i < s->st.ncallouts; i++) {
		c = s->st.callouts[i];
		if (c->c_time > s->st.now)
			continue;
		if (best == NULL || c->c_time < best->c_time ||
		    (c->c_time == best->c_time && c->c_seq < best->c_seq))
			best = c;
	}
	return (best);
}

int
callout_due(const struct sim *s)
{

	return (callout_first_due(s) != NULL);
}

int64_t
callout_next_after(const struct sim *s)
{
	int64_t next;
	int i;

	next = INT64_MAX;
	for (i = 0; i < s->st.ncallouts; i++)
		if (s->st.callouts[i]->c_time > s->st.now &&
		    s->st.callouts[i]->c_time < next)
			next = s->st.callouts[i]->c_time;
	return (next);
}

static void
softclock_main(struct kthread *td)
{
	struct sim *s = cursim;
	struct callout *c;
	void (*func)(void *);
	void *arg;

	for (;;) {
		if (!callout_due(s)) {
			sleep_internal(td, &s->st.softclock_chan, NULL, 0,
			    "softclock", 0);
			continue;
		}
		sched_point(PT_CALLOUT);
		c = callout_first_due(s);
		if (c == NULL)
			continue;
		func = c->c_func;
		arg = c->c_arg;
		callout_remove(s, c);
		td->td_acts++;
		td->td_busy = 1;
		func(arg);
		td->td_busy = 0;
		td->td_acts++;
	}
}

/* Thread 0: created asleep; a due callout wakes it. */
int
softclock_create(struct sim *s)
{
	struct kthread *td;

	td = thread_create(s, "softclock", 0, 1, softclock_main);
	if (td == NULL)
		return (-1);
	sched_set_asleep(s, td, &s->st.softclock_chan, "softclock");
	return (0);
}

void
softclock_wake(struct sim *s)
{

	wakeup_internal(s, &s->st.softclock_chan, 0);
}
