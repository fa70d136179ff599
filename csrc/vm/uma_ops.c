/*
 * The UMA and malloc(9) operations of programs (docs/design.md,
 * "Programs").
 * The interpreter guards every variable state so that no program can make
 * the port touch memory it does not own: an unset variable makes a free
 * wait for its producer; a null one frees nothing; a freed one goes to
 * UMA's INVARIANTS checks when those are on, and panics here otherwise.
 */

#include "../sys/param.h"
#include "../sys/systm.h"
#include "../sys/malloc.h"
#include "uma.h"
#include "uma_int.h"
#include "uma_sim.h"
#include "uma_sim_tables.h"

static int
op_wait_flags(const struct umasim_op *op)
{
	int flags;

	flags = (op->flags & OPF_NOWAIT) ? M_NOWAIT : M_WAITOK;
	if (op->flags & OPF_ZERO)
		flags |= M_ZERO;
	if (op->flags & OPF_NOVM)
		flags |= M_NOVM;
	return (flags);
}

/* Stores a new item in a variable; a held one leaks its old item. */
static inline void
var_store(struct sim *s, int64_t vid, void *item, int src, int64_t size)
{
	struct kvar *v = &s->vars[vid];

	if (v->v_state == VAR_HELD) {
		/* The old item stays allocated, held by nobody: counted. */
		if (v->v_zone >= 0)
			zreg_get(v->v_zone)->zr_leaked++;
		if (s->st.trace_level >= UMASIM_TRACE_FULL)
			ev_record(s, EVK_LEAK, (int64_t)v->v_item, vid);
	}
	var_set(s, vid, item != NULL ? VAR_HELD : VAR_NULL, src, item, size);
}

/*
 * The variable 'v' (variable 'vid', set) to free; NULL when there is
 * nothing to do (a null variable).  A double free is reported here unless
 * 'to_uma' says UMA's INVARIANTS will catch it.
 */
static struct kvar *
var_free_check(struct sim *s, struct kvar *v, int64_t vid, int to_uma)
{

	if (v->v_state == VAR_NULL) {
		if (s->st.trace_level >= UMASIM_TRACE_FULL)
			ev_record(s, EVK_NULL_FREE, vid, 0);
		return (NULL);
	}
	if (v->v_state == VAR_FREED && !(to_uma && INVARIANTS_ON))
		panic("double free of %s", s->var_names[vid]);
	return (v);
}

/* The same, once some thread has set the variable (var_wait_set()). */
static struct kvar *
var_to_free(struct kthread *td, int64_t vid, int to_uma)
{
	struct sim *s = cursim;
	struct kvar *v;

	v = var_wait_set(td, vid);
	return (var_free_check(s, v, vid, to_uma));
}

/*
 * An item allocated with M_ZERO must be all zero, as its caller relies
 * on: a console line when it is not (what a caller's own check would
 * print; nothing in a correct run).
 */
static void
zero_check(struct zreg *zr, const void *item)
{
	const unsigned char *p = item;
	int i, size;

	size = zr->zr_zone->uz_keg->uk_size;
	for (i = 0; i < size; i++) {
		if (p[i] != 0) {
			printf("alloc %s: M_ZERO item %#llx is not zeroed (byte %d "
			    "is %#x)\n", zr->zr_name,
			    (unsigned long long)kern_canon(cursim, item), i, p[i]);
			return;
		}
	}
}

void
op_alloc(struct kthread *td, const struct umasim_op *op)
{
	struct sim *s = cursim;
	int slot = (int)op_a(td, op);
	struct zreg *zr = zreg_live(slot);
	void *item;

	item = uma_zalloc_arg(zr->zr_zone, NULL, op_wait_flags(op));
	if (item != NULL && (op->flags & OPF_ZERO))
		zero_check(zr, item);
	var_store(s, op_b(td, op), item, slot, 0);
}

void
op_free(struct kthread *td, const struct umasim_op *op)
{
	struct sim *s = cursim;
	struct kvar *v;
	struct zreg *zr;
	int64_t vid = op_a(td, op);
	int slot;

	v = var_wait_set(td, vid);	/* once: it stays set from here */
	if (v->v_zone == VAR_SRC_KMEM || v->v_zone == VAR_SRC_LARGE)
		panic("free of %s, which %s returned", s->var_names[vid],
		    v->v_zone == VAR_SRC_KMEM ? "kmem_alloc" : "malloc_large");
	if ((v = var_free_check(s, v, vid, 1)) == NULL)
		return;
	if (v->v_zone == VAR_SRC_MALLOC && op->b < 0) {
		free(var_item(s, v), M_TEMP);
	} else {
		slot = op->b >= 0 ? (int)op_b(td, op) : v->v_zone;
		zr = zreg_get(slot);
		if (zr->zr_state == ZR_DESTROYED)
			panic("free of %s into destroyed zone %s",
			    s->var_names[vid], zr->zr_name);
		if (__builtin_expect(zr->zr_state != ZR_LIVE, 0))
			zreg_dead(zr);	/* zreg_live()'s guard */
		uma_zfree_arg(zr->zr_zone, var_item(s, v), NULL);
	}
	v->v_state = VAR_FREED;
}

void
op_malloc(struct kthread *td, const struct umasim_op *op)
{
	int64_t bytes = op_a(td, op);
	void *item;

	if (bytes <= 0)
		panic("malloc of %lld bytes", (long long)bytes);
	/* "nowait waitok" passes both, for malloc's INVARIANTS check */
	item = malloc((unsigned long)bytes, M_TEMP, op_wait_flags(op) |
	    ((op->flags & OPF_WAITOK) ? M_WAITOK : 0));
	var_store(cursim, op_b(td, op), item, VAR_SRC_MALLOC, bytes);
}

void
op_malloc_large(struct kthread *td, const struct umasim_op *op)
{
	int64_t bytes = op_a(td, op);
	void *item;

	if (bytes <= 0 || bytes > INT32_MAX)
		panic("malloc_large of %lld bytes", (long long)bytes);
	item = uma_large_malloc((int)roundup(bytes, PAGE_SIZE),
	    op_wait_flags(op));
	var_store(cursim, op_b(td, op), item, VAR_SRC_LARGE, bytes);
}

void
op_free_large(struct kthread *td, const struct umasim_op *op)
{
	struct sim *s = cursim;
	struct kvar *v;
	uma_slab_t slab;
	int64_t vid = op_a(td, op);

	if ((v = var_to_free(td, vid, 0)) == NULL)
		return;
	if (v->v_zone != VAR_SRC_LARGE)
		panic("free_large of %s, which malloc_large did not return",
		    s->var_names[vid]);
	slab = vtoslab((vm_offset_t)var_item(s, v));
	uma_large_free(slab);
	v->v_state = VAR_FREED;
}

void
op_zcreate(struct kthread *td, const struct umasim_op *op)
{

	uma_sim_zcreate((int)op_a(td, op), (int)op_b(td, op), (int)op->c,
	    (u_int32_t)op->flags);
}

void
op_zsecond(struct kthread *td, const struct umasim_op *op)
{

	uma_sim_zsecond((int)op_a(td, op), (int)op_b(td, op));
}

void
op_zdestroy(struct kthread *td, const struct umasim_op *op)
{

	zreg_destroy((int)op_a(td, op));
}

void
op_setmax(struct kthread *td, const struct umasim_op *op)
{

	uma_zone_set_max(zreg_live((int)op_a(td, op))->zr_zone,
	    (int)op_b(td, op));
}

void
op_setobj(struct kthread *td, const struct umasim_op *op)
{
	struct zreg *zr = zreg_live((int)op_a(td, op));

	if (!uma_zone_set_obj(zr->zr_zone, NULL, (int)op_b(td, op)))
		printf("uma_zone_set_obj(%s): no address space\n", zr->zr_name);
}

void
op_prealloc(struct kthread *td, const struct umasim_op *op)
{

	uma_prealloc(zreg_live((int)op_a(td, op))->zr_zone,
	    (int)op_b(td, op));
}

void
op_drain(struct kthread *td, const struct umasim_op *op)
{

	zone_drain(zreg_live((int)op_a(td, op))->zr_zone);
}

void
op_reclaim(struct kthread *td, const struct umasim_op *op)
{

	(void)td;
	(void)op;
	uma_reclaim();
}

/* One uma_timeout pass now, on this thread (the callout stays armed). */
void
op_timeout(struct kthread *td, const struct umasim_op *op)
{

	(void)td;
	(void)op;
	uma_sim_timeout();
}

void
op_refcnt(struct kthread *td, const struct umasim_op *op)
{
	struct sim *s = cursim;
	struct kvar *v;
	int64_t vid = op_a(td, op);

	v = var_wait_set(td, vid);
	if (v->v_state != VAR_HELD)
		panic("refcnt of %s, which holds no item", s->var_names[vid]);
	if (v->v_zone < 0)
		panic("refcnt of %s, which is not a zone's item",
		    s->var_names[vid]);
	(*uma_find_refcnt(zreg_live(v->v_zone)->zr_zone,
	    var_item(s, v)))++;
}

/*
 * A write to the item's first word, whatever the variable's state: after
 * a free, that is the use after free that trash checking reports.
 */
void
op_touch(struct kthread *td, const struct umasim_op *op)
{
	struct sim *s = cursim;
	struct kvar *v;

	v = var_wait_set(td, op_a(td, op));
	if (v->v_state == VAR_NULL)
		return;
	*(u_int32_t *)var_item(s, v) = 0x746f7563;	/* "touc" */
}

/* What `sysctl vm.zone_count vm.zone_stats` does, into a scratch buffer. */
void
op_sysctl(struct kthread *td, const struct umasim_op *op)
{
	size_t len;
	int count;

	(void)td;
	(void)op;
	sysctl_vm_zone_count(&count);
	len = 0;
	sysctl_vm_zone_stats(NULL, &len);
	printf("vm.zone_count: %d, vm.zone_stats: %zu bytes\n", count, len);
}

void
op_show_uma(struct kthread *td, const struct umasim_op *op)
{

	(void)td;
	(void)op;
	db_show_uma();
}

void
op_print_stats(struct kthread *td, const struct umasim_op *op)
{

	(void)td;
	(void)op;
	uma_print_stats();
}
