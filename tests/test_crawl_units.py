"""Unit tests for the crawl's pure parts and Scrapy components (no network, no subprocess
except the import check)."""

from __future__ import annotations

import datetime as dt
import gzip
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newsmill.discovery import (
    TooLarge,
    UnsafeXML,
    maybe_gunzip,
    parse_feed,
    parse_html_links,
    parse_robots_sitemaps,
    parse_sitemap,
    sniff,
)
from newsmill.errors import StoreLocked
from newsmill.lock import run_lock
from newsmill.sources import SourcesError, load_sources, sources_from_urls
from newsmill.urls import AddressPolicy, looks_like_article, normalize_url

from .crawlsite import XML_BOMB

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://Example.COM:443/a?utm_source=x&id=3#top", "https://example.com/a?id=3"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/x?fbclid=1&gclid=2", "http://example.com:8080/x"),
        ("http://example.com/a/b/../c/./d", "http://example.com/a/c/d"),
        ("http://bücher.example/", "http://xn--bcher-kva.example/"),
        ("http://example.com/p?b=2&a=1", "http://example.com/p?b=2&a=1"),  # order kept
        ("ftp://example.com/file", None),
        ("mailto:desk@example.com", None),
        ("javascript:alert(1)", None),
        ("http://[::1]:8000/x", "http://[::1]:8000/x"),
        # malformed: ignored, never an exception
        ("http://[::1", None),
        ("http://exa mple.com/x", None),
        ("http://a..example/x", None),
        ("http://example.com:99999/x", None),
        ("data:text/html;base64,PGgxPg==", None),
        ("file:///etc/passwd", None),
    ],
)
def test_normalize_url(raw, expected):
    assert normalize_url(raw) == expected
    assert normalize_url(raw, "https://a.example/news/") == expected


def test_normalize_relative_url():
    base = "https://a.example/news/section/"
    assert normalize_url("../2024/05/a-b-c", base) == "https://a.example/news/2024/05/a-b-c"
    assert normalize_url("//b.example/x", base) == "https://b.example/x"
    assert normalize_url("  /x  ", base) == "https://a.example/x"


@given(st.text(alphabet="abc/?=&.%:#_-utm", max_size=30))
def test_normalize_url_is_idempotent(path):
    once = normalize_url("http://example.com/" + path)
    if once is not None:
        assert normalize_url(once) == once


@pytest.mark.parametrize(
    ("url", "article"),
    [
        ("https://news.example/2024/05/20/ferry-strike", True),
        ("https://news.example/world/europe/ferry-crews-strike-over-rota", True),
        ("https://news.example/story/123456", True),
        ("https://news.example/news/ferry.html", False),  # short, no slug
        ("https://news.example/news/ferry-strike-over-rota.html", True),
        ("https://news.example/", False),
        ("https://news.example/news/", False),
        ("https://news.example/tag/ferry-strike-news", False),
        ("https://news.example/author/jane-doe-smith", False),
        ("https://news.example/2024/05/report.pdf", False),
        ("https://news.example/images/2024/05/a-b-c.jpg", False),
    ],
)
def test_looks_like_article(url, article):
    assert looks_like_article(url) is article


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.2:8000/x",
        "http://localhost/x",
        "http://api.localhost/x",
        "http://[::1]/x",
        "http://[::ffff:10.0.0.1]/x",
        "http://100.64.0.1/x",  # carrier-grade NAT
        "http://0.0.0.0/x",
        "http://2130706433/x",  # 127.0.0.1 as one number
        "http://0x7f.1/x",
        "http://224.0.0.1/x",
    ],
)
def test_private_addresses_are_refused(url):
    assert AddressPolicy().check(url) == "unsafe-address"


def test_allowed_hosts_and_schemes():
    policy = AddressPolicy()
    policy.allow_hosts(["127.0.0.1"])
    assert policy.check("http://127.0.0.1:9/x") is None
    assert policy.check("http://127.0.0.2:9/x") == "unsafe-address"
    assert policy.check("http://93.184.216.34/x") is None
    assert policy.check("file:///etc/passwd") == "unsupported-scheme"
    assert policy.check("gopher://example.com/") == "unsupported-scheme"


def test_a_name_resolving_to_a_private_address_is_refused():
    policy = AddressPolicy()
    assert policy.needs_lookup("http://intranet.example/x") == "intranet.example"
    assert policy.check_resolved("intranet.example", ["93.184.216.34", "10.1.2.3"]) == (
        "unsafe-address"
    )
    assert policy.cached("http://intranet.example/y") == "unsafe-address"
    assert policy.check_resolved("public.example", ["93.184.216.34"]) is None
    assert policy.check_resolved("nx.example", []) == "dns-error"


RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel>
<item><link>https://a.example/2024/05/one-two-three?utm_source=rss</link>
<pubDate>Mon, 20 May 2024 08:00:00 GMT</pubDate></item>
<item><guid isPermaLink="true">https://a.example/2024/05/guid-only</guid></item>
</channel></rss>"""
ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
<entry><link rel="self" href="https://a.example/self"/>
<link rel="alternate" href="/2024/05/atom-entry"/><updated>2024-05-20T10:00:00Z</updated></entry>
</feed>"""
JSON_FEED = b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"url": "/2024/x-y-z"}]}'
NEWS_SITEMAP = b"""<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
 xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://a.example/2024/05/n-one</loc><news:news>
<news:publication_date>2024-05-20T08:00:00+02:00</news:publication_date></news:news></url>
<url><loc>https://a.example/2024/05/n-two</loc><lastmod>2024-05-01</lastmod></url>
</urlset>"""
INDEX = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://a.example/s1.xml.gz</loc></sitemap></sitemapindex>"""


def test_sniff_tells_resources_apart_by_content():
    assert sniff(RSS, "text/html") == "feed"  # a feed served with the wrong type
    assert sniff(ATOM) == "feed"
    assert sniff(JSON_FEED, "application/json") == "feed"
    assert sniff(NEWS_SITEMAP, "text/plain") == "sitemap"
    assert sniff(INDEX) == "sitemapindex"
    assert sniff(b"User-agent: *\nDisallow: /x\nSitemap: https://a.example/s.xml\n") == "robots"
    assert sniff(b"<!doctype html><html><body><p>x</p></body></html>", "") == "html"
    assert sniff(b"%PDF-1.4 ...", "application/pdf") == "other"


def test_parse_feeds():
    assert [link.url for link in parse_feed(RSS, "https://a.example/rss")] == [
        "https://a.example/2024/05/one-two-three",
        "https://a.example/2024/05/guid-only",
    ]
    (entry,) = parse_feed(ATOM, "https://a.example/atom.xml")
    assert entry.url == "https://a.example/2024/05/atom-entry"
    assert entry.lastmod == dt.datetime(2024, 5, 20, 10, tzinfo=dt.UTC)
    assert [link.url for link in parse_feed(JSON_FEED, "https://a.example/feed.json")] == [
        "https://a.example/2024/x-y-z"
    ]


def test_parse_sitemaps():
    is_index, links = parse_sitemap(NEWS_SITEMAP, "https://a.example/news.xml")
    assert not is_index
    assert links[0].lastmod == dt.datetime(2024, 5, 20, 6, tzinfo=dt.UTC)  # news date
    assert links[1].lastmod == dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    is_index, links = parse_sitemap(maybe_gunzip(gzip.compress(INDEX), 10**6), "https://a/")
    assert is_index and links[0].url == "https://a.example/s1.xml.gz"
    with pytest.raises(TooLarge):
        maybe_gunzip(gzip.compress(b"x" * 2_000_000), 1_000_000)


def test_feed_and_sitemap_link_limits():
    items = "".join(f"<item><link>/2024/05/item-{i}</link></item>" for i in range(50))
    feed = f"<rss><channel>{items}</channel></rss>".encode()
    assert len(parse_feed(feed, "https://a.example/")) == 50
    links = parse_feed(feed, "https://a.example/", limit=10)
    assert [link.url for link in links] == [
        f"https://a.example/2024/05/item-{i}" for i in range(10)
    ]
    assert len(parse_feed(JSON_FEED, "https://a.example/", limit=0)) == 0
    entries = "".join(f"<url><loc>/p/{i}</loc></url>" for i in range(50))
    sitemap = f"<urlset>{entries}</urlset>".encode()
    assert len(parse_sitemap(sitemap, "https://a.example/", limit=7)[1]) == 7


def test_xml_bomb_is_refused_quickly():
    started = time.monotonic()
    with pytest.raises(UnsafeXML):
        parse_sitemap(XML_BOMB, "https://a.example/")
    with pytest.raises(UnsafeXML):
        parse_feed(XML_BOMB.replace(b"urlset", b"rss"), "https://a.example/")
    assert time.monotonic() - started < 0.5


def test_external_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file://{secret}">]>'
        "<rss><channel><item><link>https://a.example/&x;</link></item></channel></rss>"
    ).encode()
    with pytest.raises(UnsafeXML):
        parse_feed(xxe, "https://a.example/")


def test_robots_and_html_discovery():
    robots = b"User-agent: *\nDisallow: /private/\nSitemap: /sitemap.xml # main\n"
    assert parse_robots_sitemaps(robots, "https://a.example/robots.txt") == [
        "https://a.example/sitemap.xml"
    ]
    page = b"""<html><head><link rel="alternate" type="application/rss+xml" href="/rss">
    <link rel="stylesheet" href="/s.css"></head><body><a href="/2024/05/a-b-c">x</a>
    <a href="/2024/05/a-b-c#comments">y</a><a href="mailto:x@a.example">m</a></body></html>"""
    found = parse_html_links(page, "https://a.example/news/")
    assert found.feeds == ["https://a.example/rss"]
    assert found.links == ["https://a.example/2024/05/a-b-c"]


def test_sources_file(tmp_path):
    path = tmp_path / "sites.toml"
    path.write_text(
        '[defaults]\ndelay = 2.0\n\n[[source]]\nname = "ht"\nurls = ["https://ht.example/news/"]\n'
        'feeds = ["https://ht.example/rss"]\nmax_pages = 50\ninclude = ["/news/"]\n'
        'exclude = ["/live/"]\n\n[[source]]\nsitemaps = ["https://vp.example/sitemap.xml"]\n'
    )
    ht, vp = load_sources(path)
    assert (ht.name, ht.delay, ht.max_pages) == ("ht", 2.0, 50)
    assert ht.wants("https://ht.example/news/2024/a-b-c")
    assert not ht.wants("https://ht.example/news/live/a-b-c")
    assert not ht.wants("https://ht.example/sport/a-b-c")
    assert vp.name == "vp.example" and vp.delay == 2.0
    path.write_text('[[source]]\nurls = ["ftp://x"]\n')
    with pytest.raises(SourcesError, match="not an http"):
        load_sources(path)
    path.write_text('[[source]]\nurl = "https://x.example/"\nspeed = 3\n')
    with pytest.raises(SourcesError, match="unknown keys"):
        load_sources(path)
    assert [s.name for s in sources_from_urls(["https://a.example/x", "https://a.example/y"])] == [
        "a.example"
    ]


def test_run_lock_refuses_a_second_holder(tmp_path):
    db = tmp_path / "news.db"
    with run_lock(db, started="now"), pytest.raises(StoreLocked, match="pid"), run_lock(db):
        pass
    with run_lock(db):  # released
        pass


def test_retry_after_parsing():
    from newsmill.crawl.middlewares import parse_retry_after

    now = dt.datetime(2024, 5, 20, 12, tzinfo=dt.UTC)
    assert parse_retry_after(b"120") == 120.0
    assert parse_retry_after("Mon, 20 May 2024 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("soon") is None


def test_addon_sets_defaults_at_addon_priority():
    from scrapy.settings import Settings

    from newsmill.crawl import Addon

    settings = Settings({"DOWNLOAD_DELAY": 5.0}, priority="project")
    settings.set("ITEM_PIPELINES", {"newsmill.crawl.pipelines.NewsmillPipeline": 300})
    Addon().update_settings(settings)
    assert settings.getfloat("DOWNLOAD_DELAY") == 5.0  # the project's value wins
    assert settings.getbool("ROBOTSTXT_OBEY")
    assert settings.getint("DOWNLOAD_MAXSIZE") == 10 * 1024 * 1024
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") == 2
    assert settings["USER_AGENT"].startswith("newsmill/")
    assert dict(settings["ITEM_PIPELINES"]) == {
        "newsmill.crawl.pipelines.NewsmillPipeline": 300  # not added twice
    }
    middlewares = settings["DOWNLOADER_MIDDLEWARES"]
    assert "newsmill.crawl.middlewares.SafeAddressMiddleware" in middlewares
    # newsmill's robots.txt middleware (RFC 9309 on 5xx) replaces Scrapy's
    assert middlewares["scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"] is None
    assert middlewares["newsmill.crawl.middlewares.RobotsTxtMiddleware"] == 100


def test_pipeline_not_configured_when_disabled():
    from scrapy import Spider
    from scrapy.exceptions import NotConfigured
    from scrapy.utils.test import get_crawler

    from newsmill.crawl import NewsmillPipeline

    crawler = get_crawler(Spider, {"NEWSMILL_ENABLED": False})
    with pytest.raises(NotConfigured):
        NewsmillPipeline.from_crawler(crawler)
    pipeline = NewsmillPipeline.from_crawler(get_crawler(Spider, {"NEWSMILL_WORKERS": 3}))
    assert pipeline.workers == 3 and pipeline.max_in_flight == 12


def test_scrapy_stays_inside_the_crawl_package():
    code = (
        "import sys, newsmill.cli, newsmill.pipeline, newsmill.urls, newsmill.discovery, "
        "newsmill.sources, newsmill.lock; "
        "assert 'scrapy' not in sys.modules, 'scrapy imported outside newsmill.crawl'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={"PYTHONPATH": str(REPO / "src")})


def test_meta_refresh_redirects_without_decoding_plain_pages():
    from scrapy import Request
    from scrapy.http import HtmlResponse
    from scrapy.settings import Settings
    from scrapy.utils.test import get_crawler

    from newsmill.crawl.addon import Addon
    from newsmill.crawl.middlewares import MetaRefreshMiddleware

    mw = MetaRefreshMiddleware.from_crawler(get_crawler())
    request = Request("https://news.example/2024/old-story")

    def response(body: bytes, **kw) -> HtmlResponse:
        return HtmlResponse(request.url, body=body, request=request, **kw)

    moved = response(b'<html><head><meta http-equiv="Refresh" content="0; url=/2024/new">')
    out = mw.process_response(request, moved)
    assert isinstance(out, Request) and out.url == "https://news.example/2024/new"
    # a page in UTF-16 (NUL bytes between the letters) still goes through Scrapy's check
    wide = '<html><head><meta http-equiv="refresh" content="0; url=/2024/wide">'
    out = mw.process_response(request, response(wide.encode("utf-16"), encoding="utf-16"))
    assert isinstance(out, Request) and out.url.startswith("https://news.example/2024/wide")
    # a page that names no refresh is passed on as it is
    plain = response(b"<html><body><p>" + "Zürich ".encode() * 3000 + b"</p></body></html>")
    assert mw.process_response(request, plain) is plain

    # the add-on puts it in place of Scrapy's own
    settings = Settings()
    Addon().update_settings(settings)
    middlewares = settings["DOWNLOADER_MIDDLEWARES"]
    assert middlewares["newsmill.crawl.middlewares.MetaRefreshMiddleware"] == 580
    assert middlewares["scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware"] is None


def test_a_pool_started_early_is_the_one_the_pipeline_takes():
    from newsmill.crawl import workers

    workers.start_pool_early(1)
    early = workers._started_pool[1]
    pool = workers.take_pool(1)
    try:
        assert pool is early and workers._started_pool is None
        assert pool.submit(sum, [1, 2]).result(timeout=60) == 3
    finally:
        pool.shutdown()
    # another worker count than the one started: a new pool, the early one shut down
    workers.start_pool_early(1)
    early = workers._started_pool[1]
    pool = workers.take_pool(2)
    try:
        assert pool is not early and pool.submit(max, [4, 9]).result(timeout=60) == 9
    finally:
        pool.shutdown()
    workers.start_pool_early(1)
    workers.discard_early_pool()
    assert workers._started_pool is None


def test_extraction_workers_do_not_load_scrapy():
    # the crawl starts them before it imports Scrapy; they need only the extraction code
    code = (
        "import sys\n"
        "from newsmill.crawl.workers import make_pool\n"
        "pool = make_pool(1)\n"
        "print(pool.submit(eval, \"'scrapy' in __import__('sys').modules\").result(60))\n"
        "print('scrapy' in sys.modules)\n"
        "pool.shutdown()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO / "src")},
    )
    assert done.stdout.split() == ["False", "False"]


def test_template_hints_stay_small_and_recent():
    from array import array

    from newsmill.templates import TemplateHints

    hints = TemplateHints()
    hints.MAX_LINES_PER_SITE = 4
    assert hints.packed("ledger.example") == b"" and hints.packed(None) == b""
    hints.learn("ledger.example", [7, 3])
    hints.learn("other.example", [9])
    assert list(array("q", hints.packed("ledger.example"))) == [3, 7]
    hints.learn("ledger.example", [5, 3])
    assert list(array("q", hints.packed("ledger.example"))) == [3, 5, 7]
    hints.learn("ledger.example", [1, 2])  # past the cap: starts over from these
    assert list(array("q", hints.packed("ledger.example"))) == [1, 2]
    assert list(array("q", hints.packed("other.example"))) == [9]


def test_a_page_that_kills_its_worker_fails_alone():
    """A worker that dies (out of memory, a crash in lxml) fails every task in flight with
    it. The pipeline restarts the pool once and tries each of them again, one at a time:
    the pages that were only in flight beside the killer get extracted, the killer fails."""
    import asyncio
    import os
    from concurrent.futures.process import BrokenProcessPool

    from scrapy import Spider
    from scrapy.utils.test import get_crawler

    from newsmill.crawl import NewsmillPipeline
    from newsmill.crawl.workers import make_pool

    pipeline = NewsmillPipeline.from_crawler(get_crawler(Spider, {"NEWSMILL_WORKERS": 2}))
    first_pool = pipeline._pool = make_pool(2)

    async def scenario() -> list[object]:
        pipeline._slots = asyncio.Semaphore(8)
        slow = "__import__('time').sleep(0.5) or {}"
        innocent = [
            asyncio.ensure_future(pipeline._in_pool(eval, slow.format(i))) for i in range(3)
        ]
        await asyncio.sleep(0.2)  # the three are running (two) or queued (one)
        killer = pipeline._in_pool(os._exit, 3)
        return await asyncio.gather(*innocent, killer, return_exceptions=True)

    try:
        *fine, killed = asyncio.run(scenario())
        assert fine == [0, 1, 2]
        assert isinstance(killed, BrokenProcessPool)
        # a working pool is left for the pages that follow
        assert pipeline._pool is not first_pool
        assert pipeline._pool.submit(sum, [2, 3]).result(timeout=60) == 5
    finally:
        pipeline._pool.shutdown()


def test_a_broken_pool_is_discarded_without_waiting_for_ever():
    """When a worker dies, CPython's pool terminates and joins its other processes. One that
    does not end on SIGTERM (in 3.11: a process started for a task submitted just as the
    worker died, never sent it; here: a stopped one) is joined for ever, and the interpreter
    hangs at exit. discard_pool kills what is left of the pool."""
    import os
    import signal

    from newsmill.crawl.workers import discard_pool, start_pool

    pool = start_pool(2)
    deadline = time.monotonic() + 60
    while len(pool._processes) < 2 and time.monotonic() < deadline:
        pool.submit(os.getpid).result(timeout=60)
    stopped, killed = list(pool._processes)
    os.kill(stopped, signal.SIGSTOP)
    os.kill(killed, signal.SIGKILL)
    manager = pool._executor_manager_thread
    processes = list(pool._processes.values())
    time.sleep(1)
    assert manager.is_alive()  # waiting for the stopped worker, which SIGTERM can't end
    discard_pool(pool, wait=True)
    # (the forkserver reports its children's ends through a pipe: give a loaded machine time)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (
        manager.is_alive() or any(process.is_alive() for process in processes)
    ):
        time.sleep(0.1)
    assert not manager.is_alive()
    assert not any(process.is_alive() for process in processes)
