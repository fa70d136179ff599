"""Exceptions raised by umasim's Python API."""


class SimPanicked(RuntimeError):
    """The simulation panicked; it stays readable but cannot run further."""


class ScheduleError(ValueError):
    """A scripted schedule asked for a step that cannot be taken."""


class SimBusy(RuntimeError):
    """Another host thread is driving this simulation right now."""


class InvariantViolation(AssertionError):
    """The invariant checker found the allocator in an impossible state."""
