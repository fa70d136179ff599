"""Benchmark of `umasim report` (not a timed test).

    python bench/report.py            # a table
    python bench/report.py --json     # one JSON object on stdout

On a trace of --steps steps (default 10,000: three threads on two vCPUs
sharing a limited zone, a random schedule with migrations, the scenario of
tests/tools/reporthelp.py), measures:

  build_s      replaying the trace with the state recorder and writing the
               page, without an explanation (the median of --reps runs)
  page_mib     the page's size (target: under 5 MiB)
  values       distinct state values stored, and channels

and, for the failing trace of scenarios/bug_no_recheck.toml, the time of
the whole command with its explanation (umasim explain's default K).

Wall time is read here only (time.perf_counter): the simulator itself
never reads a clock.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "tools"))

from reporthelp import long_trace, page_data  # noqa: E402
from umasim.cli import main  # noqa: E402

MIB = 1024 * 1024


def _timed(argv: list[str]) -> float:
    import contextlib
    import io
    t = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        rc = main(argv)
    assert rc == 0, argv
    return time.perf_counter() - t


def measure(steps: int, reps: int) -> dict:
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        trace = long_trace(tmp, steps)
        out = tmp / "long.html"
        times = [_timed(["report", str(trace), "-o", str(out)]) for _ in range(reps)]
        data = page_data(out.read_text(encoding="utf-8"))
        size = out.stat().st_size
        bug = tmp / "nr.trace"
        import contextlib
        import io
        with contextlib.redirect_stdout(io.StringIO()):
            main(["run", str(ROOT / "scenarios" / "bug_no_recheck.toml"), "--trace", str(bug)])
        explained = _timed(["report", str(bug), "-o", str(tmp / "nr.html")])
    return {"steps": steps, "build_s": round(statistics.median(times), 2),
            "page_mib": round(size / MIB, 2), "page_bytes": size,
            "values": len(data["values"]), "channels": len(data["changes"]),
            "bug_no_recheck_with_explain_s": round(explained, 2), "reps": reps}


def main_() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    res = measure(args.steps, args.reps)
    if args.json:
        print(json.dumps(res, sort_keys=True))
    else:
        for k, v in res.items():
            print(f"{k:32} {v}")
    return 0 if res["page_bytes"] < 5 * MIB else 1


if __name__ == "__main__":
    sys.exit(main_())
