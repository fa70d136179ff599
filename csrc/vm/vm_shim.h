/*
 * The slice of FreeBSD's VM interfaces that uma_core.c calls -- kmem_map,
 * VM objects and pages, pmap_qenter -- mapped onto the simulated VM of
 * csrc/kern/vm.c.  Names and signatures are FreeBSD 7's.
 */
#ifndef _VM_VM_SHIM_H_
#define	_VM_VM_SHIM_H_

#include "../sys/param.h"
#include "../kern/kern.h"

typedef void *vm_map_t;
#define	kmem_map	((vm_map_t)&cursim->st.vm.kmem_map_tag)
#define	kernel_map	((vm_map_t)&cursim->st.vm.kernel_map_tag)

struct vm_object;
struct vm_page {
	vm_pindex_t	pindex;
	struct vm_object *object;
};
typedef struct vm_page *vm_page_t;

struct vm_object;
struct vm_memq {
	struct vm_object *mq_object;
};

/* A VM object's resident pages are indexes 0 .. resident-1. */
struct vm_object {
	struct vm_memq	memq;
	vm_pindex_t	size;
	int		resident;
	struct vm_page	*pages;
};
typedef struct vm_object *vm_object_t;

#define	kmem_object	((vm_object_t)&cursim->st.vm.kmem_object_tag)
#define	kernel_object	((vm_object_t)&cursim->st.vm.kernel_object_tag)

#define	OBJT_DEFAULT		0
#define	VM_ALLOC_INTERRUPT	1
#define	VM_ALLOC_WIRED		0x20

vm_object_t	vm_object_allocate(int type, vm_pindex_t size);
void		_vm_object_allocate(int type, vm_pindex_t size,
		    vm_object_t object);
vm_page_t	vm_page_alloc(vm_object_t object, vm_pindex_t pindex,
		    int req);
void		vm_page_free(vm_page_t m);
vm_page_t	vm_memq_last(struct vm_memq *q);
void		pmap_qenter(vm_offset_t va, vm_page_t *m, int count);
void		pmap_qremove(vm_offset_t va, int count);

#define	TAILQ_LAST(head, headname)	vm_memq_last(head)
#define	VM_OBJECT_LOCK(o)		((void)(o))
#define	VM_OBJECT_UNLOCK(o)		((void)(o))
#define	VM_OBJECT_LOCK_INIT(o, n)	((void)(o))
#define	vm_page_lock_queues()		((void)0)
#define	vm_page_unlock_queues()		((void)0)
#define	vm_page_unwire(m, q)		((void)(m))

/* kmem_malloc and friends take and return addresses as vm_offset_t. */
#define	kmem_malloc(map, size, flags)					\
	((vm_offset_t)(kmem_malloc)((map), (size), (flags)))
#define	kmem_free(map, addr, size)					\
	(kmem_free)((map), (void *)(addr), (size))
#define	kmem_alloc_nofault(map, size)					\
	((vm_offset_t)(kmem_alloc_nofault)((map), (size)))

#endif /* !_VM_VM_SHIM_H_ */
