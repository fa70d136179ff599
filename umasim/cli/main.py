"""The `umasim` command (docs/design.md, "Command line").

Exit status: 0 when a run ends as expected (with no expectations:
completed) or a replay is identical; 1 when not; 2 for bad input
(unreadable or invalid scenario or trace, bad arguments).
"""

from __future__ import annotations

import argparse
import sys

from umasim import __version__
from umasim.cli import explain as explain_command
from umasim.cli import explore as explore_command
from umasim.cli import fuzz as fuzz_command
from umasim.cli import report as report_command
from umasim.cli import run as run_commands
from umasim.cli import shrink as shrink_command
from umasim.errors import Error


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"umasim: error: {message}", file=sys.stderr)
        sys.exit(2)


def make_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="umasim", description="A deterministic simulator of FreeBSD's UMA "
                "allocator on simulated CPUs.")
    p.add_argument("--version", action="version", version=f"umasim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run_commands.add_commands(sub)
    for command in (explore_command, fuzz_command, shrink_command, explain_command,
                    report_command):
        command.add_command(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:         # bad arguments (2), or --help/--version (0)
        return e.code if isinstance(e.code, int) else 2
    try:
        if getattr(args, "seed", None) is not None and args.seed < 0:
            raise ValueError("--seed must not be negative")
        if getattr(args, "digest_every", 1) < 0:
            raise ValueError("--digest-every must not be negative")
        return args.func(args)
    except (Error, ValueError) as e:
        # Every refusal of bad input: a umasim.Error, or a ValueError of a
        # check made here.
        print(f"umasim: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
