"""Someone's own Scrapy project. The only newsmill line is ADDONS."""

BOT_NAME = "newsproject"
SPIDER_MODULES = ["newsproject.spiders"]
NEWSPIDER_MODULE = "newsproject.spiders"

ADDONS = {"newsmill.crawl.Addon": 0}

TELNETCONSOLE_ENABLED = False
