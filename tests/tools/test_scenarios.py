"""The shipped scenario library (scenarios/*.toml).

Every file runs through the command line as a user would run it, meets
its own [expect] table (exit status 0), and writes a trace that
`umasim replay` reproduces digest for digest.  Every file says in a header
comment what it shows and which FreeBSD 7 uma_core.c lines are involved, and pins its
behaviour with more than an outcome; every known-bug switch has a
scenario of its own."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from umasim import cli
from umasim.model.scenario import load
from umasim.model.sim import KNOWN_BUGS

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
SCENARIOS = sorted(SCENARIO_DIR.glob("*.toml"))
FREEBSD_LINES = 2950       # FreeBSD 7's uma_core.c is about this long
ids = [p.stem for p in SCENARIOS]


def header(path: Path) -> list[str]:
    """The comment lines at the top of a file, '#' removed."""
    out = []
    for line in path.read_text("utf-8").splitlines():
        if not line.startswith("#"):
            break
        out.append(line[1:].strip())
    return out


def test_the_library_is_there():
    assert len(SCENARIOS) >= 25
    names = {p.name for p in SCENARIOS}
    assert all(re.fullmatch(r"[a-z0-9_]+\.toml", n) for n in names), names


@pytest.mark.parametrize("path", SCENARIOS, ids=ids)
def test_scenario_runs_as_expected_and_its_trace_replays(path, tmp_path, capsys):
    trace = tmp_path / "run.jsonl"
    rc = cli.main(["run", str(path), "--trace", str(trace), "--digest-every", "50"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "expectations: ok" in out
    rc = cli.main(["replay", str(trace)])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert out.startswith("identical")


@pytest.mark.parametrize("path", SCENARIOS, ids=ids)
def test_scenario_has_a_header_citing_freebsd_lines(path):
    """The header cites FreeBSD 7's uma_core.c by line ("FreeBSD 7 uma_core.c
    lines 1870-1886", then "line 2002" for later ones) and names the
    functions involved; it cites nothing a reader of the repository lacks."""
    text = " ".join(header(path))
    assert len(text) > 200, f"{path.name}: no header comment saying what it shows"
    first = re.search(r"FreeBSD 7(?:'s)? (?:`?sys/vm/)?uma_core\.c`? lines? (\d{2,4})", text)
    assert first, f"{path.name}: the header cites no FreeBSD 7 uma_core.c line"
    cited = [int(n) for n in re.findall(r"\blines?\s+(\d{2,4})", text)]
    assert all(1 <= n <= FREEBSD_LINES for n in cited), cited
    # the functions involved are named, as in FreeBSD's code
    assert re.search(r"\b(uma|zone|slab|keg|bucket|cache|hash|page|kmem)_[a-z_]+", text)
    stale = re.search(r"\bseed lines?\b|\bthe seed\b|uma-facts|design\.md|\bissue \d", text)
    assert not stale, f"{path.name}: the header cites {stale.group(0)!r}"


@pytest.mark.parametrize("path", SCENARIOS, ids=ids)
def test_scenario_pins_more_than_its_outcome(path):
    scn = load(path)
    e = scn.expect
    assert "outcome" in e
    assert {"zone", "events", "panic", "console", "asleep"} & set(e), path.name
    if e["outcome"] == "panic":
        assert "panic" in e
    if e["outcome"] == "deadlock":
        assert e.get("asleep")


def test_every_known_bug_switch_has_a_scenario():
    covered = {b for p in SCENARIOS for b in load(p).sim["bugs"]}
    assert covered == set(KNOWN_BUGS)


@pytest.mark.parametrize("name", ["bug_wakeup_one", "bug_full_bypass", "bug_no_recheck",
                                  "bug_stale_cache", "bug_zero_bucket",
                                  "bug_limit_overshoot", "bug_drain_leak",
                                  "bug_stats_shared_keg", "bug_free_null_bucket"])
def test_bug_scenario_misses_its_expectations_without_the_switch(name, tmp_path, capsys):
    """Each bug scenario shows the switch's doing: the same file with the
    switch taken out does not meet the expectations."""
    text = (SCENARIO_DIR / f"{name}.toml").read_text("utf-8")
    fixed = re.sub(r"(?m)^bugs = \[.*\]\n", "", text)
    assert fixed != text
    p = tmp_path / f"{name}_fixed.toml"
    p.write_text(fixed, "utf-8")
    rc = cli.main(["run", str(p), "--json"])
    res = json.loads(capsys.readouterr().out)
    assert rc == 1 and not res["expectations"]["ok"]
    assert res["outcome"] == "completed"


@pytest.mark.parametrize("name", ["zonelimit_deadlock_stranded_items", "uz_count_growth"])
def test_command_line_in_a_subprocess_with_decision_traces(name, tmp_path):
    trace = tmp_path / "t.jsonl"
    path = SCENARIO_DIR / f"{name}.toml"
    r = subprocess.run([sys.executable, "-m", "umasim.cli", "run", str(path), "--trace",
                        str(trace), "--trace-level", "decisions", "--json"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads(r.stdout)["expectations"]["ok"]
    r = subprocess.run([sys.executable, "-m", "umasim.cli", "replay", str(trace)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
