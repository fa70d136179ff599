"""bench/uma.py still builds and runs (a smoke test, not a timed one).

The native baseline links the UMA port against csrc/native/ with
-Wl,-z,defs, and checks that the shared object exports nothing but its
entry point, so a kernel interface the port starts to use without the
native kernel providing it shows up here, not only when someone runs the
benchmark.
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    shutil.which(os.environ.get("CC", "cc").split()[0]) is None,
    reason="the native baseline needs a C compiler")


def test_bench_uma_json():
    out = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "uma.py"), "--json", "--reps", "1",
         "--pairs", "2000", "--warmup", "20"],
        capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["native_ns"] > 0 and res["sim_ns"] > 0
    assert res["ratio"] == pytest.approx(res["sim_ns"] / res["native_ns"])
    # op:alloc, op:free with a stop after the unlocked read of
    # UMA_ZFLAG_FULL (zfree_full_check), each once a pair, and the merges
    assert res["steps_per_pair"] == 5
    assert res["params"]["invariants"] is False
    assert len(res["samples"]["native_ns"]) == len(res["samples"]["sim_ns"]) == 1
