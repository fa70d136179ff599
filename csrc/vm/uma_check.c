/*
 * The invariant checker (sim.check()).
 *
 * Structural invariants hold whenever a keg's lock is free and no thread
 * is inside a critical section on a CPU: keg accounting (uk_free is the
 * sum of its slabs' free counts, uk_pages is slabs times ppera), slabs on
 * the list their free count says, well-formed free lists, buckets within
 * their bounds, and no item in two places.
 *
 * Conservation holds at quiescent points, when no thread is inside an
 * operation: every item of a scenario's zone is in exactly one place --
 * held by a variable, attached to another item, in a per-CPU bucket, in a
 * zone bucket, free in its slab, or leaked (a program stored a new item
 * over a variable that held one: it stays allocated, docs/design.md) --
 * and each zone's allocations minus frees (per-CPU counters included)
 * equal the items out in its name.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "../sys/param.h"
#include "../sys/systm.h"
#include "uma.h"
#include "uma_int.h"
#include "uma_sim.h"
#include "uma_sim_tables.h"

struct check {
	struct umasim_check_report *rep;
	uint64_t	*items;		/* every item seen in some place */
	size_t		nitems, capitems;
};

static int
fail(struct check *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->rep->ok)
		return (-1);
	c->rep->ok = 0;
	va_start(ap, fmt);
	vsnprintf(c->rep->message, sizeof(c->rep->message), fmt, ap);
	va_end(ap);
	return (-1);
}

static int
seen(struct check *c, const void *item)
{
	uint64_t *n;

	if (c->nitems == c->capitems) {
		c->capitems = c->capitems ? c->capitems * 2 : 1024;
		n = realloc(c->items, c->capitems * sizeof(*n));
		if (n == NULL)
			return (-1);
		c->items = n;
	}
	c->items[c->nitems++] = kern_canon(cursim, item);
	return (0);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

static u_int8_t
freelist_next(uma_keg_t k, uma_slab_t sl, int i)
{

	if (k->uk_flags & UMA_ZONE_REFCNT)
		return (((uma_slabrefcnt_t)sl)->us_freelist[i].us_item);
	return (sl->us_freelist[i].us_item);
}

/* One slab list: placement by free count, and a well-formed free list. */
static int
check_slabs(struct check *c, uma_zone_t z, uma_slab_t first, int which,
    int *nslabs, u_int *nfree)
{
	uma_keg_t k = z->uz_keg;
	uma_slab_t sl;
	u_int8_t visited[256];
	int i, idx;

	for (sl = first; sl != NULL; sl = LIST_NEXT(sl, us_link)) {
		(*nslabs)++;
		if (sl->us_keg != k)
			return (fail(c, "zone %s: slab %#jx on its lists "
			    "belongs to another keg", z->uz_name, UMA_ADDR(sl)));
		if ((which == 1 && sl->us_freecount != k->uk_ipers) ||
		    (which == 2 && sl->us_freecount != 0) ||
		    (which == 0 && (sl->us_freecount == 0 ||
		    sl->us_freecount >= k->uk_ipers)))
			return (fail(c, "zone %s: slab %#jx with %d free of %d "
			    "is on the %s list", z->uz_name, UMA_ADDR(sl),
			    sl->us_freecount, k->uk_ipers, which == 0 ?
			    "partial" : which == 1 ? "free" : "full"));
		*nfree += sl->us_freecount;
		bzero(visited, sizeof(visited));
		idx = sl->us_firstfree;
		for (i = 0; i < sl->us_freecount; i++) {
			if (idx >= k->uk_ipers || visited[idx])
				return (fail(c, "zone %s: slab %#jx: free list "
				    "broken at entry %d (index %d)", z->uz_name,
				    UMA_ADDR(sl), i, idx));
			visited[idx] = 1;
			if (seen(c, sl->us_data + (size_t)idx * k->uk_rsize))
				return (-1);
			idx = freelist_next(k, sl, idx);
		}
	}
	return (0);
}

static int
check_bucket(struct check *c, uma_zone_t z, uma_bucket_t b, int full_list)
{
	int i;

	if (b->ub_cnt < 0 || b->ub_cnt > b->ub_entries)
		return (fail(c, "zone %s: bucket %#jx holds %d of %d",
		    z->uz_name, UMA_ADDR(b), b->ub_cnt, b->ub_entries));
	if (full_list == 1 && b->ub_cnt == 0)
		return (fail(c, "zone %s: empty bucket %#jx on the full list",
		    z->uz_name, UMA_ADDR(b)));
	if (full_list == 0 && b->ub_cnt != 0)
		return (fail(c, "zone %s: bucket %#jx with %d items on the "
		    "free-bucket list", z->uz_name, UMA_ADDR(b), b->ub_cnt));
	for (i = 0; i < b->ub_cnt; i++) {
		if (b->ub_bucket[i] == NULL)
			return (fail(c, "zone %s: bucket %#jx: slot %d is NULL",
			    z->uz_name, UMA_ADDR(b), i));
		if (seen(c, b->ub_bucket[i]))
			return (-1);
	}
	return (0);
}

/* Whether some thread is inside a critical section on 'cpu'. */
static int
cpu_busy(const struct sim *s, int cpu)
{

	return (s->st.cpu_crit[cpu] >= 0);
}

static int
check_keg(struct check *c, uma_keg_t k)
{
	struct sim *s = cursim;
	uma_zone_t z, first;
	uma_bucket_t b;
	u_int nfree = 0;
	int nslabs = 0, cpu;

	if (mtx_owner_tid(&k->uk_lock) >= 0)
		return (0);	/* someone is changing it */
	first = LIST_FIRST(&k->uk_zones);
	if (first == NULL)
		return (0);
	if (check_slabs(c, first, uma_sim_slab_list(k, 0), 0, &nslabs,
	    &nfree) || check_slabs(c, first, uma_sim_slab_list(k, 1), 1,
	    &nslabs, &nfree) || check_slabs(c, first,
	    uma_sim_slab_list(k, 2), 2, &nslabs, &nfree))
		return (-1);
	if (nfree != k->uk_free)
		return (fail(c, "zone %s: uk_free is %u but its slabs hold %u "
		    "free items", first->uz_name, k->uk_free, nfree));
	if ((u_int)nslabs * k->uk_ppera != k->uk_pages)
		return (fail(c, "zone %s: uk_pages is %u but it has %d slabs "
		    "of %d pages", first->uz_name, k->uk_pages, nslabs,
		    k->uk_ppera));
	LIST_FOREACH(z, &k->uk_zones, uz_link) {
		LIST_FOREACH(b, &z->uz_full_bucket, ub_link)
			if (check_bucket(c, z, b, 1))
				return (-1);
		LIST_FOREACH(b, &z->uz_free_bucket, ub_link)
			if (check_bucket(c, z, b, 0))
				return (-1);
		if (k->uk_flags & UMA_ZFLAG_INTERNAL)
			continue;
		for (cpu = 0; cpu < s->st.ncpus; cpu++) {
			if (cpu_busy(s, cpu))
				continue;
			if (z->uz_cpu[cpu].uc_allocbucket != NULL &&
			    check_bucket(c, z, z->uz_cpu[cpu].uc_allocbucket, 2))
				return (-1);
			if (z->uz_cpu[cpu].uc_freebucket != NULL &&
			    check_bucket(c, z, z->uz_cpu[cpu].uc_freebucket, 2))
				return (-1);
		}
	}
	return (0);
}

/* No thread is inside an operation, a callout or the pagedaemon's work. */
static int
quiescent(const struct sim *s)
{
	int i;

	for (i = 0; i < s->st.nthreads; i++)
		if (sim_td(s, i)->td_busy)
			return (0);
	return (1);
}

static struct zreg *
zreg_of_keg(uma_keg_t k)
{
	int i;

	for (i = 0; i < UT->ut_nzones; i++)
		if (ZR_USABLE(UTZ(i)) &&
		    UTZ(i)->zr_zone->uz_keg == k)
			return (UTZ(i));
	return (NULL);
}

/* Items of zone slot 'target' that attach callbacks keep. */
static int64_t
attached_count(int target)
{
	struct sim *s = cursim;
	struct zreg *zr;
	uma_zone_t z;
	uma_bucket_t b;
	uma_slab_t sl;
	uma_keg_t k;
	int64_t n = 0;
	int i, j, cpu, l;

	for (i = 0; i < UT->ut_nzones; i++) {
		zr = UTZ(i);
		if (!ZR_USABLE(zr))
			continue;
		z = zr->zr_zone;
		k = z->uz_keg;
		if (zr->zr_cb[CB_ZINIT].cb_kind == CBK_ATTACH &&
		    zr->zr_cb[CB_ZINIT].cb_target == target) {
			for (cpu = 0; cpu < s->st.ncpus; cpu++) {
				b = z->uz_cpu[cpu].uc_allocbucket;
				for (l = 0; l < 2; l++, b =
				    z->uz_cpu[cpu].uc_freebucket)
					for (j = 0; b != NULL && j < b->ub_cnt;
					    j++)
						n += attached_item(
						    b->ub_bucket[j]) != NULL;
			}
			LIST_FOREACH(b, &z->uz_full_bucket, ub_link)
				for (j = 0; j < b->ub_cnt; j++)
					n += attached_item(b->ub_bucket[j]) !=
					    NULL;
			for (j = 0; j < s->st.nvars; j++)
				if (s->vars[j].v_state == VAR_HELD &&
				    s->vars[j].v_zone == i)
					n += attached_item(var_item(s,
					    &s->vars[j])) != NULL;
		}
		if (zr->zr_cb[CB_INIT].cb_kind == CBK_ATTACH &&
		    zr->zr_cb[CB_INIT].cb_target == target) {
			for (l = 0; l < 3; l++) {
				sl = uma_sim_slab_list(k, l);
				for (; sl != NULL; sl = LIST_NEXT(sl, us_link))
					for (j = 0; j < k->uk_ipers; j++)
						n += attached_item(sl->us_data +
						    (size_t)j * k->uk_rsize) !=
						    NULL;
			}
		}
	}
	return (n);
}

static int
check_conservation(struct check *c)
{
	struct sim *s = cursim;
	struct zreg *zr;
	uma_zone_t z;
	uma_keg_t k;
	uma_bucket_t b;
	int64_t held, attached, out, cached, total;
	int i, j, cpu;

	for (i = 0; i < UT->ut_nzones; i++) {
		zr = UTZ(i);
		if (!ZR_USABLE(zr))
			continue;
		z = zr->zr_zone;
		k = z->uz_keg;
		held = zr->zr_leaked;
		for (j = 0; j < s->st.nvars; j++)
			if (s->vars[j].v_state == VAR_HELD &&
			    s->vars[j].v_zone == i)
				held++;
		attached = attached_count(i);
		out = (int64_t)z->uz_allocs - (int64_t)z->uz_frees;
		for (cpu = 0; cpu < s->st.ncpus; cpu++)
			out += (int64_t)z->uz_cpu[cpu].uc_allocs -
			    (int64_t)z->uz_cpu[cpu].uc_frees;
		if (out != held + attached)
			return (fail(c, "zone %s: allocs - frees = %lld, but "
			    "%lld items are held and %lld attached",
			    zr->zr_name, (long long)out, (long long)held,
			    (long long)attached));
		if (zreg_of_keg(k) != zr)
			continue;	/* the keg is counted once, by its first slot */
		total = (int64_t)(k->uk_pages / k->uk_ppera) * k->uk_ipers;
		cached = 0;
		held = 0;
		attached = 0;
		LIST_FOREACH(z, &k->uk_zones, uz_link) {
			for (cpu = 0; cpu < s->st.ncpus; cpu++) {
				if ((b = z->uz_cpu[cpu].uc_allocbucket) != NULL)
					cached += b->ub_cnt;
				if ((b = z->uz_cpu[cpu].uc_freebucket) != NULL)
					cached += b->ub_cnt;
			}
			LIST_FOREACH(b, &z->uz_full_bucket, ub_link)
				cached += b->ub_cnt;
		}
		for (j = 0; j < UT->ut_nzones; j++) {
			if (!ZR_USABLE(UTZ(j)) ||
			    UTZ(j)->zr_zone->uz_keg != k)
				continue;
			attached += attached_count(j);
		}
		/* Held (or leaked) from any slot on this keg, destroyed or not. */
		for (j = 0; j < UT->ut_nzones; j++)
			if (UTZ(j)->zr_keg == k)
				held += UTZ(j)->zr_leaked;
		for (j = 0; j < s->st.nvars; j++) {
			if (s->vars[j].v_state != VAR_HELD ||
			    s->vars[j].v_zone < 0 ||
			    UTZ(s->vars[j].v_zone)->zr_keg != k)
				continue;
			held++;
		}
		if (total != (int64_t)k->uk_free + cached + held + attached)
			return (fail(c, "zone %s: %lld items in its slabs, but "
			    "%u free + %lld cached + %lld held + %lld attached",
			    zr->zr_name, (long long)total, k->uk_free,
			    (long long)cached, (long long)held,
			    (long long)attached));
	}
	return (0);
}

/* umasim_check() of a simulation already entered (explorers). */
int
uma_check(struct sim *s, struct umasim_check_report *rep)
{
	struct check c;
	uma_keg_t k;
	size_t i;
	int r;

	cursim = s;
	bzero(&c, sizeof(c));
	c.rep = rep;
	rep->ok = 1;
	rep->message[0] = '\0';
	if (s->st.uma == NULL)
		return (0);
	r = 0;
	for (k = uma_sim_first_keg(); k != NULL && r == 0;
	    k = LIST_NEXT(k, uk_link))
		r = check_keg(&c, k);
	if (r == 0 && c.nitems > 1) {
		qsort(c.items, c.nitems, sizeof(*c.items), cmp_u64);
		for (i = 1; i < c.nitems; i++)
			if (c.items[i] == c.items[i - 1]) {
				r = fail(&c, "item %#jx is in two places at once "
				    "(buckets or slab free lists)",
				    (uintmax_t)c.items[i]);
				break;
			}
	}
	if (r == 0 && quiescent(s))
		r = check_conservation(&c);
	free(c.items);
	return (rep->ok ? 0 : 1);
}

int
umasim_check(struct sim *s, struct umasim_check_report *rep)
{
	int r;

	API_ENTER(s);
	if (s->st.faulted) {
		/*
		 * A host fault may have left anything half-written, even
		 * pointers the walk would follow: nothing is checked.
		 */
		rep->ok = 1;
		snprintf(rep->message, sizeof(rep->message),
		    "not checked: the simulation ended in a host fault");
		API_LEAVE(s);
		return (0);
	}
	r = uma_check(s, rep);
	API_LEAVE(s);
	return (r);
}
