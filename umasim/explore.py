"""Explorers: many runs of one scenario from its post-setup snapshot, all
inside one C call (csrc/kern/explore.c), and the `umasim explore` command.

    random   runs under the random policy, run i seeded seed + i
    pct      runs under PCT of depth d (steps_hint from a first sequential
             run unless the scenario gives one), run i seeded seed + i
    bounded  every schedule with at most k preemptions, depth first

A run fails when it does not end as the scenario expects (outcome, panic
substring) or the invariant checker objects at its end.  Runs fall into
classes by outcome and message; each failing class is written as a
scenario plus a trace (artefacts), with the command that replays it.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ._core import ffi, lib
from .scenario import Scenario, load
from .sim import OUTCOMES, POINTS

KINDS = {"random": lib.UMASIM_EXPLORE_RANDOM, "pct": lib.UMASIM_EXPLORE_PCT,
         "bounded": lib.UMASIM_EXPLORE_BOUNDED}
_OUTCOME_CODE = {v: k for k, v in OUTCOMES.items()}


@dataclass
class OutcomeClass:
    outcome: str
    failed: bool
    check_failed: bool
    message: str
    count: int
    first_run: int
    decisions: list[int]
    artefact: object | None = None


@dataclass
class ExploreResult:
    explorer: str
    runs: int
    failures: int
    classes: list[OutcomeClass]
    points_covered: list[str]
    points_total: int
    exhausted: bool
    steps_hint: int
    distinct_states: int
    seconds: float = 0.0
    artefacts: list = field(default_factory=list)

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.seconds if self.seconds > 0 else 0.0

    def to_json(self, timing: bool = False) -> dict:
        d = {"explorer": self.explorer, "runs": self.runs, "failures": self.failures,
             "distinct_outcomes": len(self.classes),
             "distinct_states": self.distinct_states,
             "points_covered": len(self.points_covered), "points_total": self.points_total,
             "exhausted": self.exhausted, "steps_hint": self.steps_hint,
             "classes": [{"outcome": c.outcome, "failed": c.failed, "message": c.message,
                          "count": c.count, "first_run": c.first_run,
                          "steps": len(c.decisions),
                          "preemptions": sum(1 for d in c.decisions if d),
                          "scenario": str(c.artefact.scenario_path) if c.artefact else None,
                          "trace": str(c.artefact.trace_path) if c.artefact else None,
                          "replay": c.artefact.replay_command if c.artefact else None}
                         for c in self.classes]}
        if timing:
            d["seconds"] = self.seconds
            d["runs_per_s"] = self.runs_per_s
        return d


def explore(scn: Scenario, explorer: str = "random", runs: int = 1000, seed: int | None = None,
            bound: int = 2, depth: int | None = None, migrate: float | None = None,
            check: bool = True, states: bool = False) -> ExploreResult:
    """Runs an explorer over a scenario; returns what it found."""
    if explorer not in KINDS:
        raise ValueError(f"unknown explorer {explorer!r} (one of: {', '.join(KINDS)})")
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be a positive integer, not {runs!r}")
    if isinstance(bound, bool) or not isinstance(bound, int) or bound < 0:
        raise ValueError(f"bound must be a non-negative integer, not {bound!r}")
    sched = scn.schedule
    sim = scn.build_with(trace="off")
    start = sim.snapshot()
    p = ffi.new("struct umasim_explore_params *")
    p.kind = KINDS[explorer]
    p.runs = runs
    p.seed = sched["seed"] if seed is None else seed
    p.migrate = sched["migrate"] if migrate is None else migrate
    if not 0.0 <= p.migrate <= 1.0:
        raise ValueError("migrate must be between 0 and 1")
    p.depth = sched["depth"] if depth is None else depth
    if not 1 <= p.depth <= 16:
        raise ValueError("depth must be 1 to 16")
    p.steps_hint = sched["steps_hint"]
    p.bound = bound
    p.max_steps = sched["max_steps"]
    p.expect_outcome = _OUTCOME_CODE[scn.expect.get("outcome", "completed")]
    panic = scn.expect.get("panic", "")
    if len(panic.encode()) >= 127:
        raise ValueError("expect.panic is too long for the explorer (126 bytes at most)")
    p.expect_panic = panic.encode()
    p.check = check
    p.states = states
    res = ffi.new("struct umasim_explore_result *")
    t0 = time.perf_counter()
    r = lib.umasim_explore(sim._s, start._ptr, p, res)
    seconds = time.perf_counter() - t0
    if r < 0:
        sim._raise(r)
    classes = []
    kc = ffi.new("struct umasim_explore_class *")
    for i in range(res.classes):
        lib.umasim_explore_class(sim._s, i, kc)
        dp = lib.umasim_explore_decisions(sim._s, i)
        dec = list(ffi.unpack(dp, kc.ndecisions)) if dp != ffi.NULL and kc.ndecisions else []
        classes.append(OutcomeClass(OUTCOMES[kc.outcome], bool(kc.failed),
                                    bool(kc.check_failed),
                                    ffi.string(kc.message).decode(errors="replace"),
                                    kc.count, kc.first_run, dec))
    covered = [POINTS[i] for i in range(len(POINTS))
               if lib.umasim_explore_point_covered(sim._s, i)]
    return ExploreResult(explorer, res.runs, res.failures, classes, covered, res.points_total,
                         bool(res.exhausted), res.steps_hint, res.distinct_states, seconds)


def write_artefacts(scn: Scenario, result: ExploreResult, out_dir) -> None:
    """A scenario and a trace for each failing class."""
    from .artefacts import write_failure
    for c in result.classes:
        if c.failed:
            c.artefact = write_failure(
                scn, c.decisions, out_dir, label=f"explore-{result.explorer}",
                comment=f"found by umasim explore --explorer {result.explorer}: "
                        f"{c.outcome}" + (f" ({c.message})" if c.message else ""))
            result.artefacts.append(c.artefact)


def format_result(result: ExploreResult) -> str:
    lines = [f"{result.explorer}: {result.runs} runs in {result.seconds:.2f} s "
             f"({result.runs_per_s:,.0f} runs/s), {result.failures} failed"
             + (", every schedule explored" if result.exhausted else "")]
    lines.append(f"distinct outcomes: {len(result.classes)}"
                 + (f", distinct final states: {result.distinct_states}"
                    if result.distinct_states else ""))
    lines.append(f"preemption points covered: {len(result.points_covered)} of "
                 f"{result.points_total}")
    for c in result.classes:
        mark = "FAIL" if c.failed else "ok"
        msg = f": {c.message}" if c.message else ""
        lines.append(f"  [{mark}] {c.outcome}{msg} -- {c.count} runs, first at run "
                     f"{c.first_run} ({len(c.decisions)} steps, "
                     f"{sum(1 for d in c.decisions if d)} preemptions)")
        if c.artefact is not None:
            lines.append(f"         {c.artefact.replay_command}")
    return "\n".join(lines) + "\n"


def cmd_explore(args) -> int:
    scn = load(args.scenario)
    res = explore(scn, args.explorer, args.runs, args.seed, args.bound, args.depth,
                  states=args.states)
    if res.failures:
        write_artefacts(scn, res, args.out)
    if args.json:
        print(json.dumps(res.to_json(timing=args.timing), sort_keys=True, indent=1))
    else:
        sys.stdout.write(format_result(res))
    return 1 if res.failures else 0


def add_command(sub) -> None:
    e = sub.add_parser("explore", help="many runs of a scenario: random, pct or bounded")
    e.add_argument("scenario")
    e.add_argument("--explorer", choices=tuple(KINDS), default="random")
    e.add_argument("--runs", type=int, default=1000, help="runs at most (default 1000)")
    e.add_argument("--seed", type=int, help="first seed (default: the scenario's)")
    e.add_argument("--bound", type=int, default=2, help="bounded: preemptions (default 2)")
    e.add_argument("--depth", type=int, help="pct: depth (default: the scenario's)")
    e.add_argument("--states", action="store_true", help="count distinct final states")
    e.add_argument("--out", default=None, help="where failures are written "
                   "(default .umasim/failures)")
    e.add_argument("--json", action="store_true")
    e.add_argument("--timing", action="store_true",
                   help="with --json, include seconds and runs_per_s (not reproducible)")
    e.set_defaults(func=cmd_explore)
