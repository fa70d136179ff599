"""Traces: JSON Lines that stand alone (docs/design.md, "Traces and replay").

    {"trace": "umasim", "version": 4, "umasim": ..., "level": ...,
     "digest_every": K, "scenario": {...the whole normalised scenario...},
     "start_digest": ...}                                   header
    {"ev": "page_alloc", "step": 3, "tick": 2, ...}         events (level "full";
                                                            a sleep's has "wmesg")
    {"digest": "...", "step": 1000}                         every K steps
    {"end": "completed", "steps": ..., "decisions": [...],
     "digest": "...", "panic": null, ...}                   the end

Decisions are stored compactly: a run of n zeros (default decisions) is
the single number -n.  Replaying a trace rebuilds the scenario from the
header, runs the recorded decisions, and compares every digest.  The same
scenario gives the same bytes in every process (no wall clock, host
addresses or hash seeds anywhere).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from umasim import __version__
from umasim.errors import TraceError
from umasim.bindings import DISPLAY_BASE, OPCODES
from umasim.engine import execute
from umasim.model.scenario import Scenario, ScenarioError, from_dict
from umasim.model.schedule import Schedule
from umasim.model.sim import Sim
from umasim.views.report import Report, report_of

_OP_NAMES = {code: name for name, code in OPCODES.items()}

FORMAT = "umasim"
VERSION = 4
DEFAULT_DIGEST_EVERY = 1000
# Event kinds whose `a` is an address, shown in hex.
ADDRESS_KINDS = {"page_alloc", "page_free", "bucket_alloc", "bucket_free", "slab_alloc",
           "slab_free", "full_check", "sleep", "wakeup", "lock_contended", "leak",
           "host_fault"}


def compress(decisions: Iterable[int]) -> list[int]:
    out: list[int] = []
    for d in decisions:
        if d == 0 and out and out[-1] < 0:
            out[-1] -= 1
        elif d == 0:
            out.append(-1)
        else:
            out.append(d)
    return out


def expand(compact: Iterable[int]) -> list[int]:
    out: list[int] = []
    for d in compact:
        if not isinstance(d, int) or isinstance(d, bool):
            raise TraceError("decisions must be integers")
        if d < 0:
            out.extend([0] * -d)
        else:
            out.append(d)
    return out


def _dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def event_record(sim: Sim, e) -> dict[str, Any]:
    rec: dict[str, Any] = {"ev": e.kind, "step": e.step, "tick": e.tick,
                           "thread": e.thread, "cpu": e.cpu, "point": e.point}
    if e.kind in ADDRESS_KINDS and e.a >= DISPLAY_BASE:
        rec["a"] = f"{e.a:#x}"
    else:
        rec["a"] = e.a
    rec["b"] = e.b
    if e.kind == "sleep":
        rec["wmesg"] = e.wmesg
    if e.kind in ("console", "panic"):
        con = sim.console
        rec["text"] = con[e.a] if 0 <= e.a < len(con) else None
    if e.kind in ("op_begin", "op_end"):
        rec["op"] = _OP_NAMES.get(e.a)
    return rec


def header(scn: Scenario, level: str, digest_every: int, start_digest: str) -> dict:
    return {"trace": FORMAT, "version": VERSION, "umasim": __version__, "level": level,
            "digest_every": digest_every, "scenario": scn.to_dict(),
            "start_digest": start_digest}


class TraceWriter:
    """An observer of the engine that writes the run's trace at its end:
    every event at level "full", the decisions only at "decisions", a
    digest every `digest_every` steps."""

    every_step = False

    def __init__(self, path: str | Path, level: str = "full",
                 digest_every: int = DEFAULT_DIGEST_EVERY):
        if level not in ("full", "decisions"):
            raise ValueError(f"unknown trace level {level!r} (full or decisions)")
        self.path, self.trace_level, self.digest_every = path, level, digest_every
        # The run records at least what the trace keeps.
        self.level = level

    def start(self, run) -> None:
        self.start_digest = run.sim.digest()
        if self.digest_every:
            run.sim.set_digest_interval(self.digest_every)

    def end(self, run) -> None:
        write(self.path, report_of(run), self.trace_level, self.digest_every,
              self.start_digest)


def write(path: str | Path, report: Report, level: str, digest_every: int,
          start_digest: str) -> None:
    """Writes the trace of a finished run."""
    sim, r = report.sim, report.result
    lines = [_dumps(header(report.scenario, level, digest_every, start_digest))]
    if level == "full":
        for e in sim.events:
            lines.append(_dumps(event_record(sim, e)))
    for step, dg in sim.digests():
        lines.append(_dumps({"digest": dg, "step": step}))
    lines.append(_dumps({"end": r.outcome, "steps": sim.steps, "ticks": sim.ticks,
                         "decisions": compress(sim.decisions), "digest": sim.digest(),
                         "panic": sim.panic, "expectations_ok": report.ok}))
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass
class Trace:
    header: dict[str, Any]
    scenario: Scenario
    events: list[dict[str, Any]]
    digests: list[tuple[int, str]]
    end: dict[str, Any]

    @property
    def decisions(self) -> list[int]:
        return expand(self.end["decisions"])


def read(path: str | Path) -> Trace:
    """Reads and checks a trace; TraceError says what is wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise TraceError(f"{path}: cannot read: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise TraceError(f"{path}: not UTF-8 text") from None
    return parse(text, str(path))


def parse(text: str, source: str = "<trace>") -> Trace:
    recs = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise TraceError(f"{source}:{n}: corrupted line ({e.msg})") from None
        if not isinstance(rec, dict):
            raise TraceError(f"{source}:{n}: corrupted line (not an object)")
        recs.append((n, rec))
    if not recs:
        raise TraceError(f"{source}: empty file, not a trace")
    _, head = recs[0]
    if head.get("trace") != FORMAT:
        raise TraceError(f"{source}:1: not an umasim trace")
    if head.get("version") != VERSION:
        raise TraceError(f"{source}:1: trace format version {head.get('version')!r}; "
                         f"this umasim reads version {VERSION}")
    for key in ("scenario", "level", "digest_every", "start_digest"):
        if key not in head:
            raise TraceError(f"{source}:1: header lacks {key!r}")
    if head["level"] not in ("full", "decisions"):
        raise TraceError(f"{source}:1: unknown trace level {head['level']!r}")
    if not _count(head["digest_every"]) or not isinstance(head["start_digest"], str):
        raise TraceError(f"{source}:1: corrupted header (digest_every, start_digest)")
    try:
        scn = from_dict(head["scenario"], f"{source} (header)")
    except ScenarioError as e:
        raise TraceError(f"{source}:1: the scenario in the header is invalid: {e}") from None
    events, digests, end = [], [], None
    for n, rec in recs[1:]:
        if end is not None:
            raise TraceError(f"{source}:{n}: data after the end record")
        if "ev" in rec:
            if not _count(rec.get("step")):
                raise TraceError(f"{source}:{n}: corrupted event record")
            events.append(rec)
        elif "digest" in rec and "end" not in rec:
            if not isinstance(rec.get("step"), int) or not isinstance(rec["digest"], str):
                raise TraceError(f"{source}:{n}: corrupted digest record")
            digests.append((rec["step"], rec["digest"]))
        elif "end" in rec:
            for key in ("steps", "decisions", "digest"):
                if key not in rec:
                    raise TraceError(f"{source}:{n}: end record lacks {key!r}")
            end = rec
        else:
            raise TraceError(f"{source}:{n}: unknown record")
    if end is None:
        raise TraceError(f"{source}: truncated (no end record)")
    dec, steps = end["decisions"], end["steps"]
    if not _count(steps) or not isinstance(dec, list) or not all(_int(d) for d in dec) \
            or not isinstance(end["digest"], str):
        raise TraceError(f"{source}: corrupted end record")
    # Checked before expanding, so that a corrupted run length cannot ask
    # for a list of 10**12 zeros.
    if sum(-d if d < 0 else 1 for d in dec) != steps:
        raise TraceError(f"{source}: corrupted end record: the decisions do not "
                         f"cover its {steps} steps")
    return Trace(head, scn, events, digests, end)


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _count(v) -> bool:
    return _int(v) and v >= 0


@dataclass
class ReplayResult:
    identical: bool
    message: str
    step: int | None = None
    sim: Sim | None = None


def replay(tr: Trace, observers=(), *, level: str | None = None) -> ReplayResult:
    """Runs the trace's decisions on its scenario and compares every digest:
    the first difference is reported with its step.  `observers` watch the
    replay (umasim.engine).  `level`: what the replay records (default:
    what the trace recorded; "full" gives the events of a decisions-level
    trace too)."""
    dec = tr.decisions
    if level is None:
        level = "full" if tr.header["level"] == "full" else "decisions"
    elif level not in ("full", "decisions"):
        raise ValueError(f"unknown trace level {level!r} (full or decisions)")
    sim = tr.scenario.build_with(trace=level)
    if sim.digest() != tr.header["start_digest"]:
        return ReplayResult(False, "first divergence at step 0: the state before the "
                            f"first step differs (digest {sim.digest()}, trace "
                            f"{tr.header['start_digest']})", 0, sim)
    run = execute(tr.scenario, Schedule.replay(dec), observers,
                  digest_every=tr.header["digest_every"], level=level, sim=sim)
    r = run.result
    got = dict(sim.digests())
    for step, dg in tr.digests:
        if got.get(step) != dg:
            return ReplayResult(False, f"first divergence at step {step}: digest "
                                f"{got.get(step)} where the trace has {dg}" +
                                _event_diff(sim, tr, step), step, sim)
    if sim.steps != tr.end["steps"] or r.outcome != tr.end["end"]:
        at = min(sim.steps, tr.end["steps"]) if isinstance(tr.end["steps"], int) \
            else sim.steps
        return ReplayResult(False, f"first divergence at step {at}: the run ends "
                            f"differently: {r.outcome} after {sim.steps} steps, the trace "
                            f"says {tr.end['end']} after {tr.end['steps']}" +
                            _event_diff(sim, tr, at), at, sim)
    if sim.digest() != tr.end["digest"]:
        return ReplayResult(False, f"first divergence at step {sim.steps}: the final "
                            f"state differs: digest {sim.digest()} where the trace has "
                            f"{tr.end['digest']}" + _event_diff(sim, tr, sim.steps),
                            sim.steps, sim)
    return ReplayResult(True, f"identical: {sim.steps} steps, outcome {r.outcome}, "
                        f"{len(tr.digests) + 1} digests match", None, sim)


def _event_diff(sim: Sim, tr: Trace, upto: int) -> str:
    if tr.header["level"] != "full":
        return ""
    mine = [event_record(sim, e) for e in sim.events if e.step <= upto]
    theirs = [e for e in tr.events if e["step"] <= upto]
    for a, b in zip(mine, theirs):
        if a != b:
            return f"; first differing event: {_dumps(a)} where the trace has {_dumps(b)}"
    if len(mine) != len(theirs):
        return f"; {len(mine)} events where the trace has {len(theirs)}"
    return ""
