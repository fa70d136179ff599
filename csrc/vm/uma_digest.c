/*
 * UMA's part of digest(): every keg, zone, slab, bucket and cache, with
 * pointers as canonical addresses and callbacks by name, never by host
 * address.
 */

#include "../sys/param.h"
#include "../sys/systm.h"
#include "uma.h"
#include "uma_int.h"
#include "uma_dbg.h"
#include "uma_sim.h"
#include "uma_sim_tables.h"

int	cb_identify(const void *fn, int *slot);

/* A stable number for a function pointer UMA may hold. */
static uint64_t
fn_id(const void *fn)
{
	int slot, kind;

	if (fn == NULL)
		return (0);
	if (fn == (const void *)uma_sim_backend(0))
		return (1);
	if (fn == (const void *)uma_sim_backend(1))
		return (2);
	if (fn == (const void *)uma_sim_backend(2))
		return (3);
	if (fn == (const void *)uma_small_alloc)
		return (4);
	if (fn == (const void *)uma_sim_page_free())
		return (5);
	if (fn == (const void *)uma_small_free)
		return (6);
	if (fn == (const void *)uma_sim_zero_init())
		return (7);
	for (slot = 0; slot < 4; slot++)
		if (fn == uma_sim_ctor(slot))
			return (8 + (uint64_t)slot);
	if (fn == (const void *)trash_ctor)
		return (12);
	if (fn == (const void *)trash_dtor)
		return (13);
	if (fn == (const void *)trash_init)
		return (14);
	if (fn == (const void *)trash_fini)
		return (15);
	if (fn == (const void *)mtrash_ctor)
		return (16);
	if (fn == (const void *)mtrash_dtor)
		return (17);
	if (fn == (const void *)mtrash_init)
		return (18);
	if (fn == (const void *)mtrash_fini)
		return (19);
	kind = cb_identify(fn, &slot);
	/* The first 64 slots keep the numbers of a 64-slot table. */
	if (kind != 0 && slot < 64)
		return (100 + (uint64_t)kind * 64 + (uint64_t)slot);
	if (kind != 0)
		return (1000 + (uint64_t)kind * UMASIM_MAXZONES +
		    (uint64_t)slot);
	return (0xffff);
}

static void
dg_bucket(struct digest *d, const struct sim *s, uma_bucket_t b)
{
	int i;

	dg_ptr(d, s, b);
	if (b == NULL)
		return;
	dg_u64(d, (uint64_t)b->ub_cnt);
	dg_u64(d, (uint64_t)b->ub_entries);
	for (i = 0; i < b->ub_cnt; i++)
		dg_ptr(d, s, b->ub_bucket[i]);
}

static void
dg_slab(struct digest *d, const struct sim *s, uma_keg_t k, uma_slab_t sl)
{
	uma_slabrefcnt_t sr = (uma_slabrefcnt_t)sl;
	int i;

	dg_ptr(d, s, sl);
	dg_ptr(d, s, sl->us_data);
	dg_u64(d, sl->us_flags);
	dg_u64(d, sl->us_freecount);
	dg_u64(d, sl->us_firstfree);
	for (i = 0; i < k->uk_ipers; i++) {
		if (k->uk_flags & UMA_ZONE_REFCNT) {
			dg_u64(d, sr->us_freelist[i].us_item);
			dg_u64(d, sr->us_freelist[i].us_refcnt);
		} else
			dg_u64(d, sl->us_freelist[i].us_item);
	}
}

static void
dg_mtx(struct digest *d, const struct mtx *m)
{

	dg_str(d, m->lock_object.lo_name);
	dg_u64(d, (uint64_t)mtx_owner_tid(m));
	dg_u64(d, m->mtx_lock & MTX_FLAGMASK);
	dg_u64(d, m->mtx_recurse);
}

static void
dg_zone(struct digest *d, const struct sim *s, uma_keg_t k, uma_zone_t z)
{
	uma_bucket_t b;
	int cpu;

	dg_ptr(d, s, z);
	dg_str(d, z->uz_name);
	dg_ptr(d, s, z->uz_lock);
	dg_u64(d, fn_id((void *)z->uz_ctor));
	dg_u64(d, fn_id((void *)z->uz_dtor));
	dg_u64(d, fn_id((void *)z->uz_init));
	dg_u64(d, fn_id((void *)z->uz_fini));
	dg_u64(d, z->uz_allocs);
	dg_u64(d, z->uz_frees);
	dg_u64(d, z->uz_fails);
	dg_u64(d, z->uz_fills);
	dg_u64(d, z->uz_count);
	LIST_FOREACH(b, &z->uz_full_bucket, ub_link)
		dg_bucket(d, s, b);
	dg_u64(d, 0xb0);
	LIST_FOREACH(b, &z->uz_free_bucket, ub_link)
		dg_bucket(d, s, b);
	dg_u64(d, 0xb1);
	if (k->uk_flags & UMA_ZFLAG_INTERNAL)
		return;
	for (cpu = 0; cpu < s->st.ncpus; cpu++) {
		dg_bucket(d, s, z->uz_cpu[cpu].uc_allocbucket);
		dg_bucket(d, s, z->uz_cpu[cpu].uc_freebucket);
		dg_u64(d, z->uz_cpu[cpu].uc_allocs);
		dg_u64(d, z->uz_cpu[cpu].uc_frees);
	}
}

static void
dg_keg(struct digest *d, const struct sim *s, uma_keg_t k)
{
	uma_slab_t sl;
	uma_zone_t z;
	int i;

	dg_ptr(d, s, k);
	dg_mtx(d, &k->uk_lock);
	dg_u64(d, k->uk_recurse);
	dg_u64(d, k->uk_align);
	dg_u64(d, k->uk_pages);
	dg_u64(d, k->uk_free);
	dg_u64(d, k->uk_size);
	dg_u64(d, k->uk_rsize);
	dg_u64(d, k->uk_maxpages);
	dg_u64(d, k->uk_pgoff);
	dg_u64(d, k->uk_ppera);
	dg_u64(d, k->uk_ipers);
	dg_u64(d, k->uk_flags);
	dg_u64(d, fn_id((void *)k->uk_init));
	dg_u64(d, fn_id((void *)k->uk_fini));
	dg_u64(d, fn_id((void *)k->uk_allocf));
	dg_u64(d, fn_id((void *)k->uk_freef));
	dg_ptr(d, s, k->uk_obj);
	dg_ptr(d, s, (void *)k->uk_kva);
	dg_ptr(d, s, k->uk_slabzone);
	dg_u64(d, (uint64_t)k->uk_hash.uh_hashsize);
	dg_ptr(d, s, k->uk_hash.uh_slab_hash);
	for (i = 0; k->uk_hash.uh_slab_hash != NULL &&
	    i < k->uk_hash.uh_hashsize; i++) {
		SLIST_FOREACH(sl, &k->uk_hash.uh_slab_hash[i], us_hlink)
			dg_ptr(d, s, sl);
		dg_u64(d, 0xc0);
	}
	LIST_FOREACH(sl, &k->uk_part_slab, us_link)
		dg_slab(d, s, k, sl);
	dg_u64(d, 0xa0);
	LIST_FOREACH(sl, &k->uk_free_slab, us_link)
		dg_slab(d, s, k, sl);
	dg_u64(d, 0xa1);
	LIST_FOREACH(sl, &k->uk_full_slab, us_link)
		dg_slab(d, s, k, sl);
	dg_u64(d, 0xa2);
	LIST_FOREACH(z, &k->uk_zones, uz_link)
		dg_zone(d, s, k, z);
}

void
uma_digest(struct digest *d, const struct sim *s)
{
	struct umasim_tables *ut = s->st.umasim;
	struct cbspec *cb;
	uma_keg_t k;
	uma_slab_t sl;
	int i, j;

	if (s->st.uma == NULL || ut == NULL)
		return;
	dg_u64(d, (uint64_t)uma_sim_bucketdisable());
	dg_u64(d, (uint64_t)uma_sim_booted());
	dg_mtx(d, uma_sim_uma_mtx());
	for (sl = uma_sim_first_boot_page(); sl != NULL;
	    sl = LIST_NEXT(sl, us_link))
		dg_ptr(d, s, sl);
	dg_u64(d, 0xd0);
	for (k = uma_sim_first_keg(); k != NULL; k = LIST_NEXT(k, uk_link))
		dg_keg(d, s, k);
	dg_u64(d, (uint64_t)ut->ut_nzones);
	for (i = 0; i < ut->ut_nzones; i++) {
		dg_str(d, ut_zone(s, i)->zr_name);
		dg_u64(d, (uint64_t)ut_zone(s, i)->zr_state);
		dg_ptr(d, s, ut_zone(s, i)->zr_zone);
		dg_ptr(d, s, ut_zone(s, i)->zr_keg);
		dg_u64(d, (uint64_t)ut_zone(s, i)->zr_leaked);
		for (j = 0; j < CB_NSLOTS; j++) {
			cb = &ut_zone(s, i)->zr_cb[j];
			dg_u64(d, (uint64_t)cb->cb_kind);
			dg_u64(d, (uint64_t)cb->cb_target);
			dg_u64(d, (uint64_t)cb->cb_n);
			dg_u64(d, (uint64_t)cb->cb_calls);
			dg_u64(d, fn_id((void *)cb->cb_allocf));
			dg_u64(d, fn_id((void *)cb->cb_freef));
		}
	}
}
