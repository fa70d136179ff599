/*
 * Kernel work done on behalf of the host, outside the schedule: booting
 * UMA, creating the scenario's zones.  It runs to completion on a kernel
 * thread of its own ("kernel", not in the thread table), with no
 * preemption points and no decisions recorded; should it need to block
 * (no thread could ever wake it) it panics the simulation instead.
 */
#include <string.h>

#include "kern.h"
#include "stack.h"

static void
hostcall_entry(void *arg)
{
	struct kthread *td = arg;
	struct sim *s = cursim;

	s->hostcall_fn(s->hostcall_arg);
	td->td_state = UMASIM_TS_FINISHED;
	if (td->td_critnest != 0 || td->td_nlocks != 0)
		panic("kernel call returned holding %d locks, critnest %d",
		    td->td_nlocks, td->td_critnest);
	s->st.curthread = NULL;
	ctx_switch(&td->td_ctx, &s->sched_ctx);
}

int
kern_hostcall(struct sim *s, void (*fn)(void *), void *arg)
{
	struct kthread *td = &s->hostcall;

	if (s->st.panicked)
		return (s->st.faulted ? UMASIM_E_FAULTED : UMASIM_E_PANICKED);
	if (s->hostcall_stack == NULL)
		s->hostcall_stack = kstack_alloc();
	if (s->hostcall_stack == NULL)
		return (UMASIM_E_NOMEM);
	memset(td, 0, sizeof(*td));
	td->td_tid = UMASIM_MAXTHREADS;
	strcpy(td->td_name, "kernel");
	td->td_kernel = 1;
	td->td_nopoints = 1;
	td->td_cpu = 0;
	td->td_state = UMASIM_TS_RUNNABLE;
	td->td_migrate_to = -1;
	td->td_timo_at = -1;
	td->td_waitvar = -1;
	td->td_stack = s->hostcall_stack;
	s->hostcall_fn = fn;
	s->hostcall_arg = arg;
	ctx_make(&td->td_ctx, td->td_stack->ks_base, td->td_stack->ks_size,
	    hostcall_entry, td);
	s->st.curthread = td;
	sched_enter(s, &td->td_ctx);
	s->st.curthread = NULL;
	if (s->st.panicked)
		return (s->st.faulted ? UMASIM_E_FAULTED : UMASIM_E_PANICKED);
	return (0);
}
