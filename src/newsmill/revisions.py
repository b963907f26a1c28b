"""Revisits and revisions: an article URL fetched again, and a text that changed.

News articles are updated for hours after they appear. A crawl revisits the URLs of
articles first seen within a window (``newsmill crawl --revisit 24h``) with a conditional
GET; when the page comes back changed, :func:`judge` compares the new cleaned text with
the one the URL points to:

* the same text (same hash: whitespace, case, invisible characters) is ``unchanged``;
* a *trivial* edit (a typo or two fixed: see :data:`TRIVIAL_EDITS`) only updates
  ``last_seen``;
* anything more is a new *revision*: the new text is stored as its own article (its own
  hash: the hash key never breaks), the URL moves to it, and a ``revisions`` row links it
  to the text it replaced, with its fetch time and run.

The ``revisions`` table (migration ``m011_revisions``) holds one row per revision of a
story that has more than one; a story with a single text has no rows. ``story`` is the
hash of the story's first text, ``number`` counts from 1, and ``latest`` marks the row the
story's URL points to now. The view ``superseded_revisions`` lists the hashes that are an
earlier revision of some story and not its latest: ``export`` leaves them out unless
``--all-revisions``, and ``dups`` does not count them as articles of their cluster.

A table rather than columns on ``articles``: a revision is an event in a story's life (a
URL, a fetch time, a run) while an article row is one text, which may belong to several
URLs and sites; and the table leaves the articles schema, its full-text triggers and the
near-duplicate index untouched.
"""

from __future__ import annotations

import collections
import datetime as dt
import difflib
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from newsmill.neardup import NEAR_THRESHOLD, shingles, tokens

if TYPE_CHECKING:
    from newsmill.store import Store

# Revisit window and per-run bound (``newsmill crawl --revisit``, ``--revisit-max``).
DEFAULT_REVISIT = dt.timedelta(hours=24)
DEFAULT_REVISIT_MAX = 300
# A URL is not checked again sooner than this after its last fetch or check: a cron crawl
# every 30 minutes then revisits each recent article about once an hour, not every run.
REVISIT_EVERY = dt.timedelta(hours=1)

# What counts as a trivial edit: the two texts' tokens (the near-duplicate index's:
# normalized words, so whitespace, case and punctuation do not count) differ only by at most
# TRIVIAL_EDITS typo fixes, a typo fix being one or two words replaced by one or two words
# that are spelled alike (difflib ratio >= TYPO_LIKENESS: "ninty"/"ninety" 0.91,
# "recieve"/"receive" 0.86; "nine"/"eight" 0.22) and hold no digit (a changed number,
# "3 dead" -> "5 dead", is news). A word added or removed is never trivial ("not").
# And the new text must still be a near-duplicate of the old by the index's own measure
# (Jaccard similarity of their 5-word shingles >= neardup.NEAR_THRESHOLD): a typo fix changes
# up to 10 shingles, so in a very short text (under ~25 words) even one is not trivial, and
# in a 30-word text one is and two are not.
TRIVIAL_EDITS = 3
TYPO_LIKENESS = 0.6
TRIVIAL_SIMILARITY = NEAR_THRESHOLD

# The environment variable that sets "now" for revisit decisions (tests, replays): an ISO
# 8601 time. Nothing else reads it.
NOW_ENV = "NEWSMILL_NOW"

Kind = Literal["unchanged", "trivial", "revision"]


@dataclass(frozen=True, slots=True)
class Change:
    """How a text changed since the one its URL pointed to."""

    kind: Kind
    previous: str  # the hash the URL pointed to
    similarity: float  # Jaccard similarity of the two texts' shingles
    changed_shingles: int  # size of the symmetric difference of the shingle sets
    words_added: int
    words_removed: int

    def describe(self) -> str:
        return (
            f"+{self.words_added} -{self.words_removed} words, similarity "
            f"{self.similarity:.2f} to {self.previous[:12]}"
        )


# More shingles than this differ: not a few typo fixes (a fix of two words changes at most
# 12), so the word-level diff is not needed to tell.
TYPO_MAX_CHANGED = 12 * TRIVIAL_EDITS


def compare_texts(old: str, new: str, previous: str) -> Change:
    """Compare the stored text ``old`` (hash ``previous``) with a newly fetched ``new``.

    Linear in the texts' length, except a word-level diff of the span between the first
    and the last change when only a few shingles differ (a long text with a typo or two).
    """
    old_tokens, new_tokens = tokens(old), tokens(new)
    if old_tokens == new_tokens:
        return Change("unchanged", previous, 1.0, 0, 0, 0)
    a, b = shingles(old_tokens), shingles(new_tokens)
    union = len(a | b)
    changed = len(a ^ b)
    similarity = 1.0 - changed / union if union else 1.0
    counts_old, counts_new = collections.Counter(old_tokens), collections.Counter(new_tokens)
    added = sum((counts_new - counts_old).values())
    removed = sum((counts_old - counts_new).values())
    trivial = (
        changed <= TYPO_MAX_CHANGED
        and similarity >= TRIVIAL_SIMILARITY
        and _only_typo_fixes(old_tokens, new_tokens)
    )
    return Change(
        "trivial" if trivial else "revision", previous, similarity, changed, added, removed
    )


# Where two token sequences that differ at a position may agree again: (words skipped in
# the old text, in the new one), insertions and deletions first. A typo fix replaces one or
# two words by one or two.
_RESYNC = ((0, 1), (1, 0), (0, 2), (2, 0), (1, 1), (1, 2), (2, 1), (2, 2))
# Tokens that must agree after a change for the texts to be back in step: first a few (a
# common word alone, "that ... that", would often agree by chance), then one (two typos a
# word apart). A false match can only make a change look like an insertion, a deletion or
# a rewording (a revision), never like a typo fix the texts do not hold: every
# replacement is checked for likeness.
_RESYNC_WORDS = (4, 1)


def _only_typo_fixes(old: list[str], new: list[str]) -> bool:
    """Whether ``new`` is ``old`` with at most :data:`TRIVIAL_EDITS` typo fixes.

    One pass over both (a general diff is quadratic on long texts): at each difference, the
    nearest offsets where the texts agree again say what changed.
    """
    i = j = fixes = 0
    while True:
        while i < len(old) and j < len(new) and old[i] == new[j]:
            i += 1
            j += 1
        if i == len(old) and j == len(new):
            return True
        step = _resync(old, new, i, j)
        if step is None:
            return False  # more than two words changed in a row
        di, dj = step
        if not (di and dj and _typo_fix(old[i : i + di], new[j : j + dj])):
            return False  # a word inserted or removed, or a real rewording
        fixes += 1
        if fixes > TRIVIAL_EDITS:
            return False
        i += di
        j += dj


def _resync(old: list[str], new: list[str], i: int, j: int) -> tuple[int, int] | None:
    for k in _RESYNC_WORDS:
        for di, dj in _RESYNC:
            if old[i + di : i + di + k] == new[j + dj : j + dj + k]:
                return di, dj
    return None


def _typo_fix(old: list[str], new: list[str]) -> bool:
    """Whether replacing the words ``old`` by ``new`` looks like fixing a typo."""
    if len(old) > 2 or len(new) > 2:
        return False
    before, after = " ".join(old), " ".join(new)
    if any(c.isdigit() for c in before + after):
        return False
    return difflib.SequenceMatcher(None, before, after).ratio() >= TYPO_LIKENESS


def previous_article(store: Store, url_keys: list[str]) -> str | None:
    """The article the first recorded URL of ``url_keys`` (a revisited page's) points to."""
    return next((h for h in map(store.article_for_url, url_keys) if h), None)


def judge(store: Store, previous: str | None, new_hash: str, new_text: str) -> Change | None:
    """How the text ``new_text`` of a revisited page compares with ``previous``, the article
    its URL pointed to (None: not a revisit, or a URL not stored)."""
    if previous is None:
        return None
    if previous == new_hash:
        return Change("unchanged", previous, 1.0, 0, 0, 0)
    row = store.db.execute("select text from articles where hash = ?", [previous]).fetchone()
    if row is None:
        return None
    return compare_texts(row[0], new_text, previous)


def add_revision(
    store: Store, change: Change, new_hash: str, *, url: str, fetched_at: str, run_id: int
) -> int:
    """Record ``new_hash`` as the latest revision of the story ``change.previous`` belongs
    to (call in the transaction that stored it). Returns its revision number."""
    db = store.db
    previous = change.previous
    row = db.execute(
        "select story from revisions where hash = ? and latest = 1", [previous]
    ).fetchone()
    if row is None:
        # The story's first revision gets its row now, with the time it was first seen.
        first = db.execute(
            "select first_seen, first_run from articles where hash = ?", [previous]
        ).fetchone()
        story = previous
        db.execute(
            "insert into revisions (story, number, hash, previous, url, fetched_at, run_id, "
            "latest) values (?, 1, ?, null, ?, ?, ?, 1)",
            [story, previous, url, first[0], first[1]],
        )
    else:
        story = row[0]
    (number,) = db.execute(
        "select coalesce(max(number), 0) + 1 from revisions where story = ?", [story]
    ).fetchone()
    db.execute("update revisions set latest = 0 where story = ?", [story])
    # The story counts once in its site's template learning: the latest revision holds its
    # lines (templates.remember just recorded them), the earlier one stops counting (and so
    # is not cleaned again for lines its site learns later: it is history).
    db.execute("delete from site_lines where article_hash = ?", [previous])
    db.execute("delete from site_articles where article_hash = ?", [previous])
    db.execute(
        "insert into revisions (story, number, hash, previous, url, fetched_at, run_id, latest, "
        "similarity, words_added, words_removed) values (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
        [
            story,
            number,
            new_hash,
            previous,
            url,
            fetched_at,
            run_id,
            round(change.similarity, 4),
            change.words_added,
            change.words_removed,
        ],
    )
    return int(number)


def story_of(store: Store, article_hash: str) -> str | None:
    """The story (hash of its first text) ``article_hash`` is a revision of, if any."""
    row = store.db.execute(
        "select story from revisions where hash = ? order by latest desc, number desc limit 1",
        [article_hash],
    ).fetchone()
    return row[0] if row else None


def history(store: Store, article_hash: str) -> list[dict[str, Any]]:
    """Every revision of the story ``article_hash`` belongs to, first first, each with its
    text and title (one row, the article itself, when it has no other revision)."""
    story = story_of(store, article_hash)
    if story is None:
        rows = store.db.execute(
            "select hash, url, first_seen, first_run, title, text from articles where hash = ?",
            [article_hash],
        ).fetchall()
        return [
            {
                "number": 1,
                "hash": h,
                "url": url,
                "fetched_at": seen,
                "run_id": run,
                "latest": True,
                "previous": None,
                "title": title,
                "text": text,
            }
            for h, url, seen, run, title, text in rows
        ]
    cursor = store.db.execute(
        "select r.number, r.hash, r.previous, r.url, r.fetched_at, r.run_id, r.latest, "
        "r.similarity, r.words_added, r.words_removed, a.title, a.text "
        "from revisions r left join articles a on a.hash = r.hash "
        "where r.story = ? order by r.number",
        [story],
    )
    names = [d[0] for d in cursor.description]
    out = []
    for values in cursor:
        row = dict(zip(names, values, strict=True))
        row["latest"] = bool(row["latest"])
        out.append(row)
    return out


# -- word diff -------------------------------------------------------------------------------

_WORD = re.compile(r"\S+")
DIFF_CONTEXT = 6  # words shown either side of a change


def word_diff(old: str, new: str, *, context: int = DIFF_CONTEXT) -> list[str]:
    """The changes from ``old`` to ``new`` as ``git diff --word-diff`` marks them
    (``[-removed-]``, ``{+added+}``), one hunk per line with a few words of context."""
    a, b = _WORD.findall(old), _WORD.findall(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    hunks: list[str] = []
    for group in matcher.get_grouped_opcodes(context):
        parts: list[str] = []
        for op, i1, i2, j1, j2 in group:
            if op == "equal":
                parts.append(" ".join(a[i1:i2]))
                continue
            if i2 > i1:
                parts.append("[-" + " ".join(a[i1:i2]) + "-]")
            if j2 > j1:
                parts.append("{+" + " ".join(b[j1:j2]) + "+}")
        first_op, last_op = group[0], group[-1]
        lead = "… " if first_op[1] > 0 else ""
        tail = " …" if last_op[2] < len(a) else ""
        hunks.append(lead + " ".join(p for p in parts if p) + tail)
    return hunks


# -- which URLs to revisit ----------------------------------------------------------------------


def now() -> dt.datetime:
    """The time revisit decisions are made at: :data:`NOW_ENV` when set, else the clock."""
    value = os.environ.get(NOW_ENV)
    if value:
        parsed = dt.datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class Revisit:
    """A stored article URL to fetch again, with the validators of its last fetch."""

    url: str
    article_hash: str
    etag: str | None
    last_modified: str | None
    checked: str


def candidates(store: Store, window: dt.timedelta, *, at: dt.datetime) -> list[Revisit]:
    """The http(s) URLs whose story was first seen within ``window`` before ``at`` and that
    were not fetched or checked in the last :data:`REVISIT_EVERY`, least recently checked
    first. (The caller keeps those of its sources and applies its per-run bound.)"""
    since = _iso(at - window)
    checked_before = _iso(at - REVISIT_EVERY)
    rows = store.db.execute(
        """
        select p.url, p.article_hash, p.etag, p.last_modified,
               max(p.fetched_at, coalesce(p.checked_at, '')) as checked
        from articles a
        join pages p on p.article_hash = a.hash
        left join revisions r on r.hash = a.hash and r.latest = 1
        left join articles s on s.hash = r.story
        where a.first_seen >= ?
          and coalesce(s.first_seen, a.first_seen) >= ?
          and (p.url like 'http://%' or p.url like 'https://%')
          and max(p.fetched_at, coalesce(p.checked_at, '')) <= ?
          and p.url not in (select url from crawl_urls where retry_after > ?)
        order by checked, p.url
        """,
        [since, since, checked_before, _iso(at)],
    ).fetchall()
    return [Revisit(*row) for row in rows]


def mark_checked(store: Store, url: str, *, at: str, article_hash: str | None = None) -> None:
    """A revisit of ``url`` that brought no new page (304, or an error): remember when, and
    (for a 304) that its article was seen then."""
    with store.transaction():
        store.db.execute("update pages set checked_at = ? where url = ?", [at, url])
        if article_hash:
            store.db.execute(
                "update articles set last_seen = max(coalesce(last_seen, ''), ?) where hash = ?",
                [at, article_hash],
            )
            store.db.execute(
                "update urls set last_seen = ? where url = ? and article_hash = ?",
                [at, url, article_hash],
            )


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


def revision_numbers(store: Store) -> dict[str, tuple[str, int]]:
    """``{hash: (story, number)}`` of every revision (its latest number when a story went
    back to an earlier text), for ``export --all-revisions``."""
    rows = store.db.execute("select hash, story, number from revisions order by number")
    return {h: (story, number) for h, story, number in rows}
