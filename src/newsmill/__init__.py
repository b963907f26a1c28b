"""newsmill: crawl news sites, extract and clean articles, keep one deduplicated copy in SQLite."""

from newsmill.clean import clean_text
from newsmill.extract import extract_article
from newsmill.fingerprint import content_hash, normalize_for_hash
from newsmill.models import Article

__all__ = ["Article", "clean_text", "content_hash", "extract_article", "normalize_for_hash"]
