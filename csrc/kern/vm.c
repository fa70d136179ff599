/*
 * The simulated VM: arena, physical pages, kmem_map (its first-fit map;
 * kmem_malloc and kmem_free are in vm_kern.c), the per-page table, vmwait,
 * faults and the pagedaemon.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kern.h"
#include "vm.h"

#define	VM_CHAN(s)	((const void *)&(s)->st.vm.cnt.v_free_count)

/* Reserves the arena: page-aligned, base aligned to VM_ARENA_ALIGN. */
static char *
arena_map(size_t len)
{
	char *p, *a;
	size_t slack;

	p = mmap(NULL, len + VM_ARENA_ALIGN, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return (NULL);
	a = (char *)(((uintptr_t)p + VM_ARENA_ALIGN - 1) &
	    ~(uintptr_t)(VM_ARENA_ALIGN - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	slack = (size_t)((p + len + VM_ARENA_ALIGN) - (a + len));
	if (slack > 0)
		munmap(a + len, slack);
	return (a);
}

/*
 * Arenas are pooled: a new simulation takes a retired arena of the same
 * size, whose pages are already faulted in (a fresh arena costs a page
 * fault for every boot page UMA writes).  A retired arena is zeroed where
 * it was ever written, so a simulation never sees another's data.
 */
#define	ARENA_POOL_MAX	8

static pthread_mutex_t	arena_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	char	*base;
	size_t	len;
}			arena_pool[ARENA_POOL_MAX];
static int		arena_pool_n;

static char *
arena_get(size_t len)
{
	char *p = NULL;
	int i;

	pthread_mutex_lock(&arena_pool_lock);
	for (i = 0; i < arena_pool_n; i++) {
		if (arena_pool[i].len == len) {
			p = arena_pool[i].base;
			arena_pool[i] = arena_pool[--arena_pool_n];
			break;
		}
	}
	pthread_mutex_unlock(&arena_pool_lock);
	return (p != NULL ? p : arena_map(len));
}

static void
arena_put(struct sim *s)
{
	struct vmstate *vm = &s->st.vm;
	int pooled = 0;

	memset(s->arena, 0, (size_t)vm->kmem_base * PAGE_SIZE);
	memset(s->arena + vm->kmem_base * PAGE_SIZE, 0,
	    (size_t)vm->kmem_hwm * PAGE_SIZE);
	memset(s->arena + vm->dmap_base * PAGE_SIZE, 0,
	    (size_t)vm->dmap_hwm * PAGE_SIZE);
	pthread_mutex_lock(&arena_pool_lock);
	if (arena_pool_n < ARENA_POOL_MAX) {
		arena_pool[arena_pool_n].base = s->arena;
		arena_pool[arena_pool_n].len = s->arena_len;
		arena_pool_n++;
		pooled = 1;
	}
	pthread_mutex_unlock(&arena_pool_lock);
	if (!pooled)
		munmap(s->arena, s->arena_len);
}

int
vm_attach(struct sim *s, char *err, size_t errlen)
{
	struct vmstate *vm = &s->st.vm;
	const struct umasim_config *c = &s->st.cfg;

	vm->boot_base = VM_BSS_PAGES;
	vm->boot_pages = c->boot_pages;
	vm->kmem_base = vm->boot_base + c->boot_pages;
	vm->kmem_pages = c->kmem_pages;
	vm->dmap_base = vm->kmem_base + vm->kmem_pages;
	vm->dmap_pages = c->md_small_alloc ? c->pages : 0;
	vm->npages = vm->dmap_base + vm->dmap_pages;
	vm->cnt.v_free_count = c->pages;
	vm->cnt.v_free_min = c->free_min;
	vm->pagedaemon_tid = -1;
	s->arena_len = (size_t)vm->npages * PAGE_SIZE;
	s->arena = arena_get(s->arena_len);
	vm->kmem_map = calloc((size_t)vm->kmem_pages + 1, 1);
	vm->dmap_map = calloc((size_t)vm->dmap_pages + 1, 1);
	vm->pgtab = calloc((size_t)vm->npages + 1, sizeof(struct vm_pgent));
	if (s->arena == NULL || vm->kmem_map == NULL || vm->dmap_map == NULL ||
	    vm->pgtab == NULL) {
		snprintf(err, errlen, "cannot reserve the arena (%lld pages)",
		    (long long)vm->npages);
		return (-1);
	}
	return (0);
}

void
vm_detach(struct sim *s)
{

	if (s->arena != NULL)
		arena_put(s);
	s->arena = NULL;
	free(s->st.vm.kmem_map);
	free(s->st.vm.dmap_map);
	free(s->st.vm.pgtab);
}

uint64_t
vm_display(const struct sim *s, const void *p)
{
	uint64_t a;

	return (arena_contains(s, p, &a) ? a : 0);
}

static inline char *
page_addr(const struct sim *s, int64_t page)
{

	return (s->arena + page * PAGE_SIZE);
}

static int64_t
page_index(const struct sim *s, uintptr_t va)
{
	uintptr_t base = (uintptr_t)s->arena;

	if (va < base || va >= base + s->arena_len)
		panic("vm: address %#llx is not in the arena",
		    (unsigned long long)va);
	return ((int64_t)((va - base) >> PAGE_SHIFT));
}

void *
vm_boot_pages(int64_t *count)
{
	struct sim *s = cursim;

	*count = s->st.vm.boot_pages;
	return (page_addr(s, s->st.vm.boot_base));
}

/* A boot page went into use (startup_alloc): snapshots copy it whole. */
void
vm_boot_page_taken(void *page)
{
	struct sim *s = cursim;

	s->st.vm.pgtab[page_index(s, (uintptr_t)page)].pe_mapped = 1;
}

/* Static storage of the simulated kernel, handed out in boot order. */
void *
vm_bss_alloc(size_t size)
{
	struct sim *s = cursim;
	void *p;

	size = (size + 63) & ~(size_t)63;
	if (s->st.vm.bss_used + (int64_t)size > VM_BSS_PAGES * PAGE_SIZE)
		panic("vm_bss_alloc: the simulated bss is full");
	p = s->arena + s->st.vm.bss_used;
	s->st.vm.bss_used += (int64_t)size;
	return (p);
}

/* ---- physical pages ---------------------------------------------------- */

static void
pagedaemon_wakeup(struct sim *s)
{
	struct vmstate *vm = &s->st.vm;

	if (vm->pagedaemon_tid < 0 || vm->pagedaemon_wanted)
		return;
	vm->pagedaemon_wanted = 1;
	wakeup_internal(s, &vm->pagedaemon_chan, 0);
}

/* Free pages rose: wake the vmwait sleepers once the threshold is met. */
static void
vm_free_wakeup(struct sim *s)
{
	struct vmstate *vm = &s->st.vm;
	int64_t thresh;
	int n;

	thresh = vm->cnt.v_free_min > 1 ? vm->cnt.v_free_min : 1;
	if (vm->pages_needed && vm->cnt.v_free_count >= thresh) {
		vm->pages_needed = 0;
		/* b: how many woke, as for wakeup(9) */
		n = wakeup_internal(s, VM_CHAN(s), 0);
		if (n > 0 && s->st.trace_level >= UMASIM_TRACE_FULL)
			ev_record(s, EVK_WAKEUP, (int64_t)kern_canon(s,
			    VM_CHAN(s)), n);
	}
}

/*
 * Takes n physical pages, or none: a pending vm_fail fault, or too few
 * free pages, fails the whole request.
 */
int
vm_phys_take(int64_t n, int flags)
{
	struct sim *s = cursim;
	struct vmstate *vm = &s->st.vm;

	(void)flags;
	fp_note(FPK_VM, 1);
	if (vm->fail_next > 0) {
		vm->fail_next--;
		return (0);
	}
	if (vm->cnt.v_free_count < n)
		return (0);
	vm->cnt.v_free_count -= n;
	vm->cnt.v_wire_count += n;
	if (vm->cnt.v_free_count < vm->cnt.v_free_min)
		pagedaemon_wakeup(s);
	return (1);
}

void
vm_phys_release(int64_t n)
{
	struct sim *s = cursim;

	fp_note(FPK_VM, 1);
	s->st.vm.cnt.v_free_count += n;
	s->st.vm.cnt.v_wire_count -= n;
	vm_free_wakeup(s);
	if (ORACLE_ON(s))
		oracle_pages_freed(s);
}

/*
 * VM_WAIT: sleep in "vmwait" until free pages return (or, after an
 * injected failure, for one tick), and wake the pagedaemon on the way.
 */
void
vm_wait(struct sim *s, int injected)
{
	struct kthread *td = s->st.curthread;

	s->st.vm.pages_needed = 1;
	pagedaemon_wakeup(s);
	/* A race window when UMA sleeps here with the zone unlocked. */
	cov_win_open_inner(W_VMWAIT);
	sleep_internal(td, VM_CHAN(s), NULL, 0, "vmwait", injected ? 1 : 0);
	cov_win_close(W_VMWAIT);
}

void
vm_page_fail_event(struct sim *s, int64_t n, int flags)
{

	if (s->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(s, EVK_PAGE_FAIL, n, flags);
}

/* ---- kmem_map ---------------------------------------------------------- */

/* First fit of n contiguous pages in kmem_map; -1 if there is no room. */
int64_t
vm_kva_find(const struct vmstate *vm, int64_t n)
{
	int64_t i, run;

	run = 0;
	for (i = 0; i < vm->kmem_pages; i++) {
		run = vm->kmem_map[i] ? 0 : run + 1;
		if (run == n)
			return (i - n + 1);
	}
	return (-1);
}

void
vm_kva_mark(struct sim *s, int64_t first, int64_t n, uint8_t val)
{
	struct vmstate *vm = &s->st.vm;
	int64_t i;

	for (i = 0; i < n; i++) {
		vm->kmem_map[first + i] = val;
		memset(&vm->pgtab[vm->kmem_base + first + i], 0,
		    sizeof(struct vm_pgent));
		vm->pgtab[vm->kmem_base + first + i].pe_mapped = val;
	}
	vm->kmem_used += val ? n : -n;
	if (first + n > vm->kmem_hwm)
		vm->kmem_hwm = first + n;
}

/* The address of kmem_map's page 'first', and the kmem_map page of 'addr'. */
char *
vm_kmem_addr(const struct sim *s, int64_t first)
{

	return (page_addr(s, s->st.vm.kmem_base + first));
}

int64_t
vm_kmem_index(const struct sim *s, const void *addr)
{

	return (page_index(s, (uintptr_t)addr) - s->st.vm.kmem_base);
}

/* ---- the direct map (md_small_alloc) ------------------------------------ */

void *
vm_small_alloc(int flags)
{
	struct sim *s = cursim;
	struct vmstate *vm = &s->st.vm;
	int64_t i;
	int injected;
	char *p;

	sched_point(PT_PAGE_ALLOC);
	fp_note(FPK_VM, 1);
	for (;;) {
		injected = vm->fail_next > 0;
		if (vm_phys_take(1, flags))
			break;
		vm_page_fail_event(s, 1, flags);
		if (flags & M_NOWAIT)
			return (NULL);
		vm_wait(s, injected);
	}
	for (i = 0; i < vm->dmap_pages && vm->dmap_map[i]; i++)
		;
	if (i == vm->dmap_pages)
		panic("vm_small_alloc: direct map exhausted");
	vm->dmap_map[i] = 1;
	if (i + 1 > vm->dmap_hwm)
		vm->dmap_hwm = i + 1;
	memset(&vm->pgtab[vm->dmap_base + i], 0, sizeof(struct vm_pgent));
	vm->pgtab[vm->dmap_base + i].pe_mapped = 1;
	p = page_addr(s, vm->dmap_base + i);
	memset(p, 0, PAGE_SIZE);
	s->st.curthread->td_acts++;
	if (s->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(s, EVK_PAGE_ALLOC, (int64_t)vm_display(s, p), 1);
	return (p);
}

void
vm_small_free(void *addr)
{
	struct sim *s = cursim;
	struct vmstate *vm = &s->st.vm;
	int64_t i;

	sched_point(PT_PAGE_FREE);
	fp_note(FPK_VM, 1);
	i = page_index(s, (uintptr_t)addr) - vm->dmap_base;
	if (((uintptr_t)addr & PAGE_MASK) != 0 || i < 0 ||
	    i >= vm->dmap_pages || !vm->dmap_map[i])
		panic("vm_small_free: %#llx is not an allocated direct-map page",
		    (unsigned long long)vm_display(s, addr));
	if (s->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(s, EVK_PAGE_FREE, (int64_t)vm_display(s, addr), 1);
	vm->dmap_map[i] = 0;
	memset(&vm->pgtab[vm->dmap_base + i], 0, sizeof(struct vm_pgent));
	s->st.curthread->td_acts++;
	vm_phys_release(1);
}

/* ---- the per-page table -------------------------------------------------- */

void *
vtoslab(uintptr_t va)
{
	struct sim *s = cursim;

	fp_note(FPK_VM, 0);
	return (s->st.vm.pgtab[page_index(s, va)].pe_slab);
}

void
vsetslab(uintptr_t va, void *slab)
{
	struct sim *s = cursim;

	fp_note(FPK_VM, 1);
	s->st.vm.pgtab[page_index(s, va)].pe_slab = slab;
}

void
vsetobj(uintptr_t va, void *obj)
{
	struct sim *s = cursim;

	fp_note(FPK_VM, 1);
	/* As FreeBSD's: the page stops being a slab page (PG_SLAB cleared). */
	s->st.vm.pgtab[page_index(s, va)].pe_object = obj;
	s->st.vm.pgtab[page_index(s, va)].pe_slab = NULL;
}

/* ---- faults (program operations) ----------------------------------------- */

void
vm_set_free_pages(struct sim *s, int64_t n)
{
	struct vmstate *vm = &s->st.vm;
	int64_t old = vm->cnt.v_free_count;

	fp_note(FPK_VM, 1);
	/* The direct map has no room for pages beyond the configured ones. */
	if (vm->dmap_pages > 0 && n > vm->dmap_pages - vm->cnt.v_wire_count)
		n = vm->dmap_pages - vm->cnt.v_wire_count;
	vm->cnt.v_free_count = n;
	if (s->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(s, EVK_FAULT, 0, n);
	if (n > old)
		vm_free_wakeup(s);
	else if (n < vm->cnt.v_free_min)
		pagedaemon_wakeup(s);
}

void
vm_set_fail(struct sim *s, int64_t n)
{

	fp_note(FPK_VM, 1);
	s->st.vm.fail_next = n;
	if (s->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(s, EVK_FAULT, 1, n);
}

void
vm_set_reclaim_hook(struct sim *s, void (*hook)(void))
{

	s->st.vm.reclaim_hook = hook;
}

/* ---- the pagedaemon -------------------------------------------------------- */

static void
pagedaemon_main(struct kthread *td)
{
	struct sim *s = cursim;
	struct vmstate *vm = &s->st.vm;

	for (;;) {
		if (!vm->pagedaemon_wanted) {
			sleep_internal(td, &vm->pagedaemon_chan, NULL, 0,
			    "psleep", 0);
			continue;
		}
		vm->pagedaemon_wanted = 0;
		sched_point(PT_PAGEDAEMON);
		td->td_acts++;
		td->td_busy = 1;
		if (vm->reclaim_hook != NULL)
			vm->reclaim_hook();
		td->td_busy = 0;
		td->td_acts++;
		/*
		 * No wakeup of vmwait sleepers here: pages the reclaim freed
		 * woke them already, and waking them when it freed nothing
		 * would only send a sleeper whose request needs more pages
		 * than are free back to sleep, waking this daemon again,
		 * forever.
		 */
	}
}

int
vm_pagedaemon_create(struct sim *s)
{
	struct kthread *td;

	td = thread_create(s, "pagedaemon", 0, 1, pagedaemon_main);
	if (td == NULL)
		return (-1);
	sched_set_asleep(s, td, &s->st.vm.pagedaemon_chan, "psleep");
	s->st.vm.pagedaemon_tid = td->td_tid;
	return (0);
}

/* ---- digest ---------------------------------------------------------------- */

void
vm_digest(struct digest *d, const struct sim *s)
{
	const struct vmstate *vm = &s->st.vm;
	int64_t i;

	dg_u64(d, (uint64_t)vm->cnt.v_free_count);
	dg_u64(d, (uint64_t)vm->cnt.v_free_min);
	dg_u64(d, (uint64_t)vm->cnt.v_wire_count);
	dg_u64(d, (uint64_t)vm->kmem_used);
	dg_u64(d, (uint64_t)vm->fail_next);
	dg_u64(d, (uint64_t)vm->pages_needed);
	dg_u64(d, (uint64_t)vm->pagedaemon_wanted);
	dg_bytes(d, vm->kmem_map, (size_t)vm->kmem_pages);
	dg_bytes(d, vm->dmap_map, (size_t)vm->dmap_pages);
	for (i = 0; i < vm->npages; i++) {
		if (!vm->pgtab[i].pe_mapped && vm->pgtab[i].pe_slab == NULL)
			continue;
		dg_u64(d, (uint64_t)i);
		dg_ptr(d, s, vm->pgtab[i].pe_slab);
		dg_ptr(d, s, vm->pgtab[i].pe_object);
		dg_u64(d, vm->pgtab[i].pe_mapped);
	}
}
