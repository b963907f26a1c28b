"""Everything that imports Scrapy: the spider, the pipeline, the add-on and the runner.

Use newsmill from your own Scrapy project with one setting::

    ADDONS = {"newsmill.crawl.Addon": 0}

The names below are imported when first used, so that importing a Scrapy-free module of
this package (:mod:`newsmill.crawl.workers`, in every extraction worker) does not load
Scrapy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from newsmill.crawl.addon import Addon
    from newsmill.crawl.items import PageItem
    from newsmill.crawl.pipelines import NewsmillPipeline
    from newsmill.crawl.runner import CrawlConfig, CrawlSummary, run_crawl
    from newsmill.crawl.spiders import NewsSpider

_WHERE = {
    "Addon": "newsmill.crawl.addon",
    "CrawlConfig": "newsmill.crawl.runner",
    "CrawlSummary": "newsmill.crawl.runner",
    "NewsSpider": "newsmill.crawl.spiders",
    "NewsmillPipeline": "newsmill.crawl.pipelines",
    "PageItem": "newsmill.crawl.items",
    "run_crawl": "newsmill.crawl.runner",
}

__all__ = [
    "Addon",
    "CrawlConfig",
    "CrawlSummary",
    "NewsSpider",
    "NewsmillPipeline",
    "PageItem",
    "run_crawl",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
