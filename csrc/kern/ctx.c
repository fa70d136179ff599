/*
 * Context switch for the simulated kernel's coroutine threads.
 *
 * The hand-written switches save only what the ABI says a callee must keep
 * (plus the floating point control words on x86_64), so a switch costs a
 * few nanoseconds instead of swapcontext()'s signal-mask system call.
 */
#include <stdint.h>
#include <string.h>

#include "ctx.h"

#ifdef UMASIM_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

#ifndef UMASIM_UCONTEXT

void	umasim_ctx_swap(void **save_sp, void *load_sp)
	    __attribute__((visibility("hidden")));
void	umasim_ctx_trampoline(void) __attribute__((visibility("hidden")));

#if defined(__x86_64__)
/*
 * Frame, from the new stack pointer upwards: mxcsr and x87 control word,
 * r15, r14, r13, r12, rbx, rbp, return address.
 */
__asm__(
	".text\n"
	".p2align 4\n"
	".globl umasim_ctx_swap\n"
	".hidden umasim_ctx_swap\n"
	".type umasim_ctx_swap,@function\n"
	"umasim_ctx_swap:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq %rsi, %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size umasim_ctx_swap,.-umasim_ctx_swap\n"
	".p2align 4\n"
	".globl umasim_ctx_trampoline\n"
	".hidden umasim_ctx_trampoline\n"
	".type umasim_ctx_trampoline,@function\n"
	"umasim_ctx_trampoline:\n"
	"	movq %r13, %rdi\n"
	"	callq *%r12\n"
	"	ud2\n"
	".size umasim_ctx_trampoline,.-umasim_ctx_trampoline\n"
);

static void
ctx_make_md(struct ctx *c, void *stack, size_t size, ctx_entry_t *entry,
    void *arg)
{
	uintptr_t top;
	uint64_t *sp;
	uint32_t fpu;

	top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
	sp = (uint64_t *)top;
	*--sp = (uint64_t)(uintptr_t)umasim_ctx_trampoline;
	*--sp = 0;				/* rbp */
	*--sp = 0;				/* rbx */
	*--sp = (uint64_t)(uintptr_t)entry;	/* r12 */
	*--sp = (uint64_t)(uintptr_t)arg;	/* r13 */
	*--sp = 0;				/* r14 */
	*--sp = 0;				/* r15 */
	fpu = 0x037f;				/* default x87 control word */
	*--sp = (uint64_t)0x1f80 | ((uint64_t)fpu << 32); /* mxcsr, fpucw */
	c->sp = sp;
}

#elif defined(__aarch64__)
/*
 * Frame of 160 bytes: x19-x28, x29 (fp), x30 (lr), d8-d15.
 */
__asm__(
	".text\n"
	".p2align 4\n"
	".globl umasim_ctx_swap\n"
	".hidden umasim_ctx_swap\n"
	".type umasim_ctx_swap,%function\n"
	"umasim_ctx_swap:\n"
	"	sub sp, sp, #160\n"
	"	stp x19, x20, [sp, #0]\n"
	"	stp x21, x22, [sp, #16]\n"
	"	stp x23, x24, [sp, #32]\n"
	"	stp x25, x26, [sp, #48]\n"
	"	stp x27, x28, [sp, #64]\n"
	"	stp x29, x30, [sp, #80]\n"
	"	stp d8, d9, [sp, #96]\n"
	"	stp d10, d11, [sp, #112]\n"
	"	stp d12, d13, [sp, #128]\n"
	"	stp d14, d15, [sp, #144]\n"
	"	mov x2, sp\n"
	"	str x2, [x0]\n"
	"	mov sp, x1\n"
	"	ldp x19, x20, [sp, #0]\n"
	"	ldp x21, x22, [sp, #16]\n"
	"	ldp x23, x24, [sp, #32]\n"
	"	ldp x25, x26, [sp, #48]\n"
	"	ldp x27, x28, [sp, #64]\n"
	"	ldp x29, x30, [sp, #80]\n"
	"	ldp d8, d9, [sp, #96]\n"
	"	ldp d10, d11, [sp, #112]\n"
	"	ldp d12, d13, [sp, #128]\n"
	"	ldp d14, d15, [sp, #144]\n"
	"	add sp, sp, #160\n"
	"	ret\n"
	".size umasim_ctx_swap,.-umasim_ctx_swap\n"
	".p2align 4\n"
	".globl umasim_ctx_trampoline\n"
	".hidden umasim_ctx_trampoline\n"
	".type umasim_ctx_trampoline,%function\n"
	"umasim_ctx_trampoline:\n"
	"	mov x0, x20\n"
	"	blr x19\n"
	"	brk #0\n"
	".size umasim_ctx_trampoline,.-umasim_ctx_trampoline\n"
);

static void
ctx_make_md(struct ctx *c, void *stack, size_t size, ctx_entry_t *entry,
    void *arg)
{
	uintptr_t top;
	uint64_t *sp;

	top = ((uintptr_t)stack + size) & ~(uintptr_t)15;
	sp = (uint64_t *)(top - 160);
	memset(sp, 0, 160);
	sp[0] = (uint64_t)(uintptr_t)entry;		/* x19 */
	sp[1] = (uint64_t)(uintptr_t)arg;		/* x20 */
	sp[11] = (uint64_t)(uintptr_t)umasim_ctx_trampoline; /* x30 */
	c->sp = sp;
}
#endif

static inline void
ctx_switch_md(struct ctx *from, struct ctx *to)
{
	umasim_ctx_swap(&from->sp, to->sp);
}

#else /* UMASIM_UCONTEXT */

#include <stdlib.h>

/*
 * makecontext() passes int arguments only, so the pointers travel as two
 * halves.
 */
static void
ctx_ucontext_entry(unsigned int ehi, unsigned int elo, unsigned int ahi,
    unsigned int alo)
{
	ctx_entry_t *entry;
	void *arg;

	entry = (ctx_entry_t *)(((uintptr_t)ehi << 16 << 16) | elo);
	arg = (void *)(((uintptr_t)ahi << 16 << 16) | alo);
	entry(arg);
	abort();
}

static void
ctx_make_md(struct ctx *c, void *stack, size_t size, ctx_entry_t *entry,
    void *arg)
{
	uintptr_t e, a;

	e = (uintptr_t)entry;
	a = (uintptr_t)arg;
	getcontext(&c->uc);
	c->uc.uc_stack.ss_sp = stack;
	c->uc.uc_stack.ss_size = size;
	c->uc.uc_link = NULL;
	makecontext(&c->uc, (void (*)(void))ctx_ucontext_entry, 4,
	    (unsigned int)(e >> 16 >> 16), (unsigned int)e,
	    (unsigned int)(a >> 16 >> 16), (unsigned int)a);
}

static inline void
ctx_switch_md(struct ctx *from, struct ctx *to)
{
	swapcontext(&from->uc, &to->uc);
}

#endif /* UMASIM_UCONTEXT */

#ifdef UMASIM_ASAN
/*
 * AddressSanitizer must be told of every stack switch (see "fibers" in
 * <sanitizer/common_interface_defs.h>): start_switch_fiber() before, with
 * the stack being switched to, and finish_switch_fiber() on the new stack
 * right after, which hands back the stack that was left.  A context's stack
 * is known from ctx_make(), or, for the host side (never made), learnt the
 * first time it is left: whoever resumes next writes it into the context
 * that switched ('ctx_asan_prev').  A context is always left before it is
 * resumed, so its stack is known whenever someone switches to it.
 *
 * A thread that finishes or panics is never resumed; its fake stack (only
 * with ASAN_OPTIONS=detect_stack_use_after_return=1) stays allocated.
 */
static __thread struct ctx *ctx_asan_prev;

/* Not inlined: the TLS address must be computed on this host thread. */
static __attribute__((noinline)) void
ctx_asan_finish(void *fake)
{
	struct ctx *prev = ctx_asan_prev;

	__sanitizer_finish_switch_fiber(fake, &prev->asan_bottom,
	    &prev->asan_size);
}

static void
ctx_asan_entry(void *arg)
{
	struct ctx *c = arg;

	ctx_asan_finish(NULL);
	c->asan_entry(c->asan_arg);
}
#endif /* UMASIM_ASAN */

void
ctx_make(struct ctx *c, void *stack, size_t size, ctx_entry_t *entry,
    void *arg)
{

#ifdef UMASIM_ASAN
	/* A pooled stack keeps the redzones of frames that never returned. */
	ASAN_UNPOISON_MEMORY_REGION(stack, size);
	c->asan_bottom = stack;
	c->asan_size = size;
	c->asan_fake = NULL;
	c->asan_entry = entry;
	c->asan_arg = arg;
	entry = ctx_asan_entry;
	arg = c;
#endif
	ctx_make_md(c, stack, size, entry, arg);
}

void
ctx_switch(struct ctx *from, struct ctx *to)
{

#ifdef UMASIM_ASAN
	ctx_asan_prev = from;
	__sanitizer_start_switch_fiber(&from->asan_fake, to->asan_bottom,
	    to->asan_size);
#endif
	ctx_switch_md(from, to);
#ifdef UMASIM_ASAN
	ctx_asan_finish(from->asan_fake);
#endif
}
