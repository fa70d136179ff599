"""The bindings: the only Python code that touches the compiled C core
(umasim._core, built by umasim/bindings/build.py from csrc/).

Everything the rest of the package knows of the core comes through here:

- tables read from C at import: preemption points (with their function
  and FreeBSD 7 line), race windows, operation codes, event kinds, known-bug switches,
  and the named constants of csrc/vm/uma_consts.c (zone flags, callback
  slots and behaviours, operation flags, limits, the layout of the
  vm.zone_stats records);
- `Core`, a handle on one simulation whose methods take and return plain
  Python values;
- `port_sources()`, the text of the port's C files as this module was
  built from them, and where each preemption point stands in them;
- `raise_for(code)`, which turns each error code of the core into the
  matching `umasim.Error` subclass.

Neither the FFI object nor the library object leaves this module.
"""

from __future__ import annotations

import sys
from array import array
from dataclasses import dataclass, field
from typing import NamedTuple, Sequence

from umasim import _core
from umasim.errors import (HostMemory, InvalidArgument, NoSuchThread, NotRunnable,
                           ScheduleError, SimBusy, SimFaulted, SimPanicked, TooMany)

_ffi, _lib = _core.ffi, _core.lib


def _str(p) -> str | None:
    return _ffi.string(p).decode(errors="replace") if p != _ffi.NULL else None


# ---- tables read from C ---------------------------------------------------------

POINTS: tuple[str, ...] = tuple(_str(_lib.umasim_point_name(i))
                                for i in range(_lib.umasim_npoints()))
POINT_FUNCS: tuple[str, ...] = tuple(_str(_lib.umasim_point_func(i))
                                     for i in range(_lib.umasim_npoints()))
POINT_LINES: tuple[int, ...] = tuple(_lib.umasim_point_line(i)
                                     for i in range(_lib.umasim_npoints()))
WINDOWS: tuple[str, ...] = tuple(_str(_lib.umasim_window_name(i))
                                 for i in range(_lib.umasim_nwindows()))
WINDOW_POINTS: tuple[str, ...] = tuple(POINTS[_lib.umasim_window_point(i)]
                                       for i in range(_lib.umasim_nwindows()))
WINDOW_FINE: tuple[bool, ...] = tuple(bool(_lib.umasim_window_fine(i))
                                      for i in range(_lib.umasim_nwindows()))
WINDOW_CLOSES: tuple[str, ...] = tuple(_str(_lib.umasim_window_closes(i))
                                       for i in range(_lib.umasim_nwindows()))
WINDOW_GIVES_UP: tuple[str, ...] = tuple(_str(_lib.umasim_window_gives_up(i))
                                         for i in range(_lib.umasim_nwindows()))
OPCODES: dict[str, int] = {_str(_lib.umasim_op_name(i)): i
                           for i in range(_lib.umasim_nopcodes())}
EVENT_KINDS: tuple[str, ...] = tuple(_str(_lib.umasim_evkind_name(i))
                                     for i in range(_lib.umasim_nevkinds()))
KNOWN_BUGS: dict[str, int] = {_str(_lib.umasim_bug_name(i)): _lib.umasim_bug_bit(i)
                              for i in range(_lib.umasim_nbugs())}
CONSTS: dict[str, int] = {_str(_lib.umasim_const_name(i)): _lib.umasim_const_value(i)
                          for i in range(_lib.umasim_nconsts())}

# The kinds of failure the core's oracle judges (csrc/kern/oracle.c), by
# code (0: none), named as properties.py's Verdict.kind.
ORACLE_KINDS: tuple[str, ...] = tuple(_str(_lib.umasim_oracle_kind_name(i)) or ""
                                      for i in range(_lib.umasim_oracle_nkinds()))
OUTCOMES = {_lib.UMASIM_OUT_RUNNING: "running", _lib.UMASIM_OUT_COMPLETED: "completed",
            _lib.UMASIM_OUT_DEADLOCK: "deadlock", _lib.UMASIM_OUT_PANIC: "panic",
            _lib.UMASIM_OUT_STEP_LIMIT: "step_limit", _lib.UMASIM_OUT_HOST_FAULT: "host_fault"}
OUTCOME_CODES = {v: k for k, v in OUTCOMES.items()}
_EV_STEP = EVENT_KINDS.index("step")
_EV_SLEEP = EVENT_KINDS.index("sleep")
STATES = {_lib.UMASIM_TS_RUNNABLE: "runnable", _lib.UMASIM_TS_BLOCKED: "blocked",
          _lib.UMASIM_TS_SLEEPING: "asleep", _lib.UMASIM_TS_WAITVAR: "waiting",
          _lib.UMASIM_TS_FINISHED: "finished", _lib.UMASIM_TS_PANICKED: "panicked",
          _lib.UMASIM_TS_FAULTED: "faulted"}
# Where a host fault's address lies (struct umasim_host_fault.where).
FAULT_WHERE = {_lib.UMASIM_FAULT_ARENA: "arena", _lib.UMASIM_FAULT_NULL: "null",
               _lib.UMASIM_FAULT_OUTSIDE: "outside"}
POLICIES = {"sequential": _lib.UMASIM_POL_SEQUENTIAL,
            "roundrobin": _lib.UMASIM_POL_ROUNDROBIN,
            "random": _lib.UMASIM_POL_RANDOM, "pct": _lib.UMASIM_POL_PCT,
            "script": _lib.UMASIM_POL_SCRIPT}
TRACE_LEVELS = {"off": _lib.UMASIM_TRACE_OFF, "decisions": _lib.UMASIM_TRACE_DECISIONS,
                "full": _lib.UMASIM_TRACE_FULL}
GRANULARITIES = {"coarse": _lib.UMASIM_GRAN_COARSE, "fine": _lib.UMASIM_GRAN_FINE}
EXPLORERS = {"random": _lib.UMASIM_EXPLORE_RANDOM, "pct": _lib.UMASIM_EXPLORE_PCT,
             "bounded": _lib.UMASIM_EXPLORE_BOUNDED, "guided": _lib.UMASIM_EXPLORE_GUIDED}

# Limits.
PAGE_SIZE: int = CONSTS["PAGE_SIZE"]
MAXCPU: int = CONSTS["UMASIM_MAXCPU"]
MAXTHREADS: int = CONSTS["UMASIM_MAXTHREADS"]
MAXZONES: int = CONSTS["UMASIM_MAXZONES"]
NAME_MAX: int = CONSTS["UMASIM_NAME_MAX"]
PCT_MAXDEPTH: int = CONSTS["UMASIM_PCT_MAXDEPTH"]
GUIDED_CORPUS_MAX: int = CONSTS["UMASIM_GUIDED_CORPUS_MAX"]
EXPLORE_KEEP_MAX: int = _lib.UMASIM_EXPLORE_KEEP_MAX
DISPLAY_BASE: int = CONSTS["UMASIM_DISPLAY_BASE"] & 0xFFFFFFFFFFFFFFFF
# The build and the process: an ASan + UBSan build, or valgrind, owns
# SIGSEGV and SIGBUS, so a host fault may not come back as an outcome.
SANITIZE: bool = bool(CONSTS["UMASIM_SANITIZE"])


_port_sources: dict | None = None


def port_sources() -> dict:
    """The port's own sources, compiled into the core at build time
    (umasim/bindings/build.py): {"files": {path under csrc/: text},
    "points": {point: [[path, line, function, how], ...]}}, `how` being
    "block" where a thread blocks and "point" where it stops.  Read once."""
    global _port_sources
    if _port_sources is None:
        import json
        import zlib
        p = _ffi.new("const unsigned char **")
        n = _lib.umasim_port_sources(p)
        _port_sources = json.loads(zlib.decompress(bytes(_ffi.buffer(p[0], n))))
    return _port_sources


def on_valgrind() -> bool:
    """Whether this process runs under valgrind (RUNNING_ON_VALGRIND)."""
    return bool(_lib.umasim_on_valgrind())

# UMA_ZONE_* flags, by the names scenarios use, and every uk_flags bit by name.
ZONE_FLAGS = {name: CONSTS["UMA_ZONE_" + name.upper()]
              for name in ("zinit", "offpage", "malloc", "nofree", "mtxclass", "vm", "hash",
                           "refcnt", "maxbucket")}
FLAG_NAMES = {CONSTS[k] & 0xFFFFFFFF: k.split("_", 2)[2].lower()
              for k in sorted(CONSTS, key=lambda k: CONSTS[k] & 0xFFFFFFFF)
              if k.startswith(("UMA_ZONE_", "UMA_ZFLAG_"))}
ZFLAG_FULL: int = CONSTS["UMA_ZFLAG_FULL"]
ZONE_MALLOC: int = CONSTS["UMA_ZONE_MALLOC"]
ALIGNS = {"char": CONSTS["UMA_ALIGN_CHAR"], "short": CONSTS["UMA_ALIGN_SHORT"],
          "int": CONSTS["UMA_ALIGN_INT"], "long": CONSTS["UMA_ALIGN_LONG"],
          "ptr": CONSTS["UMA_ALIGN_PTR"], "cache": CONSTS["UMA_ALIGN_CACHE"]}
# Zone callback slots and built-in behaviours.
CB_SLOTS = {s: CONSTS["CB_" + s.upper()]
            for s in ("ctor", "dtor", "init", "fini", "zinit", "zfini", "allocf", "freef")}
CB_KINDS = {k: CONSTS["CBK_" + k.upper()]
            for k in ("trash", "zero", "fail", "fail_every", "sleep", "attach", "detach",
                      "leak")}
# Flags of a program operation ("alloc z nowait zero -> x").
OP_FLAGS = {f: CONSTS["OPF_" + f.upper()] for f in ("nowait", "zero", "novm", "waitok")}
# A program variable's state, and where its item came from when not a zone.
VAR_UNSET, VAR_HELD, VAR_NULL, VAR_FREED = (CONSTS["VAR_UNSET"], CONSTS["VAR_HELD"],
                                            CONSTS["VAR_NULL"], CONSTS["VAR_FREED"])
VAR_SOURCES = {CONSTS["VAR_SRC_MALLOC"]: "malloc(9)", CONSTS["VAR_SRC_KMEM"]: "kmem_alloc",
               CONSTS["VAR_SRC_LARGE"]: "malloc_large"}
VAR_SRC_MALLOC: int = CONSTS["VAR_SRC_MALLOC"]


@dataclass(frozen=True)
class StatsLayout:
    """Where the fields of the vm.zone_stats records lie (uma.h)."""
    stream_header: int
    type_header: int
    percpu: int
    name_len: int
    secondary: int
    fields: dict[str, int]


ZONE_STATS = StatsLayout(
    CONSTS["sizeof uma_stream_header"], CONSTS["sizeof uma_type_header"],
    CONSTS["sizeof uma_percpu_stat"], CONSTS["UTH_MAX_NAME"], CONSTS["UTH_ZONE_SECONDARY"],
    {k.split(".", 1)[1]: v for k, v in CONSTS.items() if k.startswith("uma_")})


_M64 = 0xFFFFFFFFFFFFFFFF


def _u64(x: int) -> int:
    return x & _M64


# ---- errors ------------------------------------------------------------------

def raise_for(code: int, message: str | None = None, panic: str | None = None):
    """Raises the umasim.Error that a negative code of the core stands for."""
    if code == _lib.UMASIM_E_FAULTED:
        raise SimFaulted(f"the simulation ended in a host fault ({panic}); "
                         "it can be inspected but not run further")
    if code == _lib.UMASIM_E_PANICKED:
        raise SimPanicked(f"the simulation panicked ({panic}); "
                          "it can be inspected but not run further")
    if code == _lib.UMASIM_E_BUSY:
        raise SimBusy("another host thread is driving this simulation")
    if code == _lib.UMASIM_E_NOTHREAD:
        raise NoSuchThread("no such thread")
    if code == _lib.UMASIM_E_TOOMANY:
        raise TooMany(message or "too many objects of this kind in one simulation "
                      f"(at most {MAXTHREADS} threads, {MAXZONES} zones)")
    if code == _lib.UMASIM_E_NOMEM:
        raise HostMemory("out of host memory")
    if code == _lib.UMASIM_E_NOTRUNNABLE:
        raise NotRunnable(message or "the thread cannot take this step")
    if code == _lib.UMASIM_E_SCRIPT:
        raise ScheduleError(message or "the script asked for a step that cannot be taken")
    if code == _lib.UMASIM_E_INVAL:
        raise InvalidArgument(message or "invalid argument")
    raise InvalidArgument(f"invalid argument (error {code})")


# ---- records ------------------------------------------------------------------

class ThreadRecord(NamedTuple):
    name: str
    tid: int
    state: str
    cpu: int
    critnest: int
    kernel: bool
    point: str
    op: int
    iteration: int
    wmesg: str | None
    wchan: int
    wchan_name: str | None
    mutex: str | None
    mutex_owner: int
    var: int
    timeout: int | None
    locks: int


class HostFault(NamedTuple):
    """A SIGSEGV or SIGBUS raised while a simulated thread ran."""
    thread: str         # its name ("kernel": boot or zone work)
    tid: int
    point: str          # the point it last stopped at
    step: int           # the step it faulted in
    signal: str         # "SIGSEGV" or "SIGBUS"
    address: int | None  # display address (arena), the address (null), or None
    where: str          # "arena", "null" (below 64 KiB: NULL-based) or "outside"
    message: str


class ZoneRecord(NamedTuple):
    """One zone and its keg, as uma_inspect.c reports them."""
    addr: int
    keg: int
    name: str
    size: int
    rsize: int
    ipers: int
    ppera: int
    pgoff: int
    flags: int
    align: int
    pages: int
    keg_free: int
    maxpages: int
    limit: int
    recurse: int
    allocs: int
    frees: int
    fails: int
    zone_allocs: int
    zone_frees: int
    count: int
    fills: int
    full_buckets: int
    full_items: int
    free_buckets: int
    cache_items: int
    secondary: bool
    internal: bool
    hashsize: int
    lock_owner: int
    slot: int | None


def _zone_record(z) -> ZoneRecord:
    return ZoneRecord(_u64(z.addr), _u64(z.keg), _str(z.name), z.size, z.rsize, z.ipers,
                      z.ppera, z.pgoff, z.flags, z.align, z.pages, z.keg_free, z.maxpages,
                      z.limit, z.recurse, z.allocs, z.frees, z.fails, z.zone_allocs,
                      z.zone_frees, z.count, z.fills, z.full_buckets, z.full_items,
                      z.free_buckets, z.cache_items, bool(z.secondary), bool(z.internal),
                      z.hashsize, z.lock_owner, z.slot if z.slot >= 0 else None)


class WindowCoverage(NamedTuple):
    """One race window (csrc/kern/points.def, WINDOW): whether a thread
    entered it, whether another thread acted on the same keg while one was
    inside it, and whether a thread migrated while inside it."""
    name: str
    entered: bool
    interleaved: bool
    migrated: bool


@dataclass(frozen=True)
class Coverage:
    """Race-window and state coverage (csrc/kern/cover.c): of one
    simulation's history, or the union over an explorer's runs."""
    windows: tuple[WindowCoverage, ...]
    state_pairs: int
    state_pairs_total: int

    @property
    def windows_interleaved(self) -> int:
        return sum(1 for w in self.windows if w.interleaved)

    @property
    def never_reached(self) -> list[str]:
        """The windows no thread ever entered."""
        return [w.name for w in self.windows if not w.entered]

    def to_json(self) -> dict:
        return {"windows": [w._asdict() for w in self.windows],
                "windows_interleaved": self.windows_interleaved,
                "windows_total": len(self.windows),
                "state_pairs": self.state_pairs,
                "state_pairs_total": self.state_pairs_total,
                "never_reached": self.never_reached}


def _coverage(c) -> Coverage:
    wins = tuple(WindowCoverage(WINDOWS[i], bool(c.windows[i] & _lib.UMASIM_COV_ENTERED),
                                bool(c.windows[i] & _lib.UMASIM_COV_INTERLEAVED),
                                bool(c.windows[i] & _lib.UMASIM_COV_MIGRATED))
                 for i in range(c.nwindows))
    return Coverage(wins, c.state_pairs, c.state_pairs_total)


@dataclass
class ExploreClass:
    outcome: str
    failed: bool
    check_failed: bool
    message: str
    count: int
    first_run: int
    decisions: list[int]
    # The oracle's kind of failure ("" when it did not fail the class's
    # runs) and the step of the first run it happened at.
    oracle_kind: str = ""
    oracle_step: int = 0

    @property
    def kind(self) -> str:
        """What failed: the oracle's kind, "invariant" (the checker),
        "panic", "host_fault", or the outcome the scenario did not expect;
        "" for a class of runs that passed."""
        if self.oracle_kind:
            return self.oracle_kind
        if not self.failed:
            return ""
        if self.check_failed:
            return "invariant"
        return self.outcome


@dataclass(frozen=True)
class ExploreSummary:
    runs: int
    failures: int
    classes: list[ExploreClass]
    points_covered: list[str]
    points_total: int
    exhausted: bool
    steps_hint: int
    distinct_states: int
    coverage: Coverage
    # Runs that added to the coverage: (run, windows interleaved, state
    # pairs, windows entered, windows migrated), the union after each.
    growth: list[tuple[int, int, int, int, int]]
    pruned: int = 0     # bounded: branches its sleep sets pruned
    # The distinct final-state digests (Core.final_digest), sorted; with states.
    state_digests: tuple[int, ...] = ()
    # The union's (point, state) pairs as a bitset (an int, bit i pair i),
    # for merging explorations; the guided explorer's corpus at its end
    # (umasim_api.h's flat format, as the bytes of little-endian uint32
    # words; empty for the other explorers).
    state_bits: int = 0
    corpus: bytes = b""
    # The decisions of the last `keep` runs that added coverage, oldest
    # first (a fuzzer's burst).
    kept: list[list[int]] = field(default_factory=list)


def _le32(data: bytes) -> bytes:
    """uint32 words between little-endian and this host's order."""
    if sys.byteorder == "little":
        return data
    import array
    a = array.array("I", data)
    a.byteswap()
    return a.tobytes()


# ---- a handle on one simulation -------------------------------------------------

class _Scratch:
    """Buffers a Core reuses on its hot paths (the checker, variables,
    single scripted steps), made the first time one is needed."""

    __slots__ = ("rep", "st", "zn", "it", "pol1", "dec1")

    def __init__(self):
        self.rep = _ffi.new("struct umasim_check_report *")
        self.st, self.zn, self.it = _ffi.new("int *"), _ffi.new("int *"), _ffi.new("uint64_t *")
        self.dec1 = _ffi.new("uint32_t[1]")
        pol = self.pol1 = _ffi.new("struct umasim_policy *")
        pol.kind, pol.then_kind = _lib.UMASIM_POL_SCRIPT, _lib.UMASIM_POL_SEQUENTIAL
        pol.decisions, pol.ndecisions = self.dec1, 1


class Core:
    """One simulation of the C core.  Methods take and return plain values;
    a negative code of the core is raised as a umasim.Error."""

    __slots__ = ("_s", "_keep", "_x", "__weakref__")

    def __init__(self, cpus: int, pages: int, kmem_pages: int, free_min: int, boot_pages: int,
                 md_small_alloc: bool, pagedaemon: bool, ticks_per_step: int,
                 granularity: str, invariants: bool, bugs: int, seed: int, trace: str,
                 align_cache: int):
        cfg = _ffi.new("struct umasim_config *")
        cfg.cpus, cfg.pages, cfg.kmem_pages, cfg.free_min = cpus, pages, kmem_pages, free_min
        cfg.boot_pages, cfg.md_small_alloc, cfg.pagedaemon = boot_pages, md_small_alloc, pagedaemon
        cfg.ticks_per_step, cfg.granularity = ticks_per_step, GRANULARITIES[granularity]
        cfg.invariants, cfg.seed, cfg.trace_level = invariants, seed, TRACE_LEVELS[trace]
        cfg.align_cache, cfg.bugs = align_cache, bugs
        err = _ffi.new("char[]", 256)
        ptr = _lib.umasim_new(cfg, err, 256)
        if ptr == _ffi.NULL:
            raise InvalidArgument(_ffi.string(err).decode())
        self._s = _ffi.gc(ptr, _lib.umasim_free)
        self._keep: list = []
        self._x: _Scratch | None = None

    def _scratch(self) -> _Scratch:
        if self._x is None:
            self._x = _Scratch()
        return self._x

    def _check(self, r: int) -> int:
        if r < 0:
            hf = self.host_fault() if r == _lib.UMASIM_E_FAULTED else None
            raise_for(r, _str(_lib.umasim_error_msg(self._s)),
                      hf.message if hf is not None else self.panic())
        return r

    # -- objects --
    def spawn(self, name: str, cpu: int, ops: Sequence[tuple], repeat: int) -> int:
        """ops: (code, a, a_stride, b, b_stride, c, flags) tuples."""
        arr = _ffi.new("struct umasim_op[]", max(len(ops), 1))
        for i, (code, a, sa, b, sb, c, flags) in enumerate(ops):
            arr[i].code, arr[i].a, arr[i].a_stride = code, a, sa
            arr[i].b, arr[i].b_stride, arr[i].c, arr[i].flags = b, sb, c, flags
        r = _lib.umasim_spawn(self._s, name.encode(), cpu, arr, len(ops), repeat)
        if r == _lib.UMASIM_E_TOOMANY:
            raise TooMany(f"too many threads in one simulation ({MAXTHREADS} at most)")
        return self._check(r)

    def zone_slot(self, name: str) -> int:
        r = _lib.umasim_zone_new(self._s, name.encode())
        if r == _lib.UMASIM_E_TOOMANY:
            raise TooMany(f"too many zones in one simulation ({MAXZONES} at most)")
        return self._check(r)

    def zone_state(self, slot: int) -> int:
        """0: not created yet, 1: live, 2: destroyed, 3: being destroyed."""
        return _lib.umasim_zone_state(self._s, slot)

    def zone_callback(self, slot: int, cb_slot: int, kind: int, n: int, target: int) -> None:
        self._check(_lib.umasim_zone_callback(self._s, slot, cb_slot, kind, n, target))

    def zcreate(self, slot: int, master: int, size: int, mask: int, bits: int,
                maxitems: int) -> None:
        self._check(_lib.umasim_zcreate(self._s, slot, master, size, mask, bits, maxitems))

    def zdestroy(self, slot: int) -> None:
        self._check(_lib.umasim_zdestroy(self._s, slot))

    def mtx(self, name: str) -> int:
        return self._check(_lib.umasim_mtx_new(self._s, name.encode()))

    def chan(self, name: str) -> int:
        return self._check(_lib.umasim_chan_new(self._s, name.encode()))

    def mtx_owner(self, mid: int) -> int:
        """The tid of the thread that owns program mutex `mid` (-1: none)."""
        r = _lib.umasim_mtx_owner(self._s, mid)
        if r < -1:
            raise_for(r)
        return r

    def var(self, name: str) -> int:
        return self._check(_lib.umasim_var_new(self._s, name.encode()))

    # -- running --
    def run(self, policy: str, seed: int, migrate: float, depth: int, steps_hint: int,
            decisions: Sequence[int] | None, script: tuple[list[int], list[int]] | None,
            then: str, max_steps: int) -> str:
        """Installs a policy and runs up to max_steps steps; returns the
        outcome.  The policy stays installed for run_more()."""
        pol = _ffi.new("struct umasim_policy *")
        pol.kind, pol.seed, pol.migrate = POLICIES[policy], seed, migrate
        pol.depth, pol.steps_hint, pol.then_kind = depth, steps_hint, POLICIES[then]
        keep = [pol]
        if decisions is not None:
            arr = _ffi.new("uint32_t[]", list(decisions) or [0])
            keep.append(arr)
            pol.decisions, pol.ndecisions = arr, len(decisions)
        if script is not None:
            tids, cpus = script
            at = _ffi.new("int32_t[]", tids or [0])
            ac = _ffi.new("int32_t[]", cpus or [0])
            keep += [at, ac]
            pol.script_tids, pol.script_cpus, pol.nscript = at, ac, len(tids)
        # The policy reads these arrays until the next run(): keep them.
        self._keep = keep
        r = _lib.umasim_run(self._s, pol, max_steps)
        if r == _lib.UMASIM_E_INVAL:
            raise ScheduleError("invalid policy parameters")
        return OUTCOMES[self._check(r)]

    def step_decision(self, decision: int) -> str:
        """One step taking `decision` (machine form), then the default
        ones: a script of one decision, installed for run_more()."""
        x = self._scratch()
        x.dec1[0] = decision
        self._keep = [x.pol1]
        r = _lib.umasim_run(self._s, x.pol1, 1)
        if r < 0:
            self._check(r)
        return OUTCOMES[r]

    def run_more(self, max_steps: int) -> str:
        """Runs on under the installed policy, as if run() had gone on."""
        r = _lib.umasim_run_more(self._s, max_steps)
        if r < 0:
            self._check(r)
        return OUTCOMES[r]

    def stepper(self, tids: dict, unknown):
        """Sim.step, with one Python frame: a function of a thread's name
        (None: the default decision) that takes one step and returns the
        point the thread stopped at.  `tids` maps names to tids (kept up to
        date by its owner, in place); `unknown(name)` raises for a name it
        lacks."""
        s, step, points, check = self._s, _lib.umasim_step, POINTS, self._check
        get = tids.get

        def step_(name: str | None = None) -> str:
            tid = -1 if name is None else get(name) if type(name) is str else None
            if tid is None:
                tid = unknown(name)
            r = step(s, tid)
            if r >= 0:
                return points[r]
            check(r)
        return step_

    def migrate(self, tid: int, cpu: int) -> None:
        self._check(_lib.umasim_migrate(self._s, tid, cpu))

    def runnable(self) -> list[int]:
        cap = max(_lib.umasim_nthreads(self._s), 1)
        buf = _ffi.new("int32_t[]", cap)
        n = self._check(_lib.umasim_runnable(self._s, buf, cap))
        return [buf[i] for i in range(n)]

    # -- state --
    def outcome(self) -> str:
        return OUTCOMES[_lib.umasim_outcome(self._s)]

    def steps(self) -> int:
        return _lib.umasim_steps(self._s)

    def ticks(self) -> int:
        return _lib.umasim_ticks(self._s)

    def panic(self) -> str | None:
        return _str(_lib.umasim_panic_msg(self._s))

    def host_fault(self) -> HostFault | None:
        """The host fault that ended the simulation, or None."""
        f = _ffi.new("struct umasim_host_fault *")
        if not _lib.umasim_host_fault(self._s, f):
            return None
        where = FAULT_WHERE[f.where]
        return HostFault(_str(f.thread), f.tid, POINTS[f.point], f.step, _str(f.signame),
                         _u64(f.addr) if where != "outside" else None, where,
                         _str(f.message))

    def error_message(self) -> str | None:
        return _str(_lib.umasim_error_msg(self._s))

    def ndecisions(self) -> int:
        return _lib.umasim_ndecisions(self._s)

    def decisions(self, start: int = 0) -> list[int]:
        n = _lib.umasim_ndecisions(self._s)
        if n <= start:
            return []
        return _ffi.unpack(_lib.umasim_decisions(self._s) + start, n - start)  # a new list

    def decisions_array(self, start: int = 0) -> array:
        """The decisions from `start`, copied into an array('I') (4 bytes
        each, no int object per decision until one is read)."""
        out = array("I")
        n = _lib.umasim_ndecisions(self._s)
        if n > start:
            out.frombytes(_ffi.buffer(_lib.umasim_decisions(self._s) + start, 4 * (n - start)))
        return out

    def nthreads(self) -> int:
        return _lib.umasim_nthreads(self._s)

    def thread_name(self, tid: int) -> str:
        i = _ffi.new("struct umasim_thread_info *")
        if _lib.umasim_thread_info(self._s, tid, i) < 0:
            raise NoSuchThread("no such thread")
        return _ffi.string(i.name).decode()

    def thread(self, tid: int) -> ThreadRecord:
        i = _ffi.new("struct umasim_thread_info *")
        if _lib.umasim_thread_info(self._s, tid, i) < 0:
            raise NoSuchThread("no such thread")
        return ThreadRecord(_str(i.name), i.tid, STATES[i.state], i.cpu, i.critnest,
                            bool(i.kernel), POINTS[i.point], i.op_index, i.iteration,
                            _str(i.wmesg), _u64(i.wchan), _str(i.wchan_name),
                            _str(i.mutex_name), i.mutex_owner, i.var,
                            i.timeout if i.timeout >= 0 else None, i.nlocks)

    def nevents(self) -> int:
        return _lib.umasim_nevents(self._s)

    def events(self, start: int = 0, end: int | None = None) -> list[tuple]:
        """(step, tick, kind, tid, cpu, point, a, b, wmesg) of events
        start..end; kind and point are indexes into EVENT_KINDS and POINTS
        (point -1: none), a is unsigned, wmesg is a sleep's wait message
        (None for other kinds)."""
        n = _lib.umasim_nevents(self._s) if end is None else end
        evs = _lib.umasim_events(self._s)
        return [(e.step, e.tick, e.kind, e.tid, e.cpu, e.point, _u64(e.a), e.b,
                 _ffi.string(e.wmesg).decode() if e.kind == _EV_SLEEP else None)
                for e in (evs[k] for k in range(start, n))]

    def trigger_step(self, decision: int, start: int, points: frozenset) -> tuple[str, int, bool]:
        """One step taking `decision`, then: the outcome, the number of
        events now, and whether the step stopped at one of `points`."""
        outcome = self.step_decision(decision)
        n = _lib.umasim_nevents(self._s)
        evs = _lib.umasim_events(self._s)
        hit = False
        for k in range(start, n):
            e = evs[k]
            if e.kind == _EV_STEP and e.a in points:
                hit = True
        return outcome, n, hit

    def new_events(self, start: int) -> tuple[int, list[tuple]]:
        """How many events the log holds, and those from `start` on as
        events() gives them (the properties read them after every step)."""
        n = _lib.umasim_nevents(self._s)
        if n <= start:
            return n, []
        evs = _lib.umasim_events(self._s)
        out = []
        for k in range(start, n):
            e = evs[k]
            out.append((e.step, e.tick, e.kind, e.tid, e.cpu, e.point, e.a & _M64, e.b,
                        _ffi.string(e.wmesg).decode() if e.kind == _EV_SLEEP else None))
        return n, out

    def event_kind_counts(self) -> list[int]:
        n = _lib.umasim_nevents(self._s)
        evs = _lib.umasim_events(self._s)
        counts = [0] * len(EVENT_KINDS)
        for k in range(n):
            counts[evs[k].kind] += 1
        return counts

    def var_info(self, vid: int) -> tuple[int, int, int] | None:
        """(state, zone slot or VAR_SRC_*, item address) of a variable."""
        x = self._scratch()
        if _lib.umasim_var_info(self._s, vid, x.st, x.zn, x.it) < 0:
            return None
        return x.st[0], x.zn[0], x.it[0]

    def vars_in_state(self, state: int) -> list[tuple[int, int, int]]:
        """(variable id, zone slot or VAR_SRC_*, item address) of every
        variable in `state`, in id order, in one call."""
        n = max(_lib.umasim_vars_in_state(self._s, state, _ffi.NULL, _ffi.NULL, _ffi.NULL, 0), 0)
        if n == 0:
            return []
        ids, zns, items = (_ffi.new("int64_t[]", n), _ffi.new("int[]", n),
                           _ffi.new("uint64_t[]", n))
        n = min(n, _lib.umasim_vars_in_state(self._s, state, ids, zns, items, n))
        return [(ids[i], zns[i], items[i]) for i in range(n)]

    def mem_read(self, addr: int, length: int) -> bytes:
        """`length` bytes of simulated memory at display address `addr`."""
        buf = _ffi.new("char[]", max(length, 1))
        self._check(_lib.umasim_mem_read(self._s, addr, buf, length))
        return _ffi.buffer(buf, length)[:]

    def console(self) -> list[str]:
        return [_ffi.string(_lib.umasim_console_line(self._s, i)).decode(errors="replace")
                for i in range(_lib.umasim_nconsole(self._s))]

    def digest(self) -> int:
        return _lib.umasim_digest(self._s)

    def final_digest(self) -> int:
        """The digest explorers count distinct final states by: once the run
        is over, without which thread ran last."""
        return _lib.umasim_digest_final(self._s)

    def set_digest_interval(self, every: int) -> None:
        _lib.umasim_set_digest_interval(self._s, every)

    def digests(self) -> list[tuple[int, int]]:
        n = _lib.umasim_ndigests(self._s)
        d = _lib.umasim_digests(self._s)
        return [(d[i].step, d[i].digest) for i in range(n)]

    def oracle_enable(self, on: bool = True) -> None:
        """Turns the core's oracle on (afresh, from the state at hand) or
        off (csrc/kern/oracle.c)."""
        self._check(_lib.umasim_oracle_enable(self._s, int(bool(on))))

    def oracle_verdict(self) -> tuple[str, str, int] | None:
        """The oracle's verdict on the run so far: None, or (kind, message,
        step) of its first failure; the end-of-run checks are judged when
        the run is over (and not kept: the run may go on)."""
        v = _ffi.new("struct umasim_oracle_verdict *")
        kind = _lib.umasim_oracle_verdict(self._s, v)
        if kind < 0:
            self._check(kind)
        if kind == 0:
            return None
        return ORACLE_KINDS[kind], _ffi.string(v.message).decode(), int(v.step)

    def check(self) -> str | None:
        """The invariant checker: None, or what is wrong."""
        rep = (self._x or self._scratch()).rep
        if _lib.umasim_check(self._s, rep) != 0:
            return _ffi.string(rep.message).decode()
        return None

    # -- UMA --
    def zones(self) -> list[ZoneRecord]:
        # Room for the usual few dozen zones; asked again when there are more.
        cap = 64
        while True:
            buf = _ffi.new("struct umasim_zone_info[]", cap)
            n = _lib.umasim_zones(self._s, buf, cap)
            if n <= cap:
                return [_zone_record(buf[i]) for i in range(max(n, 0))]
            cap = n

    def zone_by_slot(self, slot: int) -> ZoneRecord | None:
        zi = _ffi.new("struct umasim_zone_info *")
        if _lib.umasim_zone_by_slot(self._s, slot, zi) < 0:
            return None
        return _zone_record(zi)

    def zone_caches(self, addr: int) -> list[tuple]:
        """Per vCPU: (alloc cnt or -1, alloc entries, free cnt or -1, free
        entries, allocs, frees)."""
        out = _ffi.new("struct umasim_cache_info[]", MAXCPU)
        n = _lib.umasim_zone_caches(self._s, addr, out, MAXCPU)
        return [(out[c].alloc_cnt, out[c].alloc_entries, out[c].free_cnt,
                 out[c].free_entries, out[c].allocs, out[c].frees) for c in range(max(n, 0))]

    def zone_buckets(self, addr: int, which: int) -> list[tuple[int, int]]:
        out = _ffi.new("struct umasim_bucket_info[]", 4096)
        n = _lib.umasim_zone_buckets(self._s, addr, which, out, 4096)
        return [(out[k].cnt, out[k].entries) for k in range(min(max(n, 0), 4096))]

    def zone_slabs(self, addr: int, which: int) -> list[tuple[int, int, int, int, int]]:
        out = _ffi.new("struct umasim_slab_info[]", 8192)
        n = _lib.umasim_zone_slabs(self._s, addr, which, out, 8192)
        return [(out[k].addr, out[k].data, out[k].freecount, out[k].firstfree, out[k].flags)
                for k in range(min(max(n, 0), 8192))]

    def zone_items(self, addr: int, where: int, cpu: int = -1) -> list[int]:
        n = _lib.umasim_zone_items(self._s, addr, where, cpu, _ffi.NULL, 0)
        if n <= 0:
            return []
        out = _ffi.new("uint64_t[]", n)
        n = _lib.umasim_zone_items(self._s, addr, where, cpu, out, n)
        return list(out[0:n])

    def zone_stats(self) -> bytes:
        n = _ffi.new("size_t *", 0)
        _lib.umasim_zone_stats(self._s, _ffi.NULL, n)
        buf = _ffi.new("char[]", n[0])
        if _lib.umasim_zone_stats(self._s, buf, n) < 0:
            raise InvalidArgument("zone_stats changed size while being read")
        return _ffi.buffer(buf, n[0])[:]

    def uma_globals(self) -> dict:
        u = _ffi.new("struct umasim_uma_info *")
        _lib.umasim_uma_globals(self._s, u)
        return dict(bucketdisable=bool(u.bucketdisable), booted=bool(u.booted),
                    max_ipers=u.max_ipers, max_ipers_ref=u.max_ipers_ref,
                    free_pages=u.free_pages, free_min=u.free_min, wired_pages=u.wired_pages,
                    kmem_used=u.kmem_used, kmem_pages=u.kmem_pages)

    def coverage(self) -> Coverage:
        """Race-window and state coverage of the simulation's history
        (since its creation, or the snapshot it was last restored to)."""
        cov = _ffi.new("struct umasim_coverage *")
        self._check(_lib.umasim_coverage(self._s, cov))
        return _coverage(cov)

    # -- copies --
    def snapshot(self):
        """A copy of the simulation's state, opaque, freed with the object."""
        ptr = _lib.umasim_snapshot(self._s)
        if ptr == _ffi.NULL:
            raise HostMemory("cannot take a snapshot (out of host memory, or busy)")
        return _ffi.gc(ptr, _lib.umasim_snapshot_free)

    def restore(self, snap) -> None:
        """Back to the state of snapshot() `snap`, of this simulation."""
        self._check(_lib.umasim_restore(self._s, snap))

    # -- explorers --
    def explore(self, start, explorer: str, runs: int, seed: int, migrate: float,
                depth: int, steps_hint: int, bound: int, max_steps: int, expect_outcome: str,
                expect_panic: str, check: bool, states: bool,
                corpus_max: int = 0, reduction: bool = False,
                corpus_in: bytes = b"", stop_first: bool = False,
                keep: int = 0, oracle: bool = False) -> ExploreSummary:
        """Runs an explorer from `start` inside one C call.  `corpus_in`:
        the guided explorer's starting corpus (a summary's `corpus`, or
        several merged entry by entry).  `stop_first`: stop after the
        first run that panics, faults or fails the checker; `keep`: keep
        the decisions of the last `keep` runs (at most EXPLORE_KEEP_MAX)
        that added coverage (ExploreSummary.kept).  `oracle`: judge every
        run by the core's oracle too (a failure of a class of its own)."""
        if corpus_in:
            if len(corpus_in) % 4:
                raise InvalidArgument("a corpus is a whole number of 32-bit words")
            words = _ffi.from_buffer("uint32_t[]", _le32(corpus_in))
            self._check(_lib.umasim_guided_corpus_in(self._s, words, len(corpus_in) // 4))
        p = _ffi.new("struct umasim_explore_params *")
        p.kind, p.runs, p.seed, p.migrate = EXPLORERS[explorer], runs, seed, migrate
        p.depth, p.steps_hint, p.bound, p.max_steps = depth, steps_hint, bound, max_steps
        p.expect_outcome = OUTCOME_CODES[expect_outcome]
        p.expect_panic = expect_panic.encode()
        p.check, p.states, p.corpus_max = check, states, corpus_max
        p.reduction = reduction
        p.stop_first, p.keep = stop_first, keep
        p.oracle = oracle
        res = _ffi.new("struct umasim_explore_result *")
        self._check(_lib.umasim_explore(self._s, start, p, res))
        classes = []
        kc = _ffi.new("struct umasim_explore_class *")
        for i in range(res.classes):
            _lib.umasim_explore_class(self._s, i, kc)
            dp = _lib.umasim_explore_decisions(self._s, i)
            dec = list(_ffi.unpack(dp, kc.ndecisions)) if dp != _ffi.NULL and kc.ndecisions \
                else []
            classes.append(ExploreClass(OUTCOMES[kc.outcome], bool(kc.failed),
                                        bool(kc.check_failed), _str(kc.message) or "",
                                        kc.count, kc.first_run, dec,
                                        ORACLE_KINDS[kc.oracle_kind], kc.oracle_step))
        covered = [POINTS[i] for i in range(len(POINTS))
                   if _lib.umasim_explore_point_covered(self._s, i)]
        cov = _ffi.new("struct umasim_coverage *")
        self._check(_lib.umasim_explore_coverage(self._s, cov))
        g = _ffi.new("struct umasim_explore_growth *")
        growth = []
        for i in range(_lib.umasim_explore_ngrowth(self._s)):
            self._check(_lib.umasim_explore_growth(self._s, i, g))
            growth.append((g.run, g.windows_interleaved, g.state_pairs, g.windows_entered,
                           g.windows_migrated))
        nbits = _lib.umasim_explore_state_bits(self._s, _ffi.NULL, 0)
        bits = _ffi.new("uint64_t[]", max(nbits, 1))
        _lib.umasim_explore_state_bits(self._s, bits, nbits)
        state_bits = sum(int(bits[i]) << (64 * i) for i in range(nbits))
        ncorpus = _lib.umasim_guided_corpus_out(self._s, _ffi.NULL, 0)
        corpus = b""
        if ncorpus > 0:
            buf = _ffi.new("uint32_t[]", ncorpus)
            _lib.umasim_guided_corpus_out(self._s, buf, ncorpus)
            corpus = _le32(bytes(_ffi.buffer(buf)))
        kept = []
        n = _ffi.new("size_t *")
        for i in range(_lib.umasim_explore_nkept(self._s)):
            dp = _lib.umasim_explore_kept(self._s, i, n)
            kept.append(list(_ffi.unpack(dp, n[0])) if dp != _ffi.NULL and n[0] else [])
        return ExploreSummary(res.runs, res.failures, classes, covered, res.points_total,
                              bool(res.exhausted), res.steps_hint, res.distinct_states,
                              _coverage(cov), growth, res.pruned, self._explore_states(),
                              state_bits, corpus, kept)

    def _explore_states(self) -> tuple[int, ...]:
        n = _ffi.new("size_t *")
        p = _lib.umasim_explore_states(self._s, n)
        return tuple(_ffi.unpack(p, n[0])) if p != _ffi.NULL else ()


_BOOT_ZONES: tuple[str, ...] | None = None


def boot_zone_names() -> tuple[str, ...]:
    """The zones UMA and malloc(9) create at boot (UMA's internal zones,
    the bucket zones, malloc's size classes), read from a booted
    simulation the first time they are asked for."""
    global _BOOT_ZONES
    if _BOOT_ZONES is None:
        core = Core(cpus=1, pages=0, kmem_pages=1024, free_min=0, boot_pages=48,
                    md_small_alloc=False, pagedaemon=False, ticks_per_step=1,
                    granularity="coarse", invariants=True, bugs=0, seed=0, trace="off",
                    align_cache=-1)
        _BOOT_ZONES = tuple(z.name for z in core.zones())
    return _BOOT_ZONES


def bench_switch_ns(rounds: int) -> float:
    """The cost of one context switch between two coroutines, in ns."""
    return _lib.umasim_bench_switch_ns(rounds)


# The longest panic substring an explorer can expect (its C buffer, less the NUL).
EXPLORE_PANIC_MAX: int = len(_ffi.new("struct umasim_explore_params *").expect_panic) - 1
