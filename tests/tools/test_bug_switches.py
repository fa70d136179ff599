"""The known-bug switches (csrc/kern/bugs.def) against the default fuzz
search: `umasim fuzz`'s strategies and bursts with nothing but the switch
turned on (strategy_for(bug)), Hypothesis under one fixed seed for CI
stability (SEED, the same for every switch) -- no @example, no narrowing
-- finds a case that breaks a property and shrinks it to at most 6 ops
and 4 preemptions; the failure written as a scenario file and a trace
replays identically and fails the same way; without the switch the same
case passes.

Budget: HUNT_EXAMPLES examples at most (a hunt stops at its first failure
and then shrinks); wakeup_one needs more under this seed
(HUNT_EXAMPLES_LONG).  How fast the default search finds each switch
across seeds 1..N is measured by bench/find.py, not here.
"""

from __future__ import annotations

import pytest

from umasim.bindings import KNOWN_BUGS
from umasim.search.fuzz import Failure, find_failure, strategy_for, write_artefacts
from umasim.search.properties import Case, check_case, check_sim_end
from umasim.views import trace

SEED = 1
HUNT_EXAMPLES = 3000
# Hunts the seed does not end within HUNT_EXAMPLES: a larger budget
# (wakeup_one: two threads asleep in zonelimit on one keg, then a free).
LONG_HUNTS = {"wakeup_one"}
HUNT_EXAMPLES_LONG = 12000
# The shrunk size every find must reach (ops, preemptions), for every
# switch (a find with no trigger form too): within bench/find.py's
# targets (10, 5), the most its finds of seeds 1..10 were shrunk to.
SIZE = (6, 4)
# What each switch breaks: the properties that may see it first.
KINDS = {
    "stale_cache": {"invariant", "panic", "duplicate", "stats", "accounting", "host_fault"},
    "full_bypass": {"liveness", "deadlock"},
    "wakeup_one": {"liveness", "deadlock"},
    "no_recheck": {"panic"},
    "zero_bucket": {"zero"},
    # (on a keg with a private object, uma_zone_set_obj's limit: the slab
    # past it is one page past the object, the port's vm_page_alloc panic)
    "limit_overshoot": {"limit", "panic"},
    "drain_leak": {"accounting", "invariant"},
    "stats_shared_keg": {"stats", "invariant"},
    "free_null_bucket": {"host_fault"},
}


def hunt(bug: str):
    """The default search for a case that the switch makes fail."""
    budget = HUNT_EXAMPLES_LONG if bug in LONG_HUNTS else HUNT_EXAMPLES
    found = find_failure(strategy_for(bug), budget, seed=SEED)
    assert found is not None, f"{bug}: no failing case in {HUNT_EXAMPLES} examples"
    case, verdict, _ = found
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
    if verdict.kind not in ("invariant", "limit", "duplicate", "zero"):
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


def test_every_switch_is_hunted():
    assert set(KINDS) == set(KNOWN_BUGS)


@pytest.mark.parametrize("bug", list(KNOWN_BUGS))
def test_switch_found_shrunk_and_replayed(bug, tmp_path):
    case, v = hunt(bug)
    assert v.kind in KINDS[bug], (v.kind, v.message, case.describe())
    fixed = replays_the_same_failure(bug, case, v, tmp_path)
    size = fixed.size()
    ops, pre = SIZE
    assert size["ops"] <= ops and size["preemptions"] <= pre, fixed.describe()


def test_no_recheck_is_the_zalloc_race():
    """The shrunk no_recheck case is the race at zalloc_race: a thread
    stands between critical_exit() and ZONE_LOCK() while another (perhaps
    a kernel thread) fills the vCPU's cache, and the first, without the
    re-check, frees a bucket that is not free."""
    case, v = hunt("no_recheck")
    assert "Freeing a non free bucket" in v.message
    assert case.with_decisions(v.decisions).size()["threads"] <= 2
