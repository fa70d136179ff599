"""umasim: a deterministic simulator of FreeBSD's UMA allocator on simulated CPUs."""

from .errors import InvariantViolation, ScheduleError, SimBusy, SimPanicked
from .zones import Zone
from .sim import Event, RunResult, Sim, Snapshot, Thread, ThreadInfo

__version__ = "0.1.0"

__all__ = ["Sim", "Snapshot", "Thread", "ThreadInfo", "Event", "RunResult",
           "SimPanicked", "InvariantViolation", "Zone", "ScheduleError", "SimBusy", "__version__"]
