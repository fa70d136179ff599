"""Traces and replay (docs/design.md, "Traces and replay"): a JSON Lines trace
stands alone (its header carries the whole normalised scenario, bug
switches included), decisions are stored compactly, digests come every N
steps and at the end, the same run gives the same bytes in every process,
and `umasim replay` tells identical (0) from diverged (1, with the first
diverging step) from not a trace (2)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import umasim
from umasim.views import trace as tracemod
from umasim.cli import main
from umasim.model.scenario import loads
from umasim.views.trace import TraceError, compress, expand

SCENARIO = """
[sim]
pages = 32
bugs = ["wakeup_one"]

[[zone]]
name = "z"
size = 128
max = 20
ctor = "trash"

[[thread]]
name = "a"
repeat = 10
ops = ["alloc z -> a{i}", "yield", "free a{i}"]

[[thread]]
name = "b"
cpu = 1
repeat = 10
ops = ["alloc z -> b{i}", "free b{i}"]

[schedule]
policy = "random"
seed = 5
migrate = 0.2
"""
EVERY = 10


@pytest.fixture(scope="module")
def scen(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("scen") / "s.toml"
    p.write_text(textwrap.dedent(SCENARIO), encoding="utf-8")
    return p


def record(scen, out: Path, *extra: str) -> Path:
    assert main(["run", str(scen), "--trace", str(out), "--digest-every", str(EVERY),
                 *extra]) == 0
    return out


@pytest.fixture(scope="module")
def full(scen, tmp_path_factory) -> Path:
    return record(scen, tmp_path_factory.mktemp("full") / "run.trace")


def lines(path: Path) -> list[dict]:
    return [json.loads(l) for l in path.read_text(encoding="utf-8").splitlines()]


def dump(recs: list[dict]) -> str:
    return "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in recs)


def replay(capsys, path) -> tuple[int, str, str]:
    code = main(["replay", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


# -- compact decisions ---------------------------------------------------

def test_runs_of_zeros_become_negative_numbers():
    assert compress([]) == [] and expand([]) == []
    assert compress([0, 0, 0]) == [-3]
    assert compress([0, 0, 0, 2, 0, 1, 1, 0, 0]) == [-3, 2, -1, 1, 1, -2]
    assert compress([5, 3]) == [5, 3]
    assert expand([-3, 2, -1, 1, 1, -2]) == [0, 0, 0, 2, 0, 1, 1, 0, 0]


def test_compact_decisions_round_trip():
    rng = random.Random(1)
    for _ in range(300):
        dec = [rng.choice([0, 0, 0, 1, 2, 7]) for _ in range(rng.randrange(40))]
        c = compress(dec)
        assert expand(c) == dec
        assert 0 not in c
        assert all(not (x < 0 and y < 0) for x, y in zip(c, c[1:]))   # runs are merged
    with pytest.raises(TraceError):
        expand([1, "2"])


# -- what a trace holds --------------------------------------------------

def test_header_carries_the_whole_normalised_scenario(full):
    head = lines(full)[0]
    assert head["trace"] == "umasim"
    assert head["version"] == tracemod.VERSION == 4
    assert head["umasim"] == umasim.__version__
    assert (head["level"], head["digest_every"]) == ("full", EVERY)
    assert head["scenario"] == loads(textwrap.dedent(SCENARIO)).to_dict()
    sim = head["scenario"]["sim"]
    assert sim["bugs"] == ["wakeup_one"]
    assert set(sim) == {"cpus", "pages", "kmem_pages", "free_min", "boot_pages",
                        "md_small_alloc", "pagedaemon", "ticks_per_step", "granularity",
                        "invariants", "bugs", "seed", "align_cache"}
    assert head["scenario"]["zone"] == [{"name": "z", "size": 128, "align": "ptr",
                                         "flags": [], "max": 20, "ctor": "trash"}]
    assert head["scenario"]["schedule"]["seed"] == 5
    assert isinstance(head["start_digest"], str)


def test_the_trace_stands_alone(full, tmp_path, capsys):
    # Moved away from its scenario file, which is gone, it still replays.
    moved = tmp_path / "elsewhere.trace"
    moved.write_bytes(full.read_bytes())
    code, out, _ = replay(capsys, moved)
    assert code == 0 and out.startswith("identical: ")


def test_full_level_records_events_digests_and_the_end(full, scen, capsys):
    recs = lines(full)
    body, end = recs[1:-1], recs[-1]
    events = [r for r in body if "ev" in r]
    digests = [r for r in body if "ev" not in r]
    assert events and all(set(r) == {"digest", "step"} for r in digests)
    kinds = {e["ev"] for e in events}
    assert {"op_begin", "op_end", "migration", "slab_alloc"} <= kinds
    assert all(e["a"].startswith("0xfffff8") for e in events if e["ev"] == "slab_alloc")
    assert [e["step"] for e in events] == sorted(e["step"] for e in events)
    # Digests every EVERY steps before the last, whose digest is the end
    # record's (this run's length is a multiple of EVERY).
    steps = end["steps"]
    assert steps > 3 * EVERY and steps % EVERY == 0
    assert [d["step"] for d in digests] == list(range(EVERY, steps, EVERY))
    assert end["end"] == "completed"
    assert isinstance(end["digest"], str) and end["panic"] is None
    assert len(expand(end["decisions"])) == steps
    # The same as the run's own report.
    code = main(["run", str(scen), "--json"])
    d = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (d["steps"], d["digest"]) == (steps, end["digest"])
    assert len(events) == sum(d["events"].values())


def test_decisions_level_has_the_same_digests_and_no_events(full, scen, tmp_path):
    dec = record(scen, tmp_path / "dec.trace", "--trace-level", "decisions")
    f, d = lines(full), lines(dec)
    assert d[0]["level"] == "decisions"
    assert not any("ev" in r for r in d)
    assert d[1:] == [r for r in f[1:] if "ev" not in r]
    assert {**d[0], "level": "full"} == f[0]


def test_a_sequential_run_is_one_run_of_zeros(tmp_path):
    scen = tmp_path / "seq.toml"
    scen.write_text('[[thread]]\nname = "a"\nrepeat = 5\nops = ["yield"]\n', encoding="utf-8")
    t = record(scen, tmp_path / "seq.trace")
    end = lines(t)[-1]
    assert end["decisions"] == [-end["steps"]]


# -- the same bytes every time ------------------------------------------

def test_same_run_same_bytes(full, scen, tmp_path):
    again = record(scen, tmp_path / "again.trace")
    assert again.read_bytes() == full.read_bytes()


def test_same_bytes_in_other_processes(full, scen, tmp_path):
    outs = []
    for hashseed in ("1", "4242"):
        out = tmp_path / f"p{hashseed}.trace"
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        p = subprocess.run([sys.executable, "-m", "umasim.cli", "run", str(scen), "--trace",
                            str(out), "--digest-every", str(EVERY)], env=env,
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stderr
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] == full.read_bytes()


# -- replay --------------------------------------------------------------

def test_replay_identical(full, scen, tmp_path, capsys):
    code, out, err = replay(capsys, full)
    recs = lines(full)
    assert (code, err) == (0, "")
    assert out == f"identical: {recs[-1]['steps']} steps, outcome completed, " \
                  f"{len(recs[-1:]) + sum('ev' not in r for r in recs[1:-1])} digests match\n"
    dec = record(scen, tmp_path / "dec.trace", "--trace-level", "decisions")
    assert replay(capsys, dec)[0] == 0
    assert main(["replay", "--json", str(full)]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "identical": True, "step": None, "message": out.rstrip("\n")}


def test_replay_of_a_trace_written_with_a_seed(scen, tmp_path, capsys):
    t = record(scen, tmp_path / "seed.trace", "--seed", "99")
    assert lines(t)[0]["scenario"]["schedule"]["seed"] == 5      # the file's, as written
    assert replay(capsys, t)[0] == 0                              # the decisions rule


def alter(full: Path, tmp_path: Path, change) -> Path:
    recs = lines(full)
    change(recs)
    out = tmp_path / "altered.trace"
    out.write_text(dump(recs), encoding="utf-8")
    return out


def test_altered_digest_diverges_at_its_step(full, tmp_path, capsys):
    def change(recs):
        d = next(r for r in recs if r.get("step") == 2 * EVERY and "ev" not in r)
        d["digest"] = "0123456789abcdef"
    code, out, _ = replay(capsys, alter(full, tmp_path, change))
    assert code == 1
    assert out.startswith(f"first divergence at step {2 * EVERY}: ")
    assert "0123456789abcdef" in out
    assert main(["replay", "--json", str(tmp_path / "altered.trace")]) == 1
    j = json.loads(capsys.readouterr().out)
    assert (j["identical"], j["step"]) == (False, 2 * EVERY)


def test_altered_end_digest_diverges_at_the_last_step(full, tmp_path, capsys):
    def change(recs):
        recs[-1]["digest"] = "0123456789abcdef"
    code, out, _ = replay(capsys, alter(full, tmp_path, change))
    assert code == 1
    assert out.startswith(f"first divergence at step {lines(full)[-1]['steps']}: ")


def test_altered_decision_diverges_at_the_next_digest(full, tmp_path, capsys):
    recs = lines(full)
    dec = expand(recs[-1]["decisions"])
    # The first non-default decision after step 2*EVERY, made default: a
    # different thread runs (or none migrates) at that step.
    k = next(i for i, d in enumerate(dec) if d and i >= 2 * EVERY)
    step = k + 1
    dec[k] = 0

    def change(recs):
        recs[-1]["decisions"] = compress(dec)
    code, out, _ = replay(capsys, alter(full, tmp_path, change))
    assert code == 1
    nxt = -(-step // EVERY) * EVERY
    assert out.startswith(f"first divergence at step {nxt}: ")


def test_start_digest_altered(full, tmp_path, capsys):
    def change(recs):
        recs[0]["start_digest"] = "0123456789abcdef"
    code, out, _ = replay(capsys, alter(full, tmp_path, change))
    assert code == 1 and out.startswith("first divergence at step 0: ")


# -- not a trace ---------------------------------------------------------

def bad(capsys, path) -> str:
    code, out, err = replay(capsys, path)
    assert (code, out) == (2, "")
    assert err.startswith("umasim: error: ") and err.count("\n") == 1
    return err


def test_truncated_trace(full, tmp_path, capsys):
    t = tmp_path / "t.trace"
    t.write_text("".join(full.read_text().splitlines(keepends=True)[:-1]))
    assert "truncated (no end record)" in bad(capsys, t)
    # cut in the middle of the end line: that line is not JSON
    t.write_bytes(full.read_bytes()[:-40])
    assert "corrupted line" in bad(capsys, t)


def test_corrupted_line(full, tmp_path, capsys):
    ls = full.read_text().splitlines(keepends=True)
    ls[5] = '{"ev": "step", "step": \n'
    t = tmp_path / "c.trace"
    t.write_text("".join(ls))
    assert f"{t}:6: corrupted line" in bad(capsys, t)
    ls[5] = "[1, 2]\n"
    t.write_text("".join(ls))
    assert f"{t}:6: corrupted line" in bad(capsys, t)


def test_wrong_version(full, tmp_path, capsys):
    t = alter(full, tmp_path, lambda recs: recs[0].update(version=5))
    err = bad(capsys, t)
    assert "version 5" in err and "version 4" in err


def test_a_version_1_trace_is_refused_with_status_2_naming_its_version(full, tmp_path, capsys):
    """Version 1 traces were written before the point after the unlocked
    read of UMA_ZFLAG_FULL: their steps no longer match."""
    t = alter(full, tmp_path, lambda recs: recs[0].update(version=1))
    err = bad(capsys, t)
    assert "trace format version 1; this umasim reads version 4" in err


def test_a_version_2_trace_is_refused_with_status_2_naming_its_version(full, tmp_path, capsys):
    """Version 2 traces were written before digests covered the
    configuration (bug switches, granularity, ticks per step, INVARIANTS):
    their digests no longer match."""
    t = alter(full, tmp_path, lambda recs: recs[0].update(version=2))
    err = bad(capsys, t)
    assert "trace format version 2; this umasim reads version 4" in err


def test_a_version_3_trace_is_refused_with_status_2_naming_its_version(full, tmp_path, capsys):
    """Version 3 traces were written before kmem_malloc's reclaim rounds,
    mt_zone and sleep events' wait messages: their runs and digests no
    longer match."""
    t = alter(full, tmp_path, lambda recs: recs[0].update(version=3))
    err = bad(capsys, t)
    assert "trace format version 3; this umasim reads version 4" in err


def test_sleep_events_carry_their_wait_message(full):
    """A sleep event names why the thread slept (its wmesg: "zonelimit"
    here, a keg at its limit); no other event has the field."""
    evs = [r for r in lines(full)[1:] if "ev" in r]
    sleeps = [r for r in evs if r["ev"] == "sleep"]
    assert sleeps and all(r["wmesg"] == "zonelimit" for r in sleeps)
    assert all("wmesg" not in r for r in evs if r["ev"] != "sleep")


def test_not_an_umasim_trace(tmp_path, capsys):
    t = tmp_path / "x.trace"
    t.write_text('{"hello": "world"}\n')
    assert "not an umasim trace" in bad(capsys, t)


def test_empty_file(tmp_path, capsys):
    t = tmp_path / "empty.trace"
    t.write_text("")
    assert "empty file" in bad(capsys, t)
    t.write_text("\n\n")
    assert "empty file" in bad(capsys, t)


def test_missing_and_non_utf8_files(tmp_path, capsys):
    assert "cannot read" in bad(capsys, tmp_path / "missing.trace")
    t = tmp_path / "bin.trace"
    t.write_bytes(b"\xff\xfe{}\n")
    assert "UTF-8" in bad(capsys, t)


def test_invalid_scenario_in_the_header(full, tmp_path, capsys):
    t = alter(full, tmp_path, lambda recs: recs[0]["scenario"]["sim"].update(cpus=0))
    err = bad(capsys, t)
    assert ":1: the scenario in the header is invalid" in err and "sim.cpus" in err


@pytest.mark.parametrize("change,what", [
    (lambda recs: recs[-1].update(decisions=[-10**12]), "decisions"),
    (lambda recs: recs[-1].update(decisions=[1, "x"]), "corrupted end record"),
    (lambda recs: recs[-1].pop("digest"), "lacks 'digest'"),
    (lambda recs: recs[0].update(digest_every="often"), "corrupted header"),
    (lambda recs: recs[0].update(level="some"), "unknown trace level"),
    (lambda recs: recs.insert(3, {"what": 1}), "unknown record"),
    (lambda recs: recs.append({"digest": "x", "step": 1}), "data after the end record"),
])
def test_corrupted_records(full, tmp_path, capsys, change, what):
    assert what in bad(capsys, alter(full, tmp_path, change))
