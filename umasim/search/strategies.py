"""Hypothesis strategies for umasim: simulation configurations,
zones, per-thread programs that are valid by construction, and schedules
in machine form -- put together as `cases()`, which draws a whole
`umasim.properties.Case` (a scenario dict, see Case.to_scenario).

Choices and shrinking.  Hypothesis pays tens of microseconds per choice,
so a case is drawn from few of them: the thread count, two byte strings
per thread (op kinds, op arguments), one fixed-length byte string each
for the threads' vCPUs, the op-kind mask, the machine and every zone, and
two for the schedule -- about 15 choices, whatever the programs' length.
Every byte string is decoded so that Hypothesis's simplest value is the
simplest simulation: a zero byte picks the default (2 vCPUs, 256 pages,
256-byte items, no flags, no callbacks, no limit, no preemption), and byte
strings shrink by losing bytes (fewer ops, fewer preemptions) and by
lowering them.  A program is a string of *raw ops* that `decode_programs`
turns into op strings against the variables live at that point, so any
part of a valid program is valid again: deleting an alloc turns the frees
that would have freed it into frees of something else, or into nothing.
The thread count is drawn first (drawn after the machine, Hypothesis
gives one thread most of the time), from a byte, so that each count is
about as likely (an integer Hypothesis draws is small more often: 41 %
of the cases had one thread, 25 % three); the byte 0 is the fewest.  Swarm testing (Groce et al., ISSTA
2012): each case draws which optional op kinds it uses, so that it has
many of a few kinds rather than a few of each.

Validity by construction (the faithful kernel panics on these by design,
and they are not what fuzzing looks for):
  - every variable is stored by exactly one alloc/malloc and freed at most
    once; a thread frees its own variables or (cross-thread frees) those
    of lower-numbered threads that nobody else frees, so the
    producer/consumer waits are acyclic;
  - no frees of what was never allocated, no frees into the wrong zone;
    large allocations go back with free_large, kmem_alloc's pages with
    kmem_free;
  - a zone a program creates (zcreate, perhaps zsecond and setobj) is its
    thread's own: its items are freed before uma_zdestroy (a secondary
    zone destroyed first); a keg given a private object (setobj, which
    makes it NOFREE: FreeBSD 7 leaks its slabs at uma_zdestroy) is never
    destroyed and is allocated from with M_NOWAIT only (an M_WAITOK
    allocation spins in uma_zone_slab once its object is out of pages);
    its items are below 1024 bytes (a keg made while another thread's
    hash_alloc refills "UMA Hash" gets no slab hash table); at most
    ZLIFE_MAX such zones a thread;
  - DDB's show uma (which walks kegs and zones without a lock) only in a
    case where no zone is destroyed;
  - prealloc only on kegs with no limit (uma_prealloc adds slabs whatever
    the limit) and no init or allocf callback (it dereferences the slab a
    failing one did not give);
  - touch and refcnt only of an item the thread holds whatever the
    schedule (M_WAITOK, a zone whose ctor and zinit cannot fail, no zinit
    attaching) and that no other thread frees then; refcnt only on a
    REFCNT keg;
  - lock/unlock and crit_enter/crit_exit in pairs around a yield (or
    nothing), so nothing sleeps holding them; tsleep always with a
    timeout;
  - kmem_map cannot run out under M_WAITOK: 1024 kmem pages, at most 256
    physical pages, vm_free_pages never above the configured pages;
  - boot_pages stays 48;
  - with the pagedaemon, free_min >= 2 (a request of 2 pages -- the most
    any generated op asks -- woken at free_min pages cannot fail again):
    else a sleeper needing 2 pages with 1 free and the pagedaemon wake
    each other forever (vm_wait wakes the pagedaemon, whose pass ends in
    vm_free_wakeup);
  - "vm" (UMA_ZONE_VM, cache-only) only on items of 2048 bytes or less
    (zone_large_init's KASSERT);
  - "offpage" is only asked for items of 512 bytes or more (with "hash"):
    smaller ones do not fit an off-page slab header (the
    "umasim: keg ... off-page" panic) or, without hash, do not find their
    slab again; UMA picks off-page + hash itself from 1024 bytes on;
  - callbacks cannot fail forever: keg init fails once at most ("fail N"),
    ctor/zinit "fail_every N" with N >= 2, allocf "fail_every N" with
    N >= 2 (an M_WAITOK allocation retries slab_zalloc until it succeeds);
  - a zone whose zinit attaches items (they are kept in the item's first
    word) has no zeroing ctor and is never allocated with M_ZERO;
  - "trash" is set on init, ctor, dtor and fini together (uma_dbg's own
    pairing), never with attach nor with the "zinit" flag (which makes
    zero_init the keg's init), and a secondary zone of a trash keg has
    trash ctor and dtor too.

Deep cache states as a matter of course: a "bulk" raw op is a run of
M_WAITOK allocations a bucket long less one, a bucket, a bucket and one,
or several buckets (bucket_items: the zone's uz_count), or a limited
keg's worth and one more (limit_items: the allocation that sleeps in
zonelimit), and "bulkfree" frees as many (of this thread's items or,
across vCPUs, a lower thread's): a bucket one item from full or empty,
several full buckets on a zone's list, several threads asleep on one
limited keg; drains and reclaims run on one vCPU while allocations go on
on another.

Bursts.  Each case also draws a schedule family (BURST_FAMILIES: guided or
pct) and a seed for the burst of schedules umasim.search.fuzz runs on it
(umasim.search.burst); its schedule is drawn last, so that a schedule a
burst finds can take its place in the example's choices
(schedule_choices, encode_triggers, encode_sparse: the inverse of the
decoders).

Schedules.  The machine form (docs/design.md, "Schedules") is a list of small
ints: 0 is the default decision and the list may end early (then
sequential).  Three forms are drawn (mixed: one of them per case):
  points  (gap, decision) pairs whose gaps count stops at UMA's own
          preemption points (properties.UMA_POINTS: FreeBSD 7's race
          windows, callbacks, fine and stale-window points) -- Case.triggers;
          gaps 0..255 from two bytes each, small ones likelier (_gap). A
          migration between critical_exit and ZONE_LOCK is then one or two
          stops away instead of dozens of steps. The run resolves it to
          machine form (the verdict's decisions), which failures are written
          in.
  sparse  (gap, decision) pairs whose gaps count steps (0..1023, _gap).
  dense   a decision for each of the first steps, half of them 0.
Each shrinks toward fewer and earlier preemptions, and to [] (none).

Settings profiles (registered on import; `load_profile()` picks one):
  ci    derandomized, max_examples CI_EXAMPLES, no deadline, no database,
        blob printed (the bug-switch hunts of tests/tools/test_bug_switches.py
        run the default fuzz search under a fixed seed instead)
  dev   max_examples 200, no deadline, database .hypothesis/ (the default)
  deep  max_examples 5000, stateful_step_count 100
UMASIM_HYPOTHESIS_PROFILE names the profile; without it: ci when CI=true
(or any CI variable Hypothesis knows), dev otherwise.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from umasim.search.properties import DEFAULT_MAX_STEPS, Case

# ---- settings profiles -------------------------------------------------------

PROFILE_ENV = "UMASIM_HYPOTHESIS_PROFILE"
CI_EXAMPLES = 200

# Each from Hypothesis's own "default" profile: under CI=true, Hypothesis
# has loaded its built-in "ci" profile by now, which new profiles would
# otherwise inherit (no database, derandomized).
_BASE = settings.get_profile("default")
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "ci", parent=_BASE, derandomize=True, max_examples=CI_EXAMPLES, deadline=None,
    database=None, print_blob=True, stateful_step_count=30, suppress_health_check=_QUIET)
settings.register_profile(
    "dev", parent=_BASE, derandomize=False, max_examples=200, deadline=None,
    stateful_step_count=50, suppress_health_check=_QUIET)
settings.register_profile(
    "deep", parent=_BASE, derandomize=False, max_examples=5000, deadline=None,
    stateful_step_count=100, suppress_health_check=_QUIET)


def profile_name() -> str:
    """The profile UMASIM_HYPOTHESIS_PROFILE names, else ci under CI, else dev."""
    name = os.environ.get(PROFILE_ENV)
    if name:
        return name
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes") or \
        any(os.environ.get(v) for v in ("GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE",
                                         "CIRCLECI", "TF_BUILD", "JENKINS_URL"))
    return "ci" if ci else "dev"


def load_profile(name: str | None = None) -> str:
    name = name or profile_name()
    settings.load_profile(name)
    return name


# ---- knobs -------------------------------------------------------------------

@dataclass(frozen=True)
class Knobs:
    """What generated cases may contain.  Turning a knob off removes its
    ops or settings from the draw altogether."""
    max_threads: int = 3
    min_threads: int = 1
    max_ops: int = 30
    max_zones: int = 2
    cpus: tuple[int, ...] = (2, 1, 3, 4)
    pages: tuple[int, ...] = (256, 64, 16, 8)
    cross_frees: bool = True      # free a lower thread's variable
    nowait: bool = True           # M_NOWAIT (and M_NOVM) allocations
    malloc: bool = True           # malloc(9) / free(9)
    faults: bool = True           # vm_fail, vm_free_pages, failing allocf
    drains: bool = True           # drain ZONE
    reclaims: bool = True         # reclaim (uma_reclaim)
    limits: bool = True           # zone max, setmax
    always_limit: bool = False    # every zone of its own keg has a max
    pagedaemon: bool = True       # the pagedaemon thread, free_min
    callbacks: bool = True        # ctor/dtor/init/fini/allocf behaviours
    secondary: bool = True        # zsecond zones, zinit attach / zfini detach
    sleeps: bool = True           # sleep TICKS
    yields: bool = True           # yield, timeout (a uma_timeout pass)
    swarm: bool = True            # each case draws which op kinds it uses (op_kinds)
    bulk: bool = True             # runs of allocs or frees about a bucket long (deep caches)
    zone_ops: bool = True         # zcreate/zsecond/setobj/zdestroy of a thread's own zone; prealloc
    item_ops: bool = True         # touch, refcnt
    large: bool = True            # malloc_large/free_large, kmem_alloc/kmem_free
    kernel_ops: bool = True       # lock/unlock, crit_enter/crit_exit, tsleep/wakeup, sysctl,
                                  # show_uma, print_stats, recurse
    flags: bool = True            # zone flags and alignments
    md_small_alloc: bool = True
    fine: bool = True             # granularity "fine"
    invariants_off: bool = True   # invariants = false
    schedule: str = "mixed"       # points | sparse | dense | mixed
    max_triggers: int = 6         # points form
    max_trigger_gap: int = 255    # points form
    max_preemptions: int = 12     # sparse form
    max_gap: int = 1023           # sparse form
    dense_len: int = 120          # dense form
    burst: bool = True            # a burst of guided or PCT schedules (umasim.search.burst)


DEFAULT_KNOBS = Knobs()
# The benchmark's shape (bench/fuzz.py): 2 vCPUs, 3 threads, up to 30 ops
# each.
BENCH_KNOBS = Knobs(cpus=(2,), min_threads=3, max_threads=3, max_ops=30)

# Sizes: the first is where shrinking ends.  >= 512 may be offpage.
ZONE_SIZES = (256, 64, 16, 128, 512, 1024, 2048, 100, 24, 4096, 40, 2000, 8192)
# Sizes of a zone a program creates (no slab hash table: see decode_programs).
OWN_ZONE_SIZES = tuple(z for z in ZONE_SIZES if z < 1024)
ALIGNS = ("ptr", "char", "int", "cache", 15, 31)
# Flag bits of a drawn mask, in order.
FLAG_BITS = ("nofree", "mtxclass", "vm", "maxbucket", "zinit", "refcnt", "hash", "offpage")
MALLOC_SIZES = (64, 16, 256, 1024, 4096, 100, 2048, 8192)
# Callback profiles of a primary zone (index 0: none).
CALLBACK_PROFILES = (
    {},
    {"ctor": "trash", "dtor": "trash", "init": "trash", "fini": "trash"},
    {"ctor": "fail_every 3"},
    {"ctor": "zero"},
    {"ctor": "sleep 2", "dtor": "sleep 1"},
    {"init": "fail 2"},
    {"init": "sleep 3", "fini": "sleep 1"},
    {"ctor": "fail 1"},
    {"init": "zero", "fini": "zero", "dtor": "zero"},
)
FAULT_CALLBACKS = (
    {"allocf": "fail_every 2"},
    {"allocf": "sleep 2"},
    {"allocf": "fail 1"},
)
SECONDARY_PROFILES = (
    {},
    {"ctor": "zero"},
    {"ctor": "fail_every 2"},
    {"ctor": "sleep 1", "dtor": "sleep 1"},
)
# ... of a secondary zone whose zinit attaches items (nothing that zeroes).
ATTACH_PROFILES = tuple(p for p in SECONDARY_PROFILES if "zero" not in p.values())


# ---- cached strategy objects -------------------------------------------------
# A strategy object built inside a composite at every draw costs Hypothesis
# a validation and several property computations each time (more than the
# draw itself, and more than running a small case): every strategy used
# below is built once.  And each choice costs Hypothesis tens of
# microseconds: a machine, a zone, the threads' vCPUs are each drawn as
# one fixed-length byte string, one byte per setting, decoded so that byte
# 0 is the default (what the shrinker, which lowers bytes toward 0, ends
# on).

@functools.lru_cache(maxsize=None)
def _bytes(n: int):
    return st.binary(min_size=n, max_size=n)


@functools.lru_cache(maxsize=None)
def _int(lo: int, hi: int):
    return st.integers(lo, hi)


@functools.lru_cache(maxsize=None)
def _cached(factory, *args):
    return factory(*args)


def _idx(b: int, seq):
    """seq[0] for byte 0, else an element by the byte's value."""
    return seq[b % len(seq)]


def _half(b: int, seq):
    """seq[0] for bytes below 128 (half of them), else one of the others:
    settings that should stay at their default half of the time."""
    return seq[0] if b < 128 or len(seq) == 1 else seq[1 + (b - 128) % (len(seq) - 1)]


# ---- machine -----------------------------------------------------------------

def sim_configs(knobs: Knobs = DEFAULT_KNOBS, bugs=(), granularity: str | None = None):
    """A scenario's [sim] table (bugs fixed by the caller)."""
    return _cached(_sim_configs, knobs, tuple(bugs), granularity)


def _sim_configs(knobs, bugs, granularity):
    return _bytes(6).map(lambda b: decode_sim(b, knobs, bugs, granularity))


def decode_sim(b: bytes, knobs: Knobs = DEFAULT_KNOBS, bugs=(),
               granularity: str | None = None) -> dict:
    """The [sim] table of 6 setting bytes."""
    cfg = {"cpus": _idx(b[0], knobs.cpus), "pages": _idx(b[1], knobs.pages)}
    if knobs.pagedaemon and b[2] & 1:
        cfg["pagedaemon"] = True
        # free_min >= 2: a vmwait sleeper that needs 2 pages (an 8192-byte
        # slab or malloc) is then never woken with 1 page free, which would
        # make it and the pagedaemon wake each other forever.
        cfg["free_min"] = (2, 8)[b[2] >> 1 & 1]
    if knobs.md_small_alloc and b[3] & 1:
        cfg["md_small_alloc"] = True
    if granularity is not None:
        cfg["granularity"] = granularity
    elif knobs.fine and b[4] & 1:
        cfg["granularity"] = "fine"
    if knobs.invariants_off and b[5] & 1:
        cfg["invariants"] = False
    if bugs:
        cfg["bugs"] = list(bugs)
    return cfg


# ---- zones -------------------------------------------------------------------

def _flags_for(size: int, mask: int) -> list[str]:
    flags = [f for i, f in enumerate(FLAG_BITS) if mask >> i & 1]
    if "vm" in flags and size > 2048:
        # zone_large_init KASSERTs that a CACHEONLY keg is not a large one.
        flags.remove("vm")
    if "offpage" in flags:
        if size < 512:
            flags.remove("offpage")
        elif "hash" not in flags:
            flags.append("hash")
    return flags


ZONE_BYTES = 8


def decode_primary_zone(name: str, b: bytes, knobs: Knobs = DEFAULT_KNOBS) -> dict:
    """A [[zone]] table with a keg of its own, from 8 setting bytes."""
    size = _idx(b[0], ZONE_SIZES)
    z: dict = {"name": name, "size": size}
    if knobs.flags:
        align = _half(b[1], ALIGNS)
        if align != "ptr":
            z["align"] = align
        flags = _flags_for(size, b[2] & b[3])          # each flag a quarter of the time
        if flags:
            z["flags"] = flags
    if knobs.limits and (b[4] & 1 or knobs.always_limit):
        z["max"] = 1 + (b[4] >> 1) % 48
    if knobs.callbacks:
        z.update(_half(b[5], CALLBACK_PROFILES))
        if z.get("init") == "trash" and "zinit" in z.get("flags", ()):
            # UMA_ZONE_ZINIT makes zero_init the keg's init, in place of
            # trash_init: trash_ctor would then find zeros, not junk.
            z["flags"].remove("zinit")
            if not z["flags"]:
                del z["flags"]
        if knobs.faults and b[6] & 1:
            z.update(_idx(b[6] >> 1, FAULT_CALLBACKS))
    return z


def primary_zones(name: str, knobs: Knobs = DEFAULT_KNOBS):
    """One [[zone]] table of a zone with a keg of its own."""
    return _cached(_primary_zones, name, knobs)


def _primary_zones(name, knobs):
    return _bytes(ZONE_BYTES).map(lambda b: decode_primary_zone(name, b, knobs))


def decode_zones(blobs: list[bytes], knobs: Knobs = DEFAULT_KNOBS) -> list[dict]:
    """Zones z0, z1, ... of 8 setting bytes each.  With knobs.secondary a
    zone (byte 7, odd) may be a secondary zone of an earlier one (byte 0),
    its zinit attaching an item of another keg (byte 2, odd; FreeBSD's
    mbuf packet zone)."""
    zones: list[dict] = []
    for i, b in enumerate(blobs):
        name = f"z{i}"
        prim = [z for z in zones if not z.get("master")]
        if knobs.secondary and prim and b[7] & 1:
            master = _idx(b[0], prim)
            z = {"name": name, "master": master["name"]}
            targets = [t for t in prim if t is not master and not t.get("init")
                       and t.get("ctor") != "trash" and master.get("ctor") != "trash"]
            attach = bool(targets) and knobs.secondary and b[2] & 1
            if master.get("ctor") == "trash":
                # Its items go back and forth between the two zones: trash
                # them on this side too, or trash_ctor finds them modified.
                z.update({"ctor": "trash", "dtor": "trash"})
            elif knobs.callbacks:
                # The attached item's pointer is the item's first word: a
                # zeroing ctor would lose it.
                z.update(_half(b[1], ATTACH_PROFILES if attach else SECONDARY_PROFILES))
            if attach:
                tgt = _idx(b[2] >> 1, targets)
                z["zinit"] = f"attach {tgt['name']}"
                z["zfini"] = "detach"
            zones.append(z)
        else:
            zones.append(decode_primary_zone(name, b, knobs))
    return zones


def zone_lists(knobs: Knobs = DEFAULT_KNOBS, min_zones: int = 1):
    """1 to knobs.max_zones zones z0, z1, ... (decode_zones)."""
    return _cached(_zone_lists, knobs, min_zones)


def _zone_lists(knobs, min_zones):
    top = max(min_zones, knobs.max_zones)
    return st.lists(_bytes(ZONE_BYTES), min_size=min_zones, max_size=top).map(
        lambda blobs: decode_zones(blobs, knobs))


# ---- programs ----------------------------------------------------------------

# Op kinds a knob may take out, in the order of a swarm mask's bits.
OPTIONAL_KINDS = ("malloc", "drain", "reclaim", "setmax", "vm_fail", "vm_free_pages",
                  "sleep", "yield", "timeout", "bulk", "bulkfree", "zlife", "prealloc",
                  "use", "large", "kmem", "lockpair", "critpair", "tsleep", "info",
                  "recurse")
_KIND_KNOB = {"malloc": "malloc", "drain": "drains", "reclaim": "reclaims",
              "setmax": "limits", "vm_fail": "faults", "vm_free_pages": "faults",
              "sleep": "sleeps", "yield": "yields", "timeout": "yields",
              "bulk": "bulk", "bulkfree": "bulk", "zlife": "zone_ops",
              "prealloc": "zone_ops", "use": "item_ops", "large": "large", "kmem": "large",
              "lockpair": "kernel_ops", "critpair": "kernel_ops", "tsleep": "kernel_ops",
              "info": "kernel_ops", "recurse": "kernel_ops"}
SWARM_BYTES = 3


def op_kinds(knobs: Knobs, swarm: int = 0) -> tuple[str, ...]:
    """The table a raw op's kind indexes: alloc and free weigh most; 0 is
    alloc, where shrinking ends.  `swarm` (swarm testing, Groce et al.
    2012): a mask over OPTIONAL_KINDS; when not 0, only the kinds whose
    bit is set stay in (of those the knobs allow), so one case has many of
    a few kinds of op rather than a few of each."""
    kinds = ["alloc", "free", "alloc", "free", "alloc", "free"]
    for i, k in enumerate(OPTIONAL_KINDS):
        if getattr(knobs, _KIND_KNOB[k]) and (swarm == 0 or swarm >> i & 1):
            kinds.append(k)
    return tuple(kinds)


def raw_programs(knobs: Knobs = DEFAULT_KNOBS):
    """One thread's raw ops: a byte string of op kinds (each indexes
    op_kinds(knobs)) and one of arguments, the i-th argument going with the
    i-th kind (missing ones are 0).  Two byte-string choices, not a choice
    per op: generation and shrinking stay cheap (Hypothesis shrinks a byte
    string by deleting runs of bytes and lowering each), and deleting a
    kind byte deletes that op.  At least one raw op a thread: a thread
    with nothing to do adds nothing to a case (Hypothesis draws short byte
    strings, empty ones often: nearly half the three-thread cases had
    an idle thread), and fewer threads is what shrinking reaches for
    instead."""
    return _cached(_raw_programs, knobs.max_ops)


def _raw_programs(max_ops):
    return st.tuples(st.binary(min_size=min(1, max_ops), max_size=max_ops),
                     st.binary(max_size=max_ops))


def bucket_items(zone: dict, zones: list[dict]) -> int:
    """About how many items a per-CPU bucket of this zone holds: uz_count,
    the keg's items per slab (at most BUCKET_MAX, 128; BUCKET_MAX with
    "maxbucket"), the way zone_ctor sets it in FreeBSD 7's
    sys/vm/uma_core.c (an estimate: the slab header's size is rounded)."""
    zone = _keg_zone(zone, zones)
    if "maxbucket" in (zone.get("flags") or ()):
        return 128
    return min(_slab_items(zone), 128)


def _keg_zone(zone: dict, zones: list[dict]) -> dict:
    """The zone whose keg this zone uses: itself, or a secondary zone's
    master."""
    if zone.get("master"):
        return next((z for z in zones if z["name"] == zone["master"]), zone)
    return zone


def _slab_items(zone: dict) -> int:
    """About how many items a slab of a primary zone's keg holds (the
    slab header's size rounded; off the page from 1024 bytes on)."""
    flags = zone.get("flags") or ()
    size = zone.get("size", 256)
    rsize = max(-(-size // 8) * 8, 16)
    offpage = size >= 1024 or "offpage" in flags
    return max((4096 if offpage else 4096 - 80) // rsize, 1)


def limit_items(zone: dict, zones: list[dict]) -> int | None:
    """About how many items a limited keg holds at most: its `max` rounded
    up to whole slabs, as uma_zone_set_max does in FreeBSD 7's
    sys/vm/uma_core.c; None for a keg without a limit."""
    keg = _keg_zone(zone, zones)
    mx = keg.get("max")
    if not mx:
        return None
    ipers = _slab_items(keg)
    return -(-mx // ipers) * ipers


# Bulk lengths, as multiples of a bucket (then less or more one item): a
# bucket one item from full or empty, a full one, several full buckets
# on the zone's list; and ("limit", k): a limited keg's worth of items
# (limit_items), and one more -- the allocation that sleeps in zonelimit,
# so that several threads come to sleep on one keg (a bucket and one on a
# keg without a limit).
_BULK = ((1, -1), (1, 0), (1, 1), (2, 1), (3, 0), (3, 1), (0, 2), (0, 5),
         ("limit", 0), ("limit", 1))
BULK_MAX = 48
ZLIFE_MAX = 4


def _bulk_len(arg: int, zone: dict, zones: list[dict]) -> int:
    m, k = _BULK[arg % len(_BULK)]
    if m == "limit":
        cap = limit_items(zone, zones)
        return max(1, min(BULK_MAX, (cap if cap is not None else bucket_items(zone, zones))
                          + k))
    return max(1, min(BULK_MAX, m * bucket_items(zone, zones) + k))


def decode_programs(raw: list[tuple[bytes, bytes]], zones: list[dict], cfg: dict,
                    knobs: Knobs = DEFAULT_KNOBS, swarm: int = 0) -> list[list[str]]:
    """Turns each thread's raw ops into op strings, valid by construction
    (module docstring).  Deterministic: the same raw ops give the same
    programs.  `swarm`: see op_kinds."""
    kinds = op_kinds(knobs, swarm)
    znames = [z["name"] for z in zones]
    byname = {z["name"]: z for z in zones}
    # M_ZERO would wipe the pointer an attaching zinit keeps in the item.
    attaching = {z["name"] for z in zones if str(z.get("zinit", "")).startswith("attach")}
    # Zones whose allocations can return NULL under M_WAITOK (a failing
    # ctor or zinit), and whose items other zones' zinit point into.
    failing = {z["name"] for z in zones
               if any(str(z.get(k, "")).startswith(("fail", "attach")) for k in ("ctor", "zinit"))}
    targets = {str(z.get("zinit", "")).split()[1] for z in zones if z["name"] in attaching}

    def keg(name):
        z = byname[name]
        return byname.get(z.get("master"), z)

    # uma_prealloc adds slabs whatever the limit (and dereferences the
    # slab a failing keg init or allocf did not give): only kegs with
    # neither.
    prealloc_ok = [n for n in znames
                   if keg(n).get("max") is None and not keg(n).get("init")
                   and not keg(n).get("allocf")]
    refcnt_ok = {n for n in znames if "refcnt" in (keg(n).get("flags") or ())}
    pages = cfg.get("pages", 256)
    fault_pages = sorted({0, 1, 4, pages // 2, pages})
    destroys = any(kinds[b % len(kinds)] == "zlife" for kb, _ in raw for b in kb)
    claimed: set[str] = set()
    # Variables of each thread nobody frees (yet), in order of creation.
    unclaimed: list[list[str]] = []
    # How each variable is freed: free, free_large or kmem_free.
    freer: dict[str, str] = {}
    programs = []
    for t, (kbytes, abytes) in enumerate(raw):
        out: list[str] = []
        live: list[str] = []
        # Variables that hold an item whatever the schedule (M_WAITOK from
        # a zone that cannot fail), by zone: what touch and refcnt may use.
        sure: dict[str, str] = {}
        k = 0
        own_zones = 0

        def new_var(prefix: str) -> str:
            nonlocal k
            var = f"{prefix}{t}_{k}"
            k += 1
            return var

        def free_one(var: str) -> None:
            claimed.add(var)
            if var in live:
                live.remove(var)
            sure.pop(var, None)
            out.append(f"{freer.get(var, 'free')} {var}")

        def candidates() -> list[str]:
            cands = list(live)
            if knobs.cross_frees:
                for j in range(t):
                    cands += [v for v in unclaimed[j] if v not in claimed]
            return cands

        for i, kind_i in enumerate(kbytes):
            kind = kinds[kind_i % len(kinds)]
            arg = abytes[i] if i < len(abytes) else 0
            x, y = arg & 15, arg >> 4
            if kind == "alloc":
                var = new_var("v")
                zone = znames[x % len(znames)]
                words = ["alloc", zone]
                if knobs.nowait and y & 1:
                    words.append("nowait")
                if y & 2 and zone not in attaching:
                    words.append("zero")
                novm = knobs.faults and knobs.nowait and y & 12 == 12
                if novm:
                    words.append("novm")
                out.append(" ".join(words) + f" -> {var}")
                live.append(var)
                # (M_NOVM may return NULL even without M_NOWAIT.)
                if not (y & 1 and knobs.nowait) and not novm and zone not in failing \
                        and zone not in attaching and zone not in targets:
                    sure[var] = zone
            elif kind == "bulk":
                # A run of M_WAITOK allocations about a bucket long.
                zone = znames[x % len(znames)]
                for _ in range(_bulk_len(y, byname[zone], zones)):
                    var = new_var("v")
                    out.append(f"alloc {zone} -> {var}")
                    live.append(var)
            elif kind == "bulkfree":
                # A run of frees (of this thread's items, or another's on
                # another vCPU): buckets filled and pushed on the zone's list.
                n = _bulk_len(y, byname[znames[x % len(znames)]], zones)
                for var in candidates()[:n]:
                    free_one(var)
            elif kind == "malloc":
                var = new_var("m")
                nowait = " nowait" if knobs.nowait and y & 1 else ""
                out.append(f"malloc {MALLOC_SIZES[x % len(MALLOC_SIZES)]}{nowait} -> {var}")
                live.append(var)
                if not nowait:
                    sure[var] = ""
            elif kind == "large":
                var = new_var("l")
                out.append(f"malloc_large {4096 * (1 + x % 3)} -> {var}")
                live.append(var)
                freer[var] = "free_large"
            elif kind == "kmem":
                var = new_var("k")
                out.append(f"kmem_alloc {4096 * (1 + x % 2)} -> {var}")
                live.append(var)
                freer[var] = "kmem_free"
            elif kind == "free":
                cands = candidates()
                if not cands:
                    continue
                free_one(cands[arg % len(cands)])
            elif kind == "use":
                # touch or refcnt of an item this thread holds for sure,
                # which nobody else frees then.
                mine = [v for v in live if v in sure]
                if not mine:
                    continue
                var = mine[arg % len(mine)]
                if y & 1 and sure[var] in refcnt_ok:
                    out.append(f"refcnt {var}")
                else:
                    out.append(f"touch {var}")
                claimed.add(var)
            elif kind == "zlife":
                # A zone of this thread's own, from creation to destruction:
                # its items are all freed before uma_zdestroy (FreeBSD 7
                # leaves a keg with items out leaked), and nobody else uses it.
                # (At most ZLIFE_MAX a thread: the core's zone table is finite.)
                if own_zones >= ZLIFE_MAX:
                    continue
                own_zones += 1
                name = f"p{t}_{k}"
                k += 1
                # Items below 1024 bytes: a keg with a slab hash table
                # (UMA's choice from 1024 bytes on) made while another
                # thread's hash_alloc refills "UMA Hash" gets none, and
                # FreeBSD 7 dereferences it (the port's "no slab hash table"
                # panic).
                size = OWN_ZONE_SIZES[x % len(OWN_ZONE_SIZES)]
                flags = " flags=maxbucket" if y & 1 else ""
                out.append(f"zcreate {name} size={size}{flags}")
                # (uma_zone_set_obj makes the keg NOFREE: FreeBSD 7 then
                # leaks its slabs, headers included, at uma_zdestroy, so
                # such a zone is kept.)
                if y & 2:
                    out.append(f"setobj {name} {8 + 8 * (y >> 2)}")
                use = name
                if y & 4 and not y & 2:
                    use = f"q{t}_{k}"
                    k += 1
                    out.append(f"zsecond {use} master={name}")
                n = 1 + (arg % 3)
                mine = [new_var("v") for _ in range(n)]
                # (A keg with a private object that is out of pages makes
                # an M_WAITOK allocation spin in uma_zone_slab: M_NOWAIT.)
                wait = " nowait" if y & 2 else ""
                out += [f"alloc {use}{wait} -> {v}" for v in mine]
                if y & 8:
                    out.append(f"drain {use}")
                out += [f"free {v}" for v in mine]
                if use != name:
                    out.append(f"zdestroy {use}")
                if not y & 2:
                    out.append(f"zdestroy {name}")
            elif kind == "prealloc":
                if prealloc_ok:
                    out.append(f"prealloc {prealloc_ok[x % len(prealloc_ok)]} {1 + 2 * y}")
            elif kind == "drain":
                out.append(f"drain {znames[x % len(znames)]}")
            elif kind == "reclaim":
                out.append("reclaim")
            elif kind == "setmax":
                out.append(f"setmax {znames[x % len(znames)]} {1 + 3 * y}")
            elif kind == "vm_fail":
                out.append(f"vm_fail {1 + x % 3}")
            elif kind == "vm_free_pages":
                out.append(f"vm_free_pages {fault_pages[x % len(fault_pages)]}")
            elif kind == "sleep":
                out.append(f"sleep {1 + 4 * x}")
            elif kind == "lockpair":
                m = f"m{x % 2}"
                out += [f"lock {m}", "yield", f"unlock {m}"]
            elif kind == "critpair":
                out += ["crit_enter", "crit_exit"]
            elif kind == "tsleep":
                c = f"c{x % 2}"
                out.append(f"tsleep {c} {1 + y}" if arg & 1 == 0 else f"wakeup {c}")
            elif kind == "info":
                # DDB's show uma walks the kegs and zones without a lock (the
                # system stands still in the debugger): not while a zone may
                # be destroyed.
                info = ("sysctl", "print_stats") + (() if destroys else ("show_uma",))
                out.append(info[x % len(info)])
            elif kind == "recurse":
                out.append(f"recurse {1 + x % 4}")
            else:
                out.append(kind)                      # yield, timeout
        unclaimed.append([v for v in live if v not in claimed])
        programs.append(out)
    return programs


# ---- schedules ---------------------------------------------------------------

def max_decision(nthreads: int, cpus: int) -> int:
    """A decision large enough to pick any runnable thread (the case's,
    softclock, the pagedaemon) and migrate it to any vCPU."""
    return (nthreads + 2) * (cpus + 1)


@functools.lru_cache(maxsize=None)
def sparse_schedules(top: int, max_preemptions: int = 12, max_gap: int = 1023):
    """Preemptions as (gap, decision) pairs -- decision i is taken gap i
    steps after the previous one -- expanded to the machine form.  Drawn as
    two byte strings (decisions; gaps, two bytes each, small ones likelier:
    _gap): deleting a decision byte deletes a preemption, lowering gap
    bytes makes it earlier."""
    return st.tuples(st.binary(max_size=max_preemptions),
                     st.binary(max_size=2 * max_preemptions)).map(
        lambda p: decode_sparse(p[0], p[1], top, max_gap))


def decode_sparse(ds: bytes, gaps: bytes, top: int, max_gap: int = 1023) -> list[int]:
    """The machine-form decisions of sparse_schedules' two byte strings."""
    out: list[int] = []
    for i, b in enumerate(ds):
        if 2 * i < len(gaps):
            out += [0] * _gap(int.from_bytes(gaps[2 * i:2 * i + 2].ljust(2, b"\0"), "big"),
                              max_gap)
        out.append(1 + b % top)
    return out


@functools.lru_cache(maxsize=None)
def dense_schedules(top: int, length: int = 120):
    """A decision for each of the first steps: a byte below 128 is the
    default decision 0, the others 1..top."""
    return st.binary(max_size=length).map(
        lambda bs: [0 if b < 128 else 1 + (b - 128) % top for b in bs])


def _skewed(b: int, top: int) -> int:
    """0..top from a byte, small values likelier (a fifth of the bytes give
    0)."""
    return (b * b * (top + 1)) >> 16


def _gap(v: int, top: int) -> int:
    """0..top from a 16-bit value, small values much likelier (top * u**4,
    u uniform in [0, 1): a quarter give 0 when top is 255, half of them
    at most top / 16): most races need the preemption at the very next UMA
    point, and a burst's find may need one a hundred stops on."""
    return (v ** 4 * (top + 1)) >> 64


def trigger_schedules(top: int, max_triggers: int = 6, max_gap: int = 255):
    """A schedule in trigger form (Case.triggers): (gap, decision) pairs
    whose gaps count stops at UMA's own preemption points.  Two byte
    strings: a byte per decision, two per gap (_gap), as sparse_schedules
    (deleting a decision byte deletes a trigger, lowering gap bytes makes
    it earlier)."""
    return _cached(_trigger_schedules, top, max_triggers, max_gap)


def decode_triggers(ds: bytes, gaps: bytes, top: int, max_gap: int = 255):
    """The (gap, decision) pairs of trigger_schedules' two byte strings."""
    return [(_gap(int.from_bytes(gaps[2 * i:2 * i + 2].ljust(2, b"\0"), "big"), max_gap)
             if 2 * i < len(gaps) else 0, 1 + b % top)
            for i, b in enumerate(ds)]


def _trigger_schedules(top, max_triggers, max_gap):
    return st.tuples(st.binary(max_size=max_triggers),
                     st.binary(max_size=2 * max_triggers)).map(
        lambda p: decode_triggers(p[0], p[1], top, max_gap))


def schedules(top: int, knobs: Knobs = DEFAULT_KNOBS):
    """Machine-form schedules of the knobs' form (sparse or dense; mixed:
    either)."""
    if knobs.schedule == "dense":
        return dense_schedules(top, knobs.dense_len)
    if knobs.schedule in ("sparse", "points"):
        return sparse_schedules(top, knobs.max_preemptions, knobs.max_gap)
    return _cached(st.one_of, sparse_schedules(top, knobs.max_preemptions, knobs.max_gap),
                   dense_schedules(top, knobs.dense_len))


SCHEDULE_FORMS = ("points", "sparse", "dense")


# ---- whole cases -------------------------------------------------------------

def cases(knobs: Knobs = DEFAULT_KNOBS, bugs=(), granularity: str | None = None,
          max_steps: int = DEFAULT_MAX_STEPS):
    """A whole simulation: machine, zones, 1..max_threads threads with their
    programs and vCPUs, and a schedule; `bugs` are known-bug switches to
    turn on, `granularity` fixes the granularity instead of drawing it."""
    return _cached(_cases, knobs, tuple(bugs), granularity, max_steps)


@st.composite
def _cases(draw, knobs, bugs, granularity, max_steps) -> Case:
    # The thread count first: drawn after the machine and zones, Hypothesis
    # gives one thread most of the time.  From a byte, each count about as
    # likely (a drawn integer is small more often); 0 is the fewest.
    lo = min(knobs.min_threads, knobs.max_threads)
    nthreads = lo + draw(_bytes(1))[0] % (knobs.max_threads - lo + 1)
    raw = [draw(raw_programs(knobs)) for _ in range(nthreads)]
    cpub = draw(_bytes(knobs.max_threads))
    swarm = int.from_bytes(draw(_bytes(SWARM_BYTES)), "little") if knobs.swarm else 0
    cfg = draw(sim_configs(knobs, bugs, granularity))
    zones = draw(zone_lists(knobs))
    cpus = [cpub[i] % cfg["cpus"] for i in range(nthreads)]
    progs = decode_programs(raw, zones, cfg, knobs, swarm)
    threads = [{"name": f"t{i}", "cpu": cpus[i], "ops": progs[i]} for i in range(nthreads)]
    top = max_decision(nthreads, cfg["cpus"])
    meta: dict = {"top": top, "knobs": knobs}
    if knobs.burst:
        # The schedule family of the burst, and its seed.
        meta["family"] = BURST_FAMILIES[draw(_int(0, len(BURST_FAMILIES) - 1))]
        meta["seed"] = int.from_bytes(draw(_bytes(4)), "little")
    # The schedule's choices come last: a schedule a burst finds takes
    # their place (schedule_choices).
    meta["at"] = _choices_so_far()
    form = knobs.schedule
    if form == "mixed":
        form = SCHEDULE_FORMS[draw(_int(0, len(SCHEDULE_FORMS) - 1))]
    meta["form"] = form
    if form == "points":
        trig = draw(trigger_schedules(top, knobs.max_triggers, knobs.max_trigger_gap))
        return Case.of(cfg, zones, threads, max_steps=max_steps, triggers=trig, draw=meta)
    if form == "sparse":
        dec = draw(sparse_schedules(top, knobs.max_preemptions, knobs.max_gap))
    else:
        dec = draw(dense_schedules(top, knobs.dense_len))
    return Case.of(cfg, zones, threads, dec, max_steps, draw=meta)


BURST_FAMILIES = ("guided", "pct")


def _choices_so_far() -> int | None:
    """How many choices the example under way has made (None outside a
    Hypothesis test)."""
    try:
        from hypothesis.control import current_build_context
        return len(current_build_context().data.nodes)
    except Exception:  # noqa: BLE001 -- no build context, or another Hypothesis
        return None


# ---- the inverse: a schedule as the choices that draw it ---------------------

def _ungap(gap: int, top: int) -> int | None:
    """The smallest 16-bit value that _gap maps to `gap` (None: none does)."""
    lo, hi = 0, 0xFFFF
    if not 0 <= gap <= top:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if _gap(mid, top) >= gap:
            hi = mid
        else:
            lo = mid + 1
    return lo if _gap(lo, top) == gap else None


def encode_triggers(triggers, top: int, knobs: Knobs = DEFAULT_KNOBS):
    """The two byte strings trigger_schedules decodes to these (gap,
    decision) pairs, or None when they are out of its reach (too many,
    a gap too long, a decision above `top`)."""
    if len(triggers) > knobs.max_triggers:
        return None
    ds, gaps = bytearray(), bytearray()
    for gap, d in triggers:
        g = _ungap(gap, knobs.max_trigger_gap)
        if g is None or not 1 <= d <= min(top, 256):
            return None
        ds.append(d - 1)
        gaps += g.to_bytes(2, "big")
    return bytes(ds), bytes(gaps)


def encode_sparse(decisions, top: int, knobs: Knobs = DEFAULT_KNOBS):
    """The two byte strings sparse_schedules decodes to these machine-form
    decisions (trailing zeros aside), or None when out of its reach."""
    dec = list(decisions)
    while dec and dec[-1] == 0:
        dec.pop()
    ds, gaps = bytearray(), bytearray()
    run = 0
    for d in dec:
        if d == 0:
            run += 1
            continue
        g = _ungap(run, knobs.max_gap)
        if g is None or not 1 <= d <= min(top, 256):
            return None
        ds.append(d - 1)
        gaps += g.to_bytes(2, "big")
        run = 0
    if len(ds) > knobs.max_preemptions:
        return None
    return bytes(ds), bytes(gaps)


def schedule_choices(case: Case, triggers=None, decisions=None):
    """The choices that draw `case` again with this schedule in place of
    its own: trigger form (`triggers`) or sparse machine form
    (`decisions`).  None when the case was not drawn by cases() in a
    Hypothesis test, its knobs do not draw that form, or the schedule is
    out of the form's reach.  Only the tail after case.draw["at"] is
    returned (a tuple of choices)."""
    meta = case.draw
    if not meta or meta.get("at") is None:
        return None
    knobs, top = meta["knobs"], meta["top"]
    form = "points" if triggers is not None else "sparse"
    if knobs.schedule not in ("mixed", form):
        return None
    enc = encode_triggers(triggers, top, knobs) if triggers is not None \
        else encode_sparse(decisions, top, knobs)
    if enc is None:
        return None
    head = (SCHEDULE_FORMS.index(form),) if knobs.schedule == "mixed" else ()
    return head + enc
