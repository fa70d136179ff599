/*
 * panic(9) and the console.  A panic ends its simulation, never the host:
 * the panicking thread is abandoned and the host side of the step loop
 * resumes with outcome "panic".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"

/*
 * The thread 'td' ends the simulation: it is abandoned where it is and the
 * host side of the step loop resumes.
 */
static void __attribute__((noreturn))
kern_abandon(struct sim *s, struct kthread *td, int state)
{

	td->td_state = state;
	if (s->fp_on)		/* the run ends here: after any step */
		s->fp->all = 1;
	kix_state(s, td);
	if (!td->td_kernel)
		s->st.nlive--;
	s->st.curthread = NULL;
	s->st.in_run = 0;
	ctx_switch(&td->td_ctx, &s->sched_ctx);
	abort();		/* never resumed */
}

void
kern_panic_finish(struct sim *s, struct kthread *td)
{
	char line[KERN_PANICLEN + 8];

	s->st.panicked = 1;
	s->st.outcome = UMASIM_OUT_PANIC;
	snprintf(line, sizeof(line), "panic: %s", s->st.panicmsg);
	console_append(s, line);
	if (s->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(s, EVK_PANIC, (int64_t)(s->con.n - 1), 0);
	if (td == NULL) {
		if (s->host_jmp_armed)
			longjmp(s->host_jmp, 1);
		fprintf(stderr, "umasim: panic outside a thread: %s\n",
		    s->st.panicmsg);
		abort();
	}
	td->td_point = PT_PANIC;
	kern_abandon(s, td, UMASIM_TS_PANICKED);
}

/*
 * A host fault (sched_host_fault(), on the signal stack): like a panic,
 * the simulation stays readable and runs no further, but its outcome is
 * "host_fault", its thread "faulted" where it last stopped, and its event
 * "host_fault" carries the address.  s->st.fault and the message
 * (panicmsg, which umasim_panic_msg() does not return) are set.
 */
void
kern_fault_finish(struct sim *s, struct kthread *td)
{
	char line[KERN_PANICLEN + 16];

	s->st.panicked = 1;
	s->st.faulted = 1;
	s->st.outcome = UMASIM_OUT_HOST_FAULT;
	snprintf(line, sizeof(line), "host fault: %s", s->st.panicmsg);
	console_append(s, line);
	if (s->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(s, EVK_HOST_FAULT, (int64_t)s->st.fault.addr,
		    s->st.fault.where);
	kern_abandon(s, td, UMASIM_TS_FAULTED);
}

void
panic(const char *fmt, ...)
{
	struct sim *s = cursim;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(s->st.panicmsg, sizeof(s->st.panicmsg), fmt, ap);
	va_end(ap);
	/*
	 * Several of UMA's messages end in "\n" ("Duplicate free of item
	 * ...\n"); panic(9) adds its own, so, as with printf, the message is
	 * one console line without it.
	 */
	n = strlen(s->st.panicmsg);
	while (n > 0 && s->st.panicmsg[n - 1] == '\n')
		s->st.panicmsg[--n] = '\0';
	kern_panic_finish(s, s->st.curthread);
}

int
kern_vprintf(const char *fmt, va_list ap)
{
	struct sim *s = cursim;
	char line[1024];
	int n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	/* One console line per printf; the trailing newline is implied. */
	if (n > 0 && line[strlen(line) - 1] == '\n')
		line[strlen(line) - 1] = '\0';
	console_append(s, line);
	if (s->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(s, EVK_CONSOLE, (int64_t)(s->con.n - 1), 0);
	return (n);
}

int
kern_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kern_vprintf(fmt, ap);
	va_end(ap);
	return (n);
}
