/*
 * Read-only views of UMA for the host: zones with their kegs, per-CPU
 * caches, bucket lists, slabs and items, and the vm.zone_stats stream.
 * Like DDB, these walks take no locks and change nothing -- inspecting a
 * simulation never alters its state or its digest -- so they may be
 * slightly inconsistent while a thread is inside the allocator, as the
 * real sysctl accepts for the per-CPU caches.
 */

#include "../sys/param.h"
#include "../sys/systm.h"
#include "../sys/malloc.h"
#include "uma.h"
#include "uma_int.h"
#include "uma_sim.h"
#include "uma_sim_tables.h"
#include "uma_inspect.h"

static int
zone_slot(uma_zone_t z)
{
	int i;

	for (i = 0; i < UT->ut_nzones; i++)
		if (ZR_USABLE(UTZ(i)) &&
		    UTZ(i)->zr_zone == z)
			return (i);
	return (-1);
}

static int
bucket_list_items(uma_bucket_t first, int *nbuckets)
{
	uma_bucket_t b;
	int items = 0, n = 0;

	for (b = first; b != NULL; b = LIST_NEXT(b, ub_link)) {
		items += b->ub_cnt;
		n++;
	}
	if (nbuckets != NULL)
		*nbuckets = n;
	return (items);
}

static void
zone_info(uma_keg_t kz, uma_zone_t z, struct umasim_zone_info *zi)
{
	uma_cache_t c;
	int cpu;

	bzero(zi, sizeof(*zi));
	zi->addr = kern_canon(cursim, z);
	zi->keg = kern_canon(cursim, kz);
	zi->name = z->uz_name;
	zi->size = kz->uk_size;
	zi->rsize = kz->uk_rsize;
	zi->ipers = kz->uk_ipers;
	zi->ppera = kz->uk_ppera;
	zi->pgoff = kz->uk_pgoff;
	zi->flags = kz->uk_flags;
	zi->align = kz->uk_align;
	zi->pages = kz->uk_pages;
	zi->keg_free = kz->uk_free;
	zi->maxpages = kz->uk_maxpages;
	zi->limit = kz->uk_ppera > 1 ? kz->uk_maxpages / kz->uk_ppera :
	    kz->uk_maxpages * kz->uk_ipers;
	zi->zone_allocs = z->uz_allocs;
	zi->zone_frees = z->uz_frees;
	zi->fails = z->uz_fails;
	zi->count = z->uz_count;
	zi->fills = z->uz_fills;
	zi->full_items = bucket_list_items(LIST_FIRST(&z->uz_full_bucket),
	    &zi->full_buckets);
	(void)bucket_list_items(LIST_FIRST(&z->uz_free_bucket),
	    &zi->free_buckets);
	zi->secondary = (kz->uk_flags & UMA_ZONE_SECONDARY) &&
	    LIST_FIRST(&kz->uk_zones) != z;
	zi->internal = (kz->uk_flags & UMA_ZFLAG_INTERNAL) != 0;
	zi->hashsize = kz->uk_hash.uh_hashsize;
	zi->lock_owner = mtx_owner_tid(&kz->uk_lock);
	zi->slot = zone_slot(z);
	zi->recurse = kz->uk_recurse;
	zi->allocs = z->uz_allocs;
	zi->frees = z->uz_frees;
	if (zi->internal)
		return;
	for (cpu = 0; cpu <= mp_maxid; cpu++) {
		c = &z->uz_cpu[cpu];
		zi->allocs += c->uc_allocs;
		zi->frees += c->uc_frees;
		if (c->uc_allocbucket != NULL)
			zi->cache_items += c->uc_allocbucket->ub_cnt;
		if (c->uc_freebucket != NULL)
			zi->cache_items += c->uc_freebucket->ub_cnt;
	}
}

/* Finds a zone by its display address. */
static uma_zone_t
zone_by_addr(uint64_t addr)
{
	uma_keg_t kz;
	uma_zone_t z;

	for (kz = uma_sim_first_keg(); kz != NULL; kz = LIST_NEXT(kz, uk_link))
		LIST_FOREACH(z, &kz->uk_zones, uz_link)
			if (kern_canon(cursim, z) == addr)
				return (z);
	return (NULL);
}

static int
zones_unlocked(struct sim *s, struct umasim_zone_info *out, int max)
{
	uma_keg_t kz;
	uma_zone_t z;
	int n = 0;

	cursim = s;
	for (kz = uma_sim_first_keg(); kz != NULL; kz = LIST_NEXT(kz, uk_link))
		LIST_FOREACH(z, &kz->uk_zones, uz_link) {
			if (n < max)
				zone_info(kz, z, &out[n]);
			n++;
		}
	return (n);
}

int
umasim_zones(struct sim *s, struct umasim_zone_info *out, int max)
{
	int r;

	API_ENTER(s);
	r = zones_unlocked(s, out, max);
	API_LEAVE(s);
	return (r);
}

static int
zone_by_slot_unlocked(struct sim *s, int slot, struct umasim_zone_info *out)
{
	uma_zone_t z;

	cursim = s;
	if (slot < 0 || slot >= UT->ut_nzones ||
	    !ZR_USABLE(UTZ(slot)))
		return (UMASIM_E_INVAL);
	z = UTZ(slot)->zr_zone;
	zone_info(z->uz_keg, z, out);
	return (0);
}

int
umasim_zone_by_slot(struct sim *s, int slot, struct umasim_zone_info *out)
{
	int r;

	API_ENTER(s);
	r = zone_by_slot_unlocked(s, slot, out);
	API_LEAVE(s);
	return (r);
}

static int
zone_caches_unlocked(struct sim *s, uint64_t zone,
    struct umasim_cache_info *out, int max)
{
	uma_zone_t z;
	uma_cache_t c;
	int cpu;

	cursim = s;
	if ((z = zone_by_addr(zone)) == NULL)
		return (UMASIM_E_INVAL);
	if (z->uz_keg->uk_flags & UMA_ZFLAG_INTERNAL)
		return (0);
	for (cpu = 0; cpu <= mp_maxid && cpu < max; cpu++) {
		c = &z->uz_cpu[cpu];
		bzero(&out[cpu], sizeof(out[cpu]));
		out[cpu].alloc_bucket = kern_canon(s, c->uc_allocbucket);
		out[cpu].free_bucket = kern_canon(s, c->uc_freebucket);
		out[cpu].alloc_cnt = c->uc_allocbucket ?
		    c->uc_allocbucket->ub_cnt : -1;
		out[cpu].alloc_entries = c->uc_allocbucket ?
		    c->uc_allocbucket->ub_entries : 0;
		out[cpu].free_cnt = c->uc_freebucket ?
		    c->uc_freebucket->ub_cnt : -1;
		out[cpu].free_entries = c->uc_freebucket ?
		    c->uc_freebucket->ub_entries : 0;
		out[cpu].allocs = c->uc_allocs;
		out[cpu].frees = c->uc_frees;
	}
	return (mp_maxid + 1);
}

int
umasim_zone_caches(struct sim *s, uint64_t zone, struct umasim_cache_info *out,
    int max)
{
	int r;

	API_ENTER(s);
	r = zone_caches_unlocked(s, zone, out, max);
	API_LEAVE(s);
	return (r);
}

/* list: 0 full buckets, 1 free (empty) buckets of the zone. */
static int
zone_buckets_unlocked(struct sim *s, uint64_t zone, int list,
    struct umasim_bucket_info *out, int max)
{
	uma_zone_t z;
	uma_bucket_t b;
	int n = 0;

	cursim = s;
	if ((z = zone_by_addr(zone)) == NULL)
		return (UMASIM_E_INVAL);
	if (list == 0)
		b = LIST_FIRST(&z->uz_full_bucket);
	else
		b = LIST_FIRST(&z->uz_free_bucket);
	for (; b != NULL; b = LIST_NEXT(b, ub_link), n++) {
		if (n < max) {
			out[n].addr = kern_canon(s, b);
			out[n].cnt = b->ub_cnt;
			out[n].entries = b->ub_entries;
		}
	}
	return (n);
}

int
umasim_zone_buckets(struct sim *s, uint64_t zone, int list,
    struct umasim_bucket_info *out, int max)
{
	int r;

	API_ENTER(s);
	r = zone_buckets_unlocked(s, zone, list, out, max);
	API_LEAVE(s);
	return (r);
}

/* list: 0 partial, 1 free, 2 full slabs of the zone's keg. */
static int
zone_slabs_unlocked(struct sim *s, uint64_t zone, int list,
    struct umasim_slab_info *out, int max)
{
	uma_zone_t z;
	uma_keg_t k;
	uma_slab_t sl;
	int n = 0;

	cursim = s;
	if ((z = zone_by_addr(zone)) == NULL)
		return (UMASIM_E_INVAL);
	k = z->uz_keg;
	sl = uma_sim_slab_list(k, list);
	for (; sl != NULL; sl = LIST_NEXT(sl, us_link), n++) {
		if (n < max) {
			out[n].addr = kern_canon(s, sl);
			out[n].data = kern_canon(s, sl->us_data);
			out[n].freecount = sl->us_freecount;
			out[n].firstfree = sl->us_firstfree;
			out[n].flags = sl->us_flags;
		}
	}
	return (n);
}

int
umasim_zone_slabs(struct sim *s, uint64_t zone, int list,
    struct umasim_slab_info *out, int max)
{
	int r;

	API_ENTER(s);
	r = zone_slabs_unlocked(s, zone, list, out, max);
	API_LEAVE(s);
	return (r);
}

static int
put_item(uint64_t *out, int n, int max, void *item)
{

	if (n < max)
		out[n] = kern_canon(cursim, item);
	return (n + 1);
}

/*
 * Items of a zone by where they are: 0 per-CPU buckets (cpu = -1 for all
 * CPUs), 1 the zone's full buckets, 2 free in the keg's slabs.
 */
static int
zone_items_unlocked(struct sim *s, uint64_t zone, int where, int cpu,
    uint64_t *out, int max)
{
	uma_zone_t z;
	uma_keg_t k;
	uma_bucket_t b;
	uma_slab_t sl;
	uma_cache_t c;
	int n = 0, i, l, idx;

	cursim = s;
	if ((z = zone_by_addr(zone)) == NULL)
		return (UMASIM_E_INVAL);
	k = z->uz_keg;
	if (where == 0 && !(k->uk_flags & UMA_ZFLAG_INTERNAL)) {
		for (i = 0; i <= mp_maxid; i++) {
			if (cpu >= 0 && i != cpu)
				continue;
			c = &z->uz_cpu[i];
			/* The alloc bucket's items, then the free bucket's. */
			for (idx = 0; idx < 2; idx++) {
				b = idx == 0 ? c->uc_allocbucket :
				    c->uc_freebucket;
				if (b == NULL)
					continue;
				for (l = 0; l < b->ub_cnt; l++)
					n = put_item(out, n, max,
					    b->ub_bucket[l]);
			}
		}
	} else if (where == 1) {
		LIST_FOREACH(b, &z->uz_full_bucket, ub_link)
			for (l = 0; l < b->ub_cnt; l++)
				n = put_item(out, n, max, b->ub_bucket[l]);
	} else if (where == 2) {
		for (l = 0; l < 2; l++) {
			sl = uma_sim_slab_list(k, l);
			for (; sl != NULL; sl = LIST_NEXT(sl, us_link)) {
				idx = sl->us_firstfree;
				for (i = 0; i < sl->us_freecount &&
				    idx < k->uk_ipers; i++) {
					n = put_item(out, n, max, sl->us_data +
					    (size_t)idx * k->uk_rsize);
					idx = (k->uk_flags & UMA_ZONE_REFCNT) ?
					    ((uma_slabrefcnt_t)sl)->
					    us_freelist[idx].us_item :
					    sl->us_freelist[idx].us_item;
				}
			}
		}
	}
	return (n);
}

int
umasim_zone_items(struct sim *s, uint64_t zone, int where, int cpu,
    uint64_t *out, int max)
{
	int r;

	API_ENTER(s);
	r = zone_items_unlocked(s, zone, where, cpu, out, max);
	API_LEAVE(s);
	return (r);
}

/*
 * The vm.zone_stats stream as the sysctl would produce it now, built
 * without its locks and buffer (see sysctl_vm_zone_stats in uma_core.c,
 * which programs can run with the "sysctl" operation).
 */
static int
zone_stats_unlocked(struct sim *s, void *buf, size_t *len)
{
	struct uma_stream_header ush;
	struct uma_type_header uth;
	struct uma_percpu_stat ups;
	uma_bucket_t bucket;
	uma_cache_t cache;
	uma_keg_t kz;
	uma_zone_t z;
	size_t need, off;
	char *out = buf;
	int count, i;

	cursim = s;
	count = zones_unlocked(s, NULL, 0);
	need = sizeof(ush) + (size_t)count * (sizeof(uth) + sizeof(ups) *
	    (size_t)(mp_maxid + 1));
	if (buf == NULL || *len < need) {
		*len = need;
		return (buf == NULL ? 0 : UMASIM_E_NOMEM);
	}
	bzero(&ush, sizeof(ush));
	ush.ush_version = UMA_STREAM_VERSION;
	ush.ush_maxcpus = (mp_maxid + 1);
	ush.ush_count = count;
	memcpy(out, &ush, sizeof(ush));
	off = sizeof(ush);
	for (kz = uma_sim_first_keg(); kz != NULL; kz = LIST_NEXT(kz, uk_link))
		LIST_FOREACH(z, &kz->uk_zones, uz_link) {
			bzero(&uth, sizeof(uth));
			strlcpy(uth.uth_name, z->uz_name, UTH_MAX_NAME);
			uth.uth_align = kz->uk_align;
			uth.uth_pages = kz->uk_pages;
			uth.uth_keg_free = kz->uk_free;
			uth.uth_size = kz->uk_size;
			uth.uth_rsize = kz->uk_rsize;
			uth.uth_maxpages = kz->uk_maxpages;
			uth.uth_limit = kz->uk_ppera > 1 ?
			    kz->uk_maxpages / kz->uk_ppera :
			    kz->uk_maxpages * kz->uk_ipers;
			if ((kz->uk_flags & UMA_ZONE_SECONDARY) &&
			    (LIST_FIRST(&kz->uk_zones) != z))
				uth.uth_zone_flags = UTH_ZONE_SECONDARY;
			LIST_FOREACH(bucket, &z->uz_full_bucket, ub_link)
				uth.uth_zone_free += bucket->ub_cnt;
			uth.uth_allocs = z->uz_allocs;
			uth.uth_frees = z->uz_frees;
			uth.uth_fails = z->uz_fails;
			memcpy(out + off, &uth, sizeof(uth));
			off += sizeof(uth);
			for (i = 0; i < (mp_maxid + 1); i++) {
				bzero(&ups, sizeof(ups));
				if (!(kz->uk_flags & UMA_ZFLAG_INTERNAL)) {
					cache = &z->uz_cpu[i];
					if (cache->uc_allocbucket != NULL)
						ups.ups_cache_free +=
						    cache->uc_allocbucket->ub_cnt;
					if (cache->uc_freebucket != NULL)
						ups.ups_cache_free +=
						    cache->uc_freebucket->ub_cnt;
					ups.ups_allocs = cache->uc_allocs;
					ups.ups_frees = cache->uc_frees;
				}
				memcpy(out + off, &ups, sizeof(ups));
				off += sizeof(ups);
			}
		}
	*len = off;
	return (0);
}

int
umasim_zone_stats(struct sim *s, void *buf, size_t *len)
{
	int r;

	API_ENTER(s);
	r = zone_stats_unlocked(s, buf, len);
	API_LEAVE(s);
	return (r);
}

static int
uma_globals_unlocked(struct sim *s, struct umasim_uma_info *out)
{

	cursim = s;
	bzero(out, sizeof(*out));
	out->bucketdisable = uma_sim_bucketdisable();
	out->booted = uma_sim_booted();
	out->max_ipers = uma_sim_max_ipers(0);
	out->max_ipers_ref = uma_sim_max_ipers(1);
	out->free_pages = s->st.vm.cnt.v_free_count;
	out->free_min = s->st.vm.cnt.v_free_min;
	out->wired_pages = s->st.vm.cnt.v_wire_count;
	out->kmem_used = s->st.vm.kmem_used;
	out->kmem_pages = s->st.vm.kmem_pages;
	return (0);
}

int
umasim_uma_globals(struct sim *s, struct umasim_uma_info *out)
{
	int r;

	API_ENTER(s);
	r = uma_globals_unlocked(s, out);
	API_LEAVE(s);
	return (r);
}
