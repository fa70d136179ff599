/*
 * The program interpreter: each user thread runs its list of operations
 * ('repeat' times), stopping at the operation's preemption point before
 * each.  VM and UMA operations plug into ops.def beside these.
 */
#include <string.h>

#include "kern.h"
#include "../sys/mutex.h"

typedef void op_handler_t(struct kthread *td, const struct umasim_op *op);

static inline int64_t
op_a(const struct kthread *td, const struct umasim_op *op)
{

	return (op->a + op->a_stride * td->td_iter);
}

static inline int64_t
op_b(const struct kthread *td, const struct umasim_op *op)
{

	return (op->b + op->b_stride * td->td_iter);
}

static void
op_lock(struct kthread *td, const struct umasim_op *op)
{

	mtx_lock(&cursim->umtx[op_a(td, op)]);
}

static void
op_unlock(struct kthread *td, const struct umasim_op *op)
{

	mtx_unlock(&cursim->umtx[op_a(td, op)]);
}

static void
op_crit_enter(struct kthread *td, const struct umasim_op *op)
{

	(void)td;
	(void)op;
	critical_enter();
}

static void
op_crit_exit(struct kthread *td, const struct umasim_op *op)
{

	(void)op;
	if (td->td_critnest == 0)
		panic("crit_exit outside a critical section in thread %s",
		    td->td_name);
	critical_exit();
}

static void
op_tsleep(struct kthread *td, const struct umasim_op *op)
{
	struct sim *s = cursim;
	int64_t c = op_a(td, op);

	msleep(&s->chans[c], NULL, 0, s->chan_name[c], (int)op_b(td, op));
}

static void
op_wakeup(struct kthread *td, const struct umasim_op *op)
{

	wakeup(&cursim->chans[op_a(td, op)]);
}

/* "sleep TICKS": a timed sleep on a channel of the thread's own. */
static void
op_sleep(struct kthread *td, const struct umasim_op *op)
{
	int64_t t = op_a(td, op);

	if (t > 0)
		msleep(td, NULL, 0, "sleep", (int)t);
}

static void
op_yield(struct kthread *td, const struct umasim_op *op)
{

	(void)td;
	(void)op;
}

/*
 * "recurse DEPTH": DEPTH nested frames of 1 KiB on the thread's stack, to
 * show that an overflow hits the guard page and panics the simulation.
 */
static int __attribute__((noinline))
recurse(int64_t depth)
{
	volatile char frame[1024];

	frame[0] = (char)depth;
	frame[sizeof(frame) - 1] = (char)depth;
	if (depth <= 0)
		return (frame[0]);
	return (recurse(depth - 1) + frame[sizeof(frame) - 1]);
}

static void
op_recurse(struct kthread *td, const struct umasim_op *op)
{

	(void)recurse(op_a(td, op));
}

static op_handler_t *const op_handler[OPC_COUNT] = {
#define	OP(id, name, point, handler)	[OPC_##id] = handler,
#include "ops.def"
#undef OP
};

const int op_point[OPC_COUNT] = {
#define	OP(id, name, point, handler)	[OPC_##id] = PT_##point,
#include "ops.def"
#undef OP
};

const char *const op_names[OPC_COUNT] = {
#define	OP(id, name, point, handler)	[OPC_##id] = name,
#include "ops.def"
#undef OP
};

void
program_main(struct kthread *td)
{
	struct sim *s = cursim;
	const struct kprog *p = &td->td_prog;
	const struct umasim_op *op;

	for (td->td_iter = 0; td->td_iter < p->p_repeat; td->td_iter++) {
		for (td->td_pc = 0; td->td_pc < p->p_nops; td->td_pc++) {
			op = &p->p_ops[td->td_pc];
			sched_point(op_point[op->code]);
			if (s->trace_level >= UMASIM_TRACE_FULL)
				ev_record(s, EVK_OP_BEGIN, op->code, td->td_pc);
			op_handler[op->code](td, op);
			if (s->trace_level >= UMASIM_TRACE_FULL)
				ev_record(s, EVK_OP_END, op->code, td->td_pc);
			td->td_acts++;
		}
	}
	td->td_pc = p->p_nops;
}
