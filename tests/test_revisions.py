"""Revisits and revisions: ``newsmill crawl`` fetches recent articles again with a
conditional GET and keeps a changed text as a new revision of its story.

The fixture site (written here, served on 127.0.0.1) has six articles behind an RSS feed.
Between the first and the second crawl one article gains a paragraph, one is re-served
with different whitespace, one has a typo fixed, and three do not change (two answer 304
to If-None-Match, one to If-Modified-Since). "Now" is moved with NEWSMILL_NOW: the second
crawl runs two hours after the first (inside the 24-hour window), the last one thirty
hours after (outside it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from newsmill.revisions import compare_texts, word_diff

from .conftest import run_cli
from .crawlsite import Hit, Site, article_html, paragraphs, rfc1123

NEWS = "/news/2026/12/"
FAST = ["--delay", "0", "--timeout", "5", "--retries", "0", "--workers", "1", "--json"]
HTML = "text/html; charset=utf-8"
FIRST_DATE = 1764835200  # 2025-12-04 08:00 UTC: the Last-Modified of the first versions
LATER_DATE = FIRST_DATE + 3 * 3600

# slug -> (title, topic words, validator the page sends)
ARTICLES = {
    "tide-gauge-upgrade": ("Harbour tide gauge gets an upgrade", "tide gauge harbour", "etag"),
    "pier-lights-respaced": ("Pier lights back on after storm", "pier lights storm", "date"),
    "lifeboat-crew-drill": ("Lifeboat crew drills at dawn", "lifeboat crew drill", "etag"),
    "harbour-dredging": ("Dredging starts in the inner harbour", "dredging harbour silt", "etag"),
    "fish-market-hours": ("Fish market changes opening hours", "fish market hours", "etag"),
    "ferry-timetable": ("Winter ferry timetable published", "ferry timetable winter", "date"),
}
GROWS, RESPACED, TYPO = "tide-gauge-upgrade", "pier-lights-respaced", "lifeboat-crew-drill"
UNCHANGED = ("harbour-dredging", "fish-market-hours", "ferry-timetable")
ADDED = (
    "Update: the harbour master said on Thursday evening that the new gauge had already "
    "recorded the highest spring tide in eleven years, and that the readings would be "
    "published online every fifteen minutes from next week."
)
TYPO_WRONG, TYPO_RIGHT = "crew drilled for ninty minutes", "crew drilled for ninety minutes"


def article_paragraphs(slug: str, phase: int) -> list[str]:
    _, words, _ = ARTICLES[slug]
    paras = paragraphs(slug, words)
    if slug == TYPO:
        fixed = TYPO_RIGHT if phase == 2 else TYPO_WRONG
        paras[2] = paras[2].replace("as officials", f"as the {fixed} and officials")
    if slug == GROWS and phase == 2:
        paras.append(ADDED)
    if slug == RESPACED and phase == 2:
        paras = [p.replace(" ", "  ").replace(". ", ".\n   ") for p in paras]
    return paras


class RevisitSite:
    """Six articles and a feed; ``phase`` 1 or 2 says which versions are served."""

    def __init__(self) -> None:
        self.phase = 1
        self.site = Site("revisits", "127.0.0.1")
        self.site.start()
        for slug in ARTICLES:
            self.site.routes[NEWS + slug] = self._page(slug)
        self.site.routes["/robots.txt"] = lambda: (200, {"Content-Type": "text/plain"}, b"")
        feed = "".join(f"<item><link>{self.url(s)}</link></item>" for s in ARTICLES)
        body = f'<?xml version="1.0"?><rss version="2.0"><channel>{feed}</channel></rss>'.encode()
        tag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        self.site.routes["/rss.xml"] = lambda: (
            200,
            {"Content-Type": "application/rss+xml", "ETag": tag},
            body,
        )

    def url(self, slug: str) -> str:
        return self.site.url(NEWS + slug)

    def _page(self, slug: str):
        def make() -> tuple[int, dict[str, str], bytes]:
            title, _, validator = ARTICLES[slug]
            body = article_html(title, article_paragraphs(slug, self.phase)).encode()
            changed = self.phase == 2 and slug in (GROWS, RESPACED, TYPO)
            headers = {"Content-Type": HTML}
            if validator == "etag":
                headers["ETag"] = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
            else:
                headers["Last-Modified"] = rfc1123(LATER_DATE if changed else FIRST_DATE)
            return 200, headers, body

        return make


def query(db: Path, sql: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def crawl(db: Path, site: RevisitSite, *extra: str, now: dt.datetime | None = None) -> dict:
    env = {"NEWSMILL_NOW": now.isoformat()} if now else None
    result = run_cli("crawl", site.site.url("/rss.xml"), *FAST, *extra, db=db, env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    summary = json.loads(result.stdout)
    summary["stderr"] = result.stderr
    return summary


def article_hits(hits: list[Hit]) -> dict[str, list[Hit]]:
    out: dict[str, list[Hit]] = {}
    for hit in hits:
        if hit.path.startswith(NEWS):
            out.setdefault(hit.path.removeprefix(NEWS), []).append(hit)
    return out


@pytest.fixture(scope="module")
def revisited(tmp_path_factory):
    """Crawl 1 (phase 1); a crawl two hours later with --no-revisit; one with
    --revisit-max 2; then phase 2 and crawl 2 two hours later; crawl 3 thirty hours later."""
    site = RevisitSite()
    db = tmp_path_factory.mktemp("revisits") / "news.db"
    log = site.site.log
    start = dt.datetime.now(dt.UTC)
    marks = [0]
    runs = {}

    def step(name: str, *extra: str, now: dt.datetime | None = None) -> None:
        runs[name] = crawl(db, site, *extra, now=now)
        runs[name]["hits"] = article_hits(log[marks[-1] :])
        marks.append(len(log))

    step("first")
    order = [
        url.removeprefix(site.url(""))
        for (url,) in query(db, "select url from pages order by fetched_at, url")
    ]
    step("off", "--no-revisit", now=start + dt.timedelta(hours=2))
    step("bounded", "--revisit-max", "2", now=start + dt.timedelta(hours=2))
    site.phase = 2
    step("second", now=start + dt.timedelta(hours=2))
    step("third", now=start + dt.timedelta(hours=30))
    yield {"db": db, "site": site, "runs": runs, "first_order": order}
    site.site.stop()


def test_first_crawl_stores_the_six_articles(revisited):
    first = revisited["runs"]["first"]
    assert (first["new"], first["duplicate"], first["revisited"]) == (6, 0, 0)
    assert sorted(first["hits"]) == sorted(ARTICLES)


def test_no_revisit_fetches_no_article(revisited):
    off = revisited["runs"]["off"]
    assert off["hits"] == {} and off["revisited"] == 0 and off["inputs"] == 0


def test_revisit_max_bounds_a_run_least_recently_checked_first(revisited):
    bounded = revisited["runs"]["bounded"]
    assert bounded["revisited"] == 2
    # the two pages fetched longest ago (then by URL), each asked conditionally: 304
    assert sorted(bounded["hits"]) == sorted(revisited["first_order"][:2])
    for (hit,) in bounded["hits"].values():
        assert hit.conditional and hit.status == 304
    assert bounded["not_modified"] >= 2 and bounded["inputs"] == 0


def test_second_crawl_stores_exactly_one_new_revision(revisited):
    db, site = revisited["db"], revisited["site"]
    second = revisited["runs"]["second"]
    assert second["revisited"] == 6
    assert (second["new"], second["duplicate"]) == (1, 2)
    assert second["reasons"]["new:revision"] == 1
    assert second["reasons"]["duplicate:unchanged"] == 1
    assert second["reasons"]["duplicate:trivial-edit"] == 1
    assert "1 new (1 revision)" in second["stderr"] and "6 revisited" in second["stderr"]
    assert query(db, "select count(*) from articles") == [(7,)]
    rows = query(
        db, "select number, hash, previous, url, latest, run_id from revisions order by number"
    )
    assert len(rows) == 2
    (n1, first_hash, prev1, url1, latest1, run1), (n2, new_hash, prev2, url2, latest2, run2) = rows
    assert (n1, prev1, latest1, run1) == (1, None, 0, revisited["runs"]["first"]["run_id"])
    assert (n2, prev2, latest2, run2) == (2, first_hash, 1, second["run_id"])
    assert url1 == url2 == site.url(GROWS)
    # each text keeps its own hash; the URL points to the latest
    texts = dict(query(db, "select hash, text from articles"))
    assert ADDED not in texts[first_hash] and ADDED in texts[new_hash]
    assert query(db, "select article_hash from urls where url = ?", site.url(GROWS)) == [
        (new_hash,)
    ]
    events = dict(
        query(
            db,
            "select input, outcome || ':' || reason from events where run_id = ?",
            second["run_id"],
        )
    )
    assert events == {
        site.url(GROWS): "new:revision",
        site.url(RESPACED): "duplicate:unchanged",
        site.url(TYPO): "duplicate:trivial-edit",
    }


def test_unchanged_pages_are_fetched_with_conditional_get_only(revisited):
    hits = revisited["runs"]["second"]["hits"]
    assert sorted(hits) == sorted(ARTICLES)  # each article once, nothing else
    for slug in ARTICLES:
        (hit,) = hits[slug]
        assert hit.conditional, slug
        if ARTICLES[slug][2] == "etag":
            assert hit.if_none_match.startswith('"'), slug
        else:
            assert hit.if_modified_since == rfc1123(FIRST_DATE), slug
        assert hit.status == (304 if slug in UNCHANGED else 200), slug
    assert revisited["runs"]["second"]["not_modified"] >= 3


def test_a_trivial_edit_updates_last_seen_only(revisited):
    db, site = revisited["db"], revisited["site"]
    second = revisited["runs"]["second"]
    ((text, first_seen, last_seen),) = query(
        db,
        "select a.text, a.first_seen, a.last_seen from articles a join urls u "
        "on u.article_hash = a.hash where u.url = ?",
        site.url(TYPO),
    )
    assert TYPO_WRONG in text  # the stored text is the first one
    started = query(db, "select started from runs where id = ?", second["run_id"])[0][0]
    assert last_seen >= started >= first_seen


def test_third_crawl_outside_the_window_fetches_none(revisited):
    third = revisited["runs"]["third"]
    assert third["hits"] == {}
    assert third["revisited"] == 0 and third["inputs"] == 0


def test_show_revisions_prints_fetch_times_and_a_word_diff(revisited):
    db, site = revisited["db"], revisited["site"]
    result = run_cli("show", site.url(GROWS), "--revisions", db=db)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "revision 1 " in out and "revision 2 " in out and "(latest)" in out
    fetched = [line for line in out.splitlines() if line.startswith("revision ")]
    assert all("fetched 20" in line for line in fetched)
    assert "{+" + ADDED.split()[0] in out and "[-" not in out
    assert f"+{len(ADDED.split())} -0 words" in out
    # an article that never changed has one revision
    single = run_cli("show", site.url("ferry-timetable"), "--revisions", db=db)
    assert "revision 1 " in single.stdout and "no other revision" in single.stdout


def test_export_gives_the_latest_revision_unless_all_revisions(revisited):
    db = revisited["db"]
    latest = [json.loads(line) for line in run_cli("export", db=db).stdout.splitlines()]
    assert len(latest) == 6
    grown = [r for r in latest if r["title"] == ARTICLES[GROWS][0]]
    assert len(grown) == 1 and ADDED in grown[0]["text"]
    unique = [json.loads(x) for x in run_cli("export", "--unique", db=db).stdout.splitlines()]
    assert sorted(r["hash"] for r in unique) == sorted(r["hash"] for r in latest)
    every = [
        json.loads(line) for line in run_cli("export", "--all-revisions", db=db).stdout.splitlines()
    ]
    assert len(every) == 7
    story = [r for r in every if r["title"] == ARTICLES[GROWS][0]]
    assert sorted(r["revision"] for r in story) == [1, 2]
    assert len({r["story"] for r in story}) == 1
    others = [r for r in every if r["title"] != ARTICLES[GROWS][0]]
    assert all(r["revision"] == 1 and r["story"] == r["hash"] for r in others)


def test_stats_counts_revisions(revisited):
    out = run_cli("stats", db=revisited["db"]).stdout
    assert "articles:  7 " in out
    assert "revisions: 1 (of 1 articles updated after they were first stored" in out


def test_dups_does_not_count_a_revision_as_an_article(revisited):
    db = revisited["db"]
    # the two revisions are near-duplicates (one cluster) ...
    clusters = query(
        db, "select cluster, count(*) from articles group by cluster having count(*) > 1"
    )
    assert len(clusters) == 1
    # ... but dups lists no cluster: the earlier revision is not an article of its own
    result = run_cli("dups", "--json", db=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_explain_names_the_revision(revisited):
    db, site = revisited["db"], revisited["site"]
    out = run_cli("explain", site.url(GROWS), db=db).stdout
    assert "a new revision of the article its URL held (revision 2:" in out
    assert "revision 2 of 2 of story " in out and "(the latest;" in out
    out = run_cli("explain", site.url(TYPO), db=db).stdout
    assert "revisited: a trivial edit" in out and "revision " not in out


# -- the library: what is a trivial edit ---------------------------------------------------------


def test_trivial_edits_and_revisions():
    paras = paragraphs("x", "council budget vote")
    text = "\n".join(paras)
    previous = "0" * 64
    assert compare_texts(text, text.replace(" ", "  "), previous).kind == "unchanged"
    one_typo = text.replace("officials", "oficials", 1)
    assert compare_texts(text, one_typo, previous).kind == "trivial"
    two_typos = one_typo.replace("Residents", "Residnets", 1)
    assert compare_texts(text, two_typos, previous).kind == "trivial"
    # typos a word apart, and next to a word repeated close by, are still one fix each
    close = text.replace("officials described the", "oficials described teh", 1)
    assert compare_texts(text, close, previous).kind == "trivial"
    repeated = text.replace("said they had", "said thye had", 1)
    assert compare_texts(text, repeated, previous).kind == "trivial"
    adjacent = text.replace("story continued", "stroy continud", 1)
    assert compare_texts(text, adjacent, previous).kind == "trivial"
    sentence = text + "\nThe mayor resigned on Friday after the vote, her office said."
    change = compare_texts(text, sentence, previous)
    assert change.kind == "revision" and change.words_added == 11 and change.words_removed == 0
    paragraph_gone = "\n".join(paras[:-1])
    assert compare_texts(text, paragraph_gone, previous).kind == "revision"
    # a word added or removed, a number or a word changed: news
    assert compare_texts(text, text.replace("said", "said not", 1), previous).kind == "revision"
    assert compare_texts(text, text.replace("day 1 ", "day 2 ", 1), previous).kind == "revision"
    assert compare_texts(text, text.replace("closely", "warily", 1), previous).kind == "revision"
    # a short text (30 words): one typo fix is trivial, two are a large part of it
    short = (
        "The ferry leaves at nine from the nort pier on weekdays and at ten on Sundays, "
        "the harbour office said, adding that the winter timetable would be posted at the "
        "terminal and online."
    )
    assert compare_texts(short, short.replace("nort", "north"), previous).kind == "trivial"
    edited = short.replace("nort", "north").replace("timetable", "timetabel")
    assert compare_texts(short, edited, previous).kind == "revision"


def test_word_diff_marks_additions_and_removals():
    old = "one two three four five six seven eight nine ten eleven twelve thirteen"
    new = "one two three four five SIX seven eight nine ten eleven twelve thirteen fourteen"
    hunks = word_diff(old, new, context=2)
    assert hunks == ["… four five [-six-] {+SIX+} seven eight …", "… twelve thirteen {+fourteen+}"]


def test_the_store_stays_consistent(revisited):
    from newsmill.store import Store

    with Store.open(revisited["db"]) as store:
        assert store.consistency_problems() == []


# -- the library: revisions in the store ----------------------------------------------------------


def _doc(title: str, paras: list[str], url: str, *, revisit: bool = False):
    from newsmill.pipeline import Document

    body = article_html(title, paras).encode()
    return Document(body, url, url=url, kind="html", revisit=revisit)


def test_a_story_revised_three_times_counts_once_for_site_templates(store):
    """Template lines are lines many articles of a site hold; the revisions of one story
    share most lines, and must not make the story's own short lines 'template'."""
    from newsmill.pipeline import process

    run_id = store.start_run("test", {})
    site = "https://coast.example"
    for slug in ("one-story", "two-story", "three-story", "four-story", "five-story"):
        doc = _doc(slug, paragraphs(slug, "quay boats nets"), site + "/news/" + slug)
        assert process(store, doc, run_id=run_id).outcome == "new"
    url = site + "/news/pier-story"
    paras = [*paragraphs("pier", "pier repair works"), "Reporting by Ana Silva."]
    first = process(store, _doc("Pier", paras, url), run_id=run_id)
    hashes = [first.article_hash]
    for n in range(3):
        paras = [*paras, f"Update {n + 1}: " + paragraphs(f"update{n}", "pier crane barge")[0]]
        outcome = process(store, _doc("Pier", paras, url, revisit=True), run_id=run_id)
        assert (outcome.outcome, outcome.reason) == ("new", "revision")
        hashes.append(outcome.article_hash)
    rows = store.db.execute("select hash, number, latest from revisions order by number").fetchall()
    assert rows == [(h, i + 1, int(i == 3)) for i, h in enumerate(hashes)]
    (text,) = store.db.execute("select text from articles where hash = ?", [hashes[-1]]).fetchone()
    assert "Reporting by Ana Silva." in text  # not taken for the site's template
    assert store.article_for_url(url) == hashes[-1]
    # the same page again: unchanged; with a typo fixed: trivial; neither adds anything
    same = process(store, _doc("Pier", paras, url, revisit=True), run_id=run_id)
    assert (same.outcome, same.reason, same.article_hash) == ("duplicate", "unchanged", hashes[-1])
    fixed = [paras[0].replace("officials", "oficials"), *paras[1:]]
    typo = process(store, _doc("Pier", fixed, url, revisit=True), run_id=run_id)
    assert (typo.outcome, typo.reason, typo.article_hash) == (
        "duplicate",
        "trivial-edit",
        hashes[-1],
    )
    # a page that is not a revisit is judged as ever: a new article, no revision
    other = process(store, _doc("Pier", paras[:-1], url + "-copy"), run_id=run_id)
    assert other.reason != "revision"
    assert store.consistency_problems() == []


def test_revision_rows_follow_an_article_moved_to_a_new_hash(store):
    from newsmill.pipeline import process

    run_id = store.start_run("test", {})
    url = "https://coast.example/news/tide-story"
    paras = paragraphs("tide", "tide gauge harbour")
    first = process(store, _doc("Tide", paras, url), run_id=run_id)
    grown = process(store, _doc("Tide", [*paras, ADDED], url, revisit=True), run_id=run_id)
    (text,) = store.db.execute(
        "select text from articles where hash = ?", [grown.article_hash]
    ).fetchone()
    with store.transaction():
        moved, merged = store.move_article(
            grown.article_hash, text + "\nA line added by reprocess.", run_id=run_id, reason="t"
        )
    assert not merged
    rows = store.db.execute(
        "select story, hash, previous from revisions order by number"
    ).fetchall()
    assert rows == [
        (first.article_hash, first.article_hash, None),
        (first.article_hash, moved, first.article_hash),
    ]
    assert store.consistency_problems() == []


def test_reprocess_leaves_an_earlier_revision_as_it_is(store, db_path):
    from newsmill.pipeline import process

    run_id = store.start_run("test", {})
    url = "https://coast.example/news/tide-story"
    paras = paragraphs("tide", "tide gauge harbour")
    first = process(store, _doc("Tide", paras, url), run_id=run_id)
    grown = process(store, _doc("Tide", [*paras, ADDED], url, revisit=True), run_id=run_id)
    result = run_cli("reprocess", "--json", db=db_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["inputs"] == 1  # the latest revision only
    hashes = {h for (h,) in store.db.execute("select hash from articles")}
    assert hashes == {first.article_hash, grown.article_hash}


def test_refresh_refetches_without_validators_and_keeps_revisions(tmp_path):
    """--refresh fetches every stored article again, unconditionally: a changed text is a
    revision of its story there too (not an unrelated new article)."""
    site = RevisitSite()
    try:
        db = tmp_path / "news.db"
        assert crawl(db, site)["new"] == 6
        site.phase = 2
        mark = len(site.site.log)
        refreshed = crawl(db, site, "--refresh")
        hits = article_hits(site.site.log[mark:])
    finally:
        site.site.stop()
    assert sorted(hits) == sorted(ARTICLES)
    assert not any(h.conditional for hs in hits.values() for h in hs)
    assert (refreshed["new"], refreshed["duplicate"]) == (1, 5)
    assert refreshed["reasons"]["new:revision"] == 1
    assert refreshed["reasons"]["duplicate:unchanged"] == 4
    assert refreshed["reasons"]["duplicate:trivial-edit"] == 1
    assert query(db, "select count(*) from revisions") == [(2,)]
