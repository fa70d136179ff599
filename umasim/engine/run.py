"""The run engine: one loop that every run of a scenario goes through.

    run = execute(scenario, schedule, observers)

builds the scenario's Sim, runs the schedule, and hands each step and the
end to the observers.  When no observer needs to see single steps and the
schedule is a policy or a script, the whole run is one call into the C
core; otherwise the engine steps, one C call a step, and asks each
observer after every step whether to go on.  Behaviour is added by
observers (invariant checks, samples for timelines and plots, trace
writing) and by schedule kinds (triggers, the shrinker's guided replay),
never by another loop.

An observer is any object with some of these (each optional):

    level          "off", "decisions" or "full": the events it reads
                   (the run records at the highest level asked for)
    every_step     True when it needs to see each step
    start(run)     before the first step (run.sim is built)
    step(run)      after each step; a true result stops the run there
    end(run)       after the last step (run.result is set)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

from umasim.engine import drivers
from umasim.errors import WrongType
from umasim.model.schedule import Schedule
from umasim.model.sim import RunResult, Sim

LEVELS = ("off", "decisions", "full")


class Observer(Protocol):
    level: str
    every_step: bool

    def start(self, run: "Run") -> None: ...

    def step(self, run: "Run") -> bool | None: ...

    def end(self, run: "Run") -> None: ...


@dataclass
class Run:
    """One run: what was run, the Sim it ran on, and how it ended."""
    scenario: Any                 # umasim.model.scenario.Scenario
    schedule: Schedule
    sim: Sim
    level: str
    result: RunResult | None = None
    stopped: bool = False         # an observer stopped it before its end
    last: str = "running"         # the core's outcome after the latest step
    start_steps: int = 0
    info: dict = field(default_factory=dict)   # what observers leave for each other

    @property
    def steps(self) -> int:
        """Steps taken by this run so far."""
        return self.sim.steps - self.start_steps

    @property
    def outcome(self) -> str:
        return self.result.outcome if self.result is not None else self.sim.outcome


def level_for(scenario, observers: Iterable = (), at_least: str = "off") -> str:
    """The trace level a run records: what the observers read, and every
    event when the scenario expects event counts."""
    want = LEVELS.index(at_least)
    if scenario is not None and scenario.expect.get("events"):
        want = LEVELS.index("full")
    for o in observers:
        want = max(want, LEVELS.index(getattr(o, "level", "off")))
    return LEVELS[want]


def execute(scenario, schedule: Schedule | None = None, observers: Iterable = (), *,
            digest_every: int = 0, level: str = "off", sim: Sim | None = None) -> Run:
    """Runs `schedule` (default: the scenario's own) on a new Sim of
    `scenario` (or on `sim`, from where it stands), with the observers.
    `digest_every` records a state digest every so many steps; `level` is
    the least trace level to record."""
    observers = list(observers)
    if schedule is None:
        schedule = scenario.schedule
    if not isinstance(schedule, Schedule):
        raise WrongType(f"a schedule is a umasim Schedule, not {type(schedule).__name__}")
    driver = drivers.for_schedule(schedule)
    lvl = level_for(scenario, observers + [driver], level)
    if sim is None:
        sim = scenario.build_with(trace=lvl)
    run = Run(scenario, schedule, sim, lvl, start_steps=sim.steps)
    if digest_every:
        sim.set_digest_interval(digest_every)
    for o in observers:
        if hasattr(o, "start"):
            o.start(run)
    stepping = [o for o in observers if getattr(o, "every_step", False)]
    start_dec = sim.ndecisions
    if not stepping and driver.one_call:
        outcome = driver.whole(sim)
    else:
        outcome = _stepped(run, driver, stepping)
    run.result = sim.run_result(outcome, run.start_steps, start_dec)
    for o in observers:
        if hasattr(o, "end"):
            o.end(run)
    return run


_GOING = frozenset(("running", "step_limit"))


def _stepped(run: Run, driver, stepping: list) -> str:
    """The loop: one step, then every stepping observer, until the run
    ends, the schedule's step limit, or an observer says stop.  Each call
    of a driver takes one step, or ends the run."""
    sim = run.sim
    limit = run.schedule.max_steps
    outcome = run.last = driver.first(sim)
    if outcome not in _GOING and sim.steps == run.start_steps:
        return outcome                  # nothing could run at all
    step = driver.next
    taken = 1
    while True:
        stop = False
        for o in stepping:
            if o.step(run):
                stop = True
        if stop:
            run.stopped = True
            return sim.outcome
        if outcome not in _GOING:
            return outcome
        if taken >= limit:
            return "step_limit"
        outcome = run.last = step(sim)
        taken += 1
