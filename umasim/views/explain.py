"""`umasim explain TRACE`: why a failing trace fails.

    expl = explain("failure.trace")          # or a views.trace.Trace
    print(format_text(expl))
    expl.to_json()   # failure, deterministic, curve, decisive, slice

Three parts (the estimation is umasim.search.explain's):

- the curve: P(the same failure | the prefix up to step s) for every step
  s, from continuations run from a snapshot of the state after s;
- the decisive steps, where the curve jumps: each with the thread its
  decision chose, the vCPU it ran on, its operation, and the point where
  it had stopped (where the preemption or migration happened), with the
  port's function and FreeBSD 7 line of that point;
- the happens-before slice: in order, the operations and events on the
  zone, keg, buckets, slabs, items and locks the failure involves, by
  the threads that touched them, printed one column per thread as
  Lincheck prints an interleaving.

A failure every continuation from the start reaches is *deterministic*:
then there is no curve to speak of (the curve is the single point
(0, 1.0)) and no decisive step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from umasim.search.explain import (DEFAULT_K, JUMP, POLICIES, Estimate, estimate, largest_rise,
                                   where)

_SPARK = " ▁▂▃▄▅▆▇█"


@dataclass
class Explanation:
    failure: dict[str, Any]
    deterministic: bool
    curve: list[tuple[int, float]]
    decisive: list[dict[str, Any]]
    slice: list[dict[str, Any]]
    continuations: int = DEFAULT_K
    seed: int = 0
    policies: tuple[str, ...] = POLICIES
    migrate: float = 0.0
    runs: int = 0
    threads: list[str] = field(default_factory=list)   # the slice's columns
    estimate: Estimate | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> dict[str, Any]:
        return {"failure": dict(self.failure), "deterministic": self.deterministic,
                "curve": [[s, p] for s, p in self.curve],
                "decisive": [dict(d) for d in self.decisive],
                "slice": [dict(r) for r in self.slice]}


def explain(trace, continuations: int = DEFAULT_K, seed: int = 0, *,
            progress: Callable[[int, int], None] | None = None) -> Explanation:
    """Explains a failing trace (a path, or what views.trace.read
    returns): see the module's docstring.  `continuations` runs per policy
    (random and PCT) from each estimated step's state, seeded from the
    trace's digest, the step and `seed`; `progress(done, planned)` is
    called after each step's continuations (`done` states estimated so
    far, `planned` before the bisection).  Raises umasim.errors.NoFailure
    for a trace whose run does not fail, umasim.TraceError for one that is
    not a valid trace or does not replay, and umasim.errors.InvalidArgument
    for a bad count or seed."""
    est = estimate(trace, continuations, seed, progress=progress)
    sl, cols = happens_before_slice(est)
    return Explanation(failure_of(est), est.deterministic, list(est.curve),
                       decisive_of(est), sl, est.continuations, est.seed, est.policies,
                       est.migrate, est.runs, cols, est)


def failure_of(est: Estimate) -> dict[str, Any]:
    """The failure: its outcome, message and expectation kinds, and the
    last step (the thread, vCPU, the point it had stopped at)."""
    sim = est.sim
    last = est.steps[-1] if est.steps else None
    thread = last.thread if last else None
    hf = sim.host_fault
    if hf is not None:
        thread = hf.thread
    for e in sim.events:
        if e.kind == "panic":
            thread = e.thread
    mine = [s for s in est.steps if s.thread == thread] or est.steps
    at = mine[-1] if mine else None
    point = at.point if at else None
    func, line = where(point) if point else (None, None)
    return {"outcome": est.outcome, "message": est.message,
            "expectations": list(est.failure.expectations),
            "thread": thread, "cpu": at.cpu if at else None,
            "point": point, "function": func, "line": line,
            "step": at.step if at else 0, "steps": len(est.steps)}


def decisive_of(est: Estimate) -> list[dict[str, Any]]:
    p = dict(est.curve)
    out = []
    for s in est.decisive:
        info = est.steps[s - 1]
        func, line = where(info.point)
        out.append({"step": s, "cpu": info.cpu, "thread": info.thread, "op": info.op,
                    "point": info.point, "function": func, "line": line,
                    "p_before": p.get(s - 1, 0.0), "p_after": p.get(s, 0.0)})
    return out


# ---- the happens-before slice ---------------------------------------------------

def _op_zone(op: str | None, var_zone: dict[str, str], zones: set[str]) -> tuple[str | None,
                                                                                   str | None]:
    """(zone, variable) an operation works on, as far as its text says."""
    if not op:
        return None, None
    w = op.replace("->", " -> ").split()
    if not w:
        return None, None
    kind = w[0]
    var = w[w.index("->") + 1] if "->" in w and w.index("->") + 1 < len(w) else None
    if kind == "alloc" and len(w) > 1:
        return w[1], var
    if kind in ("free", "touch", "refcnt", "free_large", "kmem_free") and len(w) > 1:
        z = w[2] if len(w) > 2 and w[2] in zones else var_zone.get(w[1])
        return z, w[1]
    if kind in ("drain", "setmax", "setobj", "prealloc", "zdestroy", "zcreate", "zsecond") \
            and len(w) > 1:
        return w[1], None
    return None, var


def _involved_zones(est: Estimate, zones: set[str], var_zone: dict[str, str],
                    last_op: dict[str, str | None]) -> set[str]:
    found = {z for z in zones if re.search(r"(^|\W)zone " + re.escape(z) + r"\b", est.message)}
    if not found:
        sim = est.sim
        failing = {est.steps[-1].thread} if est.steps else set()
        if sim.host_fault is not None:
            failing = {sim.host_fault.thread}
        if est.outcome == "deadlock":
            failing = {t.name for t in sim.threads if not t.kernel and t.state == "asleep"}
        for e in sim.events:
            if e.kind == "panic":
                failing = {e.thread}
        for t in failing:
            z, _ = _op_zone(last_op.get(t), var_zone, zones)
            if z:
                found.add(z)
    return found or set(zones)


def happens_before_slice(est: Estimate) -> tuple[list[dict[str, Any]], list[str]]:
    """The operations and events on what the failure involves, in order:
    rows of (step, thread, cpu, op, object, detail), and the threads (the
    columns), in creation order."""
    scn, sim = est.trace.scenario, est.sim
    zones = {z["name"] for z in scn.zones}
    var_zone: dict[str, str] = {}
    for t in scn.threads:
        for o in t["ops"]:
            z, v = _op_zone(o, {}, zones)
            if z and v and o.split()[0] == "alloc":
                for i in range(t["repeat"]):
                    var_zone[v.replace("{i}", str(i))] = z
    # each thread's operation at each of its events
    cur: dict[str, str | None] = {}
    ops_at: list[str | None] = []
    for e in sim.events:
        if e.kind == "op_begin" and e.step > 0:
            cur[e.thread] = _op_name(scn, e.thread, e.b)
        ops_at.append(cur.get(e.thread))
    last_op = dict(cur)
    inv = _involved_zones(est, zones, var_zone, last_op)
    recs = {z.name: z for z in sim.core.zones()}
    addr_zone: dict[int, str] = {}
    for name in inv:
        r = recs.get(name)
        if r is not None:
            addr_zone[r.keg] = "keg " + name
            addr_zone[r.addr] = "zone " + name
    threads: set[str] = set()
    rows: list[dict[str, Any]] = []
    for e, op in zip(sim.events, ops_at):
        if e.step == 0:
            continue
        z, var = _op_zone(op, var_zone, zones)
        mine = z in inv
        obj = detail = None
        if e.kind in ("op_begin", "op_end") and mine:
            obj = f"item {var}" if var and op and not op.startswith("alloc") else f"zone {z}"
            detail = "begins" if e.kind == "op_begin" else (
                f"returns {var}" if var and op and op.startswith("alloc") else "returns")
        elif e.kind == "step" and mine:
            func, line = where(e.point)
            if line:
                obj, detail = f"zone {z}", f"stops at {e.point} ({func}, line {line})"
        elif e.kind == "migration" and (mine or e.thread in threads):
            obj, detail = f"vCPU {e.b}", f"migrated from vCPU {e.a} to {e.b} at {e.point}"
        elif e.kind in ("sleep", "wakeup", "full_check"):
            o = addr_zone.get(e.a)
            if o is not None or (mine and e.kind != "full_check"):
                obj = o or f"channel {e.a:#x}"
                detail = {"sleep": f"sleeps ({_wmesg(sim, e)})",
                          "wakeup": f"wakes {e.b} thread(s)",
                          "full_check": f"reads UMA_ZFLAG_FULL = {e.b}"}[e.kind]
        elif e.kind in ("bucket_alloc", "bucket_free") and mine:
            obj = f"bucket {e.a:#x}"
            detail = ("allocated" if e.kind == "bucket_alloc" else "freed") + \
                f" ({e.b} entries)"
        elif e.kind in ("slab_alloc", "slab_free") and mine:
            obj, detail = f"slab {e.a:#x}", ("allocated" if e.kind == "slab_alloc"
                                             else "freed") + f" ({e.b} page(s))"
        elif e.kind == "page_fail" and mine:
            obj, detail = "pages", f"no {e.a} page(s) free"
        elif e.kind == "lock_contended" and (mine or e.thread in threads):
            owner = sim.thread_name(e.b) or str(e.b)
            obj, detail = f"lock {e.a:#x}", f"blocks: held by {owner}"
        elif e.kind in ("panic", "host_fault", "leak") or (e.kind == "console" and mine):
            obj = {"panic": "kernel", "host_fault": "memory", "leak": f"item {e.a:#x}",
                   "console": "console"}[e.kind]
            detail = _console(sim, e) if e.kind in ("panic", "console") else e.kind
            if e.kind == "host_fault" and sim.host_fault is not None:
                detail = sim.host_fault.message
        if obj is None:
            continue
        threads.add(e.thread)
        rows.append({"step": e.step, "thread": e.thread, "cpu": e.cpu, "op": op,
                     "object": obj, "detail": detail})
    order = {n: i for i, n in enumerate(sim.thread_names)}
    cols = sorted(threads, key=lambda n: order.get(n, len(order)))
    return rows, cols


def _op_name(scn, thread: str, index: int) -> str | None:
    for t in scn.threads:
        if t["name"] == thread and t["ops"]:
            it, k = divmod(index, len(t["ops"]))
            return t["ops"][k].replace("{i}", str(it))
    return None


def _wmesg(sim, e) -> str:
    return ((f'"{e.wmesg}" on ' if e.wmesg else "") + f"channel {e.a:#x}"
            + (f", {e.b} ticks" if e.b else ""))


def _console(sim, e) -> str:
    con = sim.console
    return con[e.a] if 0 <= e.a < len(con) else ""


# ---- text ----------------------------------------------------------------------

def sparkline(curve: list[tuple[int, float]], width: int = 64) -> str:
    """The curve in at most `width` characters, each standing for an equal
    range of steps: the highest p estimated in it (a range with no
    estimate repeats the one before)."""
    if not curve:
        return ""
    last = curve[-1][0]
    per = max(1, -(-(last + 1) // width))
    out = []
    i, prev = 0, curve[0][1]
    for lo in range(0, last + 1, per):
        vals = []
        while i < len(curve) and curve[i][0] < lo + per:
            vals.append(curve[i][1])
            i += 1
        p = max(vals) if vals else prev
        prev = vals[-1] if vals else prev
        out.append(_SPARK[min(len(_SPARK) - 1, int(round(p * (len(_SPARK) - 1))))])
    return "".join(out)


def lincheck_table(rows: list[dict[str, Any]], threads: list[str], width: int = 50) -> str:
    """The slice one column per thread, as Lincheck prints an
    interleaving."""
    if not rows:
        return "(no operation on the objects of the failure)\n"
    cols = threads or sorted({r["thread"] for r in rows})
    idx = {t: i for i, t in enumerate(cols)}

    def cell(r):
        d = r["detail"]
        if d == "begins":
            text = r["op"] or r["object"]
        elif d.startswith("returns"):
            text = "  " + ("= " + d[8:] if d != "returns" else "returns")
        else:
            m = re.match(r"stops at (\S+) \((.*), line (\d+)\)", d)
            if m:
                text = f"  at {m[1]} ({m[2]}:{m[3]})"
            elif r["object"].startswith(("vCPU", "kernel", "memory", "console")):
                text = f"  {d}"
            else:
                text = f"  {r['object']}: {d}"
        return text if len(text) <= width else text[:width - 1] + "…"
    sep = "+------+" + "+".join("-" * (width + 2) for _ in cols) + "+"
    head = "| step |" + "|".join(f" {t:<{width}} " for t in cols) + "|"
    lines = [sep, head, sep]
    for r in rows:
        cells = [" " * width] * len(cols)
        cells[idx.get(r["thread"], 0)] = f"{cell(r):<{width}}"
        lines.append(f"| {r['step']:>4} |" + "|".join(f" {c} " for c in cells) + "|")
    lines.append(sep)
    return "\n".join(lines) + "\n"


def format_text(ex: Explanation) -> str:
    f = ex.failure
    what = f["outcome"] + (f": {f['message']}" if f["message"] else "")
    lines = [f"failure: {what}",
             f"  at step {f['step']} of {f['steps']}, thread {f['thread']} on vCPU {f['cpu']}"
             + (f", from {f['point']}" if f["point"] else "")
             + (f" ({f['function']}, line {f['line']})" if f["line"] else "")]
    pols = " + ".join(f"{ex.continuations} {p}" for p in ex.policies)
    if ex.deterministic:
        lines.append(f"deterministic: every continuation from the start ({ex.runs} runs: "
                     f"{pols}) fails the same way; no step decides it")
    else:
        lines.append(f"P(the same failure | the first s steps), {pols} continuations a step "
                     f"(migrate {ex.migrate:.3g}), {ex.runs} runs:")
        lines.append(f"  [{sparkline(ex.curve)}]  steps 0-{ex.curve[-1][0]}")
        at = [d["step"] for d in ex.decisive] or \
            [b[0] for b in [largest_rise(ex.curve)] if b is not None]
        marks = sorted({0, ex.curve[-1][0]} | set(at) | {s - 1 for s in at})
        p = dict(ex.curve)
        lines.append("  " + ", ".join(f"s={s}: {p[s]:.2f}" for s in marks if s in p))
        if ex.decisive:
            lines.append("decisive steps:")
        else:
            best = largest_rise(ex.curve)
            lines.append(f"no decisive step: the estimate rises by {JUMP} in no single step"
                         + (f"; most at step {best[0]} (+{best[1]:.2f})" if best else ""))
        for d in ex.decisive:
            loc = f"{d['point']}" + (f" ({d['function']}, line {d['line']})"
                                     if d["line"] else "")
            info = ex.estimate.steps[d["step"] - 1] if ex.estimate is not None else None
            moved = f" (migrated from vCPU {info.cpu_before})" \
                if info is not None and info.cpu_before != info.cpu else ""
            lines.append(f"  step {d['step']}: thread {d['thread']} on vCPU {d['cpu']}{moved}"
                         + (f", in \"{d['op']}\"" if d["op"] else "")
                         + f", had stopped at {loc}: P {d['p_before']:.2f} -> "
                           f"{d['p_after']:.2f}")
    lines.append("happens-before slice (the operations on what the failure involves):")
    return "\n".join(lines) + "\n" + lincheck_table(ex.slice, ex.threads)


# ---- pictures ------------------------------------------------------------------

def sim_at(trace, step: int):
    """A Sim of the trace's scenario left in the state after `step` steps
    of its decisions (step 0: before the first), to inspect or draw."""
    from umasim.errors import InvalidArgument
    from umasim.search.explain import load_trace
    tr = load_trace(trace)
    dec = tr.decisions
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= len(dec):
        raise InvalidArgument(f"step must be from 0 to {len(dec)}, not {step!r}")
    sim = tr.scenario.build_with(trace="full")
    if step:
        sim.run(decisions=dec[:step], max_steps=step)
    return sim


def plot_curve(ex: Explanation, ax=None, *, title: str | None = None):
    """The curve P(the same failure | the first s steps) against s, the
    decisive steps marked.  Returns the Figure (matplotlib)."""
    from umasim.views.plot import _new_axes
    fig, ax = _new_axes(ax, 7.5, 2.8)
    xs = [s for s, _ in ex.curve]
    ys = [p for _, p in ex.curve]
    ax.step(xs, ys, where="post", color="#4c72b0", lw=1.6, label="P(same failure | prefix)")
    ax.plot(xs, ys, ".", color="#4c72b0", ms=3)
    for d in ex.decisive:
        ax.axvline(d["step"], color="#c44e52", lw=1, ls="--")
        ax.annotate(f"step {d['step']}: {d['thread']} at {d['point']}",
                    (d["step"], d["p_after"]), xytext=(-6, -14), textcoords="offset points",
                    ha="right", fontsize=8, color="#c44e52")
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5 if len(xs) > 1 else 1)
    ax.set_xlabel("steps of the failing run replayed (s)")
    ax.set_ylabel("P(failure)")
    msg = ex.failure["message"]
    msg = msg if len(msg) <= 80 else msg[:79] + "…"
    ax.set_title(title or f"{ex.failure['outcome']}: {msg}", fontsize=9)
    ax.grid(alpha=0.3)
    return fig
