"""Why an input was stored, linked or skipped: the ledger and the near-duplicate links, in words.

``explain(store, key)`` takes an article hash (or a prefix of 6+ hex digits), a URL or a file
path and returns one line per event (each time an input was processed) and a few lines about
the article as it is now: its cluster, what it was linked to, what was linked to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from newsmill.store import Store

# How each (outcome, reason) of the events ledger reads in a sentence.
REASONS = {
    "exact-copy": "exact copy of {hash} (same cleaned text)",
    "near-duplicate": "stored as {hash}, near-duplicate: {detail}",
    "partial-copy": "stored as {hash}, partial copy (teaser or truncated): {detail}",
    "empty-input": "nothing stored: the input is empty",
    "only-boilerplate": "nothing stored: empty extraction (only boilerplate was left)",
    "no-article-text": "nothing stored: empty extraction (no article text found)",
    "binary": "nothing stored: the input is binary",
    "too-large": "skipped: too large ({detail})",
    "unreadable": "skipped: unreadable ({detail})",
    "bad-gzip": "skipped: broken gzip file ({detail})",
    "not-a-regular-file": "skipped: not a regular file",
    "url-seen": "skipped: URL already stored ({detail})",
    "revisit": "skipped: a WARC revisit record ({detail}), no page of its own",
    "http-status": "skipped: HTTP status {detail}",
    "not-html": "skipped: not HTML ({detail})",
    "not-an-archive": "skipped: not a WARC or ARC file ({detail})",
    "archive-corrupt": "skipped: the archive is broken here; nothing after it was read ({detail})",
    "archive-truncated": "skipped: the archive is cut off ({detail})",
    "archive-seen": "skipped: this archive was read to its end before ({detail})",
    "archive-busy": "skipped: {detail}",
    "already-ingested": "skipped: this archive record was ingested before ({detail})",
    "not-an-article-page": "skipped: the crawl that archived it fetched it as a {detail} page",
    "bad-chunked-encoding": "skipped: broken chunked transfer encoding ({detail})",
    "bad-content-encoding": "skipped: broken content encoding ({detail})",
    "extraction-error": "failed: extraction error ({detail})",
    # newsmill.classify: pages that are not the article (outcome skipped, nothing stored)
    "paywall": "quarantined: a paywall teaser, not the whole article ({detail})",
    "consent-wall": "quarantined: a cookie-consent wall, not the article ({detail})",
    "bot-challenge": "quarantined: a bot challenge, not the article ({detail})",
    "region-block": "quarantined: a region block, not the article ({detail})",
    "soft-404": "quarantined: an error page (a soft 404), not an article ({detail})",
    "not-an-article": "quarantined: not an article, a section, tag or search page ({detail})",
    "language": "skipped: language {detail} is not one of --languages",
    "partial": "stored as {hash}, a paywall teaser kept as partial (--keep-teasers): {detail}",
    "revision": "stored as {hash}, a new revision of the article its URL held ({detail})",
    "unchanged": "revisited: the text is unchanged ({hash})",
    "trivial-edit": "revisited: a trivial edit ({detail}), only last_seen updated",
}


@dataclass
class Explanation:
    """What ``newsmill explain`` prints: the matching events and the article's state."""

    key: str
    article: dict[str, Any] | None
    events: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [
            f"run {e['run_id']} {e['at']}  {e['input']}: {sentence}" for e, sentence in self.events
        ]
        if not self.events:
            out.append(f"no recorded input for {self.key}")
        return out + self.notes

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "article": self.article["hash"] if self.article else None,
            "events": [{**e, "explanation": s} for e, s in self.events],
            "notes": self.notes,
        }


def describe_link(link: dict[str, Any], article_hash: str) -> str:
    """A ``neardup_links`` row in words, seen from ``article_hash``."""
    kind = "near-duplicate" if link["kind"] == "near" else "partial copy"
    if link["article"] == article_hash:
        return f"{kind} of {link['matched']} at similarity {link['similarity']:.2f}"
    return f"{link['article']} is a {kind} of it at similarity {link['similarity']:.2f}"


def event_sentence(event: dict[str, Any]) -> str:
    reason, outcome = event.get("reason"), event["outcome"]
    values = {"hash": event.get("article_hash"), "detail": event.get("detail") or ""}
    if reason in REASONS:
        return REASONS[reason].format(**values)
    if outcome == "new":
        return f"stored as new article {values['hash']}"
    text = f"{outcome}" + (f": {reason}" if reason else "")
    return text + (f" ({values['detail']})" if values["detail"] else "")


def _sentence(store: Store, event: dict[str, Any]) -> str:
    sentence = event_sentence(event)
    if event.get("reason") == "exact-copy" and event.get("article_hash"):
        first = store.events_for(article_hash=event["article_hash"])
        stored = next((e for e in first if e["outcome"] == "new"), None)
        if stored is not None and stored["id"] != event["id"]:
            sentence += f", stored in run {stored['run_id']} from {stored['input']}"
    return sentence


def explain(store: Store, key: str) -> Explanation:
    """Explain what happened to the input or article ``key`` (hash, prefix, URL or path)."""
    article = store.find_article_by_key(key)
    looks_like_hash = len(key) >= 6 and all(c in "0123456789abcdef" for c in key.lower())
    if article is not None and looks_like_hash:
        events = store.events_for(article_hash=article["hash"])
    else:
        events = store.events_for(key=key)
        if article is None:
            hashes = {e["article_hash"] for e in events if e["article_hash"]}
            article = store.find_article(sorted(hashes)[-1]) if len(hashes) == 1 else None
    result = Explanation(key, article, [(e, _sentence(store, e)) for e in events])
    if article is not None:
        result.notes = _article_notes(store, article)
    return result


def _article_notes(store: Store, article: dict[str, Any]) -> list[str]:
    index = store.neardup
    h = article["hash"]
    cluster = article.get("cluster") or h
    members = index.members(cluster)
    notes = [f"article {h}: first seen {article['first_seen']}"]
    if len(members) > 1:
        earliest = " (this is its earliest article)" if cluster == h else ""
        notes.append(f"cluster {cluster}: {len(members)} articles{earliest}")
    else:
        notes.append("cluster: none (no near-duplicate stored)")
    if not index.is_indexed(h):
        notes.append("not checked for near-duplicates: text too short to judge")
    notes += [f"linked: {describe_link(link, h)}" for link in index.links(h)]
    notes += [_archive_note(row) for row in store.archive_records_for(h)]
    notes += _revision_notes(store, h)
    return notes


def _revision_notes(store: Store, article_hash: str) -> list[str]:
    """Where the article stands in its story's revisions (none when never revised)."""
    from newsmill.revisions import history, story_of

    if story_of(store, article_hash) is None:
        return []
    rows = history(store, article_hash)
    mine = [r["number"] for r in rows if r["hash"] == article_hash]
    latest = next(r for r in reversed(rows) if r["latest"])
    where = "the latest" if latest["hash"] == article_hash else f"latest is {latest['hash']}"
    return [
        f"revision {mine[-1]} of {len(rows)} of story {rows[0]['hash']} ({where}; "
        f"newsmill show {article_hash[:12]} --revisions)"
    ]


def _archive_note(row: dict[str, Any]) -> str:
    """Where in a web archive the article was read (``newsmill ingest`` of a WARC/ARC)."""
    record = row["record_key"]
    ident = f", record {record}" if record.startswith("<urn:") else ""
    return (
        f"archive record: {row['name']} at offset {row['offset']}{ident} "
        f"({row['uri']}, {row['outcome']} in run {row['run_id']})"
    )
