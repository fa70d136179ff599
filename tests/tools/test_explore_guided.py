"""The guided explorer (csrc/kern/explorer/guided.c): a corpus of
machine-form schedules, mutated, kept when a run reaches new coverage;
the coverage growth curve every explorer reports."""

import json

import pytest

from umasim import cli
from umasim.model.scenario import load
from umasim.search.explore import explore

from test_explore import scenario

HUNT = "scenarios/hunt_no_recheck.toml"


def _key(res):
    return ([(c.outcome, c.message, c.count, c.first_run, c.decisions) for c in res.classes],
            res.coverage, res.coverage_growth, res.points_covered, res.failures)


def test_same_seed_same_runs_other_seed_other_runs():
    scn = load(HUNT)
    a = explore(scn, "guided", runs=2000, seed=7)
    b = explore(scn, "guided", runs=2000, seed=7)
    c = explore(scn, "guided", runs=2000, seed=8)
    assert _key(a) == _key(b)
    assert _key(a) != _key(c)


def test_a_small_corpus_evicts_deterministically_and_still_finds():
    """Two entries at most: every new one pushes a random one out (never
    the first, the default run's)."""
    scn = load(HUNT)
    a = explore(scn, "guided", runs=3000, seed=0, corpus=2)
    b = explore(scn, "guided", runs=3000, seed=0, corpus=2)
    assert _key(a) == _key(b)
    assert len(a.coverage_growth) > 2
    assert any(c.failed for c in a.classes)
    full = explore(scn, "guided", runs=3000, seed=0)
    assert _key(full) != _key(a)


def test_correct_code_never_fails():
    res = explore(scenario(), "guided", runs=2000, seed=0)
    assert res.failures == 0, res.classes
    assert [c.outcome for c in res.classes] == ["completed"]
    assert sum(c.count for c in res.classes) == res.runs == 2000
    assert not res.exhausted


def test_finds_no_recheck_and_its_trace_replays(tmp_path):
    from umasim.search.explore import write_artefacts
    from umasim.views import trace
    scn = load(HUNT)
    res = explore(scn, "guided", runs=1000, seed=0)
    bad = [c for c in res.classes if c.failed]
    assert bad and "Freeing a non free bucket" in bad[0].message
    write_artefacts(scn, res, tmp_path)
    rr = trace.replay(trace.read(bad[0].artefact.trace_path))
    assert rr.identical, rr.message


def test_finds_stale_cache_through_the_checker():
    scn = scenario(bugs=["stale_cache"], threads=[
        {"name": "a", "cpu": 0, "repeat": 12, "ops": ["alloc z -> a{i}", "free a{i}"]},
        {"name": "b", "cpu": 1, "repeat": 12, "ops": ["alloc z -> b{i}", "free b{i}"]}])
    res = explore(scn, "guided", runs=5000, seed=1)
    assert any(c.check_failed and "items in its slabs" in c.message
               for c in res.classes if c.failed), res.classes


def test_coverage_grows_beyond_the_random_explorers():
    """Same scenario, seed and run budget: the guided explorer reaches more
    (point, state) pairs and no fewer race windows interleaved."""
    scn = load(HUNT)
    g = explore(scn, "guided", runs=3000, seed=0)
    r = explore(scn, "random", runs=3000, seed=0)
    assert g.coverage.state_pairs > r.coverage.state_pairs
    assert g.coverage.windows_interleaved >= r.coverage.windows_interleaved


@pytest.mark.parametrize("kind", ["random", "pct", "bounded", "guided"])
def test_growth_curve_is_monotone_and_ends_at_the_union(kind):
    res = explore(load(HUNT), kind, runs=500, seed=0, bound=1)
    g = res.coverage_growth
    assert g and g[0][0] == 0
    runs = [p[0] for p in g]
    assert runs == sorted(set(runs)) and runs[-1] < res.runs
    for a, b in zip(g, g[1:]):
        assert all(y >= x for x, y in zip(a[1:], b[1:])) and a[1:] != b[1:]
    cov = res.coverage
    assert g[-1][1:] == (cov.windows_interleaved, cov.state_pairs,
                         sum(w.entered for w in cov.windows),
                         sum(w.migrated for w in cov.windows))


def test_cli_json_and_bad_input(capsys, tmp_path):
    rc = cli.main(["explore", HUNT, "--explorer", "guided", "--runs", "300", "--seed", "0",
                   "--json", "--out", str(tmp_path)])
    assert rc == 1
    d = json.loads(capsys.readouterr().out)
    assert d["explorer"] == "guided" and d["runs"] == 300 and d["failures"] > 0
    assert d["coverage_growth"] and all(len(p) == 5 for p in d["coverage_growth"])
    assert d["coverage_growth"][-1][2] == d["coverage"]["state_pairs"]
    for bad in (["--runs", "0"], ["--runs", "-3"], ["--explorer", "nope"],
                ["--corpus", "1"], ["--corpus", "100000"]):
        with pytest.raises(SystemExit) as e:
            rc = cli.main(["explore", HUNT, "--explorer", "guided"] + bad)
            raise SystemExit(rc)
        assert e.value.code == 2
    err = capsys.readouterr().err
    assert "runs must be a positive integer" in err
    assert "corpus must be an integer from 2 to" in err


def test_one_vcpu_and_one_thread():
    """No vCPU to migrate to, no other thread to switch to: the mutations
    that need one leave the schedule alone, and every run completes."""
    one = scenario(cpus=1, threads=[
        {"name": "a", "cpu": 0, "repeat": 4, "ops": ["alloc z -> a{i}", "free a{i}"]}])
    res = explore(one, "guided", runs=300, seed=0)
    assert res.failures == 0 and res.runs == 300
    two = scenario(cpus=1, threads=[
        {"name": t, "cpu": 0, "repeat": 4, "ops": [f"alloc z -> {t}{{i}}", f"free {t}{{i}}"]}
        for t in "ab"])
    res = explore(two, "guided", runs=300, seed=0)
    assert res.failures == 0 and res.coverage_growth
