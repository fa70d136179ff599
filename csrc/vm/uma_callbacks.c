/*
 * Built-in zone callbacks (docs/design.md, "Zone callbacks"): every ctor, dtor,
 * init, fini, zinit, zfini, allocf and freef a scenario can choose.
 *
 * UMA calls a callback with the item and its size only, not the zone, so
 * each zone slot has callbacks of its own: small trampolines, one per
 * (slot, kind), generated for every slot up to UMASIM_MAXZONES, that look
 * up the slot's behaviour in the tables.  "trash"
 * uses uma_dbg's functions themselves.
 */

#include <pthread.h>
#include <stdlib.h>

#include "../sys/param.h"
#include "../sys/systm.h"
#include "uma.h"
#include "uma_int.h"
#include "uma_dbg.h"
#include "uma_sim.h"
#include "uma_sim_tables.h"

/* Whether this call of the slot's callback fails (fail N, fail_every N). */
static int
cb_fails(struct cbspec *cb)
{

	FP_WRITE(cb);		/* the Nth call, whoever makes it */
	cb->cb_calls++;
	if (cb->cb_kind == CBK_FAIL)
		return (cb->cb_calls == cb->cb_n);
	if (cb->cb_kind == CBK_FAIL_EVERY)
		return (cb->cb_n > 0 && cb->cb_calls % cb->cb_n == 0);
	return (0);
}

/* "sleep TICKS": a callback that blocks, on a channel of its own. */
static void
cb_sleep(struct cbspec *cb)
{

	msleep(cb, NULL, 0, "cbsleep", (int)cb->cb_n);
}

/* Where "attach" keeps the attached item: the item's first word. */
void *
attached_item(void *item)
{

	return (*(void **)item);
}

static int
cb_attach(struct cbspec *cb, void *mem, int flags)
{
	struct zreg *zr;
	void *item;

	zr = zreg_live(cb->cb_target);
	item = uma_zalloc_arg(zr->zr_zone, NULL, flags);
	if (item == NULL)
		return (ENOMEM);
	*(void **)mem = item;
	return (0);
}

static void
cb_detach(struct cbspec *init, void *mem)
{
	struct zreg *zr;
	void *item;

	item = *(void **)mem;
	if (item == NULL)
		return;
	*(void **)mem = NULL;
	zr = zreg_live(init->cb_target);
	uma_zfree_arg(zr->zr_zone, item, NULL);
}

static int
cb_ctor(int slot, void *mem, int size, void *arg, int flags)
{
	struct cbspec *cb = &UTZ(slot)->zr_cb[CB_CTOR];

	(void)arg;
	(void)flags;
	switch (cb->cb_kind) {
	case CBK_ZERO:
		bzero(mem, size);
		return (0);
	case CBK_SLEEP:
		cb_sleep(cb);
		return (0);
	}
	return (cb_fails(cb) ? ENOMEM : 0);
}

static void
cb_dtor(int slot, void *mem, int size, void *arg)
{
	struct cbspec *cb = &UTZ(slot)->zr_cb[CB_DTOR];

	(void)arg;
	if (cb->cb_kind == CBK_ZERO)
		bzero(mem, size);
	else if (cb->cb_kind == CBK_SLEEP)
		cb_sleep(cb);
}

/* init (keg) and zinit (zone) */
static int
cb_init(int slot, int which, void *mem, int size, int flags)
{
	struct cbspec *cb = &UTZ(slot)->zr_cb[which];

	switch (cb->cb_kind) {
	case CBK_ZERO:
		bzero(mem, size);
		return (0);
	case CBK_SLEEP:
		cb_sleep(cb);
		return (0);
	case CBK_ATTACH:
		return (cb_attach(cb, mem, flags));
	}
	return (cb_fails(cb) ? ENOMEM : 0);
}

/* fini (keg) and zfini (zone); detach undoes the matching init. */
static void
cb_fini(int slot, int which, void *mem, int size)
{
	struct zreg *zr = UTZ(slot);
	struct cbspec *cb = &zr->zr_cb[which];

	switch (cb->cb_kind) {
	case CBK_ZERO:
		bzero(mem, size);
		break;
	case CBK_SLEEP:
		cb_sleep(cb);
		break;
	case CBK_DETACH:
		cb_detach(&zr->zr_cb[which == CB_FINI ? CB_INIT : CB_ZINIT],
		    mem);
		break;
	}
}

static void *
cb_allocf(int slot, uma_zone_t zone, int bytes, u_int8_t *pflag, int wait)
{
	struct cbspec *cb = &UTZ(slot)->zr_cb[CB_ALLOCF];

	if (cb->cb_kind == CBK_SLEEP)
		cb_sleep(cb);
	else if (cb_fails(cb))
		return (NULL);
	return (cb->cb_allocf(zone, bytes, pflag, wait));
}

static void
cb_freef(int slot, void *item, int size, u_int8_t pflag)
{
	struct cbspec *cb = &UTZ(slot)->zr_cb[CB_FREEF];

	if (cb->cb_kind == CBK_SLEEP)
		cb_sleep(cb);
	else if (cb->cb_kind == CBK_LEAK)
		return;		/* the pages are never given back */
	cb->cb_freef(item, size, pflag);
}

/*
 * The trampolines, one per (slot, kind): slot a*64 + b*8 + c, for a from 0
 * to 15 and octal digits b and c, so UMASIM_MAXZONES of them a kind.
 */
#define	CB_SLOT(a, b, c)	((a) * 64 + (b) * 8 + (c))
#define	CB_TRAMPOLINES(a, b, c)						\
static int cb_ctor_##a##_##b##c(void *m, int sz, void *arg, int fl)	\
	{ return (cb_ctor(CB_SLOT(a, b, c), m, sz, arg, fl)); }		\
static void cb_dtor_##a##_##b##c(void *m, int sz, void *arg)		\
	{ cb_dtor(CB_SLOT(a, b, c), m, sz, arg); }			\
static int cb_init_##a##_##b##c(void *m, int sz, int fl)		\
	{ return (cb_init(CB_SLOT(a, b, c), CB_INIT, m, sz, fl)); }	\
static void cb_fini_##a##_##b##c(void *m, int sz)			\
	{ cb_fini(CB_SLOT(a, b, c), CB_FINI, m, sz); }			\
static int cb_zinit_##a##_##b##c(void *m, int sz, int fl)		\
	{ return (cb_init(CB_SLOT(a, b, c), CB_ZINIT, m, sz, fl)); }	\
static void cb_zfini_##a##_##b##c(void *m, int sz)			\
	{ cb_fini(CB_SLOT(a, b, c), CB_ZFINI, m, sz); }			\
static void *cb_allocf_##a##_##b##c(uma_zone_t z, int by, u_int8_t *pf,	\
    int w)								\
	{ return (cb_allocf(CB_SLOT(a, b, c), z, by, pf, w)); }		\
static void cb_freef_##a##_##b##c(void *it, int sz, u_int8_t pf)	\
	{ cb_freef(CB_SLOT(a, b, c), it, sz, pf); }

#define	CB_ROW(a, b)							\
	CB_TRAMPOLINES(a, b, 0) CB_TRAMPOLINES(a, b, 1)			\
	CB_TRAMPOLINES(a, b, 2) CB_TRAMPOLINES(a, b, 3)			\
	CB_TRAMPOLINES(a, b, 4) CB_TRAMPOLINES(a, b, 5)			\
	CB_TRAMPOLINES(a, b, 6) CB_TRAMPOLINES(a, b, 7)
#define	CB_BLOCK(a)							\
	CB_ROW(a, 0) CB_ROW(a, 1) CB_ROW(a, 2) CB_ROW(a, 3)		\
	CB_ROW(a, 4) CB_ROW(a, 5) CB_ROW(a, 6) CB_ROW(a, 7)
CB_BLOCK(0) CB_BLOCK(1) CB_BLOCK(2) CB_BLOCK(3) CB_BLOCK(4) CB_BLOCK(5)
CB_BLOCK(6) CB_BLOCK(7) CB_BLOCK(8) CB_BLOCK(9) CB_BLOCK(10) CB_BLOCK(11)
CB_BLOCK(12) CB_BLOCK(13) CB_BLOCK(14) CB_BLOCK(15)

#define	CB_ENTRY(kind, a, b, c)	cb_##kind##_##a##_##b##c
#define	CB_TABLE_ROW(kind, a, b)					\
	CB_ENTRY(kind, a, b, 0), CB_ENTRY(kind, a, b, 1),		\
	CB_ENTRY(kind, a, b, 2), CB_ENTRY(kind, a, b, 3),		\
	CB_ENTRY(kind, a, b, 4), CB_ENTRY(kind, a, b, 5),		\
	CB_ENTRY(kind, a, b, 6), CB_ENTRY(kind, a, b, 7)
#define	CB_TABLE_BLOCK(kind, a)						\
	CB_TABLE_ROW(kind, a, 0), CB_TABLE_ROW(kind, a, 1),		\
	CB_TABLE_ROW(kind, a, 2), CB_TABLE_ROW(kind, a, 3),		\
	CB_TABLE_ROW(kind, a, 4), CB_TABLE_ROW(kind, a, 5),		\
	CB_TABLE_ROW(kind, a, 6), CB_TABLE_ROW(kind, a, 7)
#define	CB_TABLE(kind)							\
	{ CB_TABLE_BLOCK(kind, 0), CB_TABLE_BLOCK(kind, 1),		\
	  CB_TABLE_BLOCK(kind, 2), CB_TABLE_BLOCK(kind, 3),		\
	  CB_TABLE_BLOCK(kind, 4), CB_TABLE_BLOCK(kind, 5),		\
	  CB_TABLE_BLOCK(kind, 6), CB_TABLE_BLOCK(kind, 7),		\
	  CB_TABLE_BLOCK(kind, 8), CB_TABLE_BLOCK(kind, 9),		\
	  CB_TABLE_BLOCK(kind, 10), CB_TABLE_BLOCK(kind, 11),		\
	  CB_TABLE_BLOCK(kind, 12), CB_TABLE_BLOCK(kind, 13),		\
	  CB_TABLE_BLOCK(kind, 14), CB_TABLE_BLOCK(kind, 15) }

_Static_assert(UMASIM_MAXZONES == 16 * 64, "one trampoline per zone slot");
static const uma_ctor ctor_tab[UMASIM_MAXZONES] = CB_TABLE(ctor);
static const uma_dtor dtor_tab[UMASIM_MAXZONES] = CB_TABLE(dtor);
static const uma_init init_tab[UMASIM_MAXZONES] = CB_TABLE(init);
static const uma_fini fini_tab[UMASIM_MAXZONES] = CB_TABLE(fini);
static const uma_init zinit_tab[UMASIM_MAXZONES] = CB_TABLE(zinit);
static const uma_fini zfini_tab[UMASIM_MAXZONES] = CB_TABLE(zfini);
static const uma_alloc allocf_tab[UMASIM_MAXZONES] = CB_TABLE(allocf);
static const uma_free freef_tab[UMASIM_MAXZONES] = CB_TABLE(freef);

uma_ctor
cb_ctor_for(int slot)
{
	int kind = UTZ(slot)->zr_cb[CB_CTOR].cb_kind;

	if (kind == CBK_NONE)
		return (NULL);
	return (kind == CBK_TRASH ? trash_ctor : ctor_tab[slot]);
}

uma_dtor
cb_dtor_for(int slot)
{
	int kind = UTZ(slot)->zr_cb[CB_DTOR].cb_kind;

	if (kind == CBK_NONE)
		return (NULL);
	return (kind == CBK_TRASH ? trash_dtor : dtor_tab[slot]);
}

uma_init
cb_init_for(int slot, int which)
{
	int kind = UTZ(slot)->zr_cb[which].cb_kind;

	if (kind == CBK_NONE)
		return (NULL);
	if (kind == CBK_TRASH)
		return (trash_init);
	return (which == CB_INIT ? init_tab[slot] : zinit_tab[slot]);
}

uma_fini
cb_fini_for(int slot, int which)
{
	int kind = UTZ(slot)->zr_cb[which].cb_kind;

	if (kind == CBK_NONE)
		return (NULL);
	if (kind == CBK_TRASH)
		return (trash_fini);
	return (which == CB_FINI ? fini_tab[slot] : zfini_tab[slot]);
}

uma_alloc
cb_allocf_for(int slot)
{

	return (UTZ(slot)->zr_cb[CB_ALLOCF].cb_kind == CBK_NONE ?
	    NULL : allocf_tab[slot]);
}

uma_free
cb_freef_for(int slot)
{

	return (UTZ(slot)->zr_cb[CB_FREEF].cb_kind == CBK_NONE ?
	    NULL : freef_tab[slot]);
}

/*
 * For the digest: a callback's stable name, never its host address.  The
 * trampolines' addresses, sorted once per process, are searched by
 * bisection (the result is a kind and a slot: no address escapes).
 */
#define	CB_NKINDS	8

struct cb_addr {
	const void	*fn;
	int		kind;		/* 1 to CB_NKINDS */
	int		slot;
};

static struct cb_addr cb_sorted[CB_NKINDS * UMASIM_MAXZONES];
static pthread_once_t cb_sorted_once = PTHREAD_ONCE_INIT;

static int
cb_addr_cmp(const void *a, const void *b)
{
	const struct cb_addr *x = a, *y = b;

	return ((uintptr_t)x->fn < (uintptr_t)y->fn ? -1 :
	    (uintptr_t)x->fn > (uintptr_t)y->fn);
}

static void
cb_sort(void)
{
	const void *const *tabs[CB_NKINDS] = {
		(const void *const *)ctor_tab, (const void *const *)dtor_tab,
		(const void *const *)init_tab, (const void *const *)fini_tab,
		(const void *const *)zinit_tab, (const void *const *)zfini_tab,
		(const void *const *)allocf_tab, (const void *const *)freef_tab,
	};
	int i, k, n;

	n = 0;
	for (k = 0; k < CB_NKINDS; k++)
		for (i = 0; i < UMASIM_MAXZONES; i++) {
			cb_sorted[n].fn = tabs[k][i];
			cb_sorted[n].kind = k + 1;
			cb_sorted[n++].slot = i;
		}
	qsort(cb_sorted, (size_t)n, sizeof(cb_sorted[0]), cb_addr_cmp);
}

int
cb_identify(const void *fn, int *slot)
{
	struct cb_addr key, *hit;

	pthread_once(&cb_sorted_once, cb_sort);
	key.fn = fn;
	hit = bsearch(&key, cb_sorted, sizeof(cb_sorted) / sizeof(cb_sorted[0]),
	    sizeof(cb_sorted[0]), cb_addr_cmp);
	if (hit == NULL) {
		*slot = -1;
		return (0);
	}
	*slot = hit->slot;
	return (hit->kind);
}
