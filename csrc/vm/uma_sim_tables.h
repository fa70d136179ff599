/*
 * The simulator's tables beside UMA, in the simulated bss: the zones a
 * scenario or program names (by slot), and the built-in behaviours of
 * their callbacks (docs/design.md, "Zone callbacks").
 */
#ifndef _VM_UMA_SIM_TABLES_H_
#define	_VM_UMA_SIM_TABLES_H_

#include "uma_int.h"

/*
 * Zone slots: the first UT_BSS_ZONES in the simulated bss (its layout, and
 * so every address in the arena, is that of a 64-slot table), the rest a
 * chunk of UT_XCHUNK at a time in host memory as slots are named
 * (struct sim's xtab: copied by snapshots, canonical in digests).
 */
#define	UMASIM_MAXZONES	1024
#define	UT_BSS_ZONES	64
#define	UT_XCHUNK	64

/* Callback slots of a zone. */
enum cb_slot {
	CB_CTOR, CB_DTOR, CB_INIT, CB_FINI, CB_ZINIT, CB_ZFINI, CB_ALLOCF,
	CB_FREEF, CB_NSLOTS
};

/* Behaviours. */
enum cb_kind {
	CBK_NONE, CBK_TRASH, CBK_ZERO, CBK_FAIL, CBK_FAIL_EVERY, CBK_SLEEP,
	CBK_ATTACH, CBK_DETACH, CBK_LEAK
};

struct cbspec {
	int		cb_kind;
	int		cb_target;	/* attach: the zone slot */
	int64_t		cb_n;		/* fail N, fail_every N, sleep TICKS */
	int64_t		cb_calls;
	uma_alloc	cb_allocf;	/* allocf: the back end it stands in for */
	uma_free	cb_freef;
};

enum zreg_state { ZR_NONE, ZR_LIVE, ZR_DESTROYED };

struct zreg {
	uma_zone_t	zr_zone;
	uma_keg_t	zr_keg;		/* kept after zdestroy while the keg lives */
	int		zr_state;
	int		zr_dying;	/* inside uma_zdestroy(): not to be inspected;
					   derived from a thread's position, so the
					   digest leaves it out */
	char		zr_name[32];
	int64_t		zr_leaked;	/* items leaked by storing over a held variable */
	struct cbspec	zr_cb[CB_NSLOTS];
};

struct umasim_tables {
	int		ut_nzones;
	struct zreg	ut_zones[UT_BSS_ZONES];
};

_Static_assert((UMASIM_MAXZONES - UT_BSS_ZONES) / UT_XCHUNK <= KERN_XTAB_MAX,
    "struct sim's xtab holds every zone slot past the bss's");

#define	UT	((struct umasim_tables *)cursim->st.umasim)

/* The zone slot 'slot' (0 <= slot < UMASIM_MAXZONES, its chunk allocated). */
static inline struct zreg *
ut_zone(const struct sim *s, int slot)
{

	if (slot < UT_BSS_ZONES)
		return (&((struct umasim_tables *)s->st.umasim)->ut_zones[slot]);
	slot -= UT_BSS_ZONES;
	return (&((struct zreg *)(void *)s->xtab[slot / UT_XCHUNK])
	    [slot % UT_XCHUNK]);
}

#define	UTZ(slot)	ut_zone(cursim, (slot))

/* A zone whose structures may be read: live and not half-way destroyed. */
#define	ZR_USABLE(zr)	((zr)->zr_state == ZR_LIVE && !(zr)->zr_dying)

void	uma_sim_tables_init(void);
int	uma_sim_attach(struct sim *s);
void	zreg_bad(int slot) __attribute__((noreturn));
void	zreg_dead(const struct zreg *zr) __attribute__((noreturn));

static inline struct zreg *
zreg_get(int slot)
{

	if (__builtin_expect(slot < 0 || slot >= UT->ut_nzones, 0))
		zreg_bad(slot);
	return (UTZ(slot));
}

/* The slot's zone, which must exist: the interpreter's guard. */
static inline struct zreg *
zreg_live(int slot)
{
	struct zreg *zr = zreg_get(slot);

	if (__builtin_expect(zr->zr_state != ZR_LIVE, 0))
		zreg_dead(zr);
	return (zr);
}
void	zreg_destroy(int slot);
void	uma_sim_zcreate(int slot, int size, int align, u_int32_t flags);
void	uma_sim_zsecond(int slot, int master);
uma_ctor cb_ctor_for(int slot);
uma_dtor cb_dtor_for(int slot);
uma_init cb_init_for(int slot, int which);
uma_fini cb_fini_for(int slot, int which);
uma_alloc cb_allocf_for(int slot);
uma_free cb_freef_for(int slot);
void	*attached_item(void *item);

#endif /* !_VM_UMA_SIM_TABLES_H_ */
