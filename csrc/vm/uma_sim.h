/*
 * What the simulator adds to the port, and nothing more: preemption
 * points, trace events, the known-bug switches, display addresses, and
 * the checks that turn FreeBSD 7's memory corruption into clean panics.
 * None of these changes what the allocator does.
 */
#ifndef _VM_UMA_SIM_H_
#define	_VM_UMA_SIM_H_

#include <stdarg.h>

#include "../kern/kern.h"
#include "vm_shim.h"
#include "uma_int.h"
#include "../sys/mutex.h"

/*
 * A preemption point (csrc/kern/points.def) in the port.  Every one
 * stands in a function with the zone it works on in 'zone': the point is
 * an action on that zone's keg for race-window coverage (cov_touch), and a
 * stop there records the pair (point, abstract state of the zone) (cover.c).
 */
#define	UMA_POINT(pt)		uma_sim_point((pt), zone)
/* An interleaving point of granularity "fine", inside the cache paths. */
#define	UMA_FINE_POINT(pt)	uma_sim_fine_point((pt), zone)

/*
 * Race windows (csrc/kern/points.def, WINDOW): the current thread enters
 * window W_w on the keg of 'zone', or leaves it.  A window opens where a
 * protection is given up (or shared state is read unprotected) and closes
 * where the thread acts again under protection on what it saw.
 */
#ifndef UMASIM_NATIVE
#define	UMA_WINDOW_OPEN(w) do {					\
	if (uma_sim_window_exists(W_##w))				\
		cov_win_open_fast(W_##w, zone->uz_keg);			\
} while (0)
#define	UMA_WINDOW_CLOSE(w) do {					\
	if (uma_sim_window_exists(W_##w))				\
		cov_win_close_fast(W_##w);				\
} while (0)

/*
 * The simulator's critical sections, inline (kern.h); the native build
 * (bench/uma.py, UMASIM_NATIVE) links csrc/native's functions.
 */
#define	critical_enter()	kern_critical_enter()
#define	critical_exit()		kern_critical_exit()
#else
#define	UMA_WINDOW_OPEN(w) do {					\
	if (uma_sim_window_exists(W_##w))				\
		cov_win_open(W_##w, zone->uz_keg);			\
} while (0)
#define	UMA_WINDOW_CLOSE(w) do {					\
	if (uma_sim_window_exists(W_##w))				\
		cov_win_close(W_##w);					\
} while (0)
#endif

/*
 * Whether window 'w' exists in this simulation: a fine window only with
 * granularity "fine" (cov_win_open() opens nothing otherwise, so nothing
 * is closed either).  Tested inline so that the fast paths, which cross
 * the fine windows of the per-CPU caches, call nothing for them with
 * granularity "coarse"; 'w' is a constant there, and the switch folds.
 */
static inline int
uma_sim_window_exists(int w)
{

	switch (w) {
#define	POINT(id, name, func, line)
#define	WINDOW(id, name, point, fine, closes, gives_up)			\
	case W_##id:							\
		return (!(fine) ||					\
		    cursim->st.cfg.granularity == UMASIM_GRAN_FINE);
#include "../kern/points.def"
#undef WINDOW
#undef POINT
	}
	return (1);
}
/*
 * An unprotected read of shared state that the code acts on later counts
 * as an action, so that a point right after it stops (docs/design.md,
 * "Merging").
 */
#define	UMA_SHARED_READ()	sched_act()
/*
 * Another thread's windows on this keg see an action (cover.c); the op
 * under way reads the keg from now on (its footprint, footprint.c).
 */
#define	UMA_TOUCH(keg) do {						\
	cov_touch(keg);							\
	FP_ZONE(&(keg)->uk_lock);					\
} while (0)

static inline unsigned
uma_sim_bucket_class(uma_bucket_t b)
{

	if (b == NULL)
		return (0);
	if (b->ub_cnt == 0)
		return (1);
	return (b->ub_cnt >= b->ub_entries ? 3 : 2);
}

/*
 * The abstract state of 'zone' seen from 'cpu' (cover.c, cov_state): bits
 * 0-1 the CPU's alloc bucket and 2-3 its free bucket (none, empty,
 * partial, full), 4 the keg FULL, 5 uz_fills > 0, 6 the zone lock
 * contended.  Internal zones have no per-CPU caches (the static zones of
 * kegs and zones have room for one only): their buckets count as none.
 */
static inline unsigned
uma_sim_cov_state(uma_zone_t zone, int cpu)
{
	uma_keg_t keg = zone->uz_keg;
	uma_cache_t cache;
	unsigned st = 0;

	if (!(keg->uk_flags & UMA_ZFLAG_INTERNAL)) {
		cache = &zone->uz_cpu[cpu];
		st = uma_sim_bucket_class(cache->uc_allocbucket) |
		    uma_sim_bucket_class(cache->uc_freebucket) << 2;
	}
	if (keg->uk_flags & UMA_ZFLAG_FULL)
		st |= 1u << 4;
	if (zone->uz_fills > 0)
		st |= 1u << 5;
	if ((zone->uz_lock->mtx_lock & (MTX_CONTESTED | MTX_UNOWNED)) ==
	    MTX_CONTESTED)
		st |= 1u << 6;
	return (st);
}

/* The stops of the two below, out of line (uma_sim.c). */
void	uma_sim_stop(int pt, uma_zone_t zone);
void	uma_sim_fine_stop(int pt, uma_zone_t zone);

/*
 * A point: up to what sched_point() checks first, since a point right
 * after an action-less one does not stop; the stop out of line.
 */
static inline void
uma_sim_point(int pt, uma_zone_t zone)
{
	struct kthread *td = kern_curthread();

	cov_touch(zone->uz_keg);
	FP_ZONE(zone->uz_lock);
	if (sched_point_stops(td))
		uma_sim_stop(pt, zone);
}

static inline void
uma_sim_fine_point(int pt, uma_zone_t zone)
{
	struct kthread *td = kern_curthread();

	if (cursim->st.cfg.granularity != UMASIM_GRAN_FINE || td->td_nopoints)
		return;
	FP_ZONE(zone->uz_lock);
	uma_sim_fine_stop(pt, zone);
}

/* A trace event; 'p' is a pointer shown as its display address. */
#define	UMA_EVENT(kind, p, b) do {					\
	if (cursim->st.trace_level >= UMASIM_TRACE_FULL)		\
		ev_record(cursim, (kind), (int64_t)kern_canon(cursim, (p)),\
		    (int64_t)(b));					\
} while (0)

/*
 * The oracle (csrc/kern/oracle.h): a hook that costs one test when it is
 * off; the checks that read UMA's structures are in uma_oracle.c.
 */
#define	UMA_ORACLE(call) do {						\
	if (ORACLE_ON(cursim))						\
		call;							\
} while (0)
void	uma_oracle_slab_alloc(uma_keg_t keg);
void	uma_oracle_zonelimit_sleep(uma_keg_t keg);

/* An address as the simulated machine shows it. */
#define	UMA_ADDR(p)		((uintmax_t)kern_canon(cursim, (p)))

/*
 * Known-bug switches (docs/design.md; docs/bugs.md).  Each re-creates a real
 * allocator bug where the port tests UMA_BUG(its bit).  To add one: give
 * it a bit and a name in csrc/kern/bugs.def, test UMA_BUG(BUG_YOURS) at
 * the place it changes, and write a scenario that shows it.
 */
#define	UMA_BUG(b)		((cursim->st.cfg.bugs & (b)) != 0)

/*
 * stale_cache: keep the per-CPU cache pointer from before dropping the
 * critical section, on whatever CPU the thread comes back on.
 */
#define	UMA_BUG_STALE_SAVE(c)	(stale = (c))
#define	UMA_BUG_STALE_USE(c) do {					\
	if (UMA_BUG(BUG_STALE_CACHE)) {					\
		(c) = stale;						\
		FP_ALL();	/* another vCPU's cache */		\
	}								\
} while (0)
#define	UMA_BUG_STALE_WINDOW(pt) do {					\
	if (UMA_BUG(BUG_STALE_CACHE))					\
		sched_fine_point_always(PT_STALE_WINDOW);		\
} while (0)

/* The keg's slab lists by number: 0 partial, 1 free, 2 full. */
static inline uma_slab_t
uma_sim_slab_list(uma_keg_t k, int which)
{

	if (which == 0)
		return (LIST_FIRST(&k->uk_part_slab));
	if (which == 1)
		return (LIST_FIRST(&k->uk_free_slab));
	return (LIST_FIRST(&k->uk_full_slab));
}

void	uma_sim_check_offpage(uma_keg_t keg, uma_slab_t slab);
void	uma_sim_check_hash(uma_keg_t keg);
void	uma_sim_check_slab(uma_zone_t zone, uma_slab_t slab, void *item);
void	uma_sim_check_prealloc(uma_zone_t zone, uma_slab_t slab);
void	uma_sim_check_refcnt(uma_zone_t zone, uma_slabrefcnt_t slabref);

/* sbuf(9) and sysctl output, just what vm.zone_stats needs. */
struct sbuf {
	char	*s_buf;
	int	s_size;
	int	s_len;
	int	s_overflow;
};
#define	SBUF_FIXEDLEN	0
struct sbuf *sbuf_new(struct sbuf *s, char *buf, int length, int flags);
int	sbuf_bcat(struct sbuf *s, const void *buf, size_t len);
void	sbuf_finish(struct sbuf *s);
char	*sbuf_data(struct sbuf *s);
int	sbuf_len(struct sbuf *s);
int	sysctl_out(void *out, size_t *len, const void *data, size_t n);
#define	SYSCTL_OUT(out, len, data, n)	sysctl_out((out), (len), (data), (n))
size_t	strlcpy(char *dst, const char *src, size_t siz);
#define	db_printf	kern_printf

/* What uma_core.c exposes to the simulator's walks. */
uma_zone_t uma_sim_kegs_zone(void);
uma_zone_t uma_sim_zones_zone(void);
uma_keg_t uma_sim_first_keg(void);
uma_slab_t uma_sim_first_boot_page(void);
int	uma_sim_bucketdisable(void);
int	uma_sim_booted(void);
struct mtx *uma_sim_uma_mtx(void);
u_int	uma_sim_max_ipers(int ref);
void	uma_sim_timeout(void);
uma_alloc uma_sim_backend(int which);
uma_free uma_sim_page_free(void);
uma_init uma_sim_zero_init(void);
void	*uma_sim_ctor(int which);

#endif /* !_VM_UMA_SIM_H_ */
