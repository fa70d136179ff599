"""Bad arguments raise ValueError or TypeError saying exactly what is
wrong, and change nothing."""

import re

import pytest

import umasim
from umasim import ScheduleError, Sim


def raises(exc, msg):
    """The builtin exception with exactly this message -- which is also a
    umasim.Error (a ValueError is an InvalidArgument, a TypeError a
    WrongType): checked on every refusal of this file."""
    return _Both(exc, msg)


class _Both:
    def __init__(self, exc, msg):
        self.cm = pytest.raises(exc, match="^" + re.escape(msg) + "$")

    def __enter__(self):
        self.info = self.cm.__enter__()
        return self.info

    def __exit__(self, *exc_info):
        done = self.cm.__exit__(*exc_info)
        assert isinstance(self.info.value, umasim.Error), type(self.info.value)
        return done


@pytest.mark.parametrize("kw, exc, msg", [
    ({"cpus": 0}, ValueError, "cpus must be at least 1, not 0"),
    ({"cpus": 65}, ValueError, "cpus must be at most 64, not 65"),
    ({"cpus": -1}, ValueError, "cpus must be at least 1, not -1"),
    ({"cpus": "2"}, TypeError, "cpus must be an integer, not str"),
    ({"cpus": 2.0}, TypeError, "cpus must be an integer, not float"),
    ({"cpus": True}, TypeError, "cpus must be an integer, not bool"),
    ({"ticks_per_step": -1}, ValueError, "ticks_per_step must not be negative, not -1"),
    ({"granularity": "medium"}, ValueError,
     "unknown granularity 'medium' (one of: coarse, fine)"),
    ({"invariants": 1}, TypeError, "invariants must be true or false, not int"),
    ({"trace": "loud"}, ValueError, "unknown trace level 'loud' (one of: off, decisions, full)"),
])
def test_bad_configuration(kw, exc, msg):
    with raises(exc, msg):
        Sim(**kw)


def test_cpu_limits_are_inclusive():
    assert Sim(cpus=1).cpus == 1
    sim = Sim(cpus=64)
    sim.spawn("a", cpu=63, ops=["yield"])
    assert sim.thread("a").cpu == 63


@pytest.mark.parametrize("ops, exc, msg", [
    (["frobnicate m"], ValueError, 'ops[0]: unknown op "frobnicate"'),
    (["yield", "lock"], ValueError, 'ops[1]: "lock" needs a mutex'),
    (["sleep -1"], ValueError, "ops[0]: -1 is negative"),
    (["sleep x"], ValueError, "ops[0]: bad number 'x'"),
    (["yield now"], ValueError, 'ops[0]: unexpected "now" in "yield"'),
    ([""], ValueError, "ops[0]: empty operation"),
    (["lock 9m"], ValueError, "ops[0]: bad mutex name '9m'"),
    ([7], TypeError, "ops[0]: an operation is a string, not int"),
    ("yield", TypeError, "ops must be a list of operation strings, not one string"),
])
def test_bad_ops(ops, exc, msg):
    sim = Sim()
    with raises(exc, msg):
        sim.spawn("a", ops=ops)
    assert [t.name for t in sim.threads] == ["softclock"]      # nothing spawned


@pytest.mark.parametrize("kw, exc, msg", [
    ({"repeat": -1}, ValueError, "repeat must not be negative, not -1"),
    ({"cpu": 2}, ValueError, "vCPU 2 does not exist (this simulation has 2)"),
    ({"cpu": -1}, ValueError, "cpu must not be negative, not -1"),
    ({"name": "a b"}, ValueError, "bad thread name 'a b' (a letter or _, then letters, digits, _ . or -; 31 characters at most)"),
    ({"name": ""}, ValueError, "bad thread name '' (a letter or _, then letters, digits, _ . or -; 31 characters at most)"),
    ({"name": "kernel"}, ValueError, 'thread "kernel" already exists (a kernel thread\'s name)'),
    ({"name": "b" * 32}, ValueError, f"bad thread name {'b' * 32!r} (a letter or _, then "
     "letters, digits, _ . or -; 31 characters at most)"),
    ({"name": 3}, TypeError, "a thread name is a string, not int"),
    ({"name": "softclock"}, ValueError, 'thread "softclock" already exists'),
])
def test_bad_spawn(kw, exc, msg):
    sim = Sim(cpus=2)
    args = {"name": "a", "ops": ["yield"]} | kw
    with raises(exc, msg):
        sim.spawn(**args)


def test_unknown_thread_and_vcpu():
    sim = Sim(cpus=2)
    sim.spawn("a", ops=["yield"])
    with raises(ValueError, 'unknown thread "zz"'):
        sim.step("zz")
    with raises(ValueError, 'unknown thread "zz"'):
        sim.migrate("zz", 1)
    with raises(TypeError, "a thread is named by a string, not int"):
        sim.step(1)
    with raises(ValueError, "vCPU 2 does not exist (this simulation has 2)"):
        sim.migrate("a", 2)
    with raises(ValueError, "cpu must not be negative, not -1"):
        sim.migrate("a", -1)
    with raises(ValueError, 'thread "a" already exists'):
        sim.spawn("a")
    with raises(ValueError, 'unknown thread "zz"'):
        sim.thread("zz")
    assert sim.steps == 0 and sim.decisions == []


@pytest.mark.parametrize("kw, exc, msg", [
    ({"policy": "fifo"}, ValueError,
     "unknown policy 'fifo' (one of: sequential, roundrobin, random, pct, script)"),
    ({"policy": 1}, TypeError, "policy must be a string, not int"),
    ({"steps": ["a"], "decisions": [0]}, ValueError, "give steps or decisions, not both"),
    ({"policy": "random", "decisions": [0]}, ValueError,
     "steps and decisions need policy 'script', not 'random'"),
    ({"policy": "script"}, ValueError, "policy 'script' needs steps or decisions"),
    ({"decisions": [0, -1]}, ValueError, "decisions[1] must not be negative, not -1"),
    ({"decisions": [2**32]}, ValueError, "decisions[0] must be at most 4294967295, not 4294967296"),
    ({"decisions": "12"}, TypeError, "decisions must be a list of integers"),
    ({"steps": "ab"}, TypeError, "steps must be a list of strings"),
    ({"steps": ["a", "zz"]}, ValueError, 'steps[1]: unknown thread "zz"'),
    ({"steps": ["a@9"]}, ValueError, "steps[0]: vCPU 9 does not exist (this simulation has 2)"),
    ({"steps": ["a@x"]}, ValueError, "steps[0]: bad vCPU 'x' in 'a@x'"),
    ({"steps": [1]}, TypeError, "steps[0] must be a string like 'a' or 'a@1'"),
    ({"max_steps": -1}, ValueError, "max_steps must not be negative, not -1"),
    ({"policy": "random", "migrate": 1.5}, ValueError, "migrate must be between 0 and 1, not 1.5"),
    ({"policy": "random", "migrate": "x"}, TypeError, "migrate must be a number between 0 and 1"),
    ({"policy": "pct", "depth": 0}, ValueError, "depth must be at least 1, not 0"),
    ({"policy": "random", "seed": -1}, ValueError, "seed must not be negative, not -1"),
    ({"decisions": [1], "then": "pct"}, ValueError,
     "then must be sequential, roundrobin or random, not 'pct'"),
    ({"decisions": [1], "then": "lifo"}, ValueError,
     "unknown then policy 'lifo' (one of: sequential, roundrobin, random, pct, script)"),
])
def test_bad_run_arguments(kw, exc, msg):
    sim = Sim(cpus=2)
    sim.spawn("a", ops=["yield"] * 2)
    sim.spawn("b", ops=["yield"] * 2)
    with raises(exc, msg):
        sim.run(**kw)
    assert sim.steps == 0 and sim.decisions == []           # nothing ran


def test_script_naming_a_thread_that_cannot_run():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["lock m", "yield", "unlock m"])
    sim.spawn("b", ops=["lock m", "unlock m"])
    with raises(ScheduleError, "schedule step 2: thread b cannot run now"):
        sim.run(steps=["a", "b", "b"])
    # the steps before the bad one were taken, and the Sim goes on
    assert sim.decisions == [0, 2]
    assert sim.thread("b").state == "blocked"
    assert sim.run().outcome == "completed"
    assert issubclass(ScheduleError, ValueError)


def test_script_naming_a_finished_thread():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["yield"])
    sim.spawn("b", ops=["yield"] * 3)
    with raises(ScheduleError, "schedule step 1: thread a cannot run now"):
        sim.run(steps=["a", "a"])


def test_stepping_a_thread_held_off_or_finished():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["crit_enter", "yield", "crit_exit"])
    sim.spawn("b", ops=["yield"])
    sim.step("a")
    with raises(ValueError, "thread b is not runnable: vCPU 0 is held in a critical "
                            "section by a"):
        sim.step("b")
    sim.run()
    with raises(ValueError, "no thread can run (all threads finished)"):
        sim.step()
