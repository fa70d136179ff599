/*
 * Snapshots: a copy of everything a simulation's future depends on -- the
 * simulated state of struct sim (struct simstate, then the thread table up
 * to its last thread in chunks: a fixed set of regions, never the host's
 * part of struct sim), user mutexes and variables, the VM's maps and page
 * table, the arena pages in use, the used part of every live thread's
 * stack, and the logs -- restored in place.
 *
 * Restoring in place is what makes it cheap and sound: thread stacks hold
 * absolute addresses (into themselves, the arena and struct sim), so a
 * snapshot only ever goes back into the simulation it was taken from,
 * whose stacks and arena never move.  Host resources (stack slots, program
 * arrays, log buffers) are kept across restores, never freed.
 */
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "stack.h"
#include "../sys/mutex.h"

struct snap_stack {
	int		tid;
	size_t		off;		/* from the stack's base */
	size_t		len;
	size_t		data;		/* offset into sn_stackdata */
};

struct snapshot {
	uint64_t	sn_owner;	/* struct sim's sim_id */
	int		sn_nthreads;
	char		*sn_sim;	/* struct simstate, the threads */
	struct mtx	*sn_umtx;
	struct kvar	*sn_vars;
	char		*sn_names;	/* names of mutexes, channels, variables */
	uint8_t		*sn_kmem_map, *sn_dmap_map;
	struct vm_pgent	*sn_pgtab;
	int64_t		sn_npages;
	int64_t		*sn_pageidx;
	char		*sn_pages;
	char		*sn_boothead;	/* BOOT_HEAD bytes of every boot page */
	int		sn_nstacks;
	struct snap_stack *sn_stacks;
	char		*sn_stackdata;
	struct umasim_event *sn_ev;
	size_t		sn_nev;
	char		*sn_conbuf;
	size_t		sn_conlen, sn_ncon;
	size_t		*sn_conoff;
	uint32_t	*sn_dec;
	size_t		sn_ndec;
	int		sn_nxtab;
	char		*sn_xtab;	/* the xtab chunks, end to end */
	void		*sn_oracle;	/* the oracle's state; NULL: it was off */
};

static void *
dup_mem(const void *p, size_t len)
{
	void *q;

	q = malloc(len > 0 ? len : 1);
	if (q != NULL && len > 0)
		memcpy(q, p, len);
	return (q);
}

/* memcpy() for buffers that may not exist yet (NULL) when len is 0. */
static void
put_mem(void *dst, const void *src, size_t len)
{

	if (len > 0)
		memcpy(dst, src, len);
}

/* The live part of a suspended thread's stack: from its saved sp up. */
static void
stack_live(const struct kthread *td, size_t *off, size_t *len)
{
	const struct kstack *ks = td->td_stack;
#ifdef UMASIM_UCONTEXT
	*off = 0;
#else
	*off = (size_t)((char *)td->td_ctx.sp - ks->ks_base);
	if (*off > ks->ks_size)
		*off = 0;
#endif
	*len = ks->ks_size - *off;
}

/*
 * The names of mutexes, channels and variables: host tables, but mutexes
 * and sleepers point at them, and a later snapshot may name objects that
 * a restore in between replaced.  Without 'from', returns a copy of the
 * names in use; with it, puts that copy back.
 */
static char *
names_copy(struct sim *s, const char *from)
{
	struct { char *tab; size_t len; } part[3] = {
		{ (char *)s->umtx_name, (size_t)s->st.nmtx * KERN_NAMELEN },
		{ (char *)s->chan_name, (size_t)s->st.nchan * KERN_NAMELEN },
		{ (char *)s->var_names, (size_t)s->st.nvars * KERN_NAMELEN },
	};
	char *buf = NULL;
	size_t off;
	int i;

	if (from == NULL) {
		buf = malloc(part[0].len + part[1].len + part[2].len + 1);
		if (buf == NULL)
			return (NULL);
	}
	off = 0;
	for (i = 0; i < 3; i++) {
		if (part[i].len == 0)
			continue;
		if (from == NULL)
			memcpy(buf + off, part[i].tab, part[i].len);
		else
			memcpy(part[i].tab, from + off, part[i].len);
		off += part[i].len;
	}
	return (buf);
}

static int
thread_has_future(const struct kthread *td)
{

	return (td->td_state != UMASIM_TS_FINISHED &&
	    td->td_state != UMASIM_TS_PANICKED);
}

/*
 * Arena pages whose contents matter: the bss, boot pages UMA has taken,
 * and pages in use.  Boot pages not taken yet only hold the header that
 * links them on uma_boot_pages: their first BOOT_HEAD bytes are enough.
 */
#define	BOOT_HEAD	64

static int
page_full(const struct sim *s, int64_t i)
{
	const struct vmstate *vm = &s->st.vm;

	if (i < (vm->bss_used + PAGE_MASK) / PAGE_SIZE)
		return (1);
	if (i < vm->boot_base)
		return (0);
	if (i < vm->kmem_base)
		return (vm->pgtab[i].pe_mapped);
	if (i < vm->dmap_base)
		return (vm->kmem_map[i - vm->kmem_base]);
	return (vm->dmap_map[i - vm->dmap_base]);
}

static int64_t
pages_in_use(const struct sim *s, int64_t *idx)
{
	int64_t i, n;

	n = 0;
	for (i = 0; i < s->st.vm.npages; i++) {
		if (!page_full(s, i))
			continue;
		if (idx != NULL)
			idx[n] = i;
		n++;
	}
	return (n);
}

/*
 * The simulated state in struct sim: struct simstate, then the thread
 * table up to its last thread in use, chunk by chunk.  Without 'to', puts
 * a copy into 'buf'; with it, copies 'buf' back.
 */
static void
state_copy(struct sim *s, char *buf, int nthreads, int to)
{
	size_t len;
	int t, n;

	if (to)
		memcpy(&s->st, buf, sizeof(s->st));
	else
		memcpy(buf, &s->st, sizeof(s->st));
	buf += sizeof(s->st);
	for (t = 0; t < nthreads; t += KERN_THREAD_CHUNK) {
		n = nthreads - t < KERN_THREAD_CHUNK ? nthreads - t :
		    KERN_THREAD_CHUNK;
		len = (size_t)n * sizeof(struct kthread);
		if (to)
			memcpy(sim_thread_chunk(s, t / KERN_THREAD_CHUNK), buf,
			    len);
		else
			memcpy(buf, sim_thread_chunk(s, t / KERN_THREAD_CHUNK),
			    len);
		buf += len;
	}
}

void
snapshot_free(struct snapshot *sn)
{

	if (sn == NULL)
		return;
	free(sn->sn_sim);
	free(sn->sn_umtx);
	free(sn->sn_vars);
	free(sn->sn_names);
	free(sn->sn_kmem_map);
	free(sn->sn_dmap_map);
	free(sn->sn_pgtab);
	free(sn->sn_pageidx);
	free(sn->sn_pages);
	free(sn->sn_boothead);
	free(sn->sn_stacks);
	free(sn->sn_stackdata);
	free(sn->sn_ev);
	free(sn->sn_conbuf);
	free(sn->sn_conoff);
	free(sn->sn_dec);
	free(sn->sn_xtab);
	oracle_saved_free(sn->sn_oracle);
	free(sn);
}

struct snapshot *
snapshot_take(struct sim *s)
{
	struct snapshot *sn;
	const struct vmstate *vm = &s->st.vm;
	size_t total, off, len;
	int64_t i;
	int t, n;

	sn = calloc(1, sizeof(*sn));
	if (sn == NULL)
		return (NULL);
	sn->sn_owner = s->sim_id;
	sn->sn_nthreads = s->st.nthreads;
	sn->sn_sim = malloc(sizeof(s->st) +
	    (size_t)sn->sn_nthreads * sizeof(struct kthread));
	if (sn->sn_sim != NULL)
		state_copy(s, sn->sn_sim, sn->sn_nthreads, 0);
	sn->sn_umtx = dup_mem(s->umtx, (size_t)s->st.nmtx * sizeof(struct mtx));
	sn->sn_vars = dup_mem(s->vars,
	    (size_t)s->st.nvars * sizeof(struct kvar));
	sn->sn_names = names_copy(s, NULL);
	sn->sn_kmem_map = dup_mem(vm->kmem_map, (size_t)vm->kmem_pages);
	sn->sn_dmap_map = dup_mem(vm->dmap_map, (size_t)vm->dmap_pages);
	sn->sn_pgtab = dup_mem(vm->pgtab,
	    (size_t)vm->npages * sizeof(struct vm_pgent));
	sn->sn_npages = pages_in_use(s, NULL);
	sn->sn_pageidx = malloc((size_t)(sn->sn_npages + 1) * sizeof(int64_t));
	sn->sn_pages = malloc((size_t)(sn->sn_npages + 1) * PAGE_SIZE);
	if (sn->sn_pageidx != NULL && sn->sn_pages != NULL) {
		pages_in_use(s, sn->sn_pageidx);
		for (i = 0; i < sn->sn_npages; i++)
			memcpy(sn->sn_pages + i * PAGE_SIZE,
			    s->arena + sn->sn_pageidx[i] * PAGE_SIZE, PAGE_SIZE);
	}
	sn->sn_boothead = malloc((size_t)(vm->boot_pages + 1) * BOOT_HEAD);
	if (sn->sn_boothead != NULL)
		for (i = 0; i < vm->boot_pages; i++)
			memcpy(sn->sn_boothead + i * BOOT_HEAD,
			    s->arena + (vm->boot_base + i) * PAGE_SIZE, BOOT_HEAD);
	sn->sn_stacks = calloc((size_t)s->st.nthreads + 1,
	    sizeof(struct snap_stack));
	total = 0;
	for (t = 0; t < s->st.nthreads; t++) {
		if (!thread_has_future(sim_td(s, t)))
			continue;
		stack_live(sim_td(s, t), &off, &len);
		total += len;
	}
	sn->sn_stackdata = malloc(total > 0 ? total : 1);
	if (sn->sn_stacks != NULL && sn->sn_stackdata != NULL) {
		total = 0;
		n = 0;
		for (t = 0; t < s->st.nthreads; t++) {
			if (!thread_has_future(sim_td(s, t)))
				continue;
			stack_live(sim_td(s, t), &off, &len);
			sn->sn_stacks[n].tid = t;
			sn->sn_stacks[n].off = off;
			sn->sn_stacks[n].len = len;
			sn->sn_stacks[n].data = total;
			kstack_unpoison(sim_td(s, t)->td_stack);
			memcpy(sn->sn_stackdata + total,
			    sim_td(s, t)->td_stack->ks_base + off, len);
			total += len;
			n++;
		}
		sn->sn_nstacks = n;
	}
	sn->sn_nev = s->ev.n;
	sn->sn_ev = dup_mem(s->ev.e, s->ev.n * sizeof(struct umasim_event));
	sn->sn_conlen = s->con.len;
	sn->sn_ncon = s->con.n;
	sn->sn_conbuf = dup_mem(s->con.buf, s->con.len);
	sn->sn_conoff = dup_mem(s->con.off, s->con.n * sizeof(size_t));
	sn->sn_ndec = s->ndec;
	sn->sn_dec = dup_mem(s->dec, s->ndec * sizeof(uint32_t));
	sn->sn_nxtab = s->nxtab;
	sn->sn_xtab = malloc((size_t)s->nxtab * s->xtab_chunk + 1);
	if (sn->sn_xtab != NULL)
		for (t = 0; t < s->nxtab; t++)
			memcpy(sn->sn_xtab + (size_t)t * s->xtab_chunk,
			    s->xtab[t], s->xtab_chunk);
	sn->sn_oracle = oracle_save(s);
	if (sn->sn_sim == NULL || sn->sn_umtx == NULL || sn->sn_vars == NULL ||
	    sn->sn_names == NULL ||
	    sn->sn_kmem_map == NULL || sn->sn_dmap_map == NULL ||
	    sn->sn_pgtab == NULL || sn->sn_pageidx == NULL ||
	    sn->sn_pages == NULL || sn->sn_boothead == NULL ||
	    sn->sn_stacks == NULL ||
	    sn->sn_stackdata == NULL || sn->sn_ev == NULL ||
	    sn->sn_conbuf == NULL || sn->sn_conoff == NULL || sn->sn_dec == NULL ||
	    sn->sn_xtab == NULL || (s->oracle_on && sn->sn_oracle == NULL)) {
		snapshot_free(sn);
		return (NULL);
	}
	return (sn);
}

int
snapshot_restore(struct sim *s, const struct snapshot *sn)
{
	const struct snap_stack *st;
	int64_t i;
	int t;

	if (sn->sn_owner != s->sim_id)
		return (UMASIM_E_INVAL);
	state_copy(s, sn->sn_sim, sn->sn_nthreads, 1);
	/* Digests recorded past the restored step belong to another future. */
	while (s->ndg > 0 && s->dg[s->ndg - 1].step > s->st.nsteps)
		s->ndg--;

	put_mem(s->umtx, sn->sn_umtx, (size_t)s->st.nmtx * sizeof(struct mtx));
	put_mem(s->vars, sn->sn_vars,
	    (size_t)s->st.nvars * sizeof(struct kvar));
	(void)names_copy(s, sn->sn_names);
	memcpy(s->st.vm.kmem_map, sn->sn_kmem_map, (size_t)s->st.vm.kmem_pages);
	memcpy(s->st.vm.dmap_map, sn->sn_dmap_map, (size_t)s->st.vm.dmap_pages);
	memcpy(s->st.vm.pgtab, sn->sn_pgtab,
	    (size_t)s->st.vm.npages * sizeof(struct vm_pgent));
	for (i = 0; i < s->st.vm.boot_pages; i++)
		memcpy(s->arena + (s->st.vm.boot_base + i) * PAGE_SIZE,
		    sn->sn_boothead + i * BOOT_HEAD, BOOT_HEAD);
	for (i = 0; i < sn->sn_npages; i++)
		memcpy(s->arena + sn->sn_pageidx[i] * PAGE_SIZE,
		    sn->sn_pages + i * PAGE_SIZE, PAGE_SIZE);
	for (t = 0; t < sn->sn_nstacks; t++) {
		st = &sn->sn_stacks[t];
		kstack_unpoison(sim_td(s, st->tid)->td_stack);
		kstack_will_write(sim_td(s, st->tid)->td_stack, st->off,
		    st->len);
		memcpy(sim_td(s, st->tid)->td_stack->ks_base + st->off,
		    sn->sn_stackdata + st->data, st->len);
	}
	/* The logs only ever grow, so their buffers are big enough. */
	put_mem(s->ev.e, sn->sn_ev, sn->sn_nev * sizeof(struct umasim_event));
	s->ev.n = sn->sn_nev;
	put_mem(s->con.buf, sn->sn_conbuf, sn->sn_conlen);
	put_mem(s->con.off, sn->sn_conoff, sn->sn_ncon * sizeof(size_t));
	s->con.len = sn->sn_conlen;
	s->con.n = sn->sn_ncon;
	if (s->ndec > sn->sn_ndec)	/* the entries past it: 0 again */
		dec_truncate(s, sn->sn_ndec);
	put_mem(s->dec, sn->sn_dec, sn->sn_ndec * sizeof(uint32_t));
	s->dec_dirty = s->ndec = sn->sn_ndec;
	/* Chunks made since hold slots past the restored count. */
	for (t = 0; t < sn->sn_nxtab; t++)
		memcpy(s->xtab[t], sn->sn_xtab + (size_t)t * s->xtab_chunk,
		    s->xtab_chunk);
	s->st.curthread = NULL;
	s->st.in_run = 0;
	/* The indexes over the thread table follow it. */
	if (kix_rebuild(s) != 0)
		return (UMASIM_E_NOMEM);
	/* The oracle's state of that moment (fresh if it was off then). */
	oracle_restore(s, sn->sn_oracle);
	return (0);
}
