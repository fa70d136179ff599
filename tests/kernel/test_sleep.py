"""msleep/wakeup on wait channels, timeouts and virtual time."""

import pytest

from umasim import Sim

from kernhelp import users


def wakeups(sim):
    return [e for e in sim.events if e.kind == "wakeup"]


def test_tsleep_times_out_at_its_tick_while_others_run():
    """A thread that sleeps at tick T for N ticks becomes runnable at the
    end of the step that brings ticks to T + N, not before."""
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["tsleep c 10", "yield"])
    sim.spawn("b", ops=["yield"] * 30)
    assert sim.ticks == 0
    assert sim.step("a") == "msleep"
    a = sim.thread("a")
    assert (a.state, a.wmesg, a.wchan, a.timeout) == ("asleep", "c", "c", 10)
    assert "until tick 10" in a.describe()
    assert sim.ticks == 1
    while sim.ticks < 10:
        assert sim.thread("a").state == "asleep", sim.ticks
        assert sim.runnable() == ["b"]
        sim.step("b")
    assert sim.ticks == 10
    assert sim.thread("a").state == "runnable"
    assert sim.thread("a").timeout is None
    w = wakeups(sim)
    assert [(e.tick, e.thread, e.b) for e in w] == [(10, "a", -1)]   # -1: a timeout
    sleeps = [e for e in sim.events if e.kind == "sleep"]
    assert [(e.tick, e.thread, e.b) for e in sleeps] == [(0, "a", 10)]
    assert sleeps[0].a == w[0].a                          # the same channel
    assert sim.step("a") == "op:yield"


def test_ticks_per_step_rounds_timeout_up_to_a_step_end():
    sim = Sim(cpus=1, ticks_per_step=3)
    sim.spawn("a", ops=["tsleep c 10"])
    sim.spawn("b", ops=["yield"] * 10)
    sim.step("a")
    assert sim.ticks == 3
    while sim.thread("a").state == "asleep":
        sim.step("b")
    assert sim.ticks == 12                  # the first step end at or after 10
    assert [e.tick for e in wakeups(sim)] == [12]


def test_time_jumps_to_the_next_timeout_when_nothing_can_run():
    sim = Sim(cpus=2)
    sim.spawn("a", cpu=0, ops=["sleep 1000"])
    sim.spawn("b", cpu=1, ops=["sleep 500"])
    res = sim.run()
    assert res.outcome == "completed"
    # a sleeps at tick 0 (to 1000), b at tick 1 (to 501); then time jumps
    # to 501 and b runs out, then to 1000 and a runs out: four steps.
    assert res.steps == 4
    assert [(e.tick, e.thread, e.b) for e in wakeups(sim)] == [(501, "b", -1), (1000, "a", -1)]
    assert sim.ticks == 1001


def test_manual_step_also_jumps_time():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["tsleep c 10", "yield"])
    sim.step("a")
    assert sim.runnable() == []
    assert sim.ticks == 1
    assert sim.step() == "op:yield"        # jumps to tick 10, a runs
    assert sim.ticks == 11
    assert [e.tick for e in wakeups(sim)] == [10]


def test_sleep_op_sleeps_on_a_private_channel():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["sleep 5"])
    sim.spawn("b", ops=["wakeup a", "yield"])      # channel "a" is not a's own
    sim.step("a")
    a = sim.thread("a")
    assert (a.state, a.wmesg, a.timeout) == ("asleep", "sleep", 5)
    sim.step("b")
    assert sim.thread("a").state == "asleep"
    assert sim.run().outcome == "completed"
    assert [(e.thread, e.b) for e in wakeups(sim)] == [("b", 0), ("a", -1)]


def test_sleep_zero_does_not_sleep():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["sleep 0", "yield"])
    assert sim.step("a") == "op:yield"
    assert not any(e.kind == "sleep" for e in sim.events)


def test_wakeup_wakes_every_sleeper_on_its_channel_only():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["tsleep c"])
    sim.spawn("b", ops=["tsleep c 100"])
    sim.spawn("d", ops=["tsleep other"])
    sim.spawn("w", ops=["wakeup c"])
    for name in "abd":
        assert sim.step(name) == "msleep"
    assert sim.runnable() == ["w"]
    sim.step("w")
    states = {t.name: t.state for t in users(sim)}
    assert states == {"a": "runnable", "b": "runnable", "d": "asleep", "w": "finished"}
    assert [(e.thread, e.b) for e in wakeups(sim)] == [("w", 2)]     # woke two
    assert sim.thread("b").timeout is None
    res = sim.run()
    assert res.outcome == "deadlock"
    assert res.waiting == ["d: asleep on 'other' (channel other)"]


def test_wakeup_with_no_sleeper_is_lost():
    """A wakeup before the sleep does not count (no memory in a channel)."""
    sim = Sim(cpus=1)
    sim.spawn("w", ops=["wakeup c"])
    sim.spawn("a", ops=["tsleep c"])
    res = sim.run()
    assert res.outcome == "deadlock"
    assert [(e.thread, e.b) for e in wakeups(sim)] == [("w", 0)]
    assert res.waiting == ["a: asleep on 'c' (channel c)"]


def test_woken_sleeper_keeps_no_stale_timeout():
    """Woken early, a thread's old timeout must not wake its next sleep."""
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["tsleep c 10", "tsleep c"])
    sim.spawn("b", ops=["yield", "wakeup c"] + ["yield"] * 20)
    res = sim.run(steps=["a", "b", "b", "a"])
    assert sim.thread("a").state in ("asleep",)
    assert res.outcome == "deadlock"              # a sleeps for good after b
    assert sim.ticks > 10
    assert res.waiting == ["a: asleep on 'c' (channel c)"]
    assert [e.b for e in wakeups(sim)] == [1]     # only b's wakeup, no timeout


def test_timed_out_sleeper_is_not_woken_again():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["tsleep c 3", "yield"])
    sim.spawn("b", ops=["yield"] * 5 + ["wakeup c"])
    res = sim.run(steps=["a"] + ["b"] * 3)
    assert res.outcome == "completed"
    assert [(e.tick, e.thread, e.b) for e in wakeups(sim)] == [(3, "a", -1), (6, "b", 0)]


def zonelimit_sleepers(bugs, first, second):
    """Zone z holds one item, which a takes; `first`, then `second`, go to
    sleep in "zonelimit" on the keg; then a frees its item, and the free
    path wakes the keg's sleepers (wakeup_one() under the "wakeup_one" bug
    switch: the only caller of wakeup_one so far)."""
    sim = Sim(cpus=1, bugs=bugs)
    sim.zcreate("z", 4096, max=1)
    sim.spawn("a", ops=["alloc z -> x", "yield", "free x", "yield"])
    sim.spawn("b", ops=["alloc z -> y", "free y"])
    sim.spawn("c", ops=["alloc z -> w", "free w"])
    while sim.thread("a").op < 1:
        sim.step("a")
    for name in (first, second):
        while sim.thread(name).state != "asleep":
            sim.step(name)
        assert sim.thread(name).wmesg == "zonelimit"
    assert sim.thread(first).wchan == sim.thread(second).wchan
    while sim.thread("a").op < 3:
        sim.step("a")
    return sim


@pytest.mark.parametrize("first, second", [("c", "b"), ("b", "c")])
def test_wakeup_one_wakes_only_the_earliest_sleeper(first, second):
    sim = zonelimit_sleepers(("wakeup_one",), first, second)
    assert sim.thread(first).state == "runnable"
    assert sim.thread(second).state == "asleep"
    assert [(e.thread, e.b) for e in wakeups(sim)] == [("a", 1)]
    assert sim.run().outcome == "completed"       # later frees wake the other


@pytest.mark.parametrize("first, second", [("c", "b"), ("b", "c")])
def test_wakeup_of_the_keg_wakes_both_sleepers(first, second):
    sim = zonelimit_sleepers((), first, second)
    assert sim.thread(first).state == sim.thread(second).state == "runnable"
    assert [(e.thread, e.b) for e in wakeups(sim)] == [("a", 2)]
