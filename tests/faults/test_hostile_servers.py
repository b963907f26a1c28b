"""``newsmill crawl`` against hostile and broken servers on 127.0.0.x (issue 6).

Three crawls through the real CLI, each module-scoped and shared by several tests:

* one over every transport and content case (trickles, silence, endless bodies, huge
  headers, redirect loops, wrong Content-Types, wrong charsets, 100,000 nested tags, XML
  bombs and external entities, odd links, failing robots.txt);
* one over a feed of 100,000 items;
* one over three hosts that answer every page with 429.

Each test asserts what was stored, what the events and the runs ledger say, what the
servers saw, and that the run ended within a (generous) bound.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from newsmill.pipeline import Document, analyze

from ..conftest import run_cli
from .hostile_site import (
    BAD_LINKS,
    CYRILLIC_PARAS,
    CYRILLIC_TITLE,
    HUGE_FEED_ITEMS,
    NEWS,
    STORM_PAGES,
    build_hostile_sites,
    build_storm_sites,
    nested_page,
)

REPO = Path(__file__).resolve().parents[2]
# No politeness delay, no retries (the 429 crawl sets its own).
FAST = ["--delay", "0", "--retries", "0", "--workers", "1"]
# The trickles and silent servers wait this long. With --delay 0 Scrapy hands a site's
# requests to the HTTP client at once, and they queue there for its 2 connections per
# host: a short timeout could catch a good page still waiting for a connection on a busy
# machine.
TIMEOUT = 3


def newsmill(*args: str, db: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = run_cli(*args, db=db, timeout=180)
    return result, time.monotonic() - started


def query(db: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def events(db: Path) -> dict[str, tuple[str, str | None]]:
    """input URL -> (outcome, reason)."""
    return {u: (o, r) for u, o, r in query(db, "select input, outcome, reason from events")}


def detail(db: Path, url: str) -> str:
    ((text,),) = query(db, "select detail from events where input = ?", url)
    return text or ""


def article_text(db: Path, title: str) -> str:
    rows = query(db, "select text from articles where title = ?", title)
    assert len(rows) == 1, f"{title!r} stored {len(rows)} times"
    return rows[0][0]


# -- the crawl over every transport and content case --------------------------------------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    sites = build_hostile_sites()
    m = sites.main
    start = [
        m.url("/news/"),
        m.url("/as-rss/"),
        m.url("/feeds/as-html"),
        m.url("/feeds/as-octets"),
        m.url("/feeds/links.xml"),
        m.url("/sitemaps/links.xml"),
        m.url("/feeds/bomb.xml"),
        m.url("/sitemaps/bomb.xml"),
        m.url("/feeds/xxe-file.xml"),
        m.url("/feeds/xxe-http.xml"),
        m.url("/sitemaps/xxe-file.xml"),
        m.url("/sitemaps/xxe-http.xml"),
        m.url("/feeds/external-dtd.xml"),
        m.url("/sitemaps/external-dtd.xml"),
        *(site.url("/news/") for site in sites.robots.values()),
        sites.robots_silent.url("/news/"),
    ]
    db = tmp_path_factory.mktemp("hostile") / "news.db"
    result, seconds = newsmill(
        "crawl", *start, *FAST, "--timeout", str(TIMEOUT), "--max-size", "2MB", "--json", db=db
    )
    yield {"sites": sites, "db": db, "result": result, "seconds": seconds}
    sites.stop()


def test_hostile_crawl_ends_cleanly_and_in_bounded_time(hostile):
    result = hostile["result"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert json.loads(result.stdout)["status"] == "ok"
    # four cases wait for the timeout; everything else is immediate
    assert hostile["seconds"] < 30


def test_trickle_silence_and_slow_headers_time_out(hostile):
    ev, raw = events(hostile["db"]), hostile["sites"].raw
    for slug in ("trickle-story", "silent-story", "slow-headers-story"):
        site = raw[NEWS + slug]
        assert ev[site.url(NEWS + slug)] == ("failed", "timeout"), slug
        # the request was sent once (no retries asked for), and abandoned
        assert [h.path for h in site.log if h.path != "/robots.txt"] == [NEWS + slug]
    assert f"took longer than {TIMEOUT:.1f} seconds" in detail(
        hostile["db"], raw[NEWS + "trickle-story"].url(NEWS + "trickle-story")
    )


def test_a_body_that_never_ends_stops_at_the_size_limit(hostile):
    site = hostile["sites"].raw[NEWS + "endless-story"]
    url = site.url(NEWS + "endless-story")
    assert events(hostile["db"])[url] == ("skipped", "too-large")
    assert "larger than download max size (2097152)" in detail(hostile["db"], url)


def test_huge_headers_are_refused(hostile):
    ev, raw = events(hostile["db"]), hostile["sites"].raw
    for slug in ("huge-header-story", "many-headers-story", "endless-headers-story"):
        url = raw[NEWS + slug].url(NEWS + slug)
        assert ev[url] == ("failed", "bad-headers"), slug
    titles = {t for (t,) in query(hostile["db"], "select title from articles")}
    assert not {"Huge header story", "Many headers story"} & titles


def test_redirect_loops_and_long_chains_are_recorded_and_bounded(hostile):
    db, m = hostile["db"], hostile["sites"].main
    ev = events(db)
    assert ev[m.url(NEWS + "loop-a")] == ("failed", "redirect-loop")
    assert ev[m.url(NEWS + "loop-self")] == ("failed", "redirect-loop")
    assert ev[m.url(NEWS + "chain-0")] == ("failed", "too-many-redirects")
    assert "loop-b -> " in detail(db, m.url(NEWS + "loop-a"))
    # at most 1 + REDIRECT_MAX_TIMES (5) requests per chain
    loop = [h for h in m.log if h.path in (NEWS + "loop-a", NEWS + "loop-b")]
    assert 2 <= len(loop) <= 6
    assert 2 <= len([h for h in m.log if h.path == NEWS + "loop-self"]) <= 6
    chain = {h.path for h in m.log if h.path.startswith(NEWS + "chain-")}
    assert chain == {f"{NEWS}chain-{i}" for i in range(6)}
    # not tried again for a week
    ((retry_after,),) = query(
        db, "select retry_after from crawl_urls where url = ?", m.url(NEWS + "loop-a")
    )
    assert dt.datetime.fromisoformat(retry_after) > dt.datetime.now(dt.UTC) + dt.timedelta(days=6)


def test_the_bytes_decide_what_a_resource_is_not_the_content_type(hostile):
    db, m = hostile["db"], hostile["sites"].main
    titles = {t for (t,) in query(db, "select title from articles")}
    assert {
        "Octet stream story about harbour cranes",  # HTML as application/octet-stream
        "Image typed story about river barges",  # HTML as image/jpeg
        "Feed typed story about lighthouse keepers",  # HTML as application/rss+xml
        "Story from a feed typed as HTML",  # a feed served as text/html
        "Story from a feed typed as octets",  # a feed served as application/octet-stream
        "Story linked from a page typed as a feed",  # a section page as application/rss+xml
    } <= titles
    ev = events(db)
    # a real JPEG is dropped after its first bytes; JPEG bytes labelled HTML are not text
    assert ev[m.url(NEWS + "real-jpeg-story")] == ("skipped", "not-html")
    assert ev[m.url(NEWS + "jpeg-as-html-story")] == ("empty", "binary")
    # the hubs were read as what they are: no failure recorded for them
    for hub in ("/as-rss/", "/feeds/as-html", "/feeds/as-octets"):
        assert m.url(hub) not in ev, hub


def test_wrong_charset_declaration_and_invalid_bytes(hostile):
    db = hostile["db"]
    # windows-1251 bytes declared as UTF-8 in the header and in <meta>
    text = article_text(db, CYRILLIC_TITLE)
    assert CYRILLIC_PARAS[0].split(".")[0] in text
    assert CYRILLIC_PARAS[3].split(":")[0] in text
    assert not any(mojibake in text for mojibake in ("\ufffd", "Ð", "Ã", "Ñ"))
    # UTF-8 with invalid bytes in the middle: the rest of the text is intact
    text = article_text(db, "Invalid bytes story")
    assert "described the" in text and "Residents interviewed near the square" in text


def test_100000_nested_tags_are_recorded_in_bounded_time(hostile):
    ev, m = events(hostile["db"]), hostile["sites"].main
    # libxml2 stops building the tree at depth 256, so the article inside is not seen
    assert ev[m.url(NEWS + "nested-story")] in {("empty", "no-article-text"), ("new", None)}


def test_100000_nested_tags_analysis_is_fast():
    started = time.monotonic()
    analysis = analyze(Document(body=nested_page(), input="deep", url=None, kind="html"))
    assert time.monotonic() - started < 10
    assert analysis.reason != "extraction-error"


def test_xml_bombs_and_external_entities_in_feeds_and_sitemaps(hostile):
    db, sites = hostile["db"], hostile["sites"]
    m = sites.main
    ev = events(db)
    for path in (
        "/feeds/bomb.xml",
        "/sitemaps/bomb.xml",
        "/feeds/xxe-file.xml",
        "/feeds/xxe-http.xml",
        "/sitemaps/xxe-file.xml",
        "/sitemaps/xxe-http.xml",
    ):
        assert ev[m.url(path)] == ("skipped", "unsafe-xml"), path
    # a DOCTYPE naming an external DTD (no internal subset) is read without loading it
    titles = {t for (t,) in query(db, "select title from articles")}
    assert {"Story from a feed with a DTD", "Story from a sitemap with a DTD"} <= titles
    assert sites.intranet.log == []  # no entity, no DTD fetched from 127.0.0.2
    for (text,) in query(db, "select text from articles"):
        assert "root:" not in text and "INTRANET-SECRET" not in text
    urls = " ".join(u for (u,) in query(db, "select url from urls"))
    assert "lol" not in urls and "root:" not in urls


def test_odd_links_are_resolved_or_ignored(hostile):
    db, m = hostile["db"], hostile["sites"].main
    titles = {t for (t,) in query(db, "select title from articles")}
    for where in ("section", "feed", "sitemap"):
        assert f"Relative link story found in a {where}" in titles
    ev = events(db)
    for hub in ("/news/", "/feeds/links.xml", "/sitemaps/links.xml"):
        assert m.url(hub) not in ev, hub  # one bad link does not spoil the page
    seen = " ".join([*ev, *(u for (u,) in query(db, "select url from crawl_urls"))]).lower()
    for bad in ("javascript", "data:", "file:", "passwd", "shadow", "mailto", "tel:"):
        assert bad not in seen, bad
    assert "99999" not in seen and "exa mple" not in seen and "[::1" not in seen
    paths = " ".join(h.path for h in m.log)
    assert "passwd" not in paths and "javascript" not in paths
    assert len(BAD_LINKS) > 10


def test_robots_txt_server_error_means_complete_disallow(hostile):
    db, sites = hostile["db"], hostile["sites"]
    ev = events(db)
    for status in ("500", "503", "429"):
        site = sites.robots[status]
        # RFC 9309 2.3.1.4: nothing but robots.txt is fetched from that host
        assert {h.path for h in site.log} == {"/robots.txt"}, status
        assert ev[site.url("/news/")] == ("skipped", "robots"), status
        assert f"robots.txt answered {status}" in detail(db, site.url("/news/"))
    silent = sites.robots_silent
    assert [h.path for h in silent.log] == ["/robots.txt"]
    assert ev[silent.url("/news/")] == ("skipped", "robots")
    assert "unreachable (DownloadTimeoutError" in detail(db, silent.url("/news/"))
    # a 404 robots.txt means no rules (RFC 9309 2.3.1.3)
    assert article_text(db, "Story behind a robots.txt answering 404")
    ((denied,),) = query(db, "select robots_denied from runs")
    assert denied == 4
    assert "Error downloading" not in hostile["result"].stderr


# -- a feed of 100,000 items ---------------------------------------------------------------


@pytest.fixture(scope="module")
def huge_feed(hostile, tmp_path_factory):
    m = hostile["sites"].main
    before = len(m.log)
    db = tmp_path_factory.mktemp("huge") / "news.db"
    result, seconds = newsmill(
        "crawl",
        m.url("/feeds/huge.xml"),
        *FAST,
        "--timeout",
        "20",
        "--max-size",
        "8MB",
        "--json",
        db=db,
    )
    return {"db": db, "result": result, "seconds": seconds, "hits": m.log[before:], "m": m}


def test_a_feed_of_100000_items_is_capped(huge_feed):
    result, db, m = huge_feed["result"], huge_feed["db"], huge_feed["m"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert huge_feed["seconds"] < 60
    ev = events(db)
    assert ev[m.url("/feeds/huge.xml")] == ("skipped", "too-many-links")
    assert "the first 1000 read" in detail(db, m.url("/feeds/huge.xml"))
    fetched = {h.path for h in huge_feed["hits"] if h.path.startswith("/huge/")}
    assert fetched == {f"/huge/2024/05/item-{i}" for i in range(1000)}
    summary = json.loads(result.stdout)
    assert summary["reasons"]["failed:http-404"] == 1000
    assert summary["reasons"]["hub-skipped:too-many-links"] == 1
    assert HUGE_FEED_ITEMS == 100_000


# -- a storm of 429s ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def storm(tmp_path_factory):
    sites = build_storm_sites()
    db = tmp_path_factory.mktemp("storm") / "news.db"
    feeds = [site.url("/feed.xml") for site in sites.all()]
    args = ["--delay", "0", "--timeout", "5", "--retries", "2", "--workers", "1", "--json"]
    result, seconds = newsmill("crawl", *feeds, *args, db=db)
    yield {"sites": sites, "db": db, "result": result, "seconds": seconds}
    sites.stop()


def test_429_storm_ends_in_bounded_time(storm):
    result = storm["result"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "ok"
    assert summary["new"] == 0
    assert summary["failed"] + summary["skipped"] == 2 + STORM_PAGES
    assert storm["seconds"] < 45


def test_retry_after_is_honoured_and_retries_are_bounded(storm):
    site = storm["sites"].slow
    hits = [h for h in site.log if h.path == NEWS + "busy-0"]
    assert len(hits) == 3  # one try and two retries
    assert all(b.at - a.at >= 0.95 for a, b in itertools.pairwise(hits))
    assert events(storm["db"])[site.url(NEWS + "busy-0")] == ("failed", "http-429")


def test_retry_after_over_the_cap_is_not_waited_for(storm):
    site = storm["sites"].capped
    assert [h.path for h in site.log if h.path.startswith(NEWS)] == [NEWS + "busy-0"]
    assert events(storm["db"])[site.url(NEWS + "busy-0")] == ("failed", "http-429")


def test_a_site_answering_only_429_is_given_up_for_the_run(storm):
    site, db = storm["sites"].storm, storm["db"]
    pages = [h.path for h in site.log if h.path.startswith(NEWS)]
    assert len(pages) == len(set(pages)) <= STORM_PAGES  # no page asked twice
    ev = events(db)
    outcomes = [ev[site.url(f"{NEWS}busy-{i}")] for i in range(STORM_PAGES)]
    assert set(outcomes) == {("failed", "http-429"), ("skipped", "rate-limited")}
    # refused: the pages still queued, and the retries of those answered before newsmill
    # gave up (without the give-up, each page would be asked 3 times, 1 s apart)
    refused = [u for u, o in ev.items() if o == ("skipped", "rate-limited")]
    assert "8 answers of 429 or 503 in a row" in detail(db, refused[0])
    # the pages are not tried again by the next run (cron every 30 minutes): backed off
    rows = query(db, "select count(*) from crawl_urls where retry_after > ?", _in(minutes=30))
    assert rows[0][0] >= STORM_PAGES
    assert "not asking it again this run" in storm["result"].stderr


def _in(**delta: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(**delta)).isoformat(timespec="seconds")


# -- the raw cases with Scrapy's Twisted download handler (--http-handler twisted) --------


@pytest.fixture(scope="module")
def twisted_raw(hostile, tmp_path_factory):
    sites = hostile["sites"]
    db = tmp_path_factory.mktemp("twisted") / "news.db"
    result, seconds = newsmill(
        "crawl",
        sites.main.url("/raw/"),
        *FAST,
        # Twisted takes about a second of CPU to read 100,000 headers
        "--timeout",
        "5",
        "--max-size",
        "1MB",
        "--http-handler",
        "twisted",
        "--json",
        db=db,
    )
    return {"db": db, "result": result, "seconds": seconds, "raw": sites.raw}


def test_twisted_handler_trickles_and_endless_bodies(twisted_raw):
    result, db, raw = twisted_raw["result"], twisted_raw["db"], twisted_raw["raw"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert twisted_raw["seconds"] < 30
    ev = events(db)
    for slug in ("trickle-story", "silent-story", "slow-headers-story"):
        assert ev[raw[NEWS + slug].url(NEWS + slug)] == ("failed", "timeout"), slug
    assert ev[raw[NEWS + "endless-story"].url(NEWS + "endless-story")] == ("skipped", "too-large")


def test_twisted_handler_headers(twisted_raw):
    """Twisted limits a header line (the connection is dropped) but not the number of
    headers: 100,000 are read, and an endless header block runs into the timeout (memory
    grows meanwhile; docs/reliability.md). The default aiohttp handler refuses both."""
    db, raw = twisted_raw["db"], twisted_raw["raw"]
    ev = events(db)
    url = raw[NEWS + "huge-header-story"].url(NEWS + "huge-header-story")
    assert ev[url] == ("failed", "download-error")
    assert "twisted.internet.error.Connection" in detail(db, url)
    assert ev[raw[NEWS + "many-headers-story"].url(NEWS + "many-headers-story")] == ("new", None)
    endless = raw[NEWS + "endless-headers-story"].url(NEWS + "endless-headers-story")
    assert ev[endless] == ("failed", "timeout")
