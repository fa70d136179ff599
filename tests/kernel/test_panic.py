"""Panics end the simulation, never the process: the Sim stays readable,
refuses to run on, and other simulations are untouched."""

import subprocess
import sys

import pytest

from umasim import Sim, SimPanicked


def panicked(ops, *, steps=None, other=None):
    sim = Sim(cpus=1)
    sim.spawn("a", ops=ops)
    if other:
        sim.spawn("b", ops=other)
    res = sim.run(steps=steps)
    return sim, res


@pytest.mark.parametrize("ops, msg", [
    (["unlock m"], "mutex m not owned"),
    (["lock m", "lock m"], "_mtx_lock_sleep: recursed on non-recursive mutex m"),
    (["lock m"], "thread a exited with 1 mutex held"),
    (["lock m", "lock n"], "thread a exited with 2 mutexes held"),
])
def test_mutex_misuse_panics(ops, msg):
    sim, res = panicked(ops)
    assert (res.outcome, res.panic) == ("panic", msg)
    assert (sim.outcome, sim.panic) == ("panic", msg)
    assert sim.console[-1] == f"panic: {msg}"
    assert sim.thread("a").state == "panicked"
    assert sim.thread("a").point == "panic"
    ev = [e for e in sim.events if e.kind == "panic"]
    assert len(ev) == 1 and ev[0].thread == "a"


def test_unlock_of_a_mutex_another_thread_owns_panics():
    sim, res = panicked(["lock m", "yield", "unlock m"], other=["unlock m"], steps=["a", "b"])
    assert res.panic == "mutex m not owned"
    assert sim.thread("b").state == "panicked"
    assert sim.thread("a").state == "runnable"      # the others stay as they were
    assert sim.thread("a").locks == 1


def test_a_panicked_sim_stays_readable_but_will_not_run():
    sim, res = panicked(["yield", "unlock m", "yield"], other=["yield"] * 3)
    assert res.outcome == "panic"
    steps, ticks, digest = sim.steps, sim.ticks, sim.digest()
    with pytest.raises(SimPanicked, match=r"mutex m not owned"):
        sim.step()
    with pytest.raises(SimPanicked):
        sim.step("b")
    with pytest.raises(SimPanicked):
        sim.run()
    with pytest.raises(SimPanicked):
        sim.run(decisions=[1, 2])
    # nothing moved, everything is still readable
    assert (sim.steps, sim.ticks, sim.digest()) == (steps, ticks, digest)
    assert [t.name for t in sim.threads] == ["softclock", "a", "b"]
    assert sim.outcome == "panic"
    assert sim.event_counts()["panic"] == 1


def test_manual_step_into_a_panic_returns_the_panic_point():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["unlock m"])
    assert sim.step("a") == "panic"
    assert sim.outcome == "panic"
    with pytest.raises(SimPanicked):
        sim.step("a")


def test_another_sim_still_works_after_a_panic():
    bad, _ = panicked(["lock m", "lock m"])
    good = Sim(cpus=1)
    good.spawn("a", ops=["lock m", "yield", "unlock m"])
    good.spawn("b", ops=["lock m", "yield", "unlock m"])
    res = good.run(policy="random", seed=1)
    assert res.outcome == "completed" and good.panic is None
    assert bad.outcome == "panic"
    ref = Sim(cpus=1)
    ref.spawn("a", ops=["lock m", "yield", "unlock m"])
    ref.spawn("b", ops=["lock m", "yield", "unlock m"])
    assert ref.run(policy="random", seed=1).decisions == res.decisions
    assert ref.digest() == good.digest()


def test_stack_overflow_becomes_a_panic():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["recurse 100000"])
    sim.spawn("b", ops=["yield"])
    res = sim.run()
    assert (res.outcome, res.panic) == ("panic", "stack overflow in thread a")
    assert sim.console == ["panic: stack overflow in thread a"]
    # the process, and simulation in it, go on
    for _ in range(2):
        again = Sim(cpus=1)
        again.spawn("x", ops=["recurse 100000"])
        assert again.run().panic == "stack overflow in thread x"
    fine = Sim(cpus=1)
    fine.spawn("a", ops=["recurse 50"])
    assert fine.run().outcome == "completed"


def test_stack_overflow_on_a_host_thread_that_did_not_create_the_sim():
    """The overflow handler needs an alternate signal stack on whichever
    host thread drives the Sim (run in a child: failure would kill it)."""
    script = (
        "import threading\n"
        "from umasim import Sim\n"
        "sims = [Sim(cpus=1) for _ in range(2)]\n"
        "for s in sims: s.spawn('a', ops=['recurse 100000'])\n"
        "out = []\n"
        "def drive(s, how):\n"
        "    out.append(s.run().panic if how else (s.step('a'), s.panic))\n"
        "for i, s in enumerate(sims):\n"
        "    t = threading.Thread(target=drive, args=(s, i)); t.start(); t.join()\n"
        "print(out)\n")
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == ("[('panic', 'stack overflow in thread a'), "
                                "'stack overflow in thread a']")
