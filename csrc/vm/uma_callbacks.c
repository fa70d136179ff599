/*
 * Built-in zone callbacks (docs/design.md, "Zone callbacks"): every ctor, dtor,
 * init, fini, zinit, zfini, allocf and freef a scenario can choose.
 *
 * UMA calls a callback with the item and its size only, not the zone, so
 * each zone slot has callbacks of its own: small trampolines, one per
 * (slot, kind), that look up the slot's behaviour in the tables.  "trash"
 * uses uma_dbg's functions themselves.
 */

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
	struct cbspec *cb = &UT->ut_zones[slot].zr_cb[CB_CTOR];

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
	struct cbspec *cb = &UT->ut_zones[slot].zr_cb[CB_DTOR];

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
	struct cbspec *cb = &UT->ut_zones[slot].zr_cb[which];

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
	struct zreg *zr = &UT->ut_zones[slot];
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
	struct cbspec *cb = &UT->ut_zones[slot].zr_cb[CB_ALLOCF];

	if (cb->cb_kind == CBK_SLEEP)
		cb_sleep(cb);
	else if (cb_fails(cb))
		return (NULL);
	return (cb->cb_allocf(zone, bytes, pflag, wait));
}

static void
cb_freef(int slot, void *item, int size, u_int8_t pflag)
{
	struct cbspec *cb = &UT->ut_zones[slot].zr_cb[CB_FREEF];

	if (cb->cb_kind == CBK_SLEEP)
		cb_sleep(cb);
	else if (cb->cb_kind == CBK_LEAK)
		return;		/* the pages are never given back */
	cb->cb_freef(item, size, pflag);
}

/* The trampolines: slots "ab" in octal digits, slot number a*8+b. */
#define	CB_TRAMPOLINES(a, b)						\
static int cb_ctor_##a##b(void *m, int sz, void *arg, int fl)		\
	{ return (cb_ctor((a) * 8 + (b), m, sz, arg, fl)); }		\
static void cb_dtor_##a##b(void *m, int sz, void *arg)			\
	{ cb_dtor((a) * 8 + (b), m, sz, arg); }				\
static int cb_init_##a##b(void *m, int sz, int fl)			\
	{ return (cb_init((a) * 8 + (b), CB_INIT, m, sz, fl)); }	\
static void cb_fini_##a##b(void *m, int sz)				\
	{ cb_fini((a) * 8 + (b), CB_FINI, m, sz); }			\
static int cb_zinit_##a##b(void *m, int sz, int fl)			\
	{ return (cb_init((a) * 8 + (b), CB_ZINIT, m, sz, fl)); }	\
static void cb_zfini_##a##b(void *m, int sz)				\
	{ cb_fini((a) * 8 + (b), CB_ZFINI, m, sz); }			\
static void *cb_allocf_##a##b(uma_zone_t z, int by, u_int8_t *pf, int w)\
	{ return (cb_allocf((a) * 8 + (b), z, by, pf, w)); }		\
static void cb_freef_##a##b(void *it, int sz, u_int8_t pf)		\
	{ cb_freef((a) * 8 + (b), it, sz, pf); }

#define	CB_ROW(a)							\
	CB_TRAMPOLINES(a, 0) CB_TRAMPOLINES(a, 1) CB_TRAMPOLINES(a, 2)	\
	CB_TRAMPOLINES(a, 3) CB_TRAMPOLINES(a, 4) CB_TRAMPOLINES(a, 5)	\
	CB_TRAMPOLINES(a, 6) CB_TRAMPOLINES(a, 7)
CB_ROW(0) CB_ROW(1) CB_ROW(2) CB_ROW(3) CB_ROW(4) CB_ROW(5) CB_ROW(6) CB_ROW(7)

#define	CB_ENTRY(kind, a, b)	cb_##kind##_##a##b
#define	CB_TABLE_ROW(kind, a)						\
	CB_ENTRY(kind, a, 0), CB_ENTRY(kind, a, 1), CB_ENTRY(kind, a, 2),\
	CB_ENTRY(kind, a, 3), CB_ENTRY(kind, a, 4), CB_ENTRY(kind, a, 5),\
	CB_ENTRY(kind, a, 6), CB_ENTRY(kind, a, 7)
#define	CB_TABLE(kind)							\
	{ CB_TABLE_ROW(kind, 0), CB_TABLE_ROW(kind, 1),			\
	  CB_TABLE_ROW(kind, 2), CB_TABLE_ROW(kind, 3),			\
	  CB_TABLE_ROW(kind, 4), CB_TABLE_ROW(kind, 5),			\
	  CB_TABLE_ROW(kind, 6), CB_TABLE_ROW(kind, 7) }

_Static_assert(UMASIM_MAXZONES == 64, "one trampoline per zone slot");
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
	int kind = UT->ut_zones[slot].zr_cb[CB_CTOR].cb_kind;

	if (kind == CBK_NONE)
		return (NULL);
	return (kind == CBK_TRASH ? trash_ctor : ctor_tab[slot]);
}

uma_dtor
cb_dtor_for(int slot)
{
	int kind = UT->ut_zones[slot].zr_cb[CB_DTOR].cb_kind;

	if (kind == CBK_NONE)
		return (NULL);
	return (kind == CBK_TRASH ? trash_dtor : dtor_tab[slot]);
}

uma_init
cb_init_for(int slot, int which)
{
	int kind = UT->ut_zones[slot].zr_cb[which].cb_kind;

	if (kind == CBK_NONE)
		return (NULL);
	if (kind == CBK_TRASH)
		return (trash_init);
	return (which == CB_INIT ? init_tab[slot] : zinit_tab[slot]);
}

uma_fini
cb_fini_for(int slot, int which)
{
	int kind = UT->ut_zones[slot].zr_cb[which].cb_kind;

	if (kind == CBK_NONE)
		return (NULL);
	if (kind == CBK_TRASH)
		return (trash_fini);
	return (which == CB_FINI ? fini_tab[slot] : zfini_tab[slot]);
}

uma_alloc
cb_allocf_for(int slot)
{

	return (UT->ut_zones[slot].zr_cb[CB_ALLOCF].cb_kind == CBK_NONE ?
	    NULL : allocf_tab[slot]);
}

uma_free
cb_freef_for(int slot)
{

	return (UT->ut_zones[slot].zr_cb[CB_FREEF].cb_kind == CBK_NONE ?
	    NULL : freef_tab[slot]);
}

/* For the digest: a callback's stable name, never its host address. */
int
cb_identify(const void *fn, int *slot)
{
	const void *const *tabs[] = {
		(const void *const *)ctor_tab, (const void *const *)dtor_tab,
		(const void *const *)init_tab, (const void *const *)fini_tab,
		(const void *const *)zinit_tab, (const void *const *)zfini_tab,
		(const void *const *)allocf_tab, (const void *const *)freef_tab,
	};
	size_t k;
	int i;

	for (i = 0; i < UMASIM_MAXZONES; i++) {
		*slot = i;
		for (k = 0; k < sizeof(tabs) / sizeof(tabs[0]); k++)
			if (fn == tabs[k][i])
				return ((int)k + 1);
	}
	*slot = -1;
	return (0);
}
