"""Sim: one simulated machine, driven step by step from Python.

All state lives in the C core (umasim._core); this module validates
arguments, resolves names to ids and turns what the core reports into
Python values.  Nothing here depends on host addresses, hash seeds or wall
time: the same calls give the same results in every process.
"""

from __future__ import annotations

import operator
import weakref
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from . import program, zones
from ._core import ffi, lib
from .errors import InvariantViolation, ScheduleError, SimBusy, SimPanicked
from .zones import Zone

POINTS: tuple[str, ...] = tuple(
    ffi.string(lib.umasim_point_name(i)).decode() for i in range(lib.umasim_npoints()))
POINT_FUNCS: tuple[str, ...] = tuple(
    ffi.string(lib.umasim_point_func(i)).decode() for i in range(lib.umasim_npoints()))
POINT_LINES: tuple[int, ...] = tuple(
    lib.umasim_point_line(i) for i in range(lib.umasim_npoints()))
OPCODES: dict[str, int] = {
    ffi.string(lib.umasim_op_name(i)).decode(): i for i in range(lib.umasim_nopcodes())}
EVENT_KINDS: tuple[str, ...] = tuple(
    ffi.string(lib.umasim_evkind_name(i)).decode() for i in range(lib.umasim_nevkinds()))

OUTCOMES = {lib.UMASIM_OUT_RUNNING: "running", lib.UMASIM_OUT_COMPLETED: "completed",
            lib.UMASIM_OUT_DEADLOCK: "deadlock", lib.UMASIM_OUT_PANIC: "panic",
            lib.UMASIM_OUT_STEP_LIMIT: "step_limit"}
STATES = {lib.UMASIM_TS_RUNNABLE: "runnable", lib.UMASIM_TS_BLOCKED: "blocked",
          lib.UMASIM_TS_SLEEPING: "asleep", lib.UMASIM_TS_WAITVAR: "waiting",
          lib.UMASIM_TS_FINISHED: "finished", lib.UMASIM_TS_PANICKED: "panicked"}
POLICIES = {"sequential": lib.UMASIM_POL_SEQUENTIAL, "roundrobin": lib.UMASIM_POL_ROUNDROBIN,
            "random": lib.UMASIM_POL_RANDOM, "pct": lib.UMASIM_POL_PCT,
            "script": lib.UMASIM_POL_SCRIPT}
TRACE_LEVELS = {"off": lib.UMASIM_TRACE_OFF, "decisions": lib.UMASIM_TRACE_DECISIONS,
                "full": lib.UMASIM_TRACE_FULL}
GRANULARITIES = {"coarse": lib.UMASIM_GRAN_COARSE, "fine": lib.UMASIM_GRAN_FINE}
KNOWN_BUGS: dict[str, int] = {
    ffi.string(lib.umasim_bug_name(i)).decode(): lib.umasim_bug_bit(i)
    for i in range(lib.umasim_nbugs())}
DISPLAY_BASE = 0xfffff80000000000
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


@dataclass
class RunResult:
    """What one Sim.run() call did."""
    outcome: str
    steps: int
    decisions: list[int]
    panic: str | None = None
    ticks: int = 0
    waiting: list[str] = field(default_factory=list)

    @property
    def preemptions(self) -> int:
        return sum(1 for d in self.decisions if d != 0)


def _int(value, what: str, low: int | None = 0, high: int | None = None) -> int:
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an integer, not bool")
    if not isinstance(value, int):
        try:
            value = operator.index(value)
        except TypeError:
            raise TypeError(f"{what} must be an integer, not {type(value).__name__}") from None
    if low is not None and value < low:
        if low == 0:
            raise ValueError(f"{what} must not be negative, not {value}")
        raise ValueError(f"{what} must be at least {low}, not {value}")
    if high is not None and value > high:
        raise ValueError(f"{what} must be at most {high}, not {value}")
    return value


def _bool(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be true or false, not {type(value).__name__}")
    return value


def _choice(value, what: str, table: dict) -> int:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    if value not in table:
        raise ValueError(f"unknown {what} {value!r} (one of: {', '.join(table)})")
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
        return self._sim._thread_info(self.tid)

    @property
    def state(self) -> str:
        return self.info.state

    def __repr__(self) -> str:
        i = self.info
        return f"<Thread {self.name} tid={self.tid} cpu={i.cpu} {i.describe()}>"


class Sim:
    """A simulated machine: vCPUs, threads, virtual time (and later VM, UMA).

    Keyword arguments are those of design.md; `trace` picks how much the
    run records ("full": every event; "decisions": decisions only; "off").
    """

    def __init__(self, cpus: int = 2, pages: int = 256, kmem_pages: int = 1024,
                 free_min: int = 0, boot_pages: int = 48, md_small_alloc: bool = False,
                 pagedaemon: bool = False, ticks_per_step: int = 1,
                 granularity: str = "coarse", invariants: bool = True,
                 bugs: Iterable[str] = (), seed: int = 0, trace: str = "full",
                 align_cache="cache"):
        cfg = ffi.new("struct umasim_config *")
        cfg.cpus = _int(cpus, "cpus", 1, lib.UMASIM_MAXCPU)
        cfg.pages = _int(pages, "pages")
        cfg.kmem_pages = _int(kmem_pages, "kmem_pages", 1)
        cfg.free_min = _int(free_min, "free_min")
        cfg.boot_pages = _int(boot_pages, "boot_pages")
        cfg.md_small_alloc = _bool(md_small_alloc, "md_small_alloc")
        cfg.pagedaemon = _bool(pagedaemon, "pagedaemon")
        cfg.ticks_per_step = _int(ticks_per_step, "ticks_per_step")
        cfg.granularity = _choice(granularity, "granularity", GRANULARITIES)
        cfg.invariants = _bool(invariants, "invariants")
        cfg.seed = _int(seed, "seed", 0, 2**64 - 1)
        cfg.trace_level = _choice(trace, "trace level", TRACE_LEVELS)
        # uma_set_align() at boot; "cache" (UMA_ALIGN_CACHE) it ignores.
        cfg.align_cache = zones.parse_align(align_cache)
        if isinstance(bugs, str):
            raise TypeError("bugs must be a list of names, not a string")
        bugs = tuple(bugs)
        for b in bugs:
            if not isinstance(b, str):
                raise TypeError(f"a bug switch is a name, not {type(b).__name__}")
            if b not in KNOWN_BUGS:
                raise ValueError(f"unknown bug switch {b!r} (known: {', '.join(KNOWN_BUGS)})")
            cfg.bugs |= KNOWN_BUGS[b]
        err = ffi.new("char[]", 256)
        ptr = lib.umasim_new(cfg, err, 256)
        if ptr == ffi.NULL:
            raise ValueError(ffi.string(err).decode())
        self._s = ffi.gc(ptr, lib.umasim_free)
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
        self._step_fn = lib.umasim_step
        self._boot = self.snapshot()

    # ---- threads ------------------------------------------------------

    def _sync_threads(self) -> None:
        for tid in range(len(self._names), lib.umasim_nthreads(self._s)):
            info = ffi.new("struct umasim_thread_info *")
            lib.umasim_thread_info(self._s, tid, info)
            name = ffi.string(info.name).decode()
            self._names.append(name)
            self._tids[name] = tid

    def spawn(self, name: str, cpu: int = 0, ops: Sequence[str] = (), repeat: int = 1) -> Thread:
        """Creates a thread on vCPU `cpu` that runs `ops`, `repeat` times."""
        if not isinstance(name, str):
            raise TypeError(f"a thread name is a string, not {type(name).__name__}")
        if not name or len(name) > 31 or not name.isprintable() or " " in name:
            raise ValueError(f"bad thread name {name!r} (1 to 31 printable characters, no spaces)")
        if name in self._tids:
            raise ValueError(f'thread "{name}" already exists')
        cpu = _int(cpu, "cpu")
        if cpu >= self.cpus:
            raise ValueError(f"vCPU {cpu} does not exist (this simulation has {self.cpus})")
        repeat = _int(repeat, "repeat")
        if isinstance(ops, str):
            raise TypeError("ops must be a list of operation strings, not one string")
        ops = list(ops)
        parsed = []
        for i, text in enumerate(ops):
            try:
                parsed.append(program.parse_op(text))
            except (ValueError, TypeError) as e:
                raise type(e)(f"ops[{i}]: {e}") from None
        cops = self._compile(parsed, repeat)
        n = len(cops)
        arr = ffi.new("struct umasim_op[]", max(n, 1))
        for i, (code, a, sa, b, sb, c, flags) in enumerate(cops):
            arr[i].code, arr[i].a, arr[i].a_stride = code, a, sa
            arr[i].b, arr[i].b_stride, arr[i].c, arr[i].flags = b, sb, c, flags
        unrolled = bool(cops) and len(cops) != len(parsed)
        tid = lib.umasim_spawn(self._s, name.encode(), cpu, arr, n, 1 if unrolled else repeat)
        if tid < 0:
            self._raise(tid)
        self._recipe.append((lib.umasim_ndecisions(self._s), "spawn",
                             (name, cpu, tuple(ops), repeat)))
        self._names.append(name)
        self._tids[name] = tid
        return Thread(self, name, tid)

    def _compile(self, parsed: list[program.ParsedOp], repeat: int) -> list[tuple]:
        """Resolves names; operands with "{i}" become base + stride * i, or
        the program is unrolled when they do not follow such a line."""
        try:
            return [self._compile_op(op, repeat, None) for op in parsed]
        except _Unroll:
            return [self._compile_op(op, repeat, i) for i in range(repeat) for op in parsed]

    def _compile_op(self, op: program.ParsedOp, repeat: int, it: int | None) -> tuple:
        spec = program.SPECS[op.name]
        vals: list[tuple[int, int]] = []
        kinds = [k.rstrip("?") for k in spec.operands]
        for kind, word in zip(kinds, op.operands):
            vals.append(self._operand(kind, word, repeat, it))
        if op.output is not None:
            vals.append(self._operand("var", op.output, repeat, it))
        flags = self._op_flags(op)
        if op.name == "zcreate":
            size = _int(int(op.keywords["size"]) if op.keywords["size"].isdigit()
                        else op.keywords["size"], "size", 1, 1 << 24)
            vals.append((size, 0))
            vals.append((zones.parse_align(op.keywords.get("align", "ptr")), 0))
            flags = zones.parse_flags(op.keywords.get("flags", ""))
        elif op.name == "zsecond":
            vals.append((self._zone_slot(op.keywords["master"]), 0))
        while len(vals) < 3:
            vals.append((0, 0))
        return (OPCODES[op.name], vals[0][0], vals[0][1], vals[1][0], vals[1][1],
                vals[2][0], flags)

    def _op_flags(self, op: program.ParsedOp) -> int:
        return sum(program.FLAG_BITS[f] for f in op.flags)

    def _zone_slot(self, name: str) -> int:
        if not isinstance(name, str):
            raise TypeError(f"a zone is named by a string, not {type(name).__name__}")
        if name not in self._zones:
            if not name or len(name) > 31 or not program._NAME.match(name.replace("{i}", "i")):
                raise ValueError(f"bad zone name {name!r}")
            r = lib.umasim_zone_new(self._s, name.encode())
            if r < 0:
                if r == lib.UMASIM_E_TOOMANY:
                    raise ValueError("too many zones in one simulation (64 at most)")
                self._raise(r)
            self._zones[name] = r
        return self._zones[name]

    # ---- zones --------------------------------------------------------

    def zcreate(self, name: str, size: int, align="ptr", flags=(), *, max: int | None = None,
                ctor=None, dtor=None, init=None, fini=None, zinit=None, zfini=None,
                allocf=None, freef=None) -> Zone:
        """uma_zcreate() now, outside the schedule (as a scenario's [[zone]]).
        Callbacks are the built-in behaviours of design.md."""
        size = _int(size, "size", 1, 1 << 24)
        mask = zones.parse_align(align)
        bits = zones.parse_flags(flags)
        cbs = dict(ctor=ctor, dtor=dtor, init=init, fini=fini, zinit=zinit, zfini=zfini,
                   allocf=allocf, freef=freef)
        return self._create_zone(name, size, mask, bits, None, cbs, max)

    def zsecond(self, name: str, master: str, *, ctor=None, dtor=None, zinit=None,
                zfini=None) -> Zone:
        """uma_zsecond_create() on `master`'s keg, now."""
        if master not in self._zones or lib.umasim_zone_state(self._s, self._zones[master]) != 1:
            raise ValueError(f'master zone "{master}" does not exist')
        cbs = dict(ctor=ctor, dtor=dtor, zinit=zinit, zfini=zfini)
        return self._create_zone(name, 0, 0, 0, self._zones[master], cbs, None)

    def _create_zone(self, name, size, mask, bits, master, cbs, maxitems) -> Zone:
        if name in self._zones and lib.umasim_zone_state(self._s, self._zones[name]) == 1:
            raise ValueError(f'zone "{name}" exists already')
        parsed = []
        for slot, text in cbs.items():
            if text is not None:
                parsed.append(zones.parse_callback(slot, text))
        kinds = {c.slot: c for c in parsed}
        for fin, ini in (("fini", "init"), ("zfini", "zinit")):
            if fin in kinds and kinds[fin].kind == "detach" and \
                    (ini not in kinds or kinds[ini].kind != "attach"):
                raise ValueError(f"{fin} = 'detach' needs {ini} = 'attach ZONE'")
        targets = {}
        for c in parsed:
            if c.kind == "attach":
                if c.target == name:
                    raise ValueError(f"{c.slot}: a zone cannot attach its own items")
                if c.target not in self._zones or \
                        lib.umasim_zone_state(self._s, self._zones[c.target]) != 1:
                    raise ValueError(f'{c.slot}: unknown zone "{c.target}"')
                targets[c.slot] = self._zones[c.target]
        if maxitems is not None:
            maxitems = _int(maxitems, "max", 1, 2**31 - 1)
        slot = self._zone_slot(name)
        for c in parsed:
            r = lib.umasim_zone_callback(self._s, slot, zones.CB_SLOTS[c.slot],
                                         zones.CB_KINDS[c.kind], c.n, targets.get(c.slot, -1))
            if r < 0:
                self._raise(r)
        r = lib.umasim_zcreate(self._s, slot, -1 if master is None else master, size, mask,
                               bits, maxitems or 0)
        if r < 0:
            self._raise(r)
        self._recipe.append((lib.umasim_ndecisions(self._s), "zone",
                             (name, size, mask, bits, master, tuple(cbs.items()), maxitems)))
        return Zone(self, name, slot)

    def zdestroy(self, name: str) -> None:
        """uma_zdestroy() now, outside the schedule; the name may be used
        for a new zone afterwards."""
        if name not in self._zones or lib.umasim_zone_state(self._s, self._zones[name]) != 1:
            raise ValueError(f'zone "{name}" does not exist')
        r = lib.umasim_zdestroy(self._s, self._zones[name])
        if r < 0:
            self._raise(r)
        self._recipe.append((lib.umasim_ndecisions(self._s), "zdestroy", (name,)))

    def zone(self, name: str) -> Zone:
        """A zone of the scenario or its programs, by name."""
        if name not in self._zones:
            raise ValueError(f'unknown zone "{name}"')
        return Zone(self, name, self._zones[name])

    @property
    def zones(self) -> dict[str, Zone]:
        """Every zone UMA has now (internal, malloc(9) and the scenario's),
        in the order of the keg list, by name."""
        buf = ffi.new("struct umasim_zone_info[]", 256)
        n = lib.umasim_zones(self._s, buf, 256)
        out = {}
        for i in range(min(n, 256)):
            name = ffi.string(buf[i].name).decode()
            slot = buf[i].slot if buf[i].slot >= 0 else None
            out[name] = Zone(self, name, slot, buf[i].addr)
        return out

    def zone_stats(self) -> bytes:
        """The vm.zone_stats sysctl stream (struct uma_stream_header, then
        uma_type_header and per-CPU uma_percpu_stat records), read without
        changing the simulation."""
        n = ffi.new("size_t *", 0)
        lib.umasim_zone_stats(self._s, ffi.NULL, n)
        buf = ffi.new("char[]", n[0])
        if lib.umasim_zone_stats(self._s, buf, n) < 0:
            raise RuntimeError("zone_stats changed size while being read")
        return ffi.buffer(buf, n[0])[:]

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
        u = ffi.new("struct umasim_uma_info *")
        lib.umasim_uma_globals(self._s, u)
        return dict(bucketdisable=bool(u.bucketdisable), booted=bool(u.booted),
                    max_ipers=u.max_ipers, max_ipers_ref=u.max_ipers_ref,
                    free_pages=u.free_pages, free_min=u.free_min, wired_pages=u.wired_pages,
                    kmem_used=u.kmem_used, kmem_pages=u.kmem_pages)

    def check(self) -> None:
        """The invariant checker: raises InvariantViolation naming the zone,
        the item and what is wrong."""
        rep = ffi.new("struct umasim_check_report *")
        if lib.umasim_check(self._s, rep) != 0:
            raise InvariantViolation(ffi.string(rep.message).decode())

    def _operand(self, kind: str, word: str | int, repeat: int, it: int | None) -> tuple[int, int]:
        if word is None:
            return (self._resolve(kind, None), 0)
        if it is not None or isinstance(word, int) or program.TEMPLATE not in word:
            w = program.expand(word, it or 0)
            return (self._resolve(kind, w), 0)
        values = [self._resolve(kind, program.expand(word, i)) for i in range(max(repeat, 1))]
        stride = values[1] - values[0] if len(values) > 1 else 0
        if any(values[i] != values[0] + stride * i for i in range(len(values))):
            raise _Unroll()
        return (values[0], stride)

    def _resolve(self, kind: str, w: str | int | None) -> int:
        if kind == "zone":
            return -1 if w is None else self._zone_slot(str(w))
        if kind == "int":
            if not isinstance(w, int):
                raise ValueError(f"bad number {w!r}")
            return w
        if kind == "mtx":
            return self._named(self._mtx, w, lib.umasim_mtx_new)
        if kind == "chan":
            return self._named(self._chan, w, lib.umasim_chan_new)
        if kind == "var":
            if w not in self._vars:
                vid = lib.umasim_var_new(self._s, w.encode())
                if vid < 0:
                    self._raise(vid)
                self._vars[w] = vid
                self._var_names.append(w)
            return self._vars[w]
        raise ValueError(f"unknown operand kind {kind}")

    def _named(self, table: dict[str, int], name, create) -> int:
        if not isinstance(name, str):
            name = str(name)
        if name not in table:
            r = create(self._s, name.encode())
            if r < 0:
                self._raise(r)
            table[name] = r
        return table[name]

    def _thread_name(self, tid: int) -> str | None:
        if tid < 0:
            return None
        return self._names[tid] if tid < len(self._names) else "kernel"

    def _tid(self, name: str) -> int:
        try:
            return self._tids[name]
        except (KeyError, TypeError):
            if not isinstance(name, str):
                raise TypeError(f"a thread is named by a string, not {type(name).__name__}") from None
            raise ValueError(f'unknown thread "{name}"') from None

    # ---- stepping -----------------------------------------------------

    def step(self, name: str | None = None) -> str:
        """Runs one step (of `name`, else the default decision); returns the
        preemption point the thread stopped at."""
        r = self._step_fn(self._s, -1 if name is None else self._tid(name))
        if r >= 0:
            return POINTS[r]
        self._raise(r)

    def migrate(self, name: str, cpu: int) -> None:
        """Migrates `name` to `cpu` as part of its next step."""
        tid = self._tid(name)
        cpu = _int(cpu, "cpu")
        if cpu >= self.cpus:
            raise ValueError(f"vCPU {cpu} does not exist (this simulation has {self.cpus})")
        r = lib.umasim_migrate(self._s, tid, cpu)
        if r < 0:
            self._raise(r)
        self._recipe.append((lib.umasim_ndecisions(self._s), "migrate", (name, cpu)))

    def run(self, policy: str | None = None, seed: int = 0, migrate: float = 0.0,
            depth: int = 3, steps_hint: int = 0, steps: Sequence[str] | None = None,
            decisions: Sequence[int] | None = None, then: str = "sequential",
            max_steps: int | None = None) -> RunResult:
        """Runs until every thread is done, a deadlock, a panic or max_steps.

        policy: sequential (default), roundrobin, random, pct, or script
        (implied by `steps` or `decisions`).  `steps` is the human form
        ("a", "b@1"), `decisions` the machine form of design.md.
        """
        if steps is not None and decisions is not None:
            raise ValueError("give steps or decisions, not both")
        scripted = steps is not None or decisions is not None
        if policy is None:
            policy = "script" if scripted else "sequential"
        kind = _choice(policy, "policy", POLICIES)
        if scripted and policy != "script":
            raise ValueError(f"steps and decisions need policy 'script', not {policy!r}")
        if policy == "script" and not scripted:
            raise ValueError("policy 'script' needs steps or decisions")
        max_steps = DEFAULT_MAX_STEPS if max_steps is None else _int(max_steps, "max_steps")
        pol = ffi.new("struct umasim_policy *")
        pol.kind = kind
        pol.seed = _int(seed, "seed", 0, 2**64 - 1)
        if isinstance(migrate, bool) or not isinstance(migrate, (int, float)):
            raise TypeError("migrate must be a number between 0 and 1")
        if not 0.0 <= migrate <= 1.0:
            raise ValueError(f"migrate must be between 0 and 1, not {migrate}")
        pol.migrate = float(migrate)
        pol.depth = _int(depth, "depth", 1, 16)
        pol.steps_hint = _int(steps_hint, "steps_hint")
        keep = []
        if policy == "pct" and pol.steps_hint == 0:
            pol.steps_hint = max(1, self._estimate_steps(max_steps))
        if decisions is not None:
            if isinstance(decisions, (str, bytes)):
                raise TypeError("decisions must be a list of integers")
            dec = [_int(d, f"decisions[{i}]", 0, 2**32 - 1) for i, d in enumerate(decisions)]
            arr = ffi.new("uint32_t[]", dec or [0])
            keep.append(arr)
            pol.decisions, pol.ndecisions = arr, len(dec)
        if steps is not None:
            if isinstance(steps, (str, bytes)):
                raise TypeError("steps must be a list of strings")
            tids, cpus = [], []
            for i, st in enumerate(steps):
                t, c = self._parse_step(st, i)
                tids.append(t)
                cpus.append(c)
            at = ffi.new("int32_t[]", tids or [0])
            ac = ffi.new("int32_t[]", cpus or [0])
            keep += [at, ac]
            pol.script_tids, pol.script_cpus, pol.nscript = at, ac, len(tids)
        pol.then_kind = _choice(then, "then policy", POLICIES)
        if policy == "script" and then in ("script", "pct"):
            raise ValueError(f"then must be sequential, roundrobin or random, not {then!r}")
        start_steps = lib.umasim_steps(self._s)
        start_dec = lib.umasim_ndecisions(self._s)
        r = lib.umasim_run(self._s, pol, max_steps)
        if r == lib.UMASIM_E_INVAL:
            raise ValueError("invalid policy parameters")
        if r == lib.UMASIM_E_SCRIPT:
            raise ScheduleError(ffi.string(lib.umasim_error_msg(self._s)).decode())
        if r < 0:
            self._raise(r)
        dec = self._decisions_from(start_dec)
        res = RunResult(outcome=OUTCOMES[r], steps=lib.umasim_steps(self._s) - start_steps,
                        decisions=dec, panic=self.panic, ticks=self.ticks)
        if res.outcome == "deadlock":
            res.waiting = [f"{t.name}: {t.describe()}" for t in self.threads
                           if not t.kernel and t.state not in ("finished",)]
        return res

    def _parse_step(self, st, i: int) -> tuple[int, int]:
        if not isinstance(st, str):
            raise TypeError(f"steps[{i}] must be a string like 'a' or 'a@1'")
        name, _, cpu = st.partition("@")
        if name not in self._tids:
            raise ValueError(f'steps[{i}]: unknown thread "{name}"')
        if not _:
            return self._tids[name], -1
        if not cpu.isdigit():
            raise ValueError(f"steps[{i}]: bad vCPU {cpu!r} in {st!r}")
        if int(cpu) >= self.cpus:
            raise ValueError(f"steps[{i}]: vCPU {cpu} does not exist (this simulation has {self.cpus})")
        return self._tids[name], int(cpu)

    def _estimate_steps(self, max_steps: int) -> int:
        """PCT's run-length estimate: a sequential run of an equal Sim."""
        twin = self.fork()
        return twin.run(max_steps=max_steps).steps

    def _decisions_from(self, start: int) -> list[int]:
        n = lib.umasim_ndecisions(self._s)
        if n <= start:
            return []
        return list(ffi.unpack(lib.umasim_decisions(self._s) + start, n - start))

    def _raise(self, code: int):
        if code == lib.UMASIM_E_PANICKED:
            raise SimPanicked(f"the simulation panicked ({self.panic}); "
                              "it can be inspected but not run further")
        if code == lib.UMASIM_E_BUSY:
            raise SimBusy("another host thread is driving this simulation")
        if code == lib.UMASIM_E_NOTHREAD:
            raise ValueError("no such thread")
        if code == lib.UMASIM_E_TOOMANY:
            raise ValueError("too many objects of this kind in one simulation")
        if code == lib.UMASIM_E_NOMEM:
            raise MemoryError("out of host memory")
        if code == lib.UMASIM_E_NOTRUNNABLE:
            raise ValueError(ffi.string(lib.umasim_error_msg(self._s)).decode())
        raise ValueError(f"invalid argument (error {code})")

    # ---- inspection ---------------------------------------------------

    def _thread_info(self, tid: int) -> ThreadInfo:
        i = ffi.new("struct umasim_thread_info *")
        if lib.umasim_thread_info(self._s, tid, i) < 0:
            raise ValueError("no such thread")
        s = lambda p: ffi.string(p).decode() if p != ffi.NULL else None  # noqa: E731
        wchan = None
        if i.state == lib.UMASIM_TS_SLEEPING:
            wchan = s(i.wchan_name) or f"{i.wchan:#x}"
        owner = self._names[i.mutex_owner] if i.mutex_owner >= 0 else None
        var = self._var_names[i.var] if 0 <= i.var < len(self._var_names) else None
        return ThreadInfo(
            name=s(i.name), tid=i.tid, state=STATES[i.state], cpu=i.cpu,
            critnest=i.critnest, kernel=bool(i.kernel), point=POINTS[i.point],
            op=i.op_index, iteration=i.iteration, wmesg=s(i.wmesg), wchan=wchan,
            mutex=s(i.mutex_name), mutex_owner=owner, var=var,
            timeout=i.timeout if i.timeout >= 0 else None, locks=i.nlocks)

    @property
    def threads(self) -> list[ThreadInfo]:
        return [self._thread_info(t) for t in range(lib.umasim_nthreads(self._s))]

    def thread(self, name: str) -> ThreadInfo:
        return self._thread_info(self._tid(name))

    def runnable(self) -> list[str]:
        """Names of the threads that could run at the next step, in tid order."""
        buf = ffi.new("int32_t[]", lib.UMASIM_MAXTHREADS)
        n = lib.umasim_runnable(self._s, buf, lib.UMASIM_MAXTHREADS)
        return [self._names[buf[i]] for i in range(n)]

    @property
    def events(self) -> list[Event]:
        n = lib.umasim_nevents(self._s)
        evs = lib.umasim_events(self._s)
        names = self._names
        out = []
        for k in range(n):
            e = evs[k]
            out.append(Event(e.step, e.tick, EVENT_KINDS[e.kind],
                             self._thread_name(e.tid), e.cpu,
                             POINTS[e.point] if e.point >= 0 else None,
                             e.a & 0xFFFFFFFFFFFFFFFF, e.b))
        return out

    def event_counts(self) -> dict[str, int]:
        n = lib.umasim_nevents(self._s)
        evs = lib.umasim_events(self._s)
        counts = [0] * len(EVENT_KINDS)
        for k in range(n):
            counts[evs[k].kind] += 1
        return {EVENT_KINDS[i]: c for i, c in enumerate(counts) if c}

    def variables(self) -> dict[str, str]:
        """Every program variable and what it holds now."""
        st, zn, it = ffi.new("int *"), ffi.new("int *"), ffi.new("uint64_t *")
        slots = {v: k for k, v in self._zones.items()}
        out = {}
        for name, vid in sorted(self._vars.items(), key=lambda kv: kv[1]):
            if lib.umasim_var_info(self._s, vid, st, zn, it) < 0:
                continue
            src = {-1: "malloc(9)", -2: "kmem_alloc", -3: "malloc_large"}.get(
                zn[0], f"zone {slots.get(zn[0], '?')}")
            out[name] = {0: "unset", 1: f"holds {it[0]:#x} from {src}", 2: "null",
                         3: f"freed ({it[0]:#x}, {src})"}[st[0]]
        return out

    def set_digest_interval(self, every: int) -> None:
        """Record a digest of the whole state every `every` steps (0: never)."""
        lib.umasim_set_digest_interval(self._s, _int(every, "every"))

    def digests(self) -> list[tuple[int, str]]:
        """(step, digest) recorded so far."""
        n = lib.umasim_ndigests(self._s)
        d = lib.umasim_digests(self._s)
        return [(d[i].step, f"{d[i].digest:016x}") for i in range(n)]

    @property
    def console(self) -> list[str]:
        return [ffi.string(lib.umasim_console_line(self._s, i)).decode(errors="replace")
                for i in range(lib.umasim_nconsole(self._s))]

    @property
    def decisions(self) -> list[int]:
        """Every decision taken so far, in canonical machine form."""
        return self._decisions_from(0)

    @property
    def panic(self) -> str | None:
        p = lib.umasim_panic_msg(self._s)
        return ffi.string(p).decode(errors="replace") if p != ffi.NULL else None

    @property
    def outcome(self) -> str:
        return OUTCOMES[lib.umasim_outcome(self._s)]

    @property
    def ticks(self) -> int:
        return lib.umasim_ticks(self._s)

    @property
    def steps(self) -> int:
        return lib.umasim_steps(self._s)

    def digest(self) -> str:
        """A hash of the whole simulator state, equal for equal states in
        every process."""
        return f"{lib.umasim_digest(self._s):016x}"

    # ---- copies -------------------------------------------------------

    def snapshot(self) -> "Snapshot":
        """The whole state of this simulation, to go back to with restore()."""
        ptr = lib.umasim_snapshot(self._s)
        if ptr == ffi.NULL:
            raise MemoryError("cannot take a snapshot (out of host memory, or busy)")
        return Snapshot(self, ffi.gc(ptr, lib.umasim_snapshot_free),
                        tuple(self._names), dict(self._mtx), dict(self._chan),
                        dict(self._vars), tuple(self._var_names), list(self._recipe),
                        dict(self._zones))

    def restore(self, snap: "Snapshot") -> None:
        """Puts this simulation back in the state `snap` recorded (in place:
        a snapshot belongs to the Sim it was taken of)."""
        if not isinstance(snap, Snapshot):
            raise TypeError(f"restore() takes a Snapshot, not {type(snap).__name__}")
        if snap._sim() is not self:
            raise ValueError("this snapshot was taken of another simulation")
        r = lib.umasim_restore(self._s, snap._ptr)
        if r < 0:
            self._raise(r)
        # The snapshot's own name tables: a later snapshot may name threads
        # and variables that an earlier restore dropped or replaced.
        self._names = list(snap._names)
        self._tids = {n: i for i, n in enumerate(self._names)}
        self._mtx, self._chan = dict(snap._mtx), dict(snap._chan)
        self._vars = dict(snap._vars)
        self._zones = dict(snap._zones)
        self._var_names = list(snap._var_names)
        self._recipe = list(snap._recipe)

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
            raise RuntimeError("fork: the replayed copy's state differs from this one's "
                               f"({twin.digest()} != {self.digest()}); the run was not "
                               "deterministic")
        return twin


class _Unroll(Exception):
    pass


class Snapshot:
    """A saved state of one Sim (see Sim.snapshot)."""

    __slots__ = ("_sim", "_ptr", "_names", "_mtx", "_chan", "_vars", "_var_names", "_recipe",
                 "_zones")

    def __init__(self, sim, ptr, names, mtx, chan, vars_, var_names, recipe, zones_):
        # A weak reference: the Sim keeps its boot snapshot, and a cycle
        # would hold every Sim (and its arena) until the cyclic GC ran.
        self._sim, self._ptr, self._names = weakref.ref(sim), ptr, names
        self._mtx, self._chan, self._vars, self._var_names = mtx, chan, vars_, var_names
        self._recipe, self._zones = recipe, zones_
