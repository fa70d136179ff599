"""UMA zones beyond the fast path: secondary zones on a
shared keg, REFCNT zones, uma_zdestroy of a zone still in use, the failure
paths of ctor, init and zinit, and the INVARIANTS checks (duplicate free,
wrong zone, trash and mtrash).  Every test runs an explicit program under
an explicit schedule, one step at a time with the invariant checker after
each step, and asserts on zone views, vmstat -z, events and the console.
"""

from __future__ import annotations

import re

import pytest

from umasim import Sim
from umasim.model.sim import DISPLAY_BASE
from umahelp import drive, evs, page_no, row, run_op  # noqa: F401

PAGE = 4096
JUNK_TOUCHED = 0x746f7563          # what the "touch" op writes
RE_ADDR = r"0xfffff8[0-9a-f]{10}"


# ---- helpers ---------------------------------------------------------------



# ---- secondary zones -----------------------------------------------------------

def test_secondary_zone_shares_the_keg_and_vmstat_counts_its_free_items_once():
    """uma_zsecond_create puts a second zone on the master's keg: one lock,
    one set of slabs, separate caches and statistics.  vmstat -z adds the
    keg's free items to the master's row only (UTH_ZONE_SECONDARY).
    Destroying the secondary zone drains its caches into the shared keg and
    frees the slabs left empty; the keg keeps its SECONDARY flag, since the
    master is still on its list."""
    sim = Sim()
    m = sim.zcreate("m", 256)
    s = sim.zsecond("s", "m")
    assert m.geometry == s.geometry and "secondary" in m.geometry.flags
    assert (m.stats["secondary"], s.stats["secondary"]) == (False, True)
    sim.spawn("t", ops=["alloc m -> a", "alloc s -> b", "alloc s -> c", "free c",
                        "free b", "zdestroy s", "alloc m -> d", "free d", "free a"])
    run_op(sim, "t", 4)
    # m's fill: slab 1 (15) and 1 item of slab 2; s's: 14 of slab 2, 2 of slab 3.
    assert m.pages == s.pages == 3 and m.keg_free == s.keg_free == 13
    assert [c.alloc for c in m.caches] == [15, None]
    assert [(c.alloc, c.free) for c in s.caches] == [(14, 1), (None, None)]
    rm, rs = row(sim, "m"), row(sim, "s")
    assert (rm.used, rm.free, rm.requests) == (1, 15 + 13, 1)
    assert (rs.used, rs.free, rs.requests) == (1, 15, 2)
    assert rm.free + rs.free + 2 == 3 * 15            # every item counted once

    run_op(sim, "t")                                  # free b
    ev = run_op(sim, "t")                             # zdestroy s
    assert not s.exists and "s" not in sim.zones
    assert [page_no(e.a) for e in evs(sim, "page_free", ev)] == \
        [page_no(e.a) for e in evs(sim, "slab_free", ev)]
    assert len(evs(sim, "page_free", ev)) == 1       # slab 3 was all s's
    assert m.pages == 2 and m.keg_free == 14
    assert "secondary" in m.flags                     # FreeBSD 7 never clears it here
    rm = row(sim, "m")
    assert (rm.used, rm.free) == (1, 15 + 14)
    assert drive(sim) == "completed"
    assert row(sim, "m").used == 0


# ---- UMA_ZONE_REFCNT ----------------------------------------------------------------

@pytest.mark.parametrize("size, offpage", [(256, False), (2048, True)])
def test_refcnt_zone_keeps_a_count_per_item_in_the_slab(size, offpage):
    """A REFCNT keg keeps a 32-bit count per item in its slab header
    (uma_slab_refcnt; off-page headers from "UMA RCntSlabs") and finds the
    slab through vtoslab: the refcnt op (uma_find_refcnt) changes that
    item's count only -- the digest, which hashes every slab's free list
    and counts, tells a,a from a,b, and a,b from b,a not."""
    def digest(ops):
        sim = Sim()
        r = sim.zcreate("r", size, flags=["refcnt"])
        assert ("offpage" in r.flags) is offpage and "refcnt" in r.flags
        sim.spawn("t", ops=["alloc r -> a", "alloc r -> b"] + ops + ["free a", "free b"])
        assert drive(sim) == "completed"
        hdrs = row(sim, "UMA RCntSlabs")
        assert hdrs.used == (r.pages if offpage else 0)
        assert row(sim, "UMA Slabs").used == 0
        return sim.digest()

    aa = digest(["refcnt a", "refcnt a"])
    ab = digest(["refcnt a", "refcnt b"])
    ba = digest(["refcnt b", "refcnt a"])
    yy = digest(["yield", "yield"])
    assert ab == ba
    assert len({aa, ab, yy}) == 3


@pytest.mark.parametrize("invariants, message", [
    (True, "uma_find_refcnt(): zone possibly not UMA_ZONE_REFCNT"),
    (False, "umasim: uma_find_refcnt(p): not an item of a REFCNT zone"),
])
def test_refcnt_of_an_item_of_an_ordinary_zone_panics(invariants, message):
    """uma_find_refcnt's KASSERT (INVARIANTS); without it the port refuses
    rather than write through a garbage slab pointer."""
    sim = Sim(invariants=invariants)
    sim.zcreate("p", 256)
    sim.spawn("t", ops=["alloc p -> x", "refcnt x"])
    assert drive(sim) == "panic"
    assert sim.panic.startswith(message)
    assert sim.thread("t").op == 1


# ---- uma_zdestroy --------------------------------------------------------------------

@pytest.mark.parametrize("size, ops, console, kmem_used", [
    # a allocated, 14 items cached: one slab stays (14 free), one is freed.
    (256, ["alloc z -> a", "alloc z -> b", "free b"],
     ["Freed UMA keg was not empty (14 items).  Lost 1 pages of memory."], 1),
    # one item a slab, every item allocated: uk_free is 0, so keg_dtor says
    # nothing -- though both pages are lost (it counts free items, not used).
    (4096, ["alloc z -> a", "alloc z -> b"], [], 2),
    # everything freed: the caches drain, the slabs go, nothing is lost.
    (256, ["alloc z -> a", "free a"], [], 0),
])
def test_zdestroy_of_a_zone_in_use(size, ops, console, kmem_used):
    """uma_zdestroy: zone_dtor drains the per-CPU caches and the keg, then
    keg_dtor prints "Freed UMA keg was not empty" when free items are left
    in its slabs."""
    sim = Sim()
    z = sim.zcreate("z", size)
    sim.spawn("t", ops=ops + ["zdestroy z"])
    run_op(sim, "t", len(ops))
    kegs = row(sim, "UMA Kegs").used
    assert drive(sim) == "completed"
    assert sim.console == console
    assert [e.a for e in evs(sim, "console")] == list(range(len(console)))
    assert sim.uma()["kmem_used"] == kmem_used
    assert not z.exists and row(sim, "UMA Kegs").used == kegs - 1


def test_a_zone_half_way_through_zdestroy_is_not_inspected():
    """uma_zdestroy takes many steps (zone_dtor drains caches and slabs,
    then frees the zone and its keg).  Between those steps the zone's views
    say it is being destroyed and the invariant checker leaves it out:
    neither reads structures that zone_dtor has already freed (this once
    crashed the process in a timeline, which samples every step)."""
    sim = Sim()
    z = sim.zcreate("z", 256)
    sim.spawn("t", ops=["alloc z -> a", "alloc z -> b", "free b", "zdestroy z"])
    run_op(sim, "t", 3)
    seen = set()
    for _ in range(20_000):
        if sim.run(max_steps=1).outcome != "step_limit":
            break
        sim.check()
        try:
            z.stats
            seen.add("live")
        except ValueError as e:
            seen.add(str(e))
        assert len(sim.zones) >= 1
    assert "zone z is being destroyed" in seen
    with pytest.raises(ValueError, match="zone z was destroyed"):
        z.stats


def test_zones_created_while_another_is_destroyed_keep_their_kegs():
    """uma_zdestroy stops at preemption points; a zone another thread
    creates meanwhile may get a keg at the freed keg's address.  The zone
    table forgets the kegs of the destroyed zone's slots only (it once
    forgot the new zone's keg too: a NULL keg and a host fault at the
    second zdestroy).  Every interleaving the guided explorer tries of two
    threads creating, using and destroying zones of their own completes."""
    from umasim.model.scenario import from_dict
    from umasim.search.explore import explore
    scn = from_dict({
        "sim": {"cpus": 2},
        "zone": [{"name": "z0", "size": 256}],
        "thread": [{"name": f"t{i}", "cpu": i, "ops": [f"zcreate p{i} size=256",
                                                       f"alloc p{i} -> v{i}", f"free v{i}",
                                                       f"zdestroy p{i}"]} for i in range(2)],
        "schedule": {"max_steps": 20_000}})
    res = explore(scn, "guided", runs=2000, seed=1)
    assert res.failures == 0, [(c.outcome, c.message) for c in res.classes if c.failed]


def test_free_into_a_destroyed_zone_panics_in_the_interpreter():
    sim = Sim()
    sim.zcreate("z", 256)
    sim.spawn("t", ops=["alloc z -> a", "zdestroy z", "free a"])
    assert drive(sim) == "panic"
    assert sim.panic == "free of a into destroyed zone z"


# ---- ctor, init and zinit failures ------------------------------------------------------

@pytest.mark.parametrize("path", ["cache", "internal"])
def test_ctor_failure_returns_null_and_counts_a_fail_and_a_free(path):
    """A ctor that fails makes uma_zalloc_arg (item from the per-CPU cache)
    or uma_zalloc_internal (buckets disabled: free pages below v_free_min
    from boot on) free the item back to its slab (uma_zfree_internal,
    SKIP_DTOR) counting a free and a fail: the caller gets NULL, vmstat
    shows the request and the failure."""
    sim = Sim(pages=64, free_min=100 if path == "internal" else 0)
    assert sim.uma()["bucketdisable"] is (path == "internal")
    z = sim.zcreate("z", 256, ctor="fail 1", dtor="sleep 1")
    sim.spawn("t", ops=["alloc z -> a", "free a", "alloc z -> b", "free b"])
    ev = run_op(sim, "t")
    st = z.stats
    assert (st["allocs"], st["frees"], st["fails"]) == (1, 1, 1)
    # The failed item went to its slab: of the 16 filled from two slabs,
    # or of the one slab uma_zalloc_internal took it from.
    if path == "cache":
        assert (z.pages, st["cache_items"], st["keg_free"]) == (2, 15, 15)
    else:
        assert (z.pages, st["cache_items"], st["keg_free"]) == (1, 0, 15)
        assert evs(sim, "bucket_alloc", ev) == []
    assert evs(sim, "sleep", ev) == []                # SKIP_DTOR
    ev = run_op(sim, "t")                             # free a: a is null
    assert len(evs(sim, "null_free", ev)) == 1
    assert drive(sim) == "completed"
    r = row(sim, "z")
    assert (r.used, r.requests, r.failures) == (0, 2, 1)
    assert len(evs(sim, "sleep")) == 1                # b's dtor only


def test_keg_init_failure_unwinds_the_slab_with_fini():
    """slab_zalloc runs the keg's init on every item; when the 2nd fails,
    fini runs on the items already inited (just the first: one "sleep"
    fini), the page goes back, and -- M_WAITOK -- uma_zone_slab tries
    again, on the same page (first fit)."""
    sim = Sim()
    z = sim.zcreate("z", 256, init="fail 2", fini="sleep 3")
    sim.spawn("t", ops=["alloc z -> a"])
    assert drive(sim) == "completed"
    first = next(i for i, e in enumerate(sim.events) if e.kind == "page_alloc")
    seq = [(e.kind, page_no(e.a) if e.kind.startswith(("page", "slab")) else e.b)
           for e in sim.events[first:] if e.kind in
           ("page_alloc", "page_free", "slab_alloc", "sleep")]
    p = seq[0][1]
    assert seq[:5] == [("page_alloc", p), ("sleep", 3), ("page_free", p),
                       ("page_alloc", p), ("slab_alloc", p)]
    assert seq[5:] == [("page_alloc", p + 1), ("slab_alloc", p + 1)]
    st = z.stats
    assert (z.pages, st["keg_free"], st["cache_items"], st["fails"]) == (2, 14, 15, 0)


def test_zinit_attach_fails_when_its_zone_is_exhausted_under_nowait():
    """The mbuf packet-zone pattern: pkt's zinit takes a clust item
    (uma_zalloc_arg with the caller's flags).  With clust at its limit and
    M_NOWAIT, the zinit fails: uma_zalloc_bucket puts the whole fill back
    (SKIP_FINI), uma_zalloc_internal's own try fails too, and the caller
    gets NULL with one uz_fails.  Once a cluster is free, a packet gets it;
    freed to pkt's cache, the packet keeps its cluster hostage."""
    sim = Sim()
    clust = sim.zcreate("clust", 2048, max=2)
    pkt = sim.zcreate("pkt", 256, zinit="attach clust", zfini="detach")
    assert clust.limit == 2
    sim.spawn("t", ops=["alloc clust nowait -> c0", "alloc clust nowait -> c1",
                        "alloc pkt nowait -> p", "free p", "free c0",
                        "alloc pkt nowait -> q", "free q", "alloc clust nowait -> c2",
                        "free c2", "free c1"])
    run_op(sim, "t", 2)
    assert clust.full and clust.pages == 1 and clust.stats["cache_items"] == 0

    ev = run_op(sim, "t")                          # alloc pkt: NULL
    st = pkt.stats
    assert (st["fails"], st["allocs"], st["frees"]) == (1, 1, 1)
    assert (pkt.pages, st["keg_free"], st["cache_items"]) == (2, 30, 0)
    # pkt's emptied fill, and clust's two fills that found nothing.
    assert [e.b for e in evs(sim, "bucket_free", ev)] == [16, 16, 16]
    assert clust.stats["fails"] == 2               # the bucket's zinit, then internal's
    ev = run_op(sim, "t")                          # free p
    assert len(evs(sim, "null_free", ev)) == 1

    run_op(sim, "t", 2)                            # free c0, alloc pkt
    st = pkt.stats
    assert (st["cache_items"], row(sim, "pkt").used) == (0, 1)   # one item inited
    assert row(sim, "clust").used == 2 and clust.stats["fails"] == 3
    run_op(sim, "t", 2)                            # free q: cached with its cluster
    assert pkt.stats["cache_items"] == 1
    assert row(sim, "clust").used == 2             # c1 and the hostage
    assert row(sim, "clust").failures == 4         # so c2 gets nothing
    assert drive(sim) == "completed"
    r = row(sim, "clust")
    assert (r.used, r.failures) == (1, 4)


# ---- INVARIANTS ------------------------------------------------------------------------

@pytest.mark.parametrize("invariants", [True, False])
def test_double_free(invariants):
    """With INVARIANTS, uma_dbg_free sees the item's free-list byte is no
    longer 255 and panics "Duplicate free"; without, the interpreter stops
    the double free itself (the production kernel would corrupt memory)."""
    sim = Sim(invariants=invariants)
    z = sim.zcreate("z", 256)
    sim.spawn("t", ops=["alloc z -> x", "free x", "free x"])
    run_op(sim, "t")
    cached = set(z.items("cache"))
    run_op(sim, "t")
    [x] = set(z.items("cache")) - cached      # into the free bucket
    assert (z.caches[0].alloc, z.caches[0].free) == (15, 1)
    assert drive(sim) == "panic"
    if invariants:
        assert sim.panic == f"Duplicate free of item {x:#x} from zone {z.addr:#x}(z)"
        assert re.fullmatch(rf"Slab at {RE_ADDR}, freei 0 = 0\.", sim.console[0])
    else:
        assert sim.panic == "double free of x"
        assert sim.console == ["panic: double free of x"]
    assert sim.console[-1] == "panic: " + sim.panic
    assert sim.thread("t").op == 2


def test_free_to_the_wrong_zone_panics():
    """uma_dbg_free looks the item up the way the zone finds its slabs; an
    item of another keg is not there."""
    sim = Sim()
    sim.zcreate("z", 256)
    o = sim.zcreate("o", 256)
    sim.spawn("t", ops=["alloc z -> x", "free x o"])
    run_op(sim, "t")
    assert drive(sim) == "panic"
    assert re.fullmatch(rf"uma: Freed item {RE_ADDR} did not belong to zone o", sim.panic)
    assert o.stats["frees"] == 0 and o.stats["cache_items"] == 0


@pytest.mark.parametrize("touch", [False, True])
def test_trash_ctor_reports_use_after_free(touch):
    """trash_dtor fills a freed item with 0xdeadc0de; trash_ctor checks the
    pattern when the item is handed out again and only prints "Memory
    modified after free" (the allocation goes on)."""
    sim = Sim()
    t = sim.zcreate("t", 4096, ctor="trash", dtor="trash", init="trash")
    sim.spawn("u", ops=["alloc t -> a", "alloc t -> b", "free b"]
              + (["touch b"] if touch else []) + ["alloc t -> c", "free c", "free a"])
    run_op(sim, "u", 3)
    [b] = t.items("cache")                 # a's alloc bucket is empty: c gets b
    assert sim.console == []
    assert drive(sim) == "completed"
    if touch:
        assert sim.console == [f"Memory modified after free {b:#x}(4096) "
                               f"val={JUNK_TOUCHED:x} @ {b:#x}"]
        assert len(evs(sim, "console")) == 1
    else:
        assert sim.console == []
    assert row(sim, "t").used == 0


def test_mtrash_in_malloc_zones_panics_naming_the_last_user():
    """malloc(9) zones under INVARIANTS use the mtrash callbacks: the last
    word of a freed item records its malloc type, and a disturbed pattern
    is a panic naming it."""
    sim = Sim()
    sim.spawn("u", ops=["malloc 4096 -> a", "malloc 4096 -> b", "free b", "touch b",
                        "malloc 4096 -> c"])
    run_op(sim, "u", 4)
    [b] = sim.zones["4096"].items("cache")
    assert drive(sim) == "panic"
    assert sim.panic == "Most recently used by temp"
    assert sim.console == [
        f"Memory modified after free {b:#x}(4088) val={JUNK_TOUCHED:x} @ {b:#x}",
        "panic: Most recently used by temp"]


def test_mtrash_without_use_after_free_is_quiet():
    sim = Sim()
    sim.spawn("u", ops=["malloc 4096 -> a", "malloc 4096 -> b", "free b",
                        "malloc 4096 -> c", "free c", "free a"])
    assert drive(sim) == "completed"
    assert sim.console == [] and row(sim, "4096").used == 0



def test_checker_counts_leaked_items_and_items_of_destroyed_secondary_zones():
    """Storing over a held variable leaks its item (docs/design.md: it stays
    allocated, and is reported); an item held from a destroyed secondary
    zone still belongs to the surviving keg.  Conservation holds for both,
    while an item that really went missing (the stale_cache bug's lost
    bucket, shipped as scenarios/bug_stale_cache.toml) is caught."""
    from pathlib import Path

    from umasim import InvariantViolation
    from umasim.model.scenario import load
    sim = Sim()
    sim.zcreate("m", 64)
    sim.zsecond("p", "m")
    sim.spawn("a", ops=["alloc m -> x", "alloc m -> x", "alloc p -> y", "zdestroy p",
                        "yield"])
    assert sim.run().outcome == "completed"
    assert sim.event_counts()["leak"] == 1
    sim.check()
    scn = load(Path(__file__).parents[2] / "scenarios" / "bug_stale_cache.toml")
    lost = scn.build()
    lost.run(**scn.run_args())
    with pytest.raises(InvariantViolation, match="items in its slabs"):
        lost.check()
