"""The ledger side of a crawl: counts, events and per-URL history (no Scrapy here).

One :class:`CrawlRun` is shared by the spider (fetch failures, skips, incremental checks)
and the pipeline (articles), so one ``runs`` row tells the whole story of a run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from newsmill.pipeline import Outcome
from newsmill.store import RunCounts, Store, utcnow
from newsmill.urls import normalize_url

logger = logging.getLogger(__name__)

# When to try again an article URL that gave no article. A missing page or one with no
# article text rarely changes, so it waits a week; a page that isn't HTML or is too big
# waits a month. A transient failure (timeout, 5xx, connection) waits one hour, doubling
# with each consecutive failure up to a day, so cron runs every 30 minutes don't hammer a
# broken page. ``--refresh`` ignores all of this.
RECHECK_AFTER = {
    "empty": dt.timedelta(days=7),
    "http-404": dt.timedelta(days=7),
    "http-410": dt.timedelta(days=30),
    "not-html": dt.timedelta(days=30),
    "too-large": dt.timedelta(days=30),
    "unsafe-address": dt.timedelta(days=30),  # a redirect to a refused address
    "redirect-loop": dt.timedelta(days=7),
    "too-many-redirects": dt.timedelta(days=7),
    # Pages that were not the article (newsmill.classify). A consent wall or paywall may be
    # lifted, a region block or an error page rarely is; a bot challenge is transient (the
    # doubling wait below). A page in a language not wanted waits as long as an error.
    "consent-wall": dt.timedelta(days=1),
    "paywall": dt.timedelta(days=7),
    "region-block": dt.timedelta(days=30),
    "soft-404": dt.timedelta(days=7),
    "not-an-article": dt.timedelta(days=7),
    "language": dt.timedelta(days=30),
}
TRANSIENT_FIRST = dt.timedelta(hours=1)
TRANSIENT_MAX = dt.timedelta(days=1)
# Reasons that are decided without a request; nothing to remember for them.
NOT_REMEMBERED = frozenset({"robots", "unsafe-address", "unsupported-scheme", "dns-error"})

# Extra counters on the runs row (columns added by migration m004_crawl).
# ``revisited`` (m011_revisions): stored article URLs fetched again (newsmill.revisions).
EXTRA_COUNTS = ("fetched", "not_modified", "robots_denied", "known", "revisited")


@dataclass
class CrawlRun:
    """A crawl's run row, its counts, and the incremental decisions that use the store."""

    store: Store
    run_id: int
    started: str
    refresh: bool = False
    counts: RunCounts = field(default_factory=RunCounts)
    extra: Counter[str] = field(default_factory=Counter)

    @classmethod
    def start(
        cls, store: Store, command: str, args: dict[str, Any], *, refresh: bool = False
    ) -> CrawlRun:
        run_id = store.start_run(command, args)
        return cls(store, run_id, store.run(run_id)["started"], refresh)

    # -- incremental decisions -------------------------------------------------------------

    def known_reason(self, url: str) -> str | None:
        """Why ``url`` need not be fetched this run ("stored", "backoff"), or None."""
        if self.refresh:
            return None
        if self.store.article_for_url(url):
            return "stored"
        row = self.store.crawl_url(url)
        if row and row["retry_after"] and row["retry_after"] > utcnow():
            return "backoff"
        return None

    # -- recording -------------------------------------------------------------------------

    def count(self, name: str, n: int = 1) -> None:
        self.extra[name] += n

    def after_record(self, outcome: Outcome, *, also_urls: Iterable[str] = ()) -> None:
        """Bookkeeping after :func:`newsmill.pipeline.record` stored a fetched page."""
        self.counts.add(outcome.outcome, outcome.reason)
        seen_at = utcnow()
        urls = {u for u in (normalize_url(x) for x in also_urls) if u} - {outcome.url}
        with self.store.transaction():
            for url in urls:
                if outcome.article_hash:
                    self.store.record_url(
                        url,
                        outcome.article_hash,
                        kind="redirect",
                        run_id=self.run_id,
                        seen_at=seen_at,
                    )
            for url in {*urls, outcome.url, outcome.input} - {None}:
                assert url is not None
                if outcome.outcome in ("new", "duplicate"):
                    self.store.clear_crawl_url(url)
                else:
                    self._remember(url, outcome.outcome, outcome.reason or outcome.outcome)

    def failure(
        self, url: str, *, outcome: str, reason: str, detail: str = "", remember: bool = False
    ) -> None:
        """An article URL that was not fetched, or fetched without a page to process.

        Refusals decided without a request are not remembered (they cost nothing to decide
        again) unless ``remember``: a redirect to a refused address took a request.
        """
        self.counts.add(outcome, reason)
        self._record_problem(
            url,
            outcome=outcome,
            reason=reason,
            detail=detail,
            remember=remember or reason not in NOT_REMEMBERED,
        )

    def hub_problem(
        self, url: str, *, kind: str, outcome: str, reason: str, detail: str = ""
    ) -> None:
        """A feed, sitemap, robots.txt or section page that failed or was refused.

        It is an event and a counter (``hub-failed:http-404``) but not an input: inputs
        are article pages.
        """
        key = f"hub-{outcome}:{reason}"
        self.counts.reasons[key] = self.counts.reasons.get(key, 0) + 1
        self._record_problem(
            url, outcome=outcome, reason=reason, detail=f"{kind}: {detail}" if detail else kind
        )

    def _record_problem(
        self, url: str, *, outcome: str, reason: str, detail: str, remember: bool = False
    ) -> None:
        """The event row of a URL that failed or was refused (and remember it, for a later
        run, when ``remember``); robots.txt refusals are also counted."""
        if reason == "robots":
            self.count("robots_denied")
        with self.store.transaction():
            self.store.record_event(
                self.run_id,
                input=url,
                url=url,
                outcome=outcome,
                reason=reason,
                detail=detail or None,
            )
            if remember:
                self._remember(url, outcome, reason)

    def _remember(self, url: str, outcome: str, reason: str) -> None:
        row = self.store.crawl_url(url)
        failures = (row["failures"] if row else 0) + 1
        wait = RECHECK_AFTER.get(reason) or RECHECK_AFTER.get(outcome)
        if wait is None:
            wait = min(TRANSIENT_FIRST * 2 ** (failures - 1), TRANSIENT_MAX)
        retry_after = (dt.datetime.now(dt.UTC) + wait).isoformat(timespec="seconds")
        self.store.set_crawl_url(
            url, outcome=outcome, reason=reason, retry_after=retry_after, run_id=self.run_id
        )

    def finish(self, status: str) -> None:
        self.store.finish_run(self.run_id, self.counts, status)
        self.store.set_run_crawl_counts(
            self.run_id, **{name: self.extra[name] for name in EXTRA_COUNTS}
        )

    def summary(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            **self.counts.as_dict(),
            **{name: self.extra[name] for name in EXTRA_COUNTS},
        }
