"""``newsmill reprocess``: clean stored articles again with the current rules and templates.

Each article is re-extracted from its stored raw page (or, for text inputs, its source text is
rebuilt from the store and cleaned again by the rules), then its site's learned template
lines are removed. When the text changes, so does the hash: the article moves to the new
hash, or merges into the article that already has it (:meth:`newsmill.store.Store.move_article`),
one transaction per article.

It runs in three passes, per site:

1. re-extract every article and record its lines, so that template counts reflect the new
   rules before anything is decided;
2. clean every article with those counts and move it;
3. settle the site: merges can lower a line's count, so clean again until nothing changes.

A second ``reprocess`` with the same rules therefore changes nothing.

:func:`reconsider_kept_out` (``reprocess --quarantined``) is the other direction: pages kept
out of the articles (quarantined as walls, error pages or listings, or skipped for their
language) are judged again from their stored raw page, under the current classifier and
the policy given (``--keep-teasers``, ``--languages``). A page that is an article now is
stored as a crawl would have stored it; the others stay out, with a new event each.

Ledger: the run is recorded as command ``reprocess`` with one event per article. Counts:
``new`` = the article got a new hash (reason ``rehashed``), ``duplicate`` = it merged into an
existing article (``merged``), ``empty`` = re-extraction found no article (the stored one is
kept as it was), ``failed``, ``skipped`` = nothing changed (``unchanged``).
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Any

from newsmill import templates
from newsmill.classify import WallWatch
from newsmill.clean import clean_lines
from newsmill.models import Article, RemovedLine
from newsmill.pipeline import Document, Policy, analyze, record
from newsmill.store import RunCounts, Store, utcnow

logger = logging.getLogger(__name__)


@dataclass
class ReprocessResult:
    run_id: int
    counts: RunCounts
    seconds: float
    moves: list[templates.Move] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "seconds": round(self.seconds, 3),
            "moves": len(self.moves),
            **self.counts.as_dict(),
        }


def select_articles(store: Store, site: str | None) -> list[dict[str, Any]]:
    """The articles to reprocess, oldest first: all, or those of ``site`` (a site key such as
    ``example.com`` or the site name stored with the article). An earlier revision of an
    updated article is history (its page is the latest revision's now): it stays as stored."""
    sql = (
        "select a.hash, a.url, a.site, a.text, s.site as site_key from articles a "
        "left join site_articles s on s.article_hash = a.hash "
        "where a.hash not in (select hash from superseded_revisions)"
    )
    params: list[str] = []
    if site:
        sql += " and (s.site = ? or a.site = ?)"
        params = [site.lower().removeprefix("www."), site]
    return list(store.db.query(sql + " order by a.first_seen, a.hash", params))


def reextract(store: Store, row: dict[str, Any]) -> tuple[Article | None, str | None]:
    """The article's source text and metadata under the current rules, or (None, reason)."""
    page = store.article_page(row["hash"], row["url"])
    if page is not None:
        url, body = page
        analysis = analyze(Document(body=body, input=url, url=url, kind="html"))
        if analysis.article is None:
            return None, analysis.reason
        return analysis.article, None
    source = templates.source_text(store, row["hash"], row["text"])
    previous = tuple(
        RemovedLine(r["line"], r["rule"])
        for r in store.removed_lines(row["hash"])
        if not r["rule"].startswith(templates.TEMPLATE_RULE_PREFIX)
    )
    cleaned = clean_lines(source, row["url"])
    if not cleaned.text.strip():
        return None, "only-boilerplate"
    # Lines the rules took out when the text was first stored are gone from the source; keep
    # their explanation.
    removed = previous + tuple(r for r in cleaned.removed if r not in previous)
    return Article(text=cleaned.text, hash="", url=row["url"], removed=removed), None


def reprocess(
    store: Store, *, site: str | None = None, args: dict[str, Any] | None = None
) -> ReprocessResult:
    """Reprocess the stored articles (all, or one site's) as one run."""
    started = time.monotonic()
    moves: list[templates.Move] = []
    with store.recorded_run("reprocess", args or {"site": site}) as (run_id, counts):
        rows = select_articles(store, site)
        by_site: dict[str | None, list[dict[str, Any]]] = {}
        for row in rows:
            key = row["site_key"] or templates.site_key(row["url"], row["site"])
            by_site.setdefault(key, []).append(row)
        for key, site_rows in by_site.items():
            moves += _reprocess_site(store, key, site_rows, run_id, counts)
        # Articles a crawl or an ingest left queued for a learned template line (one
        # stopped by SIGTERM): cleaned now, as the next crawl would.
        moves += templates.drain_backlog(store, run_id=run_id)
    return ReprocessResult(run_id, counts, time.monotonic() - started, moves)


def _reprocess_site(
    store: Store,
    site: str | None,
    rows: list[dict[str, Any]],
    run_id: int,
    counts: RunCounts,
) -> list[templates.Move]:
    sources: dict[str, Article] = {}
    outcome: dict[str, tuple[str, str | None]] = {}  # input hash -> (outcome, reason)
    # Pass 1: re-extract, record the new lines (counts first, decisions after).
    for row in rows:
        try:
            article, reason = reextract(store, row)
        except Exception as exc:  # one bad page must not stop the run
            logger.exception("reprocess failed for %s", row["hash"])
            outcome[row["hash"]] = ("failed", f"{type(exc).__name__}: {exc}")
            continue
        if article is None:
            outcome[row["hash"]] = ("empty", reason)
            continue
        article = Article(
            text=article.text,
            hash=row["hash"],
            title=article.title,
            author=article.author,
            published=article.published,
            site=article.site or row["site"],
            language=article.language,
            language_detected=article.language_detected,
            url=row["url"],
            extraction=article.extraction,
            removed=article.removed,
        )
        sources[row["hash"]] = article
        if site is not None:
            keys = [templates.line_key(line) for line in article.text.split("\n")]
            distinct = {k.line_id: k for k in keys if k is not None}
            with store.transaction():
                store.remember_lines(
                    row["hash"],
                    site,
                    [(k.line_id, k.words, k.quoted) for k in distinct.values()],
                    replace=True,
                )
    # Pass 2: clean with the settled counts, move what changed.
    current = {h: h for h in sources}  # input hash -> its hash now
    moves: list[templates.Move] = []
    for input_hash, source in sources.items():
        with store.transaction():
            if not store.has_article(input_hash):  # cannot happen: merges go forward only
                continue
            if page_fields := _metadata(source):
                store.update_article_fields(input_hash, page_fields)
            move = templates.apply(store, input_hash, source, run_id=run_id, reason="reprocess")
        if move is not None:
            moves.append(move)
    # Pass 3: settle (merges may have changed counts).
    if site is not None:
        moves += templates.settle_site(store, site, run_id=run_id, reason="reprocess")
    for move in moves:
        for input_hash, now in current.items():
            if now == move.old:
                current[input_hash] = move.new
    merged_into = {m.old for m in moves if m.merged}
    for row in rows:
        h = row["hash"]
        if h in outcome:
            result, reason = outcome[h]
        elif current.get(h, h) == h:
            result, reason = "skipped", "unchanged"
        elif any(old in merged_into for old in _chain(h, moves)):
            result, reason = "duplicate", "merged"
        else:
            result, reason = "new", "rehashed"
        counts.add(result, reason)
        final = current.get(h, h)
        with store.transaction():
            store.record_event(
                run_id,
                input=f"article:{h}",
                outcome=result,
                url=row["url"],
                reason=reason,
                detail=None if final == h else f"{h} -> {final}",
                article_hash=final if store.has_article(final) else h,
            )
    return moves


def _chain(start: str, moves: list[templates.Move]) -> list[str]:
    chain, now = [], start
    for move in moves:
        if move.old == now:
            chain.append(now)
            now = move.new
    return chain


def _metadata(article: Article) -> dict[str, Any]:
    fields = {
        name: getattr(article, name)
        for name in ("title", "author", "published", "language", "extraction")
        if getattr(article, name)
    }
    if article.language:
        fields["language_detected"] = int(article.language_detected)
    return fields


def reconsider_kept_out(
    store: Store,
    *,
    policy: Policy | None = None,
    site: str | None = None,
    args: dict[str, Any] | None = None,
) -> ReprocessResult:
    """Judge the pages kept out of the articles again (all, or those of ``site``), as one
    run: each is analysed from its stored raw page and recorded as its first fetch would
    be under ``policy``, so a page that passes now becomes an article (``new``, or a
    ``duplicate`` of one stored since), and one that does not is ``skipped`` again with
    its class."""
    started = time.monotonic()
    # These pages were kept out already: the crawl's warning about a site that is mostly
    # walls would only say so again.
    policy = replace(policy or Policy(), walls=WallWatch(min_pages=sys.maxsize))
    wanted = site.lower().removeprefix("www.") if site else None
    with store.recorded_run("reprocess", args or {"quarantined": True, "site": site}) as (
        run_id,
        counts,
    ):
        for row in store.kept_out_pages():
            if wanted and templates.site_key(row["url"]) != wanted:
                continue
            body = store.page_body(row["url"])
            if body is None:
                continue
            doc = Document(
                body=body,
                input=row["input"] or row["url"],
                url=row["url"],
                kind="html",
                content_type=row["content_type"],
                fetched_at=row["fetched_at"],
                etag=row["etag"],
                last_modified=row["last_modified"],
            )
            try:
                analysis = analyze(doc)
                outcome = record(
                    store,
                    doc,
                    analysis,
                    run_id=run_id,
                    seen_at=row["fetched_at"] or utcnow(),
                    policy=policy,
                )
            except Exception as exc:  # one bad page must not stop the run
                logger.exception("reprocess failed for %s", row["url"])
                with store.transaction():
                    store.record_event(
                        run_id,
                        input=doc.input,
                        url=row["url"],
                        outcome="failed",
                        reason="reprocess-error",
                        detail=f"{type(exc).__name__}: {exc}",
                    )
                counts.add("failed", "reprocess-error")
                continue
            counts.add(outcome.outcome, outcome.reason)
    return ReprocessResult(run_id, counts, time.monotonic() - started)
