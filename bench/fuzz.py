"""Benchmark of fuzzing throughput (not a timed test).

    python bench/fuzz.py            # a table
    python bench/fuzz.py --json     # one JSON object on stdout

examples_per_s: Hypothesis examples per second of the default
(non-stateful) property of `umasim fuzz` (umasim.search.fuzz.explore_example
on umasim.search.strategies.cases: the drawn schedule, then a burst of
guided or PCT schedules in one C call judged by the core's oracle, the
burst's failing schedules checked again) at 2 vCPUs, 3 threads, up to 30
ops each (strategies.BENCH_KNOBS); the target is 200 or more.
schedules_per_s beside it: the schedules those examples ran (each
example's own, the burst's runs, the re-checks).  The *_no_burst figures
are the same examples with the drawn schedule only (the property before
bursts).
Generation, the run and every check are counted; shrinking is not (no
example fails).  Each figure is the median of --reps repetitions of
--examples examples, derandomized, so every repetition draws the same
cases.

Two ways of checking, both measured:

  end    (examples_per_s) the run is one C call (Sim.run with the case's
         schedule; a trigger-form schedule is stepped from Python without
         checks), then sim.check() -- structural invariants and
         conservation, the run being quiescent at its end -- and every
         end-of-run property.  What `umasim fuzz --fast` does.
  step   (examples_per_s_every_step) sim.check() and the item-uniqueness
         check after every step, as the tests and `umasim fuzz` do.

Both wall-clock and CPU time (time.process_time) are reported: the wall
figures count the load of the host, the CPU figures much less of it.

runs_per_s: the explorers' throughput (umasim explore, csrc/kern/explore.c):
runs per second of each explorer (random, pct, bounded with k = 3, guided) on a
229-step scenario (EXPLORE_SCENARIO: two threads alternating alloc and free
on two vCPUs, INVARIANTS on, the checker at the end of every run, and the
core's oracle judging every run, as `umasim explore` does), every run from
the post-setup snapshot inside one C call (target: 20,000 or more); the
JSON has one key per explorer and runs_per_s, the slowest.
bounded runs with its sleep sets (the default); runs_per_s_bounded_no_reduction
is bounded with --no-reduction.
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

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

from umasim.search import strategies as S  # noqa: E402

TARGET = 200.0
RUNS_TARGET = 20_000.0
EXPLORE_KINDS = ("random", "pct", "bounded", "guided")
EXPLORE_SCENARIO = {
    "sim": {"cpus": 2},
    "zone": [{"name": "z", "size": 128}],
    "thread": [{"name": t, "cpu": i, "repeat": 10,
                "ops": [f"alloc z -> {t}{{i}}", f"free {t}{{i}}"]}
               for i, t in enumerate("ab")],
}


def measure_explorers(runs: int, reps: int) -> dict:
    """Runs per second of each explorer (median of `reps`)."""
    from umasim.search.explore import explore
    from umasim.model.scenario import from_dict
    scn = from_dict(EXPLORE_SCENARIO)
    steps = scn.build_with(trace="off").run().steps
    out = {"explore_steps_per_run": steps, "explore_runs": runs}
    for kind in EXPLORE_KINDS:
        rates = []
        for _ in range(reps):
            r = explore(scn, kind, runs=runs, bound=3)
            rates.append(r.runs / r.seconds)
        out[f"runs_per_s_{kind}"] = round(statistics.median(rates))
    rates = []
    for _ in range(reps):
        r = explore(scn, "bounded", runs=runs, bound=3, reduction=False)
        rates.append(r.runs / r.seconds)
    out["runs_per_s_bounded_no_reduction"] = round(statistics.median(rates))
    out["runs_per_s"] = min(out[f"runs_per_s_{k}"] for k in EXPLORE_KINDS)
    out["meets_runs_target"] = out["runs_per_s"] >= RUNS_TARGET
    return out


def measure(examples: int, every_step: bool, burst: bool = True) -> dict:
    """One repetition: `examples` derandomized examples, each with its
    burst of schedules (umasim.search.fuzz.explore_example) unless
    `burst` is False (the drawn schedule only)."""
    from umasim.search.fuzz import _Search, explore_example
    count = [0]
    steps = [0]
    ops = [0]
    failed = []
    stats = _Search()

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(S.cases(S.BENCH_KNOBS))
    def prop(case):
        _, v, _ = explore_example(case, every_step, burst, stats)
        count[0] += 1
        steps[0] += v.steps
        ops[0] += case.nops
        if not v.ok:
            failed.append(v)

    w0, c0 = time.perf_counter(), time.process_time()
    prop()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    if failed:
        raise SystemExit(f"bench/fuzz.py: an example failed: {failed[0].kind}: "
                         f"{failed[0].message}")
    return {"examples": count[0], "schedules": stats.schedules, "wall_s": wall, "cpu_s": cpu,
            "steps": steps[0], "ops": ops[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--examples", type=int, default=500, help="examples per repetition")
    ap.add_argument("--reps", type=int, default=3, help="repetitions (the median is kept)")
    ap.add_argument("--runs", type=int, default=20000, help="runs per explorer repetition")
    args = ap.parse_args(argv)
    if args.examples < 1 or args.reps < 1:
        ap.error("--examples and --reps must be at least 1")
    # Warm up: imports, strategy caches, the arena pool.
    measure(min(50, args.examples), False)
    res: dict = {"params": {"cpus": 2, "threads": 3, "max_ops": S.BENCH_KNOBS.max_ops,
                            "examples": args.examples, "reps": args.reps,
                            "knobs": "strategies.BENCH_KNOBS"},
                 "target_examples_per_s": TARGET, "samples": {}}
    for key, every, burst in (("end", False, True), ("step", True, True),
                              ("end_no_burst", False, False), ("step_no_burst", True, False)):
        reps = [measure(args.examples, every, burst) for _ in range(args.reps)]
        res["samples"][key] = reps
        per = [r["examples"] / r["wall_s"] for r in reps]
        cpu = [r["examples"] / r["cpu_s"] for r in reps]
        sched = [r["schedules"] / r["wall_s"] for r in reps]
        suffix = {"end": "", "step": "_every_step", "end_no_burst": "_no_burst",
                  "step_no_burst": "_every_step_no_burst"}[key]
        res["examples_per_s" + suffix] = round(statistics.median(per), 1)
        res["examples_per_cpu_s" + suffix] = round(statistics.median(cpu), 1)
        res["schedules_per_s" + suffix] = round(statistics.median(sched), 1)
        res["mean_steps" + suffix] = round(statistics.mean(r["steps"] / r["examples"]
                                                           for r in reps), 1)
        res["mean_ops" + suffix] = round(statistics.mean(r["ops"] / r["examples"]
                                                         for r in reps), 1)
    res["meets_target"] = res["examples_per_s"] >= TARGET
    res.update(measure_explorers(args.runs, args.reps))
    if args.json:
        print(json.dumps(res, sort_keys=True))
    else:
        print(f"fuzz property, 2 vCPUs, 3 threads, <= {S.BENCH_KNOBS.max_ops} ops each "
              f"(mean {res['mean_ops']} ops, {res['mean_steps']} steps per example)")
        for label, suffix in (("checks at the end", ""), ("checks every step", "_every_step"),
                              ("end, no burst", "_no_burst"),
                              ("every step, no burst", "_every_step_no_burst")):
            print(f"  {label:<21} {res['examples_per_s' + suffix]:8.1f} examples/s "
                  f"({res['examples_per_cpu_s' + suffix]:.1f} per CPU second), "
                  f"{res['schedules_per_s' + suffix]:9.1f} schedules/s")
        print(f"  target              {TARGET:8.1f} examples/s: "
              f"{'met' if res['meets_target'] else 'NOT met'}")
        print(f"explorers, {res['explore_steps_per_run']}-step scenario, "
              f"{res['explore_runs']} runs each:")
        for kind in EXPLORE_KINDS:
            print(f"  {kind:<8} {res['runs_per_s_' + kind]:>10,} runs/s")
        print(f"  target   {RUNS_TARGET:>10,.0f} runs/s: "
              f"{'met' if res['meets_runs_target'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
