"""The decision log (csrc/kern/events.c): a default decision (0) is
recorded by counting it, into entries kept at 0, and only other decisions
are written.  What the log reads back must not show it: the decisions of
runs, restores and growth are exactly those taken."""

from umasim import Sim


def build():
    sim = Sim(cpus=2)
    sim.zcreate("z", 64)
    sim.spawn("a", cpu=0, ops=["lock m", "alloc z -> x", "yield", "free x", "unlock m"],
              repeat=3000)
    sim.spawn("b", cpu=1, ops=["alloc z -> y", "lock m", "free y", "unlock m"], repeat=3000)
    return sim


def test_defaults_after_a_restore_read_back_as_zeros():
    sim = build()
    start = sim.snapshot()
    busy = sim.run(policy="random", seed=3, max_steps=700).decisions
    assert sum(d != 0 for d in busy) > 100
    sim.restore(start)
    assert sim.decisions == []
    quiet = sim.run(max_steps=700)
    assert quiet.decisions == [0] * 700
    assert sim.decisions == [0] * 700
    fresh = build()
    assert fresh.run(max_steps=700).decisions == quiet.decisions
    assert fresh.digest() == sim.digest()


def test_a_restore_to_a_longer_log_puts_its_decisions_back():
    sim = build()
    start = sim.snapshot()
    sim.run(max_steps=300)
    sim.run(policy="random", seed=5, max_steps=200)
    later = sim.snapshot()
    taken = sim.decisions
    assert taken[:300] == [0] * 300 and any(taken[300:])
    sim.restore(start)
    sim.run(max_steps=40)
    sim.restore(later)
    assert sim.decisions == taken
    sim.run(max_steps=100)
    assert sim.decisions[:500] == taken


def test_decisions_survive_the_log_growing_around_long_runs_of_defaults():
    sim = build()
    pieces = []
    for policy, steps in [("sequential", 5000), ("random", 300), ("sequential", 9000),
                          ("random", 300), ("sequential", 3)]:
        res = sim.run(policy=policy, seed=len(pieces), max_steps=steps)
        assert res.steps == steps
        pieces.append(res.decisions)
    every = [d for p in pieces for d in p]
    assert sim.decisions == every
    assert every[:5000] == [0] * 5000 and any(every[5000:5300])
    again = build()
    assert again.run(decisions=every, max_steps=len(every)).decisions == every
    assert again.digest() == sim.digest()


def test_a_run_result_reads_its_decisions_from_its_own_copy():
    """Sim.run() copies the run's decisions out of the log at its end (as
    4-byte words, made a list when first read): a later run or a restore
    does not change them, and preemptions counts the non-zero ones."""
    sim = build()
    start = sim.snapshot()
    first = sim.run(max_steps=100)
    res = sim.run(policy="random", seed=7, max_steps=400)
    taken = sim.decisions[100:]
    sim.restore(start)
    sim.run(policy="random", seed=8, max_steps=900)
    assert res.decisions == taken and len(taken) == 400
    assert res.preemptions == sum(d != 0 for d in taken) > 0
    assert first.decisions == [0] * 100 and first.preemptions == 0
    again = build()
    again.run(max_steps=100)
    assert again.run(policy="random", seed=7, max_steps=400) == res
