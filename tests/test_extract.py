"""Extraction from HTML: our own fixture pages, metadata, the related-dates bug, decoding."""

from __future__ import annotations

import codecs
import html
import json
from pathlib import Path

import pytest
import trafilatura
from lxml import html as lxml_html

from newsmill import extract
from newsmill.errors import NoArticle
from newsmill.extract import (
    article_from_text,
    decode_html,
    drop_scripts,
    extract_article,
    is_binary,
    page_metadata,
    parse_article,
    structured_body,
    use_plain_html_elements,
)
from newsmill.fingerprint import content_hash
from newsmill.store import Store

from .conftest import run_cli

PAGES = Path(__file__).parent / "fixtures" / "pages"
URL = "https://news.example.org/story/1"


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def parse(name: str, url: str = URL):
    return parse_article(page(name), url)


# ----------------------------------------------------------------------------- fixture pages


def test_harbour_ferry_keeps_the_story_and_drops_the_boilerplate():
    article = parse("harbour-ferry.html")
    text = article.text
    assert text.startswith("PORT ELLERY — The harbour ferry linking the old town")
    assert text.endswith("publish a final timetable by the end of the month.")
    # sentences that merely contain "read more" / "share" are story text
    assert "Many said they would read more into the timing" in text
    assert "will share the cost of a monthly pass" in text
    for boilerplate in (
        "Home > Local",
        "Harbour ferry service to resume after two-year pause",  # the title, kept in metadata
        "3 min read",
        "Share on Facebook",
        "READ MORE:",
        "Sign up for our newsletter",
        "Recommended For You",
        "Lighthouse keeper",
        "March 3, 2021",
        "Ivo Brandt",
    ):
        assert boilerplate not in text, boilerplate
    rules = {r.rule for r in article.removed}
    assert {"breadcrumb", "title", "related-link", "newsletter-prompt"} <= rules
    assert article.hash == content_hash(text)


def test_harbour_ferry_metadata():
    article = parse("harbour-ferry.html", url="https://ledger.example.com/l/123?utm=x")
    assert article.title == "Harbour ferry service to resume after two-year pause"
    assert article.author == "Mara Quillfeather"
    assert article.published == "2025-03-14"  # datePublished, not dateModified
    assert article.site == "The Coastal Ledger"
    assert article.language == "en"  # from <html lang="en-US">
    assert article.url == "https://ledger.example.com/local/harbour-ferry-resumes"  # canonical


def test_embedded_post_app_follow_and_mirror_addresses_go():
    article = parse("summit-tweet.html", url="https://highlandpost.example/x")
    text = article.text
    assert text.startswith("Six walkers were brought down from a ridge")
    assert "conditions on the tops can change within minutes." in text
    for boilerplate in (
        "News / Scotland",
        "(@glenrescue_team)",
        "Download our app",
        "Follow us on",
        "alternate addresses",
        "www.highlandpost.example",
        "highland-post.example.org",
    ):
        assert boilerplate not in text, boilerplate
    # the post's own text may stay (it is quoted content); its signature line goes
    assert "(@glenrescue_team)" in " ".join(r.text for r in article.removed)
    # a relative canonical link is resolved against the page URL
    assert article.url == "https://highlandpost.example/news/mountain-rescue-walkers"
    assert article.published == "2025-01-19"
    assert article.language == "en"
    assert article.title == "Mountain rescue team saves stranded walkers"


def test_german_page_read_time_see_also_and_share_label_go():
    article = parse("lesezeit-de.html")
    assert article.text.startswith("Der Stadtrat hat am Dienstagabend")
    assert article.text.endswith("dem weitere folgen müssten.")
    for boilerplate in ("Lesezeit", "Lesen Sie auch", "Teilen"):
        assert boilerplate not in article.text
    assert article.language == "de"
    assert article.published == "2025-06-03"


def test_windows_1251_page_declared_as_utf8_is_decoded():
    article = parse("library-cp1251-declared-utf8.html")
    assert article.text.startswith(
        "В субботу в центре города открылась новая городская библиотека."
    )
    assert "Читайте также" not in article.text
    assert "\ufffd" not in article.text
    assert article.language == "ru"
    assert article.title == "В городе открылась новая библиотека"


# ----------------------------------------------------------------------------- dates


def test_date_is_not_taken_from_a_related_links_block():
    """The page declares no date; only its "More from" list has dates."""
    article = parse("orchard-no-date.html")
    assert article.published is None
    assert "June 12, 2019" not in article.text
    assert "More from Farming" not in article.text


def test_plain_trafilatura_takes_the_related_block_date():
    """The bug newsmill fixes: trafilatura's date search finds the teaser dates."""
    document = trafilatura.bare_extraction(page("orchard-no-date.html"), with_metadata=True)
    assert document is not None
    assert document.date in {"2019-06-10", "2019-06-11", "2019-06-12"}


def test_date_from_time_element_in_the_article_header():
    article = parse("orchard-header-time.html")
    assert article.published == "2024-05-02"  # <time> by the headline, not "Most read" dates
    assert article.author == "Owen Tarrant"  # rel=author in the byline
    assert article.language == "en"


def test_date_priority_json_ld_then_meta_then_url():
    head = '<meta property="article:published_time" content="2021-02-03T10:00:00Z">'
    ld = (
        '<script type="application/ld+json">'
        '{"@type":"NewsArticle","datePublished":"2020-01-02"}</script>'
    )
    body = "<body><h1>T</h1><p>x</p></body>"
    assert page_metadata(f"<html><head>{head}{ld}</head>{body}</html>").published == "2020-01-02"
    assert page_metadata(f"<html><head>{head}</head>{body}</html>").published == "2021-02-03"
    url = "https://example.com/2019/11/20/some-story/"
    assert page_metadata(f"<html><head></head>{body}</html>", url).published == "2019-11-20"
    assert page_metadata(f"<html><head></head>{body}</html>", URL).published is None


def test_implausible_dates_are_ignored():
    head = '<meta name="date" content="1970-01-01">'
    assert page_metadata(f"<html><head>{head}</head><body></body></html>").published is None


def test_a_bare_date_line_at_the_top_of_plain_text_becomes_the_date():
    text = "24 Jan, 2026\n4 min read\n" + "A story paragraph long enough to be real content. " * 3
    article = article_from_text(text)
    assert article.published == "2026-01-24"
    assert article.text.startswith("A story paragraph")


# ----------------------------------------------------------------------------- metadata bits


@pytest.mark.parametrize(
    ("html_attr", "meta", "expected"),
    [
        ('lang="pt-BR"', "", "pt"),
        ('lang="EN_gb"', "", "en"),
        ("", '<meta http-equiv="content-language" content="it">', "it"),
        ("", '<meta property="og:locale" content="de_DE">', "de"),
        ('lang="x"', "", None),
        ("", "", None),
    ],
)
def test_language_is_a_primary_subtag(html_attr, meta, expected):
    html = f"<html {html_attr}><head>{meta}</head><body><p>x</p></body></html>"
    assert page_metadata(html).language == expected


def test_site_falls_back_to_the_host_name():
    html = "<html><head></head><body><p>x</p></body></html>"
    assert page_metadata(html, "https://www.example.net/a").site == "example.net"


def test_json_ld_author_list_and_graph():
    ld = (
        '{"@context":"https://schema.org","@graph":[{"@type":"WebPage"},'
        '{"@type":"NewsArticle","headline":"H","author":[{"name":"A One"},{"name":"B Two"}],'
        '"publisher":{"@type":"Organization","name":"Example Post"}}]}'
    )
    html = (
        f'<html><head><script type="application/ld+json">{ld}</script></head><body></body></html>'
    )
    meta = page_metadata(html)
    assert meta.author == "A One; B Two"
    assert meta.site == "Example Post"
    assert meta.title == "H"


def test_broken_json_ld_is_ignored():
    html = (
        '<html><head><script type="application/ld+json">{"a": </script></head><body></body></html>'
    )
    assert page_metadata(html).published is None


def test_drop_scripts_keeps_json_ld_and_text():
    html = (
        '<html><head><script type="application/ld+json">{"a":1}</script>'
        "<script>var a = '<p>no</p>';</script><style>p{}</style></head>"
        "<body><p>yes</p><script\n>x()</script><scripted>keep</scripted></body></html>"
    )
    out = drop_scripts(html)
    assert "ld+json" in out
    assert "var a" not in out and "p{}" not in out and "x()" not in out
    assert "<p>yes</p>" in out and "<scripted>keep</scripted>" in out
    assert drop_scripts("<p>unterminated <script>x") == "<p>unterminated <script>x"


# ----------------------------------------------------------------------------- decoding

STORY_HTML = (
    "<html><head><meta charset='{charset}'><title>T</title></head><body><article>"
    + "<p>{text}</p>" * 6
    + "</article></body></html>"
)


def story(text: str, charset: str = "utf-8") -> str:
    return STORY_HTML.replace("{charset}", charset).replace("{text}", text)


RUSSIAN = "Жители города собрались на площади, чтобы обсудить новый план реконструкции парка."
FRENCH = "Les habitants se sont réunis sur la place pour discuter du nouveau plan du quartier."


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (story(RUSSIAN).encode("cp1251"), RUSSIAN),  # cp1251 declared as utf-8
        (story(RUSSIAN, "windows-1251").encode("cp1251"), RUSSIAN),
        (story(FRENCH, "iso-8859-1").encode("utf-8"), FRENCH),  # utf-8 declared as latin-1
        (story(FRENCH, "iso-8859-1").encode("latin-1"), FRENCH),
        (codecs.BOM_UTF8 + story(FRENCH).encode("utf-8"), FRENCH),
        (story(FRENCH).encode("utf-16"), FRENCH),  # with BOM
        (story(FRENCH).encode("utf-16-le"), FRENCH),  # without BOM
        (story(RUSSIAN).encode("utf-16-be"), RUSSIAN),
        (story(FRENCH, "no-such-charset").encode("utf-8"), FRENCH),
    ],
    ids=[
        "cp1251-declared-utf8",
        "cp1251-declared",
        "utf8-declared-latin1",
        "latin1-declared",
        "utf8-bom",
        "utf16-bom",
        "utf16le-no-bom",
        "utf16be-no-bom",
        "unknown-charset",
    ],
)
def test_decoding(data, expected):
    assert expected in decode_html(data)
    article = parse_article(data, URL)
    assert expected in article.text


def test_invalid_bytes_decode_with_replacement_and_never_raise():
    data = story(FRENCH).encode("utf-8")[:200] + b"\xff\xfe\xfa" + story(FRENCH).encode("utf-8")
    assert FRENCH in decode_html(data)
    assert extract_article(data, URL) is not None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty-input"),
        (b"   \n\t ", "empty-input"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, "binary"),
        (bytes(range(256)) * 40, "binary"),
        (b"\x1f\x8b\x08\x00" + b"\x00\x13\x99" * 300, "binary"),
        ("", "empty-input"),
        ("\ufeff  ", "empty-input"),
        ("\x00\x01\x02\x03" * 500, "binary"),
        ("<html><body></body></html>", "no-article-text"),
        ("<html><body><p>Hi.</p></body></html>", "too-short"),
        ("<html><body><p>Share</p><p>Advertisement</p></body></html>", "only-boilerplate"),
    ],
    ids=[
        "zero-bytes",
        "blank-bytes",
        "png",
        "random-bytes",
        "gzip",
        "empty-str",
        "bom-only",
        "control-chars",
        "no-text",
        "too-short",
        "only-boilerplate",
    ],
)
def test_no_article_reasons(data, reason):
    with pytest.raises(NoArticle) as info:
        parse_article(data, URL)
    assert info.value.reason == reason
    assert extract_article(data, URL) is None


def test_is_binary_accepts_text_in_any_encoding():
    assert not is_binary(story(FRENCH).encode("utf-16"))
    assert not is_binary(story(RUSSIAN).encode("cp1251"))
    assert is_binary(b"%PDF-1.7\n" + b"x" * 100)


@pytest.mark.parametrize("control", [1, 8, 14, 26, 31])
def test_is_binary_counts_control_bytes_against_a_5_percent_share(control):
    text = b"<p>" + b"a" * 997
    five, six = bytearray(text), bytearray(text)
    for i in range(3, 53):  # 50 in 1,000 bytes: 5%, still text
        five[i] = control
    for i in range(3, 54):  # 51: binary
        six[i] = control
    assert not is_binary(bytes(five))
    assert is_binary(bytes(six))
    # tab, newlines, form feed and escape are text
    assert not is_binary(b"<p>" + b"\t\n\r\x0b\x0c\x1b" * 100)


def test_article_from_text_cleans_plain_text():
    text = "Home > World\n\n" + "\n\n".join(["A real paragraph of the story, told in full."] * 3)
    text += "\n\nSHARE THIS ARTICLE"
    article = article_from_text(text, URL)
    assert article.text.splitlines() == ["A real paragraph of the story, told in full."] * 3
    assert [r.rule for r in article.removed] == ["breadcrumb", "share-bar"]
    assert article.url == URL
    with pytest.raises(NoArticle, match="empty-input"):
        article_from_text("  \n ")
    with pytest.raises(NoArticle, match="only-boilerplate"):
        article_from_text("SHARE THIS ARTICLE\nAdvertisement")


# ----------------------------------------------------------------------------- plain elements

FORM_PAGE = b"""<!doctype html><html lang="en"><head><title>Dock strike ends after talks</title>
<meta property="og:site_name" content="Harbour Times"></head><body>
<nav><a href="/">Home</a> <a href="/port">Port</a></nav>
<article><h1>Dock strike ends after talks</h1>
<p>Dock workers returned to the quays on Tuesday after nine days of talks ended with a
new agreement on shift lengths and overtime pay for the night crews.</p>
<form action="/newsletter" class="signup"><label for="e">Get the morning briefing</label>
<input id="e" name="email" type="email"><select name="freq"><option>Daily</option></select>
<textarea name="note">Anything else?</textarea><button>Sign up</button></form>
<p>The port authority said the first container ships would be unloaded by the weekend,
and that the backlog of about forty vessels should clear within a fortnight.</p>
<p>Union leaders called the deal a fair outcome and thanked members for their patience
during what they described as the longest stoppage at the harbour in two decades.</p>
</article><footer><p>Harbour Times 2024</p></footer></body></html>"""


@pytest.fixture
def lookup_restored():
    """Put trafilatura's parser back to lxml.html's own class lookup afterwards."""
    parser = trafilatura.utils.HTML_PARSER
    yield parser
    parser.set_element_class_lookup(lxml_html.HtmlElementClassLookup())


@pytest.mark.parametrize("name", [*sorted(p.name for p in PAGES.glob("*.html")), "form"])
def test_plain_html_elements_extract_the_same_article(name, lookup_restored):
    body = FORM_PAGE if name == "form" else page(name)
    lookup_restored.set_element_class_lookup(lxml_html.HtmlElementClassLookup())
    before = parse_article(body, URL)
    assert type(trafilatura.utils.load_html(FORM_PAGE).find(".//form")) is lxml_html.FormElement

    assert use_plain_html_elements()
    form = trafilatura.utils.load_html(FORM_PAGE).find(".//form")
    assert type(form) is lxml_html.HtmlElement
    assert parse_article(body, URL) == before


# --------------------------------------------------------------------- the fast path's guard


def fast_path(name: str) -> str:
    """What trafilatura's fast path alone returns for a fixture page."""
    html = drop_scripts(page(name).decode())
    document = trafilatura.bare_extraction(
        html, include_comments=False, with_metadata=False, fast=True
    )
    return document.text if document is not None else ""


def test_a_body_split_around_an_embed_is_extracted_whole():
    # Two "article-body" containers with a video playlist between them: the fast path
    # stops after the first one.
    assert "fish pass" not in fast_path("split-body.html")
    article = parse("split-body.html")
    assert article.text.startswith("BRENTMOOR — After ten years of studies")
    assert "includes a fish pass beside the gates" in article.text
    assert article.text.endswith("before the contract is signed.")
    assert "Flood defences explained in two minutes" not in article.text  # the playlist
    # the evidence: the second half, the largest block of paragraphs; none of it was kept
    assert article.extraction == (
        "full: the fast path's 108 words held 0% of the 255 words of the <div> holding the"
        " most <p> text, the full pass's 363 words 100%"
    )


def test_a_live_blog_of_one_article_element_per_entry_keeps_every_entry():
    assert "Red warning extended" not in fast_path("liveblog-entries.html")
    article = parse("liveblog-entries.html")
    for entry in (
        "The regional rail operator has suspended all services north of Kelby",
        "Waves have broken over the harbour wall at Saltby",
        "38,000 homes are now without power",
        "Three secondary schools in the county will open",
        "The Ness estuary bridge is closed",
        "extended its red wind warning for the coast until midnight",
    ):
        assert entry in article.text, entry
    assert article.extraction.startswith("full: ")
    assert "words outside links" in article.extraction


def test_a_body_split_over_containers_of_one_name_is_joined():
    # Three "article__body" parts between ad rails and a signup box: both of trafilatura's
    # passes stop after the first one.
    name = "split-body-chunks.html"
    assert "Finding drivers" not in fast_path(name)
    article = parse(name)
    assert article.text.startswith("KELBY — The number 42 is the only bus")
    assert "Finding drivers was harder than finding money." in article.text
    assert article.text.endswith("a driver who knew every one of them by name.")
    for boilerplate in ("Morning Brief", "Sign up", "Advertisement"):
        assert boilerplate not in article.text
    assert article.extraction.startswith("merged: the fast path's 120 words held 23% of")
    assert "the full pass's 120 words 23%" in article.extraction
    assert article.extraction.endswith(
        "the body is split over 3 <div class='story__body article__body'> elements, joined"
        " they give 481 words holding 94%"
    )


SPLIT_PART = "<p>" + "The ferry will run twice an hour from May until the end of October. " * 3


@pytest.mark.parametrize(
    ("layout", "parts"),
    [
        # parts in their layout wrappers, which share the name too: the inner ones
        (
            "<article><div class='grid'><div class='body'>{p}</div><aside>Ad</aside></div>"
            "<div class='grid'><div class='body'>{p}</div></div></article>",
            2,
        ),
        # one part inside another of the same name counts once: no split
        ("<article><div class='body'>{p}<div class='body'>{p}</div></div></article>", 0),
        # far apart (no ancestor in common within SPLIT_LEVELS levels)
        (
            "<div class='a'><div><div><div class='body'>{p}</div></div></div></div>"
            "<div class='b'><div><div><div class='body'>{p}</div></div></div></div>",
            0,
        ),
        # reader comments are no part of the story
        (
            "<div id='thread'><div class='comment-text'>{p}</div><div class='comment-text'>"
            "{p}</div></div>",
            0,
        ),
        # teasers too short to be parts of a story
        (
            "<section><div class='card'><p>Bus fares rise in May.</p></div>"
            "<div class='card'><p>New bridge opens.</p></div></section>",
            0,
        ),
    ],
)
def test_the_parts_of_a_split_body(layout, parts):
    tree = lxml_html.document_fromstring(f"<html><body>{layout.format(p=SPLIT_PART)}</body></html>")
    found = extract._split_body(tree)
    assert len(found or []) == parts
    if found:
        assert all(part.get("class") == "body" for part in found)


def test_joining_the_parts_leaves_the_page_alone():
    part, promo = f"<div class='body'>{SPLIT_PART}</div>", "<div class='promo'>Subscribe</div>"
    second = f"<div class='body'>tail text {SPLIT_PART}</div>"
    html = f"<html><body><article>{part}{promo}{second}</article></body></html>"
    tree = lxml_html.document_fromstring(html)
    joined = extract._with_parts_joined(tree, extract._split_body(tree))
    parts = joined.find_class("body")
    assert len(parts) == 1 and parts[0].text_content().count("The ferry will run") == 6
    assert "tail text" in parts[0].text_content()  # a part's own text is moved too
    assert len(tree.find_class("body")) == 2  # the page itself is unchanged


def test_joined_parts_are_kept_only_when_they_hold_more_of_the_evidence():
    second = "<p>" + "Winter sailings stay at one an hour, weather permitting, as before. " * 3
    parts = [f"<div class='article__body'>{text}</div>" for text in (SPLIT_PART, second)]
    html = f"<html><body><article>{parts[0]}<aside>Ad</aside>{parts[1]}</article></body></html>"
    tree = lxml_html.document_fromstring(html)
    fast = extract.Body("The ferry will run twice an hour.", "fast", "looked short")
    unrelated = "The school board met on Monday to discuss the budget for next year. " * 5
    kept = extract._joined(tree, None, unrelated, fast, 0.0)
    assert kept is not None and kept.path == "fast" and kept.text == fast.text
    assert kept.why.endswith(": kept the fast one")
    evidence = SPLIT_PART.removeprefix("<p>") + second.removeprefix("<p>")
    merged = extract._joined(tree, None, evidence, fast, 0.1)
    assert merged is not None and merged.path == "merged"
    assert "Winter sailings" in merged.text and "The ferry will run" in merged.text
    assert merged.why.endswith("joined they give 75 words holding 100%")


def test_a_fast_output_that_is_a_sidebar_list_gives_way_to_the_story():
    # An old blog editor wrote the post in <div>s; the sidebar's schedule is the page's
    # only <p> text, and the fast path takes it.
    name = "list-sidebar.html"
    assert fast_path(name).startswith("2026 SPRING TOUR\nMarch 1: Leeds, UK")
    article = parse(name)
    assert article.text.startswith("People often ask which of our sessions")
    assert article.text.endswith("Tell us where your favourite early-morning place is!")
    assert "Leeds" not in article.text
    assert article.extraction == (
        "full: the fast path's 163 words held no line of prose, the full pass's 149 words"
        " 149 words of prose, 100% of it in the page's text outside links and lists"
    )


def test_a_page_whose_article_is_a_list_keeps_it():
    wards = "".join(
        f"<p>Ward {n}: {name} (Ind) {1000 + 37 * n} votes, turnout {40 + n}%</p>"
        for n, name in enumerate(["Jane Ardery", "Colm Hale", "Ines Mward", "Odile Brann"] * 6)
    )
    html = (
        "<html><head><title>Kelby council election: results by ward</title></head><body>"
        f"<h1>Kelby council election: results by ward</h1><div class='results'>{wards}</div>"
        "<div id='footer'><a href='/about'>About us</a></div></body></html>"
    )
    article = parse_article(html, URL)
    assert "Ward 0: Jane Ardery (Ind) 1000 votes" in article.text
    assert "Ward 23: Odile Brann (Ind) 1851 votes" in article.text
    assert article.extraction.startswith("fast: the fast path's ")
    assert article.extraction.endswith(": kept the fast one")


def test_only_a_fast_output_without_prose_is_checked_as_a_list():
    tree = lxml_html.document_fromstring("<html><body><p>x</p></body></html>")
    short_lines = "\n".join(f"March {n}: Leeds, UK" for n in range(1, 31))
    one_sentence = "This is the one line of the page that reads as a sentence of prose.\n"
    assert extract._without_list(tree, None, one_sentence + short_lines, 130) is None
    assert extract._without_list(tree, None, short_lines[:200], 60) is None  # too short
    assert extract._without_list(tree, None, short_lines, 120) is not None


def test_a_second_pass_that_fails_leaves_the_fast_output(monkeypatch):
    # paywall-teaser.html takes a full pass (see below); here trafilatura fails on it
    real = trafilatura.bare_extraction

    def failing_full_pass(*args, fast=False, **kwargs):
        if not fast:
            raise ValueError("lxml internals")
        return real(*args, fast=fast, **kwargs)

    monkeypatch.setattr(trafilatura, "bare_extraction", failing_full_pass)
    article = parse("paywall-teaser.html")
    assert article.extraction == (
        "fast: the fast path's 54 words held 15% of the 332 words of <article>, the full"
        " pass's 0 words 0%: not enough more, kept the fast one"
    )
    assert "Mill Street" not in article.text  # the fast output, as it was
    # a split body is still joined (by the fast path)
    assert parse("split-body.html").extraction.startswith("merged: ")


def test_a_first_container_holding_only_a_teaser_does_not_end_the_article():
    # The story's first paragraph is shown; the rest waits in a hidden paywall container.
    assert "Mill Street" not in fast_path("paywall-teaser.html")
    article = parse("paywall-teaser.html")
    assert "Shopkeepers on Mill Street" in article.text
    assert article.extraction.startswith("full: the fast path's ")
    assert "words of <article>" in article.extraction


def test_a_page_parsed_as_a_fragment_is_checked_against_its_text():
    # No <body> in the tree (a hidden <input> before <html>): the page's text outside links
    # must still be read. The fast path takes a promo box; the story is <br>-separated text
    # in a table cell.
    assert "Dairy Cooperative" not in fast_path("table-layout-br.html")
    article = parse("table-layout-br.html")
    assert "Members of the Vale Dairy Cooperative voted 212 to 41" in article.text
    assert "approve the final budget at the annual meeting in June." in article.text
    assert article.extraction.startswith("full: the fast path's ")
    assert "words outside links" in article.extraction


def test_a_page_that_is_one_table_after_its_scripts_is_still_html():
    # trafilatura's loader takes a page for something else than HTML when its start does
    # not name html and it parses to fewer than two top-level elements: here one <table>,
    # once the leading <script> is dropped.
    article = parse("script-then-table.html")
    assert "Ferry crews on the three island routes returned to work" in article.text
    assert "travel later in the week." in article.text


def test_a_story_in_line_broken_text_is_not_lost_to_a_box_of_the_same_size():
    # The fast path takes a markets table (its container's class names an article body);
    # the story is <br>-separated text in a table cell, with no <p>, and the table is long
    # enough that neither the paragraphs nor the page's text show a shortfall.
    assert "Dairy Cooperative" not in fast_path("missed-block.html")
    article = parse("missed-block.html")
    assert "Members of the Vale Dairy Cooperative voted 212 to 41" in article.text
    assert "approve the final budget at the annual meeting in June." in article.text
    assert article.extraction.startswith("full: the fast path's 148 words held 0% of the ")
    assert "words of the <td> holding the most text between line breaks" in article.extraction


def test_a_fast_output_as_long_as_the_story_but_elsewhere_is_checked():
    # The story is in <p> elements now, and the markets table is more than half its length.
    fast = fast_path("missed-container.html")
    assert "Dairy Cooperative" not in fast
    story = lxml_html.fromstring(page("missed-container.html")).xpath('//td[@class="main"]/p')
    assert len(fast.split()) * 2 > sum(len(p.text_content().split()) for p in story)
    article = parse("missed-container.html")
    assert "Members of the Vale Dairy Cooperative voted 212 to 41" in article.text
    assert "approve the final budget at the annual meeting in June." in article.text
    assert article.extraction.startswith("full: the fast path's 148 words held 0% of the ")


def test_an_explainer_whose_points_are_a_list_keeps_the_list():
    # The story's points are a numbered list between two paragraphs, in a container whose
    # name trafilatura does not know: the fast path keeps the paragraphs and drops the list,
    # and the paragraphs alone are too short to be evidence of a longer article.
    fast = fast_path("prose-list.html")
    assert "Forty-two meters" not in fast
    assert "Ruth Adeyemi" in fast
    article = parse("prose-list.html")
    for point in (
        "Forty-two meters will be installed on Main Street",
        "People who live on the metered blocks and have no driveway",
        "Fines double if they are not paid within thirty days.",
        "speak at any board meeting during the public comment period.",
    ):
        assert point in article.text, point
    assert "Ruth Adeyemi" in article.text
    assert "Dairy co-op picks a builder" not in article.text  # the "Most read" links
    assert article.extraction.startswith("fast: 149 words; no evidence of a longer article;")
    assert "it held 1% of 1 list of prose (374 words), read again with" in article.extraction


def test_a_fast_output_holding_the_site_menus_is_replaced_by_the_full_pass():
    # An old table layout with no <article> or <main>: the page's one table is mostly links
    # (region and section menus, each entry a <p> in a cell), so trafilatura drops it and the
    # fast path recovers every <p> of the page, the menus' entries among the story's.
    fast = fast_path("regional-menus.html").splitlines()
    for entry in ("Alder Bay", "Jubilee Park", "Photo Galleries", "Horoscopes"):
        assert entry in fast, entry
    article = parse("regional-menus.html")
    assert article.text.startswith("By Tom Ashby\nFares on the Saltby to Kelby ferry")
    assert "ask for a review next year." in article.text
    for entry in ("Alder Bay", "Jubilee Park", "Photo Galleries", "Horoscopes", "Send Us News"):
        assert entry not in article.text, entry
    assert article.extraction.startswith("full: the fast path's 203 words held 77 menu-like ")


QUARRY_STORY = (
    "ASHFORD - The Marlow County planning board voted 5-2 on Tuesday night",
    "the company will be allowed to blast twice a week instead of once",
    '"We listened to every speaker, and the conditions we set tonight answer most',
    "only one inspector for the eleven quarries and gravel pits in its borders",
    "said on Wednesday that they had not yet decided whether to do so.",
)


def test_a_fast_output_holding_a_layout_table_is_replaced_by_the_full_pass():
    # An old page in nested layout tables, spacer cells between its parts: the fast path
    # reads the frame as tables, a line of pipes for each row of spacers, the masthead's
    # date and the footer with the story.
    fast = fast_path("layout-table.html")
    rows = [line for line in fast.splitlines() if line.strip() and not line.strip(" |")]
    assert len(rows) >= extract.LAYOUT_ROWS
    assert "Copyright 2003" in fast and "Wednesday, June 11, 2003" in fast
    article = parse("layout-table.html")
    for sentence in QUARRY_STORY:
        assert sentence.lower() in article.text.lower(), sentence
    for frame in ("Copyright 2003", "Wednesday, June 11, 2003", "Print this story"):
        assert frame not in article.text, frame
    assert article.extraction.startswith(
        "full: the fast path's 305 words held 13 empty table rows in 20 lines, the full"
        " pass's 195 words 0 such rows"
    )


def test_a_listing_in_a_layout_table_keeps_the_fast_output():
    # The story is a schedule in a table with spacer rows: the full pass reads the same
    # table, so the fast output stays, every entry with it.
    article = parse("layout-table-list.html")
    assert article.text.startswith("| ASHFORD - The Thursday evening band concerts are back")
    for entry in ("June 19", "marches, show tunes", "July 31", "requests collected"):
        assert entry in article.text, entry
    assert article.extraction.startswith("fast: the fast path's 460 words held 11 empty table")
    assert article.extraction.endswith(": kept the fast one")


def test_a_full_pass_replaces_a_layout_only_when_it_keeps_the_story():
    # _replaces on the schedule page's tree, whose evidence of the story's length is its
    # introduction (the <p> text of its cell)
    tree = lxml_html.document_fromstring(page("layout-table-list.html"))
    intro = [p.text_content() for p in tree.iter("p")]
    entries = [td.text_content() for td in tree.xpath("//td[not(*)][string-length() > 80]")]
    frame = ["|  |  |"] * 8 + ["| Copyright 2003 The Marlow Valley Herald. All rights reserved. |"]
    fast = "\n".join(frame[:4] + intro + entries + frame[4:])
    # the frame dropped, the story kept
    assert extract._replaces(tree, fast, "\n".join(intro + entries))[0]
    # the first paragraph and the first entry: less than half the fast output's prose
    replaces, kept = extract._replaces(tree, fast, "\n".join(intro[:1] + entries[:1]))
    assert not replaces and kept < extract.LAYOUT_KEPT_PROSE
    # the schedule and the end of the introduction: more than half the prose, but shorter
    # than the fast output and without most of the evidence of the story's length
    replaces, kept = extract._replaces(tree, fast, "\n".join(intro[3:] + entries))
    assert not replaces and kept >= extract.LAYOUT_KEPT_PROSE


def test_a_comment_thread_is_no_evidence_of_the_articles_length():
    story = "".join(f"<p>{s}, the council said on Tuesday night.</p>" for s in QUARRY_STORY)
    comment = "<p>" + "I have lived next to the quarry for twenty years and never heard it. " * 4
    thread = "".join(
        f"<div class='comment-body' id='c{n}'>{comment}</p>{comment}</p></div>" for n in range(6)
    )
    page = (
        "<html><body class='layout has-sidebar'><div><div><div class='story'>"
        f"{story}</div></div></div><div id='comments'>{thread}</div></body></html>"
    )
    texts, name = extract._container_text(lxml_html.document_fromstring(page))
    # the thread's <p> text is longer, but it is named like comments: the story is the
    # evidence (the <body>'s "has-sidebar" is the page's layout, not the story's container)
    assert name == "the <div> holding the most <p> text"
    assert len(texts) == len(QUARRY_STORY) and texts[0].startswith(QUARRY_STORY[0])


def container_evidence(*body: str) -> tuple[list[str], str]:
    """The container evidence of a page whose <body> holds ``body``."""
    page = f"<html><body>{''.join(body)}</body></html>"
    return extract._container_text(lxml_html.document_fromstring(page))


def test_a_block_quotes_paragraphs_are_the_text_of_the_element_around_it():
    speech = "".join(f"<p>{s}, the minister told the chamber on Tuesday.</p>" for s in QUARRY_STORY)
    texts, name = container_evidence(
        "<table><tr><td class='nav'><p>Home</p></td><td>",
        f"<p>{QUARRY_STORY[0]}.</p><blockquote>{speech}<blockquote>{speech}</blockquote>",
        f"</blockquote><p>{QUARRY_STORY[1]}.</p></td></tr></table>",
    )
    assert name == "the <td> holding the most <p> text"
    assert len(texts) == 2 + 2 * len(QUARRY_STORY)


def test_an_article_body_written_without_paragraphs_is_evidence_by_its_text():
    lines = "<br>".join(f"<span>{s}, the council said.</span>" for s in QUARRY_STORY)
    about = "<div class='about'><p>We write about the valley and its people.</p></div>"
    card = f"<article class='card'>{lines}</article>"
    texts, name = container_evidence(
        f"<div itemprop='articleBody'>{lines} <a href='/x'>Share</a></div>", about, card
    )
    assert name == "itemprop=articleBody"
    text = " ".join(texts)
    assert QUARRY_STORY[0] in text and QUARRY_STORY[-1] in text and "Share" not in text
    # an <article> without <p> may be a teaser card: no evidence by its text
    _, name = container_evidence(f"<div class='x'>{lines}</div>", about, card)
    assert name == "the <div> holding the most <p> text"


def test_an_aside_holding_the_headline_is_the_article_not_a_sidebar():
    story = "".join(f"<p>{s}, the council said on Tuesday night.</p>" for s in QUARRY_STORY)
    texts, name = container_evidence(
        "<aside class='blogPost'><h1>Quarry blasting to stop at night</h1>",
        f"<div class='blogContent'>{story}</div></aside>",
        "<div class='related'><p>Quarry lorries to use new road.</p></div>",
        f"<aside class='sidebar'><div>{story}{story}</div></aside>",
    )
    assert name == "the <div> holding the most <p> text"
    assert len(texts) == len(QUARRY_STORY)  # the story, not the sidebar's longer copy


def test_a_comment_is_not_the_pages_largest_block_of_text():
    lines = "<br>".join(f"{s}, the council said on Tuesday night." for s in QUARRY_STORY)
    reply = "<br>".join(
        ["I have lived next to the quarry for twenty years and never heard it."] * 9
    )
    page = (
        f"<html><body><table><tr><td class='story'>{lines}</td></tr></table>"
        f"<div class='comment-list'><div><div class='text'>{reply}</div></div></div></body></html>"
    )
    texts, name = extract._text_block(lxml_html.document_fromstring(page))
    assert name == "the <td> holding the most text between line breaks"
    assert QUARRY_STORY[0] in " ".join(texts)


def test_the_pages_text_leaves_out_reader_comments():
    page = (
        "<html><body class='single comments-open'><div class='story'><p>The board voted on"
        " Tuesday.</p></div><section id='Comments'><div class='commentBody'><p>First!</p></div>"
        "</section><div class='post-comment-form'>Leave a reply</div><p>Print edition</p>"
        "</body></html>"
    )
    body = extract._body(lxml_html.document_fromstring(page))
    text = " ".join(extract._page_text(body))
    # the <body>'s name is the page's layout: its text stays
    assert "The board voted on Tuesday." in text and "Print edition" in text
    assert "First!" not in text and "Leave a reply" not in text


def test_the_pages_text_is_read_in_order_outside_links_lists_and_furniture():
    page = (
        "<html><body>Lead <b>bold</b> tail <a href='/x'>link</a> after the link"
        "<!-- a note --> after the note<ul><li>menu</li></ul><nav>Home</nav>"
        "<div><p>One <i>two</i></p> three</div><header>Logo</header><footer>(c)</footer>"
        "<aside>Ad</aside><select><option>EN</option></select><noscript>Enable</noscript>"
        "<script>x()</script><style>p{}</style>end</body></html>"
    )
    texts = extract._page_text(extract._body(lxml_html.document_fromstring(page)))
    assert " ".join(t.strip() for t in texts) == (
        "Lead bold tail after the link after the note One two three end"
    )


def test_only_a_table_shaped_body_is_worth_the_layout_checks_second_pass():
    # trafilatura's full pass prefers another extractor's text of about the same length only
    # for a body without paragraph text, or with more tables than paragraphs
    shaped = extract._table_shaped
    prose = lxml_html.fromstring(
        "<body><p>One.</p><p>Two.</p><table><tr><td>x</td></tr></table></body>"
    )
    assert not shaped(prose)
    tables = lxml_html.fromstring("<body><p>One.</p><table/><table/></body>")
    assert shaped(tables)
    assert shaped(lxml_html.fromstring("<body><table><tr><td>cells</td></tr></table></body>"))
    assert shaped(None)


def test_the_layout_check_skips_the_full_pass_for_a_body_of_paragraphs(monkeypatch):
    # The same fast output holding a frame's empty rows: the full pass runs (and is taken,
    # the frame gone) only when trafilatura's body of that output is table-shaped.
    story = [f"{sentence}, the council said on Tuesday night." for sentence in QUARRY_STORY]
    fast_output = "\n".join(["|  |  |"] * 7 + story)
    for table_shaped, passes, path in ((False, [True], "fast"), (True, [True, False], "full")):
        calls = []

        def extracted(tree, url, *, fast, table_shaped=table_shaped, calls=calls):
            calls.append(fast)
            return (fast_output, table_shaped) if fast else ("\n".join(story), False)

        monkeypatch.setattr(extract, "_extract_with_shape", extracted)
        body = extract.extract_body("<html><body><p>page</p></body></html>", URL)
        assert calls == passes and body is not None and body.path == path, table_shaped


TEASER = (
    "<li><a href='/news/{n}'><img src='/img/{n}.jpg' alt=''>Harbour works enter their second"
    " year</a> The dredging of the inner basin is due to finish before the autumn storms,"
    " the port authority said, and the new quay will open to fishing boats in the spring.</li>"
)
POINT = (
    "<li>The board will review the rules in six months and has promised a public hearing"
    " before any change to the prices or the hours, the town clerk said on Tuesday.</li>"
)


@pytest.mark.parametrize(
    ("items", "around", "counted"),
    [
        (POINT, "<div class='col-wide'>{}</div>", True),
        # a list of teasers: a thumbnail in every item
        (TEASER, "<div class='col-wide'>{}</div>", False),
        # prose, but in a container named like the page's furniture
        (POINT, "<div class='sidebar-right'>{}</div>", False),
        (POINT, "<ol class='commentlist'>{}</ol>", False),
        (POINT, "<nav>{}</nav>", False),
    ],
)
def test_a_list_reads_as_prose_only_outside_teasers_and_furniture(items, around, counted):
    points = "".join(items.format(n=n) for n in range(12))
    body = around.format(f"<ul>{points}</ul>" if "<ol" not in around else points)
    tree = lxml_html.document_fromstring(f"<html><body><p>Intro.</p>{body}</body></html>")
    lists = extract._prose_lists(tree, extract.DROPPED_LIST_WORDS)
    assert len(lists) == counted
    if counted:
        (_, text, words), *_ = lists
        assert words == len(text.split()) > 12 * extract.DROPPED_LIST_WORDS


def quarry_story(count: int, start: int = 0) -> str:
    """``count`` paragraphs of the quarry story, from sentence ``start``."""
    sentences = QUARRY_STORY[start : start + count]
    return "".join(
        f"<p>{sentence}, the chairman said after the meeting.</p>" for sentence in sentences
    )


def test_a_list_the_fast_path_drops_is_read_again_with_its_items_as_paragraphs():
    # A page that names no container trafilatura knows: it reads the page's paragraphs and
    # drops the story's bulleted list, leaving "What the decision means for the quay:"
    # followed by the next paragraph.
    fast = fast_path("key-points.html")
    assert "What the decision means for the quay:\nResidents of Quay Terrace" in fast
    article = parse("key-points.html")
    lines = article.text.splitlines()
    start = lines.index("What the decision means for the quay:")
    assert lines[start + 1].startswith("- The wall will run for 640 metres")
    assert lines[start + 4].startswith("- The cost, 3.2 million pounds, will be shared")
    assert lines[start + 5].startswith("Residents of Quay Terrace")
    assert article.text.endswith("in the autumn of next year.")
    for other in ("Lifeboat station reopens", "covered the towns of the estuary", "Copyright"):
        assert other not in article.text, other  # related links, the sidebar's list, footer
    assert article.extraction.startswith("fast: 229 words; no evidence of a longer article;")
    assert "it held 0% of 1 list of prose (89 words), read again with them as" in (
        article.extraction
    )


@pytest.mark.parametrize(
    ("items", "around", "read"),
    [
        (POINT, "<div>{}</div>", True),
        (POINT, "<div class='col-wide'><div>{}</div></div>", True),
        # links to other stories, a thumbnail in every item, the page's furniture
        ("<li><a href='/news/{n}'>Harbour works enter their second year as the port"
         " authority promises the new quay by spring</a></li>", "<div>{}</div>", False),
        (TEASER, "<div>{}</div>", False),
        (POINT, "<div class='sidebar-right'>{}</div>", False),
        (POINT, "<div id='comments'>{}</div>", False),
        (POINT, "<footer>{}</footer>", False),
    ],
)  # fmt: skip
def test_which_dropped_lists_are_read_again(items, around, read):
    points = "".join(items.format(n=n).replace("six months", f"{n + 2} months") for n in range(4))
    story = quarry_story(3), quarry_story(2, start=3)
    page = (
        "<html><body><div id='col1'><h1>Harbour wall approved</h1>"
        f"{story[0]}<p>What it means:</p>{around.format(f'<ul>{points}</ul>')}{story[1]}"
        "</div></body></html>"
    )
    body = extract.extract_body(page, URL)
    assert body is not None and body.path == "fast"
    item = "- The board will review the rules" if items is POINT else "Harbour works enter"
    assert (item in body.text) is read
    assert ("read again with them as paragraphs" in body.why) is read
    assert all(sentence in body.text for sentence in QUARRY_STORY)


def test_a_list_the_fast_path_keeps_is_not_read_again(monkeypatch):
    points = "".join(POINT.format(n=n) for n in range(4))
    page = (
        "<html><body><div class='article-body'>"
        f"{quarry_story(3)}<ul>{points}</ul>{quarry_story(2, start=3)}</div></body></html>"
    )
    calls = []
    monkeypatch.setattr(extract, "_extract", lambda *args, **kwargs: calls.append(args) or "")
    body = extract.extract_body(page, URL)
    assert body is not None and body.text.count("- The board will review the rules") == 4
    assert calls == [] and "as paragraphs" not in body.why


def test_a_dropped_text_check_that_fails_keeps_the_text(monkeypatch):
    def failing(holder):
        raise ValueError("an element the check cannot read")

    monkeypatch.setattr(extract, "_bare_runs", failing)
    article = parse("key-points.html")
    assert article.text.startswith("KELBY - A flood wall along the length of Kelby quay")
    assert article.extraction == "fast: 229 words; no evidence of a longer article"


def test_a_failed_second_read_of_dropped_lists_keeps_the_text(monkeypatch):
    monkeypatch.setattr(extract, "_extract", lambda tree, url, *, fast: "")
    article = parse("key-points.html")
    assert "640 metres" not in article.text
    assert article.text.startswith("KELBY - A flood wall along the length of Kelby quay")
    assert article.extraction.endswith(": kept the text without them")


def test_reading_lists_as_paragraphs_leaves_the_page_unchanged():
    tree = lxml_html.document_fromstring(page("key-points.html").decode())
    before = lxml_html.tostring(tree)
    lists = [element for element, _, _ in extract._prose_lists(tree, 15)]
    assert len(lists) == 1  # the story's list: not the menu, the links or the sidebar's
    copied = extract._with_dropped_as_paragraphs(tree, lists, None, [])
    assert lxml_html.tostring(tree) == before
    points = [p.text_content() for p in copied.iter("p") if p.text_content().startswith("- ")]
    assert len(points) == 4 and points[0].startswith("- The wall will run for 640 metres")


def test_a_lead_written_bare_before_the_paragraphs_is_read_again_as_a_paragraph():
    # An old CMS writes the story's first paragraph straight into the container, before an
    # empty <p>: trafilatura reads the page's <p>s and drops it.
    lead = "The Orchard Lane bridge over Mill Creek will close to all traffic from Monday"
    assert lead not in fast_path("bare-lead.html")
    article = parse("bare-lead.html")
    lines = article.text.splitlines()
    assert lines[0].startswith(f"{lead}, the county said on Friday, so that crews")  # the link
    assert lines[0].endswith("between the two halves of the village.")
    assert lines[1].startswith("The county's engineer, Tomas Lindgren, said")
    assert article.extraction.startswith("fast: 167 words; no evidence of a longer article;")
    assert "it held 0% of 1 run of bare text (55 words), read again with them" in (
        article.extraction
    )


def test_a_short_bare_lead_is_read_again_and_the_sidebar_lines_it_drops_are_no_loss(
    monkeypatch,
):
    # A blog post of two paragraphs, the first written bare: the fast path reads the page's
    # <p>s, the story's second paragraph and the sidebar's two. Read again with the lead as a
    # paragraph, it has the lead and not the sidebar: the story is kept whole, and the lines
    # lost are furniture's.
    lead = "We have reached 1,512 paying subscribers, print and digital together, less than"
    sidebar = "The Riverside Quarterly is a print magazine of long reads"
    fast = fast_path("short-bare-lead.html")
    assert lead not in fast and sidebar in fast
    article = parse("short-bare-lead.html")
    assert article.text.startswith(f"{lead} five months after we first offered")  # the link
    assert "Thank you to every reader who signed up" in article.text
    assert sidebar not in article.text and "$24 a year" not in article.text
    assert "it held 0% of 1 run of bare text (24 words), read again" in article.extraction
    # counted against every line of the fast output, the sidebar's loss looks like a swap
    monkeypatch.setattr(extract, "_outside_furniture", lambda tree, text, holder: text)
    article = parse("short-bare-lead.html")
    assert lead not in article.text and article.extraction.endswith("kept the text without them")


def test_lines_outside_furniture_leave_out_a_sidebars_not_the_body_around_the_story():
    tree = lxml_html.document_fromstring(
        "<html><body class='comments-open'><div id='story'><p>The council met on Monday "
        "night.</p></div><div class='sidebar'><p>Sign up for our morning briefing</p></div>"
        "<ul class='menu'><li>Home</li></ul></body></html>"
    )
    holder = tree.get_element_by_id("story")
    text = "The council met on Monday night.\nSign up for our morning briefing\nHome"
    assert extract._outside_furniture(tree, text, holder) == "The council met on Monday night."
    furniture_only = "Sign up for our morning briefing"
    assert extract._outside_furniture(tree, furniture_only, holder) == furniture_only


def test_a_run_of_bare_text_is_enough_to_read_again_a_short_list_is_not():
    run = extract.BareRun(-1, 2, " ".join(["word"] * 15))
    short_list = (None, "a list", 40)
    assert extract._enough_dropped([], [run])
    assert not extract._enough_dropped([short_list], [])
    assert extract._enough_dropped([short_list, (None, "another", 10)], [])
    assert not extract._enough_dropped([], [])


def test_bare_runs_are_the_text_between_a_containers_block_children():
    holder = lxml_html.fragment_fromstring(
        "<div>Lead of the story, the first <b>twenty</b> words or so written straight into the"
        " container by an old <a href='/cms'>content management</a> system, before any paragraph."
        "<p>A paragraph.</p>Too short to count.<br>A line after a break, long enough to count as"
        " one more run of the story's bare text, <!-- ad slot --> and its comment's tail too."
        "<div>A block.</div></div>"
    )
    runs = extract._bare_runs(holder)
    assert [(run.start, run.end) for run in runs] == [(-1, 2), (3, 5)]
    assert runs[0].text.startswith("Lead of the story, the first twenty words")
    assert "content management" not in runs[0].text  # the link's words are not counted
    assert runs[1].text.endswith("bare text, and its comment's tail too.")
    assert extract._bare_runs(None) == []


def test_a_controls_or_fallbacks_text_is_no_run_of_bare_text():
    # an edition picker and a no-JavaScript notice inside the story's container: any run of
    # bare text sets off a second reading, and these are not the story's
    holder = lxml_html.fragment_fromstring(
        "<div><p>The story's first paragraph.</p><select><option>Edition: United Kingdom"
        "</option><option>United States</option><option>Australia</option><option>India"
        "</option><option>Canada</option><option>New Zealand</option><option>South Africa"
        "</option><option>Ireland</option><option>Europe</option></select><noscript>Please "
        "turn on JavaScript in your browser to see the comments and the video player that go"
        " with this story.</noscript><p>The story's second paragraph.</p></div>"
    )
    assert extract._bare_runs(holder) == []
    # the page's JSON-LD, which drop_scripts keeps, written inside the story's container
    holder = lxml_html.fragment_fromstring(
        '<div><p>First.</p><script type="application/ld+json">{"@context": '
        '"https://schema.org", "@type": "NewsArticle", "headline": "The council votes on the '
        'library budget", "author": {"name": "Ana Ferreira"}}</script><p>Second.</p></div>'
    )
    assert extract._bare_runs(holder) == []


def test_the_main_holder_of_a_page_of_empty_paragraphs_is_the_one_with_the_most():
    # A page that writes its text bare, <p>s only as separators: no element holds <p> text,
    # and the one with the most <p>s is where the text is.
    tree = lxml_html.document_fromstring(
        "<html><body><div id='side'><p></p>About us</div><div id='story'>The lead<p></p>"
        "The second paragraph<p></p>The third<p></p></div><div class='menu'><p></p><p></p>"
        "<p></p><p></p></div></body></html>"
    )
    holder, texts = extract._main_holder(extract._paragraphs(tree))
    assert holder is not None and holder.get("id") == "story" and texts == ["", "", ""]
    tree = lxml_html.document_fromstring(
        "<html><body><p>One.</p><div><p></p><p></p></div></body></html>"
    )
    assert extract._main_holder(extract._paragraphs(tree))[0].tag == "body"  # text first


def test_bare_runs_become_paragraphs_in_a_copy():
    tree = lxml_html.document_fromstring(page("bare-lead.html").decode())
    before = lxml_html.tostring(tree)
    holder = tree.get_element_by_id("col-text")
    runs = extract._bare_runs(holder)
    assert len(runs) == 1
    copied = extract._with_dropped_as_paragraphs(tree, [], holder, runs)
    assert lxml_html.tostring(tree) == before
    children = [child.tag for child in copied.get_element_by_id("col-text")]
    assert children == ["h2", "div", "p", "p", "p", "p", "p"]
    lead = copied.get_element_by_id("col-text")[2]
    assert lead.text_content().strip().startswith("The Orchard Lane bridge over Mill Creek")
    assert lead.find("a") is not None  # the link moved into the paragraph with its tail


def test_an_ordinary_page_stays_on_the_fast_path():
    article = parse("harbour-ferry.html")
    assert article.extraction.startswith("fast: ")
    assert "no evidence of a longer article" in article.extraction


# ----------------------------------------------------------------------------- JSON-LD articleBody

STORY = [
    "BRENTMOOR — After ten years of studies, public meetings and two failed votes, the county "
    "council on Tuesday approved a movable flood barrier across the River Alde.",
    "The barrier, a set of steel gates that lie flat on the riverbed and rise when water "
    "levels climb, will cost an estimated 38 million pounds, just over half of it paid by the "
    "national environment agency.",
    "Councillors who had opposed the scheme in earlier votes said the latest design answered "
    "their main objection, that a fixed wall would cut the town off from its river.",
    "“We were asked to choose between a town that floods and a town that can’t see its own "
    "river,” said Priya Castellane, who leads the council’s environment committee.",
    "Shopkeepers on Mill Street, where the water reached the first floor in 2019, welcomed the "
    "decision but asked for work to be scheduled outside the busy summer months.",
    "The county’s engineers expect construction to start next spring and take about two and a "
    "half years, with a temporary bridge carrying pedestrians across the works.",
    "Environmental groups raised concerns about fish that migrate up the river each autumn; "
    "the design includes a fish pass beside the gates.",
    "A public exhibition of the final plans will open at the town library next month, before "
    "the contract for the riverside landscaping is signed.",
]
# An earlier version of the story, before the vote: what a stale JSON-LD body holds.
PREVIEW = [
    "Councillors will vote on Tuesday on a movable flood barrier across the River Alde, the "
    "third time in ten years that the scheme has come before the full council.",
    "Supporters say the steel gates would protect about 4,000 homes in the lower town; "
    "opponents have twice rejected earlier designs as too costly and too intrusive.",
    "The environment committee has recommended approval, saying the new design answers the "
    "objection that a fixed wall would cut the town off from its river.",
    "If the vote passes, construction would start next spring, with the national agency "
    "paying about half of the estimated cost and a levy on new building the rest.",
    "Shopkeepers on Mill Street have asked that any work be scheduled outside the summer "
    "months, when the town depends on visitors to the river and its cafes.",
    "The boat club has said it would move its moorings upstream for the duration of the "
    "works if the council pays for the new pontoons and the security fence.",
    "Anglers have asked for the fish pass to be tested before the gates are first raised, "
    "and for the results to be published by the county's engineers.",
]


def rendered_page(article_body: str, shown: list[str]) -> str:
    """A page that renders most of its story with JavaScript: the HTML holds ``shown``,
    the JSON-LD ``articleBody`` (as the publisher wrote it) whatever it holds."""
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Council approves river flood barrier",
        "datePublished": "2025-05-06T09:00:00Z",
        "articleBody": article_body,
    }
    paragraphs = "".join(f"<p>{p}</p>\n" for p in shown)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Council approves river flood barrier | Valley Courier</title>"
        f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script>'
        '<script src="/static/app.js" defer></script></head><body>'
        '<header><nav><a href="/">Home</a> <a href="/news">News</a></nav></header>'
        "<main><article><h1>Council approves river flood barrier</h1>"
        f'<div class="article-body" id="story">\n{paragraphs}<p>Loading the rest of the story…</p>'
        "</div></article></main><footer><p>© 2025 Valley Courier</p></footer></body></html>"
    )


def test_a_full_json_ld_body_is_used_when_the_html_shows_only_its_start():
    article = parse_article(rendered_page("\n\n".join(STORY), STORY[:2]), URL)
    assert article.text.split("\n") == STORY
    assert article.extraction.startswith("structured-data: JSON-LD articleBody (")
    assert "agrees with the page" in article.extraction


def test_an_escaped_html_json_ld_body_is_decoded_into_paragraphs():
    body = "".join(f"&lt;p&gt;{html.escape(p)}&lt;/p&gt;" for p in STORY)
    article = parse_article(rendered_page(body, STORY[:2]), URL)
    assert article.text.split("\n") == STORY
    assert article.extraction.startswith("structured-data: ")


def test_a_json_ld_summary_is_not_used():
    summary = "The council approved a flood barrier after ten years of debate."
    article = parse_article(rendered_page(summary, STORY), URL)
    assert article.text.split("\n")[: len(STORY)] == STORY
    assert article.extraction.startswith("fast: ")
    assert "is a summary, not used" in article.extraction


def test_a_stale_json_ld_body_is_not_used():
    article = parse_article(rendered_page("\n\n".join(PREVIEW), STORY[:2]), URL)
    assert article.text.split("\n")[:2] == STORY[:2]
    assert "Councillors will vote on Tuesday" not in article.text
    assert "disagrees with the page" in article.extraction


def test_a_cut_off_json_ld_body_is_not_used():
    cut = " ".join(STORY)[:700].rsplit(" ", 1)[0] + " ..."
    article = parse_article(rendered_page(cut, STORY[:2]), URL)
    assert article.text.split("\n")[:2] == STORY[:2]
    assert "cut off" in article.extraction


def test_structured_body_reads_article_types_only():
    objects = [
        {"@type": "WebPage", "text": "navigation " * 80},
        {"@type": ["NewsArticle"], "articleBody": "First line.&amp;lt;br&amp;gt;Second line."},
    ]
    assert structured_body(objects) == "First line.\nSecond line."
    assert structured_body([{"@type": "WebPage", "text": "x " * 80}]) is None


def test_an_unclosed_uppercase_script_does_not_swallow_the_story():
    # The parser ends the SCRIPT element at the first </script>, the one of the inner
    # lowercase tag (script text); the story after it is content. Cutting the inner tag
    # alone would have let the outer script run to the next </script> and eat the story.
    html = (
        "<html><head><title>t</title></head><body><SCRIPT LANGUAGE='JavaScript'>"
        "function openChat() { return 1; }\n<table><tr><td>ad slot</td></tr></table>"
        "<script type='text/javascript' src='https://ads.example/x.js'></script>"
        "<p>The story text stays.</p><script>var later = 1;</script><p>And so does this.</p>"
        "</body></html>"
    )
    out = drop_scripts(html)
    assert "openChat" not in out and "ad slot" not in out and "later" not in out
    text = lxml_html.document_fromstring(out).text_content()
    assert "The story text stays." in text and "And so does this." in text


def test_a_commented_out_script_does_not_swallow_the_story():
    # A share button commented out with its script, whose end tag ("</script -->") shares
    # its ">" with the comment's end: cutting from its "<script" to that ">" took the
    # comment's end too, and the parser then read everything up to the next "-->" (after
    # the story) as a comment.
    html = (
        "<html><head><title>t</title></head><body><div class='share'><!-- a href='/share'>"
        "Share</a><script src='https://widgets.example/share.js'></script -->"
        "</div><div class='story'><p>The story text stays.</p><p>And so does this.</p>"
        "</div><script>var later = 1;</script><!-- end of story --><p>Footer.</p>"
        "</body></html>"
    )
    out = drop_scripts(html)
    assert "later" not in out
    text = lxml_html.document_fromstring(out).text_content()
    assert "The story text stays." in text and "And so does this." in text
    # "<!-->" and "<!--->" are whole comments: what follows them is read again
    assert drop_scripts("<!--><script>x()</script><p>a</p>") == "<!--><p>a</p>"
    assert drop_scripts("<!---><script>x()</script><p>a</p>") == "<!---><p>a</p>"


def test_a_script_writing_a_script_inside_a_comment_is_dropped_whole():
    # Inside a script's "<!--", a "<script" makes the next "</script>" script text (the
    # parser reads it so): the script ends at the second one. Ending it at the first left
    # '"); -->' on the page, in front of the story.
    html = (
        "<html><body><script><!--\ndocument.write('<script src=\"/ad.js\"></script>');"
        "\n// --></script><p>The story text stays.</p><script><!-- x = 1; --></script>"
        "<p>And so does this.</p></body></html>"
    )
    out = drop_scripts(html)
    assert "document.write" not in out and "-->" not in out and "x = 1" not in out
    text = lxml_html.document_fromstring(out).text_content()
    assert text == "The story text stays.And so does this."
    parsed = lxml_html.document_fromstring(html)
    assert [p.text for p in parsed.iter("p")] == ["The story text stays.", "And so does this."]


# ----------------------------------------------------------------------------- explain


def test_explain_names_the_extraction_path(tmp_path, db_path):
    folder = tmp_path / "pages"
    folder.mkdir()
    for name in (
        "split-body.html",
        "harbour-ferry.html",
        "split-body-chunks.html",
        "key-points.html",
    ):
        (folder / name).write_bytes(page(name))
    (folder / "rendered.html").write_text(rendered_page("\n\n".join(STORY), STORY[:2]))
    r = run_cli("ingest", str(folder), db=db_path)
    assert r.returncode == 0, r.stderr

    split = run_cli("explain", str(folder / "split-body.html"), db=db_path)
    assert split.returncode == 0, split.stderr
    line = next(x for x in split.stdout.splitlines() if x.startswith("extraction:"))
    assert line.startswith("extraction: full (the fast path's 108 words held 0% of the 255 words")

    ordinary = run_cli("explain", str(folder / "harbour-ferry.html"), "--json", db=db_path)
    assert json.loads(ordinary.stdout)["extraction"].startswith("fast: ")

    rendered = run_cli("explain", str(folder / "rendered.html"), db=db_path)
    assert "extraction: structured-data (JSON-LD articleBody" in rendered.stdout

    chunks = run_cli("explain", str(folder / "split-body-chunks.html"), db=db_path)
    line = next(x for x in chunks.stdout.splitlines() if x.startswith("extraction:"))
    assert line.startswith("extraction: merged (the fast path's 120 words held 23% of")
    assert "the body is split over 3 <div class='story__body article__body'> elements" in line

    points = run_cli("explain", str(folder / "key-points.html"), db=db_path)
    line = next(x for x in points.stdout.splitlines() if x.startswith("extraction:"))
    assert line.startswith("extraction: fast (229 words; no evidence of a longer article; it")
    assert "1 list of prose (89 words), read again with them as paragraphs" in line

    with Store.open(db_path) as store:
        paths = sorted(row["extraction"].split(":")[0] for row in store.iter_articles())
    assert paths == ["fast", "fast", "full", "merged", "structured-data"]


def test_reprocess_records_the_path_of_articles_stored_without_one(tmp_path, db_path):
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "split-body.html").write_bytes(page("split-body.html"))
    assert run_cli("ingest", str(folder), db=db_path).returncode == 0
    with Store.open(db_path) as store, store.transaction():
        store.db.execute("update articles set extraction = null")  # as a store before m009
    r = run_cli("reprocess", db=db_path)
    assert r.returncode == 0, r.stderr
    with Store.open(db_path) as store:
        (row,) = store.iter_articles()
    assert row["extraction"].startswith("full: the fast path's 108 words")


STORY = [
    "Fares on the Saltby to Kelby ferry will rise by 20 pence a crossing from the first of"
    " June, the operator said on Friday, after a winter of repairs to the older boat.",
    "Season tickets for island residents will not change until the autumn, and children"
    " under five will still travel free on every crossing, the company said in a statement.",
    "The company blamed the cost of fuel and of repairs to the older of its two boats,"
    " which spent six weeks out of service over the winter while parts came from Norway.",
    "Councillor Joan Pryce said the rise was unwelcome but smaller than the operator had"
    " first proposed, and that the council would ask for a review of the fares next year.",
]


def test_a_fast_output_mostly_menus_gives_way_to_a_full_pass_without_the_site_blurb():
    # The fast path took the whole page: 60 menu entries, the story, and two lines of the
    # site's own blurb that the full pass rightly leaves out. The full pass keeps the story
    # (about 70% of the fast output's prose lines) and none of the menus.
    paragraphs = "".join(f"<p>{line}</p>" for line in STORY)
    tree = lxml_html.document_fromstring(
        f"<html><body><article><h1>Ferry fares to rise</h1>{paragraphs}</article></body></html>"
    )
    menus = [f"Village {n}" for n in range(60)]
    blurb = [
        "The Valley Papers group publishes six weekly titles across the coast and the hill"
        " villages every Thursday morning.",
        "Offices at 14 Quay Street, Saltby, are open to callers from nine until five on"
        " weekdays, except on bank holidays.",
    ]
    fast = "\n".join(menus[:30] + STORY + menus[30:] + blurb)
    body = extract._without_menus(tree, URL, fast, len(fast.split()))
    assert body is not None
    assert body.path == "full", body.why
    assert "Village 7" not in body.text
    assert STORY[3] in body.text
    assert "60 menu-like lines" in body.why


def test_teasers_nested_in_a_listing_article_are_no_evidence_of_a_longer_story():
    # A blog theme wraps its "more posts" teasers, each an <article>, in one more <article>:
    # the wrapper holds more <p> text than the story, but none of it is its own.
    teaser = (
        "<article class='post-teaser'><h3><a href='/p/{n}'>Another post</a></h3><p>A short"
        " reflection on patience, gardens and the long evenings of late summer, number {n},"
        " with a few more words so that it reads like the start of a real post.</p></article>"
    )
    story = "".join(f"<p>{line}</p>" for line in STORY[:2])
    tree = lxml_html.document_fromstring(
        f"<html><body><article class='post'><h1>Fares</h1>{story}</article>"
        f"<article class='more-posts'>{''.join(teaser.format(n=n) for n in range(6))}"
        "</article></body></html>"
    )
    paragraphs, _ = extract._container_text(tree)
    assert paragraphs == STORY[:2]


def test_a_shorter_full_pass_is_taken_when_only_it_holds_the_evidence():
    # The fast path took another block than the article: 1,232 words holding 2% of the
    # evidence, where the full pass's 677 words hold all of it. Its length is no merit then;
    # elsewhere the second pass must be the longer and hold more.
    assert extract._takes_full(1232, 677, before=0.02, after=1.0)
    assert not extract._takes_full(1232, 677, before=0.6, after=0.95)  # fast holds it too
    assert not extract._takes_full(1232, 677, before=0.02, after=0.45)  # neither holds it
    assert not extract._takes_full(300, 900, before=0.4, after=0.6)  # not 30 points more
    assert extract._takes_full(300, 900, before=0.3, after=0.9)
    assert extract._takes_full(0, 50, before=0.0, after=0.0)  # an empty fast output
