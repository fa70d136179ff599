"""The bounded explorer (csrc/kern/explorer/bounded.c): migrations are
decisions too, sleep sets over the core's step footprints
(csrc/kern/footprint.c) prune runs without losing an outcome or a final
state, and FreeBSD 7's own deadlocks are told apart from failures
(umasim.search.explore.judge_hazards)."""

import json
import os
from pathlib import Path

import pytest

from umasim import cli
from umasim.model.scenario import from_dict, load
from umasim.search.explore import explore

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

BUDGET = 1_000_000      # runs; every exploration below runs out well before it

# Shipped scenarios whose k = 2 tree takes more than a few seconds to run
# out, twice (without and with reduction; seconds measured on a loaded
# 2-core machine): run only with UMASIM_LONG_TESTS=1.  A runs budget would
# not do: below the size of the tree neither exploration runs out, and
# their runs are not comparable.
LONG = {"bucketdisable_low_memory": "143,677 runs, 8 s for both",
        "hunt_no_recheck": "223,256 runs, 17 + 38 s",
        "mbuf_packet_zone_strands_clusters": "81,829 runs, 12 + 14 s",
        "bug_drain_leak": "462,928 runs, 127 + 117 s (120 s for both, later)",
        "pagedaemon_reclaim": "715,122 runs, 43 + 51 s"}
# Trees larger than BUDGET: not run out by either mode, so not compared.
TOO_BIG = ("drain_under_load", "uz_count_growth")


def both(scn, bound=2, runs=BUDGET):
    off = explore(scn, "bounded", runs=runs, bound=bound, states=True, reduction=False)
    on = explore(scn, "bounded", runs=runs, bound=bound, states=True)
    return off, on


def outcomes(res):
    return sorted((c.outcome, c.message, c.failed, c.hazard) for c in res.classes)


def _shipped():
    out = []
    for p in sorted(SCENARIOS.glob("*.toml")):
        marks = [pytest.mark.skipif(not os.environ.get("UMASIM_LONG_TESTS"),
                                    reason=f"k = 2 tree of {LONG[p.stem]}: "
                                    "UMASIM_LONG_TESTS=1 runs it")] if p.stem in LONG else []
        if p.stem in TOO_BIG:
            marks = [pytest.mark.skip(reason=f"k = 2 tree of more than {BUDGET:,} runs")]
        out.append(pytest.param(p, id=p.stem, marks=marks))
    return out


@pytest.mark.parametrize("path", _shipped())
def test_reduction_keeps_every_outcome_and_final_state_of_the_shipped_scenarios(path):
    """k = 2, every schedule with and without sleep sets: the same classes
    of outcome and the same set of final-state digests, never more runs."""
    off, on = both(load(path))
    assert off.exhausted and on.exhausted, (off.runs, on.runs)
    assert outcomes(on) == outcomes(off)
    assert on.state_digests == off.state_digests
    assert on.runs <= off.runs and off.pruned == 0
    assert on.runs + on.pruned >= 1


def test_reduction_prunes_on_a_shipped_scenario():
    """zonelimit_deadlock_stranded_items: 24 of the 2,915 runs of its k = 2
    tree are pruned (docs/fuzzing.md has the table)."""
    off, on = both(load(SCENARIOS / "zonelimit_deadlock_stranded_items.toml"))
    assert on.pruned == 24 and on.runs == off.runs - on.pruned == 2891


def tiny(threads, cpus=2, zones=None, sim=None):
    return from_dict({"sim": {"cpus": cpus, **(sim or {})},
                      "zone": zones or [{"name": "z", "size": 256}],
                      "thread": threads})


# Each shares one kind of object the footprints name (and so orders the
# steps that touch it), next to steps that touch nothing shared.
FOOTPRINT_CASES = {
    "mutex": [{"name": "a", "ops": ["yield", "lock m", "yield", "unlock m", "yield"]},
              {"name": "b", "cpu": 1, "ops": ["yield", "lock m", "unlock m", "yield"]}],
    "variable": [{"name": "a", "ops": ["yield", "alloc z -> x", "yield"]},
                 {"name": "b", "cpu": 1, "ops": ["yield", "free x", "yield"]}],
    "channel": [{"name": "a", "ops": ["yield", "tsleep c", "yield"]},
                {"name": "b", "cpu": 1, "ops": ["yield", "wakeup c", "yield", "wakeup c"]}],
    "vcpu": [{"name": "a", "ops": ["yield", "crit_enter", "yield", "crit_exit", "yield"]},
             {"name": "b", "ops": ["yield", "yield", "yield"]}],
    "pages": [{"name": "a", "ops": ["yield", "kmem_alloc 4096 nowait -> x", "yield"]},
              {"name": "b", "cpu": 1, "ops": ["yield", "kmem_alloc 4096 nowait -> y"]}],
    "zone": [{"name": "a", "ops": ["alloc z -> x", "yield", "free x"]},
             {"name": "b", "cpu": 1, "ops": ["alloc z -> y", "yield", "free y"]}],
}


@pytest.mark.parametrize("name", sorted(FOOTPRINT_CASES))
def test_reduction_is_exact_on_each_kind_of_shared_object(name):
    sim = {"pages": 1} if name == "pages" else None
    off, on = both(tiny(FOOTPRINT_CASES[name], sim=sim), bound=2)
    assert off.exhausted and on.exhausted
    assert outcomes(on) == outcomes(off)
    assert on.state_digests == off.state_digests
    assert on.runs < off.runs and on.pruned > 0


def test_independent_threads_are_pruned_more_than_dependent_ones():
    """Yields on two vCPUs touch nothing shared: switching back to the
    default thread is pruned; the same programs around one mutex are
    pruned less."""
    free = tiny([{"name": "a", "ops": ["yield"] * 3},
                 {"name": "b", "cpu": 1, "ops": ["yield"] * 3}])
    off, on = both(free)
    assert on.state_digests == off.state_digests and on.pruned > 0
    locked = tiny([{"name": "a", "ops": ["lock m", "unlock m"] * 2},
                   {"name": "b", "cpu": 1, "ops": ["lock m", "unlock m"] * 2}])
    loff, lon = both(locked)
    assert lon.state_digests == loff.state_digests
    assert lon.runs / loff.runs > on.runs / off.runs


def test_bounded_finds_hunt_no_recheck_with_one_migration():
    """The no_recheck interleaving needs a thread to migrate between
    critical_exit and ZONE_LOCK: bounded now branches on migrations and
    finds it within its first 10 runs at k = 1 (before, it found none)."""
    scn = load(SCENARIOS / "hunt_no_recheck.toml")
    res = explore(scn, "bounded", runs=10, bound=1)
    bad = [c for c in res.classes if c.failed]
    assert bad and bad[0].outcome == "panic"
    assert "Freeing a non free bucket" in bad[0].message
    n = 2       # runnable threads at every step of this scenario (a and b)
    pre = [d for d in bad[0].decisions if d]
    assert len(pre) == 1 and (pre[0] - 1) // n > 0        # a migration
    # The decisions are in the canonical numbering: they replay as recorded.
    r = scn.build_with(trace="off").run(decisions=bad[0].decisions)
    assert r.outcome == "panic" and r.decisions == bad[0].decisions


def test_cli_no_reduction_and_pruned(tmp_path, capsys):
    path = tmp_path / "yields.toml"
    path.write_text('[[zone]]\nname = "z"\nsize = 64\n'
                    '[[thread]]\nname = "a"\nops = ["yield", "yield"]\n'
                    '[[thread]]\nname = "b"\ncpu = 1\nops = ["yield", "yield"]\n')
    path = str(path)
    assert cli.main(["explore", path, "--explorer", "bounded", "--bound", "2", "--json"]) == 0
    on = json.loads(capsys.readouterr().out)
    assert cli.main(["explore", path, "--explorer", "bounded", "--bound", "2", "--json",
                     "--no-reduction"]) == 0
    off = json.loads(capsys.readouterr().out)
    assert on["pruned"] > 0 and off["pruned"] == 0 and on["runs"] < off["runs"]
    assert cli.main(["explore", path, "--explorer", "bounded", "--bound", "2"]) == 0
    assert f"sleep sets pruned {on['pruned']} branches" in capsys.readouterr().out
    assert cli.main(["explore", path, "--explorer", "random", "--no-reduction"]) == 2
    assert "--no-reduction" in capsys.readouterr().err


# ---- hazards --------------------------------------------------------------

def test_secondary_zone_deadlocks_are_freebsd7_hazards_not_failures(tmp_path, capsys):
    """On the faithful port, the guided explorer (seed 1) drives
    secondary_zone into a thread asleep in zonelimit while the keg's free
    items sit in mbuf's per-CPU cache: a hazard, exit status 0, no
    artefact."""
    path = str(SCENARIOS / "secondary_zone.toml")
    out = tmp_path / "fails"
    assert cli.main(["explore", path, "--explorer", "guided", "--runs", "3000", "--seed", "1",
                     "--json", "--out", str(out)]) == 0
    d = json.loads(capsys.readouterr().out)
    dead = [c for c in d["classes"] if c["outcome"] == "deadlock"]
    assert dead and all(c["hazard"] and not c["failed"] and c["trace"] is None for c in dead)
    assert d["failures"] == 0 and d["hazards"] == sum(c["count"] for c in dead) > 0
    assert not out.exists()
    assert cli.main(["explore", path, "--explorer", "guided", "--runs", "3000",
                     "--seed", "1"]) == 0
    assert "[HAZARD] deadlock" in capsys.readouterr().out
    raw = explore(load(path), "guided", runs=3000, seed=1, hazards=False)
    assert raw.failures == d["hazards"]         # the same runs, failures without the analysis


def test_a_lost_wakeup_deadlock_stays_a_failure(tmp_path):
    """full_bypass frees into the per-CPU cache with the keg FULL: the
    sleepers' wakeup is lost.  Its deadlocks are failures, with artefacts."""
    threads = [{"name": "c", "cpu": 1, "repeat": 40, "ops": ["alloc z -> c{i}"]},
               {"name": "d", "cpu": 0, "repeat": 40, "ops": ["free c{i}"]}]
    scn = from_dict({"sim": {"cpus": 2, "bugs": ["full_bypass"]},
                     "zone": [{"name": "z", "size": 256, "max": 30}], "thread": threads,
                     "schedule": {"migrate": 0.3}})
    # Without the oracle: each deadlock class's first run, replayed with
    # the properties, shows the lost wakeup.
    res = explore(scn, "random", runs=300, seed=1, oracle=False)
    dead = [c for c in res.classes if c.outcome == "deadlock"]
    assert dead and all(c.failed and not c.hazard for c in dead)
    assert res.hazards == 0 and res.failures >= sum(c.count for c in dead)
    # With it, the core flags each lost wakeup as it happens: those runs
    # are liveness failures of their own, and a deadlock with no lost
    # wakeup left over is told apart (a FreeBSD 7 hazard, if any).
    res = explore(scn, "random", runs=300, seed=1)
    lost = [c for c in res.classes if c.oracle_kind]
    assert lost and all(c.failed and c.kind == "liveness" and c.outcome == "deadlock"
                        and c.message.startswith("lost wakeup: d's free read UMA_ZFLAG_FULL")
                        for c in lost)
    assert all(c.hazard for c in res.classes if c.outcome == "deadlock" and not c.oracle_kind)
