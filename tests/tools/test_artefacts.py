"""Failure artefacts (umasim/views/artefacts.py): a scenario file that loads and
fails the same way, a trace that replays identically, stable file names,
and the exact replay command."""

from __future__ import annotations

import shlex
import tomllib
from pathlib import Path

import pytest

from umasim import cli
from umasim.views import artefacts
from umasim.views import trace
from umasim.views.report import run_scenario
from umasim.model.scenario import from_dict, load, loads
from umasim.search.shrink import failure_signature

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

# A leak (x is never freed) among other work, under a random schedule
# with migrations: the failure is the zone figure expected.
NOISY = {
    "sim": {"cpus": 2, "pages": 64},
    "zone": [{"name": "z", "size": 256, "ctor": "trash", "dtor": "trash", "init": "trash"},
             {"name": "w", "size": 64}],
    "thread": [
        {"name": "a", "cpu": 0, "ops": ["alloc z -> x", "touch x", "alloc z -> y",
                                        "free y"]},
        {"name": "b", "cpu": 1, "repeat": 3, "ops": ["alloc w -> q{i}", "yield",
                                                     "free q{i}"]},
    ],
    "schedule": {"policy": "random", "seed": 3, "migrate": 0.2},
    "expect": {"outcome": "completed", "zone": {"z": {"used": 0}},
               "events": {"migration": ">=1"}},
}


def failing_run():
    scn = from_dict(NOISY, "noisy.toml")
    rep = run_scenario(scn)
    return scn, rep


def test_write_failure_files_load_replay_and_fail_the_same_way(tmp_path):
    scn, rep = failing_run()
    sig = failure_signature(scn, rep.sim, rep.result.outcome)
    dec = rep.sim.decisions
    assert any(dec), "the random schedule preempts"
    art = artefacts.write_failure(scn, dec, tmp_path, label="noisy")
    assert art.scenario_path.parent == tmp_path and art.trace_path.parent == tmp_path
    assert art.scenario_path.name.startswith("noisy-")
    assert art.scenario_path.suffix == ".toml" and art.trace_path.suffix == ".trace"
    assert art.scenario_path.stem == art.trace_path.stem
    assert (art.outcome, art.steps, art.panic) == (rep.result.outcome, rep.sim.steps, None)

    # The scenario loads, is scripted with the run's decisions, and a plain
    # run of it (as `umasim run` does) is the same run: same failure, same
    # final state.
    loaded = load(art.scenario_path)
    assert loaded.schedule.policy == "script"
    assert list(loaded.schedule.decisions) == artefacts.strip_decisions(dec)
    assert loaded.schedule.max_steps == scn.schedule.max_steps
    assert loaded.threads == scn.threads and loaded.zones == scn.zones
    assert loaded.sim == scn.sim and loaded.expect == scn.expect
    again = run_scenario(loaded)
    assert again.sim.decisions == dec
    assert again.sim.digest() == rep.sim.digest()
    assert failure_signature(loaded, again.sim, again.result.outcome) == sig
    assert again.failures == rep.failures and not again.ok

    # The trace stands alone and replays identically.
    tr = trace.read(art.trace_path)
    assert tr.header["level"] == "full"
    assert tr.scenario.to_dict() == loaded.to_dict()
    assert tr.decisions == dec
    assert tr.end["end"] == rep.result.outcome and tr.end["expectations_ok"] is False
    res = trace.replay(tr)
    assert res.identical, res.message
    assert failure_signature(tr.scenario, res.sim, tr.end["end"]) == sig


def test_the_scenario_file_says_what_failed_and_how_to_replay(tmp_path):
    scn, rep = failing_run()
    art = artefacts.write_failure(scn, rep.sim.decisions, tmp_path, label="noisy",
                                  comment="found by a test")
    text = art.scenario_path.read_text()
    head = [l for l in text.splitlines() if l.startswith("#")]
    assert head[0] == "# found by a test"
    assert f"# replay: {art.replay_command}" in head
    assert any("not as expected:" in l for l in head)
    # Readable: defaults left out, decisions twenty to a line.
    assert "boot_pages" not in text and "kmem_pages" not in text
    assert "policy" not in text          # implied by decisions
    rows = [l for l in text.splitlines() if l.startswith("    ") and l.rstrip().endswith(",")
            and l.strip()[0].isdigit()]
    assert rows and all(len(r.split(",")) - 1 <= artefacts.DECISIONS_PER_LINE for r in rows)
    assert loads(text).comment.startswith("found by a test")


def test_same_failure_same_file_names(tmp_path):
    scn, rep = failing_run()
    dec = rep.sim.decisions
    a = artefacts.write_failure(scn, dec, tmp_path, label="x")
    first = (a.scenario_path.read_bytes(), a.trace_path.read_bytes())
    b = artefacts.write_failure(scn, list(dec), tmp_path, label="x")
    assert (b.scenario_path, b.trace_path) == (a.scenario_path, a.trace_path)
    assert (b.scenario_path.read_bytes(), b.trace_path.read_bytes()) == first
    # Trailing default decisions say nothing: the same failure.
    c = artefacts.write_failure(scn, dec + [0, 0, 0], tmp_path, label="x")
    assert c.trace_path == a.trace_path
    # The schedule the scenario was found with does not matter either: the
    # same scenario scripted with the same decisions is the same failure.
    d = dict(NOISY, schedule={"policy": "pct", "seed": 9})
    e = artefacts.write_failure(from_dict(d), dec, tmp_path, label="x")
    assert e.trace_path == a.trace_path
    # Another failure, another name; another label, another name.
    other = artefacts.write_failure(scn, [0] + dec, tmp_path, label="x")
    assert other.trace_path != a.trace_path
    assert artefacts.write_failure(scn, dec, tmp_path, label="y").trace_path.name \
        == a.trace_path.name.replace("x-", "y-", 1)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        {p.name for art in (a, other) for p in (art.scenario_path, art.trace_path)} |
        {a.scenario_path.name.replace("x-", "y-", 1), a.trace_path.name.replace("x-", "y-", 1)})


def test_replay_command_is_exact(tmp_path, capsys):
    scn, rep = failing_run()
    out = tmp_path / "dir with space"
    art = artefacts.write_failure(scn, rep.sim.decisions, out, label="noisy")
    assert art.replay_command == f"umasim replay {shlex.quote(str(art.trace_path))}"
    printed = art.describe()
    assert f"replay:   {art.replay_command}\n" in printed
    assert str(art.scenario_path) in printed and rep.result.outcome in printed
    argv = shlex.split(art.replay_command)
    assert argv[:2] == ["umasim", "replay"]
    capsys.readouterr()
    assert cli.main(argv[1:]) == 0
    assert capsys.readouterr().out.startswith("identical:")


def test_default_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scn, rep = failing_run()
    art = artefacts.write_failure(scn, rep.sim.decisions)
    assert art.trace_path.parent == Path(".umasim") / "failures"
    assert art.replay_command == f"umasim replay .umasim/failures/{art.trace_path.name}"
    assert (tmp_path / art.trace_path).is_file()


def test_a_prefix_of_the_decisions_reproduces_the_whole_run(tmp_path):
    """The step limit stays the scenario's: a script that runs out goes on
    with default decisions to the same end."""
    scn = load(SCENARIOS / "zonelimit_deadlock_stranded_items.toml")
    scn = from_dict(dict(scn.to_dict(), expect={}))         # expected: completed
    rep = run_scenario(scn)
    assert rep.result.outcome == "deadlock" and not any(rep.sim.decisions)
    art = artefacts.write_failure(scn, [], tmp_path)
    assert (art.outcome, art.steps) == ("deadlock", rep.sim.steps)
    assert art.failures == ("outcome is deadlock, expected completed",)
    assert trace.replay(trace.read(art.trace_path)).identical


def test_a_step_limit_failure_keeps_its_limit(tmp_path):
    d = {"zone": [{"name": "z", "size": 128}],
         "thread": [{"name": "a", "repeat": 50, "ops": ["alloc z -> x{i}", "free x{i}"]}],
         "schedule": {"max_steps": 40}}
    scn = from_dict(d)
    rep = run_scenario(scn)
    assert rep.result.outcome == "step_limit" and rep.sim.steps == 40
    art = artefacts.write_failure(scn, rep.sim.decisions, tmp_path)
    assert (art.outcome, art.steps) == ("step_limit", 40)
    assert load(art.scenario_path).schedule.max_steps == 40
    assert trace.replay(trace.read(art.trace_path)).identical


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_to_toml_round_trips_every_shipped_scenario(path):
    scn = load(path)
    text = artefacts.to_toml(scn, "a comment\nof two lines")
    assert text.startswith("# a comment\n# of two lines\n")
    tomllib.loads(text)
    assert loads(text).to_dict() == scn.to_dict()


def test_to_toml_quotes_what_needs_quoting():
    d = {"zone": [{"name": "z", "size": 64, "align": "cache", "flags": ["refcnt", "hash"]}],
         "thread": [{"name": "t", "ops": ["alloc z -> x", "free x"]}],
         "schedule": {"policy": "random", "seed": 2**64 - 1, "migrate": 0.25},
         "expect": {"panic": 'a "quoted"\\ \t\x7f text', "console": ["é", ""],
                    "zone": {"16 Bucket": {"used": ">=0"}, "z": {"used": 0}},
                    "events": {"migration": ">=1"}}}
    scn = from_dict(d)
    assert loads(artefacts.to_toml(scn)).to_dict() == scn.to_dict()


def test_event_expectations_hold_with_a_decisions_only_trace(tmp_path, capsys):
    """Expectations on event counts need every event recorded, whatever
    level the trace written keeps (`run --trace-level decisions` used to
    fail double_free_invariants.toml's `events = { panic = 1 }`)."""
    path = tmp_path / "d.trace"
    assert cli.main(["run", str(SCENARIOS / "double_free_invariants.toml"), "--trace",
                     str(path), "--trace-level", "decisions"]) == 0
    assert "expectations: ok" in capsys.readouterr().out
    tr = trace.read(path)
    assert tr.header["level"] == "decisions" and tr.events == []
    assert tr.end["expectations_ok"] is True
    assert trace.replay(tr).identical
