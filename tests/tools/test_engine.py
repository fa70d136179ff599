"""The run engine (umasim.execute): one loop, schedules as values,
observers that see each step or only the end."""

from __future__ import annotations

import pathlib
import re

import pytest

import umasim
from umasim import Schedule, ScheduleError, execute, load
from umasim.cli.run import default_scenario

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "scenarios"


class Steps:
    every_step = True

    def __init__(self, stop_at=None):
        self.seen, self.stop_at = [], stop_at
        self.started = self.ended = False

    def start(self, run):
        self.started = run.steps == 0

    def step(self, run):
        self.seen.append(run.steps)
        return self.stop_at is not None and run.steps >= self.stop_at

    def end(self, run):
        self.ended = run.result is not None


@pytest.mark.parametrize("schedule", [
    Schedule(policy="random", seed=3, migrate=0.3),
    Schedule(policy="pct", seed=5, depth=3),
    Schedule(policy="roundrobin"),
    None,
], ids=["random", "pct", "roundrobin", "scenario's own"])
def test_a_stepped_run_takes_the_decisions_of_one_call(schedule):
    """An observer that sees every step makes the engine step; the run is
    the same run: same decisions, same final digest."""
    scn = default_scenario()
    whole = execute(scn, schedule)
    watch = Steps()
    stepped = execute(scn, schedule, [watch])
    assert stepped.result.decisions == whole.result.decisions
    assert stepped.sim.digest() == whole.sim.digest()
    assert stepped.result.outcome == whole.result.outcome
    assert watch.seen == list(range(1, whole.result.steps + 1))
    assert watch.started and watch.ended


def test_an_observer_stops_the_run():
    scn = default_scenario()
    watch = Steps(stop_at=10)
    run = execute(scn, observers=[watch])
    assert run.stopped and run.sim.steps == 10 and watch.seen[-1] == 10


def test_the_step_limit_of_a_stepped_run():
    scn = default_scenario()
    run = execute(scn, Schedule(max_steps=25), [Steps()])
    assert run.result.outcome == "step_limit" and run.result.steps == 25


def test_a_replay_schedule_reproduces_a_run():
    scn = default_scenario()
    first = execute(scn, Schedule(policy="random", seed=11, migrate=0.5))
    again = execute(scn, Schedule.replay(first.result.decisions))
    assert again.sim.digest() == first.sim.digest()


def test_trigger_schedules_land_at_uma_points():
    """A (gap, decision) trigger fires after the gap-th next stop at a UMA
    point: the decision appears in the run's machine form right after it."""
    scn = load(SCENARIOS / "migration_alloc_slow_path.toml")
    plain = execute(scn, Schedule())
    trig = execute(scn, Schedule(triggers=[(0, 2)]))
    assert plain.result.decisions.count(0) == len(plain.result.decisions)
    assert any(d != 0 for d in trig.result.decisions)
    again = execute(scn, Schedule.replay(trig.result.decisions))
    assert again.sim.digest() == trig.sim.digest()


def test_the_run_records_what_its_observers_read():
    class Reads:
        level = "full"
        every_step = False

        def end(self, run):
            self.kinds = {e.kind for e in run.sim.events}
    scn = default_scenario()
    r = Reads()
    execute(scn, observers=[r], level="off")
    assert "step" in r.kinds
    quiet = execute(scn, level="off")
    assert quiet.sim.events == [] and quiet.level == "off"


@pytest.mark.parametrize("kw, msg", [
    (dict(policy="fair"), "unknown policy 'fair'"),
    (dict(decisions=[1], steps=["a"]), "give one of steps, decisions"),
    (dict(policy="random", decisions=[1]), "steps and decisions need policy 'script'"),
    (dict(policy="script"), "policy 'script' needs steps or decisions"),
    (dict(migrate=1.5), "migrate must be a number from 0 to 1"),
    (dict(depth=17), "depth must be 1 to 16"),
    (dict(max_steps=0), "max_steps must be 1 to"),
    (dict(decisions=[-1]), "decisions[0] must be an integer"),
    (dict(triggers=[(1,)]), "triggers[0] must be a (gap, decision) pair"),
    (dict(triggers=[(1, 2)], policy="random"), "triggers take the default decision"),
    (dict(then="pct"), "then must be one of sequential, roundrobin, random"),
])
def test_bad_schedules_are_refused_when_made(kw, msg):
    with pytest.raises(ScheduleError, match=re.escape(msg)) as e:
        Schedule(**kw)
    assert isinstance(e.value, ValueError) and isinstance(e.value, umasim.Error)


def test_execute_takes_only_a_schedule():
    with pytest.raises(TypeError, match="a schedule is a umasim Schedule"):
        execute(default_scenario(), {"policy": "random"})


def test_the_documented_example_runs(monkeypatch, capsys):
    """docs/engine.md's examples, as a user would paste them."""
    text = (ROOT / "docs" / "engine.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 3
    monkeypatch.chdir(ROOT)
    ns: dict = {}
    exec(blocks[1], ns)
    exec(blocks[2], ns)
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"completed \d+ steps; at most [1-9] thread\(s\) asleep in zonelimit",
                        out[0]), out
    assert [line.split()[0] for line in out[1:]] == ["0", "1", "2"]
