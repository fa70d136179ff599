"""Benchmark of the simulated kernel (not a timed test).

    python bench/kernel.py            # a table
    python bench/kernel.py --json     # one JSON object on stdout

Measures, each as the median of --reps repetitions:

  switch_ns       one coroutine context switch (umasim_bench_switch_ns)
  c_steps_per_s   steps per second of one Sim.run(policy="random") call, that
                  is, the step loop in C, on two threads of "yield" (trace off)
  py_steps_per_s  steps per second of Sim.step() called in a Python loop
                  (trace off)
  sim_create_us   the mean time of one Sim() (created and dropped), over many
  reset_us        one Sim.reset() (restore of the post-creation snapshot) of a
                  256-page Sim right after a run that allocated and freed
                  pages (random policy, two threads, trace off); the median
                  of --resets resets
  snapshot_us     one Sim.snapshot() of the default scenario
                  (umasim/data/default.toml) half-way through its run
  step_ns         ns per step of one Sim.run(policy="random") call on T
                  threads of "yield" on C vCPUs (trace off), for T in 4, 64
                  and 1,024 and C in 2 and 64 ("T@C" keys), timed by the
                  CPU time of the calling thread (time.thread_time_ns, so
                  that other load on the host counts less), including
                  what Sim.run() does after the C call (the run's decisions
                  as a list of Python ints); step_ratio_C is the
                  1,024-thread figure over the 4-thread one
  step_c_ns       the same runs timed around the one C call alone
                  (umasim_run(), as bench/uma.py times it): the simulated
                  kernel's own cost a step; step_c_ratio_C likewise

Wall time is read here only (time.perf_counter; the switch benchmark's own
clock is in C): the simulator itself never reads a clock.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

from umasim.bindings import bench_switch_ns
from umasim.model.sim import Sim

# Targets on the reference machine (2 cores): upper bounds for times,
# lower bounds for rates.
TARGETS = {
    "switch_ns": ("<=", 20.0),
    "c_steps_per_s": (">=", 10_000_000.0),
    "py_steps_per_s": (">=", 1_000_000.0),
    "sim_create_us": ("<=", 100.0),
    "reset_us": ("<=", 20.0),
    "step_ratio_2": ("<=", 2.0),
    "step_ratio_64": ("<=", 2.0),
    "step_c_ratio_2": ("<=", 2.0),
    "step_c_ratio_64": ("<=", 2.0),
}

STEP_THREADS = (4, 64, 1024)
STEP_CPUS = (2, 64)

NOTES: dict[str, str] = {}

# The run before each timed reset: pages taken and given back in kmem_map,
# some left in use when the run ends (y{i} is never freed), and a mutex.
RESET_OPS_A = ["kmem_alloc 4096 -> x{i}", "kmem_alloc 8192 -> y{i}", "lock m",
               "kmem_free x{i}", "unlock m"]
RESET_OPS_B = ["kmem_alloc 12288 -> z{i}", "lock m", "yield", "unlock m", "kmem_free z{i}"]
RESET_REPEAT = 6


def _yield_sim(nsteps: int) -> Sim:
    """Two user threads that only yield, enough of them for nsteps steps."""
    sim = Sim(trace="off")
    sim.spawn("a", cpu=0, ops=["yield"], repeat=nsteps)
    sim.spawn("b", cpu=1, ops=["yield"], repeat=nsteps)
    return sim


def bench_switch(rounds: int) -> float:
    ns = bench_switch_ns(rounds)
    if ns < 0:
        raise RuntimeError("umasim_bench_switch_ns failed (no stack)")
    return ns


def bench_c_steps(nsteps: int, seed: int) -> float:
    sim = _yield_sim(nsteps)
    t0 = time.perf_counter()
    res = sim.run(policy="random", seed=seed, max_steps=nsteps)
    dt = time.perf_counter() - t0
    if res.steps != nsteps or res.outcome != "step_limit":
        raise RuntimeError(f"the C run did {res.steps} steps ({res.outcome}), "
                           f"not {nsteps}")
    return nsteps / dt


def bench_py_steps(nsteps: int) -> float:
    sim = _yield_sim(nsteps)
    step = sim.step
    loop = range(nsteps)
    t0 = time.perf_counter()
    for _ in loop:
        step()
    dt = time.perf_counter() - t0
    if sim.steps != nsteps:
        raise RuntimeError(f"the Python loop did {sim.steps} steps, not {nsteps}")
    return nsteps / dt


def bench_sim_create(count: int) -> float:
    loop = range(count)
    t0 = time.perf_counter()
    for _ in loop:
        Sim(trace="off")
    dt = time.perf_counter() - t0
    return dt / count * 1e6


def bench_reset(resets: int, seed: int) -> float:
    """Median of `resets` timings of one Sim.reset(), each right after a
    run of two threads from the post-creation state (the run, and spawning
    its threads, are not timed)."""
    sim = Sim(pages=256, trace="off")
    created = sim.digest()
    times = []
    for k in range(resets):
        sim.spawn("a", cpu=0, ops=RESET_OPS_A, repeat=RESET_REPEAT)
        sim.spawn("b", cpu=1, ops=RESET_OPS_B, repeat=RESET_REPEAT)
        res = sim.run(policy="random", seed=seed * 1_000_003 + k)
        if res.outcome != "completed":
            raise RuntimeError(f"the run before reset ended {res.outcome}")
        t0 = time.perf_counter()
        sim.reset()
        times.append(time.perf_counter() - t0)
    if sim.digest() != created:
        raise RuntimeError("reset() did not return to the post-creation state")
    return statistics.median(times) * 1e6


def bench_snapshot(count: int) -> float:
    """Mean time of one Sim.snapshot() of the default scenario, taken
    half-way through its run (the snapshots are dropped)."""
    from importlib import resources

    from umasim.model.scenario import loads
    text = resources.files("umasim").joinpath("data/default.toml").read_text("utf-8")
    sim = loads(text, "<default>").build_with(trace="off")
    sim.run(max_steps=400)
    t0 = time.perf_counter()
    for _ in range(count):
        sim.snapshot()
    dt = time.perf_counter() - t0
    return dt / count * 1e6


def bench_step_ns(nthreads: int, cpus: int, nsteps: int, seed: int,
                  c_only: bool = False) -> float | None:
    """ns per step of one random-policy run of nthreads yielding threads
    spread over cpus vCPUs, Sim.run() or (c_only) its one C call; None
    past the simulator's thread limit."""
    from umasim.bindings import MAXTHREADS
    if nthreads + 1 > MAXTHREADS:
        NOTES[f"step_ns {nthreads}@{cpus}"] = f"more threads than the limit ({MAXTHREADS})"
        return None
    sim = Sim(cpus=cpus, trace="off")
    per = nsteps // nthreads + 2
    for i in range(nthreads):
        sim.spawn(f"t{i}", cpu=i % cpus, ops=["yield"], repeat=per)
    core = sim.core
    steps0 = core.steps()
    t0 = time.thread_time_ns()
    if c_only:
        outcome = core.run("random", seed, 0.0, 1, 0, None, None, "sequential", nsteps)
    else:
        outcome = sim.run(policy="random", seed=seed, max_steps=nsteps).outcome
    dt = time.thread_time_ns() - t0
    steps = core.steps() - steps0
    if steps != nsteps:
        raise RuntimeError(f"the step run did {steps} steps ({outcome}), not {nsteps}")
    return dt / nsteps


def run(reps: int, switch_rounds: int, c_steps: int, py_steps: int,
        creates: int, resets: int = 2_000, step_steps: int = 200_000,
        snapshots: int = 2_000) -> dict:
    # One untimed round first: page in the stacks, warm the caches.
    bench_switch(switch_rounds // 10 or 1)
    bench_c_steps(max(c_steps // 10, 1), 0)
    bench_py_steps(max(py_steps // 10, 1))
    bench_sim_create(max(creates // 10, 1))
    bench_reset(max(resets // 10, 1), 0)
    bench_snapshot(max(snapshots // 10, 1))

    step_keys = [f"{t}@{c}" for c in STEP_CPUS for t in STEP_THREADS]
    samples: dict[str, list] = {k: [] for k in
                                ("switch_ns", "c_steps_per_s", "py_steps_per_s",
                                 "sim_create_us", "reset_us", "snapshot_us")}
    step_samples: dict[str, list] = {k: [] for k in step_keys}
    step_c_samples: dict[str, list] = {k: [] for k in step_keys}
    for rep in range(reps):
        samples["switch_ns"].append(bench_switch(switch_rounds))
        samples["c_steps_per_s"].append(bench_c_steps(c_steps, rep + 1))
        samples["py_steps_per_s"].append(bench_py_steps(py_steps))
        samples["sim_create_us"].append(bench_sim_create(creates))
        samples["reset_us"].append(bench_reset(resets, rep + 1))
        samples["snapshot_us"].append(bench_snapshot(snapshots))
        for c in STEP_CPUS:
            for t in STEP_THREADS:
                step_samples[f"{t}@{c}"].append(bench_step_ns(t, c, step_steps, rep + 1))
                step_c_samples[f"{t}@{c}"].append(
                    bench_step_ns(t, c, step_steps, rep + 1, c_only=True))

    result: dict = {k: statistics.median(v) for k, v in samples.items()}
    for key, ratio, smp in (("step_ns", "step_ratio", step_samples),
                            ("step_c_ns", "step_c_ratio", step_c_samples)):
        result[key] = {k: (None if None in v else statistics.median(v))
                       for k, v in smp.items()}
        for c in STEP_CPUS:
            lo = result[key][f"{STEP_THREADS[0]}@{c}"]
            hi = result[key][f"{STEP_THREADS[-1]}@{c}"]
            result[f"{ratio}_{c}"] = None if lo is None or hi is None else hi / lo
        samples[key] = smp  # type: ignore[assignment]
    met = {}
    for key, target in TARGETS.items():
        if target is None or result[key] is None:
            met[key] = None
            continue
        op, bound = target
        met[key] = result[key] <= bound if op == "<=" else result[key] >= bound
    result["targets"] = {k: (None if t is None else f"{t[0]} {t[1]:g}")
                         for k, t in TARGETS.items()}
    result["met"] = met
    result["samples"] = samples
    result["notes"] = dict(NOTES)
    result["params"] = dict(reps=reps, switch_rounds=switch_rounds, c_steps=c_steps,
                            py_steps=py_steps, creates=creates, resets=resets,
                            reset_pages=256, policy="random",
                            threads=2, ops=["yield"], trace="off")
    result["host"] = dict(python=platform.python_version(), machine=platform.machine(),
                          cpus=os.cpu_count())
    return result


def _fmt(key: str, value) -> str:
    if value is None:
        return "n/a"
    if key.endswith("_per_s"):
        return f"{value / 1e6:.2f} M/s"
    if key.endswith("_ns"):
        return f"{value:.2f} ns"
    if key.endswith("_us"):
        return f"{value:.2f} us"
    if "ratio" in key:
        return f"{value:.2f} x"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--reps", type=int, default=5, help="repetitions (median reported)")
    ap.add_argument("--switch-rounds", type=int, default=5_000_000)
    ap.add_argument("--c-steps", type=int, default=2_000_000)
    ap.add_argument("--py-steps", type=int, default=500_000)
    ap.add_argument("--creates", type=int, default=2_000)
    ap.add_argument("--resets", type=int, default=2_000)
    ap.add_argument("--step-steps", type=int, default=200_000,
                    help="steps of each step_ns run")
    ap.add_argument("--snapshots", type=int, default=2_000)
    args = ap.parse_args(argv)
    for name in ("reps", "switch_rounds", "c_steps", "py_steps", "creates", "resets",
                 "step_steps", "snapshots"):
        if getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be at least 1")

    res = run(args.reps, args.switch_rounds, args.c_steps, args.py_steps, args.creates,
              args.resets, args.step_steps, args.snapshots)
    if args.json:
        print(json.dumps(res, sort_keys=True))
        return 0
    print(f"umasim kernel benchmark: median of {args.reps} "
          f"(python {res['host']['python']}, {res['host']['cpus']} CPUs)")
    for key in ("switch_ns", "c_steps_per_s", "py_steps_per_s", "sim_create_us", "reset_us",
                "snapshot_us"):
        t = res["targets"].get(key)
        m = res["met"].get(key)
        verdict = "" if m is None else ("ok" if m else "MISSED")
        print(f"  {key:<15} {_fmt(key, res[key]):>12}   target {t or '-':<14} {verdict}")
    for key, v in res["step_ns"].items():
        print(f"  step_ns {key:<7} {_fmt('_ns', v):>12}   step_c_ns "
              f"{_fmt('_ns', res['step_c_ns'][key]):>10}")
    for key in [f"{r}_{c}" for r in ("step_ratio", "step_c_ratio") for c in STEP_CPUS]:
        t = res["targets"][key]
        m = res["met"][key]
        verdict = "" if m is None else ("ok" if m else "MISSED")
        print(f"  {key:<15} {_fmt(key, res[key]):>12}   target {t or '-':<14} {verdict}")
    for key, note in res["notes"].items():
        print(f"  note {key}: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
