"""Plans and merges: the list of units a campaign is, and what they found.

A plan depends only on the command, the scenario, the seed, the budget
(runs or examples) and the unit size -- never on where its units run --
and so does its id (a hash of all of these).  The merge reads unit results
in unit order, never in order of arrival, so the same campaign gives the
same findings on one process, on local workers or on a cluster.

    random, pct   unit k runs k*U .. k*U+U-1, each run seeded as the
                  whole exploration seeds it (seed + run); pct's run
                  length estimate (steps_hint) is computed once, here,
                  and run 0 stays the sequential run that makes it
    guided        shards of U runs; shard k starts from the corpora of
                  shards k - 2S + 1 .. k - S (S = GUIDED_SHARDS: the S
                  shards that end at its own place S shards back),
                  merged latest first, so that shards k - S + 1 .. k
                  may run at once and none waits at the end of a round;
                  shard k seeded seed (k = 0) or a hash of (seed, k)
    bounded       one unit: a depth-first search is one stack (it
                  refuses --jobs and --cluster)
    fuzz          unit k: a Hypothesis run of U examples, seeded with a
                  hash of (seed, k)

A budget of at least TAPER_MIN units ends on shorter units (the taper:
the last two units' worth cut into U, U/2, U/4, U/8, U/8; unit_bounds),
so that the workers that run out of units wait for a short one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from umasim.campaign.units import Unit, fingerprint
from umasim.errors import InvalidArgument

# Units' default sizes: runs of an explorer, examples of the fuzzer.
DEFAULT_UNIT_SIZE = {"explore": 10000, "fuzz": 25}
# Guided shards: shard k starts from the corpora of shards k - 2S + 1 ..
# k - S (S = GUIDED_SHARDS), so S shards may run at once, whatever the
# number of workers.
GUIDED_SHARDS = 4
# The taper: a budget of at least TAPER_MIN units has its last two units'
# worth cut into TAPER_CUTS units, each half of what is left (2U: U, U/2,
# U/4, U/8, U/8), so that the campaign ends on short units: the workers
# that run out of units wait for the last one still running, and that
# one is short (unit_bounds).
TAPER_MIN = 16
TAPER_CUTS = 5


def _tail(budget: int, size: int) -> tuple[int, list[tuple[int, int]]]:
    """The units of the unit size a budget starts with (their number),
    and the (start, count) of those after them: the remainder, or the
    taper's units."""
    n = -(-budget // size)
    if n < TAPER_MIN:
        head = budget // size
        return head, ([(head * size, budget - head * size)] if budget % size else [])
    head = n - 2
    out = []
    start, left = head * size, budget - head * size
    for cut in range(TAPER_CUTS):
        take = left if cut == TAPER_CUTS - 1 else -(-left // 2)
        if take:
            out.append((start, take))
        start, left = start + take, left - take
    return head, out


def unit_count(budget: int, size: int) -> int:
    head, tail = _tail(budget, size)
    return head + len(tail)


def unit_bound(budget: int, size: int, k: int) -> tuple[int, int]:
    """Unit k's (start, count) (unit_bounds)."""
    head, tail = _tail(budget, size)
    return (k * size, size) if k < head else tail[k - head]


def unit_bounds(budget: int, size: int) -> list[tuple[int, int]]:
    """The units' (start, count) over a budget of runs or examples: units
    of `size`, the last one the remainder -- or, for a budget of at least
    TAPER_MIN units, the last two units' worth (between size + 1 and
    2 * size) cut in halves: each unit half of what is left (rounded
    up), the last one what remains.  It depends on the budget and the
    unit size only (never on the workers)."""
    return [unit_bound(budget, size, k) for k in range(unit_count(budget, size))]


def derive_seed(seed: int, index: int, what: str) -> int:
    """A unit's own seed: a hash of the campaign seed and its index."""
    h = hashlib.sha256(f"umasim-{what}-unit:{seed}:{index}".encode()).digest()
    return int.from_bytes(h[:8], "little") >> 1


@dataclass
class Plan:
    """A campaign: its id, its command, its parameters (what the id
    hashes) and its units (made on demand: a time-budgeted fuzz
    campaign has as many as time allows)."""
    command: str
    params: dict
    nunits: int
    unit_size: int
    budget: int
    id: str = ""
    fingerprint: str = ""
    time_budget: float | None = None
    # unit index -> that unit's parameters
    unit_params: object = field(default=None, repr=False, compare=False)

    def __post_init__(self):
        ident = json.dumps({"command": self.command, "params": self.params,
                            "unit_size": self.unit_size, "budget": self.budget},
                           sort_keys=True)
        self.id = hashlib.sha256(ident.encode()).hexdigest()[:16]
        self.fingerprint = fingerprint()

    def unit(self, index: int) -> Unit:
        if not 0 <= index < self.nunits:
            raise IndexError(index)
        p = self.unit_params(index)
        rnd = index // GUIDED_SHARDS if self.params.get("explorer") == "guided" else 0
        return Unit(self.command, index, self.id, self.fingerprint, p, rnd)

    def units(self) -> Iterator[Unit]:
        for i in range(self.nunits):
            yield self.unit(i)

    @property
    def chained(self) -> bool:
        """Whether units start from earlier units' corpora (guided)."""
        return self.params.get("explorer") == "guided"

    def inputs(self, index: int) -> range:
        """The units whose corpora unit `index` starts from (merged latest
        first, merge_corpora): shards index - 2S + 1 .. index - S (guided;
        none for the first S shards and for other units)."""
        if not self.chained:
            return range(0)
        s = GUIDED_SHARDS
        return range(max(0, index - 2 * s + 1), max(0, index - s + 1))

    def dependents(self, index: int) -> range:
        """The units that start from unit `index`'s corpus."""
        if not self.chained:
            return range(0)
        s = GUIDED_SHARDS
        return range(min(self.nunits, index + s), min(self.nunits, index + 2 * s))

    def manifest(self) -> dict:
        return {"command": self.command, "campaign": self.id, "params": self.params,
                "unit_size": self.unit_size, "budget": self.budget, "units": self.nunits,
                "fingerprint": self.fingerprint}


def _check_unit_size(unit_size, command: str) -> int:
    if unit_size is None:
        return DEFAULT_UNIT_SIZE[command]
    if isinstance(unit_size, bool) or not isinstance(unit_size, int) or unit_size < 1:
        raise InvalidArgument(f"--unit-size must be a positive integer, not {unit_size!r}")
    return unit_size


def explore_plan(scn, explorer: str = "random", runs: int = 1000, seed: int | None = None,
                 bound: int = 2, depth: int | None = None, corpus: int | None = None,
                 unit_size: int | None = None, check: bool = True,
                 oracle: bool = True) -> Plan:
    """The units of `umasim explore` over `scn` (the arguments are
    explore()'s, checked the same way)."""
    from umasim.search.explore import explore
    size = _check_unit_size(unit_size, "explore")
    # explore() checks its arguments; a run of one gives pct's estimate.
    probe = explore(scn, explorer if explorer != "bounded" else "random", 1, seed, bound,
                    depth, check=check, corpus=corpus, oracle=oracle)
    sched = scn.schedule
    seed = sched.seed if seed is None else seed
    depth = sched.depth if depth is None else depth
    params = {"scenario": scn.to_dict(), "explorer": explorer,
              "runs": runs, "seed": seed, "migrate": sched.migrate, "depth": depth,
              "steps_hint": sched.steps_hint, "bound": bound, "max_steps": sched.max_steps,
              "expect_outcome": scn.expect.get("outcome", "completed"),
              "expect_panic": scn.expect.get("panic", ""), "check": check,
              "corpus_max": corpus or 0}
    if not oracle:
        # (Only then: a campaign's id, a hash of its parameters, stays
        # what it was for the default.)
        params["oracle"] = False
    if explorer == "guided":
        # Shard k starts from shards k - 2S + 1 .. k - S.  (Campaigns
        # whose shards ran in rounds, each from the whole previous round,
        # had no such key: they are other campaigns, with other ids.)
        params["window"] = GUIDED_SHARDS
    hint = probe.steps_hint if explorer == "pct" else sched.steps_hint
    nunits = 1 if explorer == "bounded" else unit_count(runs, size)
    if nunits > -(-runs // size):
        # (Only then: a campaign of fewer units keeps its id.)
        params["taper"] = TAPER_CUTS

    # Where the scenario came from, for messages only: its file's name
    # (the campaign is the scenario's content, wherever the file lies).
    source = Path(scn.source).name

    def unit_params(k: int) -> dict:
        p = dict(params, source=source)
        if explorer == "bounded":
            p["start"] = 0
            return p
        start, p["runs"] = unit_bound(runs, size, k)
        p["start"] = start
        if explorer in ("random", "pct"):
            p["seed"] = seed + start
            if explorer == "pct" and k > 0:
                p["steps_hint"] = hint
        else:
            p["seed"] = seed if k == 0 else derive_seed(seed, k, "guided")
        return p
    return Plan("explore", params, nunits, size, runs, unit_params=unit_params)


def fuzz_plan(examples: int, seed: int, bug: str | None = None, every_step: bool = True,
              unit_size: int | None = None, max_time: float | None = None) -> Plan:
    """The units of `umasim fuzz`: Hypothesis runs of `unit_size` examples.
    With `max_time`, the campaign is time-budgeted: units are started
    while time is left (and `examples` bounds them all, if given)."""
    from umasim.model.sim import KNOWN_BUGS
    size = _check_unit_size(unit_size, "fuzz")
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 1:
        raise InvalidArgument("--examples must be at least 1")
    if bug is not None and bug not in KNOWN_BUGS:
        raise InvalidArgument(f"unknown bug {bug!r} (known: {', '.join(KNOWN_BUGS)})")
    params = {"bug": bug, "seed": seed, "every_step": every_step, "examples": examples}
    nunits = unit_count(examples, size)
    if nunits > -(-examples // size):
        params["taper"] = TAPER_CUTS

    def unit_params(k: int) -> dict:
        start, count = unit_bound(examples, size, k)
        return {"bug": bug, "every_step": every_step, "start": start,
                "examples": count, "seed": derive_seed(seed, k, "fuzz")}
    if max_time is not None:
        params["max_time"] = max_time
    return Plan("fuzz", params, nunits, size, examples, time_budget=max_time,
                unit_params=unit_params)


# ---- merging -----------------------------------------------------------------

def corpus_entries(raw: bytes) -> Iterator[tuple[bytes, bytes]]:
    """A corpus's entries, in order, each as (its schedule, its words):
    the bindings' format is, per entry, a length n, n decisions and n
    words of step data (little-endian uint32 words)."""
    words = memoryview(raw).cast("B")
    n = len(raw) // 4
    i = 0
    while i < n:
        ln = int.from_bytes(words[4 * i:4 * i + 4], "little")
        end = i + 1 + 2 * ln
        yield bytes(words[4 * (i + 1):4 * (i + 1 + ln)]), bytes(words[4 * i:4 * end])
        i = end


def merge_corpora(results: list[dict], corpus_max: int) -> bytes:
    """The corpus a guided shard starts from: the entries of its input
    shards' corpora, the latest unit's first (a shard's corpus holds most
    of what it started from: the latest is the furthest along), each
    schedule once, at most `corpus_max` (0: UMASIM_GUIDED_CORPUS_MAX);
    bytes in the bindings' format (little-endian uint32 words).  The
    entries past the last one taken are not even read (the latest corpus
    alone often fills it)."""
    from umasim.bindings import GUIDED_CORPUS_MAX
    most = corpus_max or GUIDED_CORPUS_MAX
    seen: set[bytes] = set()
    out: list[bytes] = []
    for r in sorted(results, key=lambda r: r["index"], reverse=True):
        for key, blob in corpus_entries(r.get("corpus") or b""):
            if len(out) >= most:
                return b"".join(out)
            if key not in seen:
                seen.add(key)
                out.append(blob)
    return b"".join(out)


@dataclass
class ExploreMerge:
    """An exploration's results merged in unit order."""
    runs: int = 0
    failures: int = 0
    classes: list = field(default_factory=list)     # dicts, first-seen order
    points: set = field(default_factory=set)
    windows: list = field(default_factory=list)
    state_bits: int = 0
    state_pairs_total: int = 0
    points_total: int = 0
    steps_hint: int = 0
    exhausted: bool = False
    growth: list = field(default_factory=list)


def merge_explore(results: list[dict]) -> ExploreMerge:
    """Merges explore units' results, in unit order: classes by (outcome,
    failed, checker, message), the first unit's run keeping its decisions
    and signature; counts added; coverage united.  `growth`: after each
    unit that added coverage, [its last run, windows interleaved, state
    pairs, windows entered, windows migrated] of the union."""
    m = ExploreMerge()
    by_key: dict = {}
    for r in sorted(results, key=lambda r: r["index"]):
        m.runs += r["runs"]
        m.failures += r["failures"]
        for c in r["classes"]:
            key = (c["outcome"], c["failed"], c["check_failed"], c["message"],
                   c.get("oracle_kind", ""))
            if key in by_key:
                by_key[key]["count"] += c["count"]
            else:
                by_key[key] = dict(c)
                m.classes.append(by_key[key])
        m.points.update(r["points_covered"])
        wins = r["windows"]
        if len(m.windows) < len(wins):
            m.windows += [0] * (len(wins) - len(m.windows))
        before = (list(m.windows), m.state_bits)
        for i, w in enumerate(wins):
            m.windows[i] |= w
        m.state_bits |= int(r["state_bits"], 16)
        m.state_pairs_total = r.get("state_pairs_total", m.state_pairs_total)
        m.points_total = r.get("points_total", m.points_total)
        if r["index"] == 0 or not m.steps_hint:
            m.steps_hint = r["steps_hint"]
        m.exhausted = m.exhausted or r["exhausted"]
        if (list(m.windows), m.state_bits) != before:
            m.growth.append([m.runs - 1, sum(1 for w in m.windows if w & 2),
                             bin(m.state_bits).count("1"),
                             sum(1 for w in m.windows if w & 1),
                             sum(1 for w in m.windows if w & 4)])
    return m


@dataclass
class FuzzMerge:
    """A fuzz campaign's results merged in unit order."""
    examples: int = 0
    failures: list = field(default_factory=list)    # distinct, by signature
    counts: list = field(default_factory=list)      # units that found each
    first: list = field(default_factory=list)       # the unit that found each first
    db: list = field(default_factory=list)          # (key, value), unit order


def _sig_key(sig: dict) -> tuple:
    return (sig["kind"], sig["message"], sig["point"])


def merge_fuzz(results: list[dict]) -> FuzzMerge:
    m = FuzzMerge()
    index: dict = {}
    for r in sorted(results, key=lambda r: r["index"]):
        m.examples += r["examples"]
        m.db += [tuple(kv) for kv in r.get("db", [])]
        f = r.get("failure") or r.get("error")
        if f is None:
            continue
        key = _sig_key(f["signature"])
        if key in index:
            m.counts[index[key]] += 1
            continue
        index[key] = len(m.failures)
        m.failures.append(f)
        m.counts.append(1)
        m.first.append(r["index"])
    return m
