/*
 * Snapshots: a copy of everything a simulation's future depends on -- the
 * kernel state (struct sim up to its last thread), user mutexes and
 * variables, the VM's maps and page table, the arena pages in use, the used
 * part of every live thread's stack, and the logs -- restored in place.
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
	size_t		sn_simlen;
	char		*sn_sim;
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
		{ (char *)s->umtx_name, (size_t)s->nmtx * KERN_NAMELEN },
		{ (char *)s->chan_name, (size_t)s->nchan * KERN_NAMELEN },
		{ (char *)s->var_names, (size_t)s->nvars * KERN_NAMELEN },
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
	const struct vmstate *vm = &s->vm;

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
	for (i = 0; i < s->vm.npages; i++) {
		if (!page_full(s, i))
			continue;
		if (idx != NULL)
			idx[n] = i;
		n++;
	}
	return (n);
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
	free(sn);
}

struct snapshot *
snapshot_take(struct sim *s)
{
	struct snapshot *sn;
	const struct vmstate *vm = &s->vm;
	size_t total, off, len;
	int64_t i;
	int t, n;

	sn = calloc(1, sizeof(*sn));
	if (sn == NULL)
		return (NULL);
	sn->sn_owner = s->sim_id;
	sn->sn_simlen = offsetof(struct sim, threads) +
	    (size_t)s->nthreads * sizeof(struct kthread);
	sn->sn_sim = dup_mem(s, sn->sn_simlen);
	sn->sn_umtx = dup_mem(s->umtx, (size_t)s->nmtx * sizeof(struct mtx));
	sn->sn_vars = dup_mem(s->vars, (size_t)s->nvars * sizeof(struct kvar));
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
	sn->sn_stacks = calloc((size_t)s->nthreads + 1,
	    sizeof(struct snap_stack));
	total = 0;
	for (t = 0; t < s->nthreads; t++) {
		if (!thread_has_future(&s->threads[t]))
			continue;
		stack_live(&s->threads[t], &off, &len);
		total += len;
	}
	sn->sn_stackdata = malloc(total > 0 ? total : 1);
	if (sn->sn_stacks != NULL && sn->sn_stackdata != NULL) {
		total = 0;
		n = 0;
		for (t = 0; t < s->nthreads; t++) {
			if (!thread_has_future(&s->threads[t]))
				continue;
			stack_live(&s->threads[t], &off, &len);
			sn->sn_stacks[n].tid = t;
			sn->sn_stacks[n].off = off;
			sn->sn_stacks[n].len = len;
			sn->sn_stacks[n].data = total;
			kstack_unpoison(s->threads[t].td_stack);
			memcpy(sn->sn_stackdata + total,
			    s->threads[t].td_stack->ks_base + off, len);
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
	if (sn->sn_sim == NULL || sn->sn_umtx == NULL || sn->sn_vars == NULL ||
	    sn->sn_names == NULL ||
	    sn->sn_kmem_map == NULL || sn->sn_dmap_map == NULL ||
	    sn->sn_pgtab == NULL || sn->sn_pageidx == NULL ||
	    sn->sn_pages == NULL || sn->sn_boothead == NULL ||
	    sn->sn_stacks == NULL ||
	    sn->sn_stackdata == NULL || sn->sn_ev == NULL ||
	    sn->sn_conbuf == NULL || sn->sn_conoff == NULL || sn->sn_dec == NULL) {
		snapshot_free(sn);
		return (NULL);
	}
	return (sn);
}

/* Fields of struct sim that belong to the host, not to the simulated state. */
struct hostpart {
	uint64_t	sim_id;
	struct mtx	*umtx;
	char		(*umtx_name)[KERN_NAMELEN];
	char		*chans;
	char		(*chan_name)[KERN_NAMELEN];
	struct kvar	*vars;
	char		(*var_names)[KERN_NAMELEN];
	int64_t		capvars;
	struct kevlog	ev;
	struct kconsole	con;
	uint32_t	*dec;
	size_t		capdec;
	struct umasim_digest_rec *dg;
	size_t		ndg, capdg;
	uint8_t		*kmem_map, *dmap_map;
	struct vm_pgent	*pgtab;
	void		(*reclaim_hook)(void);
	char		*arena;
	size_t		arena_len;
	struct umasim_op **oppool;
	size_t		noppool, capoppool;
	struct ctx	sched_ctx;
	uint8_t		*cover;
	struct brlog	*brlog;
	size_t		nbrlog, capbrlog;
	int		brlog_on;
	struct explore_state *explore;
	struct kstack	*hostcall_stack;
	int		busy;
};

static void
hostpart_save(const struct sim *s, struct hostpart *h)
{

	h->sim_id = s->sim_id;
	h->umtx = s->umtx;
	h->umtx_name = s->umtx_name;
	h->chans = s->chans;
	h->chan_name = s->chan_name;
	h->vars = s->vars;
	h->var_names = s->var_names;
	h->capvars = s->capvars;
	h->ev = s->ev;
	h->con = s->con;
	h->dec = s->dec;
	h->capdec = s->capdec;
	h->dg = s->dg;
	h->ndg = s->ndg;
	h->capdg = s->capdg;
	h->kmem_map = s->vm.kmem_map;
	h->dmap_map = s->vm.dmap_map;
	h->pgtab = s->vm.pgtab;
	h->reclaim_hook = s->vm.reclaim_hook;
	h->arena = s->arena;
	h->arena_len = s->arena_len;
	h->oppool = s->oppool;
	h->noppool = s->noppool;
	h->capoppool = s->capoppool;
	h->sched_ctx = s->sched_ctx;
	h->cover = s->cover;
	h->brlog = s->brlog;
	h->nbrlog = s->nbrlog;
	h->capbrlog = s->capbrlog;
	h->brlog_on = s->brlog_on;
	h->explore = s->explore;
	h->hostcall_stack = s->hostcall_stack;
	h->busy = s->busy;
}

static void
hostpart_load(struct sim *s, const struct hostpart *h)
{

	s->sim_id = h->sim_id;
	s->umtx = h->umtx;
	s->umtx_name = h->umtx_name;
	s->chans = h->chans;
	s->chan_name = h->chan_name;
	s->vars = h->vars;
	s->var_names = h->var_names;
	s->capvars = h->capvars;
	s->ev.e = h->ev.e;
	s->ev.cap = h->ev.cap;
	s->con.buf = h->con.buf;
	s->con.cap = h->con.cap;
	s->con.off = h->con.off;
	s->con.ncap = h->con.ncap;
	s->dec = h->dec;
	s->capdec = h->capdec;
	s->dg = h->dg;
	s->capdg = h->capdg;
	/* Digests recorded past the restored step belong to another future. */
	s->ndg = h->ndg;
	while (s->ndg > 0 && s->dg[s->ndg - 1].step > s->nsteps)
		s->ndg--;
	s->vm.kmem_map = h->kmem_map;
	s->vm.dmap_map = h->dmap_map;
	s->vm.pgtab = h->pgtab;
	s->vm.reclaim_hook = h->reclaim_hook;
	s->arena = h->arena;
	s->arena_len = h->arena_len;
	s->oppool = h->oppool;
	s->noppool = h->noppool;
	s->capoppool = h->capoppool;
	s->sched_ctx = h->sched_ctx;
	s->cover = h->cover;
	s->brlog = h->brlog;
	s->nbrlog = h->nbrlog;
	s->capbrlog = h->capbrlog;
	s->brlog_on = h->brlog_on;
	s->explore = h->explore;
	s->hostcall_stack = h->hostcall_stack;
	s->busy = h->busy;
}

int
snapshot_restore(struct sim *s, const struct snapshot *sn)
{
	struct kstack *slots[UMASIM_MAXTHREADS];
	struct hostpart h;
	const struct snap_stack *st;
	int64_t i;
	int t;

	if (sn->sn_owner != s->sim_id)
		return (UMASIM_E_INVAL);
	/* The logs only ever grow, so their buffers are big enough. */
	hostpart_save(s, &h);
	memcpy(slots, s->slot_stack, sizeof(slots));
	memcpy(s, sn->sn_sim, sn->sn_simlen);
	hostpart_load(s, &h);
	memcpy(s->slot_stack, slots, sizeof(slots));
	for (t = 0; t < s->nthreads; t++)
		s->threads[t].td_stack = slots[t];

	put_mem(s->umtx, sn->sn_umtx, (size_t)s->nmtx * sizeof(struct mtx));
	put_mem(s->vars, sn->sn_vars, (size_t)s->nvars * sizeof(struct kvar));
	(void)names_copy(s, sn->sn_names);
	memcpy(s->vm.kmem_map, sn->sn_kmem_map, (size_t)s->vm.kmem_pages);
	memcpy(s->vm.dmap_map, sn->sn_dmap_map, (size_t)s->vm.dmap_pages);
	memcpy(s->vm.pgtab, sn->sn_pgtab,
	    (size_t)s->vm.npages * sizeof(struct vm_pgent));
	for (i = 0; i < s->vm.boot_pages; i++)
		memcpy(s->arena + (s->vm.boot_base + i) * PAGE_SIZE,
		    sn->sn_boothead + i * BOOT_HEAD, BOOT_HEAD);
	for (i = 0; i < sn->sn_npages; i++)
		memcpy(s->arena + sn->sn_pageidx[i] * PAGE_SIZE,
		    sn->sn_pages + i * PAGE_SIZE, PAGE_SIZE);
	for (t = 0; t < sn->sn_nstacks; t++) {
		st = &sn->sn_stacks[t];
		kstack_unpoison(s->threads[st->tid].td_stack);
		memcpy(s->threads[st->tid].td_stack->ks_base + st->off,
		    sn->sn_stackdata + st->data, st->len);
	}
	put_mem(s->ev.e, sn->sn_ev, sn->sn_nev * sizeof(struct umasim_event));
	s->ev.n = sn->sn_nev;
	put_mem(s->con.buf, sn->sn_conbuf, sn->sn_conlen);
	put_mem(s->con.off, sn->sn_conoff, sn->sn_ncon * sizeof(size_t));
	s->con.len = sn->sn_conlen;
	s->con.n = sn->sn_ncon;
	put_mem(s->dec, sn->sn_dec, sn->sn_ndec * sizeof(uint32_t));
	s->ndec = sn->sn_ndec;
	s->curthread = NULL;
	s->in_run = 0;
	return (0);
}
