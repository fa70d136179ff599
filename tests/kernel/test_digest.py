"""digest() (docs/design.md, "Digest"): equal states give equal digests in every
process, whatever the trace level; every change of state changes it; what
is not state (the logs, stacks, a thread's program) does not."""

import json
import os
import subprocess
import sys

import pytest

from umasim import Sim
from umasim.model.sim import OPCODES

# One scenario, run the same way here and in other processes: digests at
# creation, after spawning, mid-run and at the end.
SCENARIO = """
import json
from umasim import Sim

def scenario(trace="full"):
    out = []
    sim = Sim(cpus=3, pages=6, kmem_pages=16, free_min=2, pagedaemon=True, trace=trace)
    out.append(sim.digest())
    sim.spawn("a", cpu=0, ops=["kmem_alloc 4096 -> x{i}", "lock m", "yield",
                               "unlock m", "kmem_free x{i}"], repeat=4)
    sim.spawn("b", cpu=1, ops=["kmem_alloc 8192 -> y{i}", "lock m", "tsleep c 3",
                               "unlock m", "kmem_free y{i}"], repeat=4)
    sim.spawn("c", cpu=2, ops=["vm_fail 1", "kmem_alloc 12288 nowait -> z",
                               "wakeup c", "sleep 2", "vm_free_pages 3", "kmem_free z"])
    out.append(sim.digest())
    r = sim.run(policy="random", seed=11, migrate=0.3, max_steps=15)
    out.append(sim.digest())
    sim.migrate("a", 2)
    out.append(sim.digest())
    r = sim.run(policy="random", seed=12, migrate=0.3)
    out.append(sim.digest())
    out.append([r.outcome, sim.steps, sim.ticks, sim.decisions])
    return out

if __name__ == "__main__":
    print(json.dumps(scenario()))
"""


def _scenario_here(trace="full"):
    ns: dict = {"__name__": "scenario"}
    exec(SCENARIO, ns)
    return ns["scenario"](trace)


def test_digest_is_sixteen_hex_digits():
    d = Sim().digest()
    assert len(d) == 16 and int(d, 16) >= 0


def test_equal_runs_equal_digests_in_other_processes():
    """The same calls in two other processes (other hash seeds, other host
    addresses for the arena and stacks) give the same digests at every
    point, and the same as in this process."""
    here = _scenario_here()
    assert len(set(map(str, here[:5]))) == 5          # every point differs
    for seed in ("1", "4242"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        p = subprocess.run([sys.executable, "-c", SCENARIO], env=env,
                           capture_output=True, text=True, timeout=60, check=True)
        assert json.loads(p.stdout) == json.loads(json.dumps(here))


def test_equal_runs_equal_digests_in_one_process():
    assert _scenario_here() == _scenario_here()


@pytest.mark.parametrize("trace", ["decisions", "off"])
def test_digest_does_not_depend_on_trace_level(trace):
    """The event log is output, not state."""
    assert _scenario_here(trace) == _scenario_here("full")


def test_one_more_step_changes_digest():
    sim = Sim()
    sim.spawn("a", ops=["yield"] * 5)
    seen = {sim.digest()}
    for _ in range(5):
        sim.step()
        seen.add(sim.digest())
    assert len(seen) == 6


def two_threads():
    sim = Sim(cpus=2)
    sim.spawn("a", cpu=0, ops=["yield"] * 3)
    sim.spawn("b", cpu=0, ops=["yield"] * 3)
    return sim


def test_a_different_decision_changes_digest():
    """With a and b runnable (n = 2): 1 runs a, 2 runs b, 5 runs a after
    migrating it to vCPU 1, 6 the same for b: four different states.  3
    would migrate a to its own vCPU 0, which does nothing: the same state
    as 1, and both are recorded as the default decision 0."""
    digests, recorded = {}, {}
    for d in (1, 2, 3, 5, 6):
        sim = two_threads()
        recorded[d] = sim.run(decisions=[d], max_steps=1).decisions
        digests[d] = sim.digest()
    assert len({digests[d] for d in (1, 2, 5, 6)}) == 4
    assert digests[3] == digests[1]
    assert recorded == {1: [0], 2: [2], 3: [0], 5: [5], 6: [6]}


def test_pending_migration_is_state():
    """sim.migrate() changes the digest before any step (it changes what the
    next step does); after the step the Sim equals one that took the
    equivalent machine-form decision instead."""
    sim = two_threads()
    before = sim.digest()
    sim.migrate("a", 1)
    assert sim.digest() != before
    sim.step("a")
    other = two_threads()
    other.run(decisions=[5], max_steps=1)        # k = 4: a, migrated to vCPU 1
    assert other.thread("a").cpu == 1
    assert sim.decisions == other.decisions == [5]
    assert sim.digest() == other.digest()


def test_spawn_changes_digest():
    sim = Sim()
    d0 = sim.digest()
    sim.spawn("a", ops=["yield"])
    d1 = sim.digest()
    sim.spawn("b", ops=["yield"])
    assert len({d0, d1, sim.digest()}) == 3


def test_configuration_in_state_changes_digest():
    base = Sim().digest()
    for cfg in (dict(cpus=3), dict(pages=255), dict(kmem_pages=1023), dict(free_min=1),
                dict(pagedaemon=True)):
        assert Sim(**cfg).digest() != base, cfg


def test_configuration_that_changes_behaviour_changes_digest():
    """Two simulations with equal digests behave alike: the switches that
    change what happens next (bug switches, granularity, ticks per step,
    INVARIANTS, the direct map) are part of the digest even where the
    state they lead to is not different yet."""
    base = Sim().digest()
    for cfg in (dict(bugs=["zero_bucket"]), dict(granularity="fine"),
                dict(ticks_per_step=2), dict(invariants=False),
                dict(md_small_alloc=True)):
        assert Sim(**cfg).digest() != base, cfg


# ---- every op kind changes the state, seen against a "yield" in its place ----

# Names every case uses, resolved by a thread that never runs, so that both
# Sims of a pair have the same mutexes, channels and variables.
NAMES = ["lock m", "tsleep c", "kmem_free v"]

# op -> (ops before it, threads to run first: (name, ops, steps))
CASES = {
    "lock m": ([], []),
    "unlock m": (["lock m"], []),
    "crit_enter": ([], []),
    "crit_exit": (["crit_enter"], []),
    "tsleep c": ([], []),
    "tsleep c 5": ([], []),
    "wakeup c": ([], [("s", ["tsleep c"], 1)]),
    "sleep 3": ([], []),
    "vm_free_pages 7": ([], []),
    "vm_fail 2": ([], []),
    "kmem_alloc 4096 -> v": ([], []),
    "kmem_alloc 4096 nowait -> v": (["vm_fail 1"], []),       # null, not unset
    "kmem_free v": (["kmem_alloc 4096 -> v"], []),
}

# Ops whose effect is not state: the same digest as a yield.
NO_STATE = {
    "yield": ([], []),
    "recurse 20": ([], []),          # deep frames, but stacks are not hashed
    "vm_free_pages 8": ([], []),     # already 8 free: only a fault event
    "vm_fail 0": ([], []),
    "kmem_free v": (["vm_fail 1", "kmem_alloc 4096 nowait -> v"], []),  # null: nothing
}


def _pair(op, prefix, others):
    """Digests after running `op` and after running a yield in its place."""
    out = []
    for this in (op, "yield"):
        sim = Sim(cpus=2, pages=8)
        sim.spawn("names", cpu=1, ops=NAMES)
        for name, ops, _ in others:
            sim.spawn(name, cpu=1, ops=ops)
        sim.spawn("t", cpu=0, ops=prefix + [this, "yield", "yield"])
        for name, _, steps in others:
            for _ in range(steps):
                sim.step(name)
        for _ in range(len(prefix) + 1):
            sim.step("t")
        out.append(sim.digest())
    return out


@pytest.mark.parametrize("op", list(CASES))
def test_each_op_changes_digest(op):
    prefix, others = CASES[op]
    with_op, with_yield = _pair(op, prefix, others)
    assert with_op != with_yield


@pytest.mark.parametrize("op", list(NO_STATE))
def test_ops_without_state_effect_keep_digest(op):
    prefix, others = NO_STATE[op]
    with_op, with_yield = _pair(op, prefix, others)
    assert with_op == with_yield


# Two ops of the same kind that leave the thread in the same place but the
# kernel in different states.
SAME_SHAPE = [
    ("lock m", "lock n"),                                  # which mutex is owned
    ("tsleep c", "tsleep d"),                              # which channel
    ("tsleep c 4", "tsleep c 5"),                          # when it times out
    ("sleep 3", "sleep 4"),
    ("vm_fail 1", "vm_fail 2"),
    ("vm_free_pages 6", "vm_free_pages 7"),
    ("kmem_alloc 4096 -> v", "kmem_alloc 4096 -> w"),      # which variable
    ("kmem_alloc 4096 -> v", "kmem_alloc 8192 -> v"),      # how many pages
]


@pytest.mark.parametrize("one,other", SAME_SHAPE)
def test_same_kind_of_op_different_effect_changes_digest(one, other):
    out = []
    for op in (one, other):
        sim = Sim(pages=8)
        sim.spawn("names", cpu=1, ops=["lock m", "lock n", "tsleep c", "tsleep d",
                                       "kmem_free v", "kmem_free w"])
        sim.spawn("t", ops=[op, "yield"])
        sim.step("t")
        out.append(sim.digest())
    assert out[0] != out[1]


def test_cases_cover_every_kernel_op():
    kinds = {c.split()[0] for c in CASES} | {c.split()[0] for c in NO_STATE}
    kernel_ops = {"lock", "unlock", "crit_enter", "crit_exit", "tsleep", "wakeup", "sleep",
                  "yield", "recurse", "vm_free_pages", "vm_fail", "kmem_alloc", "kmem_free"}
    assert kernel_ops <= set(OPCODES)
    assert kernel_ops <= kinds


def test_digest_unchanged_by_reading():
    """Inspecting a Sim (threads, events, runnable, decisions) is not a
    change of state."""
    sim = Sim(pages=2)
    sim.spawn("a", ops=["kmem_alloc 4096 -> x", "lock m", "kmem_alloc 8192 -> y"])
    sim.run()
    d = sim.digest()
    _ = sim.threads, sim.events, sim.runnable(), sim.decisions, sim.console, sim.event_counts()
    assert sim.digest() == d
