"""`umasim report TRACE -o FILE`: the failure report, one self-contained
HTML page that replays the trace step by step (umasim.views.html_report).

The trace is replayed exactly (every digest compared).  When the run
fails and umasim.views.explain is there, the page also gets the
explanation: P(failure) over the steps, the decisive steps and the
happens-before slice (`--continuations K`, `--seed S` as for `umasim
explain`; `--no-explain` leaves it out).
"""

from __future__ import annotations

import sys

from umasim.views import html_report
from umasim.views import trace as traces


def cmd_report(args) -> int:
    if args.continuations is not None and args.continuations < 1:
        raise ValueError("--continuations must be at least 1")
    tr = traces.read(args.trace)
    explanation = None
    if not args.no_explain:
        explanation = html_report.explain_if_available(tr, args.continuations, args.seed or 0,
                                                       progress=_progress())
        if sys.stderr.isatty():
            sys.stderr.write("\r\033[K")
    data = html_report.write(args.trace, args.output, explanation)
    what = "with its explanation" if explanation is not None else "without an explanation"
    print(f"wrote {args.output}: {data['meta']['outcome']} after {data['meta']['steps']} "
          f"steps, {what}; open it in a browser (it fetches nothing)")
    return 0


def _progress():
    """Explain's progress on a terminal ("explaining: step S of N"), or
    nothing."""
    if not sys.stderr.isatty():
        return None

    def show(step: int, steps: int) -> None:
        sys.stderr.write(f"\rexplaining: step {step} of {steps}")
        sys.stderr.flush()
    return show


def add_command(sub) -> None:
    r = sub.add_parser("report", help="a self-contained HTML page that replays a trace "
                       "step by step")
    r.add_argument("trace")
    r.add_argument("-o", "--output", required=True, metavar="FILE")
    r.add_argument("--continuations", type=int, metavar="K",
                   help="continuations a step when explaining (default: umasim explain's)")
    r.add_argument("--seed", type=int, help="seed of the explanation (default 0)")
    r.add_argument("--no-explain", action="store_true",
                   help="leave out the explanation (P(failure), decisive steps, slice)")
    r.set_defaults(func=cmd_report)


if __name__ == "__main__":      # pragma: no cover
    sys.exit("run it as: umasim report TRACE -o FILE")
