"""Downloader middlewares: refuse unsafe addresses, honour Retry-After, read robots.txt
failures as RFC 9309 says."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import socket
from collections import Counter
from time import monotonic
from typing import TYPE_CHECKING, Any

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware as ScrapyMetaRefresh
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.downloadermiddlewares.robotstxt import (
    RobotsTxtMiddleware as ScrapyRobotsTxtMiddleware,
)
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from newsmill.urls import AddressPolicy, host_of

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)


class RefusedRequest(IgnoreRequest):
    """A request newsmill will not send; ``reason`` is the ledger slug."""

    def __init__(self, reason: str, url: str, detail: str = "") -> None:
        super().__init__(f"refused ({reason}): {url}")
        self.reason = reason
        self.detail = detail


def address_policy(crawler: Crawler) -> AddressPolicy:
    """The crawler's one :class:`AddressPolicy`, shared by the middlewares and the spider."""
    policy: AddressPolicy | None = getattr(crawler, "newsmill_address_policy", None)
    if policy is None:
        policy = AddressPolicy()
        policy.allow_hosts(crawler.settings.getlist("NEWSMILL_ALLOWED_HOSTS"))
        crawler.newsmill_address_policy = policy  # type: ignore[attr-defined]
    return policy


class SafeAddressMiddleware:
    """Refuse requests to loopback, private, link-local and reserved addresses.

    As a downloader middleware it checks every request, redirects included, before any
    connection is made, resolving host names (without blocking the reactor) and refusing a
    name if any of its addresses is not public. As a spider middleware it learns the hosts of
    the spider's start requests: those hosts are the user's choice and always allowed, as are
    the hosts in ``NEWSMILL_ALLOWED_HOSTS``.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.policy = address_policy(crawler)
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SafeAddressMiddleware:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for item_or_request in start:
            url = getattr(item_or_request, "url", None)
            if url and not getattr(item_or_request, "meta", {}).get("newsmill_role"):
                # a foreign spider's start request; ours say which hosts are allowed
                self.policy.allow_hosts([host_of(url)])
            yield item_or_request

    async def process_request(self, request: Request) -> None:
        reason = self.policy.quick_check(request.url)
        if reason is None:
            host = self.policy.needs_lookup(request.url)
            if host is not None:
                addresses = await _resolve(host)
                reason = self.policy.check_resolved(host, addresses)
            else:
                reason = self.policy.cached(request.url)
        if reason is not None:
            if self.stats:
                self.stats.inc_value(f"newsmill/refused/{reason}")
            logger.info("refused %s: %s", reason, request.url)
            raise RefusedRequest(reason, request.url)


async def _resolve(host: str) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


def parse_retry_after(value: str | bytes | None, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


class RetryAfterMiddleware:
    """Honour ``Retry-After`` on 429 and 503 responses, and give up on a site that keeps
    answering them.

    The site's download slot is slowed to the requested delay (so every request to that
    site waits, not just the retried one) and the request is retried within the usual
    ``RETRY_TIMES`` budget. A wait longer than ``NEWSMILL_RETRY_AFTER_MAX`` seconds gives
    up at once: the page is retried on a later run. Sits just before Scrapy's
    RetryMiddleware, which would otherwise retry immediately.

    After ``NEWSMILL_RATE_LIMIT_GIVE_UP`` 429/503 answers in a row from one site (its
    download slot), newsmill stops asking it for the rest of the run: the requests waiting
    for that site, and any new ones, are refused as ``rate-limited``. Otherwise a site that
    answers every request with 429 and ``Retry-After: 60`` would hold a crawl of 500 pages
    for a day.
    """

    STATUSES = (429, 503)

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("NEWSMILL_RETRY_AFTER_MAX", 120.0)
        self.give_up_after = crawler.settings.getint("NEWSMILL_RATE_LIMIT_GIVE_UP", 8)
        self._slowed: dict[str, float] = {}
        self._in_a_row = Counter[str]()
        self._given_up: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if not self._given_up:
            return
        why = self._given_up.get(self._slot_key(request))
        if why is not None:
            raise RefusedRequest("rate-limited", request.url, why)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        slot_key = request.meta.get("download_slot")
        if response.status not in self.STATUSES:
            self._in_a_row.pop(slot_key, None)
            if slot_key in self._slowed and 200 <= response.status < 300:
                slot = self._slot(slot_key)
                old = self._slowed.pop(slot_key)
                if slot is not None:
                    slot.delay = old
            return response
        if slot_key is not None and self.give_up_after > 0:
            self._in_a_row[slot_key] += 1
            if slot_key in self._given_up or self._in_a_row[slot_key] >= self.give_up_after:
                self._give_up(slot_key, response.status)
                request.meta["dont_retry"] = True
                return response
        wait = parse_retry_after(response.headers.get("Retry-After"))
        if wait is None or request.meta.get("dont_retry"):
            return response
        if wait > self.max_wait:
            logger.info("Retry-After %.0fs > %.0fs, giving up %s", wait, self.max_wait, request)
            request.meta["dont_retry"] = True
            return response
        spider = self.crawler.spider
        assert spider is not None
        retry = get_retry_request(request, spider=spider, reason=f"retry-after-{response.status}")
        if retry is None:
            request.meta["dont_retry"] = True
            return response
        if slot_key is not None:
            old = self._set_slot_delay(slot_key, wait)
            if old is not None:
                self._slowed.setdefault(slot_key, old)
        if self.crawler.stats:
            self.crawler.stats.inc_value("newsmill/retry_after")
        logger.info("%s asks to wait %.1fs (Retry-After): %s", host_of(request.url), wait, request)
        return retry

    def _give_up(self, key: str, status: int) -> None:
        """Refuse every request to the site for the rest of the run, queued ones included."""
        if key in self._given_up:
            return
        why = f"{self._in_a_row[key]} answers of 429 or 503 in a row (the last: {status})"
        self._given_up[key] = why
        logger.warning("%s: %s; not asking it again this run", key, why)
        if self.crawler.stats:
            self.crawler.stats.inc_value("newsmill/rate_limited_sites")
        slot = self._slot(key)
        while slot is not None and slot.queue:
            queued, deferred = slot.queue.popleft()
            deferred.errback(Failure(RefusedRequest("rate-limited", queued.url, why)))

    def _slot_key(self, request: Request) -> str | None:
        key = request.meta.get("download_slot")
        engine = self.crawler.engine
        if key is None and engine is not None:
            key = engine.downloader.get_slot_key(request)
        return key

    def _slot(self, key: str) -> Any:
        engine = self.crawler.engine
        return engine.downloader.slots.get(key) if engine else None

    def _set_slot_delay(self, key: str, delay: float) -> float | None:
        slot = self._slot(key)
        if slot is None:
            return None
        old = slot.delay
        # The slot's delay gets a random jitter (±50% by default); scale it so the shortest
        # draw is still the wait asked for, and count it from now, not from the last send.
        slot.delay = delay / (1 - slot.jitter) if 0 < slot.jitter < 1 else delay
        slot.lastseen = max(slot.lastseen, monotonic())
        return old


DISALLOW_ALL = b"User-agent: *\nDisallow: /\n"


# Scrapy reads a meta refresh in the first 4096 characters of a page; in UTF-8 and in any
# single-byte charset that is at most this many bytes.
_META_REFRESH_BYTES = 4096 * 4


class MetaRefreshMiddleware(ScrapyMetaRefresh):
    """Scrapy's ``<meta http-equiv="refresh">`` redirects, without decoding every page.

    Scrapy's middleware decodes each whole HTML response (``response.text``) to look at its
    first 4096 characters: on a crawl of news pages that was the costliest downloader
    middleware. A page whose first bytes do not contain ``refresh`` cannot redirect and is
    passed on as it is; the rest (and pages in UTF-16 or UTF-32, whose bytes hold NULs) go
    through Scrapy's own code.
    """

    def process_response(self, request: Request, response: Response) -> Request | Response:
        head = response.body[:_META_REFRESH_BYTES]
        if b"\x00" not in head and b"refresh" not in head.lower():
            return response
        return super().process_response(request, response)


class RobotsTxtMiddleware(ScrapyRobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, reading a robots.txt that fails as RFC 9309 says.

    Scrapy parses whatever answers a robots.txt request (a 500 error page included) and
    takes a download error as "no robots.txt": both let every URL of the site through.
    RFC 9309 section 2.3.1.4: if robots.txt is unreachable because of a server or network
    error, the crawler MUST assume complete disallow. So a 5xx (after the usual retries), a
    429 (which Google also reads as a server error), a timeout or a refused connection
    disallow the whole site for the run; every request to it is refused with reason
    ``robots`` and a detail saying why. A 4xx (section 2.3.1.3: "unavailable") means no
    rules (Scrapy would parse the error page), as do too many redirects (section 2.3.1.2).
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self._unreachable: dict[str, str] = {}
        _quiet_scrapy_robots_errors()

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if response.status >= 500 or response.status == 429:
            self._stats.inc_value("robotstxt/response_count")
            self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
            self._disallow_all(netloc, f"robots.txt answered {response.status}")
            return
        if 400 <= response.status < 500:
            response = response.replace(body=b"")  # no rules, whatever the error page says
        await super()._parse_robots(response, netloc, request)

    def _robots_error(self, exc: Exception, netloc: str) -> None:
        if isinstance(exc, IgnoreRequest):
            super()._robots_error(exc, netloc)
            return
        self._stats.inc_value(f"robotstxt/exception_count/{type(exc)}")
        self._disallow_all(netloc, f"robots.txt unreachable ({type(exc).__name__}: {exc})")

    def _disallow_all(self, netloc: str, why: str) -> None:
        logger.warning("%s: assuming complete disallow for %s (RFC 9309)", why, netloc)
        self._unreachable[netloc] = why[:200]
        parser = build_from_crawler(self._parserimpl, self.crawler, DISALLOW_ALL)
        waiting = self._parsers[netloc]
        self._parsers[netloc] = parser
        if isinstance(waiting, Deferred):
            waiting.callback(parser)

    def process_request_2(self, rp: RobotParser | None, request: Request) -> None:
        why = self._unreachable.get(urlparse_cached(request).netloc)
        if why is not None:
            self._stats.inc_value("robotstxt/forbidden")
            raise RefusedRequest("robots", request.url, f"{why}: complete disallow (RFC 9309)")
        super().process_request_2(rp, request)


def _quiet_scrapy_robots_errors() -> None:
    """Scrapy logs a robots.txt download error at ERROR with a traceback; newsmill logs
    one warning line instead (a traceback per unreachable site makes cron send mail)."""
    scrapy_logger = logging.getLogger("scrapy.downloadermiddlewares.robotstxt")
    if not any(isinstance(f, _RobotsErrorFilter) for f in scrapy_logger.filters):
        scrapy_logger.addFilter(_RobotsErrorFilter())


class _RobotsErrorFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Error downloading")
