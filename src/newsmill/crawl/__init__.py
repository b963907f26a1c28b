"""Everything that imports Scrapy: the spider, the pipeline, the add-on and the runner.

Use newsmill from your own Scrapy project with one setting::

    ADDONS = {"newsmill.crawl.Addon": 0}
"""

from newsmill.crawl.addon import Addon
from newsmill.crawl.items import PageItem
from newsmill.crawl.pipelines import NewsmillPipeline
from newsmill.crawl.runner import CrawlConfig, CrawlSummary, run_crawl
from newsmill.crawl.spiders import NewsSpider

__all__ = [
    "Addon",
    "CrawlConfig",
    "CrawlSummary",
    "NewsSpider",
    "NewsmillPipeline",
    "PageItem",
    "run_crawl",
]
