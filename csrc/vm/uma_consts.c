/*
 * The constants the Python side needs, by name: flag bits, callback slots
 * and behaviours, program-operation flags, limits, and the layout of the
 * vm.zone_stats records.  Python reads this table once at import
 * (umasim/bindings), so that no number is copied by hand.
 */

#include <stddef.h>

#include "../kern/kern.h"
#include "uma.h"
#include "uma_int.h"
#include "uma_sim_tables.h"

struct uconst {
	const char	*name;
	int64_t		 value;
};

#define	C(x)		{ #x, (int64_t)(x) }
#define	OFF(s, f)	{ #s "." #f, (int64_t)offsetof(struct s, f) }
#define	SIZE(s)		{ "sizeof " #s, (int64_t)sizeof(struct s) }

static const struct uconst consts[] = {
	/* Zone and keg flags (uma.h, uma_int.h). */
	C(UMA_ZONE_PAGEABLE), C(UMA_ZONE_ZINIT), C(UMA_ZONE_STATIC),
	C(UMA_ZONE_OFFPAGE), C(UMA_ZONE_MALLOC), C(UMA_ZONE_NOFREE),
	C(UMA_ZONE_MTXCLASS), C(UMA_ZONE_VM), C(UMA_ZONE_HASH),
	C(UMA_ZONE_SECONDARY), C(UMA_ZONE_REFCNT), C(UMA_ZONE_MAXBUCKET),
	C(UMA_ZFLAG_PRIVALLOC), C(UMA_ZFLAG_INTERNAL), C(UMA_ZFLAG_FULL),
	C(UMA_ZFLAG_CACHEONLY),
	/* Alignment masks. */
	C(UMA_ALIGN_PTR), C(UMA_ALIGN_LONG), C(UMA_ALIGN_INT),
	C(UMA_ALIGN_SHORT), C(UMA_ALIGN_CHAR), C(UMA_ALIGN_CACHE),
	/* Zone callback slots and built-in behaviours (uma_sim_tables.h). */
	C(CB_CTOR), C(CB_DTOR), C(CB_INIT), C(CB_FINI), C(CB_ZINIT),
	C(CB_ZFINI), C(CB_ALLOCF), C(CB_FREEF),
	C(CBK_TRASH), C(CBK_ZERO), C(CBK_FAIL), C(CBK_FAIL_EVERY),
	C(CBK_SLEEP), C(CBK_ATTACH), C(CBK_DETACH), C(CBK_LEAK),
	/* Program operation flags and variable states (kern.h). */
	C(OPF_NOWAIT), C(OPF_ZERO), C(OPF_NOVM), C(OPF_WAITOK),
	C(VAR_UNSET), C(VAR_HELD), C(VAR_NULL), C(VAR_FREED),
	C(VAR_SRC_MALLOC), C(VAR_SRC_KMEM), C(VAR_SRC_LARGE),
	/* Limits. */
	C(PAGE_SIZE), C(UMASIM_MAXCPU), C(UMASIM_MAXTHREADS), C(UMASIM_MAXZONES),
	C(UMASIM_PCT_MAXDEPTH), C(UMASIM_GUIDED_CORPUS_MAX),
	{ "UMASIM_NAME_MAX", (int64_t)sizeof(((struct zreg *)0)->zr_name) - 1 },
	{ "UMASIM_DISPLAY_BASE", (int64_t)UMASIM_DISPLAY_BASE },
	/* The build: 1 under -DUMASIM_SANITIZE (ASan + UBSan). */
#ifdef UMASIM_SANITIZE
	{ "UMASIM_SANITIZE", 1 },
#else
	{ "UMASIM_SANITIZE", 0 },
#endif
	/* The vm.zone_stats stream (uma.h), as libmemstat reads it. */
	SIZE(uma_stream_header), SIZE(uma_type_header), SIZE(uma_percpu_stat),
	OFF(uma_stream_header, ush_version), OFF(uma_stream_header, ush_maxcpus),
	OFF(uma_stream_header, ush_count),
	C(UTH_MAX_NAME), C(UTH_ZONE_SECONDARY),
	OFF(uma_type_header, uth_name), OFF(uma_type_header, uth_align),
	OFF(uma_type_header, uth_size), OFF(uma_type_header, uth_rsize),
	OFF(uma_type_header, uth_maxpages), OFF(uma_type_header, uth_limit),
	OFF(uma_type_header, uth_pages), OFF(uma_type_header, uth_keg_free),
	OFF(uma_type_header, uth_zone_free),
	OFF(uma_type_header, uth_bucketsize),
	OFF(uma_type_header, uth_zone_flags),
	OFF(uma_type_header, uth_allocs), OFF(uma_type_header, uth_frees),
	OFF(uma_type_header, uth_fails),
	OFF(uma_percpu_stat, ups_allocs), OFF(uma_percpu_stat, ups_frees),
	OFF(uma_percpu_stat, ups_cache_free),
};

int
umasim_nconsts(void)
{

	return ((int)(sizeof(consts) / sizeof(consts[0])));
}

const char *
umasim_const_name(int i)
{

	if (i < 0 || i >= umasim_nconsts())
		return (NULL);
	return (consts[i].name);
}

int64_t
umasim_const_value(int i)
{

	if (i < 0 || i >= umasim_nconsts())
		return (0);
	return (consts[i].value);
}
