"""Race-window and state coverage (docs/design.md, "Race windows" and
"Coverage"): computed in C per run, exposed by Sim.coverage(), the
explorers and `umasim run/explore --json`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import umasim
from umasim import Sim
from umasim.bindings import WINDOW_POINTS, WINDOWS, POINTS
from umasim.search.explore import explore, format_result

ROOT = Path(__file__).resolve().parents[2]
SLOW_PATH = ROOT / "scenarios" / "migration_alloc_slow_path.toml"


def window(cov, name):
    (w,) = [w for w in cov.windows if w.name == name]
    return w


def test_the_window_table_comes_from_c_and_names_existing_points():
    assert len(WINDOWS) == len(set(WINDOWS)) >= 19
    assert set(WINDOW_POINTS) <= set(POINTS)
    assert WINDOWS[:3] == ("zalloc_race", "zfree_race", "zfree_full")
    assert WINDOW_POINTS[WINDOWS.index("zfree_full")] == "zfree_full_check"


def test_a_migration_inside_zalloc_race_with_another_thread_between_is_interleaved():
    """a stops in the allocation slow path's window (critical section left,
    zone lock not yet taken); c runs its whole allocation on the same zone;
    a is migrated to vCPU 1 and goes on."""
    scn = umasim.load(SLOW_PATH)
    run = umasim.execute(scn, umasim.Schedule(steps=["a", "a"] + ["c"] * 28 + ["a@1"]))
    assert run.result.outcome == "completed"
    w = window(run.sim.coverage(), "zalloc_race")
    assert (w.entered, w.interleaved, w.migrated) == (True, True, True)


def test_the_sequential_run_enters_the_window_without_interleaving():
    scn = umasim.load(SLOW_PATH)
    run = umasim.execute(scn, umasim.Schedule(policy="sequential"))
    cov = run.sim.coverage()
    w = window(cov, "zalloc_race")
    assert (w.entered, w.interleaved, w.migrated) == (True, False, False)
    assert cov.windows_interleaved == 0
    assert "zfree_race" in cov.never_reached and "zalloc_race" not in cov.never_reached
    assert 0 < cov.state_pairs < cov.state_pairs_total


def test_coverage_is_deterministic_and_follows_snapshots_and_reset():
    scn = umasim.load(SLOW_PATH)
    sched = umasim.Schedule(policy="random", seed=5, migrate=0.3)
    a = umasim.execute(scn, sched).sim.coverage()
    b = umasim.execute(scn, sched).sim.coverage()
    assert a == b
    sim = scn.build()
    empty = sim.coverage()
    assert not any(w.entered for w in empty.windows) and empty.state_pairs == 0
    snap = sim.snapshot()
    digest = sim.digest()
    sim.run(policy="random", seed=5, migrate=0.3)
    assert sim.coverage() == a
    sim.restore(snap)
    assert sim.coverage() == empty and sim.digest() == digest
    sim.run(policy="random", seed=5, migrate=0.3)
    assert sim.coverage() == a
    sim.reset()
    assert sim.coverage() == empty


def test_coverage_is_not_part_of_the_digest():
    """Two schedules that end in the same state have the same digest, even
    when only one of them interleaved a window."""
    scn = umasim.load(SLOW_PATH)
    seq = umasim.execute(scn, umasim.Schedule(steps=["c"] * 28 + ["a", "a", "a"]))
    mixed = umasim.execute(scn, umasim.Schedule(steps=["a", "a"] + ["c"] * 28 + ["a"]))
    assert window(mixed.sim.coverage(), "zalloc_race").interleaved
    assert not window(seq.sim.coverage(), "zalloc_race").interleaved
    assert mixed.sim.digest() == seq.sim.digest()


def test_a_stop_after_the_unlocked_full_read_lets_one_vcpu_act_on_a_stale_value():
    """One vCPU.  The keg is FULL (one slab, a NOWAIT allocation found no
    room) and its limit is then raised.  a frees x0: it reads FULL set and
    stops at zfree_full_check, before acting on it.  b frees x1: it too
    reads FULL and goes to uma_zfree_internal, which clears FULL (pages are
    below the new limit).  a goes on with its stale FULL and bypasses the
    per-CPU cache, which a fresh read would have used."""
    sim = Sim(cpus=1, trace="full")
    z = sim.zcreate("z", 256, max=15)
    sim.spawn("p", ops=[f"alloc z -> x{i}" for i in range(15)]
              + ["alloc z nowait -> y", "setmax z 30"])
    sim.spawn("a", ops=["free x0"])
    sim.spawn("b", ops=["free x1"])
    while sim.thread("p").state != "finished":
        sim.step("p")
    assert z.stats["fails"] == 1 and z.full
    n0 = len(sim.events)
    while sim.step("a") != "zfree_full_check":
        pass
    read = [e for e in sim.events[n0:] if e.kind == "full_check"]
    assert [e.b for e in read] == [1]                 # a read FULL set
    while sim.thread("b").state != "finished":
        sim.step("b")
    assert not z.full                                 # b's free cleared it
    while sim.thread("a").state != "finished":
        sim.step("a")
    # a's item went back to its slab, not to the cache: the stale read
    assert z.items("cache") == [] and z.keg_free == 2
    w = window(sim.coverage(), "zfree_full")
    assert (w.entered, w.interleaved, w.migrated) == (True, True, False)


def test_explorers_accumulate_coverage_over_their_runs():
    scn = umasim.load(SLOW_PATH)
    res = explore(scn, "random", runs=200, seed=1, migrate=0.3)
    cov = res.coverage
    w = window(cov, "zalloc_race")
    assert w.entered and w.interleaved and w.migrated
    one = umasim.execute(scn, umasim.Schedule(policy="random", seed=1, migrate=0.3))
    assert one.sim.coverage().state_pairs <= cov.state_pairs
    text = format_result(res)
    assert f"race windows interleaved: {cov.windows_interleaved} of {len(WINDOWS)}" in text
    assert "race windows never reached: " in text
    assert explore(scn, "random", runs=200, seed=1, migrate=0.3).coverage == cov


def _cli(*args) -> dict:
    out = subprocess.run([sys.executable, "-m", "umasim", *args], capture_output=True,
                         text=True, cwd=ROOT, timeout=300)
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)


def test_explore_and_run_json_carry_the_coverage_object(tmp_path):
    keys = {"windows", "windows_interleaved", "windows_total", "state_pairs",
            "state_pairs_total", "never_reached"}
    d = _cli("explore", str(SLOW_PATH), "--runs", "50", "--json", "--out", str(tmp_path))
    cov = d["coverage"]
    assert set(cov) == keys
    assert cov["windows_total"] == len(cov["windows"]) == len(WINDOWS)
    assert set(cov["windows"][0]) == {"name", "entered", "interleaved", "migrated"}
    assert cov["never_reached"] == [w["name"] for w in cov["windows"] if not w["entered"]]
    assert cov["windows_interleaved"] == sum(w["interleaved"] for w in cov["windows"])
    d = _cli("run", str(SLOW_PATH), "--json")
    assert set(d["coverage"]) == keys


def test_fine_windows_exist_only_with_fine_granularity():
    ops = ["alloc z -> x", "free x", "alloc z -> y", "free y", "sysctl", "show_uma",
           "print_stats"]
    for gran, entered in (("coarse", False), ("fine", True)):
        sim = Sim(cpus=2, granularity=gran)
        sim.zcreate("z", 256)
        sim.spawn("a", cpu=0, ops=ops)
        sim.spawn("b", cpu=1, ops=["alloc z -> w", "free w"] * 3)
        sim.run(policy="roundrobin")
        cov = sim.coverage()
        for name in ("fine:zalloc_cnt", "fine:zfree_cnt", "fine:zone_stats",
                     "fine:print_zone", "fine:zone_sumstat"):
            assert window(cov, name).entered is entered, (gran, name)
