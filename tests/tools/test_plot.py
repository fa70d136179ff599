"""umasim.plot: where items are (as data, tables and a drawing), per-vCPU
timelines, recordings of a run, items and pages over virtual time."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import pytest

from umasim import Sim
from umasim.views import plot
from umasim.model.scenario import loads

matplotlib = pytest.importorskip(
    "matplotlib", reason="matplotlib missing: the notebooks extra is not installed "
    "(pip install -e '.[notebooks]', or '.[test]', which includes it)")
matplotlib.use("Agg")
from matplotlib.figure import Figure  # noqa: E402


def two_cpus() -> Sim:
    """vCPU 0 allocates 3 items and frees one; vCPU 1 fills its buckets
    and puts a bucket on the zone's full list."""
    sim = Sim(cpus=2, pages=64)
    sim.zcreate("z", 256)
    sim.spawn("a", cpu=0, ops=["alloc z -> m{i}"], repeat=3)
    sim.spawn("b", cpu=1, ops=["alloc z -> n{i}"], repeat=80)
    sim.spawn("c", cpu=1, ops=["free n{i}"], repeat=80)
    sim.spawn("d", cpu=0, ops=["free m0"])
    sim.run()
    return sim


def migrated() -> Sim:
    sim = Sim(cpus=2)
    sim.zcreate("z", 256)
    sim.spawn("c", cpu=1, ops=["alloc z -> w"])
    sim.spawn("a", cpu=0, ops=["alloc z -> x"])
    sim.run(steps=["c"] * 28 + ["a", "a", "a@1"])
    return sim


def stale_cache_lost_item() -> Sim:
    """bug_stale_cache.toml's schedule: y's bucket is lost."""
    sim = Sim(cpus=2, bugs=["stale_cache"])
    sim.zcreate("z", 256)
    sim.spawn("a", cpu=0, ops=["alloc z -> x", "free x"])
    sim.spawn("b", cpu=0, ops=["alloc z -> y", "free y"])
    sim.run(steps=["a"] * 42 + ["a@1", "a", "a", "b"])
    return sim


LIMITED = textwrap.dedent("""
    [sim]
    cpus = 2

    [[zone]]
    name = "z"
    size = 256
    max = 15

    [[thread]]
    name = "a"
    cpu = 0
    ops = ["alloc z -> x", "sleep 10", "free x"]

    [[thread]]
    name = "b"
    cpu = 1
    ops = ["alloc z -> y"]
""")

LOW_MEMORY = textwrap.dedent("""
    [sim]
    cpus = 1
    pages = 8
    free_min = 4
    pagedaemon = true

    [[zone]]
    name = "z"
    size = 256

    [[thread]]
    name = "a"
    repeat = 60
    ops = ["alloc z -> x{i}"]

    [[thread]]
    name = "f"
    repeat = 60
    ops = ["free x{i}"]
""")


def legend_labels(ax) -> list[str]:
    leg = ax.get_legend()
    return [t.get_text() for t in leg.get_texts()] if leg is not None else []


def ytick_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


# ---- where the items are -------------------------------------------------------------

def test_item_locations_cover_every_item_once():
    sim = two_cpus()
    z = sim.zone("z")
    locs = plot.item_locations(z)
    g = z.geometry
    assert len(locs) == z.pages // g.ppera * g.ipers
    assert len({loc.addr for loc in locs}) == len(locs)
    st = z.stats
    by = lambda cat: sum(1 for loc in locs if loc.category == cat)  # noqa: E731
    assert by("slab") == st["keg_free"]
    assert by("cpu") == st["cache_items"]
    assert by("bucket") == st["full_items"]
    assert by("held") == st["used"] == 2
    assert by("out") == 0
    held = {loc.var: loc.addr for loc in locs if loc.category == "held"}
    assert sorted(held) == ["m1", "m2"]
    for var, addr in held.items():
        assert sim.variables()[var] == f"holds {addr:#x} from zone z"
    # vCPU 0's free bucket holds m0, freed by d.
    assert [loc.where for loc in locs if loc.cpu == 0 and "free" in loc.where] == \
        ["vCPU 0 free bucket"]


def test_item_locations_find_the_lost_item():
    sim = stale_cache_lost_item()
    out = [loc for loc in plot.item_locations(sim.zone("z")) if loc.category == "out"]
    assert len(out) == 1 and out[0].var is None


def test_item_locations_see_a_cpu_with_only_a_free_bucket():
    sim = migrated()
    sim.spawn("f", cpu=1, ops=["free x"])
    sim.spawn("g", cpu=0, ops=["free w"])
    sim.run()
    z = sim.zone("z")
    locs = plot.item_locations(z)
    assert sum(1 for loc in locs if loc.category == "cpu") == z.stats["cache_items"]


def test_zone_tables():
    text = plot.zone_tables(two_cpus().zone("z"))
    for want in ("zone z: size 256", "vCPU 0", "vCPU 1", "full  0", "part slab #0",
                 "uc_allocs"):
        assert want in text


# ---- the item map ----------------------------------------------------------------------

def test_item_map():
    sim = two_cpus()
    z = sim.zone("z")
    fig = plot.item_map(z)
    assert isinstance(fig, Figure)
    ax_b, ax_s = fig.axes
    assert ytick_labels(ax_b)[:4] == ["vCPU 0 alloc", "vCPU 0 free", "vCPU 1 alloc",
                                      "vCPU 1 free"]
    assert "zone full #0" in ytick_labels(ax_b)
    nslabs = sum(len(v) for v in z.slabs.values())
    assert len(ytick_labels(ax_s)) == nslabs
    labels = legend_labels(ax_s)
    for want in ("held by a variable", "vCPU 0 alloc bucket", "vCPU 0 free bucket",
                 "vCPU 1 alloc bucket", "zone's full-bucket list", "free in its slab"):
        assert want in labels
    # One cell per item in the slab panel.
    cells = sum(len(c.get_paths()) for c in ax_s.collections)
    assert cells == nslabs * z.geometry.ipers
    # Held items are labelled with their variables.
    assert {"m1", "m2"} <= {t.get_text() for t in ax_s.texts}
    assert "zone z" in fig._suptitle.get_text()
    # A Sim and a zone name work too.
    assert len(plot.item_map(sim, "z").axes) == 2
    with pytest.raises(ValueError):
        plot.item_map(sim)


def test_item_map_lost_item_and_secondary_zone():
    fig = plot.item_map(stale_cache_lost_item().zone("z"))
    assert "in use, no variable (attached or lost)" in legend_labels(fig.axes[1])
    sim = Sim(cpus=1)
    sim.zcreate("mbuf", 256)
    sim.zsecond("packet", "mbuf")
    sim.spawn("a", ops=["alloc packet -> p", "alloc mbuf -> m", "free p"])
    sim.run()
    labels = legend_labels(plot.item_map(sim, "mbuf").axes[1])
    assert "cached by another zone on the keg" in labels


def test_item_map_is_deterministic():
    def png() -> bytes:
        buf = io.BytesIO()
        plot.item_map(two_cpus().zone("z")).savefig(buf, format="png",
                                                   metadata={"Software": None})
        return buf.getvalue()
    assert png() == png()


# ---- timelines ---------------------------------------------------------------------------

def test_timeline():
    sim = migrated()
    fig = plot.timeline(sim)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ytick_labels(ax) == ["vCPU 1", "vCPU 0"]
    labels = legend_labels(ax)
    assert labels[:2] == ["c", "a"] and "migration" in labels
    # A bar for each run of steps; every step is drawn.
    widths = sum(w for coll in ax.collections if hasattr(coll, "get_paths")
                 for p in coll.get_paths()
                 for w in [p.get_extents().width] if coll.get_label() != "migration")
    assert widths >= sim.steps - 1
    assert ax.get_xlim() == (0.5, sim.steps + 0.5)
    # A window of steps, with the points written in.
    fig = plot.timeline(sim, first=25, last=35)
    ax = fig.axes[0]
    assert ax.get_xlim() == (24.5, 35.5)
    assert "zalloc_race" in {t.get_text() for t in ax.texts}


def test_timeline_marks_and_panics():
    sim = Sim(cpus=2, bugs=["no_recheck"])
    sim.zcreate("z", 256)
    sim.spawn("c", cpu=1, ops=["alloc z -> w"])
    sim.spawn("a", cpu=0, ops=["alloc z -> x"])
    sim.run(steps=["c"] * 28 + ["a", "a", "a@1"])
    assert sim.outcome == "panic"
    labels = legend_labels(plot.timeline(sim).axes[0])
    assert "panic" in labels and "migration" in labels
    rec = plot.record(loads(LIMITED))
    labels = legend_labels(plot.timeline(rec.sim).axes[0])
    assert {"sleep", "wakeup"} <= set(labels)
    assert "softclock" not in labels          # softclock never ran
    assert labels[:2] == ["a", "b"]


def test_timeline_of_a_trace(tmp_path):
    from umasim.views import trace as tracemod
    from umasim.views.report import run_scenario
    scn = loads(LIMITED)
    rep = run_scenario(scn)
    path = tmp_path / "t.trace"
    tracemod.write(path, rep, "full", 0, scn.build().digest())
    for target in (path, str(path), tracemod.read(path), scn):
        ax = plot.timeline(target).axes[0]
        assert ax.get_xlim() == (0.5, rep.sim.steps + 0.5)
    with pytest.raises(TypeError):
        plot.timeline(42)


# ---- recordings, items and pages over time -------------------------------------------------

def test_record_a_sim_replays_its_run():
    sim = two_cpus()
    straight = Sim(cpus=2, pages=64)
    straight.zcreate("z", 256)
    straight.spawn("a", cpu=0, ops=["alloc z -> x{i}"], repeat=20)
    straight.spawn("b", cpu=1, ops=["free x{i}"], repeat=20)
    twin = straight.fork()
    res = straight.run(policy="random", seed=5, migrate=0.2)
    rec = plot.record(twin, policy="random", seed=5, migrate=0.2)
    assert rec.outcome == res.outcome == "completed"
    assert len(rec) == res.steps + 1
    assert rec.steps == list(range(res.steps + 1))
    assert twin.digest() == straight.digest()
    assert list(rec.zones) == ["z"]
    cols = rec.zones["z"]
    for i in range(len(rec)):
        parts = cols["used"][i] + cols["cache"][i] + cols["bucket"][i] + cols["slab"][i]
        assert parts <= cols["capacity"][i]
    assert cols["used"][-1] == 0 and cols["capacity"][-1] == cols["cache"][-1] + \
        cols["bucket"][-1] + cols["slab"][-1]
    assert rec.ticks == sorted(rec.ticks)
    del sim


def test_record_a_trace_and_a_scenario(tmp_path):
    from umasim.views import trace as tracemod
    from umasim.views.report import run_scenario
    scn = loads(LIMITED)
    rep = run_scenario(scn)
    path = tmp_path / "t.trace"
    tracemod.write(path, rep, "full", 0, scn.build().digest())
    a, b = plot.record(path), plot.record(scn)
    assert a.steps == b.steps and a.zones == b.zones and a.asleep == b.asleep
    assert a.sim.digest() == rep.sim.digest()
    assert max(a.asleep_on("zonelimit")) == 1
    assert a.zones["z"]["limit"][-1] == 15
    with pytest.raises(TypeError):
        plot.record(42)


def test_items_over_time():
    rec = plot.record(loads(LIMITED))
    fig = plot.items_over_time(rec, "z")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = legend_labels(ax)
    for want in ("in use (USED)", "per-CPU buckets", "zone's full buckets",
                 "free in the keg's slabs", "items in the keg's slabs", "limit",
                 'threads asleep in "zonelimit"'):
        assert want in labels
    assert len(fig.axes) == 2                  # the sleepers' axis
    assert ax.get_xlabel() == "virtual time (ticks)"
    assert plot.items_over_time(rec, "z", x="step").axes[0].get_xlabel() == "step"
    with pytest.raises(ValueError):
        plot.items_over_time(rec, "nope")
    with pytest.raises(ValueError):
        plot.items_over_time(rec, "z", x="pages")


def test_pages_over_time():
    rec = plot.record(loads(LOW_MEMORY))
    assert any(rec.bucketdisable)
    fig = plot.pages_over_time(rec)
    ax = fig.axes[0]
    labels = legend_labels(ax)
    for want in ("free pages", "kmem_map pages in use", "v_free_min", "pages of zone z",
                 "bucketdisable"):
        assert want in labels
    assert min(rec.free_pages) < rec.free_min == 4


def test_pages_over_time_vmwait_and_failures():
    scn = loads(textwrap.dedent("""
        [sim]
        cpus = 1
        pages = 2

        [[zone]]
        name = "z"
        size = 4096

        [[thread]]
        name = "a"
        repeat = 4
        ops = ["alloc z nowait -> n{i}"]

        [[thread]]
        name = "w"
        ops = ["alloc z -> x"]

        [[thread]]
        name = "admin"
        ops = ["sleep 50", "vm_free_pages 4"]
    """))
    rec = plot.record(scn)
    assert rec.outcome == "completed"
    assert max(rec.asleep_on("vmwait")) == 1
    assert rec.zones["z"]["fails"][-1] >= 1
    fig = plot.pages_over_time(rec, x="step")
    labels = legend_labels(fig.axes[0])
    assert "no free page" in labels and 'threads asleep in "vmwait"' in labels


def test_draw_into_an_existing_axes():
    rec = plot.record(loads(LIMITED))
    fig = Figure()
    ax1, ax2, ax3 = fig.subplots(3, 1)
    assert plot.items_over_time(rec, "z", ax=ax1) is fig
    assert plot.pages_over_time(rec, ax=ax2) is fig
    assert plot.timeline(rec.sim, ax=ax3) is fig


# ---- matplotlib stays optional ------------------------------------------------------------------

def test_import_does_not_need_matplotlib():
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "import umasim.views.plot as p\n"
            "from umasim import Sim\n"
            "sim = Sim(); sim.zcreate('z', 256); sim.spawn('a', ops=['alloc z -> x']); sim.run()\n"
            "print(len(p.item_locations(sim.zone('z'))), p.zone_tables(sim.zone('z'))[:6])\n"
            "rec = p.record(sim)\n"
            "try:\n"
            "    p.item_map(sim, 'z')\n"
            "except ImportError as e:\n"
            "    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.startswith("30 zone z")          # the first bucket fill takes two slabs
    assert "umasim[notebooks]" in out and "matplotlib" in out
