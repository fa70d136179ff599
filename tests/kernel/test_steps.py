"""Steps and preemption points: a step runs one thread to its next point;
back-to-back points are one point; every step is recorded with its point."""

import pytest

from umasim import Sim
from umasim.model.sim import POINTS


def steps_of(ops, **kw):
    sim = Sim(cpus=1)
    sim.spawn("a", ops=ops, **kw)
    points = []
    while sim.thread("a").state != "finished":
        points.append(sim.step("a"))
    return sim, points


@pytest.mark.parametrize("ops, points", [
    ([], ["exit"]),
    (["yield"], ["exit"]),
    (["yield"] * 3, ["op:yield", "op:yield", "exit"]),
    # the op's point and mtx_lock's own point stand back to back: one step
    (["lock m"] + ["unlock m"], ["op:unlock", "exit"]),
    (["lock m", "yield", "unlock m"], ["op:yield", "op:unlock", "exit"]),
    (["crit_enter", "crit_exit"], ["op:crit_exit", "exit"]),
    (["crit_enter", "crit_enter", "crit_exit", "crit_exit"],
     ["op:crit_enter", "op:crit_exit", "op:crit_exit", "exit"]),
    (["wakeup c", "yield"], ["op:yield", "exit"]),
    (["tsleep c 2", "yield"], ["msleep", "op:yield", "exit"]),
    (["sleep 2"], ["msleep", "exit"]),
])
def test_steps_and_their_points(ops, points):
    sim, got = steps_of(ops)
    assert got == points
    assert sim.steps == len(points)
    step_events = [e for e in sim.events if e.kind == "step"]
    assert len(step_events) == len(points)
    assert [POINTS[e.a] for e in step_events] == points
    assert [e.point for e in step_events] == points
    assert [e.step for e in step_events] == list(range(1, len(points) + 1))


def test_repeat_runs_the_ops_again():
    sim, got = steps_of(["yield", "yield"], repeat=3)
    assert got == ["op:yield"] * 5 + ["exit"]
    ends = [(e.a, e.b) for e in sim.events if e.kind == "op_end"]
    assert [b for _, b in ends] == [0, 1] * 3           # op index each time


def test_a_contended_lock_takes_one_more_step():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["lock m", "yield", "unlock m"])
    sim.spawn("b", ops=["lock m", "unlock m"])
    sim.step("a")
    assert sim.step("b") == "mtx_lock"           # blocks: a step of its own
    sim.run()
    b_steps = [e.point for e in sim.events if e.kind == "step" and e.thread == "b"]
    assert b_steps == ["mtx_lock", "op:unlock", "exit"]


def test_run_counts_steps_and_ticks():
    sim = Sim(cpus=2, ticks_per_step=5)
    sim.spawn("a", ops=["yield"] * 4)
    sim.spawn("b", cpu=1, ops=["yield"] * 3)
    res = sim.run()
    assert res.steps == sim.steps == 7
    assert res.ticks == sim.ticks == 35
    assert len(res.decisions) == 7


def test_ticks_per_step_zero_keeps_time_still_until_a_jump():
    sim = Sim(cpus=1, ticks_per_step=0)
    sim.spawn("a", ops=["yield", "sleep 5", "yield"])
    res = sim.run()
    assert res.outcome == "completed"
    assert sim.ticks == 5


def test_op_events_bracket_each_op():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["lock m", "yield", "unlock m"])
    sim.run()
    seq = [(e.kind, e.b) for e in sim.events if e.kind in ("op_begin", "op_end")]
    assert seq == [("op_begin", 0), ("op_end", 0), ("op_begin", 1), ("op_end", 1),
                   ("op_begin", 2), ("op_end", 2)]
