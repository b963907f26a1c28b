"""A per-database run lock, so overlapping cron runs don't crawl the same database twice,
and a per-archive lock, so overlapping ingests don't read the same web archive twice.

The run lock is ``flock(2)`` on ``<database>.lock``, taken without waiting. The kernel
drops it when the process exits, however it exits (``kill -9`` included), so a stale lock
file never blocks a later run. The file holds the holder's pid and start time, for the
message.

An archive lock is a one-byte POSIX record lock (``lockf``) in ``<database>.archives.lock``
at an offset taken from the archive's digest: one file for any number of archives, and the
kernel drops these locks with the process too.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
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


def archive_lock_path(db_path: str | os.PathLike[str]) -> Path:
    db_path = Path(db_path)
    return db_path.with_name(db_path.name + ".archives.lock")


@contextlib.contextmanager
def archive_lock(db_path: str | os.PathLike[str], key: str) -> Iterator[bool]:
    """Lock the archive whose key is ``key`` (its ``sha256:`` digest, or a listing's path)
    for this process while the block reads it; yields False, holding nothing, when another
    process holds it.

    POSIX record locks belong to the process: the block must not open and close the lock
    file itself (which would drop every lock this process holds on it).
    """
    path = archive_lock_path(db_path)
    # 56 bits of the key's hash: distinct archives practically never share a byte
    offset = int.from_bytes(hashlib.sha256(key.encode()).digest()[:7], "big")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
        except OSError:  # EACCES or EAGAIN: held by another process
            yield False
            return
        try:
            yield True
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)
    finally:
        os.close(fd)
