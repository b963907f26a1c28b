"""Remove the boilerplate that extraction leaves inside an article body.

(Baseline; the rule engine is being built in its own branch.)
"""

from __future__ import annotations

from dataclasses import dataclass

from newsmill.models import RemovedLine


@dataclass(frozen=True, slots=True)
class CleanResult:
    text: str
    removed: tuple[RemovedLine, ...]


def clean_lines(text: str, url: str | None = None) -> CleanResult:
    """Clean ``text`` and say which lines went, and why."""
    lines = [line.strip() for line in text.splitlines()]
    kept = [line for line in lines if line]
    return CleanResult("\n".join(kept), ())


def clean_text(text: str, url: str | None = None) -> str:
    """Return ``text`` without boilerplate lines."""
    return clean_lines(text, url).text
