/*
 * The program interpreter: each user thread runs its list of operations
 * ('repeat' times), stopping at the operation's preemption point before
 * each.  VM and UMA operations plug into ops.def beside these.
 */
#include <string.h>

#include "kern.h"
#include "../sys/mutex.h"

typedef void op_handler_t(struct kthread *td, const struct umasim_op *op);

void
op_lock(struct kthread *td, const struct umasim_op *op)
{

	mtx_lock(&cursim->umtx[op_a(td, op)]);
}

void
op_unlock(struct kthread *td, const struct umasim_op *op)
{

	mtx_unlock(&cursim->umtx[op_a(td, op)]);
}

void
op_crit_enter(struct kthread *td, const struct umasim_op *op)
{

	(void)td;
	(void)op;
	critical_enter();
}

void
op_crit_exit(struct kthread *td, const struct umasim_op *op)
{

	(void)op;
	if (td->td_critnest == 0)
		panic("crit_exit outside a critical section in thread %s",
		    td->td_name);
	critical_exit();
}

void
op_tsleep(struct kthread *td, const struct umasim_op *op)
{
	struct sim *s = cursim;
	int64_t c = op_a(td, op);

	msleep(&s->chans[c], NULL, 0, s->chan_name[c], (int)op_b(td, op));
}

void
op_wakeup(struct kthread *td, const struct umasim_op *op)
{

	wakeup(&cursim->chans[op_a(td, op)]);
}

/* "sleep TICKS": a timed sleep on a channel of the thread's own. */
void
op_sleep(struct kthread *td, const struct umasim_op *op)
{
	int64_t t = op_a(td, op);

	if (t > 0)
		msleep(td, NULL, 0, "sleep", (int)t);
}

void
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

void
op_recurse(struct kthread *td, const struct umasim_op *op)
{

	(void)recurse(op_a(td, op));
}

void
op_vm_free_pages(struct kthread *td, const struct umasim_op *op)
{

	vm_set_free_pages(cursim, op_a(td, op));
}

void
op_vm_fail(struct kthread *td, const struct umasim_op *op)
{

	vm_set_fail(cursim, op_a(td, op));
}

/* ---- variables ---------------------------------------------------------- */

/*
 * var_wait_set() and var_set() are inline (kern.h); their uncommon halves
 * are here.  The variable is unset: freeing an unset variable is the
 * consumer side of a hand-off and waits for the producer.
 */
struct kvar *
var_wait_unset(struct kthread *td, int64_t vid)
{
	struct sim *s = cursim;

	fp_note(FPK_VAR | (uint64_t)vid, 1);
	while (s->vars[vid].v_state == VAR_UNSET) {
		td->td_state = UMASIM_TS_WAITVAR;
		td->td_waitvar = vid;
		td->td_acts++;
		sched_block(td, td->td_point);
	}
	td->td_waitvar = -1;
	return (&s->vars[vid]);
}

/* Variable 'vid' was just set while threads wait for it: they go on. */
void
var_wake(struct sim *s, int64_t vid)
{
	int tid;

	while ((tid = kix_var_first(s, vid)) >= 0)
		sched_wake_thread(s, sim_td(s, tid));
}

/* "kmem_alloc BYTES [nowait] -> VAR": pages straight from kmem_map. */
void
op_kmem_alloc(struct kthread *td, const struct umasim_op *op)
{
	struct sim *s = cursim;
	int64_t bytes = op_a(td, op), vid = op_b(td, op);
	void *p;

	if (bytes <= 0)
		panic("kmem_alloc of %lld bytes", (long long)bytes);
	p = kmem_malloc(NULL, (size_t)bytes,
	    (op->flags & OPF_NOWAIT) ? M_NOWAIT : M_WAITOK);
	var_set(s, vid, p != NULL ? VAR_HELD : VAR_NULL, VAR_SRC_KMEM, p,
	    bytes);
}

/* "kmem_free VAR" */
void
op_kmem_free(struct kthread *td, const struct umasim_op *op)
{
	struct sim *s = cursim;
	struct kvar *v;

	v = var_wait_set(td, op_a(td, op));
	if (v->v_state == VAR_NULL)
		return;
	if (v->v_state == VAR_FREED)
		panic("double free of %s", s->var_names != NULL ?
		    s->var_names[op_a(td, op)] : "a variable");
	if (v->v_zone != VAR_SRC_KMEM)
		panic("kmem_free of an item that kmem_alloc did not return");
	kmem_free(NULL, var_item(s, v), (size_t)v->v_size);
	v->v_state = VAR_FREED;
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

/*
 * The ops whose footprints the hooks name (footprint.c).  Every other op
 * (zone creation and destruction, limits, drains, reclaims, timeouts,
 * statistics, refcounts, touches, timed sleeps) touches anything at
 * every step until it ends.
 */
static const uint8_t op_fp_named[OPC_COUNT] = {
	[OPC_LOCK] = 1, [OPC_UNLOCK] = 1, [OPC_CRIT_ENTER] = 1,
	[OPC_CRIT_EXIT] = 1, [OPC_TSLEEP] = 1, [OPC_WAKEUP] = 1,
	[OPC_YIELD] = 1, [OPC_RECURSE] = 1, [OPC_VM_FREE_PAGES] = 1,
	[OPC_VM_FAIL] = 1, [OPC_KMEM_ALLOC] = 1, [OPC_KMEM_FREE] = 1,
	[OPC_ALLOC] = 1, [OPC_FREE] = 1, [OPC_MALLOC] = 1,
	[OPC_MALLOC_LARGE] = 1, [OPC_FREE_LARGE] = 1,
};

/*
 * One op with its hooks: a full trace's events, footprints, the oracle
 * (s->op_hooks).
 */
static void
program_op_hooked(struct sim *s, struct kthread *td,
    const struct umasim_op *op)
{

	if (s->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(s, EVK_OP_BEGIN, op->code, td->td_pc);
	td->td_busy = 1;
	if (__builtin_expect(s->fp_on, 0) && !op_fp_named[op->code]) {
		td->td_fpall = 1;
		s->fp->all = 1;
	}
	if (ORACLE_ON(s))
		oracle_op_begin(s, td, op);
	op_handler[op->code](td, op);
	if (ORACLE_ON(s))
		oracle_op_end(s, td, op);
	td->td_busy = 0;
	td->td_fpall = 0;
	td->td_nfpz = 0;
	if (s->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(s, EVK_OP_END, op->code, td->td_pc);
}

/*
 * The thread's program.  Its position (td_pc, td_iter) is the thread's
 * state, written before each op's point; the loop keeps its own copy,
 * which a snapshot brings back with the thread's stack.  Without hooks
 * (s->op_hooks, the common case) an op is its handler alone, with the
 * thread busy around it.
 */
void
program_main(struct kthread *td)
{
	struct sim *s = cursim;
	const struct kprog *p = &td->td_prog;
	const struct umasim_op *ops = p->p_ops, *op;
	int64_t iter, repeat = p->p_repeat;
	int pc, nops = p->p_nops;

	for (iter = 0; iter < repeat; iter++) {
		td->td_iter = iter;
		for (pc = 0; pc < nops; pc++) {
			td->td_pc = pc;
			op = &ops[pc];
			sched_point(op_point[op->code]);
#ifdef UMASIM_SANITIZE
			if (s->op_hooks != (s->st.trace_level >=
			    UMASIM_TRACE_FULL || s->fp_on || s->oracle_on))
				panic("program_main: s->op_hooks is stale");
#endif
			if (__builtin_expect(s->op_hooks, 0))
				program_op_hooked(s, td, op);
			else {
				td->td_busy = 1;
				op_handler[op->code](td, op);
				td->td_busy = 0;
				td->td_fpall = 0;
				td->td_nfpz = 0;
			}
			td->td_acts++;
		}
	}
	td->td_iter = iter;
	td->td_pc = nops;
}
