"""``newsmill ingest``: local files and web archives through the pipeline into the store.

Inputs are read in order (:func:`iter_inputs`), extracted in a process pool like a crawl's
(``workers``), and written by this process in input order (:class:`OrderedWriter`), each
with its bookkeeping in one savepoint. An archive's position is written with each of its
records, so a run that is killed resumes where it stopped, and an archive read to its end
is recognised and skipped.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import gzip
import logging
import os
import stat
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from newsmill import templates
from newsmill.archive import (
    file_digest,
    is_archive_name,
    is_listing_name,
    open_archive,
    read_archive,
    read_listing,
)
from newsmill.crawl.workers import IN_FLIGHT_PER_WORKER, close_pool, discard_pool, start_pool
from newsmill.lock import archive_lock
from newsmill.pipeline import (
    Analysis,
    Document,
    DocumentKind,
    Outcome,
    Policy,
    analyze,
    process,
    record,
    record_skip,
)
from newsmill.store import RunCounts, Store, utcnow

if TYPE_CHECKING:
    from newsmill.models import Article
    from newsmill.templates import PreparedReclean

logger = logging.getLogger(__name__)

# File names a directory walk picks up. A file named on the command line is always read,
# whatever its name, and its kind is sniffed from its bytes.
HTML_SUFFIXES = {".html", ".htm", ".xhtml", ".shtml"}
TEXT_SUFFIXES = {".txt", ".text"}
COMPRESSED_SUFFIXES = {".gz"}

# A news page is rarely over 2 MB; 50 MB leaves room for inlined images and still keeps one
# pathological file from exhausting memory.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


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
    """Files named, and the HTML, text and archive files below directories named, in a
    stable order.

    Symbolic links to directories are not followed, so a link loop cannot trap the walk.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path, followlinks=False):
                dirs.sort()
                for name in sorted(files):
                    child = Path(root) / name
                    wanted = document_kind(child) is not None or is_archive_name(name)
                    if wanted and not name.startswith("."):
                        yield child
        else:
            yield path


def store_files(store: Store) -> set[tuple[int, int]]:
    """(device, inode) of the store's database file and of the files SQLite and the run
    lock keep beside it. An ingest must never open one of them: closing any descriptor of
    the database file drops this process's SQLite locks on it (POSIX locks belong to the
    process, not to the descriptor), and another process could then delete the WAL under
    this one's open connection; closing one of the archive lock file drops its archive
    locks."""
    if store.path is None:
        return set()
    found = set()
    for name in ("", "-wal", "-shm", "-journal", ".lock", ".archives.lock"):
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


@dataclass(frozen=True, slots=True)
class Origin:
    """Where in a web archive an input was read: written with its outcome."""

    archive: str | None  # the archives row (None: a stream with no identity)
    record_key: str | None  # the archive_records row (None: cannot be recognised again)
    name: str
    offset: int
    end: int
    uri: str | None


@dataclass(frozen=True, slots=True)
class Input:
    """One thing an ingest read, in order: a document to process, a skip to record
    (``reason``), or the end of an archive (``archive_status``)."""

    input: str
    doc: Document | None = None
    reason: str | None = None
    detail: str = ""
    origin: Origin | None = None
    archive_status: str | None = None  # "done" or "corrupt": the archive ends here


def ingest(
    store: Store,
    paths: Iterable[str | os.PathLike[str]],
    *,
    url: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    workers: int = 0,
    archive_base: str | None = None,
    args: dict[str, Any] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_input: Callable[[str, int], None] | None = None,
    keep_outcomes: bool = True,
    policy: Policy | None = None,
) -> IngestResult:
    """Ingest files, directories and web archives into ``store`` as one run.

    Args:
        store: the open store.
        paths: files and directories (walked recursively for HTML, text and archive files),
            WARC/ARC files, Common Crawl ``warc.paths`` listings, or ``-`` (an archive on
            standard input).
        url: the URL to record for the input (only sensible with a single file).
        max_bytes: larger files and archive records are skipped and recorded as such.
        workers: extraction processes (0: extract in this process). Outcomes are written
            in input order either way, by this process.
        archive_base: where the relative paths of a ``warc.paths`` listing are: a local
            directory (a mirror) or a base URL.
        args: what to record as the run's arguments in the ledger.
        on_outcome: called after each input is written, e.g. to advance a progress bar.
        on_input: called with ``(file, bytes done)`` as inputs are read.
        keep_outcomes: keep every outcome in the result (off for long runs: memory).
        policy: paywall teasers kept or not, languages kept (default: no teasers, all).
    """
    paths = [str(p) for p in paths]
    started = time.monotonic()
    run_args = args or {"paths": paths, "url": url}
    outcomes: list[Outcome] = []

    def written(outcome: Outcome) -> None:
        if keep_outcomes:
            outcomes.append(outcome)
        if on_outcome:
            on_outcome(outcome)

    writer: OrderedWriter | None = None
    try:
        with store.recorded_run("ingest", run_args) as (run_id, counts):
            writer = OrderedWriter(
                store,
                run_id=run_id,
                counts=counts,
                seen_at=store.run(run_id)["started"],
                workers=workers,
                on_outcome=written,
                policy=policy,
            )
            inputs = iter_inputs(
                store,
                paths,
                run_id=run_id,
                url=url,
                max_bytes=max_bytes,
                archive_base=archive_base,
                on_input=on_input,
            )
            try:
                for item in inputs:
                    writer.add(item)
                writer.finish()
            finally:
                writer.flush()
    finally:
        if writer is not None:
            writer.close()
    return IngestResult(run_id, counts, time.monotonic() - started, "ok", outcomes)


class OrderedWriter:
    """Writes inputs' outcomes in input order, one savepoint each, in commit groups (as a
    crawl does), while up to ``IN_FLIGHT_PER_WORKER`` documents per worker are analysed
    ahead in a pool of ``workers`` processes. The pool starts with the first document (an
    ingest that finds nothing new to extract starts none); :meth:`close` stops it."""

    def __init__(
        self,
        store: Store,
        *,
        run_id: int,
        counts: RunCounts,
        seen_at: str,
        workers: int,
        on_outcome: Callable[[Outcome], None],
        policy: Policy | None = None,
    ) -> None:
        self.store = store
        self.policy = policy or Policy()
        self.run_id = run_id
        self.counts = counts
        self.seen_at = seen_at
        self.pool: concurrent.futures.ProcessPoolExecutor | None = None
        self.workers = workers
        self.on_outcome = on_outcome
        self.window = workers * IN_FLIGHT_PER_WORKER
        self.queue: collections.deque[tuple[Input, Document | None, Any]] = collections.deque()
        self.group = store.commit_group()
        self.hints = templates.TemplateHints()
        self.backlog = templates.WaitingBacklog(
            store, run_id=run_id, write=self.group.write, start=self._start_prepare_reclean
        )

    def add(self, item: Input) -> None:
        doc, future = item.doc, None
        if doc is not None and self.workers > 0:
            if self.pool is None:
                self.pool = start_pool(self.workers)
            if doc.fetched:
                doc = replace(doc, template_hint=self.hints.packed(templates.site_key(doc.url)))
            future = self._submit(doc)
        self.queue.append((item, doc, future))
        while len(self.queue) > self.window:
            self._write_oldest()

    def finish(self) -> None:
        """Write what is queued, then clean the template backlog (with the workers' help)."""
        while self.queue:
            self._write_oldest()
        self.flush()
        templates.drain_backlog(
            self.store,
            run_id=self.run_id,
            write=self.group.write,
            prepare=self._prepare_reclean if self.pool is not None else None,
        )

    def flush(self) -> None:
        self.group.flush()

    def close(self) -> None:
        if self.pool is not None:
            close_pool(self.pool)
            self.pool = None

    def _submit(self, doc: Document) -> concurrent.futures.Future[Analysis] | None:
        """Hand ``doc`` to the pool; a pool found broken (a worker died since the last
        result) is replaced first, and what it held is handed to the new one."""
        assert self.pool is not None
        try:
            return self.pool.submit(analyze, doc)
        except BrokenProcessPool:
            logger.error("an extraction worker died; restarting the pool")
            self._replace_pool()
            self._resubmit_queue()
            return self._try_submit(doc)
        except RuntimeError:
            return None  # shut down: analysed in this process when its turn comes

    def _try_submit(self, doc: Document) -> concurrent.futures.Future[Analysis] | None:
        assert self.pool is not None
        try:
            return self.pool.submit(analyze, doc)
        except RuntimeError:  # BrokenProcessPool too: analysed in this process
            return None

    def _resubmit_queue(self) -> None:
        self.queue = collections.deque(
            (item, d, self._try_submit(d) if d is not None else None) for item, d, _ in self.queue
        )

    def _analysis(self, doc: Document, future: Any) -> Analysis:
        if future is None:
            return analyze(doc)
        try:
            return future.result()
        except BrokenProcessPool:
            pass
        # A worker died (out of memory, a crash in a C library), failing every task in
        # flight: a new pool, every queued document again, and this one once more alone.
        logger.error("an extraction worker died; restarting the pool")
        self._replace_pool()
        future = self._try_submit(doc)
        try:
            return future.result() if future is not None else analyze(doc)
        except BrokenProcessPool:
            logger.error("extraction worker died again on %s", doc.input)
            self._replace_pool()
            return Analysis(None, "worker-crashed", "the extraction process died")
        finally:
            self._resubmit_queue()

    def _replace_pool(self) -> None:
        if self.pool is not None:
            discard_pool(self.pool)
        self.pool = start_pool(self.workers)

    def _write_oldest(self) -> None:
        item, doc, future = self.queue.popleft()
        analysis = None
        if doc is not None:
            analysis = self._analysis(doc, future)
        with self.group.write():
            if doc is not None and analysis is not None:
                outcome = record(
                    self.store,
                    doc,
                    analysis,
                    run_id=self.run_id,
                    seen_at=self.seen_at,
                    defer_backfill=True,
                    policy=self.policy,
                )
            elif item.reason is not None:
                outcome = record_skip(
                    self.store,
                    run_id=self.run_id,
                    input=item.input,
                    reason=item.reason,
                    detail=item.detail,
                )
            else:
                outcome = None
            origin = item.origin
            if origin is not None and outcome is not None:
                self.store.note_archive_record(
                    archive=origin.archive,
                    record_key=origin.record_key,
                    name=origin.name,
                    offset=origin.offset,
                    end=origin.end,
                    uri=origin.uri,
                    outcome=outcome.outcome,
                    article_hash=outcome.article_hash,
                    run_id=self.run_id,
                )
            if item.archive_status is not None and origin is not None and origin.archive:
                self.store.finish_archive(
                    origin.archive, status=item.archive_status, detail=item.detail or None
                )
        if outcome is None:
            return
        if doc is not None and doc.url:
            self.hints.learn(templates.site_key(doc.url), outcome.template_lines)
        self.counts.add(outcome.outcome, outcome.reason)
        logger.info(
            "%s %s%s",
            outcome.outcome,
            outcome.input,
            f" ({outcome.reason})" if outcome.reason else "",
        )
        self.on_outcome(outcome)
        # the template backlog is cleaned as it goes, while the workers extract (at the end
        # of the run they would sit idle)
        self.backlog.after_page()

    def _start_prepare_reclean(self, source: Article) -> concurrent.futures.Future[Any] | None:
        if self.pool is None:
            return None
        return templates.start_prepare_reclean(self.pool, self.hints, source)

    def _prepare_reclean(self, source: Article) -> Callable[[], PreparedReclean | None]:
        """Have a worker key ``source``'s lines and sketch its expected text (as a crawl's
        end-of-run backlog drain does)."""
        assert self.pool is not None
        return templates.prepare_reclean_in(self.pool, self.hints, source)


def iter_inputs(
    store: Store,
    paths: Iterable[str],
    *,
    run_id: int,
    url: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    archive_base: str | None = None,
    on_input: Callable[[str, int], None] | None = None,
) -> Iterator[Input]:
    """What ``paths`` hold, in order: files, the files below directories, the records of
    archives (and of the archives a listing names)."""
    for raw in paths:
        if raw == "-":
            yield from archive_inputs(store, None, name="-", run_id=run_id, max_bytes=max_bytes)
            continue
        path = Path(raw)
        if path.is_file() and is_listing_name(path.name):
            yield from listing_inputs(
                store,
                path,
                base=archive_base,
                run_id=run_id,
                max_bytes=max_bytes,
                on_input=on_input,
            )
            continue
        for found in iter_input_files([path]):
            if on_input:
                on_input(str(found), 0)
            if is_archive_name(found.name):
                yield from archive_inputs(
                    store,
                    found,
                    name=str(found),
                    run_id=run_id,
                    max_bytes=max_bytes,
                    on_input=on_input,
                )
            else:
                item = file_input(store, found, url=url, max_bytes=max_bytes)
                if on_input:
                    on_input(str(found), file_size(found))
                yield item


def file_size(path: Path) -> int:
    """Bytes of ``path`` on disk (0 when it cannot be read), for progress displays."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def file_input(store: Store, path: Path, *, url: str | None, max_bytes: int) -> Input:
    """Read one file as an :class:`Input` (a document, or why it is skipped)."""
    try:
        info = path.stat()
    except OSError:
        info = None
    if info is not None and (info.st_dev, info.st_ino) in store_files(store):
        return Input(
            str(path),
            reason="store-file",
            detail="the database this ingest writes to (or one of its files)",
        )
    try:
        body = read_input(path, max_bytes=max_bytes)
    except ValueError as exc:
        reason, detail = exc.args if len(exc.args) == 2 else ("unreadable", str(exc))
        return Input(str(path), reason=reason, detail=detail)
    except OSError as exc:
        return Input(str(path), reason="unreadable", detail=exc.strerror or str(exc))
    doc = Document(
        body=body,
        input=str(path),
        url=url or path.resolve().as_uri(),
        kind=document_kind(path),
        url_is_final=url is not None,
        fetched_at=utcnow(),
    )
    return Input(str(path), doc=doc)


def archive_inputs(
    store: Store,
    path: Path | None,
    *,
    name: str,
    run_id: int,
    max_bytes: int,
    stream: IO[bytes] | None = None,
    stream_start: int = 0,
    key: str | None = None,
    size: int | None = None,
    on_input: Callable[[str, int], None] | None = None,
) -> Iterator[Input]:
    """The records of one archive: a file (``path``), a stream (``stream``: a download that
    starts ``stream_start`` bytes into its file), or standard input (neither). Resumes
    where an earlier run stopped; an archive read to its end before is skipped whole."""
    if path is not None:
        try:
            handle = open_archive(path)
        except (OSError, ValueError) as exc:
            reason, detail = exc.args if len(exc.args) == 2 else ("unreadable", str(exc))
            yield Input(name, reason=reason, detail=str(detail))
            return
        key = file_digest(path)
        size = path.stat().st_size
    elif stream is not None:
        handle = stream
    else:
        handle = sys.stdin.buffer
    with contextlib.ExitStack() as stack:
        if path is not None:
            stack.enter_context(handle)
        start = 0
        if key is not None and not _hold_archive(stack, store, key):
            yield Input(
                name,
                reason="archive-busy",
                detail="another newsmill ingest is reading it; a later run resumes it",
            )
            return
        if key is not None:
            state = store.archive(key)
            if state is not None and state["status"] in ("done", "corrupt"):
                yield Input(
                    name,
                    reason="archive-seen",
                    detail=f"run {state['last_run']}, as {state['name']}, "
                    f"{state['records']} records",
                )
                return
            store.start_archive(key, name=name, size=size, run_id=run_id)
            start = state["resume_at"] if state is not None else 0
            if start and path is not None:
                handle.seek(start)
            elif start > stream_start:
                start = stream_start + _skip_stream(handle, start - stream_start)
        yield from _records(
            store, handle, key=key, name=name, start=start, max_bytes=max_bytes, on_input=on_input
        )


def _hold_archive(stack: contextlib.ExitStack, store: Store, key: str) -> bool:
    """Lock the archive ``key`` for this run (released when ``stack`` closes); False when
    another process is reading it. Two cron ingests of one listing then share its archives
    instead of both reading each. A store without a file has nothing to share."""
    if store.path is None:
        return True
    return bool(stack.enter_context(archive_lock(store.path, key)))


# Common Crawl's public bucket over HTTPS, where a ``warc.paths`` listing's paths are.
COMMON_CRAWL_BASE = "https://data.commoncrawl.org/"


def listing_inputs(
    store: Store,
    listing: Path,
    *,
    base: str | None,
    run_id: int,
    max_bytes: int,
    on_input: Callable[[str, int], None] | None = None,
) -> Iterator[Input]:
    """The records of every archive a Common Crawl ``warc.paths`` listing names, read from
    a local mirror directory or downloaded (streamed, never saved) from a base URL."""
    base = base or COMMON_CRAWL_BASE
    remote = urllib.parse.urlsplit(base).scheme in ("http", "https")
    try:
        relative_paths = read_listing(listing)
    except (OSError, zlib.error) as exc:
        yield Input(str(listing), reason="unreadable", detail=str(exc))
        return
    for relative in relative_paths:
        if relative.startswith("/") or ".." in Path(relative).parts:
            yield Input(relative, reason="bad-listing-path", detail="not a relative path")
            continue
        if not remote:
            path = Path(base) / relative
            if on_input:
                on_input(str(path), 0)
            if not path.is_file():
                yield Input(str(path), reason="missing", detail="not in the mirror")
                continue
            yield from archive_inputs(
                store, path, name=str(path), run_id=run_id, max_bytes=max_bytes, on_input=on_input
            )
            continue
        url = urllib.parse.urljoin(base if base.endswith("/") else base + "/", relative)
        if on_input:
            on_input(url, 0)
        yield from remote_archive_inputs(
            store, url, run_id=run_id, max_bytes=max_bytes, on_input=on_input
        )


# Seconds a download may stall before it is given up (the archive resumes next run).
DOWNLOAD_TIMEOUT = 60.0


def remote_archive_inputs(
    store: Store,
    url: str,
    *,
    run_id: int,
    max_bytes: int,
    on_input: Callable[[str, int], None] | None = None,
) -> Iterator[Input]:
    """The records of an archive streamed from ``url`` (keyed by its URL: Common Crawl's
    files never change). A resumed download asks for the rest only (an HTTP Range)."""
    state = store.archive(url)
    start = state["resume_at"] if state is not None and state["status"] == "partial" else 0
    headers = {"User-Agent": "newsmill (+https://github.com/newsmill/newsmill)"}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        response = urllib.request.urlopen(
            urllib.request.Request(url, headers=headers), timeout=DOWNLOAD_TIMEOUT
        )
    except (urllib.error.URLError, OSError, ValueError) as exc:
        yield Input(url, reason="download-failed", detail=str(getattr(exc, "reason", exc)))
        return
    with response:
        if start and response.status != 206:
            start = 0  # the server sent the whole file: archive_inputs reads past what is done
        size = response.headers.get("Content-Length")
        yield from archive_inputs(
            store,
            None,
            name=url,
            run_id=run_id,
            max_bytes=max_bytes,
            stream=response,
            stream_start=start,
            key=url,
            size=int(size) + start if size and size.isdigit() else None,
            on_input=on_input,
        )


def _skip_stream(handle: IO[bytes], count: int) -> int:
    """Read past the first ``count`` bytes of a stream (resuming a download that cannot
    seek); the position reached."""
    left = count
    while left > 0:
        block = handle.read(min(left, 1 << 20))
        if not block:
            break
        left -= len(block)
    return count - left


def _records(
    store: Store,
    handle: IO[bytes],
    *,
    key: str | None,
    name: str,
    start: int,
    max_bytes: int,
    on_input: Callable[[str, int], None] | None,
) -> Iterator[Input]:
    last_end = start
    for entry in read_archive(handle, name=name, max_bytes=max_bytes, start=start):
        record_key = entry.record_id or (f"{key}@{entry.offset}" if key else None)
        origin = Origin(key, record_key, name, entry.offset, entry.end, entry.uri)
        input_name = f"{name}@{entry.offset}"
        if on_input:
            on_input(name, entry.end)
        if entry.error:
            yield Input(
                input_name,
                reason=entry.reason,
                detail=entry.detail,
                origin=replace(origin, record_key=None),
                archive_status="corrupt",
            )
            return
        last_end = entry.end
        if record_key is not None and store.archive_record(record_key) is not None:
            # The same record in another file (a copy, a merged archive) or a stream.
            yield Input(
                input_name,
                reason="already-ingested",
                detail=record_key,
                origin=replace(origin, record_key=None),
            )
            continue
        if entry.doc is not None:
            yield Input(input_name, doc=entry.doc, origin=origin)
        else:
            yield Input(input_name, reason=entry.reason, detail=entry.detail, origin=origin)
    if key is not None:
        yield Input(
            name,
            origin=Origin(key, None, name, last_end, last_end, None),
            archive_status="done",
        )


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
    """Read one file and run it through the pipeline in this process; unreadable files,
    and the store's own files (:func:`store_files`), become skips.

    ``defer_backfill``: see :func:`newsmill.pipeline.record` (:func:`ingest` defers, and
    drains the template backlog at the end of its run)."""
    item = file_input(store, path, url=url, max_bytes=max_bytes)
    if item.doc is None:
        return record_skip(
            store, run_id=run_id, input=item.input, reason=item.reason or "", detail=item.detail
        )
    return process(store, item.doc, run_id=run_id, seen_at=seen_at, defer_backfill=defer_backfill)
