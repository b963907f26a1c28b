"""Web archives for the tests, written with warcio (the library newsmill reads them with)."""

from __future__ import annotations

import gzip
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


@dataclass
class Response:
    """One HTTP exchange to archive."""

    url: str
    body: bytes
    status: str = "200 OK"
    headers: list[tuple[str, str]] = field(
        default_factory=lambda: [("Content-Type", "text/html; charset=utf-8")]
    )
    date: str = "2026-11-20T08:30:00Z"
    kind: str = "response"  # or "revisit", "resource", ...
    with_request: bool = True
    warc_headers: dict[str, str] = field(default_factory=dict)  # more WARC headers


def write_warc(path: Path, responses: Iterable[Response], *, gzip_records: bool = True) -> Path:
    """A WARC file (gzip per record when ``gzip_records``) with a warcinfo record and a
    request/response pair per exchange."""
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=gzip_records)
        info = writer.create_warcinfo_record(path.name, {"software": "newsmill tests"})
        writer.write_record(info)
        for item in responses:
            writer.write_record(response_record(writer, item))
            if item.with_request:
                request = writer.create_warc_record(
                    item.url,
                    "request",
                    payload=io.BytesIO(b""),
                    http_headers=StatusAndHeaders(
                        f"GET {item.url} HTTP/1.1", [("Host", "x")], is_http_request=True
                    ),
                )
                writer.write_record(request)
    return path


def response_record(writer: WARCWriter, item: Response):
    http = StatusAndHeaders(item.status, list(item.headers), protocol="HTTP/1.1")
    warc_headers = {"WARC-Date": item.date, **item.warc_headers}
    if item.kind == "revisit":
        warc_headers["WARC-Profile"] = (
            "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
        )
        warc_headers["WARC-Refers-To-Target-URI"] = item.url
        return writer.create_warc_record(
            item.url, "revisit", http_headers=http, warc_headers_dict=warc_headers
        )
    return writer.create_warc_record(
        item.url,
        item.kind,
        payload=io.BytesIO(item.body),
        http_headers=http,
        warc_headers_dict=warc_headers,
    )


def gzipped(body: bytes) -> bytes:
    return gzip.compress(body)


def chunked(body: bytes, size: int = 700) -> bytes:
    """``body`` in HTTP/1.1 chunked framing."""
    out = b""
    for start in range(0, len(body), size):
        piece = body[start : start + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def write_arc(path: Path, pages: Iterable[tuple[str, bytes]]) -> Path:
    """An ARC (version 1) file, gzip per record, of ``(url, HTML)`` 200 responses."""
    pages = list(pages)

    def arc_record(url: str, ip: str, date: str, ctype: str, block: bytes) -> bytes:
        header = f"{url} {ip} {date} {ctype} {len(block)}\n".encode()
        return gzip.compress(header + block + b"\n")

    desc_body = b"1 0 newsmill-tests\nURL IP-address Archive-date Content-type Archive-length\n"
    out = arc_record("filedesc://test.arc", "0.0.0.0", "20261120083000", "text/plain", desc_body)
    for url, html in pages:
        block = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            + f"Content-Length: {len(html)}\r\n\r\n".encode()
            + html
        )
        out += arc_record(url, "127.0.0.1", "20261120083000", "text/html", block)
    path.write_bytes(out)
    return path
