"""`umasim fuzz`: the properties over generated programs and schedules.

    umasim fuzz [--examples N] [--max-time S] [--seed N] [--bug NAME] [--out DIR]
                [--db DIR | --no-db] [--fast] [--json]
                [--jobs N | --cluster tcp://HOST:PORT] [--unit-size N] [--resume DIR]
    umasim fuzz --list-bugs

Exit status: 0 when no example failed, 1 when one did (artefacts
written), 2 for bad arguments.
"""

from __future__ import annotations

import json
import sys

from umasim.cli.campaign import add_campaign_options, campaign_asked
from umasim.model.sim import KNOWN_BUGS
from umasim.search.fuzz import DEFAULT_DB, SHRINK_EXTRA, Failure, run_fuzz, write_artefacts

UNBOUNDED_EXAMPLES = 10**9


def add_command(subparsers) -> None:
    f = subparsers.add_parser(
        "fuzz", help="run the fuzzing properties on generated programs and schedules",
        description="Runs the properties of umasim.search.properties on programs that "
        "Hypothesis generates, each under its drawn schedule and a burst of guided or PCT "
        "schedules; shrinks a failure and writes it as a scenario and a trace.  Exit status "
        "0: nothing failed; 1: a failure (artefacts written); 2: bad arguments.")
    f.add_argument("--examples", type=int, default=None, metavar="N",
                   help="generated cases in all (default 200; with --max-time, no limit)")
    f.add_argument("--max-time", type=float, default=None, metavar="S",
                   help="search for at most S seconds (shrinking a find may take "
                   f"{SHRINK_EXTRA:.0f} s more); not reproducible, unlike --examples")
    db = f.add_mutually_exclusive_group()
    db.add_argument("--db", metavar="DIR", help="Hypothesis's example database "
                    f"(default {DEFAULT_DB}/, not used with --seed unless given)")
    db.add_argument("--no-db", action="store_true", help="no example database")
    f.add_argument("--seed", type=int, metavar="N",
                   help="Hypothesis seed (a campaign's unit k: a hash of N and k); default: "
                   "drawn and printed")
    f.add_argument("--bug", choices=sorted(KNOWN_BUGS), metavar="NAME",
                   help="turn on a known-bug switch (see --list-bugs); the search is the "
                   "default one")
    f.add_argument("--out", metavar="DIR", help="where failures are written "
                   "(default .umasim/failures/)")
    f.add_argument("--fast", action="store_true",
                   help="check the invariants at the end of each run, not after every step")
    f.add_argument("--json", action="store_true", help="print one JSON object")
    f.add_argument("--list-bugs", action="store_true",
                   help="print the known-bug switches, one a line, and exit")
    add_campaign_options(f, "examples")
    f.set_defaults(func=cmd_fuzz)


def cmd_fuzz(args) -> int:
    if args.list_bugs:
        for name in KNOWN_BUGS:
            print(name)
        return 0
    if args.examples is None:
        args.examples = UNBOUNDED_EXAMPLES if args.max_time is not None else 200
    if args.examples < 1:
        raise ValueError("--examples must be at least 1")
    if args.max_time is not None and not args.max_time > 0:
        raise ValueError(f"--max-time must be a positive number of seconds, not "
                         f"{args.max_time:g}")
    # A seeded run is reproducible and independent: no database unless asked.
    if args.no_db or (args.seed is not None and args.db is None):
        db = None
    else:
        db = args.db if args.db is not None else DEFAULT_DB
    try:
        import hypothesis  # noqa: F401
    except ImportError:
        print("umasim: error: umasim fuzz needs Hypothesis: pip install 'umasim[fuzz]'",
              file=sys.stderr)
        return 2
    if campaign_asked(args):
        from umasim.cli.campaign import fuzz_campaign_command
        return fuzz_campaign_command(args, db)
    res = run_fuzz(args.examples, args.seed, args.bug, not args.fast,
                   progress=not args.json and sys.stderr.isatty(), max_time=args.max_time,
                   db=db)
    for f in res.failures:
        res.artefacts.append(write_artefacts(f, args.out))
    if args.json:
        out = {"examples": res.examples, "seconds": round(res.seconds, 3),
               "examples_per_s": round(res.examples_per_s, 1), "schedules": res.schedules,
               "schedules_per_s": round(res.schedules_per_s, 1), "seed": res.seeds[0],
               "seeds": res.seeds, "jobs": len(res.seeds), "bug": res.bug,
               "every_step": not args.fast, "failed": bool(res.failures),
               "max_time": args.max_time, "database": None if db is None else str(db),
               "failures": [_failure_json(f, a) for f, a in zip(res.failures, res.artefacts)]}
        print(json.dumps(out, sort_keys=True))
    else:
        what = f" with bug {res.bug}" if res.bug else ""
        print(f"fuzz{what}: {res.examples} examples in {res.seconds:.1f} s "
              f"({res.examples_per_s:.0f}/s; {res.schedules} schedules, "
              f"{res.schedules_per_s:.0f}/s), seed {res.seeds[0]}"
              + (f" (jobs {len(res.seeds)}: seeds {res.seeds[0]}..{res.seeds[-1]})"
                 if len(res.seeds) > 1 else ""))
        if db is not None:
            print(f"example database: {db}")
        if not res.failures:
            print("no property failed")
        for f, a in zip(res.failures, res.artefacts):
            size = f.resolved.size()
            print(f"FAILED: {f.verdict.kind}: {f.verdict.message}")
            print(f"  shrunk to {size['threads']} threads, {size['ops']} ops, "
                  f"{size['preemptions']} preemptions (seed {f.seed})")
            print(f"  scenario: {a.scenario_path}")
            print(f"  trace:    {a.trace_path}")
            print(f"  replay:   {a.replay_command}")
    return 1 if res.failures else 0


def _failure_json(f: Failure, a) -> dict:
    return {"kind": f.verdict.kind, "message": f.verdict.message, "step": f.verdict.step,
            "outcome": f.verdict.outcome, "seed": f.seed, "job": f.job,
            "size": f.resolved.size(), "scenario": str(a.scenario_path),
            "trace": str(a.trace_path), "replay": a.replay_command}
