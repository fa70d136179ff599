"""Bursts: the schedules `umasim fuzz` explores for each generated program.

For each example, Hypothesis draws a program, a schedule and a schedule
*family* (guided or PCT) with a seed.  The drawn schedule is run with
every property checked (umasim.search.properties); then `run_burst` runs
a short burst of that family's schedules from the program's post-setup
snapshot inside one C call (csrc/kern/explore.c with `stop_first`), every
run judged by the core's oracle too (csrc/kern/oracle.c: M_ZERO items,
duplicates, the page limit, lost wakeups, vmstat -z, buckets and slab
headers): the core stops at the first run that panics, faults or fails
the invariant checker or the oracle, and hands back the decisions of its
failing runs (and, with `keep`, of the last few runs that added
race-window or state coverage).  Python runs those schedules again
(`Burst.candidates`, judged by check_case) for the verdict and what the
core does not judge (the checker after every step, the console, the
deadlock explanation).

A failing schedule found by a burst is made small and put in a form that
Hypothesis can shrink together with the program (umasim.search.fuzz):
`fewer_preemptions` drops the preemptions it does not need; `to_triggers`
rewrites its machine-form decisions as trigger-form (gap, decision)
pairs, the gaps counted in stops at UMA's own preemption points
(engine.drivers.TriggerDriver); a preemption that follows some other
kind of stop (a mutex, critical_exit) is moved back to the UMA stop
before it, and the result is kept only when it still fails the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from umasim.engine.drivers import UMA_POINTS
from umasim.model.schedule import Schedule

# Schedules of one burst (the core's runs), and how many of the runs that
# added coverage come back for the properties.  None: the oracle judges
# every run of the burst by the properties Python would check at a run's
# end (such a run came back for them before the oracle), and the checker
# at its end; a run that passed both would only show Python a console
# line (examples per CPU second with one: 146 after every step, 176 at
# the end; with none: 165 and 205).
BURST_RUNS = 64
BURST_KEEP = 0
# Migration probability of a PCT burst's steps, and of a guided burst's
# runs under the random policy.
MIGRATE = 0.2
PCT_DEPTH = 3


@dataclass
class Burst:
    family: str
    seed: int
    runs: int                           # schedules the core ran
    failed: list[list[int]]             # decisions of failing classes, hard failures first
    kept: list[list[int]]               # decisions of runs that added coverage, newest first
    windows_interleaved: int = 0
    state_pairs: int = 0
    windows: list[str] = field(default_factory=list)   # names of the windows interleaved

    @property
    def candidates(self) -> list[list[int]]:
        """The schedules for Python's properties, in the order to try."""
        seen, out = set(), []
        for d in self.failed + self.kept:
            k = tuple(d)
            if k not in seen:
                seen.add(k)
                out.append(d)
        return out


def run_burst(case, family: str, seed: int, runs: int = BURST_RUNS,
              keep: int = BURST_KEEP) -> Burst:
    """A burst of `runs` schedules of `family` ("guided" or "pct") on the
    case's program, from its post-setup snapshot, in one C call."""
    sim = case.build(trace="off")
    core = sim.core
    start = core.snapshot()
    s = core.explore(start, family, runs, seed, MIGRATE,
                     PCT_DEPTH, 0, 0, case.max_steps, "completed", "", True, False, 0,
                     stop_first=True, keep=keep, oracle=True)

    def hard_(c) -> bool:
        return bool(c.check_failed or c.oracle_kind or c.outcome in ("panic", "host_fault"))
    hard = [c.decisions for c in s.classes if c.failed and hard_(c)]
    soft = [c.decisions for c in s.classes if c.failed and not hard_(c)]
    cov = s.coverage
    return Burst(family, seed, s.runs, hard + soft, list(reversed(s.kept)),
                 cov.windows_interleaved, cov.state_pairs,
                 [w.name for w in cov.windows if w.interleaved])


# ---- making a found schedule small, and trigger form ------------------------------

def fewer_preemptions(case, verdict, check, max_runs: int = 60):
    """Drops the preemptions (non-default decisions) of a failing case's
    run that it does not need, while `check(case)` still fails with the
    same kind: the decisions after the failing step, then chunks of
    preemptions (halves, quarters, ... single ones, last first).  Returns
    (case in machine form, verdict)."""
    cur, v = case.with_decisions(verdict.decisions), verdict
    runs = 0

    def attempt(dec):
        nonlocal cur, v, runs
        runs += 1
        cand = cur.with_decisions(dec)
        w = check(cand)
        if not w.ok and w.kind == v.kind:
            cur, v = cand.with_decisions(w.decisions), w
            return True
        return False

    if v.step is not None and len(cur.decisions) > v.step:
        attempt(cur.decisions[:v.step])
    n = sum(1 for d in cur.decisions if d)
    size = max(n // 2, 1)
    while size >= 1 and runs < max_runs:
        pre = [i for i, d in enumerate(cur.decisions) if d]
        k = len(pre)
        progress = False
        while k > 0 and runs < max_runs:
            drop = set(pre[max(k - size, 0):k])
            dec = [0 if i in drop else d for i, d in enumerate(cur.decisions)]
            if attempt(dec):
                progress = True
                pre = [i for i, d in enumerate(cur.decisions) if d]
                k = min(k - size, len(pre))
            else:
                k -= size
        if not progress:
            size //= 2
    return cur, v


def uma_stops(case, decisions) -> list[bool]:
    """For each step of the case's run under `decisions` (machine form,
    then default decisions), whether it stopped at one of UMA's own
    preemption points."""
    sim = case.scenario.build_with(trace="full")
    core = sim.core
    nev = core.nevents()
    out: list[bool] = []
    for d in list(decisions):
        outcome, nev, hit = core.trigger_step(d, nev, UMA_POINTS)
        out.append(hit)
        if outcome != "step_limit":
            break
    return out


def to_triggers(case, decisions) -> list[tuple[int, int]] | None:
    """The (gap, decision) pairs of a machine-form schedule: each
    preemption is taken after the gap-th next stop at a UMA point, as
    TriggerDriver counts them.  A preemption after another kind of stop
    moves back to the last UMA stop before it, and is left out when there
    is none (the first step, or a stop another preemption took): the
    result is what the caller runs again.  None when no preemption is
    left of a schedule that had some."""
    dec = list(decisions)
    while dec and dec[-1] == 0:
        dec.pop()
    if not dec:
        return []
    stops = uma_stops(case, dec)
    trig: list[tuple[int, int]] = []
    last_fire = -1          # the step whose stop fired the previous trigger
    for i, d in enumerate(dec):
        if d == 0:
            continue
        # The UMA stop this decision follows: step i - 1, or the last one before.
        j = i - 1
        while j > last_fire and not (j < len(stops) and stops[j]):
            j -= 1
        if j <= last_fire:
            # No UMA stop of its own to take it after: left out (the caller
            # runs the result to see whether it still fails).
            continue
        gap = sum(1 for k in range(last_fire + 1, j) if k < len(stops) and stops[k])
        trig.append((gap, d))
        last_fire = j
    return trig if trig or not any(dec) else None


def fewer_triggers(case, verdict, check, max_runs: int = 60):
    """Drops the triggers of a failing trigger-form case that it does not
    need (chunks: halves, quarters, ... single ones, last first), while
    `check(case)` still fails with the same kind; a dropped trigger's
    stop is counted into the next one's gap, so the others fire where
    they did.  Returns (case, verdict)."""
    cur, v = case, verdict
    runs = 0

    def without(trig, drop):
        out, carry = [], 0
        for i, (gap, d) in enumerate(trig):
            if i in drop:
                carry += gap + 1
            else:
                out.append((gap + carry, d))
                carry = 0
        return out

    size = max(len(cur.triggers) // 2, 1)
    while size >= 1 and runs < max_runs:
        trig = list(cur.triggers)
        k = len(trig)
        progress = False
        while k > 0 and runs < max_runs:
            drop = set(range(max(k - size, 0), k))
            cand = trigger_case(cur, without(list(cur.triggers), drop))
            runs += 1
            w = check(cand)
            if not w.ok and w.kind == v.kind:
                cur, v, progress = cand, w, True
            k -= size
        if not progress:
            size //= 2
    return cur, v


def trigger_case(case, triggers):
    """The case with this trigger-form schedule."""
    from umasim.search.properties import Case
    return Case(case.scenario, Schedule(triggers=triggers, max_steps=case.max_steps),
                case.draw)
