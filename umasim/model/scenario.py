"""Scenario files (docs/design.md, "Scenario files"): strict loading of TOML,
every default filled in, and building the Sim a scenario describes.

Every error names the file, the line where one can be found, and the
field or op, with indexes from 0:

    scen.toml:12: thread[1].ops[3]: unknown zone "mbf"

and nothing runs.  A Scenario can also be made from a plain dict (a
trace's header carries the whole normalised scenario).
"""

from __future__ import annotations

import copy
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from umasim.errors import ScenarioError, ScheduleError
from umasim.model import program
from umasim.model import zones
from umasim.model.schedule import TABLE_DEFAULTS, Schedule
from umasim.bindings import (EVENT_KINDS, KNOWN_BUGS, MAXCPU, PAGE_SIZE, PCT_MAXDEPTH, POLICIES,
                             boot_zone_names)
from umasim.model.sim import Sim

SIM_DEFAULTS: dict[str, Any] = {
    "cpus": 2, "pages": 256, "kmem_pages": 1024, "free_min": 0, "boot_pages": 48,
    "md_small_alloc": False, "pagedaemon": False, "ticks_per_step": 1,
    "granularity": "coarse", "invariants": True, "bugs": [], "seed": 0,
    "align_cache": "cache",     # uma_set_align(): a mask; "cache" leaves 16-1
}
SCHEDULE_DEFAULTS: dict[str, Any] = TABLE_DEFAULTS
ZONE_KEYS = ("name", "size", "align", "flags", "max", "master", "ctor", "dtor", "init",
             "fini", "zinit", "zfini", "allocf", "freef")
THREAD_KEYS = ("name", "cpu", "repeat", "ops")
EXPECT_KEYS = ("outcome", "asleep", "panic", "console", "zone", "events")
ZONE_EXPECT_KEYS = ("used", "free", "requests", "fails", "limit", "size")
REQUEST_MAX = (1 << 31) - 1     # malloc, malloc_large and kmem_alloc: an int
OUTCOMES = ("completed", "deadlock", "panic", "step_limit", "host_fault")
TOP_KEYS = ("sim", "zone", "thread", "schedule", "expect")


class _Lines:
    """Where keys stand in the TOML text: a small scan of table headers and
    keys, since tomllib reports lines only for syntax errors."""

    def __init__(self, text: str):
        self.where: dict[str, int] = {}
        counts: dict[str, int] = {}
        table = ""
        lines = text.splitlines()
        n = 0
        while n < len(lines):
            raw = lines[n]
            n += 1
            line = raw.strip()
            m = re.match(r"^\[\[\s*([A-Za-z_]+)\s*\]\]", line)
            if m:
                name = m.group(1)
                idx = counts.get(name, 0)
                counts[name] = idx + 1
                table = f"{name}[{idx}]"
                self.where.setdefault(table, n)
                continue
            m = re.match(r"^\[\s*([A-Za-z_.]+)\s*\]", line)
            if m:
                table = m.group(1)
                self.where.setdefault(table, n)
                continue
            m = re.match(r"^([A-Za-z_][A-Za-z0-9_.\"-]*)\s*=\s*", line)
            if m:
                key = m.group(1).replace('"', "")
                path = f"{table}.{key}" if table else key
                self.where.setdefault(path, n)
                if line[m.end():].startswith("["):
                    # An array: the line of each element (ops[3] may stand
                    # several lines below "ops = [").
                    n = self._array(path, lines, n - 1, raw.index("[", raw.index("=")))

    def _array(self, path: str, lines: list[str], n: int, col: int) -> int:
        """Records the lines of the top-level elements of the array opening
        at lines[n][col]; returns the index of the line after it."""
        depth, idx, expect_elem = 0, 0, True
        while n < len(lines):
            text, i = lines[n], col
            col = 0
            while i < len(text):
                c = text[i]
                if c == "#":
                    break
                if c in "[{":
                    depth += 1
                    if depth == 2 and expect_elem:
                        self.where.setdefault(f"{path}[{idx}]", n + 1)
                        expect_elem = False
                elif c in "]}":
                    depth -= 1
                    if depth == 0:
                        return n + 1
                elif c == ",":
                    if depth == 1:
                        idx, expect_elem = idx + 1, True
                elif c in "\"'":
                    if depth == 1 and expect_elem:
                        self.where.setdefault(f"{path}[{idx}]", n + 1)
                        expect_elem = False
                    j = i + 1
                    while j < len(text) and text[j] != c:
                        j += 2 if c == '"' and text[j] == "\\" else 1
                    i = j
                elif not c.isspace() and depth == 1 and expect_elem:
                    self.where.setdefault(f"{path}[{idx}]", n + 1)
                    expect_elem = False
                i += 1
            n += 1
        return n

    def line(self, path: str) -> int | None:
        """The line of 'thread[1].ops' (or of its closest enclosing table)."""
        probe = path
        while probe:
            if probe in self.where:
                return self.where[probe]
            shorter = re.sub(r"(\[\d+\]|\.[^.\[]*)$", "", probe)
            if shorter == probe:        # a top-level name: nothing encloses it
                break
            probe = shorter
        return None


@dataclass
class Scenario:
    """A validated scenario with every default filled in."""
    sim: dict[str, Any]
    zones: list[dict[str, Any]]
    threads: list[dict[str, Any]]
    schedule: Schedule
    expect: dict[str, Any]
    source: str = "<scenario>"
    comment: str = ""
    zone_names: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The normalised scenario, as a trace's header stores it."""
        return {"sim": copy.deepcopy(self.sim), "zone": copy.deepcopy(self.zones),
                "thread": copy.deepcopy(self.threads), "schedule": self.schedule.to_dict(),
                "expect": copy.deepcopy(self.expect)}

    def build(self) -> Sim:
        """A Sim with the scenario's zones created and threads spawned."""
        return self.build_with()

    def build_with(self, trace: str = "full") -> Sim:
        sim = Sim(**self.sim, trace=trace)
        for z in self.zones:
            cbs = {k: z[k] for k in ("ctor", "dtor", "init", "fini", "zinit", "zfini",
                                     "allocf", "freef") if z.get(k) is not None}
            if z.get("master"):
                sim.zsecond(z["name"], z["master"], **cbs)
            else:
                sim.zcreate(z["name"], z["size"], z.get("align", "ptr"), z.get("flags", []),
                            max=z.get("max"), **cbs)
        for t in self.threads:
            sim.spawn(t["name"], cpu=t["cpu"], ops=t["ops"], repeat=t["repeat"])
        return sim

    def run_args(self, seed: int | None = None) -> dict[str, Any]:
        """Sim.run()'s arguments for this scenario's schedule (`seed`
        replaces the schedule's own)."""
        return self.schedule.with_seed(seed).run_args()

    def with_schedule(self, schedule: Schedule) -> "Scenario":
        """The same scenario under another schedule (a policy or a script)."""
        if schedule.kind not in ("policy", "script"):
            raise ScenarioError(self.source, None, "schedule",
                                f"a {schedule.kind} schedule has no scenario form")
        return Scenario(copy.deepcopy(self.sim), copy.deepcopy(self.zones),
                        copy.deepcopy(self.threads), schedule, copy.deepcopy(self.expect),
                        self.source, self.comment, list(self.zone_names))


def load(path: str | Path) -> Scenario:
    """Reads and validates a scenario file."""
    path = Path(path)
    src = str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ScenarioError(src, None, "", f"cannot read: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ScenarioError(src, line, "", "not UTF-8 text") from None
    return loads(text, src)


def loads(text: str, source: str = "<scenario>") -> Scenario:
    """Validates scenario TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"at line (\d+)", str(e))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e))
        raise ScenarioError(source, int(m.group(1)) if m else None, "",
                            f"not valid TOML: {msg}") from None
    comment = "\n".join(l[1:].strip() for l in text.splitlines()
                        if l.startswith("#")).strip()
    return from_dict(data, source, _Lines(text), comment)


def from_dict(data: dict, source: str = "<scenario>", lines: _Lines | None = None,
              comment: str = "") -> Scenario:
    """Validates a scenario given as a dict (TOML's shape)."""
    v = _Validator(source, lines or _Lines(""))
    return v.scenario(data, comment)


class _Validator:
    def __init__(self, source: str, lines: _Lines):
        self.source, self.lines = source, lines

    def err(self, where: str, message: str) -> ScenarioError:
        return ScenarioError(self.source, self.lines.line(where), where, message)

    # -- typed fields ---------------------------------------------------

    def int_(self, where, value, low=0, high=None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.err(where, f"must be an integer, not {_tname(value)}")
        if value < low:
            raise self.err(where, f"must be at least {low}, not {value}" if low
                           else f"must not be negative, not {value}")
        if high is not None and value > high:
            raise self.err(where, f"must be at most {high}, not {value}")
        return value

    def bool_(self, where, value) -> bool:
        if not isinstance(value, bool):
            raise self.err(where, f"must be true or false, not {_tname(value)}")
        return value

    def str_(self, where, value, choices=None) -> str:
        if not isinstance(value, str):
            raise self.err(where, f"must be a string, not {_tname(value)}")
        if choices is not None and value not in choices:
            raise self.err(where, f"unknown value {value!r} (one of: {', '.join(choices)})")
        return value

    def keys(self, where, table, allowed):
        if not isinstance(table, dict):
            raise self.err(where, f"must be a table, not {_tname(table)}")
        for k in table:
            if k not in allowed:
                raise self.err(f"{where}.{k}" if where else k,
                               f"unknown key (known: {', '.join(allowed)})")

    # -- sections -------------------------------------------------------

    def scenario(self, data: dict, comment: str) -> Scenario:
        self.keys("", data, TOP_KEYS)
        simcfg = self.sim(data.get("sim", {}))
        zlist = data.get("zone", [])
        if not isinstance(zlist, list):
            raise self.err("zone", "must be an array of tables ([[zone]])")
        tlist = data.get("thread", [])
        if not isinstance(tlist, list):
            raise self.err("thread", "must be an array of tables ([[thread]])")
        zone_names = self.zone_names(zlist, tlist)
        zs = [self.zone(i, z, simcfg, zone_names) for i, z in enumerate(zlist)]
        ts = self.threads(tlist, simcfg, zone_names)
        sched = self.schedule(data.get("schedule", {}), [t["name"] for t in ts], simcfg)
        expect = self.expect(data.get("expect", {}), zone_names)
        return Scenario(simcfg, zs, ts, sched, expect, self.source, comment, zone_names)

    def sim(self, table) -> dict:
        self.keys("sim", table, tuple(SIM_DEFAULTS))
        c = dict(SIM_DEFAULTS)
        c.update(table)
        c["cpus"] = self.int_("sim.cpus", c["cpus"], 1, MAXCPU)
        c["pages"] = self.int_("sim.pages", c["pages"], 0, 1 << 24)
        c["kmem_pages"] = self.int_("sim.kmem_pages", c["kmem_pages"], 1, 1 << 24)
        c["free_min"] = self.int_("sim.free_min", c["free_min"], 0, 1 << 24)
        c["boot_pages"] = self.int_("sim.boot_pages", c["boot_pages"], 0, 1 << 16)
        c["ticks_per_step"] = self.int_("sim.ticks_per_step", c["ticks_per_step"], 0, 1 << 30)
        c["seed"] = self.int_("sim.seed", c["seed"], 0, 2**64 - 1)
        for k in ("md_small_alloc", "pagedaemon", "invariants"):
            c[k] = self.bool_(f"sim.{k}", c[k])
        c["granularity"] = self.str_("sim.granularity", c["granularity"], ("coarse", "fine"))
        try:
            zones.parse_align(c["align_cache"])
        except (ValueError, TypeError) as e:
            raise self.err("sim.align_cache", str(e)) from None
        bugs = c["bugs"]
        if not isinstance(bugs, list):
            raise self.err("sim.bugs", f"must be a list of names, not {_tname(bugs)}")
        for i, b in enumerate(bugs):
            if not isinstance(b, str) or b not in KNOWN_BUGS:
                raise self.err(f"sim.bugs[{i}]", f"unknown bug switch {b!r} "
                               f"(known: {', '.join(KNOWN_BUGS)})")
        c["bugs"] = list(bugs)
        return c

    def zone_names(self, zlist, tlist) -> list[str]:
        names = []
        for i, z in enumerate(zlist):
            if not isinstance(z, dict):
                raise self.err(f"zone[{i}]", "must be a table")
            if "name" not in z:
                raise self.err(f"zone[{i}]", "needs a name")
            name = self.str_(f"zone[{i}].name", z["name"])
            try:
                program.check_zone_name(name)
            except (ValueError, TypeError) as e:
                raise self.err(f"zone[{i}].name", str(e)) from None
            if name in names:
                raise self.err(f"zone[{i}].name", f'zone "{name}" is declared twice')
            names.append(name)
        # Zones that programs create are names too.
        for t in tlist if isinstance(tlist, list) else []:
            ops = t.get("ops", []) if isinstance(t, dict) else []
            for op in ops if isinstance(ops, list) else []:
                if isinstance(op, str) and op.split()[:1] and op.split()[0] in ("zcreate", "zsecond"):
                    w = op.split()
                    if len(w) > 1 and w[1] not in names:
                        names.append(w[1])
        return names

    def zone(self, i, z, simcfg, zone_names) -> dict:
        where = f"zone[{i}]"
        self.keys(where, z, ZONE_KEYS)
        out: dict[str, Any] = {"name": z["name"]}
        declared = zone_names[:i]
        if "master" in z:
            m = self.str_(f"{where}.master", z["master"])
            if m not in declared:
                raise self.err(f"{where}.master", f'unknown zone "{m}" (a master must be '
                               "declared before its secondary zones)")
            for k in ("size", "align", "flags", "max", "init", "fini", "allocf", "freef"):
                if k in z:
                    raise self.err(f"{where}.{k}", "a secondary zone takes this from its "
                                   "master's keg")
            out["master"] = m
        else:
            if "size" not in z:
                raise self.err(where, "needs a size (or a master)")
            limit = simcfg["kmem_pages"] * PAGE_SIZE
            out["size"] = self.int_(f"{where}.size", z["size"], 1, limit)
            align = z.get("align", "ptr")
            try:
                zones.parse_align(align)
            except (ValueError, TypeError) as e:
                raise self.err(f"{where}.align", str(e)) from None
            out["align"] = align
            flags = z.get("flags", [])
            if not isinstance(flags, list):
                raise self.err(f"{where}.flags", f"must be a list of names, not {_tname(flags)}")
            for j, f in enumerate(flags):
                try:
                    zones.parse_flags([f])
                except (ValueError, TypeError) as e:
                    raise self.err(f"{where}.flags[{j}]", str(e)) from None
            out["flags"] = list(flags)
            if "max" in z:
                out["max"] = self.int_(f"{where}.max", z["max"], 1, 2**31 - 1)
        for slot in zones.CB_SLOTS:
            if slot in z:
                try:
                    cb = zones.parse_callback(slot, z[slot])
                except (ValueError, TypeError) as e:
                    raise self.err(f"{where}.{slot}", str(e).removeprefix(f"{slot}: ")) from None
                if cb.target is not None:
                    if cb.target not in declared:
                        raise self.err(f"{where}.{slot}", f'unknown zone "{cb.target}" '
                                       "(attach a zone declared before this one)")
                out[slot] = z[slot]
        for fin, ini in (("fini", "init"), ("zfini", "zinit")):
            if out.get(fin) == "detach" and not str(out.get(ini, "")).startswith("attach"):
                raise self.err(f"{where}.{fin}", f"'detach' needs {ini} = 'attach ZONE'")
        return out

    def threads(self, tlist, simcfg, zone_names) -> list[dict]:
        out = []
        names: list[str] = []
        produced: set[str] = set()
        parsed_all = []
        for i, t in enumerate(tlist):
            where = f"thread[{i}]"
            if not isinstance(t, dict):
                raise self.err(where, "must be a table")
            self.keys(where, t, THREAD_KEYS)
            if "name" not in t:
                raise self.err(where, "needs a name")
            name = self.str_(f"{where}.name", t["name"])
            try:
                program.check_thread_name(name)
            except (ValueError, TypeError) as e:
                raise self.err(f"{where}.name", str(e)) from None
            if name in names:
                raise self.err(f"{where}.name", f'thread "{name}" exists already')
            names.append(name)
            cpu = self.int_(f"{where}.cpu", t.get("cpu", 0), 0)
            if cpu >= simcfg["cpus"]:
                raise self.err(f"{where}.cpu", f"vCPU {cpu} does not exist "
                               f"(cpus = {simcfg['cpus']})")
            repeat = self.int_(f"{where}.repeat", t.get("repeat", 1), 0, 10**9)
            if "ops" not in t:
                raise self.err(where, "needs ops")
            ops = t["ops"]
            if not isinstance(ops, list):
                raise self.err(f"{where}.ops", f"must be a list of strings, not {_tname(ops)}")
            parsed = []
            for j, op in enumerate(ops):
                w = f"{where}.ops[{j}]"
                if not isinstance(op, str):
                    raise self.err(w, f"must be a string, not {_tname(op)}")
                try:
                    p = program.parse_op(op)
                except (ValueError, TypeError) as e:
                    raise self.err(w, str(e)) from None
                self.op_refs(w, p, zone_names, simcfg)
                parsed.append((w, p))
                if p.output is not None:
                    produced.update(_expansions(p.output, repeat))
            parsed_all.append((repeat, parsed))
            out.append({"name": name, "cpu": cpu, "repeat": repeat, "ops": list(ops)})
        # Every variable used must be produced by some op ("-> VAR").
        for repeat, parsed in parsed_all:
            for w, p in parsed:
                spec = program.SPECS[p.name]
                for kind, word in zip(spec.operands, p.operands):
                    if kind.rstrip("?") == "var" and word is not None:
                        for name in _expansions(word, repeat):
                            if name not in produced:
                                raise self.err(w, f'unknown variable "{name}" '
                                               "(no op stores into it with ->)")
        return out

    def op_refs(self, where, p: program.ParsedOp, zone_names, simcfg):
        spec = program.SPECS[p.name]
        for kind, word in zip(spec.operands, p.operands):
            if kind.rstrip("?") == "zone" and word is not None and word not in zone_names:
                raise self.err(where, f'unknown zone "{word}"')
        if p.name == "zsecond" and p.keywords.get("master") not in zone_names:
            raise self.err(where, f'unknown zone "{p.keywords.get("master")}"')
        if p.name == "zcreate":
            size = p.keywords["size"]
            if not size.isdigit() or not 1 <= int(size) <= simcfg["kmem_pages"] * PAGE_SIZE:
                raise self.err(where, f"size={size} is not 1 to the size of kmem_map")
            try:
                zones.parse_align(p.keywords.get("align", "ptr"))
                zones.parse_flags(p.keywords.get("flags", ""))
            except (ValueError, TypeError) as e:
                raise self.err(where, str(e)) from None
        # A request larger than kmem_map is the simulated kernel's to handle
        # at run time (kmem_malloc's reclaim rounds, then its panic; NULL
        # for M_NOWAIT); only what uma_large_malloc's int cannot hold is
        # refused here.
        if p.name in ("malloc", "malloc_large", "kmem_alloc"):
            n = p.operands[0]
            if isinstance(n, int) and not 1 <= n <= REQUEST_MAX:
                raise self.err(where, f"{n} bytes is not 1 to {REQUEST_MAX}")

    def schedule(self, table, thread_names, simcfg) -> dict:
        self.keys("schedule", table, tuple(SCHEDULE_DEFAULTS))
        s = dict(SCHEDULE_DEFAULTS)
        s.update(table)
        s["policy"] = self.str_("schedule.policy", s["policy"], tuple(POLICIES))
        s["then"] = self.str_("schedule.then", s["then"], ("sequential", "roundrobin", "random"))
        s["seed"] = self.int_("schedule.seed", s["seed"], 0, 2**64 - 1)
        s["depth"] = self.int_("schedule.depth", s["depth"], 1, PCT_MAXDEPTH)
        s["steps_hint"] = self.int_("schedule.steps_hint", s["steps_hint"], 0)
        s["max_steps"] = self.int_("schedule.max_steps", s["max_steps"], 1, 10**12)
        m = s["migrate"]
        if isinstance(m, bool) or not isinstance(m, (int, float)) or math.isnan(m) \
                or not 0 <= m <= 1:
            raise self.err("schedule.migrate", f"must be a number from 0 to 1, not {m!r}")
        s["migrate"] = float(m)
        if s["steps"] is not None and s["decisions"] is not None:
            raise self.err("schedule", "give steps or decisions, not both")
        if s["steps"] is not None:
            if not isinstance(s["steps"], list):
                raise self.err("schedule.steps", "must be a list of strings")
            for i, st in enumerate(s["steps"]):
                w = f"schedule.steps[{i}]"
                if not isinstance(st, str):
                    raise self.err(w, f"must be a string like 'a' or 'a@1', not {_tname(st)}")
                name, at, cpu = st.partition("@")
                if name not in thread_names:
                    raise self.err(w, f'unknown thread "{name}"')
                if at and (not cpu.isdigit() or int(cpu) >= simcfg["cpus"]):
                    raise self.err(w, f"vCPU {cpu!r} does not exist (cpus = {simcfg['cpus']})")
        if s["decisions"] is not None:
            if not isinstance(s["decisions"], list):
                raise self.err("schedule.decisions", "must be a list of integers")
            for i, d in enumerate(s["decisions"]):
                self.int_(f"schedule.decisions[{i}]", d, 0, 2**32 - 1)
        scripted = s["steps"] is not None or s["decisions"] is not None
        if scripted and "policy" in table and table["policy"] != "script":
            raise self.err("schedule.policy", "steps and decisions need policy \"script\"")
        if s["policy"] == "script" and not scripted:
            raise self.err("schedule.policy", "\"script\" needs steps or decisions")
        try:
            return Schedule.from_table(s)
        except ScheduleError as e:
            raise self.err("schedule", str(e)) from None

    def expect(self, table, zone_names) -> dict:
        self.keys("expect", table, EXPECT_KEYS)
        e: dict[str, Any] = {}
        if "outcome" in table:
            e["outcome"] = self.str_("expect.outcome", table["outcome"], OUTCOMES)
        if "asleep" in table:
            a = table["asleep"]
            if not isinstance(a, list) or not all(isinstance(x, str) for x in a):
                raise self.err("expect.asleep", "must be a list of wait messages")
            e["asleep"] = list(a)
        if "panic" in table:
            e["panic"] = self.str_("expect.panic", table["panic"])
        if "console" in table:
            c = table["console"]
            if not isinstance(c, list) or not all(isinstance(x, str) for x in c):
                raise self.err("expect.console", "must be a list of strings")
            e["console"] = list(c)
        if "zone" in table:
            zt = table["zone"]
            if not isinstance(zt, dict):
                raise self.err("expect.zone", "must be a table of zones")
            e["zone"] = {}
            for zname, figs in zt.items():
                w = f"expect.zone.{zname}"
                if zname not in zone_names and not _internal_zone(zname):
                    raise self.err(w, f'unknown zone "{zname}"')
                self.keys(w, figs, ZONE_EXPECT_KEYS)
                e["zone"][zname] = {k: self.figure(f"{w}.{k}", v) for k, v in figs.items()}
        if "events" in table:
            ev = table["events"]
            if not isinstance(ev, dict):
                raise self.err("expect.events", "must be a table of event kinds")
            e["events"] = {}
            for kind, v in ev.items():
                if kind not in EVENT_KINDS:
                    raise self.err(f"expect.events.{kind}", f"unknown event kind "
                                   f"(known: {', '.join(EVENT_KINDS)})")
                e["events"][kind] = self.figure(f"expect.events.{kind}", v)
        return e

    def figure(self, where, value):
        """An expected figure: an integer, or a string like '>=1', '<5', '==3'."""
        if isinstance(value, bool):
            raise self.err(where, "must be a number or a comparison like \">=1\"")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and re.fullmatch(r"\s*(>=|<=|==|!=|>|<)\s*\d+\s*", value):
            return value.replace(" ", "")
        raise self.err(where, f"must be a number or a comparison like \">=1\", not {value!r}")


def _internal_zone(name: str) -> bool:
    """A zone UMA or malloc(9) creates at boot (expectations may name it)."""
    return name in boot_zone_names()


def _expansions(word: str, repeat: int) -> list[str]:
    if program.TEMPLATE not in word:
        return [word]
    return [word.replace(program.TEMPLATE, str(i)) for i in range(max(repeat, 1))]


def _tname(v) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(v), type(v).__name__)


def figure_ok(expected, actual: int) -> bool:
    if isinstance(expected, int):
        return actual == expected
    m = re.fullmatch(r"(>=|<=|==|!=|>|<)(\d+)", expected)
    op, n = m.group(1), int(m.group(2))
    return {">=": actual >= n, "<=": actual <= n, "==": actual == n, "!=": actual != n,
            ">": actual > n, "<": actual < n}[op]
