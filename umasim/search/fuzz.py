"""`umasim fuzz`: the properties of umasim.properties over cases that
Hypothesis generates (umasim.strategies), in one or several processes,
with a progress bar; a failure is shrunk, written as a scenario file and a
trace (umasim.artefacts), and the command that replays it is printed.

    umasim fuzz [--examples N] [--seed N] [--bug NAME] [--jobs N] [--out DIR]
                [--fast] [--json]
    umasim fuzz --list-bugs

Exit status: 0 when no example failed, 1 when one did (artefacts
written), 2 for bad arguments.

--bug NAME turns on a known-bug switch and narrows the cases to what that
bug needs (strategies.knobs_for_bug).  --seed seeds Hypothesis (job j of
--jobs uses seed + j); without it FreeBSD 7 is drawn and printed, so any
run can be repeated.  --fast checks the invariants at the end of each run
only (one C call per run) instead of after every step.  No example
database is used: a run is repeated by its seed, and a failure by its
artefacts.

Hypothesis is needed at run time (pip install 'umasim[fuzz]'); it is
imported only when the command runs.
"""

from __future__ import annotations

import json
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

    @property
    def examples_per_s(self) -> float:
        return self.examples / self.seconds if self.seconds > 0 else 0.0


def strategy_for(bug: str | None = None):
    """The cases `umasim fuzz` draws: the default knobs, or those for one
    known bug (with its switch on; stale_cache with granularity fine)."""
    from umasim.search import strategies as S
    if bug is None:
        return S.cases(S.DEFAULT_KNOBS)
    if bug not in KNOWN_BUGS:
        raise ValueError(f"unknown bug {bug!r} (known: {', '.join(KNOWN_BUGS)})")
    gran = "fine" if bug == "stale_cache" else None
    return S.cases(S.knobs_for_bug(bug), bugs=(bug,), granularity=gran)


def find_failure(strategy, examples: int, *, seed: int | None = None,
                 derandomize: bool = False, every_step: bool = True, parent=None,
                 on_example=None, targets: bool = True, tidy: bool = True,
                 database=None, max_time: float | None = None):
    """Runs the properties on up to `examples` generated cases.  Returns
    None, or (case, verdict, runs) for the shrunk failing case, `runs` the
    number of cases run in all (shrinking included).  `parent` is the
    Hypothesis settings to start from (a profile); examples, derandomize
    and seed override it.  The shrunk case is the one Hypothesis replays
    last; with `tidy`, umasim's own shrinker (shrink_case) then takes out
    what Hypothesis's shrinker leaves where two things must go together,
    and the case comes back in machine form.  `database`: Hypothesis's
    example database (None: none).  `max_time`: seconds of search, after
    which no new example starts (shrinking a find may take SHRINK_EXTRA
    seconds more); not reproducible, unlike a count of examples."""
    from hypothesis import HealthCheck, Phase, given, settings, target
    from hypothesis import seed as hseed

    from umasim.search.properties import check_case

    last: dict = {}
    runs = [0]
    stop_at = None if max_time is None else time.monotonic() + max_time
    if stop_at is not None:
        # The budget is checked after each example (in on_example, so that
        # the test function -- whose source seeds a derandomized search --
        # stays as it is).
        counted = on_example

        def on_example():
            if counted is not None:
                counted()
            if time.monotonic() > stop_at + (SHRINK_EXTRA if "case" in last else 0.0):
                raise _OutOfTime()
    s = settings(parent if parent is not None else settings.default,
                 max_examples=examples, derandomize=derandomize, database=database,
                 deadline=None, report_multiple_bugs=False, print_blob=False,
                 # With a database, its examples (failures of earlier runs)
                 # are tried first.
                 phases=([Phase.explicit] + ([Phase.reuse] if database is not None else [])
                         + [Phase.generate, Phase.target, Phase.shrink]),
                 suppress_health_check=list(HealthCheck))

    @s
    @given(strategy)
    def prop(case):
        runs[0] += 1
        v = check_case(case, every_step=every_step)
        if on_example is not None:
            on_example()
        if targets:
            # Steer the search toward contention (Hypothesis's targeted
            # phase): threads blocked at once, UMA points reached.
            target(float(v.metrics["max_asleep"]), label="threads asleep at once")
            target(float(v.metrics["uma_points"]), label="UMA points reached")
        if not v.ok:
            last["case"], last["verdict"] = case, v
            raise _Found(f"{v.kind}: {v.message}")

    if seed is not None and not derandomize:
        if database is None or not _seed_keeping_database(seed):
            # @seed turns Hypothesis's database off.
            prop = hseed(seed)(prop)
    try:
        prop()
    except _OutOfTime:
        if "case" not in last:
            return None
    except Exception:
        if "case" not in last:
            raise
    else:
        return None
    case, verdict = last["case"], last["verdict"]
    if tidy:
        case, verdict = shrink_case(case, verdict, every_step=every_step)
    return case, verdict, runs[0]


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


def shrink_case(case, verdict, every_step: bool = True, max_runs: int = 400):
    """After Hypothesis's shrinker, which can stop in a local minimum (an op
    that can only go together with another): umasim's own shrinker
    (search.shrink, the one `umasim shrink` runs) on the case's run,
    judged by the properties.  Returns the smaller case, in machine form,
    and its verdict."""
    from umasim.search.properties import Case, check_case
    from umasim.search.shrink import NotFailing, final_scenario, shrink_run
    fixed = case.with_decisions(verdict.decisions)
    try:
        res = shrink_run(fixed.scenario.with_schedule(fixed.schedule), list(verdict.decisions),
                         max_runs=max_runs, properties=True, every_step=every_step)
    except NotFailing:
        return fixed, check_case(fixed, every_step=every_step)
    small = Case.from_scenario(final_scenario(res, fixed.scenario))
    return small, check_case(small, every_step=every_step)


# ---- processes ---------------------------------------------------------------

def _worker(job: int, seed: int, examples: int, bug: str | None, every_step: bool,
            counts, results, db: str | None = None, max_time: float | None = None) -> None:
    """One process of --jobs: its share of the examples under its seed.
    The first job to find a failure stops the others."""
    import contextlib
    import io

    def tick():
        counts[job] += 1
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            found = find_failure(strategy_for(bug), examples, seed=seed,
                                 every_step=every_step, on_example=tick,
                                 database=_database(db), max_time=max_time)
    except BaseException as e:  # noqa: BLE001 -- reported by the parent
        results.put((job, "error", f"{type(e).__name__}: {e}"))
        return
    if found is None:
        results.put((job, "ok", None))
    else:
        case, verdict, _ = found
        results.put((job, "failed", (case, verdict)))


def _database(path):
    if path is None:
        return None
    from hypothesis.database import DirectoryBasedExampleDatabase
    return DirectoryBasedExampleDatabase(str(path))


def run_fuzz(examples: int = 200, seed: int | None = None, bug: str | None = None,
             jobs: int = 1, every_step: bool = True, progress: bool = True,
             max_time: float | None = None, db: str | Path | None = None) -> FuzzResult:
    """Fuzzes with `jobs` processes (one: this process), job j seeded
    seed + j; returns what failed (not yet written as artefacts).
    `max_time` bounds the search in seconds; `db` is the directory of
    Hypothesis's example database (None: no database)."""
    if examples < 1:
        raise ValueError("--examples must be at least 1")
    if jobs < 1:
        raise ValueError("--jobs must be at least 1")
    if max_time is not None and not max_time > 0:
        raise ValueError(f"--max-time must be a positive number of seconds, not {max_time}")
    if bug is not None and bug not in KNOWN_BUGS:
        raise ValueError(f"unknown bug {bug!r} (known: {', '.join(KNOWN_BUGS)})")
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little")
    jobs = min(jobs, examples)
    shares = [examples // jobs + (1 if j < examples % jobs else 0) for j in range(jobs)]
    seeds = [seed + j for j in range(jobs)]
    bar = _bar(examples, progress, bug)
    t0 = time.perf_counter()
    failures: list[Failure] = []
    done = 0
    try:
        if jobs == 1:
            def tick():
                nonlocal done
                done += 1
                if bar is not None and done <= examples:
                    bar.update(1)
            found = find_failure(strategy_for(bug), examples, seed=seeds[0],
                                 every_step=every_step, on_example=tick,
                                 database=_database(db), max_time=max_time)
            if found is not None:
                failures.append(Failure(found[0], found[1], 0, seeds[0]))
        else:
            done = _run_jobs(shares, seeds, bug, every_step, bar, failures,
                             None if db is None else str(db), max_time)
    finally:
        if bar is not None:
            bar.close()
    secs = time.perf_counter() - t0
    return FuzzResult(min(done, examples), secs, seeds, bug, failures)


def _run_jobs(shares, seeds, bug, every_step, bar, failures, db=None, max_time=None) -> int:
    import multiprocessing as mp
    ctx = mp.get_context("spawn")
    counts = ctx.Array("l", len(shares), lock=False)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(j, seeds[j], shares[j], bug, every_step,
                                               counts, results, db, max_time), daemon=True)
             for j in range(len(shares))]
    for p in procs:
        p.start()
    pending = set(range(len(shares)))
    errors = []
    shown = 0
    try:
        while pending:
            try:
                job, status, payload = results.get(timeout=0.2)
            except Exception:  # queue.Empty
                job = None
            if job is not None:
                pending.discard(job)
                if status == "failed":
                    failures.append(Failure(payload[0], payload[1], job, seeds[job]))
                    # One shrunk failure is the answer: stop the others.
                    for p in procs:
                        if p.is_alive():
                            p.terminate()
                    pending.clear()
                elif status == "error":
                    errors.append(f"job {job}: {payload}")
            now = sum(min(counts[j], shares[j]) for j in range(len(shares)))
            if bar is not None and now > shown:
                bar.update(now - shown)
                shown = now
            if job is None and not any(p.is_alive() for p in procs) and pending:
                # A job died without a word (killed, or out of memory).
                errors += [f"job {j}: exited with status {procs[j].exitcode}"
                           for j in sorted(pending)]
                break
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
    if errors:
        raise RuntimeError("fuzz worker failed: " + "; ".join(errors))
    return sum(min(counts[j], shares[j]) for j in range(len(shares)))


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
