"""Determinism: equal inputs give equal decisions, events and digests, in
one process and across processes, however the host splits the run."""

import json
import os
import subprocess
import sys

from umasim import Sim

from kernhelp import event_tuples, stepwise

SCENARIO = r'''
from umasim import Sim

def build():
    sim = Sim(cpus=3)
    sim.spawn("a", cpu=0, ops=["lock m", "tsleep q 7", "unlock m", "wakeup r", "yield"], repeat=3)
    sim.spawn("b", cpu=1, ops=["crit_enter", "yield", "crit_exit", "lock m", "sleep 3",
                               "unlock m"], repeat=3)
    sim.spawn("c", cpu=2, ops=["tsleep r 20", "wakeup q", "lock n", "yield", "unlock n"],
              repeat=4)
    sim.spawn("d", cpu=0, ops=["lock n", "yield", "unlock n", "wakeup q"], repeat=5)
    return sim

def result(sim, res):
    return {"outcome": res.outcome, "decisions": res.decisions, "digest": sim.digest(),
            "ticks": sim.ticks, "events": [[e.step, e.tick, e.kind, e.thread, e.cpu,
                                            e.point, e.a, e.b] for e in sim.events]}

def runs():
    out = []
    for seed in range(4):
        sim = build()
        out.append(result(sim, sim.run(policy="random", seed=seed, migrate=0.3)))
    sim = build()
    out.append(result(sim, sim.run(policy="pct", seed=5, depth=3)))
    sim = build()
    out.append(result(sim, sim.run(policy="roundrobin")))
    return out
'''

ns: dict = {}
exec(SCENARIO, ns)
build, result, runs = ns["build"], ns["result"], ns["runs"]


def test_same_inputs_same_results_in_one_process():
    first, second = runs(), runs()
    assert first == second
    outcomes = {r["outcome"] for r in first}
    assert outcomes <= {"completed", "deadlock"}
    # the runs are not trivial: they preempt, migrate, sleep and time out
    kinds = {e[2] for r in first for e in r["events"]}
    assert {"preemption", "migration", "sleep", "wakeup", "lock_contended"} <= kinds
    assert any(e[2] == "wakeup" and e[7] == -1 for r in first for e in r["events"])


def test_same_results_in_other_processes():
    here = runs()
    script = SCENARIO + "\nimport json, sys\njson.dump(runs(), sys.stdout)\n"
    for hashseed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        out = subprocess.run([sys.executable, "-c", script], env=env, check=True,
                             capture_output=True, text=True, timeout=120)
        assert json.loads(out.stdout) == here


def test_other_seeds_give_other_runs():
    digests, decisions = set(), set()
    for seed in range(12):
        sim = build()
        res = sim.run(policy="random", seed=seed, migrate=0.3)
        digests.add(sim.digest())
        decisions.add(tuple(res.decisions))
    assert len(decisions) == 12
    assert len(digests) > 1


def test_digest_tells_states_apart():
    def two(cpu):
        sim = Sim(cpus=2)
        sim.spawn("a", cpu=cpu, ops=["yield"])
        return sim
    assert two(0).digest() == two(0).digest()
    assert two(0).digest() != two(1).digest()
    s1, s2 = two(0), two(0)
    s1.step()
    assert s1.digest() != s2.digest()
    s2.step()
    assert s1.digest() == s2.digest()
    # same program, same steps, but a thread left on another vCPU
    s3, s4 = two(0), two(0)
    s3.run()
    s4.migrate("a", 1)
    s4.run()
    assert s3.steps == s4.steps and s3.ticks == s4.ticks
    assert s3.digest() != s4.digest()


def test_splitting_a_run_changes_nothing():
    """One run(), one run() call per step, and (without migrations)
    sim.step(name) per step all give the same decisions, events (timeout
    wakeups included) and digest."""
    one = build()
    res = one.run(policy="random", seed=3, migrate=0.3)
    assert any(e.kind == "wakeup" and e.b == -1 for e in one.events)
    assert any(e.kind == "migration" for e in one.events)
    split = build()
    assert stepwise(split, res.decisions) == res.outcome
    assert split.decisions == res.decisions
    assert event_tuples(split) == event_tuples(one)
    assert split.digest() == one.digest()

    one = build()
    res = one.run(policy="random", seed=4)
    order = [e.thread for e in one.events if e.kind == "step"]
    manual = build()
    for name in order:
        manual.step(name)
    assert manual.decisions == res.decisions
    assert event_tuples(manual) == event_tuples(one)
    assert manual.digest() == one.digest()
    assert any(e.kind == "wakeup" and e.b == -1 for e in one.events)
