"""UMA zones as Python sees them: creation arguments (flags, alignment,
built-in callbacks), and read-only views of zones, kegs, caches, buckets
and slabs, taken from the C core without changing the simulation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import struct

from umasim.bindings import (ALIGNS, CB_KINDS, CB_SLOTS, FLAG_NAMES, PAGE_SIZE, ZFLAG_FULL,
                             ZONE_FLAGS, ZONE_STATS)
from umasim.errors import InvalidArgument, WrongType

if TYPE_CHECKING:
    from umasim.model.sim import Sim

# What each slot may be.
CB_ALLOWED = {
    "ctor": ("trash", "zero", "fail", "fail_every", "sleep"),
    "dtor": ("trash", "zero", "sleep"),
    "init": ("trash", "zero", "fail", "fail_every", "sleep", "attach"),
    "zinit": ("trash", "zero", "fail", "fail_every", "sleep", "attach"),
    "fini": ("trash", "zero", "sleep", "detach"),
    "zfini": ("trash", "zero", "sleep", "detach"),
    "allocf": ("fail", "fail_every", "sleep"),
    "freef": ("sleep", "leak"),
}
_CB_ARG = {"fail": "n", "fail_every": "n", "sleep": "n", "attach": "zone"}


def flag_names(bits: int) -> list[str]:
    return [name for bit, name in FLAG_NAMES.items() if bits & bit]


def parse_align(value) -> int:
    """An alignment: a name of docs/design.md or a mask (2**k - 1)."""
    if isinstance(value, bool):
        raise WrongType("align must be a name or a mask, not a bool")
    if isinstance(value, int):
        mask = value
    elif isinstance(value, str) and value in ALIGNS:
        return ALIGNS[value]
    elif isinstance(value, str) and re.fullmatch(r"(0x[0-9a-fA-F]+|\d+)", value):
        mask = int(value, 0)
    else:
        raise InvalidArgument(f"bad align {value!r} (one of {', '.join(ALIGNS)}, or a mask like 15)")
    if mask < 0 or mask >= PAGE_SIZE or (mask & (mask + 1)) != 0:
        raise InvalidArgument(f"align mask {mask} is not 2**k - 1 below a page")
    return mask


def parse_flags(value) -> int:
    """Zone flags: a list of names, or one comma-separated string."""
    if isinstance(value, str):
        value = [v for v in value.split(",") if v]
    bits = 0
    for name in value:
        if not isinstance(name, str):
            raise WrongType(f"a zone flag is a name, not {type(name).__name__}")
        if name == "secondary":
            raise InvalidArgument('flag "secondary" is UMA\'s own: make a secondary zone with zsecond')
        if name not in ZONE_FLAGS:
            raise InvalidArgument(f"unknown zone flag {name!r} (one of: {', '.join(ZONE_FLAGS)})")
        bits |= ZONE_FLAGS[name]
    return bits


@dataclass(frozen=True)
class Callback:
    slot: str
    kind: str
    n: int = 0
    target: str | None = None


def parse_callback(slot: str, text) -> Callback:
    """'trash', 'zero', 'fail 3', 'fail_every 2', 'sleep 5', 'attach clust',
    'detach', 'leak' -- as the slot allows."""
    if not isinstance(text, str):
        raise WrongType(f"{slot} must be a string like 'trash' or 'fail 3'")
    words = text.split()
    if not words:
        raise InvalidArgument(f"{slot}: empty callback")
    kind, args = words[0], words[1:]
    if kind not in CB_KINDS:
        raise InvalidArgument(f"{slot}: unknown callback {kind!r} (one of: {', '.join(CB_ALLOWED[slot])})")
    if kind not in CB_ALLOWED[slot]:
        raise InvalidArgument(f"{slot}: {kind!r} is not a {slot} (one of: {', '.join(CB_ALLOWED[slot])})")
    need = _CB_ARG.get(kind)
    if need is None:
        if args:
            raise InvalidArgument(f"{slot}: {kind!r} takes no argument")
        return Callback(slot, kind)
    if len(args) != 1:
        raise InvalidArgument(f"{slot}: {kind!r} needs one argument")
    if need == "zone":
        return Callback(slot, kind, target=args[0])
    if not args[0].isdigit() or int(args[0]) < 1:
        raise InvalidArgument(f"{slot}: {kind} needs a positive number, not {args[0]!r}")
    return Callback(slot, kind, n=int(args[0]))


@dataclass(frozen=True)
class Geometry:
    """A keg's sizing, as keg_ctor computed it."""
    size: int
    rsize: int
    ipers: int
    ppera: int
    pgoff: int
    align: int
    flags: tuple[str, ...]

    @property
    def offpage(self) -> bool:
        return "offpage" in self.flags

    @property
    def hash(self) -> bool:
        return "hash" in self.flags


@dataclass(frozen=True)
class CpuCache:
    cpu: int
    alloc: int | None       # items in the alloc bucket (None: no bucket)
    alloc_entries: int
    free: int | None
    free_entries: int
    allocs: int
    frees: int


@dataclass(frozen=True)
class Slab:
    addr: int
    data: int
    free: int
    firstfree: int
    flags: int


class Zone:
    """A live view of one UMA zone (and its keg).  Every property reads the
    simulation now; none changes it."""

    def __init__(self, sim: "Sim", name: str, slot: int | None = None, addr: int | None = None):
        self._sim = sim
        self.name = name
        self.slot = slot
        self._addr = addr

    def _info(self):
        core = self._sim.core
        if self.slot is not None:
            rec = core.zone_by_slot(self.slot)
            if rec is None:
                state = core.zone_state(self.slot)
                raise InvalidArgument(f"zone {self.name} " +
                                      {2: "was destroyed", 3: "is being destroyed"}.get(
                                          state, "does not exist yet"))
            return rec
        for rec in core.zones():
            if rec.addr == self._addr:
                return rec
        raise InvalidArgument(f"zone {self.name} no longer exists")

    @property
    def sim(self):
        """The Sim this zone belongs to."""
        return self._sim

    @property
    def keg(self) -> int:
        """The address of the zone's keg (zones that share a keg share it)."""
        return self._info().keg

    @property
    def addr(self) -> int:
        return self._info().addr

    @property
    def exists(self) -> bool:
        try:
            self._info()
            return True
        except ValueError:
            return False

    @property
    def geometry(self) -> Geometry:
        i = self._info()
        return Geometry(i.size, i.rsize, i.ipers, i.ppera, i.pgoff, i.align,
                        tuple(flag_names(i.flags)))

    @property
    def stats(self) -> dict:
        i = self._info()
        return dict(size=i.size, pages=i.pages, keg_free=i.keg_free, maxpages=i.maxpages,
                    limit=i.limit, allocs=i.allocs, frees=i.frees, fails=i.fails,
                    used=i.allocs - i.frees, uz_count=i.count, uz_fills=i.fills,
                    full_buckets=i.full_buckets, full_items=i.full_items,
                    free_buckets=i.free_buckets, cache_items=i.cache_items,
                    flags=flag_names(i.flags), secondary=bool(i.secondary),
                    internal=bool(i.internal), hashsize=i.hashsize, recurse=i.recurse,
                    lock_owner=self._sim.thread_name(i.lock_owner))

    uz_count = property(lambda self: self._info().count)
    uz_fills = property(lambda self: self._info().fills)
    limit = property(lambda self: self._info().limit)
    flags = property(lambda self: flag_names(self._info().flags))
    pages = property(lambda self: self._info().pages)
    keg_free = property(lambda self: self._info().keg_free)

    @property
    def full(self) -> bool:
        """UMA_ZFLAG_FULL: the keg reached its page limit."""
        return bool(self._info().flags & ZFLAG_FULL)

    @property
    def caches(self) -> list[CpuCache]:
        """Each vCPU's alloc and free bucket."""
        i = self._info()
        return [CpuCache(c, None if ac < 0 else ac, ae, None if fc < 0 else fc, fe, al, fr)
                for c, (ac, ae, fc, fe, al, fr) in enumerate(
                    self._sim.core.zone_caches(i.addr))]

    def _buckets(self, which: int) -> list[tuple[int, int]]:
        i = self._info()
        return self._sim.core.zone_buckets(i.addr, which)

    @property
    def full_buckets(self) -> list[tuple[int, int]]:
        """The zone's full-bucket list: (items, capacity) per bucket."""
        return self._buckets(0)

    @property
    def free_buckets(self) -> list[tuple[int, int]]:
        """The zone's empty-bucket list."""
        return self._buckets(1)

    def _slabs(self, which: int) -> list[Slab]:
        i = self._info()
        return [Slab(*rec) for rec in self._sim.core.zone_slabs(i.addr, which)]

    @property
    def slabs(self) -> dict[str, list[Slab]]:
        """The keg's partial, free and full slabs."""
        return {"part": self._slabs(0), "free": self._slabs(1), "full": self._slabs(2)}

    def items(self, where: str, cpu: int | None = None) -> list[int]:
        """Addresses of the zone's items that are in the per-CPU caches
        ("cache", of one vCPU or all), the zone's full buckets ("bucket"),
        or free in the keg's slabs ("slab")."""
        code = {"cache": 0, "bucket": 1, "slab": 2}.get(where)
        if code is None:
            raise InvalidArgument("where is one of cache, bucket, slab")
        i = self._info()
        return self._sim.core.zone_items(i.addr, code, -1 if cpu is None else cpu)

    def __repr__(self) -> str:
        try:
            st = self.stats
        except ValueError as e:
            return f"<Zone {self.name}: {e}>"
        return (f"<Zone {self.name} size={st['size']} used={st['used']} "
                f"pages={st['pages']} limit={st['limit']}>")


@dataclass(frozen=True)
class VmstatRow:
    """One line of `vmstat -z` (FreeBSD 7), as libmemstat computes it."""
    name: str
    size: int
    limit: int
    used: int
    free: int
    requests: int
    failures: int


def parse_zone_stats(data: bytes) -> list[VmstatRow]:
    """The vm.zone_stats stream, read the way libmemstat's
    memstat_sysctl_uma() reads it."""
    L = ZONE_STATS
    if len(data) < L.stream_header:
        raise InvalidArgument("zone_stats stream too short")
    version, maxcpus, count = _STREAM.unpack_from(data, 0)
    if version != 1:
        raise InvalidArgument(f"zone_stats stream version {version}, expected 1")
    off = L.stream_header
    rows = []
    for _ in range(count):
        (name, size, limit, keg_free, zone_free, zflags, numallocs, numfrees,
         fails) = _TYPE.unpack_from(data, off)
        off += L.type_header
        free = 0
        for _c in range(maxcpus):
            ups_allocs, ups_frees, cache_free = _PERCPU.unpack_from(data, off)
            numallocs += ups_allocs
            numfrees += ups_frees
            free += cache_free
            off += L.percpu
        free += zone_free
        if not zflags & L.secondary:
            free += keg_free
        rows.append(VmstatRow(name.split(b"\0")[0].decode(), size, limit,
                              numallocs - numfrees, free, numallocs, fails))
    return rows


def _record(fields: list[tuple[str, str]]) -> struct.Struct:
    """A little-endian struct of the named fields, at the offsets the core
    reports (padding between them skipped), in the order given."""
    F = ZONE_STATS.fields
    laid = sorted(fields, key=lambda f: F[f[0]])
    fmt, at = "<", 0
    for name, code in laid:
        gap = F[name] - at
        if gap < 0:
            raise RuntimeError(f"zone_stats field {name} overlaps the one before it")
        fmt += f"{gap}x" if gap else ""
        fmt += code
        at = F[name] + struct.calcsize("<" + code)
    if [n for n, _ in laid] != [n for n, _ in fields]:
        raise RuntimeError("zone_stats fields are not in the order read here")
    return struct.Struct(fmt)


# The vm.zone_stats records (struct uma_stream_header, uma_type_header,
# uma_percpu_stat), laid out from the offsets read from the core.
_STREAM = _record([("ush_version", "I"), ("ush_maxcpus", "I"), ("ush_count", "I")])
_TYPE = _record([("uth_name", f"{ZONE_STATS.name_len}s"), ("uth_size", "I"),
                 ("uth_limit", "I"), ("uth_keg_free", "I"), ("uth_zone_free", "I"),
                 ("uth_zone_flags", "I"), ("uth_allocs", "Q"), ("uth_frees", "Q"),
                 ("uth_fails", "Q")])
_PERCPU = _record([("ups_allocs", "Q"), ("ups_frees", "Q"), ("ups_cache_free", "Q")])


def format_vmstat(rows: list[VmstatRow]) -> str:
    """The table as FreeBSD 7's `vmstat -z` prints it."""
    lines = [f"{'ITEM':<20}{'SIZE':>8} {'LIMIT':>8} {'USED':>8} {'FREE':>8} "
             f"{'REQUESTS':>8} {'FAILURES':>8}", ""]
    for r in rows:
        lines.append(f"{r.name + ':':<20}{r.size:>8},{r.limit:>8},{r.used:>8},{r.free:>8},"
                     f"{r.requests:>8},{r.failures:>8}")
    return "\n".join(lines) + "\n"
