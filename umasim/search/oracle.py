"""The core's oracle (csrc/kern/oracle.c) from Python: the fuzzing
properties that the C core judges by itself on every run, which is how
the explorers and the fuzzer's bursts judge each schedule they run.

    ORACLE_KINDS   the kinds it judges (zero, duplicate, limit, liveness,
                   stats, accounting): a subset of properties.KINDS
    CoreOracle     an observer (umasim.engine) that turns it on for a run
                   and reads its verdict at the end
    oracle_check   a case's verdict by the oracle alone, the run one C call

The Python properties (umasim.search.properties) stay the reference:
tests/tools/test_oracle.py checks that both give the same verdict on
generated cases, every shipped scenario and every bug switch.  How their
verdicts relate, for a run judged after every step in Python:

  Python ok                      -> the oracle ok
  Python fails with one of
    ORACLE_KINDS                 -> the oracle fails with the same kind
  Python: panic, host_fault,
    deadlock or step_limit       -> the oracle ok (the run ends there, and
                                    any earlier failure of the oracle's
                                    kinds Python would have seen first)
  Python: invariant or console   -> the oracle ok, or a failure of its
                                    kinds later in the run (Python stops
                                    at the invariant checker's step, or
                                    judges the console before the end
                                    checks; the oracle judges neither)
"""

from __future__ import annotations

from dataclasses import dataclass

from umasim.bindings import ORACLE_KINDS as _CODES
from umasim.engine import execute

ORACLE_KINDS: tuple[str, ...] = tuple(k for k in _CODES if k)


@dataclass
class OracleVerdict:
    ok: bool
    kind: str | None
    message: str
    step: int | None
    outcome: str
    steps: int
    decisions: list[int]

    def __bool__(self) -> bool:
        return self.ok


class CoreOracle:
    """An observer: the oracle judges the run (from its start), whatever
    the trace level; `verdict` after the end is None or (kind, message,
    step)."""

    level = "off"
    every_step = False

    def __init__(self):
        self.verdict = None

    def start(self, run) -> None:
        run.sim.core.oracle_enable(True)

    def end(self, run) -> None:
        self.verdict = run.sim.core.oracle_verdict()


def oracle_check(case) -> OracleVerdict:
    """The oracle's verdict on a case (properties.Case) run under its
    schedule."""
    obs = CoreOracle()
    run = execute(case.scenario, case.schedule, [obs])
    sim = run.sim
    if obs.verdict is None:
        return OracleVerdict(True, None, "ok", None, sim.outcome, sim.steps, sim.decisions)
    kind, message, step = obs.verdict
    return OracleVerdict(False, kind, message, step, sim.outcome, sim.steps, sim.decisions)
