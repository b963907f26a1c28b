"""Extraction from HTML: our own fixture pages, metadata, the related-dates bug, decoding."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
import trafilatura
from lxml import html as lxml_html

from newsmill.errors import NoArticle
from newsmill.extract import (
    article_from_text,
    decode_html,
    drop_scripts,
    extract_article,
    is_binary,
    page_metadata,
    parse_article,
    use_plain_html_elements,
)
from newsmill.fingerprint import content_hash

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
