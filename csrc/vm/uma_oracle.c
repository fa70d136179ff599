/*
 * The oracle's checks that read UMA's structures (csrc/kern/oracle.c
 * keeps its state and says what it checks): the M_ZERO item, the page
 * limit and its race, sleeps in "zonelimit", and at the end of a run the
 * held items that are also free, vmstat -z against the programs' own
 * operations, the bucket zones and the slab headers.  Each follows the
 * property of the same kind in umasim/search/properties.py, message
 * included (without the step, which the verdict carries).  Nothing here
 * changes the simulation.
 */
#include <stdlib.h>
#include <string.h>

#include "../sys/param.h"
#include "../sys/systm.h"
#include "uma.h"
#include "uma_int.h"
#include "uma_sim.h"
#include "uma_sim_tables.h"
#include "../kern/oracle.h"

/* malloc(9)'s largest zone; past it, uma_large_malloc (kern_malloc.c) */
#define	ORACLE_KMEM_ZMAX	PAGE_SIZE

/* A declared zone whose structures may be read, or NULL. */
static struct zreg *
declared(struct sim *s, int slot, int *master, int *max)
{
	struct zreg *zr;

	if (slot >= UT->ut_nzones || !oracle_declared(s, slot, master, max))
		return (NULL);
	zr = UTZ(slot);
	return (ZR_USABLE(zr) ? zr : NULL);
}

/*
 * Whether a setmax op changes the limit of the keg of the declared
 * primary zone 'slot' (one on the zone itself, or on a zone declared
 * secondary to it).
 */
static int
setmax_keg(struct sim *s, int slot)
{
	int i, master, max;

	for (i = 0; i < UT->ut_nzones; i++) {
		if (!oracle_setmax_slot(s, i) ||
		    !oracle_declared(s, i, &master, &max))
			continue;
		if (i == slot || master == slot)
			return (1);
	}
	return (0);
}

/* The declared primary zone (not changed by setmax) of 'keg', or -1. */
static int
keg_primary(struct sim *s, uma_keg_t keg, int need_max)
{
	struct zreg *zr;
	int i, master, max;

	for (i = 0; i < UT->ut_nzones; i++) {
		if ((zr = declared(s, i, &master, &max)) == NULL || master >= 0 ||
		    zr->zr_zone->uz_keg != keg || (need_max && max <= 0) ||
		    setmax_keg(s, i))
			continue;
		return (i);
	}
	return (-1);
}

/*
 * slab_zalloc added a slab to 'keg': its pages stay within what the limit
 * and FreeBSD 7's own race allow.  uma_zone_slab tests uk_maxpages under
 * the zone lock, slab_zalloc drops it before uk_pages grows: k threads
 * between test and update at once may each add uk_ppera pages.
 */
void
uma_oracle_slab_alloc(uma_keg_t keg)
{
	struct sim *s = cursim;
	u_int32_t bound;
	int k, p;

	k = oracle_flight_exit(s);
	if (oracle_failed(s) || keg->uk_maxpages == 0)
		return;
	if ((p = keg_primary(s, keg, 1)) < 0)
		return;
	bound = keg->uk_maxpages - 1 + (u_int32_t)k * keg->uk_ppera;
	if (keg->uk_pages > bound)
		oracle_fail(s, OK_LIMIT, "keg of %s: %u pages, more than its "
		    "limit of %u allows (%u: %u - 1 + %d thread(s) between "
		    "uma_zone_slab's test and the page count times %u pages a "
		    "slab)", UTZ(p)->zr_name, keg->uk_pages, keg->uk_maxpages,
		    bound, keg->uk_maxpages, k, (u_int)keg->uk_ppera);
}

/* The current thread goes to sleep in "zonelimit" on 'keg': at its limit. */
void
uma_oracle_zonelimit_sleep(uma_keg_t keg)
{
	struct sim *s = cursim;
	int p;

	if (oracle_failed(s) || keg->uk_maxpages == 0 ||
	    keg->uk_pages >= keg->uk_maxpages)
		return;
	if ((p = keg_primary(s, keg, 0)) < 0)
		return;
	oracle_fail(s, OK_LIMIT, "%s went to sleep in zonelimit on the keg of "
	    "%s with %u pages, below its limit of %u",
	    kern_curthread() != NULL ? kern_curthread()->td_name : "?",
	    UTZ(p)->zr_name, keg->uk_pages, keg->uk_maxpages);
}

/*
 * An M_ZERO allocation's item reads zero, whichever path gave it:
 * uma_zalloc_arg and uma_zalloc_internal bzero the whole item after the
 * ctor.  'slot' its zone, or -1 for malloc(9) of 'size' bytes.
 */
void
uma_oracle_zero(struct sim *s, int slot, int64_t size, int64_t vid,
    uint64_t item)
{
	const unsigned char *p;
	struct zreg *zr = NULL;
	int64_t n, at;

	if (slot >= 0) {
		if (slot >= UT->ut_nzones || !ZR_USABLE(zr = UTZ(slot)))
			return;
		n = zr->zr_zone->uz_keg->uk_size;
	} else
		n = size;
	if (item < UMASIM_DISPLAY_BASE || n <= 0 ||
	    item - UMASIM_DISPLAY_BASE + (uint64_t)n > s->arena_len)
		return;
	p = (const unsigned char *)s->arena + (item - UMASIM_DISPLAY_BASE);
	for (at = 0; at < n && p[at] == 0; at++)
		;
	if (at == n)
		return;
	if (zr != NULL)
		oracle_fail(s, OK_ZERO, "%s: the %lld-byte item %#llx of an M_ZERO "
		    "alloc from zone %s reads %#04x at byte %lld",
		    s->var_names[vid], (long long)n, (unsigned long long)item,
		    zr->zr_name, p[at], (long long)at);
	else
		oracle_fail(s, OK_ZERO, "%s: the %lld-byte item %#llx of an M_ZERO "
		    "alloc from malloc(9) reads %#04x at byte %lld",
		    s->var_names[vid], (long long)n, (unsigned long long)item,
		    p[at], (long long)at);
}

/* ---- the end of a run ---- */

/* The items held, item -> variable (a small open-addressing table). */
struct heldmap {
	uint64_t	*item;
	int64_t		*vid;
	size_t		cap;
};

static size_t
hm_slot(const struct heldmap *h, uint64_t item)
{
	size_t i = (size_t)((item >> 3) * 0x9e3779b97f4a7c15ULL >> 20) &
	    (h->cap - 1);

	while (h->item[i] != 0 && h->item[i] != item)
		i = (i + 1) & (h->cap - 1);
	return (i);
}

/* A zone's vmstat -z row, as libmemstat computes it (uma_inspect.c). */
struct vmrow {
	int64_t		used, free, requests, fails, limit;
};

static void
vmrow(uma_zone_t z, struct vmrow *r)
{
	uma_keg_t k = z->uz_keg;
	uma_bucket_t b;
	uma_cache_t c;
	int64_t allocs, frees, free;
	int cpu;

	allocs = (int64_t)z->uz_allocs;
	frees = (int64_t)z->uz_frees;
	free = 0;
	if (!(k->uk_flags & UMA_ZFLAG_INTERNAL))
		for (cpu = 0; cpu <= mp_maxid; cpu++) {
			c = &z->uz_cpu[cpu];
			allocs += (int64_t)c->uc_allocs;
			frees += (int64_t)c->uc_frees;
			if (c->uc_allocbucket != NULL)
				free += c->uc_allocbucket->ub_cnt;
			if (c->uc_freebucket != NULL)
				free += c->uc_freebucket->ub_cnt;
		}
	LIST_FOREACH(b, &z->uz_full_bucket, ub_link)
		free += b->ub_cnt;
	if (!((k->uk_flags & UMA_ZONE_SECONDARY) && LIST_FIRST(&k->uk_zones) != z))
		free += k->uk_free;
	r->used = allocs - frees;
	r->free = free;
	r->requests = allocs;
	r->fails = (int64_t)z->uz_fails;
	r->limit = k->uk_ppera > 1 ? k->uk_maxpages / k->uk_ppera :
	    (u_int32_t)(k->uk_maxpages * k->uk_ipers);
}

/*
 * Is 'z' the last zone of its name in 'named' (the zones a check reads
 * by name, in list order), as a table of vmstat -z rows by name has it?
 */
static int
last_of_name(uma_zone_t *named, int n, int i)
{
	int j;

	for (j = i + 1; j < n; j++)
		if (strcmp(named[j]->uz_name, named[i]->uz_name) == 0)
			return (0);
	return (1);
}

static int
kind_fails(int kind)
{

	return (kind == CBK_FAIL || kind == CBK_FAIL_EVERY || kind == CBK_ATTACH);
}

/*
 * No two variables hold one item, and no held item is free (in a per-CPU
 * bucket, a zone's full bucket, or a slab's free list of its keg).
 */
static void
check_held(struct sim *s, struct heldmap *h)
{
	static const char *const label[3] = { "cache", "bucket", "slab" };
	uint8_t *kslots;
	uma_keg_t k;
	uma_zone_t z;
	uma_bucket_t b;
	uma_slab_t sl;
	uma_cache_t c;
	const struct kvar *v;
	struct zreg *zr;
	int64_t vid;
	size_t i;
	int slot, malloc_held = 0, cpu, where, l, idx, n, nfreeing;
	uint64_t item;
	void *it;

	kslots = calloc((size_t)UT->ut_nzones + 1, 1);
	if (kslots == NULL)
		return;
	nfreeing = oracle_freeing(s, NULL, 0);
	for (vid = 0; vid < s->st.nvars; vid++) {
		v = &s->vars[vid];
		if (v->v_state != VAR_HELD ||
		    (nfreeing > 0 && oracle_being_freed(s, vid)))
			continue;
		i = hm_slot(h, v->v_item);
		if (h->item[i] != 0) {
			oracle_fail(s, OK_DUPLICATE, "item %#llx handed out twice: "
			    "%s and %s hold it", (unsigned long long)v->v_item,
			    s->var_names[h->vid[i]], s->var_names[vid]);
			goto out;
		}
		h->item[i] = v->v_item;
		h->vid[i] = vid;
		if (v->v_zone >= 0 && v->v_zone < UT->ut_nzones)
			kslots[v->v_zone] = 1;
		else if (v->v_zone == VAR_SRC_MALLOC)
			malloc_held = 1;
	}
	for (k = uma_sim_first_keg(); k != NULL; k = LIST_NEXT(k, uk_link)) {
		/* A keg of a held item's (live) zone, or malloc(9)'s. */
		n = malloc_held && (k->uk_flags & UMA_ZONE_MALLOC);
		for (slot = 0; !n && slot < UT->ut_nzones; slot++) {
			zr = UTZ(slot);
			n = kslots[slot] && ZR_USABLE(zr) &&
			    zr->zr_zone->uz_keg == k;
		}
		if (!n)
			continue;
		LIST_FOREACH(z, &k->uk_zones, uz_link)
		for (where = 0; where < 3; where++) {
			/* Items, as uma_inspect.c's zone_items lists them. */
			if (where == 0 && !(k->uk_flags & UMA_ZFLAG_INTERNAL)) {
				for (cpu = 0; cpu <= mp_maxid; cpu++) {
					c = &z->uz_cpu[cpu];
					for (l = 0; l < 2; l++) {
						b = l == 0 ? c->uc_allocbucket :
						    c->uc_freebucket;
						for (idx = 0; b != NULL &&
						    idx < b->ub_cnt; idx++) {
							item = kern_canon(s,
							    b->ub_bucket[idx]);
							i = hm_slot(h, item);
							if (h->item[i] != 0)
								goto twice;
						}
					}
				}
			} else if (where == 1) {
				LIST_FOREACH(b, &z->uz_full_bucket, ub_link)
					for (idx = 0; idx < b->ub_cnt; idx++) {
						item = kern_canon(s,
						    b->ub_bucket[idx]);
						i = hm_slot(h, item);
						if (h->item[i] != 0)
							goto twice;
					}
			} else if (where == 2) {
				for (l = 0; l < 2; l++) {
					sl = uma_sim_slab_list(k, l);
					for (; sl != NULL;
					    sl = LIST_NEXT(sl, us_link)) {
						idx = sl->us_firstfree;
						for (n = 0; n < sl->us_freecount &&
						    idx < k->uk_ipers; n++) {
							it = sl->us_data +
							    (size_t)idx *
							    k->uk_rsize;
							item = kern_canon(s, it);
							i = hm_slot(h, item);
							if (h->item[i] != 0)
								goto twice;
							idx = (k->uk_flags &
							    UMA_ZONE_REFCNT) ?
							    ((uma_slabrefcnt_t)
							    sl)->us_freelist[idx].
							    us_item :
							    sl->us_freelist[idx].
							    us_item;
						}
					}
				}
			}
			continue;
twice:
			oracle_fail(s, OK_DUPLICATE, "item %#llx is held by %s and "
			    "is also free (%s of zone %s)", (unsigned long long)item,
			    s->var_names[h->vid[i]], label[where], z->uz_name);
			goto out;
		}
	}
out:
	free(kslots);
}

/* vmstat -z at the end of a completed, quiescent run (properties.py). */
static void
check_stats(struct sim *s)
{
	struct zreg *zr, *zp;
	struct vmrow row;
	int64_t *held, *acc, items, nulls, frees, total;
	uint8_t *target, *failing;
	const struct kvar *v;
	int64_t vid;
	u_int32_t maxpages;
	int nz = UT->ut_nzones, slot, i, master, max, want, ok;

	held = calloc((size_t)nz + 1, sizeof(*held));
	acc = calloc((size_t)nz + 1, sizeof(*acc));
	target = calloc((size_t)nz + 1, 1);
	failing = calloc((size_t)nz + 1, 1);
	if (held == NULL || acc == NULL || target == NULL || failing == NULL)
		goto out;
	for (vid = 0; vid < s->st.nvars; vid++) {
		v = &s->vars[vid];
		if (v->v_state == VAR_HELD && v->v_zone >= 0 && v->v_zone < nz)
			held[v->v_zone]++;
	}
	for (slot = 0; slot < nz; slot++) {
		if (!oracle_declared(s, slot, &master, &max))
			continue;
		zr = UTZ(slot);
		for (i = CB_INIT; i <= CB_ZINIT; i += CB_ZINIT - CB_INIT)
			if (zr->zr_cb[i].cb_kind == CBK_ATTACH &&
			    zr->zr_cb[i].cb_target >= 0 &&
			    zr->zr_cb[i].cb_target < nz)
				target[zr->zr_cb[i].cb_target] = 1;
		failing[slot] = kind_fails(zr->zr_cb[CB_CTOR].cb_kind) ||
		    kind_fails(zr->zr_cb[CB_ZINIT].cb_kind);
	}
	for (slot = 0; slot < nz; slot++) {
		/* A zone an op destroyed has no row, nothing to check. */
		if ((zr = declared(s, slot, &master, &max)) == NULL)
			continue;
		vmrow(zr->zr_zone, &row);
		if (target[slot]) {
			if (row.used < held[slot]) {
				oracle_fail(s, OK_STATS, "zone %s: USED %lld < %lld "
				    "items held", zr->zr_name, (long long)row.used,
				    (long long)held[slot]);
				goto out;
			}
		} else {
			oracle_slot_counts(s, slot, &items, &nulls, &frees);
			if (row.used != held[slot]) {
				oracle_fail(s, OK_STATS, "zone %s: USED %lld, but "
				    "%lld items are held", zr->zr_name,
				    (long long)row.used, (long long)held[slot]);
				goto out;
			}
			if (failing[slot])
				ok = items <= row.requests &&
				    row.requests <= items + nulls &&
				    row.fails <= nulls &&
				    row.requests - row.used >= frees;
			else
				ok = row.requests == items && row.fails == nulls &&
				    row.requests - row.used == frees;
			if (!ok) {
				oracle_fail(s, OK_STATS, "zone %s: REQUESTS %lld, "
				    "USED %lld, FAILURES %lld, but its allocs "
				    "returned %lld items and %lld NULLs and %lld "
				    "were freed", zr->zr_name,
				    (long long)row.requests, (long long)row.used,
				    (long long)row.fails, (long long)items,
				    (long long)nulls, (long long)frees);
				goto out;
			}
		}
		i = master >= 0 && master < nz ? master : slot;
		acc[i] += row.used + row.free;
	}
	for (slot = 0; slot < nz; slot++) {
		if ((zp = declared(s, slot, &master, &max)) == NULL ||
		    master >= 0)
			continue;
		vmrow(zp->zr_zone, &row);
		total = (int64_t)(zp->zr_zone->uz_keg->uk_pages /
		    zp->zr_zone->uz_keg->uk_ppera) *
		    zp->zr_zone->uz_keg->uk_ipers;
		if (acc[slot] != total) {
			oracle_fail(s, OK_STATS, "keg of %s: USED + FREE of its "
			    "zones is %lld, but its %u pages hold %lld items",
			    zp->zr_name, (long long)acc[slot],
			    zp->zr_zone->uz_keg->uk_pages, (long long)total);
			goto out;
		}
		if (max > 0 && !setmax_keg(s, slot)) {
			uma_keg_t k = zp->zr_zone->uz_keg;

			maxpages = (u_int32_t)(max / k->uk_ipers) * k->uk_ppera;
			if ((int64_t)maxpages * k->uk_ipers < max)
				maxpages += k->uk_ppera;
			want = k->uk_ppera > 1 ? (int)(maxpages / k->uk_ppera) :
			    (int)(maxpages * k->uk_ipers);
			if (row.limit != want) {
				oracle_fail(s, OK_STATS, "zone %s: LIMIT %lld, "
				    "expected %d (max %d rounded to whole slabs)",
				    zp->zr_name, (long long)row.limit, want, max);
				goto out;
			}
		}
	}
out:
	free(held);
	free(acc);
	free(target);
	free(failing);
}

/*
 * Buckets and slab headers at a quiescent end: the bucket zones' USED is
 * the buckets the zones' caches and bucket lists hold; the slab headers
 * in use are the OFFPAGE kegs' slabs plus the large allocations held.
 */
static void
check_buckets(struct sim *s)
{
	static const char *const hdr[2] = { "UMA Slabs", "UMA RCntSlabs" };
	uma_zone_t bucketz[64], hdrz[64];
	struct vmrow row;
	const struct kvar *v;
	uma_keg_t k;
	uma_zone_t z;
	uma_bucket_t b;
	int64_t held = 0, used = 0, slabs = 0, large = 0, headers = 0, vid;
	size_t len;
	int cpu, i, nb = 0, nh = 0;

	for (k = uma_sim_first_keg(); k != NULL; k = LIST_NEXT(k, uk_link))
		LIST_FOREACH(z, &k->uk_zones, uz_link) {
			len = strlen(z->uz_name);
			if (len > 7 && strcmp(z->uz_name + len - 7, " Bucket") == 0 &&
			    nb < 64)
				bucketz[nb++] = z;
			if ((strcmp(z->uz_name, hdr[0]) == 0 ||
			    strcmp(z->uz_name, hdr[1]) == 0) && nh < 64)
				hdrz[nh++] = z;
			if (k->uk_flags & UMA_ZFLAG_INTERNAL)
				continue;
			for (cpu = 0; cpu <= mp_maxid; cpu++)
				held += (z->uz_cpu[cpu].uc_allocbucket != NULL) +
				    (z->uz_cpu[cpu].uc_freebucket != NULL);
			LIST_FOREACH(b, &z->uz_full_bucket, ub_link)
				held++;
			LIST_FOREACH(b, &z->uz_free_bucket, ub_link)
				held++;
		}
	for (i = 0; i < nb; i++)
		if (last_of_name(bucketz, nb, i)) {
			vmrow(bucketz[i], &row);
			used += row.used;
		}
	if (used != held) {
		oracle_fail(s, OK_ACCOUNTING, "the bucket zones have %lld buckets "
		    "in use, but the zones' caches and bucket lists hold %lld",
		    (long long)used, (long long)held);
		return;
	}
	for (k = uma_sim_first_keg(); k != NULL; k = LIST_NEXT(k, uk_link)) {
		/* A keg counts once, through a zone other than the headers'. */
		LIST_FOREACH(z, &k->uk_zones, uz_link)
			if (strcmp(z->uz_name, hdr[0]) != 0 &&
			    strcmp(z->uz_name, hdr[1]) != 0)
				break;
		if (z != NULL && (k->uk_flags & UMA_ZONE_OFFPAGE))
			slabs += k->uk_pages / (k->uk_ppera > 0 ? k->uk_ppera : 1);
	}
	for (vid = 0; vid < s->st.nvars; vid++) {
		v = &s->vars[vid];
		if (v->v_state == VAR_HELD && (v->v_zone == VAR_SRC_LARGE ||
		    (v->v_zone == VAR_SRC_MALLOC && v->v_size > ORACLE_KMEM_ZMAX)))
			large++;
	}
	for (i = 0; i < nh; i++)
		if (last_of_name(hdrz, nh, i)) {
			vmrow(hdrz[i], &row);
			headers += row.used;
		}
	if (headers != slabs + large)
		oracle_fail(s, OK_ACCOUNTING, "UMA Slabs and UMA RCntSlabs have "
		    "%lld slab headers in use, but the OFFPAGE kegs have %lld "
		    "slabs and %lld large allocations are held",
		    (long long)headers, (long long)slabs, (long long)large);
}

void
uma_oracle_end(struct sim *s, int quiescent)
{
	struct heldmap h;
	int64_t n = 0, vid;

	if (s->st.uma == NULL)
		return;
	cursim = s;
	for (vid = 0; vid < s->st.nvars; vid++)
		n += s->vars[vid].v_state == VAR_HELD;
	if (n > 0) {
		for (h.cap = 16; h.cap < (size_t)n * 2; h.cap *= 2)
			;
		h.item = calloc(h.cap, sizeof(*h.item));
		h.vid = calloc(h.cap, sizeof(*h.vid));
		if (h.item != NULL && h.vid != NULL)
			check_held(s, &h);
		free(h.item);
		free(h.vid);
	}
	if (oracle_failed(s) || !quiescent)
		return;
	if (oracle_counted(s))
		check_stats(s);
	if (!oracle_failed(s))
		check_buckets(s);
}
