"""Critical sections: per-vCPU exclusion, nesting, and the panic on
blocking inside one."""

import pytest

from umasim import Sim

from kernhelp import by_name, explore, users


def test_critical_section_excludes_its_vcpu_only():
    sim = Sim(cpus=2)
    sim.spawn("a", cpu=0, ops=["crit_enter", "yield", "crit_exit", "yield"])
    sim.spawn("b", cpu=0, ops=["yield"])
    sim.spawn("c", cpu=1, ops=["yield"])
    assert sim.runnable() == ["a", "b", "c"]
    sim.step("a")                                   # inside now
    assert sim.thread("a").critnest == 1
    assert sim.runnable() == ["a", "c"]
    b = sim.thread("b")
    assert b.state == "runnable"                    # not blocked: held off
    with pytest.raises(ValueError, match="thread b is not runnable: vCPU 0 is held "
                                         "in a critical section by a"):
        sim.step("b")
    sim.step("c")                                   # the other vCPU runs
    sim.step("a")                                   # yield, stops at crit_exit
    assert sim.runnable() == ["a"]                  # c is done, b still held off
    sim.step("a")                                   # crit_exit
    assert sim.thread("a").critnest == 0
    assert sim.runnable() == ["a", "b"]
    assert sim.run().outcome == "completed"


def test_critical_sections_nest():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["crit_enter", "crit_enter", "yield", "crit_exit", "yield",
                        "crit_exit", "yield"])
    sim.spawn("b", ops=["yield"])
    nest = []
    while sim.thread("a").state != "finished":
        sim.step("a")
        t = sim.thread("a")
        nest.append(t.critnest)
        held = t.critnest > 0 and t.state != "finished"
        assert ("b" in sim.runnable()) == (not held), (nest, sim.runnable())
    assert nest == [1, 2, 2, 1, 1, 0, 0]


def test_scheduler_never_runs_another_thread_on_a_held_vcpu():
    """Under every decision list of length 7 over 0..9 (so with migrations
    to both vCPUs, whatever the number of runnable threads): no step runs a thread on a vCPU that another thread holds
    in a critical section; sim.runnable() leaves exactly those out; no
    thread migrates inside a critical section."""
    def make():
        sim = Sim(cpus=2)
        sim.spawn("a", cpu=0, ops=["crit_enter", "yield", "crit_exit"])
        sim.spawn("b", cpu=0, ops=["yield", "yield"])
        sim.spawn("c", cpu=1, ops=["crit_enter", "yield", "crit_exit"])
        return sim

    stats = {"held_off": 0, "migrations": 0}

    def check(sim, before, after):
        step = [e for e in sim.events if e.kind == "step"][-1]
        runner = step.thread
        for t in before.values():
            if t.critnest > 0 and t.name != runner:
                assert step.cpu != t.cpu, (runner, t)
        if after[runner].cpu != before[runner].cpu:
            assert before[runner].critnest == 0
            stats["migrations"] += 1
        held = {t.cpu: t.name for t in after.values() if t.critnest > 0}
        assert len(held) == sum(1 for t in after.values() if t.critnest > 0)
        expect = [t.name for t in sim.threads if t.state == "runnable"
                  and held.get(t.cpu, t.name) == t.name]
        assert sim.runnable() == expect
        stats["held_off"] += len([t for t in after.values() if t.state == "runnable"]) - len(expect)

    runs = 0
    for dec, outcome, sim in explore(make, 10, 7, check):
        assert outcome == "completed"
        assert all(t.critnest == 0 for t in users(sim))
        runs += 1
    assert runs > 300 and stats["held_off"] > 0 and stats["migrations"] > 0


@pytest.mark.parametrize("ops, point", [
    (["crit_enter", "tsleep c 5"], "tsleep"),
    (["crit_enter", "tsleep c"], "tsleep"),
    (["crit_enter", "sleep 5"], "sleep"),
])
def test_sleeping_in_a_critical_section_panics(ops, point):
    sim = Sim(cpus=1)
    sim.spawn("a", ops=ops)
    res = sim.run()
    assert res.outcome == "panic"
    assert res.panic == "mi_switch: switch in a critical section"
    assert sim.console == ["panic: mi_switch: switch in a critical section"]
    assert sim.thread("a").state == "panicked"


def test_blocking_on_a_mutex_in_a_critical_section_panics():
    sim = Sim(cpus=2)
    sim.spawn("a", cpu=1, ops=["lock m", "yield", "unlock m"])
    sim.spawn("b", cpu=0, ops=["crit_enter", "lock m", "unlock m", "crit_exit"])
    res = sim.run(steps=["a", "b", "b"])
    assert res.outcome == "panic"
    assert res.panic == "mi_switch: switch in a critical section"


def test_uncontended_lock_in_a_critical_section_is_fine():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["crit_enter", "lock m", "unlock m", "crit_exit"])
    assert sim.run().outcome == "completed"


@pytest.mark.parametrize("ops, msg", [
    (["crit_enter"], "thread a exited inside a critical section"),
    (["crit_exit"], "crit_exit outside a critical section in thread a"),
])
def test_unbalanced_critical_sections_panic(ops, msg):
    sim = Sim(cpus=1)
    sim.spawn("a", ops=ops)
    res = sim.run()
    assert (res.outcome, res.panic) == ("panic", msg)
    assert by_name(sim)["a"].state == "panicked"
