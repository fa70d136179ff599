"""The core's oracle (csrc/kern/oracle.c, csrc/vm/uma_oracle.c): the
fuzzing properties the C core judges on every run, against the Python
properties (umasim.search.properties, the reference), and as the
explorers and the fuzzer's bursts use it.

The differential tests hold the oracle's verdict to the Python one on
generated cases (with and without each bug switch, their drawn schedules
and the schedules of a burst), on every shipped scenario, and on the bug
scenarios, by the relation umasim.search.oracle states: the same kind when
Python's is one of the oracle's, ok when Python's is ok or ends the run
(panic, host fault, deadlock, step limit), and ok or one of its own kinds
when Python's is one the oracle does not judge (invariant, console)."""

from __future__ import annotations

import collections
import glob
import json
import os
import pathlib
import re

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hseed

from umasim import cli
from umasim.bindings import KNOWN_BUGS
from umasim.engine import execute
from umasim.model.scenario import from_dict, load
from umasim.model.schedule import Schedule
from umasim.search import burst as B
from umasim.search import strategies as S
from umasim.search.explore import explore, write_artefacts
from umasim.search.oracle import ORACLE_KINDS, CoreOracle, oracle_check
from umasim.search.properties import KINDS, Case, check_case, unrolled
from umasim.views import trace

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = sorted(glob.glob(str(ROOT / "scenarios" / "*.toml")))
# Generated cases per switch (and without one), under a fixed seed for CI
# stability: each with its drawn schedule and a burst's schedules.
EXAMPLES = int(os.environ.get("UMASIM_ORACLE_EXAMPLES", "150"))
SEED = 1
# What each planted violation must fail with, on its shipped scenario (the
# oracle alone: the explorers' checker sees stats_shared_keg first).
PLANTED = {"zero_bucket": "zero", "limit_overshoot": "limit", "drain_leak": "accounting",
           "wakeup_one": "liveness", "full_bypass": "liveness",
           "stats_shared_keg": "stats"}


def agree(p, c) -> bool:
    """umasim.search.oracle's relation between the two verdicts."""
    if p.ok:
        return c.ok
    if p.kind in ORACLE_KINDS:
        return not c.ok and c.kind == p.kind
    if p.kind in ("panic", "host_fault", "deadlock", "step_limit"):
        return c.ok
    return c.ok or c.kind in ORACLE_KINDS


def without_step(message: str) -> str:
    """Python's message without the step it names (the oracle's verdict
    carries the step beside its message)."""
    return re.sub(r"(; step \d+\)| \(step \d+\))$", lambda m: ")" if m.group(0)[0] == ";"
                  else "", message)


def scenario_case(path) -> Case:
    """A shipped scenario as a case: its threads unrolled, its own
    schedule's decisions."""
    scn = load(path)
    dec = execute(scn, scn.schedule).sim.decisions
    sched = Schedule(decisions=list(dec), then="sequential", max_steps=scn.schedule.max_steps)
    return Case(unrolled(scn).with_schedule(sched), sched)


def test_the_oracle_kinds_are_properties_kinds():
    assert set(ORACLE_KINDS) == {"zero", "duplicate", "limit", "liveness", "stats",
                                 "accounting"}
    assert set(ORACLE_KINDS) <= set(KINDS)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: pathlib.Path(p).stem)
def test_every_shipped_scenario_gets_the_python_verdict(path):
    case = scenario_case(path)
    p, c = check_case(case), oracle_check(case)
    assert agree(p, c), (p.kind, p.message, c.kind, c.message)
    if not c.ok and c.kind == p.kind:
        assert c.message == without_step(p.message) and c.step == p.step
    if not load(path).sim.get("bugs"):
        assert c.ok, c.message          # the faithful port passes


@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_a_planted_violation_fails_with_its_kind(bug, tmp_path):
    """The switch's scenario: the oracle alone fails it with the kind the
    bug breaks; an explorer's runs fail with it (the checker first for
    stats_shared_keg), the failing class's trace replays, and the Python
    properties agree on it; without the switch, no run fails."""
    path = ROOT / "scenarios" / f"bug_{bug}.toml"
    c = oracle_check(scenario_case(path))
    assert c.kind == PLANTED[bug], c
    scn = load(path)
    res = explore(scn, "guided", runs=300, seed=1)
    found = [k for k in res.classes if k.oracle_kind]
    if bug != "stats_shared_keg":
        assert found and {k.kind for k in found} == {PLANTED[bug]}
        k = found[0]
        write_artefacts(scn, res, tmp_path)
        rr = trace.replay(trace.read(k.artefact.trace_path))
        assert rr.identical, rr.message
        sched = Schedule(decisions=list(k.decisions), then="sequential",
                         max_steps=scn.schedule.max_steps)
        v = check_case(Case(unrolled(scn).with_schedule(sched), sched))
        assert v.kind == k.oracle_kind and without_step(v.message) == k.message
        assert v.step == k.oracle_step
    else:
        assert all(k.kind == "invariant" for k in res.classes)
    d = scn.to_dict()
    d["sim"]["bugs"] = []
    d.pop("expect", None)
    clean = explore(from_dict(d, str(path)), "guided", runs=300, seed=1)
    assert not any(k.oracle_kind for k in clean.classes)


@pytest.mark.parametrize("bug", [None] + sorted(KNOWN_BUGS))
def test_generated_cases_get_the_python_verdict(bug):
    """Over generated cases (fixed seed): the drawn schedule, and each
    class's first run and the runs kept of a burst of the case's family
    run with the oracle -- whose class kinds are the oracle's verdicts on
    those runs replayed."""
    seen: collections.Counter = collections.Counter()
    bad = []
    strategy = S.cases(S.DEFAULT_KNOBS, bugs=(bug,) if bug else ())

    @hseed(SEED)
    @settings(max_examples=EXAMPLES, database=None, deadline=None, derandomize=False,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(case):
        cases = [case]
        meta = case.draw or {}
        if "family" in meta:
            core = case.build(trace="off").core
            s = core.explore(core.snapshot(), meta["family"], 32, meta["seed"], B.MIGRATE,
                             B.PCT_DEPTH, 0, 0, case.max_steps, "completed", "", True, False,
                             0, keep=2, oracle=True)
            for k in s.classes:
                cc = case.with_decisions(k.decisions)
                cases.append(cc)
                if not k.check_failed:
                    o = oracle_check(cc)
                    assert (o.kind or "") == k.oracle_kind, (o, k)
            cases += [case.with_decisions(d) for d in s.kept]
        for cc in cases:
            p, c = check_case(cc), oracle_check(cc)
            seen[(p.kind, c.kind)] += 1
            if not agree(p, c):
                bad.append((p.kind, p.message, c.kind, c.message, cc.describe()))

    run()
    assert not bad, bad[0]
    assert sum(seen.values()) > EXAMPLES


def test_the_verdict_is_the_same_at_every_trace_level():
    case = scenario_case(ROOT / "scenarios" / "bug_wakeup_one.toml")
    verdicts = set()
    for level in ("off", "decisions", "full"):
        obs = CoreOracle()
        execute(case.scenario, case.schedule, [obs], level=level)
        verdicts.add(obs.verdict)
    assert len(verdicts) == 1 and next(iter(verdicts))[0] == "liveness"


def test_it_is_off_unless_asked_and_its_state_goes_with_snapshots():
    case = scenario_case(ROOT / "scenarios" / "bug_zero_bucket.toml")
    sim = case.build(trace="off")
    core = sim.core
    assert core.oracle_verdict() is None
    start = core.snapshot()                 # taken while it is off
    core.oracle_enable(True)
    sim.run(policy="sequential")
    kind, message, step = core.oracle_verdict()
    assert kind == "zero" and message.startswith("y: the 4096-byte item")
    # A snapshot taken while it is off restores a fresh state.
    core.restore(start)
    assert core.oracle_verdict() is None
    core.run("sequential", 0, 0.0, 1, 0, None, None, "sequential", step - 1)
    assert core.oracle_verdict() is None
    mid = core.snapshot()                   # taken while it is on, before the failure
    sim.run(policy="sequential")
    assert core.oracle_verdict() == (kind, message, step)
    core.restore(mid)
    assert core.oracle_verdict() is None
    sim.run(policy="sequential")
    assert core.oracle_verdict() == (kind, message, step)
    core.oracle_enable(False)
    core.restore(start)
    sim.run(policy="sequential")
    assert core.oracle_verdict() == (kind, message, step)   # left as it was


def test_the_end_checks_are_judged_not_kept():
    """stats_shared_keg shows only at the end of the run: the verdict there
    says so, and a run that then goes on (a restored snapshot) does not
    carry it."""
    case = scenario_case(ROOT / "scenarios" / "bug_stats_shared_keg.toml")
    sim = case.build(trace="off")
    core = sim.core
    core.oracle_enable(True)
    start = core.snapshot()
    sim.run(policy="sequential")
    assert sim.outcome == "completed" and core.oracle_verdict()[0] == "stats"
    assert core.oracle_verdict()[0] == "stats"      # asked again: the same
    core.restore(start)
    assert core.oracle_verdict() is None


def test_stop_first_stops_at_the_first_oracle_failure():
    """A burst (stop_first) takes an oracle failure as a hard one."""
    scn = load(ROOT / "scenarios" / "bug_zero_bucket.toml")
    core = scn.build_with(trace="off").core
    args = (core.snapshot(), "guided", 50, 1, 0.0, 3, 0, 0, 20000, "completed", "", True, False)
    s = core.explore(*args, stop_first=True, oracle=True)
    assert s.runs == 1 and [k.kind for k in s.classes] == ["zero"]
    off = core.explore(*args, stop_first=True)
    assert off.runs == 50 and off.failures == 0


def test_a_burst_finds_an_oracle_failure_inside_the_c_call():
    """zero_bucket's case: the burst stops at its first schedule, which
    the oracle failed; its decisions fail the same way replayed."""
    d = load(ROOT / "scenarios" / "bug_zero_bucket.toml").to_dict()
    case = Case.of(d["sim"], d["zone"], [{"name": t["name"], "cpu": t["cpu"],
                                          "ops": list(t["ops"])} for t in d["thread"]])
    for family in ("pct", "guided"):
        b = B.run_burst(case, family, 3)
        # (pct's first run is the sequential one that estimates its length)
        assert b.runs <= 2 and len(b.failed) == 1
        assert oracle_check(case.with_decisions(b.failed[0])).kind == "zero"
        assert check_case(case.with_decisions(b.failed[0])).kind == "zero"


def test_the_oracle_runs_are_deterministic():
    scn = load(ROOT / "scenarios" / "bug_wakeup_one.toml")
    a, b = (explore(scn, "guided", runs=500, seed=3) for _ in range(2))
    assert [(k.kind, k.message, k.count, k.first_run, k.oracle_step, k.decisions)
            for k in a.classes] == \
        [(k.kind, k.message, k.count, k.first_run, k.oracle_step, k.decisions)
         for k in b.classes]


def test_cli_explore_shows_the_kind_and_no_oracle_leaves_it_out(tmp_path, capsys):
    path = str(ROOT / "scenarios" / "bug_zero_bucket.toml")
    out = str(tmp_path / "f")
    assert cli.main(["explore", path, "--runs", "50", "--out", out]) == 1
    text = capsys.readouterr().out
    assert "[FAIL] zero (completed): y: the 4096-byte item" in text
    assert cli.main(["explore", path, "--runs", "50", "--out", out, "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    (k,) = d["classes"]
    assert k["kind"] == "zero" and k["failed"] and k["oracle_step"] > 0
    assert cli.main(["explore", path, "--runs", "50", "--out", out, "--no-oracle"]) == 0
    assert "[ok] completed" in capsys.readouterr().out


def test_a_free_that_waited_for_its_variable_gives_the_item_back_once_set():
    """t2's free_large begins before t0 has set l0 (it waits for its
    producer), then releases the pages, and t1's malloc_large gets them
    before t2's op ends: no item handed out twice, for either judge (the
    item goes back when the free under way releases it, not only as a
    free op begins)."""
    threads = [{"name": "t2", "cpu": 0, "ops": ["free_large l0"]},
               {"name": "t0", "cpu": 0, "ops": ["malloc_large 4096 -> l0"]},
               {"name": "t1", "cpu": 1, "ops": ["malloc_large 4096 -> l1"]}]
    case = Case.of({"cpus": 2, "pages": 16}, [{"name": "z0", "size": 64}], threads,
                   [3, 2, 0, 0, 1, 0, 0, 2, 0, 0, 2, 0, 0, 0, 0, 0, 2])
    run = execute(case.scenario, case.schedule, level="full")
    ev = run.sim.events
    first = {(e.kind, e.thread): e.step for e in reversed(ev) if e.kind in ("op_begin",
                                                                             "op_end")}
    assert first[("op_begin", "t2")] < first[("op_end", "t0")]      # it waited for l0
    assert first[("op_end", "t1")] < first[("op_end", "t2")]        # l1 before its end
    vid = run.sim.variable_ids
    assert run.sim.core.var_info(vid["l0"])[2] == run.sim.core.var_info(vid["l1"])[2]
    assert check_case(case).ok and oracle_check(case).ok


def _generic():
    """bench/find.py's GENERIC scenario (bench/ is not a package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("_bench_find", ROOT / "bench" / "find.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.GENERIC


@pytest.mark.parametrize("explorer", ["random", "pct", "bounded", "guided"])
def test_the_faithful_port_never_fails_the_generic_scenario(explorer):
    """The scenario bench/find.py hunts every switch on: no explorer's run
    fails it with the oracle on (its deadlocks are FreeBSD 7's own
    hazards); with wakeup_one, the same explorer finds the lost wakeup."""
    d = _generic()
    res = explore(from_dict(d, "<generic>"), explorer, runs=500, seed=1)
    assert res.failures == 0, [(k.kind, k.message) for k in res.classes if k.failed]
    d = json.loads(json.dumps(d))
    d["sim"]["bugs"] = ["wakeup_one"]
    res = explore(from_dict(d, "<generic>"), explorer, runs=500, seed=1)
    assert any(k.kind == "liveness" for k in res.classes if k.failed), \
        [(k.kind, k.outcome) for k in res.classes]
