"""What a fetched resource is, and what it links to: feeds, sitemaps, robots.txt, HTML pages.

Pure functions over bytes, no Scrapy, no network. newsmill decides what a resource is from
the response (headers and the first bytes), never from its file name.

XML is parsed with entity expansion, DTD loading and network access off, and without
lxml's "huge tree" mode; a document whose DOCTYPE declares an internal subset (where
entity bombs live) is refused before parsing (:class:`UnsafeXML`). Feeds and sitemaps
never need one.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from lxml import etree
from lxml import html as lxml_html

from newsmill.urls import normalize_url

ResourceKind = Literal["feed", "sitemap", "sitemapindex", "robots", "html", "other"]

# "The usual paths" probed for a sitemap when robots.txt names none.
USUAL_SITEMAP_PATHS = ("/sitemap.xml", "/sitemap_index.xml", "/news-sitemap.xml")

FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
        "text/xml",
        "application/xml",
    }
)

_GZIP_MAGIC = b"\x1f\x8b"
_XML_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
    "recover": True,  # real feeds are often slightly broken (bare &, bad encodings)
}
_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)
_ROBOTS_LINE = re.compile(rb"^\s*(user-agent|disallow|allow|sitemap|crawl-delay)\s*:", re.I | re.M)


class UnsafeXML(ValueError):
    """The XML declares entities or an internal DTD subset; newsmill does not parse it."""


class TooLarge(ValueError):
    """A compressed resource decompresses to more than the limit."""


@dataclass(frozen=True, slots=True)
class Link:
    """A URL found in a resource, with its sitemap lastmod (or feed date) when given."""

    url: str
    lastmod: dt.datetime | None = None


def gunzip_limited(body: bytes, max_bytes: int) -> bytes:
    """Decompress gzip data, refusing output over ``max_bytes`` (a gzip bomb)."""
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = decompressor.decompress(body, max_bytes + 1)
    if len(out) > max_bytes or decompressor.unconsumed_tail:
        raise TooLarge(f"decompresses to more than {max_bytes} bytes")
    return out


def maybe_gunzip(body: bytes, max_bytes: int) -> bytes:
    """``body`` decompressed if it is gzip data (a ``sitemap.xml.gz``), else unchanged."""
    if body[:2] == _GZIP_MAGIC:
        try:
            return gunzip_limited(body, max_bytes)
        except zlib.error:
            return body
    return body


def sniff(body: bytes, content_type: str | None = None) -> ResourceKind:
    """Tell what a resource is from its bytes (and, for tie-breaking, its Content-Type)."""
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    head = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    lower = head.lower()
    if head.startswith(b"{") and b'"version"' in lower and b"jsonfeed.org" in lower:
        return "feed"
    if lower.startswith(b"<?xml") or lower.startswith(b"<!--") or lower.startswith(b"<rss"):
        return _sniff_xml(lower) or ("html" if b"<html" in lower else "other")
    if lower.startswith((b"<!doctype html", b"<html")) or b"<html" in lower[:1024]:
        return "html"
    root = _sniff_xml(lower)
    if root:
        return root
    if ctype in ("text/html", "application/xhtml+xml") or b"<body" in lower or b"<p" in lower:
        return "html"
    if ctype in ("text/plain", "") and _ROBOTS_LINE.search(head):
        return "robots"
    return "other"


def _sniff_xml(lower_head: bytes) -> ResourceKind | None:
    match = re.search(rb"<(?![?!])([a-z0-9_:.-]+)", lower_head)
    if not match:
        return None
    tag = match.group(1).split(b":")[-1]
    if tag in (b"rss", b"rdf", b"feed"):
        return "feed"
    if tag == b"urlset":
        return "sitemap"
    if tag == b"sitemapindex":
        return "sitemapindex"
    if tag == b"html":
        return "html"
    return None


def parse_xml(body: bytes) -> etree._Element:
    """Parse untrusted XML safely. Raises :class:`UnsafeXML` or ``ValueError``."""
    if _DOCTYPE_SUBSET.search(body[:65536]) or b"<!ENTITY" in body[:65536].upper():
        raise UnsafeXML("XML declares entities or an internal DTD subset")
    parser = etree.XMLParser(**_XML_PARSER_OPTIONS)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not well-formed XML: {exc}") from exc
    if root is None:
        raise ValueError("empty XML document")
    return root


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _children(el: etree._Element, name: str) -> Iterator[etree._Element]:
    for child in el:
        if _local(child.tag) == name:
            yield child


def _text(el: etree._Element, name: str) -> str | None:
    for child in _children(el, name):
        text = (child.text or "").strip()
        if text:
            return text
    return None


def parse_date(value: str | None) -> dt.datetime | None:
    """A W3C datetime (sitemaps, Atom) or RFC 822 date (RSS) as an aware UTC datetime."""
    if not value:
        return None
    value = value.strip()
    parsed: dt.datetime | None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # year 1 east of UTC, year 9999 west of it
        return None


def parse_sitemap(
    body: bytes, base_url: str, *, limit: int | None = None
) -> tuple[bool, list[Link]]:
    """``(is_index, links)`` of a sitemap or sitemap index (Google News sitemaps included).

    An entry's lastmod is ``<lastmod>``, else ``<news:publication_date>``. At most ``limit``
    links are returned (the first ones).
    """
    root = parse_xml(body)
    kind = _local(root.tag)
    if kind not in ("urlset", "sitemapindex"):
        raise ValueError(f"not a sitemap (root element {kind!r})")
    entry_name = "url" if kind == "urlset" else "sitemap"
    links: list[Link] = []
    for entry in _children(root, entry_name):
        if limit is not None and len(links) >= limit:
            break
        loc = _text(entry, "loc")
        url = normalize_url(loc, base_url) if loc else None
        if not url:
            continue
        lastmod = _text(entry, "lastmod")
        if lastmod is None:
            for news in _children(entry, "news"):
                lastmod = _text(news, "publication_date")
        links.append(Link(url, parse_date(lastmod)))
    return kind == "sitemapindex", links


def parse_feed(body: bytes, base_url: str, *, limit: int | None = None) -> list[Link]:
    """The item links of an RSS (0.9x, 1.0, 2.0), Atom or JSON feed (the first ``limit``)."""
    if body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        return _parse_json_feed(body, base_url)[:limit]
    root = parse_xml(body)
    kind = _local(root.tag)
    links: list[Link] = []
    if kind == "feed":  # Atom
        for entry in _children(root, "entry"):
            if limit is not None and len(links) >= limit:
                break
            href = None
            for link in _children(entry, "link"):
                if link.get("rel", "alternate") == "alternate" and link.get("href"):
                    href = link.get("href")
                    break
            date = _text(entry, "updated") or _text(entry, "published")
            _add(links, href, base_url, date)
        return links
    if kind not in ("rss", "rdf"):
        raise ValueError(f"not a feed (root element {kind!r})")
    for item in root.iter("{*}item"):
        if limit is not None and len(links) >= limit:
            break
        href = _text(item, "link")
        if not href:
            for guid in _children(item, "guid"):
                if guid.get("isPermaLink", "true") == "true" and guid.text:
                    href = guid.text.strip()
        date = _text(item, "pubdate") or _text(item, "date")
        _add(links, href, base_url, date)
    return links


def _parse_json_feed(body: bytes, base_url: str) -> list[Link]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a JSON feed: {exc}") from exc
    except RecursionError:
        raise ValueError("not a JSON feed: nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise ValueError("not a JSON feed: no items")
    links: list[Link] = []
    for item in data["items"]:
        if isinstance(item, dict):
            href = item.get("url") or item.get("external_url")
            date = item.get("date_modified") or item.get("date_published")
            _add(
                links,
                href if isinstance(href, str) else None,
                base_url,
                date if isinstance(date, str) else None,
            )
    return links


def _add(links: list[Link], href: str | None, base_url: str, date: str | None) -> None:
    url = normalize_url(href, base_url) if href else None
    if url:
        links.append(Link(url, parse_date(date)))


def parse_robots_sitemaps(body: bytes, base_url: str) -> list[str]:
    """The ``Sitemap:`` URLs of a robots.txt."""
    urls: list[str] = []
    for line in body.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(":")
        if name.strip().lower() == "sitemap" and value.strip():
            url = normalize_url(value.split("#", 1)[0].strip(), base_url)
            if url and url not in urls:
                urls.append(url)
    return urls


@dataclass(frozen=True, slots=True)
class PageLinks:
    """What an HTML page links to: its feeds (``<link rel=alternate>``) and its anchors."""

    feeds: list[str]
    links: list[str]


_FEED_LINK_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/rdf+xml",
        "application/json",
    }
)


def parse_html_links(body: bytes, base_url: str) -> PageLinks:
    """Feeds and (normalized, http(s), deduplicated) links of an HTML page."""
    try:
        doc = lxml_html.document_fromstring(body)
    except (etree.ParserError, ValueError):
        return PageLinks([], [])
    base = base_url
    for el in doc.iter("base"):
        if el.get("href"):
            base = normalize_url(el.get("href") or "", base_url) or base_url
            break
    feeds: list[str] = []
    for el in doc.iter("link"):
        rel = (el.get("rel") or "").lower().split()
        ctype = (el.get("type") or "").lower().strip()
        if "alternate" in rel and ctype in _FEED_LINK_TYPES and el.get("href"):
            url = normalize_url(el.get("href") or "", base)
            if url and url not in feeds:
                feeds.append(url)
    seen: set[str] = set()
    links: list[str] = []
    for el in doc.iter("a"):
        href = el.get("href")
        if not href or "nofollow" in (el.get("rel") or "").lower():
            continue
        url = normalize_url(href, base)
        if url and url not in seen:
            seen.add(url)
            links.append(url)
    return PageLinks(feeds, links)
