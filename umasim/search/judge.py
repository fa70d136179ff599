"""What "fails the same way" means, once for every search: the shrinker
(`umasim shrink`, the fuzzer's last step), the explorers' artefacts and
the properties' tests all compare Failures made here.

A run is judged by its scenario's expectations (with none, it is expected
to complete), by the invariant checker at its end, and -- for a scenario
in the shape the fuzzer generates (no [expect] table, every thread run
once) -- by the fuzzing properties (umasim.search.properties), checked
after every step.  `Judge` is the engine's observer that does all that;
`failure_signature` turns what it saw into a Failure, or None when the
run ended as expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from umasim.errors import InvariantViolation
from umasim.model.scenario import Scenario
from umasim.model.sim import RunResult, Sim
from umasim.views.report import expectation_failures

_HEX = re.compile(r"0x[0-9a-fA-F]+")
_NUM = re.compile(r"\b\d+\b")
_WHERE = {"null": "(NULL-based)", "arena": "in the simulated arena",
          "outside": "outside the arena"}


@dataclass(frozen=True)
class Failure:
    """How a run failed.  Two runs fail the same way when their Failures
    are equal (see failure_signature)."""
    outcome: str
    detail: tuple[str, ...]
    expectations: tuple[str, ...]

    def describe(self) -> str:
        what = self.outcome
        if self.outcome == "panic" and self.detail:
            what += f" ({self.detail[0]})"
        elif self.outcome == "deadlock":
            what += " (asleep on " + (", ".join(self.detail) or "nothing") + ")"
        elif self.outcome == "host_fault" and self.detail:
            signal, where, address = (tuple(self.detail) + ("", "", ""))[:3]
            what += f" ({signal} at {address or 'an address'} {_WHERE.get(where, where)})"
        elif self.detail:
            what += f" ({self.detail[0]})"
        return what + "; not as expected: " + ", ".join(self.expectations)

    def same_as(self, other: "Failure | None", names: "NameBlind") -> bool:
        """Whether `other` fails the same way but for the names in its
        messages: equal Failures, or the same outcome and expectations
        with messages (a broken property's, the invariant checker's) that
        are equal once every name `names` holds is made one placeholder.
        The shrinker keeps a smaller program whose failure names another
        of its threads, variables or zones ("x still asleep" where it was
        "a still asleep"): the same property broken the same way."""
        if other is None:
            return False
        if self == other:
            return True
        if (self.outcome, self.expectations) != (other.outcome, other.expectations) or \
                len(self.detail) != len(other.detail):
            return False
        if not ("check" in self.expectations or self.outcome == "property"):
            return False
        return [names(d) for d in self.detail] == [names(d) for d in other.detail]


class NameBlind:
    """A message with every whole word that names one of a scenario's
    threads, zones or variables made "<name>".  Both messages compared are
    made blind with the same names (the original scenario's, of which a
    shrunk candidate's are a subset), so that a name that is also a word
    of the message's prose ("a") is made a placeholder in both alike."""

    def __init__(self, scn: Scenario):
        from umasim.model import program
        from umasim.model.scenario import _expansions
        names = {t["name"] for t in scn.threads} | {z["name"] for z in scn.zones}
        for t in scn.threads:
            for op in t["ops"]:
                try:
                    out = program.parse_op(op).output
                except (ValueError, TypeError):
                    continue
                if out:
                    # A repeating thread's "x{i}" is x0, x1, ... in messages.
                    names.update(_expansions(out, t.get("repeat", 1)))
        # Longest first, so that "w12" is one name rather than "w1" and "2".
        alts = "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))
        self._re = re.compile(rf"(?<![\w.]){'(?:' + alts + ')'}(?![\w])") if alts else None

    def __call__(self, message: str) -> str:
        if self._re is None:
            return message
        # A list of names ("b, c still asleep") is one placeholder too.
        return _NAMES.sub("<name>", self._re.sub("<name>", message))


_NAMES = re.compile(r"<name>(?:, <name>)+")


_NUM = re.compile(r"\b\d+\b")


def normalise_panic(message: str | None) -> str:
    """A panic message with every hex number (addresses) made 0x..."""
    return _HEX.sub("0x...", message or "")


def failing_expectations(scn: Scenario, sim: Sim, outcome: str) -> list[str]:
    """The kinds of the scenario's expectations the run did not meet
    (report.expectation_failures): "outcome", "asleep", "panic",
    "console:TEXT", "zone.NAME.FIELD", "events.KIND"; with no expectations
    at all, a run is expected to complete."""
    result = RunResult(outcome, sim.steps, [], sim.panic)
    return [kind for kind, _ in expectation_failures(scn, sim, result)]


def failure_signature(scn: Scenario, sim: Sim, outcome: str | None = None,
                      verdict=None) -> Failure | None:
    """How a finished run failed, or None when it ended as its scenario
    expects (nothing to shrink).  Two runs fail the same way when:

    - their outcome kind is the same (completed, deadlock, panic,
      step_limit, host_fault);
    - for a host fault, the signal and where its address lies are the
      same (and a NULL-based address itself);
    - for a panic, the panic message is the same once every hex number is
      replaced (addresses move when the program changes);
    - for a deadlock, the set of wait messages of the scenario's threads
      left asleep is the same (kernel threads do not count);
    - the same kinds of the scenario's expectations fail
      (failing_expectations: the outcome, asleep, panic, each console
      line, each zone figure, each event count);
    - the invariant checker objects to the final state, or does not, the
      same way (its message with every number replaced): explorers report
      runs that end "completed" with items lost or duplicated;
    - the same fuzzing property fails (`verdict`, when the properties
      judged the run), with the same message once every number is
      replaced.  A property other than panic, deadlock and host_fault
      is the failure by itself (outcome "property"): whether the run
      then went on to complete does not count, as the properties stop a
      run at the step that broke one (outcome "running", the scenario's
      "outcome" expectation not met) where a run judged at its end
      completes, and the same broken property may show at either.
    """
    outcome = outcome or sim.outcome
    kinds = failing_expectations(scn, sim, outcome)
    if verdict is not None and not verdict.ok:
        if verdict.kind not in ("panic", "deadlock", "host_fault"):
            # (The properties judge scenarios without expectations only:
            # "outcome", the run not completing, is all they can miss.)
            kinds = [k for k in kinds if k != "outcome"] + [f"property.{verdict.kind}"]
            return Failure("property", (_NUM.sub("N", _HEX.sub("0x...", verdict.message)),),
                           tuple(sorted(kinds)))
        kinds = list(kinds) + [f"property.{verdict.kind}"]
    violation = None
    if outcome != "panic":
        try:
            sim.check()
        except InvariantViolation as e:
            violation = _NUM.sub("N", _HEX.sub("0x...", str(e)))
            kinds = list(kinds) + ["check"]
    if not kinds:
        return None
    if violation is not None:
        return Failure(outcome, (violation,), tuple(sorted(kinds)))
    if outcome == "panic":
        detail: tuple[str, ...] = (normalise_panic(sim.panic),)
    elif outcome == "deadlock":
        detail = tuple(sorted({t.wmesg or "" for t in sim.threads
                               if not t.kernel and t.state == "asleep"}))
    elif outcome == "host_fault" and sim.host_fault is not None:
        # the signal and where the address lies; a NULL-based one is kept
        # (it names the field read), an arena address moves with the program
        hf = sim.host_fault
        detail = (hf.signal, hf.where,
                  f"{hf.address:#x}" if hf.where == "null" else "")
    else:
        detail = ()
    return Failure(outcome, detail, tuple(sorted(kinds)))


def properties_apply(scn: Scenario) -> bool:
    """Whether the fuzzing properties judge runs of this scenario: it has
    no expectations of its own and every thread runs its ops once (the
    shape of the fuzzer's cases and their artefacts)."""
    return not scn.expect and all(t["repeat"] == 1 for t in scn.threads)


class Judge:
    """The engine's observer that judges a run: with the properties (see
    properties_apply) after every step, and at the end `failure` is the
    run's Failure, or None when it ended as expected."""

    def __init__(self, scenario: Scenario, schedule, properties: bool | None = None,
                 every_step: bool = True):
        from umasim.search.properties import Case, PropertyChecker
        self.scenario = scenario
        if properties is None:
            properties = properties_apply(scenario)
        self.checker = PropertyChecker(Case(scenario, schedule), every_step) \
            if properties else None
        self.every_step = bool(self.checker is not None and every_step)
        self.level = "full" if self.checker is not None else "off"
        self.failure: Failure | None = None
        self.verdict = None

    def start(self, run) -> None:
        if self.checker is not None:
            self.checker.start(run)

    def step(self, run) -> bool:
        return self.checker.step(run)

    def end(self, run) -> None:
        if self.checker is not None:
            from umasim.search.properties import _verdict
            self.checker.end(run)
            self.verdict = _verdict(self.checker, run.sim, False)
        self.failure = failure_signature(self.scenario, run.sim, run.outcome, self.verdict)
