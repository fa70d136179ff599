"""Helpers of the UMA behaviour tests (test_uma_vm.py, test_uma_zones.py):
stepping with the invariant checker after every step, and reading events,
vmstat rows and page numbers."""

from __future__ import annotations

from umasim import Sim
from umasim.model.sim import DISPLAY_BASE

PAGE = 4096


def checked_step(sim: Sim, name: str) -> None:
    """One step of thread `name`, then the invariant checker."""
    sim.step(name)
    if sim.panic is None:
        sim.check()


def drive(sim: Sim, max_steps: int = 20_000) -> str:
    """Runs the default (sequential) schedule to its end, one step at a
    time, with sim.check() after every step; returns the outcome."""
    for _ in range(max_steps):
        r = sim.run(max_steps=1)
        if sim.panic is None:
            sim.check()
        if r.outcome != "step_limit":
            return r.outcome
    raise AssertionError("the run did not end")


def run_op(sim: Sim, name: str, ops: int = 1) -> list:
    """Steps thread `name` alone through its next `ops` operations (or
    until it blocks, sleeps or ends), checking after every step; returns
    the events of those steps."""
    start = len(sim.events)
    target = sim.thread(name).op + ops
    for _ in range(20_000):
        t = sim.thread(name)
        if t.state != "runnable" or t.op >= target:
            break
        checked_step(sim, name)
    else:
        raise AssertionError(f"{name} did not get through {ops} ops")
    return sim.events[start:]


def evs(sim: Sim, kind: str, events=None) -> list:
    """Events of `kind` taken in steps (boot and zcreate are step 0)."""
    events = sim.events if events is None else events
    return [e for e in events if e.kind == kind and e.step > 0]


def row(sim: Sim, name: str):
    rows = [r for r in sim.vmstat() if r.name == name]
    assert len(rows) == 1, name
    return rows[0]


def page_no(addr: int) -> int:
    """The arena page of a display address."""
    return (addr - DISPLAY_BASE) // PAGE
