"""``NewsSpider``: from start URLs, feeds and sitemaps to article pages. It only fetches.

Every response is classified from its bytes (:func:`newsmill.discovery.sniff`), whatever
the URL says. Feeds, sitemaps, robots.txt and site/section pages are *hubs*: they are
requested with ETag / If-Modified-Since, and a 304 re-reads the copy kept in the database
instead of downloading it. Article pages are yielded as :class:`PageItem` for the pipeline,
unless the URL's article is already stored, or it failed recently, or a sitemap says it has
not changed since the source's last complete run.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy import signals
from scrapy.exceptions import IgnoreRequest, StopDownload
from scrapy.spidermiddlewares.httperror import HttpError

from newsmill import revisions
from newsmill.crawl.items import PageItem
from newsmill.crawl.middlewares import RefusedRequest, address_policy
from newsmill.discovery import (
    USUAL_SITEMAP_PATHS,
    Link,
    TooLarge,
    UnsafeXML,
    maybe_gunzip,
    parse_feed,
    parse_html_links,
    parse_robots_sitemaps,
    parse_sitemap,
    sniff,
)
from newsmill.store import utcnow
from newsmill.urls import host_of, looks_like_article, normalize_url, same_site

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from twisted.python.failure import Failure

    from newsmill.crawl.state import CrawlRun
    from newsmill.sources import Source

logger = logging.getLogger(__name__)

# Content types an article page may have. A response of any other type is dropped once its
# first SNIFF_BYTES have arrived, unless they are HTML (or a feed or sitemap) after all: the
# bytes decide, not the header (an article served as application/octet-stream is stored, a
# video is not downloaded).
PAGE_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "")
SNIFF_BYTES = 4096

# The most links read from one feed or sitemap; the rest are skipped (and the skip is an
# event). A sitemap may hold 50,000 URLs (sitemaps.org); a feed holds the latest items, a
# few dozen, so a feed with thousands is a dump or a trap.
MAX_FEED_LINKS = 1000
MAX_SITEMAP_LINKS = 50_000

# How much older than a source's last complete run a sitemap lastmod must be to skip the
# entry. Sitemaps are often generated on a schedule or cached, so an entry can appear a
# while after its lastmod; the margin keeps such entries from being skipped for ever.
LASTMOD_MARGIN = dt.timedelta(hours=6)

HUB_PRIORITY = 10  # feeds and sitemaps before articles, so caps see the newest first
REVISIT_PRIORITY = -1  # new article pages before revisits of stored ones


@dataclass(frozen=True, slots=True)
class CrawlOptions:
    depth: int = 1
    max_pages: int | None = None
    refresh: bool = False
    max_size: int = 10 * 1024 * 1024
    revisit: dt.timedelta = revisions.DEFAULT_REVISIT  # zero: no revisits
    revisit_max: int = revisions.DEFAULT_REVISIT_MAX


class NewsSpider(scrapy.Spider):
    """Crawl news sources into :class:`PageItem` items (see the module docstring)."""

    name = "newsmill"

    def __init__(
        self,
        *,
        sources: Iterable[Source],
        run: CrawlRun,
        options: CrawlOptions | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sources = {s.name: s for s in sources}
        self.newsmill_run = run  # the pipeline records into this run
        self.options = options or CrawlOptions()
        self.newsmill_close_reason: str | None = None
        self.truncated = False
        self.scheduled: set[str] = set()
        self.hubs: set[str] = set()
        self.pages = Counter[str]()
        self.allowed_hosts = set().union(*(s.hosts() for s in self.sources.values()))
        self._last_success = {
            name: _parse_ts(run.store.source_last_success(name)) for name in self.sources
        }

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        address_policy(crawler).allow_hosts(spider.allowed_hosts)
        crawler.signals.connect(spider._headers_received, signal=signals.headers_received)
        crawler.signals.connect(spider._bytes_received, signal=signals.bytes_received)
        crawler.signals.connect(spider._response_received, signal=signals.response_received)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    @property
    def run(self) -> CrawlRun:
        return self.newsmill_run

    # -- start ---------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for request in self._revisits():
            yield request
        for source in self.sources.values():
            for url, role in (
                *((u, "start") for u in source.urls),
                *((u, "feed") for u in source.feeds),
                *((u, "sitemap") for u in source.sitemaps),
            ):
                request = self._hub_request(url, source, role, depth=0)
                if request is not None:
                    yield request

    # -- requests ------------------------------------------------------------------------

    def _revisits(self) -> list[scrapy.Request]:
        """Conditional requests for stored articles of these sources first seen within the
        revisit window, least recently checked first, at most ``revisit_max``."""
        window, limit = self.options.revisit, self.options.revisit_max
        if window <= dt.timedelta(0) or limit <= 0:
            return []
        requests = []
        for due in revisions.candidates(self.run.store, window, at=revisions.now()):
            source = self._source_for(due.url)
            if source is None or due.url in self.scheduled:
                continue
            if address_policy(self.crawler).quick_check(due.url) is not None:
                continue
            self.scheduled.add(due.url)
            headers = {} if self.run.refresh else conditional_headers(due.etag, due.last_modified)
            requests.append(
                scrapy.Request(
                    due.url,
                    callback=self.parse,
                    errback=self.on_error,
                    headers=headers,
                    priority=REVISIT_PRIORITY,
                    dont_filter=True,
                    meta={
                        "newsmill_role": "article",
                        "newsmill_url": due.url,
                        "newsmill_source": source.name,
                        "newsmill_depth": 99,  # links were followed the first time
                        "newsmill_revisit": due.article_hash,
                        "handle_httpstatus_list": [304],
                    },
                )
            )
            if len(requests) >= limit:
                break
        self.run.count("revisited", len(requests))
        return requests

    def _source_for(self, url: str) -> Source | None:
        host = host_of(url)
        for source in self.sources.values():
            if host in source.hosts() and source.wants(url):
                return source
        return None

    def _hub_request(
        self, url: str, source: Source, role: str, *, depth: int, probe: bool = False
    ) -> scrapy.Request | None:
        if url in self.hubs:
            return None
        self.hubs.add(url)
        reason = address_policy(self.crawler).quick_check(url)
        if reason is not None:
            self.run.hub_problem(url, kind=role, outcome="skipped", reason=reason)
            return None
        headers = {}
        state = None if self.run.refresh else self.run.store.resource(url)
        if state and state["body"] is not None:
            headers = conditional_headers(state["etag"], state["last_modified"])
        return scrapy.Request(
            url,
            callback=self.parse,
            errback=self.on_error,
            headers=headers,
            priority=HUB_PRIORITY,
            dont_filter=True,
            meta={
                "newsmill_role": role,
                "newsmill_url": url,
                "newsmill_source": source.name,
                "newsmill_depth": depth,
                "newsmill_probe": probe,
                "handle_httpstatus_list": [304],
            },
        )

    def _article_request(
        self, link: Link, source: Source, *, depth: int, from_hub: str
    ) -> scrapy.Request | None:
        url = link.url
        if url in self.scheduled or url in self.hubs:
            return None
        self.scheduled.add(url)
        if not source.wants(url):
            return None
        reason = address_policy(self.crawler).quick_check(url)
        if reason is not None:
            self.run.failure(
                url, outcome="skipped", reason=reason, detail=f"linked from {from_hub}"
            )
            return None
        known = self.run.known_reason(url)
        if known is None and self._unchanged(link, source):
            known = "lastmod"
        if known is not None:
            self.run.count("known")
            return None
        if self._page_cap_reached(source):
            self.truncated = True
            return None
        self.pages[source.name] += 1
        self.pages[""] += 1
        # --refresh fetches stored articles again: a changed text is a revision of its story
        revisit = self.run.refresh and self.run.store.article_for_url(url)
        return scrapy.Request(
            url,
            callback=self.parse,
            errback=self.on_error,
            # The spider deduplicates (self.scheduled). Scrapy's duplicate filter would also
            # drop a redirect back to a URL already requested (a redirect loop, or a link
            # that redirects to a page fetched already) silently: no errback, no ledger row.
            # Redirects inherit dont_filter; REDIRECT_MAX_TIMES bounds a loop.
            dont_filter=True,
            meta={
                "newsmill_role": "article",
                "newsmill_url": url,
                "newsmill_source": source.name,
                "newsmill_depth": depth,
                "newsmill_revisit": revisit or None,
            },
        )

    def _unchanged(self, link: Link, source: Source) -> bool:
        """A sitemap entry older than the source's last complete run (feeds don't count:
        their dates are publication dates, and a feed is small)."""
        since = self._last_success.get(source.name)
        if self.run.refresh or since is None or link.lastmod is None:
            return False
        return link.lastmod < since - LASTMOD_MARGIN

    def _page_cap_reached(self, source: Source) -> bool:
        caps = [
            (self.pages[""], self.options.max_pages),
            (self.pages[source.name], source.max_pages),
        ]
        return any(cap is not None and done >= cap for done, cap in caps)

    # -- responses -----------------------------------------------------------------------

    def _response_received(self, response: Response, request: scrapy.Request, **_: Any) -> None:
        if request.meta.get("newsmill_role") and response.status != 304:
            self.run.count("fetched")

    def _headers_received(
        self, headers: Any, body_length: int, request: scrapy.Request, **_: Any
    ) -> None:
        if request.meta.get("newsmill_role") != "article":
            return
        ctype = (headers.get(b"Content-Type") or b"").decode("latin-1")
        ctype = ctype.split(";", 1)[0].strip().lower()
        if ctype not in PAGE_TYPES and not ctype.endswith(("+xml", "/xml")):
            # Not a page type; the bytes decide (see _bytes_received).
            request.meta["newsmill_sniff"] = b""

    def _bytes_received(self, data: bytes, request: scrapy.Request, **_: Any) -> None:
        head = request.meta.get("newsmill_sniff")
        if head is None:
            return
        head += data
        if len(head) < SNIFF_BYTES:
            request.meta["newsmill_sniff"] = head
            return
        del request.meta["newsmill_sniff"]
        if sniff(head) == "other":  # an image, a video, an archive: stop downloading it
            raise StopDownload(fail=True)

    def parse(self, response: Response) -> Iterator[Any]:
        meta = response.meta
        source = self.sources[meta["newsmill_source"]]
        if meta["newsmill_role"] == "article":
            yield from self._article(response, source)
        else:
            yield from self._hub(response, source)

    def _article(self, response: Response, source: Source) -> Iterator[Any]:
        meta = response.meta
        if response.status == 304:  # a revisit: the page has not changed
            self.run.count("not_modified")
            revisions.mark_checked(
                self.run.store,
                meta["newsmill_url"],
                at=utcnow(),
                article_hash=meta.get("newsmill_revisit"),
            )
            return
        body = response.body
        ctype = response.headers.get(b"Content-Type", b"").decode("latin-1")
        kind = sniff(body[:4096], ctype)
        if kind != "html":
            if kind in ("feed", "sitemap", "sitemapindex"):
                # an article link that is really a feed: read it as one
                yield from self._dispatch(response, source, body, kind)
                return
            self.run.failure(
                meta["newsmill_url"],
                outcome="skipped",
                reason="not-html",
                detail=ctype or "unknown content type",
            )
            return
        url = normalize_url(response.url) or response.url
        depth = meta["newsmill_depth"]
        if depth < self._depth(source):
            yield from self._follow_links(body, url, source, depth)
        yield PageItem(
            url=url,
            html=body,
            requested_url=meta["newsmill_url"],
            redirect_urls=list(meta.get("redirect_urls", [])),
            content_type=ctype or None,
            etag=_header(response, b"ETag"),
            last_modified=_header(response, b"Last-Modified"),
            fetched_at=utcnow(),
            source=source.name,
            revisit=bool(meta.get("newsmill_revisit")),
        )

    def _hub(self, response: Response, source: Source) -> Iterator[Any]:
        meta = response.meta
        key = meta["newsmill_url"]
        store = self.run.store
        if response.status == 304:
            self.run.count("not_modified")
            state = store.resource(key)
            store.save_resource(
                key, kind="", body=None, etag=None, last_modified=None, not_modified=True
            )
            body = state["body"] if state else None
            if body is None:
                return
        else:
            try:
                body = maybe_gunzip(response.body, self.options.max_size)
            except TooLarge as exc:
                self._hub_problem(response.request, "skipped", "too-large", str(exc))
                return
            if response.status != 200 or not body:
                self._hub_problem(response.request, "failed", f"http-{response.status}")
                return
            store.save_resource(
                key,
                kind=meta["newsmill_role"],
                body=body,
                etag=_header(response, b"ETag"),
                last_modified=_header(response, b"Last-Modified"),
            )
        ctype = response.headers.get(b"Content-Type", b"").decode("latin-1")
        yield from self._dispatch(response, source, body, sniff(body, ctype))

    def _dispatch(
        self, response: Response, source: Source, body: bytes, kind: str
    ) -> Iterator[Any]:
        meta = response.meta
        url = normalize_url(response.url) or response.url
        depth = meta["newsmill_depth"]
        try:
            if kind == "feed":
                links = parse_feed(body, url, limit=MAX_FEED_LINKS + 1)
                for link in self._capped(links, MAX_FEED_LINKS, response.request):
                    yield from _one(
                        self._article_request(Link(link.url), source, depth=99, from_hub=url)
                    )
            elif kind in ("sitemap", "sitemapindex"):
                is_index, links = parse_sitemap(body, url, limit=MAX_SITEMAP_LINKS + 1)
                for link in self._capped(links, MAX_SITEMAP_LINKS, response.request):
                    if is_index:
                        if not self._unchanged(link, source):
                            yield from _one(
                                self._hub_request(link.url, source, "sitemap", depth=depth)
                            )
                        else:
                            self.run.count("known")
                    else:
                        yield from _one(self._article_request(link, source, depth=99, from_hub=url))
            elif kind == "robots":
                sitemaps = parse_robots_sitemaps(body, url)
                if not sitemaps and meta.get("newsmill_discover"):
                    sitemaps = [normalize_url(p, url) or p for p in USUAL_SITEMAP_PATHS]
                    probe = True
                else:
                    probe = False
                for sitemap in sitemaps:
                    yield from _one(
                        self._hub_request(sitemap, source, "sitemap", depth=depth, probe=probe)
                    )
            elif kind == "html":
                yield from self._html_hub(body, url, source, depth)
            elif not meta.get("newsmill_probe"):
                self._hub_problem(
                    response.request,
                    "skipped",
                    "unknown-content",
                    response.headers.get(b"Content-Type", b"").decode("latin-1"),
                )
        except UnsafeXML as exc:
            self._hub_problem(response.request, "skipped", "unsafe-xml", str(exc))
        except ValueError as exc:
            if not meta.get("newsmill_probe"):
                self._hub_problem(response.request, "failed", "bad-" + kind, str(exc)[:200])

    def _capped(self, links: list[Link], cap: int, request: scrapy.Request) -> list[Link]:
        if len(links) <= cap:
            return links
        self._hub_problem(
            request, "skipped", "too-many-links", f"more than {cap} links; the first {cap} read"
        )
        return links[:cap]

    def _html_hub(self, body: bytes, url: str, source: Source, depth: int) -> Iterator[Any]:
        found = parse_html_links(body, url)
        if depth == 0:
            for feed in found.feeds:
                yield from _one(self._hub_request(feed, source, "feed", depth=depth))
            robots = normalize_url("/robots.txt", url)
            if robots:
                request = self._hub_request(robots, source, "robots", depth=depth, probe=True)
                if request is not None:
                    request.meta["newsmill_discover"] = True
                    yield request
        yield from self._follow(found.links, url, source, depth)

    def _follow_links(self, body: bytes, url: str, source: Source, depth: int) -> Iterator[Any]:
        yield from self._follow(parse_html_links(body, url).links, url, source, depth)

    def _follow(self, links: list[str], url: str, source: Source, depth: int) -> Iterator[Any]:
        if depth >= self._depth(source):
            return
        for link in links:
            if link == url or link in self.hubs:
                continue
            if same_site(link, url):
                if looks_like_article(link):
                    yield from _one(
                        self._article_request(Link(link), source, depth=depth + 1, from_hub=url)
                    )
            elif host_of(link) and address_policy(self.crawler).quick_check(link):
                # an off-site link to a private address is worth a line in the ledger
                self.scheduled.add(link)
                self.run.failure(
                    link, outcome="skipped", reason="unsafe-address", detail=f"linked from {url}"
                )

    def _depth(self, source: Source) -> int:
        return source.depth if source.depth is not None else self.options.depth

    # -- failures ------------------------------------------------------------------------

    def on_error(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        meta = request.meta
        outcome, reason, detail = classify_failure(failure)
        if meta.get("newsmill_probe") and meta.get("newsmill_role") != "article":
            logger.debug("probe %s: %s", request.url, reason)
            return
        redirected = request.url != meta["newsmill_url"]
        if redirected and not detail:
            detail = f"redirected to {request.url}"
        if meta.get("newsmill_revisit"):
            # checked, if not fetched: the next run revisits the URLs checked longer ago first
            revisions.mark_checked(self.run.store, meta["newsmill_url"], at=utcnow())
        if meta.get("newsmill_role") == "article":
            self.run.failure(
                meta["newsmill_url"],
                outcome=outcome,
                reason=reason,
                detail=detail,
                remember=redirected,
            )
        else:
            self._hub_problem(request, outcome, reason, detail)

    def _hub_problem(
        self, request: scrapy.Request, outcome: str, reason: str, detail: str = ""
    ) -> None:
        meta = request.meta
        if meta.get("newsmill_probe") and reason.startswith("http-"):
            return
        logger.warning("%s %s: %s %s", meta["newsmill_role"], meta["newsmill_url"], reason, detail)
        self.run.hub_problem(
            meta["newsmill_url"],
            kind=meta["newsmill_role"],
            outcome=outcome,
            reason=reason,
            detail=detail,
        )

    def _closed(self, spider: scrapy.Spider, reason: str) -> None:
        if spider is self:
            self.newsmill_close_reason = reason


def classify_failure(failure: Failure) -> tuple[str, str, str]:
    """``(outcome, reason, detail)`` for a failed request, as recorded in the ledger."""
    exc = failure.value
    name = type(exc).__name__
    message = str(exc)
    if isinstance(exc, HttpError):
        return "failed", f"http-{exc.response.status}", ""
    if isinstance(exc, RefusedRequest):
        return "skipped", exc.reason, exc.detail
    if isinstance(exc, StopDownload):
        response = getattr(exc, "response", None)
        ctype = response.headers.get(b"Content-Type", b"").decode("latin-1") if response else ""
        return "skipped", "not-html", ctype
    if isinstance(exc, IgnoreRequest):
        if "robots.txt" in message:
            return "skipped", "robots", ""
        if "max redirections" in message:
            request = failure.request  # type: ignore[attr-defined]
            chain = [*request.meta.get("redirect_urls", []), request.url]
            reason = "redirect-loop" if len(set(chain)) < len(chain) else "too-many-redirects"
            return "failed", reason, " -> ".join(chain)[-200:]
        if "MAXSIZE" in message or "max size" in message:
            return "skipped", "too-large", message[:200]
        return "skipped", "ignored", message[:200]
    if "Cancelled" in name or "max size" in message or "maxsize" in message.lower():
        return "skipped", "too-large", message[:200]
    if "Timeout" in name or "timed out" in message.lower() or "took longer" in message:
        return "failed", "timeout", message[:200]
    if _BAD_HEADERS.search(message):
        return "failed", "bad-headers", message[:200]
    if "ConnectionRefused" in name:
        return "failed", "connection-refused", ""
    if "DNS" in name or "Resolve" in name:
        return "failed", "dns-error", message[:200]
    return "failed", "download-error", f"{name}: {message}"[:200]


# What aiohttp says about response headers it refuses to read (a line over 8 KB, more than
# 128 headers). Twisted drops the connection instead: that is a download-error.
_BAD_HEADERS = re.compile(
    r"too many headers|got more than \d+ bytes when reading|line too long", re.IGNORECASE
)


def _one(request: scrapy.Request | None) -> Iterator[scrapy.Request]:
    if request is not None:
        yield request


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def _parse_ts(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    """The headers of a conditional GET for a copy with these validators (none: plain GET)."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers
