"""Snapshots (docs/design.md, "Snapshots"): snapshot/restore in place, reset to
the post-creation state, fork, and their corner cases (other Sims, threads
and names made after a snapshot, panics, restoring a later snapshot after
an earlier one)."""

import pytest

from umasim import Sim
from umasim.errors import SimPanicked

CFG = dict(cpus=2, pages=4, kmem_pages=12, free_min=1)


def spawn_workers(sim):
    """Threads that contend for pages, a mutex and a hand-off variable, so
    that snapshots catch them inside kmem_malloc's vmwait, blocked on m, or
    waiting for v."""
    sim.spawn("a", cpu=0, ops=["kmem_alloc 8192 -> x{i}", "lock m", "yield",
                               "unlock m", "kmem_free x{i}"], repeat=3)
    sim.spawn("b", cpu=1, ops=["kmem_alloc 4096 -> y{i}", "lock m", "tsleep c 2",
                               "unlock m", "kmem_free y{i}"], repeat=3)
    sim.spawn("p", cpu=1, ops=["vm_fail 1", "kmem_alloc 8192 -> v", "sleep 3",
                               "kmem_alloc 4096 nowait -> n"])
    sim.spawn("q", cpu=0, ops=["kmem_free v", "kmem_free n"])


def fresh(decisions, cfg=CFG, spawn=spawn_workers):
    sim = Sim(**cfg)
    spawn(sim)
    r = sim.run(decisions=decisions)
    return sim, r


def observe(sim):
    """Everything a caller can see of a Sim."""
    return dict(digest=sim.digest(), decisions=sim.decisions, events=sim.events,
                console=sim.console, threads=sim.threads, steps=sim.steps,
                ticks=sim.ticks, panic=sim.panic, runnable=sim.runnable())


def test_restore_gives_back_everything():
    """A snapshot mid-run, then the run goes on (to a panic, with a console
    line): restore gives back the same digest, decisions, events, console,
    threads, time and runnable set."""
    sim = Sim(**CFG)
    spawn_workers(sim)
    sim.run(policy="random", seed=3, max_steps=9)
    asleep_or_blocked = {t.state for t in sim.threads if not t.kernel}
    snap = sim.snapshot()
    seen = observe(sim)
    sim.spawn("boom", ops=["kmem_alloc 999999 -> z"])
    r = sim.run(policy="random", seed=4)
    assert r.outcome == "panic" and sim.console
    sim.restore(snap)
    assert observe(sim) == seen
    assert asleep_or_blocked - {"runnable"}, "the snapshot should catch threads mid-op"


def test_restore_then_same_policy_identical_runs():
    """Restoring twice and running the same policy gives identical runs;
    and the same as a fresh Sim run with the snapshot's decisions plus the
    run's (threads resumed from restored stacks behave as never stopped)."""
    sim = Sim(**CFG)
    spawn_workers(sim)
    sim.run(policy="random", seed=5, migrate=0.5, max_steps=7)
    snap = sim.snapshot()
    results = []
    for _ in range(3):
        sim.restore(snap)
        r = sim.run(policy="random", seed=99, migrate=0.5)
        results.append((r.outcome, r.decisions, observe(sim)))
    assert results[0] == results[1] == results[2]
    other, _ = fresh(results[0][2]["decisions"])
    assert observe(other) == results[0][2]
    # A different policy from the same snapshot takes another path.
    sim.restore(snap)
    r = sim.run(policy="roundrobin")
    assert r.decisions != results[0][1]
    other, _ = fresh(sim.decisions)
    assert other.digest() == sim.digest() and other.events == sim.events


def test_restore_is_repeatable_from_every_step():
    """A snapshot after every step of a run; restoring each one and running
    the sequential policy to the end gives what a fresh Sim gets from the
    same decisions."""
    sim = Sim(**CFG)
    spawn_workers(sim)
    snaps = []
    while True:
        snaps.append(sim.snapshot())
        r = sim.run(policy="random", seed=21, max_steps=1)
        if r.outcome != "step_limit":
            break
    for snap in reversed(snaps[::3]):
        sim.restore(snap)
        sim.run()
        other, _ = fresh(sim.decisions)
        assert other.digest() == sim.digest(), len(sim.decisions)


def test_fork_mid_run_is_independent():
    """A fork mid-run starts equal to the original; each is then driven
    differently, and each equals a fresh Sim run with its decisions."""
    sim = Sim(**CFG)
    spawn_workers(sim)
    sim.run(policy="random", seed=8, max_steps=6)
    sim.migrate("a", 1)
    twin = sim.fork()
    assert observe(twin) == observe(sim)
    r1 = sim.run(policy="random", seed=1, migrate=0.4)
    d_twin_before = twin.digest()
    r2 = twin.run(policy="roundrobin")
    assert twin.decisions != sim.decisions
    assert d_twin_before != twin.digest() or r2.steps == 0
    for s, r in ((sim, r1), (twin, r2)):
        other, ro = fresh(s.decisions)
        assert ro.outcome == r.outcome
        assert other.digest() == s.digest()
        assert other.events == s.events and other.console == s.console


def test_fork_after_restore_and_of_a_fresh_sim():
    sim = Sim(**CFG)
    assert sim.fork().digest() == sim.digest()
    spawn_workers(sim)
    snap = sim.snapshot()
    sim.run(policy="random", seed=2)
    sim.restore(snap)
    sim.run(policy="random", seed=3, max_steps=5)
    twin = sim.fork()
    assert observe(twin) == observe(sim)


def test_restore_snapshot_of_another_sim_raises():
    a, b = Sim(**CFG), Sim(**CFG)
    spawn_workers(a)
    spawn_workers(b)
    b.run(max_steps=3)
    d = b.digest()
    with pytest.raises(ValueError, match="another simulation"):
        b.restore(a.snapshot())
    assert b.digest() == d
    with pytest.raises(TypeError):
        b.restore("not a snapshot")


def test_reset_returns_to_post_creation_state():
    for cfg in (CFG, dict(pages=3, pagedaemon=True, free_min=2)):
        sim = Sim(**cfg)
        created = observe(sim)
        spawn_workers(sim)
        sim.run(policy="random", seed=4)
        assert sim.events
        sim.reset()
        assert observe(sim) == created
        # Names are free again and the Sim runs like a new one.
        spawn_workers(sim)
        r = sim.run(policy="random", seed=4)
        other = Sim(**cfg)
        spawn_workers(other)
        assert other.run(policy="random", seed=4) == r
        assert observe(other) == observe(sim)


def test_threads_spawned_after_snapshot_disappear():
    sim = Sim(**CFG)
    sim.spawn("a", ops=["kmem_alloc 4096 -> x", "yield", "kmem_free x"])
    sim.step("a")
    snap = sim.snapshot()
    sim.spawn("late", cpu=1, ops=["kmem_alloc 8192 -> late_v", "lock late_m", "tsleep late_c"])
    sim.run()
    sim.restore(snap)
    assert [t.name for t in sim.threads] == ["softclock", "a"]
    with pytest.raises(ValueError, match="unknown thread"):
        sim.thread("late")
    with pytest.raises(ValueError):
        sim.step("late")
    # The name, and the slot, can be used again, with another program.
    sim.spawn("late", cpu=0, ops=["lock late_m", "kmem_alloc 4096 -> w", "unlock late_m"])
    assert sim.run().outcome == "completed"
    other = Sim(**CFG)
    other.spawn("a", ops=["kmem_alloc 4096 -> x", "yield", "kmem_free x"])
    other.step("a")
    other.spawn("late", cpu=0, ops=["lock late_m", "kmem_alloc 4096 -> w", "unlock late_m"])
    other.run()
    assert observe(other) == observe(sim)


def test_restore_later_snapshot_after_earlier_one_keeps_names():
    """Snapshots A (empty) and B (threads a, w; mutex m, channel c, variable
    x); restore A, make other objects in the same slots (b, n, d, y);
    restore B: threads, mutexes, channels and variables have their B names
    again, in Python and in the core's messages."""
    sim = Sim(pages=3)
    A = sim.snapshot()
    sim.spawn("a", ops=["lock m", "tsleep c", "kmem_alloc 4096 -> x", "unlock m",
                        "kmem_free x", "kmem_free x"])
    sim.spawn("w", ops=["lock m", "unlock m"])
    B = sim.snapshot()
    sim.restore(A)
    sim.spawn("b", ops=["lock n", "tsleep d", "kmem_alloc 4096 -> y", "unlock n"])
    sim.run()
    sim.restore(B)
    assert [t.name for t in sim.threads] == ["softclock", "a", "w"]
    sim.step("a")
    sim.step("w")
    sim.step("a")
    a, w = sim.thread("a"), sim.thread("w")
    assert (a.wmesg, a.wchan) == ("c", "c")
    assert (w.mutex, w.mutex_owner) == ("m", "a")
    assert {e.thread for e in sim.events if e.step > 0} == {"a", "w"}
    r = sim.run()
    assert r.outcome == "deadlock"            # nobody wakes c
    assert r.waiting == ["a: asleep on 'c' (channel c)", "w: blocked on mutex m owned by a"]
    # A double free of x names x, not the y that took its slot in between.
    sim.restore(B)
    sim.spawn("k", ops=["wakeup c"])
    assert sim.run().outcome == "panic"
    assert sim.panic == "double free of x"


def test_restore_after_panic_runs_on():
    """A panicked Sim refuses to step; restored to a snapshot before the
    panic it runs on, and matches a Sim that never panicked."""
    sim = Sim(**CFG)
    spawn_workers(sim)
    sim.run(policy="random", seed=6, max_steps=8)
    snap = sim.snapshot()
    sim.spawn("boom", ops=["yield", "crit_exit"])
    assert sim.run(steps=["boom", "boom"]).outcome == "panic"
    assert sim.panic == "crit_exit outside a critical section in thread boom"
    with pytest.raises(SimPanicked):
        sim.step()
    with pytest.raises(SimPanicked):
        sim.run()
    after = sim.snapshot()
    sim.restore(snap)
    assert sim.panic is None and sim.console == [] and sim.outcome != "panic"
    r = sim.run(policy="random", seed=7)
    assert r.outcome in ("completed", "deadlock")
    other, ro = fresh(sim.decisions)
    assert ro.outcome == r.outcome and observe(other) == observe(sim)
    # A snapshot of the panicked state restores to a panicked Sim.
    sim.restore(after)
    assert sim.panic == "crit_exit outside a critical section in thread boom"
    assert sim.console == ["panic: " + sim.panic]
    with pytest.raises(SimPanicked):
        sim.step()


def test_snapshots_are_independent_of_later_changes():
    """A snapshot is a copy: running, restoring other snapshots and
    dropping the Python handles of others leaves it intact."""
    sim = Sim(**CFG)
    spawn_workers(sim)
    snaps, seen = [], []
    for seed in range(4):
        sim.run(policy="random", seed=seed, max_steps=4)
        snaps.append(sim.snapshot())
        seen.append(observe(sim))
    for i in (2, 0, 3, 1, 1):
        sim.restore(snaps[i])
        assert observe(sim) == seen[i]
        sim.run(policy="random", seed=40 + i)
    del snaps[1:3]
    sim.restore(snaps[0])
    assert observe(sim) == seen[0]
