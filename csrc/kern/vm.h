/*
 * The simulated VM: the page supply UMA draws from.
 *
 * Two limits, as in FreeBSD 7: physical pages (cnt.v_free_count, which
 * bucket_enable() reads) and kmem_map address space, allocated first fit
 * and contiguous.  All memory is one arena per simulation:
 *
 *	[ bss | boot pages | kmem_map | direct map (md_small_alloc only) ]
 *
 * The bss holds what FreeBSD kept in static variables (UMA's globals, the
 * kmemzones table), so that those live in simulated memory too: every
 * pointer to them is an arena address, and snapshots carry them.
 * with its base aligned to 2^32 bytes, so UMA_HASH picks the same chains in
 * every run.  Addresses leave the core as UMASIM_DISPLAY_BASE + offset.
 */
#ifndef _KERN_VM_H_
#define	_KERN_VM_H_

#include <stddef.h>
#include <stdint.h>

#define	PAGE_SHIFT	12
#define	PAGE_SIZE	(1 << PAGE_SHIFT)
#define	PAGE_MASK	(PAGE_SIZE - 1)

/* malloc(9) flags, FreeBSD 7 values */
#define	M_NOWAIT	0x0001
#define	M_WAITOK	0x0002
#define	M_ZERO		0x0100
#define	M_NOVM		0x0200
#define	M_USE_RESERVE	0x0400

#define	VM_ARENA_ALIGN	(1ULL << 32)
#define	VM_BSS_PAGES	16

struct sim;

/* One entry per arena page: what vtoslab()/vsetobj() see. */
struct vm_pgent {
	void		*pe_slab;
	void		*pe_object;
	uint8_t		pe_mapped;
};

struct vm_cnt {
	int64_t		v_free_count;
	int64_t		v_free_min;
	int64_t		v_wire_count;	/* pages handed out */
};

struct vmstate {
	struct vm_cnt	cnt;
	int64_t		bss_used;	/* bytes of the bss handed out */
	int64_t		boot_base;	/* first boot page */
	int64_t		boot_pages;
	int64_t		kmem_base;	/* first page of kmem_map */
	int64_t		kmem_pages;
	int64_t		kmem_used;	/* pages of kmem_map in use */
	uint8_t		*kmem_map;	/* one byte a page: in use */
	int64_t		dmap_base;	/* first page of the direct map */
	int64_t		dmap_pages;
	uint8_t		*dmap_map;
	int64_t		fail_next;	/* vm_fail: allocations left to fail */
	int		pages_needed;	/* someone sleeps in vmwait */
	int		pagedaemon_tid;	/* -1 without a pagedaemon */
	int		pagedaemon_wanted;
	char		pagedaemon_chan;
	struct vm_pgent	*pgtab;
	int64_t		npages;		/* arena pages */
	int64_t		kmem_hwm;	/* kmem_map pages ever used: 0 .. hwm-1 */
	int64_t		dmap_hwm;
	void		(*reclaim_hook)(void);
	/* addresses that stand for kmem_map, kernel_map and their objects */
	char		kmem_map_tag, kernel_map_tag;
	char		kmem_object_tag, kernel_object_tag;
};

int	vm_attach(struct sim *s, char *err, size_t errlen);
void	vm_detach(struct sim *s);

void	*kmem_malloc(void *map, size_t size, int flags);
void	kmem_free(void *map, void *addr, size_t size);
void	*kmem_alloc_nofault(void *map, size_t size);
void	*vm_small_alloc(int flags);
void	vm_small_free(void *addr);
int	vm_phys_take(int64_t n, int flags);
void	vm_phys_release(int64_t n);
void	*vm_boot_pages(int64_t *count);
void	*vm_bss_alloc(size_t size);
void	vm_boot_page_taken(void *page);

void	*vtoslab(uintptr_t va);
void	vsetslab(uintptr_t va, void *slab);
void	vsetobj(uintptr_t va, void *obj);

/* For vm_kern.c: the kmem_map's first fit, vmwait, the page_fail event. */
int64_t	vm_kva_find(const struct vmstate *vm, int64_t n);
void	vm_kva_mark(struct sim *s, int64_t first, int64_t n, uint8_t val);
char	*vm_kmem_addr(const struct sim *s, int64_t first);
int64_t	vm_kmem_index(const struct sim *s, const void *addr);
void	vm_wait(struct sim *s, int injected);
void	vm_page_fail_event(struct sim *s, int64_t n, int flags);

void	vm_set_free_pages(struct sim *s, int64_t n);
void	vm_set_fail(struct sim *s, int64_t n);
void	vm_set_reclaim_hook(struct sim *s, void (*hook)(void));
uint64_t vm_display(const struct sim *s, const void *p);
int	vm_pagedaemon_create(struct sim *s);
struct digest;
void	vm_digest(struct digest *d, const struct sim *s);

#endif /* !_KERN_VM_H_ */
