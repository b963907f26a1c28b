"""Walls kept out of the store, end to end: ``newsmill crawl`` and ``newsmill ingest``.

A fixture site serves, next to real articles in English, German and French, a consent wall,
a paywalled article (JSON-LD ``isAccessibleForFree: false`` and a teaser), a bot challenge,
a region block, a soft 404 served with status 200 and a tag or search page, each in the
same three languages (tests/walls.py). The crawl must store only the real articles, and
``stats`` and ``explain`` must name every other page's class.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from .conftest import run_cli
from .crawlsite import Site, _static, article_html
from .walls import HEADLINES, SENTENCES, wall_pages

LANGS = ("en", "de", "fr")
FAST = ["--delay", "0", "--timeout", "5", "--retries", "0", "--workers", "1"]
HTML = "text/html; charset=utf-8"
# How explain words each class (newsmill.explain.REASONS).
SENTENCE = {
    "consent-wall": "quarantined: a cookie-consent wall",
    "paywall": "quarantined: a paywall teaser",
    "bot-challenge": "quarantined: a bot challenge",
    "region-block": "quarantined: a region block",
    "soft-404": "quarantined: an error page (a soft 404)",
    "not-an-article": "quarantined: not an article",
}


def real_article(lang: str) -> str:
    """A real article in ``lang``: six distinct paragraphs of the language's sentences."""
    paras = []
    for i in range(6):
        ref = hashlib.sha256(f"{lang}{i}".encode()).hexdigest()[:6]
        paras.append(f"{SENTENCES[lang][i % 3]} {SENTENCES[lang][(i + 1) % 3]} ({ref})")
    html = article_html(HEADLINES[lang][2], paras)
    return html.replace('<html lang="en">', f'<html lang="{lang}">')


def article_path(lang: str) -> str:
    return f"/news/2024/05/real-story-{lang}"


@pytest.fixture(scope="module")
def site():
    s = Site("walls", "127.0.0.1")
    s.start()
    walls = wall_pages(LANGS)
    for wall in walls:
        s.routes[wall.path.split("?")[0]] = _static(wall.html, HTML, etag=False)
    for lang in LANGS:
        s.routes[article_path(lang)] = _static(real_article(lang), HTML, etag=False)
    urls = [s.url(w.path) for w in walls] + [s.url(article_path(lang)) for lang in LANGS]
    s.routes["/robots.txt"] = _static("User-agent: *\nDisallow:\n", "text/plain")
    s.routes["/sitemap.xml"] = _static(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>{u.replace('&', '&amp;')}</loc></url>" for u in urls)
        + "</urlset>",
        "application/xml",
    )
    yield s, walls
    s.stop()


def query(db: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def crawled(site, tmp_path_factory):
    s, walls = site
    db = tmp_path_factory.mktemp("quarantine") / "news.db"
    result = run_cli("crawl", s.url("/sitemap.xml"), *FAST, "--json", db=db, timeout=180)
    return {"db": db, "result": result, "site": s, "walls": walls}


def test_the_crawl_stores_only_the_real_articles(crawled):
    result = crawled["result"]
    assert result.returncode == 0, result.stderr
    titles = sorted(t for (t,) in query(crawled["db"], "select title from articles"))
    assert titles == sorted(HEADLINES[lang][2] for lang in LANGS)
    assert query(crawled["db"], "select count(*) from articles where partial = 1") == [(0,)]


def test_every_wall_is_a_recorded_skip_with_its_class(crawled):
    s = crawled["site"]
    rows = query(crawled["db"], "select url, outcome, reason, detail from events")
    by_url = {url: (outcome, reason, detail) for url, outcome, reason, detail in rows}
    for wall in crawled["walls"]:
        outcome, reason, detail = by_url[s.url(wall.path)]
        assert (outcome, reason) == ("skipped", wall.page_class), wall.name
        assert detail  # the evidence
    # the counts add up, walls included
    summary = json.loads(crawled["result"].stdout)
    parts = ("new", "duplicate", "empty", "failed", "skipped")
    assert sum(summary[k] for k in parts) == summary["inputs"]
    assert summary["new"] == 3 and summary["skipped"] == len(crawled["walls"])
    assert summary["reasons"]["skipped:consent-wall"] == len(LANGS)


def test_the_raw_pages_of_walls_are_kept(crawled):
    s = crawled["site"]
    wall = crawled["walls"][0]
    assert query(
        crawled["db"], "select article_hash from pages where url = ?", s.url(wall.path)
    ) == [(None,)]


def test_stats_names_every_class(crawled):
    result = run_cli("stats", db=crawled["db"])
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("quarantined:"))
    assert f"quarantined: {len(crawled['walls'])} pages" in line
    for page_class in SENTENCE:
        assert f"{page_class} {len(LANGS)}" in line
    data = json.loads(run_cli("stats", "--json", db=crawled["db"]).stdout)
    assert data["quarantined"] == {c: len(LANGS) for c in SENTENCE}


@pytest.mark.parametrize("lang", LANGS)
def test_explain_names_the_class_of_each_wall(crawled, lang):
    s = crawled["site"]
    for wall in (w for w in crawled["walls"] if w.lang == lang):
        result = run_cli("explain", s.url(wall.path), db=crawled["db"])
        assert result.returncode == 0, result.stderr
        assert SENTENCE[wall.page_class] in result.stdout, (wall.name, result.stdout)


def test_a_site_of_walls_gets_one_warning(crawled):
    stderr = crawled["result"].stderr
    assert stderr.count("are walls or not articles") == 1, stderr


def test_a_wall_is_not_fetched_again_at_once(crawled):
    s = crawled["site"]
    before = len(s.log)
    again = run_cli("crawl", s.url("/sitemap.xml"), *FAST, "--json", db=crawled["db"])
    assert again.returncode == 0, again.stderr
    fetched = {h.path for h in s.log[before:]}
    # the consent wall may be lifted tomorrow, the others later; none is refetched now
    assert not fetched & {w.path for w in crawled["walls"]}


def test_keep_teasers_and_languages_in_a_crawl(site, tmp_path):
    s, _ = site
    db = tmp_path / "news.db"
    result = run_cli(
        "crawl",
        s.url("/sitemap.xml"),
        *FAST,
        "--keep-teasers",
        "--languages",
        "en,de",
        "--json",
        db=db,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    rows = query(db, "select language, partial from articles order by language, partial")
    # the en and de articles, and the en and de teasers (flagged partial); nothing French
    assert rows == [("de", 0), ("de", 1), ("en", 0), ("en", 1)]
    skipped = dict(query(db, "select url, detail from events where reason = 'language'"))
    assert skipped == {s.url(article_path("fr")): "fr", s.url("/news/2024/05/paywall-fr"): "fr"}
    explain = run_cli("explain", s.url("/news/2024/05/paywall-de"), db=db)
    assert "kept as partial" in explain.stdout
    stats = run_cli("stats", db=db).stdout
    assert "skipped for language: fr 2" in stats and "partial:   2 paywall teasers" in stats


def test_ingest_quarantines_the_same_pages(tmp_path, db_path):
    for wall in wall_pages(LANGS):
        (tmp_path / f"{wall.name.replace('/', '-')}.html").write_text(wall.html)
    for lang in LANGS:
        (tmp_path / f"real-{lang}.html").write_text(real_article(lang))
    result = run_cli(
        "ingest", str(tmp_path), "--workers", "0", "--languages", "en,fr", "--json", db=db_path
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    walls = len(wall_pages(LANGS))
    assert (summary["new"], summary["skipped"], summary["inputs"]) == (2, walls + 1, walls + 3)
    assert summary["reasons"]["skipped:language"] == 1
    # a local file has no tag URL; the tag pages are known by their title and JSON-LD type
    assert summary["reasons"]["skipped:not-an-article"] == len(LANGS)
    explain = run_cli("explain", str(tmp_path / "real-de.html"), db=db_path)
    assert "language de is not one of --languages" in explain.stdout


def test_languages_judges_a_page_that_declares_none_by_its_text(tmp_path, db_path):
    for lang in ("en", "de"):
        undeclared = real_article(lang).replace(f'<html lang="{lang}">', "<html>")
        assert "lang=" not in undeclared
        (tmp_path / f"plain-{lang}.html").write_text(undeclared)
    result = run_cli("ingest", str(tmp_path), "--workers", "0", "--languages", "en", db=db_path)
    assert result.returncode == 0, result.stderr
    assert query(db_path, "select language, language_detected from articles") == [("en", 1)]
    skipped = run_cli("explain", str(tmp_path / "plain-de.html"), db=db_path).stdout
    assert "language de is not one of --languages" in skipped
    kept = run_cli("explain", str(tmp_path / "plain-en.html"), db=db_path).stdout
    assert "language:   en (detected from the text: the page declares none)" in kept


def test_bad_languages_option_is_a_usage_error(tmp_path, db_path):
    (tmp_path / "a.html").write_text(real_article("en"))
    result = run_cli("ingest", str(tmp_path / "a.html"), "--languages", "english", db=db_path)
    assert result.returncode == 2 and "not a language code" in result.stderr
    assert "Traceback" not in result.stderr


def test_reprocess_quarantined_stores_the_pages_that_pass_now(site, tmp_path):
    s, walls = site
    db = tmp_path / "news.db"
    crawl = run_cli("crawl", s.url("/sitemap.xml"), *FAST, "--languages", "en", db=db, timeout=180)
    assert crawl.returncode == 0, crawl.stderr
    assert query(db, "select language from articles") == [("en",)]
    kept_out = len(walls) + 2  # the walls, and the German and French articles
    other = run_cli("reprocess", "--quarantined", "--site", "example.org", "--json", db=db)
    assert json.loads(other.stdout)["inputs"] == 0  # another site's pages only

    # judged again under the same policy: nothing changes, every page is still kept out
    same = run_cli("reprocess", "--quarantined", "--languages", "en", "--json", db=db)
    assert same.returncode == 0, same.stderr
    summary = json.loads(same.stdout)
    assert (summary["inputs"], summary["new"], summary["skipped"]) == (kept_out, 0, kept_out)
    assert query(db, "select count(*) from articles") == [(1,)]

    # every language, and the teasers kept: the two articles and the three teasers come in
    wider = run_cli("reprocess", "--quarantined", "--keep-teasers", "--json", db=db)
    assert wider.returncode == 0, wider.stderr
    assert "are walls or not articles" not in wider.stderr  # known walls: no warning again
    summary = json.loads(wider.stdout)
    assert (summary["new"], summary["skipped"]) == (2 + len(LANGS), len(walls) - len(LANGS))
    rows = query(db, "select language, partial from articles order by language, partial")
    assert rows == [("de", 0), ("de", 1), ("en", 0), ("en", 1), ("fr", 0), ("fr", 1)]
    teaser = s.url("/news/2024/05/paywall-de")
    assert "kept as partial" in run_cli("explain", teaser, db=db).stdout
    stats = json.loads(run_cli("stats", "--json", db=db).stdout)
    assert "paywall" not in stats["quarantined"] and not stats["languages_skipped"]
    assert stats["quarantined"]["consent-wall"] == len(LANGS)
    # the stored pages now point at their articles; a third run finds only the walls
    assert query(db, "select count(*) from pages where article_hash is not null") == [(6,)]
    again = json.loads(
        run_cli("reprocess", "--quarantined", "--keep-teasers", "--json", db=db).stdout
    )
    assert (again["inputs"], again["new"]) == (len(walls) - len(LANGS), 0)


def test_keep_teasers_without_quarantined_is_a_usage_error(db_path):
    result = run_cli("reprocess", "--keep-teasers", db=db_path)
    assert result.returncode == 2 and "--quarantined" in result.stderr
    assert "Traceback" not in result.stderr
