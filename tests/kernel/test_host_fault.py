"""Host faults: a SIGSEGV or SIGBUS raised while a simulated thread runs
ends that simulation with outcome "host_fault" -- readable, not runnable --
and never the process.  The known-bug switch free_null_bucket makes
uma_zfree_arg load through a NULL free bucket (address 0x10)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from umasim import Sim, SimFaulted, cli
from umasim.bindings import SANITIZE, on_valgrind
from umasim.search.explore import explore
from umasim.model.scenario import load

pytestmark = pytest.mark.skipif(
    SANITIZE or on_valgrind(),
    reason="ASan and valgrind own SIGSEGV and SIGBUS: a wild load is their report, "
           "not a host_fault outcome")

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "bug_free_null_bucket.toml"
FAULT = "SIGSEGV at 0x10, a NULL-based address outside the arena, in thread a"


def faulted() -> Sim:
    sim = Sim(cpus=2, bugs=["free_null_bucket"])
    sim.zcreate("z", 256)
    sim.spawn("a", ops=["alloc z -> x", "free x", "yield"])
    sim.spawn("b", cpu=1, ops=["yield", "yield"])
    return sim


def normal() -> Sim:
    sim = Sim(cpus=2)
    sim.zcreate("z", 256)
    sim.spawn("a", ops=["alloc z -> x", "free x"])
    return sim


def test_a_host_fault_ends_the_simulation_not_the_process():
    sim = faulted()
    res = sim.run()
    assert res.outcome == sim.outcome == "host_fault"
    assert res.panic is None and sim.panic is None
    hf = sim.host_fault
    assert res.host_fault == hf
    assert (hf.thread, hf.signal, hf.address, hf.where) == ("a", "SIGSEGV", 0x10, "null")
    assert hf.step == sim.steps and hf.point == "zfree_full_check"
    assert hf.message.startswith(FAULT)
    assert sim.console == [f"host fault: {hf.message}"]
    ev = [e for e in sim.events if e.kind == "host_fault"]
    assert len(ev) == 1
    assert (ev[0].thread, ev[0].a, ev[0].b, ev[0].step) == ("a", 0x10, 1, hf.step)
    # readable: threads, zones, events; the checker does not walk it
    assert sim.thread("a").state == "faulted"
    assert sim.thread("b").state == "runnable"
    assert {r.name: r.used for r in sim.vmstat()}["z"] == 1
    sim.check()
    # not runnable
    steps, digest = sim.steps, sim.digest()
    for go in (sim.run, lambda: sim.step("b"), lambda: sim.run(decisions=[1])):
        with pytest.raises(SimFaulted, match="0x10"):
            go()
    assert (sim.steps, sim.digest()) == (steps, digest)
    # the process goes on: a fresh simulation runs normally
    assert normal().run().outcome == "completed"


def test_host_faults_are_deterministic_and_restorable():
    a, b = faulted(), faulted()
    snap = a.snapshot()
    a.run()
    b.run()
    assert a.digest() == b.digest() and a.host_fault == b.host_fault
    assert a.digest() != normal().digest()
    a.restore(snap)
    assert a.outcome != "host_fault" and a.host_fault is None
    assert a.run().outcome == "host_fault" and a.digest() == b.digest()


def test_host_faults_on_several_host_threads():
    out: dict[int, tuple] = {}

    def work(i: int) -> None:
        sim = faulted() if i % 2 else normal()
        sim.run()
        out[i] = (sim.outcome, sim.digest())

    ts = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert {out[i][0] for i in range(0, 6, 2)} == {"completed"}
    assert {out[i][0] for i in range(1, 6, 2)} == {"host_fault"}
    assert len({out[i][1] for i in range(1, 6, 2)}) == 1
    # the main thread is untouched, and still catches its own
    assert faulted().run().outcome == "host_fault"


def test_stack_overflow_is_still_a_panic():
    sim = Sim(cpus=1)
    sim.spawn("a", ops=["recurse 100000"])
    assert sim.run().outcome == "panic"
    assert sim.panic == "stack overflow in thread a"


def test_a_fault_outside_any_simulated_thread_is_not_caught():
    """Only faults of a running simulated thread are caught: one on the
    host side gets the default action (the process dies of SIGSEGV)."""
    code = ("import ctypes, umasim\n"
            "s = umasim.Sim(cpus=1); s.spawn('a', ops=['yield']); s.run()\n"
            "ctypes.string_at(0x10, 1)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert r.returncode < 0, r


def test_a_handler_installed_later_does_not_take_containment_away():
    """faulthandler.enable() after the first simulation replaces the
    SIGSEGV handler: the next run takes the signal back, so a simulated
    thread's fault is still a host_fault outcome, and a fault on the host
    side still reaches faulthandler (its traceback, once) and kills the
    process."""
    code = ("import ctypes, faulthandler, umasim\n"
            "def faulted():\n"
            "    s = umasim.Sim(cpus=2, bugs=['free_null_bucket'])\n"
            "    s.zcreate('z', 256)\n"
            "    s.spawn('a', ops=['alloc z -> x', 'free x', 'yield'])\n"
            "    s.spawn('b', cpu=1, ops=['yield', 'yield'])\n"
            "    return s\n"
            "s = faulted()\n"
            "faulthandler.enable()\n"
            "print(s.run().outcome, flush=True)\n"
            "faulthandler.disable(); faulthandler.enable()\n"
            "print(faulted().run().outcome, flush=True)\n"
            "ctypes.string_at(0x10, 1)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60,
                       text=True)
    assert r.stdout.split() == ["host_fault", "host_fault"], r
    assert r.returncode < 0, r
    assert r.stderr.count("Fatal Python error: Segmentation fault") == 1, r.stderr


def test_run_replay_and_json_report(tmp_path, capsys):
    fixed = tmp_path / "f.toml"          # the scenario without its [expect] table
    text = SCENARIO.read_text("utf-8")
    fixed.write_text(text[:text.index("[expect]")], "utf-8")
    trace = tmp_path / "t.jsonl"
    assert cli.main(["run", str(fixed), "--trace", str(trace)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("outcome: host_fault after ")
    assert f"host fault: {FAULT}" in out
    assert cli.main(["run", str(fixed), "--json"]) == 1
    d = json.loads(capsys.readouterr().out)
    assert d["outcome"] == "host_fault" and d["panic"] is None
    assert d["host_fault"]["address"] == "0x10" and d["host_fault"]["thread"] == "a"
    assert d["events"]["host_fault"] == 1
    assert cli.main(["replay", str(trace)]) == 0
    assert capsys.readouterr().out.startswith("identical")
    lines = [json.loads(x) for x in trace.read_text().splitlines()]
    assert lines[-1]["end"] == "host_fault"
    assert [x for x in lines if x.get("ev") == "host_fault"][0]["a"] == 16


def test_explorers_count_host_faults_as_a_class_of_their_own():
    res = explore(load(SCENARIO), "random", runs=20, seed=1)
    assert res.runs == 20
    fault = [c for c in res.classes if c.outcome == "host_fault"]
    assert fault and not any(c.failed for c in fault)      # the scenario expects it
    scn = load(SCENARIO)
    scn.expect.clear()                  # expected to complete now
    res = explore(scn, "random", runs=20, seed=1)
    fault = [c for c in res.classes if c.outcome == "host_fault"]
    assert fault and all(c.failed for c in fault)
    assert res.failures >= sum(c.count for c in fault)
    assert "SIGSEGV at 0x10" in fault[0].message
    # the process and other explorations go on
    assert explore(load(SCENARIO.parent / "secondary_zone.toml"), "random", runs=5).runs == 5


def test_fuzz_properties_report_host_fault():
    from umasim.search.properties import Case, check_case
    case = Case.of({"cpus": 2, "bugs": ["free_null_bucket"]}, [{"name": "z0", "size": 256}],
                   [{"name": "t0", "cpu": 0, "ops": ["alloc z0 -> v0", "free v0"]}])
    v = check_case(case)
    assert not v.ok and v.kind == "host_fault", v
    assert "SIGSEGV" in v.message
    ok = check_case(Case.of({"cpus": 2}, [{"name": "z0", "size": 256}],
                            [{"name": "t0", "cpu": 0, "ops": ["alloc z0 -> v0", "free v0"]}]))
    assert ok.ok


def test_a_host_fault_failure_names_its_signal_and_address():
    from umasim.model.scenario import loads
    from umasim.search.judge import failure_signature
    text = SCENARIO.read_text("utf-8")
    scn = loads(text[:text.index("[expect]")])     # expected to complete
    sim = scn.build()
    assert sim.run(**scn.run_args()).outcome == "host_fault"
    failure = failure_signature(scn, sim)
    assert failure.describe() == ("host_fault (SIGSEGV at 0x10 (NULL-based)); "
                                  "not as expected: outcome")
