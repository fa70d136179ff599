"""Branches of the port (csrc/vm/uma_core.c) that neither the scenario
library nor the other tests reach (docs/coverage.md).

`scripts/coverage` measures line and branch coverage of uma_core.c over
the scenarios and the whole test suite; each test here takes the port down
a path that was missing, and pins what FreeBSD 7 does there.  Line
numbers are FreeBSD 7's uma_core.c's.  Races are
driven one step at a time: a thread is stopped where FreeBSD 7 drops a lock,
and another runs meanwhile.
"""

from __future__ import annotations

import pytest

from umasim import Sim

PAGE = 4096


# ---- helpers ---------------------------------------------------------------

def finish(sim: Sim, name: str, max_steps: int = 20_000) -> None:
    """Steps `name` alone until it is no longer runnable (done, asleep,
    blocked) or the simulation panicked."""
    for _ in range(max_steps):
        if sim.panic is not None or sim.thread(name).state != "runnable":
            return
        sim.step(name)
    raise AssertionError(f"{name} did not stop")


def step_until(sim: Sim, name: str, cond, max_steps: int = 20_000) -> list[str]:
    """Steps `name` until cond() holds; returns the points reached."""
    points = []
    for _ in range(max_steps):
        if cond():
            return points
        points.append(sim.step(name))
    raise AssertionError(f"{name} never got there: {points[-10:]}")


def finish_op(sim: Sim, name: str, ops: int = 1) -> None:
    """Steps `name` alone through its next `ops` operations."""
    target = sim.thread(name).op + ops
    for _ in range(50_000):
        t = sim.thread(name)
        if sim.panic is not None or t.state != "runnable" or t.op >= target:
            return
        sim.step(name)
    raise AssertionError(f"{name} did not get through {ops} ops")


def run_all(sim: Sim) -> str:
    r = sim.run()
    if sim.panic is None:
        sim.check()
    return r.outcome


def row(sim: Sim, name: str):
    rows = [r for r in sim.vmstat() if r.name == name]
    assert len(rows) == 1, name
    return rows[0]


def kinds(sim: Sim, kind: str) -> list:
    return [e for e in sim.events if e.kind == kind and e.step > 0]


# ---- uma_zone_slab: the uk_recurse test of internal zones -------------------

def test_zones_zone_may_recurse_while_it_refills():
    """uma_zone_slab (FreeBSD 7 uma_core.c lines 1965-1967): an internal keg in slab_zalloc
    (uk_recurse != 0) refuses other allocations, except for "UMA Zones",
    "UMA Slabs" and "UMA RCntSlabs".  Thread a's zcreate needs a new slab
    of "UMA Zones"; while slab_zalloc has the lock dropped, thread b's
    zcreate takes the exemption for zones and makes a slab of its own."""
    sim = Sim(cpus=1)
    zz, kk = sim.zones["UMA Zones"], sim.zones["UMA Kegs"]
    i = 0
    while zz.keg_free != 0:                  # empty the zones keg (not kegs')
        sim.zcreate(f"f{i}", 64)
        i += 1
    assert kk.keg_free >= 2
    sim.spawn("a", ops=["zcreate za size=64"])
    sim.spawn("b", ops=["zcreate zb size=64"])
    step_until(sim, "a", lambda: zz.stats["recurse"] == 1)
    while sim.step("a") != "slab_zalloc_unlocked":
        pass
    finish(sim, "b")
    assert sim.thread("b").state == "finished" and sim.panic is None
    assert zz.stats["recurse"] == 1          # a is still in its slab_zalloc
    assert run_all(sim) == "completed"
    assert zz.pages == 3                     # a slab each
    assert {"za", "zb"} <= set(sim.zones)


@pytest.mark.parametrize("refcnt", [False, True], ids=["slabzone", "slabrefzone"])
def test_slab_header_zone_may_recurse_while_it_refills(refcnt):
    """The same exemption for the OFFPAGE header zones (FreeBSD 7 uma_core.c line 1966):
    thread a's allocation from a 4 KB OFFPAGE zone needs a header, and
    "UMA Slabs" (or "UMA RCntSlabs" for a REFCNT keg) a new page; while its
    slab_zalloc is unlocked, thread b's allocation needs a header too and
    goes on to refill the header zone itself."""
    sim = Sim(cpus=1)
    flags = ["refcnt"] if refcnt else []
    sim.zcreate("big", PAGE, flags=flags)
    hz = sim.zones["UMA RCntSlabs" if refcnt else "UMA Slabs"]
    assert hz.pages == 0 and "offpage" in sim.zone("big").flags
    sim.spawn("a", ops=["alloc big -> x"])
    sim.spawn("b", ops=["alloc big -> y"])
    step_until(sim, "a", lambda: hz.stats["recurse"] == 1)
    while sim.step("a") != "slab_zalloc_unlocked":
        pass
    finish(sim, "b")
    assert sim.thread("b").state == "finished" and sim.panic is None
    assert run_all(sim) == "completed"
    assert hz.pages == 2                     # one header page each
    assert row(sim, "big").used == 2


# ---- slab header allocation failures (boot pages used up, no free page) ----

def test_offpage_header_allocation_failure_under_m_nowait():
    """slab_zalloc (FreeBSD 7 uma_core.c lines 795-801): an OFFPAGE keg's header comes from
    "UMA Slabs"; when that allocation fails the slab is given up before any
    page is asked for.  Two boot pages are all UMA's boot needs, so the
    header zone's next page comes from the VM, which has none left."""
    sim = Sim(cpus=1, boot_pages=2)
    sim.zcreate("big", PAGE)
    assert "offpage" in sim.zone("big").flags
    sim.spawn("a", ops=["vm_free_pages 0", "alloc big nowait -> x",
                        "malloc_large 8192 nowait -> y"])
    assert run_all(sim) == "completed"
    assert sim.variables()["x"] == "null" and sim.variables()["y"] == "null"
    # uma_large_malloc (lines 2697-2718): no header, no pages (2703-2705).
    assert row(sim, "big").failures == 1
    assert row(sim, "UMA Slabs").failures >= 2
    assert kinds(sim, "page_alloc") == []


# ---- zone_timeout / hash_alloc: the bigger table cannot be had ------------

def test_hash_expansion_waits_when_malloc_fails():
    """zone_timeout (FreeBSD 7 uma_core.c lines 392-437) asks hash_alloc for a table twice
    the size, from malloc(9) with M_NOWAIT (lines 459-462).  With no free
    page the "512" kmemzone has nothing to give: hash_alloc returns 0
    (line 475) and the keg keeps its 32 chains (the `if (ret)` at line
    424 not taken); the next pass, with pages back, doubles the table."""
    sim = Sim(cpus=1)
    h = sim.zcreate("h", 2048)
    sim.spawn("t", ops=["prealloc h 64", "vm_free_pages 0", "timeout", "vm_free_pages 64",
                        "timeout"])
    for _ in range(3):
        finish_op(sim, "t")
    assert (h.pages, h.stats["hashsize"]) == (32, 32)
    assert row(sim, "512").failures == 1 and row(sim, "512").used == 0
    assert run_all(sim) == "completed"
    assert h.stats["hashsize"] == 64 and row(sim, "512").used == 1


# ---- bucket_drain, bucket_cache_drain, zone_drain ---------------------------

def test_reclaim_drains_full_buckets_of_a_malloc_zone():
    """bucket_drain (FreeBSD 7 uma_core.c lines 556-590) of a UMA_ZONE_MALLOC zone looks each
    item's slab up again with vtoslab (lines 569-570, 586-587), and
    uma_zfree_internal takes the slab from udata (lines 2448-2449) instead
    of computing it; zone_drain (lines 679-764) then gives the malloc
    keg's free slabs back, pointing their pages at kmem_object again
    (lines 741-754).  40 frees of 4 KB malloc(9) items fill two 16-entry
    buckets for the zone's full list; uma_reclaim drains them."""
    sim = Sim(cpus=1)
    sim.spawn("a", ops=[f"malloc 4096 -> m{i}" for i in range(40)]
              + [f"free m{i}" for i in range(40)] + ["reclaim"])
    finish_op(sim, "a", 80)
    k = sim.zones["4096"]
    assert len(k.full_buckets) >= 1
    pages = k.pages
    assert run_all(sim) == "completed"
    assert k.full_buckets == [] and k.pages < pages
    assert len(kinds(sim, "page_free")) == pages - k.pages


@pytest.mark.parametrize("md", [False, True], ids=["page_alloc", "md_small_alloc"])
def test_destroying_a_refcnt_zone_frees_its_slabs(md):
    """A REFCNT keg's items go back through the refcnt free list
    (uma_zfree_internal, FreeBSD 7 uma_core.c lines 2470-2472), and zone_drain resets its
    pages' object (lines 741-754): kmem_object for page_alloc's
    UMA_SLAB_KMEM pages, NULL for the direct map's UMA_SLAB_PRIV ones."""
    sim = Sim(cpus=1, md_small_alloc=md)
    sim.zcreate("r", 256, flags=["refcnt"])
    sim.spawn("a", ops=[f"alloc r -> x{i}" for i in range(20)]
              + [f"free x{i}" for i in range(20)] + ["zdestroy r"])
    finish_op(sim, "a", 40)
    pages = sim.zone("r").pages
    assert run_all(sim) == "completed"
    assert len(kinds(sim, "slab_free")) == pages == 3


@pytest.mark.parametrize("allocs, full, free", [
    (70, [(16, 16)], [(0, 32)]),
    (100, [], [(0, 32), (0, 32)]),
])
def test_drain_frees_the_zones_empty_buckets_too(allocs, full, free):
    """bucket_cache_drain (FreeBSD 7 uma_core.c lines 644-665) frees the buckets of the
    zone's free list after draining its full ones (lines 660-664).  An
    empty alloc bucket goes on that list when uma_zalloc_arg trades it for
    a full bucket of the zone (lines 1894-1912): 100 frees leave full
    buckets on the zone's list, and the allocations that follow empty the
    cache's buckets and trade them."""
    sim = Sim(cpus=1)
    z = sim.zcreate("z", 256)
    sim.spawn("a", ops=[f"alloc z -> x{i}" for i in range(100)]
              + [f"free x{i}" for i in range(100)]
              + [f"alloc z -> y{i}" for i in range(allocs)] + ["drain z"])
    finish_op(sim, "a", 200 + allocs)
    assert z.full_buckets == full and z.free_buckets == free
    nfree = len(kinds(sim, "bucket_free"))
    assert run_all(sim) == "completed"
    assert z.free_buckets == [] and z.full_buckets == []
    assert [e.b for e in kinds(sim, "bucket_free")][nfree:] == \
        [b[1] for b in full] + [b[1] for b in free]


@pytest.mark.parametrize("invariants", [True, False])
def test_zdestroy_drains_caches_and_runs_the_keg_fini(invariants):
    """zone_drain (FreeBSD 7 uma_core.c lines 733-737) runs the keg's fini on every item of
    each slab it frees; bucket_drain clears the bucket's slots only under
    INVARIANTS (lines 575-579)."""
    sim = Sim(cpus=1, invariants=invariants)
    sim.zcreate("z", 256, init="zero", fini="zero")
    sim.spawn("a", ops=[f"alloc z -> x{i}" for i in range(20)]
              + [f"free x{i}" for i in range(20)] + ["zdestroy z"])
    finish_op(sim, "a", 40)
    pages = sim.zone("z").pages
    assert run_all(sim) == "completed"
    # fini runs on the items of each slab given back (its points, back to
    # back, are one step per slab).
    fini = [e for e in sim.events if e.kind == "step" and e.point == "fini"]
    assert len(kinds(sim, "slab_free")) == len(fini) == pages == 3


def test_zone_drain_unhashes_slabs_deep_in_their_chain():
    """zone_drain removes each free slab of a HASH keg from its chain
    (UMA_HASH_REMOVE, FreeBSD 7 uma_core.c line 722), an SLIST_REMOVE that walks the chain
    when the slab is not its head.  70 single-page slabs in 32 chains: the
    limit makes the keg FULL, so the frees go straight to the slabs, newest
    first, and the oldest slab -- deepest in its chain -- is freed last and
    drained first."""
    sim = Sim(cpus=1)
    big = sim.zcreate("big", PAGE, max=70)
    sim.spawn("a", ops=[f"alloc big -> x{i}" for i in range(70)]
              + [f"free x{i}" for i in range(69, -1, -1)] + ["drain big"])
    assert run_all(sim) == "completed"
    assert big.pages == 0 and big.stats["hashsize"] == 32
    assert len(kinds(sim, "slab_free")) == 70


def test_slab_free_events_only_at_the_full_trace_level():
    """UMA_EVENT records nothing below the "full" trace level: zone_drain's
    slab_free event is the simulator's, not FreeBSD 7's."""
    sim = Sim(cpus=1, trace="decisions")
    z = sim.zcreate("z", 256)
    sim.spawn("a", ops=["prealloc z 30", "drain z"])
    assert run_all(sim) == "completed"
    assert z.pages == 0 and sim.events == []


# ---- slab_zalloc: an init failure on a MALLOC or REFCNT keg -----------------

@pytest.mark.parametrize("flag, md", [("refcnt", False), ("refcnt", True), ("malloc", False)],
                         ids=["refcnt", "refcnt-md_small_alloc", "malloc"])
def test_init_failure_on_a_malloc_or_refcnt_keg_resets_the_page_object(flag, md):
    """slab_zalloc's unwinding (FreeBSD 7 uma_core.c lines 856-884) points the slab's pages
    back at their object, for the kegs whose pages lead to their slab
    (MALLOC, REFCNT; lines 863-876): kmem_object for UMA_SLAB_KMEM pages,
    none for the direct map's UMA_SLAB_PRIV ones (md_small_alloc).  (Items
    of a zone made with the malloc flag are allocated here, never freed:
    their free needs the slab as udata, which only free(9) passes.)"""
    sim = Sim(cpus=1, md_small_alloc=md)
    sim.zcreate("r", 256, flags=[flag], init="fail 1")
    sim.spawn("a", ops=["alloc r -> x", "alloc r -> y"])
    assert run_all(sim) == "completed"
    assert sim.variables()["x"].startswith("holds") and sim.variables()["y"].startswith("holds")
    assert row(sim, "r").used == 2


# ---- obj_alloc: multi-page slabs from a private object ---------------------

def test_set_obj_on_a_multi_page_keg():
    """uma_zone_set_obj (FreeBSD 7 uma_core.c lines 2584-2616) sizes the object in slabs
    (count / uk_ipers pages, lines 2591-2594), but a slab of 8 KB items is
    two pages: 3 items get a 3-page object and 3 pages of kva.  obj_alloc
    (lines 970-1016) maps the first slab's two pages (retkva set by the
    first, line 1007); x's bucket fill asks for a second slab (uk_pages 2 is
    under uk_maxpages 3), which
    gets page 2, then page 3: FreeBSD 7's vm_page_alloc accepts that index,
    and obj_alloc would map it past the object's kva, over whatever follows
    in the map.  The simulation panics there instead."""
    sim = Sim(cpus=1)
    big = sim.zcreate("big", 8192)
    assert big.geometry.ppera == 2
    sim.spawn("a", ops=["setobj big 3", "alloc big nowait -> x", "alloc big nowait -> y"])
    assert run_all(sim) == "panic"
    assert sim.panic == ("umasim: vm_page_alloc: page 3 of a 3-page object: "
                         "obj_alloc would map it past the object's kva")
    assert big.pages == 2 and big.stats["maxpages"] == 3


def test_obj_alloc_fails_on_its_first_page():
    """obj_alloc with no free page at all: nothing to unwind (FreeBSD 7 uma_core.c line
    991, pages == startpages)."""
    sim = Sim(cpus=1)
    pv = sim.zcreate("pv", 256)
    sim.spawn("a", ops=["setobj pv 30", "vm_free_pages 0", "alloc pv nowait -> x"])
    assert run_all(sim) == "completed"
    assert sim.variables()["x"] == "null" and pv.pages == 0


def test_set_obj_without_address_space():
    """uma_zone_set_obj returns 0 when kmem_alloc_nofault finds no room for
    the pages (FreeBSD 7 uma_core.c lines 2596-2599); the keg keeps its back end."""
    sim = Sim(cpus=1, kmem_pages=16)
    pv = sim.zcreate("pv", 256)
    sim.spawn("a", ops=["setobj pv 10000", "alloc pv -> x"])
    assert run_all(sim) == "completed"
    assert any("no address space" in c for c in sim.console)
    assert pv.stats["maxpages"] == 0 and "nofree" not in pv.flags


# ---- keg_ctor, zone_ctor, zone_large_init ----------------------------------

def test_mtxclass_zone():
    """keg_ctor (FreeBSD 7 uma_core.c lines 1251-1254): UMA_ZONE_MTXCLASS gives the keg
    lock a lock class of its own; the zone works as any other."""
    sim = Sim(cpus=1)
    z = sim.zcreate("m", 128, flags=["mtxclass"])
    assert "mtxclass" in z.flags
    sim.spawn("a", ops=["alloc m -> x", "free x"])
    assert run_all(sim) == "completed"


@pytest.mark.parametrize("invariants", [True, False])
def test_large_cacheonly_zone(invariants):
    """zone_large_init (FreeBSD 7 uma_core.c lines 1140-1165) asserts that a UMA_ZONE_VM
    (cache-only) keg fits a page (lines 1148-1149); without INVARIANTS the
    keg is made OFFPAGE|HASH like any other large keg, and its allocations
    ask for buckets with M_NOVM (uma_zalloc_bucket, lines 2082-2083, and
    uma_zfree_arg, lines 2387-2388)."""
    sim = Sim(cpus=1, invariants=invariants)
    sim.spawn("a", ops=["zcreate v size=8192 flags=vm", "alloc v -> x", "free x"])
    out = run_all(sim)
    if invariants:
        assert out == "panic"
        assert "Cannot large-init a UMA_ZFLAG_CACHEONLY zone" in sim.panic
    else:
        assert out == "completed"
        assert {"offpage", "hash", "vm"} <= set(sim.zone("v").flags)


def test_cacheonly_zone_buckets_never_ask_the_vm():
    """A UMA_ZONE_VM zone's buckets are allocated with M_NOVM (FreeBSD 7 uma_core.c lines
    2082-2083 and 2387-2388): bucket zones give what they hold, and never
    a new page.  Here the bucket zones hold nothing, so no bucket: every
    allocation and free goes to the keg directly."""
    sim = Sim(cpus=1, boot_pages=2)
    v = sim.zcreate("v", 256, flags=["vm"])
    sim.spawn("a", ops=[f"alloc v -> x{i}" for i in range(3)]
              + [f"free x{i}" for i in range(3)])
    assert run_all(sim) == "completed"
    assert v.caches[0].alloc is None and v.caches[0].free is None
    assert row(sim, "v").used == 0 and kinds(sim, "bucket_alloc") == []


@pytest.mark.parametrize("invariants", [True, False])
def test_two_secondary_zones_on_one_keg(invariants):
    """zone_ctor (FreeBSD 7 uma_core.c lines 1343-1360) appends a secondary zone after the
    last zone of the keg, walking past the first secondary (line 1354)."""
    sim = Sim(cpus=1, invariants=invariants)
    sim.zcreate("m", 256)
    sim.zsecond("s1", "m")
    sim.zsecond("s2", "m", zinit="zero")
    sim.spawn("a", ops=["alloc s2 -> x", "alloc s1 -> y", "free x", "free y"])
    assert run_all(sim) == "completed"
    assert sim.zone("s2").stats["secondary"]


# ---- uma_zalloc_bucket / uma_zalloc_internal: zone init -------------------

def test_zone_init_on_every_item_of_a_bucket():
    """uma_zalloc_bucket runs the zone's init on each new item of the
    bucket with the zone unlocked (FreeBSD 7 uma_core.c lines 2126-2151); when every init
    succeeds the whole bucket goes on the full list."""
    sim = Sim(cpus=1)
    sim.zcreate("z", 256, zinit="zero", zfini="zero")
    sim.spawn("a", ops=["alloc z -> x", "free x"])
    assert run_all(sim) == "completed"
    assert row(sim, "z").requests == 1


def test_zone_init_failure_in_a_bucket_without_invariants():
    """A bucket's failed zone inits: the rest of the items go back to their
    slabs; only INVARIANTS clears their slots (FreeBSD 7 uma_core.c lines 2138-2149)."""
    sim = Sim(cpus=1, invariants=False)
    z = sim.zcreate("z", 256, zinit="fail 3")
    sim.spawn("a", ops=["alloc z -> x", "alloc z -> y", "alloc z -> w"])
    assert run_all(sim) == "completed"
    assert row(sim, "z").used == 3 and z.stats["fails"] == 0


@pytest.mark.parametrize("zinit", ["zero", "fail 1"])
def test_zone_init_in_uma_zalloc_internal(zinit):
    """With buckets disabled (free pages under v_free_min), uma_zalloc_arg
    takes one item straight from the keg: uma_zalloc_internal runs the
    zone's init on it (FreeBSD 7 uma_core.c lines 2213-2218)."""
    sim = Sim(cpus=1, pages=8, free_min=4)
    sim.zcreate("z", 256, zinit=zinit)
    sim.spawn("a", ops=["kmem_alloc 20480 -> pin", "timeout", "alloc z -> x"])
    assert run_all(sim) == "completed"
    assert sim.uma()["bucketdisable"]
    assert kinds(sim, "bucket_alloc") == []
    if zinit == "zero":
        assert sim.variables()["x"].startswith("holds")
    else:
        assert sim.variables()["x"] == "null" and row(sim, "z").failures == 1


# ---- uma_zone_set_max, uma_zone_set_zinit/zfini, uma_prealloc --------------

def test_set_max_on_a_multi_page_keg():
    """uma_zone_set_max (FreeBSD 7 uma_core.c lines 2500-2515) counts pages: for a
    multi-page keg, nitems slabs of uk_ppera pages (line 2507)."""
    sim = Sim(cpus=1)
    big = sim.zcreate("big", 8192, max=3)
    assert big.stats["maxpages"] == 6 and big.limit == 3
    sim.spawn("a", ops=[f"alloc big nowait -> x{i}" for i in range(4)])
    assert run_all(sim) == "completed"
    assert row(sim, "big").used == 3 and sim.variables()["x3"] == "null"


def test_zone_zinit_and_zfini_without_invariants():
    """uma_zone_set_zinit / _zfini (FreeBSD 7 uma_core.c lines 2541-2561) assert an empty
    keg only under INVARIANTS."""
    sim = Sim(cpus=1, invariants=False)
    sim.zcreate("z", 256, zinit="zero", zfini="zero")
    sim.spawn("a", ops=["alloc z -> x", "free x"])
    assert run_all(sim) == "completed"


def test_prealloc_rounds_up_to_whole_slabs():
    """uma_prealloc (FreeBSD 7 uma_core.c lines 2620-2637): 16 items of a 15-to-a-slab keg
    take two slabs (lines 2628-2630)."""
    sim = Sim(cpus=1)
    z = sim.zcreate("z", 256)
    sim.spawn("a", ops=["prealloc z 16"])
    assert run_all(sim) == "completed"
    assert z.pages == 2 and z.keg_free == 30


def test_refcnt_of_an_item_of_a_malloc_flagged_zone_panics():
    """uma_find_refcnt (FreeBSD 7 uma_core.c lines 2641-2657) finds a MALLOC keg's slab
    through vtoslab, but the slab's keg is not REFCNT: the KASSERT at
    lines 2651-2652 fires on its second half."""
    sim = Sim(cpus=1)
    sim.zcreate("mz", 256, flags=["malloc"])
    sim.spawn("a", ops=["alloc mz -> x", "refcnt x"])
    assert run_all(sim) == "panic"
    assert "zone possibly not UMA_ZONE_REFCNT" in sim.panic


# ---- vm.zone_stats, show uma, uma_print_stats ------------------------------

def loaded(cpus: int = 2) -> Sim:
    """Zones in every state the reports distinguish: a multi-page keg, a
    secondary zone, items in a per-CPU cache (one vCPU's, not the other's),
    full buckets on a zone's list, a free slab, internal zones."""
    sim = Sim(cpus=cpus)
    sim.zcreate("m", 256)
    sim.zsecond("s", "m")
    sim.zcreate("big", 8192)
    sim.zcreate("p", 512)
    sim.spawn("a", ops=["alloc big -> b", "alloc s -> y", "prealloc p 7"]
              + [f"alloc m -> x{i}" for i in range(100)]
              + [f"free x{i}" for i in range(100)])
    assert run_all(sim) == "completed"
    assert sim.zone("m").full_buckets != []
    return sim


def test_sysctl_vm_zone_stats_of_every_kind_of_zone():
    """sysctl_vm_zone_count and sysctl_vm_zone_stats (FreeBSD 7 uma_core.c lines
    2828-2932), run by a program: the stream is the one Sim.zone_stats()
    builds without locks."""
    sim = loaded()
    want = len(sim.zone_stats())
    sim.spawn("q", ops=["sysctl"])
    assert run_all(sim) == "completed"
    assert sim.console[-1] == f"vm.zone_count: {len(sim.zones)}, vm.zone_stats: {want} bytes"


def test_sysctl_vm_zone_stats_restarts_when_zones_appear():
    """sysctl_vm_zone_stats counts the zones, drops uma_mtx to malloc the
    buffer (M_WAITOK), and counts again: a zone made meanwhile sends it
    back to the start with a bigger buffer (FreeBSD 7 uma_core.c lines 2866-2880)."""
    sim = Sim(cpus=2)
    sim.spawn("a", ops=["sysctl"])
    sim.spawn("b", ops=["zcreate zb size=64"])
    unlocks = 0
    while unlocks < 2:                       # past both unlocked counts
        if sim.step("a") == "mtx_unlock":
            unlocks += 1
    sim.step("a")                            # a is in malloc(9) now
    finish(sim, "b")
    assert sim.thread("b").state == "finished"
    n = len(sim.zones)
    assert run_all(sim) == "completed"
    assert sim.console[-1] == \
        f"vm.zone_count: {n - 1}, vm.zone_stats: {len(sim.zone_stats())} bytes"


def test_show_uma_prints_what_sim_show_uma_computes():
    """DDB's "show uma" (db_show_uma, FreeBSD 7 uma_core.c lines 2979-3009; the show_uma
    operation runs it) and uma_zone_sumstat (lines 2796-2824): the same
    table as Sim.show_uma(), which reads the zones without running the
    port."""
    sim = loaded()
    want = sim.show_uma().splitlines()
    sim.spawn("q", ops=["show_uma"])
    assert run_all(sim) == "completed"
    got = [line for line in sim.console if line.strip()]
    assert [g.rstrip() for g in got[-len(want):]] == [w.rstrip() for w in want]


def test_print_stats_prints_every_zone():
    """uma_print_stats, uma_print_zone, slab_print and cache_print (seed
    lines 2729-2781): every zone, its slab lists and, but for internal
    zones, its per-CPU caches."""
    sim = loaded()
    sim.spawn("q", ops=["print_stats"])
    assert run_all(sim) == "completed"
    text = "\n".join(sim.console)
    for name in sim.zones:
        assert f"{name}(0x" in text
    assert "CPU 1 Cache:" in text and "Part slabs:" in text
    assert "alloc: 0x" in text and "slab: keg 0x" in text


# ---- keg_ctor's hash_alloc refused while "UMA Hash" refills ----------------

def race_for_the_hash_zone(second_ops: list[str]) -> Sim:
    """Thread a's zcreate of a HASH zone stops inside the first slab_zalloc
    of "UMA Hash"; thread b then creates another HASH zone (FreeBSD 7 uma_core.c lines
    1965-1967 refuse b's table: hash_alloc returns 0, line 475, and
    keg_ctor, line 1300, goes on without one) and runs `second_ops`."""
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["zcreate ha size=4096"])
    sim.spawn("b", ops=["zcreate hb size=4096"] + second_ops)
    hz = sim.zones["UMA Hash"]
    step_until(sim, "a", lambda: hz.stats["recurse"] == 1)
    while sim.step("a") != "slab_zalloc_unlocked":
        pass
    finish_op(sim, "b")
    assert sim.panic is None and row(sim, "UMA Hash").failures == 1
    hb = sim.zone("hb")
    assert "hash" in hb.flags and hb.stats["hashsize"] == 32
    return sim


def test_a_hash_zone_without_table_is_destroyed_cleanly():
    """keg_dtor's hash_free (FreeBSD 7 uma_core.c lines 533-542) returns at once for the
    missing table (line 535)."""
    sim = race_for_the_hash_zone(["zdestroy hb"])
    assert run_all(sim) == "completed"
    assert "hb" not in sim.zones and "ha" in sim.zones


def test_a_hash_zone_without_table_panics_at_its_first_slab():
    """slab_zalloc would insert the slab through the NULL table (FreeBSD 7 uma_core.c line
    889); the port panics (docs/deviations.md; the scenario
    hash_alloc_race_no_table.toml shows the same)."""
    sim = race_for_the_hash_zone(["alloc hb -> x"])
    assert run_all(sim) == "panic"
    assert sim.panic.startswith("umasim: keg hb has no slab hash table")
