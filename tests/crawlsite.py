"""A small news site (two sites, really) served on 127.0.0.1 for the crawl tests.

Written by us. Site A (``127.0.0.1``) has robots.txt with a disallowed section and a
``Sitemap:`` line, a sitemap index (a Google News sitemap, a gzipped sitemap and an XML
bomb), RSS, Atom and JSON feeds, a section page, articles with boilerplate, one article at
two URLs (plus a utm_ link to it), a 404, a 500 that recovers, a 503 with Retry-After, a
redirect, a redirect to a cloud metadata address, a page slower than the timeout, a PDF, a
page over the size limit, a gzip bomb, and links to private addresses. Site B
(``127.0.0.3``) carries the same wire story. A third server on ``127.0.0.2`` stands for an
intranet host: the tests check that it never sees a request.

Every request is logged (path, time, If-None-Match) so tests can say what was fetched.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import http.server
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

SLOW_SECONDS = 10.0  # the slow page; tests use --timeout 1 (one holds a crawl up with 8)

# (slug, title, topic words): the article texts are built from these.
STORIES = {
    "harbour-ferry-strike": ("Ferry crews strike over harbour rota", "ferry crews rota pay"),
    "council-budget-vote": ("Council passes budget after long night", "council budget vote"),
    "vineyard-frost": ("Late frost hits hillside vineyards", "vineyard frost grapes"),
    "flaky-story": ("Library reopens after roof repairs", "library roof repairs"),
    "busy-story": ("Tram line extension gets green light", "tram line extension"),
    "moved-story": ("Bakery wins regional bread award", "bakery bread award"),
    "atom-only-story": ("Museum lends dinosaur skeleton", "museum dinosaur skeleton"),
    "json-feed-story": ("Cyclists map safer routes to school", "cyclists routes school"),
    "slow-story": ("Slow story never arrives", "slow timeout story"),
    "private-story": ("Secret staff memo", "secret staff memo"),
}
WIRE = ("Storm closes mountain pass for three days", "storm mountain pass snow")
B_STORY = ("Fishing quota talks resume in the north", "fishing quota talks")


def paragraphs(slug: str, words: str, n: int = 6) -> list[str]:
    """Distinct, article-like paragraphs for a story (deterministic)."""
    w = words.split()
    out = []
    for i in range(n):
        h = hashlib.sha256(f"{slug}{i}".encode()).hexdigest()[:8]
        out.append(
            f"The {w[0]} story continued on day {i + 1} as officials described the {w[1]} "
            f"situation in detail, saying the {w[-1]} question would be settled before the "
            f"end of the season. Residents interviewed near the square, reference {h}, said "
            f"they had followed the {w[0]} debate closely and expected more announcements."
        )
    return out


def article_html(
    title: str, paras: list[str], *, canonical: str | None = None, site: str = "Harbour Times"
) -> str:
    canon = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    body = "".join(f"<p>{p}</p>" for p in paras)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{title} | {site}</title>{canon}
<meta property="og:site_name" content="{site}"></head><body>
<header><nav><a href="/">Home</a> <a href="/news/">News</a> <a href="/about">About us</a>
<a href="/tag/weather">Weather</a></nav></header>
<main><article><h1>{title}</h1><p class="byline">By Staff Reporter</p>{body}</article>
<aside><h2>Most read</h2><ul><li><a href="/news/">Top stories of the week</a></li></ul></aside>
</main>
<footer><p>Copyright 2024 {site}. All rights reserved. Cookie settings. Privacy policy.</p>
</footer></body></html>"""


def rfc1123(ts: float) -> str:
    return email.utils.formatdate(ts, usegmt=True)


@dataclass
class Hit:
    host: str
    path: str
    at: float
    conditional: bool
    status: int = 0
    agent: str = ""
    if_none_match: str = ""
    if_modified_since: str = ""


@dataclass
class Site:
    """Routes of one server: path -> handler(handler_obj) -> (status, headers, body)."""

    name: str
    host: str
    routes: dict[str, Callable[[], tuple[int, dict[str, str], bytes]]] = field(default_factory=dict)
    port: int = 0
    log: list[Hit] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, prefix: str = "/") -> list[Hit]:
        return [h for h in self.log if h.path.startswith(prefix)]

    def start(self) -> None:
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("#", 1)[0]
                route = path.split("?", 1)[0]
                hit = Hit(
                    site.host,
                    path,
                    time.monotonic(),
                    bool(
                        self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since")
                    ),
                )
                hit.agent = self.headers.get("User-Agent", "")
                hit.if_none_match = self.headers.get("If-None-Match", "")
                hit.if_modified_since = self.headers.get("If-Modified-Since", "")
                site.log.append(hit)
                make = site.routes.get(route)
                if make is None:
                    status, headers, body = 404, {"Content-Type": "text/html"}, b"<h1>404</h1>"
                else:
                    status, headers, body = make()
                etag = headers.get("ETag")
                if etag:
                    unchanged = self.headers.get("If-None-Match") == etag
                else:
                    unchanged = _not_modified_since(
                        headers.get("Last-Modified"), hit.if_modified_since
                    )
                if unchanged:
                    status, body = 304, b""
                hit.status = status
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    if status != 304:
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if status != 304:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def _not_modified_since(last_modified: str | None, since: str) -> bool:
    """If-Modified-Since (RFC 9110 13.1.3): the page has not changed since that date."""
    if not last_modified or not since:
        return False
    try:
        return email.utils.parsedate_to_datetime(
            last_modified
        ) <= email.utils.parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False


def _static(
    body: bytes | str, ctype: str, *, etag: bool = True, extra: dict | None = None
) -> Callable[[], tuple[int, dict[str, str], bytes]]:
    data = body.encode() if isinstance(body, str) else body
    headers = {"Content-Type": ctype}
    if etag:
        headers["ETag"] = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
        headers["Last-Modified"] = rfc1123(1714521600)
    headers.update(extra or {})
    return lambda: (200, dict(headers), data)


def _sequence(
    *responses: tuple[int, dict[str, str], bytes],
) -> Callable[[], tuple[int, dict[str, str], bytes]]:
    """First call gets the first response, and so on; the last one repeats."""
    calls = [0]

    def make() -> tuple[int, dict[str, str], bytes]:
        i = min(calls[0], len(responses) - 1)
        calls[0] += 1
        return responses[i]

    return make


def build_sites(intranet_port: int) -> tuple[Site, Site]:
    """Site A and site B, started. Site A's pages link to ``127.0.0.2:intranet_port``."""
    a = Site("a", "127.0.0.1")
    b = Site("b", "127.0.0.3")
    a.start()
    b.start()
    html = "text/html; charset=utf-8"

    def art(slug: str) -> bytes:
        title, words = STORIES[slug]
        return article_html(title, paragraphs(slug, words)).encode()

    news = "/news/2024/05/"
    for slug in (
        "harbour-ferry-strike",
        "council-budget-vote",
        "vineyard-frost",
        "moved-story",
        "atom-only-story",
        "json-feed-story",
    ):
        a.routes[news + slug] = _static(art(slug), html, etag=False)
    # robots.txt disallows /private/
    a.routes["/private/2024/05/private-story"] = _static(art("private-story"), html, etag=False)
    # the same article at its AMP URL, canonical pointing at the main URL
    title, words = STORIES["harbour-ferry-strike"]
    a.routes["/amp/2024/05/harbour-ferry-strike"] = _static(
        article_html(
            title,
            paragraphs("harbour-ferry-strike", words),
            canonical=a.url(news + "harbour-ferry-strike"),
        ).encode(),
        html,
        etag=False,
    )
    a.routes[news + "wire-storm-pass"] = _static(
        article_html(WIRE[0], paragraphs("wire", WIRE[1])).encode(), html, etag=False
    )
    a.routes[news + "flaky-story"] = _sequence(
        (500, {"Content-Type": "text/html"}, b"<h1>oops</h1>"),
        (200, {"Content-Type": html}, art("flaky-story")),
    )
    a.routes[news + "busy-story"] = _sequence(
        (503, {"Content-Type": "text/html", "Retry-After": "1"}, b"<h1>busy</h1>"),
        (200, {"Content-Type": html}, art("busy-story")),
    )
    a.routes["/news/old-link-to-bakery"] = lambda: (
        301,
        {"Location": a.url(news + "moved-story"), "Content-Type": "text/html"},
        b"",
    )
    a.routes["/news/2024/05/metadata-redirect"] = lambda: (
        302,
        {"Location": "http://169.254.169.254/latest/meta-data/", "Content-Type": "text/html"},
        b"",
    )

    def slow() -> tuple[int, dict[str, str], bytes]:
        time.sleep(SLOW_SECONDS)
        return 200, {"Content-Type": html}, art("slow-story")

    a.routes[news + "slow-story"] = slow
    a.routes["/files/2024/annual-report-2024"] = _static(
        b"%PDF-1.4\n" + b"0" * 5000, "application/pdf", etag=False
    )
    big = article_html("Huge page", paragraphs("huge", "huge page bytes") * 4).encode()
    a.routes[news + "huge-story"] = _static(
        big + b"<!--" + b"x" * (11 * 1024 * 1024) + b"-->", html, etag=False
    )
    a.routes[news + "zipped-bomb-story"] = _static(
        gzip.compress(b"<html><body><p>" + b"a" * (40 * 1024 * 1024)),
        html,
        etag=False,
        extra={"Content-Encoding": "gzip"},
    )

    # -- hubs ----------------------------------------------------------------------------
    a.routes["/robots.txt"] = _static(
        f"User-agent: *\nDisallow: /private/\n\nSitemap: {a.url('/sitemap_index.xml')}\n",
        "text/plain",
    )
    a.routes["/sitemap_index.xml"] = _static(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{a.url("/sitemaps/news.xml")}</loc><lastmod>2024-05-20</lastmod></sitemap>
<sitemap><loc>{a.url("/sitemaps/archive.gz")}</loc></sitemap>
<sitemap><loc>{a.url("/sitemaps/bomb.xml")}</loc></sitemap>
</sitemapindex>""",
        "application/xml",
    )
    news_entries = [
        ("harbour-ferry-strike", "2024-05-20T08:00:00+00:00"),
        ("council-budget-vote", "2024-05-19T08:00:00+00:00"),
        ("huge-story", "2024-05-19T08:00:00+00:00"),
        ("zipped-bomb-story", "2024-05-19T08:00:00+00:00"),
        ("slow-story", "2024-05-19T08:00:00+00:00"),
    ]
    entries = "".join(
        f"<url><loc>{a.url(news + slug)}</loc><news:news><news:publication>"
        f"<news:name>Harbour Times</news:name><news:language>en</news:language>"
        f"</news:publication><news:publication_date>{date}</news:publication_date>"
        f"<news:title>{slug}</news:title></news:news></url>"
        for slug, date in news_entries
    )
    entries += f"<url><loc>{a.url('/files/2024/annual-report-2024')}</loc></url>"
    a.routes["/sitemaps/news.xml"] = _static(
        f"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
 xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{entries}</urlset>""",
        "text/xml",
    )
    a.routes["/sitemaps/archive.gz"] = _static(
        gzip.compress(
            f"""<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<url><loc>{a.url(news + "vineyard-frost")}</loc><lastmod>2024-04-01</lastmod></url>
</urlset>""".encode(),
            mtime=0,
        ),
        "application/octet-stream",
    )
    a.routes["/sitemaps/bomb.xml"] = _static(XML_BOMB, "application/xml")
    rss_items = [
        a.url(news + "harbour-ferry-strike") + "?utm_source=rss&utm_medium=feed&fbclid=x1",
        a.url(news + "flaky-story"),
        a.url(news + "busy-story"),
        a.url("/news/old-link-to-bakery"),
        a.url(news + "gone-story"),
        a.url(news + "wire-storm-pass"),
        "http://10.0.0.1/news/2024/05/intranet-story",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        f"http://127.0.0.2:{intranet_port}/news/2024/05/loopback-story",
        "ftp://127.0.0.1/news/2024/05/ftp-story",
    ]
    a.routes["/rss.xml"] = _static(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Times</title>'
        + "".join(
            f"<item><title>t</title><link>{u.replace('&', '&amp;')}</link></item>"
            for u in rss_items
        )
        + "</channel></rss>",
        "application/rss+xml",
    )
    a.routes["/atom.xml"] = _static(
        f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Harbour Times</title>
<entry><title>Museum</title><link href="{a.url(news + "atom-only-story")}"/>
<updated>2024-05-20T10:00:00Z</updated></entry>
<entry><title>Meta</title><link rel="alternate" href="{a.url(news + "metadata-redirect")}"/>
<updated>2024-05-20T10:00:00Z</updated></entry>
</feed>""",
        "application/atom+xml",
    )
    a.routes["/feed.json"] = _static(
        json.dumps(
            {
                "version": "https://jsonfeed.org/version/1.1",
                "title": "Harbour Times",
                "items": [{"id": "1", "url": a.url(news + "json-feed-story")}],
            }
        ),
        "application/json",
    )
    a.routes["/"] = _static(
        """<!doctype html><html><head><title>Harbour Times</title>
<link rel="alternate" type="application/rss+xml" href="/rss.xml">
<link rel="alternate" type="application/atom+xml" href="/atom.xml">
<link rel="alternate" type="application/feed+json" href="/feed.json">
</head><body><a href="/news/">News</a> <a href="/about">About</a></body></html>""",
        html,
    )
    section_links = [
        news + "harbour-ferry-strike",
        "/amp/2024/05/harbour-ferry-strike",
        news + "council-budget-vote",
        "/private/2024/05/private-story",
        "/files/2024/annual-report-2024",
        "/about",
        "/tag/weather",
        f"http://127.0.0.2:{intranet_port}/news/2024/05/other-loopback-story",
        "mailto:desk@harbourtimes.example",
    ]
    a.routes["/news/"] = _static(
        "<!doctype html><html><head><title>News</title></head><body><h1>News</h1><ul>"
        + "".join(f'<li><a href="{u}">Story {i}</a></li>' for i, u in enumerate(section_links))
        + "</ul></body></html>",
        html,
    )

    # -- site B: the same wire story, its own feed ----------------------------------------
    b.routes["/robots.txt"] = _static("User-agent: *\nDisallow:\n", "text/plain")
    b.routes["/world/2024/05/storm-pass-closed"] = _static(
        article_html(WIRE[0], paragraphs("wire", WIRE[1]), site="Valley Post").encode(),
        html,
        etag=False,
    )
    b.routes["/local/2024/05/fishing-quota-talks"] = _static(
        article_html(B_STORY[0], paragraphs("b", B_STORY[1]), site="Valley Post").encode(),
        html,
        etag=False,
    )
    b.routes["/feed.xml"] = _static(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Valley Post</title>'
        f"<item><link>{b.url('/world/2024/05/storm-pass-closed')}</link></item>"
        f"<item><link>{b.url('/local/2024/05/fishing-quota-talks')}</link></item>"
        "</channel></rss>",
        "application/rss+xml",
    )
    return a, b


XML_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&lol9;</loc></url></urlset>
"""
