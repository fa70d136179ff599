"""Pictures of a simulation (matplotlib), for the notebooks and for anyone
looking at a Sim or a trace.

    item_map(zone)              where every item of a zone is: each vCPU's
                                alloc and free bucket, the zone's full and
                                free bucket lists, the keg's partial, free and
                                full slabs, and the items threads hold
    timeline(sim | trace)       which thread ran on which vCPU at each step,
                                with marks for migrations, sleeps, wakeups,
                                lock contention, page shortages and panics
    record(sim | scenario | trace, ...)   run (or replay) step by step and
                                sample the state after every step: a Recording
    items_over_time(rec, zone)  items by location over virtual time: in use,
                                per-CPU caches, zone buckets, free in slabs
    pages_over_time(rec)        free pages, kmem_map use, each zone's pages,
                                bucketdisable, vmwait sleepers

and, without matplotlib, text tables of a zone (`zone_tables`) and the
location of every item (`item_locations`).

Every plotting function returns a matplotlib Figure, built without pyplot
(no global figure state, nothing to close, no plt.show()); pass `ax=` to
draw into an Axes of your own figure instead.  Colours and layout depend
only on the simulation, so equal states draw equal pictures.

matplotlib is an optional dependency (`pip install 'umasim[notebooks]'`);
it is imported when a plotting function is first called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from umasim.errors import WrongType
from umasim.model.sim import Event, Sim
from umasim.model.zones import Zone

__all__ = ["item_locations", "zone_tables", "item_map", "timeline", "record", "Recording",
           "items_over_time", "pages_over_time", "CATEGORY_COLORS", "MARKS", "cpu_color",
           "thread_colors"]

# ---- matplotlib, lazily --------------------------------------------------------

_INSTALL_HINT = ("umasim.plot needs matplotlib, which is not installed; install it with "
                 "pip install 'umasim[notebooks]' (or pip install matplotlib)")
_ipython_ready = False


def _mpl():
    """matplotlib's Figure class; a clear ImportError when it is missing."""
    try:
        import matplotlib  # noqa: F401
        from matplotlib.figure import Figure
    except ImportError as e:          # pragma: no cover - depends on the install
        raise ImportError(_INSTALL_HINT) from e
    _setup_ipython(Figure)
    return Figure


def _setup_ipython(figure_cls) -> None:
    """Inside IPython/Jupyter, show a Figure that ends a cell as a PNG,
    whatever the matplotlib backend (figures here are made without pyplot,
    so the inline backend never sees them)."""
    global _ipython_ready
    if _ipython_ready:
        return
    _ipython_ready = True
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import print_figure
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return
    png = ip.display_formatter.formatters.get("image/png")
    if png is not None:
        png.for_type(figure_cls, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


def _new_axes(ax, width: float, height: float, nrows: int = 1, height_ratios=None):
    """(figure, axes): the caller's Axes, or a new Figure's."""
    if ax is not None:
        return ax.figure, ax
    Figure = _mpl()
    fig = Figure(figsize=(width, height), layout="constrained")
    if nrows == 1:
        return fig, fig.subplots()
    return fig, fig.subplots(nrows, 1, height_ratios=height_ratios)


# ---- colours ---------------------------------------------------------------------

# Per-vCPU colours (the alloc bucket; the free bucket is a lighter shade).
CPU_COLORS = ("#1f77b4", "#2ca02c", "#ff7f0e", "#17becf", "#8c564b", "#e377c2",
              "#7f7f7f", "#bcbd22")
THREAD_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860",
                 "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd")
KERNEL_COLOR = "#b0b0b0"
CATEGORY_COLORS = {
    "held": "#d62728",          # a program variable holds it
    "out": "#9467bd",           # allocated, no variable holds it (attached, or lost)
    "bucket": "#e6ab02",        # in a bucket on the zone's full-bucket list
    "other": "#a6a6a6",         # cached by another zone of the same keg
    "slab": "#f4f4f4",          # free in its slab
}
CATEGORY_LABELS = {
    "held": "held by a variable",
    "out": "in use, no variable (attached or lost)",
    "bucket": "zone's full-bucket list",
    "other": "cached by another zone on the keg",
    "slab": "free in its slab",
}
# Event marks of the timeline: kind -> (marker, colour, label).
MARKS = {
    "migration": (">", "#000000", "migration"),
    "sleep": ("v", "#1f3a93", "sleep"),
    "wakeup": ("^", "#2e8b57", "wakeup"),
    "lock_contended": ("x", "#d62728", "lock contended"),
    "page_fail": ("s", "#ff7f0e", "page shortage"),
    "panic": ("*", "#b00000", "panic"),
}


def _lighter(color: str, f: float = 0.55) -> str:
    r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
    r, g, b = (round(c + (255 - c) * f) for c in (r, g, b))
    return f"#{r:02x}{g:02x}{b:02x}"


def cpu_color(cpu: int, which: str = "alloc") -> str:
    """vCPU `cpu`'s colour: its alloc bucket's, or ("free") the lighter
    shade of its free bucket."""
    c = CPU_COLORS[cpu % len(CPU_COLORS)]
    return c if which == "alloc" else _lighter(c)


# ---- where the items are ---------------------------------------------------------

@dataclass(frozen=True)
class ItemLocation:
    """One item of a keg: its slab (list and address), its index in the
    slab, and where it is now."""
    addr: int
    slab_list: str          # part | free | full
    slab: int               # the slab header's address
    index: int
    category: str           # held | out | cpu | bucket | other | slab
    where: str              # in words: "vCPU 0 alloc bucket", "held by x", ...
    cpu: int | None = None
    var: str | None = None

    def __str__(self) -> str:
        return f"{self.addr:#x} slab {self.slab:#x}[{self.index}] ({self.slab_list}): {self.where}"


def _held(sim: Sim) -> dict[int, str]:
    """Items program variables hold: address -> variable name."""
    return sim.held_items()


def _keg_zones(zone: Zone) -> list[Zone]:
    """The zones of the simulation that share `zone`'s keg (itself first)."""
    sim = zone.sim
    keg = zone.keg
    others = [Zone(sim, r.name, r.slot, r.addr) for r in sim.core.zones()
              if r.name != zone.name and r.keg == keg]
    return [zone] + others


def _cache_locations(z: Zone) -> dict[int, tuple[int, str]]:
    """Items in z's per-CPU buckets: address -> (cpu, "alloc" | "free")."""
    out: dict[int, tuple[int, str]] = {}
    for c in z.caches:
        items = z.items("cache", c.cpu)
        n_alloc = c.alloc or 0
        for k, addr in enumerate(items):
            out[addr] = (c.cpu, "alloc" if k < n_alloc else "free")
    return out


def item_locations(zone: Zone) -> list[ItemLocation]:
    """Every item of the zone's keg, slab by slab (partial, free, full
    slabs, in the keg's list order), and where it is now."""
    sim = zone.sim
    g = zone.geometry
    slabs = zone.slabs
    free_in_slab = set(zone.items("slab"))
    mine = _cache_locations(zone)
    in_buckets = set(zone.items("bucket"))
    other: dict[int, str] = {}
    for z in _keg_zones(zone)[1:]:
        for addr in list(_cache_locations(z)) + z.items("bucket"):
            other[addr] = z.name
    held = _held(sim)
    out = []
    for lst in ("part", "free", "full"):
        for s in slabs[lst]:
            for i in range(g.ipers):
                addr = s.data + i * g.rsize
                cpu, var = None, None
                if addr in free_in_slab:
                    cat, where = "slab", "free in its slab"
                elif addr in mine:
                    cpu, which = mine[addr]
                    cat, where = "cpu", f"vCPU {cpu} {which} bucket"
                elif addr in in_buckets:
                    cat, where = "bucket", "zone's full-bucket list"
                elif addr in other:
                    cat, where = "other", f"cached by zone {other[addr]}"
                elif addr in held:
                    var = held[addr]
                    cat, where = "held", f"held by {var}"
                else:
                    cat, where = "out", "in use, held by no variable"
                out.append(ItemLocation(addr, lst, s.addr, i, cat, where, cpu, var))
    return out


def _format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    rows = [[str(c) for c in r] for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(c.rjust(w) if i else c.ljust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(headers), line(["-" * w for w in widths])] +
                     [line(r) for r in rows])


def zone_tables(zone: Zone) -> str:
    """The zone as three text tables: its per-CPU caches, its bucket
    lists, and its keg's slabs."""
    st = zone.stats
    g = zone.geometry
    cpu_rows = []
    for c in zone.caches:
        cpu_rows.append([f"vCPU {c.cpu}",
                         "-" if c.alloc is None else f"{c.alloc}/{c.alloc_entries}",
                         "-" if c.free is None else f"{c.free}/{c.free_entries}",
                         c.allocs, c.frees])
    bucket_rows = [["full", k, f"{cnt}/{ent}"] for k, (cnt, ent) in enumerate(zone.full_buckets)]
    bucket_rows += [["free", k, f"{cnt}/{ent}"] for k, (cnt, ent) in enumerate(zone.free_buckets)]
    slab_rows = []
    for lst in ("part", "free", "full"):
        for k, s in enumerate(zone.slabs[lst]):
            slab_rows.append([f"{lst} slab #{k}", f"{s.addr:#x}", f"{s.data:#x}",
                              f"{g.ipers - s.free}/{g.ipers}", s.free])
    head = (f"zone {zone.name}: size {g.size} (rsize {g.rsize}), {g.ipers} items per slab, "
            f"{st['pages']} pages, uz_count {st['uz_count']}, "
            f"used {st['used']}, keg free {st['keg_free']}"
            + (f", limit {st['limit']}" if st["limit"] else "")
            + (", FULL" if "full" in st["flags"] else ""))
    parts = [head, "",
             "per-CPU caches (items/capacity; uc_allocs, uc_frees not yet added to the zone):",
             _format_table(["cpu", "alloc bucket", "free bucket", "uc_allocs", "uc_frees"],
                           cpu_rows), "",
             "zone bucket lists (uz_full_bucket, uz_free_bucket):",
             _format_table(["list", "#", "items"], bucket_rows) if bucket_rows
             else "  (both empty)", "",
             "keg slabs (uk_part_slab, uk_free_slab, uk_full_slab):",
             _format_table(["slab", "header", "data (page)", "out of slab", "free"],
                           slab_rows)
             if slab_rows else "  (no slabs)"]
    return "\n".join(parts) + "\n"


# ---- the item map ------------------------------------------------------------------

def item_map(target, zone: str | None = None, *, max_slabs: int = 48,
             labels: bool | None = None, title: str | None = None):
    """A drawing of where every item of a zone is.

    `target` is a Zone, or a Sim with `zone` naming one.  The upper panel
    has a row per bucket -- each vCPU's alloc and free bucket, then the
    zone's full buckets and empty buckets -- drawn as its capacity with
    its items filled in; the lower panel a row per slab of the keg (at
    most `max_slabs`), a cell per item, coloured by where that item is.
    `labels`: write variable names in the cells of held items (default:
    when a slab has at most 20 items).  Returns the Figure.
    """
    if isinstance(target, Sim):
        if zone is None:
            raise ValueError("item_map(sim, zone): name the zone")
        z = target.zone(zone)
    elif isinstance(target, Zone):
        z = target
    else:
        raise TypeError(f"item_map takes a Zone or a Sim, not {type(target).__name__}")
    _mpl()
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Patch, Rectangle

    g = z.geometry
    caches = z.caches
    full_b = z.full_buckets
    free_b = z.free_buckets
    locs = item_locations(z)
    slab_keys: list[tuple[str, int]] = []
    for loc in locs:
        key = (loc.slab_list, loc.slab)
        if not slab_keys or slab_keys[-1] != key:
            slab_keys.append(key)
    shown = slab_keys[:max_slabs]
    if labels is None:
        labels = g.ipers <= 20

    # Upper panel rows: (label, count, entries, colour).
    brows: list[tuple[str, int | None, int, str]] = []
    for c in caches:
        brows.append((f"vCPU {c.cpu} alloc", c.alloc, c.alloc_entries, cpu_color(c.cpu)))
        brows.append((f"vCPU {c.cpu} free", c.free, c.free_entries,
                      cpu_color(c.cpu, "free")))
    for k, (cnt, ent) in enumerate(full_b):
        brows.append((f"zone full #{k}", cnt, ent, CATEGORY_COLORS["bucket"]))
    for k, (cnt, ent) in enumerate(free_b):
        brows.append((f"zone free #{k}", cnt, ent, CATEGORY_COLORS["bucket"]))
    width = max([g.ipers] + [e for _, _, e, _ in brows])
    nb, ns = len(brows), max(len(shown), 1)
    fig_w = min(14.0, 4.0 + 0.22 * width)
    fig, (ax_b, ax_s) = _new_axes(None, fig_w, 1.6 + 0.24 * (nb + ns), nrows=2,
                                  height_ratios=[max(nb, 1), ns])

    # Buckets.
    rects, faces = [], []
    for row, (label, cnt, ent, color) in enumerate(brows):
        y = nb - 1 - row
        if cnt is None:
            ax_b.text(0.1, y + 0.4, "no bucket", va="center", fontsize=7, color="#777777")
            continue
        rects.append(Rectangle((0, y), ent, 0.8))
        faces.append("#ffffff")
        if cnt:
            rects.append(Rectangle((0, y), cnt, 0.8))
            faces.append(color)
        ax_b.text(ent + 0.3, y + 0.4, f"{cnt}/{ent}", va="center", fontsize=7)
    ax_b.add_collection(PatchCollection(rects, facecolors=faces, edgecolors="#555555",
                                        linewidths=0.6))
    ax_b.set_xlim(0, width + 4)
    ax_b.set_ylim(-0.2, max(nb, 1))
    ax_b.set_yticks([nb - 1 - r + 0.4 for r in range(nb)], [b[0] for b in brows], fontsize=8)
    ax_b.set_xlabel("bucket slots (ub_cnt of ub_entries)", fontsize=8)
    ax_b.set_title(f"zone {z.name}: per-CPU buckets and the zone's bucket lists", fontsize=9)
    ax_b.tick_params(axis="x", labelsize=7)

    # Slabs.
    rects, faces = [], []
    present: dict[str, str] = {}
    index = {key: n for n, key in enumerate(shown)}
    for loc in locs:
        n = index.get((loc.slab_list, loc.slab))
        if n is None:
            continue
        y = ns - 1 - n
        if loc.category == "cpu":
            which = "alloc" if loc.where.endswith("alloc bucket") else "free"
            color = cpu_color(loc.cpu, which)
            present.setdefault(f"vCPU {loc.cpu} {which} bucket", color)
        else:
            color = CATEGORY_COLORS[loc.category]
            present.setdefault(CATEGORY_LABELS[loc.category], color)
        rects.append(Rectangle((loc.index, y), 1, 0.8))
        faces.append(color)
        if labels and loc.var:
            ax_s.text(loc.index + 0.5, y + 0.4, loc.var, ha="center", va="center",
                      fontsize=6, color="#ffffff", clip_on=True)
    ax_s.add_collection(PatchCollection(rects, facecolors=faces, edgecolors="#555555",
                                        linewidths=0.4))
    ax_s.set_xlim(0, width + 4)
    ax_s.set_ylim(-0.2, ns)
    slab_labels, per_list = [], {}
    for lst, _addr in shown:
        slab_labels.append(f"{lst} slab #{per_list.get(lst, 0)}")
        per_list[lst] = per_list.get(lst, 0) + 1
    ax_s.set_yticks([ns - 1 - n + 0.4 for n in range(len(shown))], slab_labels, fontsize=7)
    more = len(slab_keys) - len(shown)
    ax_s.set_xlabel("item index in the slab" + (f"  ({more} more slabs not shown)"
                                                  if more > 0 else ""), fontsize=8)
    ax_s.set_title(f"keg slabs: {len(slab_keys)} ({g.ipers} items each, rsize {g.rsize})",
                   fontsize=9)
    ax_s.tick_params(axis="x", labelsize=7)
    if not slab_keys:
        ax_s.text(0.1, 0.4, "no slabs", fontsize=8, color="#777777")
    order = sorted(present.items(), key=lambda kv: _legend_rank(kv[0]))
    ax_s.legend(handles=[Patch(facecolor=c, edgecolor="#555555", label=l) for l, c in order],
                loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False)
    st = z.stats
    fig.suptitle(title or (f"where the items of zone {z.name} are: used {st['used']}, "
                           f"per-CPU {st['cache_items']}, zone buckets {st['full_items']}, "
                           f"free in slabs {st['keg_free']}"
                           + (f", limit {st['limit']}" if st["limit"] else "")
                           + (" (FULL)" if "full" in st["flags"] else "")), fontsize=10)
    return fig


def _legend_rank(label: str) -> tuple:
    order = list(CATEGORY_LABELS.values())
    if label.startswith("vCPU "):
        cpu = int(label.split()[1])
        return (1, cpu, label)
    return (0 if label == CATEGORY_LABELS["held"] else 2, order.index(label)
            if label in order else 99, label)


# ---- timelines ---------------------------------------------------------------------

def _as_sim(target) -> Sim:
    """A Sim that has run: the Sim itself, or a trace (a Trace or a path)
    replayed, or a Scenario run (through the engine)."""
    from umasim.engine import execute
    from umasim.model.scenario import Scenario
    from umasim.model.schedule import Schedule
    from umasim.views.trace import Trace, read
    if isinstance(target, Sim):
        return target
    if isinstance(target, (str, Path)):
        target = read(target)
    if isinstance(target, Trace):
        return execute(target.scenario, Schedule.replay(target.decisions), level="full").sim
    if isinstance(target, Scenario):
        return execute(target, level="full").sim
    raise WrongType(f"expected a Sim, a Trace, a trace path or a Scenario, "
                    f"not {type(target).__name__}")


def thread_colors(sim: Sim) -> dict[str, str]:
    """Each thread's colour by name (kernel threads grey)."""
    colors, k = {}, 0
    for t in sim.threads:
        if t.kernel:
            colors[t.name] = KERNEL_COLOR
        else:
            colors[t.name] = THREAD_COLORS[k % len(THREAD_COLORS)]
            k += 1
    colors.setdefault("kernel", KERNEL_COLOR)
    return colors


def _steps(events: list[Event]) -> list[tuple[int, str, int, str]]:
    """(step, thread, vCPU, point reached) for every step of the run."""
    by_step: dict[int, list[Event]] = {}
    for e in events:
        if e.step >= 1:
            by_step.setdefault(e.step, []).append(e)
    out = []
    for step in sorted(by_step):
        evs = by_step[step]
        st = next((e for e in evs if e.kind == "step"), None)
        if st is not None:
            out.append((step, st.thread, st.cpu, st.point or ""))
        else:
            # A step that never reached a point (a panic) has no "step" event.
            last = evs[-1]
            if last.thread is not None:
                out.append((step, last.thread, last.cpu, last.kind))
    return out


def timeline(target, ax=None, *, first: int | None = None, last: int | None = None,
             points: bool | None = None, kernel: bool = True, title: str | None = None):
    """Which thread ran on which vCPU at each step.

    `target`: a Sim (after stepping or running it), a Trace or trace path
    (replayed), or a Scenario (run).  One lane per vCPU, a bar per step in
    the colour of its thread; marks for migrations (on the vCPU moved to),
    sleeps, wakeups, lock contention, page shortages and panics.  `first`,
    `last`: the window of steps to draw (default: all).  `points`: write the
    preemption point each step stopped at in its bar (default: when the
    window is at most 60 steps).  `kernel`: draw kernel threads' steps
    (softclock, pagedaemon).  Returns the Figure.
    """
    _mpl()
    sim = _as_sim(target)
    events = sim.events
    steps = _steps(events)
    lo = first if first is not None else 1
    hi = last if last is not None else (steps[-1][0] if steps else 1)
    steps = [s for s in steps if lo <= s[0] <= hi]
    kernel_names = {t.name for t in sim.threads if t.kernel}
    if not kernel:
        steps = [s for s in steps if s[1] not in kernel_names]
    span = max(hi - lo + 1, 1)
    if points is None:
        points = span <= 60
    cpus = sim.cpus
    fig, ax = _new_axes(ax, min(16.0, 5.0 + 0.12 * span), 1.2 + 0.55 * cpus)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    colors = thread_colors(sim)
    # Coalesce consecutive steps of one thread on one vCPU into one bar.
    runs: dict[tuple[str, int], list[tuple[float, float]]] = {}
    prev = None
    for step, th, cpu, _pt in steps:
        key = (th, cpu)
        lst = runs.setdefault(key, [])
        if prev == (key, step - 1) and lst:
            x0, w = lst[-1]
            lst[-1] = (x0, w + 1)
        else:
            lst.append((step - 0.5, 1))
        prev = (key, step)
    seen_threads = []
    for (th, cpu), xr in sorted(runs.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        ax.broken_barh(xr, (cpus - 1 - cpu - 0.35, 0.7), facecolors=colors.get(th, KERNEL_COLOR),
                       edgecolor="#ffffff", linewidth=0.3)
        if th not in seen_threads:
            seen_threads.append(th)
    if points:
        for step, th, cpu, pt in steps:
            ax.text(step, cpus - 1 - cpu, pt, rotation=90, ha="center", va="center",
                    fontsize=6, color="#000000", clip_on=True)
    handles = [Patch(facecolor=colors.get(th, KERNEL_COLOR), label=th)
               for th in sorted(seen_threads, key=lambda n: (n in kernel_names,
                                                             list(colors).index(n)
                                                             if n in colors else 99))]
    # Marks.
    step_cpu = {s[0]: s[2] for s in _steps(events)}
    for kind, (marker, color, label) in MARKS.items():
        xs, ys = [], []
        for e in events:
            if e.kind != kind or not lo <= max(e.step, 1) <= hi:
                continue
            if not kernel and e.thread in kernel_names:
                continue
            cpu = e.cpu if e.cpu >= 0 else step_cpu.get(e.step, 0)
            xs.append(max(e.step, 1))
            ys.append(cpus - 1 - cpu + 0.45)
        if xs:
            ax.scatter(xs, ys, marker=marker, color=color, s=28, zorder=3, label=label,
                       clip_on=False)
            handles.append(Line2D([], [], marker=marker, color=color, linestyle="",
                                  label=label))
    ax.set_yticks(range(cpus), [f"vCPU {c}" for c in reversed(range(cpus))])
    ax.set_ylim(-0.6, cpus - 0.3)
    ax.set_xlim(lo - 0.5, hi + 0.5)
    ax.set_xlabel("step")
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
              frameon=False)
    ax.set_title(title or f"per-vCPU timeline, steps {lo}-{hi} ({sim.outcome})", fontsize=10)
    return fig


# ---- recordings --------------------------------------------------------------------

@dataclass
class Recording:
    """The state after every step of one run (and before the first):
    virtual time, pages, and for each recorded zone where its items are.

    steps, ticks       step number and virtual time (ticks) of each sample
    free_pages         cnt.v_free_count; kmem_used: kmem_map pages in use
    bucketdisable      UMA's bucketdisable flag
    asleep             per sample, {wait message: threads asleep on it}
    zones[name]        per sample lists: used (allocs - frees, vmstat USED),
                       cache (per-CPU buckets), bucket (the zone's full
                       buckets), slab (free in the keg's slabs, which a
                       secondary zone shares with its master), pages,
                       capacity (items in the keg's slabs), fails (uz_fails),
                       limit
    """
    steps: list[int] = field(default_factory=list)
    ticks: list[int] = field(default_factory=list)
    free_pages: list[int] = field(default_factory=list)
    kmem_used: list[int] = field(default_factory=list)
    bucketdisable: list[bool] = field(default_factory=list)
    asleep: list[dict[str, int]] = field(default_factory=list)
    zones: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    free_min: int = 0
    outcome: str = "running"
    sim: Sim | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def events(self) -> list[Event]:
        return self.sim.events if self.sim is not None else []

    def sample(self, sim: Sim) -> None:
        u = sim.uma()
        self.steps.append(sim.steps)
        self.ticks.append(sim.ticks)
        self.free_pages.append(u["free_pages"])
        self.kmem_used.append(u["kmem_used"])
        self.bucketdisable.append(u["bucketdisable"])
        self.free_min = u["free_min"]
        sleeping: dict[str, int] = {}
        for t in sim.threads:
            if t.state == "asleep" and not t.kernel and t.wmesg:
                sleeping[t.wmesg] = sleeping.get(t.wmesg, 0) + 1
        self.asleep.append(sleeping)
        for name, cols in self.zones.items():
            try:
                st = sim.zone(name).stats
                g = sim.zone(name).geometry
            except ValueError:
                st = None
            if st is None:
                vals = dict(used=0, cache=0, bucket=0, slab=0, pages=0, capacity=0, fails=0,
                            limit=0)
            else:
                vals = dict(used=st["used"], cache=st["cache_items"], bucket=st["full_items"],
                            slab=st["keg_free"], pages=st["pages"],
                            capacity=st["pages"] // max(g.ppera, 1) * g.ipers,
                            fails=st["fails"], limit=st["limit"])
            for k, v in vals.items():
                cols[k].append(v)

    def asleep_on(self, wmesg: str) -> list[int]:
        """Threads asleep on `wmesg` ("zonelimit", "vmwait", ...) per sample."""
        return [a.get(wmesg, 0) for a in self.asleep]


_ZONE_KEYS = ("used", "cache", "bucket", "slab", "pages", "capacity", "fails", "limit")


class _Sampler:
    """The engine's observer behind record(): a sample before the first
    step and after every step."""

    level = "full"
    every_step = True

    def __init__(self, rec: Recording):
        self.rec = rec

    def start(self, run) -> None:
        self.rec.sample(run.sim)

    def step(self, run) -> None:
        self.rec.sample(run.sim)

    def end(self, run) -> None:
        self.rec.outcome = run.outcome


def record(target, zones: Sequence[str] | None = None, **run_args) -> Recording:
    """Runs `target` and samples its state before the first step and after
    every step.

    `target`: a Sim (run from where it stands with Sim.run()'s arguments
    `run_args`; default: the sequential policy), a Scenario (built and run
    with its schedule, or run_args), or a Trace / trace path (its
    decisions replayed).  One run, through the engine; the Sim is left at
    its end (Recording.sim).  `zones`: the zones to follow (default: every
    zone the scenario, the Python calls or the programs name).
    """
    from umasim.engine import execute
    from umasim.model.scenario import Scenario
    from umasim.model.schedule import Schedule
    from umasim.views.trace import Trace, read
    if isinstance(target, (str, Path)):
        target = read(target)
    if isinstance(target, Trace):
        scenario, sim = target.scenario, target.scenario.build_with(trace="full")
        schedule = Schedule.replay(target.decisions)
    elif isinstance(target, Scenario):
        scenario, sim = target, target.build_with(trace="full")
        schedule = Schedule(**run_args) if run_args else target.schedule
    elif isinstance(target, Sim):
        scenario, sim = None, target
        schedule = Schedule(**run_args)
    else:
        raise WrongType(f"record() takes a Sim, a Scenario or a trace, "
                        f"not {type(target).__name__}")
    if zones is None:
        # Every zone the scenario or the programs name (a program's zcreate
        # registers its zone's name at spawn; until it runs, it samples 0).
        zones = sim.zone_names
    rec = Recording(zones={n: {k: [] for k in _ZONE_KEYS} for n in zones}, sim=sim)
    execute(scenario, schedule, [_Sampler(rec)], sim=sim)
    return rec


def _xs(rec: Recording, x: str) -> list[int]:
    if x == "tick":
        return rec.ticks
    if x == "step":
        return rec.steps
    raise ValueError('x is "tick" or "step"')


def _event_x(rec: Recording, x: str, e: Event) -> int:
    return e.tick if x == "tick" else e.step


def items_over_time(rec: Recording, zone: str, ax=None, *, x: str = "tick",
                    title: str | None = None):
    """Items of `zone` by location over virtual time (or steps): in use,
    in per-CPU caches, in the zone's full buckets, free in the keg's slabs
    -- stacked -- with the items the keg's slabs hold and the zone's limit
    as lines, and the threads asleep in "zonelimit" on a second axis.
    Returns the Figure."""
    _mpl()
    if zone not in rec.zones:
        raise ValueError(f"zone {zone!r} was not recorded (recorded: {', '.join(rec.zones)})")
    xs = _xs(rec, x)
    cols = rec.zones[zone]
    fig, ax = _new_axes(ax, 9.0, 4.2)
    layers = [("used", "in use (USED)", CATEGORY_COLORS["held"]),
              ("cache", "per-CPU buckets", CPU_COLORS[0]),
              ("bucket", "zone's full buckets", CATEGORY_COLORS["bucket"]),
              ("slab", "free in the keg's slabs", "#c7c7c7")]
    base = [0] * len(xs)
    for key, label, color in layers:
        top = [b + v for b, v in zip(base, cols[key])]
        ax.fill_between(xs, base, top, step="post", color=color, alpha=0.85, label=label,
                        linewidth=0)
        base = top
    ax.step(xs, cols["capacity"], where="post", color="#000000", linewidth=1.0,
            label="items in the keg's slabs")
    if any(cols["limit"]):
        ax.step(xs, cols["limit"], where="post", color="#b00000", linewidth=1.0,
                linestyle="--", label="limit")
    ax.set_xlabel("virtual time (ticks)" if x == "tick" else "step")
    ax.set_ylabel("items")
    ax.set_ylim(bottom=0)
    _sleepers_and_legend(ax, rec, xs, "zonelimit")
    ax.set_title(title or f"zone {zone}: items by location ({rec.outcome})", fontsize=10)
    return fig


def _sleepers_and_legend(ax, rec: Recording, xs, wmesg: str) -> None:
    """The threads asleep on `wmesg` on a second axis (if any ever were),
    and one legend for both axes below the plot."""
    from matplotlib.ticker import MaxNLocator
    asleep = rec.asleep_on(wmesg)
    handles, labels = ax.get_legend_handles_labels()
    if any(asleep):
        ax2 = ax.twinx()
        ax2.step(xs, asleep, where="post", color="#1f3a93", linewidth=1.5, linestyle=":",
                 label=f'threads asleep in "{wmesg}"')
        ax2.set_ylabel(f"{wmesg} sleepers")
        ax2.set_ylim(0, max(asleep) + 1)
        ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
        h2, l2 = ax2.get_legend_handles_labels()
        handles, labels = handles + h2, labels + l2
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3,
              fontsize=8, frameon=False)


def pages_over_time(rec: Recording, ax=None, *, x: str = "tick", zones: bool = True,
                    title: str | None = None):
    """Pages over virtual time (or steps): free pages (with v_free_min),
    kmem_map pages in use, each recorded zone's pages, shaded where
    bucketdisable is set, marks where a page allocation found no page, and
    the threads asleep in "vmwait" on a second axis.  Returns the Figure."""
    _mpl()
    xs = _xs(rec, x)
    fig, ax = _new_axes(ax, 9.0, 4.2)
    ax.step(xs, rec.free_pages, where="post", color="#2ca02c", linewidth=1.6,
            label="free pages")
    ax.step(xs, rec.kmem_used, where="post", color="#7f7f7f", linewidth=1.0,
            label="kmem_map pages in use")
    if rec.free_min:
        ax.axhline(rec.free_min, color="#2ca02c", linestyle="--", linewidth=0.8,
                   label="v_free_min")
    if zones:
        for k, (name, cols) in enumerate(rec.zones.items()):
            ax.step(xs, cols["pages"], where="post", linewidth=1.0,
                    color=THREAD_COLORS[k % len(THREAD_COLORS)], label=f"pages of zone {name}")
    # bucketdisable spans.
    start = None
    first_span = True
    for i, on in enumerate(rec.bucketdisable + [False]):
        if on and start is None:
            start = xs[i]
        elif not on and start is not None:
            end = xs[i] if i < len(xs) else xs[-1]
            ax.axvspan(start, end, color="#ffcc00", alpha=0.25, linewidth=0,
                       label="bucketdisable" if first_span else None)
            first_span = False
            start = None
    fails = [e for e in rec.events if e.kind == "page_fail"]
    if fails:
        ax.scatter([_event_x(rec, x, e) for e in fails], [0] * len(fails), marker="s",
                   color="#ff7f0e", s=18, zorder=3, clip_on=False, label="no free page")
    ax.set_xlabel("virtual time (ticks)" if x == "tick" else "step")
    ax.set_ylabel("pages")
    ax.set_ylim(bottom=0)
    _sleepers_and_legend(ax, rec, xs, "vmwait")
    ax.set_title(title or f"pages over {'virtual time' if x == 'tick' else 'steps'} "
                 f"({rec.outcome})", fontsize=10)
    return fig
