/*-
 * Copyright (c) 1987, 1991, 1993
 *	The Regents of the University of California.
 * Copyright (c) 2005-2006 Robert N. M. Watson
 * All rights reserved.
 *
 * Redistribution and use in source and binary forms, with or without
 * modification, are permitted provided that the following conditions
 * are met:
 * 1. Redistributions of source code must retain the above copyright
 *    notice, this list of conditions and the following disclaimer.
 * 2. Redistributions in binary form must reproduce the above copyright
 *    notice, this list of conditions and the following disclaimer in the
 *    documentation and/or other materials provided with the distribution.
 * 4. Neither the name of the University nor the names of its contributors
 *    may be used to endorse or promote products derived from this software
 *    without specific prior written permission.
 *
 * THIS SOFTWARE IS PROVIDED BY THE REGENTS AND CONTRIBUTORS ``AS IS'' AND
 * ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
 * IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE
 * ARE DISCLAIMED.  IN NO EVENT SHALL THE REGENTS OR CONTRIBUTORS BE LIABLE
 * FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
 * DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS
 * OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION)
 * HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT
 * LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY
 * OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF
 * SUCH DAMAGE.
 *
 *	@(#)kern_malloc.c	8.3 (Berkeley) 1/4/94
 */

/*
 * malloc(9) and free(9) as FreeBSD 7's kern_malloc.c had them: requests
 * up to a page come from power-of-two UMA_ZONE_MALLOC zones (the
 * kmemzones, "16" to "4096"), larger ones from uma_large_malloc(); free(9)
 * finds the slab through vtoslab().  kmeminit creates mt_zone, whose items
 * hold a malloc type's per-CPU statistics, but no type takes one
 * (malloc_init does not run: M_TEMP is shared by every simulation in the
 * process), and malloc/free keep no per-type statistics.
 */

#include "../sys/param.h"
#include "../sys/systm.h"
#include "../sys/malloc.h"
#include "uma.h"
#include "uma_int.h"
#include "uma_dbg.h"

#define	KMEM_ZSHIFT	4
#define	KMEM_ZBASE	16
#define	KMEM_ZMASK	(KMEM_ZBASE - 1)
#define	KMEM_ZMAX	PAGE_SIZE
#define	KMEM_ZSIZE	(KMEM_ZMAX >> KMEM_ZSHIFT)

MALLOC_DEFINE(M_TEMP, "temp", "misc temporary data buffers");

struct kmemzone {
	int		kz_size;
	char		*kz_name;
	uma_zone_t	kz_zone;
};

/*
 * FreeBSD 7's struct malloc_type_internal (sys/malloc.h) on amd64: the
 * DTrace probe ids and one struct malloc_type_stats per CPU (MAXCPU 16).
 * Only its size matters here: it is mt_zone's item size.
 */
struct malloc_type_stats {
	uint64_t	mts_memalloced;
	uint64_t	mts_memfreed;
	uint64_t	mts_numallocs;
	uint64_t	mts_numfrees;
	uint64_t	mts_size;
	uint64_t	_mts_reserved1;
	uint64_t	_mts_reserved2;
	uint64_t	_mts_reserved3;
};

struct malloc_type_internal {
	uint32_t	mti_probes[2];		/* DTMALLOC_PROBE_MAX */
	struct malloc_type_stats mti_stats[16];	/* MAXCPU */
};

/*
 * The kmemzones table, the size map, mt_zone and malloc()'s "once" of its
 * flags check, in the simulated bss.
 */
struct kmem_globals {
	struct kmemzone	kmemzones[10];
	u_int8_t	kmemsize[KMEM_ZSIZE + 1];
	uma_zone_t	mt_zone;
	int		badflags_once;
};

#define	KG		((struct kmem_globals *)cursim->st.kmem)
#define	kmemzones	(KG->kmemzones)
#define	kmemsize	(KG->kmemsize)
#define	mt_zone		(KG->mt_zone)

static const struct kmemzone kmemzones_init[10] = {
	{16, "16", NULL},
	{32, "32", NULL},
	{64, "64", NULL},
	{128, "128", NULL},
	{256, "256", NULL},
	{512, "512", NULL},
	{1024, "1024", NULL},
	{2048, "2048", NULL},
	{4096, "4096", NULL},
	{0, NULL, NULL},
};

void *
kern_malloc(unsigned long size, struct malloc_type *mtp, int flags)
{
	int indx;
	caddr_t va;
	uma_zone_t zone;

	(void)mtp;
	if (INVARIANTS_ON) {
		/*
		 * Check that exactly one of M_WAITOK or M_NOWAIT is specified.
		 * FreeBSD 7 rate-limits the report with ppsratecheck() and
		 * makes it once only; there is no debugger for kdb_backtrace().
		 */
		indx = flags & (M_WAITOK | M_NOWAIT);
		if (indx != M_NOWAIT && indx != M_WAITOK) {
			if (KG->badflags_once == 0) {
				printf("Bad malloc flags: %x\n", indx);
				flags |= M_WAITOK;
				KG->badflags_once++;
			}
		}
	}
	if (size <= KMEM_ZMAX) {
		if (size & KMEM_ZMASK)
			size = (size & ~KMEM_ZMASK) + KMEM_ZBASE;
		indx = kmemsize[size >> KMEM_ZSHIFT];
		zone = kmemzones[indx].kz_zone;
		va = uma_zalloc(zone, flags);
	} else {
		size = roundup(size, PAGE_SIZE);
		zone = NULL;
		va = uma_large_malloc(size, flags);
	}
	if (flags & M_WAITOK)
		KASSERT(va != NULL, ("malloc(M_WAITOK) returned NULL"));
	return ((void *) va);
}

void
kern_free(void *addr, struct malloc_type *mtp)
{
	uma_slab_t slab;

	if (addr == NULL)
		return;

	slab = vtoslab((vm_offset_t)addr & (~UMA_SLAB_MASK));

	if (slab == NULL)
		panic("free: address %#jx(%#jx) has not been allocated.\n",
		    (uintmax_t)kern_canon(cursim, addr),
		    (uintmax_t)kern_canon(cursim,
		    (void *)((u_long)addr & (~UMA_SLAB_MASK))));

	if (!(slab->us_flags & UMA_SLAB_MALLOC)) {
		struct malloc_type **mtpp = addr;
		u_long size;

		size = slab->us_keg->uk_size;
		if (INVARIANTS_ON) {
			/* Remember the last user for mtrash_ctor's report. */
			mtpp = (struct malloc_type **)
			    ((unsigned long)mtpp & ~UMA_ALIGN_PTR);
			mtpp += (size - sizeof(struct malloc_type *)) /
			    sizeof(struct malloc_type *);
			*mtpp = mtp;
		}
		uma_zfree_arg(LIST_FIRST(&slab->us_keg->uk_zones), addr, slab);
	} else {
		uma_large_free(slab);
	}
}

/* The kmemzones index serving a request of 'size' bytes, or -1. */
int
kmem_zone_index(unsigned long size)
{

	if (size == 0 || size > KMEM_ZMAX)
		return (-1);
	if (size & KMEM_ZMASK)
		size = (size & ~KMEM_ZMASK) + KMEM_ZBASE;
	return (kmemsize[size >> KMEM_ZSHIFT]);
}

uma_zone_t
kmem_zone(int indx)
{

	return (kmemzones[indx].kz_zone);
}

/*
 * The VM is up: let UMA use it, and create the malloc zones (with the
 * mtrash callbacks under INVARIANTS).
 */
int
kmeminit(void)
{
	int i, indx;

	cursim->st.kmem = vm_bss_alloc(sizeof(struct kmem_globals));
	bzero(KG, sizeof(struct kmem_globals));
	memcpy(kmemzones, kmemzones_init, sizeof(kmemzones_init));

	uma_startup2();

	mt_zone = uma_zcreate("mt_zone", sizeof(struct malloc_type_internal),
	    INVARIANTS_ON ? mtrash_ctor : NULL,
	    INVARIANTS_ON ? mtrash_dtor : NULL,
	    INVARIANTS_ON ? mtrash_init : NULL,
	    INVARIANTS_ON ? mtrash_fini : NULL,
	    UMA_ALIGN_PTR, UMA_ZONE_MALLOC);

	for (i = 0, indx = 0; kmemzones[indx].kz_size != 0; indx++) {
		int size = kmemzones[indx].kz_size;
		char *name = kmemzones[indx].kz_name;

		if (INVARIANTS_ON)
			kmemzones[indx].kz_zone = uma_zcreate(name, size,
			    mtrash_ctor, mtrash_dtor, mtrash_init, mtrash_fini,
			    UMA_ALIGN_PTR, UMA_ZONE_MALLOC);
		else
			kmemzones[indx].kz_zone = uma_zcreate(name, size,
			    NULL, NULL, NULL, NULL,
			    UMA_ALIGN_PTR, UMA_ZONE_MALLOC);

		for (;i <= size; i+= KMEM_ZBASE)
			kmemsize[i >> KMEM_ZSHIFT] = indx;
	}
	return (0);
}
