"""A per-database run lock, so overlapping cron runs don't crawl the same database twice.

The lock is ``flock(2)`` on ``<database>.lock``, taken without waiting. The kernel drops
it when the process exits, however it exits (``kill -9`` included), so a stale lock file
never blocks a later run. The file holds the holder's pid and start time, for the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from newsmill.errors import StoreLocked

# The exit code of a run that found the lock taken: EX_TEMPFAIL from sysexits.h, "try again
# later", which is what a cron job that overlaps its previous run should do.
EXIT_LOCKED = 75


def lock_path(db_path: str | os.PathLike[str]) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".lock")


@contextlib.contextmanager
def run_lock(db_path: str | os.PathLike[str], *, started: str = "") -> Iterator[Path]:
    """Hold the run lock of ``db_path`` for the duration of the block.

    Raises :class:`~newsmill.errors.StoreLocked` at once when another process holds it.
    """
    path = lock_path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
            who = f" ({holder})" if holder else ""
            raise StoreLocked(
                f"another newsmill crawl is running on {db_path}{who}; exiting"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}{', started ' + started if started else ''}".encode(), 0)
        try:
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
