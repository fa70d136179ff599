"""Benchmark of campaigns on local Dask workers (not a timed test).

    python bench/campaign.py            # a table
    python bench/campaign.py --json     # one JSON object on stdout

For 1 and 2 worker processes (a LocalCluster, started before the clock
runs, one thread each), the throughput of three campaigns at their
default unit sizes (umasim.campaign.DEFAULT_UNIT_SIZE):

  guided   runs per second of `umasim explore --explorer guided` (shards
           in rounds of GUIDED_SHARDS, corpora merged between rounds)
  random   runs per second of `umasim explore --explorer random`
  fuzz     examples per second of `umasim fuzz` (default strategy,
           properties after every step)

and the ratio of 2 workers to 1 (target: 1.8 or more on a 2-core
machine).  Each figure is the best of --reps repetitions (the load of
other processes on the host only ever slows a repetition down); the
in-process figure (no workers) is given for reference.  The host's load
average before the runs is reported: on a shared machine it bounds what
a second worker can add.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from umasim.campaign import explore_campaign, fuzz_campaign  # noqa: E402
from umasim.model.scenario import load  # noqa: E402

SCENARIO = ROOT / "scenarios" / "hunt_no_recheck.toml"
TARGET = 1.8


def measure(kind: str, address: str | None, runs: int, examples: int, out: pathlib.Path
            ) -> float:
    """Runs (or examples) per second of one campaign."""
    if kind == "fuzz":
        cr = fuzz_campaign(examples, 1, cluster=address, out=out)
        return cr.result.examples / cr.seconds
    scn = load(SCENARIO)
    cr = explore_campaign(scn, kind, runs, seed=1, cluster=address, out=out)
    return cr.result.runs / cr.seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=400_000, help="explorer runs per campaign")
    ap.add_argument("--examples", type=int, default=600, help="fuzz examples per campaign")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import distributed
    load1 = os.getloadavg()[0]
    kinds = ("guided", "random", "fuzz")
    res: dict = {k: {} for k in kinds}
    with tempfile.TemporaryDirectory() as tmp:
        tmpd = pathlib.Path(tmp)
        n = 0
        for workers in (0, 1, 2):
            lc = client = None
            if workers:
                lc = distributed.LocalCluster(n_workers=workers, threads_per_worker=1,
                                              processes=True, dashboard_address=":0",
                                              silence_logs=logging.CRITICAL)
                client = distributed.Client(lc, set_as_default=False)
            try:
                for k in kinds:
                    best = 0.0
                    for _ in range(args.reps):
                        n += 1
                        best = max(best, measure(k, lc.scheduler_address if lc else None,
                                                 args.runs, args.examples, tmpd / str(n)))
                    res[k][workers] = best
            finally:
                if client is not None:
                    client.close()
                    lc.close()
    out = {"cpus": os.cpu_count(), "loadavg_before": round(load1, 2),
           "runs": args.runs, "examples": args.examples, "reps": args.reps,
           "target_ratio": TARGET}
    for k in kinds:
        unit = "examples_per_s" if k == "fuzz" else "runs_per_s"
        out[k] = {f"{unit}_in_process": round(res[k][0], 1),
                  f"{unit}_1_worker": round(res[k][1], 1),
                  f"{unit}_2_workers": round(res[k][2], 1),
                  "ratio_2_to_1": round(res[k][2] / res[k][1], 2)}
    if args.json:
        print(json.dumps(out, sort_keys=True))
        return 0
    print(f"host: {out['cpus']} CPUs, load average {out['loadavg_before']} before the runs")
    print(f"{'campaign':10} {'in process':>12} {'1 worker':>12} {'2 workers':>12} {'2/1':>6}")
    for k in kinds:
        v = list(out[k].values())
        print(f"{k:10} {v[0]:12,.0f} {v[1]:12,.0f} {v[2]:12,.0f} {v[3]:6.2f}"
              + ("  (examples/s)" if k == "fuzz" else "  (runs/s)"))
    print(f"target: 2/1 >= {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
