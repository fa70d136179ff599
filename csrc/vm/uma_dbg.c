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
 * uma_dbg.c -- UMA's debugging aids, after FreeBSD 7's (by Jeffrey
 * Roberson): trash callbacks that fill freed items with a junk pattern and
 * report items modified after free, and the INVARIANTS bookkeeping that
 * catches duplicate frees and frees to the wrong zone.
 *
 * Addresses in messages are the simulated machine's (display addresses),
 * never the host's.
 */

#include "../sys/param.h"
#include "../sys/systm.h"
#include "../sys/malloc.h"
#include "uma.h"
#include "uma_int.h"
#include "uma_dbg.h"
#include "uma_sim.h"

static const u_int32_t uma_junk = 0xdeadc0de;

/*
 * Checks the junk pattern; a modified word is reported on the console,
 * and the allocation goes on (the original only prints, too).
 */
int
trash_ctor(void *mem, int size, void *arg, int flags)
{
	int cnt;
	u_int32_t *p;

	(void)arg;
	(void)flags;
	cnt = size / sizeof(uma_junk);

	for (p = mem; cnt > 0; cnt--, p++)
		if (*p != uma_junk) {
			printf("Memory modified after free %#jx(%d) val=%x @ %#jx\n",
			    UMA_ADDR(mem), size, *p, UMA_ADDR(p));
			return (0);
		}
	return (0);
}

/* Fills the item with the junk pattern. */
void
trash_dtor(void *mem, int size, void *arg)
{
	int cnt;
	u_int32_t *p;

	(void)arg;
	cnt = size / sizeof(uma_junk);

	for (p = mem; cnt > 0; cnt--, p++)
		*p = uma_junk;
}

int
trash_init(void *mem, int size, int flags)
{
	(void)flags;
	trash_dtor(mem, size, NULL);
	return (0);
}

void
trash_fini(void *mem, int size)
{
	(void)trash_ctor(mem, size, NULL, 0);
}

/*
 * The malloc(9) variants keep the last word of each item for the
 * malloc_type of its last user, and panic -- naming that user -- when the
 * pattern was disturbed.
 */
int
mtrash_ctor(void *mem, int size, void *arg, int flags)
{
	struct malloc_type **ksp;
	u_int32_t *p = mem;
	int cnt;

	(void)arg;
	(void)flags;
	size -= sizeof(struct malloc_type *);
	ksp = (struct malloc_type **)mem;
	ksp += size / sizeof(struct malloc_type *);
	cnt = size / sizeof(uma_junk);

	for (p = mem; cnt > 0; cnt--, p++)
		if (*p != uma_junk) {
			printf("Memory modified after free %#jx(%d) val=%x @ %#jx\n",
			    UMA_ADDR(mem), size, *p, UMA_ADDR(p));
			panic("Most recently used by %s\n", (*ksp == NULL)?
			    "none" : (*ksp)->ks_shortdesc);
		}
	return (0);
}

void
mtrash_dtor(void *mem, int size, void *arg)
{
	int cnt;
	u_int32_t *p;

	(void)arg;
	size -= sizeof(struct malloc_type *);
	cnt = size / sizeof(uma_junk);

	for (p = mem; cnt > 0; cnt--, p++)
		*p = uma_junk;
}

int
mtrash_init(void *mem, int size, int flags)
{
	struct malloc_type **ksp;

	(void)flags;
	mtrash_dtor(mem, size, NULL);

	ksp = (struct malloc_type **)mem;
	ksp += (size / sizeof(struct malloc_type *)) - 1;
	*ksp = NULL;
	return (0);
}

void
mtrash_fini(void *mem, int size)
{
	(void)mtrash_ctor(mem, size, NULL, 0);
}

/*
 * The slab an item should belong to, found the way the zone finds slabs.
 * The port also refuses a computed in-page header that is not this keg's
 * (the original would read whatever lies there): see docs/deviations.md.
 */
static uma_slab_t
uma_dbg_getslab(uma_zone_t zone, void *item)
{
	uma_slab_t slab;
	uma_keg_t keg;
	u_int8_t *mem;

	keg = zone->uz_keg;

	mem = (u_int8_t *)((unsigned long)item & (~UMA_SLAB_MASK));
	if (keg->uk_flags & UMA_ZONE_MALLOC) {
		slab = vtoslab((vm_offset_t)mem);
	} else if (keg->uk_flags & UMA_ZONE_HASH) {
		slab = hash_sfind(&keg->uk_hash, mem);
	} else {
		mem += keg->uk_pgoff;
		slab = (uma_slab_t)mem;
	}
	if (slab != NULL && slab->us_keg != keg)
		slab = NULL;

	return (slab);
}

/* Marks the item allocated: its free-list byte becomes 255. */
void
uma_dbg_alloc(uma_zone_t zone, uma_slab_t slab, void *item)
{
	uma_keg_t keg;
	uma_slabrefcnt_t slabref;
	int freei;

	keg = zone->uz_keg;
	if (slab == NULL) {
		slab = uma_dbg_getslab(zone, item);
		if (slab == NULL)
			panic("uma: item %#jx did not belong to zone %s\n",
			    UMA_ADDR(item), zone->uz_name);
	}

	freei = ((unsigned long)item - (unsigned long)slab->us_data)
	    / keg->uk_rsize;

	if (keg->uk_flags & UMA_ZONE_REFCNT) {
		slabref = (uma_slabrefcnt_t)slab;
		slabref->us_freelist[freei].us_item = 255;
	} else {
		slab->us_freelist[freei].us_item = 255;
	}

	return;
}

/*
 * Checks a free: the item must be an allocated item of this zone, at an
 * item boundary.  Marks it free (0) until it is linked back.
 */
void
uma_dbg_free(uma_zone_t zone, uma_slab_t slab, void *item)
{
	uma_keg_t keg;
	uma_slabrefcnt_t slabref;
	int freei;

	keg = zone->uz_keg;
	if (slab == NULL) {
		slab = uma_dbg_getslab(zone, item);
		if (slab == NULL)
			panic("uma: Freed item %#jx did not belong to zone %s\n",
			    UMA_ADDR(item), zone->uz_name);
	}

	freei = ((unsigned long)item - (unsigned long)slab->us_data)
	    / keg->uk_rsize;

	if (freei >= keg->uk_ipers)
		panic("zone: %s(%#jx) slab %#jx freelist %d out of range 0-%d\n",
		    zone->uz_name, UMA_ADDR(zone), UMA_ADDR(slab), freei,
		    keg->uk_ipers-1);

	if (((freei * keg->uk_rsize) + slab->us_data) != item) {
		printf("zone: %s(%#jx) slab %#jx freed address %#jx unaligned.\n",
		    zone->uz_name, UMA_ADDR(zone), UMA_ADDR(slab),
		    UMA_ADDR(item));
		panic("should be %#jx\n",
		    UMA_ADDR((freei * keg->uk_rsize) + slab->us_data));
	}

	if (keg->uk_flags & UMA_ZONE_REFCNT) {
		slabref = (uma_slabrefcnt_t)slab;
		if (slabref->us_freelist[freei].us_item != 255) {
			printf("Slab at %#jx, freei %d = %d.\n",
			    UMA_ADDR(slab), freei,
			    slabref->us_freelist[freei].us_item);
			panic("Duplicate free of item %#jx from zone %#jx(%s)\n",
			    UMA_ADDR(item), UMA_ADDR(zone), zone->uz_name);
		}
		slabref->us_freelist[freei].us_item = 0;
	} else {
		if (slab->us_freelist[freei].us_item != 255) {
			printf("Slab at %#jx, freei %d = %d.\n",
			    UMA_ADDR(slab), freei,
			    slab->us_freelist[freei].us_item);
			panic("Duplicate free of item %#jx from zone %#jx(%s)\n",
			    UMA_ADDR(item), UMA_ADDR(zone), zone->uz_name);
		}
		slab->us_freelist[freei].us_item = 0;
	}
}
