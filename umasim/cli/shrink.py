"""`umasim shrink TRACE`: a smaller program and schedule that fail the
same way, written as a scenario and a trace with the replay command."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from umasim.search.shrink import (MAX_RUNS, Failure, NotFailing, failure_signature,
                                  final_scenario, format_sizes, shrink_trace)
from umasim.views.artefacts import DEFAULT_DIR, FailureArtefact, write_failure, write_pair


def cmd_shrink(args) -> int:
    from umasim.views import trace as tracemod
    if args.max_runs < 1:
        raise ValueError("--max-runs must be at least 1")
    tr = tracemod.read(args.trace)
    log = (lambda m: print(m, file=sys.stderr)) if args.verbose else None
    try:
        res = shrink_trace(tr, args.max_runs, log)
    except NotFailing as e:
        if args.json:
            print(json.dumps({"shrunk": False, "message": str(e)}, sort_keys=True))
        else:
            print(f"{args.trace}: {e}")
        return 1
    scn = final_scenario(res, tr.scenario)
    comment = (f"shrunk by umasim shrink from {args.trace} in {res.runs} runs: "
               f"{res.failure.describe()}")
    if args.output:
        tpath = Path(args.output)
        spath = tpath.with_suffix(".toml") if tpath.suffix != ".toml" \
            else tpath.with_name(tpath.name + ".toml")
        art = write_pair(scn, spath, tpath, comment)
    else:
        art = write_failure(scn, res.final.decisions, args.out_dir or DEFAULT_DIR,
                            label="shrunk", comment=comment)
    check = _verify(art, res.failure, res.names)
    if args.json:
        print(json.dumps({"shrunk": True, "failure": dataclasses.asdict(res.failure),
                          "before": res.original.sizes.to_json(),
                          "after": res.final.sizes.to_json(), "runs": res.runs,
                          "max_runs": res.max_runs, "budget_spent": res.exhausted,
                          "scenario": str(art.scenario_path), "trace": str(art.trace_path),
                          "replay": art.replay_command, "replay_identical": check},
                         sort_keys=True, indent=1))
    else:
        out = [f"{args.trace}: {res.failure.describe()}",
               f"shrunk in {res.runs} runs" + (f" (the budget of {res.max_runs} runs ran out)"
                                                if res.exhausted else "") + ":",
               format_sizes(res.original.sizes, res.final.sizes).rstrip("\n"),
               art.describe().rstrip("\n")]
        print("\n".join(out))
    return 0 if check else 1


def _verify(art: FailureArtefact, failure: Failure, names) -> bool:
    """The written trace replays identically and fails the same way (but
    for the names in its messages: Failure.same_as)."""
    from umasim.views import trace as tracemod
    tr = tracemod.read(art.trace_path)
    rp = tracemod.replay(tr)
    if not rp.identical or rp.sim is None:
        print(f"umasim: internal error: the shrunk trace does not replay: {rp.message}",
              file=sys.stderr)
        return False
    sig = failure_signature(tr.scenario, rp.sim, tr.end["end"])
    if not failure.same_as(sig, names):
        print(f"umasim: internal error: the shrunk trace fails differently: "
              f"{sig.describe() if sig else 'it does not fail'}", file=sys.stderr)
        return False
    return True


def add_command(subparsers) -> None:
    p = subparsers.add_parser(
        "shrink", help="a smaller program and schedule that fail the same way",
        description="Reduces a failing trace: fewer threads and ops, smaller repeat "
        "counts, fewer and smaller non-zero decisions, fewer zones, callbacks and "
        "vCPUs, while the run still fails the same way.  Writes the shrunk scenario "
        "and its trace and prints the replay command.  Exit status: 0 when a shrunk "
        "failure was written, 1 when the trace does not fail, 2 for bad input.")
    p.add_argument("trace", help="a trace (umasim run --trace, fuzz, explore)")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the shrunk trace here and its scenario next to it "
                   "(FILE with suffix .toml); default: shrunk-HASH.{toml,trace} in "
                   f"{DEFAULT_DIR}")
    p.add_argument("--out-dir", metavar="DIR", help=f"directory when no -o (default "
                   f"{DEFAULT_DIR})")
    p.add_argument("--max-runs", type=int, default=MAX_RUNS, metavar="N",
                   help=f"at most N candidate runs (default {MAX_RUNS})")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print each reduction kept, on stderr")
    p.set_defaults(func=cmd_shrink)
