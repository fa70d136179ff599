"""`umasim fuzz`: the properties of umasim.search.properties over cases
that Hypothesis generates (umasim.search.strategies), with a progress
bar (in several processes or on a cluster: umasim.campaign); a failure is shrunk, written as a
scenario file and a trace (umasim.views.artefacts), and the command that
replays it is printed.

    umasim fuzz [--examples N | --max-time S] [--seed N] [--bug NAME]
                [--out DIR] [--db DIR | --no-db] [--fast] [--json]
                [--jobs N | --cluster tcp://HOST:PORT] [--unit-size N] [--resume DIR]
    umasim fuzz --list-bugs

Exit status: 0 when no example failed, 1 when one did (artefacts
written), 2 for bad arguments.

Each example explores schedules (explore_example): Hypothesis draws the
program, a schedule, and a schedule family (guided or PCT) with a seed;
the drawn schedule is checked, then a burst of the family's schedules
runs in one C call (umasim.search.burst), every run judged by the core's
oracle, and the burst's failing schedules are checked by the properties
too.  A burst's
find is put back into the example in trigger form and shrunk by
Hypothesis with the program (find_failure).  The race windows and state
pairs a burst covers feed hypothesis.target() and event().

--bug NAME turns on a known-bug switch and runs the default search.
--seed seeds Hypothesis (a campaign's unit k a hash of it and k); without it a
seed is drawn and printed, so any run can be repeated.  --fast checks the
invariants at the end of each run only (one C call per run) instead of
after every step.  --max-time S bounds the search (shrinking a find may
take SHRINK_EXTRA seconds more) and lifts the default example count.
The example database (DEFAULT_DB, or --db DIR; --no-db for none) keeps
failures for the next run to try first; a run given --seed neither reads
nor writes it unless --db is given.

Hypothesis is needed at run time (pip install 'umasim[fuzz]'); it is
imported only when the command runs.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from umasim.model.sim import KNOWN_BUGS


class _Found(AssertionError):
    """A property failed (raised inside the Hypothesis test)."""


class _OutOfTime(BaseException):
    """The time budget ran out (a BaseException: Hypothesis passes it on
    instead of taking it for a failure)."""


# Where `umasim fuzz` keeps Hypothesis's example database by default.
DEFAULT_DB = Path(".umasim") / "hypothesis"
# How much longer than --max-time shrinking a find may take.
SHRINK_EXTRA = 60.0
# Examples Hypothesis may run to shrink a burst's find (then the smallest
# so far is kept).
SHRINK_EXAMPLES = 500


@dataclass
class Failure:
    case: object                 # properties.Case, as generated (maybe trigger form)
    verdict: object              # properties.Verdict
    job: int = 0
    seed: int | None = None

    @property
    def resolved(self):
        """The case in machine form (the schedule its run took)."""
        return self.case.with_decisions(self.verdict.decisions)


@dataclass
class FuzzResult:
    examples: int
    seconds: float
    seeds: list[int]
    bug: str | None
    failures: list[Failure] = field(default_factory=list)
    artefacts: list = field(default_factory=list)
    # Schedules run in all: each example's own, its burst's runs, and the
    # burst's schedules the properties checked again (shrinking included).
    schedules: int = 0

    @property
    def examples_per_s(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else 0.0

    @property
    def schedules_per_s(self) -> float:
        return self.schedules / self.seconds if self.seconds > 0 else 0.0


def strategy_for(bug: str | None = None):
    """The cases `umasim fuzz` draws: the default strategies, with a
    known-bug switch turned on when asked (and nothing else changed)."""
    from umasim.search import strategies as S
    if bug is None:
        return S.cases(S.DEFAULT_KNOBS)
    if bug not in KNOWN_BUGS:
        raise ValueError(f"unknown bug {bug!r} (known: {', '.join(KNOWN_BUGS)})")
    return S.cases(S.DEFAULT_KNOBS, bugs=(bug,))


@dataclass
class _Search:
    """What one search has seen so far (shared by the test functions)."""
    examples: int = 0
    schedules: int = 0          # schedules run: drawn, burst runs, re-checks
    last: dict = field(default_factory=dict)
    found_by_burst: object = None   # (case, verdict) of a burst's find
    shrinking: bool = False
    found_at: float | None = None   # time.monotonic() of the first failure


def explore_example(case, every_step: bool = True, burst: bool = True, stats=None):
    """The property of one example: the case's own schedule, then (when
    the case carries a burst and `burst`) a burst of schedules of its
    family (umasim.search.burst), judged by the core's checker and oracle,
    its failing runs judged again by the properties.  Returns (case,
    verdict, the burst or None): the failing case when one failed, in
    machine form when the burst found it."""
    from umasim.search.burst import run_burst
    from umasim.search.properties import check_case
    v = check_case(case, every_step=every_step)
    if stats is not None:
        stats.schedules += 1
    meta = case.draw or {}
    if not v.ok or not burst or "family" not in meta:
        return case, v, None
    b = run_burst(case, meta["family"], meta["seed"])
    if stats is not None:
        stats.schedules += b.runs
    for dec in b.candidates:
        c = case.with_decisions(dec)
        # The end-of-run properties first (one C call); a failure is judged
        # again after every step, as the drawn schedule was.
        w = check_case(c, every_step=False)
        if stats is not None:
            stats.schedules += 1
        if not w.ok and every_step:
            # Judged after every step, as the drawn schedule was (a
            # schedule that fails only at the end in that mode is not a
            # find of this search).
            w = check_case(c, every_step=True)
            if stats is not None:
                stats.schedules += 1
        if not w.ok:
            return c, w, b
    return case, v, b


def find_failure(strategy, examples: int, *, seed: int | None = None,
                 derandomize: bool = False, every_step: bool = True, parent=None,
                 on_example=None, targets: bool = True, tidy: bool = True,
                 database=None, max_time: float | None = None, burst: bool = True,
                 stats: "_Search | None" = None):
    """Runs the properties on up to `examples` generated cases, each with
    its burst of schedules (explore_example).  Returns None, or (case,
    verdict, runs) for the shrunk failing case, `runs` the number of
    examples run in all (shrinking included).  `parent` is the Hypothesis
    settings to start from (a profile); examples, derandomize and seed
    override it.

    A failure of the drawn schedule is shrunk by Hypothesis as it stands.
    A failure a burst found is made small (burst.fewer_preemptions), put in
    trigger form (or sparse machine form) and written into the example's
    choices in place of the drawn schedule; Hypothesis then shrinks that
    example -- program and schedule together -- from its database (no
    bursts while shrinking).  With `tidy`, umasim's own shrinker
    (shrink_case) takes out what Hypothesis's shrinker leaves where two
    things must go together, and the case comes back in machine form.
    `database`: Hypothesis's example database (None: none).  `max_time`:
    seconds of search, after which no new example starts (shrinking a find
    may take SHRINK_EXTRA seconds more); not reproducible, unlike a count
    of examples.  `stats` (a _Search) counts examples and schedules."""
    from hypothesis import HealthCheck, Phase, Verbosity, event, given, settings, target
    from hypothesis import seed as hseed
    from hypothesis.internal.reflection import function_digest

    st_ = stats if stats is not None else _Search()
    last = st_.last
    stop_at = None if max_time is None else time.monotonic() + max_time

    def budget():
        # The budget is checked after each example (here, so that the test
        # function -- whose source seeds a derandomized search -- stays as
        # it is).
        if on_example is not None:
            on_example()
        if stop_at is not None and time.monotonic() > stop_at + (
                SHRINK_EXTRA if "case" in last or st_.found_by_burst else 0.0):
            raise _OutOfTime()

    # Quiet: Hypothesis would print how to repeat a search that a burst's
    # find (or the time budget) ends; umasim fuzz reports the seed itself.
    base = dict(deadline=None, report_multiple_bugs=False, print_blob=False,
                suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)
    s = settings(parent if parent is not None else settings.default,
                 max_examples=examples, derandomize=derandomize, database=database,
                 # With a database, its examples (failures of earlier runs)
                 # are tried first.
                 phases=([Phase.explicit] + ([Phase.reuse] if database is not None else [])
                         + [Phase.generate, Phase.target, Phase.shrink]), **base)
    def prop(case):
        st_.examples += 1
        c, v, b = explore_example(case, every_step, burst and not st_.shrinking, st_)
        budget()
        if targets:
            # Steer the search toward contention (Hypothesis's targeted
            # phase): threads blocked at once, UMA points reached, and the
            # race windows and (point, state) pairs the burst covered.
            target(float(v.metrics.get("max_asleep", 0)), label="threads asleep at once")
            target(float(v.metrics.get("uma_points", 0)), label="UMA points reached")
            if b is not None:
                target(float(b.windows_interleaved), label="race windows interleaved")
                target(float(b.state_pairs), label="(point, state) pairs")
                event(f"burst {b.family}")
                for w in b.windows:
                    event(f"window interleaved: {w}")
        if not v.ok:
            if st_.found_at is None:
                st_.found_at = time.monotonic()
            if c is not case:
                # The burst's find: the search stops here and the find is
                # shrunk as an example of its own (below).
                st_.found_by_burst = (c, v, _choices_now())
                raise _BurstFound()
            st_.shrinking = True
            last["case"], last["verdict"] = case, v
            last["choices"] = _choices_now()
            raise _Found(f"{v.kind}: {v.message}")

    # The example database's key: Hypothesis's own, a digest of the test
    # function (the same in every process).
    key = function_digest(prop)
    prop = s(given(strategy)(prop))
    if seed is not None and not derandomize:
        if database is None or not _seed_keeping_database(seed):
            # @seed turns Hypothesis's database off.
            prop = hseed(seed)(prop)
    try:
        prop()
    except (_OutOfTime, _BurstFound):
        pass
    except Exception:
        if "case" not in last:
            raise
    if "case" not in last and st_.found_by_burst is not None:
        _shrink_burst_find(strategy, st_, every_step, seed, parent, base, budget, database,
                           key)
    if "case" not in last:
        return None
    case, verdict = last["case"], last["verdict"]
    if tidy:
        small, sv = shrink_case(case, verdict, every_step=every_step,
                                deadline=None if stop_at is None else stop_at + SHRINK_EXTRA)
        if not sv.ok:
            case, verdict = small, sv
    return case, verdict, st_.examples


class _BurstFound(BaseException):
    """A burst found a failing schedule (a BaseException: Hypothesis passes
    it on; find_failure shrinks the find as an example of its own)."""


def _choices_now():
    try:
        from hypothesis.control import current_build_context
        return current_build_context().data.choices
    except Exception:  # noqa: BLE001
        return None


def _shrink_burst_find(strategy, st_: _Search, every_step, seed, parent, base, budget,
                       database, key) -> None:
    """A burst's find as an example: its schedule made small and put in
    trigger form (else sparse machine form) in place of the example's own
    schedule choices; Hypothesis shrinks that example (program and
    schedule together) from an in-memory database, bursts off.  When the
    schedule cannot be put in the example, the find is kept as it is
    (shrink_case shrinks it).  Sets st_.last."""
    from hypothesis import Phase, given, settings
    from hypothesis.database import InMemoryExampleDatabase, choices_to_bytes
    from hypothesis.internal.reflection import function_digest

    from umasim.search.burst import (fewer_preemptions, fewer_triggers, to_triggers,
                                     trigger_case)
    from umasim.search.properties import check_case
    from umasim.search.strategies import schedule_choices

    last = st_.last
    case, v, choices = st_.found_by_burst
    check = functools.partial(check_case, every_step=every_step)
    last["case"], last["verdict"] = case, v
    tail = None

    def as_triggers(c, cv):
        # The preemptions counted in UMA stops, then as few of them as the
        # failure needs.
        trig = to_triggers(c, cv.decisions)
        if trig is None:
            return None
        tc = trigger_case(c, trig)
        tv = check(tc)
        st_.schedules += 1
        if tv.ok or tv.kind != cv.kind:
            return None
        tc, tv = fewer_triggers(tc, tv, check)
        last["case"], last["verdict"] = tc, tv
        return schedule_choices(tc, triggers=list(tc.triggers))

    # Trigger form first; else the preemptions the failure needs, in
    # trigger form.  (A machine-form schedule would fit the example as a
    # sparse one, but its positions count steps, which every op Hypothesis
    # takes out moves: it would shrink nothing.  Such a find is left to
    # shrink_case, whose guided replay follows the interleaving.)
    tail = as_triggers(case, v)
    if tail is None:
        small, sv = fewer_preemptions(case, v, check)
        last["case"], last["verdict"] = small, sv
        tail = as_triggers(small, sv)
        if tail is None:
            last["case"], last["verdict"] = small, sv
    at = (case.draw or {}).get("at")
    if tail is None or choices is None or at is None:
        return
    mem = InMemoryExampleDatabase()
    s2 = settings(parent if parent is not None else settings.default, database=mem,
                  derandomize=False, max_examples=10**9,
                  phases=[Phase.reuse, Phase.shrink], **base)
    got: dict = {}

    calls = [0]

    def shrink_prop(case):
        st_.examples += 1
        c2 = check_case(case, every_step=every_step)
        st_.schedules += 1
        budget()
        calls[0] += 1
        if calls[0] > SHRINK_EXAMPLES and "case" in got:
            raise _OutOfTime()
        if not c2.ok:
            got["case"], got["verdict"], got["choices"] = case, c2, _choices_now()
            raise _Found(f"{c2.kind}: {c2.message}")

    # Under the secondary key of the test's own: an example of the primary
    # one that fails as it is would count as shrunk already, and not be
    # shrunk again.
    mem.save(function_digest(shrink_prop) + b".secondary",
             choices_to_bytes(tuple(choices[:at]) + tuple(tail)))
    shrink_prop = s2(given(strategy)(shrink_prop))
    # Shrinking draws on Hypothesis's generator: seeded, it shrinks the
    # same way every time.
    _seed_keeping_database(seed if seed is not None else 0)
    try:
        shrink_prop()
    except (_OutOfTime, _Found):
        pass
    except Exception:
        if "case" not in got:
            raise
    if "case" in got:
        last.update(got)
        if database is not None and got.get("choices") is not None:
            # The next run tries it first.
            database.save(key, choices_to_bytes(got["choices"]))


def _seed_keeping_database(seed: int) -> bool:
    """Seeds Hypothesis without @seed, which would turn the example database
    off: the generator that Hypothesis draws each test's random seed from
    is seeded instead.  False when this Hypothesis has no such generator
    (the caller then uses @seed, without the database)."""
    import random

    from hypothesis import core
    local = getattr(core, "threadlocal", None)
    if local is None or not hasattr(local, "_hypothesis_global_random"):
        return False
    setattr(local, "_hypothesis_global_random", random.Random(seed))
    return True


def shrink_case(case, verdict, every_step: bool = True, max_runs: int = 400,
                deadline: float | None = None):
    """After Hypothesis's shrinker, which can stop in a local minimum (an op
    that can only go together with another): umasim's own shrinker
    (search.shrink, the one `umasim shrink` runs) on the case's run,
    judged by the properties (again, up to twice, while the case still
    has more than MANY_OPS ops or MANY_PREEMPTIONS preemptions and the last
    round made it smaller).  Then, when the case still has many ops, the
    same with each zone's items made a page large (BIG_ITEM: one item a
    slab, so a full keg or bucket takes a few allocations, not a run of
    them), and a limited zone's max made smaller (so a full keg takes
    fewer), when it still fails the same way -- under the case's schedule,
    or one a short guided exploration of the changed case finds
    (refind) -- kept if it has fewer ops and no more preemptions than
    the case or MANY_PREEMPTIONS.
    Returns the smaller case, in machine form, and its verdict.  After
    `deadline` (time.monotonic()), only the first round runs."""
    from umasim.search.properties import Case, check_case
    from umasim.search.shrink import NotFailing, final_scenario, shrink_run

    def late():
        return deadline is not None and time.monotonic() > deadline

    def shrunk(c, v):
        try:
            res = shrink_run(c.scenario.with_schedule(c.schedule), list(v.decisions),
                             max_runs=max_runs, properties=True, every_step=every_step)
        except NotFailing:
            return c, check_case(c, every_step=every_step)
        small = Case.from_scenario(final_scenario(res, c.scenario))
        return small, check_case(small, every_step=every_step)

    best, bv = _balanced(shrunk(case.with_decisions(verdict.decisions), verdict), every_step)
    # Again while it is large and the last round made it smaller (each
    # round a budget of its own).
    for _ in range(2):
        if bv.ok or late() or (best.nops <= MANY_OPS and
                               best.preemptions <= MANY_PREEMPTIONS):
            break
        c2, v2 = shrunk(best, bv)
        if v2.ok or v2.kind != bv.kind or (c2.nops, c2.preemptions) >= (best.nops,
                                                                        best.preemptions):
            break
        best, bv = _balanced((c2, v2), every_step)
    if bv.ok or best.nops <= MANY_OPS:
        return best, bv
    for i, z in enumerate(best.zones):
        if z.get("master"):
            continue
        mx0 = z.get("max")
        # Smaller limits, the smallest first (the first that fails the
        # same way is the one to shrink), at the zone's size, then with
        # big items.
        maxes = sorted({m for m in (1, 2, 3, 4, mx0 // 4, mx0 // 2, (3 * mx0) // 4, mx0 - 1)
                        if 1 <= m < mx0}) if mx0 else []
        variants = [(None, m) for m in maxes]
        if z.get("size", 0) < BIG_ITEM:
            variants += [(BIG_ITEM, m) for m in maxes] + [(BIG_ITEM, None)]
        for size, mx in variants:
            if late() or best.nops <= MANY_OPS:
                break
            d = best.to_scenario()
            big = dict(d["zone"][i])
            if size is not None:
                big["size"] = size
            if mx is not None:
                big["max"] = mx
            if size is not None:
                flags = [f for f in big.get("flags") or () if f != "vm"]  # vm: 2048 at most
                if flags:
                    big["flags"] = flags
                else:
                    big.pop("flags", None)
            d["zone"][i] = big
            try:
                cand = Case.from_scenario(d)
            except Exception:  # noqa: BLE001 -- a scenario the loader refuses
                continue
            w = check_case(cand, every_step=every_step)
            if w.ok or w.kind != bv.kind:
                # The schedule counts steps, which the change moves: look
                # for one that fails the same way.
                dec = refind(cand, bv.kind)
                if dec is None:
                    continue
                cand = cand.with_decisions(dec)
                w = check_case(cand, every_step=every_step)
                if w.ok or w.kind != bv.kind:
                    continue
            c2, v2 = _balanced(shrunk(cand, w), every_step)
            # Fewer ops, and no more preemptions than the target allows
            # beyond the case's own (a schedule refind found may have many).
            if not v2.ok and v2.kind == bv.kind and c2.nops < best.nops and \
                    c2.preemptions <= max(best.preemptions, MANY_PREEMPTIONS):
                # (Its zones may be others now: no more variants.)
                return c2, v2
    return best, bv


# The runs of refind's guided exploration.
REFIND_RUNS = 256


def refind(case, kind: str, runs: int = REFIND_RUNS, seed: int = 1):
    """The decisions of a run of `case` that fails with `kind`, from a
    guided exploration of its schedules inside one C call, every run
    judged by the core's oracle too (so a failure of its kinds is seen
    wherever it shows); None when none does."""
    from umasim.search.burst import MIGRATE, PCT_DEPTH
    core = case.build(trace="off").core
    s = core.explore(core.snapshot(), "guided", runs, seed, MIGRATE, PCT_DEPTH, 0, 0,
                     case.max_steps, "completed", "", True, False, 0, oracle=True)
    for c in s.classes:
        if c.failed and c.kind == kind:
            return list(c.decisions)
    return None


def _balanced(found, every_step: bool):
    """The shrinker takes out single ops: it may leave a crit_exit or an
    unlock whose crit_enter or lock went (or the other way round) after the
    failure, which the failure does not need but a run to the end
    (the same case without its bug switch, say) panics on.  Such unpaired
    ops go too, when the case still fails the same way without them."""
    from umasim.search.properties import Case, check_case
    case, v = found
    if v.ok:
        return found
    d = case.to_scenario()
    changed = False
    for t in d["thread"]:
        keep, depth, held = [], 0, []
        for op in t["ops"]:
            w = op.split()
            if w[0] == "crit_exit" and depth == 0 or \
                    w[0] == "unlock" and (len(w) < 2 or w[1] not in held):
                changed = True
                continue
            if w[0] == "crit_enter":
                depth += 1
            elif w[0] == "crit_exit":
                depth -= 1
            elif w[0] == "lock" and len(w) > 1:
                held.append(w[1])
            elif w[0] == "unlock":
                held.remove(w[1])
            keep.append(op)
        # Entries never left: the last ones go.
        for i in range(len(keep) - 1, -1, -1):
            w = keep[i].split()
            if w[0] == "crit_enter" and depth > 0:
                depth -= 1
            elif w[0] == "lock" and len(w) > 1 and w[1] in held:
                held.remove(w[1])
            else:
                continue
            del keep[i]
            changed = True
        t["ops"] = keep
    if not changed:
        return found
    try:
        c2 = Case.from_scenario(d)
    except Exception:  # noqa: BLE001 -- a scenario the loader refuses
        return found
    v2 = check_case(c2, every_step=every_step)
    return (c2, v2) if not v2.ok and v2.kind == v.kind else found


# When a shrunk case still has more ops than this, shrink_case tries items
# of BIG_ITEM bytes.
MANY_OPS = 10
MANY_PREEMPTIONS = 5
BIG_ITEM = 4096


# ---- the search ----------------------------------------------------------------

def _database(path):
    if path is None:
        return None
    from hypothesis.database import DirectoryBasedExampleDatabase
    return DirectoryBasedExampleDatabase(str(path))


def run_fuzz(examples: int = 200, seed: int | None = None, bug: str | None = None,
             every_step: bool = True, progress: bool = True,
             max_time: float | None = None, db: str | Path | None = None) -> FuzzResult:
    """Fuzzes in this process (several processes or machines: a campaign,
    umasim.campaign); returns what failed (not yet written as artefacts).
    `max_time` bounds the search in seconds; `db` is the directory of
    Hypothesis's example database (None: no database)."""
    if examples < 1:
        raise ValueError("--examples must be at least 1")
    if max_time is not None and not max_time > 0:
        raise ValueError(f"--max-time must be a positive number of seconds, not {max_time}")
    if bug is not None and bug not in KNOWN_BUGS:
        raise ValueError(f"unknown bug {bug!r} (known: {', '.join(KNOWN_BUGS)})")
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little")
    seeds = [seed]
    bar = _bar(examples, progress, bug)
    t0 = time.perf_counter()
    failures: list[Failure] = []
    done = 0
    stats = _Search()
    nsched = [0]
    def tick():
        nonlocal done
        done += 1
        if bar is not None and done <= examples:
            bar.update(1)
    try:
        found = find_failure(strategy_for(bug), examples, seed=seed,
                             every_step=every_step, on_example=tick,
                             database=_database(db), max_time=max_time, stats=stats)
        if found is not None:
            failures.append(Failure(found[0], found[1], 0, seed))
        nsched[0] = stats.schedules
    finally:
        if bar is not None:
            bar.close()
    secs = time.perf_counter() - t0
    return FuzzResult(min(done, examples), secs, seeds, bug, failures, schedules=nsched[0])


def _bar(total: int, progress: bool, bug: str | None):
    if not progress:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="ex", desc=f"fuzz{' ' + bug if bug else ''}",
                file=sys.stderr, dynamic_ncols=True, leave=False)


# ---- artefacts ---------------------------------------------------------------

def write_artefacts(failure: Failure, out_dir: str | Path | None = None):
    """The scenario file and trace of a failure (umasim.artefacts), the
    schedule in machine form; returns the FailureArtefact."""
    from umasim.views.artefacts import write_failure
    from umasim.model.scenario import from_dict
    case = failure.resolved
    v = failure.verdict
    scn = from_dict(case.to_scenario(), "<fuzz>")
    size = case.size()
    comment = (f"umasim fuzz{' --bug ' + failure.case.sim['bugs'][0] if failure.case.sim.get('bugs') else ''}"
               f" (seed {failure.seed}): property {v.kind} failed at step {v.step}\n"
               f"{v.message}\n"
               f"shrunk to {size['threads']} threads, {size['ops']} ops, "
               f"{size['preemptions']} preemptions")
    label = "fuzz-" + (failure.case.sim["bugs"][0] if failure.case.sim.get("bugs")
                       else "default") + f"-{v.kind}"
    return write_failure(scn, list(v.decisions), out_dir, label=label, comment=comment)
