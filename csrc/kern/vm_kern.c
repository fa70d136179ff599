/*-
 * Copyright (c) 1991, 1993
 *	The Regents of the University of California.  All rights reserved.
 *
 * This code is derived from software contributed to Berkeley by
 * The Mach Operating System project at Carnegie-Mellon University.
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
 *	from: @(#)vm_kern.c	8.3 (Berkeley) 1/12/94
 *
 *
 * Copyright (c) 1987, 1990 Carnegie-Mellon University.
 * All rights reserved.
 *
 * Authors: Avadis Tevanian, Jr., Michael Wayne Young
 *
 * Permission to use, copy, modify and distribute this software and
 * its documentation is hereby granted, provided that both the copyright
 * notice and this permission notice appear in all copies of the
 * software, derivative works or modified versions, and any portions
 * thereof, and that both notices appear in supporting documentation.
 *
 * CARNEGIE MELLON ALLOWS FREE USE OF THIS SOFTWARE IN ITS "AS IS"
 * CONDITION.  CARNEGIE MELLON DISCLAIMS ANY LIABILITY OF ANY KIND
 * FOR ANY DAMAGES WHATSOEVER RESULTING FROM THE USE OF THIS SOFTWARE.
 *
 * Carnegie Mellon requests users of this software to return to
 *
 *  Software Distribution Coordinator  or  Software.Distribution@CS.CMU.EDU
 *  School of Computer Science
 *  Carnegie Mellon University
 *  Pittsburgh PA 15213-3890
 *
 * any improvements or extensions that they make and grant Carnegie the
 * rights to redistribute these changes.
 */

/*
 * kmem_malloc, kmem_free and kmem_alloc_nofault of the simulated kernel, after
 * FreeBSD 7's sys/vm/vm_kern.c: kmem_map's address space is the first-fit map
 * of vm.c (vm_kva_find for vm_map_findspace, vm_kva_mark for vm_map_insert
 * and vm_map_delete), its pages come from vm_phys_take (all or nothing per
 * request), and VM_WAIT is vm_wait.  kmem_alloc_nofault takes kmem_map space
 * too: the simulated kernel has one map (docs/deviations.md).
 */
#include <stdio.h>
#include <string.h>

#include "kern.h"
#include "vm.h"

#define	VM_HZ		1000	/* hz, as sys/systm.h has it */

/*
 * The vm_lowmem event (EVENTHANDLER_INVOKE(vm_lowmem, 0)).  FreeBSD 7's
 * handlers live outside UMA (among them the mbuf protocol drains and ZFS's
 * ARC); the simulated kernel has none of those subsystems and
 * registers no handler, so the event runs nothing: what frees kmem_map
 * space in kmem_malloc's rounds is the uma_reclaim() that follows it.
 */
static void
vm_lowmem_invoke(struct sim *s)
{

	(void)s;
}

/*
 * kmem_malloc as FreeBSD 7's sys/vm/vm_kern.c has it: find room in
 * kmem_map; for M_WAITOK, when there is none, up to 8 rounds of the
 * vm_lowmem event and uma_reclaim(), each followed by a retry and, if that
 * fails, a tsleep on "nokva" of (hz / 4) * (round + 1) ticks, then the
 * panic (M_NOWAIT: NULL at once).  The range is entered in the map
 * (vm_map_insert) before the pages are allocated and stays there while
 * the request sleeps in VM_WAIT; an M_NOWAIT request that gets no pages
 * gives it back (vm_map_delete).
 */
void *
kmem_malloc(void *map, size_t size, int flags)
{
	struct sim *s = cursim;
	struct vmstate *vm = &s->st.vm;
	struct kthread *td;
	int64_t n, first;
	int i, injected;
	char *p;

	(void)map;
	sched_point(PT_PAGE_ALLOC);
	fp_note(FPK_VM, 1);
	n = (int64_t)((size + PAGE_MASK) >> PAGE_SHIFT);
	size = (size_t)n * PAGE_SIZE;			/* round_page(size) */
	first = vm_kva_find(vm, n);
	if (first < 0) {
		if ((flags & M_NOWAIT) == 0) {
			for (i = 0; i < 8; i++) {
				vm_lowmem_invoke(s);
				if (vm->reclaim_hook != NULL)
					vm->reclaim_hook();	/* uma_reclaim() */
				first = vm_kva_find(vm, n);
				if (first >= 0)
					break;
				td = s->st.curthread;
				msleep(&td->td_nokva, NULL, 0, "nokva",
				    (VM_HZ / 4) * (i + 1));
			}
			if (i == 8)
				panic("kmem_malloc(%ld): kmem_map too small: %ld "
				    "total allocated", (long)size,
				    (long)(vm->kmem_used * PAGE_SIZE));
		} else {
			vm_page_fail_event(s, n, flags);
			return (NULL);
		}
	}
	vm_kva_mark(s, first, n, 1);			/* vm_map_insert */
	for (;;) {
		injected = vm->fail_next > 0;
		if (vm_phys_take(n, flags))
			break;
		vm_page_fail_event(s, n, flags);
		if (flags & M_NOWAIT) {
			vm_kva_mark(s, first, n, 0);	/* vm_map_delete */
			return (NULL);
		}
		vm_wait(s, injected);
	}
	p = vm_kmem_addr(s, first);
	/*
	 * Pages come back zeroed whatever the flags: a page's old contents
	 * would otherwise depend on history a snapshot restore discards.
	 */
	memset(p, 0, (size_t)n * PAGE_SIZE);
	s->st.curthread->td_acts++;
	if (s->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(s, EVK_PAGE_ALLOC, (int64_t)vm_display(s, p), n);
	return (p);
}

void
kmem_free(void *map, void *addr, size_t size)
{
	struct sim *s = cursim;
	struct vmstate *vm = &s->st.vm;
	int64_t n, first, i;

	(void)map;
	sched_point(PT_PAGE_FREE);
	fp_note(FPK_VM, 1);
	n = (int64_t)((size + PAGE_MASK) >> PAGE_SHIFT);
	first = vm_kmem_index(s, addr);
	if (((uintptr_t)addr & PAGE_MASK) != 0 || first < 0 ||
	    first + n > vm->kmem_pages)
		panic("kmem_free: %#llx is not in kmem_map",
		    (unsigned long long)vm_display(s, addr));
	for (i = 0; i < n; i++)
		if (!vm->kmem_map[first + i])
			panic("kmem_free: page %#llx is not allocated",
			    (unsigned long long)vm_display(s,
			    vm_kmem_addr(s, first + i)));
	if (s->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(s, EVK_PAGE_FREE, (int64_t)vm_display(s, addr), n);
	vm_kva_mark(s, first, n, 0);
	s->st.curthread->td_acts++;
	vm_phys_release(n);
}

/* Address space only (uma_zone_set_obj); pages come from vm_phys_take. */
void *
kmem_alloc_nofault(void *map, size_t size)
{
	struct sim *s = cursim;
	int64_t n, first;

	(void)map;
	fp_note(FPK_VM, 1);
	n = (int64_t)((size + PAGE_MASK) >> PAGE_SHIFT);
	first = vm_kva_find(&s->st.vm, n);
	if (first < 0)
		return (NULL);
	vm_kva_mark(s, first, n, 1);
	return (vm_kmem_addr(s, first));
}

