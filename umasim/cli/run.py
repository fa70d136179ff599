"""`umasim run`, `stats`, `replay` and `timeline`: one scenario, one run."""

from __future__ import annotations

import json
import sys
from importlib import resources

from umasim.engine import execute
from umasim.model.scenario import Scenario, load, loads
from umasim.views import timeline as timelines
from umasim.views import trace as traces
from umasim.views.report import Report, report_of


def default_scenario() -> Scenario:
    text = resources.files("umasim").joinpath("data/default.toml").read_text("utf-8")
    return loads(text, "<built-in default scenario>")


def _load(path: str | None) -> Scenario:
    return default_scenario() if path is None else load(path)


def cmd_run(args) -> int:
    scn = _load(args.scenario)
    observers: list = []
    if args.trace:
        observers.append(traces.TraceWriter(args.trace, args.trace_level, args.digest_every))
    sampler = None
    if args.timeline:
        sampler = timelines.TimelineSampler()
        observers.append(sampler)
    # Without a trace, the run records every event (the report counts them).
    run = execute(scn, scn.schedule.with_seed(args.seed), observers,
                  level="full" if not args.trace else "off")
    if sampler is not None:
        timelines.write_data(sampler.timeline, args.timeline)
    rep = report_of(run)
    _print_report(rep, args.json)
    return 0 if rep.ok else 1


def _print_report(rep: Report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(rep.to_json(), sort_keys=True, indent=1))
    else:
        sys.stdout.write(rep.to_text())


def cmd_stats(args) -> int:
    scn = _load(args.scenario)
    run = execute(scn, level="decisions")
    sys.stdout.write(run.sim.vmstat_table())
    return 0


def cmd_replay(args) -> int:
    if args.cont is not None:
        return _continue(args)
    if args.runs is not None or args.start is not None:
        raise ValueError("--runs and --from go with --continue")
    tr = traces.read(args.trace)
    res = traces.replay(tr)
    if args.json:
        print(json.dumps({"identical": res.identical, "message": res.message,
                          "step": res.step}, sort_keys=True))
    else:
        print(res.message)
    return 0 if res.identical else 1


def _continue(args) -> int:
    """`replay TRACE --continue random|pct|guided`: runs onward from the
    trace's end (or step --from), each failure written as a scenario and a
    trace; 1 when some run failed."""
    from umasim.search.explain import continue_from, format_continuation, write_continuation
    c = continue_from(args.trace, args.cont, 100 if args.runs is None else args.runs,
                      args.start, args.seed or 0)
    if c.failures:
        write_continuation(c, args.out)
    if args.json:
        print(json.dumps(c.to_json(), sort_keys=True, indent=1))
    else:
        sys.stdout.write(format_continuation(c))
    return 1 if c.failures else 0


def cmd_timeline(args) -> int:
    tr = traces.read(args.trace)
    timelines.write(tr, args.output)
    print(f"wrote {args.output}: open it in https://ui.perfetto.dev or chrome://tracing")
    return 0


def add_commands(sub) -> None:
    r = sub.add_parser("run", help="run a scenario (no argument: the built-in default)")
    r.add_argument("scenario", nargs="?", help="scenario file (TOML)")
    r.add_argument("--seed", type=int, help="seed of a random or pct schedule")
    r.add_argument("--trace", metavar="FILE", help="write the run's trace (JSON Lines)")
    r.add_argument("--trace-level", choices=("full", "decisions"), default="full",
                   help="what the trace records (default: full)")
    r.add_argument("--digest-every", type=int, default=1000, metavar="N",
                   help="digests in the trace every N steps (default 1000)")
    r.add_argument("--timeline", metavar="FILE", help="write a Chrome Trace Event timeline")
    r.add_argument("--json", action="store_true", help="print one JSON object")
    r.set_defaults(func=cmd_run)

    s = sub.add_parser("stats", help="vmstat -z table at the end of a scenario's run")
    s.add_argument("scenario")
    s.set_defaults(func=cmd_stats)

    rp = sub.add_parser("replay", help="re-run a trace and compare every digest")
    rp.add_argument("trace")
    rp.add_argument("--json", action="store_true")
    rp.add_argument("--continue", dest="cont", choices=("random", "pct", "guided"),
                    help="explore onward from the trace's end (or --from S) instead")
    rp.add_argument("--runs", type=int, metavar="N",
                    help="with --continue: runs (default 100)")
    rp.add_argument("--from", dest="start", type=int, metavar="S",
                    help="with --continue: go on from the state after step S")
    rp.add_argument("--seed", type=int, metavar="S",
                    help="with --continue: seed, with the trace's digest and the step "
                         "(default 0)")
    rp.add_argument("--out", default=None, help="with --continue: where failures are "
                    "written (default .umasim/failures)")
    rp.set_defaults(func=cmd_replay)

    t = sub.add_parser("timeline", help="Chrome Trace Event JSON of a trace")
    t.add_argument("trace")
    t.add_argument("-o", "--output", required=True, metavar="FILE")
    t.set_defaults(func=cmd_timeline)
