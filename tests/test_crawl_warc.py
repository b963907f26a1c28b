"""``newsmill crawl --warc DIR``: WARC capture of a crawl, end to end and in units.

The crawl runs the real CLI against the fixture sites of ``tests/crawlsite.py`` plus a third
site (``127.0.0.4``) that answers with chunked transfer-encoding and gzip content-encoding,
which the fixture server never does.
"""

from __future__ import annotations

import datetime as dt
import errno
import gzip
import http.server
import os
import sqlite3
import subprocess
import sys
import threading
import zlib
from collections import Counter
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from newsmill.crawl.warc import (
    WARC_ERROR_REASON,
    Exchange,
    WarcCapture,
    WarcError,
    WarcMiddleware,
)

from .conftest import run_cli
from .crawlsite import SLOW_SECONDS, Site, article_html, build_sites, paragraphs

FAST = ["--delay", "0", "--timeout", "1", "--retries", "1", "--workers", "2"]
NEWS = "/news/2024/05/"
# Fetched by the fixture server but never answered in full: the slow page times out, and
# the huge one announces a Content-Length over --max-size, so the handler cancels it.
NO_RESPONSE = (NEWS + "slow-story", NEWS + "huge-story")
assert SLOW_SECONDS > 1


# -- a site that chunks and gzips ----------------------------------------------------------


def _story(slug: str, title: str) -> bytes:
    return article_html(
        title, paragraphs(slug, f"{slug} chunked gzip"), site="Coast Weekly"
    ).encode()


class ChunkedSite:
    """path -> (headers, body, chunked); gzip bodies are sent as stored (encoded)."""

    def __init__(self, host: str = "127.0.0.4") -> None:
        self.host = host
        self.routes: dict[str, tuple[dict[str, str], bytes, bool]] = {}
        self.log: list[str] = []
        self.plain: dict[str, bytes] = {}  # path -> body before content-encoding
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                site.log.append(self.path)
                headers, body, chunked = site.routes.get(
                    self.path, ({"Content-Type": "text/html"}, b"<h1>404</h1>", False)
                )
                self.send_response(200 if self.path in site.routes else 404)
                for name, value in headers.items():
                    self.send_header(name, value)
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    for i in range(0, len(body), 700):
                        part = body[i : i + 700]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                    self.wfile.write(b"0\r\n\r\n")
                else:
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def add(self, path: str, body: bytes, ctype: str, *, chunked: bool, gzipped: bool) -> None:
        self.plain[path] = body
        headers = {"Content-Type": ctype}
        if gzipped:
            headers["Content-Encoding"] = "gzip"
            body = gzip.compress(body, mtime=0)
        self.routes[path] = (headers, body, chunked)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def build_chunked_site() -> ChunkedSite:
    c = ChunkedSite()
    html = "text/html; charset=utf-8"
    c.add("/robots.txt", b"User-agent: *\nDisallow:\n", "text/plain", chunked=False, gzipped=False)
    stories = {
        "gzip-story": ("Pier lights restored after storm", False, True),
        "chunked-story": ("Harbour choir wins county prize", True, False),
        "chunked-gzip-story": ("Ferry timetable changes for winter", True, True),
    }
    for slug, (title, chunked, gzipped) in stories.items():
        c.add(NEWS + slug, _story(slug, title), html, chunked=chunked, gzipped=gzipped)
    # not a page: newsmill stops the download after its first 4 KB
    c.add(
        NEWS + "photo-story",
        b"\xff\xd8\xff\xe0" + os.urandom(1 << 20),
        "image/jpeg",
        chunked=False,
        gzipped=False,
    )
    stories["photo-story"] = ("", False, False)
    items = "".join(f"<item><link>{c.url(NEWS + slug)}</link></item>" for slug in stories)
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel>{items}</channel></rss>'
    c.add("/feed.xml", feed.encode(), "application/rss+xml", chunked=True, gzipped=True)
    return c


# -- reading archives ------------------------------------------------------------------------


def warc_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.warc.gz"))


def records(path: Path) -> list[dict]:
    """Every record of a file, digests checked (a mismatch raises)."""
    out = []
    with path.open("rb") as f:
        for rec in ArchiveIterator(f, check_digests="raise"):
            raw = rec.raw_stream.read() if rec.http_headers else b""
            item = {
                "type": rec.rec_type,
                "headers": dict(rec.rec_headers.headers),
                "http": rec.http_headers,
                "raw": raw,
            }
            if rec.rec_type == "warcinfo":
                item["info"] = rec.content_stream().read().decode()
            out.append(item)
    # decoded bodies: warcio undoes Content-Encoding for us in content_stream()
    with path.open("rb") as f:
        decoded = [
            rec.content_stream().read()
            for rec in ArchiveIterator(f)
            if rec.rec_type in ("response", "request")
        ]
    for item, body in zip((r for r in out if r["type"] != "warcinfo"), decoded, strict=True):
        item["decoded"] = body
    return out


def warcio_check(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warcio.cli", "check", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )


# -- the crawl ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sites():
    intranet = Site("intranet", "127.0.0.2")
    intranet.start()
    a, b = build_sites(intranet.port)
    c = build_chunked_site()
    yield a, b, c
    for site in (a, b, intranet, c):
        site.stop()


@pytest.fixture(scope="module")
def crawled(sites, tmp_path_factory):
    a, b, c = sites
    tmp = tmp_path_factory.mktemp("warc")
    sources = tmp / "sources.toml"
    sources.write_text(
        f'[[source]]\nname = "harbour"\nurls = ["{a.url("/")}", "{a.url("/news/")}"]\n'
    )
    db = tmp / "a.db"
    result = run_cli(
        "crawl",
        "--sources",
        str(sources),
        b.url("/feed.xml"),
        c.url("/feed.xml"),
        *FAST,
        "--warc",
        str(tmp / "warc"),
        db=db,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    files = warc_files(tmp / "warc")
    return {
        "tmp": tmp,
        "db": db,
        "result": result,
        "files": files,
        "records": [r for path in files for r in records(path)],
        "a": a,
        "b": b,
        "c": c,
    }


def responses(crawled) -> list[dict]:
    return [r for r in crawled["records"] if r["type"] == "response"]


def target(record: dict) -> str:
    return record["headers"]["WARC-Target-URI"]


def test_warc_files_pass_warcio_check(crawled):
    assert len(crawled["files"]) == 1
    name = crawled["files"][0].name
    assert name.startswith("newsmill-") and name.endswith("-1-00000.warc.gz")
    check = warcio_check(*crawled["files"])
    assert check.returncode == 0, check.stdout + check.stderr
    for record in crawled["records"]:
        if record["type"] != "warcinfo":
            assert record["headers"]["WARC-Block-Digest"].startswith("sha1:")
            assert record["headers"]["WARC-Payload-Digest"].startswith("sha1:")


def test_warcio_check_catches_a_changed_byte(tmp_path):
    """The check the test above relies on fails on a payload that no longer matches."""
    with WarcCapture(tmp_path, run_id="7") as capture:
        capture.write(_exchange("http://x.example/a", b"<p>original body</p>"))
    good = capture.files[0]
    assert warcio_check(good).returncode == 0
    bad = tmp_path / "bad.warc"
    bad.write_bytes(gzip.decompress(good.read_bytes()).replace(b"original", b"0riginal"))
    assert warcio_check(bad).returncode != 0
    with pytest.raises(Exception, match="digest"), bad.open("rb") as f:
        for _ in ArchiveIterator(f, check_digests="raise"):
            pass


def test_first_record_is_warcinfo_naming_newsmill_and_the_run(crawled):
    first = crawled["records"][0]
    assert first["type"] == "warcinfo"
    info = first["info"]
    assert "software: newsmill/" in info
    assert "isPartOf: newsmill-run-1" in info
    assert "http-header-user-agent: newsmill/" in info
    assert '"warc_dir": ' in info and '"timeout": 1.0' in info  # the crawl's arguments
    assert first["headers"]["WARC-Filename"] == crawled["files"][0].name
    assert crawled["records"][0]["headers"]["WARC-Type"] == "warcinfo"
    assert sum(r["type"] == "warcinfo" for r in crawled["records"]) == 1


def test_a_request_and_response_pair_for_every_fetch(crawled):
    a, b, c = crawled["a"], crawled["b"], crawled["c"]
    served = Counter(h.host + h.path for s in (a, b) for h in s.log)
    served.update(c.host + p for p in c.log)
    for path in NO_RESPONSE:
        del served[a.host + path]
    recorded = Counter(
        target(r).split("//", 1)[1].replace(f":{a.port}", "").replace(f":{b.port}", "")
        for r in responses(crawled)
    )
    recorded = Counter({k.replace(f":{c.port}", ""): v for k, v in recorded.items()})
    assert recorded == served
    # robots.txt, feeds and sitemaps, redirects and errors are in the archive too
    statuses = {
        target(r).split(str(a.port), 1)[-1]: r["http"].get_statuscode() for r in responses(crawled)
    }
    for path in ("/robots.txt", "/rss.xml", "/sitemap_index.xml", "/sitemaps/archive.gz"):
        assert statuses[path] == "200"
    assert statuses["/news/old-link-to-bakery"] == "301"
    roles = {
        target(r).split(str(a.port), 1)[-1]: r["headers"].get("Newsmill-Role")
        for r in responses(crawled)
    }
    assert roles["/news/"] == "start" and roles["/rss.xml"] == "feed"
    assert roles[NEWS + "council-budget-vote"] == "article"
    assert statuses[NEWS + "gone-story"] == "404"
    assert Counter(
        r["http"].get_statuscode() for r in responses(crawled) if "flaky-story" in target(r)
    ) == Counter({"500": 1, "200": 1})
    # each response is paired with its request, both ways
    by_id = {r["headers"]["WARC-Record-ID"]: r for r in crawled["records"]}
    for response in responses(crawled):
        request = by_id[response["headers"]["WARC-Concurrent-To"]]
        assert request["type"] == "request"
        assert request["headers"]["WARC-Concurrent-To"] == response["headers"]["WARC-Record-ID"]
        assert target(request) == target(response)
        assert request["headers"]["WARC-Date"] == response["headers"]["WARC-Date"]
        assert request["http"].protocol == "GET"
        assert request["http"].get_header("User-Agent").startswith("newsmill/")
        assert response["headers"]["WARC-IP-Address"] in ("127.0.0.1", "127.0.0.3", "127.0.0.4")
    assert len(by_id) == 1 + 2 * len(responses(crawled))


def test_response_bodies_are_what_the_server_sent(crawled):
    a, b = crawled["a"], crawled["b"]
    checked = 0
    for record in responses(crawled):
        site = next((s for s in (a, b) if f"{s.host}:{s.port}/" in target(record)), None)
        if site is None:
            continue  # site C: see the next test
        path = target(record).split(f":{site.port}", 1)[1]
        route = site.routes.get(path)
        if route is None or record["http"].get_statuscode() != "200" or "story" in path:
            continue  # 404s, and stories whose route answers differently each call
        _, headers, body = route()
        assert record["raw"] == body, path
        assert record["http"].get_header("Content-Type") == headers["Content-Type"]
        checked += 1
    assert checked >= 10
    # the gzip bomb is kept as sent: 40 KB of gzip, not the 40 MB it expands to
    (bomb,) = [r for r in responses(crawled) if "zipped-bomb" in target(r)]
    assert bomb["http"].get_header("Content-Encoding") == "gzip"
    assert len(bomb["raw"]) < 100_000
    # a download newsmill stopped (a PDF) is marked truncated only if it is
    (pdf,) = [r for r in responses(crawled) if "annual-report" in target(r)]
    sent = a.routes["/files/2024/annual-report-2024"]()[2]
    assert sent.startswith(pdf["raw"])
    if len(pdf["raw"]) < len(sent):
        assert pdf["headers"]["WARC-Truncated"] == "unspecified"
    else:
        assert "WARC-Truncated" not in pdf["headers"]


def test_chunked_and_gzipped_responses_are_recorded_consistently(crawled):
    c = crawled["c"]
    seen = set()
    for record in responses(crawled):
        if f":{c.port}/" not in target(record):
            continue
        path = target(record).split(f":{c.port}", 1)[1]
        headers, sent, _ = c.routes[path]
        http_headers = record["http"]
        assert http_headers.get_header("Transfer-Encoding") is None
        assert http_headers.get_header("Content-Length") == str(len(record["raw"]))
        assert http_headers.get_header("Content-Encoding") == headers.get("Content-Encoding")
        if path.endswith("photo-story"):
            # the crawl stops an image after its first 4 KB; on loopback the whole body may
            # be in by then: either way the record says truthfully what it holds
            assert len(record["raw"]) >= 4096 and sent.startswith(record["raw"])
            if len(record["raw"]) < len(sent):
                assert record["headers"]["WARC-Truncated"] == "unspecified"
            else:
                assert "WARC-Truncated" not in record["headers"]
        else:
            assert record["raw"] == sent  # de-chunked, still gzip-encoded
            assert record["decoded"] == c.plain[path]  # what the pipeline saw
            assert "WARC-Truncated" not in record["headers"]
        seen.add(path)
    assert seen == set(c.routes)


def test_articles_stored_from_chunked_and_gzipped_pages(crawled):
    with sqlite3.connect(crawled["db"]) as conn:
        titles = {t for (t,) in conn.execute("select title from articles")}
    assert {"Pier lights restored after storm", "Ferry timetable changes for winter"} <= titles


# -- rotation ---------------------------------------------------------------------------------


def test_rotation_splits_files_without_splitting_or_losing_records(sites, tmp_path):
    _, b, c = sites
    marks = len(b.log), len(c.log)
    result = run_cli(
        "crawl",
        b.url("/feed.xml"),
        c.url("/feed.xml"),
        *FAST,
        "--warc",
        str(tmp_path / "warc"),
        "--warc-max-size",
        "3KB",
        db=tmp_path / "news.db",
    )
    assert result.returncode == 0, result.stderr
    fetched = len(b.log) - marks[0] + len(c.log) - marks[1]
    files = warc_files(tmp_path / "warc")
    assert len(files) >= 4
    assert warcio_check(*files).returncode == 0
    serials = [int(p.name.rsplit("-", 1)[1].split(".")[0]) for p in files]
    assert serials == list(range(len(files)))
    pairs = 0
    for path in files:
        recs = records(path)
        assert recs[0]["type"] == "warcinfo"
        assert sum(r["type"] == "warcinfo" for r in recs) == 1
        rest = recs[1:]
        ids = {r["headers"]["WARC-Record-ID"] for r in rest}
        # whole pairs only: every record's partner is in the same file
        assert all(r["headers"]["WARC-Concurrent-To"] in ids for r in rest)
        pairs += sum(r["type"] == "response" for r in rest)
        if len(rest) > 2:  # a file holding more than one pair stays under the size
            assert path.stat().st_size <= 3 * 1024
    assert pairs == fetched


# -- errors ----------------------------------------------------------------------------------


def test_warc_dir_that_is_a_file_is_a_usage_error_before_crawling(sites, tmp_path):
    _, b, _ = sites
    not_a_dir = tmp_path / "archive"
    not_a_dir.write_text("x")
    mark = len(b.log)
    result = run_cli(
        "crawl", b.url("/feed.xml"), *FAST, "--warc", str(not_a_dir), db=tmp_path / "n.db"
    )
    assert result.returncode == 2
    assert "--warc" in result.stderr and "is a file" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(b.log) == mark  # nothing was fetched


def _exchange(url: str, body: bytes, **kwargs) -> Exchange:
    return Exchange(
        url=url,
        started=dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
        request_headers=[("User-Agent", "test")],
        response_headers=[
            ("Content-Type", "text/html"),
            ("Transfer-Encoding", "chunked"),
        ],
        body=body,
        **kwargs,
    )


def test_capture_headers_dates_and_never_overwriting(tmp_path):
    with WarcCapture(tmp_path, run_id="3", warc_version="1.0") as capture:
        capture.write(_exchange("http://x.example/p?q=1", b"abc", ip_address="192.0.2.1"))
    (path,) = capture.files
    recs = records(path)
    response, request = recs[1], recs[2]
    assert response["headers"]["WARC-Date"] == "2026-01-02T03:04:05Z"  # 1.0: seconds only
    assert recs[0]["headers"]["WARC-Filename"] == path.name
    assert response["http"].get_header("Content-Length") == "3"
    assert response["http"].get_header("Transfer-Encoding") is None
    assert response["headers"]["WARC-IP-Address"] == "192.0.2.1"
    assert request["http"].to_str().startswith("GET /p?q=1 HTTP/1.1")
    assert request["http"].get_header("Host") == "x.example"
    # a name already taken is skipped, not overwritten: take serial 0 for the next seconds
    now = dt.datetime.now(dt.UTC)
    taken = {
        tmp_path / f"newsmill-{(now + dt.timedelta(seconds=i)):%Y%m%d%H%M%S}-4-00000.warc.gz"
        for i in range(3)
    }
    for path in taken:
        path.write_bytes(b"keep")
    with WarcCapture(tmp_path, run_id="4", max_size=1) as capture:
        capture.write(_exchange("http://x.example/1", b"1"))
        capture.write(_exchange("http://x.example/2", b"2"))
    assert all(path.read_bytes() == b"keep" for path in taken)
    assert [p.name[-13:] for p in capture.files] == ["00001.warc.gz", "00002.warc.gz"]


def test_disk_full_cuts_the_file_back_to_its_last_whole_pair(tmp_path, monkeypatch):
    capture = WarcCapture(tmp_path, run_id="9")
    capture.write(_exchange("http://x.example/1", b"first"))
    size = capture.files[0].stat().st_size
    real_write = os.write

    def full(fd: int, data) -> int:
        real_write(fd, bytes(data)[:10])  # part of the pair reaches the disk, then ENOSPC
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("newsmill.crawl.warc.os.write", full)
    with pytest.raises(WarcError, match="No space left on device"):
        capture.write(_exchange("http://x.example/2", b"second"))
    monkeypatch.undo()
    assert capture.files[0].stat().st_size == size
    assert [r["type"] for r in records(capture.files[0])] == ["warcinfo", "response", "request"]


def test_write_error_stops_the_crawl_once(tmp_path, monkeypatch, caplog):
    """The middleware logs one error and closes the spider with a reason the runner
    reports as a failed run."""
    from scrapy.http import HtmlResponse, Request
    from scrapy.settings import Settings

    from newsmill.crawl.runner import _status

    closed: list[str] = []

    class Engine:
        spider = object()

        async def close_spider_async(self, *, reason: str) -> None:
            closed.append(reason)

    class Crawler:
        settings = Settings({"NEWSMILL_WARC_DIR": str(tmp_path)})
        stats = None
        spider = None
        engine = Engine()

    scheduled = []
    monkeypatch.setattr("newsmill.crawl.warc.deferred_from_coro", scheduled.append)
    middleware = WarcMiddleware(Crawler(), tmp_path, 1024)  # type: ignore[arg-type]

    def broken(*args) -> None:
        raise WarcError("cannot write x.warc.gz: No space left on device")

    monkeypatch.setattr(WarcCapture, "write", broken)
    request = Request("http://x.example/")
    response = HtmlResponse("http://x.example/", body=b"<p>x</p>", request=request)
    for _ in range(3):
        assert middleware.process_response(request, response) is response
    assert len(scheduled) == 1
    scheduled[0].close()
    assert [r.message for r in caplog.records if r.levelname == "ERROR"] == [
        "WARC archive: cannot write x.warc.gz: No space left on device; stopping the crawl"
    ]

    class Spider:
        newsmill_close_reason = WARC_ERROR_REASON
        truncated = False

    assert _status(Spider()) == "failed"  # type: ignore[arg-type]


# -- ingesting the archive --------------------------------------------------------------------


def test_ingesting_the_warc_gives_the_same_articles(crawled, tmp_path):
    db_b = tmp_path / "b.db"
    result = run_cli("ingest", *map(str, crawled["files"]), db=db_b, timeout=300)
    assert result.returncode == 0, result.stderr

    def hashes(db: Path) -> set[str]:
        with sqlite3.connect(db) as conn:
            return {h for (h,) in conn.execute("select hash from articles")}

    assert hashes(crawled["db"])
    assert hashes(db_b) == hashes(crawled["db"])


def test_gzip_member_per_record(crawled):
    """Each record is its own gzip member, so a reader can seek to any record."""
    data = crawled["files"][0].read_bytes()
    members = 0
    while data:
        member = zlib.decompressobj(16 + zlib.MAX_WBITS)
        assert member.decompress(data).startswith(b"WARC/1.1\r\n")
        data = member.unused_data
        members += 1
    assert members == len(crawled["records"])
