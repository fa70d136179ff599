"""How the engine takes the steps of each kind of schedule.

A driver has `first(sim)` (the first step), `next(sim)` (one more) and,
when the whole run can be one call into the core, `whole(sim)`.  Each
returns the outcome as the core reports it ("step_limit" after a single
step that did not end the run).

    PolicyDriver    a policy or a script: the core decides; stepping runs
                    the first step with the policy installed, then goes on
                    under it (Core.run_more), which takes exactly the
                    decisions of one whole call
    TriggerDriver   (gap, decision) pairs counted in stops at UMA's own
                    preemption points
    GuidedDriver    the shrinker's segments (umasim.search.shrink)
"""

from __future__ import annotations

from umasim.bindings import POINT_LINES
from umasim.model.schedule import Schedule

# UMA's own preemption points: those at a line of FreeBSD 7's uma_core.c
# (the race windows, callbacks, the fine interleaving points).
UMA_POINTS = frozenset(i for i, line in enumerate(POINT_LINES) if line > 0)


class PolicyDriver:
    one_call = True

    def __init__(self, schedule: Schedule):
        self.schedule = schedule
        self.args = schedule.run_args()

    def whole(self, sim) -> str:
        return sim.run(**self.args).outcome

    def first(self, sim) -> str:
        args = dict(self.args, max_steps=1)
        if args.get("policy") == "pct" and not args.get("steps_hint"):
            # PCT's run-length estimate, over the whole run's step limit.
            args["steps_hint"] = max(1, sim.estimate_steps(self.args["max_steps"]))
        return sim.run(**args).outcome

    def next(self, sim) -> str:
        return sim.core.run_more(1)


class TriggerDriver:
    """Default decisions, but after the gap-th next stop of any thread at
    a UMA point, the trigger's decision (the run needs step events: the
    engine records every event for it)."""
    one_call = False
    level = "full"

    def __init__(self, schedule: Schedule):
        self.triggers = schedule.triggers
        self.ti = 0
        self.due = self.triggers[0][0] if self.triggers else -1
        self.next_decision = 0
        self.nev = 0

    def _one(self, sim) -> str:
        d, self.next_decision = self.next_decision, 0
        outcome, self.nev, stopped = sim.core.trigger_step(d, self.nev, UMA_POINTS)
        if stopped and self.ti < len(self.triggers):
            if self.due == 0:
                self.next_decision = self.triggers[self.ti][1]
                self.ti += 1
                self.due = self.triggers[self.ti][0] if self.ti < len(self.triggers) else -1
            else:
                self.due -= 1
        return outcome

    def first(self, sim) -> str:
        self.nev = sim.core.nevents()
        return self._one(sim)

    def next(self, sim) -> str:
        return self._one(sim)


class GuidedDriver:
    """Steps each segment's thread until it stops where it stopped before
    (see umasim.search.shrink.guided_steps), then default decisions."""
    one_call = False

    def __init__(self, schedule: Schedule):
        from umasim.search.shrink import guided_steps
        self.schedule = schedule
        self.steps = None
        self.make = guided_steps

    def first(self, sim) -> str:
        self.steps = self.make(sim, self.schedule.segments)
        return self.next(sim)

    def next(self, sim) -> str:
        for outcome in self.steps:
            return outcome
        # The segments are done: default decisions from here on.
        return sim.run(max_steps=1).outcome


def for_schedule(schedule: Schedule):
    kind = schedule.kind
    if kind == "triggers":
        return TriggerDriver(schedule)
    if kind == "guided":
        return GuidedDriver(schedule)
    return PolicyDriver(schedule)
