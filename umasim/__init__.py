"""umasim: a deterministic simulator of FreeBSD's UMA allocator on simulated CPUs."""

from .errors import ScheduleError, SimBusy, SimPanicked
from .sim import Event, RunResult, Sim, Snapshot, Thread, ThreadInfo

__version__ = "0.1.0"

__all__ = ["Sim", "Snapshot", "Thread", "ThreadInfo", "Event", "RunResult",
           "SimPanicked", "ScheduleError", "SimBusy", "__version__"]
