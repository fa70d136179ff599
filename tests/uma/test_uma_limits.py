"""A keg at its page limit (uma_zone_set_max), one mechanism per test:
allocators sleeping in "zonelimit" and every one of them
woken by a free; frees bypassing the per-CPU caches while the keg is FULL;
and the zonelimit deadlock with free items stranded in another vCPU's
buckets.

256-byte items: 15 to a slab, so "setmax z 15" is one page.  The first
alloc fills a bucket with the whole slab; asking the keg for a second slab
(M_NOWAIT within the fill) finds the limit and marks the keg FULL."""

from __future__ import annotations

from umasim import Sim


def advance(sim: Sim, name: str, limit: int = 200):
    """Steps `name` until its next op begins, it finishes, or it stops
    running (asleep, blocked); check() after every step.  Returns the
    points and the non-step events of those steps."""
    start = len(sim.events)
    points = []
    for _ in range(limit):
        p = sim.step(name)
        sim.check()
        points.append(p)
        if p.startswith("op:") or p == "exit" or sim.thread(name).state != "runnable":
            return points, [e for e in sim.events[start:] if e.kind != "step"]
    raise AssertionError(f"{name} did not get anywhere: {points}")


def kinds(events):
    return [e.kind for e in events]


def vmstat(sim: Sim, name: str):
    return next(r for r in sim.vmstat() if r.name == name)


def full_keg(cpus=2, bugs=()):
    """A Sim and its 256-byte zone "z".  The programs below start with
    "setmax z 15" and "alloc z -> x" on vCPU 0, after which the keg is FULL,
    with 14 free items in that vCPU's alloc bucket and none in the keg."""
    sim = Sim(cpus=cpus, bugs=bugs)
    z = sim.zcreate("z", 256)
    return sim, z


def test_setmax_and_the_fill_that_marks_the_keg_full():
    sim, z = full_keg()
    sim.spawn("a", cpu=0, ops=["setmax z 15", "alloc z -> x", "yield"])
    advance(sim, "a")                                 # setmax
    assert (z.stats["maxpages"], z.limit) == (1, 15)
    assert not z.full
    points, ev = advance(sim, "a")                    # alloc x
    assert z.full and z.pages == 1 and z.keg_free == 0
    assert z.caches[0].alloc == 14
    assert kinds(ev).count("page_alloc") == 1         # one slab, no more
    row = vmstat(sim, "z")
    assert (row.limit, row.used, row.free, row.requests, row.failures) == (15, 1, 14, 1, 0)


def test_full_keg_sleepers_are_all_woken_by_a_free():
    """b and c (vCPU 1) miss their caches, the keg has no free item and no
    page to spare: both sleep on the keg in "zonelimit".  a's free goes
    straight to the slab and wakes both (wakeup, not wakeup_one); one of
    them gets the item, the other finds the keg empty and sleeps again."""
    sim, z = full_keg()
    sim.spawn("a", cpu=0, ops=["setmax z 15", "alloc z -> x", "free x", "yield"])
    sim.spawn("b", cpu=1, ops=["alloc z -> y", "yield"])
    sim.spawn("c", cpu=1, ops=["alloc z -> w", "yield"])
    advance(sim, "a")
    advance(sim, "a")
    assert z.full
    _, bev = advance(sim, "b")
    _, cev = advance(sim, "c")
    sleeps = [e for e in bev + cev if e.kind == "sleep"]
    assert [e.thread for e in sleeps] == ["b", "c"]
    keg_chan = sleeps[0].a
    assert sleeps[1].a == keg_chan
    for name in ("b", "c"):
        t = sim.thread(name)
        assert (t.state, t.wmesg) == ("asleep", "zonelimit")
    assert z.uz_fills == 2                            # both inside a fill

    points, ev = advance(sim, "a")                    # free x
    assert "zfree_race" not in points and "critical_enter" not in points
    fc = [e for e in ev if e.kind == "full_check"]
    assert [(e.a, e.b) for e in fc] == [(keg_chan, 1)]
    assert [(e.a, e.b) for e in ev if e.kind == "wakeup"] == [(keg_chan, 2)]
    assert "wakeup" in points and "wakeup_one" not in points
    assert [sim.thread(n).state for n in ("b", "c")] == ["runnable", "runnable"]
    assert z.keg_free == 1 and len(z.items("slab")) == 1
    assert z.caches[0].alloc == 14 and z.caches[0].free is None
    assert z.full                                     # still at the limit

    _, bev = advance(sim, "b")                        # b gets the one item
    assert sim.thread("b").state == "runnable" and z.keg_free == 0
    assert z.caches[1].alloc == 0                     # a bucket of one, taken
    _, cev = advance(sim, "c")                        # c: nothing left, sleeps again
    assert (sim.thread("c").state, sim.thread("c").wmesg) == ("asleep", "zonelimit")
    assert [e.a for e in cev if e.kind == "sleep"] == [keg_chan]
    res = sim.run()
    assert res.outcome == "deadlock"
    assert res.waiting == [f"c: asleep on 'zonelimit' (channel {keg_chan:#x})"]
    assert z.uz_fills == 1                            # c's fill, asleep


def test_wakeup_one_bug_leaves_the_second_sleeper_asleep():
    """The same schedule with the 6.x wakeup_one(keg): one sleeper woken."""
    sim, z = full_keg(bugs=["wakeup_one"])
    sim.spawn("a", cpu=0, ops=["setmax z 15", "alloc z -> x", "free x", "yield"])
    sim.spawn("b", cpu=1, ops=["alloc z -> y", "yield"])
    sim.spawn("c", cpu=1, ops=["alloc z -> w", "yield"])
    advance(sim, "a")
    advance(sim, "a")
    advance(sim, "b")
    advance(sim, "c")
    points, ev = advance(sim, "a")
    assert "wakeup_one" in points
    assert [e.b for e in ev if e.kind == "wakeup"] == [1]
    assert [sim.thread(n).state for n in ("b", "c")] == ["runnable", "asleep"]


def test_frees_bypass_the_caches_while_the_keg_is_full():
    """The unlocked UMA_ZFLAG_FULL test in uma_zfree_arg reads 1: the item
    goes back to its slab (uma_zfree_internal), not into a bucket, and the
    free is counted in uz_frees.  Once the limit is lifted (setmax higher)
    a free on a keg below its limit goes to the cache again."""
    sim, z = full_keg()
    sim.spawn("a", cpu=0, ops=["setmax z 15", "alloc z -> x", "alloc z -> y",
                               "free x", "setmax z 30", "alloc z -> v", "free y", "yield"])
    advance(sim, "a")
    advance(sim, "a")
    advance(sim, "a")
    assert z.full and z.caches[0].alloc == 13 and z.keg_free == 0
    in_cache = set(z.items("cache", 0))
    frees = z.stats["frees"]

    points, ev = advance(sim, "a")                    # free x, keg FULL
    assert "zfree_full_check" in points
    assert "zfree_race" not in points and "critical_enter" not in points
    assert [(e.kind, e.b) for e in ev if e.kind == "full_check"] == [("full_check", 1)]
    assert "bucket_alloc" not in kinds(ev)
    assert [e.b for e in ev if e.kind == "wakeup"] == [0]    # wakeup(keg): nobody asleep
    assert z.caches[0].alloc == 13 and z.caches[0].free is None
    assert z.caches[0].frees == 0 and z.stats["frees"] == frees + 1
    assert z.keg_free == 1
    slab_items = z.items("slab")
    assert len(slab_items) == 1 and not set(slab_items) & in_cache
    assert z.full

    advance(sim, "a")                                 # setmax 30: two pages
    assert z.stats["maxpages"] == 2
    assert z.full                                     # only a free or alloc clears it
    advance(sim, "a")                                 # alloc v: from the cache
    assert z.caches[0].alloc == 12
    points, ev = advance(sim, "a")                    # free y
    assert [e.b for e in ev if e.kind == "full_check"] == [1]
    assert not z.full                                 # pages 1 < maxpages 2 now
    assert z.keg_free == 2
    sim.run()
    assert sim.outcome == "completed"
    sim.check()


def test_full_bypass_bug_frees_into_the_cache_while_full():
    """With the full_bypass switch the FULL test is ignored: the same free
    goes into a (new) free bucket on vCPU 0 and the keg gets nothing back."""
    sim, z = full_keg(bugs=["full_bypass"])
    sim.spawn("a", cpu=0, ops=["setmax z 15", "alloc z -> x", "free x", "yield"])
    advance(sim, "a")
    advance(sim, "a")
    points, ev = advance(sim, "a")
    assert [e.b for e in ev if e.kind == "full_check"] == [1]
    assert "zfree_race" in points
    assert z.caches[0].free == 1 and z.keg_free == 0


def test_zonelimit_deadlock_with_items_stranded_in_another_cpus_buckets():
    """a (vCPU 0) takes one item and leaves 14 in its alloc bucket; b
    (vCPU 1) needs one, the keg is at its limit and has none: b sleeps in
    "zonelimit" and nothing will ever free to the keg.  vmstat shows the
    zone's free items all the same."""
    sim, z = full_keg()
    sim.spawn("a", cpu=0, ops=["setmax z 15", "alloc z -> x"])
    sim.spawn("b", cpu=1, ops=["alloc z -> y"])
    res = None
    for _ in range(500):                              # the sequential schedule,
        res = sim.run(decisions=[0], max_steps=1)     # one step at a time
        sim.check()
        if res.outcome != "step_limit":
            break
    assert res.outcome == "deadlock"
    assert sim.thread("a").state == "finished"
    assert len(res.waiting) == 1 and res.waiting[0].startswith("b: asleep on 'zonelimit'")
    assert "zonelimit" in res.waiting[0]
    row = vmstat(sim, "z")
    assert (row.limit, row.used, row.free, row.requests, row.failures) == (15, 1, 14, 1, 0)
    assert len(z.items("cache", 0)) == 14 and z.items("cache", 1) == []
    assert z.keg_free == 0 and z.full and z.pages == 1
    again = sim.run()
    assert again.outcome == "deadlock" and again.steps == 0
