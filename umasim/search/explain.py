"""Where a failure became inevitable: P(the same failure | the prefix up to
step s), estimated by continuations (`umasim explain`, views/explain.py),
and runs onward from a trace's prefix (`umasim replay --continue`).

One replay of the trace goes from each step to be estimated to the next
(one C call that takes the trace's decisions in between), with a snapshot
of the state after each; the bisection below goes back to a snapshot of
the state before the first step and replays from there.  From each
snapshot, `continuations` runs under the random policy and as many under
PCT go on to the end, inside one C call per policy (the explorers of
csrc/kern/explore.c, started from that snapshot); the share of them that
fail the same way as the trace is the estimate at step s.  Continuation
seeds come from (the trace's final digest, the step, the user's seed), so
the same trace and seed give the same curve, in every process.

Continuations migrate a thread with the probability the scenario's
schedule gives (`migrate`), or, when it gives none, as often as the
failing run itself did (its migrations over its steps): a failure that
needs a migration stays reachable from every prefix, and the estimate
does not depend on a setting chosen for one bug.  PCT continuations take
the scenario's depth and the steps the trace has left as their length.

"The same failure" is judge.failure_signature's, with two additions: a
run that ends as its scenario expects but badly in itself (a panic, a
deadlock, a host fault, the step limit, or an invariant the checker
reports at its end), as the known-bug scenarios expect, is judged as if
it had no expectations; and a scenario in the fuzzer's shape is judged by
the fuzzing properties that hold at a run's end (check_sim_end).  Continuations are classified inside the core by
outcome and message (the panic, host fault or checker message, numbers
and addresses aside; a deadlock by its outcome alone).  A failure that
only the scenario's expectations or the properties see (a completed run
with wrong vmstat figures, say) cannot be judged inside the core: each of
its continuations is run in one C call and judged here.

A trace longer than MAX_POINTS steps is estimated at MAX_POINTS evenly
spaced steps first, and the rises between them are bisected down to single
steps (a step's estimate does not depend on which others are made).

A step is *decisive* when the estimate rises by at least JUMP across it
(from the step before); when no step does, no step decides the failure
and `largest_rise` says where it rises most.  When every
continuation from the very start fails the same way, the failure is
*deterministic*: no curve is estimated.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from umasim.bindings import POINT_FUNCS, POINT_LINES, POINTS
from umasim.errors import InvalidArgument, NoFailure, TraceError, WrongType
from umasim.model.scenario import Scenario, from_dict
from umasim.model.sim import Sim
from umasim.model.schedule import Schedule
from umasim.search.judge import Failure, failure_signature, normalise_panic, properties_apply
from umasim.views import trace as traces

DEFAULT_K = 50          # continuations per policy and step
POLICIES = ("random", "pct")
JUMP = 0.5              # a rise of the estimate that makes a step decisive
MAX_K = 100_000
MAX_POINTS = 200        # steps estimated before the rises are bisected

_HEX = re.compile(r"0x[0-9a-fA-F]+")
_NUM = re.compile(r"\b\d+\b")
_WHERE = {p: (f, ln) for p, f, ln in zip(POINTS, POINT_FUNCS, POINT_LINES)}


def where(point: str) -> tuple[str | None, int | None]:
    """The port's function and FreeBSD 7 line of a point (None when it
    has none)."""
    f, ln = _WHERE.get(point, (None, 0))
    return (f or None), (ln or None)


def continuation_seed(digest: str, step: int, seed: int) -> int:
    """The first seed of the continuations from the state after `step`
    of the trace whose final digest is `digest` (48 bits, so that seed +
    run never wraps)."""
    h = hashlib.blake2b(f"umasim-continue:{digest}:{step}:{seed}".encode(), digest_size=6)
    return int.from_bytes(h.digest(), "big")


def load_trace(trace) -> traces.Trace:
    """A Trace from a path or a Trace (views.trace.read's object)."""
    if isinstance(trace, traces.Trace):
        return trace
    if isinstance(trace, (str, Path)):
        return traces.read(trace)
    raise WrongType(f"a trace is a path or a umasim.views.trace.Trace, "
                    f"not {type(trace).__name__}")


def check_count(k, what: str = "continuations") -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise InvalidArgument(f"{what} must be an integer from 1 to {MAX_K}, not {k!r}")
    return k


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidArgument(f"seed must be a non-negative integer, not {seed!r}")
    return seed


def replay_full(tr: traces.Trace) -> Sim:
    """The trace replayed with every event recorded; TraceError when it
    does not replay identically (a tampered trace)."""
    full = dataclasses.replace(tr, header={**tr.header, "level": "full"})
    res = traces.replay(full)
    if not res.identical:
        raise TraceError(f"the trace does not replay: {res.message}")
    return res.sim


def without_expectations(scn: Scenario) -> Scenario:
    d = scn.to_dict()
    d["expect"] = {}
    return from_dict(d, scn.source)


def judge(scn: Scenario, sim: Sim, outcome: str | None = None) -> tuple[Failure | None, Scenario]:
    """How the finished run of `sim` failed, and the scenario it is judged
    by (the scenario, or, when the run ends as it expects but badly in
    itself, the scenario without its expectations).  A scenario in the
    fuzzer's shape (properties_apply) is also judged by the fuzzing
    properties that hold at the end of a run (check_sim_end: panic,
    console, duplicates, the deadlock explanation, the statistics)."""
    outcome = outcome or sim.outcome
    f = failure_signature(scn, sim, outcome)
    if f is not None:
        return f, scn
    bare = without_expectations(scn) if scn.expect else scn
    if bare is not scn:
        f = failure_signature(bare, sim, outcome)
        if f is not None:
            return f, bare
    v = end_verdict(bare, sim)
    if v is not None and not v.ok:
        return failure_signature(bare, sim, outcome, v), bare
    return None, scn


def end_verdict(scn: Scenario, sim: Sim):
    """The end-of-run fuzzing properties' verdict on a finished Sim (full
    events), or None when they do not apply to the scenario."""
    if not properties_apply(scn) or sim.config["trace"] != "full":
        return None
    from umasim.search.properties import Case, check_sim_end
    return check_sim_end(Case(scn, Schedule.replay(sim.decisions)), sim)


def _norm(message: str) -> str:
    return _NUM.sub("N", _HEX.sub("0x...", message or ""))


def in_core(f: Failure) -> bool:
    """Whether the core's classes of runs (outcome, message, checker)
    tell this failure apart: anything but a completed run whose only
    fault is its expectations."""
    return (f.outcome != "completed" or "check" in f.expectations) and \
        not any(k.startswith("property.") for k in f.expectations)


def class_matches(f: Failure, outcome: str, check_failed: bool, message: str) -> bool:
    """Whether an explorer class (outcome, checker verdict, message) is the
    failure `f`."""
    if outcome != f.outcome:
        return False
    if "check" in f.expectations:
        return check_failed and bool(f.detail) and _norm(message) == f.detail[0]
    if check_failed:
        return False
    if f.outcome == "panic":
        return normalise_panic(message) == (f.detail[0] if f.detail else "")
    return True


@dataclass
class StepInfo:
    """Step `step` of the trace (1-based): the thread its decision chose,
    where that thread had stopped before it (the point, its function and
    line), the operation it was in, and the vCPUs before and after."""
    step: int
    decision: int
    thread: str
    tid: int
    cpu_before: int
    cpu: int
    point: str
    reached: str
    op: str | None


@dataclass
class Estimate:
    trace: traces.Trace
    scenario: Scenario           # the one the failure is judged by
    failure: Failure
    outcome: str
    message: str
    sim: Sim                     # the full replay, at the end of the run
    steps: list[StepInfo]
    curve: list[tuple[int, float]]
    deterministic: bool
    decisive: list[int]
    continuations: int
    seed: int
    migrate: float
    policies: tuple[str, ...]
    judged_in_core: bool
    runs: int = 0                # continuations run in all
    notes: list[str] = field(default_factory=list)


def step_infos(scn: Scenario, sim: Sim) -> list[StepInfo]:
    """Per step, from the full replay's events: who ran, from where.  A
    step that ends the run in a panic or a host fault has no step event:
    its last event (the panic, the fault) names the thread."""
    last_point: dict[str, str] = {}
    cpu_of: dict[str, int] = {t["name"]: t["cpu"] for t in scn.threads}
    cur_op: dict[str, str | None] = {}
    dec = sim.decisions
    by_step: dict[int, list] = {}
    for e in sim.events:
        if e.step > 0:
            by_step.setdefault(e.step, []).append(e)
    out: list[StepInfo] = []
    names = set(sim.thread_names)
    for s in range(1, sim.steps + 1):
        evs = by_step.get(s, [])
        main = next((e for e in evs if e.kind == "step"), None)
        if main is None:
            main = next((e for e in reversed(evs) if e.thread in names), None)
        if main is None:
            continue
        t = main.thread
        before = cpu_of.get(t, main.cpu)
        for e in evs:
            if e.kind == "migration" and e.thread == t:
                before = e.a
            if e.kind == "op_begin" and e.thread == t:
                cur_op[t] = _op_of_event(scn, t, e)
        reached = main.point if main.kind == "step" else main.kind
        out.append(StepInfo(s, dec[s - 1] if s - 1 < len(dec) else 0, t,
                            sim.thread_id(t) if t in names else -1, before, main.cpu,
                            last_point.get(t, "start"), reached, cur_op.get(t)))
        last_point[t] = main.point if main.kind == "step" else last_point.get(t, "start")
        cpu_of[t] = main.cpu
    return out


def _op_of_event(scn: Scenario, thread: str, e) -> str | None:
    # op_begin: b is the operation's index in the (unrolled) program
    for t in scn.threads:
        if t["name"] == thread:
            ops = t["ops"]
            if not ops:
                return None
            it, k = divmod(e.b, len(ops))
            return ops[k].replace("{i}", str(it))
    return None


def estimate(trace, continuations: int = DEFAULT_K, seed: int = 0, *,
             policies: tuple[str, ...] = POLICIES,
             progress: Callable[[int, int], None] | None = None) -> Estimate:
    """P(the same failure | the prefix up to each step) of a failing trace;
    see the module's docstring."""
    tr = load_trace(trace)
    k = check_count(continuations)
    seed = check_seed(seed)
    for p in policies:
        if p not in ("random", "pct"):
            raise InvalidArgument(f"unknown continuation policy {p!r} (random or pct)")
    if not policies:
        raise InvalidArgument("no continuation policy")
    scn = tr.scenario
    sim = replay_full(tr)
    f, judged = judge(scn, sim, tr.end["end"])
    if f is None:
        raise NoFailure(f"the trace's run does not fail ({tr.end['end']} after "
                        f"{tr.end['steps']} steps, as its scenario expects; neither the "
                        "invariant checker nor, for a scenario in the fuzzer's shape, the "
                        "fuzzing properties find anything): nothing to explain")
    steps = step_infos(scn, sim)
    dec = tr.decisions
    n = len(dec)
    migrations = sum(1 for s in steps if s.cpu != s.cpu_before)
    sched = scn.schedule
    migrate = sched.migrate if sched.migrate > 0 else (migrations / n if n else 0.0)
    message = sim.panic or ""
    if f.outcome == "deadlock":
        message = "asleep: " + ", ".join(
            f"{t.name} ({t.wmesg})" for t in sim.threads if not t.kernel and t.state == "asleep")
    if "check" in f.expectations:
        message = sim.core.check() or ""
    elif sim.host_fault is not None:
        message = sim.host_fault.message
    elif any(x.startswith("property.") for x in f.expectations):
        v = end_verdict(judged, sim)
        message = f"{v.kind}: {v.message}" if v is not None else ""
    core_judged = in_core(f)
    est = Estimate(tr, judged, f, tr.end["end"], message, sim, steps, [], False, [], k, seed,
                   migrate, tuple(policies), core_judged)
    digest = tr.end["digest"]
    panic_sub = judged.expect.get("panic", "") if core_judged else ""
    expect_outcome = judged.expect.get("outcome", "completed")

    work = scn.build_with(trace="off" if core_judged else "full")
    core = work.core
    start = core.snapshot()
    budget = sched.max_steps
    points: dict[int, float] = {n: 1.0}     # the end: the failure has happened

    cur = 0                                 # the steps of the trace the core has taken

    def at(s: int) -> float:
        """The estimate from the state after step s: the replay goes on
        from where it stands (back to the start first, for a step behind
        it), and a snapshot of that state starts the continuations."""
        nonlocal cur
        if s < cur:
            core.restore(start)
            cur = 0
        if s > cur:
            core.run("script", 0, 0.0, 1, 0, dec[cur:s], None, "sequential", s - cur)
            cur = s
        snap = core.snapshot()
        first = continuation_seed(digest, s, seed)
        hits = total = 0
        for pol in policies:
            if core_judged:
                res = core.explore(snap, pol, k, first, migrate, sched.depth, max(1, n - s),
                                   0, max(1, budget - s), expect_outcome, panic_sub[:100],
                                   True, False)
                total += res.runs
                hits += sum(c.count for c in res.classes
                            if class_matches(f, c.outcome, c.check_failed, c.message))
            else:
                h, t = _judged_here(work, snap, judged, f, pol, k, first, migrate,
                                    sched.depth, max(1, n - s), max(1, budget - s))
                hits, total = hits + h, total + t
        core.restore(snap)
        est.runs += total
        points[s] = hits / total if total else 0.0
        if progress is not None:
            progress(len(points) - 1, planned)
        return points[s]

    grid = grid_steps(n, MAX_POINTS)
    planned = len(grid)
    if n == 0 or at(0) == 1.0:
        est.deterministic = True
        est.curve = [(0, 1.0)]
        return est
    for s in grid[1:]:
        at(s)
    # Between grid points, bisect the rises that may hide a decisive step.
    for a, b in rises_to_refine(points):
        while b - a > 1:
            m = (a + b) // 2
            pm = at(m)
            if pm - points[a] >= points[b] - pm:
                b = m
            else:
                a = m
    est.curve = sorted(points.items())
    est.decisive = decisive_steps(est.curve)
    return est


def grid_steps(n: int, most: int) -> list[int]:
    """The steps 0..n-1 whose estimates are made first: all of them, or
    `most` of them evenly spaced (0 and n-1 included)."""
    if n <= most:
        return list(range(n))
    return sorted({round(i * (n - 1) / (most - 1)) for i in range(most)})


def rises_to_refine(points: dict[int, float]) -> list[tuple[int, int]]:
    """Pairs of neighbouring estimated steps more than one step apart
    across which the estimate rises by at least JUMP; when there are none,
    the pair of the largest rise, if no pair of adjacent steps rises more."""
    ss = sorted(points)
    pairs = [(a, b, points[b] - points[a]) for a, b in zip(ss, ss[1:])]
    wide = [(a, b) for a, b, d in pairs if b - a > 1 and d >= JUMP - 1e-12]
    if wide:
        return wide
    best = max(pairs, key=lambda x: x[2], default=None)
    if best is not None and best[1] - best[0] > 1 and best[2] > 0:
        return [(best[0], best[1])]
    return []


def _judged_here(sim: Sim, snap, judged: Scenario, f: Failure, policy: str, k: int,
                 first: int, migrate: float, depth: int, hint: int,
                 max_steps: int) -> tuple[int, int]:
    """Continuations of a failure only the expectations see: each run in
    one C call, judged here."""
    core = sim.core
    hits = 0
    for r in range(k):
        core.restore(snap)
        outcome = core.run(policy, first + r, migrate, depth, hint, None, None,
                           "sequential", max_steps)
        g = failure_signature(judged, sim, outcome, end_verdict(judged, sim))
        hits += g == f
    return hits, k


def _single_rises(curve: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """(step, rise from the step before) wherever both were estimated."""
    return [(curve[i][0], curve[i][1] - curve[i - 1][1]) for i in range(1, len(curve))
            if curve[i][0] - curve[i - 1][0] == 1]


def decisive_steps(curve: list[tuple[int, float]]) -> list[int]:
    """Steps across which (from the step before) the estimate rises by at
    least JUMP."""
    return [s for s, d in _single_rises(curve) if d >= JUMP - 1e-12]


def largest_rise(curve: list[tuple[int, float]]) -> tuple[int, float] | None:
    """The step across which the estimate rises most, and by how much
    (None when it never rises)."""
    best = max(_single_rises(curve), key=lambda x: x[1], default=None)
    return best if best is not None and best[1] > 0 else None


# ---- umasim replay --continue ---------------------------------------------------

@dataclass
class Continuation:
    """Runs onward from a trace's prefix (`umasim replay --continue`)."""
    trace: traces.Trace
    start: int                  # the prefix's steps
    explorer: str
    runs: int
    seed: int
    failures: int
    classes: list               # bindings.ExploreClass, decisions after the prefix
    prefix: list[int]
    artefacts: list = field(default_factory=list)


def continue_from(trace, explorer: str = "random", runs: int = 100, start: int | None = None,
                  seed: int = 0) -> Continuation:
    """`runs` runs of an explorer (random, pct or guided) from the state
    after step `start` of the trace (default: its end), seeded from the
    trace's digest, the step and `seed`; each run may take the scenario's
    max_steps from there."""
    tr = load_trace(trace)
    if explorer not in ("random", "pct", "guided"):
        raise InvalidArgument(f"unknown continuation {explorer!r} (random, pct or guided)")
    runs = check_count(runs, "runs")
    seed = check_seed(seed)
    dec = tr.decisions
    n = len(dec)
    if start is None:
        start = n
    if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start <= n:
        raise InvalidArgument(f"--from must be a step from 0 to {n} (the trace's steps), "
                              f"not {start!r}")
    full = replay_full(tr)      # refuses a trace that does not replay
    scn = tr.scenario
    sim = scn.build_with(trace="off")
    core = sim.core
    outcome = core.run("script", 0, 0.0, 1, 0, dec[:start], None, "sequential",
                       max(start, 1)) if start else "running"
    if start and core.steps() != start:
        raise TraceError(f"the trace's run ends after {core.steps()} steps, before step {start}")
    if outcome not in ("running", "step_limit"):
        raise InvalidArgument(f"the run has ended ({outcome}) after step {start}: there is "
                              "nothing to continue; give --from an earlier step")
    snap = core.snapshot()
    sched = scn.schedule
    migrate = sched.migrate if sched.migrate > 0 else \
        (sum(1 for s in step_infos(scn, full) if s.cpu != s.cpu_before) / n if n else 0.0)
    panic = scn.expect.get("panic", "")
    res = core.explore(snap, explorer, runs, continuation_seed(tr.end["digest"], start, seed),
                       migrate, sched.depth, n - start, 2,
                       sched.max_steps, scn.expect.get("outcome", "completed"),
                       panic[:100], True, False)
    return Continuation(tr, start, explorer, res.runs, seed, res.failures, res.classes,
                        list(dec[:start]))


def write_continuation(c: Continuation, out_dir=None) -> None:
    """A scenario and a trace for each failing class: the prefix's
    decisions, then the class's first run's."""
    from umasim.views.artefacts import write_failure
    for k in c.classes:
        if k.failed:
            art = write_failure(
                c.trace.scenario, c.prefix + list(k.decisions), out_dir,
                label=f"continue-{c.explorer}",
                max_steps=c.start + c.trace.scenario.schedule.max_steps,
                comment=f"found by umasim replay --continue {c.explorer} from step {c.start}: "
                        f"{k.outcome}" + (f" ({k.message})" if k.message else ""))
            c.artefacts.append((k, art))


def format_continuation(c: Continuation) -> str:
    lines = [f"{c.explorer} from step {c.start}: {c.runs} runs, {c.failures} failed"]
    arts = {id(k): a for k, a in c.artefacts}
    for k in c.classes:
        mark = "FAIL" if k.failed else "ok"
        msg = f": {k.message}" if k.message else ""
        lines.append(f"  [{mark}] {k.outcome}{msg} -- {k.count} runs, first at run "
                     f"{k.first_run} ({c.start} + {len(k.decisions)} steps)")
        if id(k) in arts:
            lines.append(f"         {arts[id(k)].replay_command}")
    return "\n".join(lines) + "\n"


def continuation_json(c: Continuation) -> dict:
    arts = {id(k): a for k, a in c.artefacts}
    return {"explorer": c.explorer, "from": c.start, "runs": c.runs, "seed": c.seed,
            "failures": c.failures,
            "classes": [{"outcome": k.outcome, "failed": k.failed, "message": k.message,
                         "count": k.count, "first_run": k.first_run,
                         "steps": c.start + len(k.decisions),
                         "trace": str(arts[id(k)].trace_path) if id(k) in arts else None,
                         "replay": arts[id(k)].replay_command if id(k) in arts else None}
                        for k in c.classes]}


Continuation.to_json = continuation_json        # type: ignore[attr-defined]
