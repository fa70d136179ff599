"""`umasim explore SCENARIO`: many runs of one scenario under an explorer."""

from __future__ import annotations

import json
import sys

from umasim.bindings import GUIDED_CORPUS_MAX
from umasim.cli.campaign import add_campaign_options, campaign_asked
from umasim.model.scenario import load
from umasim.errors import InvalidArgument
from umasim.search.explore import KINDS, explore, format_result, write_artefacts


def cmd_explore(args) -> int:
    if args.no_reduction and args.explorer != "bounded":
        raise InvalidArgument("--no-reduction is for --explorer bounded only")
    scn = load(args.scenario)
    if campaign_asked(args):
        from umasim.cli.campaign import explore_campaign_command
        return explore_campaign_command(scn, args)
    res = explore(scn, args.explorer, args.runs, args.seed, args.bound, args.depth,
                  states=args.states, corpus=args.corpus, reduction=not args.no_reduction,
                  oracle=not args.no_oracle)
    if res.failures:
        write_artefacts(scn, res, args.out)
    if args.json:
        print(json.dumps(res.to_json(timing=args.timing), sort_keys=True, indent=1))
    else:
        sys.stdout.write(format_result(res))
    return 1 if res.failures else 0


def add_command(sub) -> None:
    e = sub.add_parser("explore", help="many runs of a scenario: random, pct, bounded or guided")
    e.add_argument("scenario")
    e.add_argument("--explorer", choices=tuple(KINDS), default="random")
    e.add_argument("--runs", type=int, default=1000, help="runs at most (default 1000)")
    e.add_argument("--seed", type=int, help="first seed (default: the scenario's)")
    e.add_argument("--bound", type=int, default=2, help="bounded: preemptions (default 2)")
    e.add_argument("--depth", type=int, help="pct: depth (default: the scenario's)")
    e.add_argument("--corpus", type=int, help=f"guided: schedules kept at most "
                   f"(2 to {GUIDED_CORPUS_MAX}, default {GUIDED_CORPUS_MAX})")
    e.add_argument("--no-reduction", action="store_true",
                   help="bounded: no sleep sets (every schedule within the bound is run); "
                   "an error with another explorer")
    e.add_argument("--no-oracle", action="store_true",
                   help="judge runs by the scenario's expectations and the invariant checker "
                   "only, not by the core's oracle (the fuzzing properties it checks)")
    e.add_argument("--states", action="store_true", help="count distinct final states")
    e.add_argument("--out", default=None, help="where failures are written "
                   "(default .umasim/failures)")
    e.add_argument("--json", action="store_true")
    e.add_argument("--timing", action="store_true",
                   help="with --json, include seconds and runs_per_s (not reproducible)")
    add_campaign_options(e, "runs")
    e.set_defaults(func=cmd_explore)
