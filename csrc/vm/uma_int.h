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
 * uma_int.h -- UMA's private structures and constants, laid out as FreeBSD
 * 7 had them on amd64, so that kegs, zones, slabs and buckets have their
 * real sizes and geometry.
 */
#ifndef _VM_UMA_INT_H_
#define	_VM_UMA_INT_H_

#include "../sys/mutex.h"
#include "../sys/queue.h"
#include "uma.h"

#define	UMA_SLAB_SIZE	PAGE_SIZE
#define	UMA_SLAB_MASK	(PAGE_SIZE - 1)
#define	UMA_SLAB_SHIFT	PAGE_SHIFT

#define	UMA_BOOT_PAGES		48
#define	UMA_MAX_WASTE		(UMA_SLAB_SIZE / 10)
#define	UMA_HASH_SIZE_INIT	32

#define	UMA_HASH(h, s) ((((unsigned long)(s)) >> UMA_SLAB_SHIFT) &	\
    (h)->uh_hashmask)

#define	UMA_HASH_INSERT(h, s, mem)					\
	SLIST_INSERT_HEAD(&(h)->uh_slab_hash[UMA_HASH((h),		\
	    (mem))], (s), us_hlink)
#define	UMA_HASH_REMOVE(h, s, mem)					\
	SLIST_REMOVE(&(h)->uh_slab_hash[UMA_HASH((h),			\
	    (mem))], (s), uma_slab, us_hlink)

SLIST_HEAD(slabhead, uma_slab);

struct uma_hash {
	struct slabhead	*uh_slab_hash;
	int		uh_hashsize;
	int		uh_hashmask;
};

struct uma_bucket {
	LIST_ENTRY(uma_bucket)	ub_link;
	int16_t	ub_cnt;
	int16_t	ub_entries;
	void	*ub_bucket[];
};
typedef struct uma_bucket *uma_bucket_t;

struct uma_cache {
	uma_bucket_t	uc_freebucket;
	uma_bucket_t	uc_allocbucket;
	u_int64_t	uc_allocs;
	u_int64_t	uc_frees;
};
typedef struct uma_cache *uma_cache_t;

struct uma_keg {
	LIST_ENTRY(uma_keg)	uk_link;
	struct mtx	uk_lock;
	struct uma_hash	uk_hash;
	LIST_HEAD(,uma_zone)	uk_zones;
	LIST_HEAD(,uma_slab)	uk_part_slab;
	LIST_HEAD(,uma_slab)	uk_free_slab;
	LIST_HEAD(,uma_slab)	uk_full_slab;
	u_int32_t	uk_recurse;
	u_int32_t	uk_align;
	u_int32_t	uk_pages;
	u_int32_t	uk_free;
	u_int32_t	uk_size;
	u_int32_t	uk_rsize;
	u_int32_t	uk_maxpages;
	uma_init	uk_init;
	uma_fini	uk_fini;
	uma_alloc	uk_allocf;
	uma_free	uk_freef;
	struct vm_object	*uk_obj;
	vm_offset_t	uk_kva;
	uma_zone_t	uk_slabzone;
	u_int16_t	uk_pgoff;
	u_int16_t	uk_ppera;
	u_int16_t	uk_ipers;
	u_int32_t	uk_flags;
};
typedef struct uma_keg *uma_keg_t;

struct uma_slab_head {
	uma_keg_t	us_keg;
	union {
		LIST_ENTRY(uma_slab)	_us_link;
		unsigned long	_us_size;
	} us_type;
	SLIST_ENTRY(uma_slab)	us_hlink;
	u_int8_t	*us_data;
	u_int8_t	us_flags;
	u_int8_t	us_freecount;
	u_int8_t	us_firstfree;
};

struct uma_slab {
	struct uma_slab_head	us_head;
	struct {
		u_int8_t	us_item;
	} us_freelist[1];
};

struct uma_slab_refcnt {
	struct uma_slab_head	us_head;
	struct {
		u_int8_t	us_item;
		u_int32_t	us_refcnt;
	} us_freelist[1];
};

#define	us_keg		us_head.us_keg
#define	us_link		us_head.us_type._us_link
#define	us_size		us_head.us_type._us_size
#define	us_hlink	us_head.us_hlink
#define	us_data		us_head.us_data
#define	us_flags	us_head.us_flags
#define	us_freecount	us_head.us_freecount
#define	us_firstfree	us_head.us_firstfree

typedef struct uma_slab *uma_slab_t;
typedef struct uma_slab_refcnt *uma_slabrefcnt_t;

#define	UMA_FRITM_SZ	(sizeof(struct uma_slab) - sizeof(struct uma_slab_head))
#define	UMA_FRITMREF_SZ	(sizeof(struct uma_slab_refcnt) -		\
    sizeof(struct uma_slab_head))

struct uma_zone {
	char		*uz_name;
	struct mtx	*uz_lock;
	uma_keg_t	uz_keg;
	LIST_ENTRY(uma_zone)	uz_link;
	LIST_HEAD(,uma_bucket)	uz_full_bucket;
	LIST_HEAD(,uma_bucket)	uz_free_bucket;
	uma_ctor	uz_ctor;
	uma_dtor	uz_dtor;
	uma_init	uz_init;
	uma_fini	uz_fini;
	u_int64_t	uz_allocs;
	u_int64_t	uz_frees;
	u_int64_t	uz_fails;
	uint16_t	uz_fills;
	uint16_t	uz_count;
	struct uma_cache	uz_cpu[1];
};

/* Internal flags; they share uk_flags with the UMA_ZONE_* bits. */
#define	UMA_ZFLAG_PRIVALLOC	0x10000000
#define	UMA_ZFLAG_INTERNAL	0x20000000
#define	UMA_ZFLAG_FULL		0x40000000
#define	UMA_ZFLAG_CACHEONLY	0x80000000

/* The sizes of these structures in FreeBSD 7 on amd64. */
_Static_assert(sizeof(struct uma_slab_head) == 48, "uma_slab_head");
_Static_assert(sizeof(struct uma_slab) == 56, "uma_slab");
_Static_assert(sizeof(struct uma_slab_refcnt) == 56, "uma_slab_refcnt");
_Static_assert(sizeof(struct uma_bucket) == 24, "uma_bucket");
_Static_assert(sizeof(struct uma_cache) == 32, "uma_cache");
_Static_assert(sizeof(struct uma_keg) == 216, "uma_keg");
_Static_assert(sizeof(struct uma_zone) == 152, "uma_zone");

static __inline uma_slab_t
hash_sfind(struct uma_hash *hash, u_int8_t *data)
{
	uma_slab_t slab;
	int hval;

	hval = UMA_HASH(hash, data);
	SLIST_FOREACH(slab, &hash->uh_slab_hash[hval], us_hlink) {
		if ((u_int8_t *)slab->us_data == data)
			return (slab);
	}
	return (NULL);
}

#define	ZONE_LOCK_INIT(z, lc)						\
	do {								\
		if ((lc))						\
			mtx_init((z)->uz_lock, (z)->uz_name,		\
			    (z)->uz_name, MTX_DEF | MTX_DUPOK);		\
		else							\
			mtx_init((z)->uz_lock, (z)->uz_name,		\
			    "UMA zone", MTX_DEF | MTX_DUPOK);		\
	} while (0)
#define	ZONE_LOCK_FINI(z)	mtx_destroy((z)->uz_lock)
/* The simulator: taking the lock is an action on the keg (UMA_TOUCH, uma_sim.h). */
#define	ZONE_LOCK(z) do {						\
	mtx_lock((z)->uz_lock);						\
	UMA_TOUCH((z)->uz_keg);						\
} while (0)
#define	ZONE_UNLOCK(z)	mtx_unlock((z)->uz_lock)

/* The machine-dependent direct-map allocator (md_small_alloc). */
void	*uma_small_alloc(uma_zone_t zone, int bytes, u_int8_t *flags, int wait);
void	uma_small_free(void *mem, int size, u_int8_t flags);

/* Large malloc(9) requests. */
void	*uma_large_malloc(int size, int wait);
void	uma_large_free(uma_slab_t slab);

#endif /* !_VM_UMA_INT_H_ */
