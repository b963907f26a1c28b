"""The page classifier (newsmill.classify) and what the pipeline does with its verdicts."""

from __future__ import annotations

import logging

import pytest

from newsmill.classify import (
    ARTICLE,
    Verdict,
    WallWatch,
    check_block_examples,
    classify,
    default_block_rules,
    parse_block_rules,
)
from newsmill.extract import parse_article
from newsmill.pipeline import Document, Policy, analyze, parse_languages, process, record
from newsmill.store import Store

from .crawlsite import article_html, paragraphs
from .walls import LANGUAGES, SENTENCES, extra_pages, wall_pages


def classify_page(html: str, url: str | None = None) -> Verdict:
    analysis = analyze(Document(html.encode(), input=url or "page.html", url=url, kind="html"))
    return analysis.verdict or Verdict(ARTICLE)


def test_shipped_patterns_pass_their_examples():
    assert check_block_examples() == []


def test_a_broken_example_is_reported():
    rules = parse_block_rules(
        {
            "pattern": [
                {
                    "id": "x",
                    "class": "soft-404",
                    "in": "title",
                    "pattern": "not found",
                    "match": ["Page missing"],
                    "no_match": ["Cat not found after storm"],
                }
            ]
        }
    )
    problems = check_block_examples(rules)
    assert any("does not match 'Page missing'" in p for p in problems)
    assert any("matches 'Cat not found after storm'" in p for p in problems)


def test_a_pattern_of_an_unknown_class_is_refused():
    with pytest.raises(ValueError, match="unknown class"):
        parse_block_rules(
            {"pattern": [{"id": "x", "class": "spam", "in": "title", "pattern": "x"}]}
        )


@pytest.mark.parametrize("wall", wall_pages() + extra_pages(), ids=lambda w: w.name)
def test_every_wall_gets_its_class(wall):
    verdict = classify_page(wall.html, wall.url)
    assert verdict.page_class == wall.page_class, verdict.evidence
    assert verdict.evidence  # the evidence that decided it is named


def test_each_class_in_every_language():
    classes = {(w.page_class, w.lang) for w in wall_pages()}
    kinds = {w.page_class for w in wall_pages()}
    assert len(kinds) == 6
    assert classes == {(k, lang) for k in kinds for lang in LANGUAGES}


def story(title: str, paras: list[str], *, head: str = "", lang: str = "en") -> str:
    html = article_html(title, paras)
    html = html.replace('<html lang="en">', f'<html lang="{lang}">')
    return html.replace("</head>", head + "</head>")


# Real articles that look like walls at a glance: each must stay an article.
HARD_NEGATIVES = {
    "a story about cookie walls": story(
        "Regulator fines publishers over cookie walls",
        [
            "The data protection authority fined four publishers on Tuesday for cookie "
            "banners that made it harder to refuse tracking than to accept it, and said "
            "readers must be able to reject all cookies with a single click.",
            "One banner read 'We value your privacy' above a large 'Accept all' button, "
            "while the option to refuse was hidden behind three further pages, the "
            "decision says. The publishers have a month to change their consent forms.",
            *paragraphs("cookies", "cookie banner fine", 4),
        ],
    ),
    "a story titled Access denied": story(
        "Access denied",
        paragraphs("access", "hospital records police", 5),
    ),
    "a long article declared not free (full text served)": story(
        "Council passes budget after long night",
        paragraphs("budget", "council budget vote", 8),
        head='<script type="application/ld+json">{"@type": "NewsArticle", '
        '"isAccessibleForFree": false, "hasPart": {"@type": "WebPageElement", '
        '"isAccessibleForFree": false, "cssSelector": ".paywall"}}</script>',
    ),
    "a story quoting a 404 page": story(
        "Ministry website shows 'page not found' for a week",
        paragraphs("ministry", "ministry website outage", 5),
    ),
    "a full article next to a subscribe box": story(
        "Harbour pilots vote on new contract",
        [*paragraphs("pilots", "pilots contract vote", 8), "Subscribe to continue reading"],
    ),
    "a German story headlined with the consent-wall phrase": story(
        "Zustimmung erforderlich: Länderkammer muss Hafengesetz billigen",
        [s + " " + s for s in SENTENCES["de"]] * 2,
        lang="de",
    ),
    "an article on a Cloudflare site": story(
        "Tram line extension gets green light",
        paragraphs("tram", "tram line extension", 5),
        head='<script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script>',
    ),
}


@pytest.mark.parametrize("name", HARD_NEGATIVES)
def test_articles_that_resemble_walls_stay_articles(name):
    verdict = classify_page(HARD_NEGATIVES[name], "https://example.com/news/2024/05/story")
    assert verdict.page_class == ARTICLE, verdict.evidence


def test_a_short_article_with_a_promo_box_is_not_a_teaser_without_evidence():
    html = story("Bakery wins regional bread award", paragraphs("bakery", "bakery bread", 3))
    assert classify_page(html).page_class == ARTICLE


def test_the_tag_url_alone_does_not_make_an_article_a_listing():
    html = story("Tagged whale returns", paragraphs("whale", "whale tag bay", 5))
    assert classify_page(html, "https://example.com/tag/whales").page_class == ARTICLE


def test_classify_takes_the_extracted_article():
    html = next(w.html for w in wall_pages() if w.name == "paywall/en")
    article = parse_article(html, "https://example.com/x")
    assert classify(html, "https://example.com/x", article).page_class == "paywall"
    assert classify(html, "https://example.com/x", None).page_class == "paywall"


def test_settings_come_from_blocks_toml():
    rules = default_block_rules()
    assert rules.short_words > 0 and rules.teaser_max_words > rules.short_words
    assert {p.page_class for p in rules.patterns} == {
        "paywall",
        "consent-wall",
        "bot-challenge",
        "region-block",
        "soft-404",
        "not-an-article",
    }


# ----------------------------------------------------------------------------- the pipeline


def wall_doc(name: str) -> Document:
    wall = next(w for w in wall_pages() if w.name == name)
    return Document(wall.html.encode(), input=wall.url or name, url=wall.url, kind="html")


def test_a_wall_is_skipped_with_its_class_and_its_page_kept(store: Store):
    run = store.start_run("test", {})
    outcome = process(store, wall_doc("consent-wall/de"), run_id=run)
    assert (outcome.outcome, outcome.reason) == ("skipped", "consent-wall")
    assert "consent-text" in (outcome.detail or "")  # the evidence
    assert store.db["articles"].count == 0
    page = store.db.execute(
        "select article_hash from pages where url = ?", [outcome.url]
    ).fetchone()
    assert page == (None,)  # the raw page is kept for later reprocessing
    event = next(store.db.query("select outcome, reason, detail from events"))
    assert (event["outcome"], event["reason"]) == ("skipped", "consent-wall")
    assert store.stats()["quarantined"] == {"consent-wall": 1}


def test_keep_teasers_stores_the_teaser_flagged_partial(store: Store):
    run = store.start_run("test", {})
    outcome = process(store, wall_doc("paywall/fr"), run_id=run, policy=Policy(keep_teasers=True))
    assert (outcome.outcome, outcome.reason) == ("new", "partial")
    row = store.db.execute("select partial, language from articles").fetchone()
    assert row == (1, "fr")
    assert next(store.iter_articles())["partial"] == 1  # (export reads these rows)
    # teasers only: the other walls are still skipped
    other = process(store, wall_doc("soft-404/fr"), run_id=run, policy=Policy(keep_teasers=True))
    assert other.outcome == "skipped"
    assert store.stats()["partial"] == 1


def test_a_real_article_is_not_partial(store: Store):
    run = store.start_run("test", {})
    html = story("Ferry crews strike", paragraphs("ferry", "ferry crews rota", 5))
    doc = Document(html.encode(), input="https://example.com/a", url="https://example.com/a")
    assert process(store, doc, run_id=run, policy=Policy(keep_teasers=True)).outcome == "new"
    assert store.db.execute("select partial from articles").fetchone() == (0,)


def test_languages_keep_only_those_listed(store: Store):
    run = store.start_run("test", {})
    policy = Policy(languages=parse_languages("en,DE"))
    outcomes = {}
    for lang in ("en", "de", "fr"):
        html = story(f"Story {lang}", [s + " " + s for s in SENTENCES[lang]], lang=lang)
        url = f"https://example.com/{lang}"
        doc = Document(html.encode(), input=url, url=url, kind="html")
        outcomes[lang] = process(store, doc, run_id=run, policy=policy)
    assert [outcomes[x].outcome for x in ("en", "de", "fr")] == ["new", "new", "skipped"]
    assert (outcomes["fr"].reason, outcomes["fr"].detail) == ("language", "fr")
    assert store.stats()["languages_skipped"] == {"fr": 1}


def test_an_article_of_unknown_language_is_kept(store: Store):
    run = store.start_run("test", {})
    policy = Policy(languages=frozenset({"de"}))
    # a brief too short to tell its language, on a page that declares none: kept
    brief = story("Ferry update", ["Crossings resume at noon, the harbour office said."])
    brief = brief.replace(' lang="en"', "")
    doc = Document(brief.encode(), input="https://example.com/b", url="https://example.com/b")
    outcome = process(store, doc, run_id=run, policy=policy)
    assert outcome.outcome == "new"
    assert store.find_article(outcome.article_hash)["language"] is None
    # a whole article on such a page is judged by its text's language
    html = story("Ferry crews strike", paragraphs("ferry", "ferry crews rota", 5))
    html = html.replace(' lang="en"', "")
    doc = Document(html.encode(), input="https://example.com/a", url="https://example.com/a")
    outcome = process(store, doc, run_id=run, policy=policy)
    assert (outcome.outcome, outcome.reason, outcome.detail) == ("skipped", "language", "en")


@pytest.mark.parametrize("value", ["english", "e1", "en,,x y"])
def test_bad_language_codes_are_refused(value):
    with pytest.raises(ValueError, match="not a language code"):
        parse_languages(value)


def test_an_error_page_that_extracts_to_nothing_is_named_not_empty(store: Store):
    run = store.start_run("test", {})
    html = b"<html><head><title>Seite nicht gefunden</title></head><body><p>Leider.</p></body>"
    doc = Document(html, input="https://example.com/x", url="https://example.com/x")
    analysis = analyze(doc)
    assert analysis.article is None and analysis.reason == "soft-404"
    outcome = record(store, doc, analysis, run_id=run, seen_at="2024-05-20T00:00:00+00:00")
    assert (outcome.outcome, outcome.reason) == ("skipped", "soft-404")


def test_a_challenge_is_quarantined_though_it_extracts_to_a_few_words():
    # "Enable JavaScript and cookies to continue": long enough to be stored before
    analysis = analyze(wall_doc("bot-challenge/en"))
    assert analysis.article is not None
    assert analysis.verdict is not None and analysis.verdict.page_class == "bot-challenge"


def test_a_page_with_nothing_to_judge_stays_empty():
    analysis = analyze(Document(b"<html><body><p>Hi.</p></body></html>", input="x.html"))
    assert (analysis.article, analysis.reason) == (None, "too-short")


def test_a_site_of_walls_is_warned_about_once(caplog):
    watch = WallWatch()
    wall = Verdict("bot-challenge", "challenge-title 'Just a moment...'")
    with caplog.at_level(logging.WARNING, logger="newsmill.classify"):
        results = [watch.note("example.com", wall) for _ in range(50)]
        watch.note("other.example", Verdict(ARTICLE))
    assert results.count(True) == 1 and results.index(True) == 4  # at the fifth page
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "example.com" in warnings[0].getMessage()


def test_a_site_with_a_few_walls_is_not_warned_about(caplog):
    watch = WallWatch()
    with caplog.at_level(logging.WARNING, logger="newsmill.classify"):
        for i in range(20):
            watch.note("example.com", Verdict("soft-404") if i % 4 == 0 else Verdict(ARTICLE))
    assert not caplog.records
