"""Turn a page (HTML bytes or text) into an :class:`Article`: decode, extract, clean, hash.

(Baseline; tuned in its own branch.)
"""

from __future__ import annotations

import trafilatura

from newsmill.clean import clean_lines
from newsmill.errors import NoArticle
from newsmill.fingerprint import content_hash
from newsmill.models import Article


def decode_html(data: bytes) -> str:
    """Decode page bytes, trusting a declared charset only when the bytes agree with it."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_article(html: str | bytes, url: str | None = None) -> Article:
    """Extract and clean the article in ``html``; raise :class:`NoArticle` when there is none."""
    if isinstance(html, bytes):
        if b"\x00" in html[:4096]:
            raise NoArticle("binary", "input contains NUL bytes")
        html = decode_html(html)
    if not html.strip():
        raise NoArticle("empty-input")
    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False)
    if doc is None or not (doc.text or "").strip():
        raise NoArticle("no-article-text")
    cleaned = clean_lines(doc.text, url)
    if not cleaned.text:
        raise NoArticle("only-boilerplate")
    return Article(
        text=cleaned.text,
        hash=content_hash(cleaned.text),
        title=doc.title,
        author=doc.author,
        published=doc.date,
        site=doc.sitename or doc.hostname,
        language=doc.language,
        url=doc.url or url,
        removed=cleaned.removed,
    )


def article_from_text(text: str, url: str | None = None) -> Article:
    """Clean plain text (already extracted) into an :class:`Article`."""
    cleaned = clean_lines(text, url)
    if not cleaned.text:
        raise NoArticle("empty-input" if not text.strip() else "only-boilerplate")
    return Article(
        text=cleaned.text, hash=content_hash(cleaned.text), url=url, removed=cleaned.removed
    )


def extract_article(html: str | bytes, url: str | None = None) -> Article | None:
    """Extract the article in ``html``; None when the page holds no article."""
    try:
        return parse_article(html, url)
    except NoArticle:
        return None
