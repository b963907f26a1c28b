"""The newsmill Scrapy add-on: ``ADDONS = {"newsmill.crawl.Addon": 0}`` in any project.

It enables :class:`~newsmill.crawl.NewsmillPipeline`, the address-safety and Retry-After
middlewares, WARC capture when ``NEWSMILL_WARC_DIR`` is set, and polite defaults. Every
value is set at ``"addon"`` priority, so a project's own ``settings.py`` (or ``-s`` on the
command line) still wins.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from scrapy.utils.misc import load_object

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

PIPELINE = "newsmill.crawl.pipelines.NewsmillPipeline"
SAFE_ADDRESS = "newsmill.crawl.middlewares.SafeAddressMiddleware"
RETRY_AFTER = "newsmill.crawl.middlewares.RetryAfterMiddleware"
ROBOTS = "newsmill.crawl.middlewares.RobotsTxtMiddleware"
SCRAPY_ROBOTS = "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"
META_REFRESH = "newsmill.crawl.middlewares.MetaRefreshMiddleware"
SCRAPY_META_REFRESH = "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware"
WARC = "newsmill.crawl.warc.WarcMiddleware"

DEFAULT_CONTACT = "https://pypi.org/project/newsmill/"

# Polite defaults. Scrapy's own are made for crawling one's own or a friendly site fast
# (8 requests per site at once, no robots.txt, a 1 GiB response limit, 3-minute timeouts).
POLITE_DEFAULTS: dict[str, Any] = {
    "ROBOTSTXT_OBEY": True,
    "ROBOTSTXT_USER_AGENT": "newsmill",
    "AUTOTHROTTLE_ENABLED": True,
    "AUTOTHROTTLE_START_DELAY": 1.0,
    "AUTOTHROTTLE_MAX_DELAY": 60.0,
    "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
    "DOWNLOAD_DELAY": 1.0,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
    # 10 MB after decompression: a news page is rarely over 2 MB; the limit also stops a
    # gzip bomb during decompression (Scrapy >= 2.17 applies it to decoded bodies).
    "DOWNLOAD_MAXSIZE": 10 * 1024 * 1024,
    "DOWNLOAD_WARNSIZE": 5 * 1024 * 1024,
    "DOWNLOAD_TIMEOUT": 30,
    "RETRY_TIMES": 2,
    "REDIRECT_MAX_TIMES": 5,
    # Failures are in the runs ledger; an ERROR line per 500 makes cron send mail.
    "RETRY_GIVE_UP_LOG_LEVEL": "INFO",
}


def newsmill_version() -> str:
    try:
        return version("newsmill")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "dev"


def user_agent(contact: str) -> str:
    return f"newsmill/{newsmill_version()} (+{contact})"


def _setdefault(settings: BaseSettings, name: str, component: str, position: int) -> None:
    """Add ``component`` to a component setting unless the user listed it already."""
    components = settings[name]
    target = load_object(component)
    for key in components:
        if key == component or (not isinstance(key, str) and key is target):
            return
        if isinstance(key, str) and key.startswith("newsmill.") and load_object(key) is target:
            return
    components[component] = position


class Addon:
    """Turn a Scrapy project into a newsmill crawler with one setting line."""

    def update_settings(self, settings: BaseSettings) -> None:
        _setdefault(settings, "ITEM_PIPELINES", PIPELINE, 500)
        # Before RobotsTxtMiddleware (100): refuse unsafe hosts before fetching their
        # robots.txt. RetryAfter sits after RetryMiddleware (550) so it sees responses first.
        _setdefault(settings, "DOWNLOADER_MIDDLEWARES", SAFE_ADDRESS, 50)
        _setdefault(settings, "DOWNLOADER_MIDDLEWARES", RETRY_AFTER, 560)
        # newsmill's robots.txt middleware replaces Scrapy's (RFC 9309 on errors), unless
        # the project configured Scrapy's own.
        downloader = settings["DOWNLOADER_MIDDLEWARES"]
        if SCRAPY_ROBOTS not in downloader:
            downloader[SCRAPY_ROBOTS] = None
            _setdefault(settings, "DOWNLOADER_MIDDLEWARES", ROBOTS, 100)
        # The same meta-refresh redirects as Scrapy's, without decoding every page to look.
        if SCRAPY_META_REFRESH not in downloader:
            downloader[SCRAPY_META_REFRESH] = None
            _setdefault(settings, "DOWNLOADER_MIDDLEWARES", META_REFRESH, 580)
        _setdefault(settings, "SPIDER_MIDDLEWARES", SAFE_ADDRESS, 50)
        # WARC capture, only when asked for. At 950, next to the download handler: it sees
        # every response as received, before decompression (590), redirects (600) and
        # retries (550) act on it.
        if settings.get("NEWSMILL_WARC_DIR"):
            _setdefault(settings, "DOWNLOADER_MIDDLEWARES", WARC, 950)
        for name, value in POLITE_DEFAULTS.items():
            settings.set(name, value, "addon")
        contact = settings.get("NEWSMILL_CONTACT") or DEFAULT_CONTACT
        settings.set("USER_AGENT", user_agent(contact), "addon")
