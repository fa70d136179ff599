"""A Hypothesis RuleBasedStateMachine that drives one Sim interactively:
threads are spawned as the machine goes, each with one
operation (alloc, free, drain, reclaim, setmax, vm_free_pages, vm_fail)
or a short generated program; steps are taken one at a time with a
decision in machine form, threads are migrated between steps.  After
every rule the invariants hold: sim.check() (structural invariants, and
conservation when no thread is inside an operation), no panic, and no two
variables hold one item.  At the end the run is finished with the
sequential policy and the end-of-run properties of umasim.properties are
checked (an explained deadlock or a completed run whose vmstat adds up).

    from umasim.stateful import UmaMachine
    TestUma = UmaMachine.TestCase

Frees are valid by construction: a `free` rule consumes a variable from
the `allocated` bundle, so each is freed at most once; a free of a
variable whose producer has not run yet waits for it (producer/consumer
hand-off).  A failing run is printed by Hypothesis as the sequence of
rules that reproduces it.
"""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import (Bundle, RuleBasedStateMachine, consumes, initialize,
                                 invariant, precondition, rule)

from umasim.errors import InvariantViolation
from umasim.search.properties import Case, check_sim_end
from umasim.model.sim import Sim
from umasim.search.strategies import (Knobs, decode_programs, raw_programs, sim_configs, zone_lists)

# The machine's own knobs: every kind of op, small machines, no bugs.
# (Programs of plain allocs, frees and the kernel's faults: the rule
# renames their variables per thread, and the ops with variables and zones
# of other names -- large and kmem allocations, a program's own zones --
# are the fuzzer's.)
MACHINE_KNOBS = Knobs(max_threads=1, max_ops=6, max_zones=2, cpus=(2, 1, 3, 4),
                      pages=(64, 16, 256), bulk=False, zone_ops=False, item_ops=False,
                      large=False, kernel_ops=False, burst=False)
MAX_THREADS = 60            # spawned threads per run (well below bindings.MAXTHREADS)
END_STEPS = 20_000


class UmaMachine(RuleBasedStateMachine):
    """One Sim, driven rule by rule."""

    allocated = Bundle("allocated")

    def __init__(self):
        super().__init__()
        self.sim: Sim | None = None
        self.nthreads = 0
        self.nvars = 0
        self.held: dict[int, str] = {}
        self.nev = 0

    # -- setting up --------------------------------------------------------

    @initialize(cfg=sim_configs(MACHINE_KNOBS), zones=zone_lists(MACHINE_KNOBS))
    def boot(self, cfg, zones):
        self.cfg, self.zones, self.threads = cfg, zones, []
        self.sim = Case.of(cfg, zones, [], max_steps=END_STEPS).build()
        self.znames = [z["name"] for z in zones]

    def _spawn(self, ops: list[str], cpu: int) -> str:
        name = f"r{self.nthreads}"
        self.nthreads += 1
        cpu %= self.sim.cpus
        self.sim.spawn(name, cpu=cpu, ops=ops)
        self.threads.append({"name": name, "cpu": cpu, "ops": list(ops)})
        return name

    def _var(self) -> str:
        v = f"x{self.nvars}"
        self.nvars += 1
        return v

    def _room(self) -> bool:
        return self.sim is not None and self.nthreads < MAX_THREADS and \
            self.sim.outcome != "panic"

    # -- threads with one operation -------------------------------------------

    @precondition(lambda self: self._room())
    @rule(target=allocated, zone=st.integers(0, 7), nowait=st.booleans(),
          cpu=st.integers(0, 3))
    def alloc(self, zone, nowait, cpu):
        var = self._var()
        z = self.znames[zone % len(self.znames)]
        self._spawn([f"alloc {z}{' nowait' if nowait else ''} -> {var}"], cpu)
        return var

    @precondition(lambda self: self._room())
    @rule(target=allocated, size=st.sampled_from((64, 256, 4096, 100)), cpu=st.integers(0, 3))
    def malloc(self, size, cpu):
        var = self._var()
        self._spawn([f"malloc {size} nowait -> {var}"], cpu)
        return var

    @precondition(lambda self: self._room())
    @rule(var=consumes(allocated), cpu=st.integers(0, 3))
    def free(self, var, cpu):
        self._spawn([f"free {var}"], cpu)

    @precondition(lambda self: self._room())
    @rule(zone=st.integers(0, 7), cpu=st.integers(0, 3))
    def drain(self, zone, cpu):
        self._spawn([f"drain {self.znames[zone % len(self.znames)]}"], cpu)

    @precondition(lambda self: self._room())
    @rule(cpu=st.integers(0, 3))
    def reclaim(self, cpu):
        self._spawn(["reclaim"], cpu)

    @precondition(lambda self: self._room())
    @rule(zone=st.integers(0, 7), n=st.integers(1, 48), cpu=st.integers(0, 3))
    def setmax(self, zone, n, cpu):
        self._spawn([f"setmax {self.znames[zone % len(self.znames)]} {n}"], cpu)

    @precondition(lambda self: self._room())
    @rule(n=st.integers(0, 16), cpu=st.integers(0, 3))
    def vm_free_pages(self, n, cpu):
        # At most the configured pages: kmem_map must not run out (a panic
        # by design under M_WAITOK).
        n = min(n, self.cfg.get("pages", 256))
        self._spawn([f"vm_free_pages {n}"], cpu)

    @precondition(lambda self: self._room())
    @rule(n=st.integers(1, 3), cpu=st.integers(0, 3))
    def vm_fail(self, n, cpu):
        self._spawn([f"vm_fail {n}"], cpu)

    @precondition(lambda self: self._room())
    @rule(raw=raw_programs(MACHINE_KNOBS), cpu=st.integers(0, 3))
    def program(self, raw, cpu):
        """A short generated program of its own variables (it frees only
        what it allocated)."""
        t = self.nthreads
        ops = decode_programs([raw], [{"name": n} for n in self.znames], self.cfg,
                              MACHINE_KNOBS)[0]
        # decode_programs names variables after thread 0: give them this
        # thread's names instead.
        ops = [op.replace("v0_", f"p{t}_").replace("m0_", f"q{t}_") for op in ops]
        self._spawn(ops, cpu)

    # -- scheduling ------------------------------------------------------------

    @precondition(lambda self: self.sim is not None and self.sim.outcome != "panic")
    @rule(decision=st.integers(0, 24))
    def step(self, decision):
        self.sim.run(decisions=[decision], max_steps=1)

    @precondition(lambda self: self.sim is not None and self.sim.outcome != "panic")
    @rule(decisions=st.lists(st.integers(0, 24), max_size=40))
    def steps(self, decisions):
        self.sim.run(decisions=decisions, max_steps=max(len(decisions), 1))

    @precondition(lambda self: self.sim is not None and self.nthreads > 0
                  and self.sim.outcome != "panic")
    @rule(thread=st.integers(0, 255), cpu=st.integers(0, 3))
    def migrate(self, thread, cpu):
        name = f"r{thread % self.nthreads}"
        info = self.sim.thread(name)
        cpu %= self.sim.cpus
        if info.critnest:
            try:
                self.sim.migrate(name, cpu)
            except ValueError as e:
                assert "critical section" in str(e)
            return
        self.sim.migrate(name, cpu)

    # -- invariants ---------------------------------------------------------------

    @invariant()
    def no_panic(self):
        if self.sim is not None:
            assert self.sim.panic is None, f"panic: {self.sim.panic}"

    @invariant()
    def structure_holds(self):
        if self.sim is not None and self.sim.outcome != "panic":
            self.sim.check()

    @invariant()
    def no_item_twice(self):
        if self.sim is None:
            return
        # A variable whose free has begun gave its item back (free(9) of a
        # large allocation releases the pages before the op ends).
        freeing = set()
        for t in self.threads:
            if len(t["ops"]) == 1 and t["ops"][0].startswith("free "):
                info = self.sim.thread(t["name"])
                if info.point != "start" and info.state != "finished":
                    freeing.add(t["ops"][0].split()[1])
        seen: dict[str, str] = {}
        for var, what in self.sim.variables().items():
            if what.startswith("holds ") and var not in freeing:
                addr = what.split()[1]
                if addr in seen:
                    raise InvariantViolation(f"item {addr} handed out twice: {seen[addr]} "
                                             f"and {var} hold it")
                seen[addr] = var

    def teardown(self):
        if self.sim is None or self.sim.outcome == "panic":
            return
        self.sim.run(max_steps=END_STEPS)
        v = check_sim_end(Case.of(self.cfg, self.zones, self.threads, max_steps=END_STEPS),
                          self.sim)
        assert v.ok, f"{v.kind}: {v.message}"
