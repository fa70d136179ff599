"""Timelines: a trace as Chrome Trace Event JSON (design.md), which
Perfetto UI and chrome://tracing open.

One track per vCPU with a slice per step, named by thread and operation;
instants for contended locks, sleeps, wakeups, migrations, page
exhaustion and panics; counters for free pages and for each scenario
zone's cached items (per-CPU buckets plus the zone's full buckets).
A step lasts one microsecond of timeline time; virtual ticks are in each
slice's arguments.  The trace is replayed one step at a time to sample the
counters, so any trace level works.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from umasim.views.trace import Trace, iter_steps

_INSTANTS = {"lock_contended": "lock contended", "sleep": "sleep", "wakeup": "wakeup",
             "migration": "migration", "page_fail": "page exhaustion", "panic": "panic"}
US_PER_STEP = 1


def build(tr: Trace) -> dict[str, Any]:
    events: list[dict[str, Any]] = []
    cpus = tr.scenario.sim["cpus"]
    zone_names = [z["name"] for z in tr.scenario.zones]
    events.append({"ph": "M", "pid": 0, "name": "process_name", "args": {"name": "umasim"}})
    for c in range(cpus):
        events.append({"ph": "M", "pid": 0, "tid": c, "name": "thread_name",
                       "args": {"name": f"vCPU {c}"}})
        events.append({"ph": "M", "pid": 0, "tid": c, "name": "thread_sort_index",
                       "args": {"sort_index": c}})
    # Replay one step at a time to sample the counters after each step; the
    # events are read once at the end (reading them after every step made
    # this quadratic in the length of the trace).
    samples: list[tuple[int, int, dict[str, int]]] = []
    sim = None
    for sim, step in iter_steps(tr):
        uma = sim.uma()
        cached = {}
        for name in zone_names:
            try:
                st = sim.zone(name).stats
            except ValueError:
                continue
            cached[name] = st["cache_items"] + st["full_items"]
        samples.append((step, uma["free_pages"], cached))
    by_step: dict[int, list] = {}
    for e in (sim.events if sim is not None else []):
        # Boot-time events (step 0) go with the first step.
        by_step.setdefault(max(e.step, 1), []).append(e)
    from umasim.model.sim import OPCODES
    names = {c: n for n, c in OPCODES.items()}
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
                events.append({"ph": "i", "s": "t", "pid": 0,
                               "tid": e.cpu if e.cpu >= 0 else stepev.cpu, "ts": ts,
                               "name": _INSTANTS[e.kind], "args": args})
        events.append({"ph": "C", "pid": 0, "ts": ts + US_PER_STEP, "name": "free pages",
                       "args": {"free": free_pages}})
        if cached:
            events.append({"ph": "C", "pid": 0, "ts": ts + US_PER_STEP,
                           "name": "cached items", "args": cached})
    return {"traceEvents": events, "displayTimeUnit": "ns",
            "otherData": {"umasim": tr.header["umasim"], "steps": tr.end["steps"],
                          "outcome": tr.end["end"]}}


def write(tr: Trace, path: str | Path) -> None:
    data = build(tr)
    Path(path).write_text(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n",
                          encoding="utf-8")
