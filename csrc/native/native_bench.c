/*
 * The native baseline of bench/uma.py: ns per uma_zalloc_arg + uma_zfree_arg
 * pair on the per-CPU fast path of the port, with no simulator around it.
 *
 * umasim_native_bench() boots UMA on the native kernel (native_kern.c)
 * with the simulator's defaults (INVARIANTS off), creates one zone of
 * 'size' bytes (UMA_ALIGN_PTR, no callbacks), warms its per-CPU cache with
 * 'warmup' pairs, then times 'pairs' pairs on vCPU 0 by the CPU time of
 * the calling thread (bench/uma.py times the simulator the same way, so
 * that other load on the host counts for neither).  It returns ns per
 * pair, or a negative number on failure (the reason on stderr).  The only
 * symbol the shared object exports.
 */
#include <stdio.h>
#include <time.h>

#include "native.h"
#include "../sys/param.h"
#include "../sys/systm.h"
#include "../sys/malloc.h"
#include "../vm/uma.h"

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec);
}

static void
pairs_loop(uma_zone_t zone, uint64_t n)
{
	void *item;

	while (n-- > 0) {
		item = uma_zalloc_arg(zone, NULL, M_WAITOK);
		uma_zfree_arg(zone, item, NULL);
	}
}

NATIVE_EXPORT double
umasim_native_bench(uint64_t pairs, int size, int cpus, uint64_t warmup)
{
	struct umasim_config cfg = {
		.cpus = cpus, .pages = 256, .kmem_pages = 1024, .free_min = 0,
		.boot_pages = 48, .md_small_alloc = 0, .pagedaemon = 0,
		.ticks_per_step = 1, .granularity = UMASIM_GRAN_COARSE,
		.invariants = 0, .bugs = 0, .seed = 0,
		.trace_level = UMASIM_TRACE_OFF,
	};
	volatile double ns = -1.0;
	struct sim *s;
	uma_zone_t zone;
	uint64_t t0, t1;
	char err[256];

	if (pairs == 0 || size < 1 || cpus < 1 || cpus > UMASIM_MAXCPU)
		return (-1.0);
	s = native_sim_new(&cfg, err, sizeof(err));
	if (s == NULL) {
		fprintf(stderr, "umasim native: %s\n", err);
		return (-1.0);
	}
	s->host_jmp_armed = 1;
	if (setjmp(s->host_jmp) == 0) {
		zone = uma_zcreate("bench", size, NULL, NULL, NULL, NULL,
		    UMA_ALIGN_PTR, 0);
		pairs_loop(zone, warmup);
		t0 = now_ns();
		pairs_loop(zone, pairs);
		t1 = now_ns();
		ns = (double)(t1 - t0) / (double)pairs;
	}
	s->host_jmp_armed = 0;
	native_sim_free(s);
	return (ns);
}
