"""The oracles true to FreeBSD 7 (umasim.search.properties): each passes on
the faithful port and fails on a planted violation -- a known-bug switch
that re-creates the mistake, not a search tuned to find it."""

from __future__ import annotations

import pytest

from umasim.search.properties import Case, PropertyChecker, check_case

TRASH = {"ctor": "trash", "dtor": "trash", "init": "trash", "fini": "trash"}


def zero_case(bugs=()):
    """An M_ZERO alloc from a zone whose free items hold uma_dbg's junk: the
    item comes from the per-CPU bucket the slow path just filled."""
    return Case.of({"cpus": 1, "bugs": list(bugs)}, [dict(name="z", size=256, **TRASH)],
                   [{"name": "t", "cpu": 0, "ops": ["alloc z zero -> a"]}])


def limit_case(bugs=()):
    """A keg of one 1-page slab: the second allocation must fail (nowait)."""
    return Case.of({"cpus": 1, "bugs": list(bugs)}, [{"name": "z", "size": 4096, "max": 1}],
                   [{"name": "t", "cpu": 0,
                     "ops": ["alloc z nowait -> a", "alloc z nowait -> b"]}])


def drain_case(bugs=()):
    """100 items allocated and freed: full buckets go to the zone's list,
    which zone_drain empties -- buckets and all."""
    n = 100
    return Case.of({"cpus": 1, "bugs": list(bugs)}, [{"name": "z", "size": 256}],
                   [{"name": "a", "cpu": 0, "ops": [f"alloc z -> x{i}" for i in range(n)]},
                    {"name": "b", "cpu": 0, "ops": [f"free x{i}" for i in range(n)]},
                    {"name": "c", "cpu": 0, "ops": ["drain z"]}])


def shared_keg_case(bugs=()):
    """A secondary zone on m's keg: its allocs and frees are its own in
    vmstat -z."""
    return Case.of({"cpus": 1, "bugs": list(bugs)},
                   [{"name": "m", "size": 256}, {"name": "s", "master": "m"}],
                   [{"name": "t", "cpu": 0,
                     "ops": ["alloc s -> a", "alloc m -> b", "free a"]}])


ORACLES = [
    (zero_case, "zero_bucket", "zero", "of an M_ZERO alloc from zone z reads", True),
    (zero_case, "zero_bucket", "zero", "of an M_ZERO alloc from zone z reads", False),
    # The page-limit bound is watched step by step only.
    (limit_case, "limit_overshoot", "limit", "more than its limit of 1 allows", True),
    (drain_case, "drain_leak", "accounting", "buckets in use", True),
    (drain_case, "drain_leak", "accounting", "buckets in use", False),
]


@pytest.mark.parametrize("make, bug, kind, words, every_step", ORACLES,
                         ids=["zero", "zero-end", "limit", "accounting", "accounting-end"])
def test_an_oracle_passes_faithful_freebsd_7_and_fails_the_planted_bug(make, bug, kind, words,
                                                                      every_step):
    ok = check_case(make(), every_step=every_step)
    assert ok.ok, ok
    bad = check_case(make([bug]), every_step=every_step)
    assert not bad.ok and bad.kind == kind and words in bad.message, bad


def test_per_zone_statistics_of_zones_that_share_a_keg():
    """stats_shared_keg counts a secondary zone's frees in its master: the
    invariant checker's conservation sees it first, and the statistics
    oracle on its own (vmstat -z per zone against the program's counts)
    sees it too."""
    assert check_case(shared_keg_case()).ok
    bad = shared_keg_case(["stats_shared_keg"])
    v = check_case(bad, keep_sim=True)
    assert not v.ok and v.kind == "invariant", v
    checker = PropertyChecker(bad, every_step=False)
    checker.attach(v.sim)
    checker.scan(False)
    checker.check_stats()
    kind, message, _ = checker.failure
    assert kind == "stats" and "zone m: USED" in message, message


def test_a_wild_store_in_the_port_is_a_host_fault_verdict():
    """free_null_bucket dereferences a NULL free bucket in uma_zfree_arg's
    fast path: the simulation ends as a host fault, and the process goes on."""
    case = Case.of({"cpus": 1, "bugs": ["free_null_bucket"]}, [{"name": "z", "size": 256}],
                   [{"name": "t", "cpu": 0, "ops": ["alloc z -> a", "free a"]}])
    v = check_case(case)
    assert not v.ok and v.kind == "host_fault" and v.outcome == "host_fault", v
    assert check_case(zero_case()).ok
