"""Callouts and the softclock thread (thread 0), which runs them when due:
so far the one callout is UMA's uma_timeout, armed at boot."""

import pytest

from umasim import Sim


def test_thread_0_is_softclock_a_kernel_thread_asleep():
    sim = Sim(cpus=4)
    t0 = sim.threads[0]
    assert (t0.tid, t0.name, t0.kernel, t0.cpu) == (0, "softclock", True, 0)
    assert (t0.state, t0.wmesg, t0.wchan) == ("asleep", "softclock", "softclock")
    assert t0.timeout is None
    sim.spawn("a", cpu=3, ops=["yield"])
    assert [t.name for t in sim.threads] == ["softclock", "a"]
    assert not sim.threads[1].kernel
    assert sim.runnable() == ["a"]


def test_softclock_does_not_keep_a_run_alive_or_count_as_waiting():
    sim = Sim()
    res = sim.run()
    assert (res.outcome, res.steps) == ("completed", 0)
    sim = Sim()
    sim.spawn("a", ops=["tsleep c"])
    res = sim.run()
    assert res.outcome == "deadlock"
    assert res.waiting == ["a: asleep on 'c' (channel c)"]    # softclock not listed
    assert sim.threads[0].state == "asleep"


def test_softclock_cannot_be_stepped_while_asleep():
    sim = Sim()
    sim.spawn("a", ops=["yield"])
    with pytest.raises(ValueError, match="^thread softclock is not runnable: "
                                         "asleep on softclock$"):
        sim.step("softclock")


UMA_TIMEOUT_TICKS = 20 * 1000      # uma_timeout's period: UMA_TIMEOUT s at hz = 1000


def softclock_steps(sim):
    return [e for e in sim.events if e.kind == "step" and e.thread == "softclock"]


def test_time_jumps_stop_at_each_due_callout():
    """uma_timeout is armed at boot for tick 20000: a thread asleep past it
    sees time stop there, softclock run the callout (and re-arm it), then
    time jump on to the thread's own timeout; likewise at 40000."""
    sim = Sim(cpus=2)
    sim.spawn("a", cpu=1, ops=["sleep 30000", "sleep 20000"])
    res = sim.run()
    assert res.outcome == "completed"
    steps = [e for e in sim.events if e.kind == "step"]
    runs = []                                       # (thread, first tick) per stretch
    for e in steps:
        if not runs or runs[-1][0] != e.thread:
            runs.append((e.thread, e.tick))
    clock = softclock_steps(sim)
    # uma_timeout re-arms itself at the end of its pass, the step that puts
    # softclock back to sleep
    rearmed = [e.tick for e in clock if e.point == "msleep"][0] + UMA_TIMEOUT_TICKS
    assert runs == [("a", 0), ("softclock", UMA_TIMEOUT_TICKS), ("a", 30000),
                    ("softclock", rearmed), ("a", 50001)]
    assert clock[-1].point == "msleep"
    assert sim.threads[0].state == "asleep"
    assert {e.cpu for e in clock} == {0}


def test_a_periodic_callout_alone_keeps_no_run_alive():
    sim = Sim()
    sim.spawn("a", ops=["tsleep c"])
    res = sim.run()
    assert res.outcome == "deadlock"
    assert sim.ticks < UMA_TIMEOUT_TICKS and not softclock_steps(sim)


def test_softclock_is_scheduled_and_preempted_like_any_thread():
    sim = Sim(cpus=1, ticks_per_step=1000)
    sim.spawn("a", ops=["yield"] * 40)
    while sim.ticks < UMA_TIMEOUT_TICKS:
        assert sim.runnable() == ["a"]
        sim.step("a")
    assert sim.runnable() == ["softclock", "a"]     # due: runnable, nothing more
    assert sim.thread("softclock").state == "runnable"
    while sim.thread("softclock").locks == 0:
        sim.step("softclock")
    sim.step("a")                                   # a runs mid-callout
    clock = sim.thread("softclock")
    assert clock.state == "runnable" and clock.locks > 0
    assert sim.thread("a").state in ("runnable", "blocked")
    # the sequential default sticks with the thread that ran last, and the
    # run is over when the scenario's threads are, callout or not
    res = sim.run()
    assert res.outcome == "completed"


def test_softclock_interleaves_under_a_random_schedule():
    sim = Sim(cpus=1, ticks_per_step=1000)
    sim.spawn("a", ops=["yield"] * 60)
    sim.run(policy="random", seed=4)
    order = [e.thread for e in sim.events if e.kind == "step"]
    first = order.index("softclock")
    assert "a" in order[:first]
    last = len(order) - 1 - order[::-1].index("softclock")
    assert "a" in order[first:last], "softclock's pass was not interleaved with a"


def test_softclock_blocks_on_a_lock_a_thread_holds():
    """A thread in the middle of allocating from a hash zone holds locks
    that uma_timeout needs: softclock blocks on one (lock_contended), and
    goes on once the thread lets go."""
    for attempt in range(1, 20):
        sim = Sim(cpus=2, ticks_per_step=2500)
        sim.zcreate("z", 64, flags=["hash"])
        sim.spawn("a", ops=["alloc z -> x{i}", "free x{i}"], repeat=50)
        holding = 0
        while holding < attempt:
            sim.step("a")
            if sim.ticks >= UMA_TIMEOUT_TICKS and sim.thread("a").locks > 0:
                holding += 1
        while sim.thread("softclock").state == "runnable":
            sim.step("softclock")
        clock = sim.thread("softclock")
        if clock.state == "blocked":
            break
    else:
        pytest.fail("softclock never met a lock held by a")
    assert clock.mutex_owner == "a"
    cont = [e for e in sim.events if e.kind == "lock_contended"]
    assert [e.thread for e in cont] == ["softclock"]
    while sim.thread("softclock").state == "blocked":
        sim.step("a")                               # until a lets go
    sim.step("softclock")                           # nobody barged: it takes it
    assert sim.thread("softclock").state != "blocked"
    assert len([e for e in sim.events if e.kind == "lock_contended"]) == 1
    res = sim.run()
    assert res.outcome == "completed"
    # the run ends with a, whether or not softclock's pass is over
    assert sim.thread("softclock").state in ("asleep", "runnable")
