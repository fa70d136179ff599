"""`umasim report TRACE -o FILE` (umasim.views.html_report): the page's data
is the run (an exact replay, state channel by channel equal to what the
Python API reports at each step), the page fetches nothing, is the same
bytes every time, stays under 5 MiB for 10,000 steps, and bad input exits
with status 2.  The port's sources are in the core (bindings.port_sources).
The page in a real browser: test_report_browser.py."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reporthelp import GOLDEN, api_states, fake_explanation, long_trace, page_data
from umasim import Sim
from umasim.bindings import MAXCPU, POINT_LINES, POINTS, port_sources
from umasim.cli import main
from umasim.errors import Nondeterministic
from umasim.views import html_report
from umasim.views import trace as traces

ROOT = Path(__file__).resolve().parents[2]
NO_RECHECK = GOLDEN / "bug_no_recheck.trace"
ZONELIMIT = GOLDEN / "zonelimit_sleep_woken_by_free.trace"


def value_at(data: dict, channel: str, step: int):
    """The page's rule: the value of a channel's last change at or before
    the step."""
    last = None
    for at, idx in data["changes"][channel]:
        if at > step:
            break
        last = data["values"][idx]
    return last


# ---- the port's sources, compiled in ---------------------------------------------

def test_port_sources_are_the_checkouts_files():
    src = port_sources()
    for rel in ("vm/uma_core.c", "kern/sched.c", "kern/mutex.c", "vm/uma_sim.h"):
        assert src["files"][rel] == (ROOT / "csrc" / rel).read_text(encoding="utf-8")


def test_every_uma_point_has_its_line_in_the_port():
    src = port_sources()
    for pid, (name, line) in enumerate(zip(POINTS, POINT_LINES)):
        places = src["points"].get(name, [])
        if line > 0 or name in ("mtx_lock", "msleep", "critical_exit", "wakeup", "exit"):
            assert places, f"no place in the port for point {name}"
        for file, n, func, how in places:
            text = src["files"][file].splitlines()[n - 1]
            assert how in ("point", "block")
            if name.startswith("op:"):
                assert "sched_point(op_point[" in text
            elif name == "bug:stale_window":
                assert "UMA_BUG_STALE_WINDOW" in text
            else:
                # The line names the point's PT_ constant.
                assert re.search(r"\bPT_[A-Z0-9_]+", text), (name, file, n, text)
    # A point that blocks and stops in two places: both, told apart.
    hows = {tuple(p[2:]) for p in src["points"]["mtx_lock"]}
    assert hows == {("mtx_lock_nopoint", "block"), ("mtx_lock", "point")}
    assert [p[:3] for p in src["points"]["zalloc_race"]] == \
        [["vm/uma_core.c", next(n for n, line in enumerate(
            src["files"]["vm/uma_core.c"].splitlines(), 1)
            if "UMA_POINT(PT_ZALLOC_RACE)" in line), "uma_zalloc_arg"]]


# ---- the model's new readers -------------------------------------------------------

def test_mutexes_and_held_items():
    sim = Sim(cpus=1)
    sim.zcreate("z", 128)
    sim.spawn("a", ops=["lock m", "alloc z -> x", "unlock m", "free x"])
    assert sim.mutexes() == {"m": None} and sim.held_items() == {}
    sim.step("a")
    assert sim.mutexes() == {"m": "a"}
    while sim.variable("x")[0] != "held":
        sim.step("a")
    item = sim.variable("x")[2]
    assert sim.held_items() == {item: "x"}
    sim.run()
    assert sim.mutexes() == {"m": None} and sim.held_items() == {}


# ---- the data is the run -------------------------------------------------------------

@pytest.mark.parametrize("path", [NO_RECHECK, ZONELIMIT], ids=lambda p: p.stem)
def test_data_equals_the_api_at_every_step(path):
    tr = traces.read(path)
    data = html_report.build_data(tr, trace_path=str(path))
    n = tr.end["steps"]
    assert data["meta"]["steps"] == n and len(data["steps"]) == n
    assert data["meta"]["outcome"] == tr.end["end"]
    assert data["meta"]["panic"] == tr.end["panic"]
    want = api_states(path, range(n + 1))
    names = [t["name"] for t in data["meta"]["threads"]]
    step_events = [e for e in tr.events if e["ev"] == "step"]
    for k in range(n + 1):
        api = want[k]
        for i, name in enumerate(names):
            v = value_at(data, f"t{i}", k)
            assert (v[0], v[1], v[2]) == api["threads"][name], (k, name)
        for zi, zname in enumerate(data["meta"]["zones"]):
            caches = value_at(data, f"z{zi}.c", k)
            assert [(None if c[0] < 0 else c[0], None if c[2] < 0 else c[2])
                    for c in caches] == api["zones"][zname]["caches"], (k, zname)
            full, free = value_at(data, f"z{zi}.b", k)
            assert (len(full), len(free)) == (api["zones"][zname]["full"],
                                              api["zones"][zname]["free"])
            assert [(s[0], s[2]) for s in value_at(data, f"z{zi}.m", k)] == \
                api["zones"][zname]["slabs"], (k, zname)
    # Each step's thread, vCPU and point are the trace's step events.
    for ev in step_events:
        th, cpu, pt, tick = data["steps"][ev["step"] - 1]
        assert (names[th], cpu, POINTS[pt], tick) == (ev["thread"], ev["cpu"], ev["point"],
                                                     ev["tick"])


def test_locks_and_wait_messages_are_recorded():
    data = html_report.build_data(traces.read(ZONELIMIT))
    threads = [value for value in data["values"] if isinstance(value, list)
               and len(value) == 10 and isinstance(value[0], str)]
    assert any(v[0] == "asleep" and v[2] == "zonelimit" for v in threads)
    assert any(any(lock.endswith(" lock") for lock in v[5]) for v in threads)


def test_a_trace_that_does_not_replay_is_refused(tmp_path):
    text = NO_RECHECK.read_text().splitlines()
    end = text[-1].replace('"digest":"', '"digest":"0', 1).replace('","end"', '","end"')
    bad = tmp_path / "tampered.trace"
    bad.write_text("\n".join(text[:-1] + [end]) + "\n")
    with pytest.raises(Nondeterministic, match="does not replay"):
        html_report.build_data(traces.read(bad))


# ---- the page --------------------------------------------------------------------------

def _page(path=NO_RECHECK, explanation=None) -> str:
    return html_report.build(traces.read(path), explanation, trace_path=str(path))


def test_the_page_fetches_nothing():
    html = _page(explanation=fake_explanation(32, 20))
    assert re.search(r"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
                     r"'none';", html)
    lower = html.lower()
    for bad in ("<link", "<iframe", "<frame", "<object", "<embed", "<img", "<audio",
                "<video", "<base", "@import", "url(", "fetch(", "xmlhttprequest",
                "import(", "websocket", "eventsource", "sendbeacon", "<script src",
                "srcset"):
        assert bad not in lower, bad
    # The only URL is the SVG namespace, which names and fetches nothing.
    urls = set(re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"'<>]*", lower))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    assert not re.search(r"<[a-z][^>]*\s(src|href|data)\s*=", lower)


def test_the_page_is_the_same_bytes_in_every_process(tmp_path):
    outs = []
    for seed in ("0", "12345"):
        out = tmp_path / f"p{seed}.html"
        env = dict(os.environ, PYTHONHASHSEED=seed)
        subprocess.run([sys.executable, "-m", "umasim", "report", str(NO_RECHECK), "-o",
                        str(out), "--continuations", "5"], check=True, env=env,
                       capture_output=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1]
    assert page_data(outs[0].decode())["explain"]["decisive"]
    assert _page() == _page()


def test_the_page_holds_the_explanation():
    html = _page(explanation=fake_explanation(32, 20))
    data = page_data(html)
    assert data["explain"]["decisive"][0]["step"] == 20
    assert data["explain"]["curve"][0] == [0, 0.1] and len(data["explain"]["curve"]) == 33
    assert data["explain"]["slice"][1]["what"] == "made up: migrated"
    assert "zalloc_race" in data["sources"]        # the decisive step's point
    assert page_data(_page())["explain"] is None


def test_a_10000_step_trace_gives_a_page_under_5_mib(tmp_path):
    path = long_trace(tmp_path, 10_000)
    out = tmp_path / "long.html"
    assert main(["report", str(path), "-o", str(out)]) == 0
    size = out.stat().st_size
    assert size < 5 * 1024 * 1024, size
    data = page_data(out.read_text())
    assert data["meta"]["steps"] == 10_000 and len(data["steps"]) == 10_000
    # Compact: far fewer distinct values than steps times channels.
    assert len(data["values"]) < 10_000 * len(data["changes"]) // 4


# ---- the command -------------------------------------------------------------------------

def test_report_command(tmp_path, capsys):
    out = tmp_path / "failure.html"
    assert main(["report", str(NO_RECHECK), "-o", str(out), "--no-explain"]) == 0
    assert f"wrote {out}: panic after 32 steps" in capsys.readouterr().out
    data = page_data(out.read_text())
    assert data["meta"]["replay"] == f"umasim replay {NO_RECHECK}"
    assert data["meta"]["panic"] == "uma_zalloc_arg: Freeing a non free bucket."


def test_report_bad_input_exits_2(tmp_path, capsys):
    out = tmp_path / "x.html"
    truncated = tmp_path / "truncated.trace"
    truncated.write_text("\n".join(NO_RECHECK.read_text().splitlines()[:-1]) + "\n")
    assert main(["report", str(truncated), "-o", str(out)]) == 2
    assert "truncated" in capsys.readouterr().err
    tampered = tmp_path / "tampered.trace"
    lines = NO_RECHECK.read_text().splitlines()
    tampered.write_text("\n".join(lines[:-1] + [lines[-1].replace(
        '"digest":"', '"digest":"0', 1)]) + "\n")
    assert main(["report", str(tampered), "-o", str(out)]) == 2
    assert "does not replay" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing.trace"), "-o", str(out)]) == 2
    assert main(["report", str(NO_RECHECK), "-o", str(out), "--continuations", "0"]) == 2
    assert "--continuations" in capsys.readouterr().err
    assert main(["report", str(NO_RECHECK), "-o", str(tmp_path / "no" / "dir.html"),
                 "--no-explain"]) == 2
    assert "cannot write" in capsys.readouterr().err
    assert main(["report", str(NO_RECHECK)]) == 2          # -o is required
    assert not out.exists()


def test_report_explains_a_failing_trace_and_not_a_completed_one(tmp_path, capsys):
    out = tmp_path / "failure.html"
    assert main(["report", str(NO_RECHECK), "-o", str(out), "--continuations", "10",
                 "--seed", "3"]) == 0
    assert "with its explanation" in capsys.readouterr().out
    data = page_data(out.read_text())
    ex = data["explain"]
    assert ex["continuations"] == 10 and ex["seed"] == 3
    assert ex["decisive"] and all(d["point"] in data["sources"] for d in ex["decisive"])
    assert ex["curve"][-1][1] == 1.0 and ex["slice"]
    ok = GOLDEN / "migration_alloc_slow_path.trace"
    assert main(["report", str(ok), "-o", str(out)]) == 0
    assert "without an explanation" in capsys.readouterr().out
    assert page_data(out.read_text())["explain"] is None


def test_a_decisions_level_trace_gives_the_same_page_data(tmp_path):
    scn = ROOT / "scenarios" / "bug_no_recheck.toml"
    full, dec = tmp_path / "full.trace", tmp_path / "dec.trace"
    assert main(["run", str(scn), "--trace", str(full)]) == 0
    assert main(["run", str(scn), "--trace", str(dec), "--trace-level", "decisions"]) == 0
    a = html_report.build_data(traces.read(full))
    b = html_report.build_data(traces.read(dec))
    assert a["steps"] and all(s[0] >= 0 for s in a["steps"]) and a["events"]
    assert a == b


def test_the_slab_map_tells_every_vcpus_buckets_apart(tmp_path):
    codes = html_report._CPU_ALPHABET
    assert len(set(codes)) == len(codes) == 2 * MAXCPU
    assert not set(codes) & set(html_report._CAT_CODES.values())
    scn = tmp_path / "many.toml"
    scn.write_text(f'[sim]\ncpus = {MAXCPU}\n\n[[zone]]\nname = "z"\nsize = 256\n\n'
                   f'[[thread]]\nname = "a"\ncpu = {MAXCPU - 1}\n'
                   'ops = ["alloc z -> x", "free x", "alloc z -> y"]\n')
    path = tmp_path / "many.trace"
    assert main(["run", str(scn), "--trace", str(path)]) == 0
    data = html_report.build_data(traces.read(path))
    slabs = value_at(data, "z0.m", data["meta"]["steps"])
    items = "".join(s[2] for s in slabs)
    # y is held, x went to the last vCPU's free bucket, the rest of the
    # bucket y came from is that vCPU's alloc bucket.
    alloc, free = data["cpu_codes"][2 * (MAXCPU - 1):]
    assert items.count("H") == 1 and items.count(free) == 1 and items.count(alloc) > 0
    assert set(items) == {"H", ".", alloc, free}
