"""Timelines: a run as Chrome Trace Event JSON (docs/design.md), which
Perfetto UI and chrome://tracing open.

One track per vCPU with a slice per step, named by thread and operation;
instants for contended locks, sleeps, wakeups, migrations, page
exhaustion and panics; counters for free pages and for each scenario
zone's cached items (per-CPU buckets plus the zone's full buckets).
A step lasts one microsecond of timeline time; virtual ticks are in each
slice's arguments.  A TimelineSampler observes the run (umasim.engine)
and samples the counters after every step: `umasim run --timeline`
samples the run itself, `umasim timeline TRACE` a replay of the trace's
decisions, so any trace level works.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from umasim.bindings import OPCODES
from umasim.engine import execute
from umasim.model.schedule import Schedule
from umasim.views.trace import Trace

_INSTANTS = {"lock_contended": "lock contended", "sleep": "sleep", "wakeup": "wakeup",
             "migration": "migration", "page_fail": "page exhaustion", "panic": "panic"}
US_PER_STEP = 1
_OP_NAMES = {c: n for n, c in OPCODES.items()}


class TimelineSampler:
    """An observer of the engine that samples, after every step, the free
    pages and each scenario zone's cached items (per-CPU buckets plus the
    zone's full buckets); at the end of the run, `timeline` is the Chrome
    Trace Event JSON of it."""

    level = "full"
    every_step = True

    def __init__(self):
        self.samples: list[tuple[int, int, dict[str, int]]] = []
        self.timeline: dict[str, Any] | None = None

    def start(self, run) -> None:
        self.zone_names = [z["name"] for z in run.scenario.zones]
        self.cpus = run.scenario.sim["cpus"]

    def step(self, run) -> None:
        sim = run.sim
        cached = {}
        for name in self.zone_names:
            try:
                st = sim.zone(name).stats
            except ValueError:
                continue
            cached[name] = st["cache_items"] + st["full_items"]
        self.samples.append((run.steps, sim.uma()["free_pages"], cached))

    def end(self, run) -> None:
        from umasim import __version__
        self.timeline = _chrome(self.cpus, self.samples, run.sim.events,
                                {"umasim": __version__, "steps": run.sim.steps,
                                 "outcome": run.outcome})


def build(tr: Trace) -> dict[str, Any]:
    """The timeline of a trace: its decisions replayed through the engine
    with a TimelineSampler."""
    sampler = TimelineSampler()
    execute(tr.scenario, Schedule.replay(tr.decisions), [sampler])
    sampler.timeline["otherData"] = {"umasim": tr.header["umasim"], "steps": tr.end["steps"],
                                     "outcome": tr.end["end"]}
    return sampler.timeline


def _chrome(cpus: int, samples, all_events, other: dict) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    events.append({"ph": "M", "pid": 0, "name": "process_name", "args": {"name": "umasim"}})
    for c in range(cpus):
        events.append({"ph": "M", "pid": 0, "tid": c, "name": "thread_name",
                       "args": {"name": f"vCPU {c}"}})
        events.append({"ph": "M", "pid": 0, "tid": c, "name": "thread_sort_index",
                       "args": {"sort_index": c}})
    by_step: dict[int, list] = {}
    for e in all_events:
        # Boot-time events (step 0) go with the first step.
        by_step.setdefault(max(e.step, 1), []).append(e)
    names = _OP_NAMES
    last_point: dict[str, str] = {}
    current_op: dict[str, str] = {}
    for step, free_pages, cached in samples:
        new = by_step.get(step, [])
        ts = (step - 1) * US_PER_STEP
        stepev = next((e for e in new if e.kind == "step"), None)
        to = stepev.point if stepev is not None else None
        if stepev is None:
            # A step that never reached a point (it panicked) has no "step"
            # event: its own events say which thread ran it, and where.
            own = [e for e in new if e.step == step]
            if not own:
                continue
            stepev = own[-1]
            to = stepev.kind
        start = last_point.get(stepev.thread, "start")
        last_point[stepev.thread] = to
        begun = [e for e in new if e.kind == "op_begin" and e.thread == stepev.thread]
        if begun:
            current_op[stepev.thread] = names.get(begun[0].a, "?")
        # The operation the step works on (a kernel thread without a program:
        # the point it resumed from).
        what = current_op.get(stepev.thread, start)
        events.append({"ph": "X", "pid": 0, "tid": stepev.cpu, "ts": ts, "dur": US_PER_STEP,
                       "name": f"{stepev.thread}: {what}",
                       "args": {"step": step, "tick": stepev.tick, "from": start,
                                "to": to}})
        for e in new:
            if e.kind in _INSTANTS:
                args = {"thread": e.thread, "a": e.a, "b": e.b}
                if e.kind == "sleep":
                    args["wmesg"] = e.wmesg
                events.append({"ph": "i", "s": "t", "pid": 0,
                               "tid": e.cpu if e.cpu >= 0 else stepev.cpu, "ts": ts,
                               "name": _INSTANTS[e.kind], "args": args})
        events.append({"ph": "C", "pid": 0, "ts": ts + US_PER_STEP, "name": "free pages",
                       "args": {"free": free_pages}})
        if cached:
            events.append({"ph": "C", "pid": 0, "ts": ts + US_PER_STEP,
                           "name": "cached items", "args": cached})
    return {"traceEvents": events, "displayTimeUnit": "ns", "otherData": other}


def write_data(data: dict[str, Any], path: str | Path) -> None:
    Path(path).write_text(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n",
                          encoding="utf-8")


def write(tr: Trace, path: str | Path) -> None:
    write_data(build(tr), path)
