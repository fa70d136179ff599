"""Sim: one simulated machine, driven step by step from Python.

All state lives in the C core (umasim._core); this module validates
arguments, resolves names to ids and turns what the core reports into
Python values.  Nothing here depends on host addresses, hash seeds or wall
time: the same calls give the same results in every process.
"""

from __future__ import annotations

import operator
import weakref
from functools import partial
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from umasim.model import program
from umasim.model import zones
from umasim.errors import (InvalidArgument, InvariantViolation, Nondeterministic, ScheduleError,
                           WrongType)
from umasim.model.zones import Zone

# The core's tables, re-exported for the users of Sim.
from umasim.bindings import (DISPLAY_BASE, EVENT_KINDS, GRANULARITIES, KNOWN_BUGS,  # noqa: E402
                             MAXCPU, NAME_MAX, OPCODES, OUTCOMES, PCT_MAXDEPTH, POINT_FUNCS,
                             POINT_LINES, POINTS, POLICIES, STATES, TRACE_LEVELS, VAR_FREED,
                             VAR_HELD, VAR_NULL, VAR_SOURCES, VAR_UNSET, Core, HostFault)
DEFAULT_MAX_STEPS = 1_000_000


@dataclass(frozen=True)
class ThreadInfo:
    """A thread as it stands now."""
    name: str
    tid: int
    state: str
    cpu: int
    critnest: int
    kernel: bool
    point: str
    op: int
    iteration: int
    wmesg: str | None = None
    wchan: str | None = None
    mutex: str | None = None
    mutex_owner: str | None = None
    var: str | None = None
    timeout: int | None = None
    locks: int = 0

    def describe(self) -> str:
        """What the thread is doing, in words (deadlock reports use it)."""
        if self.state == "asleep":
            text = f"asleep on {self.wmesg!r} (channel {self.wchan})"
            if self.timeout is not None:
                text += f", until tick {self.timeout}"
            return text
        if self.state == "blocked":
            return f"blocked on mutex {self.mutex} owned by {self.mutex_owner}"
        if self.state == "waiting":
            return f"waiting for variable {self.var} to be set"
        return self.state


@dataclass(frozen=True)
class Event:
    """One trace event.  `a` is unsigned: addresses (0xfffff80000000000 +
    arena offset), canonical channels, counts and ids; `b` may be -1."""
    step: int
    tick: int
    kind: str
    thread: str | None
    cpu: int
    point: str | None
    a: int
    b: int
    wmesg: str | None = None    # a sleep's wait message ("zonelimit", "vmwait", "nokva"...)


class RunResult:
    """What one Sim.run() call did.  `decisions` (machine form) is made a
    list on first use: a long run that nobody asks the decisions of does
    not pay for an int object per step."""

    __slots__ = ("outcome", "steps", "_decisions", "panic", "ticks", "waiting", "host_fault")

    def __init__(self, outcome: str, steps: int, decisions: Sequence[int],
                 panic: str | None = None, ticks: int = 0, waiting: list[str] | None = None,
                 host_fault: HostFault | None = None):
        self.outcome = outcome
        self.steps = steps
        self._decisions = decisions
        self.panic = panic
        self.ticks = ticks
        self.waiting = [] if waiting is None else waiting
        self.host_fault = host_fault

    @property
    def decisions(self) -> list[int]:
        if not isinstance(self._decisions, list):
            self._decisions = list(self._decisions)
        return self._decisions

    @decisions.setter
    def decisions(self, value: Sequence[int]) -> None:
        self._decisions = value

    def fields(self) -> tuple:
        """The values, in the constructor's order."""
        return (self.outcome, self.steps, self.decisions, self.panic, self.ticks,
                self.waiting, self.host_fault)

    def __eq__(self, other) -> bool:
        if not isinstance(other, RunResult):
            return NotImplemented
        return self.fields() == other.fields()

    __hash__ = None     # mutable, like the dataclass it was

    def __repr__(self) -> str:
        return (f"RunResult(outcome={self.outcome!r}, steps={self.steps!r}, "
                f"decisions={self.decisions!r}, panic={self.panic!r}, ticks={self.ticks!r}, "
                f"waiting={self.waiting!r}, host_fault={self.host_fault!r})")

    @property
    def preemptions(self) -> int:
        d = self._decisions
        return len(d) - d.count(0)


def _int(value, what: str, low: int | None = 0, high: int | None = None) -> int:
    if isinstance(value, bool):
        raise WrongType(f"{what} must be an integer, not bool")
    if not isinstance(value, int):
        try:
            value = operator.index(value)
        except TypeError:
            raise WrongType(f"{what} must be an integer, not {type(value).__name__}") from None
    if low is not None and value < low:
        if low == 0:
            raise InvalidArgument(f"{what} must not be negative, not {value}")
        raise InvalidArgument(f"{what} must be at least {low}, not {value}")
    if high is not None and value > high:
        raise InvalidArgument(f"{what} must be at most {high}, not {value}")
    return value


def _bool(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise WrongType(f"{what} must be true or false, not {type(value).__name__}")
    return value


def _choice(value, what: str, table: dict) -> int:
    if not isinstance(value, str):
        raise WrongType(f"{what} must be a string, not {type(value).__name__}")
    if value not in table:
        raise InvalidArgument(f"unknown {what} {value!r} (one of: {', '.join(table)})")
    return table[value]


class Thread:
    """A handle on one simulated thread."""

    __slots__ = ("_sim", "name", "tid")

    def __init__(self, sim: "Sim", name: str, tid: int):
        self._sim = sim
        self.name = name
        self.tid = tid

    @property
    def info(self) -> ThreadInfo:
        return self._sim.thread_info(self.tid)

    @property
    def state(self) -> str:
        return self.info.state

    def __repr__(self) -> str:
        i = self.info
        return f"<Thread {self.name} tid={self.tid} cpu={i.cpu} {i.describe()}>"


class _Stepper:
    """Sim.step: the first time a Sim's `step` is looked up, the bindings'
    one-frame stepper is made for that Sim and kept in its __dict__ (Sim.step
    is the hot path of Python-driven runs).  It refers to the Sim's thread
    table and core only, not to the Sim: a cycle would keep retired Sims (and
    their arenas) alive until the cyclic GC ran."""

    def __init__(self, method):
        self.__doc__ = method.__doc__
        self.__name__ = method.__name__

    def __get__(self, sim, owner=None):
        if sim is None:
            return self
        fast = sim.__dict__["step"] = sim.make_stepper()
        return fast


class Sim:
    """A simulated machine: vCPUs, threads, virtual time, the VM and UMA.

    Keyword arguments are those of docs/design.md; `trace` picks how much the
    run records ("full": every event; "decisions": decisions only; "off").
    """

    def __init__(self, cpus: int = 2, pages: int = 256, kmem_pages: int = 1024,
                 free_min: int = 0, boot_pages: int = 48, md_small_alloc: bool = False,
                 pagedaemon: bool = False, ticks_per_step: int = 1,
                 granularity: str = "coarse", invariants: bool = True,
                 bugs: Iterable[str] = (), seed: int = 0, trace: str = "full",
                 align_cache="cache"):
        cpus = _int(cpus, "cpus", 1, MAXCPU)
        _choice(granularity, "granularity", GRANULARITIES)
        _choice(trace, "trace level", TRACE_LEVELS)
        if isinstance(bugs, str):
            raise WrongType("bugs must be a list of names, not a string")
        bugs = tuple(bugs)
        bits = 0
        for b in bugs:
            if not isinstance(b, str):
                raise WrongType(f"a bug switch is a name, not {type(b).__name__}")
            if b not in KNOWN_BUGS:
                raise InvalidArgument(f"unknown bug switch {b!r} (known: {', '.join(KNOWN_BUGS)})")
            bits |= KNOWN_BUGS[b]
        self._core = Core(
            cpus, _int(pages, "pages"), _int(kmem_pages, "kmem_pages", 1),
            _int(free_min, "free_min"), _int(boot_pages, "boot_pages"),
            _bool(md_small_alloc, "md_small_alloc"), _bool(pagedaemon, "pagedaemon"),
            _int(ticks_per_step, "ticks_per_step"), granularity,
            _bool(invariants, "invariants"), bits, _int(seed, "seed", 0, 2**64 - 1), trace,
            # uma_set_align() at boot; "cache" (UMA_ALIGN_CACHE) it ignores.
            zones.parse_align(align_cache))
        self.config = dict(cpus=cpus, pages=pages, kmem_pages=kmem_pages, free_min=free_min,
                           boot_pages=boot_pages, md_small_alloc=md_small_alloc,
                           pagedaemon=pagedaemon, ticks_per_step=ticks_per_step,
                           granularity=granularity, invariants=invariants, bugs=list(bugs),
                           seed=seed, trace=trace, align_cache=align_cache)
        self.cpus = cpus
        self._tids: dict[str, int] = {}
        self._names: list[str] = []
        self._mtx: dict[str, int] = {}
        self._chan: dict[str, int] = {}
        self._vars: dict[str, int] = {}
        self._var_names: list[str] = []
        self._zones: dict[str, int] = {}
        # What was done to this Sim, in order, with the number of decisions
        # taken before it: enough to build an equal Sim by replay (fork()).
        self._recipe: list[tuple[int, str, tuple]] = []
        self._sync_threads()
        self._boot = self.snapshot()

    # ---- threads ------------------------------------------------------

    def _sync_threads(self) -> None:
        for tid in range(len(self._names), self._core.nthreads()):
            name = self._core.thread_name(tid)
            self._names.append(name)
            self._tids[name] = tid

    def spawn(self, name: str, cpu: int = 0, ops: Sequence[str] = (), repeat: int = 1) -> Thread:
        """Creates a thread on vCPU `cpu` that runs `ops`, `repeat` times."""
        if isinstance(name, str) and name in self._tids:
            raise InvalidArgument(f'thread "{name}" already exists')
        program.check_thread_name(name)
        cpu = _int(cpu, "cpu")
        if cpu >= self.cpus:
            raise InvalidArgument(f"vCPU {cpu} does not exist (this simulation has {self.cpus})")
        repeat = _int(repeat, "repeat")
        if isinstance(ops, str):
            raise WrongType("ops must be a list of operation strings, not one string")
        ops = list(ops)
        parsed = []
        for i, text in enumerate(ops):
            try:
                parsed.append(program.parse_op(text))
            except (ValueError, TypeError) as e:
                raise type(e)(f"ops[{i}]: {e}") from None
        cops = program.compile_ops(parsed, repeat, self._resolve)
        unrolled = bool(cops) and len(cops) != len(parsed)
        tid = self._core.spawn(name, cpu, cops, 1 if unrolled else repeat)
        self._recipe.append((self._core.ndecisions(), "spawn",
                             (name, cpu, tuple(ops), repeat)))
        self._names.append(name)
        self._tids[name] = tid
        return Thread(self, name, tid)

    def _zone_slot(self, name: str) -> int:
        if not isinstance(name, str):
            raise WrongType(f"a zone is named by a string, not {type(name).__name__}")
        if name not in self._zones:
            program.check_zone_name(name)
            self._zones[name] = self._core.zone_slot(name)
        return self._zones[name]

    # ---- zones --------------------------------------------------------

    def zcreate(self, name: str, size: int, align="ptr", flags=(), *, max: int | None = None,
                ctor=None, dtor=None, init=None, fini=None, zinit=None, zfini=None,
                allocf=None, freef=None) -> Zone:
        """uma_zcreate() now, outside the schedule (as a scenario's [[zone]]).
        Callbacks are the built-in behaviours of docs/design.md."""
        size = _int(size, "size", 1, 1 << 24)
        mask = zones.parse_align(align)
        bits = zones.parse_flags(flags)
        cbs = dict(ctor=ctor, dtor=dtor, init=init, fini=fini, zinit=zinit, zfini=zfini,
                   allocf=allocf, freef=freef)
        return self._create_zone(name, size, mask, bits, None, cbs, max)

    def zsecond(self, name: str, master: str, *, ctor=None, dtor=None, zinit=None,
                zfini=None) -> Zone:
        """uma_zsecond_create() on `master`'s keg, now."""
        if master not in self._zones or self._core.zone_state(self._zones[master]) != 1:
            raise InvalidArgument(f'master zone "{master}" does not exist')
        cbs = dict(ctor=ctor, dtor=dtor, zinit=zinit, zfini=zfini)
        return self._create_zone(name, 0, 0, 0, self._zones[master], cbs, None)

    def _create_zone(self, name, size, mask, bits, master, cbs, maxitems) -> Zone:
        if name in self._zones and self._core.zone_state(self._zones[name]) == 1:
            raise InvalidArgument(f'zone "{name}" exists already')
        parsed = []
        for slot, text in cbs.items():
            if text is not None:
                parsed.append(zones.parse_callback(slot, text))
        kinds = {c.slot: c for c in parsed}
        for fin, ini in (("fini", "init"), ("zfini", "zinit")):
            if fin in kinds and kinds[fin].kind == "detach" and \
                    (ini not in kinds or kinds[ini].kind != "attach"):
                raise InvalidArgument(f"{fin} = 'detach' needs {ini} = 'attach ZONE'")
        targets = {}
        for c in parsed:
            if c.kind == "attach":
                if c.target == name:
                    raise InvalidArgument(f"{c.slot}: a zone cannot attach its own items")
                if c.target not in self._zones or \
                        self._core.zone_state(self._zones[c.target]) != 1:
                    raise InvalidArgument(f'{c.slot}: unknown zone "{c.target}"')
                targets[c.slot] = self._zones[c.target]
        if maxitems is not None:
            maxitems = _int(maxitems, "max", 1, 2**31 - 1)
        slot = self._zone_slot(name)
        for c in parsed:
            self._core.zone_callback(slot, zones.CB_SLOTS[c.slot], zones.CB_KINDS[c.kind], c.n,
                                     targets.get(c.slot, -1))
        self._core.zcreate(slot, -1 if master is None else master, size, mask, bits,
                           maxitems or 0)
        self._recipe.append((self._core.ndecisions(), "zone",
                             (name, size, mask, bits, master, tuple(cbs.items()), maxitems)))
        return Zone(self, name, slot)

    def zdestroy(self, name: str) -> None:
        """uma_zdestroy() now, outside the schedule; the name may be used
        for a new zone afterwards."""
        if name not in self._zones or self._core.zone_state(self._zones[name]) != 1:
            raise InvalidArgument(f'zone "{name}" does not exist')
        self._core.zdestroy(self._zones[name])
        self._recipe.append((self._core.ndecisions(), "zdestroy", (name,)))

    def zone(self, name: str) -> Zone:
        """A zone of the scenario or its programs, by name."""
        if name not in self._zones:
            raise InvalidArgument(f'unknown zone "{name}"')
        return Zone(self, name, self._zones[name])

    @property
    def zones(self) -> dict[str, Zone]:
        """Every zone UMA has now (internal, malloc(9) and the scenario's),
        in the order of the keg list, by name."""
        return {z.name: Zone(self, z.name, z.slot, z.addr) for z in self._core.zones()}

    def zone_stats(self) -> bytes:
        """The vm.zone_stats sysctl stream (struct uma_stream_header, then
        uma_type_header and per-CPU uma_percpu_stat records), read without
        changing the simulation."""
        return self._core.zone_stats()

    def vmstat(self) -> list[zones.VmstatRow]:
        """`vmstat -z` rows (FreeBSD 7 columns), computed from the
        vm.zone_stats stream as libmemstat does."""
        return zones.parse_zone_stats(self.zone_stats())

    def vmstat_table(self) -> str:
        return zones.format_vmstat(self.vmstat())

    def show_uma(self) -> str:
        """DDB's `show uma` table."""
        lines = [f"{'Zone':>18} {'Size':>8} {'Used':>8} {'Free':>8} {'Requests':>12}"]
        for z in self.zones.values():
            st = z.stats
            free = st["cache_items"] + st["full_items"] + (0 if st["secondary"] else st["keg_free"])
            lines.append(f"{z.name:>18} {st['size']:>8} {st['used']:>8} {free:>8} "
                         f"{st['allocs']:>12}")
        return "\n".join(lines) + "\n"

    def uma(self) -> dict:
        """UMA's and the VM's global state."""
        return self._core.uma_globals()

    def coverage(self):
        """Race-window and state coverage (docs/design.md, "Coverage") of
        this simulation's history: since its creation, or since the moment
        of the snapshot it was last restored to (reset() clears it).  A
        `Coverage`: `windows` (name, entered, interleaved, migrated),
        `state_pairs`, `state_pairs_total`, `never_reached`, `to_json()`."""
        return self._core.coverage()

    def check(self) -> None:
        """The invariant checker: raises InvariantViolation naming the zone,
        the item and what is wrong."""
        message = self._core.check()
        if message is not None:
            raise InvariantViolation(message)

    def _resolve(self, kind: str, w: str | int | None) -> int:
        """The core's id of an operand: a zone slot, a mutex, a channel or
        a variable (created on first use), or a number as it is."""
        if kind == "zone":
            return -1 if w is None else self._zone_slot(str(w))
        if kind == "int":
            if not isinstance(w, int):
                raise InvalidArgument(f"bad number {w!r}")
            return w
        if kind == "mtx":
            return self._named(self._mtx, w, self._core.mtx)
        if kind == "chan":
            return self._named(self._chan, w, self._core.chan)
        if kind == "var":
            if w not in self._vars:
                self._vars[w] = self._core.var(w)
                self._var_names.append(w)
            return self._vars[w]
        raise InvalidArgument(f"unknown operand kind {kind}")

    def _named(self, table: dict[str, int], name, create) -> int:
        if not isinstance(name, str):
            name = str(name)
        if name not in table:
            table[name] = create(name)
        return table[name]

    def _thread_name(self, tid: int) -> str | None:
        if tid < 0:
            return None
        return self._names[tid] if tid < len(self._names) else "kernel"

    def _tid(self, name: str) -> int:
        return _thread_id(self._tids, name)

    # ---- stepping -----------------------------------------------------

    @_Stepper
    def step(self, name: str | None = None) -> str:
        """Runs one step (of `name`, else the default decision); returns the
        preemption point the thread stopped at."""

    def make_stepper(self):
        """A function equal to this Sim's step(), of one Python frame (what
        `sim.step` gives after its first use)."""
        return self._core.stepper(self._tids, partial(_thread_id, self._tids))

    def migrate(self, name: str, cpu: int) -> None:
        """Migrates `name` to `cpu` as part of its next step."""
        tid = self._tid(name)
        cpu = _int(cpu, "cpu")
        if cpu >= self.cpus:
            raise InvalidArgument(f"vCPU {cpu} does not exist (this simulation has {self.cpus})")
        self._core.migrate(tid, cpu)
        self._recipe.append((self._core.ndecisions(), "migrate", (name, cpu)))

    def run(self, policy: str | None = None, seed: int = 0, migrate: float = 0.0,
            depth: int = 3, steps_hint: int = 0, steps: Sequence[str] | None = None,
            decisions: Sequence[int] | None = None, then: str = "sequential",
            max_steps: int | None = None) -> RunResult:
        """Runs until every thread is done, a deadlock, a panic or max_steps.

        policy: sequential (default), roundrobin, random, pct, or script
        (implied by `steps` or `decisions`).  `steps` is the human form
        ("a", "b@1"), `decisions` the machine form of docs/design.md.
        """
        if steps is not None and decisions is not None:
            raise InvalidArgument("give steps or decisions, not both")
        scripted = steps is not None or decisions is not None
        if policy is None:
            policy = "script" if scripted else "sequential"
        kind = _choice(policy, "policy", POLICIES)
        if scripted and policy != "script":
            raise InvalidArgument(f"steps and decisions need policy 'script', not {policy!r}")
        if policy == "script" and not scripted:
            raise InvalidArgument("policy 'script' needs steps or decisions")
        max_steps = DEFAULT_MAX_STEPS if max_steps is None else _int(max_steps, "max_steps")
        seed = _int(seed, "seed", 0, 2**64 - 1)
        if isinstance(migrate, bool) or not isinstance(migrate, (int, float)):
            raise WrongType("migrate must be a number between 0 and 1")
        if not 0.0 <= migrate <= 1.0:
            raise InvalidArgument(f"migrate must be between 0 and 1, not {migrate}")
        depth = _int(depth, "depth", 1, PCT_MAXDEPTH)
        steps_hint = _int(steps_hint, "steps_hint")
        if policy == "pct" and steps_hint == 0:
            steps_hint = max(1, self.estimate_steps(max_steps))
        dec = None
        if decisions is not None:
            if isinstance(decisions, (str, bytes)):
                raise WrongType("decisions must be a list of integers")
            dec = [_int(d, f"decisions[{i}]", 0, 2**32 - 1) for i, d in enumerate(decisions)]
        script = None
        if steps is not None:
            if isinstance(steps, (str, bytes)):
                raise WrongType("steps must be a list of strings")
            tids, cpus = [], []
            for i, st in enumerate(steps):
                tid, cpu = self._parse_step(st, i)
                tids.append(tid)
                cpus.append(cpu)
            script = (tids, cpus)
        _choice(then, "then policy", POLICIES)
        if policy == "script" and then in ("script", "pct"):
            raise ScheduleError(f"then must be sequential, roundrobin or random, not {then!r}")
        start_steps = self._core.steps()
        start_dec = self._core.ndecisions()
        outcome = self._core.run(policy, seed, float(migrate), depth, steps_hint, dec, script,
                                 then, max_steps)
        return self.run_result(outcome, start_steps, start_dec)

    def run_result(self, outcome: str, start_steps: int, start_decisions: int) -> RunResult:
        """What the run since `start_steps` steps and `start_decisions`
        decisions did, ending in `outcome`."""
        res = RunResult(outcome=outcome, steps=self._core.steps() - start_steps,
                        decisions=self._decisions_from(start_decisions), panic=self.panic,
                        ticks=self.ticks)
        if res.outcome == "host_fault":
            res.host_fault = self.host_fault
        if res.outcome == "deadlock":
            res.waiting = [f"{t.name}: {t.describe()}" for t in self.threads
                           if not t.kernel and t.state not in ("finished",)]
        return res

    def _parse_step(self, st, i: int) -> tuple[int, int]:
        if not isinstance(st, str):
            raise WrongType(f"steps[{i}] must be a string like 'a' or 'a@1'")
        name, _, cpu = st.partition("@")
        if name not in self._tids:
            raise InvalidArgument(f'steps[{i}]: unknown thread "{name}"')
        if not _:
            return self._tids[name], -1
        if not cpu.isdigit():
            raise InvalidArgument(f"steps[{i}]: bad vCPU {cpu!r} in {st!r}")
        if int(cpu) >= self.cpus:
            raise InvalidArgument(f"steps[{i}]: vCPU {cpu} does not exist (this simulation has {self.cpus})")
        return self._tids[name], int(cpu)

    def estimate_steps(self, max_steps: int = DEFAULT_MAX_STEPS) -> int:
        """PCT's run-length estimate: a sequential run of an equal Sim."""
        twin = self.fork()
        return twin.run(max_steps=max_steps).steps

    def _decisions_from(self, start: int) -> Sequence[int]:
        return self._core.decisions_array(start)

    # ---- inspection ---------------------------------------------------

    def thread_info(self, tid: int) -> ThreadInfo:
        """Thread `tid` as it stands now."""
        return self._thread_info(tid)

    def _thread_info(self, tid: int) -> ThreadInfo:
        i = self._core.thread(tid)
        wchan = None
        if i.state == "asleep":
            wchan = i.wchan_name or f"{i.wchan:#x}"
        owner = self._names[i.mutex_owner] if i.mutex_owner >= 0 else None
        var = self._var_names[i.var] if 0 <= i.var < len(self._var_names) else None
        return ThreadInfo(
            name=i.name, tid=i.tid, state=i.state, cpu=i.cpu, critnest=i.critnest,
            kernel=i.kernel, point=i.point, op=i.op, iteration=i.iteration, wmesg=i.wmesg,
            wchan=wchan, mutex=i.mutex, mutex_owner=owner, var=var, timeout=i.timeout,
            locks=i.locks)

    @property
    def threads(self) -> list[ThreadInfo]:
        return [self._thread_info(t) for t in range(self._core.nthreads())]

    def thread(self, name: str) -> ThreadInfo:
        return self._thread_info(self._tid(name))

    def runnable(self) -> list[str]:
        """Names of the threads that could run at the next step, in tid order."""
        return [self._names[tid] for tid in self._core.runnable()]

    @property
    def events(self) -> list[Event]:
        return self.events_since(0)

    def events_since(self, start: int) -> list[Event]:
        """The events recorded from index `start` on (the log only grows
        during a run)."""
        name = self._thread_name
        return [Event(step, tick, EVENT_KINDS[kind], name(tid), cpu,
                      POINTS[point] if point >= 0 else None, a, b, wmesg)
                for step, tick, kind, tid, cpu, point, a, b, wmesg
                in self._core.events(start)]

    def event_counts(self) -> dict[str, int]:
        counts = self._core.event_kind_counts()
        return {EVENT_KINDS[i]: c for i, c in enumerate(counts) if c}

    def variables(self) -> dict[str, str]:
        """Every program variable and what it holds now."""
        slots = {v: k for k, v in self._zones.items()}
        out = {}
        for name, vid in sorted(self._vars.items(), key=lambda kv: kv[1]):
            info = self._core.var_info(vid)
            if info is None:
                continue
            st, zn, item = info
            src = VAR_SOURCES.get(zn, f"zone {slots.get(zn, '?')}")
            out[name] = {VAR_UNSET: "unset", VAR_HELD: f"holds {item:#x} from {src}",
                         VAR_NULL: "null", VAR_FREED: f"freed ({item:#x}, {src})"}[st]
        return out

    def held_items(self) -> dict[int, str]:
        """The items program variables hold now: address -> variable (the
        held entries of variables(), in one call into the core)."""
        names, ids = self._var_names, self._vars
        out = {}
        for vid, _zn, item in self._core.vars_in_state(VAR_HELD):
            name = names[vid] if vid < len(names) else None
            if name is None or ids.get(name) != vid:
                name = next(n for n, i in ids.items() if i == vid)
            out[item] = name
        return out

    def variable(self, name: str) -> tuple[str, str | None, int]:
        """A variable's state ("unset", "held", "null", "freed"), the zone
        its item came from (None for malloc(9), kmem_alloc, malloc_large),
        and the item's address."""
        if name not in self._vars:
            raise InvalidArgument(f'unknown variable "{name}"')
        st, zn, item = self._core.var_info(self._vars[name])
        slots = {v: k for k, v in self._zones.items()}
        return ({VAR_UNSET: "unset", VAR_HELD: "held", VAR_NULL: "null",
                 VAR_FREED: "freed"}[st], slots.get(zn), item)

    def mutexes(self) -> dict[str, str | None]:
        """Every program mutex (`lock MTX`) and the thread that owns it now
        (None: unowned), in the order they were first named."""
        owner = self._core.mtx_owner
        return {name: self._thread_name(owner(mid))
                for name, mid in sorted(self._mtx.items(), key=lambda kv: kv[1])}

    @property
    def variable_names(self) -> list[str]:
        """The program variables, in the order they were first named."""
        return list(self._var_names)

    @property
    def thread_names(self) -> list[str]:
        """Every thread by tid (kernel threads included)."""
        return list(self._names)

    def thread_name(self, tid: int) -> str | None:
        """The name of thread `tid` (None for -1, "kernel" for the kernel's
        own context)."""
        return self._thread_name(tid)

    @property
    def zone_names(self) -> list[str]:
        """The zones that scenarios and programs named, in slot order
        (destroyed ones included)."""
        return sorted(self._zones, key=self._zones.get)

    def thread_id(self, name: str) -> int:
        """The tid of thread `name`."""
        return self._tid(name)

    @property
    def variable_ids(self) -> dict[str, int]:
        """Every program variable's id in the core, by name."""
        return dict(self._vars)

    @property
    def zone_slots(self) -> dict[str, int]:
        """The core's slot of every zone a scenario or program named."""
        return dict(self._zones)

    @property
    def core(self):
        """The bindings' handle on this simulation (umasim.bindings.Core),
        for the read-only views and the engine."""
        return self._core

    def set_digest_interval(self, every: int) -> None:
        """Record a digest of the whole state every `every` steps (0: never)."""
        self._core.set_digest_interval(_int(every, "every"))

    def digests(self) -> list[tuple[int, str]]:
        """(step, digest) recorded so far."""
        return [(step, f"{d:016x}") for step, d in self._core.digests()]

    @property
    def console(self) -> list[str]:
        return self._core.console()

    @property
    def ndecisions(self) -> int:
        """How many decisions were taken so far."""
        return self._core.ndecisions()

    @property
    def decisions(self) -> list[int]:
        """Every decision taken so far, in canonical machine form."""
        return self._core.decisions(0)

    @property
    def panic(self) -> str | None:
        return self._core.panic()

    @property
    def host_fault(self) -> HostFault | None:
        """The SIGSEGV or SIGBUS that ended the simulation (outcome
        "host_fault"): thread, point, step, signal, address and where it
        lies; None without one."""
        return self._core.host_fault()

    @property
    def outcome(self) -> str:
        return self._core.outcome()

    @property
    def ticks(self) -> int:
        return self._core.ticks()

    @property
    def steps(self) -> int:
        return self._core.steps()

    def digest(self) -> str:
        """A hash of the whole simulator state, equal for equal states in
        every process."""
        return f"{self._core.digest():016x}"

    # ---- copies -------------------------------------------------------

    def snapshot(self) -> "Snapshot":
        """The whole state of this simulation, to go back to with restore()."""
        # The Python side's name tables as they are now (copied again on
        # restore: the Sim changes its own).
        return Snapshot(self, self._core.snapshot(),
                        (tuple(self._names), dict(self._mtx), dict(self._chan),
                         dict(self._vars), tuple(self._var_names), dict(self._zones),
                         tuple(self._recipe)))

    def _set_tables(self, tables: tuple) -> None:
        names, mtx, chan, vars_, var_names, zones_, recipe = tables
        before, self._names = self._names, list(names)
        if before != self._names:
            # In place: Sim.step's fast path holds this dict.
            self._tids.clear()
            self._tids.update({n: i for i, n in enumerate(names)})
        self._mtx, self._chan, self._vars = dict(mtx), dict(chan), dict(vars_)
        self._var_names, self._zones, self._recipe = list(var_names), dict(zones_), list(recipe)

    def restore(self, snap: "Snapshot") -> None:
        """Puts this simulation back in the state `snap` recorded (in place:
        a snapshot belongs to the Sim it was taken of)."""
        if not isinstance(snap, Snapshot):
            raise WrongType(f"restore() takes a Snapshot, not {type(snap).__name__}")
        if not snap.taken_of(self):
            raise InvalidArgument("this snapshot was taken of another simulation")
        self._core.restore(snap.core_state)
        # The snapshot's own name tables: a later snapshot may name threads
        # and variables that an earlier restore dropped or replaced.
        self._set_tables(snap.tables)

    def reset(self) -> None:
        """Back to the state right after this Sim was created (explorers
        start every run from here)."""
        self.restore(self._boot)

    def fork(self) -> "Sim":
        """An independent Sim in the same state, rebuilt by replaying this
        one's configuration, threads and decisions (the run is deterministic,
        so the replay reaches the same state)."""
        twin = Sim(**self.config)
        dec = self.decisions
        done = 0
        for at, what, args in self._recipe:
            if at > done:
                twin.run(decisions=dec[done:at], max_steps=at - done)
                done = at
            if what == "spawn":
                name, cpu, ops, repeat = args
                twin.spawn(name, cpu=cpu, ops=list(ops), repeat=repeat)
            elif what == "zdestroy":
                twin.zdestroy(args[0])
            elif what == "zone":
                name, size, mask, bits, master, cbs, maxitems = args
                if master is not None:
                    mname = next(n for n, sl in self._zones.items() if sl == master)
                    twin.zsecond(name, mname, **{k: v for k, v in cbs if v is not None})
                else:
                    twin.zcreate(name, size, mask, [n for n, b in zones.ZONE_FLAGS.items()
                                                    if bits & b], max=maxitems,
                                 **{k: v for k, v in cbs if v is not None})
            elif what == "migrate":
                twin.migrate(*args)
        if len(dec) > done:
            twin.run(decisions=dec[done:], max_steps=len(dec) - done)
        if twin.digest() != self.digest():
            raise Nondeterministic("fork: the replayed copy's state differs from this one's "
                               f"({twin.digest()} != {self.digest()}); the run was not "
                               "deterministic")
        return twin


def _thread_id(tids: dict[str, int], name) -> int:
    """The tid of thread `name` in `tids`, or the error that says why not."""
    try:
        return tids[name]
    except (KeyError, TypeError):
        if not isinstance(name, str):
            raise WrongType(f"a thread is named by a string, not {type(name).__name__}") from None
        raise InvalidArgument(f'unknown thread "{name}"') from None


class Snapshot:
    """A saved state of one Sim (see Sim.snapshot): the core's copy and the
    Sim's name tables as they were."""

    __slots__ = ("_sim", "core_state", "tables")

    def __init__(self, sim: "Sim", core_state, tables: tuple):
        # A weak reference: the Sim keeps its boot snapshot, and a cycle
        # would hold every Sim (and its arena) until the cyclic GC ran.
        self._sim = weakref.ref(sim)
        self.core_state = core_state
        self.tables = tables

    def taken_of(self, sim: "Sim") -> bool:
        """Whether this snapshot was taken of `sim`."""
        return self._sim() is sim
