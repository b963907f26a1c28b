"""The extraction worker processes of a crawl: a process pool for
:func:`newsmill.pipeline.analyze`, started early and handed to the pipeline.

This module does not import Scrapy (nor does the package's ``__init__``): the workers
unpickle their initializer from here, and ``newsmill crawl`` starts the pool before it
imports Scrapy, so the workers load the extraction code while Scrapy loads.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import gc
import multiprocessing
import os
import signal
import threading

from newsmill.crawl.parentwatch import exit_when_gone


def _init_worker(crawler_pid: int | None = None) -> None:
    # Ctrl-C goes to the whole process group; the parent shuts the pool down cleanly.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if crawler_pid is not None:
        exit_when_gone(crawler_pid)  # a killed crawl leaves no orphan workers
    import newsmill.pipeline  # noqa: F401  (imports trafilatura once, before the first page)
    from newsmill.extract import use_plain_html_elements

    use_plain_html_elements()  # this process is ours
    tune_gc()


# Young-generation size of an extraction worker (CPython's default is 700 allocations).
# Extracting a page makes tens of thousands of short-lived objects (lxml proxies, strings),
# and the default collected them dozens of times a page, walking everything still alive.
# Measured with bench/crawl.py's site: about 1% less CPU in the workers. The crawling
# process of ``newsmill crawl`` does the same before it starts crawling: timed with
# gc.callbacks over that crawl, its collections took 0.11-0.14 s instead of 0.53-0.62 s.
GC_YOUNG_THRESHOLD = 20_000


def tune_gc() -> None:
    """Fewer, larger young collections, and no collecting of what the process loaded at
    start (``gc.freeze``: modules, compiled regexes; never garbage). Only for processes
    newsmill owns."""
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def make_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """A process pool for :func:`newsmill.pipeline.analyze`.

    It uses the ``forkserver`` start method (``spawn`` where there is none): forking a
    process that runs a reactor and holds a SQLite connection is unsafe.
    """
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        # The fork server imports the extraction code once; workers start with it loaded.
        context.set_forkserver_preload(["newsmill.pipeline", __name__])
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(os.getpid(),),
    )


# Pages handed to the workers per worker, ahead of the one being stored (a crawl's pipeline,
# an ingest): enough to keep every worker busy while the writing process hands out the next
# page; small enough that memory stays bounded (a median news page is ~110 KB).
IN_FLIGHT_PER_WORKER = 4


def start_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """A new pool of ``workers`` extraction processes, started in the background."""
    pool = make_pool(workers)
    start_workers(pool, workers)
    return pool


def discard_pool(pool: concurrent.futures.ProcessPoolExecutor, *, wait: bool = False) -> None:
    """Shut ``pool`` down, killing any of its processes still alive.

    A pool whose worker died is shut down by its manager thread, which joins every process
    of the pool. In CPython 3.11 a process the pool starts for a task submitted just as the
    worker died is not terminated first: the manager waits on it for ever, and so does the
    interpreter at exit (seen as a test run that never ended). Killing what is left ends
    that wait; a healthy pool's idle workers lose nothing."""
    # taken before shutdown, which forgets them
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        with contextlib.suppress(Exception):  # gone already
            process.kill()
    if wait and manager is not None:
        manager.join(timeout=30)


def close_pool(pool: concurrent.futures.ProcessPoolExecutor) -> None:
    """Shut ``pool`` down at the end of a run: wait for its workers, unless one died (then
    :func:`discard_pool`, as waiting could be for ever)."""
    if getattr(pool, "_broken", False):
        discard_pool(pool, wait=True)
    else:
        pool.shutdown(wait=True, cancel_futures=True)


def default_workers() -> int:
    """One extraction process per CPU this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2


_started_pool: tuple[int, concurrent.futures.ProcessPoolExecutor] | None = None


def start_pool_early(workers: int | None) -> None:
    """Start the extraction pool before Scrapy is set up (``newsmill crawl`` does), so the
    workers are ready when the first page arrives; the pipeline then takes this pool."""
    global _started_pool
    count = default_workers() if workers is None or workers < 0 else workers
    if count == 0 or _started_pool is not None:
        return
    pool = make_pool(count)
    # The pool starts a process when a task needs one, and the fork server imports the
    # extraction code first, which blocks the caller: do it in a thread while Scrapy is set up.
    threading.Thread(target=start_workers, args=(pool, count), daemon=True).start()
    _started_pool = (count, pool)


def start_workers(pool: concurrent.futures.ProcessPoolExecutor, count: int) -> None:
    with contextlib.suppress(RuntimeError):  # shut down already (the crawl ended early)
        for _ in range(count):
            pool.submit(os.getpid)


def take_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """The pool :func:`start_pool_early` started (if it has ``workers`` workers), else a
    new one."""
    global _started_pool
    if _started_pool is not None:
        count, pool = _started_pool
        _started_pool = None
        if count == workers:
            return pool
        discard_pool(pool)
    return start_pool(workers)


def discard_early_pool() -> None:
    """Shut down a pool from :func:`start_pool_early` that no pipeline took."""
    global _started_pool
    if _started_pool is not None:
        discard_pool(_started_pool[1])
        _started_pool = None
