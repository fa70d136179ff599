"""Schedules as values.

A `Schedule` says which thread takes each step of a run.  It is one of:

    a policy     sequential, roundrobin, random (seed, migrate) or pct
                 (seed, migrate, depth, steps_hint): the core decides;
    a script     decisions in machine form (each the canonical number of
                 the thread to run, and of the vCPU to migrate it to), or
                 steps in human form ("a", "b@1"); `then` decides after it;
    triggers     (gap, decision) pairs: after the gap-th next stop of any
                 thread at one of UMA's own preemption points, take the
                 decision; default decisions in between (the fuzzer's
                 form: a preemption lands where it matters);
    guided       the shrinker's replay of an interleaving on a changed
                 program: segments, each "run this thread until it stops
                 where it stopped before" (umasim.search.shrink).

Every schedule has a step limit, `max_steps`.  A Schedule is validated
once, when it is made; the engine (umasim.engine) runs it.  `to_dict()`
gives the [schedule] table of a scenario file (policies and scripts
only), `from_table()` reads one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Sequence

from umasim.bindings import PCT_MAXDEPTH, POLICIES
from umasim.errors import ScheduleError

DEFAULT_MAX_STEPS = 1_000_000
THEN_POLICIES = ("sequential", "roundrobin", "random")
# The keys of a [schedule] table, with their defaults.
TABLE_DEFAULTS: dict[str, Any] = {
    "policy": "sequential", "seed": 0, "depth": 3, "steps_hint": 0, "migrate": 0.0,
    "steps": None, "decisions": None, "then": "sequential", "max_steps": DEFAULT_MAX_STEPS,
}


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


@dataclass(frozen=True)
class Schedule:
    policy: str = "sequential"
    seed: int = 0
    migrate: float = 0.0
    depth: int = 3
    steps_hint: int = 0
    steps: tuple[str, ...] | None = None
    decisions: tuple[int, ...] | None = None
    triggers: tuple[tuple[int, int], ...] | None = None
    then: str = "sequential"
    max_steps: int = DEFAULT_MAX_STEPS
    # The shrinker's guided replay (umasim.search.shrink.Segment values).
    segments: tuple | None = None

    def __post_init__(self):
        forms = [f for f in ("steps", "decisions", "triggers", "segments")
                 if getattr(self, f) is not None]
        if len(forms) > 1:
            raise ScheduleError(f"give one of steps, decisions, triggers and segments, "
                                f"not {' and '.join(forms)}")
        if forms:
            object.__setattr__(self, forms[0], tuple(getattr(self, forms[0])))
        if forms and forms[0] in ("steps", "decisions") and self.policy == "sequential":
            object.__setattr__(self, "policy", "script")
        if self.policy not in POLICIES:
            raise ScheduleError(f"unknown policy {self.policy!r} "
                                f"(one of: {', '.join(POLICIES)})")
        if self.policy == "script" and forms[:1] not in (["steps"], ["decisions"]):
            raise ScheduleError("policy 'script' needs steps or decisions")
        if forms[:1] in (["steps"], ["decisions"]) and self.policy != "script":
            raise ScheduleError(f"steps and decisions need policy 'script', "
                                f"not {self.policy!r}")
        if forms[:1] in (["triggers"], ["segments"]) and self.policy != "sequential":
            raise ScheduleError(f"{forms[0]} take the default decision between them; "
                                f"policy {self.policy!r} does not go with them")
        if self.then not in THEN_POLICIES:
            raise ScheduleError(f"then must be one of {', '.join(THEN_POLICIES)}, "
                                f"not {self.then!r}")
        if not _is_int(self.seed) or not 0 <= self.seed < 2**64:
            raise ScheduleError(f"seed must be an integer from 0 to 2**64-1, not {self.seed!r}")
        m = self.migrate
        if isinstance(m, bool) or not isinstance(m, (int, float)) or math.isnan(m) \
                or not 0 <= m <= 1:
            raise ScheduleError(f"migrate must be a number from 0 to 1, not {m!r}")
        object.__setattr__(self, "migrate", float(m))
        if not _is_int(self.depth) or not 1 <= self.depth <= PCT_MAXDEPTH:
            raise ScheduleError(f"depth must be 1 to {PCT_MAXDEPTH}, not {self.depth!r}")
        if not _is_int(self.steps_hint) or self.steps_hint < 0:
            raise ScheduleError(f"steps_hint must not be negative, not {self.steps_hint!r}")
        if not _is_int(self.max_steps) or not 1 <= self.max_steps <= 10**12:
            raise ScheduleError(f"max_steps must be 1 to 10**12, not {self.max_steps!r}")
        if self.decisions is not None:
            for i, d in enumerate(self.decisions):
                if not _is_int(d) or not 0 <= d < 2**32:
                    raise ScheduleError(f"decisions[{i}] must be an integer from 0 to "
                                        f"2**32-1, not {d!r}")
        if self.steps is not None:
            for i, st in enumerate(self.steps):
                if not isinstance(st, str) or not st.partition("@")[0]:
                    raise ScheduleError(f"steps[{i}] must be a string like 'a' or 'a@1', "
                                        f"not {st!r}")
        if self.triggers is not None:
            trig = []
            for i, pair in enumerate(self.triggers):
                if not isinstance(pair, (tuple, list)) or len(pair) != 2 or \
                        not all(_is_int(x) and x >= 0 for x in pair):
                    raise ScheduleError(f"triggers[{i}] must be a (gap, decision) pair of "
                                        f"non-negative integers, not {pair!r}")
                trig.append((pair[0], pair[1]))
            object.__setattr__(self, "triggers", tuple(trig))

    # -- kinds --
    @property
    def kind(self) -> str:
        """"policy", "script", "triggers" or "guided"."""
        if self.triggers is not None:
            return "triggers"
        if self.segments is not None:
            return "guided"
        return "script" if self.policy == "script" else "policy"

    @classmethod
    def replay(cls, decisions: Sequence[int], max_steps: int | None = None) -> "Schedule":
        """Exactly these decisions, then the default ones (a trace's replay)."""
        dec = list(decisions)
        return cls(decisions=dec, then="sequential",
                   max_steps=max_steps if max_steps is not None else max(len(dec), 1))

    def with_seed(self, seed: int | None) -> "Schedule":
        """The same schedule with another seed (None: this one)."""
        return self if seed is None else replace(self, seed=seed)

    def with_decisions(self, decisions: Sequence[int]) -> "Schedule":
        """The schedule in machine form that a run of this one took
        (trailing default decisions dropped), with the same step limit."""
        dec = list(decisions)
        while dec and dec[-1] == 0:
            dec.pop()
        return Schedule(decisions=dec, then="sequential", max_steps=self.max_steps)

    @property
    def preemptions(self) -> int:
        if self.triggers is not None:
            return len(self.triggers)
        return sum(1 for d in self.decisions or () if d != 0)

    # -- the core's arguments --
    def run_args(self) -> dict[str, Any]:
        """Sim.run()'s arguments for a policy or a script."""
        if self.kind not in ("policy", "script"):
            raise ScheduleError(f"a {self.kind} schedule runs through the engine, "
                                "not Sim.run()")
        args: dict[str, Any] = {"max_steps": self.max_steps}
        if self.steps is not None:
            args.update(steps=list(self.steps), then=self.then)
        elif self.decisions is not None:
            args.update(decisions=list(self.decisions), then=self.then)
        else:
            args.update(policy=self.policy)
            if self.policy in ("random", "pct"):
                args.update(seed=self.seed, migrate=self.migrate)
            if self.policy == "pct":
                args.update(depth=self.depth, steps_hint=self.steps_hint)
        if args.get("then") == "random":
            args.update(seed=self.seed, migrate=self.migrate)
        return args

    # -- the [schedule] table --
    def to_dict(self) -> dict[str, Any]:
        """The [schedule] table, every key given (as a trace's header
        stores it)."""
        if self.kind not in ("policy", "script"):
            raise ScheduleError(f"a {self.kind} schedule has no scenario form until a run "
                                "resolves it (with_decisions)")
        d: dict[str, Any] = {"policy": self.policy, "seed": self.seed, "depth": self.depth,
                             "steps_hint": self.steps_hint, "migrate": self.migrate,
                             "then": self.then, "max_steps": self.max_steps}
        if self.steps is not None:
            d["steps"] = list(self.steps)
        if self.decisions is not None:
            d["decisions"] = list(self.decisions)
        return d

    @classmethod
    def from_table(cls, table: dict[str, Any]) -> "Schedule":
        """A [schedule] table (already checked for unknown keys and types
        by the scenario loader) as a Schedule."""
        s = dict(TABLE_DEFAULTS)
        s.update(table)
        scripted = s["steps"] is not None or s["decisions"] is not None
        return cls(policy="script" if scripted else s["policy"], seed=s["seed"],
                   migrate=s["migrate"], depth=s["depth"], steps_hint=s["steps_hint"],
                   steps=s["steps"], decisions=s["decisions"], then=s["then"],
                   max_steps=s["max_steps"])
