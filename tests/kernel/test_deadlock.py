"""Deadlocks: detection, and the report naming each thread and what it
waits for."""

import pytest

from umasim import Sim

from kernhelp import explore, users

AB = ["lock m1", "yield", "lock m2", "unlock m2", "unlock m1"]
BA = ["lock m2", "yield", "lock m1", "unlock m1", "unlock m2"]
REPORT = ["a: blocked on mutex m2 owned by b", "b: blocked on mutex m1 owned by a"]


def make():
    sim = Sim(cpus=2)
    sim.spawn("a", cpu=0, ops=AB)
    sim.spawn("b", cpu=1, ops=BA)
    return sim


def test_opposite_lock_orders_complete_sequentially():
    sim = make()
    res = sim.run()
    assert res.outcome == "completed"
    assert res.waiting == []
    assert all(t.state == "finished" for t in users(sim))


def test_opposite_lock_orders_deadlock_when_interleaved():
    sim = make()
    res = sim.run(steps=["a", "b"])
    assert res.outcome == "deadlock"
    assert res.waiting == REPORT
    t = {x.name: x for x in users(sim)}
    assert (t["a"].state, t["a"].mutex, t["a"].mutex_owner, t["a"].locks) == \
        ("blocked", "m2", "b", 1)
    assert (t["b"].state, t["b"].mutex, t["b"].mutex_owner, t["b"].locks) == \
        ("blocked", "m1", "a", 1)
    assert sim.outcome == "deadlock"
    assert sim.runnable() == []


def test_every_schedule_either_completes_or_reports_the_deadlock():
    outcomes = {"completed": 0, "deadlock": 0}
    for dec, outcome, sim in explore(make, 3, 6):
        outcomes[outcome] += 1
        if outcome == "deadlock":
            assert sim.outcome == "deadlock"
            # the deadlock is the cycle, whoever took its first lock first
            assert sorted(t.mutex for t in users(sim)) == ["m1", "m2"]
            assert sim.run().waiting == REPORT
        else:
            assert all(t.state == "finished" for t in users(sim))
    assert outcomes["completed"] > 0 and outcomes["deadlock"] > 0


def test_deadlock_report_names_sleepers_and_leaves_finished_out():
    sim = Sim()
    sim.spawn("a", ops=["lock m", "tsleep never"])
    sim.spawn("b", ops=["lock m", "unlock m"])
    sim.spawn("c", ops=["yield"])
    res = sim.run()
    assert res.outcome == "deadlock"
    assert res.waiting == ["a: asleep on 'never' (channel never)",
                           "b: blocked on mutex m owned by a"]


def test_a_pending_timed_sleep_is_not_a_deadlock():
    sim = Sim()
    sim.spawn("a", ops=["lock m", "sleep 50", "unlock m"])
    sim.spawn("b", ops=["lock m", "unlock m"])
    res = sim.run(steps=["a", "b"])
    assert res.outcome == "completed"
    assert sim.ticks >= 50


def test_stepping_a_deadlocked_sim_says_why():
    sim = make()
    sim.run(steps=["a", "b"])
    for name in (None, "a"):
        with pytest.raises(ValueError, match=r"^no thread can run \(deadlock\)$"):
            sim.step(name)
    sim = make()
    sim.run(steps=["a", "b", "b", "b"], max_steps=4)     # b blocks; a could run
    with pytest.raises(ValueError, match="^thread b is not runnable: blocked on mutex m1$"):
        sim.step("b")
