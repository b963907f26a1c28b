"""Exceptions newsmill raises.

::

    NewsmillError
     ├── NoArticle       the input holds no article (empty, binary, too short, ...)
     ├── StoreError      the database cannot be opened or written
     │    └── StoreLocked   another newsmill run holds the database's run lock
     └── QueryError      a full-text search query is not valid FTS5 syntax
"""

from __future__ import annotations


class NewsmillError(Exception):
    """Base class of every error newsmill raises on purpose."""


class NoArticle(NewsmillError):
    """The input holds no article. ``reason`` is a short, stable slug for the ledger."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class StoreError(NewsmillError):
    """The database cannot be opened, migrated or written."""


class StoreLocked(StoreError):
    """Another newsmill run holds the run lock on this database."""


class QueryError(NewsmillError):
    """A search query is not valid full-text search syntax."""
