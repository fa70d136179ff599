"""`umasim explain TRACE [--continuations K] [--seed S] [--json]`: where a
failing trace's failure became inevitable, the decisive steps, and the
happens-before slice (umasim.views.explain).

Exit status: 0 when the failure was explained; 2 for bad input (not a
valid trace, a trace that does not replay or does not fail, K below 1).
"""

from __future__ import annotations

import json
import sys

from umasim.search.explain import DEFAULT_K, MAX_K
from umasim.views.explain import explain, format_text


def cmd_explain(args) -> int:
    progress = None
    if sys.stderr.isatty():         # a long trace: say how far it got
        def progress(done: int, planned: int) -> None:
            print(f"\rexplain: {done} states estimated ({planned} first, then bisection)",
                  end="", file=sys.stderr, flush=True)
    ex = explain(args.trace, args.continuations, args.seed or 0, progress=progress)
    if progress is not None:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(ex.to_json(), sort_keys=True, indent=1))
    else:
        sys.stdout.write(format_text(ex))
    return 0


def add_command(sub) -> None:
    e = sub.add_parser("explain", help="why a failing trace fails: P(failure) after each "
                       "step, the decisive steps, the happens-before slice")
    e.add_argument("trace")
    e.add_argument("--continuations", "-k", type=int, default=DEFAULT_K, metavar="K",
                   help=f"continuations per policy (random, PCT) from each step's state "
                        f"(1 to {MAX_K}, default {DEFAULT_K})")
    e.add_argument("--seed", type=int, default=0, metavar="S",
                   help="seed of the continuations, with the trace's digest and the step "
                        "(default 0)")
    e.add_argument("--json", action="store_true",
                   help="one JSON object: failure, deterministic, curve, decisive, slice")
    e.set_defaults(func=cmd_explain)
