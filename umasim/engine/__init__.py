"""The run engine: `execute(scenario, schedule, observers)`, the one loop
every run goes through (umasim.engine.run), the drivers that take the
steps of each kind of schedule, and the observers that come with
umasim (umasim.engine.observers)."""

from umasim.engine.run import LEVELS, Observer, Run, execute, level_for

__all__ = ["execute", "Run", "Observer", "LEVELS", "level_for"]
