"""`umasim shrink` (umasim/search/shrink.py): failing traces with much around the
failure shrink to small scenarios that still fail the same way and
replay identically.

Sizes reached (threads / ops / ops run / non-zero decisions / steps /
zones, before -> after; candidate runs):
  double free among noise, random schedule   3/17/35/187/335/3 -> 1/3/3/0/55/1   (66)
  zonelimit deadlock with extra threads      4/12/27/129/219/2 -> 2/2/2/0/37/1   (64)
  no_recheck bug, migration at zalloc_race   4/13/22/4/95/2    -> 2/2/2/1/40/1   (86)
  leak against a zone expectation            3/9/15/115/240/2  -> 1/1/1/0/36/1   (18)
  step limit reached                         2/4/160/229/300/1 -> 1/1/24/0/300/1 (44)
(steps may grow where larger items or a lower limit take their place:
"How sizes are compared" in docs/shrinking.md)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from umasim import InvariantViolation, cli
from umasim.views import artefacts
from umasim.views import trace
from umasim.cli import main
from umasim.views.report import run_scenario
from umasim.model.scenario import from_dict, load
from umasim.search.shrink import (Failure, failure_signature, normalise_panic, shrink_trace,
                                  sizes_of, strip_decisions)

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def write_trace(tmp_path: Path, d: dict, name: str = "orig") -> tuple[Path, object]:
    """Runs the scenario dict and writes its full trace, as `umasim run
    --trace` does."""
    path = tmp_path / f"{name}.trace"
    scn = from_dict(d, f"{name}.toml")
    assert cli.main(["run", _toml(tmp_path, scn, name), "--trace", str(path)]) == 1
    return path, scn


def _toml(tmp_path: Path, scn, name: str) -> str:
    p = tmp_path / f"{name}.toml"
    p.write_text(artefacts.to_toml(scn), encoding="utf-8")
    return str(p)


def shrink(tmp_path: Path, trace_path: Path, capsys, *extra: str) -> dict:
    """`umasim shrink TRACE -o OUT --json` in-process; returns its JSON."""
    out = tmp_path / "small.trace"
    capsys.readouterr()
    rc = cli.main(["shrink", str(trace_path), "-o", str(out), "--json", *extra])
    res = json.loads(capsys.readouterr().out)
    assert rc == 0, res
    assert res["trace"] == str(out) and res["scenario"] == str(tmp_path / "small.toml")
    return res


def check_same_failure(trace_path: Path, res: dict) -> tuple[object, object]:
    """The shrunk files: the trace replays identically; the scenario loads,
    runs to the same failure as the original trace, and its trace says the
    same; and every stated measure went down."""
    orig = trace.read(trace_path)
    ores = trace.replay(orig)
    want = failure_signature(orig.scenario, ores.sim, orig.end["end"])
    assert want is not None

    small = trace.read(res["trace"])
    rp = trace.replay(small)
    assert rp.identical, rp.message
    assert failure_signature(small.scenario, rp.sim, small.end["end"]) == want
    scn = load(res["scenario"])
    assert scn.to_dict() == small.scenario.to_dict()
    rep = run_scenario(scn)
    assert failure_signature(scn, rep.sim, rep.result.outcome) == want
    assert rep.sim.digest() == small.end["digest"]
    assert scn.schedule.max_steps <= orig.scenario.schedule.max_steps

    before, after = res["before"], res["after"]
    assert before == sizes_of(orig.scenario.to_dict(), orig.decisions,
                              orig.end["steps"]).to_json()
    assert after == sizes_of(scn.to_dict(), small.decisions, small.end["steps"]).to_json()
    for k in ("threads", "ops", "op_runs", "nonzero", "steps", "decisions", "zones"):
        assert after[k] <= before[k], k
    assert after["ops"] < before["ops"] and after["threads"] < before["threads"]
    assert after["steps"] < before["steps"]
    return scn, small


# ---- "fails the same way" --------------------------------------------------

def test_panic_messages_compare_without_addresses():
    assert normalise_panic("Duplicate free of item 0xfffff80000041000 from zone "
                           "0xfffff8000003ec00(z)") == \
        "Duplicate free of item 0x... from zone 0x...(z)"
    assert normalise_panic("kmem_malloc(8192): kmem_map too small") == \
        "kmem_malloc(8192): kmem_map too small"


def test_failure_signature():
    scn = load(SCENARIOS / "double_free_invariants.toml")
    rep = run_scenario(scn)
    assert failure_signature(scn, rep.sim) is None           # as its scenario expects
    plain = from_dict(dict(scn.to_dict(), expect={}))
    sig = failure_signature(plain, rep.sim, "panic")
    assert sig == Failure("panic", ("Duplicate free of item 0x... from zone 0x...(z)",),
                          ("outcome",))
    # Each expectation that fails counts by its kind.
    wrong = from_dict(dict(scn.to_dict(), expect={
        "outcome": "panic", "panic": "something else", "console": ["Slab at", "nope"],
        "zone": {"z": {"used": 0, "requests": 5}}, "events": {"panic": 1, "sleep": ">=1"}}))
    sig = failure_signature(wrong, rep.sim)
    assert sig.outcome == "panic"
    assert sig.expectations == ("console:nope", "events.sleep", "panic", "zone.z.requests")

    zl = load(SCENARIOS / "zonelimit_deadlock_stranded_items.toml")
    zrep = run_scenario(zl)
    zsig = failure_signature(from_dict(dict(zl.to_dict(), expect={})), zrep.sim)
    assert zsig == Failure("deadlock", ("zonelimit",), ("outcome",))   # softclock not counted


# ---- shrinking -----------------------------------------------------------------

DOUBLE_FREE = {
    "sim": {"cpus": 2},
    "zone": [{"name": "z", "size": 256},
             {"name": "w", "size": 64, "ctor": "trash", "dtor": "trash", "init": "trash"},
             {"name": "big", "size": 4096, "max": 20}],
    "thread": [
        {"name": "a", "ops": ["alloc w -> q", "alloc z -> x", "yield", "touch x", "free q",
                              "malloc 100 -> m", "free x", "free m", "alloc big -> b",
                              "free x", "free b"]},
        {"name": "b", "cpu": 1, "repeat": 5, "ops": ["alloc w -> r{i}", "yield",
                                                     "free r{i}"]},
        {"name": "c", "cpu": 0, "repeat": 3, "ops": ["alloc z zero -> s{i}", "sleep 3",
                                                     "free s{i}"]},
    ],
    "schedule": {"policy": "random", "seed": 7, "migrate": 0.2},
}


def test_double_free_among_noise(tmp_path, capsys):
    path, _ = write_trace(tmp_path, DOUBLE_FREE)
    res = shrink(tmp_path, path, capsys)
    assert res["failure"]["outcome"] == "panic"
    assert res["failure"]["detail"] == ["Duplicate free of item 0x... from zone 0x...(z)"]
    assert res["before"]["threads"] == 3 and res["before"]["ops"] == 17
    assert res["before"]["nonzero"] >= 100
    scn, small = check_same_failure(path, res)
    after = res["after"]
    assert (after["threads"], after["ops"], after["op_runs"], after["nonzero"]) == (1, 3, 3, 0)
    assert scn.threads[0]["ops"] == ["alloc z -> x", "free x", "free x"]
    assert [z["name"] for z in scn.zones] == ["z"] and after["zone_options"] == 0
    assert scn.sim["cpus"] == 1 and small.decisions == [0] * small.end["steps"]
    assert after["steps"] < 60 and res["runs"] < 200


def test_zonelimit_deadlock_with_extra_threads(tmp_path, capsys):
    d = {"sim": {"cpus": 3, "pages": 128},
         "zone": [{"name": "z", "size": 256, "max": 15, "ctor": "trash", "dtor": "trash"},
                  {"name": "v", "size": 512, "flags": ["hash"]}],
         "thread": [
             {"name": "a", "cpu": 0, "ops": ["alloc z -> x", "malloc 64 -> m", "free m"]},
             {"name": "n1", "cpu": 2, "repeat": 4, "ops": ["alloc v -> n{i}", "yield",
                                                           "free n{i}"]},
             {"name": "b", "cpu": 1, "ops": ["alloc v -> q", "alloc z -> y", "free q"]},
             {"name": "n2", "cpu": 1, "repeat": 3, "ops": ["malloc 300 -> k{i}", "sleep 2",
                                                           "free k{i}"]}],
         "schedule": {"policy": "random", "seed": 0}}
    path, _ = write_trace(tmp_path, d)
    res = shrink(tmp_path, path, capsys)
    assert res["failure"] == {"outcome": "deadlock", "detail": ["zonelimit"],
                              "expectations": ["outcome"]}
    scn, small = check_same_failure(path, res)
    after = res["after"]
    assert (after["threads"], after["ops"], after["nonzero"], after["zones"]) == (2, 2, 0, 1)
    # What is left: a keg limited to one slab of one item (the largest
    # items, the lowest limit: the zones pass), which a holds while b
    # sleeps in zonelimit.
    assert scn.zones == [{"name": "z", "size": 4096, "align": "ptr", "flags": [], "max": 1}]
    assert sorted(op for t in scn.threads for op in t["ops"]) == ["alloc z -> x",
                                                                   "alloc z -> y"]
    assert [t["cpu"] for t in scn.threads] == [0, 0] and scn.sim["pages"] == 256


def test_no_recheck_bug_keeps_the_migration(tmp_path, capsys):
    """The bug switch failure: a misses on vCPU 0, is migrated at
    zalloc_race to vCPU 1, whose alloc bucket c has filled; without the
    re-check it puts that non-empty bucket on the free list.  Shrinking
    removes the noise and keeps the one migrating decision."""
    d = {"sim": {"cpus": 3, "bugs": ["no_recheck"]},
         "zone": [{"name": "z", "size": 256, "dtor": "trash"},
                  {"name": "v", "size": 128, "ctor": "trash", "flags": ["maxbucket"]}],
         "thread": [
             {"name": "n1", "cpu": 2, "repeat": 3, "ops": ["alloc v -> n{i}", "yield",
                                                           "free n{i}"]},
             {"name": "c", "cpu": 1, "ops": ["alloc z -> w", "yield", "malloc 64 -> mm",
                                             "free mm"]},
             {"name": "a", "cpu": 0, "ops": ["alloc z -> x", "yield", "free x"]},
             {"name": "n2", "cpu": 0, "repeat": 2, "ops": ["malloc 200 -> k{i}", "sleep 2",
                                                           "free k{i}"]}]}
    scn = from_dict(d, "no_recheck.toml")
    sim = scn.build()

    def step_until(name, stop):
        for _ in range(300):
            if stop(sim.step(name)):
                return
        raise AssertionError(name)
    step_until("n1", lambda p: p.startswith("op:"))
    step_until("n2", lambda p: p.startswith("op:"))
    step_until("c", lambda p: p.startswith("op:"))       # c fills vCPU 1's bucket
    step_until("a", lambda p: p == "zalloc_race")
    sim.migrate("a", 1)
    assert sim.run().outcome == "panic"
    assert sim.panic == "uma_zalloc_arg: Freeing a non free bucket."
    art = artefacts.write_failure(scn, sim.decisions, tmp_path / "found", label="nr")
    res = shrink(tmp_path, art.trace_path, capsys)
    assert res["before"]["nonzero"] == 4
    scn2, small = check_same_failure(art.trace_path, res)
    after = res["after"]
    assert (after["threads"], after["ops"], after["nonzero"], after["zones"]) == (2, 2, 1, 1)
    assert scn2.sim["bugs"] == ["no_recheck"] and scn2.sim["cpus"] == 2
    assert {t["name"]: t["ops"] for t in scn2.threads} == {"c": ["alloc z -> w"],
                                                          "a": ["alloc z -> x"]}
    # The one preemption left is a's migration to c's vCPU.
    rp = trace.replay(small)
    assert rp.identical
    mig = [e for e in small.events if e["ev"] == "migration"]
    assert [(e["thread"], e["point"], e["b"]) for e in mig] == [("a", "zalloc_race", 1)]
    # Without the bug switch the same schedule completes: the switch stays.
    plain = from_dict(dict(scn2.to_dict(), sim=dict(scn2.sim, bugs=[])))
    assert run_scenario(plain).result.outcome == "completed"


def test_expectation_failure_keeps_its_kind(tmp_path, capsys):
    d = {"zone": [{"name": "z", "size": 128}, {"name": "w", "size": 64}],
         "thread": [
             {"name": "a", "repeat": 3, "ops": ["alloc z -> x{i}", "alloc w -> v{i}",
                                                "free v{i}"]},
             {"name": "b", "cpu": 1, "ops": ["alloc z -> y", "free y", "alloc w -> u",
                                             "free u"]},
             {"name": "c", "ops": ["malloc 64 -> m", "free m"]}],
         "schedule": {"policy": "random", "seed": 1},
         "expect": {"outcome": "completed", "zone": {"z": {"used": 0, "fails": 0}}}}
    path, _ = write_trace(tmp_path, d)
    res = shrink(tmp_path, path, capsys)
    assert res["failure"] == {"outcome": "completed", "detail": [],
                              "expectations": ["zone.z.used"]}
    scn, _ = check_same_failure(path, res)
    assert [t["ops"] for t in scn.threads] == [["alloc z -> x{i}"]]
    assert scn.threads[0]["repeat"] == 1
    assert res["after"]["nonzero"] == 0 and res["after"]["zones"] == 1


def test_text_output_and_determinism(tmp_path, capsys):
    d = dict(DOUBLE_FREE, thread=DOUBLE_FREE["thread"][:2])
    path, _ = write_trace(tmp_path, d)
    capsys.readouterr()
    assert cli.main(["shrink", str(path), "--out-dir", str(tmp_path / "a")]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0] == f"{path}: panic (Duplicate free of item 0x... from zone 0x...(z)); " \
                       "not as expected: outcome"
    for label in ("threads", "ops", "non-zero decisions", "steps"):
        assert any(l.split()[:len(label.split())] == label.split() for l in lines), label
    replay = [l for l in lines if l.startswith("replay:")]
    assert len(replay) == 1
    cmd = replay[0].split(None, 1)[1]
    files = sorted((tmp_path / "a").iterdir())
    assert [f.suffix for f in files] == [".toml", ".trace"]
    assert files[0].name.startswith("shrunk-")
    assert cmd == f"umasim replay {files[1]}"
    assert cli.main(cmd.split()[1:]) == 0
    # The same trace shrinks to the same files, byte for byte.
    assert cli.main(["shrink", str(path), "--out-dir", str(tmp_path / "b")]) == 0
    again = sorted((tmp_path / "b").iterdir())
    assert [f.name for f in again] == [f.name for f in files]
    assert files[1].read_bytes() == again[1].read_bytes()


def test_run_budget(tmp_path, capsys):
    path, _ = write_trace(tmp_path, DOUBLE_FREE)
    res = shrink(tmp_path, path, capsys, "--max-runs", "3")
    assert res["runs"] == 3 and res["budget_spent"] is True
    check_same_failure(path, res)


def test_step_limit_failure(tmp_path, capsys):
    """A run that should complete but hits its step limit: candidates run
    with at most that limit, and the shrunk run still reaches it."""
    d = {"zone": [{"name": "z", "size": 128}],
         "thread": [{"name": "a", "repeat": 40, "ops": ["alloc z -> x{i}", "free x{i}"]},
                    {"name": "b", "repeat": 40, "ops": ["malloc 32 -> m{i}", "free m{i}"]}],
         "schedule": {"policy": "roundrobin", "max_steps": 300}}
    path, _ = write_trace(tmp_path, d)
    res = shrink(tmp_path, path, capsys)
    assert res["failure"]["outcome"] == "step_limit"
    small = trace.read(res["trace"])
    assert small.end["end"] == "step_limit" and small.end["steps"] == 300
    assert load(res["scenario"]).schedule.max_steps == 300
    assert res["after"]["threads"] == 1 and res["after"]["ops"] <= 2
    assert trace.replay(small).identical


def test_nothing_to_shrink(tmp_path, capsys):
    path = tmp_path / "ok.trace"
    assert cli.main(["run", str(SCENARIOS / "double_free_invariants.toml"),
                     "--trace", str(path)]) == 0
    capsys.readouterr()
    assert cli.main(["shrink", str(path), "-o", str(tmp_path / "x.trace")]) == 1
    out = capsys.readouterr().out
    assert "nothing to shrink" in out and "panic" in out
    assert not (tmp_path / "x.trace").exists()


@pytest.mark.parametrize("content", ["", "not json\n", '{"trace": "umasim", "version": 99}\n'])
def test_bad_input(tmp_path, capsys, content):
    path = tmp_path / "bad.trace"
    path.write_text(content)
    assert cli.main(["shrink", str(path)]) == 2
    assert "umasim: error:" in capsys.readouterr().err
    assert cli.main(["shrink", str(tmp_path / "missing.trace")]) == 2


def test_a_trace_that_does_not_replay_is_bad_input(tmp_path, capsys):
    path, _ = write_trace(tmp_path, DOUBLE_FREE)
    lines = path.read_text().splitlines()
    end = json.loads(lines[-1])
    end["end"] = "deadlock"
    lines[-1] = json.dumps(end)
    path.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert cli.main(["shrink", str(path)]) == 2
    assert "does not replay" in capsys.readouterr().err


def test_shrink_trace_api(tmp_path):
    path, _ = write_trace(tmp_path, DOUBLE_FREE)
    res = shrink_trace(trace.read(path), max_runs=50)
    assert res.runs <= 50
    assert res.final.sizes.key() < res.original.sizes.key()
    assert res.cap <= 1_000_000 and res.steps_taken


def test_a_failure_only_the_invariant_checker_sees_shrinks(tmp_path):
    """stale_cache runs end "completed" with an item lost: the checker's
    verdict is part of the failure, so the explorer's find shrinks (the
    sizes reached: 136 -> about 30 non-zero decisions, 48 -> 4 ops run)."""
    from umasim.search.explore import explore, write_artefacts
    from umasim.model.scenario import from_dict
    d = {"sim": {"cpus": 2, "bugs": ["stale_cache"]},
         "zone": [{"name": "z", "size": 256, "max": 30}],
         "thread": [{"name": t, "cpu": i, "repeat": 12,
                     "ops": [f"alloc z -> {t}{{i}}", f"free {t}{{i}}"]}
                    for i, t in enumerate("ab")],
         "schedule": {"migrate": 0.3}}
    scn = from_dict(d)
    found = explore(scn, "random", runs=3000)
    write_artefacts(scn, found, tmp_path)
    bad = next(c for c in found.classes if c.failed)
    assert bad.check_failed and bad.outcome == "completed"
    before = trace.read(bad.artefact.trace_path)
    out = tmp_path / "small.trace"
    assert main(["shrink", str(bad.artefact.trace_path), "-o", str(out)]) == 0
    after = trace.read(out)
    assert trace.replay(after).identical
    assert sum(1 for x in after.decisions if x) < sum(1 for x in before.decisions if x) / 2
    sim = after.scenario.build()
    sim.run(**after.scenario.run_args())
    with pytest.raises(InvariantViolation, match="items in its slabs"):
        sim.check()


# A stale_cache find of the fuzzer (property failure, machine form, many
# preemptions that zeroing decisions cannot take out: each zeroed decision
# changes what every later one means).
STALE_CACHE_FIND = {
    "sim": {"cpus": 2, "pages": 256, "granularity": "coarse", "invariants": True,
            "bugs": ["stale_cache"]},
    "zone": [{"name": "z0", "size": 4096, "flags": ["nofree"], "ctor": "sleep 2",
              "dtor": "sleep 1", "allocf": "sleep 2"}],
    "thread": [
        {"name": "t0", "cpu": 0,
         "ops": ["alloc z0 -> v0_0", "sleep 53", "alloc z0 -> v0_1", "free v0_0"]},
        {"name": "t1", "cpu": 0,
         "ops": ["crit_enter", "crit_exit", "drain z0", "alloc z0 -> v1_0", "crit_enter",
                 "crit_exit", "alloc z0 -> v1_1", "sleep 1", "free v1_0",
                 "kmem_alloc 1 -> k1_2"]},
        {"name": "t2", "cpu": 0, "ops": ["crit_enter", "crit_exit"]}],
}
# Its non-zero decisions: (index, decision).
STALE_CACHE_DECISIONS = [(0, 2), (8, 1), (11, 2), (14, 1), (34, 1), (41, 1), (48, 1), (51, 1), (63, 1), (113, 1), (124, 1), (127, 3), (129, 1)]


def _stale_cache_shrinker():
    from umasim.search.shrink import Shrinker
    d = json.loads(json.dumps(STALE_CACHE_FIND))
    n = STALE_CACHE_DECISIONS[-1][0] + 1
    dec = [0] * n
    for i, x in STALE_CACHE_DECISIONS:
        dec[i] = x
    d["schedule"] = {"policy": "script", "decisions": dec, "then": "sequential",
                     "max_steps": 20000}
    scn = from_dict(d, "stale_cache.toml")
    return Shrinker(scn, dec, 400, properties=True)


def test_segments_pass_deletes_preemptions_of_a_machine_form_find():
    """Deleting segments of the interleaving (guided runs) takes out
    preemptions that zeroing decisions cannot, the programs unchanged and
    the failure the same."""
    sh = _stale_cache_shrinker()
    assert sh.cur.sizes.nonzero == 13
    sh.pass_decisions()
    assert sh.cur.sizes.nonzero == 13          # zeroing decisions: nothing
    sh = _stale_cache_shrinker()
    failure, ops = sh.failure, sh.cur.sizes.ops
    sh.pass_segments()
    assert sh.cur.sizes.nonzero <= 8 and sh.cur.sizes.ops == ops
    assert any("segments" in t for t in sh.taken)
    assert sh._run(sh.cur.d, strip_decisions(sh.cur.decisions))[1] == failure


def test_a_find_shrinks_to_few_ops_and_preemptions():
    """The whole loop on the same find: guided candidates are kept for a
    property failure (the judge stops a guided run at the failing step),
    so ops and preemptions go together."""
    sh = _stale_cache_shrinker()
    res = sh.run()
    assert res.final.sizes.ops <= 7 and res.final.sizes.nonzero <= 5, res.final.sizes
    assert any("(guided)" in t for t in res.steps_taken)
    # What the shrunk scenario will run: its decisions as they stand fail
    # the same way (a guided run is kept only then).
    assert sh._run(res.final.d, strip_decisions(res.final.decisions))[1] == res.failure


def test_order_pass_spawns_the_first_runner_first():
    """Moving a thread to the front of the list, the run guided by the same
    interleaving, takes out the decisions that chose a later thread."""
    sh = _stale_cache_shrinker()
    sh.pass_order()
    assert sh.cur.sizes.nonzero < len(STALE_CACHE_DECISIONS)
    assert [t["name"] for t in sh.cur.d["thread"]][0] != "t0"


# ---- a property broken at the end or where the judge stops ---------------------

def test_a_broken_property_is_the_same_failure_whether_the_run_ends_or_stops():
    """The properties stop a run at the step that broke one (outcome
    "running", its "outcome" expectation missed); a run judged at its end
    completes.  The same property broken the same way is the same failure
    either way, and another property is not."""
    from umasim.search.properties import Verdict
    scn = from_dict({"zone": [{"name": "z", "size": 256}],
                     "thread": [{"name": "a", "ops": ["alloc z -> x", "free x"]}]})
    rep = run_scenario(scn)
    v = Verdict(False, "invariant", "zone z: 30 items in its slabs, but 14 free + 15 cached",
                "completed", rep.sim.steps, [])
    done = failure_signature(scn, rep.sim, "completed", v)
    stopped = failure_signature(scn, rep.sim, "running", v)
    assert done == stopped == Failure(
        "property", ("zone z: N items in its slabs, but N free + N cached",),
        ("property.invariant",))
    other = Verdict(False, "stats", v.message, "completed", rep.sim.steps, [])
    assert failure_signature(scn, rep.sim, "completed", other) != done


# A stale_cache find of the fuzzer whose failure shows only at the end of
# its run (conservation, once every thread is done): its guided candidates
# are stopped where the judge sees it, earlier.
STALE_AT_END = {
    "sim": {"cpus": 2, "bugs": ["stale_cache"]},
    "zone": [{"name": "z0", "size": 256}, {"name": "z1", "master": "z0",
                                           "ctor": "sleep 1", "dtor": "sleep 1"}],
    "thread": [{"name": f"t{i}", "cpu": i,
                "ops": [f"alloc z0 -> v{i}_0", "lock m0", "yield", "unlock m0", "recurse 1",
                        f"free v{i}_0"]} for i in (0, 1)] + [{"name": "t2", "cpu": 1,
                                                             "ops": []}],
}
STALE_AT_END_DECISIONS = [(0, 3), (1, 2), (8, 1), (9, 2), (10, 1), (13, 2), (15, 1), (18, 2),
                          (20, 5), (30, 4), (31, 1), (38, 1), (39, 2), (47, 6), (52, 1),
                          (58, 1), (66, 3), (70, 2), (73, 2), (83, 1), (84, 5), (85, 2),
                          (87, 1), (88, 2), (90, 4), (92, 2), (94, 1), (98, 1)]


def _shrinker(d: dict, nonzero: list[tuple[int, int]], max_runs: int = 400):
    from umasim.search.shrink import Shrinker
    d = json.loads(json.dumps(d))
    dec = [0] * (nonzero[-1][0] + 1)
    for i, x in nonzero:
        dec[i] = x
    d["schedule"] = {"policy": "script", "decisions": dec, "then": "sequential",
                     "max_steps": 20000}
    return Shrinker(from_dict(d, "find.toml"), dec, max_runs, properties=True)


def test_segments_of_a_failure_seen_at_the_end_go():
    sh = _shrinker(STALE_AT_END, STALE_AT_END_DECISIONS)
    assert sh.failure.outcome == "property" and sh.original.outcome == "completed"
    sh.pass_segments()
    assert sh.cur.sizes.nonzero < 28 // 2, sh.cur.sizes
    got = sh._run(sh.cur.d, strip_decisions(sh.cur.decisions))[1]
    assert got == sh.cur_failure and sh.failure.same_as(got, sh.names)


# ---- the schedule derived again -------------------------------------------------

# Where the passes before pass_bounded left a stale_cache find: 8 ops, 9
# preemptions, no segment of its interleaving deletable -- while other
# schedules of the same programs need 2 or 3.
STALE_STUCK = {
    "sim": {"cpus": 3, "invariants": False, "bugs": ["stale_cache"]},
    "zone": [{"name": "z0", "size": 2048}],
    "thread": [{"name": "t0", "cpu": 0,
                "ops": ["lock m0", "unlock m0", "alloc z0 -> v0_1", "alloc z0 -> v0_2",
                        "alloc z0 -> v0_3", "free v0_3"]},
               {"name": "t1", "cpu": 2, "ops": ["free v0_2"]},
               {"name": "t2", "cpu": 0, "ops": ["free v0_1"]}],
}
STALE_STUCK_DECISIONS = [(43, 12), (49, 1), (55, 1), (59, 3), (62, 5), (63, 2), (64, 1),
                         (68, 3), (73, 2)]


def test_bounded_pass_derives_a_schedule_with_fewer_preemptions():
    sh = _shrinker(STALE_STUCK, STALE_STUCK_DECISIONS)
    ops = sh.cur.sizes.ops
    assert sh.cur.sizes.nonzero == 9
    sh.pass_segments()
    assert sh.cur.sizes.nonzero == 9            # no deletion of segments does it
    sh.pass_bounded()
    assert sh.cur.sizes.nonzero <= 3 and sh.cur.sizes.ops == ops, sh.cur.sizes
    assert any("(bounded)" in t for t in sh.taken)
    assert 0 < sh.bounded_steps <= sh_budget()
    # The decisions the bounded explorer reported, run as they stand, fail
    # the same way (what the written scenario does).
    got = sh._run(sh.cur.d, strip_decisions(sh.cur.decisions))[1]
    assert got == sh.cur_failure and sh.failure.same_as(got, sh.names)


def sh_budget() -> int:
    from umasim.search.shrink import BOUNDED_BUDGET
    return BOUNDED_BUDGET


# ---- zones whose kegs fill with fewer allocations; the ops after the failure -----

# wakeup_one as Hypothesis shrinks it (a zero byte is a 256-byte item): t0
# fills a one-page keg with 15 allocations and sleeps in zonelimit at the
# 16th, t1 sleeps too, t2's free wakes only one of them.
WAKEUP_ONE_FIND = {
    "sim": {"cpus": 2, "bugs": ["wakeup_one"]},
    "zone": [{"name": "z0", "size": 256, "max": 1}],
    "thread": [{"name": "t0", "cpu": 0, "ops": [f"alloc z0 -> v0_{k}" for k in range(20)]},
               {"name": "t1", "cpu": 0, "ops": ["alloc z0 -> v1_0"]},
               {"name": "t2", "cpu": 0, "ops": ["free v0_0"]}],
}


def test_larger_items_then_the_ops_not_begun_at_the_failure():
    from umasim.search.shrink import Shrinker
    d = json.loads(json.dumps(WAKEUP_ONE_FIND))
    d["schedule"] = {"policy": "script", "decisions": [], "then": "sequential"}
    sh = Shrinker(from_dict(d, "find.toml"), [], 400, properties=True)
    assert sh.failure.expectations == ("property.liveness",)
    sh.pass_tail()          # the 4 allocations after the one that sleeps
    assert sh.cur.sizes.ops == 18 and sh.cur.d["zone"][0]["size"] == 256
    sh.pass_geometry()      # one item a slab: the second allocation sleeps
    assert sh.cur.d["zone"][0]["size"] == 4096 and sh.cur.d["zone"][0]["max"] == 1
    sh.pass_tail()
    assert [t["ops"] for t in sh.cur.d["thread"]] == [
        ["alloc z0 -> v0_0", "alloc z0 -> v0_1"], ["alloc z0 -> v1_0"], ["free v0_0"]]
    assert sh.cur.sizes.nonzero == 0
    assert sh.runs <= 8


def test_a_run_of_like_ops_goes_in_a_few_candidates():
    """Twelve allocations (and their frees) that the failure does not need
    go whole, not one at a time."""
    from umasim.search.shrink import Shrinker
    d = {"zone": [{"name": "z", "size": 256}, {"name": "w", "size": 64}],
         "thread": [{"name": "a", "ops": [f"alloc w -> n{k}" for k in range(12)]
                     + ["alloc z -> x", "free x"] + [f"free n{k}" for k in range(12)]
                     + ["free x"]}],
         "schedule": {"policy": "script", "decisions": [], "then": "sequential"}}
    sh = Shrinker(from_dict(d, "noise.toml"), [], 400)
    assert sh.failure.outcome == "panic"
    sh.pass_runs()
    assert sh.cur.d["thread"][0]["ops"] == ["alloc z -> x", "free x", "free x"]
    assert sh.runs <= 3


# Where plain geometry and runs leave a wakeup_one find: the keg (max 29 of
# 1024-byte items: 32 items) must be full when t0's 33rd allocation comes,
# and t1 frees t0's 32nd item -- neither a lower limit alone (t0 sleeps
# before it allocates v0_32) nor fewer allocations alone (the keg is not
# full) fails the same way.
KEG_FULL_AT_ONCE = {
    "sim": {"cpus": 2, "bugs": ["wakeup_one"]},
    "zone": [{"name": "z0", "size": 1024, "flags": ["maxbucket"], "max": 29}],
    "thread": [{"name": "t2", "cpu": 0, "ops": ["alloc z0 -> v2_1"]},
               {"name": "t0", "cpu": 0,
                "ops": [f"alloc z0 -> v0_{k}" for k in range(1, 34)]},
               {"name": "t1", "cpu": 0, "ops": ["free v0_32"]}],
}


def test_a_lower_limit_with_the_runs_on_its_keg_cut_in_proportion():
    sh = _shrinker(KEG_FULL_AT_ONCE, [(0, 8), (63, 1)])
    assert sh.cur.sizes.ops == 35
    sh.pass_runs()
    assert sh.cur.sizes.ops == 35               # fewer allocations alone: no
    sh.pass_geometry()
    z = sh.cur.d["zone"][0]
    assert (z["size"], z.get("max")) != (1024, 29)
    assert sh.cur.sizes.ops <= 12, sh.taken
    assert any("like ops fewer" in t for t in sh.taken)
    t0 = next(t for t in sh.cur.d["thread"] if t["name"] == "t0")
    assert t0["ops"][-2:] == ["alloc z0 -> v0_32", "alloc z0 -> v0_33"]
    got = sh._run(sh.cur.d, strip_decisions(sh.cur.decisions))[1]
    assert got == sh.cur_failure and sh.failure.same_as(got, sh.names)
    res = sh.run()
    assert res.final.sizes.ops <= 5 and res.final.sizes.nonzero <= 2, res.final.sizes


def test_properties_refuse_a_scenario_that_repeats():
    """The properties name each variable once: a scenario whose threads
    repeat is refused with a precise error (not a KeyError from inside
    the checker); with its repeats written out it is judged (and passes)."""
    from umasim.errors import InvalidArgument
    from umasim.search.properties import unrolled
    from umasim.search.shrink import shrink_run
    from umasim.search.shrink import NotFailing
    scn = from_dict({"sim": {"cpus": 1},
                     "zone": [{"name": "z", "size": 64}],
                     "thread": [{"name": "a", "cpu": 0, "repeat": 3,
                                 "ops": ["alloc z -> x{i}", "touch x{i}", "free x{i}",
                                         "alloc z zero -> y{i}"]}]}, "<test>")
    with pytest.raises(InvalidArgument, match="write the repeats out"):
        shrink_run(scn, [], properties=True)
    with pytest.raises(NotFailing):
        shrink_run(unrolled(scn), [], properties=True)


# ---- the same failure, names aside ----------------------------------------

def _sleepers(n: int) -> dict:
    """wakeup_one with n threads asleep in zonelimit when f frees w's item:
    one is woken, the rest named in the lost-wakeup message."""
    t = lambda name, ops: {"name": name, "cpu": 0, "ops": ops}  # noqa: E731
    return {"sim": {"cpus": 1, "bugs": ["wakeup_one"]},
            "zone": [{"name": "z", "size": 4096, "max": 1}],
            "thread": [t("w", ["alloc z -> w0"])]
            + [t(f"s{k}", [f"alloc z -> v{k}"]) for k in range(1, n + 1)]
            + [t("f", ["free w0"])],
            "schedule": {"policy": "sequential", "max_steps": 5000}}


def test_a_thread_named_in_the_failure_may_go_when_another_takes_its_place():
    from umasim.search.shrink import Shrinker
    sh = Shrinker(from_dict(_sleepers(3), "sleepers.toml"), [], 200)
    assert "(s2, s3 still asleep" in sh.failure.detail[0]
    res = sh.run()
    # One sleeper fewer: the message names one thread left asleep, not two
    # (a list of names is one placeholder), and the run still loses a
    # wakeup the same way.
    assert [t["name"] for t in res.final.d["thread"]] == ["w", "s1", "s2", "f"]
    assert "(s2 still asleep" in res.failure.detail[0]
    assert res.failure != sh.failure and sh.failure.same_as(res.failure, res.names)
    got = sh._run(res.final.d, strip_decisions(res.final.decisions))[1]
    assert got == res.failure


def test_same_as_blinds_names_only():
    from umasim.search.judge import Failure, NameBlind
    names = NameBlind(from_dict(_sleepers(2), "sleepers.toml"))
    f = lambda msg, kind="liveness", outcome="property": Failure(  # noqa: E731
        outcome, (msg,), (f"property.{kind}",))
    base = f("f's free: only N were woken (s1 still asleep; step N)")
    assert base.same_as(f("f's free: only N were woken (s2 still asleep; step N)"), names)
    assert base.same_as(f("w's free: only N were woken (s1, s2 still asleep; step N)"), names)
    # The words around the names, the property and the outcome still count.
    assert not base.same_as(f("f's free: only N were woken (s1 woken; step N)"), names)
    assert not base.same_as(f("f's free: only N were woken (s2 still asleep; step N)",
                              "limit"), names)
    assert not base.same_as(None, names)
    # A panic's message is compared as it is.
    p = Failure("panic", ("thread s1: bad",), ("panic",))
    assert not p.same_as(Failure("panic", ("thread s2: bad",), ("panic",)), names)
    # A name that is also a word of the prose is blinded in both alike.
    scn = from_dict({**_sleepers(1), "thread": [{"name": "a", "cpu": 0,
                                                 "ops": ["alloc z -> x"]}]}, "a.toml")
    blind = NameBlind(scn)
    assert blind("a free of a item") == "<name> free of <name> item"
    assert f("x lost by a thread").same_as(f("z lost by a thread"), blind)


def test_pct_pass_finds_a_schedule_of_few_preemptions():
    from umasim.search.explore import explore
    from umasim.search.shrink import Shrinker
    scn = load(SCENARIOS / "bug_stale_cache.toml")
    # A random explorer's find: dozens of preemptions, most of them beside
    # the point.
    res = explore(scn, "random", runs=3000, seed=1, migrate=0.2)
    c = next(c for c in res.classes if c.failed)
    sh = Shrinker(scn, list(c.decisions))
    before = sh.cur.sizes.nonzero
    assert before > 10
    sh.pass_pct()
    assert sh.cur.sizes.nonzero <= 5, sh.cur.sizes
    assert any("(pct)" in t for t in sh.taken)
    got = sh._run(sh.cur.d, strip_decisions(sh.cur.decisions))[1]
    assert got == sh.cur_failure and sh.failure.same_as(got, sh.names)
