"""One Sim driven rule by rule (umasim.search.stateful.UmaMachine): threads
spawned with allocs, frees, drains, reclaims, setmax and page faults while
the run goes on, steps with decisions in machine form, migrations; the
invariants after every rule, the end-of-run properties at teardown."""

from hypothesis import settings

from umasim.search.stateful import UmaMachine

# The profile's step count; fewer examples than the plain properties (each
# is a whole sequence of rules).
TestUmaMachine = UmaMachine.TestCase
TestUmaMachine.settings = settings(max_examples=max(10, settings.default.max_examples // 2))
