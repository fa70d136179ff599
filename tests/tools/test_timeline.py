"""Timelines (docs/design.md, "Traces and replay"): a trace as Chrome Trace Event
JSON -- one track per vCPU, a slice per step named by thread and
operation, instants for lock contention, sleeps, wakeups, migrations, page
exhaustion and panics, counters for free pages and cached items."""

from __future__ import annotations

import json
import textwrap
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from umasim.views import trace as tracemod
from umasim.cli import main
from umasim.model.scenario import loads
from umasim.model.sim import OPCODES

# Three vCPUs; a page shortage (nowait allocations fail), a contended zone
# lock, sleeps and wakeups, and a random schedule that migrates.
BUSY = """
[sim]
cpus = 3
pages = 4

[[zone]]
name = "big"
size = 4096

[[zone]]
name = "lim"
size = 256
max = 15

[[thread]]
name = "a"
repeat = 8
ops = ["alloc big nowait -> b{i}"]

[[thread]]
name = "b"
cpu = 2
repeat = 20
ops = ["alloc lim -> x{i}"]

[[thread]]
name = "c"
cpu = 2
repeat = 20
ops = ["sleep 5", "free x{i}"]

[schedule]
policy = "random"
seed = 3
migrate = 0.2
"""

PANIC = """
[[zone]]
name = "z"
size = 128

[[thread]]
name = "a"
ops = ["alloc z -> x", "free x", "free x"]
"""

INSTANTS = {"lock_contended": "lock contended", "sleep": "sleep", "wakeup": "wakeup",
            "migration": "migration", "page_fail": "page exhaustion", "panic": "panic"}


def make(tmp_path: Path, text: str, name: str) -> tuple[Path, dict, dict]:
    """Scenario -> trace -> timeline; returns the trace path, the timeline
    loaded back, and the trace's last record."""
    scen = tmp_path / f"{name}.toml"
    scen.write_text(textwrap.dedent(text), encoding="utf-8")
    tr, tl = tmp_path / f"{name}.trace", tmp_path / f"{name}.json"
    main(["run", str(scen), "--trace", str(tr)])
    assert main(["timeline", str(tr), "-o", str(tl)]) == 0
    end = json.loads(tr.read_text().splitlines()[-1])
    return tr, json.loads(tl.read_text(encoding="utf-8")), end


@pytest.fixture(scope="module")
def busy(tmp_path_factory):
    return make(tmp_path_factory.mktemp("busy"), BUSY, "busy")


@pytest.fixture(scope="module")
def panicked(tmp_path_factory):
    return make(tmp_path_factory.mktemp("panic"), PANIC, "panic")


def of(tl, ph, name=None):
    return [e for e in tl["traceEvents"] if e["ph"] == ph and (name is None or e["name"] == name)]


def trace_kinds(tr: Path) -> Counter:
    return Counter(r["ev"] for r in map(json.loads, tr.read_text().splitlines()) if "ev" in r)


def test_one_track_per_vcpu(busy):
    _, tl, _ = busy
    names = {e["tid"]: e["args"]["name"] for e in of(tl, "M", "thread_name")}
    assert names == {0: "vCPU 0", 1: "vCPU 1", 2: "vCPU 2"}
    assert {e["pid"] for e in tl["traceEvents"]} == {0}
    assert {e["tid"] for e in of(tl, "X")} <= set(names)
    assert {e["tid"] for e in of(tl, "X")} == {0, 1, 2}      # the schedule migrates


def test_a_slice_per_step_named_thread_and_op(busy):
    _, tl, end = busy
    xs = of(tl, "X")
    assert len(xs) == end["steps"]
    assert [x["args"]["step"] for x in xs] == list(range(1, end["steps"] + 1))
    ops = {"a": {"alloc"}, "b": {"alloc"}, "c": {"sleep", "free"}}
    seen = defaultdict(set)
    for x in xs:
        thread, _, op = x["name"].partition(": ")
        assert op in OPCODES, x
        seen[thread].add(op)
        assert x["dur"] > 0
    assert dict(seen) == ops
    assert tl["otherData"]["steps"] == end["steps"]
    assert tl["otherData"]["outcome"] == end["end"] == "completed"


def test_slices_on_a_track_do_not_overlap(busy):
    _, tl, _ = busy
    tracks = defaultdict(list)
    for x in of(tl, "X"):
        tracks[x["tid"]].append((x["ts"], x["ts"] + x["dur"]))
    for tid, spans in tracks.items():
        spans.sort()
        for (_, e1), (s2, _) in zip(spans, spans[1:]):
            assert e1 <= s2, tid
    # nor across tracks: one step at a time
    allspans = sorted(s for spans in tracks.values() for s in spans)
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(allspans, allspans[1:]))


def test_instants_where_the_run_has_them(busy):
    tr, tl, _ = busy
    kinds = trace_kinds(tr)
    for kind in ("lock_contended", "sleep", "wakeup", "migration", "page_fail"):
        assert kinds[kind] > 0, kind          # the scenario has each of them
    got = Counter(e["name"] for e in of(tl, "i"))
    assert got == {INSTANTS[k]: n for k, n in kinds.items() if k in INSTANTS}
    assert "panic" not in got
    steps = {x["ts"]: x["tid"] for x in of(tl, "X")}
    for e in of(tl, "i"):
        assert e["ts"] in steps and e["tid"] in (0, 1, 2)
        assert e["s"] == "t"


def test_counters_free_pages_and_cached_items(busy, tmp_path):
    tr, tl, end = busy
    free = of(tl, "C", "free pages")
    cached = of(tl, "C", "cached items")
    assert len(free) == len(cached) == end["steps"]
    values = [c["args"]["free"] for c in free]
    assert all(isinstance(v, int) and 0 <= v <= 4 for v in values)
    assert len(set(values)) > 1 and values[-1] == 0           # big ate them all
    assert all(set(c["args"]) == {"big", "lim"} for c in cached)
    assert any(c["args"]["lim"] > 0 for c in cached)
    assert {c["name"] for c in of(tl, "C")} == {"free pages", "cached items"}
    # The last samples are the final state's.
    scn = tracemod.read(tr).scenario
    sim = scn.build()
    sim.run(**scn.run_args())
    assert sim.digest() == end["digest"]
    assert values[-1] == sim.uma()["free_pages"]
    st = sim.zone("lim").stats
    assert cached[-1]["args"]["lim"] == st["cache_items"] + st["full_items"]


def test_panic_instant(panicked):
    tr, tl, end = panicked
    assert end["end"] == "panic"
    p = of(tl, "i", "panic")
    assert len(p) == 1
    # The panicking step never reaches a point, and still has its slice.
    assert len(of(tl, "X")) == end["steps"]
    last = of(tl, "X")[-1]
    assert last["args"]["to"] == "panic"
    assert (p[0]["ts"], p[0]["tid"]) == (last["ts"], last["tid"])
    assert last["name"] == "a: free"
    assert tl["otherData"]["outcome"] == "panic"
    assert set(e["name"] for e in of(tl, "i")) == {"panic"}


def test_any_trace_level_same_timeline(tmp_path, busy):
    tr, tl, _ = busy
    scen = tmp_path / "s.toml"
    scen.write_text(textwrap.dedent(BUSY), encoding="utf-8")
    dec, direct = tmp_path / "d.trace", tmp_path / "direct.json"
    main(["run", str(scen), "--trace", str(dec), "--trace-level", "decisions",
          "--timeline", str(direct)])
    again = tmp_path / "again.json"
    assert main(["timeline", str(dec), "-o", str(again)]) == 0
    assert json.loads(again.read_text()) == tl
    assert json.loads(direct.read_text()) == tl
    # and without a trace of its own
    alone = tmp_path / "alone.json"
    main(["run", str(scen), "--timeline", str(alone)])
    assert alone.read_bytes() == direct.read_bytes()


def test_timeline_command(busy, tmp_path, capsys):
    tr, _, _ = busy
    out = tmp_path / "t.json"
    assert main(["timeline", str(tr), "-o", str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    bad = tmp_path / "bad.trace"
    bad.write_text("")
    assert main(["timeline", str(bad), "-o", str(tmp_path / "x.json")]) == 2
    o, e = capsys.readouterr()
    assert o == "" and "empty file" in e
    assert not (tmp_path / "x.json").exists()
