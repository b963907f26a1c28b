"""``newsmill ingest``: local HTML and text files through the pipeline into the store."""

from __future__ import annotations

import gzip
import logging
import os
import stat
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsmill import templates
from newsmill.pipeline import Document, DocumentKind, Outcome, process, record_skip
from newsmill.store import RunCounts, Store, utcnow

logger = logging.getLogger(__name__)

# File names a directory walk picks up. A file named on the command line is always read,
# whatever its name, and its kind is sniffed from its bytes.
HTML_SUFFIXES = {".html", ".htm", ".xhtml", ".shtml"}
TEXT_SUFFIXES = {".txt", ".text"}
COMPRESSED_SUFFIXES = {".gz"}

# A news page is rarely over 2 MB; 50 MB leaves room for inlined images and still keeps one
# pathological file from exhausting memory.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

# How often (seconds) an ingest asks whether its template backlog has waited long enough to
# drain (newsmill.templates.BACKLOG_MAX_SECONDS); it is drained at the end of the run anyway.
BACKLOG_CHECK_SECONDS = 10.0


@dataclass
class IngestResult:
    """The summary of an ingest run (also in the ``runs`` ledger)."""

    run_id: int
    counts: RunCounts
    seconds: float
    status: str
    outcomes: list[Outcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            **self.counts.as_dict(),
        }


def document_kind(path: Path) -> DocumentKind | None:
    """The kind a file's name says it holds (looking through a .gz suffix), or None."""
    suffixes = [s.lower() for s in path.suffixes[-2:]]
    if suffixes and suffixes[-1] in COMPRESSED_SUFFIXES:
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in HTML_SUFFIXES:
        return "html"
    if last in TEXT_SUFFIXES:
        return "text"
    return None


def iter_input_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path]:
    """Files named, and the HTML/text files below directories named, in a stable order.

    Symbolic links to directories are not followed, so a link loop cannot trap the walk.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs.sort()
                for name in sorted(files):
                    child = Path(root) / name
                    if document_kind(child) is not None and not name.startswith("."):
                        yield child
        else:
            yield path


def store_files(store: Store) -> set[tuple[int, int]]:
    """(device, inode) of the store's database file and of the files SQLite and the run
    lock keep beside it. An ingest must never open one of them: closing any descriptor of
    the database file drops this process's SQLite locks on it (POSIX locks belong to the
    process, not to the descriptor), and another process could then delete the WAL under
    this one's open connection."""
    if store.path is None:
        return set()
    found = set()
    for name in ("", "-wal", "-shm", "-journal", ".lock"):
        try:
            info = Path(f"{store.path}{name}").stat()
        except OSError:
            continue
        found.add((info.st_dev, info.st_ino))
    return found


def read_input(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """Read a file, decompressing ``.gz``; raise ``ValueError`` with a reason slug when it
    cannot be used."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        # a FIFO or a device would block or never end
        raise ValueError("not-a-regular-file", "not a regular file")
    size = info.st_size
    if size > max_bytes:
        raise ValueError("too-large", f"{size} bytes > limit of {max_bytes}")
    with open(path, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if path.suffix.lower() == ".gz":
        try:
            data = _gunzip_limited(data, max_bytes)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError("bad-gzip", str(exc)) from exc
    return data


def _gunzip_limited(data: bytes, max_bytes: int) -> bytes:
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = decompressor.decompress(data, max_bytes + 1)
    if len(out) > max_bytes:
        raise ValueError("too-large", f"decompresses to more than {max_bytes} bytes")
    if not decompressor.eof:
        raise gzip.BadGzipFile("truncated gzip data")
    return out


def ingest(
    store: Store,
    paths: Iterable[str | os.PathLike[str]],
    *,
    url: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    args: dict[str, Any] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> IngestResult:
    """Ingest files and directories into ``store`` as one run.

    Args:
        store: the open store.
        paths: files and directories (walked recursively for HTML and text files).
        url: the URL to record for the input (only sensible with a single file).
        max_bytes: larger files are skipped and recorded as such.
        args: what to record as the run's arguments in the ledger.
        on_outcome: called after each input, e.g. to advance a progress bar.
    """
    paths = list(paths)
    started = time.monotonic()
    run_args = args or {"paths": [str(p) for p in paths], "url": url}
    outcomes: list[Outcome] = []
    with store.recorded_run("ingest", run_args) as (run_id, counts):
        seen_at = store.run(run_id)["started"]
        backlog_checked = time.monotonic()
        for path in iter_input_files(paths):
            outcome = ingest_file(
                store,
                path,
                url=url,
                run_id=run_id,
                seen_at=seen_at,
                max_bytes=max_bytes,
                defer_backfill=True,
            )
            counts.add(outcome.outcome, outcome.reason)
            outcomes.append(outcome)
            logger.info(
                "%s %s%s", outcome.outcome, path, f" ({outcome.reason})" if outcome.reason else ""
            )
            if on_outcome:
                on_outcome(outcome)
            if time.monotonic() - backlog_checked >= BACKLOG_CHECK_SECONDS:
                backlog_checked = time.monotonic()
                if templates.backlog_due(store):
                    templates.drain_backlog(store, run_id=run_id)
        templates.drain_backlog(store, run_id=run_id)
    return IngestResult(run_id, counts, time.monotonic() - started, "ok", outcomes)


def ingest_file(
    store: Store,
    path: Path,
    *,
    run_id: int,
    seen_at: str | None = None,
    url: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    defer_backfill: bool = False,
) -> Outcome:
    """Read one file and run it through the pipeline; unreadable files, and the store's
    own files (:func:`store_files`), become skips.

    ``defer_backfill``: see :func:`newsmill.pipeline.record` (:func:`ingest` defers, and
    drains the template backlog at the end of its run)."""
    try:
        info = path.stat()
    except OSError:
        info = None
    if info is not None and (info.st_dev, info.st_ino) in store_files(store):
        return record_skip(
            store,
            run_id=run_id,
            input=str(path),
            reason="store-file",
            detail="the database this ingest writes to (or one of its files)",
        )
    try:
        body = read_input(path, max_bytes=max_bytes)
    except ValueError as exc:
        reason, detail = exc.args if len(exc.args) == 2 else ("unreadable", str(exc))
        return record_skip(store, run_id=run_id, input=str(path), reason=reason, detail=detail)
    except OSError as exc:
        return record_skip(
            store,
            run_id=run_id,
            input=str(path),
            reason="unreadable",
            detail=exc.strerror or str(exc),
        )
    doc = Document(
        body=body,
        input=str(path),
        url=url or path.resolve().as_uri(),
        kind=document_kind(path),
        url_is_final=url is not None,
        fetched_at=utcnow(),
    )
    return process(store, doc, run_id=run_id, seen_at=seen_at, defer_backfill=defer_backfill)
