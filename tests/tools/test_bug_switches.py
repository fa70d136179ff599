"""The known-bug switches (csrc/kern/bugs.def) against the fuzz properties:
Hypothesis, derandomized as in the CI profile, with
nothing but the switch and the knobs for its kind of case
(strategies.knobs_for_bug) -- no @example, no seed -- finds a case that
breaks a property and shrinks it; the failure written as a scenario file
and a trace replays identically and fails the same way; without the switch
the same case passes.

Budgets.  no_recheck and full_bypass: the CI profile's max_examples
(strategies.CI_EXAMPLES), properties checked after every step.
wakeup_one and stale_cache need a structure random cases rarely have --
two threads asleep in zonelimit and then a free; a migration exactly at
the second zfree_race of a free and then a slow-path free on the old vCPU
-- and are found after some thousands of examples: the CI hunt budget
(strategies.CI_HUNT_EXAMPLES; a hunt stops at its first failure), checking
at the end of each run (their failures, a deadlock and conservation, show
there), which costs half as much.  With random seeds and 4000 examples,
wakeup_one was found for 1 seed in 4 and stale_cache for 2 in 4.  The
explorers find stale_cache sooner (tests/tools/test_explore.py).
"""

from __future__ import annotations

from hypothesis import settings

from umasim.views import trace
from umasim.search.fuzz import Failure, find_failure, strategy_for, write_artefacts
from umasim.search.properties import Case, check_case, check_sim_end
from umasim.search.strategies import CI_EXAMPLES, CI_HUNT_EXAMPLES


def hunt(bug: str, budget: int, every_step: bool = True):
    """Hypothesis's search for a case that the switch makes fail."""
    found = find_failure(strategy_for(bug), budget, derandomize=True, every_step=every_step,
                         parent=settings.get_profile("ci"))
    assert found is not None, f"{bug}: no failing case in {budget} examples"
    case, verdict, runs = found
    return case, verdict


def replays_the_same_failure(bug, case, verdict, tmp_path, every_step=True):
    """Artefacts of the failure; the trace replays identically; the
    scenario of the trace fails the same way, and passes without the
    switch.  Returns the case in machine form."""
    art = write_artefacts(Failure(case, verdict, 0, None), tmp_path)
    assert art.replay_command == f"umasim replay {art.trace_path}"
    tr = trace.read(art.trace_path)
    assert tr.header["scenario"]["sim"]["bugs"] == [bug]
    rr = trace.replay(tr)
    assert rr.identical, rr.message
    again = Case.from_scenario(tr.scenario)
    v = check_case(again, every_step=every_step)
    assert (v.kind, v.outcome) == (verdict.kind, verdict.outcome), v
    if verdict.kind != "invariant":
        # The replayed Sim itself, judged at its end (a lost wakeup shows
        # there as the deadlock it leads to).
        assert check_sim_end(again, rr.sim).kind == \
            {"liveness": "deadlock"}.get(verdict.kind, verdict.kind)
    d = tr.scenario.to_dict()
    d["sim"]["bugs"] = []
    d["schedule"]["max_steps"] = 20_000     # the clean run may take another path
    clean = check_case(Case.from_scenario(d))
    assert clean.ok, clean
    return case.with_decisions(verdict.decisions)


def test_no_recheck_found_shrunk_and_replayed(tmp_path):
    """Found within the CI budget (about 100 runs, shrinking included) as
    a panic, "uma_zalloc_arg: Freeing a non free bucket.".  Shrunk to 2
    threads, 2 ops ("alloc z0" each, both on vCPU 0) and 1 preemption
    (decisions [0, 0, 2]): t1 runs its whole alloc while t0 stands at
    zalloc_race, between critical_exit() and ZONE_LOCK(); t0, without the
    re-check, puts vCPU 0's alloc bucket, now holding 14 items, on the
    zone's free-bucket list."""
    case, v = hunt("no_recheck", CI_EXAMPLES)
    assert v.kind == "panic" and "Freeing a non free bucket" in v.message
    fixed = replays_the_same_failure("no_recheck", case, v, tmp_path)
    size = fixed.size()
    assert size["threads"] <= 2 and size["ops"] <= 2 and size["preemptions"] <= 1, \
        fixed.describe()


def test_full_bypass_found_shrunk_and_replayed(tmp_path):
    """Found within the CI budget as a lost wakeup, flagged when it
    happens: a thread asleep in zonelimit while a later free read
    UMA_ZFLAG_FULL set and, going to the per-CPU cache instead of
    uma_zfree_internal, woke nobody.  Shrunk to 2 threads, 3 ops and no
    preemption: zone z0 limited to one page and z1 a secondary zone of it;
    t0 allocates from z1 (filling vCPU 0's z1 cache with the keg's page,
    FULL set) then from z0 (its cache empty: zonelimit), t1 frees t0's z1
    item."""
    case, v = hunt("full_bypass", CI_EXAMPLES)
    assert v.kind == "liveness" and "lost wakeup" in v.message
    fixed = replays_the_same_failure("full_bypass", case, v, tmp_path)
    size = fixed.size()
    assert size["threads"] <= 2 and size["ops"] <= 3 and size["preemptions"] == 0, \
        fixed.describe()


def test_wakeup_one_found_shrunk_and_replayed(tmp_path):
    """Found within the CI hunt budget (about 3800 runs) as a lost wakeup.
    Shrunk to 3 threads, 4 ops and no preemption: one-item slabs (4096
    bytes) and a limit of one page; t0 allocates twice (the second sleeps
    in zonelimit), t1 allocates (sleeps too), t2 frees t0's first item,
    which reads FULL and, with wakeup_one(keg), wakes t0 alone: t1 sleeps
    forever."""
    case, v = hunt("wakeup_one", CI_HUNT_EXAMPLES, every_step=False)
    assert v.kind == "deadlock" and "lost wakeup" in v.message
    fixed = replays_the_same_failure("wakeup_one", case, v, tmp_path, every_step=False)
    size = fixed.size()
    assert size["threads"] <= 3 and size["ops"] <= 4 and size["preemptions"] == 0, \
        fixed.describe()


def test_stale_cache_found_shrunk_and_replayed(tmp_path):
    """Found within the CI hunt budget (about 6700 runs) by the invariant
    checker: an item of the keg is nowhere (30 items in the slabs, 14 free
    + 15 cached).  Shrunk to 2 threads, 4 ops (alloc and free on each, both
    on vCPU 0) and 2 preemptions -- the schedule of
    scenarios/bug_stale_cache.toml: t0 migrated to vCPU 1 at the second
    zfree_race of its free, t1 run at the stale window, where it leaves its
    item in vCPU 0's free bucket, which t0 then overwrites."""
    case, v = hunt("stale_cache", CI_HUNT_EXAMPLES, every_step=False)
    assert v.kind == "invariant"
    fixed = replays_the_same_failure("stale_cache", case, v, tmp_path)
    size = fixed.size()
    assert size["threads"] <= 2 and size["ops"] <= 4 and size["preemptions"] <= 2, \
        fixed.describe()
