"""The failure report: one self-contained HTML page that replays a trace
step by step (`umasim report TRACE -o failure.html`).

    page = build(trace, explanation)        # the HTML text
    write(trace_path, "failure.html")       # replays, explains, writes

The page is built from an exact replay of the trace (umasim.views.trace.
replay: every digest compared), with a `StateRecorder` observing each step:
which thread ran on which vCPU and where it stopped, the events of the
step, every thread's state (wait message, the mutex it waits for, the locks
it holds, the operation it is in), and for every zone the scenario or its
programs name what umasim.views.plot draws: the per-CPU buckets, the zone's
full and free bucket lists, and the keg's slab item map (plot.item_locations,
the same data extraction).

State is stored as channels of changes: a channel (one zone's caches, one
thread, ...) lists the steps at which its value changed, each value an
index into one table of distinct values, so a state that comes back (an
alloc and a free) costs one index.  The page finds the value at a step by
binary search; a 10,000-step trace gives a page of about 2.3 MiB
(bench/report.py).

The page has no network access at all: its script, styles and data are
inline, and a Content-Security-Policy forbids every fetch.  Its template,
script and styles are package data (umasim/views/report_assets/); the
source lines of the port it shows come from the sources compiled into the
core (umasim.bindings.port_sources).

When an Explanation (umasim.views.explain) is given, the page also draws
P(failure | prefix) over the steps with the decisive steps marked (a click
goes to the step), lists them, and shows the happens-before slice.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, is_dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from umasim import __version__
from umasim.bindings import DISPLAY_BASE, EVENT_KINDS, MAXCPU, OPCODES, POINT_FUNCS, \
    POINT_LINES, POINTS, port_sources
from umasim.errors import InvalidArgument, NoFailure, Nondeterministic, WrongType
from umasim.model.sim import RunResult
from umasim.views.artefacts import replay_command
from umasim.views import plot
from umasim.views.report import check_expectations
from umasim.views import trace as traces

__all__ = ["StateRecorder", "build", "build_data", "render", "write", "SOURCE_CONTEXT"]

# Lines of source shown around a point.
SOURCE_CONTEXT = 6
# Event kinds whose `a` is an address (shown in hex, as traces show them).
_ADDR_KINDS = frozenset(traces.ADDRESS_KINDS)
_OP_NAMES = {code: name for name, code in OPCODES.items()}
# Item categories of the slab map (plot.item_locations), one character each;
# an item in a vCPU's bucket is its vCPU number's code (see _cpu_code).
_CAT_CODES = {"slab": ".", "held": "H", "out": "O", "bucket": "B", "other": "T"}
# vCPU c's alloc bucket: _CPU_ALPHABET[2c], its free bucket: [2c + 1] (every
# vCPU the core allows: digits and letters, other printable ASCII, then
# letters beyond ASCII).
_CPU_ALPHABET = "".join(sorted((c for c in map(chr, range(0x21, 0x7f))
                                if c not in "\"\\'`<>&" and c not in _CAT_CODES.values()),
                               key=lambda c: (not c.isalnum(), c)))
_CPU_ALPHABET += "".join(chr(0x100 + i) for i in range(2 * MAXCPU - len(_CPU_ALPHABET)))


def _cpu_code(cpu: int, which: str) -> str:
    return _CPU_ALPHABET[2 * cpu + (0 if which == "alloc" else 1)]


class _Channels:
    """Values that change over steps, stored as changes: channel -> [[step,
    index into `values`], ...], each distinct value stored once."""

    def __init__(self):
        self.values: list[Any] = []
        self._index: dict[str, int] = {}
        self.changes: dict[str, list[list[int]]] = {}
        self._last: dict[str, int] = {}

    def put(self, channel: str, step: int, value: Any) -> None:
        key = json.dumps(value, sort_keys=True, separators=(",", ":"))
        idx = self._index.get(key)
        if idx is None:
            idx = self._index[key] = len(self.values)
            self.values.append(value)
        if self._last.get(channel) != idx:
            self._last[channel] = idx
            self.changes.setdefault(channel, []).append([step, idx])


def _addr(v: int) -> str | int:
    return f"{v:#x}" if v >= DISPLAY_BASE else v


class StateRecorder:
    """An observer of the engine (umasim.engine) that records, before the
    first step and after every step, what the report shows: the step's
    thread, vCPU, point and events, every thread's state, every named
    zone's caches, bucket lists and slab item map, and UMA's globals."""

    level = "full"
    every_step = True

    def __init__(self, scenario):
        self.scenario = scenario
        self.ch = _Channels()
        self.steps: list[list[Any]] = []       # [thread, cpu, point, tick] per step
        # [step, kind, thread, cpu, a, b, text]; text: a console line, an
        # operation's name or a sleep's wait message
        self.events: list[list[Any]] = []
        self.nev = 0
        self.zones: list[str] = []
        self.threads: list[str] = []
        self.op_texts: dict[str, list[str]] = {}
        for t in scenario.threads:
            ops = list(t["ops"])
            if any("{i}" in op for op in ops):
                ops = [op.replace("{i}", str(k)) for k in range(t["repeat"]) for op in ops]
            self.op_texts[t["name"]] = ops
        self.current_op: dict[str, str] = {}

    # -- the engine's calls --

    def start(self, run) -> None:
        sim = run.sim
        self.zones = list(sim.zone_names)
        self.threads = list(sim.thread_names)
        self.nev = len(sim.events)   # zone creation: step 0, before the run
        self._sample(sim, 0)

    def step(self, run) -> None:
        sim = run.sim
        step = sim.steps
        new = sim.events_since(self.nev)
        self.nev += len(new)
        tname = {n: i for i, n in enumerate(self.threads)}
        stepev = next((e for e in new if e.kind == "step" and e.step == step), None)
        own = [e for e in new if e.step == step and e.thread is not None]
        console = sim.console
        for e in new:
            if e.kind == "op_begin" and e.thread is not None:
                self.current_op[e.thread] = self._op_text(e.thread, e.b, e.a)
            if e.kind == "step":
                continue
            rec = [e.step, EVENT_KINDS.index(e.kind), tname.get(e.thread, -1), e.cpu,
                   _addr(e.a) if e.kind in _ADDR_KINDS else e.a, e.b]
            if e.kind in ("console", "panic") and 0 <= e.a < len(console):
                rec.append(console[e.a])
            elif e.kind in ("op_begin", "op_end"):
                rec.append(_OP_NAMES.get(e.a, "?"))
            elif e.kind == "sleep" and e.wmesg:
                rec.append(e.wmesg)
            self.events.append(rec)
        if stepev is not None:
            self.steps.append([tname.get(stepev.thread, -1), stepev.cpu,
                               POINTS.index(stepev.point) if stepev.point else -1,
                               stepev.tick])
        elif own:
            # A step that never reached a point (a panic) has no "step" event.
            last = own[-1]
            self.steps.append([tname.get(last.thread, -1), last.cpu,
                               POINTS.index("panic"), last.tick])
        else:
            self.steps.append([-1, -1, -1, sim.ticks])
        self._sample(sim, step)

    def end(self, run) -> None:
        pass

    # -- sampling --

    def _op_text(self, thread: str, index: int, code: int) -> str:
        ops = self.op_texts.get(thread)
        if ops is not None and 0 <= index < len(ops):
            return ops[index]
        return _OP_NAMES.get(code, "?")

    def _sample(self, sim, step: int) -> None:
        put = self.ch.put
        u = sim.uma()
        put("g", step, [sim.ticks, u["free_pages"], u["kmem_used"], int(u["bucketdisable"])])
        # Locks: each zone's (keg's) lock by owner, and the program's mutexes.
        held: dict[str, list[str]] = {}
        for z in sim.core.zones():
            owner = sim.thread_name(z.lock_owner)
            if owner is not None:
                held.setdefault(owner, []).append(f"{z.name} lock")
        for name, owner in sim.mutexes().items():
            if owner is not None:
                held.setdefault(owner, []).append(name)
        for t in sim.threads:
            locks = held.get(t.name, [])
            other = t.locks - len(locks)
            put(f"t{t.tid}", step, [
                t.state, t.cpu, t.wmesg or "", t.mutex or "", t.mutex_owner or "",
                locks + ([f"{other} other mutex" + ("es" if other > 1 else "")]
                         if other > 0 else []),
                t.point, self.current_op.get(t.name, ""), t.critnest, t.var or ""])
        for k, name in enumerate(self.zones):
            try:
                z = sim.zone(name)
                st = z.stats
            except ValueError as e:
                put(f"z{k}.s", step, {"gone": str(e)})
                put(f"z{k}.c", step, [])
                put(f"z{k}.b", step, [[], []])
                put(f"z{k}.m", step, [])
                continue
            g = z.geometry
            put(f"z{k}.s", step, {
                "used": st["used"], "cache": st["cache_items"], "bucket": st["full_items"],
                "slab": st["keg_free"], "pages": st["pages"], "limit": st["limit"],
                "full": "full" in st["flags"], "uz_count": st["uz_count"],
                "fails": st["fails"], "size": g.size, "rsize": g.rsize, "ipers": g.ipers})
            put(f"z{k}.c", step, [[-1 if c.alloc is None else c.alloc, c.alloc_entries,
                                   -1 if c.free is None else c.free, c.free_entries,
                                   c.allocs, c.frees] for c in z.caches])
            put(f"z{k}.b", step, [[list(b) for b in z.full_buckets],
                                  [list(b) for b in z.free_buckets]])
            slabs: list[list[Any]] = []
            for loc in plot.item_locations(z):
                if not slabs or slabs[-1][1] != loc.slab:
                    slabs.append([loc.slab_list, loc.slab, [], {}])
                s = slabs[-1]
                if loc.category == "cpu":
                    which = "alloc" if loc.where.endswith("alloc bucket") else "free"
                    s[2].append(_cpu_code(loc.cpu, which))
                else:
                    s[2].append(_CAT_CODES[loc.category])
                if loc.var:
                    s[3][str(loc.index)] = loc.var
            put(f"z{k}.m", step, [[lst, f"{addr:#x}", "".join(codes), vars_]
                                  for lst, addr, codes, vars_ in slabs])


def _explanation_json(explanation) -> dict | None:
    if explanation is None:
        return None
    if hasattr(explanation, "to_json"):
        data = explanation.to_json()
    elif is_dataclass(explanation):
        data = asdict(explanation)
    elif isinstance(explanation, dict):
        data = explanation
    else:
        raise WrongType(f"an explanation is an Explanation, not {type(explanation).__name__}")
    out = {"failure": data.get("failure") or {}, "deterministic": bool(data.get("deterministic")),
           "curve": [[int(s), float(p)] for s, p in data.get("curve") or []],
           "decisive": list(data.get("decisive") or []), "slice": list(data.get("slice") or [])}
    for k in ("continuations", "seed"):
        v = data.get(k, getattr(explanation, k, None))
        if isinstance(v, int) and not isinstance(v, bool):
            out[k] = v
    return out


# umasim.plot's marks (matplotlib markers) as characters.
_GLYPHS = {">": "\u25b8", "v": "\u25be", "^": "\u25b4", "x": "\u2715", "s": "\u25a0",
           "*": "\u2731"}


def _colors(sim, cpus: int) -> dict:
    """umasim.plot's colours: threads, vCPUs' alloc and free buckets, item
    categories, event marks."""
    return {"threads": plot.thread_colors(sim), "kernel": plot.KERNEL_COLOR,
            "cpu_alloc": [plot.cpu_color(c) for c in range(cpus)],
            "cpu_free": [plot.cpu_color(c, "free") for c in range(cpus)],
            "category": dict(plot.CATEGORY_COLORS),
            "category_labels": dict(plot.CATEGORY_LABELS),
            "marks": {k: [_GLYPHS.get(m, m), c, label]
                      for k, (m, c, label) in plot.MARKS.items()}}


def _sources_for(points: set[str]) -> dict[str, list]:
    """For each point: where it stands in the port, each place with the
    lines around it: [file, line, function, how, first line number, lines]."""
    src = port_sources()
    out: dict[str, list] = {}
    for name in sorted(points):
        places = []
        for file, line, func, how in src["points"].get(name, []):
            text = src["files"].get(file, "").splitlines()
            lo = max(1, line - SOURCE_CONTEXT)
            hi = min(len(text), line + SOURCE_CONTEXT)
            places.append([file, line, func, how, lo, text[lo - 1:hi]])
        out[name] = places
    return out


def build_data(tr, explanation=None, *, trace_path: str | None = None) -> dict:
    """The data the page shows: an exact replay of trace `tr` (a Trace or
    a trace path), recorded step by step.  Nondeterministic when the replay differs from
    the trace."""
    if isinstance(tr, (str, Path)):
        tr = traces.read(tr)
    elif not isinstance(tr, traces.Trace):
        raise WrongType(f"build_data takes a Trace or a trace path, not {type(tr).__name__}")
    rec = StateRecorder(tr.scenario)
    res = traces.replay(tr, observers=[rec], level="full")
    if not res.identical:
        raise Nondeterministic(f"the trace does not replay: {res.message}")
    sim = res.sim
    result = RunResult(outcome=sim.outcome, steps=sim.steps, decisions=[], panic=sim.panic,
                       ticks=sim.ticks)
    failures = check_expectations(tr.scenario, sim, result)
    hf = sim.host_fault
    expl = _explanation_json(explanation)
    reached = {POINTS[s[2]] for s in rec.steps if s[2] >= 0} | {"start"}
    for t in sim.threads:
        reached.add(t.point)
    if expl:
        reached.update(d["point"] for d in expl["decisive"] if d.get("point") in POINTS)
    kernel = {t.name for t in sim.threads if t.kernel}
    meta = {
        "umasim": __version__, "trace": trace_path or "", "outcome": sim.outcome,
        "steps": sim.steps, "ticks": sim.ticks, "panic": sim.panic,
        "host_fault": None if hf is None else hf.message,
        "expectations": failures, "ok": not failures,
        "replay": replay_command(trace_path) if trace_path else "",
        "cpus": tr.scenario.sim["cpus"], "bugs": list(tr.scenario.sim.get("bugs", [])),
        "granularity": tr.scenario.sim.get("granularity", "coarse"),
        "digest": sim.digest(), "comment": tr.scenario.comment,
        "threads": [{"name": n, "kernel": n in kernel} for n in rec.threads],
        "zones": rec.zones,
    }
    return {
        "meta": meta,
        "points": list(POINTS), "point_funcs": list(POINT_FUNCS),
        "point_lines": list(POINT_LINES), "event_kinds": list(EVENT_KINDS),
        "cpu_codes": _CPU_ALPHABET[:2 * meta["cpus"]],
        "steps": rec.steps, "events": rec.events,
        "values": rec.ch.values, "changes": rec.ch.changes,
        "sources": _sources_for(reached),
        "explain": expl,
        "colors": _colors(sim, meta["cpus"]),
    }


def _asset(name: str) -> str:
    return resources.files("umasim.views").joinpath("report_assets", name).read_text("utf-8")


def _script_json(data: dict) -> str:
    """JSON safe inside a <script> element: no '</', no '<!--'."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(data: dict) -> str:
    """The HTML page of `data` (build_data), every asset inline."""
    page = _asset("report.html")
    title = f"umasim report: {data['meta']['outcome']}"
    if data["meta"]["trace"]:
        title += f" ({Path(data['meta']['trace']).name})"
    for key, value in (("{{TITLE}}", html.escape(title)), ("{{STYLE}}", _asset("report.css")),
                       ("{{SCRIPT}}", _asset("report.js")),
                       ("{{DATA}}", _script_json(data))):
        if key not in page:
            raise RuntimeError(f"report template lacks {key}")
        page = page.replace(key, value, 1)
    return page


def build(tr, explanation=None, *, trace_path: str | None = None) -> str:
    """The HTML page of trace `tr` (a Trace), with an Explanation if given."""
    return render(build_data(tr, explanation, trace_path=trace_path))


def explain_if_available(tr, continuations: int | None = None, seed: int = 0,
                         progress=None):
    """umasim.views.explain.explain(tr, ...) of a failing trace; None for
    a trace whose run does not fail (nothing to explain: the page then
    shows the run alone), or where umasim.views.explain is missing."""
    try:
        from umasim.views import explain as explain_mod
    except ImportError:             # pragma: no cover - a build without it
        return None
    kwargs: dict[str, Any] = {"seed": seed}
    if continuations is not None:
        kwargs["continuations"] = continuations
    if progress is not None:
        kwargs["progress"] = progress
    try:
        return explain_mod.explain(tr, **kwargs)
    except NoFailure:
        return None


def write(trace_path: str | Path, out: str | Path, explanation=None) -> dict:
    """Reads the trace, replays it, writes the page to `out`; returns the
    page's data (build_data)."""
    tr = traces.read(trace_path)
    data = build_data(tr, explanation, trace_path=str(trace_path))
    try:
        Path(out).write_text(render(data), encoding="utf-8")
    except OSError as e:
        raise InvalidArgument(f"{out}: cannot write: {e.strerror or e}") from None
    return data
