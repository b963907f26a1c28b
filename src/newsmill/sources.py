"""What to crawl: sites with their start pages, feeds, sitemaps and per-site settings.

A sources file is TOML::

    [defaults]              # optional, applies to every source
    delay = 1.0

    [[source]]
    name = "harbour-times"  # optional: defaults to the host of the first URL
    urls = ["https://harbourtimes.example/news/"]   # site or section pages (or any feed,
                                                    # sitemap or robots.txt: told apart
                                                    # by the response)
    feeds = ["https://harbourtimes.example/rss.xml"]
    sitemaps = ["https://harbourtimes.example/sitemap.xml"]
    delay = 2.0             # seconds between requests to this site
    max_pages = 500         # article pages fetched per run
    depth = 1               # link hops from a site or section page
    include = ['/news/']    # regexes; an article URL must match one (when given)
    exclude = ['/live/', '\\?page=']   # ... and none of these
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from newsmill.errors import NewsmillError
from newsmill.urls import host_of, normalize_url

_KEYS = {
    "name",
    "urls",
    "url",
    "feeds",
    "sitemaps",
    "delay",
    "max_pages",
    "depth",
    "include",
    "exclude",
}


class SourcesError(NewsmillError):
    """The sources file cannot be read or is not valid."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    """One site to crawl. ``None`` settings fall back to the command-line values."""

    name: str
    urls: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    delay: float | None = None
    max_pages: int | None = None
    depth: int | None = None
    include: tuple[re.Pattern[str], ...] = field(default=())
    exclude: tuple[re.Pattern[str], ...] = field(default=())

    @property
    def all_urls(self) -> tuple[str, ...]:
        return (*self.urls, *self.feeds, *self.sitemaps)

    def hosts(self) -> set[str]:
        return {host_of(u) for u in self.all_urls} - {""}

    def wants(self, url: str) -> bool:
        """Whether an article URL passes this source's include and exclude patterns."""
        if self.include and not any(p.search(url) for p in self.include):
            return False
        return not any(p.search(url) for p in self.exclude)


def sources_from_urls(urls: Iterable[str]) -> list[Source]:
    """One source per host for URLs given on the command line."""
    by_host: dict[str, list[str]] = {}
    for raw in urls:
        url = normalize_url(raw)
        if url is None:
            raise SourcesError(f"not an http(s) URL: {raw}")
        by_host.setdefault(host_of(url), []).append(url)
    return [Source(name=host, urls=tuple(found)) for host, found in by_host.items()]


def load_sources(path: str | os.PathLike[str]) -> list[Source]:
    """Read a sources file (see the module docstring)."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourcesError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SourcesError(f"{path}: not valid TOML: {exc}") from exc
    defaults = data.get("defaults", {})
    entries = data.get("source", [])
    if not isinstance(entries, list) or not isinstance(defaults, dict):
        raise SourcesError(f"{path}: expected [defaults] and [[source]] tables")
    sources = [
        _source({**defaults, **entry}, f"{path}: source {i + 1}") for i, entry in enumerate(entries)
    ]
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise SourcesError(f"{path}: source names must be unique")
    return sources


def _source(entry: dict[str, Any], where: str) -> Source:
    unknown = set(entry) - _KEYS
    if unknown:
        raise SourcesError(f"{where}: unknown keys {sorted(unknown)}")

    def url_list(key: str) -> tuple[str, ...]:
        value = entry.get(key, [])
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise SourcesError(f"{where}: {key} must be a list of URLs")
        result = []
        for raw in values:
            url = normalize_url(raw)
            if url is None:
                raise SourcesError(f"{where}: not an http(s) URL: {raw}")
            result.append(url)
        return tuple(result)

    def patterns(key: str) -> tuple[re.Pattern[str], ...]:
        value = entry.get(key, [])
        values = [value] if isinstance(value, str) else value
        try:
            return tuple(re.compile(v) for v in values)
        except (re.error, TypeError) as exc:
            raise SourcesError(f"{where}: bad {key} pattern: {exc}") from exc

    def number(key: str, kind: type) -> Any:
        value = entry.get(key)
        if value is None:
            return None
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise SourcesError(f"{where}: {key} must be a non-negative number")
        return kind(value)

    urls = url_list("urls") + url_list("url")
    feeds, sitemaps = url_list("feeds"), url_list("sitemaps")
    first = (urls + feeds + sitemaps)[:1]
    if not first:
        raise SourcesError(f"{where}: no urls, feeds or sitemaps")
    name = entry.get("name") or host_of(first[0])
    return Source(
        name=str(name),
        urls=urls,
        feeds=feeds,
        sitemaps=sitemaps,
        delay=number("delay", float),
        max_pages=number("max_pages", int),
        depth=number("depth", int),
        include=patterns("include"),
        exclude=patterns("exclude"),
    )
