"""umasim: a deterministic simulator of FreeBSD 7's UMA allocator on
simulated CPUs.

The public face is small: a `Sim` to drive by hand (zones, threads,
schedules, snapshots), scenarios and schedules as values, and one engine,
`execute(scenario, schedule, observers)`, that runs them.  Every refusal
is a `umasim.Error`.  The layers underneath are packages of their own:

    bindings   the one module that talks to the compiled C core
    model      Sim, zones' views, programs, scenarios, schedules
    engine     execute() and the observers of a run
    search     strategies, properties, explorers, fuzzing, shrinking
    views      reports, traces, timelines, plots, failure artefacts
    cli        the `umasim` command
"""

from umasim.errors import (Error, InvariantViolation, ScheduleError, ScenarioError, SimBusy,
                           SimFaulted, SimPanicked, TraceError)
from umasim.model.sim import Event, RunResult, Sim, Snapshot, Thread, ThreadInfo
from umasim.model.zones import Zone
from umasim.model.schedule import Schedule
from umasim.model.scenario import Scenario, load, loads
from umasim.engine import Observer, Run, execute

__version__ = "0.1.0"

__all__ = ["Sim", "Snapshot", "Thread", "ThreadInfo", "Event", "RunResult", "Zone",
           "Schedule", "Scenario", "load", "loads", "execute", "Run", "Observer",
           "Error", "SimPanicked", "SimFaulted", "InvariantViolation", "ScheduleError", "ScenarioError",
           "SimBusy", "TraceError", "__version__"]


def __getattr__(name):
    # umasim.plot (matplotlib is imported only when a plot is drawn).
    if name == "plot":
        from umasim.views import plot
        return plot
    raise AttributeError(f"module 'umasim' has no attribute {name!r}")
