"""The canonical record of the policies that choose without the default's
index (random, pct, roundrobin; csrc/kern/sched.c, sched_choose): a step
that runs the default thread -- the one that ran last, while it can, else
the first runnable one -- is recorded as 0, as the script policy, which
decides by that index, records it.  So a replay of the record records
the same list, across many words of threads and vCPUs held in critical
sections."""

import pytest

from umasim import Sim


def build(nthreads, cpus=3):
    sim = Sim(cpus=cpus)
    for i in range(nthreads):
        ops = (["crit_enter", "yield", "crit_exit", "yield"] if i % 7 == 3 else
               ["lock m", "yield", "unlock m"] if i % 5 == 1 else ["yield", "yield"])
        sim.spawn(f"t{i}", cpu=i % cpus, ops=ops, repeat=3)
    return sim


@pytest.mark.parametrize("nthreads", [3, 70, 200])
@pytest.mark.parametrize("policy,kw", [("random", {"migrate": 0.3}), ("random", {}),
                                       ("pct", {"depth": 3}), ("roundrobin", {})])
def test_a_replay_records_the_same_decisions(nthreads, policy, kw):
    for seed in range(3):
        sim = build(nthreads)
        res = sim.run(policy=policy, seed=seed, **kw)
        assert res.outcome == "completed"
        zeros = res.decisions.count(0)
        assert 0 < zeros < res.steps or policy == "roundrobin"
        twin = build(nthreads)
        again = twin.run(decisions=res.decisions)
        assert again.decisions == res.decisions
        assert twin.digest() == sim.digest()


def test_a_decision_runs_the_runnable_thread_of_its_index():
    """Decision 1 + i runs the i-th runnable thread in tid order (found by
    a select over the runnable set's words and bytes; sim.runnable() lists
    them by a plain scan), for every i, with gaps, across five words."""
    sim = Sim(cpus=2)
    for i in range(260):
        sim.spawn(f"t{i}", cpu=i % 2, ops=["yield"] * (1 if i % 3 == 0 else 4))
    sim.run(policy="random", seed=1, max_steps=400)     # a third are done
    runnable = sim.runnable()
    assert 100 < len(runnable) < 200 and runnable[-1] == "t259"
    start = sim.snapshot()
    for i, name in enumerate(runnable):
        sim.restore(start)
        step = sim.steps
        sim.run(decisions=[1 + i], max_steps=1)
        assert [e.thread for e in sim.events if e.kind == "step" and e.step > step] == [name]
