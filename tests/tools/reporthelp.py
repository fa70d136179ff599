"""Helpers of the report tests (test_html_report.py, test_report_browser.py):
traces to report on, what the Python API says at a step, and a stand-in
Explanation for rendering."""

from __future__ import annotations

import contextlib
import io
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from umasim.engine import execute
from umasim.model.schedule import Schedule
from umasim.views import plot
from umasim.views import trace as traces
from umasim.views.html_report import _CAT_CODES, _cpu_code

GOLDEN = Path(__file__).parent / "golden"

# Three threads on two vCPUs sharing a limited zone, under a random
# schedule with migrations: program mutexes, zone locks, contention,
# per-CPU buckets of both vCPUs, variables held and freed.  `steps` is the
# step limit (the run always reaches it).
LONG = """
[sim]
cpus = 2
pages = 64

[[zone]]
name = "mbuf"
size = 256
max = 60

[[thread]]
name = "a"
cpu = 0
repeat = {repeat}
ops = ["alloc mbuf -> x{{i}}", "alloc mbuf -> y{{i}}", "free x{{i}}", "free y{{i}}"]

[[thread]]
name = "b"
cpu = 1
repeat = {repeat}
ops = ["alloc mbuf -> p{{i}}", "lock m", "free p{{i}}", "unlock m"]

[[thread]]
name = "c"
cpu = 1
repeat = {repeat}
ops = ["alloc mbuf -> q{{i}}", "yield", "free q{{i}}"]

[schedule]
policy = "random"
seed = 3
migrate = 0.2
max_steps = {steps}

[expect]
outcome = "step_limit"
"""


def long_trace(tmp_path: Path, steps: int) -> Path:
    """A trace of exactly `steps` steps (the LONG scenario)."""
    from umasim.cli import main
    scn = tmp_path / f"long{steps}.toml"
    scn.write_text(textwrap.dedent(LONG.format(repeat=steps // 4 + 10, steps=steps)))
    out = tmp_path / f"long{steps}.trace"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["run", str(scn), "--trace", str(out)]) == 0
    return out


def page_data(html: str) -> dict:
    """The data embedded in a report page."""
    m = re.search(r'<script id="umasim-data" type="application/json">(.*?)</script>', html,
                  re.S)
    assert m is not None, "no data element in the page"
    return json.loads(m.group(1))


def slab_codes(zone) -> list[tuple[str, str]]:
    """(slab list, one code per item) of each slab of the zone, from
    plot.item_locations, in the page's encoding."""
    out: list[tuple[str, str, list[str]]] = []
    for loc in plot.item_locations(zone):
        if not out or out[-1][1] != loc.slab:
            out.append((loc.slab_list, loc.slab, []))
        if loc.category == "cpu":
            out[-1][2].append(_cpu_code(loc.cpu, "alloc" if loc.where.endswith("alloc bucket")
                                        else "free"))
        else:
            out[-1][2].append(_CAT_CODES[loc.category])
    return [(lst, "".join(codes)) for lst, _addr, codes in out]


def api_state(sim) -> dict:
    """What the Python API reports of a Sim now: threads, and each named
    zone's caches, bucket lists and slabs."""
    zones = {}
    for name in sim.zone_names:
        try:
            z = sim.zone(name)
            caches = [(c.alloc, c.free) for c in z.caches]
            entries = [(c.alloc_entries, c.free_entries) for c in z.caches]
        except ValueError:
            continue
        zones[name] = {"caches": caches, "entries": entries, "full": len(z.full_buckets),
                       "free": len(z.free_buckets), "slabs": slab_codes(z),
                       "used": z.stats["used"]}
    return {"steps": sim.steps,
            "threads": {t.name: (t.state, t.cpu, t.wmesg or "") for t in sim.threads},
            "points": {t.name: t.point for t in sim.threads},
            "zones": zones}


class _Grab:
    every_step = True
    level = "full"

    def __init__(self, wanted):
        self.wanted, self.got = set(wanted), {}

    def start(self, run):
        if 0 in self.wanted:
            self.got[0] = api_state(run.sim)

    def step(self, run):
        if run.sim.steps in self.wanted:
            self.got[run.sim.steps] = api_state(run.sim)


def api_states(trace_path, steps) -> dict[int, dict]:
    """api_state() after each of `steps` in a replay of the trace."""
    tr = traces.read(trace_path)
    grab = _Grab(steps)
    execute(tr.scenario, Schedule.replay(tr.decisions), [grab])
    return grab.got


@dataclass
class FakeExplanation:
    """A stand-in for umasim.views.explain.Explanation, for the rendering
    tests only: the fields the page reads, with made-up values."""
    failure: dict = field(default_factory=lambda: {"kind": "panic",
                                                   "message": "made up for a test"})
    deterministic: bool = False
    curve: list = field(default_factory=list)
    decisive: list = field(default_factory=list)
    slice: list = field(default_factory=list)

    def to_json(self) -> dict:
        return {"failure": self.failure, "deterministic": self.deterministic,
                "curve": [list(c) for c in self.curve], "decisive": self.decisive,
                "slice": self.slice}


def fake_explanation(steps: int, decisive_step: int) -> FakeExplanation:
    """P = 0.1 up to `decisive_step`, 0.9 after it, one decisive step."""
    curve = [(s, 0.1 if s < decisive_step else 0.9) for s in range(0, steps + 1)]
    return FakeExplanation(
        curve=curve,
        decisive=[{"step": decisive_step, "cpu": 1, "thread": "a", "op": "alloc z -> x",
                   "point": "zalloc_race", "function": "uma_zalloc_arg", "line": 1870,
                   "p_before": 0.1, "p_after": 0.9}],
        slice=[{"step": 2, "thread": "c", "cpu": 1, "what": "made up: fill vCPU 1"},
               {"step": decisive_step, "thread": "a", "cpu": 1, "what": "made up: migrated"}])
