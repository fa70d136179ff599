"""roundrobin past the first word of the runnable set (64 threads): the
thread after the one that ran last, in tid order, whatever word either is
in -- also when nothing above it in its own word can run (kindex.c,
runview_after)."""

from umasim import Sim

from kernhelp import stepped_threads


def test_roundrobin_rotates_through_more_than_64_threads():
    sim = Sim(cpus=2)
    names = [f"t{i}" for i in range(150)]
    # t99..t126 are tids 100..127, the top of the second word: they end
    # after one step, leaving t98 (tid 99) the last runnable one there
    early = {f"t{i}" for i in range(99, 127)}
    for i, name in enumerate(names):
        sim.spawn(name, cpu=i % 2, ops=["yield"] * (1 if name in early else 3))
    res = sim.run(policy="roundrobin")
    assert res.outcome == "completed"
    ran = stepped_threads(sim)
    assert ran[:150] == names
    rest = [n for n in names if n not in early]
    assert ran[150:] == rest * 2
