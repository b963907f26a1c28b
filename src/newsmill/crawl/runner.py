"""Run a crawl from Python or the CLI: lock, ledger row, Scrapy process, summary."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scrapy.crawler import AsyncCrawlerProcess

from newsmill import revisions
from newsmill.crawl.addon import DEFAULT_CONTACT, Addon
from newsmill.crawl.spiders import CrawlOptions, NewsSpider
from newsmill.crawl.state import CrawlRun
from newsmill.crawl.warc import WARC_ERROR_REASON, prepare_directory
from newsmill.crawl.workers import discard_early_pool, start_pool_early
from newsmill.lock import run_lock
from newsmill.sources import Source
from newsmill.store import Store, utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class CrawlConfig:
    """Everything ``newsmill crawl`` can be told. Defaults are the polite ones."""

    db_path: Path
    sources: tuple[Source, ...]
    depth: int = 1
    max_pages: int | None = None
    max_runtime: float | None = None  # seconds
    refresh: bool = False
    # Revisit stored articles first seen this many seconds ago or less (0: no revisits),
    # at most revisit_max URLs a run (newsmill.revisions).
    revisit: float = revisions.DEFAULT_REVISIT.total_seconds()
    revisit_max: int = revisions.DEFAULT_REVISIT_MAX
    delay: float = 1.0
    timeout: float = 30.0
    retries: int = 2
    max_size: int = 10 * 1024 * 1024
    contact: str = DEFAULT_CONTACT
    workers: int | None = None  # None: one per CPU
    concurrency_per_site: int = 2
    http_handler: str = "aiohttp"  # or "twisted" (Scrapy's default)
    warc_dir: Path | None = None  # write every response into WARC files here
    warc_max_size: int = 1024**3  # rotate WARC files at this size
    keep_teasers: bool = False  # store paywall teasers (flagged partial) instead of skipping
    languages: tuple[str, ...] = ()  # keep only articles in these languages (empty: all)
    extra_settings: dict[str, Any] = field(default_factory=dict)

    def args(self) -> dict[str, Any]:
        """What the runs ledger records as the run's arguments."""
        data = asdict(self)
        data["db_path"] = str(self.db_path)
        data["warc_dir"] = str(self.warc_dir) if self.warc_dir else None
        data["sources"] = [s.name for s in self.sources]
        return data


@dataclass
class CrawlSummary:
    run_id: int
    status: str
    seconds: float
    counts: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            **self.counts,
        }


# Scrapy's Twisted HTTP/1.1 handler, under the asyncio reactor, stalled new connections for
# up to a second at a time in our measurements (Scrapy 2.19, Twisted 26.10: 300 local
# pages took 18 s at 2 requests per site, 0.4 s with this handler). The aiohttp handler is
# the one Scrapy itself uses without a reactor; it keeps every feature we rely on
# (DOWNLOAD_MAXSIZE, timeouts, the headers_received signal, StopDownload). Scrapy still
# calls it experimental: ``--http-handler twisted`` goes back to Scrapy's default.
AIOHTTP_HANDLER = "scrapy.core.downloader.handlers._aiohttp.AiohttpDownloadHandler"
HTTP_HANDLERS = ("aiohttp", "twisted")


def _http_handlers(name: str) -> dict[str, str]:
    if name != "aiohttp":
        return {}
    try:
        found = importlib.util.find_spec(AIOHTTP_HANDLER.rsplit(".", 1)[0]) is not None
    except ModuleNotFoundError:
        found = False
    if not found:
        logger.warning("this Scrapy has no aiohttp download handler; using Twisted's")
        return {}
    # Said once here (and in docs/crawl.md) instead of twice per run on stderr, which
    # would make cron send mail every time.
    logging.getLogger("scrapy.core.downloader.handlers._base_streaming").addFilter(
        lambda record: "experimental" not in record.getMessage()
    )
    logger.info("HTTP download handler: Scrapy's AiohttpDownloadHandler (experimental)")
    return {"http": AIOHTTP_HANDLER, "https": AIOHTTP_HANDLER}


def scrapy_settings(config: CrawlConfig) -> dict[str, Any]:
    """The Scrapy settings of a crawl: the add-on's defaults, then what the user chose."""
    slots = {}
    for source in config.sources:
        if source.delay is not None:
            for host in source.hosts():
                slots[host] = {"delay": source.delay, "concurrency": config.concurrency_per_site}
    settings: dict[str, Any] = {
        "ADDONS": {Addon: 0},
        "NEWSMILL_DB": str(config.db_path),
        "NEWSMILL_CONTACT": config.contact,
        "DOWNLOAD_DELAY": config.delay,
        "AUTOTHROTTLE_ENABLED": config.delay > 0,
        "AUTOTHROTTLE_START_DELAY": max(config.delay, 1.0),
        "DOWNLOAD_SLOTS": slots,
        "DOWNLOAD_TIMEOUT": config.timeout,
        "DOWNLOAD_MAXSIZE": config.max_size,
        "DOWNLOAD_WARNSIZE": 0,
        "RETRY_TIMES": config.retries,
        "CONCURRENT_REQUESTS_PER_DOMAIN": config.concurrency_per_site,
        "CONCURRENT_REQUESTS": 32,
        # Scrapy starts CONCURRENT_ITEMS (default 100) tasks for the output of every
        # response and keeps them until its last item is processed. An article page yields
        # one item, which waits for an extraction worker; with downloads ahead of
        # extraction, ~1,700 small pages waited at once, 100 tasks each: the crawler grew
        # to 300 MB on 5,000 pages. Nothing is gained from more than a few.
        "CONCURRENT_ITEMS": 4,
        # Spread requests over sites instead of draining one site's queue first.
        "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.DownloaderAwarePriorityQueue",
        "COOKIES_ENABLED": False,
        "DOWNLOAD_HANDLERS": _http_handlers(config.http_handler),
        "TELNETCONSOLE_ENABLED": False,
        "LOGSTATS_INTERVAL": 60.0,
        "DNS_TIMEOUT": 15,
        "CLOSESPIDER_TIMEOUT": config.max_runtime or 0,
        "STATS_DUMP": False,
        # newsmill's CLI configures logging (stderr or --log-file); Scrapy logs through it.
        "LOG_INSTALL_ROOT_HANDLER": False,
    }
    if config.workers is not None:
        settings["NEWSMILL_WORKERS"] = config.workers
    if config.keep_teasers:
        settings["NEWSMILL_KEEP_TEASERS"] = True
    if config.languages:
        settings["NEWSMILL_LANGUAGES"] = ",".join(config.languages)
    if config.warc_dir is not None:
        settings["NEWSMILL_WARC_DIR"] = str(config.warc_dir)
        settings["NEWSMILL_WARC_MAX_SIZE"] = config.warc_max_size
        args = json.dumps(config.args(), default=str, sort_keys=True)
        settings["NEWSMILL_WARC_INFO"] = {"newsmill-arguments": args}
    settings.update(config.extra_settings)
    return settings


# Loggers that warn about every oversized response; those are in the runs ledger already.
_PER_PAGE_WARNINGS = (
    "scrapy.core.downloader.handlers.http11",
    "scrapy.core.downloader.handlers._base_streaming",
    "scrapy.downloadermiddlewares.httpcompression",
)


def _quiet_scrapy_loggers() -> None:
    """Scrapy's logging setup pins its loggers at DEBUG; follow the caller's level."""
    level = logging.getLogger().getEffectiveLevel()
    logging.getLogger("scrapy").setLevel(level)
    if level > logging.INFO:
        for name in _PER_PAGE_WARNINGS:
            logging.getLogger(name).setLevel(logging.ERROR)


def run_crawl(config: CrawlConfig) -> CrawlSummary:
    """Crawl ``config.sources`` into the database, holding its run lock.

    Raises :class:`~newsmill.errors.StoreLocked` at once when another crawl holds the lock,
    and :class:`~newsmill.crawl.warc.WarcError` when ``config.warc_dir`` can't be written.
    """
    if config.warc_dir is not None:
        prepare_directory(config.warc_dir)
    started = time.monotonic()
    with run_lock(config.db_path, started=utcnow()), Store.open(config.db_path) as store:
        run = CrawlRun.start(store, "crawl", config.args(), refresh=config.refresh)
        status = "failed"
        spider: NewsSpider | None = None
        start_pool_early(config.workers)
        try:
            process = AsyncCrawlerProcess(scrapy_settings(config))
            _quiet_scrapy_loggers()
            crawler = process.create_crawler(NewsSpider)
            process.crawl(
                crawler,
                sources=config.sources,
                run=run,
                options=CrawlOptions(
                    depth=config.depth,
                    max_pages=config.max_pages,
                    refresh=config.refresh,
                    max_size=config.max_size,
                    revisit=dt.timedelta(seconds=config.revisit),
                    revisit_max=config.revisit_max,
                ),
            )
            process.start()
            spider = crawler.spider  # type: ignore[assignment]
            status = _status(spider)
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            discard_early_pool()
            run.finish(status)
            for source in config.sources:
                store.finish_source(
                    source.name, run_id=run.run_id, started=run.started, success=status == "ok"
                )
    return CrawlSummary(run.run_id, status, time.monotonic() - started, run.summary())


def _status(spider: NewsSpider | None) -> str:
    """``ok``, ``partial`` (a page cap or the time limit stopped it), ``failed`` (the WARC
    archive could not be written) or ``interrupted``."""
    if spider is None:
        return "failed"
    reason = spider.newsmill_close_reason
    if reason == "finished":
        return "partial" if spider.truncated else "ok"
    if reason == "closespider_timeout":
        return "partial"
    if reason == WARC_ERROR_REASON:
        return "failed"
    return "interrupted"
