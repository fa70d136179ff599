"""Every error umasim raises on purpose.

`Error` is the base of them all.  Each refusal is a subclass that is also
the builtin exception a Python programmer would expect (a bad argument is a
ValueError, a wrong type a TypeError, a simulation that cannot go on a
RuntimeError), so `except umasim.Error` and `except ValueError` both catch
it.  The bindings map each error code of the C core onto one of these.
"""

from __future__ import annotations


class Error(Exception):
    """Base of every error umasim raises on purpose."""


class InvalidArgument(Error, ValueError):
    """A value outside what the simulator accepts (a vCPU that does not
    exist, a negative count, an unknown name)."""


class WrongType(Error, TypeError):
    """An argument of the wrong type."""


class TooMany(InvalidArgument):
    """A simulation's limit reached: threads, zones, mutexes, channels or
    variables (the limits are the C core's, in the message)."""


class NoSuchThread(InvalidArgument):
    """A thread id or name that this simulation does not have."""


class NotRunnable(InvalidArgument):
    """A step or migration asked of a thread that cannot take it now."""


class ScheduleError(InvalidArgument):
    """A scripted schedule asked for a step that cannot be taken, or a
    schedule's parameters are invalid."""


class ScenarioError(InvalidArgument):
    """A scenario that cannot run: says where (file, line, field) and what."""

    def __init__(self, source: str, line: int | None, where: str, message: str):
        self.source, self.line, self.where, self.message = source, line, where, message
        loc = source + (f":{line}" if line else "")
        super().__init__(f"{loc}: {where + ': ' if where else ''}{message}")


class TraceError(InvalidArgument):
    """Not a valid trace: truncated, corrupted, or another version."""


class NoFailure(InvalidArgument):
    """A trace given to be explained whose run does not fail."""


class SimPanicked(Error, RuntimeError):
    """The simulation panicked; it stays readable but cannot run further."""


class SimFaulted(Error, RuntimeError):
    """A simulated thread raised SIGSEGV or SIGBUS on the host (a wild or
    NULL pointer in the port): the simulation ended with outcome
    "host_fault".  Like a panicked one it stays readable (sim.host_fault
    says where) but cannot run further."""


class SimBusy(Error, RuntimeError):
    """Another host thread is driving this simulation right now."""


class HostMemory(Error, MemoryError):
    """The host ran out of memory for the simulation (arena, snapshot)."""


class InvariantViolation(Error, AssertionError):
    """The invariant checker found the allocator in an impossible state."""


class Nondeterministic(Error, RuntimeError):
    """Two runs that had to be equal were not: a bug in the simulator."""


class CampaignError(Error, RuntimeError):
    """A campaign (umasim.campaign) that cannot go on: its cluster is
    unreachable or was lost (the message names the units completed), or a
    worker refused a unit."""


class BuildMismatch(CampaignError):
    """A worker runs another build of the core than the client's: the
    message names both fingerprints."""
