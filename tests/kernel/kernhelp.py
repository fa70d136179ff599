"""Helpers shared by the kernel-core tests (imported as a plain module:
pytest puts tests/ on sys.path for rootless test files)."""

from __future__ import annotations

import itertools

from umasim import Sim


def users(sim: Sim):
    """The scenario's threads (not softclock or other kernel threads)."""
    return [t for t in sim.threads if not t.kernel]


def by_name(sim: Sim) -> dict:
    return {t.name: t for t in sim.threads}


def step_by_decision(sim: Sim, d: int):
    """Takes exactly one step chosen by machine-form decision `d`."""
    return sim.run(decisions=[d], max_steps=1)


def stepwise(sim: Sim, decisions, check=None, max_steps: int = 10_000):
    """Takes the steps `decisions` chooses, then default steps until the run
    ends, one run() call per step; calls check(sim, before, after) around
    every step, with the thread infos before and after it.  Returns the
    outcome of the last step."""
    dec = iter(decisions)
    before = by_name(sim) if check is not None else None
    for _ in range(max_steps):
        r = sim.run(decisions=[next(dec, 0)], max_steps=1)
        if r.steps == 0:
            return r.outcome
        if check is not None:
            after = by_name(sim)
            check(sim, before, after)
            before = after
        if r.outcome != "step_limit":
            return r.outcome
    raise AssertionError(f"run did not end within {max_steps} steps")


def all_lists(values: int, length: int):
    """Every machine-form decision list of exactly `length` entries with
    values 0..values-1.  Shorter lists need no separate run: a list that
    runs out continues with zeros (test_schedules pins that), so each is the
    same run as its zero-padded form, which is among these."""
    return itertools.product(range(values), repeat=length)


def stepped_threads(sim: Sim, start: int = 0):
    """The thread that ran each step, from the "step" events."""
    return [e.thread for e in sim.events[start:] if e.kind == "step"]


def event_tuples(sim: Sim):
    return [(e.step, e.tick, e.kind, e.thread, e.cpu, e.point, e.a, e.b) for e in sim.events]



def explore(make, values: int, length: int, check=None):
    """Every distinct run that the decision lists of all_lists(values,
    length) give on make()'s Sim: a depth-first walk of the schedule tree
    from snapshots, one step per run() call, with check(sim, before, after)
    around every step as in stepwise().  Past `length` steps only the default
    decision is taken.  Yields (decisions, outcome, sim) at the end of each
    run, `sim` in its final state until the walk goes on.

    Raw values that give the same canonical decision at a node are the same
    run, so each is walked once.  Every run found is replayed from scratch
    in one run() call, which must give the same decisions, events and
    digest: the walk's results do not rest on snapshots alone."""
    sim = make()

    def verify(outcome):
        twin = make()
        res = twin.run(decisions=sim.decisions)
        assert res.decisions == sim.decisions
        assert (res.outcome, twin.digest()) == (outcome, sim.digest())
        assert event_tuples(twin) == event_tuples(sim)

    def walk(snap, before, depth):
        seen = set()
        for v in range(values if depth < length else 1):
            sim.restore(snap)
            r = sim.run(decisions=[v], max_steps=1)
            if r.steps == 0:                 # the run was over at this node
                verify(r.outcome)
                yield sim.decisions, r.outcome, sim
                return
            if r.decisions[0] in seen:
                continue
            seen.add(r.decisions[0])
            after = by_name(sim)
            if check is not None:
                check(sim, before, after)
            if r.outcome != "step_limit":
                verify(r.outcome)
                yield sim.decisions, r.outcome, sim
                continue
            yield from walk(sim.snapshot(), after, depth + 1)

    yield from walk(sim.snapshot(), by_name(sim), 0)
