"""The item newsmill's spider yields: one fetched page, before any extraction."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PageItem:
    """A fetched HTML page. :class:`~newsmill.crawl.NewsmillPipeline` needs only ``url`` and
    ``html``; the other fields make the stored record richer when present."""

    url: str  # the final URL (after redirects), normalized
    html: bytes = field(repr=False)
    requested_url: str | None = None
    redirect_urls: list[str] = field(default_factory=list)
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    fetched_at: str | None = None
    source: str | None = None
    revisit: bool = False  # the URL's article is stored: a changed text may be a revision
