"""The explore and fuzz campaigns end to end: plan, run (here, on local
workers or on a cluster), merge in unit order, write each distinct
failure once as a scenario and a trace, and the text and JSON the
commands print.

What a campaign writes into its directory (the manifest, the units'
results, findings.json and the artefacts) depends only on the campaign:
it is the same bytes whether its units ran in one process, on two local
workers or on a cluster.  A time-budgeted fuzz campaign (--max-time)
runs as many units as time allows, and says so: it is not held to this.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from umasim.campaign.cluster import connect, run_plan
from umasim.campaign.plan import explore_plan, fuzz_plan, merge_explore, merge_fuzz
from umasim.campaign.progress import Progress
from umasim.campaign.resume import CampaignDir
from umasim.errors import CampaignError, InvalidArgument

CAMPAIGNS_DIR = Path(".umasim") / "campaigns"


def _out_dir(plan, out, resume) -> tuple[Path, bool]:
    if resume is not None:
        if out is not None and Path(out).resolve() != Path(resume).resolve():
            raise InvalidArgument("--resume DIR writes into DIR: leave out --out, or give "
                                  "the same directory")
        return Path(resume), True
    return (Path(out) if out is not None else CAMPAIGNS_DIR / plan.id), False


@dataclass
class CampaignResult:
    """What a campaign found: the merged result (`result`, an explore
    ExploreResult or a fuzz FuzzMerge), its plan, its directory, the
    units done and whether it was cut by a time budget."""
    plan: object
    out: Path
    result: object
    units_done: int
    seconds: float
    time_budgeted: bool = False
    signatures: list = field(default_factory=list)
    artefacts: list = field(default_factory=list)
    database: str | None = None
    workers: int = 1                # worker processes (1: this process)
    # From the first unit handed out to the last result in: `seconds`
    # without connecting to the cluster, checking its workers' build and
    # closing (what bench/campaign.py divides by; 0.0 when no unit ran),
    # and this process's CPU seconds over that time (the client's share,
    # and with --jobs that of the Dask scheduler it hosts).
    units_seconds: float = 0.0
    units_cpu_seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return bool(self.artefacts) or any(s is not None for s in self.signatures)


def _run(plan, out, resume, jobs, cluster, progress) -> tuple[CampaignDir, dict, float, int,
                                                             tuple[float, float]]:
    path, is_resume = _out_dir(plan, out, resume)
    store = CampaignDir(path, plan, resume=is_resume)
    bar = Progress(plan, enabled=progress)
    t0 = time.perf_counter()
    workers = 1
    clock: dict = {}
    try:
        with connect(jobs, cluster) as client:
            if client is not None:
                workers = len(client.scheduler_info().get("workers", {})) or 1
            results = run_plan(plan, store, client, bar, address=cluster, clock=clock)
    except KeyboardInterrupt:
        done = len(store.done())
        raise CampaignError(f"interrupted: {done} of {plan.nunits} units completed, saved in "
                            f"{store.path}; continue with the same command and --resume "
                            f"{store.path}") from None
    finally:
        bar.close()
    span = (0.0, 0.0)
    if "first" in clock and "last" in clock:
        span = (clock["last"] - clock["first"], clock["last_cpu"] - clock["first_cpu"])
    return store, results, time.perf_counter() - t0, workers, span


# ---- explore -----------------------------------------------------------------

def explore_campaign(scn, explorer: str = "random", runs: int = 1000,
                     seed: int | None = None, bound: int = 2, depth: int | None = None,
                     corpus: int | None = None, *, unit_size: int | None = None,
                     jobs: int | None = None, cluster: str | None = None,
                     out=None, resume=None, progress: bool = False,
                     oracle: bool = True) -> CampaignResult:
    """`umasim explore` as a campaign: its units run here (neither `jobs`
    nor `cluster`), on a LocalCluster of `jobs` workers (0: every core) or
    on the Dask cluster at `cluster`.  `oracle`: judge runs by the core's
    oracle too (search.explore.explore)."""
    from umasim.search.explore import ExploreResult, OutcomeClass
    from umasim.bindings import Coverage, WindowCoverage, WINDOWS, POINTS
    if explorer == "bounded" and (jobs is not None or cluster is not None):
        raise InvalidArgument("the bounded explorer searches depth first from one stack and "
                              "does not split: run it without --jobs and --cluster")
    plan = explore_plan(scn, explorer, runs, seed, bound, depth, corpus, unit_size,
                        oracle=oracle)
    store, results, secs, workers, usecs = _run(plan, out, resume, jobs, cluster, progress)
    m = merge_explore(list(results.values()))
    wins = tuple(WindowCoverage(WINDOWS[i], bool(w & 1), bool(w & 2), bool(w & 4))
                 for i, w in enumerate(m.windows))
    cov = Coverage(wins, bin(m.state_bits).count("1"), m.state_pairs_total)
    classes = [OutcomeClass(c["outcome"], c["failed"], c["check_failed"], c["message"],
                            c["count"], c["first_run"], list(c["decisions"]),
                            c.get("oracle_kind", ""), c.get("oracle_step", 0))
               for c in m.classes]
    points = [p for p in POINTS if p in m.points]
    res = ExploreResult(explorer, m.runs, m.failures, classes, points, m.points_total,
                        m.exhausted, m.steps_hint, 0, cov, secs, coverage_growth=m.growth)
    sigs = [c.get("signature") for c in m.classes]
    for c, raw in zip(classes, m.classes):
        if c.failed and raw["decisions"] is not None and raw["outcome"] != "error":
            from umasim.views.artefacts import write_failure
            c.artefact = write_failure(
                scn, c.decisions, store.path, label=f"explore-{explorer}",
                comment=f"found by umasim explore --explorer {explorer}: "
                        + (f"{c.oracle_kind} ({c.outcome})" if c.oracle_kind else c.outcome)
                        + (f": {c.message}" if c.message else ""),
                relative=True)
            res.artefacts.append(c.artefact)
    cr = CampaignResult(plan, store.path, res, len(results), secs, signatures=sigs,
                        artefacts=res.artefacts, workers=workers, units_seconds=usecs[0],
                        units_cpu_seconds=usecs[1])
    store.write_findings(explore_findings(cr))
    return cr


def _rel(cr: CampaignResult, p) -> str | None:
    return None if p is None else str(Path(p).relative_to(cr.out))


def explore_findings(cr: CampaignResult) -> dict:
    """What the campaign found, with artefacts named relative to its
    directory (findings.json): the same bytes wherever the units ran."""
    res = cr.result
    d = res.to_json()
    d.pop("distinct_states", None)
    for c, obj, sig in zip(d["classes"], res.classes, cr.signatures):
        c["signature"] = sig
        if obj.artefact is not None:
            c["scenario"] = _rel(cr, obj.artefact.scenario_path)
            c["trace"] = _rel(cr, obj.artefact.trace_path)
            c["replay"] = obj.artefact.replay_command
    d["units"] = cr.units_done
    d["campaign"] = cr.plan.id
    d["unit_size"] = cr.plan.unit_size
    return d


def explore_json(cr: CampaignResult, timing: bool = False) -> dict:
    """`umasim explore --json` of a campaign: explore's keys, each class's
    `signature`, `units`, `campaign` and `out`; paths from here."""
    d = cr.result.to_json(timing=timing)
    d.pop("distinct_states", None)
    for c, sig in zip(d["classes"], cr.signatures):
        c["signature"] = sig
    d.update(units=cr.units_done, units_planned=cr.plan.nunits, campaign=cr.plan.id,
             unit_size=cr.plan.unit_size, out=str(cr.out))
    return d


def format_explore(cr: CampaignResult) -> str:
    from umasim.search.explore import format_result
    text = format_result(cr.result)
    head = (f"campaign {cr.plan.id}: {cr.units_done} units of {cr.plan.unit_size} runs; "
            f"failures written in {cr.out} (replay from there)\n")
    return head + text


# ---- fuzz --------------------------------------------------------------------

def fuzz_campaign(examples: int, seed: int, bug: str | None = None, every_step: bool = True,
                  *, unit_size: int | None = None, max_time: float | None = None,
                  jobs: int | None = None, cluster: str | None = None, out=None,
                  resume=None, db=None, progress: bool = False) -> CampaignResult:
    """`umasim fuzz` as a campaign: Hypothesis runs of `unit_size` examples
    each, unit k seeded from (seed, k).  `db`: the client's example
    database directory; what the units' Hypothesis runs saved (their
    failures) goes into it, in unit order."""
    if max_time is not None and not max_time > 0:
        raise InvalidArgument(f"--max-time must be a positive number of seconds, not "
                              f"{max_time:g}")
    plan = fuzz_plan(examples, seed, bug, every_step, unit_size, max_time)
    store, results, secs, workers, usecs = _run(plan, out, resume, jobs, cluster, progress)
    m = merge_fuzz(list(results.values()))
    cr = CampaignResult(plan, store.path, m, len(results), secs, workers=workers,
                        units_seconds=usecs[0], units_cpu_seconds=usecs[1],
                        time_budgeted=max_time is not None,
                        signatures=[f["signature"] for f in m.failures],
                        database=None if db is None else str(db))
    from umasim.model.scenario import from_dict
    from umasim.views.artefacts import write_failure
    for f, first in zip(m.failures, m.first):
        if f.get("scenario") is None:
            cr.artefacts.append(None)
            continue
        scn = from_dict(f["scenario"], "<fuzz>")
        size = f["size"]
        comment = (f"umasim fuzz{' --bug ' + f['bug'] if f.get('bug') else ''} campaign "
                   f"{plan.id} (seed {seed}, unit {first}): property {f['kind']} failed at "
                   f"step {f['step']}\n{f['message']}\n"
                   f"shrunk to {size['threads']} threads, {size['ops']} ops, "
                   f"{size['preemptions']} preemptions")
        label = f"fuzz-{f.get('bug') or 'default'}-{f['kind']}"
        cr.artefacts.append(write_failure(scn, list(f["decisions"]), store.path, label=label,
                                          comment=comment, relative=True))
    if db is not None and m.db:
        from hypothesis.database import DirectoryBasedExampleDatabase
        hdb = DirectoryBasedExampleDatabase(str(db))
        for k, v in m.db:
            hdb.save(bytes.fromhex(k), bytes.fromhex(v))
    store.write_findings(fuzz_findings(cr))
    return cr


def _fuzz_classes(cr: CampaignResult, rel: bool) -> list[dict]:
    m = cr.result
    out = []
    for f, count, first, art in zip(m.failures, m.counts, m.first, cr.artefacts):
        trace = scen = replay = None
        if art is not None:
            trace = _rel(cr, art.trace_path) if rel else str(art.trace_path)
            scen = _rel(cr, art.scenario_path) if rel else str(art.scenario_path)
            replay = art.replay_command
        out.append({"outcome": f.get("outcome", "error"), "failed": True,
                    "kind": f.get("kind", "error"), "message": f["message"], "count": count,
                    "first_run": f.get("first_run", cr.plan.unit(first).params["start"]),
                    "unit": first, "step": f.get("step"), "size": f.get("size"),
                    "signature": f["signature"], "scenario": scen, "trace": trace,
                    "replay": replay})
    return out


def fuzz_findings(cr: CampaignResult) -> dict:
    m = cr.result
    d = {"campaign": cr.plan.id, "examples": m.examples, "runs": m.examples,
         "seed": cr.plan.params["seed"], "bug": cr.plan.params["bug"],
         "every_step": cr.plan.params["every_step"], "unit_size": cr.plan.unit_size,
         "units": cr.units_done, "failed": bool(m.failures),
         "classes": _fuzz_classes(cr, True)}
    if cr.time_budgeted:
        d["time_budgeted"] = True
    return d


def fuzz_json(cr: CampaignResult) -> dict:
    """`umasim fuzz --json` of a campaign: fuzz's keys (examples, seed,
    seeds: the units', jobs: the worker processes, bug, failures...),
    explore's (runs, classes) and `units`."""
    m = cr.result
    classes = _fuzz_classes(cr, False)
    return {"examples": m.examples, "runs": m.examples, "seconds": round(cr.seconds, 3),
            "examples_per_s": round(m.examples / cr.seconds, 1) if cr.seconds > 0 else 0.0,
            "seed": cr.plan.params["seed"], "bug": cr.plan.params["bug"],
            "every_step": cr.plan.params["every_step"], "failed": bool(m.failures),
            "max_time": cr.plan.time_budget, "time_budgeted": cr.time_budgeted,
            "database": cr.database, "units": cr.units_done, "units_planned": cr.plan.nunits,
            "unit_size": cr.plan.unit_size, "campaign": cr.plan.id, "out": str(cr.out),
            "classes": classes, "jobs": cr.workers,
            "seeds": [cr.plan.unit(i).params["seed"] for i in range(cr.units_done)],
            "failures": [{"kind": c["kind"], "message": c["message"], "step": c["step"],
                          "outcome": c["outcome"], "size": c["size"], "unit": c["unit"],
                          "job": c["unit"], "seed": cr.plan.unit(c["unit"]).params["seed"],
                          "signature": c["signature"], "scenario": c["scenario"],
                          "trace": c["trace"], "replay": c["replay"]} for c in classes]}


def format_fuzz(cr: CampaignResult) -> str:
    m = cr.result
    bug = cr.plan.params["bug"]
    rate = m.examples / cr.seconds if cr.seconds > 0 else 0.0
    lines = [f"fuzz{' with bug ' + bug if bug else ''}: campaign {cr.plan.id}, "
             f"{cr.units_done} units of {cr.plan.unit_size} examples: {m.examples} examples "
             f"in {cr.seconds:.1f} s ({rate:.0f}/s), seed {cr.plan.params['seed']}, in "
             f"{cr.out}"]
    if cr.time_budgeted:
        lines.append("time-budgeted (--max-time): the units done depend on the machines, "
                     "so the findings are not reproducible")
    if cr.database is not None:
        lines.append(f"example database: {cr.database}")
    if not m.failures:
        lines.append("no property failed")
    for c in _fuzz_classes(cr, False):
        s = c["signature"]
        lines.append(f"FAILED: {c['kind']}: {c['message']}")
        lines.append(f"  at point {s['point']}; found by {c['count']} unit(s), first unit "
                     f"{c['unit']}")
        if c["size"]:
            sz = c["size"]
            lines.append(f"  shrunk to {sz['threads']} threads, {sz['ops']} ops, "
                         f"{sz['preemptions']} preemptions")
        if c["trace"]:
            lines.append(f"  scenario: {c['scenario']}")
            lines.append(f"  trace:    {c['trace']}")
            lines.append(f"  replay:   (in {cr.out}) {c['replay']}")
    return "\n".join(lines) + "\n"
