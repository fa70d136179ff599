"""Benchmark of the simulated UMA fast path against a native build (not a timed test).

    python bench/uma.py            # a table
    python bench/uma.py --json     # one JSON object on stdout

Measures ns per alloc+free pair on the per-CPU fast path of the UMA port
(csrc/vm/uma_core.c), each figure the median of --reps repetitions, the two
interleaved so that both see the same machine load:

  native_ns   the same uma_core.c, uma_dbg.c, uma_sim.c, kern_malloc.c,
              vm.c and mutex.c, compiled with the C core's own flags
              (umasim/bindings/build.py: CFLAGS) against the minimal
              single-threaded kernel of csrc/native/ (no scheduler: points
              are no-ops, mutexes record their owner, critical sections are
              counters) into a temporary shared object of its own, whose one
              exported symbol is umasim_native_bench().  One C call boots
              UMA, creates the zone, warms its per-CPU cache and times
              uma_zalloc_arg + uma_zfree_arg pairs.
  sim_ns      the simulator: a Sim(invariants=False, trace="off") with the
              zone, a thread that warms its per-CPU cache, then a thread
              running ops ["alloc bench -> x", "free x"] --pairs times
              through the program interpreter.  Timed: the one C call
              umasim_run() with the sequential policy (not the Python
              wrapper Sim.run, which turns the recorded decisions into a
              list afterwards).
  ratio       sim_ns / native_ns; the target is 3 at most.

Both sides are timed by the CPU time of the calling thread
(CLOCK_THREAD_CPUTIME_ID; time.thread_time_ns), so that other load on the
host, which would stretch wall time while this process waits for a CPU,
counts for neither.  Both: INVARIANTS off, granularity coarse, --cpus vCPUs, the
simulator's default machine (256 pages, 1024 kmem pages, 48 boot pages),
one zone of --size bytes aligned to a pointer with no callbacks, on vCPU 0.
The native build needs a C compiler ($CC, default cc).
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import pathlib
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from umasim.bindings import MAXCPU  # noqa: E402
from umasim.bindings import build as core_build  # noqa: E402  (the C core's compiler flags)
from umasim.model.sim import Sim  # noqa: E402

TARGET_RATIO = 3.0

# What the native build links: the port and the parts of the simulated
# kernel that need no scheduler, and csrc/native/ in place of the rest.
NATIVE_SOURCES = [
    "csrc/native/native_kern.c",
    "csrc/native/native_bench.c",
    "csrc/vm/uma_core.c",
    "csrc/vm/uma_dbg.c",
    "csrc/vm/uma_sim.c",
    "csrc/vm/kern_malloc.c",
    "csrc/kern/vm.c",
    "csrc/kern/vm_kern.c",
    "csrc/kern/mutex.c",
]

OPS = ["alloc bench -> x", "free x"]


def build_native(outdir: pathlib.Path) -> tuple[pathlib.Path, list[str]]:
    """Compiles the native baseline into outdir; returns the shared object
    and the command line."""
    cc = shlex.split(os.environ.get("CC", "cc"))
    so = outdir / "umasim_native.so"
    cmd = (cc + list(core_build.CFLAGS) +
           ["-fPIC", "-shared", "-Wl,-z,defs", "-DUMASIM_NATIVE", "-I", str(ROOT / "csrc"),
            "-o", str(so)] +
           [str(ROOT / f) for f in NATIVE_SOURCES])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("the native build failed:\n" + " ".join(cmd) + "\n" + proc.stderr)
    check_exports(so)
    return so, cmd


def check_exports(so: pathlib.Path) -> None:
    """The native object must export its entry point only: any other
    symbol could bind to, or be bound by, one of umasim._core's (or libc's)
    in this process."""
    nm = shutil.which(os.environ.get("NM", "nm"))
    if nm is None:
        return
    out = subprocess.run([nm, "-D", "--defined-only", str(so)], capture_output=True,
                         text=True, check=True).stdout
    names = [line.split()[-1] for line in out.splitlines() if line.strip()]
    if names != ["umasim_native_bench"]:
        raise RuntimeError(f"the native object exports {names}, not only umasim_native_bench")


def load_native(so: pathlib.Path):
    dll = ctypes.CDLL(str(so))
    fn = dll.umasim_native_bench
    fn.restype = ctypes.c_double
    fn.argtypes = [ctypes.c_uint64, ctypes.c_int, ctypes.c_int, ctypes.c_uint64]
    return dll, fn


def bench_native(fn, pairs: int, size: int, cpus: int, warmup: int) -> float:
    ns = fn(pairs, size, cpus, warmup)
    if ns < 0:
        raise RuntimeError("umasim_native_bench failed (see stderr)")
    return ns


def bench_sim(pairs: int, size: int, cpus: int, warmup: int) -> tuple[float, float]:
    """ns per pair of one umasim_run() call, and steps per pair."""
    sim = Sim(cpus=cpus, invariants=False, trace="off")
    sim.zcreate("bench", size)
    # Fill the per-CPU cache first, on another thread (not timed).
    sim.spawn("warm", cpu=0, ops=OPS, repeat=warmup)
    res = sim.run(max_steps=warmup * 100 + 1000)
    if res.outcome != "completed":
        raise RuntimeError(f"the warm-up run ended {res.outcome} ({res.panic})")
    sim.spawn("pairs", cpu=0, ops=OPS, repeat=pairs)
    core = sim.core
    steps0 = core.steps()
    t0 = time.thread_time_ns()
    r = core.run("sequential", 0, 0.0, 1, 0, None, None, "sequential", 2**63)
    dt = time.thread_time_ns() - t0
    if r != "completed":
        raise RuntimeError(f"the timed run ended {r} ({sim.panic})")
    steps = core.steps() - steps0
    return dt / pairs, steps / pairs


def run(reps: int, pairs: int, size: int, cpus: int, warmup: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="umasim-native-") as tmp:
        so, cmd = build_native(pathlib.Path(tmp))
        dll, fn = load_native(so)
        # One untimed round of each first: page in, warm the caches.
        bench_native(fn, max(pairs // 10, 1), size, cpus, warmup)
        bench_sim(max(pairs // 10, 1), size, cpus, warmup)
        native, sim, steps = [], [], 0.0
        for _ in range(reps):
            native.append(bench_native(fn, pairs, size, cpus, warmup))
            ns, steps = bench_sim(pairs, size, cpus, warmup)
            sim.append(ns)
        del fn, dll
    native_ns = statistics.median(native)
    sim_ns = statistics.median(sim)
    ratio = sim_ns / native_ns
    return {
        "native_ns": native_ns,
        "sim_ns": sim_ns,
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "met": ratio <= TARGET_RATIO,
        "steps_per_pair": steps,
        "sim_ns_per_step": sim_ns / steps if steps else None,
        "samples": {"native_ns": native, "sim_ns": sim,
                    "ratio": [s / n for s, n in zip(sim, native)]},
        "params": {"reps": reps, "pairs": pairs, "size": size, "cpus": cpus,
                   "warmup": warmup, "ops": OPS, "invariants": False,
                   "policy": "sequential", "trace": "off", "granularity": "coarse"},
        "native_build": " ".join(os.path.basename(c) if c.startswith(str(ROOT)) else c
                                 for c in cmd),
        "host": {"python": platform.python_version(), "machine": platform.machine(),
                 "cpus": os.cpu_count()},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--reps", type=int, default=7, help="repetitions (median reported)")
    ap.add_argument("--pairs", type=int, default=1_000_000,
                    help="alloc+free pairs timed per repetition")
    ap.add_argument("--size", type=int, default=256, help="the zone's item size")
    ap.add_argument("--cpus", type=int, default=2, help="vCPUs of both machines")
    ap.add_argument("--warmup", type=int, default=1_000,
                    help="untimed pairs that fill the per-CPU cache first")
    args = ap.parse_args(argv)
    for name in ("reps", "pairs", "size", "cpus", "warmup"):
        if getattr(args, name) < 1:
            ap.error(f"--{name} must be at least 1")
    if args.cpus > MAXCPU:
        ap.error(f"--cpus must be at most {MAXCPU}")

    try:
        res = run(args.reps, args.pairs, args.size, args.cpus, args.warmup)
    except RuntimeError as e:
        print(f"bench/uma.py: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(res, sort_keys=True))
        return 0
    print(f"umasim UMA fast path: ns per alloc+free pair, median of {args.reps} x "
          f"{args.pairs} pairs (python {res['host']['python']}, "
          f"{res['host']['cpus']} CPUs)")
    print(f"  native_ns  {res['native_ns']:10.2f} ns   the port on csrc/native/, no scheduler")
    print(f"  sim_ns     {res['sim_ns']:10.2f} ns   one umasim_run() call, "
          f"{res['steps_per_pair']:g} steps a pair "
          f"({res['sim_ns_per_step']:.1f} ns a step)")
    verdict = "ok" if res["met"] else "MISSED"
    print(f"  ratio      {res['ratio']:10.2f} x    target <= {TARGET_RATIO:g}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
