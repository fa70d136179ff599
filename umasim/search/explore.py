"""Explorers: many runs of one scenario from its post-setup snapshot, all
inside one C call (csrc/kern/explore.c), and the `umasim explore` command.

    random   runs under the random policy, run i seeded seed + i
    pct      runs under PCT of depth d (steps_hint from a first sequential
             run unless the scenario gives one), run i seeded seed + i
    bounded  every schedule with at most k preemptions (other threads, or
             migrations), depth first, with sleep sets over the steps'
             footprints unless reduction=False (docs/engine.md)
    guided   a corpus of schedules, mutated; a run that reaches new
             coverage joins it (its own generator, seeded with `seed`)

A run fails when it does not end as the scenario expects (outcome, panic
substring), when the invariant checker objects at its end, or when the
core's oracle (csrc/kern/oracle.c, umasim.search.oracle) fails it: the
fuzzing properties of kinds zero, duplicate, limit, liveness, stats and
accounting, judged during the run and at its end (oracle=False leaves it
out).  Runs fall into classes by outcome and message (and the oracle's
kind); each failing class is written as a scenario plus a trace
(artefacts), with the command that replays it.

A class of unexpected deadlocks whose first run ends where FreeBSD 7
itself leaves its threads (a thread asleep in zonelimit while the keg's
free items sit in another vCPU's per-CPU cache, ...) is a *hazard*, not a
failure: that run is replayed with the fuzzing properties checked after
every step (search.properties.deadlock_hazard, the analysis check_case
uses), and when no property fails and the deadlock is explained, the class
is reported as a FreeBSD 7 liveness hazard, with no artefact, and its runs
are not counted as failures.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from umasim.bindings import (EXPLORE_PANIC_MAX, EXPLORERS, GUIDED_CORPUS_MAX, PCT_MAXDEPTH,
                             ExploreClass)
from umasim.errors import InvalidArgument
from umasim.model.scenario import Scenario

KINDS = tuple(EXPLORERS)


@dataclass
class OutcomeClass(ExploreClass):
    """A class of runs the core reported, and its failure artefact once
    written.  `hazard`: an unexpected deadlock FreeBSD 7 itself can reach
    (not a failure; `hazard_reason` says why)."""
    artefact: object | None = None
    hazard: bool = False
    hazard_reason: str = ""


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
    coverage: object = None         # bindings.Coverage: the union over the runs
    seconds: float = 0.0
    artefacts: list = field(default_factory=list)
    # Each run that added to the coverage: [run, windows interleaved, state
    # pairs, windows entered, windows migrated], counts of the union after it.
    coverage_growth: list = field(default_factory=list)
    # bounded: branches its sleep sets pruned (0 without reduction), and
    # whether it reduced.
    pruned: int = 0
    reduction: bool = False
    hazards: int = 0                # runs in hazard classes
    # With states: the distinct final-state digests, sorted.
    state_digests: tuple = ()

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
                          "kind": c.kind, "oracle_step": c.oracle_step,
                          "count": c.count, "first_run": c.first_run,
                          "hazard": c.hazard,
                          "steps": len(c.decisions),
                          "preemptions": sum(1 for d in c.decisions if d),
                          "scenario": str(c.artefact.scenario_path) if c.artefact else None,
                          "trace": str(c.artefact.trace_path) if c.artefact else None,
                          "replay": c.artefact.replay_command if c.artefact else None}
                         for c in self.classes]}
        if self.coverage is not None:
            d["coverage"] = self.coverage.to_json()
        d["coverage_growth"] = [list(g) for g in self.coverage_growth]
        d["pruned"] = self.pruned
        d["hazards"] = self.hazards
        if timing:
            d["seconds"] = self.seconds
            d["runs_per_s"] = self.runs_per_s
        return d


def explore(scn: Scenario, explorer: str = "random", runs: int = 1000, seed: int | None = None,
            bound: int = 2, depth: int | None = None, migrate: float | None = None,
            check: bool = True, states: bool = False,
            corpus: int | None = None, reduction: bool = True,
            hazards: bool = True, oracle: bool = True) -> ExploreResult:
    """Runs an explorer over a scenario; returns what it found.  `corpus`:
    the guided explorer's most schedules kept (default GUIDED_CORPUS_MAX).
    `reduction`: the bounded explorer's sleep sets (the other explorers
    ignore it).  `hazards`: tell FreeBSD 7's own deadlocks from failures
    (module docstring).  `oracle`: judge every run by the core's oracle
    too."""
    if explorer not in KINDS:
        raise InvalidArgument(f"unknown explorer {explorer!r} (one of: {', '.join(KINDS)})")
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise InvalidArgument(f"runs must be a positive integer, not {runs!r}")
    if isinstance(bound, bool) or not isinstance(bound, int) or bound < 0:
        raise InvalidArgument(f"bound must be a non-negative integer, not {bound!r}")
    if corpus is not None and (isinstance(corpus, bool) or not isinstance(corpus, int)
                               or not 2 <= corpus <= GUIDED_CORPUS_MAX):
        raise InvalidArgument(f"corpus must be an integer from 2 to {GUIDED_CORPUS_MAX}, "
                              f"not {corpus!r}")
    sched = scn.schedule
    migrate = sched.migrate if migrate is None else migrate
    if not 0.0 <= migrate <= 1.0:
        raise InvalidArgument("migrate must be between 0 and 1")
    depth = sched.depth if depth is None else depth
    if not 1 <= depth <= PCT_MAXDEPTH:
        raise InvalidArgument(f"depth must be 1 to {PCT_MAXDEPTH}")
    panic = scn.expect.get("panic", "")
    if len(panic.encode()) > EXPLORE_PANIC_MAX - 1:
        raise InvalidArgument(f"expect.panic is too long for the explorer "
                              f"({EXPLORE_PANIC_MAX - 1} bytes at most)")
    sim = scn.build_with(trace="off")
    core = sim.core
    start = core.snapshot()
    t0 = time.perf_counter()
    s = core.explore(start, explorer, runs, sched.seed if seed is None else seed,
                     migrate, depth, sched.steps_hint, bound, sched.max_steps,
                     scn.expect.get("outcome", "completed"), panic, check, states,
                     corpus or 0, reduction=reduction and explorer == "bounded",
                     oracle=oracle)
    seconds = time.perf_counter() - t0
    classes = [OutcomeClass(**vars(c)) for c in s.classes]
    res = ExploreResult(explorer, s.runs, s.failures, classes, s.points_covered,
                        s.points_total, s.exhausted, s.steps_hint, s.distinct_states,
                        s.coverage, seconds, coverage_growth=list(s.growth),
                        pruned=s.pruned, reduction=reduction and explorer == "bounded",
                        state_digests=s.state_digests)
    if hazards:
        judge_hazards(scn, res)
    return res


def judge_hazards(scn: Scenario, result: ExploreResult) -> None:
    """Marks the failing deadlock classes whose first run is a FreeBSD 7
    liveness hazard (search.properties.deadlock_hazard) as hazards: not
    failures, no artefact."""
    from umasim.search.properties import deadlock_hazard
    for c in result.classes:
        if not c.failed or c.outcome != "deadlock" or c.check_failed or c.oracle_kind:
            continue
        why = deadlock_hazard(scn, c.decisions)
        if why is not None:
            c.failed, c.hazard, c.hazard_reason = False, True, why
            result.failures -= c.count
            result.hazards += c.count


def write_artefacts(scn: Scenario, result: ExploreResult, out_dir) -> None:
    """A scenario and a trace for each failing class."""
    from umasim.views.artefacts import write_failure
    for c in result.classes:
        if c.failed:
            c.artefact = write_failure(
                scn, c.decisions, out_dir, label=f"explore-{result.explorer}",
                comment=f"found by umasim explore --explorer {result.explorer}: "
                        + _what(c))
            result.artefacts.append(c.artefact)


def _what(c) -> str:
    """A class as a line says it: what failed and the outcome (the outcome
    alone when that is what failed, or nothing did); then the message."""
    head = f"{c.kind} ({c.outcome})" if c.kind and c.kind != c.outcome else c.outcome
    return head + (f": {c.message}" if c.message else "")


def format_result(result: ExploreResult) -> str:
    lines = [f"{result.explorer}: {result.runs} runs in {result.seconds:.2f} s "
             f"({result.runs_per_s:,.0f} runs/s), {result.failures} failed"
             + (", every schedule explored" if result.exhausted else "")]
    if result.reduction:
        lines.append(f"sleep sets pruned {result.pruned} branches")
    if result.hazards:
        lines.append(f"{result.hazards} runs ended in a FreeBSD 7 liveness hazard "
                     "(not failures)")
    lines.append(f"distinct outcomes: {len(result.classes)}"
                 + (f", distinct final states: {result.distinct_states}"
                    if result.distinct_states else ""))
    lines.append(f"preemption points covered: {len(result.points_covered)} of "
                 f"{result.points_total}")
    if result.coverage is not None:
        cov = result.coverage
        lines.append(f"race windows interleaved: {cov.windows_interleaved} of "
                     f"{len(cov.windows)}; (point, state) pairs: {cov.state_pairs}")
        if result.coverage_growth:
            last = result.coverage_growth[-1]
            lines.append(f"coverage grew at {len(result.coverage_growth)} runs, "
                         f"last at run {last[0]}")
        if cov.never_reached:
            lines.append("race windows never reached: " + ", ".join(cov.never_reached))
    for c in result.classes:
        mark = "FAIL" if c.failed else "HAZARD" if c.hazard else "ok"
        lines.append(f"  [{mark}] {_what(c)} -- {c.count} runs, first at run "
                     f"{c.first_run} ({len(c.decisions)} steps, "
                     f"{sum(1 for d in c.decisions if d)} preemptions)")
        if c.hazard:
            lines.append(f"         {c.hazard_reason}")
        if c.artefact is not None:
            lines.append(f"         {c.artefact.replay_command}")
    return "\n".join(lines) + "\n"
