"""WARC capture of a crawl: every response as received from the network, with its request.

Two parts. :class:`WarcCapture` is plain Python (no Scrapy): it writes request/response
pairs as gzipped WARC records (one gzip member per record, at zlib level 1; records and
digests by warcio's ``WARCWriter``) into files it rotates at a size, each starting with a
``warcinfo`` record.
:class:`WarcMiddleware` is the Scrapy downloader middleware that feeds it; newsmill's
add-on enables it when ``NEWSMILL_WARC_DIR`` is set (``newsmill crawl --warc DIR``).

What "as received" means here, and where it is not quite:

- The middleware sits at 950, next to the download handler: ``process_response`` runs in
  decreasing priority order, so it sees each response before HttpCompressionMiddleware
  (590) decodes it, before RedirectMiddleware (600) follows a 3xx and before RetryMiddleware
  (550) retries a 500. Both Scrapy handlers newsmill uses hand over the body still
  content-encoded (the aiohttp one runs with ``auto_decompress=False``; Twisted's never
  decodes), so the record keeps ``Content-Encoding`` and the encoded bytes: a reader that
  undoes the encoding (warcio's ``content_stream()``) gets the bytes the pipeline saw.
- Both handlers have already undone chunked transfer-encoding. The record drops
  ``Transfer-Encoding`` and sets ``Content-Length`` to the body's length, so the headers
  describe the bytes that follow them (304, 204, 1xx: no body, headers kept).
- Scrapy keeps neither the reason phrase (the standard one is written) nor header case and
  order (names are written as Scrapy title-cases them, grouped by name). Header values that
  are not ASCII are %-encoded by warcio (RFC 8187).
- A download newsmill stops on purpose (a link to an image, cut after its first 4 KB) is
  recorded with the bytes received and ``WARC-Truncated: unspecified`` (unless they were
  all of it); a body cut by a dropped connection
  (Scrapy's ``dataloss`` flag) with ``WARC-Truncated: disconnect``. A response over
  ``DOWNLOAD_MAXSIZE`` that the handler cancels, a timeout and a refused connection give no
  response and no record; requests newsmill refuses (unsafe address, robots.txt) are never
  sent. Responses served from Scrapy's HTTP cache (``cached`` flag) are not fetches and are
  not recorded.
- A response to a request of newsmill's spider says what the crawl fetched it as, in an
  extension field ``Newsmill-Role`` (``article``, or ``start``, ``feed``, ``sitemap``,
  ``robots``... for hubs): a section page is a hub to the crawl but would look like a
  (poor) article to a reader of the archive that can't tell.
- ``WARC-Date`` of both records is when the download began (the response's arrival minus
  Scrapy's ``download_latency``), with microseconds in WARC/1.1.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http
import io
import json
import logging
import os
import socket
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured, StopDownload
from scrapy.utils.defer import deferred_from_coro
from warcio.statusandheaders import StatusAndHeaders
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from newsmill.archive import CRAWL_ROLE_HEADER
from newsmill.crawl.addon import newsmill_version

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

logger = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 1024**3
# The close reason of a crawl stopped because the archive could not be written; the runner
# reports such a run as failed.
WARC_ERROR_REASON = "newsmill_warc_error"
WARC_SPEC = "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"


class WarcError(Exception):
    """The archive can't be written (not a directory, no permission, disk full)."""


@dataclass(frozen=True, kw_only=True)
class Exchange:
    """One HTTP request and its response, as they went over the wire (bodies in full)."""

    url: str
    started: dt.datetime  # UTC, when the download began
    method: str = "GET"
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    request_body: bytes = b""
    protocol: str = "HTTP/1.1"
    status: int = 200
    response_headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    ip_address: str | None = None
    truncated: str | None = None  # WARC-Truncated: "unspecified", "disconnect", ...
    role: str | None = None  # newsmill's Newsmill-Role: article, start, feed, sitemap, ...


def prepare_directory(directory: Path) -> Path:
    """Create ``directory`` if needed and check that files can be created in it."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise WarcError(f"{directory} exists and is not a directory") from None
    except OSError as exc:
        raise WarcError(f"cannot create {directory}: {exc.strerror or exc}") from None
    if not directory.is_dir():
        raise WarcError(f"{directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise WarcError(f"cannot write to {directory}: permission denied")
    return directory


class WarcCapture:
    """Write request/response pairs into rotating ``.warc.gz`` files in one directory.

    Files are named ``<prefix>-<UTC time opened>-<run id>-<serial>.warc.gz`` and never
    overwrite an existing file (opened with ``O_EXCL``; a name taken moves on to the next
    serial). A file is opened at the first pair written to it and starts with a
    ``warcinfo`` record. A pair that would take a file that already holds one past
    ``max_size`` goes to a new file, so files stay under the size unless one pair alone is
    bigger, and no record is ever split across files.

    Each pair is built in memory (Scrapy holds the body there anyway) and written with
    plain ``os.write`` calls, straight to the kernel: a crawl killed at any moment leaves
    every file readable up to its last complete pair. A failed write (disk full) cuts the
    file back to its last complete pair and raises :class:`WarcError`.
    """

    def __init__(
        self,
        directory: Path,
        *,
        run_id: str,
        max_size: int = DEFAULT_MAX_SIZE,
        info: dict[str, str] | None = None,
        prefix: str = "newsmill",
        warc_version: str = "1.1",
        compress_level: int = 1,
    ) -> None:
        self.directory = prepare_directory(directory)
        self.run_id = run_id
        self.max_size = max_size
        self.info = dict(info or {})
        self.prefix = prefix
        self.warc_version = warc_version
        self.files: list[Path] = []
        self.pairs = 0
        self._serial = 0
        self._fd: int | None = None
        self._size = 0
        self._pairs_in_file = 0
        self._buffer = io.BytesIO()
        # warcio's own gzip (WARCWriter(gzip=True)) compresses at level 9: on a crawl of
        # 1,000 local pages (176 MB of records) that was 10 s of the crawling process's
        # CPU; level 1 took 2.4 s for files 16% larger (44 MB instead of 38 MB).
        self.compress_level = compress_level
        self._writer = WARCWriter(self._buffer, gzip=False, warc_version=warc_version)

    # -- writing ---------------------------------------------------------------------------

    def write(self, exchange: Exchange) -> None:
        """Append ``exchange`` as a request record and a response record."""
        data = self._pair_bytes(exchange)
        if (
            self._fd is not None
            and self._pairs_in_file
            and self._size + len(data) > (self.max_size)
        ):
            self.close()
        if self._fd is None:
            self._open()
        self._append(data)
        self._pairs_in_file += 1
        self.pairs += 1

    def close(self) -> None:
        """Close the current file; the next pair opens a new one."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> WarcCapture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _open(self) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
        while True:
            name = f"{self.prefix}-{stamp}-{self.run_id}-{self._serial:05d}.warc.gz"
            path = self.directory / name
            self._serial += 1
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                continue
            except OSError as exc:
                raise WarcError(f"cannot create {path}: {exc.strerror or exc}") from None
            break
        self._fd, self._size, self._pairs_in_file = fd, 0, 0
        self.files.append(path)
        self._append(self._records_bytes([self._warcinfo(name)]))

    def _append(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            path = self.files[-1]
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._size)
            self.close()
            raise WarcError(f"cannot write {path}: {exc.strerror or exc}") from None
        self._size += len(data)

    def _records_bytes(self, records: list[Any]) -> bytes:
        """Serialize records, one gzip member each; warcio computes the digests."""
        out = []
        for record in records:
            self._buffer.seek(0)
            self._buffer.truncate()
            self._writer.write_record(record)
            gz = zlib.compressobj(self.compress_level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            out.append(gz.compress(self._buffer.getvalue()) + gz.flush())
        return b"".join(out)

    def _warcinfo(self, filename: str) -> Any:
        info = {
            "software": "newsmill",
            "format": f"WARC File Format {self.warc_version}",
            "conformsTo": WARC_SPEC,
            "hostname": socket.gethostname(),
            "isPartOf": f"{self.prefix}-run-{self.run_id}",
            **self.info,
        }
        return self._writer.create_warcinfo_record(filename, info)

    def _pair_bytes(self, exchange: Exchange) -> bytes:
        """The response record, then its request record, each naming the other in
        ``WARC-Concurrent-To``."""
        use_micros = self.warc_version != "1.0"
        started = exchange.started.astimezone(dt.UTC).replace(tzinfo=None)
        date = datetime_to_iso_date(started, use_micros=use_micros)
        response = self._response_record(exchange, date)
        request = self._request_record(exchange, date)
        response_id = response.rec_headers.get_header("WARC-Record-ID")
        request_id = request.rec_headers.get_header("WARC-Record-ID")
        response.rec_headers.add_header("WARC-Concurrent-To", request_id)
        request.rec_headers.add_header("WARC-Concurrent-To", response_id)
        return self._records_bytes([response, request])

    def _response_record(self, exchange: Exchange, date: str) -> Any:
        warc_headers = {"WARC-Date": date}
        if exchange.ip_address:
            warc_headers["WARC-IP-Address"] = exchange.ip_address
        if exchange.truncated:
            warc_headers["WARC-Truncated"] = exchange.truncated
        if exchange.role:
            warc_headers[CRAWL_ROLE_HEADER] = exchange.role
        http_headers = StatusAndHeaders(
            f"{exchange.status} {_reason(exchange.status)}",
            recorded_headers(exchange.response_headers, exchange),
            protocol=exchange.protocol,
        )
        return self._writer.create_warc_record(
            exchange.url,
            "response",
            payload=io.BytesIO(exchange.body),
            length=len(exchange.body),
            warc_headers_dict=warc_headers,
            http_headers=http_headers,
        )

    def _request_record(self, exchange: Exchange, date: str) -> Any:
        parts = urlsplit(exchange.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = list(exchange.request_headers)
        if not any(name.lower() == "host" for name, _ in headers):
            headers.insert(0, ("Host", parts.netloc))
        http_headers = StatusAndHeaders(
            f"{exchange.method} {target} {exchange.protocol}", headers, is_http_request=True
        )
        return self._writer.create_warc_record(
            exchange.url,
            "request",
            payload=io.BytesIO(exchange.request_body),
            length=len(exchange.request_body),
            warc_headers_dict={"WARC-Date": date},
            http_headers=http_headers,
        )


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _has_body(exchange: Exchange) -> bool:
    status = exchange.status
    return exchange.method != "HEAD" and status >= 200 and status not in (204, 304)


def recorded_headers(headers: list[tuple[str, str]], exchange: Exchange) -> list[tuple[str, str]]:
    """The response headers as written: chunking undone (no ``Transfer-Encoding``) and a
    ``Content-Length`` that is the length of the body recorded after them."""
    kept = [(k, v) for k, v in headers if k.lower() != "transfer-encoding"]
    if not _has_body(exchange):
        return kept
    kept = [(k, v) for k, v in kept if k.lower() != "content-length"]
    kept.append(("Content-Length", str(len(exchange.body))))
    return kept


# -- Scrapy ------------------------------------------------------------------------------


def _header_list(headers: Any) -> list[tuple[str, str]]:
    """Scrapy ``Headers`` (bytes names, lists of bytes values) as (str, str) pairs."""
    pairs = []
    for name, values in headers.items():
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        for value in values:
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            pairs.append((key, text))
    return pairs


def exchange_from(request: Request, response: Response) -> Exchange:
    """What Scrapy knows of one fetch, as an :class:`Exchange`."""
    latency = float(request.meta.get("download_latency") or 0.0)
    return Exchange(
        url=response.url,
        started=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=latency),
        method=request.method,
        request_headers=_header_list(request.headers),
        request_body=request.body or b"",
        protocol=response.protocol or "HTTP/1.1",
        status=response.status,
        response_headers=_header_list(response.headers),
        body=response.body,
        ip_address=str(response.ip_address) if response.ip_address else None,
        truncated=_truncated(response),
        role=request.meta.get("newsmill_role"),
    )


def _truncated(response: Response) -> str | None:
    """``WARC-Truncated`` for a body cut short: stopped by newsmill (a PDF link, after its
    first bytes) unless those were all of it, or cut by the connection."""
    if "download_stopped" in response.flags:
        announced = response.headers.get(b"Content-Length")
        if announced is None or announced != str(len(response.body)).encode():
            return "unspecified"
    if "dataloss" in response.flags:
        return "disconnect"
    return None


class WarcMiddleware:
    """Record every response (and its request) that reaches the downloader into WARC files.

    Settings: ``NEWSMILL_WARC_DIR`` (required; the middleware is off without it),
    ``NEWSMILL_WARC_MAX_SIZE`` (bytes, default 1 GiB), ``NEWSMILL_WARC_INFO`` (a dict of
    extra ``warcinfo`` fields). The files are opened at the first response and closed when
    the spider closes. If the archive can't be written (disk full), the crawl is stopped
    with close reason ``newsmill_warc_error`` and one error line: a crawl whose archive
    was asked for and silently lost would be worse than a crawl cut short.
    """

    def __init__(self, crawler: Crawler, directory: Path, max_size: int) -> None:
        self.crawler = crawler
        self.directory = prepare_directory(directory)
        self.max_size = max_size
        self.capture: WarcCapture | None = None
        self.failed = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcMiddleware:
        settings = crawler.settings
        directory = settings.get("NEWSMILL_WARC_DIR")
        if not directory:
            raise NotConfigured("NEWSMILL_WARC_DIR is not set")
        max_size = settings.getint("NEWSMILL_WARC_MAX_SIZE", DEFAULT_MAX_SIZE)
        middleware = cls(crawler, Path(directory), max_size)
        crawler.signals.connect(middleware._spider_closed, signal=signals.spider_closed)
        return middleware

    def process_response(self, request: Request, response: Response) -> Response:
        if "cached" not in response.flags:
            self._record(request, response)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        response = getattr(exception, "response", None)
        if isinstance(exception, StopDownload) and response is not None:
            self._record(request, response)

    def _record(self, request: Request, response: Response) -> None:
        if self.failed:
            return
        try:
            if self.capture is None:
                self.capture = self._open_capture()
            self.capture.write(exchange_from(request, response))
        except WarcError as exc:
            self._fail(exc)
            return
        if self.crawler.stats:
            self.crawler.stats.inc_value("newsmill/warc_records", 2)

    def _open_capture(self) -> WarcCapture:
        settings = self.crawler.settings
        info = {
            "software": f"newsmill/{newsmill_version()}",
            "http-header-user-agent": settings.get("USER_AGENT") or "",
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "description": f"newsmill crawl, spider {getattr(self.crawler.spider, 'name', '?')}",
        }
        for key, value in (settings.getdict("NEWSMILL_WARC_INFO") or {}).items():
            info[str(key)] = value if isinstance(value, str) else json.dumps(value, default=str)
        return WarcCapture(self.directory, run_id=self._run_id(), max_size=self.max_size, info=info)

    def _run_id(self) -> str:
        """The newsmill run this crawl records into: the spider's (``newsmill crawl``) or
        the pipeline's (the add-on in another project); else a random id."""
        run = getattr(self.crawler.spider, "newsmill_run", None)
        if run is None:
            scraper = getattr(self.crawler.engine, "scraper", None)
            components = getattr(getattr(scraper, "itemproc", None), "middlewares", ())
            runs = [getattr(c, "run", None) for c in components]
            run = next((r for r in runs if getattr(r, "run_id", None) is not None), None)
        if run is not None:
            return str(run.run_id)
        return uuid.uuid4().hex[:12]

    def _fail(self, exc: WarcError) -> None:
        self.failed = True
        logger.error("WARC archive: %s; stopping the crawl", exc)
        if self.crawler.stats:
            self.crawler.stats.set_value("newsmill/warc_error", str(exc))
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason=WARC_ERROR_REASON))

    def _spider_closed(self, spider: Any, reason: str) -> None:
        if self.capture is not None:
            self.capture.close()
            logger.info(
                "WARC archive: %d responses in %d files in %s",
                self.capture.pairs,
                len(self.capture.files),
                self.directory,
            )
