"""Scale (docs/design.md, "Limits"): thousands of threads in one simulation,
and the indexes that keep a step's cost independent of their number (the
runnable set, wait queues, timed sleepers) rebuilt exactly by a restore."""

import pytest

from umasim import Sim
from umasim.bindings import MAXTHREADS
from umasim.errors import TooMany


def test_thousands_of_threads_run_to_completion():
    """Every thread slot up to the limit takes a program and runs it; one
    more is refused with the limit in the message."""
    assert MAXTHREADS >= 4096
    sim = Sim(cpus=4, trace="off")
    kernel = len(sim.threads)
    for i in range(MAXTHREADS - kernel):
        sim.spawn(f"t{i}", cpu=i % 4, ops=["yield"])
    with pytest.raises(TooMany, match=str(MAXTHREADS)):
        sim.spawn("one-too-many", ops=["yield"])
    r = sim.run(policy="random", seed=1)
    assert r.outcome == "completed"
    assert all(t.state == "finished" for t in sim.threads if not t.kernel)


def spawn_crowd(sim, n=80):
    """n threads (more than one chunk of the thread table, more than one
    64-bit word of the runnable set) that sleep on a zone's limit, on a
    channel with and without a timeout, block on a mutex and wait for
    variables, so that a snapshot catches them on every kind of queue."""
    sim.zcreate("lim", 256, max=3)
    for i in range(n):
        k = i % 4
        if k == 0:
            ops = ["alloc lim -> a{i}", "yield", "free a{i}"]
        elif k == 1:
            ops = ["tsleep c 3", "lock m", "yield", "unlock m"]
        elif k == 2:
            ops = [f"free h{i}", "wakeup c"]
        else:
            ops = [f"alloc lim -> h{i - 1}", "tsleep c", "lock m", "unlock m"]
        sim.spawn(f"t{i}", cpu=i % 2, ops=ops)
    sim.spawn("waker", cpu=1, ops=["sleep 5", "wakeup c"], repeat=8)


def test_restore_rebuilds_the_queues():
    """A run snapshotted mid-way with threads asleep (zonelimit, timed and
    untimed), blocked and waiting, restored and run on, is the same run as
    one never interrupted: same decisions, events and digest."""
    sim = Sim(cpus=2)
    spawn_crowd(sim)
    sim.run(policy="random", seed=7, migrate=0.2, max_steps=300)
    states = {t.state for t in sim.threads}
    assert {"asleep", "blocked"} & states or "waiting" in states, states
    snap = sim.snapshot()
    first = sim.run(policy="random", seed=8, migrate=0.2, max_steps=20000)
    seen = (first.outcome, first.decisions, sim.events, sim.digest())
    sim.restore(snap)
    again = sim.run(policy="random", seed=8, migrate=0.2, max_steps=20000)
    assert (again.outcome, again.decisions, sim.events, sim.digest()) == seen

    fresh = Sim(cpus=2)
    spawn_crowd(fresh)
    r = fresh.run(decisions=sim.decisions)
    assert r.steps == len(sim.decisions)
    assert fresh.events == sim.events and fresh.digest() == sim.digest()


def many_zones(n):
    """A Sim with n zones; the last two with callbacks of their own."""
    sim = Sim(cpus=2, pages=4096, kmem_pages=8192)
    for i in range(n - 2):
        sim.zcreate(f"z{i}", 64)
    sim.zcreate("failing", 64, ctor="fail_every 2")
    sim.zcreate("sleepy", 64, ctor="sleep 2")
    return sim


def test_a_thousand_zones_each_with_its_callbacks():
    """Every zone slot up to the limit has callbacks of its own (a fail
    counter, a sleep channel); one more zone is refused, naming the limit;
    the digest names the slot's callbacks, and the sleep channel is a
    simulated object's canonical address (kern_canon), not an unknown one."""
    from umasim.bindings import MAXZONES
    assert MAXZONES >= 1024
    sim = many_zones(MAXZONES)
    with pytest.raises(TooMany, match=str(MAXZONES)):
        sim.zcreate("one_too_many", 64)
    sim.spawn("a", ops=["alloc failing -> x", "alloc failing -> y", "alloc sleepy -> s",
                        "free x", "free s"])
    snap = sim.snapshot()
    r = sim.run()
    assert r.outcome == "completed"
    assert sim.variables()["y"] == "null" and sim.variables()["x"] != "null"
    sleeps = [e for e in sim.events if e.kind == "sleep"]
    assert sleeps and all(e.a >> 60 != 0x4 for e in sleeps)
    after = (sim.digest(), sim.events)
    # The fail counter of a slot past the 64th comes back with a restore.
    sim.restore(snap)
    sim.run()
    assert (sim.digest(), sim.events) == after
    other = many_zones(MAXZONES)
    other.spawn("a", ops=["alloc failing -> x", "alloc failing -> y", "alloc sleepy -> s",
                          "free x", "free s"])
    other.run()
    assert other.digest() == sim.digest()
