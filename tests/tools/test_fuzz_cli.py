"""`umasim fuzz` (umasim/search/fuzz.py): exit status, --list-bugs, --json, campaigns,
and the artefacts of a failure, which `umasim replay` reproduces."""

from __future__ import annotations

import json

import pytest

from umasim.views import trace
from umasim.cli import main
from umasim.model.sim import KNOWN_BUGS


def run(capsys, *argv):
    code = main(["fuzz", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_bugs(capsys):
    code, out, _ = run(capsys, "--list-bugs")
    assert code == 0
    assert out.splitlines() == list(KNOWN_BUGS)
    assert set(out.split()) == {"stale_cache", "full_bypass", "wakeup_one", "no_recheck",
                                "zero_bucket", "limit_overshoot", "drain_leak",
                                "stats_shared_keg", "free_null_bucket"}


@pytest.mark.parametrize("argv", [["--bug", "nope"], ["--examples", "x"], ["--jobs"],
                                  ["--examples", "0"], ["--jobs", "-1"], ["--seed", "-1"],
                                  ["--unit-size", "0"], ["--cluster", "here"],
                                  ["--max-time", "0"], ["--max-time", "-3"],
                                  ["--max-time", "soon"], ["--db", "d", "--no-db"]])
def test_bad_arguments_exit_2(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == 2 and "umasim: error:" in err


def test_nothing_fails_exit_0(capsys, tmp_path):
    code, out, _ = run(capsys, "--examples", "25", "--seed", "3", "--json",
                       "--out", str(tmp_path))
    assert code == 0
    res = json.loads(out)
    assert res["examples"] == 25 and res["failed"] is False and res["failures"] == []
    assert res["seed"] == 3 and res["jobs"] == 1 and res["every_step"] is True
    assert not list(tmp_path.iterdir())
    # Each example explores schedules: its own, and a burst's.
    assert res["schedules"] > res["examples"] and res["schedules_per_s"] > 0


def test_the_same_seed_fuzzes_the_same_cases(capsys):
    a = json.loads(run(capsys, "--examples", "15", "--seed", "9", "--json", "--fast")[1])
    b = json.loads(run(capsys, "--examples", "15", "--seed", "9", "--json", "--fast")[1])
    assert a["examples"] == b["examples"] == 15 and a["every_step"] is False
    assert a["failed"] is b["failed"] is False


def test_a_campaign_runs_units_of_their_own_seeds(capsys, tmp_path):
    """--unit-size (and --jobs, --cluster: tests/tools/test_campaign.py)
    splits the examples into units, each a Hypothesis run of its own seed."""
    code, out, _ = run(capsys, "--examples", "12", "--unit-size", "6", "--seed", "40",
                       "--json", "--fast", "--out", str(tmp_path))
    assert code == 0
    res = json.loads(out)
    assert res["units"] == 2 and res["examples"] == 12 and res["seed"] == 40
    units = [json.loads(p.read_text()) for p in sorted((tmp_path / "units").glob("*.json"))]
    assert [u["examples"] for u in units] == [6, 6]


def test_a_failure_exits_1_with_artefacts_that_replay(capsys, tmp_path):
    code, out, err = run(capsys, "--bug", "full_bypass", "--examples", "600", "--seed", "1",
                         "--out", str(tmp_path))
    assert code == 1, out + err
    assert "FAILED: liveness: lost wakeup" in out
    replay_line = next(line for line in out.splitlines() if line.strip().startswith("replay:"))
    cmd = replay_line.split("replay:", 1)[1].strip()
    assert cmd.startswith("umasim replay ") and cmd.endswith(".trace")
    path = cmd.split(" ", 2)[2]
    tomls = list(tmp_path.glob("*.toml"))
    assert len(tomls) == 1 and tomls[0].stem.startswith("fuzz-full_bypass-liveness")
    assert str(tmp_path) in path
    assert main(["replay", path]) == 0
    tr = trace.read(path)
    assert tr.end["end"] in ("deadlock", "step_limit")
    assert tr.header["scenario"]["sim"]["bugs"] == ["full_bypass"]


def test_json_failure_record(capsys, tmp_path):
    code, out, _ = run(capsys, "--bug", "no_recheck", "--examples", "400", "--seed", "2",
                       "--out", str(tmp_path), "--json", "--fast")
    assert code == 1
    res = json.loads(out)
    f, = res["failures"]
    assert f["kind"] == "panic" and "Freeing a non free bucket" in f["message"]
    assert f["replay"] == f"umasim replay {f['trace']}"
    assert f["size"]["threads"] <= 3


def test_a_seeded_run_keeps_no_database_unless_asked(capsys, tmp_path, monkeypatch):
    """--seed: reproducible and independent, so no example database is read
    or written (not even the default .umasim/hypothesis/); --db DIR puts a
    found failure there, for the next run to try first."""
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "--examples", "10", "--seed", "3", "--json")
    assert code == 0 and json.loads(out)["database"] is None
    assert not (tmp_path / ".umasim" / "hypothesis").exists()
    code, out, _ = run(capsys, "--bug", "full_bypass", "--examples", "1000", "--seed", "1",
                       "--db", "examples", "--out", "failures", "--json")
    assert code == 1 and json.loads(out)["database"] == "examples"
    assert any((tmp_path / "examples").rglob("*"))
    code, out, _ = run(capsys, "--examples", "5", "--json")
    assert json.loads(out)["database"] == ".umasim/hypothesis"


def test_the_database_gives_the_next_run_its_failure_first(capsys, tmp_path):
    """A failure kept in --db DIR (whether Hypothesis or a burst found it)
    is what the next run with that database tries first: found again at
    its first example, whatever the next run's seed."""
    db = str(tmp_path / "examples")
    code, out, _ = run(capsys, "--bug", "no_recheck", "--examples", "300", "--seed", "1",
                       "--db", db, "--out", str(tmp_path / "f1"), "--json")
    assert code == 1
    first = json.loads(out)["failures"][0]
    assert first["kind"] in ("panic", "invariant")
    # One example, another seed: nothing fails without the database ...
    code, out, _ = run(capsys, "--bug", "no_recheck", "--examples", "1", "--seed", "99",
                       "--no-db", "--out", str(tmp_path / "f2"), "--json")
    assert code == 0, out
    # ... and with it, the kept failure does (shrunk again, it may show
    # as the conservation failure of the same race).
    code, out, _ = run(capsys, "--bug", "no_recheck", "--examples", "1", "--seed", "99",
                       "--db", db, "--out", str(tmp_path / "f3"), "--json")
    assert code == 1, out
    assert json.loads(out)["failures"][0]["kind"] in ("panic", "invariant")


def test_text_output_reports_schedules_per_second(capsys):
    code, out, _ = run(capsys, "--examples", "5", "--seed", "2", "--fast")
    assert code == 0
    assert "5 examples in" in out and "schedules," in out and "/s), seed 2" in out


def test_max_time_lifts_the_example_count(capsys):
    """--max-time alone: no count of examples bounds the search (the budget
    in seconds does; how many examples fit is not asserted)."""
    code, out, _ = run(capsys, "--max-time", "0.5", "--seed", "4", "--json", "--fast")
    res = json.loads(out)
    assert code == 0 and res["max_time"] == 0.5 and res["examples"] >= 1

