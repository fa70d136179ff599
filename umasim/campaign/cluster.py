"""Where units run: in this process, on a LocalCluster, or on a Dask
cluster, and the loop that hands them out.

Transport, scheduling and fault tolerance are Dask distributed's: a
worker that dies mid-unit has its unit run again elsewhere by the
scheduler (units are idempotent; a unit that kills every worker it lands
on is reported as a finding of kind "error").  The client keeps a window
of units in flight, earliest first, saves each result as it arrives
(resume.CampaignDir) and never merges by arrival.  A client that loses
its scheduler stops with CampaignError, naming the units completed and
the --resume command that continues.
"""

from __future__ import annotations

import logging
import os
import re
import time
from contextlib import contextmanager

from umasim.campaign.plan import merge_corpora
from umasim.campaign import units
from umasim.campaign.units import fingerprint, run_chained, run_unit
from umasim.errors import BuildMismatch, CampaignError, InvalidArgument  # noqa: F401

# How long the client waits for a scheduler to answer, and for a first
# worker to join it.
CONNECT_TIMEOUT = 10.0
WORKERS_TIMEOUT = 60.0
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|ucx)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


def check_address(address: str) -> str:
    """A scheduler address, PROTOCOL://HOST:PORT (tcp, tls, ws, wss, ucx)."""
    m = _ADDRESS.match(address or "")
    if m is None or not 0 < int(m.group(3)) < 65536:
        raise InvalidArgument(f"--cluster: {address!r} is not a scheduler address "
                              f"(tcp://HOST:PORT)")
    return address


def _distributed():
    try:
        import distributed
    except ImportError:
        raise InvalidArgument("--jobs and --cluster run on Dask distributed: "
                              "pip install 'umasim[cluster]'") from None
    return distributed


def every_core() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@contextmanager
def connect(jobs: int | None = None, cluster: str | None = None):
    """A Dask client: on `cluster` (an address), or on a LocalCluster of
    `jobs` worker processes (0: one per core); None for neither (the units
    then run in this process)."""
    if cluster is None and jobs is None:
        yield None
        return
    if cluster is not None:
        check_address(cluster)
    elif isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
        raise InvalidArgument(f"--jobs must be 0 (every core) or more, not {jobs!r}")
    d = _distributed()
    for name in ("distributed", "distributed.worker", "distributed.nanny",
                 "distributed.scheduler", "distributed.core", "distributed.client"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if cluster is not None:
        try:
            client = d.Client(cluster, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as e:
            raise InvalidArgument(f"--cluster: cannot reach a Dask scheduler at {cluster} "
                                  f"({type(e).__name__}: {e})") from None
        try:
            yield client
        finally:
            _quiet_close(client)
        return
    lc = local_cluster(jobs or every_core())
    # Results come straight from the workers of this host (Dask's default
    # asks the scheduler to fetch them and pass them on: the scheduler of
    # a LocalCluster lives in this process, so a guided shard's corpus
    # would cross it twice).
    import dask
    with dask.config.set(LOCAL_CONFIG):
        client = d.Client(lc, set_as_default=False, direct_to_workers=True)
    try:
        yield client
    finally:
        _quiet_close(client)
        try:
            lc.close()
        except Exception:  # noqa: BLE001 -- closing is best effort
            pass


# What --jobs' LocalCluster leaves out or slows down: Dask's periodic
# upkeep runs on the same cores as the units (its scheduler and nannies in
# the client's process, a worker's in that worker's), so a second worker
# on a 2-core machine pays for it.  Measured idle (a LocalCluster of two
# workers, nothing to run): the client's process 3.2% of a core and each
# worker 1.6% with Dask's defaults, 0.7% and 0.3% with these.
#   profile         the statistical profiler samples each worker's stack
#                   every 10 ms (some 3% of a busy worker's core)
#   tick            each server's event-loop health check, every 20 ms
#                   (it warns of a loop blocked for 3 s: still does)
#   system-monitor  each server's psutil readings (CPU, memory, disk and
#                   network counters), every 0.5 s, for the dashboard
#   memory          each nanny's and worker's memory check, every 0.1 s
#                   (it still pauses or restarts a worker that outgrows
#                   its memory, within a second)
# and the cluster has no dashboard.
LOCAL_CONFIG = {"distributed.worker.profile.enabled": False,
                "distributed.admin.tick.interval": "1s",
                "distributed.admin.system-monitor.interval": "5s",
                "distributed.worker.memory.monitor-interval": "1s"}


def local_cluster(n: int):
    """A LocalCluster of `n` worker processes of one thread each, as
    --jobs starts it (bench/campaign.py measures the same)."""
    import dask
    d = _distributed()
    with dask.config.set(LOCAL_CONFIG):
        # (The scheduler's HTTP server, which Dask starts whatever the
        # dashboard, on a free port; no dashboard on it.)
        return d.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                              dashboard_address=":0", scheduler_kwargs={"dashboard": False},
                              silence_logs=logging.CRITICAL)


def _quiet_close(client) -> None:
    try:
        client.close(timeout=5)
    except Exception:  # noqa: BLE001
        pass


def check_workers(client) -> int:
    """Refuses a cluster with a worker of another build; returns the
    number of workers."""
    mine = fingerprint()
    try:
        client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
    except TimeoutError:
        raise CampaignError(f"the Dask scheduler has had no worker for {WORKERS_TIMEOUT:g} s: "
                            f"start some (dask worker ADDRESS)") from None
    theirs = client.run(units.fingerprint)      # the workers' own
    for addr, fp in sorted(theirs.items()):
        if fp != mine:
            raise BuildMismatch(f"worker {addr} runs umasim core {fp}, this client runs "
                                f"{mine}: install the same build of umasim on every worker")
    return max(len(theirs), 1)


def _ranges(indices) -> str:
    out, run = [], []
    for i in sorted(indices):
        if run and i == run[-1] + 1:
            run.append(i)
        else:
            if run:
                out.append(run)
            run = [i]
    if run:
        out.append(run)
    return ", ".join(f"{r[0]}" if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in out) or "none"


def run_plan(plan, store, client=None, progress=None, address: str | None = None,
             clock: dict | None = None) -> dict:
    """Runs the plan's units that `store` has no result of; returns every
    result by unit index.  `clock` (a dict), if given, gets "first": the
    time.perf_counter() at which the first unit was handed out, and
    "last": at which the last result came in; "first_cpu" and "last_cpu":
    this process's CPU time (time.process_time()) then.  A unit is
    handed out, earliest first, once the units it starts from
    (Plan.inputs: a guided shard's) have their results, so guided shards
    overlap: no worker waits at the end of a round while a later shard
    could run."""
    results = store.done()
    for i in sorted(results):
        if progress is not None:
            progress.add(results[i])
    deadline = None if plan.time_budget is None else time.monotonic() + plan.time_budget
    runner = _Runner(plan, store, client, progress, results, deadline, address,
                     {} if clock is None else clock)
    for i in sorted(results):
        runner.release(i)
    runner.run()
    return results


class _Runner:
    def __init__(self, plan, store, client, progress, results, deadline, address, clock):
        self.plan, self.store, self.client, self.clock = plan, store, client, clock
        self.progress, self.results, self.deadline = progress, results, deadline
        self.address = address
        self.width = 1
        if client is not None:
            self.width = 2 * check_workers(client)

    def _arrived(self, res: dict) -> None:
        self.clock["last"], self.clock["last_cpu"] = time.perf_counter(), time.process_time()
        if "corpus" in res and all(d in self.results for d in self.plan.dependents(res["index"])):
            res.pop("corpus")           # no unit still to run starts from it
            res.pop("corpus_digests", None)
        self.store.save(res)
        self.results[res["index"]] = res
        if self.progress is not None:
            self.progress.add(res)
        self.release(res["index"])

    def _started(self) -> None:
        if "first" not in self.clock:
            self.clock["first"], self.clock["first_cpu"] = time.perf_counter(), time.process_time()

    def release(self, index: int) -> None:
        """Drops the corpora no unit still to run starts from: those of
        `index`'s inputs (and its own) whose dependents all have results
        (so --resume finds every corpus it needs, and a finished campaign
        keeps none)."""
        for j in (*self.plan.inputs(index), index):
            r = self.results.get(j)
            if r is not None and "corpus" in r and \
                    all(d in self.results for d in self.plan.dependents(j)):
                r.pop("corpus")
                r.pop("corpus_digests", None)
                self.store.drop_corpus(j)

    def reads(self, index: int) -> list[int]:
        """The inputs of unit `index` whose corpora the merge reads
        (merge_corpora takes the latest input's entries first and stops
        at corpus_max): the latest ones, until their distinct schedules
        (counted by the digests their results carry) fill it.  The merge
        of these alone is the same bytes as that of all of them, and a
        worker fetches no corpus it would not read (at 400,000 runs of
        scenarios/hunt_no_recheck.toml, a full corpus is some 500
        entries and 1.7 MB: from shard 16 on, the two earliest inputs
        were never read).  All of them when a result has no digests (read
        back by --resume, or a unit's error)."""
        from umasim.bindings import GUIDED_CORPUS_MAX
        ins = list(self.plan.inputs(index))
        most = self.plan.params["corpus_max"] or GUIDED_CORPUS_MAX
        seen: set = set()
        for n, j in enumerate(reversed(ins)):
            d = self.results[j].get("corpus_digests")
            if d is None:
                return ins
            seen.update(d[x:x + 8] for x in range(0, len(d), 8))
            if len(seen) >= most:
                return ins[len(ins) - 1 - n:]
        return ins

    def ready(self, index: int) -> bool:
        return all(j in self.results for j in self.plan.inputs(index))

    def corpus(self, index: int) -> bytes:
        """The corpus unit `index` starts from: its inputs' corpora merged."""
        ins = self.plan.inputs(index)
        if not ins:
            return b""
        return merge_corpora([self.results[j] for j in ins], self.plan.params["corpus_max"])

    def _time_left(self) -> bool:
        return self.deadline is None or time.monotonic() < self.deadline

    def run(self) -> None:
        """Runs the units without a result, earliest first.  (A
        time-budgeted campaign plans some 10**9 examples' worth of units:
        they are gone through one at a time, never listed.)"""
        if self.client is None:
            for i in range(self.plan.nunits):
                if i in self.results:
                    continue
                if not self._time_left():
                    return
                self._started()
                self._arrived(run_unit(self.plan.unit(i), self.corpus(i)))
            return
        try:
            self._distributed()
        except (BuildMismatch, KeyboardInterrupt):
            raise
        except Exception as e:  # noqa: BLE001
            if self._gone(e):
                raise self._lost(e) from None
            raise

    def _gone(self, e) -> bool:
        """Whether `e` says the scheduler (or the link to it) is gone."""
        import asyncio
        import concurrent.futures
        if isinstance(e, (OSError, TimeoutError, asyncio.CancelledError,
                          concurrent.futures.CancelledError)):
            return True
        return getattr(self.client, "status", "running") not in ("running", "connecting")

    def _lost(self, e) -> CampaignError:
        done = sorted(self.results)
        return CampaignError(
            f"lost the Dask scheduler{' at ' + self.address if self.address else ''} "
            f"({type(e).__name__}: {e or 'connection closed'}): {len(done)} of "
            f"{self.plan.nunits} units completed ({_ranges(done)}), saved in "
            f"{self.store.path}; continue with the same command and --resume "
            f"{self.store.path}")

    def _distributed(self) -> None:
        d = _distributed()
        client = self.client
        plan = self.plan
        pending = d.as_completed([], loop=client.loop, with_results=True,
                                  raise_errors=False)
        index: dict = {}            # future's key -> unit index
        # The futures of finished units that a unit still to hand out
        # starts from: their results stay on the workers, which merge
        # them into that unit's corpus (the client sends no corpus).
        held: dict = {}
        nxt = 0                     # the next unit to hand out (or done)

        def handed(j: int) -> bool:
            """Whether unit j has a result or has been handed out."""
            return j in self.results or j < nxt

        def fill() -> None:
            """Hands out the next units, earliest first, while the window
            has room and their inputs have results."""
            nonlocal nxt
            while nxt < plan.nunits and nxt in self.results:
                nxt += 1
            while len(index) < self.width and nxt < plan.nunits and self._time_left():
                i = nxt
                if not self.ready(i):
                    return
                nxt += 1
                while nxt < plan.nunits and nxt in self.results:
                    nxt += 1
                ins = plan.inputs(i)
                key = f"umasim-{plan.id}-{i}"
                self._started()
                if ins:
                    fut = client.submit(run_chained, plan.unit(i),
                                        [held.get(j, self.results[j]) for j in self.reads(i)],
                                        plan.params["corpus_max"], key=key, pure=False,
                                        priority=-i, retries=0)
                    for j in ins:
                        if j in held and all(handed(k) for k in plan.dependents(j)):
                            held.pop(j).release()
                else:
                    fut = client.submit(run_unit, plan.unit(i), b"", key=key, pure=False,
                                        priority=-i, retries=0)
                index[fut.key] = i
                pending.add(fut)
        fill()
        while index:
            fut, res = self._next(pending)
            i = index.pop(fut.key)
            if res is None:
                # The scheduler gave up on the unit after it took down its
                # workers (allowed-failures): a finding, not a lost unit.
                from umasim.campaign.units import _error_result
                res = _error_result(plan.unit(i),
                                    RuntimeError(f"the unit took down its worker each "
                                                 f"time it ran ({self._killed})"))
                fut.release()
            elif all(handed(k) for k in plan.dependents(i)):
                fut.release()
            else:
                held[i] = fut
            self._arrived(res)
            fill()
        for f in held.values():
            f.release()

    def _next(self, pending):
        """The next finished unit's future and result (None for a unit the
        scheduler gave up on: self._killed says why)."""
        fut, res = next(pending)
        if fut.status == "error":
            _, exc, tb = res
            if type(exc).__name__ == "KilledWorker":
                self._killed = exc
                return fut, None
            raise exc.with_traceback(tb)
        if isinstance(res, BaseException):      # cancelled: the scheduler is gone
            raise res
        return fut, res
