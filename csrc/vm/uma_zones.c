/*
 * The zones a scenario or a program names: slots in the simulator's
 * tables, reserved by name before the zone exists, filled when it is
 * created (at boot for the scenario's [[zone]]s, or by a program's
 * zcreate/zsecond), marked when destroyed.
 */

#include <stdio.h>

#include "../sys/param.h"
#include "../sys/systm.h"
#include "uma.h"
#include "uma_int.h"
#include "uma_sim.h"
#include "uma_sim_tables.h"

void
uma_sim_tables_init(void)
{

	cursim->st.umasim = vm_bss_alloc(sizeof(struct umasim_tables));
	bzero(UT, sizeof(struct umasim_tables));
}

void
zreg_bad(int slot)
{

	panic("umasim: no zone slot %d", slot);
}

/* zreg_live() of a zone not live. */
void
zreg_dead(const struct zreg *zr)
{

	if (zr->zr_state == ZR_DESTROYED)
		panic("zone %s was destroyed", zr->zr_name);
	panic("zone %s does not exist (yet)", zr->zr_name);
}

void
uma_sim_zcreate(int slot, int size, int align, u_int32_t flags)
{
	struct zreg *zr = zreg_get(slot);
	struct cbspec *cb = zr->zr_cb;
	uma_zone_t zone;

	if (zr->zr_state == ZR_LIVE)
		panic("zone %s exists already", zr->zr_name);
	zr->zr_cb[CB_CTOR].cb_calls = 0;
	zr->zr_leaked = 0;
	zone = uma_zcreate(zr->zr_name, size, cb_ctor_for(slot),
	    cb_dtor_for(slot), cb_init_for(slot, CB_INIT),
	    cb_fini_for(slot, CB_FINI), align, flags);
	if (zone == NULL)
		panic("uma_zcreate(%s) failed", zr->zr_name);
	if (cb[CB_ZINIT].cb_kind != CBK_NONE)
		uma_zone_set_zinit(zone, cb_init_for(slot, CB_ZINIT));
	if (cb[CB_ZFINI].cb_kind != CBK_NONE)
		uma_zone_set_zfini(zone, cb_fini_for(slot, CB_ZFINI));
	if (cb[CB_ALLOCF].cb_kind != CBK_NONE) {
		cb[CB_ALLOCF].cb_allocf = zone->uz_keg->uk_allocf;
		uma_zone_set_allocf(zone, cb_allocf_for(slot));
	}
	if (cb[CB_FREEF].cb_kind != CBK_NONE) {
		cb[CB_FREEF].cb_freef = zone->uz_keg->uk_freef;
		uma_zone_set_freef(zone, cb_freef_for(slot));
	}
	zr->zr_zone = zone;
	zr->zr_keg = zone->uz_keg;
	zr->zr_state = ZR_LIVE;
}

void
uma_sim_zsecond(int slot, int master)
{
	struct zreg *zr = zreg_get(slot), *mr = zreg_live(master);
	uma_zone_t zone;

	if (zr->zr_state == ZR_LIVE)
		panic("zone %s exists already", zr->zr_name);
	zone = uma_zsecond_create(zr->zr_name, cb_ctor_for(slot),
	    cb_dtor_for(slot), cb_init_for(slot, CB_ZINIT),
	    cb_fini_for(slot, CB_ZFINI), mr->zr_zone);
	if (zone == NULL)
		panic("uma_zsecond_create(%s) failed", zr->zr_name);
	zr->zr_zone = zone;
	zr->zr_keg = zone->uz_keg;
	zr->zr_state = ZR_LIVE;
}

/* ---- the host's side (umasim_api.h) ------------------------------------ */

int
umasim_zone_new(struct sim *s, const char *name)
{
	struct zreg *zr;
	int i;

	API_ENTER(s);
	for (i = 0; i < UT->ut_nzones; i++) {
		if (strcmp(UTZ(i)->zr_name, name) == 0) {
			API_LEAVE(s);
			return (i);
		}
	}
	if (UT->ut_nzones >= UMASIM_MAXZONES) {
		API_LEAVE(s);
		return (UMASIM_E_TOOMANY);
	}
	if (UT->ut_nzones >= UT_BSS_ZONES + s->nxtab * UT_XCHUNK &&
	    sim_xtab_grow(s, UT_XCHUNK * sizeof(struct zreg)) < 0) {
		API_LEAVE(s);
		return (UMASIM_E_NOMEM);
	}
	i = UT->ut_nzones++;
	zr = UTZ(i);
	bzero(zr, sizeof(*zr));
	snprintf(zr->zr_name, sizeof(zr->zr_name), "%s", name);
	API_LEAVE(s);
	return (i);
}

int
umasim_zone_callback(struct sim *s, int slot, int which, int kind,
    int64_t n, int target)
{
	struct cbspec *cb;

	API_ENTER(s);
	if (slot < 0 || slot >= UT->ut_nzones || which < 0 ||
	    which >= CB_NSLOTS || kind < CBK_NONE || kind > CBK_LEAK ||
	    UTZ(slot)->zr_state == ZR_LIVE) {
		API_LEAVE(s);
		return (UMASIM_E_INVAL);
	}
	cb = &UTZ(slot)->zr_cb[which];
	bzero(cb, sizeof(*cb));
	cb->cb_kind = kind;
	cb->cb_n = n;
	cb->cb_target = target;
	API_LEAVE(s);
	return (0);
}

struct zcreate_args {
	int	slot, master, size, align, maxitems;
	u_int32_t flags;
};

static void
zcreate_call(void *arg)
{
	struct zcreate_args *a = arg;

	if (a->master >= 0)
		uma_sim_zsecond(a->slot, a->master);
	else
		uma_sim_zcreate(a->slot, a->size, a->align, a->flags);
	if (a->maxitems > 0)
		uma_zone_set_max(UTZ(a->slot)->zr_zone, a->maxitems);
}

/*
 * Creates the slot's zone at once, outside the schedule (the scenario's
 * zones, sim.zcreate()): a primary zone, or a secondary one on 'master'.
 */
int
umasim_zcreate(struct sim *s, int slot, int master, int size, int align,
    uint32_t flags, int maxitems)
{
	struct zcreate_args a;
	int r;

	API_ENTER(s);
	if (slot < 0 || slot >= UT->ut_nzones || master >= UT->ut_nzones ||
	    UTZ(slot)->zr_state == ZR_LIVE) {
		API_LEAVE(s);
		return (UMASIM_E_INVAL);
	}
	a.slot = slot;
	a.master = master;
	a.size = size;
	a.align = align;
	a.flags = flags;
	a.maxitems = maxitems;
	r = kern_hostcall(s, zcreate_call, &a);
	if (r == 0)
		oracle_declare(s, slot, master, maxitems);
	API_LEAVE(s);
	return (r);
}

/*
 * uma_zdestroy() of a slot's zone.  Items still held keep counting
 * against the keg while it lives (a secondary zone's keg outlives it);
 * when the keg goes too, every slot forgets it.
 */
void
zreg_destroy(int slot)
{
	struct zreg *zr = zreg_live(slot);
	uma_keg_t keg = zr->zr_keg;
	uint64_t same[(UMASIM_MAXZONES + 63) / 64];
	int secondary, i;

	secondary = (keg->uk_flags & UMA_ZONE_SECONDARY) != 0;
	/*
	 * The slots of this keg, known before uma_zdestroy(): it stops at
	 * preemption points, and a zone another thread creates meanwhile
	 * may get a keg at the freed keg's address.
	 */
	bzero(same, sizeof(same));
	for (i = 0; i < UT->ut_nzones; i++)
		if (UTZ(i)->zr_keg == keg)
			same[i / 64] |= (uint64_t)1 << (i % 64);
	zr->zr_dying = 1;
	uma_zdestroy(zr->zr_zone);
	zr->zr_dying = 0;
	zr->zr_zone = NULL;
	zr->zr_state = ZR_DESTROYED;
	if (secondary)
		return;
	for (i = 0; i < UT->ut_nzones; i++)
		if (same[i / 64] & ((uint64_t)1 << (i % 64)))
			UTZ(i)->zr_keg = NULL;
}

static void
zdestroy_call(void *arg)
{

	zreg_destroy(*(int *)arg);
}

/* uma_zdestroy() of the slot's zone now, outside the schedule. */
int
umasim_zdestroy(struct sim *s, int slot)
{
	int r;

	API_ENTER(s);
	if (slot < 0 || slot >= UT->ut_nzones ||
	    UTZ(slot)->zr_state != ZR_LIVE) {
		API_LEAVE(s);
		return (UMASIM_E_INVAL);
	}
	r = kern_hostcall(s, zdestroy_call, &slot);
	API_LEAVE(s);
	return (r);
}

static int
zone_state_unlocked(struct sim *s, int slot)
{

	cursim = s;
	if (slot < 0 || slot >= UT->ut_nzones)
		return (UMASIM_E_INVAL);
	if (UTZ(slot)->zr_dying)
		return (3);		/* being destroyed */
	return (UTZ(slot)->zr_state);
}

int
umasim_zone_state(struct sim *s, int slot)
{
	int r;

	API_ENTER(s);
	r = zone_state_unlocked(s, slot);
	API_LEAVE(s);
	return (r);
}

static int
nzone_slots_unlocked(struct sim *s)
{

	cursim = s;
	return (UT->ut_nzones);
}

int
umasim_nzone_slots(struct sim *s)
{
	int r;

	API_ENTER(s);
	r = nzone_slots_unlocked(s);
	API_LEAVE(s);
	return (r);
}
