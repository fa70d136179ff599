"""The `umasim` command (docs/design.md, "Command line"): `run` with and without
a scenario, its human and JSON reports, expectations and exit statuses
(0 as expected, 1 not, 2 bad input), `--seed`, and `stats`."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from umasim.cli import main

VMSTAT_COLUMNS = ["ITEM", "SIZE", "LIMIT", "USED", "FREE", "REQUESTS", "FAILURES"]
TOP_KEYS = {"outcome", "steps", "ticks", "panic", "host_fault", "console", "threads", "zones",
            "events", "digest", "coverage", "expectations"}
THREAD_KEYS = {"name", "state", "cpu", "wmesg", "mutex"}
ZONE_KEYS = {"name", "size", "limit", "used", "free", "requests", "fails", "rsize", "ipers",
             "ppera", "pgoff", "pages", "flags", "uz_count"}

# Two threads left asleep on a zone's limit, one waiting for pages.
ASLEEP = """
[sim]
pages = 4

[[zone]]
name = "lim"
size = 256
max = 15

[[zone]]
name = "big"
size = 8192

[[thread]]
name = "a"
repeat = 20
ops = ["alloc lim -> a{i}"]

[[thread]]
name = "b"
cpu = 1
repeat = 20
ops = ["alloc lim -> b{i}"]

[[thread]]
name = "c"
cpu = 1
repeat = 10
ops = ["alloc big -> c{i}"]

[expect]
outcome = "deadlock"
"""

# A duplicate free under INVARIANTS: uma_dbg prints, then panics.
PANIC = """
[[zone]]
name = "z"
size = 128

[[thread]]
name = "a"
ops = ["alloc z -> x", "free x", "free x"]

[expect]
outcome = "panic"
panic = "Duplicate free"
"""

RANDOM = """
[[zone]]
name = "z"
size = 128

[[thread]]
name = "a"
repeat = 6
ops = ["alloc z -> a{i}", "free a{i}"]

[[thread]]
name = "b"
cpu = 1
repeat = 6
ops = ["alloc z -> b{i}", "yield", "free b{i}"]

[schedule]
policy = "random"
seed = 7
migrate = 0.3
"""


def write(tmp_path, text, name="s.toml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return str(p)


def run_json(capsys, *argv):
    code = main(["run", "--json", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def cli(*argv, **kw):
    return subprocess.run([sys.executable, "-m", "umasim.cli", *argv], capture_output=True,
                          text=True, timeout=60, **kw)


# -- end to end, in other processes --------------------------------------

def test_run_without_a_scenario_runs_the_built_in_default():
    p = cli("run")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    out = p.stdout
    assert out.startswith("outcome: completed after ")
    assert "threads:" in out
    for name in ("softclock", "producer", "consumer", "other"):
        assert f"\n  {name} " in out
    lines = out.splitlines()
    header = next(l for l in lines if l.startswith("ITEM"))
    assert header.split() == VMSTAT_COLUMNS
    row = next(l for l in lines if l.startswith("mbuf:"))
    assert [f.strip() for f in row[len("mbuf:"):].split(",")][:2] == ["256", "15"]
    assert "expectations: ok" in out


def test_run_json_has_exactly_the_keys_of_the_design():
    p = cli("run", "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)                    # one object, nothing else
    assert set(d) == TOP_KEYS
    assert d["outcome"] == "completed" and d["panic"] is None
    assert isinstance(d["steps"], int) and d["steps"] > 0
    assert isinstance(d["ticks"], int) and isinstance(d["digest"], str)
    assert d["console"] == []
    assert d["expectations"] == {"ok": True, "failures": []}
    assert [t["name"] for t in d["threads"]] == ["softclock", "producer", "consumer", "other"]
    for t in d["threads"]:
        assert set(t) == THREAD_KEYS
    for z in d["zones"]:
        assert set(z) == ZONE_KEYS
        assert all(isinstance(f, str) for f in z["flags"])
    mbuf = next(z for z in d["zones"] if z["name"] == "mbuf")
    assert (mbuf["size"], mbuf["limit"], mbuf["used"], mbuf["fails"]) == (256, 15, 0, 0)
    assert mbuf["rsize"] >= 256 and mbuf["ipers"] >= 1 and mbuf["ppera"] == 1
    assert all(isinstance(v, int) and v > 0 for v in d["events"].values())
    assert d["events"]["op_begin"] == d["events"]["op_end"] == 40 + 40 + 3 * 20


def test_bad_input_exits_2_with_a_message_on_stderr_only(tmp_path):
    path = write(tmp_path, "[sim]\ncpus = 0\n", "bad.toml")
    p = cli("run", "--json", path)
    assert p.returncode == 2
    assert p.stdout == ""
    assert p.stderr == f"umasim: error: {path}:2: sim.cpus: must be at least 1, not 0\n"


def test_the_umasim_script(tmp_path):
    path = write(tmp_path, PANIC)
    p = subprocess.run(["umasim", "stats", path], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[0].split() == VMSTAT_COLUMNS


# -- run: reports and expectations ---------------------------------------

def test_expectation_failed_exits_1(tmp_path, capsys):
    path = write(tmp_path, '[[thread]]\nname = "a"\nops = ["yield"]\n'
                 '[expect]\noutcome = "deadlock"\n')
    assert main(["run", path]) == 1
    out = capsys.readouterr().out
    assert "outcome: completed" in out
    assert "expectations: FAILED" in out
    assert "outcome is completed, expected deadlock" in out
    code, d, _ = run_json(capsys, path)
    assert code == 1
    assert d["expectations"] == {"ok": False,
                                 "failures": ["outcome is completed, expected deadlock"]}


def test_no_expectations_means_completed(tmp_path, capsys):
    ok = write(tmp_path, '[[thread]]\nname = "a"\nops = ["yield"]\n', "ok.toml")
    assert main(["run", ok]) == 0
    assert "expectations" not in capsys.readouterr().out     # none were given
    stuck = write(tmp_path, '[[thread]]\nname = "a"\nops = ["tsleep chan"]\n', "stuck.toml")
    code, d, _ = run_json(capsys, stuck)
    assert (code, d["outcome"]) == (1, "deadlock")
    a = next(t for t in d["threads"] if t["name"] == "a")
    assert a["state"] == "asleep"


def test_zone_and_event_expectations(tmp_path, capsys):
    base = '[[zone]]\nname = "z"\nsize = 64\n[[thread]]\nname = "a"\n' \
           'ops = ["alloc z -> x"]\n[expect]\n'
    good = write(tmp_path, base + 'zone.z = { used = 1, requests = ">=1", fails = 0 }\n'
                 'events = { op_end = 1, panic = 0 }\n', "good.toml")
    assert main(["run", good]) == 0
    assert "expectations: ok" in capsys.readouterr().out
    bad = write(tmp_path, base + 'zone.z = { used = 2 }\nevents = { migration = ">=1" }\n',
                "bad.toml")
    code, d, _ = run_json(capsys, bad)
    assert code == 1
    assert d["expectations"]["failures"] == ["zone z: used is 1, expected 2",
                                             "events migration: 0, expected >=1"]


@pytest.mark.parametrize("asleep,code", [
    (["zonelimit", "vmwait", "zonelimit"], 0),
    (["vmwait", "zonelimit"], 0),                   # a set: order and repeats do not count
    (["zonelimit"], 1),                             # vmwait is missing
    (["zonelimit", "vmwait", "softclock"], 1),      # kernel threads are not counted
])
def test_asleep_compares_as_a_set(tmp_path, capsys, asleep, code):
    path = write(tmp_path, ASLEEP + f"asleep = {json.dumps(asleep)}\n")
    got, d, _ = run_json(capsys, path)
    assert d["outcome"] == "deadlock"
    assert sorted((t["name"], t["wmesg"]) for t in d["threads"] if t["state"] == "asleep") \
        == [("a", "zonelimit"), ("b", "zonelimit"), ("c", "vmwait"), ("softclock", "softclock")]
    assert got == code, d["expectations"]
    if code:
        assert d["expectations"]["failures"][0].startswith("threads asleep on ")


@pytest.mark.parametrize("console,code", [
    ([], 0),
    (["Duplicate free of item 0x"], 0),
    (["uplicate", "freei 0"], 0),                   # substrings, of any line
    (["Duplicate free", "Memory modified after free"], 1),
])
def test_console_expectations_are_substrings(tmp_path, capsys, console, code):
    path = write(tmp_path, PANIC + f"console = {json.dumps(console)}\n")
    got, d, _ = run_json(capsys, path)
    assert d["outcome"] == "panic"
    assert d["panic"].startswith("Duplicate free of item 0xfffff8")
    assert any("Duplicate free" in line for line in d["console"])
    assert got == code, d["expectations"]
    if code:
        assert d["expectations"]["failures"] == \
            ["no console line contains 'Memory modified after free'"]


def test_human_report_of_a_panic(tmp_path, capsys):
    assert main(["run", write(tmp_path, PANIC)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("outcome: panic after ")
    assert "\npanic: Duplicate free of item " in out
    assert "\nconsole:\n" in out
    assert "  a            cpu 0  panicked" in out
    assert "expectations: ok" in out


def test_panic_expectation_is_a_substring(tmp_path, capsys):
    path = write(tmp_path, PANIC.replace('"Duplicate free"', '"Memory modified"'))
    code, d, _ = run_json(capsys, path)
    assert code == 1
    assert d["expectations"]["failures"][0].startswith("panic 'Duplicate free")


# -- --seed ---------------------------------------------------------------

def test_seed_changes_a_random_schedule(tmp_path, capsys):
    path = write(tmp_path, RANDOM)
    runs = {}
    for seed in (None, 7, 8, 9):
        args = [path] if seed is None else ["--seed", str(seed), path]
        code, d, _ = run_json(capsys, *args)
        assert code == 0 and d["outcome"] == "completed"
        runs[seed] = (d["digest"], d["steps"], d["events"].get("migration", 0))
    assert runs[None] == runs[7]                # the file's own seed
    assert len({runs[7], runs[8], runs[9]}) == 3
    # and the same seed gives the same run
    assert run_json(capsys, "--seed", "8", path)[1]["digest"] == runs[8][0]


# -- stats ----------------------------------------------------------------

def test_stats_prints_the_vmstat_table(tmp_path, capsys):
    path = write(tmp_path, ASLEEP)
    assert main(["stats", path]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == VMSTAT_COLUMNS
    assert out[1] == ""
    rows = {l.split(":")[0]: [int(f) for f in l.split(":", 1)[1].split(",")]
            for l in out[2:] if l}
    assert set(rows) >= {"lim", "big", "UMA Kegs", "UMA Zones", "16 Bucket", "4096"}
    size, limit, used, free, requests, failures = rows["lim"]
    assert (size, used, requests, failures) == (256, used, used, 0)
    assert used >= 15 and limit == 15
    assert all(len(r) == 6 for r in rows.values())


# -- bad input ------------------------------------------------------------

@pytest.mark.parametrize("argv_tail,content,message", [
    (["run"], "[sim]\ncpus = 65\n", ":2: sim.cpus: must be at most 64, not 65"),
    (["run", "--json"], '[[thread]]\nname = "a"\nops = ["alloc mbf -> x"]\n',
     ':3: thread[0].ops[0]: unknown zone "mbf"'),
    (["run"], "[sim\n", ": not valid TOML"),
    (["stats"], "[sim]\nbugs = ['nope']\n", ":2: sim.bugs[0]: unknown bug switch 'nope'"),
])
def test_bad_scenario_exits_2(tmp_path, capsys, argv_tail, content, message):
    path = write(tmp_path, content)
    assert main([*argv_tail, path]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"umasim: error: {path}")
    assert message in err and err.count("\n") == 1


def test_unreadable_and_non_utf8_files_exit_2(tmp_path, capsys):
    missing = str(tmp_path / "missing.toml")
    assert main(["run", missing]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"umasim: error: {missing}: cannot read")
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b"# \xe9\n")
    assert main(["run", str(latin)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "UTF-8" in err


def test_bad_arguments_exit_2(capsys):
    assert main(["run", "--seed", "-1"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "umasim: error: --seed must not be negative\n"
    for argv in (["run", "--seed", "x"], ["run", "--bogus"], ["stats"], ["frob"]):
        assert main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert out == "" and "umasim: error: " in err
