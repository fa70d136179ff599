"""Reporting on a run: the outcome, what every thread ended doing, the
console, the vmstat -z table, and the scenario's expectations
(docs/design.md, "Command line" and "Scenario files")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from umasim.model.scenario import Scenario, figure_ok
from umasim.model.sim import RunResult, Sim


@dataclass
class Report:
    scenario: Scenario
    sim: Sim
    result: RunResult
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        """The one JSON object of `umasim run --json` (docs/design.md)."""
        sim, r = self.sim, self.result
        threads = []
        for t in sim.threads:
            threads.append({"name": t.name, "state": t.state, "cpu": t.cpu,
                            "wmesg": t.wmesg, "mutex": t.mutex})
        rows = {row.name: row for row in sim.vmstat()}
        zones = []
        for name, z in sim.zones.items():
            st, g, row = z.stats, z.geometry, rows[name]
            zones.append({"name": name, "size": g.size, "limit": row.limit, "used": row.used,
                          "free": row.free, "requests": row.requests, "fails": row.failures,
                          "rsize": g.rsize, "ipers": g.ipers, "ppera": g.ppera,
                          "pgoff": g.pgoff, "pages": st["pages"], "flags": list(g.flags),
                          "uz_count": st["uz_count"]})
        hf = sim.host_fault
        fault = None if hf is None else {
            "thread": hf.thread, "tid": hf.tid, "point": hf.point, "step": hf.step,
            "signal": hf.signal, "where": hf.where, "message": hf.message,
            "address": None if hf.address is None else f"{hf.address:#x}"}
        return {"outcome": r.outcome, "steps": sim.steps, "ticks": sim.ticks,
                "panic": sim.panic, "host_fault": fault, "console": sim.console,
                "threads": threads,
                "zones": zones, "events": sim.event_counts(), "digest": sim.digest(),
                "coverage": sim.coverage().to_json(),
                "expectations": {"ok": self.ok, "failures": list(self.failures)}}

    def to_text(self) -> str:
        """What a person reads after `umasim run`."""
        sim, r = self.sim, self.result
        out = [f"outcome: {r.outcome} after {sim.steps} steps, {sim.ticks} ticks "
               f"({r.preemptions} preemptions)"]
        if sim.panic:
            out.append(f"panic: {sim.panic}")
        if r.outcome == "host_fault" and sim.host_fault is not None:
            out.append(f"host fault: {sim.host_fault.message}")
        out.append("")
        out.append("threads:")
        for t in sim.threads:
            what = t.describe()
            if t.state == "runnable" and t.point:
                what += f" (at {t.point})"
            kind = " [kernel]" if t.kernel else ""
            out.append(f"  {t.name:<12} cpu {t.cpu}  {what}{kind}")
        allvars = sim.variables()
        live = {k: v for k, v in allvars.items() if not v.startswith("freed")}
        if allvars:
            out.append("")
            out.append(f"variables: {len(allvars)} ({len(allvars) - len(live)} freed)")
            for name, desc in live.items():
                out.append(f"  {name:<12} {desc}")
        if sim.console:
            out.append("")
            out.append("console:")
            out.extend(f"  {line}" for line in sim.console)
        out.append("")
        out.append(sim.vmstat_table().rstrip("\n"))
        out.append("")
        if self.scenario.expect:
            out.append("expectations: " + ("ok" if self.ok else "FAILED"))
            out.extend(f"  - {f}" for f in self.failures)
        return "\n".join(out) + "\n"


def check_expectations(scn: Scenario, sim: Sim, result: RunResult) -> list[str]:
    """What the run did that the scenario did not expect (empty: all met).
    With no expectations at all, a run is expected to complete."""
    return [msg for _, msg in expectation_failures(scn, sim, result)]


def expectation_failures(scn: Scenario, sim: Sim, result: RunResult) -> list[tuple[str, str]]:
    """check_expectations, each failure with its kind: "outcome",
    "asleep", "panic", "console:TEXT", "zone.NAME.FIELD" ("zone.NAME" when
    the zone is gone), "events.KIND"."""
    e = scn.expect
    fails = []
    want = e.get("outcome", "completed")
    if result.outcome != want:
        fails.append(("outcome", f"outcome is {result.outcome}, expected {want}"))
    if "asleep" in e:
        got = sorted({t.wmesg for t in sim.threads
                      if not t.kernel and t.state == "asleep"})
        if got != sorted(set(e["asleep"])):
            fails.append(("asleep", f"threads asleep on {got}, expected "
                          f"{sorted(set(e['asleep']))}"))
    if "panic" in e:
        if sim.panic is None:
            fails.append(("panic", f"no panic, expected one containing {e['panic']!r}"))
        elif e["panic"] not in sim.panic:
            fails.append(("panic", f"panic {sim.panic!r} does not contain {e['panic']!r}"))
    for want_line in e.get("console", []):
        if not any(want_line in line for line in sim.console):
            fails.append((f"console:{want_line}", f"no console line contains {want_line!r}"))
    if "zone" in e:
        rows = {row.name: row for row in sim.vmstat()}
        for zname, figs in e["zone"].items():
            row = rows.get(zname)
            if row is None:
                fails.append((f"zone.{zname}", f"zone {zname} does not exist at the end"))
                continue
            actual = {"used": row.used, "free": row.free, "requests": row.requests,
                      "fails": row.failures, "limit": row.limit, "size": row.size}
            for k, v in figs.items():
                if not figure_ok(v, actual[k]):
                    fails.append((f"zone.{zname}.{k}",
                                  f"zone {zname}: {k} is {actual[k]}, expected {v}"))
    if "events" in e:
        counts = sim.event_counts()
        for kind, v in e["events"].items():
            if not figure_ok(v, counts.get(kind, 0)):
                fails.append((f"events.{kind}",
                              f"events {kind}: {counts.get(kind, 0)}, expected {v}"))
    return fails


def report_of(run) -> Report:
    """The report of a finished run of the engine (umasim.engine.Run)."""
    return Report(run.scenario, run.sim, run.result,
                  check_expectations(run.scenario, run.sim, run.result))


def run_scenario(scn: Scenario, seed: int | None = None, trace: str = "full",
                 digest_every: int = 0, observers=()) -> Report:
    """Runs the scenario's schedule (with another seed, if given) through
    the engine and checks its expectations."""
    from umasim.engine import execute
    run = execute(scn, scn.schedule.with_seed(seed), observers, digest_every=digest_every,
                  level=trace)
    return report_of(run)
