/*-
 * Copyright (c) 2002, 2003, 2004, 2005 Jeffrey Roberson <jeff@FreeBSD.org>
 * Copyright (c) 2004, 2005 Bosko Milekic <bmilekic@FreeBSD.org>
 * All rights reserved.
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions
 * are met:
 * 1. Redistributions of source code must retain the above copyright
 *    notice unmodified, this list of conditions, and the following
 *    disclaimer.
 * 2. Redistributions in binary form must reproduce the above copyright
 *    notice, this list of conditions and the following disclaimer in the
 *    documentation and/or other materials provided with the distribution.
 *
 * THIS SOFTWARE IS PROVIDED BY THE AUTHOR ``AS IS'' AND ANY EXPRESS OR
 * IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES
 * OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED.
 * IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR ANY DIRECT, INDIRECT,
 * INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT
 * NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE,
 * DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY
 * THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT
 * (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF
 * THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
 */

/*
 * uma.h -- the public interface of the UMA zone allocator, as FreeBSD 7
 * had it (types, flags, alignment masks, statistics stream), for the port
 * that runs on the simulated kernel.
 */
#ifndef _VM_UMA_H_
#define	_VM_UMA_H_

#include "../sys/param.h"

#define	UMA_SMALLEST_UNIT	(PAGE_SIZE / 256)

struct uma_zone;
typedef struct uma_zone *uma_zone_t;

typedef int (*uma_ctor)(void *mem, int size, void *arg, int flags);
typedef void (*uma_dtor)(void *mem, int size, void *arg);
typedef int (*uma_init)(void *mem, int size, int flags);
typedef void (*uma_fini)(void *mem, int size);
typedef void *(*uma_alloc)(uma_zone_t zone, int size, u_int8_t *pflag,
    int wait);
typedef void (*uma_free)(void *item, int size, u_int8_t pflag);

/* Zone flags (uma_zcreate). */
#define	UMA_ZONE_PAGEABLE	0x0001
#define	UMA_ZONE_ZINIT		0x0002
#define	UMA_ZONE_STATIC		0x0004
#define	UMA_ZONE_OFFPAGE	0x0008
#define	UMA_ZONE_MALLOC		0x0010
#define	UMA_ZONE_NOFREE		0x0020
#define	UMA_ZONE_MTXCLASS	0x0040
#define	UMA_ZONE_VM		0x0080
#define	UMA_ZONE_HASH		0x0100
#define	UMA_ZONE_SECONDARY	0x0200
#define	UMA_ZONE_REFCNT		0x0400
#define	UMA_ZONE_MAXBUCKET	0x0800

/* Alignment masks. */
#define	UMA_ALIGN_PTR	(sizeof(void *) - 1)
#define	UMA_ALIGN_LONG	(sizeof(long) - 1)
#define	UMA_ALIGN_INT	(sizeof(int) - 1)
#define	UMA_ALIGN_SHORT	(sizeof(short) - 1)
#define	UMA_ALIGN_CHAR	(sizeof(char) - 1)
#define	UMA_ALIGN_CACHE	(0 - 1)

/* Back-end page flags (us_flags). */
#define	UMA_SLAB_BOOT	0x01
#define	UMA_SLAB_KMEM	0x02
#define	UMA_SLAB_KERNEL	0x04
#define	UMA_SLAB_PRIV	0x08
#define	UMA_SLAB_OFFP	0x10
#define	UMA_SLAB_MALLOC	0x20

struct vm_object;

uma_zone_t uma_zcreate(char *name, size_t size, uma_ctor ctor, uma_dtor dtor,
	    uma_init uminit, uma_fini fini, int align, u_int32_t flags);
uma_zone_t uma_zsecond_create(char *name, uma_ctor ctor, uma_dtor dtor,
	    uma_init zinit, uma_fini zfini, uma_zone_t master);
void	uma_zdestroy(uma_zone_t zone);
void	*uma_zalloc_arg(uma_zone_t zone, void *arg, int flags);
void	uma_zfree_arg(uma_zone_t zone, void *item, void *arg);

static __inline void *
uma_zalloc(uma_zone_t zone, int flags)
{

	return (uma_zalloc_arg(zone, NULL, flags));
}

static __inline void
uma_zfree(uma_zone_t zone, void *item)
{

	uma_zfree_arg(zone, item, NULL);
}

void	uma_startup(void *bootmem, int boot_pages);
void	uma_startup2(void);
void	uma_startup3(void);
void	uma_reclaim(void);
void	uma_set_align(int align);
void	zone_drain(uma_zone_t zone);
int	uma_zone_set_obj(uma_zone_t zone, struct vm_object *obj, int size);
void	uma_zone_set_max(uma_zone_t zone, int nitems);
void	uma_zone_set_init(uma_zone_t zone, uma_init uminit);
void	uma_zone_set_fini(uma_zone_t zone, uma_fini fini);
void	uma_zone_set_zinit(uma_zone_t zone, uma_init zinit);
void	uma_zone_set_zfini(uma_zone_t zone, uma_fini zfini);
void	uma_zone_set_allocf(uma_zone_t zone, uma_alloc allocf);
void	uma_zone_set_freef(uma_zone_t zone, uma_free freef);
void	uma_prealloc(uma_zone_t zone, int itemcnt);
u_int32_t *uma_find_refcnt(uma_zone_t zone, void *item);
int	uma_zone_exhausted(uma_zone_t zone);
int	uma_zone_exhausted_nolock(uma_zone_t zone);
void	uma_print_stats(void);
void	uma_print_zone(uma_zone_t zone);

/* The statistics stream of the vm.zone_stats sysctl. */
#define	UMA_STREAM_VERSION	0x00000001
struct uma_stream_header {
	u_int32_t	ush_version;
	u_int32_t	ush_maxcpus;
	u_int32_t	ush_count;
	u_int32_t	_ush_pad;
};

#define	UTH_MAX_NAME		32
#define	UTH_ZONE_SECONDARY	0x00000001
struct uma_type_header {
	char		uth_name[UTH_MAX_NAME];
	u_int32_t	uth_align;
	u_int32_t	uth_size;
	u_int32_t	uth_rsize;
	u_int32_t	uth_maxpages;
	u_int32_t	uth_limit;
	u_int32_t	uth_pages;
	u_int32_t	uth_keg_free;
	u_int32_t	uth_zone_free;
	u_int32_t	uth_bucketsize;
	u_int32_t	uth_zone_flags;
	u_int64_t	uth_allocs;
	u_int64_t	uth_frees;
	u_int64_t	uth_fails;
	u_int64_t	_uth_reserved1[3];
};

struct uma_percpu_stat {
	u_int64_t	ups_allocs;
	u_int64_t	ups_frees;
	u_int64_t	ups_cache_free;
	u_int64_t	_ups_reserved[5];
};

_Static_assert(sizeof(struct uma_stream_header) == 16, "ush");
_Static_assert(sizeof(struct uma_type_header) == 120, "uth");
_Static_assert(sizeof(struct uma_percpu_stat) == 64, "ups");

int	sysctl_vm_zone_count(int *count);
int	sysctl_vm_zone_stats(void *out, size_t *len);
void	db_show_uma(void);

#endif /* !_VM_UMA_H_ */
