/*
 * Coroutine contexts: a saved stack pointer per thread.
 *
 * ctx_switch() saves the callee-saved registers of the caller on its own
 * stack, stores the stack pointer through 'from' and resumes the context
 * whose stack pointer is 'to'.  ctx_make() lays out a fresh stack so that
 * the first switch to it calls entry(arg).  entry must never return.
 *
 * x86_64 and aarch64 have hand-written switches (no system call); other
 * machines, or -DUMASIM_UCONTEXT, fall back to ucontext.
 *
 * Under AddressSanitizer (either switch) every switch is announced to ASan
 * with __sanitizer_start/finish_switch_fiber, so that it knows which stack
 * is current (its stack checks, __asan_handle_no_return, fake stacks).
 */
#ifndef _KERN_CTX_H_
#define	_KERN_CTX_H_

#include <stddef.h>

#if !defined(UMASIM_UCONTEXT) && !defined(__x86_64__) && !defined(__aarch64__)
#define	UMASIM_UCONTEXT 1
#endif

#if defined(__SANITIZE_ADDRESS__)
#define	UMASIM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define	UMASIM_ASAN 1
#endif
#endif

typedef void ctx_entry_t(void *);

#ifdef UMASIM_UCONTEXT
#include <ucontext.h>
#endif

struct ctx {
#ifdef UMASIM_UCONTEXT
	ucontext_t	uc;
#else
	void		*sp;
#endif
#ifdef UMASIM_ASAN
	const void	*asan_bottom;	/* this context's stack, for ASan */
	size_t		asan_size;
	void		*asan_fake;	/* its fake stack while switched out */
	ctx_entry_t	*asan_entry;	/* what the first switch to it calls */
	void		*asan_arg;
#endif
};

void	ctx_make(struct ctx *c, void *stack, size_t size, ctx_entry_t *entry,
	    void *arg);
void	ctx_switch(struct ctx *from, struct ctx *to);

#endif /* !_KERN_CTX_H_ */
