"""Explorers (umasim.search.explore; csrc/kern/explore.c): many runs from the
post-setup snapshot in one C call, classes of outcomes, coverage of
preemption points, artefacts for failures, and `umasim explore`."""

import itertools
import json

import pytest

from umasim import cli
from umasim.views import trace
from umasim.search.explore import explore
from umasim.model.scenario import from_dict


def scenario(bugs=(), threads=None, expect=None, cpus=2, max_items=30):
    d = {"sim": {"cpus": cpus, "bugs": list(bugs)},
         "zone": [{"name": "z", "size": 256, "max": max_items}],
         "thread": threads or [
             {"name": "a", "cpu": 0, "repeat": 6, "ops": ["alloc z -> a{i}", "free a{i}"]},
             {"name": "b", "cpu": 1, "repeat": 6, "ops": ["alloc z -> b{i}", "free b{i}"]}],
         "schedule": {"migrate": 0.3}}
    if expect:
        d["expect"] = expect
    return from_dict(d)


def small():
    """Two threads, two ops each: small enough to enumerate by hand."""
    return scenario(threads=[
        {"name": "a", "cpu": 0, "ops": ["alloc z -> x", "free x"]},
        {"name": "b", "cpu": 1, "ops": ["alloc z -> y", "free y"]}])


def test_correct_code_never_fails_and_the_sim_is_left_at_the_start():
    scn = scenario()
    for kind in ("random", "pct", "bounded"):
        res = explore(scn, kind, runs=300, bound=1)
        assert res.failures == 0, (kind, res.classes)
        assert [c.outcome for c in res.classes] == ["completed"]
        assert sum(c.count for c in res.classes) == res.runs
        assert 0 < len(res.points_covered) <= res.points_total


def test_random_explorer_finds_no_recheck_and_its_trace_replays(tmp_path):
    scn = scenario(bugs=["no_recheck"])
    res = explore(scn, "random", runs=500, seed=0)
    bad = [c for c in res.classes if c.failed]
    assert bad and bad[0].outcome == "panic"
    assert "Freeing a non free bucket" in bad[0].message
    from umasim.search.explore import write_artefacts
    write_artefacts(scn, res, tmp_path)
    art = bad[0].artefact
    tr = trace.read(art.trace_path)
    rr = trace.replay(tr)
    assert rr.identical, rr.message
    assert tr.end["end"] == "panic" and "Freeing a non free bucket" in tr.end["panic"]
    assert art.replay_command == f"umasim replay {art.trace_path}"


def test_explorers_find_stale_cache_through_the_invariant_checker():
    """The stale per-CPU cache pointer loses or duplicates buckets: the
    runs complete, but conservation fails at their end."""
    scn = scenario(bugs=["stale_cache"], threads=[
        {"name": "a", "cpu": 0, "repeat": 12, "ops": ["alloc z -> a{i}", "free a{i}"]},
        {"name": "b", "cpu": 1, "repeat": 12, "ops": ["alloc z -> b{i}", "free b{i}"]}])
    res = explore(scn, "random", runs=3000, seed=0)
    bad = [c for c in res.classes if c.failed]
    assert bad, res.classes
    assert any(c.check_failed and "items in its slabs" in c.message for c in bad)
    clean = explore(scenario(threads=scn.threads), "random", runs=3000, seed=0)
    assert clean.failures == 0


def test_full_bypass_deadlocks_where_the_correct_code_completes():
    threads = [{"name": "c", "cpu": 1, "repeat": 40, "ops": ["alloc z -> c{i}"]},
               {"name": "d", "cpu": 0, "repeat": 40, "ops": ["free c{i}"]}]
    bug = explore(scenario(bugs=["full_bypass"], threads=threads), "random", runs=300)
    ok = explore(scenario(threads=threads), "random", runs=300)
    assert bug.failures > 0 and {c.outcome for c in bug.classes if c.failed} == {"deadlock"}
    assert ok.failures == 0


def _python_enumeration(scn, bound):
    """Every schedule with at most `bound` non-default decisions -- another
    thread, or a migration of any thread -- found independently:
    depth-first over single steps with snapshots, every machine-form
    decision tried, the canonical one the run records telling apart the
    distinct ones (a refused migration is recorded as no migration)."""
    sim = scn.build_with(trace="off")
    cpus = scn.sim["cpus"]
    outcomes = []

    def walk(preempts):
        snap = sim.snapshot()
        r = sim.run(decisions=[0], max_steps=1)
        if r.steps == 0:
            outcomes.append((sim.outcome, f"{sim.core.final_digest():016x}"))
            return
        sim.restore(snap)
        n = len(sim.runnable())
        choices = [0] + ([1 + k + n * m for m in range(cpus + 1) for k in range(n)]
                         if preempts < bound else [])
        seen = set()
        for d in choices:
            sim.restore(snap)
            r = sim.run(decisions=[d], max_steps=1)
            if r.decisions[0] in seen:
                continue
            seen.add(r.decisions[0])
            walk(preempts + (r.decisions[0] != 0))
        sim.restore(snap)

    walk(0)
    return outcomes


@pytest.mark.parametrize("bound", [0, 1, 2])
def test_bounded_runs_every_schedule_with_at_most_k_preemptions_once(bound):
    """Without reduction, bounded runs exactly the schedules with at most
    k preemptions, migrations included; with it, fewer runs reach the same
    final states."""
    # (k = 2 on one op a thread: with migrations, small()'s tree takes
    # the Python enumeration some seconds.)
    scn = small() if bound < 2 else scenario(threads=[
        {"name": "a", "cpu": 0, "ops": ["alloc z -> x"]},
        {"name": "b", "cpu": 1, "ops": ["free x"]}])
    res = explore(scn, "bounded", runs=100000, bound=bound, states=True, reduction=False)
    expected = _python_enumeration(scn, bound)
    assert res.exhausted
    assert res.runs == len(expected)
    assert res.distinct_states == len({d for _, d in expected})
    assert res.pruned == 0
    red = explore(scn, "bounded", runs=100000, bound=bound, states=True)
    assert red.exhausted and red.runs + red.pruned >= 1
    assert red.distinct_states == res.distinct_states
    if bound == 0:
        assert res.runs == 1


def test_pct_estimates_the_run_length_from_a_sequential_first_run():
    scn = scenario()
    seq = scn.build_with(trace="off").run()
    res = explore(scn, "pct", runs=50)
    assert res.steps_hint == seq.steps
    assert res.runs == 50


def test_explorers_are_deterministic():
    scn = scenario(bugs=["no_recheck"])
    a = explore(scn, "pct", runs=200, seed=5)
    b = explore(scn, "pct", runs=200, seed=5)
    assert [(c.outcome, c.message, c.count, c.first_run, c.decisions) for c in a.classes] == \
        [(c.outcome, c.message, c.count, c.first_run, c.decisions) for c in b.classes]
    assert a.points_covered == b.points_covered
    r5 = explore(scn, "random", runs=200, seed=5)
    r6 = explore(scn, "random", runs=200, seed=6)
    assert [x.decisions for x in r5.classes] != [x.decisions for x in r6.classes]


def test_expected_panic_is_not_a_failure():
    scn = scenario(bugs=["no_recheck"], expect={"outcome": "panic",
                                                "panic": "Freeing a non free bucket"})
    res = explore(scn, "random", runs=300)
    assert all(not c.failed for c in res.classes if c.outcome == "panic")
    assert any(c.failed for c in res.classes if c.outcome == "completed")


def test_cli_explore_exit_codes_and_json(tmp_path, capsys):
    good = tmp_path / "good.toml"
    good.write_text('[[zone]]\nname = "z"\nsize = 64\n[[thread]]\nname = "a"\n'
                    'ops = ["alloc z -> x", "free x"]\n')
    assert cli.main(["explore", str(good), "--explorer", "bounded", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["failures"] == 0 and out["exhausted"] and "runs_per_s" not in out
    bad = tmp_path / "bad.toml"
    bad.write_text('[sim]\nbugs = ["no_recheck"]\n[[zone]]\nname = "z"\nsize = 256\n'
                   + "".join(f'[[thread]]\nname = "{t}"\ncpu = {i}\nrepeat = 6\n'
                             f'ops = ["alloc z -> {t}{{i}}", "free {t}{{i}}"]\n'
                             for i, t in enumerate("ab"))
                   + '[schedule]\nmigrate = 0.3\n')
    out_dir = tmp_path / "fails"
    assert cli.main(["explore", str(bad), "--runs", "300", "--out", str(out_dir)]) == 1
    text = capsys.readouterr().out
    assert "Freeing a non free bucket" in text and "umasim replay" in text
    assert sorted(p.suffix for p in out_dir.iterdir()) == [".toml", ".trace"]
    assert cli.main(["explore", str(good), "--explorer", "nope"]) == 2
    assert cli.main(["explore", str(tmp_path / "missing.toml")]) == 2
    capsys.readouterr()
