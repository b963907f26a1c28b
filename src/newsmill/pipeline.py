"""One path from an input document to the store, shared by ``ingest`` and ``crawl``.

A document goes through two steps:

* :func:`analyze` is pure CPU work (decode, extract, clean, hash). It touches no database and
  its arguments and result pickle, so a crawl can run it in a process pool.
* :func:`record` writes the result in one transaction: the article (if new) and its
  near-duplicate links, the URL sightings, the raw page, an event row saying what
  happened, and the re-cleaning of the site's earlier articles when the page taught the
  site a template line.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Literal

from newsmill import revisions, templates
from newsmill.classify import ARTICLE, PAYWALL, Verdict, WallWatch, classify
from newsmill.errors import NoArticle
from newsmill.extract import (
    article_from_text,
    decode_html,
    decode_page,
    http_charset,
    is_binary,
    parse_article,
)
from newsmill.fingerprint import content_hash
from newsmill.language import detect_language
from newsmill.models import Article
from newsmill.neardup import Sketch
from newsmill.store import RunCounts, Store, compress_page, utcnow
from newsmill.urls import normalize_url, same_site

logger = logging.getLogger(__name__)

DocumentKind = Literal["html", "text"]

# The event reason of a new article that joined a cluster, by kind of link.
NEAR_DUPLICATE_REASONS = {"near": "near-duplicate", "containment": "partial-copy"}

# Extraction failures after which the page is still classified (a challenge or an error page
# often extracts to nothing): the event then names the wall instead of "empty".
_CLASSIFIED_FAILURES = frozenset({"no-article-text", "only-boilerplate", "too-short"})

# Sniffed in the first bytes of an input whose kind is not known from its name or headers.
_HTML_MARKERS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<article", b"<p>", b"<div")


@dataclass(frozen=True, slots=True)
class Document:
    """An input to process: its bytes, where it came from, and the URL it stands for."""

    body: bytes
    input: str  # a file path or the URL it was fetched from
    url: str | None = None  # the URL to record when the page names no canonical URL
    kind: DocumentKind | None = None  # None: sniff from the bytes
    url_is_final: bool = False  # True when the user set the URL (it beats canonical links)
    content_type: str | None = None
    fetched_at: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    # Line ids the page's site was last seen removing as template, packed by
    # templates.pack_line_ids (a crawl sets it): the worker then sketches the text the store
    # will most likely keep. Only a hint: record() sketches the text itself when it differs.
    template_hint: bytes = b""
    # A stored article's URL fetched again (a crawl's revisit): a changed text becomes a
    # revision of its story, or only updates last_seen (newsmill.revisions).
    revisit: bool = False

    @property
    def fetched(self) -> bool:
        """Whether the document came from a server (its URL is not a ``file:`` one)."""
        return bool(self.url) and not (self.url or "").startswith("file:")


@dataclass(frozen=True, slots=True)
class Prepared:
    """CPU work for :func:`record` done ahead, where :func:`analyze` runs (a worker).

    A crawl's writing process also runs the downloads, so everything it would otherwise
    compute per page is computed here: the compressed page, the template keys of every line,
    and the near-duplicate band keys of the texts the article may be stored with. Each is
    keyed by what it was computed from, so :func:`record` uses it only when it applies.
    """

    page: bytes | None = None  # Document.body, compressed for the pages table
    line_keys: dict[str, templates.LineKey | None] = field(default_factory=dict)
    sketches: dict[str, tuple[list[int], int]] = field(default_factory=dict)  # by text hash

    def sketch_for(self, article: Article) -> Sketch | None:
        found = self.sketches.get(article.hash)
        return Sketch.from_keys(article.text, *found) if found else None


@dataclass(frozen=True, slots=True)
class Analysis:
    """What :func:`analyze` found: an article, or why there is none."""

    article: Article | None
    reason: str | None = None
    detail: str | None = None
    kind: DocumentKind = "html"
    prepared: Prepared = field(default_factory=Prepared)
    verdict: Verdict | None = None  # the page's class (newsmill.classify); None: not judged


@dataclass
class Policy:
    """What a run keeps (``--keep-teasers``, ``--languages``), and its per-site wall count.

    ``languages`` empty keeps every language. An article whose language is not known (the
    page declares none, and its text is too short or unclear to tell: :func:`with_language`)
    is kept: dropping it would silently lose pages of the wanted languages.
    """

    keep_teasers: bool = False
    languages: frozenset[str] = frozenset()
    walls: WallWatch = field(default_factory=WallWatch)

    def skip(self, analysis: Analysis) -> tuple[str, str] | None:
        """(reason, detail) when this policy keeps ``analysis`` out of the articles."""
        verdict, article = analysis.verdict, analysis.article
        kept_teaser = self.keep_teasers and article is not None
        if (
            verdict is not None
            and verdict.blocked
            and not (kept_teaser and verdict.page_class == PAYWALL)
        ):
            return verdict.page_class, verdict.evidence
        language = article.language if article is not None else None
        if self.languages and language and language not in self.languages:
            return "language", language
        return None


def parse_languages(value: str | None) -> frozenset[str]:
    """``"en,de"`` -> ``{"en", "de"}`` (ISO 639 codes, case-insensitive); raises ValueError."""
    codes = [part.strip().lower() for part in (value or "").split(",") if part.strip()]
    bad = [code for code in codes if not (2 <= len(code) <= 3 and code.isalpha())]
    if bad:
        raise ValueError(f"not a language code: {', '.join(bad)} (use ISO 639 codes: en,de)")
    return frozenset(codes)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one input: new, duplicate, empty, failed or skipped."""

    outcome: str
    input: str
    url: str | None = None
    article_hash: str | None = None
    reason: str | None = None
    detail: str | None = None
    template_lines: tuple[int, ...] = ()  # line ids removed from it as its site's template


def sniff_kind(body: bytes) -> DocumentKind:
    head = body[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return "html" if any(marker in head for marker in _HTML_MARKERS) else "text"


def analyze(doc: Document) -> Analysis:
    """Decode, extract, clean and hash ``doc``. Never raises for bad input.

    The article of a fetched page keeps its canonical URL only when it is on the page's own
    site (:func:`trusted_canonical`), checked here, in the worker that extracts it.
    """
    analysis = _analyze(doc)
    return trusted_canonical(doc, analysis) if doc.fetched else analysis


def _analyze(doc: Document) -> Analysis:
    kind = doc.kind or sniff_kind(doc.body)
    page = ""  # the decoded page, which the classifier reads too
    try:
        if kind == "html":
            page = decode_page(doc.body, http_charset(doc.content_type))
            article = parse_article(page, doc.url)
        else:
            article = article_from_text(_decode_text(doc.body), doc.url)
    except NoArticle as exc:
        failure = exc.reason in _CLASSIFIED_FAILURES
        verdict = _classify(doc, page, None) if failure else None
        if verdict is not None and verdict.blocked:
            return Analysis(
                None, verdict.page_class, verdict.evidence, kind, _prepare(doc, kind), verdict
            )
        return Analysis(None, exc.reason, exc.detail or None, kind, _prepare(doc, kind))
    except Exception as exc:  # a bug or a pathological page must not stop a batch
        logger.exception("extraction failed for %s", doc.input)
        return Analysis(
            None, "extraction-error", f"{type(exc).__name__}: {exc}", kind, _prepare(doc, kind)
        )
    verdict = _classify(doc, page, article)
    # A page that will not be stored needs no template keys or sketch (a paywall teaser
    # may be kept, with --keep-teasers).
    keeps = verdict is None or verdict.page_class in (ARTICLE, PAYWALL)
    prepared = _prepare(doc, kind, article if keeps else None)
    return Analysis(article, kind=kind, prepared=prepared, verdict=verdict)


def with_language(article: Article) -> Article:
    """``article`` with the language of its text when its page declares none and the text
    tells (:func:`newsmill.language.detect_language`), so ``--languages`` can judge it.

    Only a run that filters by language asks (:func:`record`), in the writing process: the
    model takes ~73 MB and 0.5 s to load, more than a worker's whole extraction code, and
    1.3-1.6 ms a page; a run that keeps every language does not need it."""
    if article.language:
        return article
    detected = detect_language(article.text)
    if detected is None:
        return article
    return replace(article, language=detected, language_detected=True)


def _classify(doc: Document, page: str, article: Article | None) -> Verdict | None:
    """The class of the page (``page``, decoded; empty for a text input); None when it
    can't be judged (or judging it failed)."""
    try:
        return classify(page, doc.url, article)
    except Exception:  # classification is a filter: a bug in it must not lose the page
        logger.exception("classification failed for %s", doc.input)
        return None


def _prepare(doc: Document, kind: DocumentKind, article: Article | None = None) -> Prepared:
    page = compress_page(doc.body) if _keeps_page(doc, kind) else None
    if article is None:
        return Prepared(page)
    keys = templates.line_keys_of(article)
    text, text_hash = article.text, article.hash
    if doc.template_hint:
        text = templates.without_lines(text, keys, doc.template_hint)
        text_hash = article.hash if text == article.text else content_hash(text)
    return Prepared(page, keys, sketch_keys(text, text_hash))


def sketch_keys(text: str, text_hash: str) -> dict[str, tuple[list[int], int]]:
    """``{text_hash: (band keys, shingle count)}`` of ``text`` (whose content hash is
    ``text_hash``), for :class:`Prepared`."""
    sketch = Sketch.of(text)
    return {text_hash: (sketch.keys, sketch.shingle_count)}


def template_clean(
    store: Store, doc: Document, analysis: Analysis, *, same_story: str | None = None
) -> templates.TemplateClean:
    """The article as :func:`record` would store it now: its URL settled and its site's
    template lines removed (reads the store, writes nothing). ``same_story``: the article
    a revisited page's URL points to (see :func:`newsmill.templates.clean_article`)."""
    assert analysis.article is not None
    article = analysis.article
    url = doc.url if doc.url_is_final else (article.url or doc.url)
    return templates.clean_article(
        store,
        _with_url(article, url),
        line_keys=analysis.prepared.line_keys,
        same_story=same_story,
    )


def _keeps_page(doc: Document, kind: DocumentKind) -> bool:
    return doc.kind == "html" or kind == "html"


def _decode_text(body: bytes) -> str:
    """Decode a text input with the same binary check and charset logic as HTML."""
    if is_binary(body):
        raise NoArticle("binary", "not text in any encoding")
    return decode_html(body)  # a text file has no HTTP header


def record(
    store: Store,
    doc: Document,
    analysis: Analysis,
    *,
    run_id: int,
    seen_at: str,
    defer_backfill: bool = False,
    policy: Policy | None = None,
) -> Outcome:
    """Write what :func:`analyze` found, in one transaction, and return the outcome.

    The transaction includes the template backfill this page causes (re-cleaning the site's
    earlier articles when a line becomes template), so a kill leaves both or neither. With
    ``defer_backfill`` those articles go to the template backlog instead, and the caller
    drains it (:func:`newsmill.templates.drain_backlog`) when its run ends.

    A page that is not an article (a wall, an error page, a listing: ``analysis.verdict``)
    or not in the ``policy``'s languages is *skipped* with the class (or ``language``) as
    its reason: its raw page is kept, no article is stored. With languages to keep, a page
    that declares none is judged by its text's language (:func:`with_language`)."""
    policy = policy or Policy()
    if policy.languages and analysis.article is not None:
        analysis = replace(analysis, article=with_language(analysis.article))
    article = analysis.article
    skip = policy.skip(analysis)
    partial = article is not None and analysis.verdict is not None and analysis.verdict.blocked
    learned: templates.TemplateClean | None = None
    with store.transaction():
        if skip is not None:
            outcome = Outcome("skipped", doc.input, doc.url, None, *skip)
        elif article is None:
            outcome = Outcome("empty", doc.input, doc.url, None, analysis.reason, analysis.detail)
            if analysis.reason == "extraction-error":
                outcome = Outcome(
                    "failed", doc.input, doc.url, None, analysis.reason, analysis.detail
                )
        else:
            if defer_backfill:
                templates.settle_queued_source(store, article, run_id=run_id)
            # Site templates: remove the lines this site repeats, and learn from this page.
            previous = revisions.previous_article(store, _revisit_keys(doc, article.url))
            learned = template_clean(store, doc, analysis, same_story=previous)
            article = learned.article
            url = article.url
            change = revisions.judge(store, previous, article.hash, article.text)
            if change is not None and change.kind != "revision":
                outcome = _seen_again(store, doc, url, change, run_id=run_id, seen_at=seen_at)
                learned = None
            else:
                outcome = _store_article(
                    store,
                    doc,
                    analysis,
                    learned,
                    change,
                    run_id=run_id,
                    seen_at=seen_at,
                    partial=partial,
                )
        if _keeps_page(doc, analysis.kind):
            store.save_page(
                outcome.url or doc.input,
                doc.body,
                article_hash=outcome.article_hash,
                content_type=doc.content_type or "text/html",
                fetched_at=doc.fetched_at or seen_at,
                etag=doc.etag,
                last_modified=doc.last_modified,
                compressed=analysis.prepared.page,
            )
        store.record_event(
            run_id,
            input=doc.input,
            outcome=outcome.outcome,
            url=outcome.url,
            reason=outcome.reason,
            detail=outcome.detail,
            article_hash=outcome.article_hash,
        )
        if learned is not None:
            # In the same transaction: a line that became template here is only seen to
            # cross once, so a kill between this page and the backfill would leave the
            # site's earlier articles uncleaned for ever.
            templates.backfill(store, learned, run_id=run_id, defer=defer_backfill)
    if doc.fetched:
        policy.walls.note(templates.site_key(doc.url), analysis.verdict)
    return outcome


def _store_article(
    store: Store,
    doc: Document,
    analysis: Analysis,
    learned: templates.TemplateClean,
    change: revisions.Change | None,
    *,
    run_id: int,
    seen_at: str,
    partial: bool = False,
) -> Outcome:
    """Store a page's article (new, an exact copy, or a new revision of the story
    ``change`` says its URL held) with its URL sightings and near-duplicate links;
    ``partial``: a paywall teaser kept with --keep-teasers."""
    article = learned.article
    url = article.url
    is_new = store.add_article(article, run_id=run_id, seen_at=seen_at)
    if partial and is_new:
        store.mark_partial(article.hash)
    templates.remember(store, learned, is_new=is_new)
    for sighting, kind in _sightings(doc, url):
        store.record_url(sighting, article.hash, kind=kind, run_id=run_id, seen_at=seen_at)
    reason = None if is_new else "exact-copy"
    detail = None
    match = None
    if is_new:
        sketch = analysis.prepared.sketch_for(article)
        match = store.link_near_duplicates(article, seen_at=seen_at, sketch=sketch)
    if match is not None:
        reason = NEAR_DUPLICATE_REASONS[match.kind]
        detail = f"{match.kind} of {match.matched} at similarity {match.similarity:.2f}"
    elif partial and is_new and analysis.verdict is not None:
        reason, detail = "partial", analysis.verdict.evidence
    if change is not None and (is_new or _same_story(store, article.hash, change.previous)):
        # Its own hash and row; linked to the text it replaces (a text the story had before
        # is linked again: the story went back to it).
        number = revisions.add_revision(
            store,
            change,
            article.hash,
            url=url or doc.input,
            fetched_at=doc.fetched_at or seen_at,
            run_id=run_id,
        )
        reason = "revision"
        detail = f"revision {number}: {change.describe()}"
    return Outcome(
        "new" if is_new else "duplicate",
        doc.input,
        url,
        article.hash,
        reason,
        detail,
        tuple(line_id for _, _, line_id in learned.removed),
    )


def _same_story(store: Store, a: str, b: str) -> bool:
    story = revisions.story_of(store, a)
    return story is not None and story == revisions.story_of(store, b)


def _seen_again(
    store: Store,
    doc: Document,
    url: str | None,
    change: revisions.Change,
    *,
    run_id: int,
    seen_at: str,
) -> Outcome:
    """A revisited page whose text is unchanged or trivially edited: the article its URL
    points to was seen again (``last_seen``); nothing else is stored."""
    previous = change.previous
    store.db.execute("update articles set last_seen = ? where hash = ?", [seen_at, previous])
    for sighting, kind in _sightings(doc, url):
        store.record_url(sighting, previous, kind=kind, run_id=run_id, seen_at=seen_at)
    if change.kind == "unchanged":
        return Outcome("duplicate", doc.input, url, previous, "unchanged")
    return Outcome("duplicate", doc.input, url, previous, "trivial-edit", change.describe())


def _revisit_keys(doc: Document, url: str | None) -> list[str]:
    """The URLs whose article a revisited page is compared with, the fetched one first
    (none when the page is not a revisit)."""
    if not doc.revisit:
        return []
    keys = [doc.input, doc.url, url]
    return [k for i, k in enumerate(keys) if k and k not in keys[:i]]


def record_skip(store: Store, *, run_id: int, input: str, reason: str, detail: str = "") -> Outcome:
    """Record an input that was not processed at all (unreadable, too large, ...)."""
    with store.transaction():
        store.record_event(run_id, input=input, outcome="skipped", reason=reason, detail=detail)
    return Outcome("skipped", input, reason=reason, detail=detail)


def process(
    store: Store,
    doc: Document,
    *,
    run_id: int,
    seen_at: str | None = None,
    defer_backfill: bool = False,
    policy: Policy | None = None,
) -> Outcome:
    """Analyze and record one document in this process (see :func:`record`)."""
    return record(
        store,
        doc,
        analyze(doc),
        run_id=run_id,
        seen_at=seen_at or utcnow(),
        defer_backfill=defer_backfill,
        policy=policy,
    )


def trusted_canonical(doc: Document, analysis: Analysis) -> Analysis:
    """Keep a fetched page's canonical / og:url only if it is on the page's own site.

    Otherwise a hostile page could claim another site's URL, and the next crawl would skip
    the real page as already stored. (A crawl and an ingest of web archives both apply it,
    so the same pages give the same articles.)
    """
    article = analysis.article
    if article is None or not article.url or doc.url is None:
        return analysis
    canonical = normalize_url(article.url, doc.url)
    if canonical is None or not same_site(canonical, doc.url):
        canonical = None
    if canonical == article.url:
        return analysis
    return replace(analysis, article=replace(article, url=canonical))


def _with_url(article: Article, url: str | None) -> Article:
    return article if url == article.url else replace(article, url=url)


def _sightings(doc: Document, url: str | None) -> list[tuple[str, str]]:
    """The URLs to record for a document: the article's URL, and the input if it differs."""
    result: list[tuple[str, str]] = []
    if url:
        result.append((url, "canonical" if url != doc.url else _input_kind(doc)))
    if doc.url and doc.url != url:
        result.append((doc.url, _input_kind(doc)))
    return result


def _input_kind(doc: Document) -> str:
    if doc.url_is_final:
        return "given"
    return "file" if (doc.url or "").startswith("file:") else "fetched"


__all__ = [
    "Analysis",
    "Document",
    "Outcome",
    "Policy",
    "RunCounts",
    "analyze",
    "parse_languages",
    "process",
    "record",
    "record_skip",
    "trusted_canonical",
]
