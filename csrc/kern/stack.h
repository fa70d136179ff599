/*
 * Thread stacks: mmap'ed, with an inaccessible guard page below, pooled
 * across simulations so that creating one costs no system call once the
 * pool is warm.
 *
 * A thread's stack starts a little below the top of its mapping, by an
 * offset that depends on its thread slot (kstack_color()).  The part of a
 * stack that every step touches -- the frames of a stopped thread, just
 * below where it starts -- would otherwise sit at the same offset in a
 * page for every thread, and so in the same few sets of the CPU's caches:
 * with hundreds of threads, resuming one would mostly miss.
 */
#ifndef _KERN_STACK_H_
#define	_KERN_STACK_H_

#include <stddef.h>

struct kstack {
	struct kstack	*ks_next;	/* pool link */
	char		*ks_guard;	/* guard page (lowest address) */
	char		*ks_base;	/* usable stack, ks_size bytes */
	size_t		ks_size;	/* ks_len less the colour (kstack_color) */
	size_t		ks_len;		/* the mapping above the guard page */
	unsigned	ks_vgid;	/* valgrind's id of the stack */
};

struct kstack	*kstack_alloc(void);
void		 kstack_free(struct kstack *ks);
int		 kstack_in_guard(const struct kstack *ks, const void *addr);

/*
 * Gives the stack of thread slot 'slot' its colour: the stack starts
 * (slot * 576) mod 4096 bytes below the top of its mapping, a whole number
 * of cache lines, so that the tops of 64 consecutive threads' stacks fall
 * on 64 different line offsets in a page.  A function of the slot alone,
 * so a given simulation has the same stack depth whichever pooled stack
 * its threads get.  For a new thread: under valgrind it also makes the
 * stack's old contents addressable and undefined (kstack_will_write()).
 */
void		 kstack_color(struct kstack *ks, int slot);

/*
 * Bytes off to off + len of the stack are about to be written as plain
 * memory (a restore puts a suspended thread's frames back): under
 * valgrind, memcheck is told they are addressable, wherever the stack
 * pointer last was.  Otherwise a no-op.
 */
void		 kstack_will_write(const struct kstack *ks, size_t off,
		    size_t len);

/*
 * Under AddressSanitizer: forgets the redzones that frames left in the
 * stack's shadow.  Code that copies a suspended thread's stack as plain
 * memory (snapshots) calls it before reading the stack, and before writing
 * saved frames back, whose redzones would not match.  Otherwise a no-op.
 */
void		 kstack_unpoison(const struct kstack *ks);

/*
 * Installs the SIGSEGV and SIGBUS handler that turns a guard-page hit into
 * a panic of the simulation whose thread overflowed, and any other fault
 * of a running simulated thread into a host fault of its simulation
 * (sched_host_fault()), and an alternate signal stack for the calling host
 * thread.  Idempotent; cheap after the first call.
 */
void		 kstack_guard_install(void);
void		 kstack_handler_check(void);

#endif /* !_KERN_STACK_H_ */
