"""The `umasim` command: cli.main parses the arguments and maps errors to
exit statuses; each group of commands has its module here."""

from umasim.cli.main import main

__all__ = ["main"]
