"""`umasim shrink TRACE [-o FILE]`: a smaller program and schedule that
fail the same way (docs/design.md, "Command line").

No Hypothesis here: a deterministic, greedy delta-debugging loop over the
scenario of the trace, scripted with the trace's decisions.  Each pass
proposes smaller candidates; a candidate is kept when the scenario
validator accepts it (a ScenarioError only skips it), its run fails the
same way (failure_signature, below; a broken property's or the invariant
checker's message may name another of the original's threads, variables
or zones: Failure.same_as) and it is strictly smaller in the order of
`Sizes.key`.  The programs' passes (threads, tail, geometry, runs, ops,
repeat, order, zones, sim, operands) run until none finds anything; then
the schedule's (pct, segments, decisions, bounded) until one does; and
again, until neither finds anything or the budget of runs is spent -- a
schedule is simpler to simplify once the programs it interleaves are
small, and an op or a thread the old schedule needed may go once it is
simpler.  The passes:

  threads     remove a whole thread
  tail        remove every op no thread had begun when the run failed
              (the judge stops a run at the broken property), at once
  geometry    a zone's keg that fills with fewer allocations: larger
              items (fewer to a slab, and to a per-CPU bucket's fill),
              a lower max; as it stands, then with the runs of like ops
              on that keg cut in proportion
  runs        cut a run of like ops (one kind, one zone: the allocations
              that fill a bucket): whole, all but one of it, half, a
              quarter (the ops whose variables nothing uses first)
  ops         remove chunks of a thread's ops (halves, quarters, ... pairs
              at every offset, single ops), ddmin style
  repeat      lower a thread's repeat count (to 1, to half, by one)
  order       move a thread to the front of the list (spawned first)
  segments    delete chunks of the run's interleaving, as segments (one
              thread's consecutive steps, below), ddmin style, then drop
              each migration: fewer preemptions whatever made them
  decisions   zero chunks of the non-zero decisions, lower the non-zero
              values, and move preemptions earlier by cutting the zeros
              before them (shorter lists)
  bounded     the schedule derived again: the core's bounded explorer
              runs every schedule of the programs with at most k
              preemptions (k below the current count, at most BOUND_MAX),
              and its failing runs are judged here like any candidate
  pct         the schedule sampled again: the core's pct explorer runs the
              programs under schedules of a few priority change points
              (depth 2 to PCT_DEPTH_MAX), and its failing runs with fewer
              preemptions are judged here, the fewest first
  zones       remove a [[zone]] (with the ops that use it), its callbacks,
              flags, max and alignment
  sim         drop bug switches, move threads to vCPU 0, fewer vCPUs,
              other [sim] settings back to their defaults (no pagedaemon,
              coarse granularity ...), fewer pages when not the default
  operands    drop op flags (zero, novm, waitok, nowait), smaller numbers

Whenever ops go, so do the ops elsewhere that use a variable nothing
produces any more ("alloc z -> x" takes "free x" and "touch x" with it),
so that programs stay valid.

Machine decisions name "the k-th runnable thread", so they mean something
else once a thread or an op is gone.  While the current schedule has
preemptions, a candidate is first run *guided* by the current
interleaving (guided_run: each thread is run until it stops where it
stopped before, at the same op and preemption point), and only then with
the current decisions as they stand.  Whenever a candidate is kept, its
decisions become the ones its run recorded, in canonical form and without
trailing zeros, so the written scenario replays without guidance; a
guided candidate is kept only when those decisions, run as they stand,
fail the same way too.

"Smaller" is an order (Sizes.key), so that shrinking always ends: first
fewer threads, ops, ops run (repeat), non-zero decisions, zones, zone
options, bug switches and non-default [sim] settings, then lower vCPUs,
fewer items to a slab (larger items), lower limits, steps, decision-list
length and values, simpler operands, pages.

Runs are bounded: at most `max_runs` candidate runs (default 2000), each
with max_steps no larger than the original's (at most four times the
original run's steps plus 1000, or, when the original ended at its step
limit, exactly its steps); the bounded explorer's runs by steps
(BOUNDED_STEPS a bound, BOUNDED_BUDGET a shrink).  Everything is
deterministic: the same trace shrinks to the same files.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from umasim.model import program
from umasim.views.artefacts import DEFAULT_DIR, FailureArtefact, strip_decisions, write_failure, \
    write_pair
from umasim.engine import execute
from umasim.model.schedule import Schedule
from umasim.model.scenario import SIM_DEFAULTS, Scenario, ScenarioError, _expansions, from_dict
from umasim.model.sim import Sim
from umasim.search.judge import (Failure, Judge, NameBlind, failing_expectations,  # noqa: F401
                                 failure_signature, normalise_panic, properties_apply)

MAX_RUNS = 2000
# Item sizes the geometry pass tries (and twice the current size), the
# largest (fewest to a slab) first: a jump to one item a slab, or steps
# that halve the items a slab holds, each followed by the allocations the
# failure no longer needs going.
ITEM_SIZES = (4096, 2048, 1024, 512, 256, 128, 64, 32)
# pass_bounded: the most preemptions it searches with, and the bounded
# explorer's steps (runs times the current run's steps) for one bound and
# for one shrink.
BOUND_MAX = 3
BOUNDED_STEPS = 8_000_000
BOUNDED_BUDGET = 20_000_000
# pass_pct: the deepest PCT schedules it samples, their chance of a
# migration at a point, and the steps (runs times the current run's
# steps) it samples at each depth.
PCT_DEPTH_MAX = 4
PCT_MIGRATE = 0.1
PCT_STEPS = 2_000_000


# ---- sizes ----------------------------------------------------------------

@dataclass(frozen=True)
class Sizes:
    threads: int
    ops: int              # op strings in all programs
    op_runs: int          # ops run: each program's ops times its repeat
    nonzero: int          # non-zero (preempting or migrating) decisions
    steps: int
    decisions: int        # length of the decision list, trailing zeros left out
    zones: int            # [[zone]] tables
    zone_options: int     # callbacks, flags, max and alignment of those zones
    bugs: int
    thread_cpus: int      # sum of the threads' starting vCPUs
    cpus: int
    slab_items: int       # items a slab of each primary [[zone]] holds, about (slab_items)
    limits: int           # the [[zone]] tables' max values
    decision_sum: int
    op_weight: int        # words and numbers in the ops
    sim_settings: int     # [sim] settings other than cpus and bugs not at their defaults
    pages: int

    def key(self) -> tuple[int, ...]:
        """The order in which smaller is better: a candidate is kept only
        when its key is lower (so shrinking always ends)."""
        return (self.threads, self.ops, self.op_runs, self.nonzero, self.zones,
                self.zone_options, self.bugs, self.sim_settings, self.thread_cpus,
                self.cpus, self.slab_items, self.limits, self.steps, self.decisions,
                self.decision_sum, self.op_weight, self.pages)

    def to_json(self) -> dict[str, int]:
        return dataclasses.asdict(self)


PAGE_SIZE = 4096


def slab_items(zone: dict) -> int:
    """About how many items a slab of the zone's keg holds: a page over
    the item size, at least one (FreeBSD 7's keg_ctor takes the slab
    header off, or puts it off the page; uz_count, a per-CPU bucket's
    fill, starts at this many).  0 for a secondary zone (its keg is its
    master's)."""
    if zone.get("master") or not zone.get("size"):
        return 0
    return max(1, PAGE_SIZE // zone["size"])


def sizes_of(d: dict, decisions: list[int], steps: int) -> Sizes:
    dec = strip_decisions(decisions)
    weight = 0
    for t in d["thread"]:
        for op in t["ops"]:
            for w in op.split():
                weight += 1 + (int(w) if w.isdigit() else 0)
    zopts = 0
    for z in d["zone"]:
        zopts += sum(1 for k in ("ctor", "dtor", "init", "fini", "zinit", "zfini", "allocf",
                                 "freef", "max") if z.get(k) is not None)
        zopts += len(z.get("flags") or []) + (1 if z.get("align", "ptr") != "ptr" else 0)
    s = d["sim"]
    return Sizes(
        threads=len(d["thread"]), ops=sum(len(t["ops"]) for t in d["thread"]),
        op_runs=sum(len(t["ops"]) * t["repeat"] for t in d["thread"]),
        nonzero=sum(1 for x in dec if x), steps=steps, decisions=len(dec),
        zones=len(d["zone"]), zone_options=zopts, bugs=len(s["bugs"]),
        thread_cpus=sum(t["cpu"] for t in d["thread"]), cpus=s["cpus"],
        slab_items=sum(slab_items(z) for z in d["zone"]),
        limits=sum(z.get("max") or 0 for z in d["zone"]),
        decision_sum=sum(dec), op_weight=weight,
        sim_settings=sum(1 for k, v in s.items()
                         if k not in ("cpus", "bugs") and v != SIM_DEFAULTS.get(k)),
        pages=s["pages"])


# ---- programs stay valid ---------------------------------------------------

@functools.lru_cache(maxsize=4096)
def _vars_used(op: str) -> tuple[str, ...]:
    try:
        p = program.parse_op(op)
    except (ValueError, TypeError):
        return ()
    spec = program.SPECS[p.name]
    return tuple(w for kind, w in zip(spec.operands, p.operands)
                 if kind.rstrip("?") == "var" and isinstance(w, str))


def _zones_used(op: str) -> list[str]:
    try:
        p = program.parse_op(op)
    except (ValueError, TypeError):
        return []
    spec = program.SPECS[p.name]
    used = [w for kind, w in zip(spec.operands, p.operands)
            if kind.rstrip("?") == "zone" and isinstance(w, str)]
    if "master" in p.keywords:
        used.append(p.keywords["master"])
    return used


@functools.lru_cache(maxsize=4096)
def _output(op: str) -> str | None:
    try:
        return program.parse_op(op).output
    except (ValueError, TypeError):
        return None


def remove_ops(d: dict, removed: set[tuple[str, int]]) -> tuple[dict, set[tuple[str, int]]]:
    """A copy of d without the ops `removed` ((thread name, op index)
    pairs) and without every op that then uses a variable no op stores
    into any more; returns it and every (thread, index) removed."""
    removed = set(removed)
    while True:
        produced: set[str] = set()
        for t in d["thread"]:
            for j, op in enumerate(t["ops"]):
                out = _output(op) if (t["name"], j) not in removed else None
                if out is not None:
                    produced.update(_expansions(out, t["repeat"]))
        more = {(t["name"], j) for t in d["thread"] for j, op in enumerate(t["ops"])
                if (t["name"], j) not in removed
                and not all(n in produced for w in _vars_used(op)
                            for n in _expansions(w, t["repeat"]))}
        if not more:
            break
        removed |= more
    nd = copy.deepcopy(d)
    for t in nd["thread"]:
        t["ops"] = [op for j, op in enumerate(t["ops"]) if (t["name"], j) not in removed]
    return nd, removed


def close_programs(d: dict) -> dict:
    """d without the ops that use a variable no op stores into."""
    return remove_ops(d, set())[0]


# ---- the loop ---------------------------------------------------------------

class _Budget(Exception):
    pass


@dataclass
class State:
    """A scenario (dict form, scripted) and what its run did."""
    d: dict
    decisions: list[int]      # as recorded by the run (canonical, full length)
    steps: int
    outcome: str
    panic: str | None
    sizes: Sizes
    # Per step: (thread, vCPU it was migrated to or None, op index, iteration);
    # made when a pass needs it.
    timeline: list[tuple[str, int | None, int | None, int]] | None = None


@dataclass
class ShrinkResult:
    failure: Failure            # how the final run fails (the original's way,
    original: State             # names aside: Failure.same_as)
    final: State
    runs: int
    max_runs: int
    cap: int
    steps_taken: list[str] = field(default_factory=list)
    # The original scenario's names, for telling a run that fails the
    # same way (Failure.same_as).
    names: NameBlind | None = None

    @property
    def exhausted(self) -> bool:
        return self.runs >= self.max_runs


class NotFailing(Exception):
    """The trace ended as its scenario expects: nothing to shrink."""

    def __init__(self, outcome: str, steps: int):
        self.outcome, self.steps = outcome, steps
        super().__init__(f"the run ends as its scenario expects ({outcome} after {steps} "
                         "steps): nothing to shrink")


def _scripted(d: dict, cap: int) -> dict:
    """A copy of d with a script schedule; the decisions themselves travel
    beside the dict (a long list is slow to copy and to validate)."""
    d = copy.deepcopy({k: v for k, v in d.items() if k != "schedule"})
    d["schedule"] = {"policy": "script", "decisions": [], "then": "sequential",
                     "max_steps": cap}
    return d


def _canon(d: dict, decisions: list[int]) -> str:
    return json.dumps([d, decisions], sort_keys=True)


# ---- replaying an interleaving on a changed program ---------------------------
#
# Machine decisions name "the k-th runnable thread", so they mean something
# else once a thread or an op is gone.  A candidate is therefore first run
# *guided* by the current run's interleaving: the run is cut into segments
# (consecutive steps of one thread), each ending where that thread stopped
# -- its position in its program (iteration x ops + op) and the preemption
# point, the how-many-th time it stopped there within that op.  The
# candidate's run steps each segment's thread until it stops at the same
# place in the changed program (positions renumbered past removed ops),
# migrating it first where the original did; segments inside removed ops
# or threads are left out; then the run continues with default decisions.


@dataclass(frozen=True)
class Edit:
    """How a candidate's programs differ from the current ones."""
    threads: frozenset = frozenset()          # thread names removed
    ops: frozenset = frozenset()              # (thread name, op index) removed
    repeat: tuple = ()                        # (thread name, new repeat) pairs


@dataclass(frozen=True)
class Segment:
    thread: str
    migrate: int | None
    kind: str            # "at" (pos, point, occ) | "boundary" (pos) | "exit" | "count" (n)
    pos: int = 0
    point: str = ""
    occ: int = 0
    limit: int = 64
    nops: int = 1        # ops in the thread's changed program (positions count in them)


def _pos(info, nops: int) -> int:
    return info.iteration * nops + info.op


def _timeline(sim: Sim, d: dict) -> list[tuple[str, int | None, int | None, str]]:
    """Per step of a run traced in full: the thread that ran, the vCPU it
    was migrated to first (or None), its position in its program after
    the step (None for kernel threads) and the point it stopped at."""
    begun: dict[str, int] = {}
    migrated: dict[tuple[int, str], int] = {}
    steps: list[tuple[int, str, int | None, str]] = []
    scenario_threads = {t["name"] for t in d["thread"]}
    for e in sim.events:
        if e.kind == "op_begin" and e.thread is not None:
            begun[e.thread] = begun.get(e.thread, 0) + 1
        elif e.kind == "migration" and e.thread is not None:
            migrated[(e.step, e.thread)] = e.b
        elif e.kind == "step" and e.thread is not None:
            pos = None
            if e.thread in scenario_threads:
                n = begun.get(e.thread, 0)
                # At "op:NAME" the thread stands before its next op.
                pos = n if (e.point or "").startswith("op:") else n - 1
            steps.append((e.step, e.thread, pos, e.point or ""))
    return [(th, migrated.get((st, th)), pos, pt) for st, th, pos, pt in steps]


def _segments(timeline, d_old: dict, d_new: dict, edit: Edit) -> list[Segment]:
    """The current run's interleaving as segments for the changed
    programs (see above)."""
    old = {t["name"]: t for t in d_old["thread"]}
    new = {t["name"]: t for t in d_new["thread"]}
    repeat = dict(edit.repeat)
    runs: list[list] = []
    for th, to, pos, pt in timeline:
        if runs and runs[-1][0] == th and to is None:
            runs[-1][2].append((pos, pt))
        else:
            runs.append([th, to, [(pos, pt)]])
    occ: dict[tuple[str, int | None, str], int] = {}
    out = []
    for th, to, steps in runs:
        for pos, pt in steps:
            occ[(th, pos, pt)] = occ.get((th, pos, pt), 0) + 1
        pos, pt = steps[-1]
        limit = 4 * len(steps) + 64
        if th not in old:                     # a kernel thread
            out.append(Segment(th, to, "count", pos=len(steps), limit=len(steps)))
            continue
        if th in edit.threads or th not in new:
            continue
        nold = max(len(old[th]["ops"]), 1)
        keep = [j for j in range(len(old[th]["ops"])) if (th, j) not in edit.ops]
        nnew = max(len(keep), 1)
        rep = repeat.get(th, new[th]["repeat"])
        if pt == "exit" or pos is None:
            out.append(Segment(th, to, "exit", limit=limit))
            continue
        it, j = divmod(pos, nold)
        if pt.startswith("op:"):
            later = [jj for jj in keep if jj >= j]
            if later and it < rep:
                npos = it * nnew + keep.index(later[0])
            elif keep and it + 1 < rep:
                npos = (it + 1) * nnew
            else:
                out.append(Segment(th, to, "exit", limit=limit))
                continue
            out.append(Segment(th, to, "boundary", pos=npos, limit=limit, nops=nnew))
            continue
        if j not in keep or it >= rep:
            continue
        out.append(Segment(th, to, "at", pos=it * nnew + keep.index(j), point=pt,
                           occ=occ[(th, pos, pt)], limit=limit, nops=nnew))
    return out


def guided_steps(sim: Sim, segments) -> Iterator[str]:
    """The guided part of a run (the engine's "guided" schedule kind): for
    each segment, steps its thread until it stops where the segment says,
    migrating it first where the original run did; yields the outcome
    after every step.  The engine bounds the run by its step limit and
    goes on with default decisions when this ends."""
    occ: dict[tuple[str, int, str], int] = {}
    for seg in segments:
        if sim.outcome != "running":
            return
        th = seg.thread
        if th not in sim.runnable():
            if sim.runnable():
                continue
            sim.run(max_steps=1)            # let time pass (a timed sleep)
            yield sim.outcome
            if sim.outcome != "running" or th not in sim.runnable():
                continue
        if seg.migrate is not None and seg.migrate < sim.cpus:
            try:
                sim.migrate(th, seg.migrate)
            except ValueError:
                pass
        for k in range(seg.limit):
            if sim.outcome != "running":
                return
            try:
                point = sim.step(th)
            except ValueError:
                break                       # not runnable any more
            yield sim.outcome
            if seg.kind == "count":
                if k + 1 >= seg.pos:
                    break
                continue
            info = sim.thread(th)
            if point == "exit" or info.state == "finished":
                break
            pos = _pos(info, seg.nops)
            key = (th, pos, point)
            occ[key] = occ.get(key, 0) + 1
            if seg.kind == "boundary" and (pos > seg.pos or
                                           (pos == seg.pos and point.startswith("op:"))):
                break
            if seg.kind == "at" and (pos > seg.pos or (pos == seg.pos and point == seg.point
                                                       and occ[key] >= seg.occ)):
                break


class Shrinker:
    """The greedy loop (see the module's docstring)."""

    def __init__(self, scn: Scenario, decisions: list[int], max_runs: int = MAX_RUNS,
                 cap: int | None = None, log: Callable[[str], None] | None = None,
                 properties: bool | None = None, every_step: bool = True):
        self.source = scn.source
        # Whether the fuzzing properties judge the runs (search.judge).
        self.properties = properties_apply(scn) if properties is None else properties
        if self.properties and any(t["repeat"] != 1 for t in scn.threads):
            from umasim.errors import InvalidArgument
            raise InvalidArgument("the properties judge scenarios whose threads run their ops "
                                  "once: write the repeats out first "
                                  "(umasim.search.properties.unrolled)")
        self.every_step = every_step
        self.max_runs = max_runs
        self.cap = cap if cap is not None else scn.schedule.max_steps
        self.runs = 0
        self.seen: set[tuple] = set()
        self.log = log
        self.taken: list[str] = []
        # The bounded explorer's steps (pass_bounded: runs times the
        # current run's steps), and the programs and bounds it has searched.
        self.bounded_steps = 0
        self.bounded_seen: set[tuple] = set()
        d0 = _scripted(scn.to_dict(), self.cap)
        st = self._run(d0, strip_decisions(decisions))
        if st is None:
            raise ValueError("the scenario of the trace cannot be run again")
        state, sig = st
        if sig is None:
            raise NotFailing(state.outcome, state.steps)
        self.failure = sig
        self.names = NameBlind(scn)
        # How the current state's run fails (self.failure but for names).
        self.cur_failure = sig
        self.original = state
        self.cur = state

    def _run(self, d: dict, decisions: list[int], segments: list[Segment] | None = None,
             level: str = "decisions") -> tuple[State, Failure | None] | None:
        """One run of a candidate (d scripted, the decisions beside it): its
        State and Failure, or None when the validator refuses it or the
        simulator refuses to run it.  With `segments`, the run is guided by
        them (guided_run) instead of following the decisions."""
        try:
            scn = from_dict(d, self.source)
        except ScenarioError:
            return None
        if segments is None:
            schedule = Schedule(decisions=decisions, then="sequential", max_steps=self.cap)
        else:
            schedule = Schedule(segments=tuple(segments), max_steps=self.cap)
        judge = Judge(scn, schedule, self.properties, self.every_step)
        try:
            run = execute(scn, schedule, [judge], level=level)
        except (ValueError, TypeError, RuntimeError, MemoryError):
            return None
        sim, outcome = run.sim, run.outcome
        sig = judge.failure
        if sig is not None and sig.outcome == "running":
            # A run the judge stopped at the step that broke a property has
            # not ended, like one at its step limit: the same failure
            # (guided runs are stepped from Python and stop there; runs of
            # decisions may end at the limit instead).
            sig = dataclasses.replace(sig, outcome="step_limit")
        dec = sim.decisions
        nd = _scripted(scn.to_dict(), self.cap)
        state = State(nd, dec, sim.steps, outcome, sim.panic,
                      sizes_of(nd, dec, sim.steps))
        if level == "full":
            state.timeline = _timeline(sim, nd)
        return state, sig

    def _budget(self) -> None:
        if self.runs >= self.max_runs:
            raise _Budget()
        self.runs += 1

    def timeline(self) -> list[tuple[str, int | None, int | None, str]]:
        """Who ran at each step of the current state's run, and where they
        stopped (one more run, with every event recorded)."""
        if self.cur.timeline is None:
            self._budget()
            got = self._run(self.cur.d, strip_decisions(self.cur.decisions), level="full")
            self.cur.timeline = got[0].timeline if got else []
        return self.cur.timeline

    def attempt(self, d: dict, what: str, edit: Edit | None = None,
                decisions: list[int] | None = None) -> bool:
        """Tries a candidate; keeps it when it fails the same way and is
        smaller.  When the current schedule preempts, the candidate is
        first run guided by the current interleaving (less the removed
        threads and ops that `edit` names), then with the current
        decisions as they stand (their meaning shifts when threads
        change).  Candidates that change the decisions themselves
        (`decisions`) are run with them only."""
        keep_decisions = decisions is not None
        if decisions is None:
            decisions = strip_decisions(self.cur.decisions)
        d = close_programs(_scripted(d, self.cap))
        try:
            from_dict(d, self.source)
        except ScenarioError:
            return False
        variants: list[list[Segment] | None] = []
        if self.cur.sizes.nonzero and not keep_decisions:
            variants.append(_segments(self.timeline(), self.cur.d, d, edit or Edit()))
        variants.append(None)
        for segs in variants:
            key = (_canon(d, decisions), tuple(segs) if segs is not None else None)
            if key in self.seen:
                continue
            self.seen.add(key)
            self._budget()
            got = self._run(d, decisions, segs)
            if got is None:
                continue
            state, sig = got
            if not self._better(state, sig):
                continue
            if segs is not None:
                got = self._replayed(d, state)
                if got is None:
                    continue
                state, sig = got
            self.cur, self.cur_failure = state, sig
            self.taken.append(what + (" (guided)" if segs is not None else ""))
            if self.log:
                self.log(f"run {self.runs}: {self.taken[-1]}")
            return True
        return False

    def _better(self, state: State, sig: Failure | None) -> bool:
        """Whether a run fails the original's way (names aside:
        Failure.same_as) and is smaller than the current state."""
        return self.failure.same_as(sig, self.names) and state.sizes.key() < self.cur.sizes.key()

    def _replayed(self, d: dict, state: State) -> tuple[State, Failure] | None:
        """A guided run's state, kept only when the decisions it recorded,
        run as they stand, fail the same way and are as small (what the
        written scenario will do): that run's state and failure, or None."""
        self._budget()
        got = self._run(d, strip_decisions(state.decisions))
        if got is None:
            return None
        again, sig = got
        if not self._better(again, sig):
            return None
        return again, sig

    def attempt_segments(self, segs: list[Segment], what: str) -> bool:
        """Tries the current programs run guided by `segs` (an edited copy of
        the current interleaving); keeps the run when it fails the same way
        and is smaller, its decisions the ones it recorded."""
        key = (_canon(self.cur.d, strip_decisions(self.cur.decisions)), tuple(segs))
        if key in self.seen:
            return False
        self.seen.add(key)
        self._budget()
        got = self._run(self.cur.d, [], segs)
        if got is None:
            return False
        state, sig = got
        if not self._better(state, sig):
            return False
        got = self._replayed(self.cur.d, state)
        if got is None:
            return False
        self.cur, self.cur_failure = got
        self.taken.append(what + " (guided)")
        if self.log:
            self.log(f"run {self.runs}: {self.taken[-1]}")
        return True

    def run(self) -> ShrinkResult:
        # The programs' passes until none finds anything, then the
        # schedule's until one does, and again: a schedule is cheaper to
        # simplify, and its simplest form nearer, once the programs it
        # interleaves are small (a find of a long run has hundreds of
        # segments, most of them of threads that can go), and a thread or
        # an op the old schedule needed may go once it is simpler.
        # (Moving a thread to the front is cheap, a run a thread, and
        # often takes a preemption or two away: it goes with the programs,
        # or each of its finds would cost a round of the programs' passes.)
        programs = (self.pass_threads, self.pass_tail, self.pass_geometry, self.pass_runs,
                    self.pass_ops, self.pass_repeat, self.pass_order, self.pass_zones,
                    self.pass_sim, self.pass_operands)
        schedule = (self.pass_pct, self.pass_segments, self.pass_decisions,
                    self.pass_bounded)
        try:
            while True:
                while True:
                    mark = self.cur.sizes.key()
                    for p in programs:
                        p()
                    if self.cur.sizes.key() >= mark:
                        break
                mark = self.cur.sizes.key()
                for p in schedule:
                    p()
                    if self.cur.sizes.key() < mark:
                        break
                else:
                    break
        except _Budget:
            pass
        return ShrinkResult(self.cur_failure, self.original, self.cur, self.runs,
                            self.max_runs, self.cap, self.taken, self.names)

    # -- helpers --

    def _copy(self) -> dict:
        return copy.deepcopy(self.cur.d)

    def _thread_index(self, name: str) -> int | None:
        for i, t in enumerate(self.cur.d["thread"]):
            if t["name"] == name:
                return i
        return None

    def _without(self, d: dict, removed: set[tuple[str, int]],
                 threads: set[str] = frozenset()) -> tuple[dict, Edit]:
        """d without these ops and threads (and the ops that then use
        unproduced variables), and the Edit that says so."""
        gone = {(t["name"], j) for t in d["thread"] if t["name"] in threads
                for j in range(len(t["ops"]))}
        nd, removed = remove_ops(d, removed | gone)
        nd["thread"] = [t for t in nd["thread"] if t["name"] not in threads]
        return nd, Edit(frozenset(threads), frozenset(removed))

    # -- passes --

    def pass_threads(self) -> None:
        for name in reversed([t["name"] for t in self.cur.d["thread"]]):
            if self._thread_index(name) is None:
                continue
            d, edit = self._without(self.cur.d, set(), {name})
            self.attempt(d, f"remove thread {name}", edit)

    def pass_ops(self) -> None:
        for name in [t["name"] for t in self.cur.d["thread"]]:
            i = self._thread_index(name)
            if i is None:
                continue
            chunk = max(len(self.cur.d["thread"][i]["ops"]) // 2, 1)
            while chunk >= 1:
                start = 0
                while True:
                    i = self._thread_index(name)
                    if i is None:
                        return
                    ops = self.cur.d["thread"][i]["ops"]
                    if start >= len(ops):
                        break
                    idx = set(range(start, min(start + chunk, len(ops))))
                    d, edit = self._without(self.cur.d, {(name, j) for j in idx})
                    if not self.attempt(d, f"thread {name}: remove ops "
                                        f"{[ops[j] for j in sorted(idx)]}", edit):
                        # Pairs at every offset (a lock and its unlock go
                        # together only), larger chunks side by side.
                        start += chunk if chunk > 2 else 1
                chunk //= 2

    def pass_tail(self) -> None:
        """The ops no thread had begun when the run failed (the properties
        stop a run at the step that broke one, a panic ends it): all of
        them in one candidate, whose run is the same up to the failure."""
        last: dict[str, int] = {}
        for th, _to, pos, _pt in self.timeline():
            if pos is not None:
                last[th] = pos
        gone = set()
        for t in self.cur.d["thread"]:
            n = len(t["ops"])
            if n == 0 or t["repeat"] != 1:
                continue
            begun = last.get(t["name"], -1)
            gone |= {(t["name"], j) for j in range(begun + 1, n)}
        if gone:
            d, edit = self._without(self.cur.d, gone)
            self.attempt(d, f"remove the {len(gone)} ops not begun at the failure", edit)

    def pass_runs(self) -> None:
        """Runs of like ops (consecutive ops of one kind on one zone, such
        as the allocations that fill a bucket): each run removed whole,
        then all but one of it, then half, a quarter of it (_run_cut:
        the ops whose variables nothing uses first, the earlier first) -- a
        failure that needs a full bucket or keg keeps as many as it
        needs, found in a few runs rather than one op at a time."""
        for name in [t["name"] for t in self.cur.d["thread"]]:
            start = 0
            while True:
                i = self._thread_index(name)
                if i is None:
                    break
                ops = self.cur.d["thread"][i]["ops"]
                run = _like_run(ops, start)
                if run is None:
                    break
                a, b = run
                n = b - a
                done = False
                used = _used_vars(self.cur.d)
                for k in sorted({n, n - 1, n // 2, n // 4}, reverse=True):
                    if k < 1 or (k == 1 and n > 2):
                        continue
                    idx = _run_cut(ops, a, b, k, used)
                    d, edit = self._without(self.cur.d, {(name, j) for j in idx})
                    if self.attempt(d, f"thread {name}: remove {k} of the {n} ops "
                                    f"like {ops[a]!r}", edit):
                        done = True
                        break
                if not done:
                    start = b

    def pass_repeat(self) -> None:
        for name in [t["name"] for t in self.cur.d["thread"]]:
            while True:
                i = self._thread_index(name)
                if i is None:
                    break
                r = self.cur.d["thread"][i]["repeat"]
                if r <= 1:
                    break
                for want in sorted({1, r // 2, r - 1}):
                    if not 1 <= want < r:
                        continue
                    d = self._copy()
                    d["thread"][i]["repeat"] = want
                    d, removed = remove_ops(d, set())
                    edit = Edit(ops=frozenset(removed), repeat=((name, want),))
                    if self.attempt(d, f"thread {name}: repeat {r} -> {want}", edit):
                        break
                else:
                    break

    def pass_order(self) -> None:
        """Each thread moved to the front of the list (it is spawned first),
        the run guided by the current interleaving: a run whose first step
        goes to a later thread needs no decision for it then."""
        for name in [t["name"] for t in self.cur.d["thread"]][1:]:
            if not self.cur.sizes.nonzero:
                return
            i = self._thread_index(name)
            if i is None or i == 0:
                continue
            d = self._copy()
            d["thread"].insert(0, d["thread"].pop(i))
            self.attempt(d, f"thread {name} first")

    def pass_segments(self) -> None:
        """Fewer preemptions and migrations whatever the policy that made
        them: the current run's interleaving as segments (one thread's
        consecutive steps, each ending where that thread stopped), chunks
        of them deleted ddmin style -- a deleted segment's thread does that
        work in its next segment, or after the last one under default
        decisions -- then each migration dropped.  Unlike zeroing machine
        decisions, deleting a segment does not change what the later
        segments mean."""
        def segs() -> list[Segment]:
            return _segments(self.timeline(), self.cur.d, self.cur.d, Edit())

        if not self.cur.sizes.nonzero:
            return
        chunk = max(len(segs()) // 2, 1)
        while chunk >= 1:
            start = 0
            while self.cur.sizes.nonzero:
                cur = segs()
                if start >= len(cur):
                    break
                n = min(chunk, len(cur) - start)
                if not self.attempt_segments(cur[:start] + cur[start + n:],
                                             f"delete {n} segments at {start}"):
                    start += chunk
            chunk //= 2
        k = 0
        while self.cur.sizes.nonzero:
            cur = segs()
            mig = [i for i, sg in enumerate(cur) if sg.migrate is not None]
            if k >= len(mig):
                break
            i = mig[k]
            cand = list(cur)
            cand[i] = dataclasses.replace(cur[i], migrate=None)
            if not self.attempt_segments(cand, f"segment {i}: no migration"):
                k += 1

    def pass_decisions(self) -> None:
        # Zero chunks of the non-zero decisions.
        chunk = sum(1 for x in self.cur.decisions if x)
        while chunk >= 1:
            k = 0
            while True:
                dec = strip_decisions(self.cur.decisions)
                nz = [i for i, x in enumerate(dec) if x]
                if k >= len(nz):
                    break
                for i in nz[k:k + chunk]:
                    dec[i] = 0
                if not self.attempt(self.cur.d, f"zero {min(chunk, len(nz) - k)} decisions",
                                    decisions=strip_decisions(dec)):
                    k += chunk
            chunk //= 2
        # Lower the non-zero values.
        k = 0
        while True:
            dec = strip_decisions(self.cur.decisions)
            nz = [i for i, x in enumerate(dec) if x > 1]
            if k >= len(nz):
                break
            i, v = nz[k], dec[nz[k]]
            for want in sorted({1, v // 2, v - 1}):
                if 1 <= want < v:
                    dec2 = list(dec)
                    dec2[i] = want
                    if self.attempt(self.cur.d, f"decision {i}: {v} -> {want}",
                                    decisions=dec2):
                        break
            else:
                k += 1
        # Move preemptions earlier: cut the run of zeros before each.
        k = 0
        while True:
            dec = strip_decisions(self.cur.decisions)
            nz = [i for i, x in enumerate(dec) if x]
            if k >= len(nz):
                break
            i = nz[k]
            j = i
            while j > 0 and dec[j - 1] == 0:
                j -= 1
            done = False
            cut = i - j
            while cut >= 1 and not done:
                done = self.attempt(self.cur.d, f"decision {i}: {cut} steps earlier",
                                    decisions=dec[:i - cut] + dec[i:])
                cut //= 2
            if not done:
                k += 1

    def pass_bounded(self) -> None:
        """The schedule derived again: the core's bounded explorer runs
        every schedule of the current programs with at most k preemptions
        (k = 0, 1, ... BOUND_MAX, below the current count), from the
        post-setup snapshot, in one C call each (at most BOUNDED_STEPS
        steps' worth of runs as long as the current one, BOUNDED_BUDGET
        in all); the failing runs it reports are judged here like any
        candidate, and the first that fails the same way is kept.  So
        a find whose interleaving no deletion of segments simplifies --
        its preemptions all needed where they are, but another schedule
        of the same program needing fewer -- gets that one."""
        for k in range(0, BOUND_MAX + 1):
            if k >= self.cur.sizes.nonzero or self.bounded_steps >= BOUNDED_BUDGET:
                return
            key = (_canon(self.cur.d, []), k)
            if key in self.bounded_seen:
                continue
            self.bounded_seen.add(key)
            per = max(self.cur.steps, 1)
            runs = min(BOUNDED_STEPS, BOUNDED_BUDGET - self.bounded_steps) // per
            if runs < 1:
                return
            ran = self._derive("bounded", runs, f"a schedule of {k} preemptions (bounded)",
                               bound=k, stop_first=True)
            if ran is None:
                return
            self.bounded_steps += ran * per

    def pass_pct(self) -> None:
        """The schedule found again by PCT: the core's pct explorer, from
        the post-setup snapshot, runs the current programs under schedules
        of a few priority change points (depth 2 to PCT_DEPTH_MAX, each
        with a migration now and then, PCT_MIGRATE), PCT_STEPS steps'
        worth of runs as long as the current one each, in one C call, with
        the core's oracle judging them when the properties do; the failing
        runs it reports (one a kind of failure) are judged here like any
        candidate, the fewest preemptions first, and the first that fails
        the same way and is smaller is kept.  Where the bounded pass's
        exhaustive search cannot reach the current count (long runs), PCT
        samples schedules whose preemptions are few by construction."""
        for depth in range(2, PCT_DEPTH_MAX + 1):
            if not self.cur.sizes.nonzero:
                return
            key = (_canon(self.cur.d, []), "pct", depth)
            if key in self.bounded_seen:
                continue
            self.bounded_seen.add(key)
            runs = max(PCT_STEPS // max(self.cur.steps, 1), 1)
            if self._derive("pct", runs, f"a schedule of depth {depth} (pct)", seed=depth,
                            migrate=PCT_MIGRATE, depth=depth, fewer=True) is None:
                return

    def _derive(self, explorer: str, runs: int, what: str, *, seed: int = 0,
                migrate: float = 0.0, depth: int = 1, bound: int = 0,
                stop_first: bool = False, fewer: bool = False) -> int | None:
        """The core's `explorer` over the current programs, `runs` runs from
        the post-setup snapshot in one C call (judged by the core's oracle
        too when the properties judge the shrink); then its failing runs
        tried as candidates, the fewest preemptions first (with `fewer`,
        only those with fewer than the current schedule), the first that
        fails the same way and is smaller kept.  Returns the runs the
        explorer ran, or None when the programs could not be built or
        explored."""
        expect = self.cur.d.get("expect", {})
        try:
            core = from_dict(self.cur.d, self.source).build_with(trace="off").core
            s = core.explore(core.snapshot(), explorer, runs, seed, migrate, depth, 0, bound,
                             self.cap, expect.get("outcome", "completed"),
                             expect.get("panic", ""), True, False, 0, stop_first=stop_first,
                             oracle=self.properties)
        except (ScenarioError, ValueError, TypeError, RuntimeError, MemoryError):
            return None
        failed = sorted((c for c in s.classes if c.failed),
                        key=lambda c: (sum(1 for x in c.decisions if x), c.first_run))
        for c in failed:
            dec = strip_decisions(list(c.decisions))
            if fewer and sum(1 for x in dec if x) >= self.cur.sizes.nonzero:
                continue
            if self.attempt(self.cur.d, what, decisions=dec):
                break
        return s.runs

    def pass_zones(self) -> None:
        for zname in [z["name"] for z in self.cur.d["zone"]]:
            d = self._copy()
            idx = next((i for i, z in enumerate(d["zone"]) if z["name"] == zname), None)
            if idx is None:
                continue
            del d["zone"][idx]
            if self.attempt(d, f"remove zone {zname}"):
                continue
            # With the ops that name it.
            users = {(t["name"], j) for t in d["thread"] for j, op in enumerate(t["ops"])
                     if zname in _zones_used(op)}
            if users:
                d2, edit = self._without(d, users)
                self.attempt(d2, f"remove zone {zname} and the ops that use it", edit)
        for zname in [z["name"] for z in self.cur.d["zone"]]:
            for k in ("ctor", "dtor", "init", "fini", "zinit", "zfini", "allocf", "freef",
                      "max", "align", "flags"):
                idx = next((i for i, z in enumerate(self.cur.d["zone"])
                            if z["name"] == zname), None)
                if idx is None:
                    break
                z = self.cur.d["zone"][idx]
                if k == "flags":
                    for f in list(z.get("flags") or []):
                        d = self._copy()
                        d["zone"][idx]["flags"] = [x for x in d["zone"][idx]["flags"] if x != f]
                        self.attempt(d, f"zone {zname}: no flag {f}")
                    continue
                if z.get(k) is None or (k == "align" and z[k] == "ptr"):
                    continue
                d = self._copy()
                del d["zone"][idx][k]
                self.attempt(d, f"zone {zname}: no {k}")

    def pass_geometry(self) -> None:
        """Zones whose kegs fill with fewer allocations: larger items (fewer
        to a slab, and a per-CPU bucket's fill, uz_count, starts at that
        many), a lower limit.  A failure that needs a full bucket or a full
        keg then needs fewer allocations, which the ops pass takes out."""
        for zname in [z["name"] for z in self.cur.d["zone"]]:
            idx = next((i for i, z in enumerate(self.cur.d["zone"]) if z["name"] == zname),
                       None)
            if idx is None:
                continue
            z = self.cur.d["zone"][idx]
            if z.get("master") or not z.get("size"):
                continue
            items = slab_items(z)
            for size in sorted(set(ITEM_SIZES) | {2 * z["size"]}, reverse=True):
                if size <= z["size"] or size > PAGE_SIZE or \
                        slab_items({"size": size}) >= items:
                    continue
                d = self._copy()
                d["zone"][idx]["size"] = size
                if size > 2048 and "vm" in (z.get("flags") or ()):
                    # zone_large_init KASSERTs that a cache-only keg's items
                    # fit a page with its slab header.
                    d["zone"][idx]["flags"] = [f for f in z["flags"] if f != "vm"]
                if self._geometry(d, idx, f"zone {zname}: size {z['size']} -> {size}"):
                    break
            while True:
                z = self.cur.d["zone"][idx]
                mx = z.get("max")
                if not mx or mx <= 1:
                    break
                for want in sorted({1, mx // 2, mx - 1}):
                    if 1 <= want < mx:
                        d = self._copy()
                        d["zone"][idx]["max"] = want
                        if self._geometry(d, idx, f"zone {zname}: max {mx} -> {want}"):
                            break
                else:
                    break

    def _geometry(self, d: dict, idx: int, what: str) -> bool:
        """Tries zone idx of d (a new size or limit) as it stands, then with
        each run of like ops on its keg cut in proportion to what the keg
        now holds (keg_items: a full keg or bucket takes that many fewer
        allocations), the ops whose variables nothing uses going first."""
        if self.attempt(d, what):
            return True
        old, new = keg_items(self.cur.d, idx, self.source), keg_items(d, idx, self.source)
        if old is None or new is None or new >= old:
            return False
        zones = {d["zone"][idx]["name"]} | {z["name"] for z in d["zone"]
                                            if z.get("master") == d["zone"][idx]["name"]}
        used = _used_vars(d)
        removed: set[tuple[str, int]] = set()
        for t in d["thread"]:
            start = 0
            while (run := _like_run(t["ops"], start)) is not None:
                a, b = run
                if set(_zones_used(t["ops"][a])) & zones:
                    keep = max(1, -(-(b - a) * new // old))
                    removed |= {(t["name"], j) for j in
                                _run_cut(t["ops"], a, b, (b - a) - keep, used)}
                start = b
        if not removed:
            return False
        d2, edit = self._without(d, removed)
        return self.attempt(d2, what + f", {len(removed)} like ops fewer", edit)

    def pass_sim(self) -> None:
        for b in list(self.cur.d["sim"]["bugs"]):
            d = self._copy()
            d["sim"]["bugs"] = [x for x in d["sim"]["bugs"] if x != b]
            self.attempt(d, f"no bug switch {b}")
        for name in [t["name"] for t in self.cur.d["thread"]]:
            i = self._thread_index(name)
            if i is None or self.cur.d["thread"][i]["cpu"] == 0:
                continue
            d = self._copy()
            d["thread"][i]["cpu"] = 0
            self.attempt(d, f"thread {name}: vCPU 0")
        need = max([t["cpu"] for t in self.cur.d["thread"]] + [0]) + 1
        for cpus in range(need, self.cur.d["sim"]["cpus"]):
            d = self._copy()
            d["sim"]["cpus"] = cpus
            if self.attempt(d, f"{cpus} vCPUs"):
                break
        for k, default in SIM_DEFAULTS.items():
            if k in ("cpus", "bugs") or self.cur.d["sim"][k] == default:
                continue
            d = self._copy()
            d["sim"][k] = default
            self.attempt(d, f"sim.{k} = {default!r} (the default)")
        # Fewer pages, when they are not the default anyway.
        for _ in range(8):
            pages = self.cur.d["sim"]["pages"]
            if pages <= 1 or pages == SIM_DEFAULTS["pages"]:
                break
            d = self._copy()
            d["sim"]["pages"] = pages // 2
            if not self.attempt(d, f"pages {pages} -> {pages // 2}"):
                break

    def pass_operands(self) -> None:
        for name in [t["name"] for t in self.cur.d["thread"]]:
            j = 0
            while True:
                i = self._thread_index(name)
                if i is None or j >= len(self.cur.d["thread"][i]["ops"]):
                    break
                op = self.cur.d["thread"][i]["ops"][j]
                for alt in _simpler_ops(op):
                    d = self._copy()
                    d["thread"][i]["ops"][j] = alt
                    if self.attempt(d, f"thread {name}: {op!r} -> {alt!r}"):
                        break
                else:
                    j += 1


def _shape(op: str) -> tuple:
    """An op's kind and the zones it names: ops of one shape are "like"."""
    return (op.split()[0] if op.split() else "", tuple(_zones_used(op)))


# The fewest like ops in a row that pass_runs takes as a run.
LIKE_RUN = 3


def _like_run(ops: list[str], start: int) -> tuple[int, int] | None:
    """The first run of at least LIKE_RUN like ops (_shape) at or after
    `start`: (first index, one past the last), or None."""
    i = start
    while i < len(ops):
        j = i + 1
        while j < len(ops) and _shape(ops[j]) == _shape(ops[i]):
            j += 1
        if j - i >= LIKE_RUN:
            return i, j
        i = j
    return None


def _used_vars(d: dict) -> set[str]:
    """The variables some op of d uses (frees, touches ...)."""
    return {w for t in d["thread"] for op in t["ops"] for w in _vars_used(op)}


def _run_cut(ops: list[str], a: int, b: int, k: int, used: set[str]) -> set[int]:
    """k of the like ops ops[a:b] to remove: first those whose output
    variable no op uses (their removal takes nothing else with it), the
    earlier first -- what a run leads up to, such as the allocation that
    finds the keg full, is at its end (and the ops after the failure go
    in the tail pass) -- then the others, the earlier first."""
    free = [j for j in range(a, b) if _output(ops[j]) not in used]
    rest = [j for j in range(a, b) if _output(ops[j]) in used]
    return set((free + rest)[:max(k, 0)])


def keg_items(d: dict, idx: int, source: str = "<shrink>") -> int | None:
    """How many items it takes to fill primary zone idx's keg of scenario
    d, as the simulator builds it: its limit (uma_zone_set_max rounds the
    max up to whole slabs of uk_ipers items, a slab header on the page or
    off it), or without one a slab's worth (what a per-CPU bucket's fill
    starts at).  None when the scenario cannot be built."""
    try:
        sim = from_dict(d, source).build_with(trace="off")
        zone = sim.zone(d["zone"][idx]["name"])
        return zone.stats["limit"] or zone.geometry.ipers
    except (ScenarioError, ValueError, TypeError, RuntimeError, MemoryError):
        return None


def _simpler_ops(op: str) -> Iterator[str]:
    """The op without one of its flags, or with a smaller number."""
    try:
        p = program.parse_op(op)
    except (ValueError, TypeError):
        return
    spec = program.SPECS[p.name]
    words = op.split()
    for k, w in enumerate(words):
        if w in spec.flags:
            yield " ".join(words[:k] + words[k + 1:])
    for k, w in enumerate(words):
        if w.isdigit() and k > 0 and "=" not in w:
            n = int(w)
            for smaller in sorted({1, n // 2}):
                if 1 <= smaller < n:
                    yield " ".join(words[:k] + [str(smaller)] + words[k + 1:])


def shrink_trace(tr, max_runs: int = MAX_RUNS,
                 log: Callable[[str], None] | None = None) -> ShrinkResult:
    """Shrinks a failing trace (views.trace.Trace).  Raises NotFailing when
    its run ends as its scenario expects, and TraceError when the trace
    does not replay (its decisions do not lead where it says)."""
    return shrink_run(tr.scenario, tr.decisions, tr.end["steps"], tr.end["end"], max_runs, log)


def shrink_run(scenario: Scenario, decisions: list[int], steps: int | None = None,
               outcome: str | None = None,
               max_runs: int = MAX_RUNS, log: Callable[[str], None] | None = None,
               properties: bool | None = None, every_step: bool = True) -> ShrinkResult:
    """Shrinks a failing run: `scenario` under `decisions`, which took
    `steps` steps and ended in `outcome`.  The one shrinker of umasim:
    `umasim shrink` (a trace's run), `umasim fuzz` and the property tests
    (a generated case's run, judged by the properties) all come here.
    Raises NotFailing when the run ends as expected, and TraceError when
    the decisions do not lead where they are said to."""
    from umasim.errors import TraceError
    max0 = scenario.schedule.max_steps
    if steps is None:
        cap = max0
    elif outcome == "step_limit":
        cap = min(steps, max0) if steps else max0
    else:
        cap = min(max0, 4 * steps + 1000)
    cap = max(cap, 1)
    s = Shrinker(scenario, decisions, max_runs, cap, log, properties, every_step)
    o = s.original
    ends = {"running": "step_limit"}
    if steps is not None and (o.steps != steps or
                              ends.get(o.outcome, o.outcome) != ends.get(outcome, outcome)):
        raise TraceError(f"the run does not replay: its decisions end in {o.outcome} "
                         f"after {o.steps} steps, not in {outcome} after {steps}; "
                         "cannot shrink it")
    return s.run()


def final_scenario(res: ShrinkResult, original: Scenario) -> Scenario:
    """The shrunk scenario, scripted, with the original's step limit (the
    cap, when the failure is reaching that limit)."""
    d = copy.deepcopy(res.final.d)
    d["schedule"]["decisions"] = strip_decisions(res.final.decisions)
    d["schedule"]["max_steps"] = res.cap if res.failure.outcome == "step_limit" \
        else original.schedule.max_steps
    return from_dict(d, original.source)


_ROWS = (("threads", "threads"), ("ops", "ops"), ("op_runs", "ops run"),
         ("nonzero", "non-zero decisions"), ("decisions", "decisions (list length)"),
         ("steps", "steps"), ("zones", "zones"), ("zone_options", "zone options"),
         ("cpus", "vCPUs"))


def format_sizes(before: Sizes, after: Sizes) -> str:
    lines = [f"  {'':<24} {'before':>8} {'after':>8}"]
    for attr, label in _ROWS:
        lines.append(f"  {label:<24} {getattr(before, attr):>8} {getattr(after, attr):>8}")
    return "\n".join(lines) + "\n"
