"""Benchmark of campaigns on local Dask workers (not a timed test).

    python bench/campaign.py            # a table
    python bench/campaign.py --json     # one JSON object on stdout

For 1 and 2 worker processes (a LocalCluster as --jobs starts it,
umasim.campaign.cluster.local_cluster, started before the clock runs, one
thread each), the throughput of three campaigns at their default unit
sizes (umasim.campaign.DEFAULT_UNIT_SIZE):

  guided   runs per second of `umasim explore --explorer guided` (shard k
           starting from shards k-7..k-4, GUIDED_SHARDS = 4)
  random   runs per second of `umasim explore --explorer random`
  fuzz     examples per second of `umasim fuzz` (default strategy,
           properties after every step)

and the ratio of 2 workers to 1 (target: 1.8 or more on a 2-core
machine).

What is timed: each campaign runs as `--cluster ADDRESS` runs it against
the standing LocalCluster (a Client connected for the campaign, its
workers' build checked, the units handed out, their results saved in the
campaign's directory as they arrive, the client closed).  The figures
divide the runs (examples) by the campaign's steady state,
CampaignResult.units_seconds: from the first unit handed out to the last
result in -- the units, the workers' idle tail, the client's and the
scheduler's work per unit, but not the cluster's start-up, the client's
connection and build check (some 30-50 ms, the same for 1 and 2 workers:
not the campaign's), the planning, nor the merge and the artefacts written
after the last result.  `*_with_connect` divides by the whole of it
(CampaignResult.seconds: connection, build check and closing included).

Beside them: the client's CPU milliseconds per unit over the steady state
(units_cpu_seconds: this process, which hosts the LocalCluster's
scheduler too -- on a 2-core machine, CPU the two workers lose), and the
CPU seconds of the busiest worker with one worker and with two: their
ratio is the speedup the split allows when each worker has a core of its
own, whatever else loads the host.  Each figure is the best of --reps
repetitions, interleaved (the load of other processes on the host only
ever slows a repetition down; every repetition's figure is in --json's
`every_rep`); the in-process figure (no workers) is given for reference.
The host's load average before and after the runs, and as each repetition
starts, is reported: on a shared machine it bounds what a second worker
can add.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from umasim.campaign import explore_campaign, fuzz_campaign  # noqa: E402
from umasim.campaign.cluster import local_cluster  # noqa: E402
from umasim.model.scenario import load  # noqa: E402

SCENARIO = ROOT / "scenarios" / "hunt_no_recheck.toml"
TARGET = 1.8


def _cpu() -> float:
    import resource
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(kind: str, client, address: str | None, runs: int, examples: int,
            out: pathlib.Path) -> tuple[float, float, float, float]:
    """Runs (or examples) per second of one campaign over its steady state
    and over its whole length, the CPU seconds of its busiest worker (of
    this process, without workers) and this process's CPU milliseconds
    per unit over the steady state.  The campaign's client gathers results
    straight from the workers, as the one --jobs makes does."""
    import dask
    before = client.run(_cpu) if client is not None else {"here": _cpu()}
    with dask.config.set({"distributed.client.direct-to-workers": True}):
        if kind == "fuzz":
            cr = fuzz_campaign(examples, 1, cluster=address, out=out)
            done = cr.result.examples
        else:
            cr = explore_campaign(load(SCENARIO), kind, runs, seed=1, cluster=address, out=out)
            done = cr.result.runs
    after = client.run(_cpu) if client is not None else {"here": _cpu()}
    return (done / cr.units_seconds, done / cr.seconds, max(after[w] - before[w] for w in after),
            1000 * cr.units_cpu_seconds / cr.units_done)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=400_000, help="explorer runs per campaign")
    ap.add_argument("--examples", type=int, default=1500, help="fuzz examples per campaign")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--kinds", default="guided,random,fuzz",
                    help="which campaigns, comma-separated (default all three)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    import distributed
    load1 = os.getloadavg()[0]
    kinds = tuple(k for k in args.kinds.split(",") if k)
    if not kinds or set(kinds) - {"guided", "random", "fuzz"}:
        ap.error("--kinds: guided, random and/or fuzz")
    res: dict = {k: {} for k in kinds}
    whole: dict = {k: {} for k in kinds}
    client_ms: dict = {k: {} for k in kinds}
    clusters, clients = {}, {None: None}
    cpu: dict = {k: {} for k in kinds}
    every: dict = {k: {} for k in kinds}
    loads: list = []                # the load average as each repetition starts
    try:
        # Both clusters stand (idle) from the start, and the repetitions
        # interleave the three settings: a change of the host's load
        # between them falls on all three alike.
        for workers in (1, 2):
            lc = local_cluster(workers)         # as --jobs starts it
            clusters[workers] = lc
            clients[workers] = distributed.Client(lc, set_as_default=False)
        with tempfile.TemporaryDirectory() as tmp:
            tmpd = pathlib.Path(tmp)
            n = 0
            for _ in range(args.reps):
                loads.append(round(os.getloadavg()[0], 2))
                for k in kinds:
                    for workers in (0, 1, 2):
                        n += 1
                        addr = clusters[workers].scheduler_address if workers else None
                        v, w, c, ms = measure(k, clients.get(workers), addr, args.runs,
                                              args.examples, tmpd / str(n))
                        every[k].setdefault(workers, []).append(round(v, 1))
                        whole[k][workers] = max(whole[k].get(workers, 0.0), w)
                        if v > res[k].get(workers, 0.0):
                            res[k][workers], cpu[k][workers] = v, c
                            client_ms[k][workers] = ms
    finally:
        for c in clients.values():
            if c is not None:
                c.close()
        for lc in clusters.values():
            lc.close()
    out = {"cpus": os.cpu_count(), "loadavg_before": round(load1, 2),
           "loadavg_after": round(os.getloadavg()[0], 2), "loadavg_each_rep": loads,
           "runs": args.runs, "examples": args.examples, "reps": args.reps,
           "target_ratio": TARGET}
    for k in kinds:
        unit = "examples_per_s" if k == "fuzz" else "runs_per_s"
        out[k] = {f"{unit}_in_process": round(res[k][0], 1),
                  f"{unit}_1_worker": round(res[k][1], 1),
                  f"{unit}_2_workers": round(res[k][2], 1),
                  "ratio_2_to_1": round(res[k][2] / res[k][1], 2),
                  f"{unit}_1_worker_with_connect": round(whole[k][1], 1),
                  f"{unit}_2_workers_with_connect": round(whole[k][2], 1),
                  "ratio_2_to_1_with_connect": round(whole[k][2] / whole[k][1], 2),
                  "client_cpu_ms_per_unit_1_worker": round(client_ms[k][1], 2),
                  "client_cpu_ms_per_unit_2_workers": round(client_ms[k][2], 2),
                  "busiest_worker_cpu_s_1_worker": round(cpu[k][1], 2),
                  "busiest_worker_cpu_s_2_workers": round(cpu[k][2], 2),
                  "cpu_ratio_2_to_1": round(cpu[k][1] / cpu[k][2], 2),
                  "every_rep": {str(w): v for w, v in sorted(every[k].items())}}
    if args.json:
        print(json.dumps(out, sort_keys=True))
        return 0
    print(f"host: {out['cpus']} CPUs, load average {out['loadavg_before']} before the runs, "
          f"{out['loadavg_after']} after")
    print(f"{'campaign':10} {'in process':>12} {'1 worker':>12} {'2 workers':>12} {'2/1':>6}"
          f" {'(whole)':>8} {'CPU 2/1':>8} {'client ms/unit':>15}")
    for k in kinds:
        o = out[k]
        unit = "examples_per_s" if k == "fuzz" else "runs_per_s"
        print(f"{k:10} {o[unit + '_in_process']:12,.0f} {o[unit + '_1_worker']:12,.0f} "
              f"{o[unit + '_2_workers']:12,.0f} {o['ratio_2_to_1']:6.2f} "
              f"{o['ratio_2_to_1_with_connect']:8.2f} {o['cpu_ratio_2_to_1']:8.2f} "
              f"{o['client_cpu_ms_per_unit_1_worker']:7.1f} "
              f"{o['client_cpu_ms_per_unit_2_workers']:7.1f}"
              + ("  (examples/s)" if k == "fuzz" else "  (runs/s)"))
    print(f"target: 2/1 >= {TARGET} (steady state: first unit handed out to last result in; "
          f"(whole): the campaign with its connection); CPU 2/1: the busiest worker's CPU "
          f"seconds with one worker over those with two (the speedup were each worker on a "
          f"core of its own); client ms/unit: this process's CPU per unit, 1 and 2 workers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
