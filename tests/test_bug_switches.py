"""The known-bug switches (csrc/kern/bugs.def) against the fuzz properties
(issue 6, item 4): Hypothesis, derandomized, with nothing but the switch
and the knobs for its kind of case (strategies.knobs_for_bug) -- no
@example, no seed -- finds a case that breaks a property, shrinks it, and
the failure written as a scenario file and a trace replays identically and
fails the same way; without the switch the same case passes.

Budgets: the CI profile's max_examples (strategies.CI_EXAMPLES) for
no_recheck and full_bypass.  wakeup_one and stale_cache need a
structure that random programs and schedules rarely have (three threads
with two zonelimit sleepers and a later free; a migration exactly at the
second zfree_race of a free followed by a slow-path free of another thread
on the old vCPU): the properties find them only with budgets in the
thousands of examples, so those two hunts run under the deep profile
(UMASIM_HYPOTHESIS_PROFILE=deep) only.  The explorers find stale_cache
within the CI budget (tests/test_explore.py).
"""

from __future__ import annotations

import pytest
from hypothesis import settings

from umasim import trace
from umasim.fuzz import Failure, find_failure, strategy_for, write_artefacts
from umasim.properties import Case, check_case, check_sim_end
from umasim.strategies import CI_EXAMPLES, profile_name

DEEP_EXAMPLES = 8000


def hunt(bug: str, budget: int):
    """Hypothesis's search for a case that the switch makes fail."""
    found = find_failure(strategy_for(bug), budget, derandomize=True,
                         parent=settings.get_profile("ci"))
    assert found is not None, f"{bug}: no failing case in {budget} examples"
    case, verdict, runs = found
    return case, verdict


def replays_the_same_failure(bug, case, verdict, tmp_path):
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
    v = check_case(again)
    assert (v.kind, v.outcome) == (verdict.kind, verdict.outcome), v
    if verdict.kind != "invariant":
        # The replayed Sim itself, judged at its end.
        assert check_sim_end(again, rr.sim).kind == verdict.kind
    d = tr.scenario.to_dict()
    d["sim"]["bugs"] = []
    d["schedule"]["max_steps"] = 20_000     # the clean run may take another path
    clean = check_case(Case.from_scenario(d))
    assert clean.ok, clean
    return case.with_decisions(verdict.decisions)


def test_no_recheck_found_shrunk_and_replayed(tmp_path):
    """Found within the CI budget as a panic ("uma_zalloc_arg: Freeing a
    non free bucket."), shrunk to 2 threads, 2 ops ("alloc z0" on each,
    both on vCPU 0) and one preemption: the second thread runs its whole
    alloc while the first stands at zalloc_race, between critical_exit()
    and ZONE_LOCK(), and the first, without the re-check, puts vCPU 0's
    now non-empty alloc bucket on the zone's free-bucket list."""
    case, v = hunt("no_recheck", CI_EXAMPLES)
    assert v.kind == "panic" and "Freeing a non free bucket" in v.message
    fixed = replays_the_same_failure("no_recheck", case, v, tmp_path)
    size = fixed.size()
    assert size["threads"] <= 2 and size["ops"] <= 3 and size["preemptions"] <= 2, \
        fixed.describe()


def test_full_bypass_found_shrunk_and_replayed(tmp_path):
    """Found within the CI budget as a deadlock the model does not explain:
    a thread asleep in zonelimit while a later free read UMA_ZFLAG_FULL set
    and, bypassing uma_zfree_internal, woke nobody.  Shrunk to 3 ops
    (two allocs and a free) in at most 3 threads, a zone limited to one
    page, and no preemption at all."""
    case, v = hunt("full_bypass", CI_EXAMPLES)
    assert v.kind == "deadlock" and "lost wakeup" in v.message
    fixed = replays_the_same_failure("full_bypass", case, v, tmp_path)
    size = fixed.size()
    assert size["threads"] <= 3 and size["ops"] <= 4 and size["preemptions"] <= 1, \
        fixed.describe()


deep_only = pytest.mark.skipif(
    profile_name() != "deep",
    reason="needs thousands of examples: run with UMASIM_HYPOTHESIS_PROFILE=deep")


@deep_only
def test_wakeup_one_found_shrunk_and_replayed(tmp_path):
    """A lost wakeup: two threads asleep in zonelimit, a free that reads
    FULL wakes one (wakeup_one), the other sleeps forever.  Shrunk to 3
    threads and 4-5 ops (one thread allocates, sleeps and frees; two
    allocate on the other vCPU or from a secondary zone) and no
    preemption."""
    case, v = hunt("wakeup_one", DEEP_EXAMPLES)
    assert v.kind == "deadlock"
    fixed = replays_the_same_failure("wakeup_one", case, v, tmp_path)
    size = fixed.size()
    assert size["threads"] <= 3 and size["ops"] <= 6, fixed.describe()


@deep_only
def test_stale_cache_found_shrunk_and_replayed(tmp_path):
    """The invariant checker finds an item nowhere (a bucket lost by the
    migrated thread writing the old vCPU's cache).  Shrunk to 2-3 threads,
    4-8 ops, and 2-3 preemptions: a migration at zfree_race and a switch
    to a thread of the old vCPU at the stale window."""
    case, v = hunt("stale_cache", DEEP_EXAMPLES)
    assert v.kind in ("invariant", "duplicate", "panic")
    fixed = replays_the_same_failure("stale_cache", case, v, tmp_path)
    size = fixed.size()
    assert size["threads"] <= 3 and size["ops"] <= 8, fixed.describe()
