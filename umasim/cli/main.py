"""The `umasim` command (design.md, "Command line").

Exit status: 0 when a run ends as expected (with no expectations:
completed) or a replay is identical; 1 when not; 2 for bad input
(unreadable or invalid scenario or trace, bad arguments).
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path

from umasim import __version__
from umasim.cli import explore as explore_command
from umasim.cli import fuzz as fuzz_command
from umasim.cli import shrink as shrink_command
from umasim.views.report import Report, run_scenario
from umasim.model.scenario import Scenario, ScenarioError, load, loads


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"umasim: error: {message}", file=sys.stderr)
        sys.exit(2)


def default_scenario() -> Scenario:
    text = resources.files("umasim").joinpath("data/default.toml").read_text("utf-8")
    return loads(text, "<built-in default scenario>")


def _load(path: str | None) -> Scenario:
    return default_scenario() if path is None else load(path)


def cmd_run(args) -> int:
    scn = _load(args.scenario)
    from umasim.views import trace as tracemod
    level = args.trace_level
    rep = run_scenario_traced(scn, args.seed, level if args.trace else "full",
                              args.digest_every if args.trace else 0)
    if args.trace:
        tracemod.write(args.trace, rep.report, level, args.digest_every, rep.start_digest)
    if args.timeline:
        if not args.trace:
            import tempfile
            with tempfile.TemporaryDirectory() as d:
                tmp = Path(d) / "run.trace"
                tracemod.write(tmp, rep.report, "decisions", 0, rep.start_digest)
                _write_timeline(tracemod.read(tmp), args.timeline)
        else:
            _write_timeline(tracemod.read(args.trace), args.timeline)
    _print_report(rep.report, args.json)
    return 0 if rep.report.ok else 1


class _Traced:
    def __init__(self, report: Report, start_digest: str):
        self.report, self.start_digest = report, start_digest


def run_scenario_traced(scn: Scenario, seed, trace_level: str, digest_every: int) -> _Traced:
    from umasim.views.report import check_expectations, trace_level_for
    sim = scn.build_with(trace=trace_level_for(
        scn, "full" if trace_level == "full" else "decisions"))
    start = sim.digest()
    if digest_every:
        sim.set_digest_interval(digest_every)
    result = sim.run(**scn.run_args(seed))
    rep = Report(scn, sim, result, check_expectations(scn, sim, result))
    return _Traced(rep, start)


def _write_timeline(tr, out) -> None:
    from umasim.views import timeline
    timeline.write(tr, out)


def _print_report(rep: Report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(rep.to_json(), sort_keys=True, indent=1))
    else:
        sys.stdout.write(rep.to_text())


def cmd_stats(args) -> int:
    scn = _load(args.scenario)
    rep = run_scenario(scn, trace="decisions")
    sys.stdout.write(rep.sim.vmstat_table())
    return 0


def cmd_replay(args) -> int:
    from umasim.views import trace as tracemod
    tr = tracemod.read(args.trace)
    res = tracemod.replay(tr)
    if args.json:
        print(json.dumps({"identical": res.identical, "message": res.message,
                          "step": res.step}, sort_keys=True))
    else:
        print(res.message)
    return 0 if res.identical else 1


def cmd_timeline(args) -> int:
    from umasim.views import trace as tracemod
    tr = tracemod.read(args.trace)
    _write_timeline(tr, args.output)
    print(f"wrote {args.output}: open it in https://ui.perfetto.dev or chrome://tracing")
    return 0


def make_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="umasim", description="A deterministic simulator of FreeBSD's UMA "
                "allocator on simulated CPUs.")
    p.add_argument("--version", action="version", version=f"umasim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

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
    rp.set_defaults(func=cmd_replay)

    t = sub.add_parser("timeline", help="Chrome Trace Event JSON of a trace")
    t.add_argument("trace")
    t.add_argument("-o", "--output", required=True, metavar="FILE")
    t.set_defaults(func=cmd_timeline)

    for command in (explore_command, fuzz_command, shrink_command):
        command.add_command(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:         # bad arguments (2), or --help/--version (0)
        return e.code if isinstance(e.code, int) else 2
    from umasim.views.trace import TraceError
    try:
        if getattr(args, "seed", None) is not None and args.seed < 0:
            raise ValueError("--seed must not be negative")
        if getattr(args, "digest_every", 1) < 0:
            raise ValueError("--digest-every must not be negative")
        return args.func(args)
    except (ScenarioError, TraceError) as e:
        print(f"umasim: error: {e}", file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"umasim: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
