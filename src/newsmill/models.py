"""The records that flow between newsmill's stages."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RemovedLine:
    """A line the cleaner took out of an article, and the rule that did it."""

    text: str
    rule: str


@dataclass(frozen=True, slots=True)
class Article:
    """One extracted, cleaned article.

    ``hash`` is the content hash of ``text`` (see :mod:`newsmill.fingerprint`); it is the
    article's key in the store.
    """

    text: str
    hash: str
    title: str | None = None
    author: str | None = None
    published: str | None = None  # ISO 8601 date (YYYY-MM-DD) or None
    site: str | None = None
    language: str | None = None
    url: str | None = None
    # Which extraction path produced ``text`` and why, "path: reason" (path: fast, full,
    # merged, structured-data, or text for plain-text input; see
    # newsmill.extract.extract_body).
    extraction: str | None = None
    removed: tuple[RemovedLine, ...] = field(default=(), compare=False, repr=False)
    # True when ``language`` was detected from the text (the page declares none;
    # newsmill.language), False when the page declares it.
    language_detected: bool = False
