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
	uint8_t		*sn_kmem_map, *sn_dmap_map;
	struct vm_pgent	*sn_pgtab;
	int64_t		sn_npages;
	int64_t		*sn_pageidx;
	char		*sn_pages;
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

static int
thread_has_future(const struct kthread *td)
{

	return (td->td_state != UMASIM_TS_FINISHED &&
	    td->td_state != UMASIM_TS_PANICKED);
}

/* Arena pages whose contents matter: boot pages handed out, and pages in use. */
static int64_t
pages_in_use(const struct sim *s, int64_t *idx)
{
	const struct vmstate *vm = &s->vm;
	int64_t i, n;

	n = 0;
	for (i = 0; i < vm->boot_used; i++) {
		if (idx != NULL)
			idx[n] = i;
		n++;
	}
	for (i = 0; i < vm->kmem_pages; i++) {
		if (vm->kmem_map[i]) {
			if (idx != NULL)
				idx[n] = vm->kmem_base + i;
			n++;
		}
	}
	for (i = 0; i < vm->dmap_pages; i++) {
		if (vm->dmap_map[i]) {
			if (idx != NULL)
				idx[n] = vm->dmap_base + i;
			n++;
		}
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
	free(sn->sn_kmem_map);
	free(sn->sn_dmap_map);
	free(sn->sn_pgtab);
	free(sn->sn_pageidx);
	free(sn->sn_pages);
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
	    sn->sn_kmem_map == NULL || sn->sn_dmap_map == NULL ||
	    sn->sn_pgtab == NULL || sn->sn_pageidx == NULL ||
	    sn->sn_pages == NULL || sn->sn_stacks == NULL ||
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
	uint8_t		*kmem_map, *dmap_map;
	struct vm_pgent	*pgtab;
	void		(*reclaim_hook)(void);
	char		*arena;
	size_t		arena_len;
	struct umasim_op **oppool;
	size_t		noppool, capoppool;
	struct ctx	sched_ctx;
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

	memcpy(s->umtx, sn->sn_umtx, (size_t)s->nmtx * sizeof(struct mtx));
	memcpy(s->vars, sn->sn_vars, (size_t)s->nvars * sizeof(struct kvar));
	memcpy(s->vm.kmem_map, sn->sn_kmem_map, (size_t)s->vm.kmem_pages);
	memcpy(s->vm.dmap_map, sn->sn_dmap_map, (size_t)s->vm.dmap_pages);
	memcpy(s->vm.pgtab, sn->sn_pgtab,
	    (size_t)s->vm.npages * sizeof(struct vm_pgent));
	for (i = 0; i < sn->sn_npages; i++)
		memcpy(s->arena + sn->sn_pageidx[i] * PAGE_SIZE,
		    sn->sn_pages + i * PAGE_SIZE, PAGE_SIZE);
	for (t = 0; t < sn->sn_nstacks; t++) {
		st = &sn->sn_stacks[t];
		memcpy(s->threads[st->tid].td_stack->ks_base + st->off,
		    sn->sn_stackdata + st->data, st->len);
	}
	memcpy(s->ev.e, sn->sn_ev, sn->sn_nev * sizeof(struct umasim_event));
	s->ev.n = sn->sn_nev;
	memcpy(s->con.buf, sn->sn_conbuf, sn->sn_conlen);
	memcpy(s->con.off, sn->sn_conoff, sn->sn_ncon * sizeof(size_t));
	s->con.len = sn->sn_conlen;
	s->con.n = sn->sn_ncon;
	memcpy(s->dec, sn->sn_dec, sn->sn_ndec * sizeof(uint32_t));
	s->ndec = sn->sn_ndec;
	s->curthread = NULL;
	s->in_run = 0;
	return (0);
}
