"""uma_zalloc_arg / uma_zfree_arg, one mechanism per test:
the per-CPU fast paths, the bucket swaps, refilling from the zone's
full-bucket list, uz_count's growth, the uz_fills limit, and migration
between critical_exit() and ZONE_LOCK() in both slow paths.

Each test drives explicit programs step by step (sim.step, sim.migrate),
looks at the zone's views (caches, bucket lists, counters) and events, and
runs the invariant checker after every step."""

from __future__ import annotations

from umasim import Sim
from umasim.model.zones import CpuCache


def run_op(sim: Sim, name: str):
    """Steps `name` through the rest of its current operation, to the point
    where its next one begins (or its exit).  Returns the points it stopped
    at and the events (other than steps) recorded meanwhile."""
    start = len(sim.events) if sim.config["trace"] == "full" else 0
    points = []
    while True:
        p = sim.step(name)
        sim.check()
        points.append(p)
        if p.startswith("op:") or p == "exit":
            break
    if sim.config["trace"] != "full":
        return points, []
    return points, [e for e in sim.events[start:] if e.kind != "step"]


def step_to(sim: Sim, name: str, point: str, limit: int = 200):
    """Steps `name` until it stops at `point`; returns the points passed."""
    seen = []
    for _ in range(limit):
        p = sim.step(name)
        sim.check()
        seen.append(p)
        if p == point:
            return seen
        assert not p.startswith("op:") and p != "exit", (point, seen)
    raise AssertionError(f"{name} never reached {point}: {seen}")


def kinds(events):
    return [e.kind for e in events]


def cache(zone, cpu):
    c = zone.caches[cpu]
    return (c.alloc, c.free)


def zone_allocs(zone) -> int:
    """uz_allocs itself: stats add the per-CPU uc_allocs to it."""
    return zone.stats["allocs"] - sum(c.allocs for c in zone.caches)


# ---- the fast paths ---------------------------------------------------------

def test_second_alloc_takes_from_the_alloc_bucket_without_the_zone():
    """First alloc: a cache miss, a bucket filled from the keg.  Second
    alloc on the same vCPU: straight from the alloc bucket inside the
    critical section -- no zalloc_race point, no lock, no bucket or slab
    work -- and counted in the cache's uc_allocs, not the zone's."""
    sim = Sim(cpus=2, invariants=False)
    z = sim.zcreate("z", 256)                        # ipers 15
    assert z.uz_count == 15
    sim.spawn("a", ops=["alloc z -> x", "alloc z -> y", "yield"])

    points, ev = run_op(sim, "a")
    assert "zalloc_race" in points and "zalloc_bucket_alloc" in points
    assert kinds(ev).count("bucket_alloc") == 1
    assert z.uz_count == 16                          # bumped by the miss
    assert cache(z, 0) == (15, None)                 # 16 filled, one taken
    assert z.caches[0].allocs == 1 and zone_allocs(z) == 0
    assert z.full_buckets == [] and z.free_buckets == []
    assert z.caches[1] == CpuCache(1, None, 0, None, 0, 0, 0)

    points, ev = run_op(sim, "a")
    # op:alloc (with critical_enter) -> critical_exit -> done: nothing else
    assert points == ["critical_exit", "op:yield"]
    assert kinds(ev) == ["op_begin", "op_end"]
    assert cache(z, 0) == (14, None)
    assert z.caches[0].allocs == 2 and zone_allocs(z) == 0
    assert z.uz_count == 16 and z.pages == 2
    row = next(r for r in sim.vmstat() if r.name == "z")
    assert (row.used, row.requests, row.free) == (2, 2, 2 * 15 - 2)


def test_second_alloc_under_invariants_takes_the_lock_only_for_uma_dbg():
    """With INVARIANTS the cache hit still takes the zone lock, after the
    critical section, for uma_dbg_alloc -- but never reaches zalloc_race."""
    sim = Sim(cpus=2, invariants=True)
    z = sim.zcreate("z", 256)
    sim.spawn("a", ops=["alloc z -> x", "alloc z -> y", "yield"])
    run_op(sim, "a")
    points, ev = run_op(sim, "a")
    assert points == ["critical_exit", "mtx_lock", "mtx_unlock", "op:yield"]
    assert kinds(ev) == ["op_begin", "op_end"]
    assert cache(z, 0) == (14, None) and z.caches[0].allocs == 2


def test_free_goes_to_the_free_bucket():
    """The first free makes a free bucket (from the zone, M_NOWAIT); the
    second goes into it inside the critical section."""
    sim = Sim(cpus=2, invariants=False)
    z = sim.zcreate("z", 256)
    sim.spawn("a", ops=["alloc z -> x", "alloc z -> y", "free x", "free y", "yield"])
    run_op(sim, "a")
    run_op(sim, "a")
    points, ev = run_op(sim, "a")
    assert "zfree_race" in points and "zfree_bucket_alloc" in points
    assert [(e.kind, e.b) for e in ev if e.kind in ("bucket_alloc", "full_check")] == \
        [("full_check", 0), ("bucket_alloc", 16)]
    assert cache(z, 0) == (14, 1)
    # the miss flushed the cache's counters to the zone
    assert (z.caches[0].allocs, z.caches[0].frees) == (0, 1) and zone_allocs(z) == 2
    points, ev = run_op(sim, "a")
    # the unlocked read of UMA_ZFLAG_FULL is an action: a stop follows it
    assert points == ["zfree_full_check", "critical_exit", "op:yield"]
    assert kinds(ev) == ["op_begin", "full_check", "op_end"]
    assert cache(z, 0) == (14, 2) and z.caches[0].frees == 2


def test_alloc_swaps_an_empty_alloc_bucket_with_the_free_bucket():
    """Alloc bucket empty, free bucket holding items: the buckets trade
    places inside the critical section, and the item freed last comes back."""
    sim = Sim(cpus=2, invariants=False)
    z = sim.zcreate("z", 256)
    ops = ["alloc z -> x"] + ["free x"] + [f"alloc z -> y{i}" for i in range(16)] + ["yield"]
    sim.spawn("a", ops=ops)
    run_op(sim, "a")                                  # 16 filled, 1 taken
    run_op(sim, "a")                                  # x -> a new free bucket
    assert cache(z, 0) == (15, 1)
    freed = z.items("cache", 0)
    for _ in range(15):
        points, _ev = run_op(sim, "a")
        assert "zalloc_race" not in points
    assert cache(z, 0) == (0, 1)
    x_addr = set(z.items("cache", 0))
    assert len(x_addr) == 1 and x_addr <= set(freed)
    points, ev = run_op(sim, "a")                     # y15: the swap
    assert points == ["critical_exit", "op:yield"]
    assert kinds(ev) == ["op_begin", "op_end"]
    assert cache(z, 0) == (0, 0)                      # both empty now
    assert z.caches[0].alloc_entries == z.caches[0].free_entries == 16
    assert z.items("cache") == []
    assert z.full_buckets == [] and z.free_buckets == []
    assert z.uz_count == 16                           # no miss, no bump


def test_free_swaps_a_full_free_bucket_with_an_emptier_alloc_bucket():
    """Free bucket full, alloc bucket with fewer items: they trade places
    and the item goes into the former alloc bucket; the zone is not
    involved.  (Buckets are sized from uz_count when they are made: the
    refills reuse the first 16 Bucket, the free bucket made at uz_count 18
    is a 32 Bucket.)"""
    sim = Sim(cpus=2, invariants=False)
    z = sim.zcreate("z", 256)
    ops = [f"alloc z -> x{i}" for i in range(33)] + [f"free x{i}" for i in range(33)]
    sim.spawn("a", ops=ops + ["yield"])
    for _ in range(33):
        run_op(sim, "a")
    assert z.uz_count == 18                           # three misses
    assert cache(z, 0) == (15, None) and z.caches[0].alloc_entries == 16
    for _ in range(32):
        points, _ = run_op(sim, "a")
    assert cache(z, 0) == (15, 32) and z.caches[0].free_entries == 32
    points, ev = run_op(sim, "a")                     # free x32: the swap
    assert points == ["zfree_full_check", "critical_exit", "op:yield"]
    assert kinds(ev) == ["op_begin", "full_check", "op_end"]
    assert cache(z, 0) == (32, 16)
    assert (z.caches[0].alloc_entries, z.caches[0].free_entries) == (32, 16)
    assert z.full_buckets == [] and z.free_buckets == []


def test_alloc_refills_from_the_zones_full_bucket_list():
    """A full free bucket that cannot swap goes on the zone's full-bucket
    list; the next cache miss on any vCPU takes that bucket instead of
    filling one from the keg, and does not bump uz_count."""
    sim = Sim(cpus=2, invariants=False)
    z = sim.zcreate("z", 256)
    sim.spawn("p", cpu=0, ops=[f"alloc z -> x{i}" for i in range(33)])
    sim.spawn("f", cpu=1, ops=[f"free x{i}" for i in range(33)] + ["alloc z -> y", "yield"])
    for _ in range(33):
        run_op(sim, "p")
    pages = z.pages
    for i in range(32):
        run_op(sim, "f")
    assert cache(z, 1) == (None, 32) and z.full_buckets == []
    points, ev = run_op(sim, "f")                     # x32: free bucket to the zone
    assert "zfree_race" in points
    assert z.full_buckets == [(32, 32)]
    assert cache(z, 1) == (None, 1)                   # a new free bucket
    assert kinds(ev).count("bucket_alloc") == 1
    count = z.uz_count
    points, ev = run_op(sim, "f")                     # alloc y
    assert "zalloc_race" in points
    assert "zalloc_bucket_alloc" not in points and "slab_zalloc_unlocked" not in points
    assert not {"bucket_alloc", "slab_alloc", "page_alloc"} & set(kinds(ev))
    assert z.full_buckets == []
    # the free bucket (1 item) was not swapped in: FreeBSD 7 swaps only when
    # there is an alloc bucket, and vCPU 1 had none
    assert cache(z, 1) == (31, 1)
    assert z.uz_count == count and z.pages == pages
    assert z.uz_fills == 0


# ---- uz_count ---------------------------------------------------------------

def test_uz_count_grows_by_one_per_cache_miss_up_to_bucket_max():
    """32-byte items: ipers 101, so uz_count starts at 101.  Every alloc
    that misses the caches and finds no full bucket bumps it by one and
    fills a bucket of uz_count items (a 128 Bucket), until BUCKET_MAX."""
    sim = Sim(cpus=1, invariants=False, pages=256, trace="off")
    z = sim.zcreate("z", 32)
    assert (z.geometry.ipers, z.uz_count) == (101, 101)
    n = sum(range(102, 129)) + 1 + 1                  # 27 bumps, then one more miss
    sim.spawn("a", ops=["alloc z -> x{i}"], repeat=n)
    misses = []
    for i in range(n):
        before = z.uz_count
        points, _ = run_op(sim, "a")
        if "zalloc_race" in points:
            c = z.caches[0]
            misses.append((i, before, z.uz_count, c.alloc, c.alloc_entries))
        else:
            assert z.uz_count == before
    counts = [m[2] for m in misses]
    assert counts == list(range(102, 129)) + [128]
    for (i, before, after, left, entries) in misses:
        assert after == min(before + 1, 128)
        assert entries == 128
        assert left == after - 1                      # filled uz_count, one taken
    # the misses came exactly when the previous bucket ran dry
    starts = [m[0] for m in misses]
    assert starts[0] == 0
    assert [b - a for a, b in zip(starts, starts[1:])] == counts[:-1]
    assert z.free_buckets == [] and z.full_buckets == []


def test_small_ipers_zone_fills_uz_count_items_per_miss():
    """1024-byte items: ipers 4 (off-page), uz_count 4.  The misses ask for
    5, 6, 7 items; each fill takes exactly uz_count (the reused 16 Bucket
    has room)."""
    sim = Sim(cpus=1, invariants=False)
    z = sim.zcreate("z", 1024)
    assert (z.geometry.ipers, z.uz_count) == (4, 4)
    sim.spawn("a", ops=["alloc z -> x{i}"], repeat=5 + 6 + 7)
    seen = []
    for _ in range(18):
        points, ev = run_op(sim, "a")
        if "zalloc_race" in points:
            seen.append((z.uz_count, z.caches[0].alloc, z.caches[0].alloc_entries,
                         kinds(ev).count("bucket_alloc")))
    assert seen == [(5, 4, 16, 1), (6, 5, 16, 0), (7, 6, 16, 0)]


def test_maxbucket_starts_at_bucket_max_and_stays():
    sim = Sim(cpus=1, invariants=False, pages=256)
    z = sim.zcreate("z", 1024, flags=["maxbucket"])
    assert (z.geometry.ipers, z.uz_count) == (4, 128)
    sim.spawn("a", ops=["alloc z -> x"])
    points, ev = run_op(sim, "a")
    assert z.uz_count == 128
    assert (z.caches[0].alloc, z.caches[0].alloc_entries) == (127, 128)
    assert z.pages == 32                              # 128 items, 4 a slab
    assert kinds(ev).count("slab_alloc") >= 32


# ---- uz_fills ---------------------------------------------------------------

def fills_race(cpus: int):
    """a starts a bucket fill and drops the zone lock in slab_zalloc (its
    page allocation); b, on a vCPU of its own if there is one, misses its
    cache and tries to fill a bucket meanwhile."""
    sim = Sim(cpus=cpus, invariants=False)
    z = sim.zcreate("z", 256)
    sim.spawn("a", cpu=0, ops=["alloc z -> x", "yield"])
    sim.spawn("b", cpu=cpus - 1, ops=["alloc z -> y", "yield"])
    max_fills = 0
    for _ in range(100):
        p = sim.step("a")
        sim.check()
        max_fills = max(max_fills, z.uz_fills)
        if p == "slab_zalloc_unlocked" and z.uz_fills == 1:
            break
    else:
        raise AssertionError("a never dropped the lock inside its fill")
    assert z.stats["lock_owner"] is None
    start = len(sim.events)
    b_points = []
    while True:
        p = sim.step("b")
        sim.check()
        b_points.append(p)
        assert z.uz_fills <= cpus
        max_fills = max(max_fills, z.uz_fills)
        if p.startswith("op:"):
            break
    b_events = [e for e in sim.events[start:] if e.kind != "step"]
    while sim.thread("a").state != "finished":
        sim.step("a")
        sim.check()
        assert z.uz_fills <= cpus
    return sim, z, b_points, b_events, max_fills


def test_uz_fills_refuses_a_second_fill_on_one_cpu():
    """mp_ncpus = 1: with a's fill in progress (uz_fills 1), b gets a
    bucket but may not fill it: the bucket is freed and b takes one item
    straight from the keg (uma_zalloc_internal, counted in uz_allocs)."""
    sim, z, b_points, b_events, max_fills = fills_race(1)
    assert max_fills == 1
    assert "zalloc_bucket_alloc" in b_points
    k = kinds(b_events)
    assert k.count("bucket_alloc") == 1 and k.count("bucket_free") == 1
    assert k.index("bucket_alloc") < k.index("bucket_free")
    # b's item came from the keg: uz_allocs, not a cache
    assert cache(z, 0)[0] is not None                 # a's bucket, after a finished
    assert zone_allocs(z) == 1 and z.caches[0].allocs == 1
    assert z.uz_fills == 0 and z.full_buckets == []
    assert z.stats["fails"] == 0 and z.stats["used"] == 2


def test_uz_fills_allows_one_fill_per_cpu():
    """mp_ncpus = 2: the same interleaving lets b fill a bucket too
    (uz_fills reaches 2, never more); both end with a cached bucket."""
    sim, z, b_points, b_events, max_fills = fills_race(2)
    assert max_fills == 2
    k = kinds(b_events)
    assert k.count("bucket_alloc") == 1 and "bucket_free" not in k
    assert cache(z, 0)[0] is not None and cache(z, 1)[0] is not None
    assert zone_allocs(z) == 0
    assert z.caches[0].allocs == 1 and z.caches[1].allocs == 1
    assert z.uz_fills == 0 and z.stats["used"] == 2


# ---- migration between critical_exit() and ZONE_LOCK() ----------------------

def test_alloc_migrated_at_zalloc_race_uses_the_new_cpus_cache():
    """a misses on vCPU 0 and stops at zalloc_race (outside the critical
    section); migrated to vCPU 1, whose alloc bucket has items, it re-reads
    curcpu after ZONE_LOCK, sees them, and takes one from vCPU 1's bucket:
    no bucket list, no fill, vCPU 0's cache untouched."""
    sim = Sim(cpus=2)
    z = sim.zcreate("z", 256)
    sim.spawn("c", cpu=1, ops=["alloc z -> w", "yield"])
    sim.spawn("a", cpu=0, ops=["alloc z -> x", "yield"])
    run_op(sim, "c")
    assert cache(z, 1) == (15, None) and cache(z, 0) == (None, None)
    count, pages = z.uz_count, z.pages
    step_to(sim, "a", "zalloc_race")
    assert sim.thread("a").critnest == 0 and sim.thread("a").cpu == 0
    sim.migrate("a", 1)
    start = len(sim.events)
    points, _ = run_op(sim, "a")
    assert sim.thread("a").cpu == 1
    ev = [e for e in sim.events[start:] if e.kind != "step"]
    assert [(e.kind, e.a, e.b) for e in ev if e.kind == "migration"] == [("migration", 0, 1)]
    assert "zalloc_bucket_alloc" not in points and "zalloc_race" not in points
    assert not {"bucket_alloc", "slab_alloc", "page_alloc"} & set(kinds(ev))
    assert cache(z, 1) == (14, None) and z.caches[1].allocs == 2
    assert cache(z, 0) == (None, None) and z.caches[0].allocs == 0
    assert z.uz_count == count and z.pages == pages   # no bump, no fill
    assert z.full_buckets == [] and z.free_buckets == []
    assert z.stats["used"] == 2


def test_free_migrated_at_zfree_race_uses_the_new_cpus_cache():
    """a frees on vCPU 0, which has no free bucket, and stops at
    zfree_race; migrated to vCPU 1, whose free bucket has room, the
    re-check after ZONE_LOCK puts the item there: no new bucket."""
    sim = Sim(cpus=2)
    z = sim.zcreate("z", 256)
    sim.spawn("c", cpu=1, ops=["alloc z -> w", "alloc z -> v", "free v", "yield"])
    sim.spawn("a", cpu=0, ops=["free w", "yield"])
    for _ in range(3):
        run_op(sim, "c")
    assert cache(z, 1) == (14, 1) and cache(z, 0) == (None, None)
    step_to(sim, "a", "zfree_race")
    assert sim.thread("a").critnest == 0
    sim.migrate("a", 1)
    start = len(sim.events)
    points, _ = run_op(sim, "a")
    ev = [e for e in sim.events[start:] if e.kind != "step"]
    assert sim.thread("a").cpu == 1
    assert kinds(ev).count("migration") == 1
    assert "zfree_bucket_alloc" not in points
    assert "bucket_alloc" not in kinds(ev)
    assert cache(z, 1) == (14, 2)
    assert cache(z, 0) == (None, None) and z.caches[0].frees == 0
    assert z.free_buckets == [] and z.full_buckets == []
    assert z.stats["used"] == 0


def test_without_the_recheck_the_migrated_alloc_panics():
    """The same schedule with the no_recheck bug switch (the re-check after
    ZONE_LOCK removed): a puts vCPU 1's non-empty alloc bucket on the
    zone's free list, which INVARIANTS catches."""
    sim = Sim(cpus=2, bugs=["no_recheck"])
    sim.zcreate("z", 256)
    sim.spawn("c", cpu=1, ops=["alloc z -> w", "yield"])
    sim.spawn("a", cpu=0, ops=["alloc z -> x", "yield"])
    run_op(sim, "c")
    step_to(sim, "a", "zalloc_race")
    sim.migrate("a", 1)
    res = sim.run(steps=["a"] * 5)
    assert res.outcome == "panic"
    assert "Freeing a non free bucket" in res.panic
