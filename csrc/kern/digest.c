/*
 * digest(): a hash of the whole simulator state, with every pointer turned
 * into a canonical value (arena offsets on the display base, or the index
 * of a simulator object), never host addresses or stack contents, so that
 * equal states hash equal in every process and on every machine.
 */
#include <string.h>

#include "kern.h"
#include "digest.h"
#include "../sys/mutex.h"

#define	CANON_SIM	0x5000000000000000ULL
#define	CANON_CHAN	0x6000000000000000ULL
#define	CANON_MTX	0x7000000000000000ULL
#define	CANON_UNKNOWN	0x4000000000000000ULL
#define	CANON_XTAB	0x3000000000000000ULL

static int
within(const void *p, const void *base, size_t len)
{
	const char *c = p, *b = base;

	return (c >= b && c < b + len);
}

/*
 * Objects inside struct sim (wait channels, the VM's tags, threads) get
 * fixed numbers, not offsets: struct sim's layout differs between builds
 * (a ucontext is bigger than a saved stack pointer), digests must not.
 */
static uint64_t
canon_sim_field(const struct sim *s, const void *p)
{
	const void *tags[] = {
		&s->st.softclock_chan, &s->st.vm.cnt.v_free_count,
		&s->st.vm.pagedaemon_chan, &s->st.vm.kmem_map_tag,
		&s->st.vm.kernel_map_tag, &s->st.vm.kmem_object_tag,
		&s->st.vm.kernel_object_tag,
	};
	size_t i;

	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (p == tags[i])
			return (CANON_SIM + 1 + i);
	if (p == (const void *)&s->hostcall)
		return (CANON_SIM + 0x2000);
	return (CANON_UNKNOWN);
}

uint64_t
kern_canon(const struct sim *s, const void *p)
{
	uint64_t a;
	int c;

	if (p == NULL)
		return (0);
	if (arena_contains(s, p, &a))
		return (a);
	if (within(p, s, sizeof(*s)))
		return (canon_sim_field(s, p));
	for (c = 0; c < s->nxtab; c++)
		if (within(p, s->xtab[c], s->xtab_chunk))
			return (CANON_XTAB + (uint64_t)c * s->xtab_chunk +
			    (uint64_t)((const char *)p - s->xtab[c]));
	for (c = 0; c < s->ntdchunks; c++)
		if (within(p, s->tdchunks[c]->td, sizeof(s->tdchunks[c]->td)))
			return (CANON_SIM + 0x1000 + (uint64_t)c *
			    KERN_THREAD_CHUNK + (uint64_t)(((const char *)p -
			    (const char *)s->tdchunks[c]->td) /
			    sizeof(struct kthread)));
	if (s->chans != NULL && within(p, s->chans, (size_t)s->st.nchan))
		return (CANON_CHAN + (uint64_t)((const char *)p - s->chans));
	if (s->umtx != NULL &&
	    within(p, s->umtx, (size_t)s->st.nmtx * sizeof(struct mtx)))
		return (CANON_MTX + (uint64_t)((const char *)p -
		    (const char *)s->umtx));
	return (CANON_UNKNOWN);
}

const char *
kern_chan_name(const struct sim *s, const void *p)
{
	int i;

	if (p == NULL)
		return (NULL);
	if (p == (const void *)&s->st.softclock_chan)
		return ("softclock");
	if (p == (const void *)&s->st.vm.cnt.v_free_count)
		return ("&cnt.v_free_count");
	if (p == (const void *)&s->st.vm.pagedaemon_chan)
		return ("pagedaemon");
	if (s->chans != NULL && within(p, s->chans, (size_t)s->st.nchan))
		return (s->chan_name[(const char *)p - s->chans]);
	for (i = 0; i < s->st.nthreads; i++)
		if (p == (const void *)sim_td(s, i))
			return (sim_td(s, i)->td_name);
	return (NULL);
}

void
dg_bytes(struct digest *d, const void *p, size_t n)
{
	const unsigned char *c = p;
	uint64_t h = d->h;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= c[i];
		h *= 0x100000001b3ULL;
	}
	d->h = h;
}

void
dg_u64(struct digest *d, uint64_t v)
{

	dg_bytes(d, &v, sizeof(v));
}

void
dg_str(struct digest *d, const char *str)
{

	if (str == NULL)
		str = "";
	dg_bytes(d, str, strlen(str) + 1);
}

void
dg_ptr(struct digest *d, const struct sim *s, const void *p)
{

	dg_u64(d, kern_canon(s, p));
}

static void
digest_thread(struct digest *d, const struct sim *s, const struct kthread *td)
{

	dg_u64(d, (uint64_t)td->td_tid);
	dg_str(d, td->td_name);
	dg_u64(d, (uint64_t)td->td_state);
	dg_u64(d, (uint64_t)td->td_cpu);
	dg_u64(d, (uint64_t)td->td_critnest);
	dg_u64(d, (uint64_t)td->td_point);
	dg_u64(d, (uint64_t)td->td_nlocks);
	dg_u64(d, (uint64_t)td->td_migrate_to);
	dg_u64(d, td->td_acts);
	dg_u64(d, td->td_stop_acts);
	dg_ptr(d, s, td->td_wchan);
	dg_str(d, td->td_wmesg);
	dg_u64(d, (uint64_t)td->td_timo_at);
	dg_u64(d, (uint64_t)td->td_timedout);
	dg_u64(d, td->td_sleepseq);
	dg_ptr(d, s, td->td_blocked);
	dg_u64(d, (uint64_t)td->td_waitvar);
	dg_u64(d, (uint64_t)td->td_pc);
	dg_u64(d, (uint64_t)td->td_iter);
}

static void
digest_kernel(struct digest *d, const struct sim *s)
{
	const struct mtx *m;
	int i;

	dg_u64(d, (uint64_t)s->st.ncpus);
	/* The configuration that changes what a simulation does next. */
	dg_u64(d, s->st.cfg.bugs);
	dg_u64(d, (uint64_t)s->st.cfg.granularity);
	dg_u64(d, (uint64_t)s->st.cfg.ticks_per_step);
	dg_u64(d, (uint64_t)s->st.cfg.invariants);
	dg_u64(d, (uint64_t)s->st.cfg.md_small_alloc);
	dg_u64(d, (uint64_t)s->st.cfg.pagedaemon);
	dg_u64(d, (uint64_t)s->st.cfg.free_min);
	dg_u64(d, (uint64_t)s->st.now);
	dg_u64(d, s->st.nsteps);
	dg_u64(d, (uint64_t)s->st.panicked);
	dg_str(d, s->st.panicked ? s->st.panicmsg : "");
	if (s->st.faulted) {		/* nothing for the runs without one */
		dg_u64(d, (uint64_t)s->st.fault.tid);
		dg_u64(d, (uint64_t)s->st.fault.point);
		dg_u64(d, s->st.fault.step);
		dg_u64(d, (uint64_t)s->st.fault.signo);
		dg_u64(d, (uint64_t)s->st.fault.where);
		dg_u64(d, s->st.fault.addr);
	}
	dg_u64(d, (uint64_t)s->st.lastrun);
	dg_u64(d, s->st.sleepseq);
	for (i = 0; i < s->st.ncpus; i++)
		dg_u64(d, (uint64_t)s->st.cpu_crit[i]);
	dg_u64(d, (uint64_t)s->st.nthreads);
	for (i = 0; i < s->st.nthreads; i++)
		digest_thread(d, s, sim_td(s, i));
	dg_u64(d, (uint64_t)s->st.nmtx);
	for (i = 0; i < s->st.nmtx; i++) {
		m = &s->umtx[i];
		dg_u64(d, (uint64_t)mtx_owner_tid(m));
		dg_u64(d, m->mtx_lock & MTX_FLAGMASK);
		dg_u64(d, m->mtx_recurse);
	}
	dg_u64(d, (uint64_t)s->st.ncallouts);
	for (i = 0; i < s->st.ncallouts; i++) {
		dg_ptr(d, s, s->st.callouts[i]);
		dg_u64(d, (uint64_t)s->st.callouts[i]->c_time);
		dg_u64(d, s->st.callouts[i]->c_seq);
	}
	dg_u64(d, (uint64_t)s->st.nvars);
	for (i = 0; i < s->st.nvars; i++) {
		dg_u64(d, (uint64_t)s->vars[i].v_state);
		dg_u64(d, (uint64_t)s->vars[i].v_zone);
		dg_u64(d, s->vars[i].v_item);
	}
}

uint64_t
digest_sim(struct sim *s)
{
	struct digest d;
	int i;

	d.h = 0xcbf29ce484222325ULL;
	digest_kernel(&d, s);
	for (i = 0; i < s->ndigesters; i++)
		s->digesters[i](&d, s);
	return (d.h);
}
