"""Engines: run the per-input step (read + clean) over many inputs, each input within its deadline.

:func:`read_and_clean` turns one input into a :class:`PageOutcome` (a clean page or a one-line error; it
never raises). :func:`run_engine` feeds inputs to an engine and yields the outcomes as they finish, keeping
at most ``window`` inputs between the oldest unfinished one and the newest started, so a list of any
length runs in bounded memory. The engines (``--engine``):

* ``process`` (default, :class:`ProcessPool`): long-lived worker processes forked from a warm fork server,
  each running one input at a time (the next one waiting in its pipe). The parent kills and replaces a
  worker whose input passes its deadline or that dies (a segfault in lxml, exhausted memory): that input
  gets an error, the inputs queued behind it go to other workers, the batch goes on.
* ``threads`` (:class:`ThreadPool`): the same in threads of this process: nothing to start, but no crash
  isolation (lxml is not thread-safe everywhere), and a stuck input's thread is abandoned, not stopped.
* ``dask`` (:class:`DaskEngine`): tasks on a dask.distributed cluster.

This module imports only the standard library at load time (the CLI's ``--help`` stays fast).
"""

from __future__ import annotations

import contextlib
import io
import logging
import multiprocessing
import os
import queue
import resource
import signal
import sys
import threading
import time
import types
from collections import deque
from dataclasses import dataclass, field
from multiprocessing import popen_forkserver
from multiprocessing.connection import wait as wait_for_any
from typing import TYPE_CHECKING, Iterable, Iterator

from pipeline.errors import InputError, PagetagError, one_line

if TYPE_CHECKING:
    from pipeline.clean import CleanResult

ENGINES = ("process", "threads", "dask")
KILL_GRACE = 0.25
"""Seconds past an input's deadline before its worker is replaced (the worker's own timeout speaks first)."""
WORKER_MEMORY_LIMIT = 2 << 30
"""Address space a worker process may add to what it starts with; beyond it allocations fail (MemoryError)."""
WORKER_GROWTH_LIMIT = 400 << 20
"""A worker process whose resident memory grew more than this is replaced after its current input."""
MIN_WINDOW = 64
"""Inputs that may be started past the oldest unfinished one (at least; see :func:`run_engine`)."""
POLL_SECONDS = 1.0
SCHEDULER_ENV = "PAGETAG_DASK_SCHEDULER"


@dataclass
class PageOutcome:
    """One input on its way through a batch: its clean page or its error, then its prediction."""

    input: str
    page: CleanResult | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    prediction: dict | None = None
    explanation: dict | None = None


@dataclass(frozen=True)
class Job:
    """The ``index``-th input; ``data`` holds what the parent read from standard input for ``-``."""

    index: int
    source: str
    data: bytes | None = None


def read_and_clean(source: str, *, timeout: float = 15.0, max_bytes: int = 5_000_000,
                   data: bytes | None = None) -> PageOutcome:
    """Read and clean one input (``data``: the bytes of ``-``); any failure becomes the outcome's ``error``."""
    from pipeline.clean import clean_page
    from pipeline.fetch import read_input

    with _errors_as_outcome(source) as outcome:
        page = read_input(source, timeout=timeout, max_bytes=max_bytes,
                          stdin=None if data is None else io.BytesIO(data))
        outcome.page, outcome.warnings = clean_page(page), page.warnings
    return outcome


@contextlib.contextmanager
def _errors_as_outcome(source: str) -> Iterator[PageOutcome]:
    """A fresh outcome for ``source``; an exception in the block becomes its one-line ``error``."""
    outcome = PageOutcome(source)
    try:
        yield outcome
    except MemoryError:
        outcome.error = "out of memory while reading or cleaning this input"
    except Exception as exc:  # one bad input must never lose the batch
        outcome.error = one_line(exc)


def _run_step(step, job: Job, timeout: float, max_bytes: int) -> PageOutcome:
    """``step`` on ``job`` in a worker: even a step that raises gives an outcome."""
    with _errors_as_outcome(job.source) as failed:
        return step(job.source, timeout=timeout, max_bytes=max_bytes, data=job.data)
    return failed


def open_engine(name: str, *, workers: int, timeout: float, max_bytes: int, scheduler: str | None = None):
    """The engine called ``name`` (one of :data:`ENGINES`); close it with ``.close()``."""
    if name == "process":
        return ProcessPool(workers, timeout=timeout, max_bytes=max_bytes)
    if name == "threads":
        return ThreadPool(workers, timeout=timeout, max_bytes=max_bytes)
    if name == "dask":
        return DaskEngine(workers, timeout=timeout, max_bytes=max_bytes, scheduler=scheduler)
    raise PagetagError(f"unknown engine {name!r} (choose from {', '.join(ENGINES)})")


def run_engine(engine, sources: Iterable[str], window: int | None = None, *, linger: float = 0.0,
               group_size: int = 1) -> Iterator[list[tuple[int, PageOutcome]]]:
    """``(index, outcome)`` of every source, in groups as they finish.

    A group is handed out once it has ``group_size`` outcomes or its first outcome is ``linger`` seconds
    old (or nothing else is running), so that a caller can work on small batches without delaying any
    outcome by more than ``linger``. At most ``window`` inputs (default: 4 × the engine's capacity, at
    least :data:`MIN_WINDOW`) are started beyond the oldest unfinished one, which bounds what a caller
    must buffer to restore input order (:func:`in_input_order`). Standard input (``-``) is read here,
    within the deadline, and handed to the worker.
    """
    window = window or max(MIN_WINDOW, 4 * engine.capacity)
    sources = iter(sources)
    next_index = first_unfinished = 0
    finished_ahead: set[int] = set()
    exhausted = False
    group: list[tuple[int, PageOutcome]] = []
    hand_out_at = 0.0

    def finish(outcomes: list[tuple[int, PageOutcome]]) -> None:
        nonlocal first_unfinished, hand_out_at
        if not group:
            hand_out_at = time.monotonic() + linger
        group.extend(outcomes)
        finished_ahead.update(index for index, _ in outcomes)
        while first_unfinished in finished_ahead:
            finished_ahead.remove(first_unfinished)
            first_unfinished += 1

    while True:
        while not exhausted and engine.has_room() and next_index < first_unfinished + window:
            source = next(sources, None)
            if source is None:
                exhausted = True
                break
            job = Job(next_index, source)
            next_index += 1
            if source == "-":
                from pipeline.fetch import read_stdin  # only then: the workers read everything else

                try:
                    job = Job(job.index, source, read_stdin(timeout=engine.timeout, max_bytes=engine.max_bytes))
                except InputError as exc:
                    finish([(job.index, PageOutcome(source, error=str(exc)))])
                    continue
            engine.submit(job)
        all_done = exhausted and first_unfinished == next_index
        if group and (all_done or len(group) >= group_size or time.monotonic() >= hand_out_at):
            yield group
            group = []
        if all_done:
            return
        done = engine.poll(max(0.0, hand_out_at - time.monotonic()) if group else POLL_SECONDS)
        if done:
            finish(done)


def in_input_order(groups: Iterable[list[tuple[int, PageOutcome]]]) -> Iterator[PageOutcome]:
    """The outcomes of :func:`run_engine`'s groups, each as soon as it and all earlier ones are there."""
    waiting: dict[int, PageOutcome] = {}
    next_index = 0
    for group in groups:
        waiting.update(group)
        while next_index in waiting:
            yield waiting.pop(next_index)
            next_index += 1


# --- local pools ---------------------------------------------------------------------------------

class _Closing:
    """``with engine:`` closes it at the end."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


@dataclass(eq=False)
class _Lane:
    """One worker and the jobs sent to it, oldest first; ``started``: when it began the oldest (None: not yet)."""

    worker: object
    jobs: deque[Job] = field(default_factory=deque)
    started: float | None = None


class _Pool(_Closing):
    """``size`` workers, each sent up to :attr:`depth` jobs so it never waits for the next one.

    A worker reports when it starts a job; the parent replaces a worker whose current job passes its
    deadline, or that died, reports that job's error and sends the jobs queued behind it to other
    workers. ``step`` is the per-input function (:func:`read_and_clean`, or one with its signature; a
    worker process needs it importable by name). Subclasses start, feed, collect and stop one kind of
    worker (:meth:`_start`, :meth:`_send`, :meth:`_collect`, :meth:`_stop`).
    """

    depth = 2

    def __init__(self, size: int, *, timeout: float, max_bytes: int, step=read_and_clean):
        self.size, self.timeout, self.max_bytes, self.step = size, timeout, max_bytes, step
        self.capacity = (self.depth + 1) * size
        self.queue: deque[Job] = deque()
        self.lanes: list[_Lane] = []

    def has_room(self) -> bool:
        return len(self.queue) + sum(len(lane.jobs) for lane in self.lanes) < self.capacity

    def submit(self, job: Job) -> None:
        self.queue.append(job)
        self._dispatch()

    def _dispatch(self) -> list[tuple[int, PageOutcome]]:
        """Send queued jobs to the least loaded workers, starting workers up to ``size``."""
        done = []
        while self.queue and len(self.lanes) < self.size:
            self.lanes.append(_Lane(self._start()))
        for lane in sorted(self.lanes, key=lambda lane: len(lane.jobs)):
            while self.queue and len(lane.jobs) < self.depth:
                if not self._send(lane.worker, self.queue[0]):  # it died: its jobs go back to the queue
                    done += self._retire(lane, self._death_message(lane.worker))
                    return done + self._dispatch()
                lane.jobs.append(self.queue.popleft())
        return done

    def poll(self, wait: float) -> list[tuple[int, PageOutcome]]:
        """Outcomes finished within ``wait`` seconds, plus an error for each job past its deadline or crashed."""
        if not self.lanes:
            return []
        running = [lane.started for lane in self.lanes if lane.started is not None]
        if running:
            wait = min(wait, min(running) + self.timeout + KILL_GRACE - time.monotonic())
        done = []
        for lane, event, payload in self._collect(max(0.0, wait)):
            if lane not in self.lanes:  # retired by an earlier event of this round
                continue
            if event == "start":
                lane.started = time.monotonic()
            elif event == "done":
                outcome, retire = payload
                done.append((lane.jobs.popleft().index, outcome))
                lane.started = None
                if retire:
                    done += self._retire(lane, None)
            else:  # died
                done += self._retire(lane, self._death_message(lane.worker))
        now = time.monotonic()
        for lane in list(self.lanes):
            if lane.started is not None and now >= lane.started + self.timeout + KILL_GRACE:
                done += self._retire(lane, f"timed out after {self.timeout:g} s")
        return done + self._dispatch()

    def _retire(self, lane: _Lane, error: str | None) -> list[tuple[int, PageOutcome]]:
        """Stop ``lane``'s worker; its current job gets ``error``, the jobs behind it go back to the queue."""
        self.lanes.remove(lane)
        self._stop(lane.worker)
        done = []
        if error is not None and lane.jobs:
            job = lane.jobs.popleft()
            done.append((job.index, PageOutcome(job.source, error=error)))
        self.queue.extendleft(reversed(lane.jobs))
        return done

    def _death_message(self, worker) -> str:
        return "the worker reading and cleaning this input died"

    def close(self) -> None:
        for lane in self.lanes:
            self._stop(lane.worker)
        self.lanes = []
        self.queue.clear()


@dataclass(eq=False)
class _ProcessWorker:
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection


class ProcessPool(_Pool):
    """Worker processes forked from a fork server that has extraction and language identification loaded."""

    def __init__(self, size: int, *, timeout: float, max_bytes: int, step=read_and_clean):
        super().__init__(size, timeout=timeout, max_bytes=max_bytes, step=step)
        if _FORKSERVER:  # start the server now: it warms up while the caller loads its models
            from multiprocessing import forkserver

            multiprocessing.get_context("forkserver").set_forkserver_preload(["pipeline.worker_warmup"])
            forkserver.ensure_running()

    def _start(self) -> _ProcessWorker:
        conn, child_conn = multiprocessing.Pipe()
        process_class = _ForkServerWorker if _FORKSERVER else multiprocessing.get_context("spawn").Process
        process = process_class(target=_worker_main, args=(child_conn, self.step, self.timeout, self.max_bytes),
                                name="pagetag-worker", daemon=True)
        process.start()
        child_conn.close()
        return _ProcessWorker(process, conn)

    def _send(self, worker: _ProcessWorker, job: Job) -> bool:
        try:
            worker.conn.send(job)
        except OSError:
            return False
        return True

    def _collect(self, wait: float) -> list[tuple[_Lane, str, object]]:
        lanes = {lane.worker.conn: lane for lane in self.lanes}
        sentinels = {lane.worker.process.sentinel: lane for lane in self.lanes}
        events = []
        for ready in wait_for_any([*lanes, *sentinels], wait):
            lane = lanes.get(ready) or sentinels[ready]
            try:
                while lane.worker.conn.poll():
                    events.append((lane, *lane.worker.conn.recv()))
            except (EOFError, OSError):
                events.append((lane, "died", None))
                continue
            if ready in sentinels:
                events.append((lane, "died", None))
        return events

    def _death_message(self, worker: _ProcessWorker) -> str:
        return _crash_message(worker.process)

    def _stop(self, worker: _ProcessWorker) -> None:
        worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()


_FORKSERVER = "forkserver" in multiprocessing.get_all_start_methods()


class _WorkerPopen(popen_forkserver.Popen):
    """Starts a process from the fork server without re-running the parent's ``__main__`` in it.

    Workers run only :func:`_worker_main`; importing the caller's script (a benchmark, a notebook)
    in every worker would cost time and memory and, without a ``__main__`` guard, recurse.
    """

    def _launch(self, process_obj):
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            super()._launch(process_obj)
        finally:
            sys.modules["__main__"] = main


class _ForkServerWorker(multiprocessing.context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj):
        return _WorkerPopen(process_obj)


def _crash_message(process: multiprocessing.process.BaseProcess) -> str:
    process.join(timeout=5)
    code = process.exitcode
    if code is not None and code < 0:
        try:
            how = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            how = f"killed by signal {-code}"
    else:
        how = f"exit status {code}"
    return f"the worker process reading and cleaning this input crashed ({how}); it was replaced"


def _worker_main(conn, step, timeout: float, max_bytes: int) -> None:
    """A worker process: read and clean one job at a time until the pipe closes or memory grew too much."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent, which stops the workers
    _limit_address_space(WORKER_MEMORY_LIMIT)
    start = _resident_bytes()
    while True:
        try:
            job = conn.recv()
            conn.send(("start", None))
        except (EOFError, OSError):
            return
        outcome = _run_step(step, job, timeout, max_bytes)
        retire = _resident_bytes() - start > WORKER_GROWTH_LIMIT
        conn.send(("done", (outcome, retire)))
        if retire:
            return


def _statm(field_index: int) -> int:
    """A field of /proc/self/statm in bytes (0: address space, 1: resident); 0 where there is no /proc."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[field_index]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _resident_bytes() -> int:
    return _statm(1)


def _limit_address_space(extra: int) -> None:
    """Let this process map at most ``extra`` bytes more than it has now (Linux; elsewhere a no-op)."""
    current = _statm(0)
    if not current:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = current + extra if hard == resource.RLIM_INFINITY else min(current + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


@dataclass(eq=False)
class _ThreadWorker:
    inbox: queue.SimpleQueue
    stopped: bool = False


class ThreadPool(_Pool):
    """Worker threads of this process; one past its deadline is abandoned and its late answer dropped."""

    def __init__(self, size: int, *, timeout: float, max_bytes: int, step=read_and_clean):
        super().__init__(size, timeout=timeout, max_bytes=max_bytes, step=step)
        self._events: queue.SimpleQueue = queue.SimpleQueue()

    def _start(self) -> _ThreadWorker:
        worker = _ThreadWorker(queue.SimpleQueue())
        threading.Thread(target=self._serve, args=(worker,), name="pagetag-reader", daemon=True).start()
        return worker

    def _serve(self, worker: _ThreadWorker) -> None:
        while (job := worker.inbox.get()) is not None and not worker.stopped:
            self._events.put((worker, "start", None))
            self._events.put((worker, "done", (_run_step(self.step, job, self.timeout, self.max_bytes), False)))

    def _send(self, worker: _ThreadWorker, job: Job) -> bool:
        worker.inbox.put(job)
        return True

    def _collect(self, wait: float) -> list[tuple[_Lane, str, object]]:
        events = []
        try:
            events.append(self._events.get(timeout=wait))
            while True:
                events.append(self._events.get_nowait())
        except queue.Empty:
            pass
        lanes = {lane.worker: lane for lane in self.lanes}  # answers of abandoned workers are dropped
        return [(lanes[worker], event, payload) for worker, event, payload in events if worker in lanes]

    def _stop(self, worker: _ThreadWorker) -> None:
        worker.stopped = True  # it ends after its current input, whose answer nobody waits for
        worker.inbox.put(None)


# --- dask ----------------------------------------------------------------------------------------

class DaskEngine(_Closing):
    """Inputs as tasks on a dask.distributed cluster, running :func:`read_and_clean` on its workers.

    The cluster is ``scheduler`` (an address such as ``tcp://host:8786``), else ``$PAGETAG_DASK_SCHEDULER``,
    else a LocalCluster of ``size`` single-threaded worker processes. Workers need pagetag installed. At
    most two tasks per worker thread are in flight; a task not back within twice the timeout of its
    submission (queueing included) is cancelled and reported as timed out. A worker that dies (a crash
    in lxml) is restarted by its nanny; its input comes back as an error.
    """

    def __init__(self, size: int, *, timeout: float, max_bytes: int, scheduler: str | None = None):
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise PagetagError("--engine dask needs dask.distributed: pip install 'dask[distributed]'") from None
        self.timeout, self.max_bytes = timeout, max_bytes
        address = scheduler or os.environ.get(SCHEDULER_ENV)
        self.cluster = None
        try:
            if address:
                self.client = Client(address, timeout=30)
            else:
                with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
                    self.cluster = LocalCluster(n_workers=size, threads_per_worker=1, processes=True,
                                                dashboard_address=None, silence_logs=logging.ERROR)
                self.client = Client(self.cluster)
        except (OSError, TimeoutError, ValueError) as exc:
            raise PagetagError(f"cannot connect to the dask scheduler {address or '(local)'}: {one_line(exc)}") from None
        self.capacity = 2 * max(1, sum(self.client.nthreads().values()))
        self.futures: dict = {}  # future -> (job, submission time)

    def has_room(self) -> bool:
        return len(self.futures) < self.capacity

    def submit(self, job: Job) -> None:
        future = self.client.submit(read_and_clean, job.source, timeout=self.timeout, max_bytes=self.max_bytes,
                                    data=job.data, pure=False)
        self.futures[future] = (job, time.monotonic())

    def poll(self, wait: float) -> list[tuple[int, PageOutcome]]:
        from distributed import wait as wait_for_futures

        if not self.futures:
            return []
        budget = 2 * self.timeout + KILL_GRACE
        first_deadline = min(submitted for _, submitted in self.futures.values()) + budget
        try:
            wait_for_futures(list(self.futures), timeout=max(0.01, min(wait, first_deadline - time.monotonic())),
                             return_when="FIRST_COMPLETED")
        except TimeoutError:
            pass
        done, now = [], time.monotonic()
        for future, (job, submitted) in list(self.futures.items()):
            if future.done():
                done.append((job.index, self._outcome(future, job)))
            elif now >= submitted + budget:
                future.cancel()
                done.append((job.index, PageOutcome(job.source, error=f"timed out after {self.timeout:g} s")))
            else:
                continue
            del self.futures[future]
        return done

    @staticmethod
    def _outcome(future, job: Job) -> PageOutcome:
        if future.status == "finished":
            return future.result()
        error = future.exception() if future.status == "error" else None
        if type(error).__name__ == "KilledWorker":
            return PageOutcome(job.source, error="the dask worker reading and cleaning this input died")
        return PageOutcome(job.source, error=one_line(error) if error else f"dask task {future.status}")

    def close(self) -> None:
        for future in self.futures:
            future.cancel()
        self.futures = {}
        with contextlib.suppress(TimeoutError, OSError):  # a slow shutdown must not turn into a traceback
            self.client.close(timeout=5)
            if self.cluster is not None:
                self.cluster.close(timeout=10)
