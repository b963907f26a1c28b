"""Turn a page (HTML bytes or text) into an :class:`Article`: decode, extract, clean, hash.

The body comes from ``trafilatura.bare_extraction`` (comments off); the cleaner then removes
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
import json
import logging
import re
from collections.abc import Iterator
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


def page_metadata(page: str, url: str | None = None) -> PageMeta:
    """Read what ``page`` declares about itself (see the module docstring for the order)."""
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

_TAG_END = frozenset(">/ \t\r\n")


def drop_scripts(page: str) -> str:
    """Remove ``<script>`` (except JSON-LD) and ``<style>`` elements from the HTML source.

    Both extraction and metadata ignore them, yet they are half the bytes of a typical news
    page and every stage parses and copies them. Cutting them from the string first gave the
    same extracted text on every benchmark page and saves ~5% of extraction time. Only
    lowercase tags are cut (a plain ``str.find`` is ten times faster than a regex over the
    page); an uppercase or unterminated one is simply left for the parser.
    """
    spans = []
    for tag in ("script", "style"):
        opener, closer = "<" + tag, "</" + tag
        i = page.find(opener)
        while i >= 0:
            k = i + len(opener)
            end = page.find(">", k)
            if end < 0:
                break
            if page[k : k + 1] not in _TAG_END or (tag == "script" and "ld+json" in page[k:end]):
                i = page.find(opener, k)
                continue
            close = page.find(closer, end)
            close_end = page.find(">", close) if close >= 0 else -1
            if close_end < 0:
                break
            spans.append((i, close_end + 1))
            i = page.find(opener, close_end)
    if not spans:
        return page
    spans.sort()
    parts, pos = [], 0
    for start, stop in spans:
        if start >= pos:
            parts.append(page[pos:start])
            pos = stop
    parts.append(page[pos:])
    return "".join(parts)


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


def _body_text(page: str, url: str | None) -> str | None:
    # fast=True: trafilatura's own extractor without the readability/jusText comparison
    # (its baseline and recall-retry rescues still run). On the 181-page benchmark it changed
    # 5 pages (3 better, 2 worse): F1 0.9668 -> 0.9690, holdout half 0.9648 -> 0.9742, dev
    # half 0.9686 -> 0.9642, at 1.36x the speed (bench/extraction.py).
    try:
        document = trafilatura.bare_extraction(
            page, url=url, include_comments=False, with_metadata=False, fast=True
        )
    except Exception as err:  # trafilatura/lxml internals on pathological input
        raise NoArticle("extraction-error", f"{type(err).__name__}: {err}") from err
    if document is None or isinstance(document, dict):
        return None
    return document.text


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
    text = _body_text(html, url)
    if not text or not text.strip():
        raise NoArticle("no-article-text")
    meta = page_metadata(html, url)
    cleaned = clean_lines(text, url, title=meta.titles)
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
    "PageMeta",
    "article_from_text",
    "decode_html",
    "decode_page",
    "extract_article",
    "is_binary",
    "page_metadata",
    "parse_article",
]
