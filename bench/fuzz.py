"""Benchmark of fuzzing throughput (not a timed test).

    python bench/fuzz.py            # a table
    python bench/fuzz.py --json     # one JSON object on stdout

examples_per_s: Hypothesis examples per second of the default
(non-stateful) program + schedule property (umasim.properties.check_case
on umasim.strategies.cases) at 2 vCPUs, 3 threads, up to 30 ops each
(strategies.BENCH_KNOBS), the figure of issue 6 (target: 200 or more).
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

runs_per_s: the explorers' throughput (umasim explore, csrc/kern/explore.c)
-- the explorer benchmark fills this key of the same JSON object; this
script leaves it null.
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

from umasim import strategies as S  # noqa: E402
from umasim.properties import check_case  # noqa: E402

TARGET = 200.0


def measure(examples: int, every_step: bool) -> dict:
    """One repetition: `examples` derandomized examples."""
    count = [0]
    steps = [0]
    ops = [0]
    failed = []

    @settings(max_examples=examples, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(S.cases(S.BENCH_KNOBS))
    def prop(case):
        v = check_case(case, every_step=every_step)
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
    return {"examples": count[0], "wall_s": wall, "cpu_s": cpu, "steps": steps[0],
            "ops": ops[0]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--examples", type=int, default=500, help="examples per repetition")
    ap.add_argument("--reps", type=int, default=3, help="repetitions (the median is kept)")
    args = ap.parse_args(argv)
    if args.examples < 1 or args.reps < 1:
        ap.error("--examples and --reps must be at least 1")
    # Warm up: imports, strategy caches, the arena pool.
    measure(min(50, args.examples), False)
    res: dict = {"params": {"cpus": 2, "threads": 3, "max_ops": S.BENCH_KNOBS.max_ops,
                            "examples": args.examples, "reps": args.reps,
                            "knobs": "strategies.BENCH_KNOBS"},
                 "target_examples_per_s": TARGET, "samples": {}}
    for key, every in (("end", False), ("step", True)):
        reps = [measure(args.examples, every) for _ in range(args.reps)]
        res["samples"][key] = reps
        per = [r["examples"] / r["wall_s"] for r in reps]
        cpu = [r["examples"] / r["cpu_s"] for r in reps]
        suffix = "" if key == "end" else "_every_step"
        res["examples_per_s" + suffix] = round(statistics.median(per), 1)
        res["examples_per_cpu_s" + suffix] = round(statistics.median(cpu), 1)
        res["mean_steps" + suffix] = round(statistics.mean(r["steps"] / r["examples"]
                                                           for r in reps), 1)
        res["mean_ops" + suffix] = round(statistics.mean(r["ops"] / r["examples"]
                                                         for r in reps), 1)
    res["meets_target"] = res["examples_per_s"] >= TARGET
    # Filled by the explorer benchmark (umasim explore); see the docstring.
    res["runs_per_s"] = None
    if args.json:
        print(json.dumps(res, sort_keys=True))
    else:
        print(f"fuzz property, 2 vCPUs, 3 threads, <= {S.BENCH_KNOBS.max_ops} ops each "
              f"(mean {res['mean_ops']} ops, {res['mean_steps']} steps per example)")
        print(f"  checks at the end   {res['examples_per_s']:8.1f} examples/s "
              f"({res['examples_per_cpu_s']:.1f} per CPU second)")
        print(f"  checks every step   {res['examples_per_s_every_step']:8.1f} examples/s "
              f"({res['examples_per_cpu_s_every_step']:.1f} per CPU second)")
        print(f"  target              {TARGET:8.1f} examples/s: "
              f"{'met' if res['meets_target'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
