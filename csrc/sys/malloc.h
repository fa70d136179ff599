/*
 * malloc(9) of FreeBSD 7: power-of-two UMA_ZONE_MALLOC kmemzones from 16
 * to 4096 bytes, uma_large_malloc above.  The M_ flags live in
 * kern/vm.h beside the page allocator that reads them.
 */
#ifndef _SYS_MALLOC_H_
#define	_SYS_MALLOC_H_

#include "../kern/vm.h"

#define	M_MAGIC		877983977
#define	MALLOC_MAX_NAME	32

struct malloc_type {
	struct malloc_type *ks_next;
	unsigned long	ks_magic;
	const char	*ks_shortdesc;
	void		*ks_handle;
};

#define	MALLOC_DEFINE(type, shortdesc, longdesc)			\
	struct malloc_type type[1] = {					\
		{ NULL, M_MAGIC, shortdesc, NULL }			\
	}
#define	MALLOC_DECLARE(type)	extern struct malloc_type type[1]

MALLOC_DECLARE(M_TEMP);

void	*kern_malloc(unsigned long size, struct malloc_type *type, int flags);
void	kern_free(void *addr, struct malloc_type *type);
int	kmeminit(void);
int	kmem_zone_index(unsigned long size);
struct uma_zone *kmem_zone(int indx);

#define	malloc(size, type, flags)	kern_malloc((size), (type), (flags))
#define	free(addr, type)		kern_free((addr), (type))

#endif /* !_SYS_MALLOC_H_ */
