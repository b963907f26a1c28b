"""``newsmill crawl`` end to end: the real CLI in a subprocess against the fixture sites.

One module-scoped crawl (run twice) serves most tests; each test asserts one behaviour on
what was stored, what the runs ledger and events say, and what the servers saw.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from newsmill.store import decompress_page

from .conftest import run_cli
from .crawlsite import Site, build_sites

REPO = Path(__file__).resolve().parents[1]
NEWS = "/news/2024/05/"
# Fast settings for a local site: no politeness delay, short timeout, one retry.
FAST = ["--delay", "0", "--timeout", "1", "--retries", "1", "--workers", "2"]


def newsmill(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, db=db, timeout=120)


def popen(*args: str, db: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "NEWSMILL_DB"}
    env["PYTHONPATH"] = str(REPO / "src")
    return subprocess.Popen(
        [sys.executable, "-m", "newsmill", *args, "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture(scope="module")
def sites():
    intranet = Site("intranet", "127.0.0.2")
    intranet.start()
    a, b = build_sites(intranet.port)
    yield a, b, intranet
    for site in (a, b, intranet):
        site.stop()


def sources_file(tmp: Path, a: Site) -> Path:
    path = tmp / "sources.toml"
    path.write_text(
        f'[[source]]\nname = "harbour"\nurls = ["{a.url("/")}", "{a.url("/news/")}"]\n'
        'exclude = ["/never/"]\n'
    )
    return path


@pytest.fixture(scope="module")
def crawled(sites, tmp_path_factory):
    """Run the crawl twice over unchanged sites; return what each run saw."""
    a, b, intranet = sites
    tmp = tmp_path_factory.mktemp("crawl")
    db = tmp / "news.db"
    args = ["crawl", "--sources", str(sources_file(tmp, a)), b.url("/feed.xml"), *FAST, "--json"]
    args += ["--contact", "mailto:desk@example.org"]
    marks = [len(a.log)]
    first = newsmill(*args, db=db)
    marks.append(len(a.log))
    second = newsmill(*args, db=db)
    marks.append(len(a.log))
    return {
        "db": db,
        "runs": [first, second],
        "summaries": [json.loads(first.stdout), json.loads(second.stdout)],
        "a_hits": [a.log[marks[0] : marks[1]], a.log[marks[1] : marks[2]]],
        "a": a,
        "b": b,
        "intranet": intranet,
    }


def query(db: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def events(db: Path, run_id: int) -> dict[str, tuple[str, str]]:
    """input URL -> (outcome, reason) for one run."""
    rows = query(db, "select input, outcome, reason from events where run_id = ?", run_id)
    return {url: (outcome, reason) for url, outcome, reason in rows}


def test_first_run_exits_zero_and_prints_a_summary(crawled):
    first = crawled["runs"][0]
    assert first.returncode == 0, first.stderr
    assert "Traceback" not in first.stderr
    assert "crawl: " in first.stderr and "new" in first.stderr
    summary = crawled["summaries"][0]
    assert summary["status"] == "ok"


def test_articles_stored_once_each(crawled):
    db, a = crawled["db"], crawled["a"]
    titles = sorted(t for (t,) in query(db, "select title from articles"))
    assert titles == sorted(
        [
            "Ferry crews strike over harbour rota",
            "Council passes budget after long night",
            "Late frost hits hillside vineyards",  # from the gzipped sitemap
            "Library reopens after roof repairs",  # 500, then recovered on retry
            "Tram line extension gets green light",  # 503 + Retry-After, then served
            "Bakery wins regional bread award",  # reached through a redirect
            "Museum lends dinosaur skeleton",  # Atom feed
            "Cyclists map safer routes to school",  # JSON feed
            "Storm closes mountain pass for three days",  # on both sites: stored once
            "Fishing quota talks resume in the north",  # site B
        ]
    )
    # boilerplate (navigation, "Most read", footer) is not in the stored text
    for (text,) in query(db, "select text from articles"):
        assert "Most read" not in text and "All rights reserved" not in text
    # no article waits to be cleaned again for a line its site learned: the crawl's end
    # drained the template backlog
    assert query(db, "select count(*) from template_backlog") == [(0,)]
    # the raw page is kept, compressed, for a later reprocess
    (body,) = query(
        db, "select body from pages where url = ?", a.url(NEWS + "council-budget-vote")
    )[0]
    assert b"Council passes budget" in decompress_page(body)


def test_many_urls_map_to_one_article(crawled):
    db, a, b = crawled["db"], crawled["a"], crawled["b"]
    main = a.url(NEWS + "harbour-ferry-strike")
    rows = dict(query(db, "select url, article_hash from urls"))
    assert rows[a.url("/amp/2024/05/harbour-ferry-strike")] == rows[main]
    # the feed's utm_/fbclid link is the same URL once normalized: no separate row
    assert not [u for u in rows if "utm_" in u or "fbclid" in u]
    # the wire story on two sites: two URLs, one article
    assert rows[a.url(NEWS + "wire-storm-pass")] == rows[b.url("/world/2024/05/storm-pass-closed")]
    # the redirect's original URL leads to the article too (so run 2 skips it)
    assert rows[a.url("/news/old-link-to-bakery")] == rows[a.url(NEWS + "moved-story")]
    # the harbour article was fetched once although linked three ways
    fetched = [h.path for h in crawled["a_hits"][0] if "harbour-ferry-strike" in h.path]
    assert sorted(fetched) == ["/amp/2024/05/harbour-ferry-strike", NEWS + "harbour-ferry-strike"]


def test_failures_and_refusals_are_in_the_ledger(crawled):
    db, a, b = crawled["db"], crawled["a"], crawled["b"]
    run_id = crawled["summaries"][0]["run_id"]
    ev = events(db, run_id)
    intranet = crawled["intranet"]
    assert ev[a.url(NEWS + "gone-story")] == ("failed", "http-404")
    assert ev[a.url(NEWS + "slow-story")] == ("failed", "timeout")
    assert ev[a.url("/files/2024/annual-report-2024")] == ("skipped", "not-html")
    assert ev[a.url(NEWS + "huge-story")] == ("skipped", "too-large")
    assert ev[a.url(NEWS + "zipped-bomb-story")] == ("skipped", "too-large")
    assert ev[a.url("/private/2024/05/private-story")] == ("skipped", "robots")
    assert ev[a.url("/sitemaps/bomb.xml")] == ("skipped", "unsafe-xml")
    for url in (
        "http://10.0.0.1/news/2024/05/intranet-story",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        intranet.url("/news/2024/05/loopback-story"),
        intranet.url("/news/2024/05/other-loopback-story"),
        a.url(NEWS + "metadata-redirect"),  # a redirect to 169.254.169.254
    ):
        assert ev[url] == ("skipped", "unsafe-address"), url
    assert intranet.log == []  # the other loopback host never saw a request
    (agent,) = {h.agent for h in crawled["a_hits"][0]}
    assert agent.startswith("newsmill/") and agent.endswith("(+mailto:desk@example.org)")
    assert ev[a.url(NEWS + "wire-storm-pass")][0] in ("new", "duplicate")
    assert ev[b.url("/local/2024/05/fishing-quota-talks")] == ("new", None)


def test_runs_ledger_counts(crawled):
    db = crawled["db"]
    first, second = crawled["summaries"]
    rows = query(
        db,
        "select id, command, status, new, duplicate, failed, skipped, fetched, not_modified,"
        " robots_denied, known, counts from runs order by id",
    )
    assert len(rows) == 2
    (
        _,
        command,
        status,
        new,
        duplicate,
        failed,
        skipped,
        fetched,
        not_modified,
        robots,
        known,
        counts,
    ) = rows[0]
    assert (command, status, new, duplicate) == ("crawl", "ok", 10, 2)
    assert failed == 2 and skipped == 9  # 404 + timeout; robots, pdf, 2 too large, 5 unsafe
    assert robots == 1 and not_modified == 0 and known == 0
    assert fetched >= 20
    reasons = json.loads(counts)
    assert reasons["failed:http-404"] == 1 and reasons["failed:timeout"] == 1
    assert reasons["skipped:too-large"] == 2 and reasons["hub-skipped:unsafe-xml"] == 1
    assert first["new"] == 10 and second["new"] == 0


def test_second_run_fetches_no_article_page_and_adds_nothing(crawled):
    second = crawled["runs"][1]
    assert second.returncode == 0, second.stderr
    summary = crawled["summaries"][1]
    assert summary["new"] == summary["duplicate"] == summary["failed"] == 0
    assert summary["not_modified"] >= 8  # robots.txt, index, sitemaps, feeds, pages: all 304
    assert summary["known"] >= 10
    hits = crawled["a_hits"][1]
    article_paths = [h.path for h in hits if h.path.startswith(("/news/2", "/amp/", "/files/"))]
    assert article_paths == []
    # every hub was asked conditionally (except robots.txt for Scrapy's own robots check)
    hubs = [h for h in hits if h.path != "/robots.txt"]
    assert hubs and all(h.conditional and h.status == 304 for h in hubs), hubs
    assert query(crawled["db"], "select count(*) from articles")[0][0] == 10


def test_500_is_retried_and_retry_after_is_honoured(crawled):
    hits = crawled["a_hits"][0]
    flaky = [h for h in hits if h.path == NEWS + "flaky-story"]
    assert [h.status for h in flaky] == [500, 200]
    busy = [h for h in hits if h.path == NEWS + "busy-story"]
    assert [h.status for h in busy] == [503, 200]
    assert busy[1].at - busy[0].at >= 0.95  # Retry-After: 1
    slow = [h for h in hits if h.path == NEWS + "slow-story"]
    assert len(slow) == 2  # timeout, one retry, given up: bounded


def test_refresh_refetches_stored_articles(sites, tmp_path):
    a, _, _ = sites
    db = tmp_path / "news.db"
    # a section page (given with dot segments, which normalization resolves); slow and
    # oversized pages excluded to keep the test fast
    (tmp_path / "s.toml").write_text(
        f'[[source]]\nurls = ["{a.url(NEWS + "../../../news/")}"]\n'
        'exclude = ["slow", "huge", "bomb"]\n'
    )
    args = ["crawl", "--sources", str(tmp_path / "s.toml"), *FAST, "--json"]
    first = json.loads(newsmill(*args, db=db).stdout)
    again = json.loads(newsmill(*args, db=db).stdout)
    refreshed = json.loads(newsmill(*args, "--refresh", db=db).stdout)
    # section links (harbour, its AMP copy, council) and, through robots.txt and the
    # sitemaps, the vineyard story
    assert (first["new"], first["duplicate"]) == (3, 1)
    assert (again["new"], again["duplicate"], again["not_modified"]) == (0, 0, 5)
    assert (refreshed["new"], refreshed["duplicate"], refreshed["not_modified"]) == (0, 4, 0)


def test_max_pages_stops_early_and_marks_the_run_partial(sites, tmp_path):
    a, _, _ = sites
    db = tmp_path / "news.db"
    result = newsmill("crawl", a.url("/rss.xml"), *FAST, "--max-pages", "2", "--json", db=db)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "partial"
    assert summary["new"] + summary["duplicate"] + summary["failed"] <= 2


def test_overlapping_runs_second_exits_at_once(sites, tmp_path):
    a, b, _ = sites
    db = tmp_path / "news.db"
    # the first run is held up by the slow page (timeout 8 s, no retry): long enough for
    # the second to start on a loaded machine
    slow = [
        "crawl",
        a.url("/sitemaps/news.xml"),
        "--delay",
        "0",
        "--timeout",
        "8",
        "--retries",
        "0",
        "--workers",
        "1",
    ]
    first = popen(*slow, db=db)
    lock = db.with_name(db.name + ".lock")
    deadline = time.monotonic() + 30
    while not (lock.exists() and lock.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    second = newsmill("crawl", b.url("/feed.xml"), *FAST, db=db)
    # "at once": the second did not wait for the first to finish (a wall-clock bound on
    # it failed on a loaded machine, where starting Python and Scrapy takes seconds)
    first_still_running = first.poll() is None
    _out, err = first.communicate(timeout=60)
    assert second.returncode == 75, second.stderr
    assert "another newsmill crawl is running" in second.stderr
    assert f"pid {first.pid}" in second.stderr
    assert first_still_running
    assert first.returncode == 0, err
    assert query(db, "pragma integrity_check") == [("ok",)]
    assert [r[0] for r in query(db, "select command from runs")] == ["crawl"]
    # the lock is free again
    third = newsmill("crawl", b.url("/feed.xml"), *FAST, db=db)
    assert third.returncode == 0, third.stderr


def test_usage_errors(tmp_path):
    db = tmp_path / "news.db"
    assert newsmill("crawl", db=db).returncode == 2
    bad = newsmill("crawl", "ftp://example.com/feed", db=db)
    assert bad.returncode == 1 and "not an http(s) URL" in bad.stderr


def test_log_file(sites, tmp_path):
    _, b, _ = sites
    log = tmp_path / "crawl.log"
    result = newsmill(
        "crawl", b.url("/feed.xml"), *FAST, "-v", "--log-file", str(log), db=tmp_path / "news.db"
    )
    assert result.returncode == 0
    assert "scrapy" not in result.stderr
    assert "new http://127.0.0.3" in log.read_text()


def test_addon_in_someone_elses_scrapy_project(sites, tmp_path):
    """One line in a project's settings (ADDONS) and its items are stored the newsmill way."""
    a, _, intranet = sites
    db = tmp_path / "project.db"
    hits_before = len(a.log)
    env = {k: v for k, v in os.environ.items() if k != "NEWSMILL_DB"}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO / "tests" / "scrapy_project")])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "scrapy.cmdline",
            "crawl",
            "pages",
            "-a",
            f"urls={a.url('/news/')}",
            "-s",
            f"NEWSMILL_DB={db}",
            "-s",
            "NEWSMILL_WORKERS=1",
            # the project's (here: command line) settings beat the add-on's defaults
            "-s",
            "DOWNLOAD_DELAY=0",
            "-s",
            "AUTOTHROTTLE_ENABLED=False",
            "-s",
            "LOG_LEVEL=INFO",
        ],
        cwd=REPO / "tests" / "scrapy_project",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    titles = {t for (t,) in query(db, "select title from articles")}
    assert {
        "Ferry crews strike over harbour rota",
        "Council passes budget after long night",
    } <= titles
    (command, status, new, duplicate) = query(
        db, "select command, status, new, duplicate from runs"
    )[0]
    assert (command, status) == ("scrapy", "ok")
    assert new >= 2 and duplicate == 1  # the AMP copy of the harbour story
    # the add-on's defaults that were not overridden hold: robots.txt is obeyed, the
    # User-Agent names newsmill, private addresses are refused
    paths = [h.path for h in a.log[hits_before:]]
    assert "/private/2024/05/private-story" not in paths
    assert "newsmill/refused/unsafe-address" in result.stderr
    assert intranet.log == []
    assert "NewsmillPipeline" in result.stderr
    assert all(h.agent.startswith("newsmill/") for h in a.log[hits_before:])
