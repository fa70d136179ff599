"""How long `umasim explain` takes on the shipped known-bug scenarios, with
the default number of continuations, and whether the decisive step it
finds is the one the scenario's header names (a benchmark, not a timed
test).

For each scenarios/bug_*.toml: the scenario is run to a trace, and the
trace explained (umasim.views.explain.explain, default K, seed 0).  A
header names a decisive step when the scenario's schedule is a script
with a migration ("a@1"): the headers of bug_no_recheck.toml and
bug_stale_cache.toml describe that migration as what makes the bug
happen.  The other headers describe a sequential schedule: no step is
named, and the question is only whether explain finds the failure
deterministic or which step it finds.

    python bench/explain.py [--json] [--k K] [--repeat N]

Seconds are wall-clock time on this machine (the best of --repeat runs);
everything else is reproducible.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from umasim.cli import main as cli_main  # noqa: E402
from umasim.errors import NoFailure  # noqa: E402
from umasim.model.scenario import load  # noqa: E402
from umasim.search.explain import DEFAULT_K, largest_rise  # noqa: E402
from umasim.views.explain import explain  # noqa: E402


def named_steps(path: pathlib.Path) -> list[int]:
    """The steps of the scenario's script that migrate a thread."""
    steps = load(path).schedule.steps or []
    return [i + 1 for i, s in enumerate(steps) if "@" in s]


def measure(path: pathlib.Path, k: int, repeat: int, tmp: pathlib.Path) -> dict:
    trace = tmp / (path.stem + ".trace")
    import contextlib, io
    with contextlib.redirect_stdout(io.StringIO()):
        cli_main(["run", str(path), "--trace", str(trace)])
    best = None
    ex = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        try:
            ex = explain(trace, k)
        except NoFailure as e:
            return {"scenario": path.name, "fails": False, "note": str(e)}
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    named = named_steps(path)
    found = [d["step"] for d in ex.decisive]
    return {"scenario": path.name, "fails": True, "outcome": ex.failure["outcome"],
            "steps": ex.failure["steps"], "seconds": round(best, 4), "runs": ex.runs,
            "deterministic": ex.deterministic,
            "decisive": [f"{d['step']} ({d['thread']} at {d['point']}, "
                         f"p {d['p_before']:.2f}->{d['p_after']:.2f})" for d in ex.decisive],
            "named": named, "match": (found == named) if named else None,
            "p0": ex.curve[0][1],
            "largest": "step {} +{:.2f}".format(*largest_rise(ex.curve))
            if largest_rise(ex.curve) else None}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--k", type=int, default=DEFAULT_K)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for path in sorted((ROOT / "scenarios").glob("bug_*.toml")):
            rows.append(measure(path, args.k, args.repeat, pathlib.Path(d)))
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    for r in rows:
        if not r["fails"]:
            print(f"{r['scenario']:<28} does not fail: {r['note']}")
            continue
        what = "deterministic" if r["deterministic"] else \
            "decisive " + "; ".join(r["decisive"]) if r["decisive"] else \
            f"no decisive step (p0 {r['p0']:.2f}; largest rise {r['largest']})"
        named = f"header names step {r['named']}: " + ("match" if r["match"] else "differs") \
            if r["named"] else "header names no step"
        print(f"{r['scenario']:<28} {r['outcome']:<10} {r['steps']:>5} steps "
              f"{r['seconds']:>7.3f} s {r['runs']:>7} runs  {what}  [{named}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
