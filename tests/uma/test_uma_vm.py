"""UMA against the simulated VM.

One behaviour test per mechanism of FreeBSD 7's uma_core.c that touches
pages or kmem_map: page exhaustion under M_NOWAIT and M_WAITOK, the
kmem_map-too-small panic, bucket_enable() and uma_timeout, hash_alloc /
hash_expand, uma_zone_set_obj / obj_alloc, private allocf / freef,
zone_drain / uma_reclaim, uma_large_malloc / uma_large_free, malloc(9)'s
kmemzones, and UMA_MD_SMALL_ALLOC.  Every test runs an explicit program
under an explicit schedule, one step at a time with the invariant checker
after each step, and asserts on zone views, vmstat -z and events.
"""

from __future__ import annotations

import pytest

from umasim import Sim, SimPanicked
from umasim.model.sim import DISPLAY_BASE
from umahelp import checked_step, drive, evs, page_no, row, run_op  # noqa: F401

PAGE = 4096
M_NOWAIT, M_WAITOK, M_ZERO = 0x1, 0x2, 0x100
UMA_SLAB_KMEM, UMA_SLAB_PRIV = 0x02, 0x08
BSS_PAGES = 16          # the simulated bss comes first in the arena


# ---- helpers ---------------------------------------------------------------

def all_slabs(zone) -> list:
    s = zone.slabs
    return s["part"] + s["free"] + s["full"]


MALLOC_ZONES = ("16", "32", "64", "128", "256", "512", "1024", "2048", "4096")


# ---- page exhaustion --------------------------------------------------------

def test_page_exhaustion_nowait_fails_and_counts_uz_fails():
    """Two physical pages hold 30 items of 256 bytes (15 a slab).  M_NOWAIT
    allocations get them all, then NULL: each failure tries the VM twice
    (the bucket fill in uma_zalloc_bucket, then uma_zalloc_internal) and
    counts one uz_fails, which vmstat shows as FAILURES; nothing sleeps."""
    sim = Sim(pages=2)
    z = sim.zcreate("z", 256)
    assert (z.geometry.ipers, z.uz_count) == (15, 15)
    sim.spawn("a", ops=[f"alloc z nowait -> x{i}" for i in range(32)] + ["free x31"])
    assert drive(sim) == "completed"

    assert z.pages == 2 and z.stats["fails"] == 2
    r = row(sim, "z")
    assert (r.used, r.free, r.requests, r.failures) == (30, 0, 30, 2)
    u = sim.uma()
    assert (u["free_pages"], u["wired_pages"], u["kmem_used"]) == (0, 2, 2)
    # x16's fill finds slab 2 short (one failed page), x30 and x31 fail twice.
    fails = evs(sim, "page_fail")
    assert [(e.a, e.b) for e in fails] == [(1, M_NOWAIT | M_ZERO)] * 5
    assert len(evs(sim, "page_alloc")) == 2
    assert evs(sim, "sleep") == []
    # The failed allocation left its variable null: freeing it does nothing.
    assert len(evs(sim, "null_free")) == 1


@pytest.mark.parametrize("waker", ["vm_free_pages", "free_large"])
def test_page_exhaustion_waitok_sleeps_in_vmwait_until_pages_return(waker):
    """M_WAITOK allocation with no free page sleeps in "vmwait" (inside
    slab_zalloc, via kmem_malloc) and retries when pages come back: set by
    the vm_free_pages fault, or returned by uma_large_free's page_free."""
    sim = Sim(pages=3)
    z = sim.zcreate("z", 256)
    if waker == "vm_free_pages":
        sim.spawn("b", ops=["kmem_alloc 4096 -> pin", "vm_free_pages 1"])
    else:
        sim.spawn("b", ops=["malloc_large 4096 -> big", "free_large big"])
    sim.spawn("a", ops=[f"alloc z -> x{i}" for i in range(31)])
    run_op(sim, "b")                       # b takes one of the three pages
    held = page_no(evs(sim, "page_alloc")[-1].a)
    assert sim.uma()["free_pages"] == 2

    ev = run_op(sim, "a", 31)              # a fills two pages, then sleeps
    sleep_range = DISPLAY_BASE + (max(page_no(e.a) for e in evs(sim, "page_alloc")) + 1) * PAGE
    a = sim.thread("a")
    assert (a.state, a.wmesg, a.op) == ("asleep", "vmwait", 30)
    assert z.pages == 2 and row(sim, "z").used == 30
    fail = evs(sim, "page_fail", ev)[-1]
    assert (fail.a, fail.b) == (1, M_WAITOK | M_ZERO)
    sleep = evs(sim, "sleep", ev)[-1]
    assert sleep.thread == "a" and sleep.point == "slab_zalloc_unlocked"

    ev = run_op(sim, "b")                  # pages come back: a is woken
    wake = evs(sim, "wakeup", ev)
    assert [(w.a, w.b) for w in wake] == [(sleep.a, 1)]
    assert sim.thread("a").state == "runnable"
    if waker == "free_large":
        assert [page_no(e.a) for e in evs(sim, "page_free", ev)] == [held]

    assert drive(sim) == "completed"
    assert z.pages == 3
    r = row(sim, "z")
    assert (r.used, r.free, r.failures) == (31, 14, 0)
    if waker == "free_large":
        # a's third slab is at the kmem_map range it entered before sleeping
        # (FreeBSD 7's map entry stays across VM_WAIT), not the page b gave
        # back, although that one comes first.
        assert page_no(evs(sim, "page_alloc")[-1].a) == page_no(sleep_range) != held
        assert held < page_no(sleep_range)


def test_kmem_map_too_small_panics_through_uma():
    """Items of 16 KB take 4 of kmem_map's 6 pages each.  M_NOWAIT gets
    NULL and a uz_fails; M_WAITOK panics in kmem_malloc as FreeBSD 7 did,
    though physical pages are plentiful."""
    sim = Sim(kmem_pages=6)
    big = sim.zcreate("big", 16384)
    g = big.geometry
    assert (g.ppera, g.ipers, g.offpage, g.hash) == (4, 1, True, True)
    sim.spawn("a", ops=["alloc big -> x", "alloc big nowait -> y", "free y",
                        "alloc big -> w"])
    assert drive(sim) == "panic"

    msg = "kmem_malloc(16384): kmem_map too small: 16384 total allocated"
    assert sim.panic == msg and sim.console[-1] == "panic: " + msg
    assert sim.thread("a").state == "panicked" and sim.thread("a").op == 3
    assert big.pages == 4 and big.stats["fails"] == 1
    r = row(sim, "big")
    assert (r.used, r.requests, r.failures) == (1, 1, 1)
    # kmem_map, not physical memory, ran out.
    u = sim.uma()
    assert (u["kmem_used"], u["free_pages"]) == (4, 256 - 4)
    # x's bucket fill asks for a second slab with M_NOWAIT added to its
    # M_WAITOK (uma_zalloc_bucket: "Don't block on the next fill").
    assert [(e.a, e.b) for e in evs(sim, "page_fail")] == [
        (4, M_WAITOK | M_NOWAIT | M_ZERO), (4, M_NOWAIT | M_ZERO), (4, M_NOWAIT | M_ZERO)]
    assert len(evs(sim, "null_free")) == 1
    with pytest.raises(SimPanicked):
        sim.step("a")


# ---- bucket_enable() and uma_timeout -----------------------------------------

def test_bucketdisable_takes_effect_at_the_next_uma_timeout():
    """Free pages below v_free_min disable buckets only when bucket_enable()
    next runs (uma_timeout).  With buckets disabled, a cache miss cannot get
    a bucket: the item comes from uma_zalloc_internal (counted in uz_allocs,
    the per-CPU cache stays empty) and its free goes straight back to the
    slab.  Pages above the minimum and another timeout enable them again."""
    sim = Sim(pages=64, free_min=32)
    c, d, e = (sim.zcreate(n, 128) for n in "cde")
    sim.spawn("t", ops=["alloc c -> a", "vm_free_pages 8", "alloc d -> b", "timeout",
                        "alloc e -> x", "free x", "vm_free_pages 40", "timeout",
                        "alloc e -> y"])
    assert sim.uma()["bucketdisable"] is False

    ev = run_op(sim, "t")                          # alloc c: buckets on
    assert len(evs(sim, "bucket_alloc", ev)) == 1
    run_op(sim, "t")                               # vm_free_pages 8
    assert sim.uma()["free_pages"] == 8 < sim.uma()["free_min"]
    assert sim.uma()["bucketdisable"] is False     # not re-decided yet
    ev = run_op(sim, "t")                          # alloc d: still buckets
    assert len(evs(sim, "bucket_alloc", ev)) == 1 and d.caches[0].alloc is not None

    run_op(sim, "t")                               # timeout
    assert sim.uma()["bucketdisable"] is True
    ev = run_op(sim, "t")                          # alloc e: uma_zalloc_internal
    assert evs(sim, "bucket_alloc", ev) == []
    assert len(evs(sim, "slab_alloc", ev)) == 1
    cache = e.caches[0]
    assert (cache.alloc, cache.free, cache.allocs) == (None, None, 0)
    st = e.stats
    assert (st["allocs"], st["keg_free"], st["cache_items"]) == (1, 28, 0)
    ev = run_op(sim, "t")                          # free x: to the slab
    assert evs(sim, "bucket_alloc", ev) == []
    st = e.stats
    assert (st["frees"], st["keg_free"], st["cache_items"]) == (1, 29, 0)
    assert e.caches[0].free is None

    run_op(sim, "t", 2)                            # vm_free_pages 40, timeout
    assert sim.uma()["bucketdisable"] is False
    ev = run_op(sim, "t")                          # alloc e: a bucket again
    assert len(evs(sim, "bucket_alloc", ev)) == 1
    # uz_count grew on both misses (29 -> 31): 31 items, a second slab.
    assert e.uz_count == 31 and e.pages == 2
    assert e.caches[0].alloc == 30 and e.stats["keg_free"] == 27
    assert drive(sim) == "completed"
    r = row(sim, "e")
    assert (r.used, r.free, r.requests) == (1, 57, 2)


@pytest.mark.parametrize("nap, disabled", [(19_000, False), (20_000, True)])
def test_bucketdisable_by_the_uma_timeout_callout(nap, disabled):
    """uma_startup3 arms uma_timeout for UMA_TIMEOUT = 20 s (20000 ticks):
    softclock runs it when virtual time passes tick 20000, and only then
    does the page shortage disable buckets."""
    sim = Sim(pages=64, free_min=32)
    e = sim.zcreate("e", 128)
    sim.spawn("t", ops=["vm_free_pages 8", f"sleep {nap}", "alloc e -> x"])
    assert drive(sim) == "completed"
    assert sim.ticks > nap
    assert sim.uma()["bucketdisable"] is disabled
    softclock = [ev for ev in evs(sim, "step") if ev.thread == "softclock"]
    assert bool(softclock) is disabled
    assert all(ev.tick >= 20_000 for ev in softclock)
    assert len(evs(sim, "bucket_alloc")) == (0 if disabled else 1)
    assert (e.caches[0].alloc is None) is disabled
    assert e.caches[0].allocs == (0 if disabled else 1)
    assert row(sim, "e").used == 1


# ---- hash tables: hash_alloc, hash_expand, hash_free ------------------------

def test_uma_timeout_expands_an_offpage_hash_from_malloc():
    """An OFFPAGE|HASH keg starts with a 32-chain table from "UMA Hash".
    zone_timeout doubles it once the keg has as many slabs as chains: the
    64-chain table (512 bytes) comes from malloc(9), the old one goes back
    to "UMA Hash"; at 64 slabs the 1024-byte table replaces the 512-byte
    one, which free(9) returns.  Every slab stays findable: a drain removes
    all 64 from the new table."""
    sim = Sim(pages=256)
    h = sim.zcreate("h", 2048)
    g = h.geometry
    assert (g.ipers, g.offpage, g.hash, h.stats["hashsize"]) == (2, True, True, 32)
    hash0 = row(sim, "UMA Hash")
    sim.spawn("t", ops=["prealloc h 62", "timeout", "prealloc h 2", "timeout",
                        "timeout", "prealloc h 64", "timeout", "alloc h -> x", "free x",
                        "drain h"])

    def state():
        return (h.pages, h.stats["hashsize"], row(sim, "UMA Hash").used,
                row(sim, "512").used, row(sim, "1024").used)

    used0 = hash0.used
    run_op(sim, "t")
    assert state() == (31, 32, used0, 0, 0)
    run_op(sim, "t")                                 # 31 slabs < 32 chains
    assert state() == (31, 32, used0, 0, 0)
    run_op(sim, "t")
    assert state() == (32, 32, used0, 0, 0)
    ev = run_op(sim, "t")                            # 32 slabs: 32 -> 64
    assert state() == (32, 64, used0 - 1, 1, 0)
    assert row(sim, "UMA Hash").requests == hash0.requests
    assert row(sim, "512").requests == 1
    run_op(sim, "t")                                 # 32 < 64: no change
    assert state() == (32, 64, used0 - 1, 1, 0)
    run_op(sim, "t")
    assert state() == (64, 64, used0 - 1, 1, 0)
    run_op(sim, "t")                                 # 64 slabs: 64 -> 128
    assert state() == (64, 128, used0 - 1, 0, 1)
    # alloc and free find their slab in the new table (INVARIANTS looks
    # each item up); the drain takes every free slab out of it.
    assert drive(sim) == "completed"
    st = h.stats
    assert (st["cache_items"], st["keg_free"], h.pages) == (3, 1, 2)
    assert len(evs(sim, "page_free")) == 62 and len(evs(sim, "slab_free")) == 62
    assert h.stats["hashsize"] == 128                # tables never shrink


# ---- uma_zone_set_obj and obj_alloc -------------------------------------------

def test_set_obj_limits_the_keg_to_private_nofree_pages():
    """setobj reserves kmem_map address space for ceil(20/15) = 2 pages and
    makes obj_alloc the back end: the keg is limited to those pages (LIMIT
    30, UMA_ZFLAG_FULL when reached), its slabs are UMA_SLAB_PRIV pages of
    the reserved range, and it is NOFREE, so drain and reclaim keep them."""
    sim = Sim(pages=100)
    o = sim.zcreate("o", 256)
    sim.spawn("t", ops=["setobj o 20"] + [f"alloc o nowait -> x{i}" for i in range(31)]
              + ["free x0", "drain o", "reclaim"])
    run_op(sim, "t")
    u = sim.uma()
    assert (u["kmem_used"], u["free_pages"]) == (2, 100)     # address space only
    assert set(o.flags) >= {"nofree", "privalloc"} and not o.full
    assert (o.limit, o.stats["maxpages"]) == (30, 2)

    assert drive(sim) == "completed"
    assert o.full and o.pages == 2
    r = row(sim, "o")
    assert (r.limit, r.used, r.failures) == (30, 29, 1)
    assert [s.flags for s in all_slabs(o)] == [UMA_SLAB_PRIV] * 2
    allocs = evs(sim, "page_alloc")
    assert [e.b for e in allocs] == [1, 1]
    assert page_no(allocs[1].a) == page_no(allocs[0].a) + 1  # consecutive KVA
    assert sorted(page_no(s.data) for s in all_slabs(o)) == [page_no(e.a) for e in allocs]
    assert evs(sim, "page_free") == [] and evs(sim, "slab_free") == []
    u = sim.uma()
    assert (u["kmem_used"], u["free_pages"]) == (2, 98)


# ---- private allocf / freef -------------------------------------------------------

@pytest.mark.parametrize("allocf, flag, pages, cached, hdr_requests", [
    (None, "nowait", 2, 2, 2),       # the fill takes 3 items: 2 slabs
    ("fail 2", "nowait", 1, 1, 2),   # the 2nd slab fails: the fill stops at 2
    ("fail 1", "waitok", 2, 2, 3),   # M_WAITOK retries the failed slab
])
def test_private_allocf_failure(allocf, flag, pages, cached, hdr_requests):
    """uma_zone_set_allocf: a private page allocator whose Nth call fails.
    slab_zalloc gives the failed slab's off-page header back to "UMA Slabs"
    (one more request than slabs kept)."""
    sim = Sim(pages=100)
    f = sim.zcreate("f", 2048, allocf=allocf)
    assert ("privalloc" in f.flags) is (allocf is not None)
    sim.spawn("t", ops=[f"alloc f {flag} -> a"])
    assert drive(sim) == "completed"
    assert f.pages == pages and f.stats["fails"] == 0
    assert len(evs(sim, "page_alloc")) == pages
    assert evs(sim, "page_fail") == []       # the VM was never short
    assert f.stats["cache_items"] == cached
    slabs = row(sim, "UMA Slabs")
    assert (slabs.requests, slabs.used) == (hdr_requests, pages)
    assert [s.flags for s in all_slabs(f)] == [UMA_SLAB_KMEM] * pages


@pytest.mark.parametrize("freef", [None, "leak"])
def test_zone_drain_returns_free_slabs_unless_freef_leaks(freef):
    """zone_drain takes the keg's free slabs off its lists and hands their
    pages to uk_freef: page_free (free pages and kmem_map back up), unless
    a private freef keeps them ("leak": UMA forgets them, the VM never
    sees them again)."""
    sim = Sim(pages=100)
    g = sim.zcreate("g", 256, freef=freef)
    sim.spawn("t", ops=["prealloc g 30", "drain g"])
    run_op(sim, "t")
    assert g.pages == 2 and g.stats["keg_free"] == 30 and len(g.slabs["free"]) == 2
    slab_pages = sorted(page_no(s.data) for s in g.slabs["free"])
    assert sim.uma()["free_pages"] == 98

    ev = run_op(sim, "t")
    assert g.pages == 0 and g.stats["keg_free"] == 0 and all_slabs(g) == []
    assert sorted(page_no(e.a) for e in evs(sim, "slab_free", ev)) == slab_pages
    freed = evs(sim, "page_free", ev)
    u = sim.uma()
    if freef is None:
        assert sorted(page_no(e.a) for e in freed) == slab_pages
        assert (u["free_pages"], u["kmem_used"]) == (100, 0)
    else:
        assert freed == []
        assert (u["free_pages"], u["kmem_used"]) == (98, 2)
    assert drive(sim) == "completed"


def test_zone_drain_empties_the_zones_bucket_cache_first():
    """bucket_cache_drain: items in the zone's full buckets go back to their
    slabs (and the buckets to their bucket zone) before the free slabs are
    released -- the per-CPU caches are left alone."""
    sim = Sim(pages=200)
    z = sim.zcreate("z", 2048)
    sim.spawn("t", ops=[f"alloc z -> x{i}" for i in range(26)]
              + [f"free x{i}" for i in range(26)] + ["drain z"])
    run_op(sim, "t", 52)
    before = z.stats
    cache_before = z.caches[0]
    assert z.full_buckets == [(16, 16)] and before["pages"] == 17
    ev = run_op(sim, "t")
    after = z.stats
    assert z.full_buckets == [] and z.free_buckets == []
    assert [e.b for e in evs(sim, "bucket_free", ev)] == [16]
    assert z.caches[0] == cache_before
    assert after["pages"] == 9 and len(evs(sim, "page_free", ev)) == 8
    assert after["keg_free"] == before["keg_free"] + 16 - 8 * 2
    assert row(sim, "UMA Slabs").used == row(sim, "UMA Slabs").requests - 8
    assert drive(sim) == "completed"


def test_uma_reclaim_drains_every_zone_but_nofree_ones():
    """uma_reclaim (the pagedaemon's hook) drains every zone, then the slab
    header zones: free slabs of in-page and off-page kegs go back to the VM
    (their headers to "UMA Slabs"); a NOFREE keg keeps its pages."""
    sim = Sim(pages=100)
    a = sim.zcreate("a", 256)
    b = sim.zcreate("b", 2048)
    n = sim.zcreate("n", 256, flags=["nofree"])
    sim.spawn("t", ops=["prealloc a 30", "prealloc b 6", "prealloc n 15", "reclaim"])
    run_op(sim, "t", 3)
    assert (a.pages, b.pages, n.pages) == (2, 3, 1)
    assert sim.uma()["free_pages"] == 94 and row(sim, "UMA Slabs").used == 3
    ev = run_op(sim, "t")
    assert (a.pages, b.pages, n.pages) == (0, 0, 1)
    assert len(evs(sim, "page_free", ev)) == 5
    assert sim.uma()["free_pages"] == 99
    assert row(sim, "UMA Slabs").used == 0
    assert n.stats["keg_free"] == 15
    assert drive(sim) == "completed"


# ---- uma_large_malloc / uma_large_free and malloc(9) ------------------------------

def test_large_malloc_takes_kmem_pages_and_a_slab_header():
    """uma_large_malloc: whole pages from kmem_map with a "UMA Slabs" header
    that records the size, found again through vtoslab by free_large (and
    by free(9) for a malloc above a page).  Under M_NOWAIT with kmem_map
    full it returns NULL and counts a failure of "UMA Slabs"."""
    sim = Sim(pages=100, kmem_pages=8)
    sim.spawn("t", ops=["malloc_large 10000 -> big", "malloc 4097 -> m",
                        "malloc_large 20000 nowait -> no", "free m", "free_large big",
                        "free_large no"])
    slabs0 = row(sim, "UMA Slabs")
    ev = run_op(sim, "t")
    pa = evs(sim, "page_alloc", ev)
    assert [e.b for e in pa] == [3]                  # 10000 bytes: 3 pages
    big = page_no(pa[0].a)
    assert sim.uma()["kmem_used"] == 3 and sim.uma()["free_pages"] == 97
    assert row(sim, "UMA Slabs").used == slabs0.used + 1
    ev = run_op(sim, "t")                            # malloc(9) above a page
    assert [e.b for e in evs(sim, "page_alloc", ev)] == [2]
    m = page_no(evs(sim, "page_alloc", ev)[0].a)
    assert all(row(sim, z).used == 0 for z in MALLOC_ZONES)
    ev = run_op(sim, "t")                            # 5 pages > 3 left
    assert [(e.a, e.b) for e in evs(sim, "page_fail", ev)] == [(5, M_NOWAIT)]
    r = row(sim, "UMA Slabs")
    assert (r.used, r.failures) == (slabs0.used + 2, 1)
    ev = run_op(sim, "t")                            # free(9) of m
    assert [(page_no(e.a), e.b) for e in evs(sim, "page_free", ev)] == [(m, 2)]
    ev = run_op(sim, "t")                            # free_large big
    assert [(page_no(e.a), e.b) for e in evs(sim, "page_free", ev)] == [(big, 3)]
    assert row(sim, "UMA Slabs").used == slabs0.used
    assert sim.uma()["kmem_used"] == 0 and sim.uma()["free_pages"] == 100
    assert drive(sim) == "completed"
    assert len(evs(sim, "null_free")) == 1


@pytest.mark.parametrize("size, zone", [
    (1, "16"), (16, "16"), (17, "32"), (64, "64"), (100, "128"), (129, "256"),
    (512, "512"), (513, "1024"), (2048, "2048"), (2049, "4096"), (4096, "4096")])
def test_malloc_small_sizes_use_the_right_kmemzone(size, zone):
    """malloc(9) rounds up to 16 bytes and picks the power-of-two
    UMA_ZONE_MALLOC zone through kmemsize[]; free(9) finds the slab with
    vtoslab and frees to that zone."""
    sim = Sim()
    z = sim.zones[zone]
    assert "malloc" in z.flags and "hash" not in z.flags
    sim.spawn("t", ops=[f"malloc {size} -> m", f"malloc {size} zero -> n", "free m"])
    run_op(sim, "t", 2)
    for name in MALLOC_ZONES:
        assert row(sim, name).used == (2 if name == zone else 0), name
    assert drive(sim) == "completed"
    r = row(sim, zone)
    assert (r.used, r.requests) == (1, 2)


def test_kmeminit_creates_mt_zone():
    """kmeminit creates mt_zone (malloc types' per-CPU statistics: FreeBSD
    7's struct malloc_type_internal on amd64, 1032 bytes) before the
    kmemzones, with the mtrash callbacks under INVARIANTS; no type takes an
    item from it."""
    for inv in (True, False):
        sim = Sim(invariants=inv)
        z = sim.zones["mt_zone"]
        assert z.geometry.size == 1032 and "malloc" in z.flags
        assert z.pages == 0 and row(sim, "mt_zone").requests == 0
        names = list(sim.zones)                 # newest first (LIST_INSERT_HEAD)
        assert names.index("mt_zone") == max(names.index(n) for n in MALLOC_ZONES) + 1


@pytest.mark.parametrize("inv", [True, False])
def test_bad_malloc_flags_reported_once_under_invariants(inv):
    """malloc(9) under INVARIANTS checks that exactly one of M_WAITOK and
    M_NOWAIT is given: FreeBSD 7 prints "Bad malloc flags: %x" (once: its
    static "once"), adds M_WAITOK and goes on -- no panic.  Without
    INVARIANTS nothing is printed."""
    sim = Sim(invariants=inv)
    sim.spawn("t", ops=["malloc 100 nowait waitok -> a", "malloc 100 nowait waitok -> b",
                        "malloc 100 nowait -> c"])
    assert drive(sim) == "completed" and sim.panic is None
    assert sim.console == (["Bad malloc flags: 3"] if inv else [])
    assert all(v.startswith("holds") for v in sim.variables().values())


# ---- UMA_MD_SMALL_ALLOC --------------------------------------------------------------

@pytest.mark.parametrize("md", [False, True])
def test_md_small_alloc_takes_single_pages_from_the_direct_map(md):
    """With md_small_alloc (amd64's UMA_MD_SMALL_ALLOC) single-page slabs
    come from uma_small_alloc: physical pages of the direct map, past
    kmem_map, flagged UMA_SLAB_PRIV, no kmem_map space; drained, they go
    back through uma_small_free.  Multi-page slabs still use kmem_map."""
    sim = Sim(pages=64, kmem_pages=32, md_small_alloc=md)
    assert sim.uma()["booted"] is True
    z = sim.zcreate("z", 256)
    b = sim.zcreate("b", 8192)
    sim.spawn("t", ops=["prealloc z 15", "prealloc b 1", "drain z"])
    kmem_first = BSS_PAGES + 48
    dmap_first = kmem_first + 32
    ev = run_op(sim, "t")
    [pa] = evs(sim, "page_alloc", ev)
    [zs] = all_slabs(z)
    assert page_no(zs.data) == page_no(pa.a)
    if md:
        assert page_no(pa.a) >= dmap_first and zs.flags == UMA_SLAB_PRIV
        assert sim.uma()["kmem_used"] == 0
    else:
        assert kmem_first <= page_no(pa.a) < dmap_first and zs.flags == UMA_SLAB_KMEM
        assert sim.uma()["kmem_used"] == 1
    assert sim.uma()["free_pages"] == 63
    ev = run_op(sim, "t")                       # two pages: kmem_map either way
    [pa] = evs(sim, "page_alloc", ev)
    assert pa.b == 2 and kmem_first <= page_no(pa.a) < dmap_first
    assert [s.flags for s in all_slabs(b)] == [UMA_SLAB_KMEM]
    assert sim.uma()["kmem_used"] == (2 if md else 3)
    ev = run_op(sim, "t")                       # drain z
    assert [page_no(e.a) for e in evs(sim, "page_free", ev)] == [page_no(zs.data)]
    assert sim.uma()["free_pages"] == 62 and sim.uma()["kmem_used"] == 2
    assert drive(sim) == "completed"


@pytest.mark.parametrize("md", [False, True])
def test_boot_zones_move_to_the_real_back_end_when_boot_pages_run_out(md):
    """Kegs made in uma_startup take pages from startup_alloc's boot list;
    once it is empty (UMA has booted) the keg switches for good to
    uma_small_alloc with md_small_alloc -- where uma_startup itself counts
    as booted -- and to page_alloc otherwise.  Three boot pages leave none
    for the first "16 Bucket" slab, nor for a second "UMA Zones" slab (the
    zones kmeminit makes, mt_zone included, fill the first)."""
    sim = Sim(pages=64, kmem_pages=32, boot_pages=3, md_small_alloc=md)
    z = sim.zcreate("z", 256)
    sim.spawn("t", ops=["alloc z -> a"])
    assert drive(sim) == "completed"
    bz = sim.zones["16 Bucket"]
    [slab] = all_slabs(bz)
    dmap_first = BSS_PAGES + 3 + 32
    if md:
        assert slab.flags == UMA_SLAB_PRIV and page_no(slab.data) >= dmap_first
        assert sim.uma()["kmem_used"] == 0
    else:
        assert slab.flags == UMA_SLAB_KMEM and page_no(slab.data) < dmap_first
        assert sim.uma()["kmem_used"] == 4    # UMA Zones', the bucket's and z's two
    # UMA Zones' second page was taken at boot, before events are recorded
    assert [e.b for e in evs(sim, "page_alloc")] == [1, 1, 1]
    assert sim.uma()["free_pages"] == 60
    # The views of UMA's own zones (no scenario slot) agree with their kegs.
    for name, zone in sim.zones.items():
        assert len(all_slabs(zone)) * zone.geometry.ppera == zone.pages, name
    assert [len(all_slabs(sim.zones[n])) for n in ("UMA Kegs", "UMA Zones")] == [2, 2]


@pytest.mark.parametrize("md", [False, True])
def test_too_few_boot_pages_panic_in_uma_startup(md):
    """startup_alloc before booted: no boot page left is a panic, with or
    without the direct map (uma_startup counts as booted only at its end)."""
    with pytest.raises(ValueError, match="UMA: Increase vm.boot_pages"):
        Sim(boot_pages=1, md_small_alloc=md)
