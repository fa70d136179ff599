"""Pending sim.migrate() calls under a policy run: each folds into the
first step its thread takes, whichever policy chose it, and a restore
brings back the ones pending at its snapshot (the scheduler counts them,
csrc/kern/sched.c, and reads a thread's only while some are)."""

import pytest

from umasim import Sim


def migrations(sim):
    return [(e.thread, e.a, e.b) for e in sim.events if e.kind == "migration"]


def build():
    sim = Sim(cpus=3)
    for name in "abcd":
        sim.spawn(name, cpu=0, ops=["yield"] * 4)
    return sim


@pytest.mark.parametrize("policy", ["random", "roundrobin", "pct", "sequential"])
def test_each_pending_migration_folds_into_its_threads_first_step(policy):
    sim = build()
    sim.migrate("b", 1)
    sim.migrate("d", 2)
    sim.migrate("d", 1)                 # replaces the pending one
    res = sim.run(policy=policy, seed=4)
    assert res.outcome == "completed"
    assert sorted(migrations(sim)) == [("b", 0, 1), ("d", 0, 1)]
    assert (sim.thread("b").cpu, sim.thread("d").cpu) == (1, 1)
    first = {}
    for e in sim.events:
        if e.kind == "step":
            first.setdefault(e.thread, e.step)
    for e in sim.events:
        if e.kind == "migration":
            assert e.step == first[e.thread]
    twin = build()
    assert twin.run(decisions=res.decisions).decisions == res.decisions
    assert twin.digest() == sim.digest()


def test_a_restore_brings_back_the_pending_migrations():
    sim = build()
    sim.migrate("c", 2)
    snap = sim.snapshot()
    first = sim.run(policy="random", seed=9)
    assert migrations(sim) == [("c", 0, 2)]
    sim.restore(snap)
    again = sim.run(policy="random", seed=9)
    assert again.decisions == first.decisions
    assert sim.thread("c").cpu == 2
    # and one consumed before a snapshot stays consumed after its restore
    sim = build()
    sim.migrate("a", 1)
    sim.run(policy="random", seed=2, max_steps=8)
    assert sim.thread("a").cpu == 1
    snap = sim.snapshot()
    sim.run(policy="random", seed=3)
    sim.restore(snap)
    n = len(migrations(sim))
    sim.run(policy="random", seed=5)
    assert len(migrations(sim)) == n
