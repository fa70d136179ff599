"""The fuzzing properties (umasim.search.properties) over generated cases
(umasim.search.strategies), under the settings profile of tests/conftest.py, and
the checker itself on cases whose verdict is known."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from umasim.model import scenario
from umasim.model.schedule import Schedule
from umasim.search.properties import Case, check_case, check_sim_end
from umasim.search.strategies import (BENCH_KNOBS, DEFAULT_KNOBS, Knobs, cases, decode_programs,
                               op_kinds, profile_name)

from conftest import assert_keeps_properties  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def few(n: int):
    """At most n examples, whatever the profile (for the costlier tests)."""
    return settings(max_examples=min(n, settings.default.max_examples))


# ---- the properties -----------------------------------------------------------

@given(cases())
def test_every_generated_case_keeps_the_properties_after_every_step(case):
    assert_keeps_properties(case)


@given(cases(BENCH_KNOBS))
def test_the_benchmark_shape_keeps_the_properties(case):
    """2 vCPUs, 3 threads, up to 30 ops each (bench/fuzz.py)."""
    assert_keeps_properties(case)


@few(60)
@given(cases(replace(DEFAULT_KNOBS, max_threads=4, max_zones=3, cpus=(4, 3))))
def test_bigger_machines_keep_the_properties(case):
    assert_keeps_properties(case)


@few(60)
@given(cases())
def test_checking_at_the_end_only_sees_the_same_run(case):
    """One C call (every_step=False) runs the same schedule as stepping
    one step at a time: same outcome, steps and decisions."""
    a = check_case(case, every_step=True)
    b = check_case(case, every_step=False)
    assert a.ok and b.ok
    assert (a.outcome, a.steps, a.decisions) == (b.outcome, b.steps, b.decisions)


@few(40)
@given(cases())
def test_a_case_is_a_scenario(case):
    """Resolved to machine form, a case validates as a scenario dict, and
    the scenario builds the same machine and runs the same run."""
    v = check_case(case)
    fixed = case.with_decisions(v.decisions)
    scn = scenario.from_dict(fixed.to_scenario())
    again = scenario.from_dict(Case.from_scenario(scn).to_scenario())
    assert again.to_dict() == scn.to_dict()
    a, b = fixed.build(), scn.build()
    assert a.digest() == b.digest()
    ra = a.run(decisions=v.decisions, max_steps=len(v.decisions))
    rb = b.run(**scn.run_args())
    assert (ra.outcome, a.digest()) == (rb.outcome, b.digest())


# ---- valid by construction ----------------------------------------------------

@given(st.lists(st.tuples(st.binary(max_size=30), st.binary(max_size=30)), min_size=1,
                max_size=4))
def test_programs_free_only_what_was_allocated_and_only_once(raw):
    zones = [{"name": "z0"}, {"name": "z1"}]
    progs = decode_programs(raw, zones, {"pages": 64})
    made: dict[str, int] = {}
    freed: set[str] = set()
    for t, ops in enumerate(progs):
        mine: set[str] = set()
        for op in ops:
            w = op.split()
            if "->" in w:
                assert w[-1] not in made, f"{w[-1]} stored twice"
                made[w[-1]] = t
                mine.add(w[-1])
            elif w[0] == "free":
                v = w[1]
                assert v not in freed, f"{v} freed twice"
                assert v in mine or made.get(v, t) < t, f"thread {t} frees {v} before it exists"
                freed.add(v)
            elif w[0] == "vm_free_pages":
                assert int(w[1]) <= 64
    assert len(freed) <= len(made)


def test_knobs_take_ops_out_of_the_draw():
    quiet = Knobs(malloc=False, drains=False, reclaims=False, limits=False, faults=False,
                  sleeps=False, yields=False, bulk=False, zone_ops=False, item_ops=False,
                  large=False, kernel_ops=False)
    assert set(op_kinds(quiet)) == {"alloc", "free"}
    assert {"vm_fail", "vm_free_pages", "setmax", "drain", "reclaim", "malloc", "sleep",
            "yield", "timeout", "bulk", "bulkfree", "zlife", "prealloc", "use", "large",
            "kmem", "lockpair", "critpair", "tsleep", "info",
            "recurse"} <= set(op_kinds(DEFAULT_KNOBS))
    progs = decode_programs([(bytes(range(256)), bytes(range(256)))], [{"name": "z0"}],
                            {"pages": 256}, quiet)
    assert {op.split()[0] for op in progs[0]} == {"alloc", "free"}


def test_the_simplest_case_is_the_default_machine():
    """Byte 0 everywhere: 2 vCPUs, 256 pages, a 256-byte zone without flags,
    callbacks or limit, one thread without ops, no preemptions."""
    from umasim.search.strategies import decode_primary_zone, decode_sim
    assert decode_sim(bytes(6)) == {"cpus": 2, "pages": 256}
    assert decode_primary_zone("z0", bytes(8)) == {"name": "z0", "size": 256}


# ---- the checker on known cases -----------------------------------------------

def limited(bugs=(), ops0=("alloc z0 -> a", "sleep 50", "free a")):
    """Zone z0 limited to one page; t0 fills vCPU 0's cache and makes the
    keg FULL; t1 and t2 on vCPU 1 sleep in zonelimit; t0 frees."""
    return Case.of({"cpus": 2, "bugs": list(bugs)}, [{"name": "z0", "size": 256, "max": 1}],
                [{"name": "t0", "cpu": 0, "ops": list(ops0)},
                 {"name": "t1", "cpu": 1, "ops": ["alloc z0 -> b"]},
                 {"name": "t2", "cpu": 1, "ops": ["alloc z0 -> c"]}])


def test_a_zonelimit_deadlock_with_no_free_after_the_sleep_is_explained():
    """Without the bug, the free wakes both sleepers; one gets the item and
    the other sleeps again: after its last sleep no free read FULL."""
    v = check_case(limited())
    assert v.ok and v.outcome == "deadlock"


def test_a_lost_wakeup_is_flagged_when_it_happens():
    """wakeup_one: the free that reads UMA_ZFLAG_FULL set wakes one of the
    two zonelimit sleepers.  Checked after every step, the run stops at the
    end of that free ("liveness"); checked at its end only, the deadlock
    the model does not explain remains."""
    v = check_case(limited(["wakeup_one"]))
    assert not v.ok and v.kind == "liveness" and v.outcome != "deadlock"
    assert "free read UMA_ZFLAG_FULL set" in v.message and "only 1 were woken" in v.message
    end = check_case(limited(["wakeup_one"]), every_step=False)
    assert not end.ok and end.kind == "deadlock" and "lost wakeup" in end.message
    assert check_case(limited()).ok


def test_waiting_through_a_variable_is_explained_by_its_producer():
    """t3 waits for c, whose producer t2 sleeps in zonelimit."""
    base = limited()
    case = Case.of(base.sim, base.zones, base.threads + [{"name": "t3", "cpu": 0,
                                                           "ops": ["free c"]}],
                   base.decisions, base.max_steps)
    v = check_case(case)
    assert v.ok and v.outcome == "deadlock"


def test_vmwait_is_explained_while_pages_are_short():
    case = Case.of({"cpus": 1, "pages": 8}, [{"name": "z0", "size": 4096}],
                [{"name": "t0", "cpu": 0,
                  "ops": ["vm_free_pages 0", "alloc z0 -> a"]}])
    v = check_case(case)
    assert v.ok and v.outcome == "deadlock"


@pytest.mark.parametrize("name, kind", [
    ("bug_stale_cache", "invariant"), ("bug_no_recheck", "panic"),
    ("bug_wakeup_one", "liveness"), ("bug_full_bypass", "liveness")])
def test_the_shipped_bug_scenarios_break_a_property(name, kind):
    """Each scenario of a known bug, its schedule written as decisions, fails
    the properties -- and passes them with the switch off."""
    scn = scenario.load(os.path.join(ROOT, "scenarios", f"{name}.toml"))
    sim = scn.build()
    sim.run(**scn.run_args())
    d = scn.to_dict()
    d["schedule"] = {"decisions": sim.decisions}
    case = Case.from_scenario(d)
    v = check_case(case)
    assert not v.ok and v.kind == kind, v
    # The same end state judged from a finished Sim (as after a replay):
    # a lost wakeup shows there as the deadlock it leads to.
    if kind != "invariant":
        assert check_sim_end(case, sim).kind == {"liveness": "deadlock"}.get(kind, kind)
    d["sim"]["bugs"] = []
    clean = check_case(Case.from_scenario(d))
    assert clean.ok, clean


def test_trigger_schedules_resolve_to_machine_form():
    base = limited(ops0=("alloc z0 -> a", "free a"))
    case = Case(base.scenario, Schedule(triggers=[(0, 2), (0, 3)], max_steps=base.max_steps))
    v = check_case(case)
    with pytest.raises(ValueError):
        case.to_scenario()
    fixed = case.with_decisions(v.decisions)
    w = check_case(fixed)
    assert (w.outcome, w.steps, w.decisions, w.kind) == (v.outcome, v.steps, v.decisions,
                                                         v.kind)
    assert fixed.preemptions >= 1


# ---- profiles -----------------------------------------------------------------

def test_profiles(monkeypatch):
    monkeypatch.delenv("UMASIM_HYPOTHESIS_PROFILE", raising=False)
    for var in ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI", "TF_BUILD",
                "JENKINS_URL"):
        monkeypatch.delenv(var, raising=False)
    assert profile_name() == "dev"
    monkeypatch.setenv("CI", "true")
    assert profile_name() == "ci"
    monkeypatch.setenv("UMASIM_HYPOTHESIS_PROFILE", "deep")
    assert profile_name() == "deep"
    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.database is None and ci.max_examples <= 200
    assert settings.get_profile("dev").database is not None
    assert settings.get_profile("deep").max_examples > settings.get_profile("dev").max_examples


def test_an_item_held_twice_or_held_and_free_is_reported(monkeypatch):
    """The duplicate check, with the variables' items faked: two
    variables holding one address, then one holding an item that also
    sits in vCPU 0's alloc bucket."""
    from umasim.search import properties
    case = Case.of({"cpus": 1}, [{"name": "z0", "size": 256}],
                [{"name": "t0", "cpu": 0, "ops": ["alloc z0 -> a", "alloc z0 -> b"]}])
    v = check_case(case, keep_sim=True)
    assert v.ok and v.outcome == "completed"
    sim = v.sim
    real = properties.PropertyChecker.var
    checker = properties.PropertyChecker(case, False)
    checker.attach(sim)
    a_item = real(checker, "a")[2]
    free_item = sim.zone("z0").items("cache")[0]
    for fake, what in ((a_item, "handed out twice"), (free_item, "also free (cache")):
        def var(self, name, fake=fake):
            st, zn, item = real(self, name)
            return (st, zn, fake) if name == "b" else (st, zn, item)
        monkeypatch.setattr(properties.PropertyChecker, "var", var)
        w = check_sim_end(case, sim)
        assert w.kind == "duplicate" and what in w.message, w


def test_a_failing_property_in_pytest_writes_its_artefacts(tmp_path, monkeypatch):
    """A property failure under pytest writes the scenario and trace and
    names the replay command."""
    from umasim.views import artefacts
    from umasim.views import trace
    monkeypatch.setattr(artefacts, "DEFAULT_DIR", tmp_path)
    scn = scenario.load(os.path.join(ROOT, "scenarios", "bug_no_recheck.toml"))
    sim = scn.build()
    sim.run(**scn.run_args())                # its human steps, as decisions
    case = Case.from_scenario(artefacts.scenario_with_decisions(scn, sim.decisions))
    with pytest.raises(pytest.fail.Exception, match="replay: umasim replay"):
        assert_keeps_properties(case)
    traces = list(tmp_path.glob("*.trace"))
    assert len(traces) == 1 and trace.replay(trace.read(traces[0])).identical
