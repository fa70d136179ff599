"""Keg geometry: every item size from 1 to 8192, at several
alignments and flag sets, against an independent computation of FreeBSD 7's
formulas (uma_core.c: zone_small_init, zone_large_init, keg_ctor's uk_pgoff,
uma_startup's uma_max_ipers loop) with amd64's constants.

The reference below is plain Python arithmetic: it never asks the C core for
a number.  The zones are real ones: one Sim, and per configuration
uma_zcreate, a look at the keg, uma_zdestroy."""

from __future__ import annotations

import pytest

from umasim import Sim

# ---- amd64 constants of FreeBSD 7 (sys/vm/uma_int.h, amd64's param.h) --------
PAGE = 4096                 # UMA_SLAB_SIZE = PAGE_SIZE
SLAB_HEAD = 48              # sizeof(struct uma_slab_head)
SLAB = 56                   # sizeof(struct uma_slab)
FRITM = 8                   # UMA_FRITM_SZ = sizeof(uma_slab) - sizeof(uma_slab_head)
SLAB_REF = 56               # sizeof(struct uma_slab_refcnt)
FRITMREF = 8                # UMA_FRITMREF_SZ
MAX_WASTE = PAGE // 10      # UMA_MAX_WASTE = 409
SMALLEST_UNIT = PAGE // 256  # UMA_SMALLEST_UNIT = 16
ALIGN_PTR = 7               # UMA_ALIGN_PTR on amd64
ALIGN_CACHE_DEFAULT = 16 - 1  # uma_align_cache unless uma_set_align() changed it
MAX_SIZE = 8192

assert SLAB - SLAB_HEAD == FRITM and SLAB_REF - SLAB_HEAD == FRITMREF


def seed_max_ipers(slab: int, fritm: int) -> int:
    """uma_startup's loop: the smallest object size whose in-page waste
    would send it off-page, and how many of those fit a page."""
    wsize = PAGE - slab - MAX_WASTE
    totsize = wsize
    objsize = SMALLEST_UNIT
    while totsize >= wsize:
        totsize = (PAGE - slab) // (objsize + fritm)
        totsize *= fritm + objsize
        objsize += 1
    if objsize > SMALLEST_UNIT:
        objsize -= 1
    return PAGE // objsize


UMA_MAX_IPERS = seed_max_ipers(SLAB, FRITM)
UMA_MAX_IPERS_REF = seed_max_ipers(SLAB_REF, FRITMREF)


def seed_geometry(size: int, align: int, flags: frozenset[str],
                  internal: bool = False) -> tuple:
    """keg_ctor's geometry: (rsize, ipers, ppera, pgoff, flag names)."""
    f = set(flags)
    if "vm" in f:
        f.add("cacheonly")                  # UMA_ZONE_VM -> UMA_ZFLAG_CACHEONLY
    if internal:
        f.add("internal")
    if "refcnt" in f:
        fritm, shsize = FRITMREF, SLAB_REF
    else:
        fritm, shsize = FRITM, SLAB
    if size + fritm > PAGE - shsize:
        # zone_large_init
        assert "cacheonly" not in f, "zone_large_init: cannot large-init a CACHEONLY keg"
        ppera = -(-size // PAGE)
        ipers = 1
        f.add("offpage")
        if "malloc" not in f:
            f.add("hash")
        rsize = size
    else:
        # zone_small_init
        rsize = max(size, SMALLEST_UNIT)
        if rsize & align:
            rsize = (rsize & ~align) + (align + 1)
        ppera = 1
        ipers = (PAGE - shsize) // (rsize + fritm)
        assert ipers != 0
        wasted = PAGE - (ipers * (rsize + fritm) + shsize)
        assert wasted >= 0
        if not ({"internal", "cacheonly"} & f):
            if wasted >= MAX_WASTE and ipers < PAGE // rsize:
                ipers = PAGE // rsize
                assert ipers <= 255
                f.add("offpage")
                if "malloc" not in f:
                    f.add("hash")
    pgoff = 0                               # the keg is bzero'd
    if "offpage" not in f:
        totsize = shsize + ipers * fritm
        if totsize & ALIGN_PTR:
            totsize = (totsize & ~ALIGN_PTR) + (ALIGN_PTR + 1)
        pgoff = PAGE - totsize
        # keg_ctor's "UMA slab won't fit" check, and the items stay clear of
        # the header
        assert pgoff + shsize + ipers * fritm <= PAGE
        assert ipers * rsize <= pgoff
    return rsize, ipers, ppera, pgoff, frozenset(f)


# ---- the reference itself, against figures worked out by hand ---------------
# The geometry of an ordinary zone (UMA_ALIGN_PTR) on FreeBSD 7 amd64, worked out
# by hand from keg_ctor, zone_small_init and zone_large_init.
HAND_TABLE = {
    #  size: (rsize, ipers, ppera, pgoff, offpage)
    16: (16, 168, 1, 2696, False),
    32: (32, 101, 1, 3232, False),
    64: (64, 56, 1, 3592, False),
    100: (104, 36, 1, 3752, False),
    128: (128, 29, 1, 3808, False),
    256: (256, 15, 1, 3920, False),
    512: (512, 7, 1, 3984, False),
    1024: (1024, 4, 1, 0, True),
    2048: (2048, 2, 1, 0, True),
    4096: (4096, 1, 1, 0, True),
    8192: (8192, 1, 2, 0, True),
}


def test_reference_matches_the_hand_worked_table():
    assert (UMA_MAX_IPERS, UMA_MAX_IPERS_REF, MAX_WASTE) == (9, 9, 409)
    for size, (rsize, ipers, ppera, pgoff, off) in HAND_TABLE.items():
        r, i, p, g, f = seed_geometry(size, ALIGN_PTR, frozenset())
        assert (r, i, p, g) == (rsize, ipers, ppera, pgoff), size
        assert ("offpage" in f) == off and ("hash" in f) == off, size
    # the small/large boundary: size + 8 > 4096 - 56
    assert seed_geometry(4032, ALIGN_PTR, frozenset())[:4] == (4032, 1, 1, 4032)
    assert "hash" in seed_geometry(4033, ALIGN_PTR, frozenset())[4]
    assert seed_geometry(4097, ALIGN_PTR, frozenset())[2] == 2


# ---- every size, against the port -------------------------------------------
ALIGNS = {"char": ("char", 0), "int": ("int", 3), "ptr": ("ptr", 7),
          "cache": ("cache", ALIGN_CACHE_DEFAULT), "mask63": (63, 63)}
FLAG_SETS = {
    "none": (),
    "refcnt": ("refcnt",),
    "malloc": ("malloc",),
    "offpage": ("offpage",),
    "offpage+refcnt": ("offpage", "refcnt"),
    "zinit": ("zinit",),
    "vm": ("vm",),                  # small kegs only: large-init of a
    "maxbucket": ("maxbucket",),    # CACHEONLY keg is a KASSERT
}


def seed_uz_count(ipers: int, flags) -> int:
    """zone_ctor: BUCKET_MAX for MAXBUCKET, else ipers capped at BUCKET_MAX."""
    return 128 if "maxbucket" in flags else min(ipers, 128)


def legal_sizes(flags) -> range:
    if "vm" in flags:
        return range(1, PAGE - SLAB - FRITM + 1)     # 1..4032
    return range(1, MAX_SIZE + 1)


@pytest.fixture(scope="module")
def sim():
    s = Sim(cpus=2)
    yield s
    s.check()


# Every alignment with the plain and the refcnt layouts; every flag set at
# UMA_ALIGN_PTR; a few more flag sets at the cache and 63 masks.
CONFIGS = ([(a, f) for a in ALIGNS for f in ("none", "refcnt")]
           + [("ptr", f) for f in FLAG_SETS if f not in ("none", "refcnt")]
           + [("cache", "malloc"), ("cache", "offpage"), ("cache", "vm"),
              ("mask63", "offpage+refcnt"), ("mask63", "vm"), ("char", "malloc")])


@pytest.mark.parametrize("align,flagset", CONFIGS)
def test_every_size_matches_the_seed(sim, align, flagset):
    arg, mask = ALIGNS[align]
    flags = FLAG_SETS[flagset]
    fset = frozenset(flags)
    bad = []
    overflow = 0
    zcreate, zdestroy = sim.zcreate, sim.zdestroy
    for size in legal_sizes(flags):
        z = zcreate("geo", size, align=arg, flags=flags)
        g, count = z.geometry, z.uz_count
        zdestroy("geo")
        want = seed_geometry(size, mask, fset)
        got = (g.rsize, g.ipers, g.ppera, g.pgoff, frozenset(g.flags))
        if g.size != size or g.align != mask or got != want or \
                count != seed_uz_count(want[1], fset):
            bad.append((size, got, count, want))
        if "offpage" in want[4] and want[1] > UMA_MAX_IPERS:
            overflow += 1
    assert not bad, f"{len(bad)} sizes differ; first: {bad[:3]}"
    # only a creator's own OFFPAGE on small items can exceed the header
    assert (overflow > 0) == ("offpage" in flags)
    sim.check()


def test_zone_creation_does_not_leak():
    """Creating and destroying zones of every kind returns everything: after
    a first round has warmed the internal zones up, more rounds leave the
    pages in use where they were."""
    s = Sim(cpus=2)
    sizes = (16, 100, 1000, 2048, 4033, 8192)

    def round_():
        for size in sizes:
            for flags in (("offpage",), ("malloc",), ("refcnt",), ()):
                s.zcreate("leak", size, flags=flags)
                s.zdestroy("leak")

    round_()
    before = s.uma()["free_pages"], s.uma()["kmem_used"]
    for _ in range(5):
        round_()
    assert (s.uma()["free_pages"], s.uma()["kmem_used"]) == before
    s.check()


def test_offpage_overflow_panics_at_the_first_slab():
    """A creator's OFFPAGE on 16-byte items keeps the in-page ipers (168),
    more than an off-page header from "UMA Slabs" has room for (9): FreeBSD 7
    would write past it; the port panics at the first slab allocation."""
    s = Sim(cpus=2)
    z = s.zcreate("tiny", 16, flags=["offpage"])
    assert (z.geometry.ipers, z.geometry.pgoff) == (168, 0)
    assert z.geometry.offpage and not z.geometry.hash
    s.spawn("a", ops=["alloc tiny -> x"])
    res = s.run()
    assert res.outcome == "panic"
    assert res.panic.startswith("umasim: keg tiny: 168 items per slab do not fit "
                                "an off-page slab header (room for 9)")
    assert s.thread("a").state == "panicked"
    assert z.geometry.ipers == 168             # still readable after the panic


@pytest.mark.parametrize("size,ipers,fits", [(400, 9, True), (390, 10, False)])
def test_offpage_header_boundary(size, ipers, fits):
    """ipers == uma_max_ipers still fits the header; one more does not."""
    s = Sim(cpus=2)
    z = s.zcreate("edge", size, flags=["offpage", "hash"])
    assert z.geometry.ipers == ipers
    s.spawn("a", ops=["alloc edge -> x", "free x"])
    res = s.run()
    if fits:
        assert res.outcome == "completed", res.panic
        s.check()
    else:
        assert res.outcome == "panic"
        assert "10 items per slab do not fit an off-page slab header" in res.panic


# ---- UMA's own zones --------------------------------------------------------
def internal_zones(ncpus: int) -> dict[str, int]:
    """Item sizes of UMA's internal zones on FreeBSD 7 amd64 (uma_startup)."""
    bucket_hdr, ptr, uma_keg, uma_zone, uma_cache = 24, 8, 216, 152, 32
    z = {f"{n} Bucket": bucket_hdr + n * ptr for n in (16, 32, 64, 128)}
    z["UMA Slabs"] = UMA_MAX_IPERS * FRITM + SLAB
    z["UMA RCntSlabs"] = UMA_MAX_IPERS_REF * FRITMREF + SLAB_REF
    z["UMA Hash"] = 32 * ptr                      # UMA_HASH_SIZE_INIT slabheads
    z["UMA Kegs"] = uma_keg
    z["UMA Zones"] = uma_zone + uma_cache * ncpus  # uz_cpu[mp_maxid + 1]
    return z


@pytest.mark.parametrize("ncpus", [1, 4, 64])
def test_internal_zones(ncpus):
    s = Sim(cpus=ncpus)
    want = internal_zones(ncpus)
    assert want["16 Bucket"] == 152 and want["128 Bucket"] == 1048
    assert want["UMA Slabs"] == 128 and want["UMA RCntSlabs"] == 128
    assert want["UMA Hash"] == 256
    zs = s.zones
    for name, size in want.items():
        g = zs[name].geometry
        align = 31 if name in ("UMA Kegs", "UMA Zones") else ALIGN_PTR
        rsize, ipers, ppera, pgoff, flags = seed_geometry(size, align, frozenset(),
                                                          internal=True)
        assert (g.size, g.rsize, g.ipers, g.ppera, g.pgoff, g.align) == \
            (size, rsize, ipers, ppera, pgoff, align), name
        assert set(g.flags) == {"internal"}, name
        assert zs[name].uz_count == 0, name       # zone_ctor returns early: no caches
        assert not zs[name].stats["secondary"]
    # The internal zones' figures on FreeBSD 7 amd64, worked out by hand
    pinned = {"16 Bucket": (25, 3840), "32 Bucket": (14, 3928),
              "64 Bucket": (7, 3984), "128 Bucket": (3, 4016),
              "UMA Slabs": (29, 3808), "UMA RCntSlabs": (29, 3808),
              "UMA Hash": (15, 3920), "UMA Kegs": (17, 3904)}
    for name, (ipers, pgoff) in pinned.items():
        assert (zs[name].geometry.ipers, zs[name].geometry.pgoff) == (ipers, pgoff), name


def test_uma_max_ipers():
    u = Sim(cpus=2).uma()
    assert u["max_ipers"] == UMA_MAX_IPERS == 9
    assert u["max_ipers_ref"] == UMA_MAX_IPERS_REF == 9


def test_malloc_zones_are_malloc_kegs():
    """malloc(9)'s kmemzones: UMA_ZONE_MALLOC kegs, so off-page ones have
    no hash (vtoslab finds their slabs)."""
    zs = Sim(cpus=2).zones
    for n in range(4, 13):
        size = 1 << n
        g = zs[str(size)].geometry
        rsize, ipers, ppera, pgoff, flags = seed_geometry(size, ALIGN_PTR,
                                                          frozenset({"malloc"}))
        assert (g.size, g.rsize, g.ipers, g.ppera, g.pgoff) == \
            (size, rsize, ipers, ppera, pgoff), size
        assert set(g.flags) == flags, size


def test_align_cache_is_uma_set_align_at_boot():
    """[sim] align_cache (docs/design.md) calls uma_set_align(): zones created
    with align "cache" take that mask instead of the default 16-1, other
    alignments are unchanged, and "cache" itself leaves the default (the
    FreeBSD 7's uma_set_align ignores UMA_ALIGN_CACHE)."""
    from umasim import Sim
    assert Sim(align_cache=63).zcreate("c", 100, align="cache").geometry.align == 63
    assert Sim(align_cache=63).zcreate("c", 100, align="cache").geometry.rsize == 128
    assert Sim(align_cache=63).zcreate("p", 100, align="ptr").geometry.align == 7
    assert Sim().zcreate("c", 100, align="cache").geometry.align == 15
    assert Sim(align_cache="cache").zcreate("c", 100, align="cache").geometry.align == 15
