"""Campaigns (umasim.campaign): units that depend only on the command,
merged in unit order, so that the same campaign finds the same failures,
byte for byte, in one process, on two local workers or on a cluster;
--resume, bad input, a worker killed mid-unit, a lost scheduler, the
fingerprint check and the example database.

The tests that need Dask distributed share one LocalCluster of two worker
processes (module scope) and are skipped, saying why, without it; under a
sanitizer build they are skipped too (workers must not run under a
preloaded libasan: scripts/check-c-core checks the core in one process).
"""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import pytest

from umasim.bindings import SANITIZE, on_valgrind
from umasim.campaign import (explore_campaign, explore_plan, fingerprint, fuzz_campaign,
                             fuzz_plan, run_unit)
from umasim.campaign.cluster import run_plan
from umasim.campaign.plan import (TAPER_MIN, corpus_entries, merge_corpora, merge_explore,
                                  merge_fuzz, unit_bounds)
from umasim.campaign.resume import CampaignDir
from umasim.cli import main
from umasim.errors import BuildMismatch, CampaignError, InvalidArgument
from umasim.model.scenario import load
from umasim.search.explore import explore

ROOT = Path(__file__).resolve().parents[2]
HUNT = ROOT / "scenarios" / "hunt_no_recheck.toml"

try:
    if SANITIZE or on_valgrind():
        raise ImportError   # nothing of Dask under a sanitizer preload
    import distributed
except ImportError:
    distributed = None

needs_dask = pytest.mark.skipif(distributed is None, reason="Dask distributed is not "
                                "installed (pip install 'umasim[cluster]')")
no_sanitizer = pytest.mark.skipif(SANITIZE or on_valgrind(), reason="Dask workers do not run "
                                  "under a sanitizer preload; check-c-core checks the core "
                                  "in one process")


def tree(d: Path) -> dict[str, bytes]:
    """Every file under d, by relative path: what a campaign left."""
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


# ---- in this process -----------------------------------------------------------

@pytest.mark.parametrize("explorer", ["random", "pct"])
def test_in_process_units_equal_one_exploration(tmp_path, explorer):
    """random and pct seed run i with seed + i: split into units, they are
    the same runs, the same classes and the same coverage."""
    scn = load(HUNT)
    cr = explore_campaign(scn, explorer, 2500, unit_size=600, out=tmp_path)
    one = explore(scn, explorer, 2500)
    got = cr.result
    assert cr.units_done == 5 and got.runs == one.runs == 2500
    assert got.failures == one.failures
    assert [(c.outcome, c.message, c.count, c.first_run, c.decisions) for c in got.classes] == \
        [(c.outcome, c.message, c.count, c.first_run, c.decisions) for c in one.classes]
    assert got.points_covered == one.points_covered
    assert got.coverage.windows == one.coverage.windows
    assert got.coverage.state_pairs == one.coverage.state_pairs


def test_plans_depend_on_the_command_only(tmp_path):
    scn = load(HUNT)
    a = explore_plan(scn, "guided", 5000, seed=3, unit_size=1000)
    copy = tmp_path / "elsewhere.toml"
    copy.write_bytes(HUNT.read_bytes())
    assert explore_plan(load(copy), "guided", 5000, seed=3, unit_size=1000).id == a.id
    b = explore_plan(scn, "guided", 5000, seed=3, unit_size=1000)
    assert a.id == b.id and a.nunits == 5
    assert [u.params for u in a.units()] == [u.params for u in b.units()]
    assert [u.round for u in a.units()] == [0, 0, 0, 0, 1]
    assert explore_plan(scn, "guided", 5000, seed=4, unit_size=1000).id != a.id
    assert explore_plan(scn, "guided", 5000, seed=3, unit_size=500).id != a.id
    f = fuzz_plan(100, 7, unit_size=30)
    assert [u.budget for u in f.units()] == [30, 30, 30, 10]
    assert len({u.params["seed"] for u in f.units()}) == 4


def test_a_long_budget_ends_on_shorter_and_shorter_units():
    """unit_bounds: units of the unit size, and for a budget of at least
    TAPER_MIN units the last two units' worth cut in halves (the workers
    then wait at the end for a short unit, not a whole one); contiguous,
    covering the budget, whatever runs them."""
    for budget, size in ((400_000, 10_000), (1500, 25), (159, 10), (151, 10), (17, 1),
                         (2500, 600), (1000, 10_000)):
        b = unit_bounds(budget, size)
        assert b[0][0] == 0 and sum(n for _, n in b) == budget
        assert all(s + n == t for (s, n), (t, _) in zip(b, b[1:]))
        assert all(0 < n <= size for _, n in b)
    assert [n for _, n in unit_bounds(400_000, 10_000)[-6:]] == \
        [10_000, 10_000, 5000, 2500, 1250, 1250]
    assert [n for _, n in unit_bounds(1500, 25)[-6:]] == [25, 25, 13, 6, 3, 3]
    assert [n for _, n in unit_bounds(151, 10)[-6:]] == [10, 10, 6, 3, 1, 1]
    # Below TAPER_MIN units: units of the unit size, the last the rest.
    assert unit_bounds(10 * (TAPER_MIN - 2) + 3, 10)[-2:] == [(10 * (TAPER_MIN - 3), 10),
                                                             (10 * (TAPER_MIN - 2), 3)]
    # The plans: their units are these, and a tapered campaign is another
    # campaign (another id) than an untapered one could have been.
    scn = load(HUNT)
    p = explore_plan(scn, "random", 160_000, seed=1, unit_size=10_000)
    assert [(u.params["start"], u.params["runs"]) for u in p.units()] == \
        unit_bounds(160_000, 10_000)
    assert [u.params["seed"] for u in p.units()][-2:] == [1 + 157_500, 1 + 158_750]
    assert p.params["taper"] == 5 and p.nunits == 19
    assert "taper" not in explore_plan(scn, "random", 150_000, seed=1, unit_size=10_000).params
    f = fuzz_plan(400, 7, unit_size=25)
    assert [u.budget for u in f.units()][-4:] == [13, 6, 3, 3] and f.params["taper"] == 5


def test_tapered_units_are_the_runs_of_one_exploration(tmp_path):
    """Random's runs are seeded seed + run: cut into tapered units, they
    are still the runs of one exploration."""
    scn = load(HUNT)
    cr = explore_campaign(scn, "random", 1600, unit_size=100, out=tmp_path)
    one = explore(scn, "random", 1600)
    assert cr.units_done == 19 and cr.result.runs == 1600
    assert 0 < cr.units_seconds <= cr.seconds and 0 < cr.units_cpu_seconds
    assert [(c.outcome, c.message, c.count, c.first_run, c.decisions)
            for c in cr.result.classes] == \
        [(c.outcome, c.message, c.count, c.first_run, c.decisions) for c in one.classes]
    assert cr.result.coverage.state_pairs == one.coverage.state_pairs


def test_merges_do_not_depend_on_the_order_results_arrive_in():
    """The merges read results in unit order: any order of arrival gives
    the same classes, counts, first runs, coverage and growth (explore),
    the same failures, first units and database entries (fuzz)."""
    import random
    scn = load(HUNT)
    plan = explore_plan(scn, "random", 3000, seed=2, unit_size=250)
    results = [run_unit(u) for u in plan.units()]
    want = merge_explore(results)
    rnd = random.Random(5)
    for _ in range(3):
        shuffled = [dict(r, classes=[dict(c) for c in r["classes"]]) for r in results]
        rnd.shuffle(shuffled)
        assert merge_explore(shuffled) == want
    sig = {"kind": "p", "message": "m", "point": "x"}
    fz = [{"index": i, "examples": 5, "db": [[f"{i:02x}", "00"]],
           "failure": None if i % 3 else {"signature": dict(sig, message=f"m{i % 2}"),
                                          "first": i}}
          for i in range(7)]
    want = merge_fuzz(fz)
    assert [f["first"] for f in want.failures] == [0, 3] and want.counts == [2, 1]
    for _ in range(3):
        rnd.shuffle(fz)
        assert merge_fuzz(fz) == want


def test_guided_shards_start_from_the_shards_four_behind(tmp_path):
    """Shard k starts from shards k-7..k-4 merged (none for the first
    four): the campaign's results are those of each shard run
    from its inputs' corpora, and a shard's input changes what it does.
    A finished campaign keeps no corpus."""
    scn = load(HUNT)
    plan = explore_plan(scn, "guided", 4500, seed=1, unit_size=500)
    assert plan.nunits == 9
    assert [list(plan.inputs(k)) for k in (0, 3, 4, 5, 7, 8)] == \
        [[], [], [0], [0, 1], [0, 1, 2, 3], [1, 2, 3, 4]]
    assert [list(plan.dependents(k)) for k in (0, 4, 5)] == [[4, 5, 6, 7], [8], []]
    results = run_plan(plan, CampaignDir(tmp_path, plan))
    by_hand: dict = {}
    for k in range(plan.nunits):
        start = merge_corpora([by_hand[j] for j in plan.inputs(k)], 0)
        assert bool(start) == (k >= 4)
        by_hand[k] = run_unit(plan.unit(k), start)
        assert by_hand[k]["corpus"]
    strip = {k: {x: v for x, v in r.items() if x not in ("corpus", "corpus_digests")}
             for k, r in by_hand.items()}
    assert results == strip
    alone = run_unit(plan.unit(8))
    assert alone["corpus"] != by_hand[8]["corpus"]
    assert not list((tmp_path / "units").glob("*.corpus"))


def test_a_shard_is_handed_only_the_inputs_its_merge_reads(tmp_path):
    """Once the latest inputs' distinct schedules (counted by the digests
    a shard's result carries) fill the corpus, the earlier inputs are not
    handed to the shard: their merge is the same bytes.  Without digests
    (a result read back by --resume) every input is."""
    from umasim.campaign.cluster import _Runner
    from umasim.campaign.units import corpus_digests
    scn = load(HUNT)
    plan = explore_plan(scn, "guided", 6000, seed=2, unit_size=500, corpus=12)
    results: dict = {}
    runner = _Runner(plan, CampaignDir(tmp_path, plan), None, None, results, None, None, {})
    fewer = 0
    for k in range(plan.nunits):
        ins = list(plan.inputs(k))
        reads = runner.reads(k)
        assert reads == ins[len(ins) - len(reads):]
        assert merge_corpora([results[j] for j in reads], 12) == \
            merge_corpora([results[j] for j in ins], 12)
        fewer += len(reads) < len(ins)
        results[k] = run_unit(plan.unit(k), merge_corpora([results[j] for j in ins], 12))
        assert len(results[k]["corpus_digests"]) == 8 * len(list(corpus_entries(
            results[k]["corpus"])))
    assert fewer >= 4
    assert runner.reads(plan.nunits - 1) == [plan.nunits - 5]
    results[plan.nunits - 5].pop("corpus_digests")
    assert runner.reads(plan.nunits - 1) == list(plan.inputs(plan.nunits - 1))
    assert corpus_digests(b"") == b""


def test_merged_corpora_keep_each_schedule_once_latest_unit_first():
    """merge_corpora: entries (a length n, n decisions, n step words), the
    latest unit's first whatever the results' order, a schedule met again
    left out, at most corpus_max entries."""
    def entry(decisions, steps):
        return b"".join(w.to_bytes(4, "little") for w in [len(decisions), *decisions, *steps])
    a, b, c, d = entry([1, 2], [7, 7]), entry([3], [9]), entry([1, 2], [8, 8]), entry([4], [1])
    r0 = {"index": 0, "corpus": c + d}
    r1 = {"index": 1, "corpus": a + b}
    assert merge_corpora([r0, r1], 0) == merge_corpora([r1, r0], 0) == a + b + d
    assert merge_corpora([r0, r1], 2) == a + b
    assert merge_corpora([r0], 0) == c + d
    assert list(corpus_entries(a + b)) == [(a[4:12], a), (b[4:8], b)]


def test_resume_runs_only_the_missing_units(tmp_path, monkeypatch):
    scn = load(HUNT)
    first = explore_campaign(scn, "random", 3000, unit_size=1000, out=tmp_path)
    before = tree(tmp_path)
    (tmp_path / "units" / "000001.json").unlink()
    ran = []
    import umasim.campaign.cluster as cluster
    real = cluster.run_unit
    monkeypatch.setattr(cluster, "run_unit", lambda u, c=(): ran.append(u.index) or real(u, c))
    again = explore_campaign(scn, "random", 3000, unit_size=1000, resume=tmp_path)
    assert ran == [1]
    assert tree(tmp_path) == before
    assert again.result.failures == first.result.failures


def test_a_guided_campaign_resumes_from_the_corpora_it_kept(tmp_path, monkeypatch):
    """Interrupted after six shards (and one of them lost), a guided
    campaign keeps the corpora its remaining shards start from: --resume
    runs only the missing shards and leaves the bytes of an uninterrupted
    campaign."""
    scn = load(HUNT)
    plan = explore_plan(scn, "guided", 10000, seed=4, unit_size=1000)
    whole = tmp_path / "whole"
    run_plan(plan, CampaignDir(whole, plan))

    class StopAfterSix:
        n = 0

        def add(self, result):
            self.n += 1
            if self.n == 6:
                raise KeyboardInterrupt
    cut = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        run_plan(plan, CampaignDir(cut, plan), progress=StopAfterSix())
    kept = sorted(p.name for p in (cut / "units").glob("*.corpus"))
    assert kept == [f"{i:06d}.corpus" for i in range(6)]
    (cut / "units" / "000003.json").unlink()
    (cut / "units" / "000003.corpus").unlink()
    ran = []
    import umasim.campaign.cluster as cluster
    real = cluster.run_unit
    monkeypatch.setattr(cluster, "run_unit", lambda u, c=b"": ran.append(u.index) or real(u, c))
    run_plan(plan, CampaignDir(cut, plan, resume=True))
    assert ran == [3, 6, 7, 8, 9]
    assert tree(cut) == tree(whole)
    assert not list((whole / "units").glob("*.corpus"))


def test_a_fuzz_campaign_resumes_with_the_seed_it_drew(tmp_path, capsys):
    assert main(["fuzz", "--examples", "10", "--unit-size", "5", "--fast", "--no-db",
                 "--out", str(tmp_path), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    (tmp_path / "units" / "000000.json").unlink()
    assert main(["fuzz", "--examples", "10", "--unit-size", "5", "--fast", "--no-db",
                 "--resume", str(tmp_path), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["seed"] == first["seed"] and again["units"] == 2


def test_resume_refuses_another_campaign(tmp_path, capsys):
    assert main(["explore", str(HUNT), "--runs", "200", "--unit-size", "100",
                 "--out", str(tmp_path), "--json"]) == 1
    capsys.readouterr()
    code = main(["explore", str(HUNT), "--runs", "300", "--unit-size", "100",
                 "--resume", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "holds another campaign" in err and "runs" in err
    code = main(["fuzz", "--examples", "5", "--seed", "1", "--resume", str(tmp_path)])
    assert code == 2 and "holds another campaign" in capsys.readouterr().err
    code = main(["explore", str(HUNT), "--resume", str(tmp_path / "nothing")])
    assert code == 2 and "not a campaign's directory" in capsys.readouterr().err


@pytest.mark.parametrize("argv,msg", [
    (["--unit-size", "0"], "--unit-size must be a positive integer"),
    (["--jobs", "-1"], "--jobs must be 0"),
    (["--cluster", "nowhere"], "not a scheduler address"),
    (["--cluster", "tcp://127.0.0.1:99999"], "not a scheduler address"),
    (["--explorer", "bounded", "--jobs", "2"], "does not split"),
    (["--states", "--unit-size", "10"], "--states"),
])
def test_bad_campaign_arguments_exit_2(capsys, argv, msg):
    code = main(["explore", str(HUNT), "--runs", "50", *argv])
    err = capsys.readouterr().err
    assert code == 2 and msg in err, err


def test_json_keeps_explores_keys_and_adds_units_and_signatures(capsys, tmp_path):
    code = main(["explore", str(HUNT), "--runs", "400", "--unit-size", "100", "--json",
                 "--out", str(tmp_path)])
    res = json.loads(capsys.readouterr().out)
    plain = explore(load(HUNT), "random", 400).to_json()
    assert code == 1 and res["units"] == 4 and res["out"] == str(tmp_path)
    assert res["runs"] == plain["runs"] and res["failures"] == plain["failures"]
    for got, want in zip(res["classes"], plain["classes"], strict=True):
        for k in ("outcome", "message", "count", "first_run", "steps"):
            assert got[k] == want[k]
        assert (got["signature"] is not None) == got["failed"]
        assert (got["trace"] is not None) == got["failed"]
    sig = next(c["signature"] for c in res["classes"] if c["failed"])
    assert sig == {"kind": "panic", "message": "uma_zalloc_arg: Freeing a non free bucket.",
                   "point": sig["point"]} and sig["point"]


def test_a_time_budgeted_fuzz_campaign_says_so(capsys, tmp_path):
    code = main(["fuzz", "--max-time", "0.5", "--unit-size", "5", "--seed", "1", "--fast",
                 "--no-db", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "time-budgeted (--max-time)" in out and "not reproducible" in out
    assert json.loads((tmp_path / "findings.json").read_text())["time_budgeted"] is True


@needs_dask
@no_sanitizer
def test_an_unreachable_scheduler_exits_2(capsys, monkeypatch):
    import umasim.campaign.cluster as cluster
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    code = main(["fuzz", "--examples", "5", "--seed", "1", "--cluster", "tcp://127.0.0.1:1"])
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach a Dask scheduler at tcp://127.0.0.1:1" in err


def test_a_unit_of_another_build_is_refused():
    plan = fuzz_plan(10, 1)
    u = plan.unit(0)
    other = type(u)(u.command, u.index, u.campaign, "0.0.0+0123456789abcdef", u.params)
    with pytest.raises(BuildMismatch) as e:
        run_unit(other)
    assert "0.0.0+0123456789abcdef" in str(e.value) and fingerprint() in str(e.value)


def test_an_exception_in_a_unit_is_a_finding(monkeypatch):
    import umasim.campaign.units as units

    def boom(unit, corpus):
        raise RuntimeError("the port fell over")
    monkeypatch.setattr(units, "_explore_unit", boom)
    res = run_unit(explore_plan(load(HUNT), "random", 10).unit(0))
    (cls,) = res["classes"]
    assert cls["failed"] and cls["signature"]["kind"] == "error"
    assert "the port fell over" in cls["message"]


def test_fuzz_failures_go_to_the_example_database(tmp_path, capsys):
    """What a campaign's units find is saved into the client's database:
    a later local `umasim fuzz` with it fails at once."""
    db = tmp_path / "db"
    out = tmp_path / "out"
    assert main(["fuzz", "--bug", "full_bypass", "--examples", "200", "--seed", "1",
                 "--unit-size", "50", "--db", str(db), "--out", str(out), "--json"]) == 1
    res = json.loads(capsys.readouterr().out)
    assert res["units"] == 4 and res["failed"] and res["classes"][0]["signature"]["kind"]
    assert any(db.rglob("*"))
    assert main(["fuzz", "--bug", "full_bypass", "--examples", "1", "--seed", "99",
                 "--db", str(db), "--out", str(tmp_path / "o2"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["failed"]
    assert main(["fuzz", "--bug", "full_bypass", "--examples", "1", "--seed", "99",
                 "--no-db", "--out", str(tmp_path / "o3"), "--json"]) == 0


# ---- on Dask workers -------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster of two worker processes; none is left behind."""
    if distributed is None or SANITIZE or on_valgrind():
        pytest.skip("needs Dask distributed, without a sanitizer preload")
    import logging
    import psutil
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=logging.CRITICAL)
    client = distributed.Client(lc, set_as_default=False)
    try:
        yield lc, client
    finally:
        client.close()
        lc.close()
        # Worker processes end (multiprocessing's resource tracker, which
        # lives as long as this process, is not one of them).
        new = [p for p in me.children(recursive=True) if p.pid not in before
               and "resource_tracker" not in " ".join(_cmdline(p))]
        _, alive = psutil.wait_procs(new, timeout=20)
        left = [p for p in alive if _running(p)]
        for p in left:
            p.kill()
        assert not left, f"processes left behind: {left}"


def _cmdline(p) -> list[str]:
    try:
        return p.cmdline()
    except Exception:  # noqa: BLE001 -- gone, or a zombie
        return []


def _running(p) -> bool:
    import psutil
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@needs_dask
@no_sanitizer
@pytest.mark.parametrize("explorer", ["random", "guided"])
def test_explore_same_bytes_on_workers(tmp_path, cluster, explorer):
    lc, _ = cluster
    scn = load(HUNT)
    explore_campaign(scn, explorer, 6000, seed=5, unit_size=1000, out=tmp_path / "one")
    explore_campaign(scn, explorer, 6000, seed=5, unit_size=1000, out=tmp_path / "two",
                     cluster=lc.scheduler_address)
    one, two = tree(tmp_path / "one"), tree(tmp_path / "two")
    assert one == two
    assert any(k.endswith(".trace") for k in one)
    findings = json.loads(one["findings.json"])
    assert findings["units"] == 6
    assert all(c["signature"]["point"] for c in findings["classes"] if c["failed"])


@needs_dask
@no_sanitizer
def test_fuzz_same_bytes_on_workers_and_with_jobs(tmp_path, cluster, capsys):
    lc, _ = cluster
    args = ["fuzz", "--bug", "full_bypass", "--examples", "75", "--seed", "2",
            "--unit-size", "25", "--no-db", "--json"]
    assert main(args + ["--out", str(tmp_path / "one")]) == 1
    a = json.loads(capsys.readouterr().out)
    assert main(args + ["--out", str(tmp_path / "two"), "--cluster", lc.scheduler_address]) == 1
    b = json.loads(capsys.readouterr().out)
    assert main(args + ["--out", str(tmp_path / "three"), "--jobs", "2"]) == 1
    c = json.loads(capsys.readouterr().out)
    assert tree(tmp_path / "one") == tree(tmp_path / "two") == tree(tmp_path / "three")
    assert a["units"] == b["units"] == c["units"] == 3
    assert [x["signature"] for x in a["classes"]] == [x["signature"] for x in c["classes"]]


def _worker_upkeep(dask_worker):
    pcs = dask_worker.periodic_callbacks
    return (pcs["tick"].callback_time, pcs["monitor"].callback_time,
            dask_worker.memory_manager.memory_monitor_interval,
            bool(dask_worker.profile_recent) and "profile" in pcs)


@needs_dask
@no_sanitizer
def test_jobs_cluster_slows_down_dasks_upkeep():
    """--jobs' LocalCluster (cluster.local_cluster): its scheduler, its
    nannies and its workers check their event loops every second (not
    every 20 ms) and read psutil every 5 s (not 0.5 s), memory is checked
    every second (not 0.1 s), and the workers run no profiler."""
    from umasim.campaign.cluster import local_cluster
    lc = local_cluster(1)
    try:
        with distributed.Client(lc, set_as_default=False) as client:
            sched = lc.scheduler
            assert sched.periodic_callbacks["tick"].callback_time == 1000
            assert sched.periodic_callbacks["monitor"].callback_time == 5000
            nanny = next(iter(lc.workers.values()))
            assert nanny.periodic_callbacks["tick"].callback_time == 1000
            assert nanny.memory_manager.memory_monitor_interval == 1.0
            (got,) = client.run(_worker_upkeep).values()
            assert got == (1000, 5000, 1.0, False)
    finally:
        lc.close()


@needs_dask
@no_sanitizer
def test_a_guided_campaign_resumes_on_workers(tmp_path, cluster):
    """Resumed on workers, the shards whose inputs were read back from the
    campaign's directory get those corpora from the client: the same
    bytes as the campaign run whole in one process."""
    lc, _ = cluster
    plan = explore_plan(load(HUNT), "guided", 10000, seed=4, unit_size=1000)
    whole = tmp_path / "whole"
    run_plan(plan, CampaignDir(whole, plan))

    class StopAfterSix:
        n = 0

        def add(self, result):
            self.n += 1
            if self.n == 6:
                raise KeyboardInterrupt
    cut = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        run_plan(plan, CampaignDir(cut, plan), progress=StopAfterSix())
    with distributed.Client(lc.scheduler_address, set_as_default=False) as c2:
        run_plan(plan, CampaignDir(cut, plan, resume=True), c2)
    assert tree(cut) == tree(whole)


@needs_dask
@no_sanitizer
def test_a_worker_of_another_build_is_refused(cluster, monkeypatch):
    import umasim.campaign.cluster as cl
    _, client = cluster
    monkeypatch.setattr(cl, "fingerprint", lambda: "0.0.0+feedfacefeedface")
    with pytest.raises(BuildMismatch) as e:
        cl.check_workers(client)
    msg = str(e.value)
    assert "0.0.0+feedfacefeedface" in msg and fingerprint() in msg and "tcp://" in msg


@needs_dask
@no_sanitizer
def test_a_worker_killed_mid_unit_loses_nothing(tmp_path, cluster):
    """A worker killed while it runs a unit: the scheduler runs the unit
    again elsewhere; the findings are those of one process."""
    lc, client = cluster
    plan = fuzz_plan(150, 3, "full_bypass", unit_size=25)
    killed = []

    class KillOnce:
        def add(self, result):
            if killed:
                return
            busy = {w: ks for w, ks in client.processing().items() if ks}
            if not busy:
                return
            victim = sorted(busy)[0]
            pid = client.run(os.getpid, workers=[victim])[victim]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    with distributed.Client(lc.scheduler_address, set_as_default=False) as c2:
        got = run_plan(plan, CampaignDir(tmp_path / "two", plan), c2, KillOnce(),
                       address=lc.scheduler_address)
    assert killed
    want = run_plan(plan, CampaignDir(tmp_path / "one", plan))
    assert got == want
    client.wait_for_workers(2, timeout=60)


@needs_dask
@no_sanitizer
def test_a_worker_killed_mid_guided_campaign_loses_nothing(tmp_path, cluster):
    """Guided shards start from earlier shards' results, which stay on the
    workers: a worker killed with some of them (and a shard running) is
    replaced, what it held is computed again, and the findings are those
    of one process."""
    lc, client = cluster
    plan = explore_plan(load(HUNT), "guided", 12000, seed=2, unit_size=1000)
    killed = []

    class KillAtFive:
        n = 0

        def add(self, result):
            self.n += 1
            if self.n != 5:
                return
            busy = {w: ks for w, ks in client.processing().items() if ks}
            victim = sorted(busy or client.scheduler_info()["workers"])[0]
            pid = client.run(os.getpid, workers=[victim])[victim]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    with distributed.Client(lc.scheduler_address, set_as_default=False) as c2:
        got = run_plan(plan, CampaignDir(tmp_path / "two", plan), c2, KillAtFive(),
                       address=lc.scheduler_address)
    assert killed
    want = run_plan(plan, CampaignDir(tmp_path / "one", plan))
    assert got == want
    assert tree(tmp_path / "one") == tree(tmp_path / "two")
    client.wait_for_workers(2, timeout=60)


@needs_dask
@no_sanitizer
def test_a_lost_scheduler_names_what_completed(tmp_path):
    """The scheduler goes away mid-campaign: CampaignError names the units
    completed and how to resume; --resume then finishes the campaign."""
    import logging
    lc = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=logging.CRITICAL)
    plan = fuzz_plan(200, 4, unit_size=25)
    out = tmp_path / "c"

    class CloseAfterTwo:
        n = 0

        def add(self, result):
            self.n += 1
            if self.n == 2:
                threading.Thread(target=lc.close).start()
    try:
        with distributed.Client(lc.scheduler_address, set_as_default=False,
                                timeout=5) as client:
            with pytest.raises(CampaignError) as e:
                run_plan(plan, CampaignDir(out, plan), client, CloseAfterTwo(),
                         address=lc.scheduler_address)
    finally:
        lc.close()
    msg = str(e.value)
    assert "lost the Dask scheduler" in msg and f"--resume {out}" in msg
    assert "of 8 units completed" in msg
    done = len(list((out / "units").glob("*.json")))
    assert done >= 2 and f"{done} of 8" in msg
    res = run_plan(plan, CampaignDir(out, plan, resume=True))
    assert sorted(res) == list(range(8))
