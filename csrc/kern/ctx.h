/*
 * Coroutine contexts: a saved stack pointer per thread.
 *
 * ctx_switch() saves the callee-saved registers of the caller on its own
 * stack, stores the stack pointer through 'from' and resumes the context
 * whose stack pointer is 'to'.  ctx_make() lays out a fresh stack so that
 * the first switch to it calls entry(arg).  entry must never return.
 *
 * x86_64 and aarch64 have hand-written switches (no system call); other
 * machines, and the sanitizer build, fall back to ucontext.
 */
#ifndef _KERN_CTX_H_
#define	_KERN_CTX_H_

#include <stddef.h>

#if !defined(UMASIM_UCONTEXT) && !defined(__x86_64__) && !defined(__aarch64__)
#define	UMASIM_UCONTEXT 1
#endif

#ifdef UMASIM_UCONTEXT
#include <ucontext.h>
struct ctx {
	ucontext_t	uc;
};
#else
struct ctx {
	void		*sp;
};
#endif

typedef void ctx_entry_t(void *);

void	ctx_make(struct ctx *c, void *stack, size_t size, ctx_entry_t *entry,
	    void *arg);
void	ctx_switch(struct ctx *from, struct ctx *to);

#endif /* !_KERN_CTX_H_ */
