"""Turn a page (HTML bytes or text) into an :class:`Article`: decode, extract, clean, hash.

The body comes from ``trafilatura.bare_extraction`` (comments off): its fast path, checked
against evidence of the article's length and redone without ``fast`` when it fell short, or
the page's JSON-LD ``articleBody`` when that agrees with the page and the HTML missed most of
it (:func:`extract_body`; the path taken is ``Article.extraction``). The cleaner then removes
the boilerplate extraction leaves inside it (:mod:`newsmill.clean`).

Metadata is read by this module in one cheap pass instead of trafilatura's metadata stage,
which costs about a third of the extraction time and takes the publication date from any
date on the page, including the dates of a "Recommended" list. Here every field comes from
the page's own declarations, in this order:

- ``<head>`` (parsed alone, it is small): ``<meta>``, ``<title>``, canonical link, ``lang``;
- JSON-LD (``<script type="application/ld+json">``, wherever it is);
- the headline area: the HTML around the first ``<h1>`` (a ``<time>`` or byline there).

A date is never taken from free text elsewhere on the page, so a related-links block can't
lend its dates to the article; without a declared date, ``published`` is None.
"""

from __future__ import annotations

import codecs
import copy
import functools
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import urljoin, urlsplit

import trafilatura
import trafilatura.utils
from lxml import etree
from lxml import html as lxml_html

from newsmill.clean import clean_lines
from newsmill.errors import NoArticle
from newsmill.fingerprint import content_hash
from newsmill.models import Article

logger = logging.getLogger(__name__)

# An extraction with fewer words than this is a stub (a "page not found" line, a caption),
# not an article. Kept low on purpose: the pipeline applies its own min_text_chars setting.
MIN_ARTICLE_WORDS = 5
# The headline area: HTML from a little before the first <h1> to a little after it. Bylines
# and dates sit within ~2 KB of the headline on news templates; related lists sit further.
HEADLINE_BEFORE = 1500
HEADLINE_AFTER = 6000
# Decode as UTF-8 with replacements when the bytes hold at least this many valid multi-byte
# characters per invalid byte (text in a legacy charset has almost no valid sequences).
MIN_VALID_PER_INVALID = 2
# How much of the page to sniff for a charset declaration and for binary content.
SNIFF_BYTES = 4096

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_BINARY_MAGIC = (
    b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"\x1f\x8b", b"BZh",
    b"\x7fELF", b"MZ", b"RIFF", b"OggS", b"ID3", b"\x00\x00\x01\x00", b"7z\xbc\xaf",
)  # fmt: skip
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
# Control codes text never holds (tab, newlines, vertical tab, form feed and escape are
# allowed): counted in raw bytes by is_binary, and in decoded text, with U+FFFD, by
# parse_article.
_CONTROL_CODES = "".join(chr(c) for c in range(32) if c < 9 or (c > 13 and c != 27))
_CONTROL_BYTES = _CONTROL_CODES.encode("ascii")
_CONTROL = re.compile(f"[{re.escape(_CONTROL_CODES)}\ufffd]")

_HEAD_END = re.compile(r"</head\s*>|<body[\s>]", re.IGNORECASE)
_LD_JSON = re.compile(
    r"""<script[^>]+type\s*=\s*["']?application/ld\+json["']?[^>]*>(.*?)</script\s*>""",
    re.IGNORECASE | re.DOTALL,
)
_H1 = re.compile(r"<h1[\s>]", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_SPACES = re.compile(r"\s+")
_URL_DATE = re.compile(
    r"/((?:19|20)\d{2})[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?:/|[-_.]|$)"
)
_ISO_DATE = re.compile(r"((?:19|20)\d{2})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])")
_LANG = re.compile(r"([a-zA-Z]{2,3})(?:[-_][\w-]*)?")
_BYLINE_PREFIX = re.compile(r"^(?:by|von|por|di|par|от|door|av|af)\s+", re.IGNORECASE)

_ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "blogposting",
     "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "scholarlyarticle",
     "techarticle", "socialmediaposting", "liveblogposting", "report", "posting"}
)  # fmt: skip
# <meta> names/properties, best first. Published dates only: a "modified" date is not when
# the article appeared.
_META_DATE = (
    "article:published_time", "og:article:published_time", "og:published_time",
    "datepublished", "article.published", "published_time", "publishdate", "publish-date",
    "publish_date", "pubdate", "date", "dc.date.issued", "dc.date", "dcterms.issued",
    "dcterms.created", "dc.date.created", "sailthru.date", "parsely-pub-date",
    "article_date_original", "original-publish-date", "cxenseparse:recs:publishtime",
    "release_date", "displaydate", "citation_publication_date", "citation_date",
)  # fmt: skip
_META_AUTHOR = (
    "author", "article:author", "byl", "parsely-author", "sailthru.author", "dc.creator",
    "dcterms.creator", "citation_author", "creator", "cxenseparse:author",
)  # fmt: skip
_META_TITLE = ("og:title", "twitter:title", "headline", "dc.title", "sailthru.title")
_META_SITE = ("og:site_name", "application-name", "twitter:site", "publisher")
_META_LANG = ("content-language", "og:locale", "language", "dc.language", "inlanguage")
_USED_META = frozenset(
    (*_META_DATE, *_META_AUTHOR, *_META_TITLE, *_META_SITE, *_META_LANG, "og:url", "canonical")
)


# ----------------------------------------------------------------------------- decoding


def _bom(data: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding
    return None


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 puts a NUL in every other byte of ASCII markup, and never in the other half."""
    sample = data[: SNIFF_BYTES - SNIFF_BYTES % 2]
    if len(sample) < 16:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = len(sample) // 2
    if odd > 0.2 * half and even <= 0.01 * half:
        return "utf-16-le"
    if even > 0.2 * half and odd <= 0.01 * half:
        return "utf-16-be"
    return None


def is_binary(data: bytes) -> bool:
    """True for bytes that are not text in any encoding (images, archives, executables)."""
    if _bom(data) or _utf16_without_bom(data):
        return False
    sample = data[:SNIFF_BYTES]
    if sample.startswith(_BINARY_MAGIC) or b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROL_BYTES))
    return controls > 0.05 * max(len(sample), 1)


_DEFAULT_HEADER_CHARSETS = {"iso8859-1", "cp1252", "ascii"}


def _charset_name(name: str | None) -> str | None:
    try:
        return codecs.lookup(name.strip(" \"'")).name if name else None
    except LookupError:
        return None


def http_charset(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header value, if any."""
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip("\"'")
    return None


def _declared_charset(data: bytes) -> str | None:
    match = _CHARSET.search(data[:SNIFF_BYTES])
    if not match:
        return None
    try:
        return codecs.lookup(match.group(1).decode("ascii")).name
    except (LookupError, UnicodeDecodeError):
        return None


def decode_html(data: bytes, http_charset: str | None = None) -> str:
    """Decode page bytes, trusting a declared charset only when the bytes agree with it.

    Order: a byte-order mark; UTF-8 (strict: when the bytes are valid UTF-8 they almost
    surely are UTF-8, whatever the page declares); the charset of the HTTP Content-Type
    header (``http_charset``), then the one the page declares (both strict; the page's
    first when the header says Latin-1, many servers' default); charset
    detection (charset_normalizer); finally UTF-8 with replacement characters. Never raises.
    """
    if not data:
        return ""
    encoding = _bom(data) or _utf16_without_bom(data)
    if encoding:
        return data.decode(encoding, errors="replace").lstrip("\ufeff")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    header, page = _charset_name(http_charset), _declared_charset(data)
    # Servers send "ISO-8859-1" (and its kin) by default, whatever the page is in; a page
    # that names another charset itself knows better (a Latin-1 decode never fails).
    order = (page, header) if page and header in _DEFAULT_HEADER_CHARSETS else (header, page)
    for declared in order:
        if declared and declared != "utf-8":
            try:
                return data.decode(declared)
            except (UnicodeDecodeError, LookupError):
                pass
    # UTF-8 with a few stray bytes (a truncated character, a pasted Latin-1 byte): keep it.
    # In a page of another charset nearly every non-ASCII byte is invalid UTF-8 instead.
    lenient = data.decode("utf-8", errors="replace")
    errors = lenient.count("\ufffd")
    valid = sum(1 for char in lenient if char > "\x7f") - errors
    if errors * MIN_VALID_PER_INVALID <= valid:
        return lenient
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is not None:
            return str(best)
    except Exception:  # detection is best effort; decoding below cannot fail
        logger.debug("charset detection failed", exc_info=True)
    return data.decode("utf-8", errors="replace")


# ----------------------------------------------------------------------------- metadata


@dataclass(slots=True)
class PageMeta:
    """What the page declares about itself (all optional)."""

    title: str | None = None
    headline: str | None = None  # text of the first <h1>
    author: str | None = None
    published: str | None = None
    site: str | None = None
    language: str | None = None
    url: str | None = None
    titles: list[str] = field(default_factory=list)  # every title candidate, for the cleaner


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = _SPACES.sub(" ", unescape(value)).strip()
    return value or None


def _iso_date(value: object) -> str | None:
    """YYYY-MM-DD of a date string, or None when it is no plausible publication date."""
    text = _text(value)
    if not text:
        return None
    match = _ISO_DATE.search(text)
    if match:
        candidate = match.group(0)
    else:
        try:
            from htmldate.extractors import try_date_expr

            latest = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=2)
            candidate = try_date_expr(text, "%Y-%m-%d", False, datetime(1995, 1, 1), latest)
        except Exception:  # htmldate internals may change; a date is optional
            candidate = None
    if not candidate:
        return None
    try:
        day = datetime.strptime(candidate, "%Y-%m-%d")
    except ValueError:
        return None
    if not datetime(1995, 1, 1) <= day <= datetime.now() + timedelta(days=2):
        return None
    return candidate


def _language(value: object) -> str | None:
    text = _text(value)
    match = _LANG.fullmatch(text) if text else None
    return match.group(1).lower() if match else None


def _walk_json(node: object) -> Iterator[dict[str, object]]:
    if isinstance(node, dict):
        yield node
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "itemListElement"):
            if key in node:
                yield from _walk_json(node[key])
    elif isinstance(node, list):
        for item in node:
            yield from _walk_json(item)


def _types(node: dict[str, object]) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.lower() for k in kinds if isinstance(k, str)}


def _names(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    return []


def _json_ld(page: str) -> list[dict[str, object]]:
    """Schema.org objects declared in JSON-LD, article types first."""
    objects: list[dict[str, object]] = []
    if "ld+json" not in page:
        return objects
    for match in _LD_JSON.finditer(page):
        raw = match.group(1).strip()
        raw = raw.removeprefix("<!--").removesuffix("-->").strip()
        raw = raw.removeprefix("//<![CDATA[").removesuffix("//]]>").strip()
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            continue
        objects.extend(_walk_json(data))
    return sorted(objects, key=lambda node: not (_types(node) & _ARTICLE_TYPES))


def _parse_head(head: str) -> lxml_html.HtmlElement | None:
    try:
        return lxml_html.document_fromstring(head + "</head><body></body></html>")
    except Exception:  # (lxml raises ParserError/ValueError on odd input)
        return None


def _headline_area(page: str, body_start: int) -> tuple[str | None, lxml_html.HtmlElement | None]:
    """Text of the first <h1> and the parsed HTML around it."""
    match = _H1.search(page, body_start)
    if not match:
        return None, None
    start = max(body_start, match.start() - HEADLINE_BEFORE)
    try:
        area = lxml_html.fragment_fromstring(
            page[start : match.start() + HEADLINE_AFTER], create_parent="div"
        )
    except Exception:
        return None, None
    h1 = area.find(".//h1")
    headline = _text(h1.text_content()) if h1 is not None else None
    return headline, area


def _area_date(area: lxml_html.HtmlElement) -> str | None:
    for element in area.xpath(
        './/*[@itemprop="datePublished" or @itemprop="dateCreated"]'
        "|.//time[@datetime][not(ancestor::aside or ancestor::li or ancestor::nav)]"
    ):
        date = _iso_date(element.get("content") or element.get("datetime") or element.text)
        if date:
            return date
    return None


def _area_author(area: lxml_html.HtmlElement) -> str | None:
    for element in area.xpath(
        './/*[@rel="author" or @itemprop="author" or contains(@class, "byline")'
        ' or contains(@class, "author-name")][not(ancestor::aside or ancestor::li)]'
    ):
        name = _text(element.text_content())
        if name:
            name = _BYLINE_PREFIX.sub("", name).strip(" ,|-")
            if 1 < len(name.split()) <= 6 and not any(ch.isdigit() for ch in name):
                return name
    return None


def page_metadata(
    page: str, url: str | None = None, objects: list[dict[str, object]] | None = None
) -> PageMeta:
    """Read what ``page`` declares about itself (see the module docstring for the order).

    ``objects``: the page's JSON-LD objects when the caller already parsed them."""
    meta = PageMeta()
    values: dict[str, str] = {}
    end = _HEAD_END.search(page, 0, 400_000)
    body_start = end.start() if end else 0
    head = _parse_head(page[:body_start] if end else page[:20_000])
    html_title = None
    if head is not None:
        meta.language = _language(head.get("lang") or head.get("xml:lang"))
        for element in head.iter("meta"):
            key = (
                element.get("property") or element.get("name") or element.get("itemprop")
                or element.get("http-equiv") or ""
            ).lower()  # fmt: skip
            content = element.get("content")
            if key and content and key not in values:
                values[key] = content
        for element in head.iter("link"):
            if (element.get("rel") or "").lower() == "canonical" and element.get("href"):
                values.setdefault("canonical", element.get("href", ""))
        title_element = head.find(".//title")
        if title_element is not None:
            html_title = _text(title_element.text_content())
    if objects is None:
        objects = _json_ld(page)
    article = objects[0] if objects and _types(objects[0]) & _ARTICLE_TYPES else {}
    meta.headline, area = _headline_area(page, body_start)
    values = {k: t for k, v in values.items() if k in _USED_META and (t := _text(v))}

    # title: declared headline first, then the page's <h1>, then <title>
    candidates = [_text(article.get("headline"))] + [values.get(k) for k in _META_TITLE]
    candidates += [meta.headline, html_title]
    meta.titles = [c for c in candidates if c]
    meta.title = meta.titles[0] if meta.titles else None

    # published: JSON-LD, <meta>, the URL, the headline area
    meta.published = next(
        filter(None, (_iso_date(o.get("datePublished") or o.get("dateCreated")) for o in objects)),
        None,
    ) or next(filter(None, (_iso_date(values.get(k)) for k in _META_DATE)), None)

    # url: canonical, og:url, the given url (relative ones resolved against it)
    for candidate in (values.get("canonical"), values.get("og:url"), url):
        absolute = urljoin(url or "", candidate) if candidate else None
        if absolute and urlsplit(absolute).scheme in ("http", "https"):
            meta.url = absolute
            break
    if meta.published is None:
        for candidate in (meta.url, url):
            match = _URL_DATE.search(urlsplit(candidate).path) if candidate else None
            if match:
                meta.published = _iso_date("-".join(match.groups()))
                break
    if meta.published is None and area is not None:
        meta.published = _area_date(area)

    authors = _names(article.get("author")) or [values[k] for k in _META_AUTHOR if k in values]
    authors = [a for a in (_text(a) for a in authors) if a and not a.startswith("http")]
    meta.author = "; ".join(dict.fromkeys(authors)) or None
    if meta.author is None and area is not None:
        meta.author = _area_author(area)

    publisher = _names(article.get("publisher"))
    site = next(filter(None, [values.get(k) for k in _META_SITE] + publisher), None)
    if site and site.startswith("@"):
        site = site[1:]
    if not site and meta.url:
        site = urlsplit(meta.url).hostname
        site = site.removeprefix("www.") if site else None
    meta.site = site

    if meta.language is None:
        languages = [values.get(k) for k in _META_LANG] + [article.get("inLanguage")]
        meta.language = next(filter(None, map(_language, languages)), None)
    return meta


# ----------------------------------------------------------------------------- extraction

# A comment, or the start tag of an element whose content is raw text.
_RAW_TEXT_OPEN = re.compile(r"<!--|<(script|style)(?=[\s/>])", re.IGNORECASE)
_COMMENT_CLOSE = re.compile(r"--!?>")
_STYLE_CLOSE = re.compile(r"</style[^>]*>", re.IGNORECASE)
# What changes state in a script's text (HTML's "script data" states): outside a "<!--" the
# first "</script" ends it; after one, a "<script" means that its "</script" is text too,
# until a "-->".
_SCRIPT_DATA = re.compile(r"<!--|</script(?=[\s/>])", re.IGNORECASE)
_SCRIPT_ESCAPED = re.compile(r"-->|</?script(?=[\s/>])", re.IGNORECASE)


def drop_scripts(page: str) -> str:
    """Remove ``<script>`` (except JSON-LD) and ``<style>`` elements from the HTML source.

    Both extraction and metadata ignore them, yet they are half the bytes of a typical news
    page and every stage parses and copies them. Cutting them from the string first gave the
    same extracted text on every benchmark page and saves ~5% of extraction time.

    The page is read as the HTML parser reads it: in document order, tags in any case, and
    an element's raw text running to the first closing tag of its kind, whatever it holds (a
    ``<script`` inside an unclosed uppercase ``<SCRIPT>`` is script text, not an element:
    cutting it would let the outer script swallow the article). A comment is skipped whole:
    the ``<script`` of a commented-out tag (``<!--<script src=x/>-->``) opens no element,
    and cutting to the next ``</script>`` would take the comment's end with it, so the
    parser would read the page up to some later ``-->`` as a comment. An unterminated
    element or comment, and everything after it, is left for the parser.
    """
    spans = []
    pos = 0
    while match := _RAW_TEXT_OPEN.search(page, pos):
        if match.group(1) is None:  # a comment: "<!-->" and "<!--->" end where they start
            close = _COMMENT_CLOSE.search(page, match.start() + 2)
            if close is None:
                break
            pos = close.end()
            continue
        tag = match.group(1).lower()
        end = page.find(">", match.end())
        if end < 0:
            break
        stop = _script_end(page, end) if tag == "script" else _style_end(page, end)
        if stop < 0:
            break
        if not (tag == "script" and "ld+json" in page[match.end() : end]):
            spans.append((match.start(), stop))
        pos = stop
    if not spans:
        return page
    parts, pos = [], 0
    for start, stop in spans:
        parts.append(page[pos:start])
        pos = stop
    parts.append(page[pos:])
    return "".join(parts)


def _style_end(page: str, pos: int) -> int:
    """Where the ``<style>`` whose text starts at ``pos`` ends (after its end tag), -1 if
    it does not: at the first ``</style``, whatever comes before it."""
    close = _STYLE_CLOSE.search(page, pos)
    return close.end() if close else -1


def _script_end(page: str, pos: int) -> int:
    """Where the ``<script>`` whose text starts at ``pos`` ends (after its end tag), -1 if
    it does not. A script's text may hold a comment with a script in it (the old
    ``<!-- document.write("<script>...</script>") -->``): the parser reads that
    ``</script>`` as text, and so must this, or the rest of the script (``"); -->``) would
    be left on the page as text."""
    escaped = nested = False
    while True:
        match = (_SCRIPT_ESCAPED if escaped else _SCRIPT_DATA).search(page, pos)
        if match is None:
            return -1
        token = match.group(0).lower()
        if token == "<!--":
            escaped, pos = True, match.start() + 2  # "<!-->" closes at once
        elif token == "-->":
            escaped = nested = False
            pos = match.end()
        elif token == "<script":
            nested, pos = True, match.end()
        elif nested:  # the nested script's "</script": text, the comment goes on
            nested, pos = False, match.end()
        else:
            end = page.find(">", match.end())
            return end + 1 if end >= 0 else -1


# The class lookup trafilatura's parser gets from use_plain_html_elements: every element an
# ``HtmlElement``, chosen in C.
_PLAIN_HTML_LOOKUP = etree.ElementDefaultClassLookup(
    element=lxml_html.HtmlElement,
    comment=lxml_html.HtmlComment,
    pi=lxml_html.HtmlProcessingInstruction,
    entity=lxml_html.HtmlEntity,
)


def use_plain_html_elements() -> bool:
    """Have trafilatura's HTML parser make its elements without a call into Python each.

    lxml.html's parser asks a Python method which class every element it hands out gets
    (so that ``<form>``, ``<input>``, ``<select>``, ``<textarea>`` and ``<label>`` get their
    own, with form helpers), and extraction hands out each of a page's elements many times
    over: about 1,700 calls a page. trafilatura uses none of those helpers. With every
    element a plain ``HtmlElement``, chosen in C, extraction took 4% less time on
    bench/crawl.py's pages, with the same result on each of them.

    This changes a parser trafilatura shares with everything else in the process, so only
    processes newsmill owns call it: the crawl's extraction workers and the ``newsmill``
    command. Returns False (and changes nothing) if this trafilatura has no such parser.
    """
    parser = getattr(trafilatura.utils, "HTML_PARSER", None)
    if not isinstance(parser, etree.HTMLParser):
        return False
    parser.set_element_class_lookup(_PLAIN_HTML_LOOKUP)
    return True


# ----------------------------------------------------------------------------- the body
#
# trafilatura's fast path (``fast=True``: its own extractor without the readability/jusText
# comparison) is right on most pages at 0.7x the time, but on some it keeps only the first
# container of a body split in several (live blogs, a large embed between two halves) or a
# teaser. So its output is checked against cheap evidence of how long the article is, and
# when it is clearly shorter the page is extracted again without ``fast``; a body the page
# ships in JSON-LD (``articleBody``) is used when the HTML extraction misses most of it and
# the page really shows that text. Thresholds were set on bench/extraction.py's two sets
# (3,029 pages) together; see the README's extraction section.

# The fast path's words below this share of the paragraph text of the page's main container
# (<article>, itemprop=articleBody, or the element holding the most <p> text) ...
SHORT_OF_CONTAINER = 0.5
# ... or below this share of the page's text outside links, lists and navigation: re-extract.
SHORT_OF_PAGE = 0.2
# ... or when it holds less than this share of the page's largest block of text (the <p>
# text of the main container, or the text of the element holding the most text outside
# links, <br>-separated lines in a <td> included) of at least MIN_BLOCK_WORDS words: the fast
# path took another block than the article, about as long as it. A smaller block is as
# often a sidebar or an "about" box as the article.
MISSED_BLOCK = 0.5
MIN_BLOCK_WORDS = 200
# That share is estimated from this many runs of this many words spread over the block, and
# counted (_coverage) when the estimate is below MISSED_BLOCK + PROBE_MARGIN.
PROBES = 16
PROBE_WORDS = 6
PROBE_MARGIN = 0.1
# The second pass replaces the first only when it holds this much more of that evidence
# (a share of its 4-word shingles): more words that are not the evidence's are boilerplate.
EVIDENCE_GAIN = 0.3
# A fast output that holds a site's menus (the fast path took the whole page): at least
# MENU_LINES lines of at most MENU_LINE_WORDS words, together at least MENU_SHARE of its
# words. The full pass replaces it when that holds at least KEPT_PROSE of the fast output's
# prose (its lines of PROSE_LINE_WORDS words or more, as 4-word shingles) in fewer words of
# such lines. Not all of that prose is the story: the fast path also took the site's blurb
# and footer sentences, which the full pass rightly leaves out, hence two thirds, not all.
MENU_LINES = 40
MENU_LINE_WORDS = 3
MENU_SHARE = 0.1
KEPT_PROSE = 0.65
PROSE_LINE_WORDS = 10
# A fast output that holds a layout table: trafilatura renders each row of a table as a line
# of its cells between pipes, and the spacer rows of an old page's nested layout tables as
# lines of pipes alone ("|  |  |"). At least LAYOUT_ROWS such lines, and at least
# LAYOUT_SHARE of the output's lines: the fast path took the page's frame with the story.
# The full pass replaces it when it keeps at least LAYOUT_KEPT_PROSE of the fast output's
# prose (see _replaces). It runs only when the fast output's body is shaped like a table
# (_table_shaped): on a body of paragraphs trafilatura's full pass returns the same text.
LAYOUT_ROWS = 6
LAYOUT_SHARE = 0.3
LAYOUT_KEPT_PROSE = 0.5
# A fast output of at least LIST_WORDS words without one line of prose (PROSE_LINE_WORDS
# words or more) is a list: a tour's dates, a sidebar's links, while the story sits elsewhere.
# The full pass replaces it when its text reads as prose (at least LIST_PROSE of its words in
# such lines) of the page's own (LIST_PROSE of its 4-word shingles in the page's text outside
# links, lists, navigation and comments): a page whose article is a list (a schedule, results)
# keeps it, unless the full pass finds prose the page holds outside its lists.
LIST_WORDS = 100
LIST_PROSE = 0.5
# A JSON-LD body is evidence (and a candidate) only when it agrees with the page: at least
# this share of its 4-word shingles is text of the page, or of the HTML extraction's shingles
# is in it (see _agrees; else it is stale) ...
STRUCTURED_ON_PAGE = 0.8
# ... and it is used as the text when it is this much longer than the HTML extraction.
STRUCTURED_LONGER = 1.5
# A JSON-LD body shorter than this is a summary at best, never evidence of a longer article.
STRUCTURED_MIN_WORDS = 50
# An HTML extraction with fewer shingles than this is too short to vouch for a JSON-LD body.
STRUCTURED_MIN_SHARED = 20

# When neither pass holds MISSED_BLOCK of the evidence, the body may be split: trafilatura
# takes the first element its rules know by name ("article__body"), and a page that cuts its
# story into several such elements (around an ad rail, an embed, a signup box) loses all but
# the first part. Parts: elements of the same tag and class, none inside another, each with
# at least SPLIT_PART_WORDS words of <p> text, with an ancestor in common at most
# SPLIT_LEVELS levels up. Joined into the first, they are read once more (path ``merged``),
# taken on the terms of the second pass (EVIDENCE_GAIN more of the evidence, and longer).
SPLIT_PART_WORDS = 30
SPLIT_LEVELS = 3

# A list reads as prose with at most PROSE_LIST_LINKS of its words in links and an image in
# fewer than PROSE_LIST_IMAGES of its items (a list of teasers has a link and a thumbnail in
# each), outside navigation, footers and asides, and no container around it named like the
# page's furniture (_FURNITURE). Such lists, and runs of bare text of the main container
# (text written between its <p>s, not in one: a lead, lines between <br>s), each of at least
# DROPPED_LIST_WORDS words outside links, which the output holds less than MISSED_BLOCK of:
# trafilatura dropped them. Where a page names
# no container its rules know, trafilatura reads the page's paragraphs, quotes, code and
# tables, and no list ("what the decision means:" and nothing after it) or bare text; nor a
# list in a layout table's cell. A run of bare text is read on its own (the main
# container's own text); lists only when they have DROPPED_WORDS words together with the
# runs. Read again with them as paragraphs (path unchanged, see _with_dropped_text), the
# text is taken when it holds EVIDENCE_GAIN more of them and DROPPED_KEPT of the text before
# (4-word shingles) outside the page's furniture: it adds them, it does not swap the article
# for another block (losing a sidebar's lines the fast path took is no loss).
PROSE_LIST_LINKS = 0.2
PROSE_LIST_IMAGES = 0.5
DROPPED_LIST_WORDS = 15
DROPPED_WORDS = 50
DROPPED_KEPT = 0.9

# The main container (and the largest block of text, _text_block) is evidence of the
# article's length only when neither it nor its nearest containers (this many levels up) are
# named like comments, a sidebar, a widget or a menu (_FURNITURE): a long comment thread's
# <p> text is not the story's, and a second pass run for it returns the fast output
# unchanged. Not every level, nor the <body>: a page's wrappers are named after its layout
# ("has-sidebar").
EVIDENCE_FURNITURE_DEPTH = 3

# The page's paragraphs, outside its footer, navigation and asides; but an <aside> that holds
# an <h1> is the article (an old theme's <aside class="blogPost">), not a sidebar.
_PARAGRAPHS = etree.XPath(
    "//p[not(ancestor::footer or ancestor::nav or ancestor::aside[not(.//h1)])]"
)
_CONTAINERS = etree.XPath('//article | //*[@itemprop="articleBody"]')
# Elements whose text is not the page's text in _page_text: links, list items, navigation,
# header, footer, asides, form selects, code.
_OUTSIDE_TEXT = frozenset(
    ("a", "li", "nav", "footer", "aside", "header", "select", "script", "style", "noscript")
)
_BODY_STRING = etree.XPath("string(.)")
# Where a line break's text goes up to the block element that holds it: a paragraph, a line
# break and inline markup do not end a block of text, a <td> or <div> does.
_BR_PARENTS = etree.XPath("//br/..")
_OUTSIDE_ARTICLE = etree.XPath(
    "boolean(ancestor-or-self::*[self::nav or self::footer or self::aside or self::header"
    " or self::li or self::a or self::select])"
)
# Outermost lists holding at least $chars characters (a cheap bound on their words, read
# in C: most lists of a page are short menus).
_LONG_LISTS = etree.XPath(
    "(//ul | //ol)[not(ancestor::ul or ancestor::ol)][string-length(.) >= $chars]"
)
_LIST_ITEMS = etree.XPath("count(.//li)")
_LIST_ITEMS_WITH_IMAGES = etree.XPath("count(.//li[.//img])")
_COMMENT_NAME = re.compile("omment")
_FURNITURE = re.compile(r"comment|reply|sidebar|widget|menu|(?<![a-z])nav", re.IGNORECASE)
_INLINE_TAGS = frozenset(
    {"p", "br", "font", "b", "i", "u", "em", "strong", "span", "small", "big", "sub", "sup",
     "abbr", "acronym", "cite", "q", "tt", "code", "mark", "s", "strike", "del", "ins",
     "label", "time", "nobr"}
)  # fmt: skip
_VISIBLE_TEXT = etree.XPath(
    ".//text()[not(ancestor::script or ancestor::style or ancestor::template)]"
)
_BLOCK_TAGS = re.compile(
    r"<\s*(?:br|/?p|/?div|/?h[1-6]|/?li|/?blockquote|/?section)\b[^>]*>", re.IGNORECASE
)
# What ends a run of bare text (_bare_runs): a block element or a line break.
_RUN_BREAKS = frozenset(
    {"p", "div", "ul", "ol", "dl", "li", "table", "h1", "h2", "h3", "h4", "h5", "h6", "br",
     "hr", "blockquote", "pre", "section", "article", "header", "footer", "nav", "aside",
     "form", "figure", "main", "center", "address", "details", "fieldset", "iframe"}
)  # fmt: skip
# Inline children whose text is not a run's (_bare_runs): a link's (counted outside links,
# as all the evidence is), and controls', fallbacks' and scripts' that no reading prints
# (drop_scripts keeps JSON-LD, which a CMS can write inside the story's container).
_NOT_RUN_TEXT = frozenset(
    {"a", "select", "button", "textarea", "noscript", "template", "svg", "object", "video",
     "audio", "canvas", "script", "style"}
)  # fmt: skip
_WORDS = re.compile(r"\w+")
_EMPTY_CELL_ROW = re.compile(r"[|\s]*\|[|\s]*")
_ELLIPSIS = ("...", "\u2026", "[...]", "(...)")


@dataclass(slots=True)
class Body:
    """The extracted body text, the path that produced it and why (``explain`` shows it).

    path: ``fast`` (trafilatura's fast path, checked), ``full`` (a second pass without
    ``fast``, run because the fast one looked short, held the site's menus or a layout
    table, or was a list without prose), ``merged`` (the fast path again, on the page with
    the parts of a split body joined: both passes looked short), ``structured-data`` (the
    page's JSON-LD ``articleBody``, which the HTML extraction missed most of).
    """

    text: str
    path: str
    why: str

    @property
    def extraction(self) -> str:
        return f"{self.path}: {self.why}"


def _words(text: str | None) -> int:
    return len(text.split()) if text else 0


def _four_grams(tokens: list[str]) -> Iterable[tuple[str, ...]]:
    """The runs of 4 tokens (a text of fewer tokens is one run of them all)."""
    if len(tokens) < 4:
        return [tuple(tokens)]
    return zip(tokens, tokens[1:], tokens[2:], tokens[3:], strict=False)


def _shingles(text: str) -> set[tuple[str, ...]]:
    tokens = _WORDS.findall(text.lower())
    return set(_four_grams(tokens)) if tokens else set()


def structured_body(objects: list[dict[str, object]]) -> str | None:
    """The article text a page declares in JSON-LD (``articleBody``, else ``text``), as plain
    text with one paragraph a line: HTML entities decoded (twice when escaped twice), tags
    dropped, block tags turned into line breaks. None when there is none."""
    best: str | None = None
    for node in objects:
        if not _types(node) & _ARTICLE_TYPES:
            continue
        for key in ("articleBody", "text"):
            value = node.get(key)
            if not isinstance(value, str) or not value.strip():
                continue
            for _ in range(2):
                if "&" in value:
                    value = unescape(value)
            value = _TAGS.sub(" ", _BLOCK_TAGS.sub("\n", value))
            lines = (" ".join(line.split()) for line in value.splitlines())
            text = "\n".join(line for line in lines if line)
            if best is None or len(text) > len(best):
                best = text
            break
    return best


Paragraphs = dict[lxml_html.HtmlElement, list[str]]


def _paragraphs(tree: lxml_html.HtmlElement) -> Paragraphs:
    """The page's <p> texts (outside footers, navigation and asides) by the element whose
    text they are (:func:`_holder`), in page order."""
    by_holder: Paragraphs = {}
    for p in _PARAGRAPHS(tree):
        by_holder.setdefault(_holder(p), []).append(p.text_content())
    return by_holder


MainHolder = tuple[lxml_html.HtmlElement | None, list[str]]


def _main_holder(paragraphs: Paragraphs) -> MainHolder:
    """The element holding the most <p> text (of those without, the most <p>s: a page that
    writes its text bare, with empty <p>s between), and its paragraphs; not one named like
    the page's furniture (EVIDENCE_FURNITURE_DEPTH)."""
    best, best_texts, best_size = None, [], (0, 0)
    for holder, texts in paragraphs.items():
        size = (sum(len(text.split()) for text in texts), len(texts))
        if size > best_size and not _furniture(holder, EVIDENCE_FURNITURE_DEPTH):
            best, best_texts, best_size = holder, texts, size
    return best, best_texts


def _container_text(
    tree: lxml_html.HtmlElement, main: MainHolder | None = None
) -> tuple[list[str], str]:
    """The <p> texts of the page's main container, and what that container is (the text of an
    itemprop=articleBody without <p>). ``main``: the page's :func:`_main_holder`."""
    holder, best = _main_holder(_paragraphs(tree)) if main is None else main
    best_words = sum(len(text.split()) for text in best)
    name = "paragraphs" if holder is None else f"the <{holder.tag}> holding the most <p> text"
    for element in _CONTAINERS(tree):
        texts = [p.text_content() for p in _own_paragraphs(element)]
        words = sum(len(text.split()) for text in texts)
        if not words and element.tag != "article":
            # a body the publisher marked as such, written without <p> (an old blog editor's
            # <span>s and <br>s): its text outside links is the evidence. Not an <article>'s,
            # which can be a listing's teaser card.
            texts = _page_text(element)
            words = sum(len(text.split()) for text in texts)
        if words > best_words and not _furniture(element, EVIDENCE_FURNITURE_DEPTH):
            best, best_words = texts, words
            name = "<article>" if element.tag == "article" else "itemprop=articleBody"
    return best, name


def _holder(paragraph: lxml_html.HtmlElement) -> lxml_html.HtmlElement:
    """The element whose text ``paragraph`` is: its parent, or for a paragraph of a block
    quote (a speech, a letter the story quotes at length) the element around the quote. The
    fast path can drop such quotes; counted apart, the story's container looks no longer
    than what it kept."""
    holder = paragraph.getparent()
    while holder.tag == "blockquote" and holder.getparent() is not None:
        holder = holder.getparent()
    return holder


def _own_paragraphs(element: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement]:
    """The <p> elements of a container that are not inside an <article> nested in it. A
    listing wraps its teasers, each an <article>, in one more <article>: its text is theirs,
    and taken as evidence it would make the page's real article look short."""
    # the elements themselves, not their id(): an lxml proxy freed gives its id to another
    nested = {p for inner in element.iterdescendants("article") for p in inner.iter("p")}
    return [p for p in element.iter("p") if p not in nested]


def _body(tree: lxml_html.HtmlElement) -> lxml_html.HtmlElement:
    """The page's <body>, or the whole tree when it has none: a page that does not start
    like a document (a bare <table>, an <input> before <html>) is parsed as a fragment, in a
    <div> holding its elements, and an evidence read from ``//body`` would find no text."""
    if tree.tag == "body":
        return tree
    body = tree.find(".//body")
    return tree if body is None else body


def _page_text(body: lxml_html.HtmlElement) -> list[str]:
    """The texts of ``body`` outside links, lists, navigation, header and footer (see
    _OUTSIDE_TEXT) and reader comments (elements below ``body`` whose class or id says
    "comment"; a page's <body> is named after its layout, "comments-open"), in page order.
    A walk over the tree: an XPath that tests each text node's ancestors took 7 times as
    long."""
    texts: list[str] = []
    todo: list[lxml_html.HtmlElement | str] = [body]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            texts.append(item)
            continue
        if item.text:
            texts.append(item.text)
        for child in reversed(item):  # popped in page order: each child, then its tail
            if child.tail:
                todo.append(child.tail)
            tag = child.tag
            if isinstance(tag, str) and tag not in _OUTSIDE_TEXT and not _comments(child):
                todo.append(child)
    return texts


def _comments(element: lxml_html.HtmlElement) -> bool:
    """Whether an element's class or id says "comment" (reader comments, a comment form)."""
    return _COMMENT_NAME.search(_name(element)) is not None


def _name(element: lxml_html.HtmlElement) -> str:
    """An element's class and id, for matching against names."""
    return f"{element.get('class') or ''} {element.get('id') or ''}"


def _text_block(tree: lxml_html.HtmlElement) -> tuple[list[str], str]:
    """The texts of the block element (``<td>``, ``<div>``, ...) holding the most text
    between line breaks: its own text, its paragraphs' and its inline markup's (links
    aside), and what that element is. Only elements with a ``<br>`` are read (paragraphs
    alone are :func:`_container_text`'s), and none in a container named like comments or a
    sidebar (EVIDENCE_FURNITURE_DEPTH)."""
    best: list[str] = []
    best_words, name, seen = 0, "block", set()
    for block in _BR_PARENTS(tree):
        while block is not None and block.tag in _INLINE_TAGS:
            block = block.getparent()
        if block is None or block in seen:
            continue
        seen.add(block)
        texts = [block.text or ""]
        for child in block:
            if child.tag in _INLINE_TAGS:
                texts.append(child.text_content())
            texts.append(child.tail or "")
        words = sum(len(text.split()) for text in texts)
        if (
            words > best_words
            and not _OUTSIDE_ARTICLE(block)
            and not _furniture(block, EVIDENCE_FURNITURE_DEPTH)
        ):
            best, best_words = texts, words
            name = f"the <{block.tag}> holding the most text between line breaks"
    return best, name


ProseList = tuple[lxml_html.HtmlElement, str, int]


def _prose_lists(tree: lxml_html.HtmlElement, min_words: int) -> list[ProseList]:
    """The page's outermost lists that read as prose (see PROSE_LIST_LINKS) with at least
    ``min_words`` words outside links, in page order: each list, its text and those words."""
    found = []
    for element in _LONG_LISTS(tree, chars=4 * min_words):
        text = _BODY_STRING(element)
        words = len(text.split())
        if words < min_words:
            continue
        links = sum(len(a.text_content().split()) for a in element.iter("a"))
        if links > PROSE_LIST_LINKS * words or words - links < min_words:
            continue
        if _LIST_ITEMS_WITH_IMAGES(element) >= PROSE_LIST_IMAGES * _LIST_ITEMS(element):
            continue
        if _OUTSIDE_ARTICLE(element) or _furniture(element):
            continue
        found.append((element, text, words - links))
    return found


def _furniture(element: lxml_html.HtmlElement, depth: int | None = None) -> bool:
    """Whether ``element`` or a container around it (up to ``depth`` levels up, below the
    <body>; all of them when None) is named (class, id) like comments, a sidebar, a widget
    or a menu."""
    for level, node in enumerate((element, *element.iterancestors())):
        if depth is not None and (level > depth or node.tag in ("body", "html")):
            return False
        if _FURNITURE.search(_name(node)):
            return True
    return False


def _sampled_coverage(evidence: str, text: str) -> float:
    """About the share of ``evidence`` that ``text`` holds, from PROBES runs of PROBE_WORDS
    words spread over it (a string search each: cheap enough to run on every page)."""
    tokens = _WORDS.findall(evidence.lower())
    runs = len(tokens) - PROBE_WORDS + 1
    if runs < 1:
        return 1.0
    haystack = _haystack(text)
    starts = range(0, runs, max(1, runs // PROBES))
    found = sum(f" {' '.join(tokens[i : i + PROBE_WORDS])} " in haystack for i in starts)
    return found / len(starts)


@functools.lru_cache(maxsize=4)
def _haystack(text: str) -> str:
    """``text``'s words in lower case between spaces, for :func:`_sampled_coverage`: one
    output is checked against several pieces of evidence (blocks, lists), read once."""
    return f" {' '.join(_WORDS.findall(text.lower()))} "


@functools.lru_cache(maxsize=8)
def _shingle_counts(text: str) -> Counter[tuple[str, ...]]:
    """``text``'s 4-word shingles, counted; cached, as one output is measured against
    several pieces of evidence (callers do not change the counter)."""
    return Counter(_four_grams(_WORDS.findall(text.lower())))


def _coverage(evidence: str, text: str) -> float:
    """Share of ``evidence``'s 4-word shingles that ``text`` holds (counted as a multiset:
    a paragraph the page repeats is wanted as often as it is there)."""
    return _coverages(evidence, text)[0]


def _coverages(evidence: str, *texts: str) -> list[float]:
    """:func:`_coverage` of ``evidence`` by each of ``texts`` (its shingles counted once)."""
    wanted = _shingle_counts(evidence) if evidence.strip() else Counter()
    total = sum(wanted.values())
    if not total:
        return [0.0 for _ in texts]
    return [sum((wanted & _shingle_counts(text)).values()) / total for text in texts]


def _agrees(structured: str, tree: lxml_html.HtmlElement, extracted: str) -> bool:
    """Whether a JSON-LD body is the page's article: its text is on the page (most of its
    4-word shingles are in the page's text), or it extends what the HTML shows (most of the
    HTML extraction's shingles are in it: a page that renders the rest with JavaScript, or
    a paywall teaser). A stale body (an earlier version of the story) does neither."""
    mine = _shingles(structured)
    if not mine:
        return False
    page = _shingles(" ".join(_VISIBLE_TEXT(_body(tree))))
    if len(mine & page) >= STRUCTURED_ON_PAGE * len(mine):
        return True
    theirs = _shingles(extracted)
    return len(theirs) >= STRUCTURED_MIN_SHARED and (
        len(theirs & mine) >= STRUCTURED_ON_PAGE * len(theirs)
    )


def _extract(tree: lxml_html.HtmlElement, url: str | None, *, fast: bool) -> str:
    """A second pass's text; "" when trafilatura fails on it: the first pass's text stands
    (no check takes a second pass that holds nothing)."""
    try:
        return _extract_with_shape(tree, url, fast=fast)[0]
    except NoArticle:
        logger.debug("second pass failed for %s", url, exc_info=True)
        return ""


def _extract_with_shape(
    tree: lxml_html.HtmlElement, url: str | None, *, fast: bool
) -> tuple[str, bool]:
    """The extracted text, and whether its body is shaped like a table rather than prose
    (:func:`_table_shaped`)."""
    try:
        document = trafilatura.bare_extraction(
            tree, url=url, include_comments=False, with_metadata=False, fast=fast
        )
    except Exception as err:  # trafilatura/lxml internals on pathological input
        raise NoArticle("extraction-error", f"{type(err).__name__}: {err}") from err
    if document is None or isinstance(document, dict):
        return "", True
    return document.text or "", _table_shaped(document.body)


def _table_shaped(body: etree._Element | None) -> bool:
    """Whether an extracted body has no paragraph text, or more tables than paragraphs.

    Only such a body can make trafilatura's full pass prefer another extractor's output of
    about the same length (readability's, see ``trafilatura.external``): for a body of
    paragraphs it needs one twice as long. The layout check (:func:`_without_layout`) runs
    the full pass for a shorter, cleaner output, so on a body of paragraphs it would get the
    fast output back: on the benchmarks, 76 of the 94 second passes the layout check did not
    take were on such a body, 75 of them returning the fast output unchanged.
    """
    if body is None:
        return True
    if not body.xpath(".//p//text()"):
        return True
    return len(body.findall(".//table")) > len(body.findall(".//p"))


def _missed_block(
    tree: lxml_html.HtmlElement, text: str, paragraphs: list[str], name: str
) -> tuple[str, str] | None:
    """The page's largest block of text (the main container's ``paragraphs``, or the
    element with the most text between line breaks) when ``text`` holds less than
    MISSED_BLOCK of it: the fast path took another block, about as long as the article.
    Returns what that block is and its text."""
    paragraphs, name = _largest_block(tree, paragraphs, name)
    size = sum(len(p.split()) for p in paragraphs)
    if size < MIN_BLOCK_WORDS:
        return None
    evidence = "\n".join(paragraphs)
    if _holds(evidence, text):
        return None
    return f"the {size} words of {name}", evidence


def _largest_block(
    tree: lxml_html.HtmlElement, paragraphs: list[str], name: str
) -> tuple[list[str], str]:
    """The page's largest block of text: the main container's ``paragraphs`` (called
    ``name``), or the element with the most text between line breaks when it has more."""
    block, where = _text_block(tree)
    if sum(len(t.split()) for t in block) > sum(len(p.split()) for p in paragraphs):
        return block, where
    return paragraphs, name


def _holds(evidence: str, text: str) -> bool:
    """Whether ``text`` holds at least MISSED_BLOCK of ``evidence`` (sampled first)."""
    if _sampled_coverage(evidence, text) >= MISSED_BLOCK + PROBE_MARGIN:
        return True
    return _coverage(evidence, text) >= MISSED_BLOCK


def _shortfall(
    tree: lxml_html.HtmlElement, text: str, structured: str | None, main: MainHolder
) -> tuple[str | None, str, bool | None]:
    """What the fast path's ``text`` looks truncated against ("the 900 words of <article>";
    None when it does not), that evidence's text, and whether the JSON-LD body agrees with
    the page (None: not checked, it did not matter). ``main``: the page's main holder."""
    words = _words(text)
    paragraphs, name = _container_text(tree, main)
    container = sum(len(p.split()) for p in paragraphs)
    if words < SHORT_OF_CONTAINER * container:
        return f"the {container} words of {name}", "\n".join(paragraphs), None
    # all of the body's text (in C, cheap) bounds the text outside links (a Python loop)
    body = _body(tree)
    if words < SHORT_OF_PAGE * len(_BODY_STRING(body).split()):
        page = _page_text(body)
        size = sum(len(t.split()) for t in page)
        if words < SHORT_OF_PAGE * size:
            return f"the page's {size} words outside links", " ".join(page), None
    missed = _missed_block(tree, text, paragraphs, name)
    if missed is not None:
        return (*missed, None)
    size = _words(structured)
    if structured and size >= STRUCTURED_MIN_WORDS and size > STRUCTURED_LONGER * words:
        if _agrees(structured, tree, text):
            return f"the {size} words of JSON-LD articleBody", structured, True
        return None, "", False
    return None, "", None


def _load_html(page: str) -> lxml_html.HtmlElement | None:
    """The page parsed by trafilatura's loader, which takes a page whose first 50
    characters do not name ``html`` for something else than HTML when its tree has fewer
    than two top-level elements. Dropping the scripts can make an HTML page so (one that
    starts with a comment, and had only scripts in its head): it is parsed as a document
    then, since it holds markup."""
    tree = trafilatura.utils.load_html(page)
    if tree is None and _TAGS.search(page):
        tree = trafilatura.utils.load_html("<html>" + page)
    return tree


def extract_body(
    page: str, url: str | None, objects: list[dict[str, object]] | None = None
) -> Body | None:
    """The article body of ``page`` (scripts already dropped), or None when there is none.

    ``objects``: the page's JSON-LD (:func:`_json_ld`), when already parsed.
    """
    try:
        tree = _load_html(page)
    except Exception as err:  # lxml on pathological input
        raise NoArticle("extraction-error", f"{type(err).__name__}: {err}") from err
    if tree is None:
        return None
    structured = structured_body(_json_ld(page) if objects is None else objects)
    text, table_shaped = _extract_with_shape(tree, url, fast=True)
    words = _words(text)
    holder = None
    try:
        main = _main_holder(_paragraphs(tree))
        holder = main[0]
        what, evidence, confirmed = _shortfall(tree, text, structured, main)
    except Exception:  # the guard is a check: a page it cannot read keeps the fast text
        logger.debug("truncation check failed for %s", url, exc_info=True)
        what, evidence, confirmed = None, "", None
    if what is None:
        body = (
            _without_menus(tree, url, text, words)
            or (_without_layout(tree, url, text, words) if table_shaped else None)
            or _without_list(tree, url, text, words)
            or Body(text, "fast", f"{words} words; no evidence of a longer article")
        )
    else:
        full = _extract(tree, url, fast=False)
        before, after = _coverages(evidence, text, full)
        why = (
            f"the fast path's {words} words held {before:.0%} of {what}, "
            f"the full pass's {_words(full)} words {after:.0%}"
        )
        if _takes_full(words, _words(full), before, after):
            body = Body(full, "full", why)
        else:
            body = Body(text, "fast", f"{why}: not enough more, kept the fast one")
        if max(before, after) < MISSED_BLOCK:
            held = after if body.path == "full" else before
            body = _joined(tree, url, evidence, body, held) or body
    if body.path in ("fast", "full"):
        try:
            body = _with_dropped_text(tree, url, body, holder) or body
        except Exception:  # a check too: a page it cannot read keeps the text it has
            logger.debug("dropped-text check failed for %s", url, exc_info=True)
    return _with_structured(body, structured, confirmed, tree)


def _with_dropped_text(
    tree: lxml_html.HtmlElement,
    url: str | None,
    body: Body,
    holder: lxml_html.HtmlElement | None,
) -> Body | None:
    """``body`` read again (by the pass that made it) with the text it dropped as paragraphs:
    the page's prose lists and the runs of bare text of the main container ``holder`` (see
    DROPPED_LIST_WORDS); None when it dropped none. The path stays: this is still the fast
    (or full) pass's text, with what trafilatura leaves out of it."""
    lists = _prose_lists(tree, DROPPED_LIST_WORDS)
    runs = _bare_runs(holder)
    if not _enough_dropped(lists, runs):
        return None  # (most pages: the checks below need not run)
    lists = [
        (element, text, words) for element, text, words in lists if not _holds(text, body.text)
    ]
    runs = [run for run in runs if not _holds(run.text, body.text)]
    if not _enough_dropped(lists, runs):
        return None
    size = _dropped_words(lists, runs)
    evidence = "\n".join([text for _, text, _ in lists] + [run.text for run in runs])
    elements = [element for element, _, _ in lists]
    copied = _with_dropped_as_paragraphs(tree, elements, holder, runs)
    text = _extract(copied, url, fast=body.path == "fast")
    before, after = _coverages(evidence, body.text, text)
    dropped = " and ".join(
        [f"{_counted(len(lists), 'list')} of prose"] * bool(lists)
        + [f"{_counted(len(runs), 'run')} of bare text"] * bool(runs)
    )
    why = (
        f"{body.why}; it held {before:.0%} of {dropped} ({size} words), read again with them "
        f"as paragraphs {_words(text)} words holding {after:.0%}"
    )
    if (
        after >= before + EVIDENCE_GAIN
        and _coverage(_outside_furniture(tree, body.text, holder), text) >= DROPPED_KEPT
    ):
        return Body(text, body.path, why)
    return Body(body.text, body.path, f"{why}: kept the text without them")


def _enough_dropped(lists: list[ProseList], runs: list[BareRun]) -> bool:
    """Whether ``lists`` and ``runs`` are worth reading again for: any run of bare text of
    the main container (its own text, a lead written before its first <p>), or DROPPED_WORDS
    words with the lists (a list can be a sidebar's that no reading takes)."""
    return bool(runs) or _dropped_words(lists, runs) >= DROPPED_WORDS


def _outside_furniture(
    tree: lxml_html.HtmlElement, text: str, holder: lxml_html.HtmlElement | None
) -> str:
    """The lines of ``text`` that are not in the page's furniture: elements named like a
    sidebar, a widget, a menu or comments (:data:`_FURNITURE`), other than those around the
    main container ``holder`` (a <body> named "comments-open"). All of ``text`` when every
    line is."""
    around = set() if holder is None else {holder, *holder.iterancestors()}
    furniture = [
        _haystack(element.text_content())
        for element in tree.iter()
        if isinstance(element.tag, str)
        and element not in around
        and _FURNITURE.search(_name(element))
    ]
    lines = []
    for line in text.splitlines():
        needle = _haystack(line)
        if not any(needle in haystack for haystack in furniture):
            lines.append(line)
    return "\n".join(lines) if lines else text


def _dropped_words(lists: list[ProseList], runs: list[BareRun]) -> int:
    """The words of ``lists`` and ``runs`` outside links."""
    return sum(words for _, _, words in lists) + sum(_words(run.text) for run in runs)


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@dataclass(slots=True)
class BareRun:
    """Text written straight into an element between its block children: the text after
    child ``start`` (-1: the element's own leading text) up to child ``end``, with the inline
    elements between; ``text`` is that text outside links, its white space collapsed."""

    start: int
    end: int
    text: str


def _bare_runs(holder: lxml_html.HtmlElement | None) -> list[BareRun]:
    """The runs of bare text of ``holder`` with at least DROPPED_LIST_WORDS words outside
    links: a lead written before the first <p>, lines between <br>s."""
    if holder is None:
        return []
    runs: list[BareRun] = []
    start, texts = -1, [holder.text or ""]
    for i, child in enumerate(holder):
        tag = child.tag
        if tag in _RUN_BREAKS:
            runs.append(BareRun(start, i, " ".join("".join(texts).split())))
            start, texts = i, [child.tail or ""]
            continue
        if isinstance(tag, str) and tag not in _NOT_RUN_TEXT:  # (a comment: only its tail)
            texts.append(child.text_content())
        texts.append(child.tail or "")
    runs.append(BareRun(start, len(holder), " ".join("".join(texts).split())))
    return [run for run in runs if _words(run.text) >= DROPPED_LIST_WORDS]


def _with_dropped_as_paragraphs(
    tree: lxml_html.HtmlElement,
    lists: list[lxml_html.HtmlElement],
    holder: lxml_html.HtmlElement | None,
    runs: list[BareRun],
) -> lxml_html.HtmlElement:
    """A copy of ``tree`` in which ``lists`` (elements of it) are <div>s of paragraphs, one
    for each item, which starts with "- " as trafilatura writes a list's items, and each of
    the ``runs`` of bare text of ``holder`` is a paragraph."""
    copied, found = _copy_with(tree, lists if holder is None else [*lists, holder])
    for element in found[: len(lists)]:
        for node in list(element.iter("ul", "ol", "li")):
            if node.tag == "li":
                node.text = f"- {(node.text or '').lstrip()}"
                node.tag = "p"
            else:
                node.tag = "div"
    if holder is not None and runs:
        _wrap_runs(found[len(lists)], runs)
    return copied


def _copy_with(
    tree: lxml_html.HtmlElement, elements: list[lxml_html.HtmlElement]
) -> tuple[lxml_html.HtmlElement, list[lxml_html.HtmlElement]]:
    """A deep copy of ``tree``, and in it the counterpart of each of ``elements`` (elements
    of ``tree``): what a second reading changes, the page itself left as it is."""
    where = {element: i for i, element in enumerate(tree.iter())}
    copied = copy.deepcopy(tree)
    nodes = list(copied.iter())
    return copied, [nodes[where[element]] for element in elements]


def _wrap_runs(holder: lxml_html.HtmlElement, runs: list[BareRun]) -> None:
    """Each of ``runs`` of ``holder`` put in a <p> of its own, the last first (the children
    before a run keep their places)."""
    for run in reversed(runs):
        paragraph = holder.makeelement("p", {})
        if run.start < 0:
            paragraph.text, holder.text = holder.text, None
        else:
            before = holder[run.start]
            paragraph.text, before.tail = before.tail, None
        for child in holder[run.start + 1 : run.end]:
            paragraph.append(child)  # with its tail
        holder.insert(run.start + 1, paragraph)


def _joined(
    tree: lxml_html.HtmlElement, url: str | None, evidence: str, body: Body, held: float
) -> Body | None:
    """The fast path's text of the page with the parts of a split body joined
    (:func:`_split_body`) when it holds EVIDENCE_GAIN more of ``evidence`` than ``body``
    (which holds ``held`` of it) and is longer; None when the page has no split body."""
    parts = _split_body(tree)
    if parts is None:
        return None
    text = _extract(_with_parts_joined(tree, parts), url, fast=True)
    joined = _coverage(evidence, text)
    name = f"<{parts[0].tag} class={parts[0].get('class', '').strip()!r}>"
    why = (
        f"{body.why}; the body is split over {len(parts)} {name} elements, joined they give "
        f"{_words(text)} words holding {joined:.0%}"
    )
    if joined >= held + EVIDENCE_GAIN and _words(text) > _words(body.text):
        return Body(text, "merged", why)
    return Body(body.text, body.path, f"{why}: kept the {body.path} one")


def _split_body(tree: lxml_html.HtmlElement) -> list[lxml_html.HtmlElement] | None:
    """The parts of the page's split body (see SPLIT_PART_WORDS) with the most <p> text
    together, in page order; None when there are no two such parts. Of groups as large, the
    last in the page: an inner group (the text containers in their layout wrappers)."""
    groups: dict[tuple[str, str], list[lxml_html.HtmlElement]] = {}
    for element in tree.iter("div", "section", "article", "main", "td"):
        name = (element.get("class") or "").strip()
        if name:
            groups.setdefault((element.tag, name), []).append(element)
    best, best_words = None, 0
    for elements in groups.values():
        if len(elements) < 2:
            continue
        members = set(elements)
        sizes = {
            element: _paragraph_words(element)
            for element in elements
            if not any(above in members for above in element.iterancestors())
            and not _furniture(element, EVIDENCE_FURNITURE_DEPTH)
        }
        parts = [element for element, size in sizes.items() if size >= SPLIT_PART_WORDS]
        if len(parts) < 2 or not _near(parts):
            continue
        words = sum(sizes[part] for part in parts)
        if words >= best_words:
            best, best_words = parts, words
    return best


def _paragraph_words(element: lxml_html.HtmlElement) -> int:
    return sum(len(p.text_content().split()) for p in element.iter("p"))


def _near(elements: list[lxml_html.HtmlElement]) -> bool:
    """Whether ``elements`` have an ancestor in common at most SPLIT_LEVELS levels up."""
    common: set[lxml_html.HtmlElement] | None = None
    for element in elements:
        above = set(list(element.iterancestors())[:SPLIT_LEVELS])
        common = above if common is None else common & above
        if not common:
            return False
    return True


def _with_parts_joined(
    tree: lxml_html.HtmlElement, parts: list[lxml_html.HtmlElement]
) -> lxml_html.HtmlElement:
    """A copy of ``tree`` in which the content of ``parts`` (elements of it) is moved into
    the first part and the others removed."""
    joined, (first, *others) = _copy_with(tree, parts)
    for part in others:
        if part.text and part.text.strip():
            last = first[-1] if len(first) else None
            if last is None:
                first.text = f"{first.text or ''} {part.text}"
            else:
                last.tail = f"{last.tail or ''} {part.text}"
        first.extend(list(part))
        part.getparent().remove(part)
    return joined


def _takes_full(fast_words: int, full_words: int, before: float, after: float) -> bool:
    """Whether the full pass replaces a fast output that looked truncated, from their sizes
    and the share of the evidence each holds (``before``: the fast one's). It must hold
    EVIDENCE_GAIN more of it; and be the longer, unless the fast output holds less than
    MISSED_BLOCK of the evidence and the full pass more: then the fast path took another
    block than the article, and its length is no merit."""
    if fast_words and after < before + EVIDENCE_GAIN:
        return False
    return full_words > fast_words or before < MISSED_BLOCK <= after


def _menu_lines(text: str) -> tuple[int, int]:
    """How many lines of ``text`` are as short as a menu's entries, and their words."""
    sizes = [len(line.split()) for line in text.splitlines()]
    short = [size for size in sizes if 0 < size <= MENU_LINE_WORDS]
    return len(short), sum(short)


def _without_menus(
    tree: lxml_html.HtmlElement, url: str | None, text: str, words: int
) -> Body | None:
    """The full pass's text when the fast path's ``text`` (of ``words`` words) holds the
    site's menus (see MENU_LINES) and the full pass keeps its prose without them; None when
    ``text`` holds no menus."""
    if len(text.splitlines()) < MENU_LINES:  # too few lines of any kind (most pages)
        return None
    lines, menu = _menu_lines(text)
    if lines < MENU_LINES or menu < MENU_SHARE * words:
        return None
    full = _extract(tree, url, fast=False)
    prose = "\n".join(line for line in text.splitlines() if _words(line) >= PROSE_LINE_WORDS)
    kept, full_menu = _coverage(prose, full), _menu_lines(full)[1]
    why = (
        f"the fast path's {words} words held {lines} menu-like lines ({menu} words), "
        f"the full pass's {_words(full)} words {full_menu} such words and {kept:.0%} of "
        "the fast path's prose"
    )
    if prose and kept >= KEPT_PROSE and full_menu < menu:
        return Body(full, "full", why)
    return Body(text, "fast", f"{why}: kept the fast one")


def _empty_cell_rows(text: str) -> tuple[int, int]:
    """How many lines of ``text`` are table rows of empty cells (pipes and spaces alone),
    and how many lines it has."""
    lines = text.splitlines()
    return sum(1 for line in lines if _EMPTY_CELL_ROW.fullmatch(line)), len(lines)


def _prose(text: str) -> str:
    """The lines of ``text`` that read as prose (:func:`_is_prose_line`)."""
    return "\n".join(line for line in text.splitlines() if _is_prose_line(line))


def _is_prose_line(line: str) -> bool:
    """Whether ``line`` reads as prose: PROSE_LINE_WORDS words or more (a table row's pipes
    are no words)."""
    return len(_WORDS.findall(line)) >= PROSE_LINE_WORDS


def _without_layout(
    tree: lxml_html.HtmlElement, url: str | None, text: str, words: int
) -> Body | None:
    """The full pass's text when the fast path's ``text`` (of ``words`` words) holds a
    layout table (see LAYOUT_ROWS) and the full pass keeps the story (:func:`_replaces`)
    in fewer such rows (else it read the same table); None when ``text`` holds none."""
    rows, lines = _empty_cell_rows(text)
    if rows < LAYOUT_ROWS or rows < LAYOUT_SHARE * lines:
        return None
    full = _extract(tree, url, fast=False)
    replaces, kept = _replaces(tree, text, full)
    full_rows = _empty_cell_rows(full)[0]
    why = (
        f"the fast path's {words} words held {rows} empty table rows in {lines} lines, "
        f"the full pass's {_words(full)} words {full_rows} such rows and {kept:.0%} of the "
        "fast path's prose"
    )
    if replaces and full_rows < rows:
        return Body(full, "full", why)
    return Body(text, "fast", f"{why}: kept the fast one")


def _has_prose(text: str) -> bool:
    """Whether a line of ``text`` reads as prose; stops at the first."""
    return any(map(_is_prose_line, text.splitlines()))


def _without_list(
    tree: lxml_html.HtmlElement, url: str | None, text: str, words: int
) -> Body | None:
    """The full pass's text when the fast path's ``text`` (of ``words`` words) is a list
    (see LIST_WORDS) and the full pass's reads as the page's prose (see LIST_PROSE); None
    when ``text`` is no list."""
    if words < LIST_WORDS or _has_prose(text):
        return None
    full = _extract(tree, url, fast=False)
    prose = _prose(full)
    page = " ".join(_page_text(_body(tree)))
    held = _coverage(prose, page) if prose else 0.0
    why = (
        f"the fast path's {words} words held no line of prose, the full pass's "
        f"{_words(full)} words {_words(prose)} words of prose, {held:.0%} of it in the "
        "page's text outside links and lists"
    )
    if _words(prose) >= LIST_PROSE * _words(full) and held >= LIST_PROSE:
        return Body(full, "full", why)
    return Body(text, "fast", f"{why}: kept the fast one")


def _replaces(tree: lxml_html.HtmlElement, fast: str, full: str) -> tuple[bool, float]:
    """Whether the full pass's ``full`` may replace the fast path's ``fast`` on a page the
    fast path read as a layout, and the share of the fast output's prose it keeps. It must
    keep at least LAYOUT_KEPT_PROSE of that prose; when it is the shorter, it must also still
    hold the evidence of the article's length (the page's largest block of text, see
    :func:`_missed_block`): shorter is right when the fast path took the page's frame,
    wrong when the full pass lost part of the story."""
    prose = _prose(fast)
    kept = _coverage(prose, full) if prose else 0.0
    if kept < LAYOUT_KEPT_PROSE:
        return False, kept
    if _words(full) >= _words(fast):
        return True, kept
    paragraphs, _ = _largest_block(tree, *_container_text(tree))
    evidence = "\n".join(paragraphs)
    return not evidence.strip() or _holds(evidence, full), kept


def _with_structured(
    body: Body, structured: str | None, confirmed: bool | None, tree: lxml_html.HtmlElement
) -> Body:
    """The JSON-LD body instead of the HTML extraction when that missed most of it."""
    size, words = _words(structured), _words(body.text)
    if structured is None:
        return body
    if size * STRUCTURED_LONGER < words:
        note = f"JSON-LD articleBody ({size} words) is a summary, not used"
        return Body(body.text, body.path, f"{body.why}; {note}")
    if size < STRUCTURED_MIN_WORDS or size <= STRUCTURED_LONGER * words:
        note = f"JSON-LD articleBody has {size} words"
        return Body(body.text, body.path, f"{body.why}; {note}")
    if structured.rstrip().endswith(_ELLIPSIS):
        return Body(body.text, body.path, f"{body.why}; JSON-LD articleBody is cut off (...)")
    if confirmed is None:
        confirmed = _agrees(structured, tree, body.text)
    if not confirmed:
        note = "JSON-LD articleBody disagrees with the page (stale?), not used"
        return Body(body.text, body.path, f"{body.why}; {note}")
    return Body(
        structured,
        "structured-data",
        f"JSON-LD articleBody ({size} words, agrees with the page) over the HTML extraction "
        f"({body.path}, {words} words: {body.why})",
    )


def decode_page(data: bytes, charset: str | None = None) -> str:
    """The text of a page's bytes (:func:`decode_html`); raises :class:`NoArticle` for
    empty or binary bytes."""
    if not data or data.isspace():
        raise NoArticle("empty-input")
    if is_binary(data):
        raise NoArticle("binary", "the bytes are not text")
    return decode_html(data, charset)


def parse_article(
    html: str | bytes, url: str | None = None, *, charset: str | None = None
) -> Article:
    """Extract and clean the article in ``html``; raise :class:`NoArticle` when there is none.

    Reasons: ``empty-input``, ``binary``, ``no-article-text`` (extraction found nothing),
    ``only-boilerplate`` (the cleaner removed everything), ``too-short``,
    ``extraction-error``.
    """
    if isinstance(html, bytes):
        html = decode_page(html, charset)
    html = html.lstrip("\ufeff")
    if not html or html.isspace():
        raise NoArticle("empty-input")
    if len(_CONTROL.findall(html[:SNIFF_BYTES])) > 0.05 * min(len(html), SNIFF_BYTES):
        raise NoArticle("binary", "the text is mostly control characters")
    if "\x00" in html:
        html = html.replace("\x00", "")
    html = drop_scripts(html)
    objects = _json_ld(html)
    body = extract_body(html, url, objects)
    if body is None or not body.text.strip():
        raise NoArticle("no-article-text")
    meta = page_metadata(html, url, objects)
    cleaned = clean_lines(body.text, url, title=meta.titles)
    if not cleaned.text:
        raise NoArticle("only-boilerplate")
    if len(cleaned.text.split()) < MIN_ARTICLE_WORDS:
        raise NoArticle("too-short", f"{len(cleaned.text.split())} words")
    published = meta.published
    if published is None:
        # a bare date line the cleaner took from the top of the body is the page's own date
        dates = [r.text for r in cleaned.removed if r.rule == "date-line"]
        published = next(filter(None, map(_iso_date, dates)), None)
    return Article(
        text=cleaned.text,
        hash=content_hash(cleaned.text),
        title=meta.title,
        author=meta.author,
        published=published,
        site=meta.site,
        language=meta.language,
        url=meta.url or url,
        extraction=body.extraction,
        removed=cleaned.removed,
    )


def article_from_text(text: str, url: str | None = None) -> Article:
    """Clean plain text (already extracted) into an :class:`Article`."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise NoArticle("empty-input")
    cleaned = clean_lines(text, url)
    if not cleaned.text:
        raise NoArticle("only-boilerplate")
    dates = [r.text for r in cleaned.removed if r.rule == "date-line"]
    return Article(
        text=cleaned.text,
        hash=content_hash(cleaned.text),
        published=next(filter(None, map(_iso_date, dates)), None),
        url=url,
        extraction="text: plain text input, nothing to extract",
        removed=cleaned.removed,
    )


def extract_article(html: str | bytes, url: str | None = None) -> Article | None:
    """Extract the article in ``html``; None when the page holds no article."""
    try:
        return parse_article(html, url)
    except NoArticle as err:
        logger.debug("no article in %s: %s", url, err)
        return None


__all__ = [
    "Body",
    "PageMeta",
    "article_from_text",
    "decode_html",
    "decode_page",
    "extract_article",
    "extract_body",
    "is_binary",
    "page_metadata",
    "parse_article",
    "structured_body",
]
