"""Branches of the port (csrc/vm/uma_core.c) that neither the scenario
library nor the other tests reach (issue 5 item 6; docs/coverage.md).

`scripts/coverage` measures line and branch coverage of uma_core.c over
the scenarios and the whole test suite; each test here takes the port down
a path that was missing, and pins what the seed does there.  Seed line
numbers are those of shared/seed/000_550d4aabe342dfa1.txt.  Races are
driven one step at a time: a thread is stopped where the seed drops a lock,
and another runs meanwhile.
"""

from __future__ import annotations

import pytest

from umasim import Sim

PAGE = 4096


# ---- helpers ---------------------------------------------------------------

def finish(sim: Sim, name: str, max_steps: int = 20_000) -> None:
    """Steps `name` alone until it is no longer runnable (done, asleep,
    blocked) or the simulation panicked."""
    for _ in range(max_steps):
        if sim.panic is not None or sim.thread(name).state != "runnable":
            return
        sim.step(name)
    raise AssertionError(f"{name} did not stop")


def step_until(sim: Sim, name: str, cond, max_steps: int = 20_000) -> list[str]:
    """Steps `name` until cond() holds; returns the points reached."""
    points = []
    for _ in range(max_steps):
        if cond():
            return points
        points.append(sim.step(name))
    raise AssertionError(f"{name} never got there: {points[-10:]}")


def run_all(sim: Sim) -> str:
    r = sim.run()
    if sim.panic is None:
        sim.check()
    return r.outcome


def row(sim: Sim, name: str):
    rows = [r for r in sim.vmstat() if r.name == name]
    assert len(rows) == 1, name
    return rows[0]


def kinds(sim: Sim, kind: str) -> list:
    return [e for e in sim.events if e.kind == kind and e.step > 0]


# ---- uma_zone_slab: the uk_recurse test of internal zones -------------------

def test_zones_zone_may_recurse_while_it_refills():
    """uma_zone_slab (seed lines 1965-1967): an internal keg in slab_zalloc
    (uk_recurse != 0) refuses other allocations, except for "UMA Zones",
    "UMA Slabs" and "UMA RCntSlabs".  Thread a's zcreate needs a new slab
    of "UMA Zones"; while slab_zalloc has the lock dropped, thread b's
    zcreate takes the exemption for zones and makes a slab of its own."""
    sim = Sim(cpus=1)
    zz, kk = sim.zones["UMA Zones"], sim.zones["UMA Kegs"]
    i = 0
    while zz.keg_free != 0:                  # empty the zones keg (not kegs')
        sim.zcreate(f"f{i}", 64)
        i += 1
    assert kk.keg_free >= 2
    sim.spawn("a", ops=["zcreate za size=64"])
    sim.spawn("b", ops=["zcreate zb size=64"])
    step_until(sim, "a", lambda: zz.stats["recurse"] == 1)
    while sim.step("a") != "slab_zalloc_unlocked":
        pass
    finish(sim, "b")
    assert sim.thread("b").state == "finished" and sim.panic is None
    assert zz.stats["recurse"] == 1          # a is still in its slab_zalloc
    assert run_all(sim) == "completed"
    assert zz.pages == 3                     # a slab each
    assert {"za", "zb"} <= set(sim.zones)


@pytest.mark.parametrize("refcnt", [False, True], ids=["slabzone", "slabrefzone"])
def test_slab_header_zone_may_recurse_while_it_refills(refcnt):
    """The same exemption for the OFFPAGE header zones (seed line 1966):
    thread a's allocation from a 4 KB OFFPAGE zone needs a header, and
    "UMA Slabs" (or "UMA RCntSlabs" for a REFCNT keg) a new page; while its
    slab_zalloc is unlocked, thread b's allocation needs a header too and
    goes on to refill the header zone itself."""
    sim = Sim(cpus=1)
    flags = ["refcnt"] if refcnt else []
    sim.zcreate("big", PAGE, flags=flags)
    hz = sim.zones["UMA RCntSlabs" if refcnt else "UMA Slabs"]
    assert hz.pages == 0 and "offpage" in sim.zone("big").flags
    sim.spawn("a", ops=["alloc big -> x"])
    sim.spawn("b", ops=["alloc big -> y"])
    step_until(sim, "a", lambda: hz.stats["recurse"] == 1)
    while sim.step("a") != "slab_zalloc_unlocked":
        pass
    finish(sim, "b")
    assert sim.thread("b").state == "finished" and sim.panic is None
    assert run_all(sim) == "completed"
    assert hz.pages == 2                     # one header page each
    assert row(sim, "big").used == 2
