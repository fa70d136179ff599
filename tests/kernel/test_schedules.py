"""Schedules: policies, the machine form and its canonical record,
replay of recorded decisions, and fork()."""

import pytest

from umasim import Sim

from kernhelp import event_tuples, stepped_threads

PROGRAMS = {
    "a": (0, ["lock m", "yield", "tsleep q 4", "unlock m", "wakeup r"], 3),
    "b": (1, ["crit_enter", "yield", "crit_exit", "lock m", "unlock m", "sleep 2"], 3),
    "c": (1, ["tsleep r 9", "lock n", "wakeup q", "unlock n", "yield"], 3),
}


def build(cpus=2, names="abc"):
    sim = Sim(cpus=cpus)
    for name in names:
        cpu, ops, repeat = PROGRAMS[name]
        sim.spawn(name, cpu=cpu, ops=ops, repeat=repeat)
    return sim


def yields(n=3, names="abc", cpus=2):
    sim = Sim(cpus=cpus)
    for name in names:
        sim.spawn(name, ops=["yield"] * n)
    return sim


def test_sequential_runs_each_thread_to_its_end_in_order():
    sim = yields()
    res = sim.run()
    assert stepped_threads(sim) == list("aaabbbccc")
    assert res.decisions == [0] * 9 and res.preemptions == 0
    assert not any(e.kind == "preemption" for e in sim.events)


def test_roundrobin_rotates_and_records_preemptions():
    sim = yields()
    res = sim.run(policy="roundrobin")
    assert stepped_threads(sim) == list("abcabcabc")
    # runnable a, b, c: b after a is index 1 (d = 2), c index 2 (d = 3), a
    # after c index 0 (d = 1); the last three are what the default would do
    assert res.decisions == [0, 2, 3, 1, 2, 3, 1, 0, 0]
    assert res.preemptions == 6
    pre = [(e.step, e.thread, e.a, e.b) for e in sim.events if e.kind == "preemption"]
    tid = {t.name: t.tid for t in sim.threads}
    assert pre[0] == (2, "b", 2, tid["a"])           # b ran where a would have


def test_a_short_list_continues_with_zeros():
    runs = []
    for dec in ([2], [2, 0, 0], [2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]):
        sim = yields()
        res = sim.run(decisions=dec)
        runs.append((res.decisions, sim.digest(), event_tuples(sim)))
    assert runs[0] == runs[1] == runs[2]
    assert runs[0][0] == [2, 0, 0, 0, 0, 0, 0, 0, 0]
    assert stepped_threads(sim) == list("bbbaaaccc")


def test_then_policy_takes_over_when_the_script_runs_out():
    sim = yields()
    res = sim.run(decisions=[3], then="roundrobin")
    assert stepped_threads(sim) == list("cabcabcab")
    assert res.decisions[0] == 3
    sim = yields()
    res = sim.run(steps=["b", "b"], then="sequential")
    assert stepped_threads(sim) == list("bbbaaaccc")


def test_equivalent_decision_lists_give_one_canonical_record():
    """Values that pick the default thread without migrating are recorded
    as 0, so differently written lists of one schedule record alike."""
    recorded = set()
    # with three runnable: 1, 4 = 1 + 3 * 1 and 10 = 1 + 3 * 3 all run a and
    # "migrate" it to vCPU 0, its own
    for dec in ([1, 1, 1], [0, 1, 0], [4, 10, 0], [10, 4, 1]):
        sim = yields(cpus=2)
        res = sim.run(decisions=dec)
        recorded.add((tuple(res.decisions), sim.digest()))
    assert len(recorded) == 1
    assert recorded.pop()[0] == (0,) * 9


def test_replay_of_a_random_run_is_identical():
    for seed in range(8):
        sim = build()
        res = sim.run(policy="random", seed=seed, migrate=0.4)
        assert res.outcome == "completed"
        twin = build()
        again = twin.run(decisions=res.decisions)
        assert again.decisions == res.decisions
        assert again.outcome == res.outcome and again.steps == res.steps
        assert event_tuples(twin) == event_tuples(sim)
        assert twin.digest() == sim.digest()
        assert twin.ticks == sim.ticks


def test_replay_of_pct_and_human_steps():
    sim = build()
    res = sim.run(policy="pct", seed=11, depth=4)
    twin = build()
    assert twin.run(decisions=res.decisions).decisions == res.decisions
    assert twin.digest() == sim.digest()
    # pct with a seed is itself deterministic
    other = build()
    assert other.run(policy="pct", seed=11, depth=4).decisions == res.decisions

    sim = build()
    res = sim.run(steps=["c", "a@1", "b@0", "b", "a"])
    assert [e.b for e in sim.events if e.kind == "migration"] == [1, 0]
    twin = build()
    assert twin.run(decisions=res.decisions).decisions == res.decisions
    assert event_tuples(twin) == event_tuples(sim)


def test_fork_mid_run_continues_identically():
    sim = build()
    first = sim.run(policy="random", seed=5, migrate=0.4, max_steps=17)
    assert first.outcome == "step_limit" and first.steps == 17
    twin = sim.fork()
    assert twin.digest() == sim.digest()
    assert twin.decisions == sim.decisions
    assert event_tuples(twin) == event_tuples(sim)
    a = sim.run(policy="random", seed=9, migrate=0.4)
    b = twin.run(policy="random", seed=9, migrate=0.4)
    assert a == b
    assert a.outcome == "completed"
    assert event_tuples(twin) == event_tuples(sim)
    assert twin.digest() == sim.digest()


def test_fork_is_independent_of_its_original():
    sim = build()
    sim.run(policy="random", seed=2, max_steps=10)
    twin = sim.fork()
    before = sim.digest()
    twin.run()
    assert sim.digest() == before and sim.steps == 10
    assert twin.steps > 10


def test_fork_replays_spawns_and_migrations_in_their_places():
    sim = build(names="a")
    sim.run(policy="random", seed=1, max_steps=4)
    cpu, ops, repeat = PROGRAMS["b"]
    sim.spawn("b", cpu=cpu, ops=ops, repeat=repeat)
    sim.migrate("b", 0)
    sim.run(policy="random", seed=2, max_steps=3)
    assert any(e.kind == "migration" and e.thread == "b" for e in sim.events)
    free = [t for t in sim.threads if not t.kernel and t.critnest == 0][0]
    sim.migrate(free.name, 1 - free.cpu)     # still pending at the fork
    twin = sim.fork()
    assert twin.digest() == sim.digest()
    assert [t.name for t in twin.threads] == ["softclock", "a", "b"]
    assert sim.run() == twin.run()
    assert twin.digest() == sim.digest()


def test_max_steps_ends_with_step_limit_and_the_run_goes_on_later():
    whole = yields()
    whole.run(policy="roundrobin")
    sim = yields()
    res = sim.run(policy="roundrobin", max_steps=4)
    assert (res.outcome, res.steps, len(res.decisions)) == ("step_limit", 4, 4)
    res2 = sim.run(policy="roundrobin")
    assert res2.steps == 5 and res2.outcome == "completed"
    # the default decision continues whoever ran last, across run() calls
    assert sim.decisions == whole.decisions
    assert sim.run(max_steps=0).steps == 0


@pytest.mark.parametrize("policy", ["sequential", "roundrobin", "random", "pct"])
def test_every_policy_completes_a_deadlock_free_program(policy):
    sim = build()
    res = sim.run(policy=policy, seed=3)
    assert res.outcome == "completed"
    assert len(res.decisions) == res.steps == sim.steps
