"""Web archives as input: the HTML responses in WARC and ARC files (and Common Crawl's
``warc.paths`` listings of them), read as a stream with warcio.

:func:`read_archive` turns an archive into :class:`ArchiveRecord`\\ s, one per ``response``
record: a :class:`~newsmill.pipeline.Document` for a 200 HTML response, or the reason it is
skipped (a revisit, not HTML, another status, too large, a broken encoding). Records of
other types (``request``, ``metadata``, ``warcinfo``) are companions, not inputs. Memory
stays flat: a record's payload is read only when it is an input and within ``max_bytes``.

A broken archive (truncated, a lying Content-Length, not an archive at all) ends with an
:class:`ArchiveRecord` whose ``error`` says why and where; what came before it stands.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import stat
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from newsmill.pipeline import Document
from newsmill.urls import normalize_url

ARCHIVE_SUFFIXES = (".warc", ".warc.gz", ".arc", ".arc.gz")
# Common Crawl lists the files of a crawl (CC-NEWS: a month) in ``warc.paths.gz``.
LISTING_SUFFIXES = (".paths", ".paths.gz")
HTML_TYPES = ("text/html", "application/xhtml+xml")
# Record types that accompany responses and are not inputs of their own.
COMPANION_TYPES = {"request", "metadata", "warcinfo", "arc_header", "conversion", "resource"}

# The extension field ``newsmill crawl --warc`` writes (newsmill.crawl.warc): what the
# crawl fetched a page as.
CRAWL_ROLE_HEADER = "Newsmill-Role"


def is_archive_name(name: str) -> bool:
    lowered = name.lower()
    return lowered.endswith(ARCHIVE_SUFFIXES)


def is_listing_name(name: str) -> bool:
    return name.lower().endswith(LISTING_SUFFIXES)


@dataclass(frozen=True, slots=True)
class ArchiveRecord:
    """One response record of an archive: a document to process or a skip (``reason``),
    or, as the last item of a broken archive, an ``error``."""

    offset: int  # where the record starts in the (compressed) file
    end: int  # where the next record starts: an ingest resumes there
    record_id: str | None = None
    uri: str | None = None
    doc: Document | None = None
    reason: str | None = None
    detail: str = ""
    error: bool = False


def file_digest(path: Path) -> str:
    """``sha256:<hex>`` of a file's bytes: an archive's identity across names and moves."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


def read_listing(path: Path) -> list[str]:
    """The relative paths of a ``warc.paths`` listing (gzipped or not), blank lines and
    ``#`` comments left out."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = zlib.decompress(data, wbits=16 + zlib.MAX_WBITS)
    lines = data.decode("utf-8", errors="replace").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def read_archive(
    stream: IO[bytes],
    *,
    name: str,
    max_bytes: int,
    start: int = 0,
) -> Iterator[ArchiveRecord]:
    """The response records of the archive ``stream`` (positioned at ``start``, a record
    boundary), in order. ``name`` is what inputs are called (``name@offset``)."""
    head = _head(stream)
    known = len(head) >= len(b"filedesc://")  # a pipe may not have given enough yet
    if start == 0 and known and not head.startswith((b"WARC/", b"filedesc://")):
        # warcio takes some garbage for a record of its own (a few in a hundred files of
        # random bytes), so what the file starts with decides
        yield ArchiveRecord(
            0, 0, reason="not-an-archive", detail=f"starts with {head[:20]!r}", error=True
        )
        return
    # warcio gives ARC records made-up, random WARC-Record-IDs, which must not be taken
    # for their identity
    arc = known and not head.startswith(b"WARC/")
    records = ArchiveIterator(stream, arc2warc=True)
    shift = start - records.offset  # a stream that cannot tell() counts from 0
    first = True
    while True:
        try:
            with _quiet_stderr():
                record = next(records)
        except StopIteration:
            return
        except (ArchiveLoadFailed, EOFError, OSError, ValueError, zlib.error) as exc:
            position = start if first else records.offset + shift
            reason = "not-an-archive" if first and start == 0 else "archive-corrupt"
            yield ArchiveRecord(
                position, position, reason=reason, detail=_describe(exc), error=True
            )
            return
        first = False
        offset = records.offset + shift
        try:
            item = _read_record(record, offset, name=name, max_bytes=max_bytes, arc=arc)
            with _quiet_stderr():
                records.read_to_end()
        except (EOFError, OSError, ValueError, zlib.error) as exc:
            yield ArchiveRecord(
                offset, offset, reason="archive-corrupt", detail=_describe(exc), error=True
            )
            return
        end = offset + records.get_record_length()
        if records.err_count:
            # warcio found bytes where the next record should start: this record's
            # Content-Length is wrong, and what follows cannot be trusted.
            yield ArchiveRecord(
                offset,
                offset,
                reason="archive-corrupt",
                detail=f"the record at offset {offset} is longer than its Content-Length says",
                error=True,
            )
            return
        if item is not None:
            if item.reason is None and _truncated(record):
                item = replace(
                    item,
                    doc=None,
                    reason="archive-truncated",
                    detail="the record ends before its Content-Length",
                )
            yield replace(item, end=end)
        elif _truncated(record):
            yield ArchiveRecord(
                offset,
                offset,
                reason="archive-truncated",
                detail="the archive ends mid-record",
                error=True,
            )
            return


def _head(stream: IO[bytes]) -> bytes:
    """The first bytes of the record at the stream's position (through a gzip member),
    without consuming them; empty when the stream can't tell."""
    peek = getattr(stream, "peek", None)
    try:
        head = peek(4096)[:4096] if peek is not None else b""
    except (OSError, ValueError):
        return b""
    if head[:2] == b"\x1f\x8b":
        try:
            head = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS).decompress(head, 64)
        except zlib.error:
            return b"\x1f\x8b"  # not gzip after all: not an archive either
    return head.lstrip()


def _read_record(
    record: Any, offset: int, *, name: str, max_bytes: int, arc: bool = False
) -> ArchiveRecord | None:
    rec_type = record.rec_type
    if rec_type in COMPANION_TYPES:
        return None
    headers = record.rec_headers
    record_id = None if arc else headers.get_header("WARC-Record-ID")
    uri = headers.get_header("WARC-Target-URI")
    base = {"offset": offset, "end": offset, "record_id": record_id, "uri": uri}
    if rec_type == "revisit":
        profile = headers.get_header("WARC-Profile") or ""
        return ArchiveRecord(**base, reason="revisit", detail=profile.rsplit("/", 1)[-1])
    if rec_type != "response":
        return ArchiveRecord(**base, reason="not-a-response", detail=str(rec_type))
    role = headers.get_header(CRAWL_ROLE_HEADER)
    if role and role != "article":
        # newsmill crawl --warc wrote this: a feed, a sitemap, a section page it crawled
        # through, never stored as an article (a section page would look like a poor one)
        return ArchiveRecord(**base, reason="not-an-article-page", detail=role)
    http = record.http_headers
    if http is None:
        return ArchiveRecord(**base, reason="no-http-headers", detail="")
    status = http.get_statuscode()
    if status != "200":
        return ArchiveRecord(**base, reason="http-status", detail=str(status))
    ctype = (http.get_header("Content-Type") or "").strip()
    mime = ctype.split(";", 1)[0].strip().lower()
    if mime and mime not in HTML_TYPES:
        return ArchiveRecord(**base, reason="not-html", detail=mime)
    cut = headers.get_header("WARC-Truncated")
    if cut:
        # The crawler stored only part of the payload (Common Crawl cuts at 1 MiB): what
        # survives would be stored as the whole article.
        return ArchiveRecord(**base, reason="payload-truncated", detail=cut)
    if record.length is not None and record.length > max_bytes + 65536:
        return ArchiveRecord(
            **base, reason="too-large", detail=f"{record.length} bytes > limit of {max_bytes}"
        )
    raw = record.raw_stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        return ArchiveRecord(**base, reason="too-large", detail=f"more than {max_bytes} bytes")
    try:
        body = decode_http_body(raw, http, max_bytes=max_bytes)
    except BodyError as exc:
        return ArchiveRecord(**base, reason=exc.reason, detail=exc.detail)
    if not mime and not _looks_like_html(body):
        return ArchiveRecord(**base, reason="not-html", detail="no content type, not HTML")
    url = normalize_url(uri) if uri else None
    doc = Document(
        body=body,
        input=f"{name}@{offset}",
        url=url or uri,
        kind="html",
        content_type=ctype or None,
        fetched_at=warc_date(headers.get_header("WARC-Date")),
        etag=http.get_header("ETag"),
        last_modified=http.get_header("Last-Modified"),
    )
    return ArchiveRecord(**base, doc=doc)


def _truncated(record: Any) -> bool:
    """Whether the record's block ended before its Content-Length (a cut-off file)."""
    stream = record.raw_stream
    return getattr(stream, "limit", 0) > 0


def _looks_like_html(body: bytes) -> bool:
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--"))


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """warcio prints a warning about a bad record on stderr; we record it instead."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}"[:300]


def warc_date(value: str | None) -> str | None:
    """A WARC-Date (``2024-05-01T10:00:00Z``, maybe with fractions) as newsmill stores
    times (ISO 8601, seconds, UTC offset); None when it is missing or unreadable."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC).isoformat(timespec="seconds")


class BodyError(ValueError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail


def decode_http_body(raw: bytes, http: Any, *, max_bytes: int) -> bytes:
    """Undo the transfer encoding (chunked) and the content encoding (gzip, deflate, br,
    zstd) of a recorded HTTP body, within ``max_bytes``; raise :class:`BodyError`."""
    transfer = (http.get_header("Transfer-Encoding") or "").lower()
    if "chunked" in transfer:
        raw = dechunk(raw)
    encoding = (http.get_header("Content-Encoding") or "").strip().lower()
    if encoding in ("", "identity", "none"):
        return raw
    return decompress(raw, encoding, max_bytes=max_bytes)


def dechunk(data: bytes) -> bytes:
    """The body of an HTTP/1.1 chunked message; raise :class:`BodyError` when the chunks
    are malformed (a reader that passed them through would store the chunk sizes as text)."""
    out = bytearray()
    pos = 0
    while True:
        line_end = data.find(b"\r\n", pos)
        if line_end < 0:
            raise BodyError("bad-chunked-encoding", f"no chunk size line at byte {pos}")
        size_text = data[pos:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise BodyError("bad-chunked-encoding", f"bad chunk size {size_text[:20]!r}") from None
        if size < 0:
            raise BodyError("bad-chunked-encoding", "negative chunk size")
        start = line_end + 2
        if size == 0:
            return bytes(out)
        if start + size > len(data):
            raise BodyError("bad-chunked-encoding", "a chunk runs past the end of the body")
        out += data[start : start + size]
        pos = start + size
        if data[pos : pos + 2] != b"\r\n":
            raise BodyError("bad-chunked-encoding", f"no CRLF after the chunk at byte {start}")
        pos += 2


def decompress(data: bytes, encoding: str, *, max_bytes: int) -> bytes:
    """Undo one Content-Encoding, never producing more than ``max_bytes``."""
    try:
        if encoding in ("gzip", "x-gzip", "deflate"):
            wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
            if encoding == "deflate" and data[:1] != b"\x78":
                wbits = -zlib.MAX_WBITS  # raw deflate, as some servers send it
            decompressor = zlib.decompressobj(wbits=wbits)
            out = decompressor.decompress(data, max_bytes + 1)
            if len(out) <= max_bytes and not decompressor.eof:
                # A cut-off body would be stored as a cut-off article, silently.
                raise BodyError(
                    "bad-content-encoding",
                    f"{encoding}: the body ends mid-stream ({len(out)} bytes decompressed)",
                )
        elif encoding == "br":
            import brotli  # type: ignore[import-not-found]

            out = brotli.decompress(data)
        elif encoding == "zstd":
            import zstandard

            out = zstandard.ZstdDecompressor().decompressobj().decompress(data)
        else:
            raise BodyError("bad-content-encoding", f"unknown Content-Encoding {encoding!r}")
    except BodyError:
        raise
    except ImportError:
        raise BodyError("bad-content-encoding", f"no decoder for {encoding!r}") from None
    except Exception as exc:
        raise BodyError("bad-content-encoding", f"{encoding}: {_describe(exc)}") from None
    if len(out) > max_bytes:
        raise BodyError("too-large", f"decompresses to more than {max_bytes} bytes")
    return out


def open_archive(path: Path) -> IO[bytes]:
    """Open an archive file for :func:`read_archive` (a regular file only: a FIFO would
    block an ingest for ever)."""
    if not stat.S_ISREG(path.stat().st_mode):
        raise ValueError("not-a-regular-file", "not a regular file")
    return open(path, "rb")
