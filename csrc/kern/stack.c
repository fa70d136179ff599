/*
 * Stack pool and guard-page handling.
 *
 * Under valgrind every stack is registered (VALGRIND_STACK_REGISTER) so that
 * memcheck knows a switch to it is a stack switch.  This needs
 * <valgrind/valgrind.h> (Debian: valgrind) at build time: used when it is
 * there, or required with -DUMASIM_VALGRIND, or left out with
 * -DUMASIM_NO_VALGRIND.  Outside valgrind a client request costs a few
 * instructions, once per stack mapped.
 *
 * Under AddressSanitizer the guard page works only if ASan lets us have
 * SIGSEGV: run with ASAN_OPTIONS=allow_user_segv_handler=1 (faults that are
 * not ours still go on to ASan's handler); otherwise ASan reports an
 * overflow as its own "stack-overflow" and ends the process.
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kern.h"
#include "stack.h"

#ifdef UMASIM_ASAN			/* from ctx.h */
#include <sanitizer/asan_interface.h>
#endif

#if !defined(UMASIM_VALGRIND) && !defined(UMASIM_NO_VALGRIND) && \
    defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#define	UMASIM_VALGRIND	1
#endif
#endif
#ifdef UMASIM_VALGRIND
#include <valgrind/valgrind.h>
#include <valgrind/memcheck.h>
#define	KSTACK_VG_REGISTER(ks)	((ks)->ks_vgid = VALGRIND_STACK_REGISTER(\
	(ks)->ks_base, (ks)->ks_base + (ks)->ks_size))
#define	KSTACK_VG_DEREGISTER(ks) VALGRIND_STACK_DEREGISTER((ks)->ks_vgid)
/*
 * Memory of a stack that is about to be written as plain memory -- a new
 * thread's first frame, frames a restore puts back -- may lie below where
 * the stack pointer last was, which memcheck keeps as no longer
 * addressable: it is made addressable (undefined) first.  With another
 * colour, a new thread's first frame can lie where an earlier thread's
 * frames were; a restored frame, below a stop that came later.
 */
#define	KSTACK_VG_WRITABLE(p, len) ((void)VALGRIND_MAKE_MEM_UNDEFINED(	\
	(p), (len)))
#else
#define	KSTACK_VG_REGISTER(ks)	((ks)->ks_vgid = 0)
#define	KSTACK_VG_DEREGISTER(ks) ((void)(ks))
#define	KSTACK_VG_WRITABLE(p, len) ((void)(p), (void)(len))
#endif

#ifdef UMASIM_SANITIZE
#define	KSTACK_SIZE	(1024 * 1024)	/* sanitizers need deep frames */
#else
#define	KSTACK_SIZE	(256 * 1024)
#endif
#define	KSTACK_GUARD	4096
#define	KSTACK_COLOR_STEP	576	/* 9 cache lines */
#define	KSTACK_COLOR_SPAN	4096	/* a page: 64 colours */
#define	KSTACK_POOL_MAX	256

static pthread_mutex_t	kstack_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kstack	*kstack_pool;
static int		 kstack_pool_count;

struct kstack *
kstack_alloc(void)
{
	struct kstack *ks;
	char *p;

	pthread_mutex_lock(&kstack_pool_lock);
	ks = kstack_pool;
	if (ks != NULL) {
		kstack_pool = ks->ks_next;
		kstack_pool_count--;
	}
	pthread_mutex_unlock(&kstack_pool_lock);
	if (ks != NULL) {
		ks->ks_size = ks->ks_len;	/* no colour yet */
		return (ks);
	}

	ks = calloc(1, sizeof(*ks));
	if (ks == NULL)
		return (NULL);
	p = mmap(NULL, KSTACK_SIZE + KSTACK_GUARD, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		free(ks);
		return (NULL);
	}
	if (mprotect(p, KSTACK_GUARD, PROT_NONE) != 0) {
		munmap(p, KSTACK_SIZE + KSTACK_GUARD);
		free(ks);
		return (NULL);
	}
	ks->ks_guard = p;
	ks->ks_base = p + KSTACK_GUARD;
	ks->ks_size = KSTACK_SIZE;
	ks->ks_len = KSTACK_SIZE;
	KSTACK_VG_REGISTER(ks);
	return (ks);
}

void
kstack_free(struct kstack *ks)
{

	if (ks == NULL)
		return;
	pthread_mutex_lock(&kstack_pool_lock);
	if (kstack_pool_count < KSTACK_POOL_MAX) {
		ks->ks_next = kstack_pool;
		kstack_pool = ks;
		kstack_pool_count++;
		ks = NULL;
	}
	pthread_mutex_unlock(&kstack_pool_lock);
	if (ks != NULL) {
		/*
		 * Frames that never returned (finished, panicked or faulted
		 * threads) leave redzones in the shadow; memory mapped here
		 * later (CPython's arenas) would inherit them.
		 */
		kstack_unpoison(ks);
		KSTACK_VG_DEREGISTER(ks);
		munmap(ks->ks_guard, ks->ks_len + KSTACK_GUARD);
		free(ks);
	}
}

void
kstack_color(struct kstack *ks, int slot)
{

	ks->ks_size = ks->ks_len - ((size_t)slot * KSTACK_COLOR_STEP) %
	    KSTACK_COLOR_SPAN;
	KSTACK_VG_WRITABLE(ks->ks_base, ks->ks_len);
}

void
kstack_will_write(const struct kstack *ks, size_t off, size_t len)
{

	(void)ks;
	KSTACK_VG_WRITABLE(ks->ks_base + off, len);
}

int
kstack_in_guard(const struct kstack *ks, const void *addr)
{
	uintptr_t a = (uintptr_t)addr, g = (uintptr_t)ks->ks_guard;

	return (a >= g && a < g + KSTACK_GUARD);
}

void
kstack_unpoison(const struct kstack *ks)
{

#ifdef UMASIM_ASAN
	ASAN_UNPOISON_MEMORY_REGION(ks->ks_base, ks->ks_len);
#else
	(void)ks;
#endif
}

static struct sigaction	kstack_old_segv, kstack_old_bus;
static pthread_once_t	kstack_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t	kstack_handler_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread volatile sig_atomic_t kstack_passing;
static __thread int	kstack_altstack_done;
static pthread_key_t	kstack_altstack_key;
static int		kstack_altstack_key_ok;

/*
 * SIGSEGV and SIGBUS.  A fault while a simulated thread runs on this host
 * thread (kern_on_thread: between the host side's switch to the thread
 * and its return) ends that simulation and goes back to its scheduler: a
 * hit in the thread's guard page is a stack overflow (a panic), anything
 * else a host fault (outcome "host_fault").  The handler never returns
 * then: it switches to the host side from the signal stack (SA_NODEFER
 * leaves the signal unblocked, and the kernel knows the signal stack is
 * free again by the stack pointer alone).  Any other fault belongs to
 * whoever handled the signal before us (Python's faulthandler) or gets
 * the default action, re-raised.
 */
static void
kstack_fault(int sig, siginfo_t *si, void *uc)
{
	struct sim *s = cursim;
	struct kthread *td;
	struct sigaction *old;

	if (kern_on_thread && s != NULL && (td = s->st.curthread) != NULL &&
	    td->td_stack != NULL) {
		/* A fault while handling this one is not ours. */
		kern_on_thread = 0;
#ifdef UMASIM_ASAN
		/*
		 * This handler's frames are abandoned on the signal stack,
		 * redzones and all; the next overflow would run into them
		 * (GCC 12's __asan_handle_no_return trips over them before
		 * it unpoisons anything).  Clear them first.
		 */
		stack_t cur;

		if (sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_ONSTACK))
			ASAN_UNPOISON_MEMORY_REGION(cur.ss_sp, cur.ss_size);
#endif
		if (sig == SIGSEGV && kstack_in_guard(td->td_stack, si->si_addr))
			sched_overflow(s, td);		/* does not return */
		sched_host_fault(s, td, sig, si->si_addr); /* nor this */
	}
	/*
	 * Not ours: the handler we displaced has it, once.  If that one
	 * hands the signal back to us (faulthandler restores the handler it
	 * displaced, which may be this one, and re-raises), the default
	 * action ends it rather than a ping-pong between the two.
	 */
	old = sig == SIGBUS ? &kstack_old_bus : &kstack_old_segv;
	if (!kstack_passing) {
		kstack_passing = 1;
		if (old->sa_flags & SA_SIGINFO) {
			if (old->sa_sigaction != NULL) {
				old->sa_sigaction(sig, si, uc);
				kstack_passing = 0;
				return;
			}
		} else if (old->sa_handler != SIG_DFL &&
		    old->sa_handler != SIG_IGN) {
			old->sa_handler(sig);
			kstack_passing = 0;
			return;
		}
		kstack_passing = 0;
	}
	/* Default action: re-raise with the default disposition. */
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * A host thread that ends takes its alternate signal stack with it, if it
 * still is the one we gave it.
 */
static void
kstack_altstack_release(void *mem)
{
	stack_t cur, off;

	if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == mem &&
	    !(cur.ss_flags & SS_DISABLE)) {
		memset(&off, 0, sizeof(off));
		off.ss_flags = SS_DISABLE;
		if (sigaltstack(&off, NULL) != 0)
			return;		/* still in use: keep it */
	}
	free(mem);
}

static int
kstack_handler_is_ours(int sig)
{
	struct sigaction cur;

	return (sigaction(sig, NULL, &cur) == 0 &&
	    (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == kstack_fault);
}

/* Install kstack_fault for sig, keeping the handler it displaces. */
static void
kstack_take_signal(int sig, struct sigaction *old)
{
	struct sigaction sa, prev;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = kstack_fault;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &prev) != 0)
		return;
	if (!((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction == kstack_fault))
		*old = prev;
}

static void
kstack_install_handler(void)
{

	kstack_altstack_key_ok = pthread_key_create(&kstack_altstack_key,
	    kstack_altstack_release) == 0;
	pthread_mutex_lock(&kstack_handler_lock);
	kstack_take_signal(SIGSEGV, &kstack_old_segv);
	kstack_take_signal(SIGBUS, &kstack_old_bus);
	pthread_mutex_unlock(&kstack_handler_lock);
}

/*
 * Someone may have installed a handler of their own since (Python's
 * faulthandler.enable() after the first simulation, for one): take the
 * signals back, keeping theirs as the handler of faults that are not a
 * simulated thread's.  Costs a system call per signal, so it is done at
 * the entry points that run many steps, not at each single step.
 */
void
kstack_handler_check(void)
{

	if (kstack_handler_is_ours(SIGSEGV) && kstack_handler_is_ours(SIGBUS))
		return;
	pthread_mutex_lock(&kstack_handler_lock);
	if (!kstack_handler_is_ours(SIGSEGV))
		kstack_take_signal(SIGSEGV, &kstack_old_segv);
	if (!kstack_handler_is_ours(SIGBUS))
		kstack_take_signal(SIGBUS, &kstack_old_bus);
	pthread_mutex_unlock(&kstack_handler_lock);
}

void
kstack_guard_install(void)
{
	stack_t cur, ss;
	size_t sz;

	if (kstack_altstack_done)
		return;
	pthread_once(&kstack_once, kstack_install_handler);
	kstack_altstack_done = 1;
	if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE) &&
	    cur.ss_size >= 16384)
		return;		/* someone (faulthandler) gave us one */
	sz = 65536;
	ss.ss_sp = malloc(sz);		/* freed when the host thread ends */
	if (ss.ss_sp == NULL)
		return;
	ss.ss_size = sz;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) != 0) {
		free(ss.ss_sp);
		return;
	}
	if (kstack_altstack_key_ok)
		pthread_setspecific(kstack_altstack_key, ss.ss_sp);
}

int
umasim_on_valgrind(void)
{

#ifdef UMASIM_VALGRIND
	return (RUNNING_ON_VALGRIND != 0);
#else
	return (0);
#endif
}
