"""The simulated VM (docs/design.md, "VM" and "Memory and addresses"): physical
pages and kmem_map as two separate limits, vmwait and its wake-up
threshold, M_NOWAIT failures, the vm_fail / vm_free_pages faults, the
optional pagedaemon, the events they leave, and the addresses pages get."""

import json
import os
import subprocess
import sys

import pytest

from umasim import Sim
from umasim.model.sim import DISPLAY_BASE

PAGE = 4096
M_NOWAIT, M_WAITOK = 0x1, 0x2


def run_events(sim):
    """The events of steps (step 0 is the Sim's creation: boot work)."""
    return [e for e in sim.events if e.step > 0]


def evs(sim, kind):
    return [e for e in run_events(sim) if e.kind == kind]


def counts(sim):
    out = {}
    for e in run_events(sim):
        out[e.kind] = out.get(e.kind, 0) + 1
    return out


def allocs(sim):
    """(offset into the arena, pages) of every page_alloc event."""
    return [(e.a - DISPLAY_BASE, e.b) for e in evs(sim, "page_alloc")]


def frees(sim):
    return [(e.a - DISPLAY_BASE, e.b) for e in evs(sim, "page_free")]


def run_ops(ops, **cfg):
    sim = Sim(**cfg)
    sim.spawn("a", ops=ops)
    return sim, sim.run()


# ---- two limits: kmem_map address space and physical pages ----------------

FRAGMENT = ["kmem_alloc 4096 -> p0", "kmem_alloc 4096 -> p1", "kmem_alloc 4096 -> p2",
            "kmem_alloc 4096 -> p3", "kmem_free p0", "kmem_free p2"]


def test_kmem_map_fragmented_waitok_panics_though_pages_remain():
    """kmem_map (4 pages) is full, then pages 0 and 2 are freed: two free
    kmem_map pages and 98 free physical pages, but no run of two
    contiguous pages, so an M_WAITOK two-page allocation panics as FreeBSD
    7's kmem_malloc did, after its reclaim rounds (it does not sleep in
    vmwait)."""
    sim, r = run_ops(FRAGMENT + ["kmem_alloc 8192 -> big"], pages=100, kmem_pages=4)
    assert r.outcome == "panic"
    assert sim.panic == "kmem_malloc(8192): kmem_map too small: 8192 total allocated"
    assert sim.console == ["panic: " + sim.panic]
    # First fit: the four single pages are consecutive from kmem_map's start.
    base = allocs(sim)[0][0]
    assert allocs(sim) == [(base + i * PAGE, 1) for i in range(4)]
    assert frees(sim) == [(base, 1), (base + 2 * PAGE, 1)]
    assert evs(sim, "page_fail") == []          # a panic, not a page shortage
    assert run_events(sim)[-1].kind == "panic"


def test_kmem_map_fragmented_nowait_gets_null_then_first_fit():
    """The same fragmentation under M_NOWAIT: NULL and a page_fail event
    (a = pages asked, b = M_NOWAIT), no panic; freeing the null variable
    does nothing.  Once page 1 is freed too, pages 0..2 are one run and the
    two-page allocation takes its start (first fit); a one-page allocation
    then takes the lowest hole left (page 2), not the highest free page."""
    ops = FRAGMENT + ["kmem_alloc 8192 nowait -> big", "kmem_free big",
                      "kmem_free p1", "kmem_alloc 8192 nowait -> big2",
                      "kmem_alloc 4096 -> q"]
    sim, r = run_ops(ops, pages=100, kmem_pages=4)
    assert r.outcome == "completed" and sim.panic is None
    fails = evs(sim, "page_fail")
    assert [(e.a, e.b) for e in fails] == [(2, M_NOWAIT)]
    base = allocs(sim)[0][0]
    assert allocs(sim)[4:] == [(base, 2), (base + 2 * PAGE, 1)]
    # "kmem_free big" (null) freed nothing: the frees are p0, p2, p1.
    assert frees(sim) == [(base, 1), (base + 2 * PAGE, 1), (base + PAGE, 1)]


def test_kmem_map_too_small_message_counts_bytes_in_use():
    """The panic names the size asked for, rounded to pages as FreeBSD 7's
    kmem_malloc does (round_page), and the bytes of kmem_map in use."""
    sim, r = run_ops(["kmem_alloc 12288 -> x", "kmem_alloc 20000 -> y"],
                     pages=1000, kmem_pages=6)
    assert r.outcome == "panic"
    assert sim.panic == "kmem_malloc(20480): kmem_map too small: 12288 total allocated"


# ---- kmem_malloc's reclaim rounds (FreeBSD 7's vm_kern.c) ------------------

def test_kmem_map_full_waitok_runs_eight_nokva_rounds_then_panics():
    """With no room in kmem_map, an M_WAITOK request runs 8 rounds of
    vm_lowmem, uma_reclaim and a retry, each failed retry followed by a
    tsleep on "nokva" of (hz / 4) * (round + 1) ticks that nothing wakes
    (it times out); then the panic.  M_NOWAIT gets NULL at once."""
    sim, r = run_ops(FRAGMENT + ["kmem_alloc 8192 nowait -> n", "kmem_alloc 8192 -> big"],
                     pages=100, kmem_pages=4)
    assert r.outcome == "panic" and "kmem_map too small" in sim.panic
    sleeps = evs(sim, "sleep")
    assert [(e.wmesg, e.b) for e in sleeps] == [("nokva", 250 * k) for k in range(1, 9)]
    assert len({e.a for e in sleeps}) == 1 and all(e.thread == "a" for e in sleeps)
    assert [e.b for e in evs(sim, "wakeup")] == [-1] * 8          # timed out
    assert sim.variables()["n"] == "null"
    assert [(e.a, e.b) for e in evs(sim, "page_fail")] == [(2, M_NOWAIT)]
    assert r.ticks >= 250 * sum(range(1, 9))


def test_a_later_round_finds_the_room_another_thread_freed():
    """b's first retry fails and it sleeps in "nokva"; a frees its four
    pages meanwhile; b's next round (after the sleep times out) finds the
    room: no panic, and b's page is where a's were."""
    sim = Sim(pages=100, kmem_pages=4)
    sim.spawn("a", ops=["kmem_alloc 16384 -> x", "sleep 300", "kmem_free x"])
    sim.spawn("b", ops=["kmem_alloc 4096 -> y"])
    r = sim.run()
    assert r.outcome == "completed" and sim.panic is None
    assert [(e.thread, e.wmesg) for e in evs(sim, "sleep")] == [("a", "sleep"), ("b", "nokva")]
    assert allocs(sim) == [(allocs(sim)[0][0], 4), (allocs(sim)[0][0], 1)]
    assert sim.variables()["y"].startswith("holds")


@pytest.mark.parametrize("flag, outcome", [("", "panic"), (" nowait", "completed")])
def test_a_request_larger_than_kmem_map_is_a_run_time_event(flag, outcome):
    """A request larger than the whole kmem_map loads (it is no scenario
    error) and meets kmem_malloc at run time: the rounds and the panic for
    M_WAITOK, NULL for M_NOWAIT."""
    from umasim.model.scenario import loads
    scn = loads(f'''
        [sim]
        kmem_pages = 4
        [[thread]]
        name = "a"
        ops = ["kmem_alloc 65536{flag} -> x", "malloc_large 65536{flag} -> y"]
        '''.replace("        ", ""))
    sim = scn.build()
    r = sim.run()
    assert r.outcome == outcome
    if flag:
        assert sim.variables()["x"] == sim.variables()["y"] == "null"
        assert evs(sim, "sleep") == []
    else:
        assert sim.panic == "kmem_malloc(65536): kmem_map too small: 0 total allocated"
        assert len(evs(sim, "sleep")) == 8


def test_physical_pages_run_out_before_kmem_map():
    """With kmem_map to spare, running out of physical pages is not a
    panic: M_NOWAIT gets NULL, M_WAITOK sleeps on "vmwait" (page_fail with
    b = M_WAITOK), and with nobody to free a page the run deadlocks."""
    ops = ["kmem_alloc 4096 -> x", "kmem_alloc 8192 nowait -> n",
           "kmem_alloc 4096 -> y", "kmem_alloc 4096 -> z"]
    sim, r = run_ops(ops, pages=2, kmem_pages=64)
    assert r.outcome == "deadlock" and sim.panic is None
    assert [(e.a, e.b) for e in evs(sim, "page_fail")] == [(2, M_NOWAIT), (1, M_WAITOK)]
    assert len(allocs(sim)) == 2
    a = sim.thread("a")
    assert (a.state, a.wmesg, a.op, a.timeout) == ("asleep", "vmwait", 3, None)
    assert [(e.wmesg, e.b) for e in evs(sim, "sleep")] == [("vmwait", 0)]   # its event too
    assert r.waiting == [f"a: {a.describe()}"]


# ---- vmwait and its threshold max(free_min, 1) ------------------------------

@pytest.mark.parametrize("free_min", [0, 1, 3])
def test_vmwait_wakes_when_pages_returned_reach_threshold(free_min):
    """A vmwait sleeper stays asleep while kmem_free returns pages below
    max(free_min, 1), and wakes (one wakeup event) when they reach it; it
    then maps the page at the kmem_map range it entered before sleeping (as
    FreeBSD 7's map entry stays across VM_WAIT), not x0's freed range."""
    thresh = max(free_min, 1)
    sim = Sim(pages=3, free_min=free_min)
    sim.spawn("b", ops=[f"kmem_alloc 4096 -> x{i}" for i in range(3)] +
              [f"kmem_free x{i}" for i in range(3)])
    sim.spawn("a", ops=["kmem_alloc 4096 -> y"])
    for _ in range(3):
        sim.step("b")
    sim.step("a")
    assert sim.thread("a").state == "asleep" and sim.thread("a").wmesg == "vmwait"
    for returned in range(1, 4):
        sim.step("b")
        woken = returned >= thresh
        assert sim.thread("a").state == ("runnable" if woken else "asleep"), returned
        if woken:
            break
    assert returned == thresh
    assert [e.b for e in evs(sim, "wakeup")] == [1]      # one sleeper woke
    sim.step("a")
    assert sim.thread("a").state == "finished"
    assert allocs(sim)[-1] == (allocs(sim)[2][0] + PAGE, 1)   # the range after x2


@pytest.mark.parametrize("free_min", [0, 2, 3])
def test_vm_free_pages_raising_wakes_at_threshold(free_min):
    """vm_free_pages raising the free count wakes vmwait sleepers exactly
    when it reaches max(free_min, 1)."""
    thresh = max(free_min, 1)
    sim = Sim(pages=0, free_min=free_min)
    sim.spawn("a", ops=["kmem_alloc 4096 -> y"])
    sim.spawn("f", ops=[f"vm_free_pages {n}" for n in range(1, 5)])
    sim.step("a")
    assert sim.thread("a").wmesg == "vmwait"
    for n in range(1, 5):
        sim.step("f")
        assert sim.thread("a").state == ("runnable" if n >= thresh else "asleep"), n
    assert sim.run().outcome == "completed"
    assert len(allocs(sim)) == 1


def test_vm_free_pages_lowering_leaves_pages_in_use():
    """Lowering the free count to 0 does not take back pages in use: their
    owner frees them later without a panic, each free adds a page, and a
    sleeper gets a page, at the range it entered before sleeping.  Lowering
    does not wake sleepers."""
    sim = Sim(pages=2)
    sim.spawn("a", ops=["kmem_alloc 4096 -> x", "kmem_free x"])
    sim.spawn("f", ops=["vm_free_pages 0"])
    sim.spawn("c", ops=["kmem_alloc 4096 -> y"])
    sim.step("a")                       # x: one page in use, one free
    sim.step("f")                       # free pages: 0
    sim.step("c")
    assert sim.thread("c").wmesg == "vmwait"
    assert [(e.a, e.b) for e in evs(sim, "fault")] == [(0, 0)]
    sim.step("a")                       # x back: 1 free page, c wakes
    assert sim.thread("c").state == "runnable"
    sim.step("c")
    assert sim.thread("c").state == "finished"
    x_page = allocs(sim)[0]
    assert allocs(sim) == [x_page, (x_page[0] + PAGE, 1)]
    assert frees(sim) == [x_page]
    assert sim.run().outcome == "completed" and sim.panic is None


def test_vm_free_pages_lowering_does_not_wake():
    sim = Sim(pages=0)
    sim.spawn("a", ops=["kmem_alloc 4096 -> y"])
    sim.spawn("f", ops=["vm_free_pages 0", "yield"])
    sim.step("a")
    sim.step("f")
    assert sim.thread("a").state == "asleep"
    assert sim.run().outcome == "deadlock"


# ---- injected failures ------------------------------------------------------

def test_vm_fail_nowait_fails_the_next_n_allocations():
    """vm_fail 2: the next two allocations find no free page (NULL under
    M_NOWAIT, with pages to spare); the third succeeds.  The fault event
    records kind 1 (vm_fail) and N."""
    ops = ["vm_fail 2"] + [f"kmem_alloc 4096 nowait -> n{i}" for i in range(3)]
    sim, r = run_ops(ops, pages=10)
    assert r.outcome == "completed"
    assert [(e.a, e.b) for e in evs(sim, "fault")] == [(1, 2)]
    assert [(e.a, e.b) for e in evs(sim, "page_fail")] == [(1, M_NOWAIT)] * 2
    assert len(allocs(sim)) == 1
    assert [e.step for e in evs(sim, "page_alloc")] == [4]


@pytest.mark.parametrize("n", [1, 3])
def test_vm_fail_waitok_sleeps_one_tick_per_failure_and_retries(n):
    """Under M_WAITOK each injected failure is a one-tick sleep in vmwait
    and a retry.  With ticks_per_step = 0 only those sleeps move time: the
    allocation lands at tick n, after n page_fail and n sleep events."""
    sim = Sim(pages=10, ticks_per_step=0)
    sim.spawn("a", ops=[f"vm_fail {n}", "kmem_alloc 4096 -> x"])
    sim.step("a")
    sim.step("a")
    a = sim.thread("a")
    assert (a.state, a.wmesg, a.timeout) == ("asleep", "vmwait", 1)
    r = sim.run()
    assert r.outcome == "completed"
    assert sim.ticks == n
    assert [e.tick for e in evs(sim, "page_fail")] == list(range(n))
    assert [e.b for e in evs(sim, "page_fail")] == [M_WAITOK] * n
    assert [e.b for e in evs(sim, "sleep")] == [1] * n           # timo = 1 tick
    assert [e.tick for e in evs(sim, "page_alloc")] == [n]
    assert [e.b for e in evs(sim, "wakeup")] == [-1] * n         # by timeout


def test_vm_fail_then_real_shortage_sleeps_untimed():
    """After the injected failures a real shortage is an ordinary vmwait
    sleep with no timeout."""
    sim = Sim(pages=0, ticks_per_step=0)
    sim.spawn("a", ops=["vm_fail 1", "kmem_alloc 4096 -> x"])
    r = sim.run()
    assert r.outcome == "deadlock" and sim.ticks == 1
    assert [e.b for e in evs(sim, "sleep")] == [1, 0]
    assert sim.thread("a").timeout is None


# ---- the pagedaemon -----------------------------------------------------------

def test_no_pagedaemon_by_default():
    assert [t.name for t in Sim().threads] == ["softclock"]
    assert [t.name for t in Sim(pagedaemon=False, free_min=5).threads] == ["softclock"]


def test_pagedaemon_thread():
    sim = Sim(pagedaemon=True)
    pd = sim.thread("pagedaemon")
    assert (pd.kernel, pd.state, pd.wmesg) == (True, "asleep", "psleep")
    assert sim.spawn("a", ops=["yield"]).tid == 2
    # A kernel thread does not keep a run alive.
    assert sim.run().outcome == "completed"
    assert sim.thread("pagedaemon").state == "asleep"
    assert all(e.thread != "pagedaemon" for e in run_events(sim))


def test_pagedaemon_wakes_below_free_min_and_runs():
    """free_min = 2 with 4 pages: the second allocation leaves 2 free (not
    below), the third 1 (below): only then is the pagedaemon runnable.  It
    starts right after the user thread sleeps, runs uma_reclaim (taking
    the zone locks one by one, so several steps), and goes back to
    "psleep"."""
    sim = Sim(pages=4, free_min=2, pagedaemon=True)
    sim.spawn("a", ops=[f"kmem_alloc 4096 -> x{i}" for i in range(3)] + ["sleep 5", "yield"])
    states = []
    for _ in range(3):
        sim.step("a")
        states.append(sim.thread("pagedaemon").state)
    assert states == ["asleep", "asleep", "runnable"]
    r = sim.run()
    assert r.outcome == "completed"
    ran = [e for e in evs(sim, "step") if e.thread == "pagedaemon"]
    assert len(ran) > 1 and {e.point for e in ran} >= {"mtx_lock", "mtx_unlock"}
    assert ran[0].step == 5                  # right after a's "sleep 5" step
    pd = sim.thread("pagedaemon")
    assert (pd.state, pd.wmesg, pd.point) == ("asleep", "psleep", "msleep")


def test_pagedaemon_woken_by_vm_free_pages_below_free_min():
    sim = Sim(pages=10, free_min=3, pagedaemon=True)
    sim.spawn("f", ops=["vm_free_pages 5", "vm_free_pages 3", "vm_free_pages 2", "yield"])
    seen = []
    for _ in range(3):
        sim.step("f")
        seen.append(sim.thread("pagedaemon").state)
    assert seen == ["asleep", "asleep", "runnable"]


def test_pagedaemon_woken_by_vmwait_even_with_free_min_zero():
    """A thread going to sleep in vmwait wakes the pagedaemon; it runs,
    finds nothing to do and sleeps again: the run deadlocks, reporting
    only the user thread."""
    sim = Sim(pages=0, pagedaemon=True)
    sim.spawn("a", ops=["kmem_alloc 4096 -> x"])
    r = sim.run()
    assert r.outcome == "deadlock"
    steps = [e.thread for e in evs(sim, "step")]
    assert steps[0] == "a" and set(steps[1:]) == {"pagedaemon"}
    assert sim.thread("pagedaemon").wmesg == "psleep"
    assert [w.split(":")[0] for w in r.waiting] == ["a"]


def test_without_pagedaemon_no_thread_is_woken():
    sim = Sim(pages=0, free_min=3)
    sim.spawn("a", ops=["kmem_alloc 4096 -> x"])
    r = sim.run()
    assert r.outcome == "deadlock" and r.steps == 1


# ---- event counts ---------------------------------------------------------------

def test_event_counts_of_a_fault_script():
    ops = ["vm_fail 1", "kmem_alloc 4096 nowait -> n0",      # fault, page_fail
           "kmem_alloc 4096 -> x",                             # page_alloc (1 free left)
           "kmem_alloc 8192 nowait -> n1",                     # page_fail
           "vm_free_pages 4",                                  # fault
           "kmem_alloc 8192 -> y",                             # page_alloc
           "kmem_free x", "kmem_free y", "kmem_free n0", "kmem_free n1"]  # 2 page_free
    sim, r = run_ops(ops, pages=2)
    assert r.outcome == "completed"
    n = counts(sim)
    assert {k: n.get(k, 0) for k in ("page_alloc", "page_free", "page_fail", "fault")} \
        == {"page_alloc": 2, "page_free": 2, "page_fail": 2, "fault": 2}
    assert n["op_begin"] == n["op_end"] == len(ops)
    assert sim.event_counts()["page_fail"] == 2
    # Pages freed are the pages allocated, with their sizes.
    assert sorted(frees(sim)) == sorted(allocs(sim))
    # Without a full trace there are no events, and the run is the same.
    quiet = Sim(pages=2, trace="decisions")
    quiet.spawn("a", ops=ops)
    assert quiet.run().decisions == r.decisions
    assert quiet.events == [] and quiet.digest() == sim.digest()


def test_double_kmem_free_panics_with_the_variable_name():
    sim, r = run_ops(["kmem_alloc 4096 -> xyz", "kmem_free xyz", "kmem_free xyz"])
    assert r.outcome == "panic" and sim.panic == "double free of xyz"


def test_kmem_free_of_unset_variable_waits_for_the_producer():
    sim = Sim(pages=4)
    sim.spawn("cons", ops=["kmem_free v"])
    sim.spawn("prod", ops=["yield", "kmem_alloc 4096 -> v"])
    sim.step("cons")
    c = sim.thread("cons")
    assert (c.state, c.var) == ("waiting", "v")
    sim.step("prod")
    assert sim.thread("cons").state == "waiting"
    sim.step("prod")
    assert sim.thread("cons").state == "runnable"
    assert sim.run().outcome == "completed"
    assert frees(sim) == allocs(sim)


# ---- the arena and addresses ------------------------------------------------------

ADDR_SCRIPT = """
import json, sys
from umasim import Sim
out = {}
for bp in (48, 53, 64):
    sim = Sim(pages=64, kmem_pages=32, boot_pages=bp)
    sim.spawn("a", ops=["kmem_alloc 4096 -> x", "kmem_alloc 12288 -> y", "kmem_free x",
                        "kmem_alloc 8192 -> z", "kmem_alloc 4096 -> w", "kmem_alloc 99999 -> big"])
    sim.spawn("b", cpu=1, ops=["kmem_alloc 8192 -> q", "kmem_free q"])
    sim.run(policy="random", seed=7)
    out[bp] = [(e.kind, e.a, e.b) for e in sim.events
               if e.step > 0 and e.kind in ("page_alloc", "page_free", "sleep", "wakeup")]
print(json.dumps(out))
"""


def _addresses_here():
    ns: dict = {}
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(ADDR_SCRIPT, ns)
    return json.loads(buf.getvalue())


def test_page_addresses_are_display_base_plus_page_aligned_offsets():
    """Every page address is 0xfffff80000000000 + a page-aligned offset into
    the arena; kmem_map starts after the boot pages, so adding boot pages
    moves every address up by exactly that many pages."""
    out = _addresses_here()
    firsts = {}
    for bp, events in out.items():
        pages = [(a, b) for k, a, b in events if k in ("page_alloc", "page_free")]
        assert pages
        kmem = min(a for a, _ in pages) - DISPLAY_BASE
        firsts[int(bp)] = kmem
        for a, n in pages:
            off = a - DISPLAY_BASE
            assert 0 <= off < 2**32 and off % PAGE == 0, hex(a)
            assert off >= int(bp) * PAGE
            assert off + n * PAGE <= kmem + 32 * PAGE      # inside kmem_map
    assert firsts[53] - firsts[48] == 5 * PAGE
    assert firsts[64] - firsts[48] == 16 * PAGE
    # Same run with other boot_pages: the same events, shifted.
    shift = {bp: firsts[int(bp)] - firsts[48] for bp in out}
    for bp, events in out.items():
        assert [(k, a - shift[bp] if k.startswith("page_") else a, b)
                for k, a, b in events] == \
            [(k, a, b) for k, a, b in out["48"]]


def test_addresses_identical_across_processes_and_sims():
    """Two Sims in this process and two other processes (different hash
    seeds, different host address layouts) see the same addresses."""
    here = _addresses_here()
    assert _addresses_here() == here
    for seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        p = subprocess.run([sys.executable, "-c", ADDR_SCRIPT], env=env,
                           capture_output=True, text=True, timeout=60, check=True)
        assert json.loads(p.stdout) == here


def test_pagedaemon_and_a_sleeper_needing_more_pages_than_free_do_not_livelock():
    """A 2-page request with 1 page free sleeps in vmwait and wakes the
    pagedaemon; its reclaim frees nothing, so nobody wakes the sleeper
    again: the run ends in a deadlock (explained: free pages below the
    request) instead of the two waking each other forever."""
    sim = Sim(pages=3, pagedaemon=True)
    sim.spawn("a", ops=["kmem_alloc 8192 -> x", "kmem_alloc 8192 -> y"])
    r = sim.run(max_steps=100_000)
    assert r.outcome == "deadlock" and r.steps < 1000
    assert r.waiting == ["a: asleep on 'vmwait' (channel &cnt.v_free_count)"]
    assert sim.thread("pagedaemon").wmesg == "psleep"
