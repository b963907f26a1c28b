"""A spider that knows nothing about newsmill: it yields dicts with ``url`` and ``html``."""

import scrapy


class PagesSpider(scrapy.Spider):
    name = "pages"

    def __init__(self, urls: str = "", **kwargs):
        super().__init__(**kwargs)
        self.start_urls = urls.split(",")

    def parse(self, response):
        yield {"url": response.url, "html": response.body, "status": response.status}
        for href in response.css("a::attr(href)").getall():
            if "/2024/" in href:
                yield response.follow(href, callback=self.parse)
