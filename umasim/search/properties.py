"""The fuzzing properties: what must hold for *any* program and
schedule, checked on one run of one generated case.

A `Case` is a whole simulation -- machine, zones, per-thread programs and a
schedule in machine form -- that is also a scenario dict
(`Case.to_scenario()`, accepted by umasim.scenario.from_dict), so that a
failing case can be written as a scenario file and a trace.

`check_case(case)` runs it and returns a `Verdict`.  The properties:

  invariants   sim.check() -- the structural invariants, and conservation at
               quiescent points (csrc/vm/uma_check.c) -- after every step
               (`every_step=True`, the default; the tests use it), or at the
               end of the run only (`every_step=False`: one C call runs the
               whole schedule; `umasim fuzz --fast` and bench/fuzz.py).
  duplicate    no item is handed out twice: no two live variables ever hold
               the same address (checked as each alloc ends, in every-step
               mode; a variable that a free under way frees holds none), and
               at the end no held item also sits in a bucket or on a slab's
               free list.
  stats        at the end of a completed run whose kernel threads are
               idle (a run completes when the scenario's threads are done,
               even with the pagedaemon half-way through uma_reclaim),
               `vmstat -z` adds up (as libmemstat computes it): for every
               zone of the case, USED is
               the number of its items held by variables (plus, for a zone
               that other zones' zinit attach to, items attached: then only
               USED >= held); REQUESTS counts every alloc that returned an
               item, FAILURES every alloc that returned NULL, and
               REQUESTS - USED the frees of its items (with a ctor or zinit
               that can fail, bounds: a failed one counts one request, one
               free and one failure); and, per keg, the USED + FREE of its
               zones is every item of its slabs (pages / ppera * ipers).
               LIMIT is the zone's `max` rounded up to whole slabs when no
               setmax op changed it.
  panic        the run does not panic.
  console      no "Memory modified after free" (uma_dbg's trash check).
  deadlock,    the run completes, or ends in a deadlock that the model
               explains: every thread left waits -- directly, or through the
               owner of the mutex it is blocked on, or through the producer
               of the variable it waits for -- on "vmwait" with free pages
               below max(free_min, 1) or below the pages of the request that
               failed (its last `page_fail` event: a 2-page slab can wait
               with 1 page free, since free pages only wake sleepers when
               they rise), or on "zonelimit" on a keg whose
               UMA_ZFLAG_FULL is set, with no free since that thread's last
               msleep whose unlocked FULL test read the flag set (a
               `full_check` event with b = 1 after its `sleep` event): such a
               free goes to uma_zfree_internal, which returns the item to the
               keg and wakes every sleeper, so a wakeup is never lost.
  step_limit   (no generated case loops by design).
  The schedule may also be in trigger form (Case.triggers); umasim's one
  shrinker (search.shrink, judged by search.judge) makes a failing case
  smaller after Hypothesis's shrinker.

Nothing here imports Hypothesis: `umasim.strategies` generates cases,
tests and `umasim fuzz` run them through `check_case`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from umasim.bindings import (EVENT_KINDS, POINTS, VAR_FREED, VAR_HELD, VAR_NULL,
                             VAR_SRC_MALLOC, ZFLAG_FULL, ZONE_FLAGS, ZONE_MALLOC,
                             boot_zone_names)

ZONE_OFFPAGE = ZONE_FLAGS["offpage"]


def _malloc_max() -> int:
    """The largest malloc(9) size class (a zone of its own); beyond it,
    uma_large_malloc.  Read from a booted simulation on first use (not at
    import: no simulation is made before the caller makes one)."""
    return max(int(n) for n in boot_zone_names() if n.isdigit())
from umasim.engine import execute
from umasim.engine.drivers import UMA_POINTS
from umasim.errors import InvalidArgument
from umasim.model.scenario import Scenario, from_dict
from umasim.model.schedule import Schedule
from umasim.model.sim import Sim

FULL = ZFLAG_FULL
DEFAULT_MAX_STEPS = 20_000
# Kinds of failure a Verdict can report.
KINDS = ("panic", "invariant", "duplicate", "stats", "console", "deadlock", "step_limit",
         "zero", "liveness", "limit", "accounting", "host_fault")
# Where slab_zalloc drops the zone lock: between uma_zone_slab's test of
# uk_maxpages and the update of uk_pages.
_PT_SLAB_ZALLOC_UNLOCKED = POINTS.index("slab_zalloc_unlocked")
_EV_SLAB_ALLOC = EVENT_KINDS.index("slab_alloc")
_EV_WAKEUP = EVENT_KINDS.index("wakeup")
_EV_OP_BEGIN = EVENT_KINDS.index("op_begin")
_EV_PAGE_FREE = EVENT_KINDS.index("page_free")

_EV_STEP = EVENT_KINDS.index("step")
_EV_OP_END = EVENT_KINDS.index("op_end")
_EV_SLEEP = EVENT_KINDS.index("sleep")
_EV_FULL_CHECK = EVENT_KINDS.index("full_check")
_EV_PAGE_FAIL = EVENT_KINDS.index("page_fail")
_VAR_HELD, _VAR_NULL, _VAR_FREED = VAR_HELD, VAR_NULL, VAR_FREED
_CALLBACKS = ("ctor", "dtor", "init", "fini", "zinit", "zfini", "allocf", "freef")
@dataclass
class Case:
    """One generated simulation: a scenario (machine, zones, threads that
    run their ops once) and the schedule to run it under, which may be in
    trigger form (umasim.model.schedule): "after the gap-th next stop of
    any thread at a UMA point, take this decision" lands preemptions where
    they matter (a migration between critical_exit and ZONE_LOCK is one
    UMA point away from the critical_exit, not some dozens of steps).  A
    run resolves triggers into machine form: check_case returns the
    decisions it took, and `with_decisions` gives the equal case in
    machine form, which is what a scenario file and a trace store."""
    scenario: Scenario
    schedule: Schedule
    # How the fuzzer drew it (strategies.cases): the burst's schedule
    # family and seed, and where the schedule's choices begin in the
    # example; None for a case made otherwise.  Not part of the case.
    draw: dict | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, sim: dict[str, Any], zones: list[dict[str, Any]],
           threads: list[dict[str, Any]], decisions=(), max_steps: int = DEFAULT_MAX_STEPS,
           triggers=None, draw: dict | None = None) -> "Case":
        """A case from its parts: a [sim] table, [[zone]] tables, [[thread]]
        tables (name, cpu, ops), and decisions or triggers.  Validated as
        a scenario file would be."""
        scn = from_dict({"sim": sim, "zone": zones,
                         "thread": [{"name": t["name"], "cpu": t["cpu"],
                                     "ops": list(t["ops"])} for t in threads],
                         "schedule": {"max_steps": max_steps}}, "<case>")
        if triggers is not None:
            sched = Schedule(triggers=triggers, max_steps=max_steps)
        else:
            sched = Schedule(decisions=list(decisions), then="sequential",
                             max_steps=max_steps)
        return cls(scn, sched, draw)

    def with_decisions(self, decisions: list[int]) -> "Case":
        """The same case with a schedule in machine form (trailing default
        decisions dropped: the list continues with them anyway)."""
        return Case(self.scenario, self.schedule.with_decisions(decisions), self.draw)

    # -- views of the scenario -------------------------------------------

    @property
    def sim(self) -> dict[str, Any]:
        return self.scenario.sim

    @property
    def zones(self) -> list[dict[str, Any]]:
        return self.scenario.zones

    @property
    def threads(self) -> list[dict[str, Any]]:
        return self.scenario.threads

    @property
    def decisions(self) -> list[int]:
        return list(self.schedule.decisions or ())

    @property
    def triggers(self):
        return self.schedule.triggers

    @property
    def max_steps(self) -> int:
        return self.schedule.max_steps

    # -- scenario form ---------------------------------------------------

    def to_scenario(self) -> dict[str, Any]:
        """The case as a scenario dict (from_dict's shape).  A trigger-form
        case must be resolved first (with_decisions)."""
        if self.schedule.kind != "script":
            raise InvalidArgument("a case with a trigger-form schedule has no scenario form "
                                  "until a run resolves it: "
                                  "case.with_decisions(verdict.decisions)")
        d = self.scenario.with_schedule(self.schedule).to_dict()
        d.pop("expect", None)
        return d

    @classmethod
    def from_scenario(cls, scn) -> "Case":
        """A case from a scenario (a Scenario or a dict) whose threads run
        once and whose schedule is given as decisions (or is sequential)."""
        if not isinstance(scn, Scenario):
            scn = from_dict(scn)
        for t in scn.threads:
            if t["repeat"] != 1:
                raise InvalidArgument(f"thread {t['name']}: a case's threads run once "
                                      "(repeat = 1)")
        s = scn.schedule
        if s.steps is not None or s.policy not in ("script", "sequential") \
                or s.then != "sequential":
            raise InvalidArgument("a case's schedule is a list of decisions, then sequential")
        return cls(scn, Schedule(decisions=list(s.decisions or ()), then="sequential",
                                 max_steps=s.max_steps))

    def build(self, trace: str = "full") -> Sim:
        """The Sim of the case, zones created and threads spawned."""
        return self.scenario.build_with(trace=trace)

    # -- sizes -------------------------------------------------------------

    @property
    def nops(self) -> int:
        return sum(len(t["ops"]) for t in self.threads)

    @property
    def preemptions(self) -> int:
        return self.schedule.preemptions

    def size(self) -> dict[str, int]:
        """How big the case is: what shrinking makes small."""
        n = len(self.triggers) if self.triggers is not None else len(self.decisions)
        return {"threads": len(self.threads), "ops": self.nops, "zones": len(self.zones),
                "decisions": n, "preemptions": self.preemptions}

    def describe(self) -> str:
        lines = [f"sim: {self.sim}"]
        lines += [f"zone: {z}" for z in self.zones]
        lines += [f"thread {t['name']} (cpu {t['cpu']}): {t['ops']}" for t in self.threads]
        if self.triggers is not None:
            lines.append(f"triggers: {list(self.triggers)}")
        else:
            lines.append(f"decisions: {self.decisions}")
        return "\n".join(lines)


@dataclass
class Verdict:
    """What check_case found.  `kind` is one of KINDS (None when ok);
    `decisions` are the canonical decisions the run took (the schedule to
    write into a failure's scenario); `step` the step where it showed."""
    ok: bool
    kind: str | None
    message: str
    outcome: str
    steps: int
    decisions: list[int]
    step: int | None = None
    sim: Sim | None = field(default=None, repr=False)
    # How much contention the run saw (for hypothesis.target, see
    # umasim.fuzz): the most threads asleep at once without a timeout
    # (zonelimit, vmwait), and the distinct UMA points threads stopped at.
    metrics: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.ok


class _Program:
    """What the case's programs say, by (thread id, op index): the
    variables each op stores or frees, who produces each variable, and
    which zones are attach targets or have callbacks that fail."""

    def __init__(self, case: Case, sim: Sim):
        self.by_pc: dict[tuple[int, int], tuple[str, str, str | None]] = {}
        self.producer: dict[str, str] = {}
        self.var_zone: dict[str, str | None] = {}
        self.setmax_zones: set[str] = set()
        # Zones a zdestroy op destroys (FreeBSD 7 drops their vmstat -z row).
        self.destroyed: set[str] = set()
        # Variables an M_ZERO allocation stores into (with the bytes that
        # must read zero: None for a zone's item size), and those a "touch"
        # op writes to.
        self.zeroed: dict[str, int | None] = {}
        self.touched: set[str] = set()
        # Variables that hold a large allocation (uma_large_malloc: pages
        # with a slab header of their own from "UMA Slabs").
        self.large: set[str] = set()
        for t in case.threads:
            tid = sim.thread_id(t["name"])
            for pc, text in enumerate(t["ops"]):
                w = text.split()
                if "->" in w:
                    var = w[-1]
                    self.producer[var] = t["name"]
                    self.var_zone[var] = w[1] if w[0] == "alloc" else None
                    self.by_pc[(tid, pc)] = (w[0], var, self.var_zone[var])
                    if w[0] == "malloc_large" or (w[0] == "malloc" and w[1].isdigit()
                                                  and int(w[1]) > _malloc_max()):
                        self.large.add(var)
                    if "zero" in w[1:-2] and w[0] in ("alloc", "malloc"):
                        self.zeroed[var] = int(w[1]) if w[0] == "malloc" else None
                elif w[0] in ("free", "free_large", "kmem_free"):
                    self.by_pc[(tid, pc)] = ("free", w[1], None)
                elif w[0] == "setmax":
                    self.setmax_zones.add(w[1])
                elif w[0] == "zdestroy":
                    self.destroyed.add(w[1])
                elif w[0] == "touch":
                    self.touched.add(w[1])
        masters = {z["name"]: z.get("master", z["name"]) for z in case.zones}
        self.keg_of = {n: m for n, m in masters.items()}
        # The keg a setmax changes is its zone's master's.
        self.setmax_kegs = {self.keg_of.get(z, z) for z in self.setmax_zones}
        self.attach_targets: set[str] = set()
        self.failing: set[str] = set()
        for z in case.zones:
            for slot in ("init", "zinit"):
                cb = z.get(slot) or ""
                if cb.startswith("attach"):
                    self.attach_targets.add(cb.split()[1])
            for slot in ("ctor", "zinit"):
                cb = z.get(slot) or ""
                # A zinit that attaches fails when its own alloc does.
                if cb.startswith("fail") or cb.startswith("attach"):
                    self.failing.add(z["name"])


class PropertyChecker:
    """The properties, as an observer of one run (umasim.engine): after
    every step (every_step) the invariant checker and the items each alloc
    stores, at the end the rest.  Reads the core's event log as tuples
    (Sim.events builds a Python object per event, too slow to do after
    every step)."""

    level = "full"

    def __init__(self, case: Case, every_step: bool):
        self.case = case
        self.every_step = every_step
        self.outcome_override: str | None = None
        self.nev = 0
        self.held: dict[int, str] = {}          # address -> variable
        self.last_sleep: dict[int, int] = {}    # tid -> event index
        self.last_full: dict[int, int] = {}     # keg -> event index of a full_check b=1
        self.need_pages: dict[int, int] = {}    # tid -> pages its last failed request wanted
        self.allocs: dict[str, list[int]] = {}  # zone -> [items, nulls]
        self.frees: dict[int, int] = {}         # zone slot -> items freed by ops
        self.uma_stops = 0                      # stops at UMA_POINTS so far
        self.points_seen: set[int] = set()
        self.asleep: set[int] = set()           # asleep without a timeout now
        self.max_asleep = 0
        self.failure: tuple[str, str, int | None] | None = None
        # FreeBSD 7's own liveness hazards seen (not failures).
        self.hazards: list[str] = []
        # Frees that read UMA_ZFLAG_FULL set, by thread: (keg, event index,
        # zonelimit sleepers on that keg then, threads woken on it since).
        self.full_frees: dict[int, list] = {}
        # Threads inside slab_zalloc now: how deep (an OFFPAGE keg's slab
        # needs a header, whose zone may need a slab of its own).
        self.in_flight: dict[int, int] = {}
        self.in_flight_max = 0          # most threads inside slab_zalloc at once
        self.new_sleeps: list[tuple[int, int]] = []     # (thread, channel) this step
        self.op_now: dict[int, int] = {}        # thread -> the op it is inside (its pc)
        self.page_freed = False                 # a page was freed in this step
        self.slab_added = False                 # a slab was added in this step
        self.rows = None                        # vmstat -z at the end, once read
        self.vmwait_chan: int | None = None

    def attach(self, sim: Sim) -> None:
        self.sim = sim
        self.core = sim.core
        self.prog = _Program(self.case, sim)
        self.vid = sim.variable_ids
        self.slots = sim.zone_slots
        self.tid_name = {i: n for i, n in enumerate(sim.thread_names)}

    # -- the engine's hooks --
    def start(self, run) -> None:
        self.attach(run.sim)

    def step(self, run) -> bool:
        self.scan(True)
        if self.failure is None and run.last != "panic" and (self.slab_added or
                                                              self.new_sleeps):
            self.slab_added = False
            self.check_limits()
            if self.page_freed:
                self.page_freed = False
                self.check_vmwait()
        if self.failure is not None or run.last == "panic":
            return True
        return not self.check()

    def end(self, run) -> None:
        if run.stopped:
            return
        if run.outcome == "step_limit":
            self.outcome_override = "step_limit"
        if not self.every_step:
            self.scan(False)
            if self.sim.outcome != "panic":
                self.check()

    def fail(self, kind: str, message: str, step: int | None = None) -> None:
        if self.failure is None:
            self.failure = (kind, message, step if step is not None else self.sim.steps)

    def var(self, name: str) -> tuple[int, int, int]:
        return self.core.var_info(self.vid[name])

    def scan(self, track_items: bool) -> None:
        """Reads the events since the last scan: sleeps, FULL tests, and
        (track_items) the addresses each alloc stores."""
        n, events = self.core.new_events(self.nev)
        if not events:
            return
        by_pc = self.prog.by_pc
        for k, (step, _tick, kind, tid, _cpu, _pt, a, b, _wm) in enumerate(events, self.nev):
            if kind == _EV_STEP:
                if a in UMA_POINTS:
                    self.uma_stops += 1
                    self.points_seen.add(a)
                    if a == _PT_SLAB_ZALLOC_UNLOCKED:
                        self.in_flight[tid] = self.in_flight.get(tid, 0) + 1
                        if len(self.in_flight) > self.in_flight_max:
                            self.in_flight_max = len(self.in_flight)
                self.asleep.discard(tid)
            elif kind == _EV_SLAB_ALLOC:
                depth = self.in_flight.pop(tid, 0) - 1
                if depth > 0:
                    self.in_flight[tid] = depth
                self.slab_added = True
            elif kind == _EV_SLEEP:
                self.last_sleep[tid] = k
                if track_items:
                    self.new_sleeps.append((tid, a))
                if b == 0:                      # no timeout
                    self.asleep.add(tid)
                    if len(self.asleep) > self.max_asleep:
                        self.max_asleep = len(self.asleep)
            elif kind == _EV_FULL_CHECK:
                if b == 1:
                    self.last_full[a] = k
                    if track_items:
                        self.full_frees[tid] = [a, k, self.sleepers_on(a), 0]
            elif kind == _EV_PAGE_FREE:
                self.page_freed = True
            elif kind == _EV_OP_BEGIN:
                self.op_now[tid] = b
                if not track_items:
                    continue
                # A free gives its item back as it begins: while it runs
                # (free(9) of a large allocation releases the pages before
                # its end), another alloc may lawfully get the same address.
                op = by_pc.get((tid, b))
                if op is not None and op[0] == "free":
                    st, _, item = self.var(op[1])
                    if st == _VAR_HELD and self.held.get(item) == op[1]:
                        del self.held[item]
            elif kind == _EV_WAKEUP:
                for pending in self.full_frees.values():
                    if pending[0] == a:
                        pending[3] += b
            elif kind == _EV_PAGE_FAIL:
                # (A failed page allocation may sleep in vmwait and try
                # again inside the same slab_zalloc: still in flight.)
                self.need_pages[tid] = a
            elif kind == _EV_OP_END:
                self.in_flight.pop(tid, None)
                self.op_now.pop(tid, None)
                # The end of the op of a free that read FULL set (a free
                # of a zfini's inside a drain, say, as well as a free op).
                if track_items and tid in self.full_frees:
                    self.check_full_free(tid, step)
                op = by_pc.get((tid, b))
                if op is None:
                    continue
                what, var, zone = op
                if what == "free":
                    st, zn, item = self.var(var)
                    if st == _VAR_FREED and zn >= 0:
                        self.frees[zn] = self.frees.get(zn, 0) + 1
                    if track_items and self.held.get(item) == var:
                        del self.held[item]
                    continue
                st, _, item = self.var(var)
                if zone is not None:
                    c = self.allocs.setdefault(zone, [0, 0])
                    c[1 if st == _VAR_NULL else 0] += 1
                if track_items and st == _VAR_HELD and var in self.prog.zeroed:
                    self.check_zero(var, item, step)
                if track_items and st == _VAR_HELD:
                    other = self.held.get(item)
                    if other is not None and other != var and other not in self.being_freed():
                        self.fail("duplicate", f"item {item:#x} handed out twice: {other} "
                                  f"and {var} hold it (step {step})", step)
                    self.held[item] = var
        self.nev = n

    def being_freed(self) -> set[str]:
        """The variables a free op under way frees: a free that began while
        its variable was unset (waiting for its producer) gives the item
        back once it is set, not as it begins."""
        out = set()
        for tid, pc in self.op_now.items():
            op = self.prog.by_pc.get((tid, pc))
            if op is not None and op[0] == "free":
                out.add(op[1])
        return out

    # -- oracles true to FreeBSD 7 ------------------------------------------

    def check_zero(self, var: str, item: int, step: int | None = None) -> None:
        """An M_ZERO allocation's item reads zero, whichever path gave it
        (per-CPU bucket, zone bucket, keg): uma_zalloc_arg and
        uma_zalloc_internal bzero the whole item after the ctor."""
        n = self.prog.zeroed[var]
        zone = self.prog.var_zone.get(var)
        if n is None:
            rec = self.core.zone_by_slot(self.slots[zone])
            if rec is None:
                return
            n = rec.size
        data = self.core.mem_read(item, n)
        if data.count(0) != len(data):
            at = next(i for i, c in enumerate(data) if c)
            where = f"zone {zone}" if zone else "malloc(9)"
            self.fail("zero", f"{var}: the {n}-byte item {item:#x} of an M_ZERO alloc from "
                      f"{where} reads {data[at]:#04x} at byte {at}"
                      + (f" (step {step})" if step is not None else ""), step)

    def sleepers_on(self, keg: int) -> frozenset[int]:
        """The threads asleep in "zonelimit" on this keg now."""
        out = set()
        for tid in range(self.core.nthreads()):
            rec = self.core.thread(tid)
            if rec.state == "asleep" and rec.wmesg == "zonelimit" and rec.wchan == keg:
                out.add(tid)
        return frozenset(out)

    def check_full_free(self, tid: int, step: int) -> None:
        """A free whose unlocked test read UMA_ZFLAG_FULL set goes to
        uma_zfree_internal, which (under the zone lock) wakes every
        zonelimit sleeper of the keg -- or finds FULL cleared by another
        free, which woke them.  So by the end of that free, every thread
        asleep on the keg when the flag was read has been woken: a lost
        wakeup is flagged when it happens, not at a final deadlock."""
        keg, _, sleepers, woken = self.full_frees.pop(tid)
        if len(sleepers) > woken:
            still = [self.tid_name.get(t, str(t)) for t in sorted(sleepers & self.sleepers_on(keg))]
            if still:
                self.fail("liveness", f"lost wakeup: {self.tid_name.get(tid)}'s free read "
                          f"UMA_ZFLAG_FULL set on keg {keg:#x} with {len(sleepers)} "
                          f"thread(s) asleep in zonelimit there, and only {woken} were "
                          f"woken by the end of it ({', '.join(still)} still asleep; "
                          f"step {step})", step)

    def check_limits(self) -> None:
        """uma_zone_slab adds a slab to a limited keg only when its test saw
        uk_pages below uk_maxpages; the zone lock is dropped in slab_zalloc
        before uk_pages grows, so k threads between test and update may
        each add uk_ppera pages: uk_pages <= uk_maxpages - 1 + k * uk_ppera,
        k the most threads seen inside slab_zalloc at once (from its stop
        at slab_zalloc_unlocked to its slab_alloc event or the end of its
        op; at least 1).
        And a thread sleeps in "zonelimit" only on a keg at the limit
        uma_zone_set_max gave."""
        k = max(self.in_flight_max, 1)
        for z in self.case.zones:
            # (A setmax op may change the limit while a thread is between
            # test and update: only limits the zone was created with.)
            if z.get("master") or z.get("max") is None or z["name"] in self.prog.setmax_kegs:
                continue
            rec = self.core.zone_by_slot(self.slots[z["name"]])
            if rec is None:
                continue
            if not rec.maxpages:
                continue
            bound = rec.maxpages - 1 + k * rec.ppera
            if rec.pages > bound:
                self.fail("limit", f"keg of {z['name']}: {rec.pages} pages, more than its "
                          f"limit of {rec.maxpages} allows ({bound}: {rec.maxpages} - 1 + "
                          f"{k} thread(s) between uma_zone_slab's test and the page count "
                          f"times {rec.ppera} pages a slab)")
                return
        # A thread that went to sleep in this step: a zonelimit sleep only
        # on a keg at its limit (msleep drops the zone lock atomically, so
        # the keg is as the sleeper left it when the step ends).
        slept, self.new_sleeps = self.new_sleeps, []
        for tid, chan in slept:
            if self.core.thread(tid).wmesg != "zonelimit":
                continue
            for z in self.case.zones:
                if z.get("master") or z["name"] in self.prog.setmax_kegs:
                    continue
                zr = self.core.zone_by_slot(self.slots[z["name"]])
                if zr is not None and zr.keg == chan and zr.maxpages \
                        and zr.pages < zr.maxpages:
                    self.fail("limit", f"{self.tid_name.get(tid)} went to sleep in zonelimit "
                              f"on the keg of {z['name']} with {zr.pages} pages, below its "
                              f"limit of {zr.maxpages}")
                    return

    def check_vmwait(self) -> None:
        """After a step that freed pages: once free pages reach max(free_min,
        1), VM_WAIT's sleepers are woken (vm_page_free_wakeup), so none may
        still sleep in "vmwait" then -- flagged when it happens.  Only
        sleepers without a timeout count."""
        u = self.core.uma_globals()
        if u["free_pages"] < max(u["free_min"], 1):
            return
        # (A sleeper with a timeout -- VM_WAIT after an injected page
        # failure sleeps one tick -- is not waiting for this wakeup.)
        left = [self.tid_name.get(tid, str(tid)) for tid in range(self.core.nthreads())
                if tid in self.asleep and self.core.thread(tid).wmesg == "vmwait"
                and self.core.thread(tid).state == "asleep"]
        if left:
            self.fail("liveness", f"lost wakeup: {u['free_pages']} pages are free (wake "
                      f"threshold {max(u['free_min'], 1)}) after a page free, and "
                      f"{', '.join(left)} still sleep(s) in vmwait")

    def check_buckets(self) -> None:
        """At a quiescent end, every bucket is held by a per-CPU cache or on
        a zone's full- or free-bucket list, and every bucket so held is a
        live item of a bucket zone: the bucket zones' USED is the number of
        buckets the zones hold (a drain that forgets to free a bucket, or
        frees one still held, breaks it)."""
        held = 0
        zones = self.core.zones()
        for rec in zones:
            if rec.internal:
                continue
            for (ac, _ae, fc, _fe, _al, _fr) in self.core.zone_caches(rec.addr):
                held += (ac >= 0) + (fc >= 0)
            held += rec.full_buckets + rec.free_buckets
        rows = self.rows if self.rows is not None else {r.name: r for r in self.sim.vmstat()}
        used = sum(r.used for n, r in rows.items() if n.endswith(" Bucket"))
        if used != held:
            self.fail("accounting", f"the bucket zones have {used} buckets in use, but the "
                      f"zones' caches and bucket lists hold {held}")
            return
        # Every slab of an OFFPAGE keg has its header from "UMA Slabs" (or
        # "UMA RCntSlabs"): as many headers in use as such slabs.
        slabs, seen = 0, set()
        for rec in zones:
            if rec.keg in seen or rec.name in ("UMA Slabs", "UMA RCntSlabs"):
                continue
            seen.add(rec.keg)
            if rec.flags & ZONE_OFFPAGE:
                slabs += rec.pages // max(rec.ppera, 1)
        large = sum(1 for v in self.prog.large if v in self.vid
                    and self.var(v)[0] == _VAR_HELD)
        headers = sum(rows[n].used for n in ("UMA Slabs", "UMA RCntSlabs") if n in rows)
        if headers != slabs + large:
            self.fail("accounting", f"UMA Slabs and UMA RCntSlabs have {headers} slab headers "
                      f"in use, but the OFFPAGE kegs have {slabs} slabs and {large} large "
                      "allocations are held")

    def check(self) -> bool:
        message = self.core.check()
        if message is not None:
            self.fail("invariant", message)
            return False
        return True

    # -- the end of the run ----------------------------------------------

    def finish(self) -> None:
        sim = self.sim
        outcome = sim.outcome
        if self.outcome_override:
            outcome = self.outcome_override
        if outcome == "host_fault":             # SIGSEGV/SIGBUS in a simulated thread
            self.fail("host_fault", sim.host_fault.message)
            return
        if outcome == "panic":
            self.fail("panic", str(sim.panic))
            return
        if self.failure is not None:
            return
        for line in sim.console:
            if "Memory modified after free" in line:
                self.fail("console", line.strip())
                return
        self.check_held()
        if self.failure is not None:
            return
        if not self.every_step:
            # Items of M_ZERO allocations still held and never written to.
            for var in sorted(set(self.prog.zeroed) - self.prog.touched):
                if var in self.vid:
                    st, _, item = self.var(var)
                    if st == _VAR_HELD:
                        self.check_zero(var, item)
                        if self.failure is not None:
                            return
        if outcome in ("running", "step_limit"):
            self.fail("step_limit", f"no end after {sim.steps} steps (max_steps "
                      f"{self.case.max_steps})")
        elif outcome == "deadlock":
            why = self.explain_deadlock()
            if why:
                self.fail("deadlock", why)
            else:
                self.hazards.append("FreeBSD 7 liveness hazard: every thread left waits "
                                    "where FreeBSD 7 itself leaves it (see explain_deadlock)")
        elif outcome == "completed" and self.kernel_idle():
            self.check_stats()
            if self.failure is None:
                self.check_buckets()

    def check_held(self) -> None:
        """No two live variables hold one item; no held item is free (in a
        per-CPU bucket, a zone bucket, or a slab's free list of its keg)."""
        seen: dict[int, str] = {}
        malloc_held = False
        slots: set[int] = set()
        freeing = self.being_freed()
        for name in self.vid:
            st, zn, item = self.var(name)
            if st != _VAR_HELD or name in freeing:
                continue
            if item in seen:
                self.fail("duplicate", f"item {item:#x} handed out twice: {seen[item]} and "
                          f"{name} hold it")
                return
            seen[item] = name
            if zn >= 0:
                slots.add(zn)
            elif zn == VAR_SRC_MALLOC:
                malloc_held = True
        if not seen:
            return
        infos = self.zone_infos()
        kegs = {zi.keg for zi in infos if zi.slot in slots}
        if malloc_held:
            kegs |= {zi.keg for zi in infos if zi.flags & ZONE_MALLOC}
        for zi in infos:
            if zi.keg not in kegs:
                continue
            for where, label in ((0, "cache"), (1, "bucket"), (2, "slab")):
                for item in self.core.zone_items(zi.addr, where):
                    if item in seen:
                        self.fail("duplicate", f"item {item:#x} is held by {seen[item]} "
                                  f"and is also free ({label} of zone {zi.name})")
                        return

    def zone_infos(self) -> list:
        return self.core.zones()

    def explain_deadlock(self) -> str | None:
        """None when every thread left waits for what the model allows;
        else why not."""
        sim = self.sim
        threads = {t.name: t for t in sim.threads}
        kegs = {zi.keg: zi.flags for zi in self.zone_infos()}
        u = sim.uma()
        thresh = max(u["free_min"], 1)

        def why(name: str, path: tuple[str, ...]) -> str | None:
            if name in path:
                return f"{' -> '.join(path + (name,))}: a cycle"
            t = threads[name]
            where = " -> ".join(path + (name,))
            if t.state == "asleep":
                if t.wmesg == "vmwait":
                    need = self.need_pages.get(t.tid, 1)
                    if u["free_pages"] < max(thresh, need):
                        return None
                    return (f"{where}: asleep in vmwait with {u['free_pages']} free pages "
                            f"(wake threshold {thresh}, its request {need} pages)")
                if t.wmesg == "zonelimit":
                    keg = int(t.wchan, 16)
                    if not kegs.get(keg, 0) & FULL:
                        return f"{where}: asleep in zonelimit on keg {keg:#x}, which is not FULL"
                    slept = self.last_sleep.get(t.tid, -1)
                    freed = self.last_full.get(keg, -1)
                    if freed > slept:
                        evs = self.core.events(0)
                        return (f"{where}: asleep in zonelimit on keg {keg:#x} since step "
                                f"{evs[slept][0] if slept >= 0 else '?'}, but a free at step "
                                f"{evs[freed][0]} by {self.tid_name.get(evs[freed][3])} "
                                "read UMA_ZFLAG_FULL set afterwards (a lost wakeup)")
                    return None
                return f"{where}: asleep on {t.wmesg!r} with nothing to wake it"
            if t.state == "blocked":
                if t.mutex_owner is None:
                    return f"{where}: blocked on mutex {t.mutex} with no owner"
                return why(t.mutex_owner, path + (name,))
            if t.state == "waiting":
                prod = self.prog.producer.get(t.var)
                if prod is None:
                    return f"{where}: waiting for variable {t.var}, which nothing produces"
                if threads[prod].state == "finished":
                    return f"{where}: waiting for {t.var}, but {prod} finished"
                return why(prod, path + (name,))
            return f"{where}: {t.state} in a deadlock"

        for t in sim.threads:
            if t.kernel or t.state == "finished":
                continue
            r = why(t.name, ())
            if r:
                return "unexplained deadlock: " + r
        return None

    # What the kernel threads wait on when they have nothing to do.
    IDLE = {"softclock": "softclock", "pagedaemon": "psleep"}

    def kernel_idle(self) -> bool:
        """Whether every kernel thread sleeps where it waits for work.  A run
        completes when the scenario's threads have finished, even if the
        pagedaemon is half-way through uma_reclaim (holding a bucket it
        took off a zone, say): vmstat does not add up then, and the checker
        skips conservation too (no thread may be inside an operation)."""
        for t in self.sim.threads:
            if t.kernel and not (t.state == "asleep" and t.wmesg == self.IDLE.get(t.name)):
                return False
        return True

    def check_stats(self) -> None:
        """vmstat -z at the end of a completed (quiescent) run."""
        sim = self.sim
        rows = self.rows = {r.name: r for r in sim.vmstat()}
        held: dict[int, int] = {}
        for name in self.vid:
            st, zn, _ = self.var(name)
            if st == _VAR_HELD:
                held[zn] = held.get(zn, 0) + 1
        prog = self.prog
        per_keg: dict[str, list[int]] = {}
        for z in self.case.zones:
            name = z["name"]
            row = rows.get(name)
            if row is None:
                if name in prog.destroyed:
                    continue            # destroyed by an op: no row, nothing to add up
                self.fail("stats", f"zone {name} is not in vmstat -z")
                return
            h = held.get(self.slots[name], 0)
            if name in prog.attach_targets:
                if row.used < h:
                    self.fail("stats", f"zone {name}: USED {row.used} < {h} items held")
                    return
            else:
                items, nulls = self.allocs.get(name, [0, 0])
                if row.used != h:
                    self.fail("stats", f"zone {name}: USED {row.used}, but {h} items are held")
                    return
                freed = self.frees.get(self.slots[name], 0)
                if name in prog.failing:
                    ok = items <= row.requests <= items + nulls and row.failures <= nulls \
                        and row.requests - row.used >= freed
                else:
                    ok = row.requests == items and row.failures == nulls \
                        and row.requests - row.used == freed
                if not ok:
                    self.fail("stats", f"zone {name}: REQUESTS {row.requests}, USED "
                              f"{row.used}, FAILURES {row.failures}, but its allocs returned "
                              f"{items} items and {nulls} NULLs and {freed} were freed")
                    return
            keg = prog.keg_of[name]
            acc = per_keg.setdefault(keg, [0, 0])
            acc[0] += row.used + row.free
        for z in self.case.zones:
            if z.get("master") or z["name"] not in per_keg:
                continue
            name = z["name"]
            zone = sim.zone(name)
            g, st = zone.geometry, zone.stats
            total = st["pages"] // g.ppera * g.ipers
            if per_keg[name][0] != total:
                self.fail("stats", f"keg of {name}: USED + FREE of its zones is "
                          f"{per_keg[name][0]}, but its {st['pages']} pages hold {total} items")
                return
            mx = z.get("max")
            if mx is not None and name not in prog.setmax_kegs:
                maxpages = (mx // g.ipers) * g.ppera
                if maxpages * g.ipers < mx:
                    maxpages += g.ppera
                want = maxpages // g.ppera if g.ppera > 1 else maxpages * g.ipers
                if rows[name].limit != want:
                    self.fail("stats", f"zone {name}: LIMIT {rows[name].limit}, expected "
                              f"{want} (max {mx} rounded to whole slabs)")
                    return


def check_case(case: Case, every_step: bool = True, keep_sim: bool = False) -> Verdict:
    """Runs `case` and checks every property (module docstring)."""
    checker = PropertyChecker(case, every_step)
    run = execute(case.scenario, case.schedule, [checker])
    return _verdict(checker, run.sim, keep_sim)


def check_sim_end(case: Case, sim: Sim) -> Verdict:
    """The end-of-run properties of a finished Sim of `case` (for example
    one that replayed a trace): panic, console, duplicates, the deadlock
    explanation and the statistics; per-step invariants need check_case."""
    checker = PropertyChecker(case, every_step=False)
    checker.attach(sim)
    checker.scan(False)
    if sim.outcome != "panic":
        checker.check()
    return _verdict(checker, sim, False)


def _verdict(checker: PropertyChecker, sim: Sim, keep_sim: bool) -> Verdict:
    checker.finish()
    outcome = checker.outcome_override or sim.outcome
    metrics = {"max_asleep": checker.max_asleep, "uma_points": len(checker.points_seen)}
    kept = sim if keep_sim else None
    if checker.failure is None:
        return Verdict(True, None, "ok", outcome, sim.steps, sim.decisions, sim=kept,
                       metrics=metrics)
    kind, msg, step = checker.failure
    return Verdict(False, kind, msg, outcome, sim.steps, sim.decisions, step, sim=kept,
                   metrics=metrics)


def unrolled(scn: Scenario, max_ops: int = 100_000) -> Scenario | None:
    """The scenario with every repeating thread's ops written out, {i}
    replaced by the iteration (a thread's program runs the same steps
    either way), so that each variable has its own name; None past
    `max_ops` ops."""
    threads = []
    for t in scn.threads:
        n = t.get("repeat", 1)
        ops = [op.replace("{i}", str(i)) for i in range(n) for op in t["ops"]] if n != 1 \
            else list(t["ops"])
        if len(ops) > max_ops:
            return None
        threads.append({**t, "ops": ops, "repeat": 1})
    d = scn.to_dict()
    d["thread"] = threads
    d.pop("expect", None)
    return from_dict(d, scn.source)


def deadlock_hazard(scn: Scenario, decisions: list[int]) -> str | None:
    """Whether the run of `scn` under `decisions` (machine form, then
    sequential) ends in a deadlock FreeBSD 7 itself can reach: replayed with
    every property checked after every step (PropertyChecker, the same
    analysis as check_case), it must end in that deadlock, after exactly
    those decisions, with no property failing and the deadlock explained
    (explain_deadlock).  Returns the checker's hazard message, or None (a
    failure, or not a deadlock)."""
    flat = unrolled(scn)
    if flat is None:
        return None
    sched = Schedule(decisions=list(decisions), then="sequential",
                     max_steps=scn.schedule.max_steps)
    case = Case(flat.with_schedule(sched), sched)
    checker = PropertyChecker(case, every_step=True)
    run = execute(case.scenario, case.schedule, [checker])
    verdict = _verdict(checker, run.sim, False)
    if not verdict.ok or verdict.outcome != "deadlock" or verdict.steps != len(decisions) \
            or not checker.hazards:
        return None
    return checker.hazards[0]
