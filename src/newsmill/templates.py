"""Site templates: the boilerplate lines each site repeats, learned from the articles stored.

Rules (:mod:`newsmill.clean`) catch boilerplate that can be named in advance. Every site also
has lines of its own that no rule knows: its mirror addresses, its newsletter prompt, its
photo-credit format, its "most read" headlines. They give themselves away by recurring in
many *different* articles of one site, while content rarely does.

How it works:

* Every line of an article's text after the rules (its *source text*) with at most
  :data:`MAX_TEMPLATE_WORDS` words is a candidate. Its key is a 64-bit hash of the line
  normalized by :func:`normalize_line` (case, Unicode form, digits and surrounding
  punctuation do not matter), so "© 2019 Example Media" and "© 2020 Example Media" are one
  line.
* The store keeps, per site (the URL's host without ``www.``), which articles hold which
  candidate line (``site_lines``). A line's count is the number of distinct articles that
  hold it: an article is keyed by its content hash, and a page seen again is recognised by
  the hash of its source text (``article_sources``), so re-ingesting never counts twice.
* A line is template for a site once the site has :data:`MIN_SITE_ARTICLES` articles and
  the line is in at least :func:`required_articles` of them; it is then removed from every
  article of that site. A longer line needs more articles, a quotation more still, and a
  paragraph longer than :data:`MAX_TEMPLATE_WORDS` words is never template.
* Pages arrive one by one, so when a line *becomes* template (or the site becomes old
  enough), the site's stored articles holding it are cleaned again (:func:`backfill`), and
  their hashes move (:meth:`newsmill.store.Store.move_article`). A crawl or an ingest puts
  them in a backlog first (:func:`drain_backlog`), so an article is cleaned again once for
  the several lines its site learns in a row.
* Every removal is kept in ``removed_lines`` with its position in the source text, so the
  source text can be rebuilt from the stored text (:func:`source_text`) and an article can
  be explained (:func:`explain`).
"""

from __future__ import annotations

import bisect
import concurrent.futures
import datetime as dt
import functools
import hashlib
import logging
import math
import re
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from newsmill.fingerprint import content_hash
from newsmill.neardup import Sketch

if TYPE_CHECKING:
    from newsmill.models import Article
    from newsmill.store import Store

logger = logging.getLogger(__name__)

# -- thresholds (measured with bench/templates.py; see the README's "Site templates") -------
# The benchmark puts invented per-site templates on the 181 pages of the extraction dataset
# (sites of 10-30 pages) and adds follow-up content that must stay: a 15-60-word story
# paragraph repeated in 4 stories of a site, and a 6-12-word sentence repeated in 2. Sweeps
# on seeds 1 and 2 (residue = template tokens left, "kept" = follow-up tokens kept, which is
# 95.4% / 91.1% with the rules alone, the rest being lost by extraction):

# A site needs this many distinct articles before anything is removed as template: the first
# pages of a new site are cleaned by the rules alone, and cleaned again (backfill) once the
# site reaches this size. Swept 3/5/8: no effect on residue or F1 (backfill cleans the early
# pages anyway); 5 keeps a brand-new site whose first pages are follow-ups of one story
# (sharing quotes and background) from teaching itself its own content.
MIN_SITE_ARTICLES = 5

# A line of at most SHORT_LINE_WORDS words is template once it is in MIN_ARTICLES distinct
# articles. 12 words: of the lines trafilatura leaves on the dataset's pages that are not
# ground truth, 63% have at most 12 words, against 32% of content lines (median 10 vs 25).
# MIN_ARTICLES swept 2-4: at 2 residue is 0.9% but a sentence repeated in two follow-ups is
# removed (kept drops 95.4% -> 85.2%); at 4 residue rises to 2.7% (a site's related-headline
# lists show each headline on only a third of its pages); 3 gives 1.3-1.5% and keeps them.
SHORT_LINE_WORDS = 12
MIN_ARTICLES = 3

# A longer line needs LONG_MIN_ARTICLES articles, plus one more per WORDS_PER_EXTRA_ARTICLE
# words beyond the first 4 over SHORT_LINE_WORDS: 13-16 words need 5, a 20-word newsletter
# prompt 6, a 40-word disclaimer 11, an 80-word paragraph 21. Swept LONG_MIN_ARTICLES 3-6 x
# WORDS_PER_EXTRA_ARTICLE 2/4/8: residue is the same everywhere (template blocks repeat on
# nearly every page, so extra evidence costs them little, only time on a new site), while a
# background paragraph repeated in 4 follow-ups is removed below 5 (kept 78-91%) and kept
# from 5 on (95.4%, as with the rules alone). 4 words per article is the conservative half
# of the flat range.
LONG_MIN_ARTICLES = 5
WORDS_PER_EXTRA_ARTICLE = 4

# A line holding a quotation ("...", “...”, «...») needs at least this many articles: quotes
# are what follow-up stories repeat verbatim, and boilerplate seldom quotes anyone.
QUOTED_MIN_ARTICLES = 6

# Paragraphs longer than this are never template, and not counted. Of the non-content lines
# trafilatura leaves on the dataset's pages, 95% have at most 57 words and the longest
# single blocks 67-69 (longer ones are whole page regions run together, which line-level
# learning can't split anyway); 94% of content lines are within 80, so this bounds the
# evidence a long paragraph needs (21 articles) more than it saves space.
MAX_TEMPLATE_WORDS = 80

TEMPLATE_RULE_PREFIX = "template:"

_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")
_QUOTATION = re.compile(r"[\"“„«»][^\"“”„«»]{12,}[\"”“«»]")


# -- pure functions ------------------------------------------------------------------------


def site_key(url: str | None, site: str | None = None) -> str | None:
    """The site an article belongs to for template learning: its URL's host without
    ``www.``, else the site name the page gave, else None (no learning)."""
    if url and "://" in url:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        if host.startswith("www."):
            host = host[4:]
        if host:
            return host
    if site and site.strip():
        return site.strip().casefold()
    return None


def normalize_line(line: str) -> str:
    """The form in which lines are compared: NFKC, no invisible characters, casefolded,
    whitespace collapsed, no punctuation at either end, and in a short line (at most
    :data:`SHORT_LINE_WORDS` words) every number as ``0``.

    Numbers are masked in short lines only: that is where templates carry them ("© 2019",
    "12 comments", "Updated 3 hours ago"). A sentence that differs from another only in its
    numbers ("Union members voted 41 to 12 ...") is formulaic *content* (results, prices,
    weather), and masking would merge such sentences into one "recurring" line. Years are
    masked in every line: long copyright and legal notes carry them ("Copyright 2019 ...
    may not be published, broadcast, rewritten or redistributed").
    """
    return _normalize(line)[0]


def _normalize(line: str) -> tuple[str, int]:
    """:func:`normalize_line` and the number of words (``\\w+`` runs) of the result."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", line)).casefold()
    text = _strip_edges(" ".join(text.split()))
    words = len(_WORD.findall(text))
    if words <= SHORT_LINE_WORDS:
        return _DIGITS.sub("0", text), words  # digits stay word characters: same count
    return _YEAR.sub("0", text), words


def _strip_edges(text: str) -> str:
    """``text`` without non-word characters (``[\\W_]``) at either end. A loop, not the
    regex ``^[\\W_]+|[\\W_]+$``: that one is tried at every position of the line (a third
    of the time of keying a line)."""
    start, end = 0, len(text)
    while start < end and not text[start].isalnum():
        start += 1
    while end > start and not text[end - 1].isalnum():
        end -= 1
    return text[start:end]


@dataclass(frozen=True, slots=True)
class LineKey:
    """A candidate line: its id (64-bit hash of the normalized line), words, quotation."""

    line_id: int
    words: int
    quoted: bool


def line_keys_of(article: Article) -> dict[str, LineKey | None]:
    """The keys of every line of ``article`` and of the lines its rules removed (pure CPU
    work, done by an extraction worker so the process that writes does not)."""
    lines = [*article.text.split("\n"), *(gone.text for gone in article.removed)]
    return {line: line_key(line) for line in lines}


@functools.lru_cache(maxsize=1024)
def line_key(line: str) -> LineKey | None:
    """The key of a candidate line, or None when the line can't be template (no words, or
    longer than :data:`MAX_TEMPLATE_WORDS`).

    Cached for the last 1,024 lines: a site's template lines recur on every page, and a
    backfill re-keys the lines of articles it may clean again a few pages later. Keying a
    line costs ~11 microseconds (0.32 ms for an article's lines). A cache of 32,768 lines
    (a paragraph is a key of ~1 KB) held ~30 MB in each extraction worker and the writer
    after a few thousand articles, most of it story paragraphs that never come again."""
    norm, words = _normalize(line)
    if words == 0 or words > MAX_TEMPLATE_WORDS:
        return None
    digest = hashlib.blake2b(norm.encode("utf-8"), digest_size=8).digest()
    return LineKey(int.from_bytes(digest, "big", signed=True), words, bool(_QUOTATION.search(line)))


def pack_line_ids(line_ids: Iterable[int]) -> bytes:
    """Line ids as the sorted array :func:`without_lines` searches (cheap to send to a
    worker process: one bytes object)."""
    return array("q", sorted(line_ids)).tobytes()


def without_lines(text: str, keys: Mapping[str, LineKey | None], packed: bytes) -> str:
    """``text`` without the lines whose id is in ``packed`` (:func:`pack_line_ids`), as
    :func:`clean_article` would remove them: a text left blank keeps every line."""
    ids = array("q")
    ids.frombytes(packed)
    n = len(ids)

    def listed(line: str) -> bool:
        key = keys[line] if line in keys else line_key(line)
        if key is None:
            return False
        at = bisect.bisect_left(ids, key.line_id)
        return at < n and ids[at] == key.line_id

    lines = text.split("\n")
    result = _without_dropped(lines, [listed(line) for line in lines])
    return text if result is None else result


def _without_dropped(lines: list[str], dropped: list[bool]) -> str | None:
    """The text of ``lines`` without the dropped ones (not stripped: removed lines' positions
    must rebuild the source exactly), or None when none is dropped or only blank lines would
    be left: a page made only of template lines keeps them rather than vanish."""
    if not any(dropped):
        return None
    text = "\n".join(line for line, drop in zip(lines, dropped, strict=True) if not drop)
    return text if text.strip() else None


def required_articles(words: int, quoted: bool = False) -> int | None:
    """How many distinct articles of a site must hold a line before it is template."""
    if words > MAX_TEMPLATE_WORDS:
        return None
    if words <= SHORT_LINE_WORDS:
        need = MIN_ARTICLES
    else:
        extra = math.ceil((words - SHORT_LINE_WORDS) / WORDS_PER_EXTRA_ARTICLE)
        need = LONG_MIN_ARTICLES + extra - 1
    return max(need, QUOTED_MIN_ARTICLES) if quoted else need


# The most articles any line needs (an 80-word quotation). Counts past it change nothing,
# so clean_article counts a line's holders only up to here (one more, to be safe).
COUNT_CAP = max(required_articles(MAX_TEMPLATE_WORDS, q) or 0 for q in (False, True)) + 1


def is_template(count: int, site_articles: int, words: int, quoted: bool = False) -> bool:
    """Whether a line held by ``count`` of a site's ``site_articles`` articles is template."""
    need = required_articles(words, quoted)
    return need is not None and site_articles >= MIN_SITE_ARTICLES and count >= need


# -- over the store ------------------------------------------------------------------------


@dataclass
class TemplateClean:
    """What :func:`clean_article` did: the article without its site's template lines."""

    article: Article  # text and hash after template removal
    site: str | None
    source: str  # the text before template removal (after the rules)
    lines: list[LineKey] = field(default_factory=list)  # distinct candidate lines
    removed: list[tuple[int, str, int]] = field(default_factory=list)  # (position, line, id)
    known: str | None = None  # the stored article this source text already became
    crossed: list[int] = field(default_factory=list)  # line ids that became template now
    site_crossed: bool = False  # the site became old enough with this article
    source_hash: str = ""  # content_hash(source), for a new page of a known site


def clean_article(
    store: Store,
    article: Article,
    *,
    current: str | None = None,
    line_keys: Mapping[str, LineKey | None] | None = None,
    same_story: str | None = None,
) -> TemplateClean:
    """Remove ``article``'s site template lines, counting the article itself once.

    ``article.text`` is the source text (after the rules). ``current`` is the article's
    stored hash when it is already in the store (re-cleaning); a new page whose source text
    was seen before is recognised through ``article_sources``. ``line_keys`` maps lines to
    their :func:`line_key`, computed elsewhere (an extraction worker; see
    :func:`line_keys_of`); lines it lacks are keyed here. ``same_story``: the stored
    article a revisited page's URL points to (:mod:`newsmill.revisions`), which the page
    counts as, like a page seen before: its own lines must not count twice towards the
    site's template lines.
    """
    keyed = line_keys or {}

    def key_of(line: str) -> LineKey | None:
        return keyed[line] if line in keyed else line_key(line)

    source = article.text
    site = site_key(article.url, article.site)
    if current is not None:
        site = store.article_site(current) or site
    if site is None:
        return TemplateClean(article, None, source)
    # A re-clean (current given) needs no source hash: the store has it already. A new
    # page's is its article's hash (Article.hash is the content hash of its text).
    source_hash = article.hash if current is None else ""
    known = current or store.article_for_source(source_hash) or same_story
    lines = source.split("\n")
    keys = [key_of(line) for line in lines]
    distinct = {k.line_id: k for k in keys if k is not None}
    # Lines the rules already took out still count as this page's lines: a site's template
    # line that a rule catches on some pages (at the end of the text, say) and not on others
    # (in the middle) must reach its count on all of them.
    for gone in article.removed:
        key = key_of(gone.text)
        if key is not None:
            distinct.setdefault(key.line_id, key)
    counted = store.line_counts(site, list(distinct), exclude=known, at_most=COUNT_CAP)
    # Only whether the site is past MIN_SITE_ARTICLES matters here (is_template, site_crossed).
    before = store.site_article_count(site, at_most=MIN_SITE_ARTICLES)
    in_site = known is not None and store.article_site(known) == site
    site_n = before if in_site else before + 1
    dropped = [
        key is not None
        and is_template(counted.get(key.line_id, 0) + 1, site_n, key.words, key.quoted)
        for key in keys
    ]
    crossed: list[int] = []
    for key in distinct.values():
        n = counted.get(key.line_id, 0)
        now = is_template(n + 1, site_n, key.words, key.quoted)
        if not in_site and now and not is_template(n, site_n, key.words, key.quoted):
            crossed.append(key.line_id)
    text = _without_dropped(lines, dropped)
    removed: list[tuple[int, str, int]] = []
    cleaned = article
    if text is not None:
        cleaned = replace(article, text=text, hash=content_hash(text))
        removed = [
            (position, line, key.line_id)
            for position, (line, key, drop) in enumerate(zip(lines, keys, dropped, strict=True))
            if drop and key is not None
        ]
    site_crossed = not in_site and before < MIN_SITE_ARTICLES <= site_n
    return TemplateClean(
        cleaned,
        site,
        source,
        list(distinct.values()),
        removed,
        known,
        crossed,
        site_crossed,
        source_hash,
    )


def remember(store: Store, result: TemplateClean, *, is_new: bool) -> None:
    """Record the article's candidate lines and its explanation (call in the transaction
    that stored the article)."""
    article = result.article
    if result.site is not None:
        store.remember_lines(
            article.hash,
            result.site,
            [(k.line_id, k.words, k.quoted) for k in result.lines],
            replace=is_new,
        )
        store.add_source(result.source_hash, article.hash)
    if is_new or not store.removed_lines(article.hash):
        store.set_removed_lines(article.hash, _explanation(article, result))


def _explanation(
    article: Article, result: TemplateClean
) -> list[tuple[int | None, str, str, int | None]]:
    rows: list[tuple[int | None, str, str, int | None]] = [
        (None, line.text, line.rule, None) for line in article.removed
    ]
    rule = f"{TEMPLATE_RULE_PREFIX}{result.site}"
    rows += [(position, line, rule, line_id) for position, line, line_id in result.removed]
    return rows


def source_text(store: Store, article_hash: str, text: str) -> str:
    """Rebuild an article's source text: its stored text with the template lines put back."""
    return _rebuild_source(text, store.removed_lines(article_hash))


def _rebuild_source(text: str, removed: list[dict[str, Any]]) -> str:
    lines = text.split("\n") if text else []
    rows = [
        row
        for row in removed
        if row["position"] is not None and row["rule"].startswith(TEMPLATE_RULE_PREFIX)
    ]
    for row in sorted(rows, key=lambda r: r["position"]):
        lines.insert(min(row["position"], len(lines)), row["line"])
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Move:
    """An article whose text changed: old hash, new hash, whether it merged into another."""

    old: str
    new: str
    merged: bool


def apply(
    store: Store,
    article_hash: str,
    source: Article,
    *,
    run_id: int | None,
    reason: str,
    stored_text: str | None = None,
    lines_known: bool = False,
    line_keys: Mapping[str, LineKey | None] | None = None,
    sketch: Sketch | None = None,
) -> Move | None:
    """Clean the stored article ``article_hash`` from ``source`` (its source text and
    metadata), update its lines and explanation, and move it if its text changed. Call
    inside a transaction.

    ``stored_text`` is the article's text now, when the caller has it. ``lines_known`` says
    that ``source`` is the source the store already holds for the article (a re-clean):
    its candidate lines and its source hash are then recorded already, and when the text
    does not change neither does its explanation, so nothing is written. ``line_keys``
    and ``sketch`` (of the text it may become) are work done ahead, in a worker
    (:func:`prepare_reclean`); a sketch of another text is ignored."""
    result = clean_article(store, source, current=article_hash, line_keys=line_keys)
    if stored_text is None:
        row = store.db.execute("select text from articles where hash = ?", [article_hash])
        stored_text = row.fetchone()[0]
    new_text = result.article.text
    if lines_known and new_text == stored_text:
        return None
    site = result.site
    if site is not None and not lines_known:
        store.remember_lines(
            article_hash, site, [(k.line_id, k.words, k.quoted) for k in result.lines], replace=True
        )
        store.add_source(content_hash(result.source), article_hash)
    store.set_removed_lines(article_hash, _explanation(source, result))
    if new_text == stored_text:
        return None
    new_hash, merged = store.move_article(
        article_hash, new_text, run_id=run_id, reason=reason, sketch=sketch
    )
    return Move(article_hash, new_hash, merged)


def stored_source(store: Store, article_hash: str) -> tuple[Article, str] | None:
    """A stored article's source (its text before template removal, rebuilt from the
    store, with its URL, site and rule removals) and its text now; None: no such article.
    The source's ``hash`` is the stored article's, not its own text's."""
    from newsmill.models import Article, RemovedLine

    row = store.db.execute(
        "select text, url, site from articles where hash = ?", [article_hash]
    ).fetchone()
    if row is None:
        return None
    text, url, site = row
    removed = store.removed_lines(article_hash)
    rule_removed = tuple(
        RemovedLine(r["line"], r["rule"])
        for r in removed
        if not r["rule"].startswith(TEMPLATE_RULE_PREFIX)
    )
    source = Article(
        text=_rebuild_source(text, removed),
        hash=article_hash,
        url=url,
        site=site,
        removed=rule_removed,
    )
    return source, text


@dataclass(frozen=True, slots=True)
class PreparedReclean:
    """Work a worker process does ahead of a re-clean (:func:`prepare_reclean`)."""

    line_keys: dict[str, LineKey | None]
    text: str  # the text the article is expected to become
    sketch_keys: list[int]  # its near-duplicate band keys
    shingle_count: int

    def sketch(self) -> Sketch:
        return Sketch.from_keys(self.text, self.sketch_keys, self.shingle_count)


def prepare_reclean(source: Article, template_hint: bytes) -> PreparedReclean:
    """Key ``source``'s lines and sketch the text it becomes without the lines listed in
    ``template_hint`` (:func:`pack_line_ids`): pure CPU work, for a worker process."""
    keys = line_keys_of(source)
    text = without_lines(source.text, keys, template_hint)
    sketch = Sketch.of(text)
    return PreparedReclean(keys, text, sketch.keys, sketch.shingle_count)


def reclean(
    store: Store,
    article_hash: str,
    *,
    run_id: int | None,
    reason: str,
    prepared: PreparedReclean | None = None,
) -> Move | None:
    """Clean a stored article again with the site's current template knowledge (no
    re-extraction: its source text is rebuilt from the store). ``prepared``: line keys
    and a sketch computed ahead (only used where they fit). None when the text stays, or
    when there is no such article (merged away by an earlier move of a batch)."""
    found = stored_source(store, article_hash)
    if found is None:
        return None
    source, text = found
    return apply(
        store,
        article_hash,
        source,
        run_id=run_id,
        reason=reason,
        stored_text=text,
        lines_known=True,
        line_keys=prepared.line_keys if prepared else None,
        sketch=prepared.sketch() if prepared else None,
    )


def backfill(
    store: Store, result: TemplateClean, *, run_id: int | None, defer: bool = False
) -> list[Move]:
    """After storing an article that made lines template (or made its site old enough),
    clean the site's other stored articles holding them again, now or (``defer``) later.

    Call it inside the transaction that stored the article (:func:`newsmill.pipeline.record`
    does): the crossing is seen only once, so a crash between the two would leave those
    articles uncleaned. Each article is a savepoint of its own within it.

    ``defer`` puts the articles in the template backlog instead, which
    :func:`drain_backlog` empties (as they have waited a few seconds, :func:`drain_waiting`,
    and whatever is left when a crawl or an ingest ends). A site's first
    pages cross one line after another (a 3-article line, then a 5-article one, ...), and
    cleaning an early article again at each crossing moves it each time: through the
    backlog it is cleaned once, with everything learned by then.
    """
    if result.site is None or not (result.crossed or result.site_crossed):
        return []
    if result.site_crossed:
        hashes = store.site_hashes(result.site)
    else:
        hashes = store.articles_holding(result.site, result.crossed)
    hashes = [h for h in hashes if h != result.article.hash]
    if defer:
        store.queue_reclean(result.site, hashes)
        return []
    moves: list[Move] = []
    for article_hash in hashes:
        with store.transaction():
            move = reclean(store, article_hash, run_id=run_id, reason="template-learned")
        if move is not None:
            moves.append(move)
            logger.info("template: %s -> %s (%s)", move.old[:12], move.new[:12], result.site)
    return moves


# The template backlog during a crawl or an ingest. An article waits there this long
# before it is cleaned again, so the lines its site learns one after another in the meantime
# (a new site's first pages cross a 3-article line, then a 5-article one, ...) cost it one
# move, not one each; then it is cleaned after one of the next pages, while the workers
# extract, instead of at the end of the run when they sit idle. Replaying the queue times of
# a crawl of bench/crawl.py's site (one host, 181 templates) for a wait of 4/6/8/10/15 s or
# "until the end" gives 839/725/675/656/630/627 moves, of which 128/147/170/240/512/627 at
# the end; counting a move at the end as twice the time of one during the crawl, 6-10 s
# cost the least. Measured at 10 s: 642 moves, the end-of-crawl drain 0.7 s instead of
# 2.3 s, the crawl 23.1 s instead of 23.6 s. Whatever still waits at the end is cleaned then.
BACKLOG_WAIT_SECONDS = 10.0
# At most this many backlog articles are cleaned after each page (each takes a few ms).
DRAIN_PER_PAGE = 4


# Backlog articles prepared ahead by the workers during a drain. Each result holds the
# article's line keys and sketch (tens of KB): preparing a whole batch of 1,000 at once
# raised an ingest's peak memory by ~40 MB at its end (6,000 records, 891 queued).
PREPARE_AHEAD = 32


def _nothing() -> PreparedReclean | None:
    return None


def drain_backlog(
    store: Store,
    *,
    run_id: int | None,
    write: Callable[[], AbstractContextManager[object]] | None = None,
    prepare: Callable[[Article], Callable[[], PreparedReclean | None]] | None = None,
    queued_by: str | None = None,
    limit: int | None = None,
) -> list[Move]:
    """Clean the articles in the template backlog again, oldest first, and take them out
    of it: all of them, or (``queued_by``, an ISO time) those queued by then, at most
    ``limit`` of them.

    Each article is one ``write()`` (default: :meth:`Store.transaction`), its backlog row
    deleted with its re-clean, so a kill part-way leaves the rest queued for the next run.
    ``prepare`` starts :func:`prepare_reclean` for a source elsewhere (a crawl's worker
    pool) and returns a function that waits for the result (None if it failed): the
    workers key lines and sketch texts while this process writes.
    """
    write = write or store.transaction
    moves: list[Move] = []
    left = limit
    while left is None or left > 0:
        batch = store.backlog(limit=min(left or 1000, 1000), queued_by=queued_by)
        if not batch:
            break
        if left is not None:
            left -= len(batch)
        ahead: dict[str, Callable[[], PreparedReclean | None]] = {}
        upcoming = iter(batch)
        for article_hash in batch:
            # the workers prepare the next PREPARE_AHEAD articles while this one is written
            while prepare is not None and len(ahead) < PREPARE_AHEAD:
                following = next(upcoming, None)
                if following is None:
                    break
                found = stored_source(store, following)
                ahead[following] = prepare(found[0]) if found is not None else _nothing
            wait = ahead.pop(article_hash, None)
            with write():
                store.unqueue(article_hash)
                move = reclean(
                    store,
                    article_hash,
                    run_id=run_id,
                    reason="template-learned",
                    prepared=wait() if wait else None,
                )
            if move is not None:
                moves.append(move)
                logger.info("template: %s -> %s", move.old[:12], move.new[:12])
    return moves


def drain_waiting(
    store: Store,
    *,
    run_id: int | None,
    write: Callable[[], AbstractContextManager[object]] | None = None,
    now: dt.datetime | None = None,
) -> list[Move]:
    """After a page: clean again at most :data:`DRAIN_PER_PAGE` backlog articles that have
    waited :data:`BACKLOG_WAIT_SECONDS` (in the writing process, while the workers extract)."""
    by = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(seconds=BACKLOG_WAIT_SECONDS)
    return drain_backlog(
        store,
        run_id=run_id,
        write=write,
        queued_by=by.isoformat(timespec="seconds"),
        limit=DRAIN_PER_PAGE,
    )


def settle_queued_source(store: Store, source: Article, *, run_id: int | None) -> None:
    """Clean the stored article with the source text of ``source`` (a new page's article)
    again now if it waits in the backlog, so the page is compared with what that article
    will become: a duplicate, as it would be had the article been cleaned when its site
    learned the line."""
    known = store.queued_for_source(source.hash)
    if known is None:
        return
    store.unqueue(known)
    reclean(store, known, run_id=run_id, reason="template-learned")


def settle_site(store: Store, site: str, *, run_id: int | None, reason: str) -> list[Move]:
    """Clean every article of ``site`` again until nothing changes (merges can lower a
    line's count, so one pass is not always enough). Returns the moves."""
    moves: list[Move] = []
    for _ in range(5):
        changed = False
        for article_hash in store.site_hashes(site):
            with store.transaction():
                move = reclean(store, article_hash, run_id=run_id, reason=reason)
            if move is not None:
                moves.append(move)
                changed = True
        if not changed:
            break
    return moves


def site_templates(store: Store, site: str) -> list[dict[str, Any]]:
    """The lines ``site`` has learned as template, most frequent first."""
    site_n = store.site_article_count(site)
    rows = store.db.query(
        "select line_id, count(*) as articles, max(words) as words, max(quoted) as quoted "
        "from site_lines where site = ? group by line_id having count(*) >= ? "
        "order by articles desc",
        [site, MIN_ARTICLES],
    )
    learned = []
    for row in rows:
        if not is_template(row["articles"], site_n, row["words"], bool(row["quoted"])):
            continue
        sample = store.db.execute(
            "select line from removed_lines where line_id = ? limit 1", [row["line_id"]]
        ).fetchone()
        learned.append(
            {
                "line": sample[0] if sample else None,
                "articles": row["articles"],
                "required": required_articles(row["words"], bool(row["quoted"])),
            }
        )
    return learned


def explain(store: Store, key: str) -> dict[str, Any] | None:
    """Why an article's text is what it is: the lines removed and by which rule or learned
    template, and where the article went if its hash moved. None when ``key`` names nothing.
    """
    article = store.find_article_by_key(key)
    moved: list[dict[str, Any]] = []
    if article is None:
        old = key.strip().lower()
        moved = store.moved_to(old) if old else []
        if not moved and len(old) >= 6:
            row = store.db.execute(
                "select old_hash from article_moves where old_hash >= ? and old_hash < ? limit 1",
                [old, old + "g"],
            ).fetchone()
            if row:
                old = row[0]
                moved = store.moved_to(old)
        if not moved:
            return None
        article = store.find_article(moved[-1]["new_hash"])
        if article is None:
            return None
        moved_from = old
    else:
        moved_from = None
    article_hash = article["hash"]
    removed = store.removed_lines(article_hash)
    site = store.article_site(article_hash)
    return {
        "hash": article_hash,
        "url": article["url"],
        "title": article["title"],
        "site": site,
        "site_articles": store.site_article_count(site) if site else 0,
        "moved_from": moved_from,
        "moves": moved,
        "came_from": [
            dict(r)
            for r in store.db.query(
                "select old_hash, run_id, at, reason, merged from article_moves "
                "where new_hash = ? order by id",
                [article_hash],
            )
        ],
        "removed": [
            {"position": r["position"], "line": r["line"], "rule": r["rule"]} for r in removed
        ],
    }


class TemplateHints:
    """Per site, the template line ids seen removed from its pages, for the workers.

    The text the store keeps is the extracted text without the site's template lines, which
    only the writing process knows. Sent along with each page (:attr:`Document.template_hint`),
    they let the worker sketch that text for the near-duplicate index, instead of the writing
    process sketching it again after the worker sketched the extracted text.
    """

    # Sent with every page, 8 bytes a line. A site whose "most read" headlines change daily
    # keeps learning new template lines: past this many the hint starts over from the lines
    # seen next, which are the ones its current pages hold.
    MAX_LINES_PER_SITE = 8_192

    def __init__(self) -> None:
        self._lines: dict[str, set[int]] = {}
        self._packed: dict[str, bytes] = {}

    def packed(self, site: str | None) -> bytes:
        if site is None:
            return b""
        packed = self._packed.get(site)
        if packed is None:
            packed = self._packed[site] = pack_line_ids(self._lines.get(site, ()))
        return packed

    def learn(self, site: str | None, line_ids: Iterable[int]) -> None:
        if site is None:
            return
        known = self._lines.setdefault(site, set())
        new = set(line_ids) - known
        if not new:
            return
        if len(known) + len(new) > self.MAX_LINES_PER_SITE:
            known.clear()
        known |= new
        self._packed.pop(site, None)


class WaitingBacklog:
    """Cleans backlog articles that have waited :data:`BACKLOG_WAIT_SECONDS` as a run goes,
    at most :data:`DRAIN_PER_PAGE` after each page, like :func:`drain_waiting`, with their
    line keys and sketches prepared in the workers (``start``) without waiting for them: an
    article whose preparation is not back yet waits for a later page. (Waiting would stall
    the writing process behind every page in flight; preparing nothing leaves it all that
    work.) An ingest's writer uses it: its end-of-run drain left the workers idle.
    """

    def __init__(
        self,
        store: Store,
        *,
        run_id: int | None,
        write: Callable[[], AbstractContextManager[object]],
        start: Callable[[Article], concurrent.futures.Future[PreparedReclean] | None],
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.write = write
        self.start = start
        self.started: dict[str, concurrent.futures.Future[PreparedReclean] | None] = {}

    def after_page(self, now: dt.datetime | None = None) -> list[Move]:
        by = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(seconds=BACKLOG_WAIT_SECONDS)
        due = self.store.backlog(limit=PREPARE_WAITING, queued_by=by.isoformat(timespec="seconds"))
        if len(self.started) > 2 * PREPARE_WAITING:  # articles moved or cleaned since
            self.started = {h: f for h, f in self.started.items() if h in due}
        for article_hash in due:
            if article_hash not in self.started:
                found = stored_source(self.store, article_hash)
                self.started[article_hash] = self.start(found[0]) if found else None
        moves: list[Move] = []
        cleaned = 0
        for article_hash in due:
            future = self.started.get(article_hash)
            if future is not None and not future.done():
                continue
            self.started.pop(article_hash, None)
            with self.write():
                self.store.unqueue(article_hash)
                move = reclean(
                    self.store,
                    article_hash,
                    run_id=self.run_id,
                    reason="template-learned",
                    prepared=_prepared(future),
                )
            if move is not None:
                moves.append(move)
            cleaned += 1
            if cleaned == DRAIN_PER_PAGE:
                break
        return moves


# Due backlog articles whose preparation a WaitingBacklog starts ahead.
PREPARE_WAITING = 16


def _prepared(
    future: concurrent.futures.Future[PreparedReclean] | None,
) -> PreparedReclean | None:
    if future is None:
        return None
    try:
        return future.result()
    except Exception as exc:  # the re-clean then does the work itself
        logger.debug("preparing a re-clean failed: %r", exc)
        return None


def start_prepare_reclean(
    pool: concurrent.futures.Executor, hints: TemplateHints, source: Article
) -> concurrent.futures.Future[PreparedReclean] | None:
    """:func:`prepare_reclean` of ``source`` started in ``pool``; None if it can't be."""
    try:
        return pool.submit(prepare_reclean, source, hints.packed(site_key(source.url, source.site)))
    except (RuntimeError, BrokenProcessPool):
        return None


def prepare_reclean_in(
    pool: concurrent.futures.Executor, hints: TemplateHints, source: Article
) -> Callable[[], PreparedReclean | None]:
    """Start :func:`prepare_reclean` of ``source`` in ``pool`` (a crawl's or an ingest's
    extraction workers), with its site's template lines as ``hints`` knows them; return a
    function that waits for the result, None if it failed (the re-clean then does this
    work itself)."""
    hint = hints.packed(site_key(source.url, source.site))
    try:
        future = pool.submit(prepare_reclean, source, hint)
    except (RuntimeError, BrokenProcessPool):
        return lambda: None

    def result() -> PreparedReclean | None:
        try:
            return future.result()
        except Exception as exc:
            logger.debug("preparing a re-clean failed: %r", exc)
            return None

    return result
