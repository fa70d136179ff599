"""The campaign options of `umasim explore` and `umasim fuzz` (--jobs,
--cluster, --unit-size, --resume), and the branch that hands a command
over to umasim.campaign when one of them is given."""

from __future__ import annotations

import json
import sys


def add_campaign_options(p, what: str) -> None:
    """--jobs, --cluster, --unit-size and --resume (explore and fuzz)."""
    from umasim.campaign import DEFAULT_UNIT_SIZE
    g = p.add_argument_group("campaigns", "split the work into units and run them on local "
                             "worker processes or a Dask cluster (pip install "
                             "'umasim[cluster]'); the same findings wherever they run")
    w = g.add_mutually_exclusive_group()
    w.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="run the units on a LocalCluster of N worker processes (0: every core)")
    w.add_argument("--cluster", metavar="tcp://HOST:PORT",
                   help="run the units on the Dask cluster of this scheduler")
    cmd = "explore" if what == "runs" else "fuzz"
    g.add_argument("--unit-size", type=int, default=None, metavar="N",
                   help=f"{what} per unit (default {DEFAULT_UNIT_SIZE[cmd]}); alone, runs the "
                   f"units in this process")
    g.add_argument("--resume", metavar="DIR",
                   help="continue the campaign whose directory is DIR (the same command), "
                   "without redoing its finished units")


def campaign_asked(args) -> bool:
    return any(getattr(args, k, None) is not None
               for k in ("jobs", "cluster", "unit_size", "resume"))


def explore_campaign_command(scn, args) -> int:
    from umasim.campaign import explore_campaign, explore_json, format_explore
    if args.states:
        raise ValueError("--states counts distinct final states of one exploration: "
                         "not with --jobs, --cluster, --unit-size or --resume")
    cr = explore_campaign(scn, args.explorer, args.runs, args.seed, args.bound, args.depth,
                          args.corpus, unit_size=args.unit_size, jobs=args.jobs,
                          cluster=args.cluster, out=args.out, resume=args.resume,
                          progress=not args.json and sys.stderr.isatty(),
                          oracle=not getattr(args, "no_oracle", False))
    if args.json:
        print(json.dumps(explore_json(cr, timing=args.timing), sort_keys=True, indent=1))
    else:
        sys.stdout.write(format_explore(cr))
    return 1 if cr.result.failures else 0


def fuzz_campaign_command(args, db) -> int:
    import os

    from umasim.campaign import format_fuzz, fuzz_campaign, fuzz_json
    seed = args.seed
    if seed is None and args.resume is not None:
        seed = _resumed_seed(args.resume)
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "little")
    cr = fuzz_campaign(args.examples, seed, args.bug, not args.fast, unit_size=args.unit_size,
                       max_time=args.max_time, jobs=args.jobs, cluster=args.cluster,
                       out=args.out, resume=args.resume, db=db,
                       progress=not args.json and sys.stderr.isatty())
    if args.json:
        print(json.dumps(fuzz_json(cr), sort_keys=True))
    else:
        sys.stdout.write(format_fuzz(cr))
    return 1 if cr.result.failures else 0


def _resumed_seed(directory) -> int | None:
    """The seed a fuzz campaign drew, from its manifest (so that --resume
    DIR needs no --seed when the first run drew it)."""
    from pathlib import Path

    from umasim.campaign.resume import MANIFEST
    try:
        man = json.loads((Path(directory) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None             # CampaignDir says what is wrong
    if isinstance(man, dict) and man.get("command") == "fuzz":
        seed = man.get("params", {}).get("seed")
        return seed if isinstance(seed, int) else None
    return None
