"""Sleep mutexes: mutual exclusion under every schedule, blocking,
barging hand-off, and the lock_contended events."""

from collections import Counter

from umasim import Sim

from kernhelp import by_name, explore, stepwise, users

CS = ["lock m", "yield", "unlock m"]


def make_three(cpus=2):
    sim = Sim(cpus=cpus)
    sim.spawn("a", cpu=0, ops=CS)
    sim.spawn("b", cpu=0, ops=CS)
    sim.spawn("c", cpu=cpus - 1, ops=CS)
    return sim


def check_exclusion(sim, before, after):
    """At most one thread is between "lock m" and the end of "unlock m",
    and it is the one thread holding m; every waiter names it as owner."""
    threads = [t for t in after.values() if not t.kernel]
    # With CS, op index 1 (at "yield") and 2 (at "unlock m") are inside.
    inside = sorted(t.name for t in threads if t.state != "finished" and t.op in (1, 2))
    holders = sorted(t.name for t in threads if t.locks > 0)
    assert len(inside) <= 1, f"{inside} are all inside the critical section"
    assert inside == holders
    assert all(t.locks <= 1 for t in threads)
    for t in threads:
        assert t.state in ("runnable", "blocked", "finished"), t
        if t.state == "blocked":
            assert t.mutex == "m"
            assert holders and t.mutex_owner == holders[0], (t, holders)
            assert t.op == 0 and t.point == "mtx_lock"


def test_mutual_exclusion_every_decision_list():
    """Every decision list of length 8 over 0..3 (so every list up to that
    length, see all_lists) keeps m exclusive after every single step."""
    seen_runs = set()
    contended = rebarged = migrated = 0
    for dec, outcome, sim in explore(make_three, 4, 8, check_exclusion):
        assert outcome == "completed", (dec, outcome)
        assert all(t.state == "finished" and t.locks == 0 for t in users(sim))
        run = tuple(sim.decisions)
        assert run not in seen_runs
        seen_runs.add(run)
        events = sim.events
        counts = Counter(e.thread for e in events if e.kind == "lock_contended")
        contended += bool(counts)
        rebarged += any(n > 1 for n in counts.values())
        migrated += any(e.kind == "migration" for e in events)
    # The enumeration really explored contended interleavings.
    assert len(seen_runs) > 100
    assert contended > 100 and rebarged > 0 and migrated > 0


def test_mutual_exclusion_random_nested_locks():
    """Longer programs (two mutexes always taken in the same order,
    repeated) under random schedules with migration: exclusion holds after
    every step, checked by replaying each run's decisions step by step."""
    ops = ["lock m", "lock n", "yield", "unlock n", "yield", "unlock m", "yield"]

    def make():
        sim = Sim(cpus=2)
        for name, cpu in (("a", 0), ("b", 1), ("c", 0)):
            sim.spawn(name, cpu=cpu, ops=ops, repeat=3)
        return sim

    def check(sim, before, after):
        threads = [t for t in after.values() if not t.kernel]
        holding_m = [t for t in threads if t.state != "finished" and 1 <= t.op <= 5]
        holding_n = [t for t in threads if t.state != "finished" and 2 <= t.op <= 3]
        assert len(holding_m) <= 1 and len(holding_n) <= 1, threads
        assert sum(t.locks for t in threads) == len(holding_m) + len(holding_n)

    contended = 0
    for seed in range(40):
        sim = make()
        res = sim.run(policy="random", seed=seed, migrate=0.3)
        assert res.outcome == "completed"
        replay = make()
        assert stepwise(replay, res.decisions, check) == "completed"
        assert replay.digest() == sim.digest()
        contended += any(e.kind == "lock_contended" for e in sim.events)
    assert contended > 10


def test_lock_blocks_and_unlock_wakes():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=CS)
    sim.spawn("b", ops=CS)
    assert sim.step("a") == "op:yield"
    assert sim.thread("a").locks == 1
    assert sim.step("b") == "mtx_lock"
    b = sim.thread("b")
    assert (b.state, b.mutex, b.mutex_owner, b.locks) == ("blocked", "m", "a", 0)
    assert "blocked on mutex m owned by a" in b.describe()
    assert sim.runnable() == ["a"]
    sim.step("a")                      # yield; stops before unlock
    assert sim.thread("b").state == "blocked"
    sim.step("a")                      # unlock m, then a exits
    assert sim.thread("a").state == "finished"
    assert sim.thread("b").state == "runnable"
    assert sim.runnable() == ["b"]
    assert sim.step("b") == "op:yield"    # b takes m and goes on
    assert sim.thread("b").locks == 1
    assert sim.run().outcome == "completed"


def test_barging_third_thread_takes_mutex_first():
    """After unlock the waiter is only runnable; a thread that runs before
    it takes the mutex, and the waiter blocks again (a second
    lock_contended, now naming the new owner)."""
    sim = Sim(cpus=1)
    for name in "abc":
        sim.spawn(name, ops=CS)
    tid = {t.name: t.tid for t in sim.threads}
    sim.step("a")                      # a holds m
    sim.step("b")                      # b blocks on m
    sim.step("a")
    sim.step("a")                      # a unlocks m and exits
    t = by_name(sim)
    assert t["b"].state == "runnable" and t["b"].locks == 0
    assert not any(x.locks for x in t.values())     # m is free, not handed to b
    assert sim.step("c") == "op:yield"              # c barges in
    assert sim.thread("c").locks == 1
    assert sim.step("b") == "mtx_lock"
    b = sim.thread("b")
    assert (b.state, b.mutex_owner) == ("blocked", "c")
    cont = [e for e in sim.events if e.kind == "lock_contended"]
    assert [e.thread for e in cont] == ["b", "b"]
    assert [e.b for e in cont] == [tid["a"], tid["c"]]       # the owner each time
    assert cont[0].a == cont[1].a                             # the same mutex
    res = sim.run()
    assert res.outcome == "completed"
    assert len([e for e in sim.events if e.kind == "lock_contended"]) == 2


def test_unlock_wakes_every_waiter_and_one_wins():
    sim = Sim(cpus=1)
    for name in "abc":
        sim.spawn(name, ops=CS)
    sim.step("a")
    sim.step("b")
    sim.step("c")
    assert [t.state for t in users(sim)] == ["runnable", "blocked", "blocked"]
    sim.step("a")
    sim.step("a")                      # unlock: both waiters runnable
    assert sim.runnable() == ["b", "c"]
    sim.step("c")                      # c wins
    assert sim.thread("c").locks == 1
    sim.step("b")                      # b blocks again
    assert sim.thread("b").state == "blocked"
    assert sim.thread("b").mutex_owner == "c"


def test_uncontended_lock_records_no_contention():
    sim = Sim()
    sim.spawn("a", ops=CS, repeat=3)
    sim.spawn("b", ops=CS, repeat=3)
    assert sim.run().outcome == "completed"     # sequential: never overlapping
    assert not any(e.kind == "lock_contended" for e in sim.events)
