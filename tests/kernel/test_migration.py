"""Migration: a scheduling decision, only outside critical sections,
recorded as a decision and as an event."""

import pytest

from umasim import Sim

from kernhelp import by_name, stepwise


def migrations(sim):
    return [(e.thread, e.a, e.b) for e in sim.events if e.kind == "migration"]


def test_migrate_inside_a_critical_section_is_refused():
    sim = Sim(cpus=2)
    sim.spawn("a", ops=["crit_enter", "yield", "crit_exit"])
    sim.step("a")
    with pytest.raises(ValueError, match="^thread a is inside a critical section "
                                         "and cannot migrate$"):
        sim.migrate("a", 1)
    sim.step("a")
    sim.step("a")                       # out again: now it may
    assert sim.thread("a").critnest == 0


def test_sim_migrate_folds_into_the_next_manual_step():
    sim = Sim(cpus=2)
    sim.spawn("a", ops=["yield"] * 3)
    sim.spawn("b", ops=["yield"] * 3)
    sim.migrate("b", 1)
    sim.step("a")                       # another thread's step: still pending
    assert sim.thread("b").cpu == 0
    assert migrations(sim) == []
    sim.step("b")
    assert sim.thread("b").cpu == 1
    assert migrations(sim) == [("b", 0, 1)]
    # runnable [a, b], b is index 1, vCPU 1: 1 + 1 + 2 * (1 + 1)
    assert sim.decisions == [0, 6]
    sim.step("b")
    assert sim.thread("b").cpu == 1 and len(migrations(sim)) == 1


def test_sim_migrate_folds_into_the_next_decision_of_a_run():
    sim = Sim(cpus=2)
    sim.spawn("a", ops=["yield"] * 3)
    sim.migrate("a", 1)
    res = sim.run()
    assert sim.thread("a").cpu == 1
    assert migrations(sim) == [("a", 0, 1)]
    assert res.decisions == [3, 0, 0]      # 1 + 0 + 1 * (1 + 1)
    twin = Sim(cpus=2)
    twin.spawn("a", ops=["yield"] * 3)
    assert twin.run(decisions=res.decisions).decisions == res.decisions
    assert twin.digest() == sim.digest()


def test_human_steps_migrate():
    sim = Sim(cpus=3)
    sim.spawn("a", ops=["yield"] * 3)
    sim.spawn("b", ops=["yield"] * 3)
    res = sim.run(steps=["a", "b@2", "b", "a@1", "b@2"])
    assert res.outcome == "completed"
    assert migrations(sim) == [("b", 0, 2), ("a", 0, 1)]      # b@2 again: no-op
    ev = [e for e in sim.events if e.kind == "migration"]
    assert [(e.step, e.cpu) for e in ev] == [(2, 2), (4, 1)]  # cpu: where it runs now
    assert (sim.thread("a").cpu, sim.thread("b").cpu) == (1, 2)
    # decisions: b@2 is runnable index 1 of 2 to vCPU 2: 1 + 1 + 2 * 3 = 8
    assert res.decisions[:5] == [0, 8, 0, 1 + 0 + 2 * 2, 2]


def test_machine_decision_arithmetic_and_canonical_form():
    """d >= 1: k = d - 1 runs runnable thread k mod n, first migrating it to
    vCPU (k div n - 1) mod cpus when k div n > 0; the record is canonical."""
    def make():
        sim = Sim(cpus=2)
        sim.spawn("a", ops=["yield"] * 2)
        sim.spawn("b", ops=["yield"] * 2)
        return sim

    cases = {
        # d: (thread that runs, its vCPU after, canonical record)
        1: ("a", 0, 0),     # runnable 0 = default
        2: ("b", 0, 2),
        3: ("a", 0, 0),     # to vCPU 0, its own: no migration
        4: ("b", 0, 2),
        5: ("a", 1, 5),
        6: ("b", 1, 6),
        7: ("a", 0, 0),     # (3 - 1) mod 2 = 0 again
        9: ("a", 1, 5),     # (4 - 1) mod 2 = 1
        2**32 - 1: ("a", 0, 0),     # k = 2**32 - 2: a, q - 1 even: vCPU 0
        2**32 - 2: ("b", 1, 6),     # k odd: b, q - 1 odd: vCPU 1
    }
    for d, (name, cpu, canon) in cases.items():
        sim = make()
        r = sim.run(decisions=[d], max_steps=1)
        step = [e for e in sim.events if e.kind == "step"]
        assert [e.thread for e in step] == [name], d
        assert sim.thread(name).cpu == cpu, d
        assert r.decisions == [canon], d
        assert bool(migrations(sim)) == (cpu == 1), d


def test_no_migration_onto_a_vcpu_held_in_a_critical_section():
    sim = Sim(cpus=2)
    sim.spawn("a", cpu=1, ops=["crit_enter", "yield", "crit_exit"])
    sim.spawn("b", cpu=0, ops=["yield"] * 2)
    sim.step("a")
    assert sim.runnable() == ["a", "b"]
    r = sim.run(decisions=[1 + 1 + 2 * 2], max_steps=1)   # b to vCPU 1
    assert sim.thread("b").cpu == 0
    assert migrations(sim) == []
    assert r.decisions == [2]


def test_random_with_migrate_1_never_migrates_inside_a_critical_section():
    """Each step of random runs whose every decision tries to migrate is
    replayed and checked: a thread that changed vCPU was outside any
    critical section before the step; those inside kept their vCPU."""
    ops = ["crit_enter", "yield", "yield", "crit_exit", "yield"]

    def make():
        sim = Sim(cpus=3)
        for name, cpu in (("a", 0), ("b", 1), ("c", 2), ("d", 0)):
            sim.spawn(name, cpu=cpu, ops=ops, repeat=2)
        return sim

    seen = {"moved": 0, "kept_in_crit": 0}

    def check(sim, before, after):
        for name, t in after.items():
            if t.cpu != before[name].cpu:
                assert before[name].critnest == 0, (name, before[name])
                seen["moved"] += 1
        runner = [e for e in sim.events if e.kind == "step"][-1].thread
        if before[runner].critnest > 0:
            assert after[runner].cpu == before[runner].cpu
            seen["kept_in_crit"] += 1

    for seed in range(25):
        sim = make()
        res = sim.run(policy="random", seed=seed, migrate=1.0)
        assert res.outcome == "completed"
        n = len(migrations(sim))
        assert n > 0
        replay = make()
        assert stepwise(replay, res.decisions, check) == "completed"
        assert replay.digest() == sim.digest()
        assert len(migrations(replay)) == n
    assert seen["moved"] > 50 and seen["kept_in_crit"] > 50


def test_migration_changes_which_threads_a_critical_section_holds_off():
    sim = Sim(cpus=2)
    sim.spawn("a", cpu=0, ops=["crit_enter", "yield", "crit_exit"])
    sim.spawn("b", cpu=0, ops=["yield"] * 3)
    sim.migrate("b", 1)
    sim.step("b")                       # b leaves vCPU 0
    sim.step("a")                       # a enters its critical section
    assert sim.runnable() == ["a", "b"]
    assert by_name(sim)["b"].cpu == 1
