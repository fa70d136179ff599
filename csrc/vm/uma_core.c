/*-
 * Copyright (c) 2002, 2003, 2004, 2005 Jeffrey Roberson <jeff@FreeBSD.org>
 * Copyright (c) 2004, 2005 Bosko Milekic <bmilekic@FreeBSD.org>
 * Copyright (c) 2004-2006 Robert N. M. Watson
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
 * The UMA zone allocator of FreeBSD 7 (sys/vm/uma_core.c, by Jeffrey
 * Roberson, Bosko Milekic and Robert Watson), ported onto umasim's
 * simulated kernel.
 *
 * Every function of the original is here, with its name, its structures
 * and its control flow, so that each branch of the original can be found and
 * watched in the simulator.  The differences, all listed in
 * docs/deviations.md, are of three kinds:
 *
 *  - what the original kept in static variables belongs to a simulation
 *    here: it lives in struct uma_globals, in the simulated bss, and the
 *    old names are macros onto it;
 *  - compile-time options are run-time properties of the simulation:
 *    INVARIANTS (cfg.invariants) and UMA_MD_SMALL_ALLOC (md_small_alloc);
 *  - the simulator adds preemption points (UMA_POINT), trace events
 *    (UMA_EVENT) and the known-bug switches (UMA_BUG), none of which
 *    changes what the code does.
 *
 * A slab/magazine allocator in brief: a keg owns slabs (one or more pages
 * cut into items); a zone hands items out through per-CPU caches of two
 * buckets each (alloc and free), refilled from and drained to the zone's
 * lists of full and empty buckets, which in turn are filled from the keg's
 * slabs under the zone lock.
 */

#include "../sys/param.h"
#include "../sys/systm.h"
#include "../sys/malloc.h"
#include "../sys/mutex.h"
#include "../sys/queue.h"
#include "../sys/vmmeter.h"
#include "uma.h"
#include "uma_int.h"
#include "uma_dbg.h"
#include "uma_sim.h"
#include "vm_shim.h"

struct uma_bucket_zone {
	uma_zone_t	ubz_zone;
	char		*ubz_name;
	int		ubz_entries;
};

#define	BUCKET_MAX	128
#define	BUCKET_SHIFT	4
#define	BUCKET_ZONES	((BUCKET_MAX >> BUCKET_SHIFT) + 1)

/* What FreeBSD kept in this file's static variables, per simulation. */
struct uma_globals {
	struct uma_keg	ug_masterkeg;
	struct uma_zone	ug_masterzone_k;
	struct uma_zone	ug_masterzone_z;
	uma_zone_t	ug_kegs;
	uma_zone_t	ug_zones;
	uma_zone_t	ug_slabzone;
	uma_zone_t	ug_slabrefzone;
	uma_zone_t	ug_hashzone;
	int		ug_uma_align_cache;
	int		ug_bucketdisable;
	LIST_HEAD(,uma_keg)	ug_uma_kegs;
	struct mtx	ug_uma_mtx;
	LIST_HEAD(,uma_slab)	ug_uma_boot_pages;
	struct mtx	ug_uma_boot_pages_mtx;
	int		ug_booted;
	u_int		ug_uma_max_ipers;
	u_int		ug_uma_max_ipers_ref;
	struct callout	ug_uma_callout;
	struct uma_bucket_zone	ug_bucket_zones[5];
	uint8_t		ug_bucket_size[BUCKET_ZONES];
};

#define	UG		((struct uma_globals *)cursim->st.uma)
#define	masterkeg	(UG->ug_masterkeg)
#define	masterzone_k	(UG->ug_masterzone_k)
#define	masterzone_z	(UG->ug_masterzone_z)
#define	kegs		(UG->ug_kegs)
#define	zones		(UG->ug_zones)
#define	slabzone	(UG->ug_slabzone)
#define	slabrefzone	(UG->ug_slabrefzone)
#define	hashzone	(UG->ug_hashzone)
#define	uma_align_cache	(UG->ug_uma_align_cache)
#define	bucketdisable	(UG->ug_bucketdisable)
#define	uma_kegs	(UG->ug_uma_kegs)
#define	uma_mtx		(UG->ug_uma_mtx)
#define	uma_boot_pages	(UG->ug_uma_boot_pages)
#define	uma_boot_pages_mtx (UG->ug_uma_boot_pages_mtx)
#define	booted		(UG->ug_booted)
#define	uma_max_ipers	(UG->ug_uma_max_ipers)
#define	uma_max_ipers_ref (UG->ug_uma_max_ipers_ref)
#define	uma_callout	(UG->ug_uma_callout)
#define	bucket_zones	(UG->ug_bucket_zones)
#define	bucket_size	(UG->ug_bucket_size)

#define	UMA_TIMEOUT	20		/* seconds between uma_timeout runs */
#define	UMA_MD_SMALL_ALLOC	(cursim->st.cfg.md_small_alloc)

static MALLOC_DEFINE(M_UMAHASH, "UMAHash", "UMA Hash Buckets");

/* The zone ctor's argument, so zones need no allocator of their own. */
struct uma_zctor_args {
	char		*name;
	size_t		size;
	uma_ctor	ctor;
	uma_dtor	dtor;
	uma_init	uminit;
	uma_fini	fini;
	uma_keg_t	keg;
	int		align;
	u_int32_t	flags;
};

struct uma_kctor_args {
	uma_zone_t	zone;
	size_t		size;
	uma_init	uminit;
	uma_fini	fini;
	int		align;
	u_int32_t	flags;
};

enum zfreeskip { SKIP_NONE, SKIP_DTOR, SKIP_FINI };

#define	ZFREE_STATFAIL	0x00000001	/* count a failure */
#define	ZFREE_STATFREE	0x00000002	/* count a free */

static void *obj_alloc(uma_zone_t, int, u_int8_t *, int);
static void *page_alloc(uma_zone_t, int, u_int8_t *, int);
static void *startup_alloc(uma_zone_t, int, u_int8_t *, int);
static void page_free(void *, int, u_int8_t);
static uma_slab_t slab_zalloc(uma_zone_t, int);
static void cache_drain(uma_zone_t);
static void bucket_drain(uma_zone_t, uma_bucket_t);
static void bucket_cache_drain(uma_zone_t zone);
static int keg_ctor(void *, int, void *, int);
static void keg_dtor(void *, int, void *);
static int zone_ctor(void *, int, void *, int);
static void zone_dtor(void *, int, void *);
static int zero_init(void *, int, int);
static void zone_small_init(uma_zone_t zone);
static void zone_large_init(uma_zone_t zone);
static void zone_foreach(void (*zfunc)(uma_zone_t));
static void zone_timeout(uma_zone_t zone);
static int hash_alloc(struct uma_hash *);
static int hash_expand(struct uma_hash *, struct uma_hash *);
static void hash_free(struct uma_hash *hash);
static void uma_timeout(void *);
static void *uma_zalloc_internal(uma_zone_t, void *, int);
static void uma_zfree_internal(uma_zone_t, void *, void *, enum zfreeskip,
    int);
static void bucket_enable(void);
static void bucket_init(void);
static uma_bucket_t bucket_alloc(int, int);
static void bucket_free(uma_bucket_t);
static void bucket_zone_drain(void);
static int uma_zalloc_bucket(uma_zone_t zone, int flags);
static uma_slab_t uma_zone_slab(uma_zone_t zone, int flags);
static void *uma_slab_alloc(uma_zone_t zone, uma_slab_t slab);
static uma_zone_t uma_kcreate(uma_zone_t zone, size_t size, uma_init uminit,
    uma_fini fini, int align, u_int32_t flags);

/*
 * Buckets may be handed out only while free pages are at or above the
 * pagedaemon's minimum (and, at boot, not before uma_startup2 says so).
 */
static void
bucket_enable(void)
{
	if (cnt.v_free_count < cnt.v_free_min)
		bucketdisable = 1;
	else
		bucketdisable = 0;
}

/*
 * Creates the four bucket zones and fills bucket_size[], which maps a
 * wanted bucket size (in steps of 16 entries) to the smallest zone whose
 * buckets hold that many.
 */
static void
bucket_init(void)
{
	struct uma_bucket_zone *ubz;
	int i;
	int j;

	for (i = 0, j = 0; bucket_zones[j].ubz_entries != 0; j++) {
		int size;

		ubz = &bucket_zones[j];
		size = roundup(sizeof(struct uma_bucket), sizeof(void *));
		size += sizeof(void *) * ubz->ubz_entries;
		ubz->ubz_zone = uma_zcreate(ubz->ubz_name, size,
		    NULL, NULL, NULL, NULL, UMA_ALIGN_PTR, UMA_ZFLAG_INTERNAL);
		for (; i <= ubz->ubz_entries; i += (1 << BUCKET_SHIFT))
			bucket_size[i >> BUCKET_SHIFT] = j;
	}
}

/* The bucket zone for buckets of 'entries' items. */
static struct uma_bucket_zone *
bucket_zone_lookup(int entries)
{
	int idx;

	idx = howmany(entries, 1 << BUCKET_SHIFT);
	return (&bucket_zones[bucket_size[idx]]);
}

static uma_bucket_t
bucket_alloc(int entries, int bflags)
{
	struct uma_bucket_zone *ubz;
	uma_bucket_t bucket;

	/*
	 * No buckets while boot pages are all we have, nor when memory is
	 * short: a bucket is memory that holds no items of its own.
	 */
	if (bucketdisable)
		return (NULL);

	ubz = bucket_zone_lookup(entries);
	bucket = uma_zalloc_internal(ubz->ubz_zone, NULL, bflags);
	if (bucket) {
		if (INVARIANTS_ON)
			bzero(bucket->ub_bucket, sizeof(void *) *
			    ubz->ubz_entries);
		bucket->ub_cnt = 0;
		bucket->ub_entries = ubz->ubz_entries;
		UMA_EVENT(EVK_BUCKET_ALLOC, bucket, ubz->ubz_entries);
	}

	return (bucket);
}

static void
bucket_free(uma_bucket_t bucket)
{
	struct uma_bucket_zone *ubz;

	UMA_EVENT(EVK_BUCKET_FREE, bucket, bucket->ub_entries);
	ubz = bucket_zone_lookup(bucket->ub_entries);
	uma_zfree_internal(ubz->ubz_zone, bucket, NULL, SKIP_NONE,
	    ZFREE_STATFREE);
}

static void
bucket_zone_drain(void)
{
	struct uma_bucket_zone *ubz;

	for (ubz = &bucket_zones[0]; ubz->ubz_entries != 0; ubz++)
		zone_drain(ubz->ubz_zone);
}

/*
 * The periodic callout (every UMA_TIMEOUT seconds of virtual time, on
 * softclock): re-decide whether buckets are allowed, and let every zone
 * grow its hash table.
 */
static void
uma_timeout(void *unused)
{
	(void)unused;
	bucket_enable();
	zone_foreach(zone_timeout);

	callout_reset(&uma_callout, UMA_TIMEOUT * hz, uma_timeout, NULL);
}

/*
 * Grows a HASH keg's table once it has as many slabs as chains.  The new
 * table is allocated, and the old one freed, with the zone lock dropped
 * (allocating under it could deadlock), so the keg may have changed in
 * between: hash_expand() only succeeds into a bigger table.
 */
static void
zone_timeout(uma_zone_t zone)
{
	uma_keg_t keg;
	u_int64_t alloc;

	keg = zone->uz_keg;
	alloc = 0;
	(void)alloc;

	ZONE_LOCK(zone);
	if (keg->uk_flags & UMA_ZONE_HASH &&
	    keg->uk_pages / keg->uk_ppera >= keg->uk_hash.uh_hashsize) {
		struct uma_hash newhash;
		struct uma_hash oldhash;
		int ret;

		newhash = keg->uk_hash;
		ZONE_UNLOCK(zone);
		UMA_WINDOW_OPEN(HASH_ALLOC);
		UMA_POINT(PT_ZONE_TIMEOUT_HASH_ALLOC);
		ret = hash_alloc(&newhash);
		ZONE_LOCK(zone);
		UMA_WINDOW_CLOSE(HASH_ALLOC);
		if (ret) {
			if (hash_expand(&keg->uk_hash, &newhash)) {
				oldhash = keg->uk_hash;
				keg->uk_hash = newhash;
			} else
				oldhash = newhash;

			ZONE_UNLOCK(zone);
			UMA_WINDOW_OPEN(HASH_FREE);
			UMA_POINT(PT_ZONE_TIMEOUT_HASH_FREE);
			hash_free(&oldhash);
			ZONE_LOCK(zone);
			UMA_WINDOW_CLOSE(HASH_FREE);
		}
	}
	ZONE_UNLOCK(zone);
}

/*
 * A zeroed table twice the size of the one described by 'hash' (or the
 * first one, from hashzone).  Returns 1 on success.
 */
static int
hash_alloc(struct uma_hash *hash)
{
	int oldsize;
	int alloc;

	oldsize = hash->uh_hashsize;

	if (oldsize)  {
		hash->uh_hashsize = oldsize * 2;
		alloc = sizeof(hash->uh_slab_hash[0]) * hash->uh_hashsize;
		hash->uh_slab_hash = (struct slabhead *)malloc(alloc,
		    M_UMAHASH, M_NOWAIT);
	} else {
		alloc = sizeof(hash->uh_slab_hash[0]) * UMA_HASH_SIZE_INIT;
		hash->uh_slab_hash = uma_zalloc_internal(hashzone, NULL,
		    M_WAITOK);
		hash->uh_hashsize = UMA_HASH_SIZE_INIT;
	}
	if (hash->uh_slab_hash) {
		bzero(hash->uh_slab_hash, alloc);
		hash->uh_hashmask = hash->uh_hashsize - 1;
		return (1);
	}

	return (0);
}

/* Rehashes every slab of 'oldhash' into the bigger 'newhash'. */
static int
hash_expand(struct uma_hash *oldhash, struct uma_hash *newhash)
{
	uma_slab_t slab;
	int hval;
	int i;

	if (!newhash->uh_slab_hash)
		return (0);

	if (oldhash->uh_hashsize >= newhash->uh_hashsize)
		return (0);

	for (i = 0; i < oldhash->uh_hashsize; i++)
		while (!SLIST_EMPTY(&oldhash->uh_slab_hash[i])) {
			slab = SLIST_FIRST(&oldhash->uh_slab_hash[i]);
			SLIST_REMOVE_HEAD(&oldhash->uh_slab_hash[i], us_hlink);
			hval = UMA_HASH(newhash, slab->us_data);
			SLIST_INSERT_HEAD(&newhash->uh_slab_hash[hval],
			    slab, us_hlink);
		}

	return (1);
}

/* A table goes back where it came from: hashzone or malloc(9). */
static void
hash_free(struct uma_hash *hash)
{
	if (hash->uh_slab_hash == NULL)
		return;
	if (hash->uh_hashsize == UMA_HASH_SIZE_INIT)
		uma_zfree_internal(hashzone,
		    hash->uh_slab_hash, NULL, SKIP_NONE, ZFREE_STATFREE);
	else
		free(hash->uh_slab_hash, M_UMAHASH);
}

/*
 * Returns every item of 'bucket' to its slab.  The zone must be unlocked.
 * Buckets do not remember slabs, so MALLOC zones look each one up again.
 */
static void
bucket_drain(uma_zone_t zone, uma_bucket_t bucket)
{
	uma_slab_t slab;
	int mzone;
	void *item;

	if (bucket == NULL)
		return;

	slab = NULL;
	mzone = 0;

	if (zone->uz_keg->uk_flags & UMA_ZONE_MALLOC)
		mzone = 1;

	while (bucket->ub_cnt > 0)  {
		bucket->ub_cnt--;
		item = bucket->ub_bucket[bucket->ub_cnt];
		if (INVARIANTS_ON) {
			bucket->ub_bucket[bucket->ub_cnt] = NULL;
			KASSERT(item != NULL,
			    ("bucket_drain: botched ptr, item is NULL"));
		}
		if (mzone)
			slab = vtoslab((vm_offset_t)item & (~UMA_SLAB_MASK));
		uma_zfree_internal(zone, item, slab, SKIP_DTOR, 0);
	}
}

/*
 * Empties every CPU's cache of a zone.  Only for a zone being torn down:
 * the caches are touched from this CPU without their critical sections.
 */
static void
cache_drain(uma_zone_t zone)
{
	uma_cache_t cache;
	int cpu;

	for (cpu = 0; cpu <= mp_maxid; cpu++) {
		if (CPU_ABSENT(cpu))
			continue;
		cache = &zone->uz_cpu[cpu];
		bucket_drain(zone, cache->uc_allocbucket);
		bucket_drain(zone, cache->uc_freebucket);
		if (cache->uc_allocbucket != NULL)
			bucket_free(cache->uc_allocbucket);
		if (cache->uc_freebucket != NULL)
			bucket_free(cache->uc_freebucket);
		cache->uc_allocbucket = cache->uc_freebucket = NULL;
	}
	ZONE_LOCK(zone);
	bucket_cache_drain(zone);
	ZONE_UNLOCK(zone);
}

/*
 * Frees the zone's cached buckets, full ones after draining their items.
 * Called and returns with the zone locked, but drops the lock around each
 * full bucket's drain.
 */
static void
bucket_cache_drain(uma_zone_t zone)
{
	uma_bucket_t bucket;

	while ((bucket = LIST_FIRST(&zone->uz_full_bucket)) != NULL) {
		LIST_REMOVE(bucket, ub_link);
		ZONE_UNLOCK(zone);
		UMA_WINDOW_OPEN(BUCKET_CACHE_DRAIN);
		UMA_POINT(PT_BUCKET_CACHE_DRAIN_UNLOCKED);
		bucket_drain(zone, bucket);
		if (UMA_BUG(BUG_DRAIN_LEAK))
			;	/* the emptied bucket is lost */
		else
			bucket_free(bucket);
		ZONE_LOCK(zone);
		UMA_WINDOW_CLOSE(BUCKET_CACHE_DRAIN);
	}

	while ((bucket = LIST_FIRST(&zone->uz_free_bucket)) != NULL) {
		LIST_REMOVE(bucket, ub_link);
		if (UMA_BUG(BUG_DRAIN_LEAK))
			;	/* the empty bucket is lost */
		else
			bucket_free(bucket);
	}
}

/*
 * Gives the keg's free slabs back to the VM (the pagedaemon's way of
 * reclaiming memory), after draining the zone's bucket cache into them.
 * Per-CPU caches are left alone.
 */
void
zone_drain(uma_zone_t zone)
{
	struct slabhead freeslabs = { 0 };
	uma_keg_t keg;
	uma_slab_t slab;
	uma_slab_t n;
	u_int8_t flags;
	u_int8_t *mem;
	int i;

	keg = zone->uz_keg;

	/* Statically sized kegs, and kegs with nowhere to return pages. */
	if (keg->uk_flags & UMA_ZONE_NOFREE || keg->uk_freef == NULL)
		return;

	ZONE_LOCK(zone);

	bucket_cache_drain(zone);
	if (keg->uk_free == 0)
		goto finished;

	slab = LIST_FIRST(&keg->uk_free_slab);
	while (slab) {
		n = LIST_NEXT(slab, us_link);

		/* Boot pages cannot go back to the VM. */
		if (slab->us_flags & UMA_SLAB_BOOT) {
			slab = n;
			continue;
		}

		LIST_REMOVE(slab, us_link);
		keg->uk_pages -= keg->uk_ppera;
		keg->uk_free -= keg->uk_ipers;

		if (keg->uk_flags & UMA_ZONE_HASH)
			UMA_HASH_REMOVE(&keg->uk_hash, slab, slab->us_data);

		SLIST_INSERT_HEAD(&freeslabs, slab, us_hlink);

		slab = n;
	}
finished:
	ZONE_UNLOCK(zone);

	while ((slab = SLIST_FIRST(&freeslabs)) != NULL) {
		SLIST_REMOVE(&freeslabs, slab, uma_slab, us_hlink);
		if (keg->uk_fini)
			for (i = 0; i < keg->uk_ipers; i++) {
				UMA_POINT(PT_FINI_DRAIN);
				keg->uk_fini(
				    slab->us_data + (keg->uk_rsize * i),
				    keg->uk_size);
			}
		flags = slab->us_flags;
		mem = slab->us_data;
		UMA_EVENT(EVK_SLAB_FREE, mem, keg->uk_ppera);

		if ((keg->uk_flags & UMA_ZONE_MALLOC) ||
		    (keg->uk_flags & UMA_ZONE_REFCNT)) {
			vm_object_t obj;

			if (flags & UMA_SLAB_KMEM)
				obj = kmem_object;
			else if (flags & UMA_SLAB_KERNEL)
				obj = kernel_object;
			else
				obj = NULL;
			for (i = 0; i < keg->uk_ppera; i++)
				vsetobj((vm_offset_t)mem + (i * PAGE_SIZE),
				    obj);
		}
		if (keg->uk_flags & UMA_ZONE_OFFPAGE)
			uma_zfree_internal(keg->uk_slabzone, slab, NULL,
			    SKIP_NONE, ZFREE_STATFREE);
		keg->uk_freef(mem, UMA_SLAB_SIZE * keg->uk_ppera, flags);
	}
}

/*
 * A new slab for the zone's keg, not yet on any list.  Called with the
 * zone locked; drops the lock while it allocates pages and runs the keg's
 * init on every item, and takes it back before returning.  NULL when
 * there is no memory (M_NOWAIT) or an init failed.
 */
static uma_slab_t
slab_zalloc(uma_zone_t zone, int wait)
{
	uma_slabrefcnt_t slabref;
	uma_slab_t slab;
	uma_keg_t keg;
	u_int8_t *mem;
	u_int8_t flags;
	int i;

	slab = NULL;
	keg = zone->uz_keg;

	ZONE_UNLOCK(zone);
	UMA_WINDOW_OPEN(SLAB_ZALLOC);
	UMA_ORACLE(oracle_flight_enter(cursim));
	UMA_POINT(PT_SLAB_ZALLOC_UNLOCKED);

	if (keg->uk_flags & UMA_ZONE_OFFPAGE) {
		slab = uma_zalloc_internal(keg->uk_slabzone, NULL, wait);
		if (slab == NULL) {
			ZONE_LOCK(zone);
			UMA_WINDOW_CLOSE(SLAB_ZALLOC);
			return NULL;
		}
	}

	/*
	 * New pages of ordinary zones come zeroed (the old vm_zone habit);
	 * malloc(9) zeroes its items itself when asked.
	 */
	if ((keg->uk_flags & UMA_ZONE_MALLOC) == 0)
		wait |= M_ZERO;
	else
		wait &= ~M_ZERO;

	mem = keg->uk_allocf(zone, keg->uk_ppera * UMA_SLAB_SIZE,
	    &flags, wait);
	if (mem == NULL) {
		if (keg->uk_flags & UMA_ZONE_OFFPAGE)
			uma_zfree_internal(keg->uk_slabzone, slab, NULL,
			    SKIP_NONE, ZFREE_STATFREE);
		ZONE_LOCK(zone);
		UMA_WINDOW_CLOSE(SLAB_ZALLOC);
		return (NULL);
	}

	/* An in-page header sits at uk_pgoff. */
	if (!(keg->uk_flags & UMA_ZONE_OFFPAGE))
		slab = (uma_slab_t )(mem + keg->uk_pgoff);
	uma_sim_check_offpage(keg, slab);
	uma_sim_check_hash(keg);

	if ((keg->uk_flags & UMA_ZONE_MALLOC) ||
	    (keg->uk_flags & UMA_ZONE_REFCNT))
		for (i = 0; i < keg->uk_ppera; i++)
			vsetslab((vm_offset_t)mem + (i * PAGE_SIZE), slab);

	slab->us_keg = keg;
	slab->us_data = mem;
	slab->us_freecount = keg->uk_ipers;
	slab->us_firstfree = 0;
	slab->us_flags = flags;

	if (keg->uk_flags & UMA_ZONE_REFCNT) {
		slabref = (uma_slabrefcnt_t)slab;
		for (i = 0; i < keg->uk_ipers; i++) {
			slabref->us_freelist[i].us_refcnt = 0;
			slabref->us_freelist[i].us_item = i+1;
		}
	} else {
		for (i = 0; i < keg->uk_ipers; i++)
			slab->us_freelist[i].us_item = i+1;
	}

	if (keg->uk_init != NULL) {
		for (i = 0; i < keg->uk_ipers; i++) {
			UMA_POINT(PT_INIT_SLAB);
			if (keg->uk_init(slab->us_data + (keg->uk_rsize * i),
			    keg->uk_size, wait) != 0)
				break;
		}
		if (i != keg->uk_ipers) {
			/* Undo: fini what was inited, give the pages back. */
			if (keg->uk_fini != NULL) {
				for (i--; i > -1; i--) {
					UMA_POINT(PT_FINI_SLAB);
					keg->uk_fini(slab->us_data +
					    (keg->uk_rsize * i),
					    keg->uk_size);
				}
			}
			if ((keg->uk_flags & UMA_ZONE_MALLOC) ||
			    (keg->uk_flags & UMA_ZONE_REFCNT)) {
				vm_object_t obj;

				if (flags & UMA_SLAB_KMEM)
					obj = kmem_object;
				else if (flags & UMA_SLAB_KERNEL)
					obj = kernel_object;
				else
					obj = NULL;
				for (i = 0; i < keg->uk_ppera; i++)
					vsetobj((vm_offset_t)mem +
					    (i * PAGE_SIZE), obj);
			}
			if (keg->uk_flags & UMA_ZONE_OFFPAGE)
				uma_zfree_internal(keg->uk_slabzone, slab,
				    NULL, SKIP_NONE, ZFREE_STATFREE);
			keg->uk_freef(mem, UMA_SLAB_SIZE * keg->uk_ppera,
			    flags);
			ZONE_LOCK(zone);
			UMA_WINDOW_CLOSE(SLAB_ZALLOC);
			return (NULL);
		}
	}
	ZONE_LOCK(zone);
	UMA_WINDOW_CLOSE(SLAB_ZALLOC);

	if (keg->uk_flags & UMA_ZONE_HASH)
		UMA_HASH_INSERT(&keg->uk_hash, slab, mem);

	keg->uk_pages += keg->uk_ppera;
	keg->uk_free += keg->uk_ipers;
	UMA_EVENT(EVK_SLAB_ALLOC, mem, keg->uk_ppera);
	UMA_ORACLE(uma_oracle_slab_alloc(keg));

	return (slab);
}

/*
 * The back end of single-page kegs made before the VM is up: pages from
 * the boot list.  When they run out after boot, the keg switches to its
 * real back end for good.
 */
static void *
startup_alloc(uma_zone_t zone, int bytes, u_int8_t *pflag, int wait)
{
	uma_keg_t keg;
	uma_slab_t tmps;

	keg = zone->uz_keg;

	mtx_lock(&uma_boot_pages_mtx);
	if ((tmps = LIST_FIRST(&uma_boot_pages)) != NULL) {
		LIST_REMOVE(tmps, us_link);
		mtx_unlock(&uma_boot_pages_mtx);
		*pflag = tmps->us_flags;
		vm_boot_page_taken(tmps->us_data);
		return (tmps->us_data);
	}
	mtx_unlock(&uma_boot_pages_mtx);
	if (booted == 0)
		panic("UMA: Increase vm.boot_pages");
	if (UMA_MD_SMALL_ALLOC)
		keg->uk_allocf = uma_small_alloc;
	else
		keg->uk_allocf = page_alloc;
	return keg->uk_allocf(zone, bytes, pflag, wait);
}

/* Pages from kmem_map. */
static void *
page_alloc(uma_zone_t zone, int bytes, u_int8_t *pflag, int wait)
{
	void *p;

	(void)zone;
	*pflag = UMA_SLAB_KMEM;
	p = (void *) kmem_malloc(kmem_map, bytes, wait);

	return (p);
}

/*
 * Pages from the keg's private VM object, at the address range reserved by
 * uma_zone_set_obj(), one page at a time; all or none.
 */
static void *
obj_alloc(uma_zone_t zone, int bytes, u_int8_t *flags, int wait)
{
	vm_object_t object;
	vm_offset_t retkva, zkva;
	vm_page_t p;
	int pages, startpages;

	(void)wait;
	object = zone->uz_keg->uk_obj;
	retkva = 0;

	VM_OBJECT_LOCK(object);
	p = TAILQ_LAST(&object->memq, pglist);
	pages = p != NULL ? p->pindex + 1 : 0;
	startpages = pages;
	zkva = zone->uz_keg->uk_kva + pages * PAGE_SIZE;
	for (; bytes > 0; bytes -= PAGE_SIZE) {
		p = vm_page_alloc(object, pages,
		    VM_ALLOC_INTERRUPT | VM_ALLOC_WIRED);
		if (p == NULL) {
			if (pages != startpages)
				pmap_qremove(retkva, pages - startpages);
			while (pages != startpages) {
				pages--;
				p = TAILQ_LAST(&object->memq, pglist);
				vm_page_lock_queues();
				vm_page_unwire(p, 0);
				vm_page_free(p);
				vm_page_unlock_queues();
			}
			retkva = 0;
			goto done;
		}
		pmap_qenter(zkva, &p, 1);
		if (retkva == 0)
			retkva = zkva;
		zkva += PAGE_SIZE;
		pages += 1;
	}
done:
	VM_OBJECT_UNLOCK(object);
	*flags = UMA_SLAB_PRIV;

	return ((void *)retkva);
}

/* Pages back to kmem_map; nothing else is a valid page_free() source. */
static void
page_free(void *mem, int size, u_int8_t flags)
{
	vm_map_t map;

	if (flags & UMA_SLAB_KMEM)
		map = kmem_map;
	else
		panic("UMA: page_free used with invalid flags %d\n", flags);

	kmem_free(map, (vm_offset_t)mem, size);
}

/* The init of UMA_ZONE_ZINIT kegs, and of the kegs/zones zones. */
static int
zero_init(void *mem, int size, int flags)
{
	(void)flags;
	bzero(mem, size);
	return (0);
}

/*
 * Geometry of a keg whose items fit a single page: the rounded item size,
 * items per slab with the header in the page, and -- when that wastes a
 * tenth of the page or more and the header could move out -- OFFPAGE
 * headers (and a hash to find them, unless malloc(9) finds them through
 * vtoslab).
 */
static void
zone_small_init(uma_zone_t zone)
{
	uma_keg_t keg;
	u_int rsize;
	u_int memused;
	u_int wastedspace;
	u_int shsize;

	keg = zone->uz_keg;
	KASSERT(keg != NULL, ("Keg is null in zone_small_init"));
	rsize = keg->uk_size;

	if (rsize < UMA_SMALLEST_UNIT)
		rsize = UMA_SMALLEST_UNIT;
	if (rsize & keg->uk_align)
		rsize = (rsize & ~keg->uk_align) + (keg->uk_align + 1);

	keg->uk_rsize = rsize;
	keg->uk_ppera = 1;

	if (keg->uk_flags & UMA_ZONE_REFCNT) {
		rsize += UMA_FRITMREF_SZ;	/* free-list entry and refcnt */
		shsize = sizeof(struct uma_slab_refcnt);
	} else {
		rsize += UMA_FRITM_SZ;		/* free-list entry */
		shsize = sizeof(struct uma_slab);
	}

	keg->uk_ipers = (UMA_SLAB_SIZE - shsize) / rsize;
	KASSERT(keg->uk_ipers != 0, ("zone_small_init: ipers is 0"));
	memused = keg->uk_ipers * rsize + shsize;
	wastedspace = UMA_SLAB_SIZE - memused;

	/*
	 * Internal and cache-only kegs must not take their headers from
	 * slabzone: that could send them to the VM, which they avoid.
	 */
	if ((keg->uk_flags & UMA_ZFLAG_INTERNAL) ||
	    (keg->uk_flags & UMA_ZFLAG_CACHEONLY))
		return;

	if ((wastedspace >= UMA_MAX_WASTE) &&
	    (keg->uk_ipers < (UMA_SLAB_SIZE / keg->uk_rsize))) {
		keg->uk_ipers = UMA_SLAB_SIZE / keg->uk_rsize;
		KASSERT(keg->uk_ipers <= 255,
		    ("zone_small_init: keg->uk_ipers too high!"));
		keg->uk_flags |= UMA_ZONE_OFFPAGE;
		if ((keg->uk_flags & UMA_ZONE_MALLOC) == 0)
			keg->uk_flags |= UMA_ZONE_HASH;
	}
}

/*
 * Geometry of a keg whose items span pages: one item per slab, the header
 * always off the page.
 */
static void
zone_large_init(uma_zone_t zone)
{
	uma_keg_t keg;
	int pages;

	keg = zone->uz_keg;

	KASSERT(keg != NULL, ("Keg is null in zone_large_init"));
	KASSERT((keg->uk_flags & UMA_ZFLAG_CACHEONLY) == 0,
	    ("zone_large_init: Cannot large-init a UMA_ZFLAG_CACHEONLY zone"));

	pages = keg->uk_size / UMA_SLAB_SIZE;

	if ((pages * UMA_SLAB_SIZE) < keg->uk_size)
		pages++;

	keg->uk_ppera = pages;
	keg->uk_ipers = 1;

	keg->uk_flags |= UMA_ZONE_OFFPAGE;
	if ((keg->uk_flags & UMA_ZONE_MALLOC) == 0)
		keg->uk_flags |= UMA_ZONE_HASH;

	keg->uk_rsize = keg->uk_size;
}

/*
 * The ctor of the "UMA Kegs" zone: sets up a keg for its master zone --
 * geometry, back end, lock, slab header offset, hash -- and links it on
 * the global keg list.
 */
static int
keg_ctor(void *mem, int size, void *udata, int flags)
{
	struct uma_kctor_args *arg = udata;
	uma_keg_t keg = mem;
	uma_zone_t zone;

	(void)flags;
	bzero(keg, size);
	keg->uk_size = arg->size;
	keg->uk_init = arg->uminit;
	keg->uk_fini = arg->fini;
	keg->uk_align = arg->align;
	keg->uk_free = 0;
	keg->uk_pages = 0;
	keg->uk_flags = arg->flags;
	keg->uk_allocf = page_alloc;
	keg->uk_freef = page_free;
	keg->uk_recurse = 0;
	keg->uk_slabzone = NULL;

	zone = arg->zone;
	zone->uz_keg = keg;

	if (arg->flags & UMA_ZONE_VM)
		keg->uk_flags |= UMA_ZFLAG_CACHEONLY;

	if (arg->flags & UMA_ZONE_ZINIT)
		keg->uk_init = zero_init;

	/*
	 * Count the free-list entry in, as zone_small_init() will, or a
	 * size just under a page would get ipers 0 there.
	 */
	if (keg->uk_flags & UMA_ZONE_REFCNT) {
		if ((keg->uk_size+UMA_FRITMREF_SZ) >
		    (UMA_SLAB_SIZE - sizeof(struct uma_slab_refcnt)))
			zone_large_init(zone);
		else
			zone_small_init(zone);
	} else {
		if ((keg->uk_size+UMA_FRITM_SZ) >
		    (UMA_SLAB_SIZE - sizeof(struct uma_slab)))
			zone_large_init(zone);
		else
			zone_small_init(zone);
	}

	if (keg->uk_flags & UMA_ZONE_OFFPAGE) {
		if (keg->uk_flags & UMA_ZONE_REFCNT)
			keg->uk_slabzone = slabrefzone;
		else
			keg->uk_slabzone = slabzone;
	}

	/* Single-page kegs: the direct map, or boot pages until booted. */
	if (keg->uk_ppera == 1) {
		if (UMA_MD_SMALL_ALLOC) {
			keg->uk_allocf = uma_small_alloc;
			keg->uk_freef = uma_small_free;
		}
		if (booted == 0)
			keg->uk_allocf = startup_alloc;
	}

	/* The keg's lock is the lock of all its zones. */
	zone->uz_lock = &keg->uk_lock;
	if (arg->flags & UMA_ZONE_MTXCLASS)
		ZONE_LOCK_INIT(zone, 1);
	else
		ZONE_LOCK_INIT(zone, 0);

	/*
	 * An in-page header goes at the end of the page, on a pointer
	 * boundary, after the items.
	 */
	if (!(keg->uk_flags & UMA_ZONE_OFFPAGE)) {
		u_int totsize;

		if (keg->uk_flags & UMA_ZONE_REFCNT)
			totsize = sizeof(struct uma_slab_refcnt) +
			    keg->uk_ipers * UMA_FRITMREF_SZ;
		else
			totsize = sizeof(struct uma_slab) +
			    keg->uk_ipers * UMA_FRITM_SZ;

		if (totsize & UMA_ALIGN_PTR)
			totsize = (totsize & ~UMA_ALIGN_PTR) +
			    (UMA_ALIGN_PTR + 1);
		keg->uk_pgoff = UMA_SLAB_SIZE - totsize;

		if (keg->uk_flags & UMA_ZONE_REFCNT)
			totsize = keg->uk_pgoff + sizeof(struct uma_slab_refcnt)
			    + keg->uk_ipers * UMA_FRITMREF_SZ;
		else
			totsize = keg->uk_pgoff + sizeof(struct uma_slab)
			    + keg->uk_ipers * UMA_FRITM_SZ;

		/* Cannot happen, as far as anyone has shown; checked anyway. */
		if (totsize > UMA_SLAB_SIZE) {
			printf("zone %s ipers %d rsize %d size %d\n",
			    zone->uz_name, keg->uk_ipers, keg->uk_rsize,
			    keg->uk_size);
			panic("UMA slab won't fit.\n");
		}
	}

	if (keg->uk_flags & UMA_ZONE_HASH)
		hash_alloc(&keg->uk_hash);

	LIST_INSERT_HEAD(&keg->uk_zones, zone, uz_link);

	mtx_lock(&uma_mtx);
	LIST_INSERT_HEAD(&uma_kegs, keg, uk_link);
	mtx_unlock(&uma_mtx);
	return (0);
}

/*
 * The ctor of the "UMA Zones" zone: a zone on a new keg, on a given keg
 * (secondary zones), or -- at boot only -- on the static masterkeg.
 */
static int
zone_ctor(void *mem, int size, void *udata, int flags)
{
	struct uma_zctor_args *arg = udata;
	uma_zone_t zone = mem;
	uma_zone_t z;
	uma_keg_t keg;

	bzero(zone, size);
	zone->uz_name = arg->name;
	zone->uz_ctor = arg->ctor;
	zone->uz_dtor = arg->dtor;
	zone->uz_init = NULL;
	zone->uz_fini = NULL;
	zone->uz_allocs = 0;
	zone->uz_frees = 0;
	zone->uz_fails = 0;
	zone->uz_fills = zone->uz_count = 0;

	if (arg->flags & UMA_ZONE_SECONDARY) {
		KASSERT(arg->keg != NULL, ("Secondary zone on zero'd keg"));
		keg = arg->keg;
		zone->uz_keg = keg;
		zone->uz_init = arg->uminit;
		zone->uz_fini = arg->fini;
		zone->uz_lock = &keg->uk_lock;
		mtx_lock(&uma_mtx);
		ZONE_LOCK(zone);
		keg->uk_flags |= UMA_ZONE_SECONDARY;
		LIST_FOREACH(z, &keg->uk_zones, uz_link) {
			if (LIST_NEXT(z, uz_link) == NULL) {
				LIST_INSERT_AFTER(z, zone, uz_link);
				break;
			}
		}
		ZONE_UNLOCK(zone);
		mtx_unlock(&uma_mtx);
	} else if (arg->keg == NULL) {
		if (uma_kcreate(zone, arg->size, arg->uminit, arg->fini,
		    arg->align, arg->flags) == NULL)
			return (ENOMEM);
	} else {
		struct uma_kctor_args karg;
		int error;

		/* Only uma_startup() gets here, with &masterkeg. */
		karg.size = arg->size;
		karg.uminit = arg->uminit;
		karg.fini = arg->fini;
		karg.align = arg->align;
		karg.flags = arg->flags;
		karg.zone = zone;
		error = keg_ctor(arg->keg, sizeof(struct uma_keg), &karg,
		    flags);
		if (error)
			return (error);
	}
	keg = zone->uz_keg;
	zone->uz_lock = &keg->uk_lock;

	/* Internal zones have no room for per-CPU caches: stop here. */
	if (keg->uk_flags & UMA_ZFLAG_INTERNAL) {
		KASSERT((keg->uk_flags & UMA_ZONE_SECONDARY) == 0,
		    ("Secondary zone requested UMA_ZFLAG_INTERNAL"));
		return (0);
	}

	if (keg->uk_flags & UMA_ZONE_MAXBUCKET)
		zone->uz_count = BUCKET_MAX;
	else if (keg->uk_ipers <= BUCKET_MAX)
		zone->uz_count = keg->uk_ipers;
	else
		zone->uz_count = BUCKET_MAX;
	return (0);
}

/* The dtor of "UMA Kegs": complains about items still out, frees the hash. */
static void
keg_dtor(void *arg, int size, void *udata)
{
	uma_keg_t keg;

	(void)size;
	(void)udata;
	keg = (uma_keg_t)arg;
	mtx_lock(&keg->uk_lock);
	if (keg->uk_free != 0) {
		printf("Freed UMA keg was not empty (%d items). "
		    " Lost %d pages of memory.\n",
		    keg->uk_free, keg->uk_pages);
	}
	mtx_unlock(&keg->uk_lock);

	if (keg->uk_flags & UMA_ZONE_HASH)
		hash_free(&keg->uk_hash);

	mtx_destroy(&keg->uk_lock);
}

/*
 * The dtor of "UMA Zones": empties the caches, drains the keg and frees it
 * unless other zones still use it.
 */
static void
zone_dtor(void *arg, int size, void *udata)
{
	uma_zone_t zone;
	uma_keg_t keg;

	(void)size;
	(void)udata;
	zone = (uma_zone_t)arg;
	keg = zone->uz_keg;

	if (!(keg->uk_flags & UMA_ZFLAG_INTERNAL))
		cache_drain(zone);

	mtx_lock(&uma_mtx);
	zone_drain(zone);
	if (keg->uk_flags & UMA_ZONE_SECONDARY) {
		LIST_REMOVE(zone, uz_link);
		/*
		 * The keg may be refilled between the drain and this point;
		 * the original accepts that race, and so does the port.
		 */
		ZONE_LOCK(zone);
		if (LIST_EMPTY(&keg->uk_zones))
			keg->uk_flags &= ~UMA_ZONE_SECONDARY;
		ZONE_UNLOCK(zone);
		mtx_unlock(&uma_mtx);
	} else {
		LIST_REMOVE(keg, uk_link);
		LIST_REMOVE(zone, uz_link);
		mtx_unlock(&uma_mtx);
		uma_zfree_internal(kegs, keg, NULL, SKIP_NONE,
		    ZFREE_STATFREE);
	}
	zone->uz_keg = NULL;
}

/* Calls zfunc on every zone of every keg, under uma_mtx. */
static void
zone_foreach(void (*zfunc)(uma_zone_t))
{
	uma_keg_t keg;
	uma_zone_t zone;

	mtx_lock(&uma_mtx);
	LIST_FOREACH(keg, &uma_kegs, uk_link) {
		LIST_FOREACH(zone, &keg->uk_zones, uz_link)
			zfunc(zone);
	}
	mtx_unlock(&uma_mtx);
}

/*
 * Boot: size the OFFPAGE headers, build the kegs and zones zones by hand
 * on static storage, hand the boot pages to startup_alloc, then create
 * the slab, refcnt-slab, hash and bucket zones.
 */
void
uma_startup(void *bootmem, int boot_pages)
{
	struct uma_zctor_args args;
	uma_slab_t slab;
	u_int slabsize;
	u_int objsize, totsize, wsize;
	int i;

	cursim->st.uma = vm_bss_alloc(sizeof(struct uma_globals));
	bzero(UG, sizeof(struct uma_globals));
	uma_align_cache = 16 - 1;
	bucketdisable = 1;
	kegs = &masterzone_k;
	zones = &masterzone_z;
	bucket_zones[0] = (struct uma_bucket_zone){ NULL, "16 Bucket", 16 };
	bucket_zones[1] = (struct uma_bucket_zone){ NULL, "32 Bucket", 32 };
	bucket_zones[2] = (struct uma_bucket_zone){ NULL, "64 Bucket", 64 };
	bucket_zones[3] = (struct uma_bucket_zone){ NULL, "128 Bucket", 128 };
	bucket_zones[4] = (struct uma_bucket_zone){ NULL, NULL, 0 };

	mtx_init(&uma_mtx, "UMA lock", NULL, MTX_DEF);

	/*
	 * The largest ipers an OFFPAGE header must track: find the smallest
	 * item size whose in-page waste could ever call for OFFPAGE, and
	 * take how many of those fit a page.  It fits the 8-bit indexes.
	 */
	wsize = UMA_SLAB_SIZE - sizeof(struct uma_slab) - UMA_MAX_WASTE;
	totsize = wsize;
	objsize = UMA_SMALLEST_UNIT;
	while (totsize >= wsize) {
		totsize = (UMA_SLAB_SIZE - sizeof(struct uma_slab)) /
		    (objsize + UMA_FRITM_SZ);
		totsize *= (UMA_FRITM_SZ + objsize);
		objsize++;
	}
	if (objsize > UMA_SMALLEST_UNIT)
		objsize--;
	uma_max_ipers = UMA_SLAB_SIZE / objsize;

	wsize = UMA_SLAB_SIZE - sizeof(struct uma_slab_refcnt) - UMA_MAX_WASTE;
	totsize = wsize;
	objsize = UMA_SMALLEST_UNIT;
	while (totsize >= wsize) {
		totsize = (UMA_SLAB_SIZE - sizeof(struct uma_slab_refcnt)) /
		    (objsize + UMA_FRITMREF_SZ);
		totsize *= (UMA_FRITMREF_SZ + objsize);
		objsize++;
	}
	if (objsize > UMA_SMALLEST_UNIT)
		objsize--;
	uma_max_ipers_ref = UMA_SLAB_SIZE / objsize;

	KASSERT((uma_max_ipers_ref <= 255) && (uma_max_ipers <= 255),
	    ("uma_startup: calculated uma_max_ipers values too large!"));

	/* The zone of kegs, on the static masterkeg. */
	args.name = "UMA Kegs";
	args.size = sizeof(struct uma_keg);
	args.ctor = keg_ctor;
	args.dtor = keg_dtor;
	args.uminit = zero_init;
	args.fini = NULL;
	args.keg = &masterkeg;
	args.align = 32 - 1;
	args.flags = UMA_ZFLAG_INTERNAL;
	zone_ctor(kegs, sizeof(struct uma_zone), &args, M_WAITOK);

	for (i = 0; i < boot_pages; i++) {
		slab = (uma_slab_t)((u_int8_t *)bootmem + (i * UMA_SLAB_SIZE));
		slab->us_data = (u_int8_t *)slab;
		slab->us_flags = UMA_SLAB_BOOT;
		LIST_INSERT_HEAD(&uma_boot_pages, slab, us_link);
	}
	mtx_init(&uma_boot_pages_mtx, "UMA boot pages", NULL, MTX_DEF);

	/* The zone of zones, sized for every CPU's cache. */
	args.name = "UMA Zones";
	args.size = sizeof(struct uma_zone) +
	    (sizeof(struct uma_cache) * (mp_maxid + 1));
	args.ctor = zone_ctor;
	args.dtor = zone_dtor;
	args.uminit = zero_init;
	args.fini = NULL;
	args.keg = NULL;
	args.align = 32 - 1;
	args.flags = UMA_ZFLAG_INTERNAL;
	zone_ctor(zones, sizeof(struct uma_zone), &args, M_WAITOK);

	/* Off-page slab headers, big enough for uma_max_ipers items. */
	slabsize = uma_max_ipers * UMA_FRITM_SZ;
	slabsize += sizeof(struct uma_slab);

	slabzone = uma_zcreate("UMA Slabs",
				slabsize,
				NULL, NULL, NULL, NULL,
				UMA_ALIGN_PTR, UMA_ZFLAG_INTERNAL);

	slabsize = uma_max_ipers_ref * UMA_FRITMREF_SZ;
	slabsize += sizeof(struct uma_slab_refcnt);
	slabrefzone = uma_zcreate("UMA RCntSlabs",
				  slabsize,
				  NULL, NULL, NULL, NULL,
				  UMA_ALIGN_PTR,
				  UMA_ZFLAG_INTERNAL);

	hashzone = uma_zcreate("UMA Hash",
	    sizeof(struct slabhead *) * UMA_HASH_SIZE_INIT,
	    NULL, NULL, NULL, NULL,
	    UMA_ALIGN_PTR, UMA_ZFLAG_INTERNAL);

	bucket_init();

	/* amd64's direct map needs no VM to be up: booted already. */
	if (UMA_MD_SMALL_ALLOC)
		booted = 1;
}

/* The VM is up (kmeminit): real back ends from now on. */
void
uma_startup2(void)
{
	booted = 1;
	bucket_enable();
}

/* Arms the periodic uma_timeout callout (SYSINIT at SI_SUB_VM_CONF). */
void
uma_startup3(void)
{
	callout_init(&uma_callout, CALLOUT_MPSAFE);
	callout_reset(&uma_callout, UMA_TIMEOUT * hz, uma_timeout, NULL);
}

static uma_zone_t
uma_kcreate(uma_zone_t zone, size_t size, uma_init uminit, uma_fini fini,
		int align, u_int32_t flags)
{
	struct uma_kctor_args args;

	args.size = size;
	args.uminit = uminit;
	args.fini = fini;
	args.align = (align == UMA_ALIGN_CACHE) ? uma_align_cache : align;
	args.flags = flags;
	args.zone = zone;
	return (uma_zalloc_internal(kegs, &args, M_WAITOK));
}

void
uma_set_align(int align)
{

	if (align != UMA_ALIGN_CACHE)
		uma_align_cache = align;
}

uma_zone_t
uma_zcreate(char *name, size_t size, uma_ctor ctor, uma_dtor dtor,
		uma_init uminit, uma_fini fini, int align, u_int32_t flags)

{
	struct uma_zctor_args args;

	args.name = name;
	args.size = size;
	args.ctor = ctor;
	args.dtor = dtor;
	args.uminit = uminit;
	args.fini = fini;
	args.align = align;
	args.flags = flags;
	args.keg = NULL;

	return (uma_zalloc_internal(zones, &args, M_WAITOK));
}

uma_zone_t
uma_zsecond_create(char *name, uma_ctor ctor, uma_dtor dtor,
		    uma_init zinit, uma_fini zfini, uma_zone_t master)
{
	struct uma_zctor_args args;

	args.name = name;
	args.size = master->uz_keg->uk_size;
	args.ctor = ctor;
	args.dtor = dtor;
	args.uminit = zinit;
	args.fini = zfini;
	args.align = master->uz_keg->uk_align;
	args.flags = master->uz_keg->uk_flags | UMA_ZONE_SECONDARY;
	args.keg = master->uz_keg;

	return (uma_zalloc_internal(zones, &args, M_WAITOK));
}

void
uma_zdestroy(uma_zone_t zone)
{

	uma_zfree_internal(zones, zone, NULL, SKIP_NONE, ZFREE_STATFREE);
}

/*
 * Allocation.  The fast path takes an item from this CPU's alloc bucket
 * inside a critical section (no lock, no migration); an empty alloc
 * bucket is swapped with a non-empty free bucket.  Otherwise: leave the
 * critical section, take the zone lock, enter again -- possibly on
 * another CPU, so look at that CPU's cache afresh -- and trade the empty
 * bucket for a full one from the zone, or fill one from the keg.
 */
void *
uma_zalloc_arg(uma_zone_t zone, void *udata, int flags)
{
	void *item;
	uma_cache_t cache;
	uma_bucket_t bucket;
	uma_cache_t stale;
	int cpu;

	UMA_TOUCH(zone->uz_keg);
zalloc_restart:
	critical_enter();
	cpu = curcpu;
	cache = &zone->uz_cpu[cpu];

zalloc_start:
	bucket = cache->uc_allocbucket;

	if (bucket) {
		if (bucket->ub_cnt > 0) {
			UMA_WINDOW_OPEN(FINE_ZALLOC_CNT);
			UMA_FINE_POINT(PT_FINE_ZALLOC_CNT);
			UMA_WINDOW_CLOSE(FINE_ZALLOC_CNT);
			bucket->ub_cnt--;
			item = bucket->ub_bucket[bucket->ub_cnt];
			if (INVARIANTS_ON)
				bucket->ub_bucket[bucket->ub_cnt] = NULL;
			KASSERT(item != NULL,
			    ("uma_zalloc: Bucket pointer mangled."));
			cache->uc_allocs++;
			critical_exit();
			if (INVARIANTS_ON) {
				ZONE_LOCK(zone);
				uma_dbg_alloc(zone, NULL, item);
				ZONE_UNLOCK(zone);
			}
			if (zone->uz_ctor != NULL) {
				UMA_POINT(PT_CTOR_ZALLOC);
				if (zone->uz_ctor(item, zone->uz_keg->uk_size,
				    udata, flags) != 0) {
					uma_zfree_internal(zone, item, udata,
					    SKIP_DTOR, ZFREE_STATFAIL |
					    ZFREE_STATFREE);
					return (NULL);
				}
			}
			if (UMA_BUG(BUG_ZERO_BUCKET))
				;	/* M_ZERO forgotten on the fast path */
			else if (flags & M_ZERO)
				bzero(item, zone->uz_keg->uk_size);
			return (item);
		} else if (cache->uc_freebucket) {
			/* Empty alloc bucket: try the free bucket instead. */
			if (cache->uc_freebucket->ub_cnt > 0) {
				UMA_FINE_POINT(PT_FINE_ZALLOC_SWAP);
				bucket = cache->uc_freebucket;
				UMA_WINDOW_OPEN(FINE_ZALLOC_SWAP);
				UMA_FINE_POINT(PT_FINE_ZALLOC_SWAP_READ);
				UMA_WINDOW_CLOSE(FINE_ZALLOC_SWAP);
				cache->uc_freebucket = cache->uc_allocbucket;
				cache->uc_allocbucket = bucket;

				goto zalloc_start;
			}
		}
	}
	/*
	 * To the zone.  The zone lock cannot be taken inside the critical
	 * section, and once outside it this thread may be preempted and
	 * migrated: nothing read from the cache so far can be trusted.
	 */
	UMA_BUG_STALE_SAVE(cache);
	critical_exit();
	UMA_WINDOW_OPEN(ZALLOC_RACE);
	UMA_POINT(PT_ZALLOC_RACE);
	ZONE_LOCK(zone);
	critical_enter();
	UMA_WINDOW_CLOSE(ZALLOC_RACE);
	cpu = curcpu;
	cache = &zone->uz_cpu[cpu];
	UMA_BUG_STALE_USE(cache);
	bucket = cache->uc_allocbucket;
	if (!UMA_BUG(BUG_NO_RECHECK) && bucket != NULL) {
		if (bucket->ub_cnt > 0) {
			ZONE_UNLOCK(zone);
			goto zalloc_start;
		}
		bucket = cache->uc_freebucket;
		if (bucket != NULL && bucket->ub_cnt > 0) {
			ZONE_UNLOCK(zone);
			goto zalloc_start;
		}
	}

	/* The zone lock is held: flush this CPU's statistics. */
	zone->uz_allocs += cache->uc_allocs;
	cache->uc_allocs = 0;
	zone->uz_frees += cache->uc_frees;
	cache->uc_frees = 0;

	/* The empty alloc bucket goes on the zone's free-bucket list. */
	if (cache->uc_allocbucket) {
		KASSERT(cache->uc_allocbucket->ub_cnt == 0,
		    ("uma_zalloc_arg: Freeing a non free bucket."));
		LIST_INSERT_HEAD(&zone->uz_free_bucket,
		    cache->uc_allocbucket, ub_link);
		cache->uc_allocbucket = NULL;
	}

	/* A full bucket from the zone becomes the alloc bucket. */
	if ((bucket = LIST_FIRST(&zone->uz_full_bucket)) != NULL) {
		KASSERT(bucket->ub_cnt != 0,
		    ("uma_zalloc_arg: Returning an empty bucket."));

		LIST_REMOVE(bucket, ub_link);
		cache->uc_allocbucket = bucket;
		ZONE_UNLOCK(zone);
		goto zalloc_start;
	}
	critical_exit();

	/* Missed the cache: ask for bigger buckets next time. */
	if (zone->uz_count < BUCKET_MAX)
		zone->uz_count++;

	/* Fill a bucket from the keg, then start over. */
	if (uma_zalloc_bucket(zone, flags)) {
		ZONE_UNLOCK(zone);
		goto zalloc_restart;
	}
	ZONE_UNLOCK(zone);

	/* No bucket to be had: one item straight from the keg. */
	return (uma_zalloc_internal(zone, udata, flags));
}

/*
 * A slab of the zone's keg with a free item, moved to the partial list;
 * the zone is locked.  A keg at its page limit is marked FULL and, unless
 * M_NOWAIT, its allocators sleep in "zonelimit" until a free wakes them.
 */
static uma_slab_t
uma_zone_slab(uma_zone_t zone, int flags)
{
	uma_slab_t slab;
	uma_keg_t keg;

	keg = zone->uz_keg;

	/*
	 * A bucket allocation that needed a bucket would recurse through the
	 * VM: internal zones refuse while a slab allocation is in progress,
	 * except the zones whose callers cannot take NULL for an answer.
	 */
	if (keg->uk_flags & UMA_ZFLAG_INTERNAL && keg->uk_recurse != 0)
		if (zone != slabzone && zone != slabrefzone && zone != zones)
			return (NULL);

	slab = NULL;

	for (;;) {
		/* Partial slabs first, against fragmentation. */
		if (keg->uk_free != 0) {
			if (!LIST_EMPTY(&keg->uk_part_slab)) {
				slab = LIST_FIRST(&keg->uk_part_slab);
			} else {
				slab = LIST_FIRST(&keg->uk_free_slab);
				LIST_REMOVE(slab, us_link);
				LIST_INSERT_HEAD(&keg->uk_part_slab, slab,
				    us_link);
			}
			return (slab);
		}

		/* M_NOVM: never ask the VM. */
		if (flags & M_NOVM)
			break;

		if (keg->uk_maxpages && (UMA_BUG(BUG_LIMIT_OVERSHOOT) ?
		    keg->uk_pages > keg->uk_maxpages :	/* off by one */
		    keg->uk_pages >= keg->uk_maxpages)) {
			keg->uk_flags |= UMA_ZFLAG_FULL;

			if (flags & M_NOWAIT)
				break;
			else {
				UMA_WINDOW_OPEN(ZONELIMIT);
				UMA_ORACLE(uma_oracle_zonelimit_sleep(keg));
				msleep(keg, &keg->uk_lock, PVM,
				    "zonelimit", 0);
				UMA_WINDOW_CLOSE(ZONELIMIT);
			}
			continue;
		}
		keg->uk_recurse++;
		slab = slab_zalloc(zone, flags);
		keg->uk_recurse--;

		/* A new slab goes on the partial list: an item is taken next. */
		if (slab) {
			LIST_INSERT_HEAD(&keg->uk_part_slab, slab, us_link);
			return (slab);
		}
		/*
		 * Another CPU may have added a slab while the lock was
		 * dropped: look once more, without the VM this time.
		 */
		if (flags & M_NOWAIT)
			flags |= M_NOVM;
	}
	return (slab);
}

/* Takes the first free item of 'slab'; the zone is locked. */
static void *
uma_slab_alloc(uma_zone_t zone, uma_slab_t slab)
{
	uma_keg_t keg;
	uma_slabrefcnt_t slabref;
	void *item;
	u_int8_t freei;

	keg = zone->uz_keg;

	freei = slab->us_firstfree;
	if (keg->uk_flags & UMA_ZONE_REFCNT) {
		slabref = (uma_slabrefcnt_t)slab;
		slab->us_firstfree = slabref->us_freelist[freei].us_item;
	} else {
		slab->us_firstfree = slab->us_freelist[freei].us_item;
	}
	item = slab->us_data + (keg->uk_rsize * freei);

	slab->us_freecount--;
	keg->uk_free--;
	if (INVARIANTS_ON)
		uma_dbg_alloc(zone, slab, item);
	if (slab->us_freecount == 0) {
		LIST_REMOVE(slab, us_link);
		LIST_INSERT_HEAD(&keg->uk_full_slab, slab, us_link);
	}

	return (item);
}

/*
 * Fills a bucket (an empty one of the zone's, or a new one) from the keg
 * and puts it on the zone's full list; the zone is locked.  Returns 1 if
 * it did.  At most mp_ncpus fills run at once (uz_fills), so that racing
 * CPUs do not pull more items out of the keg than they need.
 */
static int
uma_zalloc_bucket(uma_zone_t zone, int flags)
{
	uma_bucket_t bucket;
	uma_slab_t slab;
	int16_t saved;
	int max, origflags = flags;

	if ((bucket = LIST_FIRST(&zone->uz_free_bucket)) != NULL) {
		KASSERT(bucket->ub_cnt == 0,
		    ("uma_zalloc_bucket: Bucket on free list is not empty."));
		LIST_REMOVE(bucket, ub_link);
	} else {
		int bflags;

		bflags = (flags & ~M_ZERO);
		if (zone->uz_keg->uk_flags & UMA_ZFLAG_CACHEONLY)
			bflags |= M_NOVM;

		ZONE_UNLOCK(zone);
		UMA_WINDOW_OPEN(ZALLOC_BUCKET_ALLOC);
		UMA_POINT(PT_ZALLOC_BUCKET_ALLOC);
		bucket = bucket_alloc(zone->uz_count, bflags);
		ZONE_LOCK(zone);
		UMA_WINDOW_CLOSE(ZALLOC_BUCKET_ALLOC);
	}

	if (bucket == NULL)
		return (0);

	if (zone->uz_fills >= mp_ncpus)
		goto done;

	zone->uz_fills++;

	max = MIN(bucket->ub_entries, zone->uz_count);
	saved = bucket->ub_cnt;
	while (bucket->ub_cnt < max &&
	    (slab = uma_zone_slab(zone, flags)) != NULL) {
		while (slab->us_freecount && bucket->ub_cnt < max) {
			bucket->ub_bucket[bucket->ub_cnt++] =
			    uma_slab_alloc(zone, slab);
		}

		/* Only the first slab may sleep for. */
		flags |= M_NOWAIT;
	}

	/*
	 * The zone's init runs unlocked: the slabs are on their lists and
	 * the bucket is on none, so nobody else can see these items.
	 */
	if (zone->uz_init != NULL) {
		int i;

		ZONE_UNLOCK(zone);
		UMA_WINDOW_OPEN(ZALLOC_BUCKET_ZINIT);
		UMA_POINT(PT_ZALLOC_BUCKET_ZINIT);
		for (i = saved; i < bucket->ub_cnt; i++) {
			UMA_POINT(PT_ZINIT_BUCKET);
			if (zone->uz_init(bucket->ub_bucket[i],
			    zone->uz_keg->uk_size, origflags) != 0)
				break;
		}
		/* Items whose init failed go back to their slabs. */
		if (i != bucket->ub_cnt) {
			int j;

			for (j = i; j < bucket->ub_cnt; j++) {
				uma_zfree_internal(zone, bucket->ub_bucket[j],
				    NULL, SKIP_FINI, 0);
				if (INVARIANTS_ON)
					bucket->ub_bucket[j] = NULL;
			}
			bucket->ub_cnt = i;
		}
		ZONE_LOCK(zone);
		UMA_WINDOW_CLOSE(ZALLOC_BUCKET_ZINIT);
	}

	zone->uz_fills--;
	if (bucket->ub_cnt != 0) {
		LIST_INSERT_HEAD(&zone->uz_full_bucket,
		    bucket, ub_link);
		return (1);
	}
done:
	bucket_free(bucket);

	return (0);
}

/*
 * One item straight from the keg, bypassing the caches: internal zones,
 * and the fallback when no bucket can be had.  Runs the zone's init and
 * ctor, since the item comes from a slab.
 */
static void *
uma_zalloc_internal(uma_zone_t zone, void *udata, int flags)
{
	uma_keg_t keg;
	uma_slab_t slab;
	void *item;

	item = NULL;
	keg = zone->uz_keg;

	ZONE_LOCK(zone);

	slab = uma_zone_slab(zone, flags);
	if (slab == NULL) {
		zone->uz_fails++;
		ZONE_UNLOCK(zone);
		return (NULL);
	}

	item = uma_slab_alloc(zone, slab);

	zone->uz_allocs++;

	ZONE_UNLOCK(zone);

	if (zone->uz_init != NULL) {
		UMA_POINT(PT_ZINIT_INTERNAL);
		if (zone->uz_init(item, keg->uk_size, flags) != 0) {
			uma_zfree_internal(zone, item, udata, SKIP_FINI,
			    ZFREE_STATFAIL | ZFREE_STATFREE);
			return (NULL);
		}
	}
	if (zone->uz_ctor != NULL) {
		UMA_POINT(PT_CTOR_INTERNAL);
		if (zone->uz_ctor(item, keg->uk_size, udata, flags) != 0) {
			uma_zfree_internal(zone, item, udata, SKIP_DTOR,
			    ZFREE_STATFAIL | ZFREE_STATFREE);
			return (NULL);
		}
	}
	if (flags & M_ZERO)
		bzero(item, keg->uk_size);

	return (item);
}

/*
 * Free.  Into this CPU's free bucket inside a critical section, swapping
 * with the alloc bucket if that has more room; otherwise to the zone as
 * in the alloc path.  A FULL keg takes frees directly, so that sleepers
 * in "zonelimit" are woken.
 */
void
uma_zfree_arg(uma_zone_t zone, void *item, void *udata)
{
	uma_keg_t keg;
	uma_cache_t cache;
	uma_bucket_t bucket;
	uma_cache_t stale;
	int bflags;
	int cpu;
	int full;

	keg = zone->uz_keg;

	if (zone->uz_dtor) {
		UMA_POINT(PT_DTOR_ZFREE);
		zone->uz_dtor(item, keg->uk_size, udata);
	}
	if (INVARIANTS_ON) {
		ZONE_LOCK(zone);
		if (keg->uk_flags & UMA_ZONE_MALLOC)
			uma_dbg_free(zone, udata, item);
		else
			uma_dbg_free(zone, NULL, item);
		ZONE_UNLOCK(zone);
	}
	/*
	 * Read without the lock: a free that misses a FULL just set goes to
	 * the cache, and the limit is lifted a little later.
	 */
	UMA_TOUCH(keg);
	full = (keg->uk_flags & UMA_ZFLAG_FULL) != 0;
	UMA_EVENT(EVK_FULL_CHECK, keg, full);
	if (full)
		UMA_ORACLE(oracle_full_read(cursim, keg));
	/*
	 * The simulator: the read is an action, and the point stands after
	 * it, so that a stop separates the read from its use, even on one
	 * vCPU.
	 */
	UMA_SHARED_READ();
	UMA_WINDOW_OPEN(ZFREE_FULL);
	UMA_POINT(PT_ZFREE_FULL_CHECK);
	UMA_WINDOW_CLOSE(ZFREE_FULL);
	if (full && !UMA_BUG(BUG_FULL_BYPASS))
		goto zfree_internal;

zfree_restart:
	critical_enter();
	cpu = curcpu;
	cache = &zone->uz_cpu[cpu];

zfree_start:
	bucket = cache->uc_freebucket;

	/* The bug first: its path must not know that bucket is NULL. */
	if (UMA_BUG(BUG_FREE_NULL_BUCKET) || bucket) {
		/* Room in the free bucket?  uz_count may be a bit stale. */
		if (bucket->ub_cnt < bucket->ub_entries) {
			KASSERT(bucket->ub_bucket[bucket->ub_cnt] == NULL,
			    ("uma_zfree: Freeing to non free bucket index."));
			UMA_WINDOW_OPEN(FINE_ZFREE_CNT);
			UMA_FINE_POINT(PT_FINE_ZFREE_CNT);
			UMA_WINDOW_CLOSE(FINE_ZFREE_CNT);
			bucket->ub_bucket[bucket->ub_cnt] = item;
			bucket->ub_cnt++;
			if (UMA_BUG(BUG_STATS_SHARED_KEG))
				/* counted for the keg's first zone */
				LIST_FIRST(&keg->uk_zones)->uz_cpu[cpu].uc_frees++;
			else
				cache->uc_frees++;
			critical_exit();
			return;
		} else if (cache->uc_allocbucket) {
			/* Full free bucket: use the alloc bucket if emptier. */
			if (cache->uc_allocbucket->ub_cnt <
			    cache->uc_freebucket->ub_cnt) {
				UMA_FINE_POINT(PT_FINE_ZFREE_SWAP);
				bucket = cache->uc_freebucket;
				UMA_WINDOW_OPEN(FINE_ZFREE_SWAP);
				UMA_FINE_POINT(PT_FINE_ZFREE_SWAP_READ);
				UMA_WINDOW_CLOSE(FINE_ZFREE_SWAP);
				cache->uc_freebucket = cache->uc_allocbucket;
				cache->uc_allocbucket = bucket;
				goto zfree_start;
			}
		}
	}
	/*
	 * No bucket, or both buckets full enough: to the zone, dropping the
	 * critical section for the lock, and looking again afterwards.
	 */
	UMA_BUG_STALE_SAVE(cache);
	critical_exit();
	UMA_WINDOW_OPEN(ZFREE_RACE);
	UMA_POINT(PT_ZFREE_RACE);
	ZONE_LOCK(zone);
	critical_enter();
	UMA_WINDOW_CLOSE(ZFREE_RACE);
	cpu = curcpu;
	cache = &zone->uz_cpu[cpu];
	UMA_BUG_STALE_USE(cache);
	if (cache->uc_freebucket != NULL) {
		if (cache->uc_freebucket->ub_cnt <
		    cache->uc_freebucket->ub_entries) {
			ZONE_UNLOCK(zone);
			goto zfree_start;
		}
		if (cache->uc_allocbucket != NULL &&
		    (cache->uc_allocbucket->ub_cnt <
		    cache->uc_freebucket->ub_cnt)) {
			ZONE_UNLOCK(zone);
			goto zfree_start;
		}
	}

	/* The zone lock is held: flush this CPU's statistics. */
	zone->uz_allocs += cache->uc_allocs;
	cache->uc_allocs = 0;
	zone->uz_frees += cache->uc_frees;
	cache->uc_frees = 0;

	bucket = cache->uc_freebucket;
	cache->uc_freebucket = NULL;

	/* The full free bucket goes on the zone's full list. */
	if (bucket != NULL) {
		KASSERT(bucket->ub_cnt != 0,
		    ("uma_zfree: Attempting to insert an empty bucket onto the full list.\n"));
		LIST_INSERT_HEAD(&zone->uz_full_bucket,
		    bucket, ub_link);
	}
	if ((bucket = LIST_FIRST(&zone->uz_free_bucket)) != NULL) {
		LIST_REMOVE(bucket, ub_link);
		ZONE_UNLOCK(zone);
		UMA_BUG_STALE_WINDOW(PT_ZFREE_RACE);
		cache->uc_freebucket = bucket;
		goto zfree_start;
	}
	critical_exit();

	ZONE_UNLOCK(zone);
	UMA_WINDOW_OPEN(ZFREE_BUCKET_ALLOC);

	/* A new empty bucket, without sleeping, then start over. */
	bflags = M_NOWAIT;

	if (keg->uk_flags & UMA_ZFLAG_CACHEONLY)
		bflags |= M_NOVM;
	UMA_POINT(PT_ZFREE_BUCKET_ALLOC);
	bucket = bucket_alloc(zone->uz_count, bflags);
	if (bucket) {
		ZONE_LOCK(zone);
		UMA_WINDOW_CLOSE(ZFREE_BUCKET_ALLOC);
		LIST_INSERT_HEAD(&zone->uz_free_bucket,
		    bucket, ub_link);
		ZONE_UNLOCK(zone);
		goto zfree_restart;
	}
	UMA_WINDOW_CLOSE(ZFREE_BUCKET_ALLOC);

	/* Nothing else worked: straight back to the slab. */
zfree_internal:
	uma_zfree_internal(zone, item, udata, SKIP_DTOR, ZFREE_STATFREE);

	return;
}

/*
 * Returns an item to its slab (internal zones, bypassed caches, drains,
 * and undoing failed allocations); 'skip' says which of dtor and fini have
 * run already.  A free into a FULL keg may lift the limit, and wakes every
 * "zonelimit" sleeper either way.
 */
static void
uma_zfree_internal(uma_zone_t zone, void *item, void *udata,
    enum zfreeskip skip, int flags)
{
	uma_slab_t slab;
	uma_slabrefcnt_t slabref;
	uma_keg_t keg;
	u_int8_t *mem;
	u_int8_t freei;

	keg = zone->uz_keg;

	if (skip < SKIP_DTOR && zone->uz_dtor) {
		UMA_POINT(PT_DTOR_INTERNAL);
		zone->uz_dtor(item, keg->uk_size, udata);
	}
	if (skip < SKIP_FINI && zone->uz_fini) {
		UMA_POINT(PT_ZFINI_INTERNAL);
		zone->uz_fini(item, keg->uk_size);
	}

	ZONE_LOCK(zone);

	if (flags & ZFREE_STATFAIL)
		zone->uz_fails++;
	if (flags & ZFREE_STATFREE)
		zone->uz_frees++;

	if (!(keg->uk_flags & UMA_ZONE_MALLOC)) {
		mem = (u_int8_t *)((unsigned long)item & (~UMA_SLAB_MASK));
		if (keg->uk_flags & UMA_ZONE_HASH)
			slab = hash_sfind(&keg->uk_hash, mem);
		else {
			mem += keg->uk_pgoff;
			slab = (uma_slab_t)mem;
		}
	} else {
		slab = (uma_slab_t)udata;
	}
	uma_sim_check_slab(zone, slab, item);

	/* Full to partial, or partial to free. */
	if (slab->us_freecount+1 == keg->uk_ipers) {
		LIST_REMOVE(slab, us_link);
		LIST_INSERT_HEAD(&keg->uk_free_slab, slab, us_link);
	} else if (slab->us_freecount == 0) {
		LIST_REMOVE(slab, us_link);
		LIST_INSERT_HEAD(&keg->uk_part_slab, slab, us_link);
	}

	freei = ((unsigned long)item - (unsigned long)slab->us_data)
		/ keg->uk_rsize;

	if (INVARIANTS_ON && !skip)
		uma_dbg_free(zone, slab, item);

	if (keg->uk_flags & UMA_ZONE_REFCNT) {
		slabref = (uma_slabrefcnt_t)slab;
		slabref->us_freelist[freei].us_item = slab->us_firstfree;
	} else {
		slab->us_freelist[freei].us_item = slab->us_firstfree;
	}
	slab->us_firstfree = freei;
	slab->us_freecount++;

	keg->uk_free++;

	if (keg->uk_flags & UMA_ZFLAG_FULL) {
		if (keg->uk_pages < keg->uk_maxpages)
			keg->uk_flags &= ~UMA_ZFLAG_FULL;

		/*
		 * One more allocation can be served: wake every sleeper (a
		 * single wakeup could go to one that then finds nothing).
		 */
		if (UMA_BUG(BUG_WAKEUP_ONE))
			wakeup_one(keg);
		else
			wakeup(keg);
	}

	ZONE_UNLOCK(zone);
}

void
uma_zone_set_max(uma_zone_t zone, int nitems)
{
	uma_keg_t keg;

	keg = zone->uz_keg;
	ZONE_LOCK(zone);
	if (keg->uk_ppera > 1)
		keg->uk_maxpages = nitems * keg->uk_ppera;
	else
		keg->uk_maxpages = nitems / keg->uk_ipers;

	if (keg->uk_maxpages * keg->uk_ipers < nitems)
		keg->uk_maxpages++;

	ZONE_UNLOCK(zone);
}

void
uma_zone_set_init(uma_zone_t zone, uma_init uminit)
{
	ZONE_LOCK(zone);
	KASSERT(zone->uz_keg->uk_pages == 0,
	    ("uma_zone_set_init on non-empty keg"));
	zone->uz_keg->uk_init = uminit;
	ZONE_UNLOCK(zone);
}

void
uma_zone_set_fini(uma_zone_t zone, uma_fini fini)
{
	ZONE_LOCK(zone);
	KASSERT(zone->uz_keg->uk_pages == 0,
	    ("uma_zone_set_fini on non-empty keg"));
	zone->uz_keg->uk_fini = fini;
	ZONE_UNLOCK(zone);
}

void
uma_zone_set_zinit(uma_zone_t zone, uma_init zinit)
{
	ZONE_LOCK(zone);
	KASSERT(zone->uz_keg->uk_pages == 0,
	    ("uma_zone_set_zinit on non-empty keg"));
	zone->uz_init = zinit;
	ZONE_UNLOCK(zone);
}

void
uma_zone_set_zfini(uma_zone_t zone, uma_fini zfini)
{
	ZONE_LOCK(zone);
	KASSERT(zone->uz_keg->uk_pages == 0,
	    ("uma_zone_set_zfini on non-empty keg"));
	zone->uz_fini = zfini;
	ZONE_UNLOCK(zone);
}

/* uk_freef is read without the zone lock; the original notes it too. */
void
uma_zone_set_freef(uma_zone_t zone, uma_free freef)
{
	ZONE_LOCK(zone);
	zone->uz_keg->uk_freef = freef;
	ZONE_UNLOCK(zone);
}

/* Likewise uk_allocf. */
void
uma_zone_set_allocf(uma_zone_t zone, uma_alloc allocf)
{
	ZONE_LOCK(zone);
	zone->uz_keg->uk_flags |= UMA_ZFLAG_PRIVALLOC;
	zone->uz_keg->uk_allocf = allocf;
	ZONE_UNLOCK(zone);
}

/*
 * Reserves address space for 'count' items and makes obj_alloc the keg's
 * back end: the keg is then limited to those pages and never freed.
 */
int
uma_zone_set_obj(uma_zone_t zone, struct vm_object *obj, int count)
{
	uma_keg_t keg;
	vm_offset_t kva;
	int pages;

	keg = zone->uz_keg;
	pages = count / keg->uk_ipers;

	if (pages * keg->uk_ipers < count)
		pages++;

	kva = kmem_alloc_nofault(kernel_map, pages * UMA_SLAB_SIZE);

	if (kva == 0)
		return (0);
	if (obj == NULL) {
		obj = vm_object_allocate(OBJT_DEFAULT,
		    pages);
	} else {
		VM_OBJECT_LOCK_INIT(obj, "uma object");
		_vm_object_allocate(OBJT_DEFAULT,
		    pages, obj);
	}
	ZONE_LOCK(zone);
	keg->uk_kva = kva;
	keg->uk_obj = obj;
	keg->uk_maxpages = pages;
	keg->uk_allocf = obj_alloc;
	keg->uk_flags |= UMA_ZONE_NOFREE | UMA_ZFLAG_PRIVALLOC;
	ZONE_UNLOCK(zone);
	return (1);
}

/* Puts enough slabs for 'items' items on the keg's free list, waiting. */
void
uma_prealloc(uma_zone_t zone, int items)
{
	int slabs;
	uma_slab_t slab;
	uma_keg_t keg;

	keg = zone->uz_keg;
	ZONE_LOCK(zone);
	slabs = items / keg->uk_ipers;
	if (slabs * keg->uk_ipers < items)
		slabs++;
	while (slabs > 0) {
		slab = slab_zalloc(zone, M_WAITOK);
		uma_sim_check_prealloc(zone, slab);
		LIST_INSERT_HEAD(&keg->uk_free_slab, slab, us_link);
		slabs--;
	}
	ZONE_UNLOCK(zone);
}

/* The reference count of an item of a REFCNT zone, in its slab header. */
u_int32_t *
uma_find_refcnt(uma_zone_t zone, void *item)
{
	uma_slabrefcnt_t slabref;
	uma_keg_t keg;
	u_int32_t *refcnt;
	int idx;

	keg = zone->uz_keg;
	slabref = (uma_slabrefcnt_t)vtoslab((vm_offset_t)item &
	    (~UMA_SLAB_MASK));
	KASSERT(slabref != NULL && slabref->us_keg->uk_flags & UMA_ZONE_REFCNT,
	    ("uma_find_refcnt(): zone possibly not UMA_ZONE_REFCNT"));
	uma_sim_check_refcnt(zone, slabref);
	idx = ((unsigned long)item - (unsigned long)slabref->us_data)
	    / keg->uk_rsize;
	refcnt = &slabref->us_freelist[idx].us_refcnt;
	return refcnt;
}

/*
 * The pagedaemon wants memory: drain every zone, then the slab and bucket
 * zones again, since the first pass may have emptied slabs of theirs.
 */
void
uma_reclaim(void)
{
	bucket_enable();
	zone_foreach(zone_drain);
	zone_drain(slabzone);
	zone_drain(slabrefzone);
	bucket_zone_drain();
}

int
uma_zone_exhausted(uma_zone_t zone)
{
	int full;

	ZONE_LOCK(zone);
	full = (zone->uz_keg->uk_flags & UMA_ZFLAG_FULL);
	ZONE_UNLOCK(zone);
	return (full);
}

int
uma_zone_exhausted_nolock(uma_zone_t zone)
{
	return (zone->uz_keg->uk_flags & UMA_ZFLAG_FULL);
}

/*
 * malloc(9) above a page: whole pages, with a header from slabzone that
 * records the size, found again by free(9) through vtoslab.
 */
void *
uma_large_malloc(int size, int wait)
{
	void *mem;
	uma_slab_t slab;
	u_int8_t flags;

	slab = uma_zalloc_internal(slabzone, NULL, wait);
	if (slab == NULL)
		return (NULL);
	mem = page_alloc(NULL, size, &flags, wait);
	if (mem) {
		vsetslab((vm_offset_t)mem, slab);
		slab->us_data = mem;
		slab->us_flags = flags | UMA_SLAB_MALLOC;
		slab->us_size = size;
	} else {
		uma_zfree_internal(slabzone, slab, NULL, SKIP_NONE,
		    ZFREE_STATFAIL | ZFREE_STATFREE);
	}

	return (mem);
}

void
uma_large_free(uma_slab_t slab)
{
	vsetobj((vm_offset_t)slab->us_data, kmem_object);
	page_free(slab->us_data, slab->us_size, slab->us_flags);
	uma_zfree_internal(slabzone, slab, NULL, SKIP_NONE, ZFREE_STATFREE);
}

void
uma_print_stats(void)
{
	zone_foreach(uma_print_zone);
}

static void
slab_print(uma_slab_t slab)
{
	printf("slab: keg %#jx, data %#jx, freecount %d, firstfree %d\n",
		UMA_ADDR(slab->us_keg), UMA_ADDR(slab->us_data),
		slab->us_freecount, slab->us_firstfree);
}

static void
cache_print(uma_cache_t cache)
{
	printf("alloc: %#jx(%d), free: %#jx(%d)\n",
		UMA_ADDR(cache->uc_allocbucket),
		cache->uc_allocbucket?cache->uc_allocbucket->ub_cnt:0,
		UMA_ADDR(cache->uc_freebucket),
		cache->uc_freebucket?cache->uc_freebucket->ub_cnt:0);
}

void
uma_print_zone(uma_zone_t zone)
{
	uma_cache_t cache;
	uma_keg_t keg;
	uma_slab_t slab;
	int i;

	keg = zone->uz_keg;
	printf("%s(%#jx) size %d(%d) flags %d ipers %d ppera %d out %d free %d\n",
	    zone->uz_name, UMA_ADDR(zone), keg->uk_size, keg->uk_rsize,
	    keg->uk_flags, keg->uk_ipers, keg->uk_ppera,
	    (keg->uk_ipers * keg->uk_pages) - keg->uk_free, keg->uk_free);
	printf("Part slabs:\n");
	LIST_FOREACH(slab, &keg->uk_part_slab, us_link)
		slab_print(slab);
	printf("Free slabs:\n");
	LIST_FOREACH(slab, &keg->uk_free_slab, us_link)
		slab_print(slab);
	printf("Full slabs:\n");
	LIST_FOREACH(slab, &keg->uk_full_slab, us_link)
		slab_print(slab);
	/* Internal zones have no per-CPU caches to print. */
	if (keg->uk_flags & UMA_ZFLAG_INTERNAL)
		return;
	UMA_WINDOW_OPEN(FINE_PRINT_ZONE);
	for (i = 0; i <= mp_maxid; i++) {
		if (CPU_ABSENT(i))
			continue;
		cache = &zone->uz_cpu[i];
		printf("CPU %d Cache:\n", i);
		cache_print(cache);
		UMA_FINE_POINT(PT_FINE_PRINT_ZONE_CPU);
	}
	UMA_WINDOW_CLOSE(FINE_PRINT_ZONE);
}

/*
 * Sums a zone's statistics over its caches, for DDB (which may not clear
 * the per-CPU counters, so the zone's own are not updated).
 */
static void
uma_zone_sumstat(uma_zone_t z, int *cachefreep, u_int64_t *allocsp,
    u_int64_t *freesp)
{
	uma_cache_t cache;
	u_int64_t allocs, frees;
	int cachefree, cpu;

	allocs = frees = 0;
	cachefree = 0;
	cov_win_open(W_FINE_ZONE_SUMSTAT, z->uz_keg);
	for (cpu = 0; cpu <= mp_maxid; cpu++) {
		if (CPU_ABSENT(cpu))
			continue;
		cache = &z->uz_cpu[cpu];
		if (cache->uc_allocbucket != NULL)
			cachefree += cache->uc_allocbucket->ub_cnt;
		if (cache->uc_freebucket != NULL)
			cachefree += cache->uc_freebucket->ub_cnt;
		allocs += cache->uc_allocs;
		frees += cache->uc_frees;
		uma_sim_fine_point(PT_FINE_ZONE_SUMSTAT_CPU, z);
	}
	cov_win_close(W_FINE_ZONE_SUMSTAT);
	allocs += z->uz_allocs;
	frees += z->uz_frees;
	if (cachefreep != NULL)
		*cachefreep = cachefree;
	if (allocsp != NULL)
		*allocsp = allocs;
	if (freesp != NULL)
		*freesp = frees;
}

/* vm.zone_count */
int
sysctl_vm_zone_count(int *countp)
{
	uma_keg_t kz;
	uma_zone_t z;
	int count;

	count = 0;
	mtx_lock(&uma_mtx);
	LIST_FOREACH(kz, &uma_kegs, uk_link) {
		LIST_FOREACH(z, &kz->uk_zones, uz_link)
			count++;
	}
	mtx_unlock(&uma_mtx);
	*countp = count;
	return (0);
}

/*
 * vm.zone_stats: a stream header, then per zone a type header and one
 * record per CPU, as libmemstat reads them.  The buffer is malloc(9)'d in
 * simulated memory with the count taken unlocked, and sized again if
 * zones appeared meanwhile.  'out' (host memory) receives a copy of at
 * most *len bytes; *len becomes the stream's length.
 */
int
sysctl_vm_zone_stats(void *out, size_t *len)
{
	struct uma_stream_header ush;
	struct uma_type_header uth;
	struct uma_percpu_stat ups;
	uma_bucket_t bucket;
	struct sbuf sbuf;
	uma_cache_t cache;
	uma_keg_t kz;
	uma_zone_t z;
	char *buffer;
	int buflen, count, error, i;

	mtx_lock(&uma_mtx);
restart:
	mtx_assert(&uma_mtx, MA_OWNED);
	count = 0;
	LIST_FOREACH(kz, &uma_kegs, uk_link) {
		LIST_FOREACH(z, &kz->uk_zones, uz_link)
			count++;
	}
	mtx_unlock(&uma_mtx);

	buflen = sizeof(ush) + count * (sizeof(uth) + sizeof(ups) *
	    (mp_maxid + 1)) + 1;
	buffer = malloc(buflen, M_TEMP, M_WAITOK | M_ZERO);

	mtx_lock(&uma_mtx);
	i = 0;
	LIST_FOREACH(kz, &uma_kegs, uk_link) {
		LIST_FOREACH(z, &kz->uk_zones, uz_link)
			i++;
	}
	if (i > count) {
		free(buffer, M_TEMP);
		goto restart;
	}
	count =  i;

	sbuf_new(&sbuf, buffer, buflen, SBUF_FIXEDLEN);

	bzero(&ush, sizeof(ush));
	ush.ush_version = UMA_STREAM_VERSION;
	ush.ush_maxcpus = (mp_maxid + 1);
	ush.ush_count = count;
	if (sbuf_bcat(&sbuf, &ush, sizeof(ush)) < 0) {
		mtx_unlock(&uma_mtx);
		error = ENOMEM;
		goto out;
	}

	LIST_FOREACH(kz, &uma_kegs, uk_link) {
		LIST_FOREACH(z, &kz->uk_zones, uz_link) {
			bzero(&uth, sizeof(uth));
			ZONE_LOCK(z);
			strlcpy(uth.uth_name, z->uz_name, UTH_MAX_NAME);
			uth.uth_align = kz->uk_align;
			uth.uth_pages = kz->uk_pages;
			uth.uth_keg_free = kz->uk_free;
			uth.uth_size = kz->uk_size;
			uth.uth_rsize = kz->uk_rsize;
			uth.uth_maxpages = kz->uk_maxpages;
			if (kz->uk_ppera > 1)
				uth.uth_limit = kz->uk_maxpages /
				    kz->uk_ppera;
			else
				uth.uth_limit = kz->uk_maxpages *
				    kz->uk_ipers;

			/* Secondary: not the first zone on its keg. */
			if ((kz->uk_flags & UMA_ZONE_SECONDARY) &&
			    (LIST_FIRST(&kz->uk_zones) != z))
				uth.uth_zone_flags = UTH_ZONE_SECONDARY;

			LIST_FOREACH(bucket, &z->uz_full_bucket, ub_link)
				uth.uth_zone_free += bucket->ub_cnt;
			uth.uth_allocs = z->uz_allocs;
			uth.uth_frees = z->uz_frees;
			uth.uth_fails = z->uz_fails;
			if (sbuf_bcat(&sbuf, &uth, sizeof(uth)) < 0) {
				ZONE_UNLOCK(z);
				mtx_unlock(&uma_mtx);
				error = ENOMEM;
				goto out;
			}
			/*
			 * Cache bucket pointers are read from another CPU:
			 * they may be swapped meanwhile, never freed, so the
			 * figures may be slightly off but the pointers hold.
			 */
			if (!(kz->uk_flags & UMA_ZFLAG_INTERNAL))
				cov_win_open(W_FINE_ZONE_STATS, kz);
			for (i = 0; i < (mp_maxid + 1); i++) {
				bzero(&ups, sizeof(ups));
				if (kz->uk_flags & UMA_ZFLAG_INTERNAL)
					goto skip;
				if (CPU_ABSENT(i))
					goto skip;
				cache = &z->uz_cpu[i];
				if (cache->uc_allocbucket != NULL)
					ups.ups_cache_free +=
					    cache->uc_allocbucket->ub_cnt;
				if (cache->uc_freebucket != NULL)
					ups.ups_cache_free +=
					    cache->uc_freebucket->ub_cnt;
				ups.ups_allocs = cache->uc_allocs;
				ups.ups_frees = cache->uc_frees;
				uma_sim_fine_point(PT_FINE_ZONE_STATS_CPU, z);
skip:
				if (sbuf_bcat(&sbuf, &ups, sizeof(ups)) < 0) {
					ZONE_UNLOCK(z);
					mtx_unlock(&uma_mtx);
					error = ENOMEM;
					goto out;
				}
			}
			cov_win_close(W_FINE_ZONE_STATS);
			ZONE_UNLOCK(z);
		}
	}
	mtx_unlock(&uma_mtx);
	sbuf_finish(&sbuf);
	error = SYSCTL_OUT(out, len, sbuf_data(&sbuf), sbuf_len(&sbuf));
out:
	free(buffer, M_TEMP);
	return (error);
}

/* DDB's "show uma". */
void
db_show_uma(void)
{
	u_int64_t allocs, frees;
	uma_bucket_t bucket;
	uma_keg_t kz;
	uma_zone_t z;
	int cachefree;

	db_printf("%18s %8s %8s %8s %12s\n", "Zone", "Size", "Used", "Free",
	    "Requests");
	LIST_FOREACH(kz, &uma_kegs, uk_link) {
		LIST_FOREACH(z, &kz->uk_zones, uz_link) {
			if (kz->uk_flags & UMA_ZFLAG_INTERNAL) {
				allocs = z->uz_allocs;
				frees = z->uz_frees;
				cachefree = 0;
			} else
				uma_zone_sumstat(z, &cachefree, &allocs,
				    &frees);
			if (!((kz->uk_flags & UMA_ZONE_SECONDARY) &&
			    (LIST_FIRST(&kz->uk_zones) != z)))
				cachefree += kz->uk_free;
			LIST_FOREACH(bucket, &z->uz_full_bucket, ub_link)
				cachefree += bucket->ub_cnt;
			db_printf("%18s %8ju %8jd %8d %12ju\n", z->uz_name,
			    (uintmax_t)kz->uk_size,
			    (intmax_t)(allocs - frees), cachefree,
			    (uintmax_t)allocs);
		}
	}
}

/* ---- for the simulator's walks (uma_sim.c, uma_check.c) --------------- */

uma_zone_t
uma_sim_kegs_zone(void)
{
	return (kegs);
}

uma_zone_t
uma_sim_zones_zone(void)
{
	return (zones);
}

uma_keg_t
uma_sim_first_keg(void)
{
	return (LIST_FIRST(&uma_kegs));
}

uma_slab_t
uma_sim_first_boot_page(void)
{
	return (LIST_FIRST(&uma_boot_pages));
}

int
uma_sim_bucketdisable(void)
{
	return (bucketdisable);
}

int
uma_sim_booted(void)
{
	return (booted);
}




struct mtx *
uma_sim_uma_mtx(void)
{
	return (&uma_mtx);
}

u_int
uma_sim_max_ipers(int ref)
{
	return (ref ? uma_max_ipers_ref : uma_max_ipers);
}

void
uma_sim_timeout(void)
{
	bucket_enable();
	zone_foreach(zone_timeout);
}

uma_alloc
uma_sim_backend(int which)
{
	switch (which) {
	case 0:
		return (page_alloc);
	case 1:
		return (startup_alloc);
	case 2:
		return (obj_alloc);
	}
	return (uma_small_alloc);
}

uma_free
uma_sim_page_free(void)
{
	return (page_free);
}

uma_init
uma_sim_zero_init(void)
{
	return (zero_init);
}

void *
uma_sim_ctor(int which)
{
	switch (which) {
	case 0:
		return ((void *)keg_ctor);
	case 1:
		return ((void *)keg_dtor);
	case 2:
		return ((void *)zone_ctor);
	}
	return ((void *)zone_dtor);
}
