"""How fast the default search finds each known-bug switch (a benchmark,
not a timed test).

For every switch of the core (or those given with --bugs) and every seed
1..N (--seeds, default 10), with the switch on and nothing else narrowed:

  fuzz      the default `umasim fuzz` search (strategy_for(bug): the
            default strategies, each example's burst of guided or PCT
            schedules, every property checked after every step), until the
            first failure or --budget seconds; then its shrinking (to the
            size reported)
  guided    `umasim explore --explorer guided` on one generic scenario
            (GENERIC below: two zones sharing a limited keg, M_ZERO
            allocations, frees across threads and vCPUs, a drain, M_WAITOK
            allocations that fill the keg), every run judged by the
            expectations, the invariant checker and the core's oracle,
            --budget seconds at most, then the find shrunk by umasim's
            shrinker (judged by the properties); --searchers adds random
            and pct

and reports, per switch and searcher: how many seeds found it, seconds to
find (median and worst over the seeds; a seed that did not find it counts
as the budget; for fuzz the time of the first failing example, shrinking
not counted, which `shrink_s` reports), and the size of the finds after
shrinking (threads, ops, preemptions: the largest over the seeds); --json
adds each seed's (`per_seed`).

    python bench/find.py [--json] [--seeds N] [--budget S] [--bugs a,b]
                         [--searchers fuzz,guided,random,pct]

Seconds are wall-clock time on this machine; robustness across seeds is
what this measures, so no seed is special.  Targets: every switch found by
every seed, median <= 5 s, worst <= 60 s, shrunk to <= 10 ops and <= 5
preemptions (TARGETS).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from umasim.bindings import EXPLORERS, KNOWN_BUGS  # noqa: E402
from umasim.model.scenario import from_dict  # noqa: E402

# One scenario for every switch: what a user's test of a change would run --
# two zones sharing a limited keg, M_ZERO allocations written to and freed
# on another thread, frees across threads and vCPUs, a drain, a reclaim, a
# sysctl, and two threads whose M_WAITOK allocations fill the limited keg
# while a third frees them (so zonelimit sleeps happen, and the keg's
# limit is reached).  The faithful port never fails it under any explorer
# (main() checks that first): its deadlocks are FreeBSD 7's own liveness
# hazards (a thread asleep in zonelimit while the keg's free items sit in
# another vCPU's cache), which the explorers tell from failures
# (search.explore.judge_hazards), so whatever an explorer finds with a
# switch on is the switch's doing.
GENERIC = {
    "sim": {"cpus": 2, "pages": 64},
    "zone": [{"name": "z", "size": 256, "max": 30}, {"name": "s", "master": "z"},
             {"name": "big", "size": 4096}],
    "thread": [
        {"name": "a", "cpu": 0, "repeat": 6,
         "ops": ["alloc z nowait -> a{i}", "alloc s nowait zero -> b{i}", "touch b{i}",
                 "free a{i}"]},
        {"name": "b", "cpu": 1, "repeat": 6,
         "ops": ["alloc z nowait -> c{i}", "free c{i}", "alloc big -> d{i}", "free d{i}"]},
        {"name": "c", "cpu": 1, "ops": ["drain z", "sysctl", "reclaim"]},
        {"name": "d", "cpu": 0, "repeat": 6, "ops": ["free b{i}"]},
        {"name": "w", "cpu": 0, "repeat": 16, "ops": ["alloc z -> w{i}"]},
        {"name": "x", "cpu": 1, "repeat": 16, "ops": ["alloc z -> x{i}"]},
        {"name": "f", "cpu": 1, "repeat": 16, "ops": ["free w{i}", "free x{i}"]},
    ],
    "schedule": {"policy": "random", "migrate": 0.2, "max_steps": 20000},
}


TARGETS = {"median_s": 5.0, "worst_s": 60.0, "ops": 10, "preemptions": 5}


def fuzz_find(bug: str, seed: int, budget: float) -> dict:
    from umasim.search.fuzz import _Search, find_failure, strategy_for
    stats = _Search()
    t0 = time.perf_counter()
    m0 = time.monotonic()
    found = find_failure(strategy_for(bug), 10**9, seed=seed, max_time=budget, stats=stats)
    secs = time.perf_counter() - t0
    if found is None:
        return {"found": False, "seconds": secs}
    case, verdict, runs = found
    size = case.with_decisions(verdict.decisions).size()
    to_find = stats.found_at - m0 if stats.found_at is not None else secs
    return {"found": True, "seconds": to_find, "shrink_s": secs - to_find,
            "kind": verdict.kind, "examples": runs, "schedules": stats.schedules,
            "by_burst": stats.found_by_burst is not None,
            "threads": size["threads"], "ops": size["ops"],
            "preemptions": size["preemptions"]}


def explore_find(bug: str, explorer: str, seed: int, budget: float) -> dict:
    from umasim.search.explore import explore
    from umasim.search.properties import unrolled
    from umasim.search.shrink import shrink_run
    d = json.loads(json.dumps(GENERIC))
    d["sim"]["bugs"] = [bug]
    scn = from_dict(d, "<bench/find.py>")
    t0 = time.perf_counter()
    runs, chunk = 0, 500
    while time.perf_counter() - t0 < budget:
        res = explore(scn, explorer, runs=chunk, seed=seed * 1_000_003 + runs)
        runs += res.runs
        if res.failures:
            c = next(c for c in res.classes if c.failed)
            secs = time.perf_counter() - t0
            # Then umasim's shrinker, judged by the properties, on the
            # find (the scenario written out: repeats unrolled).
            shrunk = shrink_run(unrolled(scn), list(c.decisions), properties=True)
            size = shrunk.final.sizes
            return {"found": True, "seconds": secs, "runs": runs,
                    "shrink_s": time.perf_counter() - t0 - secs,
                    "kind": c.kind, "outcome": c.outcome, "message": c.message,
                    "threads": size.threads, "ops": size.ops, "preemptions": size.nonzero,
                    "found_ops": sum(len(t["ops"]) * t.get("repeat", 1)
                                     for t in GENERIC["thread"]),
                    "found_preemptions": sum(1 for d in c.decisions if d)}
        if res.exhausted:
            break
    return {"found": False, "seconds": time.perf_counter() - t0, "runs": runs}


def summary(results: list[dict], budget: float, shrunk: bool = True) -> dict:
    secs = [r["seconds"] if r["found"] else budget for r in results]
    out = {"found": sum(r["found"] for r in results), "seeds": len(results),
           "median_s": round(statistics.median(secs), 2), "worst_s": round(max(secs), 2)}
    sizes = [r for r in results if r["found"] and "ops" in r]
    if sizes:
        out["shrunk" if shrunk else "size"] = {k: max(r[k] for r in sizes)
                                               for k in ("threads", "ops", "preemptions")}
    shrink = [r["shrink_s"] for r in results if r["found"] and "shrink_s" in r]
    if shrink:
        out["shrink_s"] = {"median": round(statistics.median(shrink), 2),
                           "worst": round(max(shrink), 2)}
    out["kinds"] = sorted({str(r["kind"]) for r in results if r["found"]})
    # Each seed's: seconds to find, and the size (shrunk, for fuzz).
    out["per_seed"] = [{k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items()
                        if k in ("found", "seconds", "shrink_s", "threads", "ops",
                                 "preemptions", "kind", "examples")}
                       for r in results]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--budget", type=float, default=60.0, help="seconds per search")
    ap.add_argument("--bugs", help="comma-separated switches (default: all)")
    ap.add_argument("--searchers", default=None,
                    help="comma-separated: fuzz and explorer names (default: all)")
    args = ap.parse_args(argv)
    if args.seeds < 1 or not args.budget > 0:
        ap.error("--seeds and --budget must be positive")
    bugs = args.bugs.split(",") if args.bugs else list(KNOWN_BUGS)
    for b in bugs:
        if b not in KNOWN_BUGS:
            ap.error(f"unknown switch {b!r} (known: {', '.join(KNOWN_BUGS)})")
    known = ["fuzz"] + [e for e in EXPLORERS if e != "bounded"]
    searchers = ["fuzz", "guided"]
    if args.searchers:
        want = args.searchers.split(",")
        bad = [s for s in want if s not in known]
        if bad:
            ap.error(f"unknown searcher {bad[0]!r} (one of: {', '.join(known)})")
        searchers = want
    report: dict = {"budget_s": args.budget, "seeds": args.seeds, "bugs": {}}
    # The generic scenario must not fail without a switch.
    from umasim.search.explore import explore
    clean = from_dict(GENERIC, "<bench/find.py>")
    for who in searchers:
        if who != "fuzz":
            r = explore(clean, who, runs=2000, seed=1)
            if r.failures:
                raise SystemExit(f"bench/find.py: the generic scenario fails without a switch "
                                 f"under {who}: {[c.outcome for c in r.classes if c.failed]}")
    for bug in bugs:
        per: dict = {}
        for who in searchers:
            results = []
            for seed in range(1, args.seeds + 1):
                r = fuzz_find(bug, seed, args.budget) if who == "fuzz" else \
                    explore_find(bug, who, seed, args.budget)
                results.append(r)
            per[who] = summary(results, args.budget)
            # A line a result (on stderr with --json: the progress).
            s = per[who]
            print(f"{bug:<18} {who:<8} found {s['found']}/{s['seeds']}  median "
                  f"{s['median_s']:6.2f} s  worst {s['worst_s']:6.2f} s"
                  + (f"  shrunk {s['shrunk']}" if "shrunk" in s else "")
                  + (f"  size {s['size']}" if "size" in s else ""), flush=True,
                  file=sys.stderr if args.json else sys.stdout)
        report["bugs"][bug] = per
    if args.json:
        print(json.dumps(report, sort_keys=True, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
