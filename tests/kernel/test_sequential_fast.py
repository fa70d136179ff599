"""The sequential policy's fast continuation (csrc/kern/sched.c,
sched_seq_continue): a run that records nothing but its decisions (trace
"off" or "decisions") continues a thread at a point without going through
the scheduler.  It must change nothing: each run here is made twice, once
with trace "off" (the fast continuation) and once with trace "full" (the
scheduler at every stop), and must end the same -- outcome, steps,
decisions, ticks, console and digest -- across timers, callouts, sleeps,
blocking, step limits and a decision log that grows during the run."""

import pathlib

import pytest

import umasim
from umasim import Sim

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))


def ending(sim, res):
    return (res.outcome, res.steps, res.decisions, res.panic, sim.ticks, sim.console,
            sim.digest())


def both(build, run):
    """run(sim) on the Sim build(trace) makes, for trace off and full."""
    out = []
    for trace in ("off", "full"):
        sim = build(trace)
        out.append(ending(sim, run(sim)))
    return out


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
@pytest.mark.parametrize("max_steps", [None, 1, 6, 41])
def test_shipped_scenarios_end_the_same(path, max_steps):
    scenario = umasim.load(str(path))
    off, full = both(scenario.build_with, lambda sim: sim.run(max_steps=max_steps))
    assert off == full


def timers_sim(trace):
    """Timed sleeps, a sleep that times out, mutexes, a critical section,
    and softclock's callouts (a zone with a timeout)."""
    sim = Sim(cpus=2, trace=trace)
    sim.zcreate("z", 128)
    sim.spawn("a", cpu=0, ops=["lock m", "tsleep q 7", "unlock m", "wakeup r", "yield",
                               "alloc z -> x", "free x"], repeat=4)
    sim.spawn("b", cpu=1, ops=["crit_enter", "yield", "crit_exit", "lock m", "sleep 3",
                               "unlock m", "timeout"], repeat=4)
    sim.spawn("c", cpu=1, ops=["tsleep r 20", "wakeup q", "alloc z -> y", "free y"],
              repeat=5)
    return sim


@pytest.mark.parametrize("max_steps", [None, 3, 50, 117])
def test_timers_and_sleeps_end_the_same(max_steps):
    off, full = both(timers_sim, lambda sim: sim.run(max_steps=max_steps))
    assert off == full
    assert off[0] in ("completed", "step_limit", "deadlock")


def test_runs_in_pieces_end_the_same():
    def pieces(sim):
        res = None
        while res is None or res.outcome == "step_limit":
            res = sim.run(max_steps=13)
        return res
    off, full = both(timers_sim, pieces)
    assert off == full


def test_a_long_run_grows_the_decision_log():
    def build(trace):
        sim = Sim(cpus=2, trace=trace)
        sim.zcreate("z", 64)
        sim.spawn("a", cpu=0, ops=["alloc z -> x", "free x", "yield"], repeat=4000)
        sim.spawn("b", cpu=1, ops=["alloc z -> y", "yield", "free y"], repeat=4000)
        return sim
    off, full = both(build, lambda sim: sim.run())
    assert off == full
    assert off[0] == "completed" and off[1] > 40_000
