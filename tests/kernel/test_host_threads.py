"""Simulations driven from several host threads at once."""

import threading

from umasim import Sim

from kernhelp import event_tuples


def build(seed_ops):
    sim = Sim(cpus=4)
    for i in range(4):
        sim.spawn(f"t{i}", cpu=i, ops=["lock m", "yield", "unlock m", "crit_enter", "yield",
                                       "crit_exit", f"sleep {1 + (i + seed_ops) % 3}"],
                  repeat=80)
    return sim


def drive(seed):
    sim = build(seed)
    res = sim.run(policy="random", seed=seed, migrate=0.2)
    return res, sim.digest(), event_tuples(sim)


def test_two_host_threads_two_sims_same_as_one_after_the_other():
    expect = {seed: drive(seed) for seed in (1, 2)}
    assert expect[1][1] != expect[2][1]
    for _ in range(3):
        got = {}
        barrier = threading.Barrier(2)

        def work(seed):
            barrier.wait()
            got[seed] = drive(seed)

        threads = [threading.Thread(target=work, args=(s,)) for s in (1, 2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert got == expect


def test_a_sim_made_on_one_host_thread_runs_on_another():
    expect = drive(7)
    sim = build(7)
    out = {}
    t = threading.Thread(target=lambda: out.update(
        r=sim.run(policy="random", seed=7, migrate=0.2)))
    t.start()
    t.join()
    assert (out["r"], sim.digest(), event_tuples(sim)) == expect
