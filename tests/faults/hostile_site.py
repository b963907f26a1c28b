"""Hostile and broken servers on 127.0.0.x for ``tests/faults/test_hostile_servers.py``.

Written by us. Two kinds of server:

* :class:`~tests.crawlsite.Site` (``http.server``) for whole responses with wrong headers,
  wrong charsets, pathological HTML, redirect loops, bombs, odd links, robots.txt errors
  and 429s;
* :class:`RawSite`, a socket server whose routes write raw bytes, for what
  ``http.server`` cannot send: a body that trickles a byte at a time for ever, a body that
  never ends, a server that never answers, headers that trickle or are huge.

Every raw handler stops when the client goes away or the server is stopped, so a test
that fails leaves no thread spinning.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..crawlsite import Hit, Site, article_html, paragraphs

NEWS = "/news/2024/05/"
HTML = "text/html; charset=utf-8"

# -- raw socket server -------------------------------------------------------------------

RawHandler = Callable[[socket.socket, threading.Event], None]


@dataclass
class RawSite:
    """A server whose routes get the client socket once the request head is read."""

    host: str
    routes: dict[str, RawHandler] = field(default_factory=dict)
    port: int = 0
    log: list[Hit] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    _listener: socket.socket | None = None

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> list[Hit]:
        return [h for h in self.log if h.path == path]

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(64)
        listener.settimeout(0.2)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()
        if self._listener is not None:
            self._listener.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self.stopping.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        with conn:
            try:
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    head += chunk
                parts = head.split(b"\r\n", 1)[0].split()
                path = parts[1].decode("latin-1") if len(parts) > 1 else "/"
                self.log.append(Hit(self.host, path, time.monotonic(), False))
                handler = self.routes.get(path.split("?", 1)[0], not_found)
                handler(conn, self.stopping)
            except OSError:  # the client hung up: what a crawler that gives up does
                pass


def not_found(conn: socket.socket, stopping: threading.Event) -> None:
    conn.sendall(
        b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\n"
        b"Connection: close\r\n\r\nnot found"
    )


def trickle_body(conn: socket.socket, stopping: threading.Event) -> None:
    """Headers at once, then one byte of the promised 1 MB every 50 ms, for ever."""
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000000\r\n\r\n"
        b"<!doctype html><html><body><p>"
    )
    while not stopping.wait(0.05):
        conn.sendall(b"a")


def endless_body(conn: socket.socket, stopping: threading.Event) -> None:
    """A chunked body that never ends, as fast as the client reads it."""
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"<p>" + b"endless " * 8000 + b"</p>\n"
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    while not stopping.is_set():
        conn.sendall(frame)


def never_answers(conn: socket.socket, stopping: threading.Event) -> None:
    """Reads the request, then says nothing (but keeps the connection open)."""
    stopping.wait(60)


def trickle_headers(conn: socket.socket, stopping: threading.Event) -> None:
    """A status line, then a header line one byte every 50 ms, for ever."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: ")
    while not stopping.wait(0.05):
        conn.sendall(b"z")


def huge_header(conn: socket.socket, stopping: threading.Event) -> None:
    """One 1 MB header line before a perfectly good article."""
    body = article_html("Huge header story", paragraphs("hh", "header cookie size")).encode()
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nSet-Cookie: c="
        + b"x" * (1024 * 1024)
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )


def many_headers(conn: socket.socket, stopping: threading.Event) -> None:
    """100,000 short header lines (2 MB of headers) before an article."""
    body = article_html("Many headers story", paragraphs("mh", "header count flood")).encode()
    lines = b"".join(b"X-H%d: v\r\n" % i for i in range(100_000))
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
        + lines
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )


def endless_headers(conn: socket.socket, stopping: threading.Event) -> None:
    """Header lines, as fast as the client reads them, for ever."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n")
    block = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 50) for i in range(1000))
    while not stopping.is_set():
        conn.sendall(block)


RAW_ROUTES: dict[str, RawHandler] = {
    NEWS + "trickle-story": trickle_body,
    NEWS + "endless-story": endless_body,
    NEWS + "silent-story": never_answers,
    NEWS + "slow-headers-story": trickle_headers,
    NEWS + "huge-header-story": huge_header,
    NEWS + "many-headers-story": many_headers,
    NEWS + "endless-headers-story": endless_headers,
}


# -- page bodies -------------------------------------------------------------------------

# Russian paragraphs (our own text): served as windows-1251 while declaring UTF-8.
CYRILLIC_TITLE = "Паром снова ходит через залив"
CYRILLIC_PARAS = [
    "Городской паром возобновил рейсы через залив после трёх недель ремонта. Капитан "
    "сказал, что новое расписание будет действовать до конца осени и что билеты не "
    "подорожают.",
    "Жители северного берега ждали этого дня с нетерпением: объезд по мосту занимал больше "
    "часа. Утром на причале собралась очередь из велосипедистов и школьников.",
    "Администрация порта обещает к зиме заменить причальные канаты и покрасить зал "
    "ожидания. Работы оплатит городской бюджет, а не пассажиры, подчеркнул директор.",
    "Рыбаки довольны меньше всех: паром снова пересекает их привычный маршрут к отмели. "
    "Они договорились с капитаном о сигналах, чтобы избежать столкновений в тумане.",
]


def cyrillic_page() -> bytes:
    return article_html(CYRILLIC_TITLE, CYRILLIC_PARAS, site="Вестник залива").encode("cp1251")


def invalid_bytes_page() -> bytes:
    """A UTF-8 article with invalid bytes in the middle of its text."""
    paras = paragraphs("invalid-bytes", "invalid bytes decoding")
    page = article_html("Invalid bytes story", paras).encode()
    return page.replace(b"officials described", b"officials \xff\xfe\xc3( described")


def nested_page(depth: int = 100_000) -> bytes:
    """An article inside ``depth`` nested ``<div>``s."""
    inner = article_html("Deep nesting story", paragraphs("deep", "deep nesting tags"))
    head, body = inner.split("<body>", 1)
    body = body.replace("</body></html>", "")
    return (head + "<body>" + "<div>" * depth + body + "</div>" * depth + "</body></html>").encode()


def story(slug: str, title: str) -> bytes:
    return article_html(title, paragraphs(slug, f"{slug} {title.lower()}")).encode()


JPEG_BYTES = (
    b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 40
)


def rss(links: list[str]) -> str:
    items = "".join(f"<item><title>t</title><link>{u}</link></item>" for u in links)
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'
    )


def urlset(locs: list[str]) -> str:
    entries = "".join(f"<url><loc>{u}</loc></url>" for u in locs)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    )


def xxe(root: str, inner: str, system: str) -> str:
    """An XML document whose DOCTYPE declares an external entity used in ``inner``."""
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{system}">]>\n'
        + inner.replace("XXE", "&xxe;")
    )


def external_dtd(root: str, inner: str, system: str) -> str:
    """An XML document whose DOCTYPE points at an external DTD (no internal subset)."""
    return f'<?xml version="1.0"?>\n<!DOCTYPE {root} SYSTEM "{system}">\n' + inner


def static(body: bytes | str, ctype: str, status: int = 200, **headers: str):
    data = body.encode() if isinstance(body, str) else body
    all_headers = {"Content-Type": ctype, **{k.replace("_", "-"): v for k, v in headers.items()}}
    return lambda: (status, dict(all_headers), data)


def redirect(location: str, status: int = 302):
    return lambda: (status, {"Location": location, "Content-Type": "text/html"}, b"")


def counter() -> Callable[[], int]:
    """A thread-safe counter: each call returns the next integer, from 0."""
    lock = threading.Lock()
    state = [0]

    def next_value() -> int:
        with lock:
            state[0] += 1
            return state[0] - 1

    return next_value


# -- the sites -----------------------------------------------------------------------------

# Links no crawler should follow: other schemes, and URLs that do not parse.
BAD_LINKS = [
    "javascript:alert(document.cookie)",
    "JavaScript:void(0)",
    "data:text/html;base64,PGgxPmhpPC9oMT4=",
    "file:///etc/passwd",
    "FILE://localhost/etc/shadow",
    "mailto:desk@hostile.example",
    "tel:+15555550100",
    "http://[::1",
    "http://127.0.0.1:99999/news/2024/05/bad-port-story",
    "http://exa mple.com/news/2024/05/space-in-host-story",
    "",
    "   ",
    "#top",
]


@dataclass
class HostileSites:
    main: Site  # section pages, wrong types and charsets, redirects, bombs, odd links
    # trickles, endless bodies, silence, huge headers: one server (port) per case, so that no
    # case waits for another in the HTTP client's per-host connection pool
    raw: dict[str, RawSite]
    robots: dict[str, Site]  # robots.txt answering 500, 503, 429, 404
    robots_silent: RawSite  # robots.txt that never answers
    intranet: Site  # 127.0.0.2: must never see a request

    def all(self) -> list[Site | RawSite]:
        return [
            self.main,
            *self.raw.values(),
            *self.robots.values(),
            self.robots_silent,
            self.intranet,
        ]

    def stop(self) -> None:
        stop_all(self.all())


def stop_all(sites: list[Site | RawSite]) -> None:
    """Stop servers at once (``http.server`` takes up to half a second each to notice)."""
    threads = [threading.Thread(target=site.stop) for site in sites]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


HUGE_FEED_ITEMS = 100_000


def build_hostile_sites() -> HostileSites:
    intranet = Site("intranet", "127.0.0.2")
    intranet.routes["/evil.dtd"] = static('<!ENTITY secret "INTRANET-SECRET">', "text/plain")
    intranet.routes["/secret"] = static("INTRANET-SECRET", "text/plain")
    intranet.start()
    main = Site("hostile", "127.0.0.1")
    main.start()
    raw = {}
    for path, handler in RAW_ROUTES.items():
        raw[path] = RawSite("127.0.0.1", {path: handler})
        raw[path].start()
    m = main.routes
    m["/robots.txt"] = static("User-agent: *\nDisallow: /private/\n", "text/plain")

    # wrong Content-Type: an article's bytes say HTML, its header says otherwise
    m[NEWS + "octet-story"] = static(
        story("octet", "Octet stream story about harbour cranes"), "application/octet-stream"
    )
    m[NEWS + "jpeg-typed-story"] = static(
        story("jpeg", "Image typed story about river barges"), "image/jpeg"
    )
    m[NEWS + "rss-typed-story"] = static(
        story("rsstyped", "Feed typed story about lighthouse keepers"), "application/rss+xml"
    )
    m[NEWS + "real-jpeg-story"] = static(JPEG_BYTES, "image/jpeg")
    m[NEWS + "jpeg-as-html-story"] = static(JPEG_BYTES, HTML)
    # charsets
    m[NEWS + "cyrillic-story"] = static(cyrillic_page(), HTML)
    m[NEWS + "invalid-bytes-story"] = static(invalid_bytes_page(), HTML)
    # pathological HTML
    m[NEWS + "nested-story"] = static(nested_page(), HTML)
    # redirects: a two-step loop, a self-loop, a chain longer than the limit
    m[NEWS + "loop-a"] = redirect(main.url(NEWS + "loop-b"))
    m[NEWS + "loop-b"] = redirect(main.url(NEWS + "loop-a"), 301)
    m[NEWS + "loop-self"] = redirect(NEWS + "loop-self", 307)
    for i in range(20):
        m[NEWS + f"chain-{i}"] = redirect(main.url(NEWS + f"chain-{i + 1}"))
    # relative links, resolved against the page, feed or sitemap that holds them
    for name in ("section", "feed", "sitemap"):
        m[NEWS + f"relative-{name}-story"] = static(
            story(name, f"Relative link story found in a {name}"), HTML
        )
    m["/news/"] = static(
        "<!doctype html><html><head><title>News</title></head><body><h1>News</h1><ul>"
        + "".join(
            f'<li><a href="{u}">Story {i}</a></li>'
            for i, u in enumerate(
                [
                    *(site.url(path) for path, site in raw.items()),
                    *(
                        NEWS + slug
                        for slug in (
                            "octet-story",
                            "jpeg-typed-story",
                            "rss-typed-story",
                            "real-jpeg-story",
                            "jpeg-as-html-story",
                            "cyrillic-story",
                            "invalid-bytes-story",
                            "nested-story",
                            "loop-a",
                            "loop-self",
                            "chain-0",
                        )
                    ),
                    "2024/05/relative-section-story",
                    *BAD_LINKS,
                ]
            )
        )
        + "</ul></body></html>",
        HTML,
    )
    # the raw cases alone (for a crawl with the other HTTP handler)
    m["/raw/"] = static(
        "<html><body>"
        + "".join(f'<a href="{site.url(path)}">x</a>' for path, site in raw.items())
        + "</body></html>",
        HTML,
    )
    # an HTML section page served as a feed: read as HTML, its links followed
    m["/as-rss/"] = static(
        "<!doctype html><html><body><h1>More</h1>"
        f'<a href="{NEWS}html-as-rss-linked-story">x</a></body></html>',
        "application/rss+xml",
    )
    m[NEWS + "html-as-rss-linked-story"] = static(
        story("asrss", "Story linked from a page typed as a feed"), HTML
    )
    # a feed served as text/html, and one as application/octet-stream
    m["/feeds/as-html"] = static(rss([main.url(NEWS + "feed-as-html-story")]), HTML)
    m[NEWS + "feed-as-html-story"] = static(story("fah", "Story from a feed typed as HTML"), HTML)
    m["/feeds/as-octets"] = static(
        rss([main.url(NEWS + "feed-as-octets-story")]), "application/octet-stream"
    )
    m[NEWS + "feed-as-octets-story"] = static(
        story("fao", "Story from a feed typed as octets"), HTML
    )
    # odd links in a feed and a sitemap
    m["/feeds/links.xml"] = static(
        rss(["../news/2024/05/relative-feed-story", *(_xml_text(u) for u in BAD_LINKS)]),
        "application/rss+xml",
    )
    m["/sitemaps/links.xml"] = static(
        urlset([NEWS + "relative-sitemap-story", *(_xml_text(u) for u in BAD_LINKS)]),
        "application/xml",
    )
    # XML bombs and external entities, in a feed and in a sitemap
    secret = intranet.url("/secret")
    item = "<rss><channel><item><link>http://127.0.0.1/XXE</link></item></channel></rss>"
    loc = '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>XXE</loc></url></urlset>'
    m["/feeds/bomb.xml"] = static(XML_BOMB_FEED, "application/rss+xml")
    m["/sitemaps/bomb.xml"] = static(XML_BOMB_SITEMAP, "application/xml")
    m["/feeds/xxe-file.xml"] = static(xxe("rss", item, "file:///etc/passwd"), "application/rss+xml")
    m["/feeds/xxe-http.xml"] = static(xxe("rss", item, secret), "application/rss+xml")
    m["/sitemaps/xxe-file.xml"] = static(xxe("urlset", loc, "file:///etc/passwd"), "text/xml")
    m["/sitemaps/xxe-http.xml"] = static(xxe("urlset", loc, secret), "text/xml")
    # no internal subset, so not refused: parsed without fetching the DTD
    dtd = intranet.url("/evil.dtd")
    m["/feeds/external-dtd.xml"] = static(
        external_dtd(
            "rss",
            f"<rss><channel><item><link>{NEWS}dtd-feed-story</link></item>"
            "<item><link>&secret;</link></item></channel></rss>",
            dtd,
        ),
        "application/rss+xml",
    )
    m["/sitemaps/external-dtd.xml"] = static(
        external_dtd("urlset", loc.replace("XXE", NEWS + "dtd-sitemap-story"), dtd),
        "application/xml",
    )
    m[NEWS + "dtd-feed-story"] = static(story("dtdf", "Story from a feed with a DTD"), HTML)
    m[NEWS + "dtd-sitemap-story"] = static(story("dtds", "Story from a sitemap with a DTD"), HTML)
    # a feed with 100,000 items (each a different page, none of which exists)
    m["/feeds/huge.xml"] = static(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>'
        + "".join(
            f"<item><link>/huge/2024/05/item-{i}</link></item>" for i in range(HUGE_FEED_ITEMS)
        )
        + "</channel></rss>",
        "application/rss+xml",
    )

    # robots.txt that fails: each on its own port (robots.txt is per host and port)
    robots: dict[str, Site] = {}
    for name, status, extra in (
        ("500", 500, {}),
        ("503", 503, {"Retry-After": "1"}),
        ("429", 429, {"Retry-After": "1"}),
        ("404", 404, {}),
    ):
        site = Site(f"robots-{name}", "127.0.0.1")
        site.routes["/robots.txt"] = static("<h1>error</h1>", "text/html", status, **extra)
        site.routes["/news/"] = static(
            f'<html><body><a href="{NEWS}robots-{name}-story">x</a></body></html>', HTML
        )
        site.routes[NEWS + f"robots-{name}-story"] = static(
            story(f"robots{name}", f"Story behind a robots.txt answering {name}"), HTML
        )
        site.start()
        robots[name] = site
    silent = RawSite("127.0.0.1", {"/robots.txt": never_answers, "/news/": not_found})
    silent.start()
    return HostileSites(main, raw, robots, silent, intranet)


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;")


_LOLS = "".join(f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">\n' for i in range(1, 10))
XML_BOMB_FEED = (
    f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n <!ENTITY lol0 "lol">\n{_LOLS}]>\n'
    "<rss><channel><item><link>http://127.0.0.1/&lol9;</link></item></channel></rss>"
)
XML_BOMB_SITEMAP = (
    f'<?xml version="1.0"?>\n<!DOCTYPE urlset [\n <!ENTITY lol0 "lol">\n{_LOLS}]>\n'
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&lol9;</loc></url>'
    "</urlset>"
)


# -- a storm of 429s -----------------------------------------------------------------------

STORM_PAGES = 30


@dataclass
class StormSites:
    slow: Site  # one page, always 429 with Retry-After: 1 (fewer answers than the give-up)
    capped: Site  # one page, 429 with Retry-After: one day
    storm: Site  # STORM_PAGES pages, every one 429 with Retry-After: 1

    def all(self) -> list[Site]:
        return [self.slow, self.capped, self.storm]

    def stop(self) -> None:
        stop_all(list(self.all()))


def build_storm_sites() -> StormSites:
    """Three hosts (each its own download slot) whose pages all answer 429."""
    sites = []
    for host, pages, retry_after in (
        ("127.0.0.4", 1, "1"),
        ("127.0.0.5", 1, "86400"),
        ("127.0.0.6", STORM_PAGES, "1"),
    ):
        site = Site(f"storm-{host}", host)
        site.routes["/robots.txt"] = static("User-agent: *\nDisallow:\n", "text/plain")
        paths = [f"{NEWS}busy-{i}" for i in range(pages)]
        site.routes["/feed.xml"] = static(rss(paths), "application/rss+xml")
        for path in paths:
            site.routes[path] = static(
                "<h1>Too many requests</h1>", "text/html", 429, Retry_After=retry_after
            )
        site.start()
        sites.append(site)
    return StormSites(*sites)
