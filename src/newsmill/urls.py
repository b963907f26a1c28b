"""URL normalization, "does this look like an article", and which addresses we may fetch.

Pure functions, no Scrapy: the crawler, the pipeline and the tests share them.

Normalization (:func:`normalize_url`) makes the many spellings of one page one key: it
lowercases the scheme and host, drops the default port, the fragment and tracking
parameters (``utm_*``, ``fbclid``, ``gclid``, ...), and keeps everything else as it is
(query order included: some sites route on it).

Address safety (:class:`AddressPolicy`): a link in a page, feed or sitemap may point
anywhere, including ``http://169.254.169.254/`` (cloud metadata) or an intranet host. Only
``http`` and ``https`` are fetched, and a host that is (or resolves to) a loopback, private,
link-local, shared, multicast or reserved address is refused unless the user named a start
URL on that same host.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

SCHEMES = frozenset({"http", "https"})

# Query parameters that only say how a reader arrived. Dropping them makes a link shared on
# social media and the link in the feed one URL.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wt_mc",
        "cmpid",
        "ocid",
        "ref_src",
        "ref_url",
        "spm",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "piwik_", "mtm_", "hsa_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Host name labels as found in the wild (underscores included), dot-separated, none empty.
_HOST = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")


def normalize_url(url: str, base: str | None = None) -> str | None:
    """Return the normalized absolute form of ``url``, or None if it is not http(s).

    >>> normalize_url("HTTPS://Example.COM:443/a/b?utm_source=x&id=3#top")
    'https://example.com/a/b?id=3'
    """
    url = url.strip()
    try:
        if base:
            url = urljoin(base, url)  # raises ValueError on a malformed URL ("http://[::1")
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname:
        return None
    host = _idna(parts.hostname.rstrip("."))
    if host is None:
        return None
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = _strip_tracking(parts.query)
    path = parts.path or "/"
    if "/." in path:
        path = remove_dot_segments(path)
    # Whitespace left at the end (a path or query followed by an empty query or a fragment,
    # "/a ?" or "?id= #") would be stripped from the input on the next call: drop it now,
    # so that normalizing a normalized URL changes nothing.
    return urlunsplit(SplitResult(scheme, netloc, path, query, "")).rstrip()


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4: ``/a/b/../c/./d`` is ``/a/c/d``."""
    segments = path.split("/")
    out: list[str] = []
    for i, segment in enumerate(segments):
        last = i == len(segments) - 1
        if segment == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        elif segment == ".":
            if last:
                out.append("")
        else:
            out.append(segment)
    result = "/".join(out)
    return result if result.startswith("/") else "/" + result


def _idna(host: str) -> str | None:
    """The ASCII form of a host name, or None when it is not a valid host (a space in it,
    an empty label, an IPv6 literal that does not parse)."""
    host = host.lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if ":" in host:
        return host if ip_literal(host) else None
    return host if _HOST.fullmatch(host) else None


def _strip_tracking(query: str) -> str:
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not is_tracking_param(k)]
    if len(kept) == len(pairs):
        return query  # untouched: keep the site's own encoding
    return urlencode(kept, doseq=True)


def is_tracking_param(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def host_of(url: str) -> str:
    """The lowercase host name of ``url`` (no port), or "" when it has none."""
    try:
        return (urlsplit(url).hostname or "").rstrip(".").lower()
    except ValueError:
        return ""


def site_of(url: str) -> str:
    """The host without a leading ``www.``, which is what "the same site" compares."""
    host = host_of(url)
    return host[4:] if host.startswith("www.") else host


def same_site(url: str, other: str) -> bool:
    return bool(site_of(url)) and site_of(url) == site_of(other)


# -- does a link look like an article? ---------------------------------------------------

# File types that are never an article page.
_NOT_PAGE_SUFFIX = re.compile(
    r"\.(?:jpe?g|png|gif|webp|avif|svg|ico|bmp|tiff?|css|js|mjs|json|xml|rss|atom|txt|csv|"
    r"pdf|docx?|xlsx?|pptx?|odt|zip|gz|tgz|bz2|xz|7z|rar|mp3|m4a|ogg|wav|flac|mp4|m4v|mov|"
    r"webm|avi|mkv|woff2?|ttf|otf|eot|apk|exe|dmg|iso)$",
    re.IGNORECASE,
)
# Path segments of listing, account and utility pages.
_NOT_ARTICLE_SEGMENT = re.compile(
    r"^(?:tags?|topics?|category|categories|section|sections|authors?|people|search|login|"
    r"logout|signin|sign-in|signup|register|account|subscribe|subscription|newsletters?|"
    r"feeds?|rss|atom|sitemap|sitemaps|page|wp-admin|wp-login\.php|wp-json|cart|checkout|"
    r"privacy|terms|cookies?|contact|about|advertise|jobs|careers|cdn-cgi|static|assets|"
    r"images|img|media|video|videos|gallery|galleries|podcasts?|live)$",
    re.IGNORECASE,
)
_DATE_IN_PATH = re.compile(r"/(?:19|20)\d\d[/-](?:0?[1-9]|1[0-2])(?:[/-]|$)")
_LONG_NUMBER = re.compile(r"\d{5,}")


def looks_like_article(url: str) -> bool:
    """Heuristic: does the URL's path look like one article rather than a listing?

    An article URL usually has a date in its path, a long numeric id, a slug of several
    words, or ends in ``.html``; listing, account, feed and media URLs do not.
    """
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    if _NOT_PAGE_SUFFIX.search(path):
        return False
    segments = [s for s in path.split("/") if s]
    if not segments:
        return False
    if any(_NOT_ARTICLE_SEGMENT.match(s) for s in segments):
        return False
    last = segments[-1]
    if _DATE_IN_PATH.search(path) or _LONG_NUMBER.search(last):
        return True
    if last.lower().endswith((".html", ".htm", ".shtml", ".php")) and len(last) > 10:
        return True
    return last.count("-") >= 2 or last.count("_") >= 2


# -- address safety ------------------------------------------------------------------------


def address_is_public(address: str) -> bool:
    """True when ``address`` (an IP literal) is a globally routable unicast address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def ip_literal(host: str) -> str | None:
    """``host`` if it is an IP address literal (IPv6 without brackets), else None."""
    host = host.strip("[]")
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None
    return host


@dataclass
class AddressPolicy:
    """Decides whether a URL may be fetched. See the module docstring for the rule.

    ``allowed_hosts`` are host names the user gave start URLs on (or allowed explicitly):
    anything on them may be fetched, whatever its address. ``resolve`` maps a host name to
    its addresses; it is only called for names that are not IP literals, and its results
    are cached per policy.
    """

    allowed_hosts: set[str] = field(default_factory=set)
    _cache: dict[str, str | None] = field(default_factory=dict, repr=False)

    def allow_hosts(self, hosts: Iterable[str]) -> None:
        self.allowed_hosts.update(h.lower().strip("[]") for h in hosts if h)

    def quick_check(self, url: str) -> str | None:
        """Refusal reason for ``url`` without DNS: scheme, IP literals and ``localhost``.

        Returns None when the URL is allowed *or* needs a DNS lookup (:meth:`check_resolved`).
        """
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").rstrip(".").lower()
        except ValueError:
            return "bad-url"
        if parts.scheme.lower() not in SCHEMES:
            return "unsupported-scheme"
        if not host:
            return "bad-url"
        if host in self.allowed_hosts:
            return None
        if host == "localhost" or host.endswith(".localhost"):
            return "unsafe-address"
        literal = ip_literal(host)
        if literal is not None:
            return None if address_is_public(literal) else "unsafe-address"
        if _looks_numeric(host):
            # "2130706433", "0x7f.1", "127.1": forms inet_aton reads as an address
            return "unsafe-address"
        return None

    def needs_lookup(self, url: str) -> str | None:
        """The host name to resolve before fetching ``url``, or None when no lookup is needed."""
        host = host_of(url)
        if not host or host in self.allowed_hosts or ip_literal(host) is not None:
            return None
        return None if host in self._cache else host

    def check_resolved(self, host: str, addresses: Iterable[str]) -> str | None:
        """Record and return the refusal reason for ``host`` given its addresses."""
        addresses = list(addresses)
        if not addresses:
            reason: str | None = "dns-error"
        elif all(address_is_public(a) for a in addresses):
            reason = None
        else:
            reason = "unsafe-address"
        self._cache[host] = reason
        return reason

    def cached(self, url: str) -> str | None:
        return self._cache.get(host_of(url))

    def check(self, url: str) -> str | None:
        """Full check, resolving host names with blocking :func:`socket.getaddrinfo`."""
        reason = self.quick_check(url)
        if reason:
            return reason
        host = self.needs_lookup(url)
        if host is None:
            return self.cached(url)
        return self.check_resolved(host, resolve(host))


def _looks_numeric(host: str) -> bool:
    return all(part.isdigit() or part.lower().startswith("0x") for part in host.split("."))


def resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to ([] when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]
