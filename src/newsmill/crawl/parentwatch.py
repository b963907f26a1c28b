"""Extraction workers exit when the crawl that started them is gone, however it went.

A ``ProcessPoolExecutor`` worker waits for its next task on a pipe whose write end the
workers hold too, so when the crawling process is killed (``kill -9``, the OOM killer) the
workers never see end-of-file: they, the forkserver that forked them and multiprocessing's
resource tracker would live on as orphans, holding trafilatura's memory, after every
killed crawl. :func:`exit_when_gone` runs in each worker (the pool's initializer) and ends
the worker as soon as the crawling process is gone; the forkserver and the resource tracker
then exit by themselves, as their last client is gone.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time

from newsmill.store import process_alive

POLL_SECONDS = 1.0  # where there is no pidfd_open (not Linux, or Linux before 5.3)


def exit_when_gone(pid: int) -> threading.Thread:
    """Start a daemon thread that ends this process (``os._exit``) once ``pid`` has exited."""
    thread = threading.Thread(target=_watch, args=(pid,), name="newsmill-parent-watch", daemon=True)
    thread.start()
    return thread


def _watch(pid: int) -> None:
    fd: int | None = None
    try:
        fd = os.pidfd_open(pid)  # type: ignore[attr-defined,unused-ignore]
    except ProcessLookupError:
        os._exit(1)  # gone already
    except (AttributeError, OSError):
        fd = None  # no pidfd here: poll instead
    if fd is not None:
        # A pidfd becomes readable when the process exits; no pid-reuse race.
        while True:
            with contextlib.suppress(InterruptedError):
                if select.select([fd], [], [])[0]:
                    break
    else:
        while process_alive(pid):
            time.sleep(POLL_SECONDS)
    os._exit(1)
