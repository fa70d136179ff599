"""The fuzzer's bursts (umasim/search/burst.py, umasim/search/fuzz.py): the
core's stop_first and keep parameters, trigger-form conversion, the
encoding of a schedule as the choices that draw it, and a burst's find
shrunk by Hypothesis together with the program."""

from __future__ import annotations

from hypothesis import given, settings

from umasim.model.schedule import Schedule
from umasim.search import strategies as S
from umasim.search.burst import BURST_RUNS, fewer_triggers, run_burst, to_triggers, trigger_case
from umasim.search.fuzz import _Search, explore_example, find_failure
from umasim.search.properties import Case, check_case

# Two allocs on one vCPU: with no_recheck, t0 stopped at zalloc_race while
# t1 fills the vCPU's cache panics; the sequential schedule does not.
RACE = {"cpus": 2, "bugs": ["no_recheck"]}
THREADS = [{"name": "t0", "cpu": 0, "ops": ["alloc z0 -> a", "free a"]},
           {"name": "t1", "cpu": 0, "ops": ["alloc z0 -> b", "free b"]}]
ZONES = [{"name": "z0", "size": 256}]


def race_case(bugs=("no_recheck",), draw=None) -> Case:
    sim = dict(RACE, bugs=list(bugs))
    return Case.of(sim, ZONES, THREADS, [], draw=draw)


def explore(case, **kw):
    sim = case.build(trace="off")
    core = sim.core
    return core.explore(core.snapshot(), "guided", 200, 1, 0.0, 3, 0, 0, case.max_steps,
                        "completed", "", True, False, 0, **kw)


def test_stop_first_ends_the_exploration_at_its_first_failure():
    case = race_case()
    full = explore(case)
    assert full.runs == 200 and full.failures > 1
    first = explore(case, stop_first=True)
    assert first.failures == 1 and first.runs < full.runs
    (failed,) = [c for c in first.classes if c.failed]
    assert failed.outcome == "panic" and failed.first_run == first.runs - 1


def test_keep_returns_the_last_runs_that_added_coverage():
    case = race_case(bugs=())
    none = explore(case)
    assert none.kept == []
    res = explore(case, keep=3)
    assert 1 <= len(res.kept) <= 3 and len(res.growth) >= len(res.kept)
    # Each is a whole run's decisions: replayed, it completes.
    for dec in res.kept:
        v = check_case(case.with_decisions(dec))
        assert v.ok and v.outcome == "completed"


def test_a_burst_finds_what_the_drawn_schedule_misses():
    case = race_case(draw={"family": "guided", "seed": 5})
    assert check_case(case).ok
    c, v, b = explore_example(case)
    assert not v.ok and v.kind == "panic" and "Freeing a non free bucket" in v.message
    assert b is not None and b.runs >= 1 and c.decisions
    # Without the burst the example passes.
    assert explore_example(case, burst=False)[1].ok


def test_triggers_of_a_machine_form_schedule_run_the_same_way():
    """[0, 0, 2]: t1 runs while t0 stands at zalloc_race (a UMA point):
    the trigger form takes the decision after that stop and runs the
    same steps; fewer_triggers keeps it (the one the failure needs)."""
    case = race_case()
    v = check_case(case.with_decisions([0, 0, 2]))
    assert v.kind == "panic"
    trig = to_triggers(case, v.decisions)
    assert trig is not None and len(trig) == 1 and trig[0][1] == 2
    tv = check_case(trigger_case(case, trig))
    assert (tv.kind, tv.decisions) == (v.kind, v.decisions)
    # With a preemption it does not need, before it.
    extra = [0, 0, 2] + [0] * 30 + [1]
    w = check_case(case.with_decisions(extra))
    trig2 = to_triggers(case, w.decisions) if not w.ok else None
    if trig2 is not None and len(trig2) > 1:
        small, sv = fewer_triggers(trigger_case(case, trig2), check_case(
            trigger_case(case, trig2)), check_case)
        assert sv.kind == "panic" and len(small.triggers) < len(trig2)


def test_a_preemption_at_the_first_step_has_no_trigger_form():
    case = race_case()
    assert to_triggers(case, [2]) is None
    assert to_triggers(case, [0, 0, 0]) == []


def test_schedules_encode_to_the_choices_that_draw_them():
    knobs = S.DEFAULT_KNOBS
    top = 12
    trig = [(0, 3), (17, 1), (255, 12), (1, 5)]
    ds, gaps = S.encode_triggers(trig, top, knobs)
    assert S.decode_triggers(ds, gaps, top, knobs.max_trigger_gap) == trig
    assert S.encode_triggers([(256, 1)], top, knobs) is None          # gap out of reach
    assert S.encode_triggers([(0, 13)], top, knobs) is None           # decision above top
    assert S.encode_triggers([(0, 1)] * (knobs.max_triggers + 1), top, knobs) is None
    dec = [0, 0, 4, 0, 7, 0, 0, 0, 1] + [0] * 700 + [2]
    ds, gaps = S.encode_sparse(dec + [0, 0], top, knobs)
    assert S.decode_sparse(ds, gaps, top, knobs.max_gap) == dec
    assert S.encode_sparse([0] * (knobs.max_gap + 1) + [1], top, knobs) is None


def test_schedule_choices_need_a_drawn_case():
    assert S.schedule_choices(race_case(), triggers=[(0, 2)]) is None
    knobs = S.DEFAULT_KNOBS
    case = race_case(draw={"at": 7, "top": 12, "knobs": knobs, "form": "dense"})
    tail = S.schedule_choices(case, triggers=[(0, 2)])
    assert tail[0] == S.SCHEDULE_FORMS.index("points") and len(tail) == 3
    tail = S.schedule_choices(case, decisions=[0, 3])
    assert tail[0] == S.SCHEDULE_FORMS.index("sparse")


def test_every_operation_of_the_language_is_generated():
    """The default strategies draw every op of the scenario language (a
    fixed sample of raw programs over every op kind)."""
    from umasim.model.program import SPECS
    zones = S.decode_zones([bytes([0, 0, 0x20, 0x20, 0, 0, 0, 0]),
                            bytes([0, 0, 0, 0, 1, 0, 0, 1])])
    cfg = {"cpus": 2, "pages": 256}
    seen = set()
    kinds = S.op_kinds(S.DEFAULT_KNOBS)
    for rounds in range(40):
        raw = [(bytes((i * 7 + rounds) % len(kinds) for i in range(30)),
                bytes((i * 37 + rounds * 11) % 256 for i in range(30))) for _ in range(3)]
        for prog in S.decode_programs(raw, zones, cfg):
            seen |= {op.split()[0] for op in prog}
        # and without zone destruction (DDB's show uma).
        raw = [(bytes((i * 5 + rounds) % len(kinds) for i in range(30)
                      if kinds[(i * 5 + rounds) % len(kinds)] != "zlife"),
                bytes((i * 31 + rounds) % 256 for i in range(30)))]
        for prog in S.decode_programs(raw, zones, cfg):
            seen |= {op.split()[0] for op in prog}
    assert seen == set(SPECS), set(SPECS) - seen


def test_deep_cache_states_bulk_lengths():
    """Bulk runs are a bucket less one item, a bucket, a bucket and one,
    and several buckets long (bucket_items: the zone's uz_count)."""
    z = {"name": "z0", "size": 256}
    assert S.bucket_items(z, [z]) == 15
    lens = {S._bulk_len(a, z, [z]) for a in range(len(S._BULK))}
    assert {14, 15, 16, 31, 45, 46} <= lens
    assert S.bucket_items({"name": "m", "size": 16, "flags": ["maxbucket"]}, []) == 128
    # On a limited keg, its limit's worth (max rounded up to whole slabs)
    # and one more: the allocation that sleeps in zonelimit.
    lim = {"name": "z0", "size": 256, "max": 20}
    sec = {"name": "z1", "master": "z0"}
    assert S.limit_items(lim, [lim]) == 30 and S.limit_items(sec, [lim, sec]) == 30
    assert S.limit_items(z, [z]) is None
    assert {30, 31} <= {S._bulk_len(a, sec, [lim, sec]) for a in range(len(S._BULK))}
    assert 30 not in lens and 31 in lens         # a bucket and one, unlimited


@settings(max_examples=50, derandomize=True, database=None)
@given(S.raw_programs())
def test_every_thread_draws_an_op(raw):
    """Each thread draws one raw op at least (which may still decode to
    nothing: a free with nothing to free)."""
    kinds, _ = raw
    assert 1 <= len(kinds) <= S.DEFAULT_KNOBS.max_ops


def test_a_burst_find_is_shrunk_with_the_program():
    """A burst's find in trigger form goes back into the example, and
    Hypothesis shrinks program and schedule together (tidy off: before
    umasim's shrinker).  Cases of two threads of a few allocs and frees
    on one vCPU (a test's knobs), no_recheck on: the drawn schedules
    rarely preempt at zalloc_race, the bursts do."""
    from dataclasses import replace
    knobs = replace(S.DEFAULT_KNOBS, min_threads=2, max_threads=2, max_ops=6, cpus=(1,),
                    max_zones=1, swarm=False, malloc=False, faults=False, drains=False,
                    reclaims=False, limits=False, pagedaemon=False, callbacks=False,
                    secondary=False, sleeps=False, yields=False, flags=False, bulk=False,
                    zone_ops=False, item_ops=False, large=False, kernel_ops=False)
    stats = _Search()
    found = find_failure(S.cases(knobs, bugs=("no_recheck",)), 300, seed=1, tidy=False,
                         stats=stats)
    assert found is not None
    case, v, _ = found
    assert v.kind == "panic" and "Freeing a non free bucket" in v.message
    assert stats.found_by_burst is not None and "choices" in stats.last
    find, _, _ = stats.found_by_burst
    assert case.schedule.kind == "triggers" and 1 <= len(case.triggers) <= 2
    assert case.nops <= 4 and case.nops <= find.nops
    assert stats.schedules > stats.examples


def test_the_burst_is_deterministic():
    case = race_case(bugs=())
    a = run_burst(case, "guided", 9)
    b = run_burst(case, "guided", 9)
    assert (a.runs, a.failed, a.kept, a.windows) == (b.runs, b.failed, b.kept, b.windows)
    assert a.runs == BURST_RUNS and not a.failed
    p = run_burst(case, "pct", 9)
    assert p.runs == BURST_RUNS and p.family == "pct"


def test_a_case_keeps_how_it_was_drawn_across_decisions():
    case = race_case(draw={"at": 3})
    assert case.with_decisions([0, 2]).draw == {"at": 3}
    assert case.with_decisions([0, 2]) == race_case().with_decisions([0, 2])
    assert Schedule(decisions=[1]).kind == "script"


def test_unpaired_ops_the_shrinker_leaves_go():
    """A crit_exit or unlock whose pair the shrinker took out (and the
    lock or crit_enter never left) go when the case still fails the same
    way without them: the race panics before either runs."""
    from umasim.search.fuzz import _balanced
    threads = [{"name": "t0", "cpu": 0, "ops": ["alloc z0 -> a", "free a", "lock m0"]},
               {"name": "t1", "cpu": 0, "ops": ["alloc z0 -> b", "free b", "crit_exit",
                                                "crit_enter", "yield", "crit_exit"]}]
    case = Case.of(dict(RACE), ZONES, threads, [0, 0, 2])
    v = check_case(case)
    assert v.kind == "panic"
    small, sv = _balanced((case, v), True)
    assert sv.kind == "panic"
    assert small.threads[0]["ops"] == ["alloc z0 -> a", "free a"]
    assert small.threads[1]["ops"] == ["alloc z0 -> b", "free b", "crit_enter", "yield",
                                       "crit_exit"]


def test_touch_and_refcnt_only_of_items_held_for_sure():
    """An M_NOVM or M_NOWAIT allocation may store NULL: no refcnt or touch
    of it (refcnt of a NULL variable panics in the interpreter)."""
    kinds = S.op_kinds(S.DEFAULT_KNOBS)
    k_alloc, k_use = kinds.index("alloc"), kinds.index("use")
    zones = [{"name": "z0", "size": 2048, "flags": ["refcnt"]}]
    for y in range(16):
        raw = [(bytes([k_alloc, k_use]), bytes([y << 4, 0x10]))]
        (prog,) = S.decode_programs(raw, zones, {"pages": 256})
        nullable = "novm" in prog[0] or "nowait" in prog[0]
        assert (len(prog) == 1) == nullable, prog
