"""Failure artefacts: every failure found by pytest, `umasim fuzz`,
`umasim explore` or `umasim shrink` is written as a scenario file (with the
failing schedule as decisions) plus its trace, and the exact `umasim
replay` command is printed (docs/design.md).  Default
directory: .umasim/failures/.

    art = write_failure(scn, sim.decisions, label="fuzz")
    print(art.describe())          # scenario, trace, outcome, replay command

The scenario file is TOML a person can read (defaults left out, decisions
twenty to a line) and loads back to the same scenario; `umasim run` on it
fails the same way, and `umasim replay` on the trace is identical.  File
names hash the scenario and its decisions, so the same failure always
lands in the same two files.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from umasim.views.report import report_of
from umasim.model.scenario import SCHEDULE_DEFAULTS, SIM_DEFAULTS, Scenario, from_dict

DEFAULT_DIR = Path(".umasim") / "failures"
DECISIONS_PER_LINE = 20


@dataclass(frozen=True)
class FailureArtefact:
    scenario_path: Path
    trace_path: Path
    replay_command: str
    outcome: str = ""
    panic: str | None = None
    steps: int = 0
    failures: tuple[str, ...] = ()

    def describe(self) -> str:
        """What to print: where the files are and how to replay them."""
        what = self.outcome + (f" ({self.panic})" if self.panic else "")
        lines = [f"scenario: {self.scenario_path}", f"trace:    {self.trace_path}"]
        if what:
            lines.append(f"outcome:  {what} after {self.steps} steps")
        lines.append(f"replay:   {self.replay_command}")
        return "\n".join(lines) + "\n"


def replay_command(trace_path: str | Path) -> str:
    """The exact command that replays a trace, quoted for a POSIX shell."""
    return f"umasim replay {shlex.quote(str(trace_path))}"


def strip_decisions(decisions: list[int]) -> list[int]:
    """The decisions without their trailing zeros: a script that runs out
    continues with zeros ("then" sequential), so they say nothing."""
    dec = list(decisions)
    while dec and dec[-1] == 0:
        dec.pop()
    return dec


def scenario_with_decisions(scn: Scenario, decisions: list[int],
                            max_steps: int | None = None) -> Scenario:
    """The same scenario, scripted to take exactly these decisions and
    then the default ones (trailing zeros are left out).  The step limit
    stays the scenario's own unless `max_steps` is given: a prefix of a
    run's decisions reproduces the whole run, and a run that ended at its
    step limit ends there again."""
    d = scn.to_dict()
    sched = {k: v for k, v in d["schedule"].items()
             if k not in ("steps", "decisions", "policy", "seed", "depth", "steps_hint",
                          "migrate", "then")}
    sched["policy"] = "script"
    sched["decisions"] = strip_decisions(decisions)
    sched["then"] = "sequential"
    if max_steps is not None:
        sched["max_steps"] = max_steps
    d["schedule"] = sched
    return from_dict(d, scn.source)


# ---- TOML ---------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else _string(k)


def _string(s: str) -> str:
    # JSON's escapes are TOML's, but for DEL, which TOML wants escaped.
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        r = repr(v)
        return r if any(c in r for c in ".en") else r + ".0"
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _lines_array(key: str, items: list, per_line: int) -> list[str]:
    if len(items) <= per_line and len(_value(items)) < 60:
        return [f"{key} = {_value(items)}"]
    out = [f"{key} = ["]
    for i in range(0, len(items), per_line):
        out.append("    " + ", ".join(_value(x) for x in items[i:i + per_line]) + ",")
    out.append("]")
    return out


def to_toml(scn: Scenario, comment: str = "") -> str:
    """The scenario as a TOML file that loads back to the same scenario:
    values equal to their defaults are left out, ops stand one to a line
    and decisions twenty to a line."""
    d = scn.to_dict()
    out = [f"# {line}".rstrip() for line in comment.splitlines()]
    if out:
        out.append("")
    out.append("[sim]")
    for k, v in d["sim"].items():
        if k == "cpus" or v != SIM_DEFAULTS.get(k):
            out.append(f"{k} = {_value(v)}")
    for z in d["zone"]:
        out += ["", "[[zone]]"]
        for k, v in z.items():
            if v is None or (k == "align" and v == "ptr") or (k == "flags" and not v):
                continue
            out.append(f"{k} = {_value(v)}")
    for t in d["thread"]:
        out += ["", "[[thread]]", f"name = {_value(t['name'])}", f"cpu = {t['cpu']}"]
        if t["repeat"] != 1:
            out.append(f"repeat = {t['repeat']}")
        out += _lines_array("ops", t["ops"], 1)
    out += ["", "[schedule]"]
    sched = d["schedule"]
    for k, v in sched.items():
        if k != "policy" and v == SCHEDULE_DEFAULTS.get(k):
            continue
        if k == "policy" and v == "script":
            continue        # implied by steps or decisions
        if k in ("decisions", "steps"):
            out += _lines_array(k, v, DECISIONS_PER_LINE if k == "decisions" else 10)
        else:
            out.append(f"{k} = {_value(v)}")
    if d["expect"]:
        out += ["", "[expect]"]
        for k, v in d["expect"].items():
            if k == "zone":
                for zname, figs in v.items():
                    out.append(f"zone.{_key(zname)} = {_value(figs)}")
            else:
                out.append(f"{k} = {_value(v)}")
    return "\n".join(out) + "\n"


# ---- writing ------------------------------------------------------------

def write_pair(fixed: Scenario, scenario_path: str | Path, trace_path: str | Path,
               comment: str = "", relative_to: str | Path | None = None) -> FailureArtefact:
    """Runs a scripted scenario and writes it and its full trace to the
    paths given; the scenario file's header comment ends with the replay
    command (naming the trace relative to `relative_to`, if given)."""
    from umasim.engine import execute
    from umasim.views.trace import TraceWriter
    spath, tpath = Path(scenario_path), Path(trace_path)
    spath.parent.mkdir(parents=True, exist_ok=True)
    tpath.parent.mkdir(parents=True, exist_ok=True)
    run = execute(fixed, observers=[TraceWriter(tpath, "full")])
    rep = report_of(run)
    sim, result = run.sim, run.result
    cmd = replay_command(tpath if relative_to is None else tpath.relative_to(relative_to))
    what = f"{result.outcome}" + (f" ({sim.panic})" if sim.panic else "")
    note = (comment + "\n" if comment else "") + f"outcome: {what} after {sim.steps} steps"
    for f in rep.failures:
        note += f"\nnot as expected: {f}"
    spath.write_text(to_toml(fixed, note + f"\nreplay: {cmd}"), encoding="utf-8")
    return FailureArtefact(spath, tpath, cmd, result.outcome, sim.panic, sim.steps,
                           tuple(rep.failures))


def artefact_key(fixed: Scenario) -> str:
    """The hash in the file names: of the scripted scenario alone."""
    return hashlib.sha256(json.dumps(fixed.to_dict(), sort_keys=True).encode()).hexdigest()[:12]


def write_failure(scn: Scenario, decisions: list[int], out_dir: str | Path | None = None,
                  label: str = "failure", comment: str = "",
                  max_steps: int | None = None, relative: bool = False) -> FailureArtefact:
    """Writes `label-HASH.toml` and `label-HASH.trace` into out_dir
    (default .umasim/failures) and returns their paths, the replay command
    and the outcome.  `decisions` are a run's decisions (Sim.decisions), or
    a prefix of them; the name's hash depends only on the scenario and the
    decisions, so the same failure lands in the same files.  With
    `relative`, the replay command names the trace relative to out_dir
    (campaigns: the same bytes whatever the directory)."""
    out = Path(out_dir) if out_dir is not None else DEFAULT_DIR
    fixed = scenario_with_decisions(scn, decisions, max_steps)
    key = artefact_key(fixed)
    return write_pair(fixed, out / f"{label}-{key}.toml", out / f"{label}-{key}.trace",
                      comment or label, relative_to=out if relative else None)
