"""``NewsmillPipeline``: extract, clean, hash and store pages, in any Scrapy project.

Enable it with the add-on (``ADDONS = {"newsmill.crawl.Addon": 0}``) or by listing it in
``ITEM_PIPELINES``. Items of any type (dicts, dataclasses, ``scrapy.Item``) with a URL field
and an HTML field (``url`` and ``html`` unless configured) go through the same code as
``newsmill ingest``; other items pass through untouched.

Settings:

``NEWSMILL_ENABLED``      default True
``NEWSMILL_DB``           the SQLite file (default ``data/news.db``)
``NEWSMILL_WORKERS``      extraction processes (default: the number of CPUs; 0 extracts in
                          the crawling process, which stalls downloads while it works)
``NEWSMILL_MAX_IN_FLIGHT`` pages being extracted at once (default 4 per worker)
``NEWSMILL_URL_FIELD``    default ``url``
``NEWSMILL_HTML_FIELD``   default ``html``
``NEWSMILL_KEEP_TEASERS`` store paywall teasers, flagged partial (default False: skipped)
``NEWSMILL_LANGUAGES``    keep only articles in these languages, e.g. ``en,de`` (default all)

Extraction is CPU work and Scrapy runs one reactor thread, so the pipeline hands it to a
process pool and awaits the result: the crawl keeps downloading meanwhile. Writes stay in
the crawling process (a savepoint per page, committed in groups about a second apart).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import NotConfigured

from newsmill import templates
from newsmill.crawl.state import CrawlRun
from newsmill.crawl.workers import (
    IN_FLIGHT_PER_WORKER,
    close_pool,
    default_workers,
    discard_pool,
    make_pool,
    take_pool,
)
from newsmill.pipeline import (
    Analysis,
    Document,
    Policy,
    analyze,
    parse_languages,
    record,
)
from newsmill.store import DEFAULT_DB_PATH, CommitGroup, Store, utcnow
from newsmill.urls import normalize_url

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from newsmill.models import Article
    from newsmill.templates import PreparedReclean

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The template backlog is cleaned as it goes (newsmill.templates.drain_waiting), the rest
# at the end of the crawl.
BACKLOG_WAIT_SECONDS = templates.BACKLOG_WAIT_SECONDS
DRAIN_PER_PAGE = templates.DRAIN_PER_PAGE


class NewsmillPipeline:
    """Extract, clean, deduplicate and store pages. Configure with ``NEWSMILL_*`` settings."""

    def __init__(
        self,
        crawler: Crawler,
        *,
        db_path: Path,
        workers: int,
        max_in_flight: int,
        url_field: str = "url",
        html_field: str = "html",
        policy: Policy | None = None,
    ) -> None:
        self.crawler = crawler
        self.policy = policy or Policy()
        self.stats = crawler.stats
        self.db_path = db_path
        self.workers = workers
        self.max_in_flight = max_in_flight
        self.url_field = url_field
        self.html_field = html_field
        self.run: CrawlRun | None = None
        self._owns_run = False
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._slots: asyncio.Semaphore | None = None
        self._retry_lock = asyncio.Lock()
        self._group: CommitGroup | None = None
        self._hints = templates.TemplateHints()
        self._flush_timer: asyncio.TimerHandle | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NewsmillPipeline:
        settings = crawler.settings
        if not settings.getbool("NEWSMILL_ENABLED", True):
            raise NotConfigured("NEWSMILL_ENABLED is off")
        workers = settings.getint("NEWSMILL_WORKERS", -1)
        if workers < 0:
            workers = default_workers()
        pipeline = cls(
            crawler,
            db_path=Path(settings.get("NEWSMILL_DB") or DEFAULT_DB_PATH),
            workers=workers,
            max_in_flight=settings.getint(
                "NEWSMILL_MAX_IN_FLIGHT", max(1, workers) * IN_FLIGHT_PER_WORKER
            ),
            url_field=settings.get("NEWSMILL_URL_FIELD", "url"),
            html_field=settings.get("NEWSMILL_HTML_FIELD", "html"),
            policy=Policy(
                keep_teasers=settings.getbool("NEWSMILL_KEEP_TEASERS", False),
                languages=parse_languages(settings.get("NEWSMILL_LANGUAGES")),
            ),
        )
        crawler.signals.connect(pipeline._spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        spider = self.crawler.spider
        self.run = getattr(spider, "newsmill_run", None)
        if self.run is None:
            # A foreign spider: this pipeline keeps its own ledger row for the crawl.
            store = Store.open(self.db_path)
            self.run = CrawlRun.start(store, "scrapy", {"spider": getattr(spider, "name", None)})
            self._owns_run = True
        if self.workers:
            # Workers start now (or started with the crawl): they are ready by the time
            # robots.txt, feeds and sitemaps have been read.
            self._pool = take_pool(self.workers)
        self._slots = asyncio.Semaphore(self.max_in_flight)

    def close_spider(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.cancel()
        self._flush_commits()

    def _spider_closed(self, spider: Any, reason: str) -> None:
        """After :meth:`close_spider` (Scrapy tells pipelines the reason only here): clean
        the template backlog again, unless the crawl was told to stop (SIGTERM, Ctrl-C),
        where a prompt exit matters more: the backlog waits in the database for the next
        run. The workers help with the backlog, then stop."""
        try:
            if self.run is None or spider is not self.crawler.spider:
                return
            if reason == "shutdown":
                logger.info("the template backlog is left for the next run (%s)", reason)
            else:
                self._drain_backlog()
                self._flush_commits()
            if self._owns_run:
                self.run.finish("ok" if reason == "finished" else "interrupted")
                self.run.store.close()
            self.run = None
        finally:
            if self._pool is not None:
                close_pool(self._pool)
                self._pool = None

    def _drain_backlog(self) -> None:
        """Clean again the articles waiting in the template backlog, in commit groups."""
        assert self.run is not None
        moves = templates.drain_backlog(
            self.run.store,
            run_id=self.run.run_id,
            write=self._commits().write,
            prepare=self._prepare_reclean if self._pool is not None else None,
        )
        if moves:
            logger.info("template backlog: %d articles cleaned again", len(moves))

    def _drain_waiting(self) -> None:
        assert self.run is not None
        templates.drain_waiting(self.run.store, run_id=self.run.run_id, write=self._commits().write)

    def _prepare_reclean(self, source: Article) -> Callable[[], PreparedReclean | None]:
        """Have a worker key ``source``'s lines and sketch the text it is expected to
        become (its site's template lines as the workers know them,
        :class:`newsmill.templates.TemplateHints`)."""
        assert self._pool is not None
        return templates.prepare_reclean_in(self._pool, self._hints, source)

    async def process_item(self, item: Any) -> Any:
        adapter = ItemAdapter(item)
        url = adapter.get(self.url_field)
        html = adapter.get(self.html_field)
        if not url or html is None:
            return item  # not a page: someone else's item
        assert self.run is not None
        body = html.encode("utf-8") if isinstance(html, str) else bytes(html)
        page_url = normalize_url(url) or url
        site = templates.site_key(page_url)
        doc = Document(
            body=body,
            input=adapter.get("requested_url") or url,
            url=page_url,
            kind="html",
            content_type=adapter.get("content_type"),
            fetched_at=adapter.get("fetched_at") or utcnow(),
            etag=adapter.get("etag"),
            last_modified=adapter.get("last_modified"),
            template_hint=self._hints.packed(site),
            revisit=bool(adapter.get("revisit")),
        )
        analysis = await self._analyze(doc)  # its canonical URL checked there
        # A page and its bookkeeping are one savepoint; pages commit in groups (see
        # newsmill.store.GROUP_COMMIT_SECONDS), and a timer commits the last group.
        with self._commits().write():
            outcome = record(
                self.run.store,
                doc,
                analysis,
                run_id=self.run.run_id,
                seen_at=utcnow(),
                defer_backfill=True,
                policy=self.policy,
            )
            self.run.after_record(
                outcome, also_urls=[doc.input, *(adapter.get("redirect_urls") or [])]
            )
        self._drain_waiting()
        self._commit_later()
        self._hints.learn(site, outcome.template_lines)
        if self.stats:
            self.stats.inc_value(f"newsmill/{outcome.outcome}")
        logger.info(
            "%s %s%s", outcome.outcome, doc.url, f" ({outcome.reason})" if outcome.reason else ""
        )
        for name, value in (("article_hash", outcome.article_hash), ("outcome", outcome.outcome)):
            if name in adapter.field_names() or isinstance(item, dict):
                adapter[f"newsmill_{name}" if isinstance(item, dict) else name] = value
        return item

    def _commits(self) -> CommitGroup:
        assert self.run is not None
        if self._group is None:
            self._group = self.run.store.commit_group()
        return self._group

    def _commit_later(self) -> None:
        """Make sure the open group is committed on time even if no page follows."""
        if self._group is None or not self._group.pending or self._flush_timer is not None:
            return
        loop = asyncio.get_running_loop()
        self._flush_timer = loop.call_later(self._group.seconds, self._flush_commits)

    def _flush_commits(self) -> None:
        self._flush_timer = None
        if self._group is not None:
            self._group.flush()

    async def _analyze(self, doc: Document) -> Analysis:
        if self._pool is None:
            return analyze(doc)
        try:
            return await self._in_pool(analyze, doc)
        except BrokenProcessPool:
            return Analysis(None, "worker-crashed", "the extraction process died")

    async def _in_pool(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._pool is not None and self._slots is not None
        async with self._slots:
            try:
                return await self._submit(fn, args)
            except BrokenProcessPool:
                pass
        # When one task kills its worker, every task in flight fails with it, and which one
        # did is not known. So each is tried once more, one at a time: a page that crashes
        # the worker again fails alone, and the pages that were only in flight with it get
        # through (only a second crash while in flight fails a page).
        async with self._retry_lock, self._slots:
            try:
                return await self._submit(fn, args)
            except BrokenProcessPool:
                logger.error("extraction worker died again on %s", _describe(args))
                raise

    async def _submit(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        """Run ``fn(*args)`` in the pool; replace the pool if a worker died meanwhile."""
        pool = self._pool
        assert pool is not None
        try:
            return await asyncio.wrap_future(pool.submit(fn, *args))
        except BrokenProcessPool:
            self._replace_broken_pool(pool)
            raise

    def _replace_broken_pool(self, pool: concurrent.futures.ProcessPoolExecutor) -> None:
        """A worker died (out of memory, a crash in a C library): replace the pool, once
        (every task that was in flight on it reports the same break)."""
        if self._pool is not pool:
            return
        logger.error("an extraction worker died; restarting the pool")
        discard_pool(pool)
        self._pool = make_pool(self.workers)


def _describe(args: tuple[Any, ...]) -> str:
    """What a pool task was about, for a log line (never a whole page)."""
    first = args[0] if args else None
    return str(getattr(first, "input", None) or getattr(first, "url", None) or type(first).__name__)
