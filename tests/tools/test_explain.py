"""`umasim explain` and `umasim replay --continue` (umasim.views.explain,
umasim.search.explain): the curve of P(the same failure | prefix) from
continuations, the decisive step and its point, the happens-before slice,
reproducibility, and the refusals of bad input (exit status 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import umasim
from umasim.cli import main
from umasim.errors import InvalidArgument, NoFailure, TraceError
from umasim.search import explain as search_explain
from umasim.views import trace as traces
from umasim.views.explain import Explanation, explain, format_text, lincheck_table

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

# Fewer continuations than the default keep the tests quick; the jumps
# tested are sharp enough for them.
K = 20


def _trace(tmp_path, scenario: str | Path, name: str = "t.trace") -> Path:
    path = tmp_path / name
    assert main(["run", str(scenario), "--trace", str(path)]) in (0, 1)
    return path


@pytest.fixture(scope="module")
def no_recheck(tmp_path_factory) -> Path:
    return _trace(tmp_path_factory.mktemp("explain"), SCENARIOS / "bug_no_recheck.toml")


@pytest.fixture(scope="module")
def no_recheck_expl(no_recheck) -> Explanation:
    return explain(no_recheck, K)


def test_json_has_the_contract_keys(no_recheck_expl):
    j = no_recheck_expl.to_json()
    assert set(j) == {"failure", "deterministic", "curve", "decisive", "slice"}
    assert {"outcome", "message", "point", "step"} <= set(j["failure"])
    for d in j["decisive"]:
        assert set(d) == {"step", "cpu", "thread", "op", "point", "function", "line",
                          "p_before", "p_after"}
    for r in j["slice"]:
        assert set(r) == {"step", "thread", "cpu", "op", "object", "detail"}
    json.dumps(j)


def test_the_migration_is_the_decisive_step(no_recheck_expl):
    """bug_no_recheck.toml's header: a is migrated to vCPU 1 at zalloc_race
    (uma_zalloc_arg, FreeBSD 7 line 1870), the 31st decision."""
    ex = no_recheck_expl
    assert ex.failure["outcome"] == "panic"
    assert "Freeing a non free bucket" in ex.failure["message"]
    assert not ex.deterministic
    assert [d["step"] for d in ex.decisive] == [31]
    d = ex.decisive[0]
    assert (d["thread"], d["cpu"], d["point"], d["function"], d["line"]) == \
        ("a", 1, "zalloc_race", "uma_zalloc_arg", 1870)
    assert d["op"] == "alloc z -> x"
    assert d["p_before"] < 0.2 and d["p_after"] > 0.8
    steps = [s for s, _ in ex.curve]
    assert steps == list(range(0, 33))
    assert ex.curve[-1] == (32, 1.0)


def test_the_slice_has_both_threads_in_order(no_recheck_expl):
    ex = no_recheck_expl
    assert ex.threads == ["c", "a"]
    steps = [r["step"] for r in ex.slice]
    assert steps == sorted(steps)
    mig = [r for r in ex.slice if r["detail"].startswith("migrated")]
    assert len(mig) == 1 and mig[0]["step"] == 31 and mig[0]["thread"] == "a"
    assert mig[0]["cpu"] == 1
    assert any(r["thread"] == "c" and r["op"] == "alloc z -> w" and r["detail"] == "begins"
               for r in ex.slice)
    assert ex.slice[-1]["detail"].startswith("panic: uma_zalloc_arg")
    table = lincheck_table(ex.slice, ex.threads)
    head = table.splitlines()[1]
    assert head.split("|")[2].strip() == "c" and head.split("|")[3].strip() == "a"
    text = format_text(ex)
    assert "decisive steps:" in text and "step 31: thread a on vCPU 1 (migrated from vCPU 0)" \
        in text and "uma_zalloc_arg, line 1870" in text


def test_a_long_trace_is_estimated_on_a_grid_then_bisected(no_recheck, no_recheck_expl,
                                                          monkeypatch):
    """Beyond MAX_POINTS steps, the estimate is made at evenly spaced steps,
    then the rises are bisected down to single steps: the same decisive
    step, and the same estimates where both were made (the seeds depend on
    the step only)."""
    monkeypatch.setattr(search_explain, "MAX_POINTS", 6)
    ex = explain(no_recheck, K)
    assert len(ex.curve) < len(no_recheck_expl.curve)
    assert [d["step"] for d in ex.decisive] == [31]
    full = dict(no_recheck_expl.curve)
    assert all(full[s] == p for s, p in ex.curve)
    assert ex.runs < no_recheck_expl.runs


def test_reproducible_and_seeded(no_recheck, no_recheck_expl):
    again = explain(traces.read(no_recheck), K)
    assert again.to_json() == no_recheck_expl.to_json()
    other = explain(no_recheck, K, seed=1)
    assert other.curve != no_recheck_expl.curve
    assert search_explain.continuation_seed("ab", 3, 0) != \
        search_explain.continuation_seed("ab", 4, 0)


def test_a_checker_failure_is_explained(tmp_path):
    """bug_stale_cache.toml completes as it expects, but the invariant
    checker reports the lost item: that is the failure."""
    ex = explain(_trace(tmp_path, SCENARIOS / "bug_stale_cache.toml"), K)
    assert ex.failure["outcome"] == "completed"
    assert "check" in ex.failure["expectations"]
    assert ex.failure["message"].startswith("zone z: ")
    assert ex.curve[0][1] < 0.2 and ex.decisive
    assert all(d["p_after"] - d["p_before"] >= 0.5 for d in ex.decisive)


def test_no_decisive_step_when_nothing_jumps(tmp_path):
    """bug_full_bypass.toml: most schedules from the start already end in
    its deadlock; no single step raises the estimate by JUMP."""
    ex = explain(_trace(tmp_path, SCENARIOS / "bug_full_bypass.toml"))
    assert ex.failure["outcome"] == "deadlock" and not ex.deterministic
    assert ex.curve[0][1] > 0.3 and ex.decisive == []
    assert "no decisive step" in format_text(ex)


CRIT = """
[[thread]]
name = "a"
ops = ["yield", "crit_exit"]

[[thread]]
name = "b"
ops = ["yield"]
"""


def test_a_deterministic_failure_has_no_curve(tmp_path):
    scn = tmp_path / "crit.toml"
    scn.write_text(CRIT)
    ex = explain(_trace(tmp_path, scn), K)
    assert ex.deterministic and ex.curve == [(0, 1.0)] and ex.decisive == []
    assert "deterministic" in format_text(ex)


EXPECT_ONLY = """
[[zone]]
name = "z"
size = 256

[[thread]]
name = "a"
ops = ["alloc z -> x", "free x"]

[expect]
zone.z = { requests = 2 }
"""


def test_an_expectations_only_failure_is_judged_outside_the_core(tmp_path):
    scn = tmp_path / "exp.toml"
    scn.write_text(EXPECT_ONLY)
    est = search_explain.estimate(_trace(tmp_path, scn), 3)
    assert not est.judged_in_core
    assert est.failure.expectations == ("zone.z.requests",)
    assert est.deterministic and est.runs == 6


def test_a_property_failure_is_explained(tmp_path):
    """bug_zero_bucket.toml completes as it expects; without its
    expectations it is in the fuzzer's shape, and the end-of-run property
    "zero" sees the dirty M_ZERO item."""
    est = search_explain.estimate(_trace(tmp_path, SCENARIOS / "bug_zero_bucket.toml"), 3)
    assert est.failure.expectations == ("property.zero",)
    assert est.message.startswith("zero: y: ")
    assert not est.judged_in_core and est.deterministic


def test_bad_input_is_refused(tmp_path, no_recheck):
    ok = _trace(tmp_path, SCENARIOS / "migration_alloc_slow_path.toml", "ok.trace")
    with pytest.raises(NoFailure):
        explain(ok, K)
    with pytest.raises(InvalidArgument):
        explain(no_recheck, 0)
    with pytest.raises(InvalidArgument):
        explain(no_recheck, K, seed=-1)
    text = no_recheck.read_text()
    trunc = tmp_path / "trunc.trace"
    trunc.write_text("\n".join(text.splitlines()[:-1]) + "\n")
    with pytest.raises(TraceError, match="truncated"):
        explain(trunc, K)
    tampered = tmp_path / "tampered.trace"
    tampered.write_text(text.replace('"decisions":[-30,3,-1]', '"decisions":[-30,1,-1]'))
    with pytest.raises(TraceError, match="does not replay"):
        explain(tampered, K)
    with pytest.raises(umasim.Error):
        explain(123, K)
    for path, args in ((ok, []), (no_recheck, ["--continuations", "0"]), (trunc, []),
                       (tampered, []), (tmp_path / "missing.trace", [])):
        assert main(["explain", str(path), *args]) == 2


def test_cli_explain_json(no_recheck, capsys):
    assert main(["explain", str(no_recheck), "-k", str(K), "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert [d["step"] for d in j["decisive"]] == [31]
    assert main(["explain", str(no_recheck), "-k", str(K)]) == 0
    assert "happens-before slice" in capsys.readouterr().out


# ---- replay --continue ----------------------------------------------------------

def test_continue_from_a_step_finishes_the_prefix_many_ways(no_recheck, tmp_path, capsys):
    out = tmp_path / "failures"
    args = ["replay", str(no_recheck), "--continue", "random", "--from", "29", "--runs", "400",
            "--out", str(out), "--json"]
    rc = main(args)
    j = json.loads(capsys.readouterr().out)
    assert j["from"] == 29 and j["runs"] == 400
    outcomes = {k["outcome"]: k for k in j["classes"]}
    # from a at the point before zalloc_race, some runs panic, others complete
    assert set(outcomes) == {"panic", "completed"}
    # bug_no_recheck expects the panic: the completed runs are its failures
    assert rc == 1 and outcomes["completed"]["failed"]
    trace = outcomes["completed"]["trace"]
    assert main(["replay", trace]) == 0
    assert traces.read(trace).decisions[:29] == traces.read(no_recheck).decisions[:29]
    capsys.readouterr()
    assert main(args) == rc
    assert json.loads(capsys.readouterr().out) == j


@pytest.mark.parametrize("explorer", ["pct", "guided"])
def test_continue_with_other_explorers(no_recheck, tmp_path, explorer):
    c = search_explain.continue_from(no_recheck, explorer, 40, 20)
    assert c.runs == 40 and sum(k.count for k in c.classes) == 40


def test_continue_refuses_bad_input(no_recheck, tmp_path):
    # the run ended at the trace's end: nothing to continue from there
    assert main(["replay", str(no_recheck), "--continue", "random"]) == 2
    assert main(["replay", str(no_recheck), "--continue", "random", "--from", "33"]) == 2
    assert main(["replay", str(no_recheck), "--continue", "random", "--runs", "0",
                 "--from", "3"]) == 2
    assert main(["replay", str(no_recheck), "--runs", "5"]) == 2
    assert main(["replay", str(no_recheck), "--continue", "bounded"]) == 2


def test_continue_from_the_end_of_a_cut_trace(tmp_path):
    """A trace that stops at its step limit goes on from its end, each run
    with the scenario's step limit again."""
    scn = (SCENARIOS / "hunt_no_recheck.toml").read_text()
    scn = scn.replace('policy = "sequential"', 'policy = "sequential"\nmax_steps = 300')
    p = tmp_path / "cut.toml"
    p.write_text(scn)
    tr = _trace(tmp_path, p)
    assert traces.read(tr).end["end"] == "step_limit"
    c = search_explain.continue_from(tr, "random", 30)
    assert c.start == 300 and c.runs == 30
    assert all(k.outcome != "step_limit" for k in c.classes)


def test_a_decisions_level_trace_explains_the_same(tmp_path, no_recheck_expl):
    path = tmp_path / "dec.trace"
    assert main(["run", str(SCENARIOS / "bug_no_recheck.toml"), "--trace", str(path),
                 "--trace-level", "decisions"]) == 0
    assert explain(path, K).to_json() == no_recheck_expl.to_json()


def test_sim_at_and_plot_curve(no_recheck, no_recheck_expl):
    from umasim.views.explain import plot_curve, sim_at
    sim = sim_at(no_recheck, 30)
    a = sim.thread("a")
    assert sim.steps == 30 and (a.point, a.cpu) == ("zalloc_race", 0)
    assert sim_at(no_recheck, 31).thread("a").cpu == 1
    with pytest.raises(InvalidArgument):
        sim_at(no_recheck, 33)
    pytest.importorskip("matplotlib")
    fig = plot_curve(no_recheck_expl)
    ax = fig.axes[0]
    vlines = [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [31, 31]]
    assert len(vlines) == 1


def test_continue_prints_classes_and_replay_commands(no_recheck, tmp_path, capsys):
    rc = main(["replay", str(no_recheck), "--continue", "pct", "--from", "29", "--runs", "30",
               "--out", str(tmp_path / "f")])
    out = capsys.readouterr().out
    # bug_no_recheck expects its panic: runs from there that complete fail it
    assert rc == 1
    assert out.splitlines()[0].startswith("pct from step 29: 30 runs, ")
    assert "[FAIL] completed" in out and "umasim replay " in out
