"""Callouts and the softclock thread."""

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


@pytest.mark.skip(reason="no op sets a callout yet; comes with the UMA port "
                         "(uma_timeout)")
def test_callout_runs_on_softclock_racing_with_threads():
    pass
