"""Work units: what one unit of a campaign runs, wherever it runs.

A unit is a plain, picklable value that carries everything it needs -- the
scenario as a dict, the schedule parameters, its seed and budget -- and
the fingerprint of the core the client runs.  `run_unit` runs it in this
process (or on a Dask worker) and returns a plain dict (JSON-able, so
that it can be stored for --resume); it depends only on the unit.

    explore unit  one call of the explorer over a slice of the runs
                  (random, pct: runs start..start+runs-1, seeded as the
                  whole exploration seeds them; guided: a shard, from the
                  corpus of the shards it starts from; bounded: the whole
                  search)
    fuzz unit     one Hypothesis run of `examples` examples, seeded from
                  the campaign seed and the unit's index

A panic, a host fault or an invariant violation inside a unit is a
finding (the explorer classifies it, the properties judge it); a Python
exception escaping the unit is one too (kind "error").  Only a worker of
another build is refused (BuildMismatch).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import warnings
from dataclasses import dataclass, field

from umasim.errors import BuildMismatch


def fingerprint() -> str:
    """The fingerprint of this process's core: umasim's version and a hash
    of its preemption points, operation codes, known-bug switches and
    event kinds (the tables a trace's numbers mean)."""
    from umasim import __version__
    from umasim.bindings import EVENT_KINDS, KNOWN_BUGS, OPCODES, POINTS, WINDOWS
    tables = {"points": list(POINTS), "windows": list(WINDOWS),
              "ops": sorted(OPCODES.items()), "bugs": sorted(KNOWN_BUGS.items()),
              "events": list(EVENT_KINDS)}
    h = hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()[:16]
    return f"{__version__}+{h}"


@dataclass(frozen=True)
class Unit:
    """One unit of a campaign: `command` "explore" or "fuzz", its index in
    the campaign, the round it belongs to (guided shards; 0 otherwise),
    the campaign's id, the client's core fingerprint and the parameters
    (a JSON-able dict)."""
    command: str
    index: int
    campaign: str
    fingerprint: str
    params: dict = field(hash=False)
    round: int = 0

    @property
    def budget(self) -> int:
        """Runs (explore) or examples (fuzz) this unit does at most."""
        return self.params["runs"] if self.command == "explore" else self.params["examples"]


def check_build(unit: Unit) -> None:
    """Refuses a unit planned by a client of another build."""
    mine = fingerprint()
    if unit.fingerprint != mine:
        raise BuildMismatch(
            f"worker {socket.gethostname()} (pid {os.getpid()}) runs umasim core {mine}, "
            f"the campaign's client runs {unit.fingerprint}: install the same build of "
            f"umasim on every worker")


def run_unit(unit: Unit, corpus: bytes = b"") -> dict:
    """Runs one unit here; returns its result (a dict, JSON-able but for
    `corpus`).  `corpus`: a guided shard's starting corpus (its input
    shards' corpora merged, plan.merge_corpora; bindings' format)."""
    check_build(unit)
    try:
        if unit.command == "explore":
            return _explore_unit(unit, corpus)
        return _fuzz_unit(unit)
    except BuildMismatch:
        raise
    except Exception as e:  # noqa: BLE001 -- a finding, not a lost unit
        return _error_result(unit, e)


def run_chained(unit: Unit, inputs: list[dict], corpus_max: int) -> dict:
    """Runs a guided shard from its input shards' results (on a worker:
    the client hands the inputs over as the futures of their units, so
    their corpora go from worker to worker, and the merge is done here)."""
    from umasim.campaign.plan import merge_corpora
    return run_unit(unit, merge_corpora(inputs, corpus_max))


def _error_result(unit: Unit, e: BaseException) -> dict:
    msg = f"{type(e).__name__}: {e}"
    cls = {"outcome": "error", "failed": True, "check_failed": False, "message": msg,
           "count": 1, "first_run": unit.params["start"], "decisions": [],
           "signature": {"kind": "error", "message": normalise(msg), "point": None}}
    if unit.command == "explore":
        return {"index": unit.index, "runs": 0, "failures": 1, "classes": [cls],
                "points_covered": [], "windows": [], "state_bits": "0", "steps_hint": 0,
                "exhausted": False, "corpus": b""}
    return {"index": unit.index, "examples": 0, "failure": None, "error": cls, "db": []}


# ---- explore -----------------------------------------------------------------

def _explore_unit(unit: Unit, corpus) -> dict:
    from umasim.model.scenario import from_dict
    p = unit.params
    scn = from_dict(p["scenario"], p["source"])
    sim = scn.build_with(trace="off")
    core = sim.core
    start = core.snapshot()
    s = core.explore(start, p["explorer"], p["runs"], p["seed"], p["migrate"], p["depth"],
                     p["steps_hint"], p["bound"], p["max_steps"], p["expect_outcome"],
                     p["expect_panic"], p["check"], False, p["corpus_max"],
                     corpus_in=bytes(corpus), oracle=p.get("oracle", True))
    classes = []
    for c in s.classes:
        classes.append({"outcome": c.outcome, "failed": c.failed,
                        "check_failed": c.check_failed, "message": c.message,
                        "oracle_kind": c.oracle_kind, "oracle_step": c.oracle_step,
                        "count": c.count, "first_run": p["start"] + c.first_run,
                        "decisions": list(c.decisions),
                        "signature": (signature(scn, c.decisions, _explore_kind(c), c.message,
                                                c.oracle_step or None)
                                      if c.failed else None)})
    return {"index": unit.index, "runs": s.runs, "failures": s.failures, "classes": classes,
            "points_covered": list(s.points_covered),
            "windows": [int(w.entered) | int(w.interleaved) << 1 | int(w.migrated) << 2
                        for w in s.coverage.windows],
            "state_bits": format(s.state_bits, "x"),
            "state_pairs_total": s.coverage.state_pairs_total,
            "points_total": s.points_total, "steps_hint": s.steps_hint,
            "exhausted": s.exhausted, "corpus": s.corpus,
            "corpus_digests": corpus_digests(s.corpus)}


def corpus_digests(raw: bytes) -> bytes:
    """An 8-byte digest (BLAKE2b) of each corpus entry's schedule, in
    order: the client counts with them how many of a guided shard's input
    corpora the merge will read (cluster.py, _Runner.reads), without
    parsing megabytes of corpora itself.  Two schedules of one digest
    could only make it count fewer distinct ones than there are, and
    hand the shard an input more than it reads: never one fewer."""
    out = []
    n = len(raw)
    off = 0
    while off < n:
        ln = int.from_bytes(raw[off:off + 4], "little")
        out.append(hashlib.blake2b(raw[off + 4:off + 4 + 4 * ln], digest_size=8).digest())
        off += 4 * (1 + 2 * ln)
    return b"".join(out)


def _explore_kind(c) -> str:
    return c.kind


def signature(scn, decisions, kind: str, message: str, step: int | None = None) -> dict:
    """What makes a failure distinct: its kind, its panic or property
    message, and the point the failing thread last stopped at (of the
    panic or host fault, else of the failing step, else of the last
    step), found by running the decisions again."""
    from umasim.engine import execute
    from umasim.views.artefacts import scenario_with_decisions
    fixed = scenario_with_decisions(scn, list(decisions))
    run = execute(fixed, level="full")
    events = run.sim.events
    point = None
    for ev in events:
        if ev.kind in ("panic", "host_fault"):
            point = ev.point
            break
    else:
        steps = [ev for ev in events if ev.kind == "step"]
        if step is not None:
            steps = [ev for ev in steps if ev.step <= step] or steps
        if steps:
            point = steps[-1].point
    return {"kind": kind, "message": normalise(message), "point": point}


def normalise(message: str) -> str:
    """A message with its addresses and numbers left out ("0x?", "N"): the
    same bug found twice (another keg, another step) is one failure."""
    return re.sub(r"\d+", "N", re.sub(r"0x[0-9a-fA-F]+", "0x?", message))


# ---- fuzz --------------------------------------------------------------------

def _fuzz_unit(unit: Unit) -> dict:
    import contextlib
    import io

    from hypothesis.database import InMemoryExampleDatabase

    from umasim.search.fuzz import find_failure, strategy_for
    p = unit.params
    done = [0]

    def tick():
        done[0] += 1
    db = InMemoryExampleDatabase()
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # On a Dask worker, other threads draw from the random module while
        # a case is generated; Hypothesis would blame the strategy.
        warnings.filterwarnings("ignore", message=".*random. module inside strategies")
        found = find_failure(strategy_for(p["bug"]), p["examples"], seed=p["seed"],
                             every_step=p["every_step"], on_example=tick, database=db)
    # What Hypothesis saved (the failing example's choices), for the
    # client's example database; sorted, so the result is the same bytes.
    saved = sorted((k.hex(), v.hex()) for k, vs in db.data.items() for v in vs)
    res = {"index": unit.index, "examples": min(done[0], p["examples"]), "failure": None,
           "db": [list(kv) for kv in saved]}
    if found is not None:
        case, verdict, _ = found
        resolved = case.with_decisions(verdict.decisions)
        scn_dict = resolved.to_scenario()
        from umasim.model.scenario import from_dict
        scn = from_dict(scn_dict, "<fuzz>")
        res["failure"] = {
            "scenario": scn_dict, "decisions": list(verdict.decisions),
            "kind": verdict.kind, "message": verdict.message, "step": verdict.step,
            "outcome": verdict.outcome, "size": resolved.size(),
            "bug": (case.sim.get("bugs") or [None])[0],
            "signature": signature(scn, verdict.decisions, verdict.kind, verdict.message,
                                   verdict.step)}
    return res
