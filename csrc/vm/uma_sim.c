/*
 * The simulator's side of the port: the VM interfaces uma_core.c calls
 * (objects, pages, pmap, amd64's direct-map allocator), sbuf and sysctl
 * output, the checks that turn the original's memory corruption into
 * panics, and UMA's boot on a new simulation.
 */

#include "../sys/param.h"
#include "../sys/systm.h"
#include "../sys/malloc.h"
#include "uma.h"
#include "uma_int.h"
#include "uma_sim.h"
#include "uma_sim_tables.h"

/* ---- VM objects and pages (obj_alloc, uma_zone_set_obj) --------------- */

void
_vm_object_allocate(int type, vm_pindex_t size, vm_object_t object)
{

	(void)type;
	bzero(object, sizeof(*object));
	object->memq.mq_object = object;
	object->size = size;
	object->pages = vm_bss_alloc((size_t)(size > 0 ? size : 1) *
	    sizeof(struct vm_page));
}

vm_object_t
vm_object_allocate(int type, vm_pindex_t size)
{
	vm_object_t object;

	object = vm_bss_alloc(sizeof(*object));
	_vm_object_allocate(type, size, object);
	return (object);
}

vm_page_t
vm_memq_last(struct vm_memq *q)
{
	vm_object_t o = q->mq_object;

	return (o->resident > 0 ? &o->pages[o->resident - 1] : NULL);
}

/*
 * One physical page for 'object' at 'pindex' (the next one), or NULL when
 * no page is free.  Like FreeBSD 7's, it accepts any index; but a page at
 * or past the object's size is one obj_alloc would map past the kva that
 * uma_zone_set_obj reserved for it (over whatever follows in the map): the
 * simulation panics there instead (docs/deviations.md).
 */
vm_page_t
vm_page_alloc(vm_object_t object, vm_pindex_t pindex, int req)
{
	vm_page_t m;

	(void)req;
	sched_point(PT_OBJ_PAGE_ALLOC);	/* no zone at hand: no coverage state */
	if (!vm_phys_take(1, M_NOWAIT)) {
		if (cursim->st.trace_level >= UMASIM_TRACE_FULL)
			ev_record(cursim, EVK_PAGE_FAIL, 1, M_NOWAIT);
		return (NULL);
	}
	if (pindex >= object->size)
		panic("umasim: vm_page_alloc: page %ju of a %ju-page object: "
		    "obj_alloc would map it past the object's kva",
		    (uintmax_t)pindex, (uintmax_t)object->size);
	m = &object->pages[pindex];
	m->pindex = pindex;
	m->object = object;
	object->resident = (int)pindex + 1;
	curthread->td_acts++;
	return (m);
}

void
vm_page_free(vm_page_t m)
{

	/* Pages leave an object from its end (obj_alloc's unwinding). */
	m->object->resident = (int)m->pindex;
	vm_phys_release(1);
}

/* Maps pages at va: the page table marks them, and they come zeroed. */
void
pmap_qenter(vm_offset_t va, vm_page_t *m, int count)
{
	int i;

	(void)m;
	fp_note(FPK_VM, 1);
	for (i = 0; i < count; i++)
		bzero((void *)(va + (vm_offset_t)i * PAGE_SIZE), PAGE_SIZE);
	if (cursim->st.trace_level >= UMASIM_TRACE_FULL)
		ev_record(cursim, EVK_PAGE_ALLOC,
		    (int64_t)kern_canon(cursim, (void *)va), count);
}

void
pmap_qremove(vm_offset_t va, int count)
{

	(void)va;
	(void)count;
}

/* ---- amd64's direct map (UMA_MD_SMALL_ALLOC) -------------------------- */

void *
uma_small_alloc(uma_zone_t zone, int bytes, u_int8_t *flags, int wait)
{

	(void)zone;
	(void)bytes;
	*flags = UMA_SLAB_PRIV;
	return (vm_small_alloc(wait));
}

void
uma_small_free(void *mem, int size, u_int8_t flags)
{

	(void)size;
	(void)flags;
	vm_small_free(mem);
}

/* ---- sbuf and sysctl output ---------------------------------------------- */

struct sbuf *
sbuf_new(struct sbuf *s, char *buf, int length, int flags)
{

	(void)flags;
	s->s_buf = buf;
	s->s_size = length;
	s->s_len = 0;
	s->s_overflow = 0;
	return (s);
}

int
sbuf_bcat(struct sbuf *s, const void *buf, size_t len)
{

	if (s->s_overflow || (size_t)(s->s_size - s->s_len) < len + 1) {
		s->s_overflow = 1;
		return (-1);
	}
	memcpy(s->s_buf + s->s_len, buf, len);
	s->s_len += (int)len;
	return (0);
}

void
sbuf_finish(struct sbuf *s)
{

	s->s_buf[s->s_len] = '\0';
}

char *
sbuf_data(struct sbuf *s)
{

	return (s->s_buf);
}

int
sbuf_len(struct sbuf *s)
{

	return (s->s_overflow ? -1 : s->s_len);
}

int
sysctl_out(void *out, size_t *len, const void *data, size_t n)
{

	if (out != NULL)
		memcpy(out, data, n < *len ? n : *len);
	*len = n;
	return (0);
}

size_t
strlcpy(char *dst, const char *src, size_t siz)
{
	size_t n = strlen(src);

	if (siz > 0) {
		size_t c = n < siz - 1 ? n : siz - 1;

		memcpy(dst, src, c);
		dst[c] = '\0';
	}
	return (n);
}

/* ---- where FreeBSD 7 would corrupt memory, panic instead ---------------- */

/*
 * An OFFPAGE header from slabzone (or slabrefzone) has room for
 * uma_max_ipers free-list entries; a keg made OFFPAGE by its creator with
 * more items per slab would write past it.
 */
void
uma_sim_check_offpage(uma_keg_t keg, uma_slab_t slab)
{
	u_int max;

	(void)slab;
	if (!(keg->uk_flags & UMA_ZONE_OFFPAGE))
		return;
	max = uma_sim_max_ipers((keg->uk_flags & UMA_ZONE_REFCNT) != 0);
	if (keg->uk_ipers > max)
		panic("umasim: keg %s: %d items per slab do not fit an "
		    "off-page slab header (room for %u); FreeBSD 7 would "
		    "overflow it", LIST_FIRST(&keg->uk_zones)->uz_name,
		    keg->uk_ipers, max);
}

/*
 * keg_ctor ignores hash_alloc's result: a HASH keg made while another
 * thread refills "UMA Hash" (whose uk_recurse makes uma_zone_slab refuse
 * it) has no table, and its first slab would be inserted through NULL.
 */
void
uma_sim_check_hash(uma_keg_t keg)
{

	if ((keg->uk_flags & UMA_ZONE_HASH) && keg->uk_hash.uh_slab_hash == NULL)
		panic("umasim: keg %s has no slab hash table (its hash_alloc "
		    "failed while \"UMA Hash\" was being refilled); FreeBSD 7 "
		    "would dereference NULL", LIST_FIRST(&keg->uk_zones)->uz_name);
}

/* A free whose item is not in a slab of this keg would corrupt it. */
void
uma_sim_check_slab(uma_zone_t zone, uma_slab_t slab, void *item)
{
	uma_keg_t keg = zone->uz_keg;
	u_int8_t *data;

	if (slab == NULL)
		panic("umasim: free of %#jx to zone %s: no slab of its keg "
		    "holds it (FreeBSD 7 would dereference NULL)",
		    UMA_ADDR(item), zone->uz_name);
	if (slab->us_keg != keg)
		panic("umasim: free of %#jx to zone %s: it belongs to another "
		    "keg (FreeBSD 7 would corrupt that slab)", UMA_ADDR(item),
		    zone->uz_name);
	data = slab->us_data;
	if ((u_int8_t *)item < data ||
	    (u_int8_t *)item >= data + (size_t)keg->uk_ipers * keg->uk_rsize ||
	    ((u_int8_t *)item - data) % keg->uk_rsize != 0)
		panic("umasim: free of %#jx to zone %s: not an item boundary "
		    "(FreeBSD 7 would corrupt the slab)", UMA_ADDR(item),
		    zone->uz_name);
}

/* slab_zalloc(M_WAITOK) returns NULL only when an init failed. */
void
uma_sim_check_prealloc(uma_zone_t zone, uma_slab_t slab)
{

	if (slab == NULL)
		panic("umasim: uma_prealloc(%s): slab_zalloc failed (an init "
		    "failed); FreeBSD 7 would put NULL on the free list",
		    zone->uz_name);
}

void
uma_sim_check_refcnt(uma_zone_t zone, uma_slabrefcnt_t slabref)
{

	if (slabref == NULL || !(slabref->us_keg->uk_flags & UMA_ZONE_REFCNT))
		panic("umasim: uma_find_refcnt(%s): not an item of a REFCNT "
		    "zone (FreeBSD 7 would dereference garbage)", zone->uz_name);
}

/* ---- boot ------------------------------------------------------------------ */

/*
 * What vm_mem_init, kmeminit and the SYSINITs did for UMA: uma_startup on
 * the boot pages, then (the VM being up) uma_startup2 and the malloc(9)
 * zones, then uma_startup3's callout.  The pagedaemon's reclaim hook is
 * uma_reclaim.
 */
static void
uma_sim_boot(void *arg)
{
	int64_t npages;
	void *bootmem;

	(void)arg;
	bootmem = vm_boot_pages(&npages);
	uma_startup(bootmem, (int)npages);
	/*
	 * MD code's preferred cache alignment ([sim] align_cache); the default
	 * "cache" (UMA_ALIGN_CACHE) is what uma_set_align() ignores.
	 */
	uma_set_align(cursim->st.cfg.align_cache);
	kmeminit();
	uma_startup3();
	uma_sim_tables_init();
	vm_set_reclaim_hook(cursim, uma_reclaim);
}

int
uma_sim_attach(struct sim *s)
{

	return (kern_hostcall(s, uma_sim_boot, NULL));
}

/* uma_sim_cov_state(), the abstract state at a stop: inline, in uma_sim.h. */

void
uma_sim_stop(int pt, uma_zone_t zone)
{
	struct sim *s = cursim;
	struct kthread *td = kern_curthread();

	cov_state(pt, uma_sim_cov_state(zone, td->td_cpu));
	sched_point_in(s, td, pt);
}

void
uma_sim_fine_stop(int pt, uma_zone_t zone)
{

	cov_touch(zone->uz_keg);
	cov_state(pt, uma_sim_cov_state(zone, kern_curthread()->td_cpu));
	sched_fine_point(pt);
}
