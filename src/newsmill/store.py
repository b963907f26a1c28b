"""The SQLite store: articles keyed by content hash, the URLs that led to them, runs, events.

Only this module talks to sqlite-utils. The schema is built by numbered migrations that are
safe to apply on every start (:data:`migrations`).

Tables:

``articles``  one row per distinct cleaned text, keyed by ``hash``
``urls``      every URL or file that led to an article (many rows, one article)
``pages``     the raw input (zstd; :func:`decompress_page`) by URL, so articles can be reprocessed
``runs``      one row per run: command, arguments, start, end, status and counts
``events``    one row per input of a run: what happened to it and why
``articles_fts``  FTS5 index on title and text, kept in step by triggers
``neardup_*``     near-duplicate bands, links and parameters (:mod:`newsmill.neardup`)
``crawl_resources``  feeds, sitemaps, robots.txt, section pages: validators and last body
``crawl_urls``    article URLs that gave no article, and when to try them again
``crawl_sources`` per crawl source: its last run and last complete run
``template_backlog``  articles waiting to be cleaned again for lines their site learned
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlite_utils
import zstandard
from sqlite_utils import Migrations

from newsmill.classify import ARTICLE, CLASSES
from newsmill.dbutil import atomic
from newsmill.errors import QueryError, StoreError
from newsmill.fingerprint import NORMALIZATION_VERSION, content_hash
from newsmill.models import Article
from newsmill.neardup import Match, NearDupIndex, Sketch, create_tables

DEFAULT_DB_PATH = Path("data") / "news.db"

# zstd level for stored pages. Every fetched page is compressed, so the time is what a crawl
# feels: on bench/crawl.py's pages zstd level 3 takes 0.5 ms a page and makes them 5.0x
# smaller, zlib level 3 (what newsmill used before) 1.5 ms and 4.5x. Pages stored with zlib
# stay readable: decompress_page tells the two apart by zstd's magic number.
PAGE_COMPRESSION = 3
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_page_compressor = zstandard.ZstdCompressor(level=PAGE_COMPRESSION)


def compress_page(body: bytes) -> bytes:
    """Compress a raw page (or feed, sitemap) for the ``pages`` table (zstd)."""
    return _page_compressor.compress(body)


def decompress_page(blob: bytes) -> bytes:
    """The raw bytes of a stored page: a zstd frame, or zlib from older newsmill versions.

    From Python with only the standard library: pages start with ``b"\\x28\\xb5\\x2f\\xfd"``
    (zstd, ``pip install zstandard``) or ``b"x"`` (``zlib.decompress``)."""
    if blob[:4] == _ZSTD_MAGIC:
        return zstandard.ZstdDecompressor().decompress(blob)
    return zlib.decompress(blob)


# How long a writer waits for another process's transaction before giving up. Cron crawls
# and manual ingests may overlap; each transaction is one input, so waits are short.
BUSY_TIMEOUT_SECONDS = 60.0

ARTICLE_COLUMNS = (
    "hash",
    "url",
    "title",
    "author",
    "published",
    "site",
    "language",
    "text",
    "extraction",
    "language_detected",
)

migrations = Migrations("newsmill")

# Event reasons of pages quarantined as not articles (the classes of newsmill.classify).
QUARANTINE_REASONS = tuple(c for c in CLASSES if c != ARTICLE)


@migrations()
def m001_core(db: sqlite_utils.Database) -> None:
    db["articles"].create(
        {
            "hash": str,
            "url": str,
            "title": str,
            "author": str,
            "published": str,
            "site": str,
            "language": str,
            "text": str,
            "words": int,
            "norm_version": int,
            "first_seen": str,
            "first_run": int,
            "last_seen": str,
            "cluster": str,
        },
        pk="hash",
        not_null={"text", "norm_version", "first_seen"},
    )
    db["articles"].create_index(["site"])
    db["articles"].create_index(["first_seen"])
    db["articles"].create_index(["cluster"])
    db["articles"].enable_fts(["title", "text"], create_triggers=True, tokenize="porter")
    db["urls"].create(
        {
            "url": str,
            "article_hash": str,
            "kind": str,
            "first_seen": str,
            "last_seen": str,
            "times_seen": int,
            "first_run": int,
            "last_run": int,
        },
        pk="url",
        foreign_keys=[("article_hash", "articles", "hash")],
    )
    db["urls"].create_index(["article_hash"])
    db["pages"].create(
        {
            "url": str,
            "article_hash": str,
            "content_type": str,
            "body": bytes,
            "size": int,
            "fetched_at": str,
            "etag": str,
            "last_modified": str,
        },
        pk="url",
    )
    db["pages"].create_index(["article_hash"])
    db["runs"].create(
        {
            "id": int,
            "command": str,
            "args": str,
            "started": str,
            "ended": str,
            "status": str,
            "pid": int,
            "inputs": int,
            "new": int,
            "duplicate": int,
            "empty": int,
            "failed": int,
            "skipped": int,
            "counts": str,
        },
        pk="id",
    )
    db["events"].create(
        {
            "id": int,
            "run_id": int,
            "at": str,
            "input": str,
            "url": str,
            "outcome": str,
            "reason": str,
            "detail": str,
            "article_hash": str,
        },
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    db["events"].create_index(["run_id"])
    db["events"].create_index(["article_hash"])
    db["events"].create_index(["url"])
    db["events"].create_index(["input"])


@migrations()
def m002_neardup(db: sqlite_utils.Database) -> None:
    """Near-duplicate tables; articles stored before them are indexed now, oldest first."""
    create_tables(db)
    NearDupIndex(db).index_missing()


@migrations()
def m003_templates(db: sqlite_utils.Database) -> None:
    """Site templates (:mod:`newsmill.templates`), explanations and the record of hash moves.

    ``site_articles``  the site key of each article that takes part in template learning
    ``article_sources`` the hash of the text before template removal -> the article it became
                       (so a page seen again is recognised and not counted twice)
    ``site_lines``     which articles of a site hold which candidate line (by ``line_id``, a
                       64-bit hash of the normalized line); a line's count is its row count
    ``removed_lines``  every line the rules or a learned template took out of an article
    ``article_moves``  an article whose text (so hash) changed, and where it went
    """
    db["site_articles"].create({"article_hash": str, "site": str}, pk="article_hash")
    db["site_articles"].create_index(["site"])
    db["article_sources"].create({"source_hash": str, "article_hash": str}, pk="source_hash")
    db["article_sources"].create_index(["article_hash"])
    db.execute(
        """
        create table site_lines (
            site text not null,
            line_id integer not null,
            article_hash text not null,
            words integer not null,
            quoted integer not null,
            primary key (site, line_id, article_hash)
        ) without rowid
        """
    )
    db["site_lines"].create_index(["article_hash"])
    db["removed_lines"].create(
        {
            "article_hash": str,
            "position": int,
            "line": str,
            "rule": str,
            "line_id": int,
        },
        not_null={"article_hash", "line", "rule"},
    )
    db["removed_lines"].create_index(["article_hash"])
    db["article_moves"].create(
        {
            "id": int,
            "old_hash": str,
            "new_hash": str,
            "run_id": int,
            "at": str,
            "reason": str,
            "merged": int,
        },
        pk="id",
    )
    db["article_moves"].create_index(["old_hash"])
    db["article_moves"].create_index(["new_hash"])


@migrations()
def m004_crawl(db: sqlite_utils.Database) -> None:
    """Crawl state: conditional-request validators, per-URL fetch history, per-source runs."""
    # Feeds, sitemaps, robots.txt and section pages: the validators for the next
    # conditional request, and the last body (compressed) so a 304 can be re-read for free.
    db["crawl_resources"].create(
        {
            "url": str,
            "kind": str,
            "etag": str,
            "last_modified": str,
            "body": bytes,
            "fetched_at": str,
            "checked_at": str,
        },
        pk="url",
    )
    # Article URLs that were fetched and gave no article (an HTTP error, a timeout, not
    # HTML, too large, no text): when to try again. Stored articles are in ``urls``.
    db["crawl_urls"].create(
        {
            "url": str,
            "outcome": str,
            "reason": str,
            "failures": int,
            "last_tried": str,
            "retry_after": str,
            "last_run": int,
        },
        pk="url",
    )
    db["crawl_sources"].create(
        {"name": str, "last_run": int, "last_started": str, "last_success": str},
        pk="name",
    )
    for column in ("fetched", "not_modified", "robots_denied", "known"):
        db["runs"].add_column(column, int)


@migrations()
def m005_one_cluster_index(db: sqlite_utils.Database) -> None:
    # Earlier stores had two identical indexes on articles.cluster (m001's and one
    # the near-duplicate tables added); every article write paid for both.
    db.execute("drop index if exists articles_cluster")


@migrations()
def m006_fts_update_trigger_on_text_only(db: sqlite_utils.Database) -> None:
    # sqlite-utils' update trigger fires on every UPDATE of an articles row and tokenizes
    # the text into the full-text index twice (delete, insert): setting last_seen on a
    # duplicate, or the cluster of every member of a growing near-duplicate cluster, cost
    # as much as indexing the article again. Only title and text feed the index.
    db.executescript(
        """
        drop trigger if exists articles_au;
        create trigger articles_au after update of title, text on articles begin
          insert into articles_fts (articles_fts, rowid, title, text)
            values ('delete', old.rowid, old.title, old.text);
          insert into articles_fts (rowid, title, text) values (new.rowid, new.title, new.text);
        end;
        """
    )


@migrations()
def m007_template_backlog(db: sqlite_utils.Database) -> None:
    """Articles to clean again because their site learned a template line they hold
    (:func:`newsmill.templates.drain_backlog`), oldest first (rowid order)."""
    db.execute(
        """
        create table template_backlog (
            article_hash text primary key,
            site text not null,
            queued_at text not null
        )
        """
    )


@migrations()
def m008_archives(db: sqlite_utils.Database) -> None:
    """Web archives read by ``newsmill ingest`` (:mod:`newsmill.archive`).

    ``archives``         one row per archive file (keyed by its SHA-256, or its URL when
                         streamed from a server): how far an ingest got (``resume_at``, the
                         offset after the last record written) and whether it is done
    ``archive_records``  each response record ingested, by WARC-Record-ID (ARC records: the
                         archive key and offset), with where it is: re-ingesting an archive
                         recognises it without extracting it again, and ``explain`` names it
    """
    db.execute(
        """
        create table archives (
            key text primary key,
            name text not null,
            size integer,
            resume_at integer not null default 0,
            records integer not null default 0,
            status text not null,
            detail text,
            first_run integer,
            last_run integer
        )
        """
    )
    db.execute(
        """
        create table archive_records (
            record_key text primary key,
            archive text,
            name text not null,
            offset integer not null,
            uri text,
            outcome text not null,
            article_hash text,
            run_id integer
        )
        """
    )
    db.execute("create index archive_records_article_hash on archive_records (article_hash)")


@migrations()
def m009_extraction_path(db: sqlite_utils.Database) -> None:
    """``articles.extraction``: which extraction path produced the article's text, and why
    (``fast: ...``, ``full: ...``, ``merged: ...``, ``structured-data: ...``;
    :mod:`newsmill.extract`), shown by ``newsmill explain``. Kept on the article (not on
    each event): the text, and so the article, is what that path produced, and
    ``reprocess`` updates it with the text."""
    db["articles"].add_column("extraction", str)


@migrations()
def m010_quarantine(db: sqlite_utils.Database) -> None:
    """Pages that are not articles (:mod:`newsmill.classify`).

    ``articles.partial``  1 for a paywall teaser kept with ``--keep-teasers`` (the article
                          is only its free part)
    an index on ``events (outcome, reason)``: ``stats`` counts the quarantined pages by class
    """
    db["articles"].add_column("partial", int, not_null_default=0)
    db.execute("create index if not exists events_outcome_reason on events (outcome, reason)")


@migrations()
def m011_revisions(db: sqlite_utils.Database) -> None:
    """Revisions of a story whose text changed when its URL was revisited
    (:mod:`newsmill.revisions`), when each page URL was last checked, and a run counter.

    ``revisions``  one row per text of a story that has more than one: ``story`` (the hash
                   of its first text), ``number`` (from 1), ``hash``, ``previous``, the
                   ``url`` and ``fetched_at`` / ``run_id`` of the fetch, ``latest`` (1 on the
                   row its URL points to now), and how it differs from the previous text
    ``superseded_revisions``  (a view) the hashes that are an earlier revision and not the
                   latest of any story
    """
    db.execute(
        """
        create table revisions (
            id integer primary key,
            story text not null,
            number integer not null,
            hash text not null,
            previous text,
            url text,
            fetched_at text not null,
            run_id integer,
            latest integer not null default 0,
            similarity real,
            words_added integer,
            words_removed integer
        )
        """
    )
    db.execute("create index revisions_story on revisions (story, number)")
    db.execute("create index revisions_hash on revisions (hash)")
    db.execute(
        "create view superseded_revisions as select hash from revisions where latest = 0 "
        "except select hash from revisions where latest = 1"
    )
    db["pages"].add_column("checked_at", str)
    db["runs"].add_column("revisited", int)


@migrations()
def m012_language_detected(db: sqlite_utils.Database) -> None:
    """``articles.language_detected``: 1 when ``language`` was detected from the text
    (the page declares none; :mod:`newsmill.language`), 0 when the page declares it or
    the language is unknown (and for every article stored before)."""
    db["articles"].add_column("language_detected", int, not_null_default=0)


def utcnow() -> str:
    """Current UTC time as ISO 8601 with seconds, the format of every timestamp we store."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass
class RunCounts:
    """What a run did with its inputs. ``new + duplicate + empty + failed + skipped == inputs``."""

    inputs: int = 0
    new: int = 0
    duplicate: int = 0
    empty: int = 0
    failed: int = 0
    skipped: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str, reason: str | None = None) -> None:
        self.inputs += 1
        setattr(self, outcome, getattr(self, outcome) + 1)
        if reason:
            key = f"{outcome}:{reason}"
            self.reasons[key] = self.reasons.get(key, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Store:
    """newsmill's database. Open it with :meth:`open`; use as a context manager to close it."""

    def __init__(self, db: sqlite_utils.Database, path: Path | None = None) -> None:
        self.db = db
        self.path = path
        self._neardup: NearDupIndex | None = None
        self._columns: list[str] | None = None  # of ``articles``, read once

    @property
    def neardup(self) -> NearDupIndex:
        """The near-duplicate index (raises :class:`~newsmill.neardup.StaleIndex` when its
        parameters changed since it was built: see ``newsmill dups --rebuild``)."""
        if self._neardup is None:
            self._neardup = NearDupIndex(self.db)
        return self._neardup

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, migrate: bool = True) -> Store:
        """Open (creating if needed) the database at ``path`` and bring its schema up to date."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_SECONDS)
            db = sqlite_utils.Database(conn)
            _use_wal(conn)
            # NORMAL is durable in WAL mode except for the last commits before a power loss;
            # the database itself can't be corrupted by a crash.
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            # Checkpoint every 64 MB of WAL instead of 4 MB: a crawl commits one page at a
            # time (~100 KB with its raw HTML), and the frequent checkpoints (each one a copy
            # and an fsync) were 40% of its commit time (bench/crawl.py, 2,000 pages).
            conn.execute("PRAGMA wal_autocheckpoint=16384")
            store = cls(db, path)
            if migrate:
                store.migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        except OSError as exc:
            raise StoreError(f"cannot open database {path}: {exc.strerror or exc}") from exc
        return store

    def migrate(self) -> None:
        """Apply pending schema migrations (a no-op when the schema is current)."""
        if not migrations.pending(self.db):
            return
        # Hold the write lock while checking and applying, so two runs starting at once on
        # a new database don't both apply the same migration.
        with self.transaction():
            if migrations.pending(self.db):
                migrations.apply(self.db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction that takes the lock up front (``BEGIN IMMEDIATE``).

        A deferred transaction that later needs to write can fail at once with "database is
        locked" instead of waiting; taking the lock first makes concurrent writers queue up
        behind the busy timeout.
        """
        conn = self.db.conn
        if conn.in_transaction:
            with atomic(conn):
                yield self.db
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            conn.rollback()
            raise
        conn.commit()

    def commit_group(self) -> CommitGroup:
        """Writes that commit together, at most :data:`GROUP_COMMIT_SECONDS` apart."""
        return CommitGroup(self)

    # -- runs ----------------------------------------------------------------------------

    def start_run(self, command: str, args: dict[str, Any]) -> int:
        """Open a ledger row for a run; close it with :meth:`finish_run`."""
        with self.transaction():
            self._mark_interrupted_runs()
            row = {
                "command": command,
                "args": json.dumps(args, sort_keys=True, default=str),
                "started": utcnow(),
                "status": "running",
                "pid": os.getpid(),
            }
            return int(self.db["runs"].insert(row).last_pk)

    @contextlib.contextmanager
    def recorded_run(self, command: str, args: dict[str, Any]) -> Iterator[tuple[int, RunCounts]]:
        """A run with its ledger row: ``ok`` when the block ends, ``interrupted`` on Ctrl-C,
        ``failed`` on any other exception. Yields the run id and the counts to fill in."""
        run_id = self.start_run(command, args)
        counts = RunCounts()
        status = "failed"
        try:
            yield run_id, counts
            status = "ok"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            self.finish_run(run_id, counts, status)

    def finish_run(self, run_id: int, counts: RunCounts, status: str = "ok") -> None:
        with self.transaction():
            self.db["runs"].update(
                run_id,
                {
                    "ended": utcnow(),
                    "status": status,
                    "inputs": counts.inputs,
                    "new": counts.new,
                    "duplicate": counts.duplicate,
                    "empty": counts.empty,
                    "failed": counts.failed,
                    "skipped": counts.skipped,
                    "counts": json.dumps(counts.reasons, sort_keys=True),
                },
            )

    def run(self, run_id: int) -> dict[str, Any]:
        return dict(self.db["runs"].get(run_id))

    def _mark_interrupted_runs(self) -> None:
        """Close ledger rows left 'running' by a process that no longer exists."""
        for row in self.db.query("select id, pid from runs where status = 'running'"):
            if not process_alive(row["pid"]):
                self.db["runs"].update(row["id"], {"status": "interrupted"})

    # -- articles and sightings ----------------------------------------------------------

    def has_article(self, article_hash: str) -> bool:
        return bool(
            self.db.execute("select 1 from articles where hash = ?", [article_hash]).fetchone()
        )

    def add_article(self, article: Article, *, run_id: int, seen_at: str) -> bool:
        """Store ``article`` unless its hash is already there. Returns True when it was new."""
        if self.has_article(article.hash):
            self.db.execute(
                "update articles set last_seen = ? where hash = ?", [seen_at, article.hash]
            )
            return False
        row = {name: getattr(article, name) for name in ARTICLE_COLUMNS}
        row.update(
            words=len(article.text.split()),
            norm_version=NORMALIZATION_VERSION,
            first_seen=seen_at,
            first_run=run_id,
            last_seen=seen_at,
            cluster=article.hash,
        )
        self._insert("articles", row)
        return True

    def mark_partial(self, article_hash: str) -> None:
        """Flag an article as only part of the page's text (a paywall teaser kept)."""
        self.db.execute("update articles set partial = 1 where hash = ?", [article_hash])

    def rebuild_near_duplicates(self) -> int:
        """Recompute every near-duplicate signature, link and cluster (after an upgrade)."""
        with self.transaction():
            self._neardup = NearDupIndex(self.db, check_params=False)
            return self._neardup.rebuild()

    def link_near_duplicates(
        self, article: Article, *, seen_at: str, sketch: Sketch | None = None
    ) -> Match | None:
        """Check a newly stored article against the store and link it to its cluster.

        Call it in the transaction that inserted the article: both commit or neither does.
        ``sketch`` is the article text's sketch when it was computed elsewhere (a worker).
        """
        return self.neardup.add(article.hash, article.text, seen_at, sketch=sketch)

    def record_url(
        self, url: str, article_hash: str, *, kind: str, run_id: int, seen_at: str
    ) -> None:
        """Record that ``url`` led to ``article_hash`` (a new sighting or a repeat one)."""
        self.db.execute(
            """
            insert into urls (url, article_hash, kind, first_seen, last_seen, times_seen,
                              first_run, last_run)
            values (?, ?, ?, ?, ?, 1, ?, ?)
            on conflict(url) do update set article_hash = excluded.article_hash,
                last_seen = excluded.last_seen, times_seen = times_seen + 1,
                last_run = excluded.last_run
            """,
            [url, article_hash, kind, seen_at, seen_at, run_id, run_id],
        )

    def save_page(
        self,
        url: str,
        body: bytes,
        *,
        article_hash: str | None,
        content_type: str,
        fetched_at: str,
        etag: str | None = None,
        last_modified: str | None = None,
        compressed: bytes | None = None,
    ) -> None:
        """Keep the raw input, compressed, so the article can be re-extracted later.

        ``compressed`` is :func:`compress_page` of ``body`` when a worker already did it.
        """
        self._upsert(
            "pages",
            {
                "url": url,
                "article_hash": article_hash,
                "content_type": content_type,
                "body": compressed if compressed is not None else compress_page(body),
                "size": len(body),
                "fetched_at": fetched_at,
                "etag": etag,
                "last_modified": last_modified,
            },
            pk="url",
        )

    def _rows(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        """The rows of one of this module's own SELECTs, as dicts. ``db.query`` wraps every
        query in a savepoint (two more statements) to reject SQL that is not a query; the
        crawl asks several of these per page."""
        cursor = self.db.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def _insert(self, table: str, row: dict[str, Any]) -> None:
        """``insert`` of one row in plain SQL: the per-page writes skip sqlite-utils'
        schema lookups (a third of the time of a small insert)."""
        names = ", ".join(row)
        marks = ", ".join("?" * len(row))
        self.db.execute(f"insert into {table} ({names}) values ({marks})", list(row.values()))

    def _upsert(self, table: str, row: dict[str, Any], *, pk: str) -> None:
        """Insert ``row``, or update the given columns of the row with the same ``pk``."""
        names = ", ".join(row)
        marks = ", ".join("?" * len(row))
        updates = ", ".join(f"{name} = excluded.{name}" for name in row if name != pk)
        self.db.execute(
            f"insert into {table} ({names}) values ({marks}) "
            f"on conflict({pk}) do update set {updates}",
            list(row.values()),
        )

    def kept_out_pages(self) -> list[dict[str, Any]]:
        """The stored raw pages whose latest event keeps them out of the articles: a
        quarantine (a wall, an error page, a listing) or a language skip. Each with the
        input that event named, its reason, and the page's fetch details."""
        reasons = (*QUARANTINE_REASONS, "language")
        marks = ",".join("?" * len(reasons))
        return self._rows(
            "select p.url, e.input, e.reason, p.content_type, p.fetched_at, p.etag, "
            "p.last_modified from pages p join events e on e.id = ("
            "  select max(id) from events where url = p.url or (url is null and input = p.url)"
            f") where p.article_hash is null and e.outcome = 'skipped' and e.reason in ({marks}) "
            "order by p.fetched_at, p.url",
            list(reasons),
        )

    def page_body(self, url: str) -> bytes | None:
        row = self.db.execute("select body from pages where url = ?", [url]).fetchone()
        return decompress_page(row[0]) if row else None

    def record_event(
        self,
        run_id: int,
        *,
        input: str,
        outcome: str,
        url: str | None = None,
        reason: str | None = None,
        detail: str | None = None,
        article_hash: str | None = None,
    ) -> None:
        self._insert(
            "events",
            {
                "run_id": run_id,
                "at": utcnow(),
                "input": input,
                "url": url,
                "outcome": outcome,
                "reason": reason,
                "detail": detail,
                "article_hash": article_hash,
            },
        )

    # -- web archives --------------------------------------------------------------------

    def archive(self, key: str) -> dict[str, Any] | None:
        rows = self._rows("select * from archives where key = ?", [key])
        return rows[0] if rows else None

    def start_archive(self, key: str, *, name: str, size: int | None, run_id: int) -> None:
        """Note that ``run_id`` reads the archive ``key`` (a new row, or the same archive
        again under any name)."""
        with self.transaction():
            self.db.execute(
                "insert into archives (key, name, size, status, first_run, last_run) "
                "values (?, ?, ?, 'partial', ?, ?) "
                "on conflict(key) do update set name = excluded.name, last_run = excluded.last_run",
                [key, name, size, run_id, run_id],
            )

    def finish_archive(self, key: str, *, status: str, detail: str | None = None) -> None:
        """``status``: ``done`` (read to its end) or ``corrupt`` (unreadable past
        ``resume_at``); either way a later ingest of the same file skips it."""
        self.db.execute(
            "update archives set status = ?, detail = ? where key = ?", [status, detail, key]
        )

    def archive_record(self, record_key: str) -> dict[str, Any] | None:
        rows = self._rows("select * from archive_records where record_key = ?", [record_key])
        return rows[0] if rows else None

    def note_archive_record(
        self,
        *,
        archive: str | None,
        record_key: str | None,
        name: str,
        offset: int,
        end: int,
        uri: str | None,
        outcome: str,
        article_hash: str | None,
        run_id: int,
    ) -> None:
        """Record one archive record as done (call it in the transaction that wrote its
        outcome, so a kill leaves both or neither) and move the archive's resume point."""
        if record_key is not None:
            self._upsert(
                "archive_records",
                {
                    "record_key": record_key,
                    "archive": archive,
                    "name": name,
                    "offset": offset,
                    "uri": uri,
                    "outcome": outcome,
                    "article_hash": article_hash,
                    "run_id": run_id,
                },
                pk="record_key",
            )
        if archive is not None:
            self.db.execute(
                "update archives set resume_at = max(resume_at, ?), records = records + 1 "
                "where key = ?",
                [end, archive],
            )

    def archive_records_for(self, article_hash: str) -> list[dict[str, Any]]:
        """The archive records an article was read from, first ingested first."""
        return self._rows(
            "select * from archive_records where article_hash = ? order by run_id, offset",
            [article_hash],
        )

    # -- crawl state ---------------------------------------------------------------------

    def article_for_url(self, url: str) -> str | None:
        """The hash of the stored article ``url`` led to, or None."""
        row = self.db.execute("select article_hash from urls where url = ?", [url]).fetchone()
        return row[0] if row else None

    def crawl_url(self, url: str) -> dict[str, Any] | None:
        """The fetch history of an article URL that gave no article (see ``crawl_urls``)."""
        rows = self._rows("select * from crawl_urls where url = ?", [url])
        return rows[0] if rows else None

    def set_crawl_url(
        self, url: str, *, outcome: str, reason: str | None, retry_after: str, run_id: int
    ) -> None:
        self.db.execute(
            """
            insert into crawl_urls (url, outcome, reason, failures, last_tried, retry_after,
                                    last_run)
            values (?, ?, ?, 1, ?, ?, ?)
            on conflict(url) do update set outcome = excluded.outcome,
                reason = excluded.reason, failures = failures + 1,
                last_tried = excluded.last_tried, retry_after = excluded.retry_after,
                last_run = excluded.last_run
            """,
            [url, outcome, reason, utcnow(), retry_after, run_id],
        )

    def clear_crawl_url(self, url: str) -> None:
        self.db.execute("delete from crawl_urls where url = ?", [url])

    def resource(self, url: str) -> dict[str, Any] | None:
        """The stored state of a feed, sitemap, robots.txt or section page."""
        rows = self._rows("select * from crawl_resources where url = ?", [url])
        if not rows:
            return None
        row = rows[0]
        row["body"] = decompress_page(row["body"]) if row["body"] else None
        return row

    def save_resource(
        self,
        url: str,
        *,
        kind: str,
        body: bytes | None,
        etag: str | None,
        last_modified: str | None,
        not_modified: bool = False,
    ) -> None:
        """Remember a hub resource's validators and body; on a 304 only its check time."""
        now = utcnow()
        with self.transaction():
            if not_modified:
                self.db.execute(
                    "update crawl_resources set checked_at = ? where url = ?", [now, url]
                )
                return
            self.db["crawl_resources"].upsert(
                {
                    "url": url,
                    "kind": kind,
                    "etag": etag,
                    "last_modified": last_modified,
                    "body": compress_page(body) if body is not None else None,
                    "fetched_at": now,
                    "checked_at": now,
                },
                pk="url",
            )

    def source_last_success(self, name: str) -> str | None:
        """When the last run that completed over source ``name`` started."""
        row = self.db.execute(
            "select last_success from crawl_sources where name = ?", [name]
        ).fetchone()
        return row[0] if row else None

    def finish_source(self, name: str, *, run_id: int, started: str, success: bool) -> None:
        row: dict[str, Any] = {"name": name, "last_run": run_id, "last_started": started}
        if success:
            row["last_success"] = started
        with self.transaction():
            self.db["crawl_sources"].upsert(row, pk="name")

    def set_run_crawl_counts(self, run_id: int, **counts: int) -> None:
        """Store a crawl's extra counts (``fetched``, ``not_modified``, ...) on its runs row."""
        with self.transaction():
            self.db["runs"].update(run_id, counts)

    # -- reading -------------------------------------------------------------------------

    def find_article(self, hash_or_prefix: str) -> dict[str, Any] | None:
        """The article whose hash is or starts with ``hash_or_prefix`` (at least 6 hex digits).

        Raises :class:`StoreError` when a prefix matches more than one article.
        """
        key = hash_or_prefix.strip().lower()
        if len(key) < 6 or any(c not in "0123456789abcdef" for c in key):
            return None
        rows = list(
            self.db.query(
                "select * from articles where hash >= ? and hash < ? order by hash limit 2",
                [key, key + "g"],
            )
        )
        if len(rows) > 1:
            raise StoreError(f"hash prefix {key} matches more than one article")
        if not rows:
            return None
        article = rows[0]
        article["urls"] = [
            row["url"]
            for row in self.db.query(
                "select url from urls where article_hash = ? order by first_seen, url",
                [article["hash"]],
            )
        ]
        return article

    def find_article_by_key(self, key: str) -> dict[str, Any] | None:
        """The article a hash, hash prefix or recorded URL (or file path) names."""
        if "://" in key or key.startswith("file:"):
            url = key
        elif Path(key).exists():
            url = Path(key).resolve().as_uri()
        else:
            return self.find_article(key)
        row = self.db.execute("select article_hash from urls where url = ?", [url]).fetchone()
        return self.find_article(row[0]) if row else None

    def iter_articles(
        self, *, site: str | None = None, unique: bool = False, all_revisions: bool = True
    ) -> Iterator[dict[str, Any]]:
        """All articles in the order they were first stored (then by hash).

        ``unique``: one article per near-duplicate cluster, the earliest (the one whose hash
        names the cluster). ``all_revisions=False``: a story's latest revision only (its
        earlier ones are left out; ``unique`` then keeps each cluster's earliest article
        of those left).
        """
        conditions, params = [], []
        if site:
            conditions.append("site = ?")
            params.append(site)
        if not all_revisions:
            conditions.append("hash not in (select hash from superseded_revisions)")
        if unique and all_revisions:
            conditions.append("cluster = hash")
        where = f"where {' and '.join(conditions)}" if conditions else ""
        sql = f"select * from articles {where} order by first_seen, hash"
        if unique and not all_revisions:
            # The cluster's earliest article may be a superseded revision: take the earliest
            # of the articles left.
            sql = (
                "select * from (select *, row_number() over (partition by "
                "coalesce(cluster, hash) order by first_seen, hash) as nth_in_cluster "
                f"from articles {where}) where nth_in_cluster = 1 order by first_seen, hash"
            )
        for row in self.db.query(sql, params):
            row.pop("nth_in_cluster", None)
            yield row

    def events_for(
        self, *, article_hash: str | None = None, key: str | None = None
    ) -> list[dict[str, Any]]:
        """The ledger rows about an article, or about an input (URL or file path)."""
        if article_hash:
            sql, params = "select * from events where article_hash = ? order by id", [article_hash]
        else:
            keys = [key]
            if key and "://" not in key and not key.startswith("file:"):
                path = Path(key)
                keys += [str(path.resolve()), path.resolve().as_uri()]
            marks = ",".join("?" * len(keys))
            sql = f"select * from events where url in ({marks}) or input in ({marks}) order by id"
            params = [*keys, *keys]
        return list(self.db.query(sql, params))

    def search(self, query: str, *, limit: int = 20) -> list[dict[str, Any]]:
        """Full-text search over titles and texts, best matches first.

        ``query`` is FTS5 syntax (words, "phrases", AND/OR/NOT, prefix*). Raises
        :class:`QueryError` when it is not valid FTS5.
        """
        sql = """
            select articles.hash, articles.url, articles.title, articles.published,
                   articles.site,
                   snippet(articles_fts, 1, '[', ']', '…', 12) as snippet
            from articles_fts join articles on articles.rowid = articles_fts.rowid
            where articles_fts match ? order by rank limit ?
        """
        try:
            return list(self.db.query(sql, [query, limit]))
        except sqlite3.OperationalError as exc:
            # The schema is ours, so an error here comes from the query itself ("fts5: syntax
            # error", "unterminated string", "no such column" for a stray colon...), unless
            # the database is busy or broken.
            message = str(exc)
            if "locked" in message or "busy" in message or "malformed" in message:
                raise StoreError(message) from exc
            raise QueryError(f"not a valid search query: {query!r} ({message})") from exc

    def stats(self) -> dict[str, Any]:
        def scalar(sql: str) -> Any:
            return self.db.execute(sql).fetchone()[0]

        last = next(iter(self.db.query("select * from runs order by id desc limit 1")), None)
        return {
            "database": str(self.path) if self.path else None,
            "articles": scalar("select count(*) from articles"),
            "urls": scalar("select count(*) from urls"),
            "pages": scalar("select count(*) from pages"),
            "sites": scalar("select count(distinct site) from articles"),
            "words": scalar("select coalesce(sum(words), 0) from articles"),
            "runs": scalar("select count(*) from runs"),
            "template_backlog": scalar("select count(*) from template_backlog"),
            "archives": dict(
                self.db.execute("select status, count(*) from archives group by 1").fetchall()
            ),
            "archive_records": scalar("select count(*) from archive_records"),
            "revisions": scalar("select count(*) from revisions where number > 1"),
            "revised_stories": scalar("select count(distinct story) from revisions"),
            "first_seen": scalar("select min(first_seen) from articles"),
            "last_seen": scalar("select max(last_seen) from articles"),
            "languages": dict(
                self.db.execute(
                    "select coalesce(language, '?'), count(*) from articles "
                    "group by 1 order by 2 desc, 1 limit 10"
                ).fetchall()
            ),
            "top_sites": dict(
                self.db.execute(
                    "select coalesce(site, '?'), count(*) from articles "
                    "group by 1 order by 2 desc, 1 limit 10"
                ).fetchall()
            ),
            # Pages skipped as walls, error pages or listings (newsmill.classify), and for
            # their language: distinct URLs that have no article now, by class / language.
            "quarantined": self._skips_by("reason", QUARANTINE_REASONS),
            "languages_skipped": self._skips_by("detail", ("language",)),
            "partial": scalar("select count(*) from articles where partial = 1"),
            "last_run": last,
            "size_bytes": self.path.stat().st_size if self.path and self.path.exists() else 0,
        }

    def _skips_by(self, column: str, reasons: tuple[str, ...]) -> dict[str, int]:
        marks = ",".join("?" * len(reasons))
        sql = (
            f"select {column}, count(distinct coalesce(url, input)) from events "
            f"where outcome = 'skipped' and reason in ({marks}) "
            "and coalesce(url, input) not in (select url from urls) group by 1 order by 2 desc, 1"
        )
        return dict(self.db.execute(sql, list(reasons)).fetchall())

    # -- site templates, explanations and hash moves (newsmill.templates, reprocess) --------

    def article_site(self, article_hash: str) -> str | None:
        row = self.db.execute(
            "select site from site_articles where article_hash = ?", [article_hash]
        ).fetchone()
        return row[0] if row else None

    def site_article_count(self, site: str, *, at_most: int | None = None) -> int:
        """How many articles ``site`` has; with ``at_most``, counting stops there (a site's
        full count reads its whole index range, and template learning asks on every page
        only whether the site is past a small threshold)."""
        return int(
            self.db.execute(
                "select count(*) from (select 1 from site_articles where site = ? limit ?)",
                [site, _limit(at_most)],
            ).fetchone()[0]
        )

    def line_counts(
        self,
        site: str,
        line_ids: list[int],
        *,
        exclude: str | None = None,
        at_most: int | None = None,
    ) -> dict[int, int]:
        """How many distinct articles of ``site`` hold each line (``exclude`` not counted).

        With ``at_most``, each count stops there: a site's template line is held by nearly
        all of its articles, and counting them all on every page would grow with the site.
        """
        rows = self.db.execute(
            "select j.value, (select count(*) from (select 1 from site_lines where "
            "site = ? and line_id = j.value and article_hash != ? limit ?)) "
            "from json_each(?) as j",
            [site, exclude or "", _limit(at_most), json.dumps(line_ids)],
        )
        return {int(line_id): int(n) for line_id, n in rows if n}

    def site_lines_of(self, article_hash: str) -> list[dict[str, Any]]:
        return self._rows(
            "select site, line_id, words, quoted from site_lines where article_hash = ?",
            [article_hash],
        )

    def articles_holding(self, site: str, line_ids: list[int]) -> list[str]:
        """Hashes of the articles of ``site`` that hold any of ``line_ids``, oldest first."""
        found: set[str] = set()
        for start in range(0, len(line_ids), 500):
            chunk = line_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"select distinct article_hash from site_lines where site = ? and line_id in "
                f"({marks})",
                [site, *chunk],
            )
            found.update(row[0] for row in rows)
        if not found:
            return []
        # Order just the holders (not a scan of every article: this runs on every crossing).
        rows = self.db.execute(
            "select hash, first_seen from articles where hash in (select value from json_each(?))",
            [json.dumps(sorted(found))],
        ).fetchall()
        first_seen = {h: seen or "" for h, seen in rows}
        return sorted(found, key=lambda h: (h not in first_seen, first_seen.get(h, ""), h))

    def article_for_source(self, source_hash: str) -> str | None:
        row = self.db.execute(
            "select article_hash from article_sources where source_hash = ?", [source_hash]
        ).fetchone()
        return row[0] if row else None

    def add_source(self, source_hash: str, article_hash: str) -> None:
        self.db.execute(
            "insert into article_sources (source_hash, article_hash) values (?, ?) "
            "on conflict(source_hash) do update set article_hash = excluded.article_hash",
            [source_hash, article_hash],
        )

    def update_article_fields(self, article_hash: str, fields: dict[str, Any]) -> None:
        """Update metadata columns of an article (not its text or hash)."""
        fields = {
            k: v for k, v in fields.items() if k in ARTICLE_COLUMNS and k not in ("hash", "text")
        }
        if fields:
            self.db["articles"].update(article_hash, fields)

    def site_hashes(self, site: str) -> list[str]:
        return [
            row[0]
            for row in self.db.execute(
                "select article_hash from site_articles where site = ?", [site]
            )
        ]

    def queue_reclean(self, site: str, article_hashes: list[str]) -> None:
        """Put articles of ``site`` in the template backlog (once each, in order)."""
        at = utcnow()
        self.db.conn.executemany(
            "insert or ignore into template_backlog (article_hash, site, queued_at) "
            "values (?, ?, ?)",
            [(h, site, at) for h in article_hashes],
        )

    def backlog(self, *, limit: int = 1000, queued_by: str | None = None) -> list[str]:
        """The articles waiting in the template backlog, oldest first; ``queued_by``: only
        those queued at or before then (an ISO time, as :func:`utcnow` gives)."""
        rows = self.db.execute(
            "select article_hash from template_backlog where ? is null or queued_at <= ? "
            "order by rowid limit ?",
            [queued_by, queued_by, limit],
        )
        return [row[0] for row in rows]

    def queued_for_source(self, source_hash: str) -> str | None:
        """The article with source text hash ``source_hash``, if it is in the backlog."""
        row = self.db.execute(
            "select b.article_hash from article_sources s join template_backlog b "
            "on b.article_hash = s.article_hash where s.source_hash = ?",
            [source_hash],
        ).fetchone()
        return row[0] if row else None

    def backlog_since(self) -> str | None:
        """When the oldest article in the template backlog was queued (None: it is empty)."""
        row = self.db.execute(
            "select queued_at from template_backlog order by rowid limit 1"
        ).fetchone()
        return row[0] if row else None

    def unqueue(self, article_hash: str) -> None:
        self.db.execute("delete from template_backlog where article_hash = ?", [article_hash])

    def remember_lines(
        self,
        article_hash: str,
        site: str,
        lines: list[tuple[int, int, bool]],
        *,
        replace: bool,
    ) -> None:
        """Record that ``article_hash`` (of ``site``) holds ``lines`` ((line_id, words,
        quoted) triples). ``replace`` forgets the lines it held before; otherwise they add up
        (another page of the same article)."""
        if replace:
            self.db.execute("delete from site_lines where article_hash = ?", [article_hash])
        self.db.execute(
            "insert into site_articles (article_hash, site) values (?, ?) "
            "on conflict(article_hash) do update set site = excluded.site",
            [article_hash, site],
        )
        self.db.conn.executemany(
            "insert or ignore into site_lines (site, line_id, article_hash, words, quoted) "
            "values (?, ?, ?, ?, ?)",
            [(site, line_id, article_hash, words, int(quoted)) for line_id, words, quoted in lines],
        )

    def set_removed_lines(
        self, article_hash: str, rows: list[tuple[int | None, str, str, int | None]]
    ) -> None:
        """Replace the explanation of ``article_hash``: (position, line, rule, line_id) rows.

        ``position`` is the line's index in the text before template removal (None for lines
        the rules removed during extraction)."""
        self.db.execute("delete from removed_lines where article_hash = ?", [article_hash])
        self.db.conn.executemany(
            "insert into removed_lines (article_hash, position, line, rule, line_id) "
            "values (?, ?, ?, ?, ?)",
            [(article_hash, *row) for row in rows],
        )

    def removed_lines(self, article_hash: str) -> list[dict[str, Any]]:
        return self._rows(
            "select position, line, rule, line_id from removed_lines "
            "where article_hash = ? order by rowid",
            [article_hash],
        )

    def article_page(self, article_hash: str, url: str | None) -> tuple[str, bytes] | None:
        """The raw page to re-extract ``article_hash`` from: the one stored under its URL,
        else the most recently fetched one."""
        row = self.db.execute(
            "select url, body from pages where article_hash = ? "
            "order by url = ? desc, fetched_at desc, url limit 1",
            [article_hash, url or ""],
        ).fetchone()
        return (row[0], decompress_page(row[1])) if row else None

    def move_article(
        self,
        old_hash: str,
        text: str,
        *,
        run_id: int | None,
        reason: str,
        sketch: Sketch | None = None,
    ) -> tuple[str, bool]:
        """Give the article ``old_hash`` the new ``text`` and so its new hash.

        Everything that points at the article follows it: URLs, pages, near-duplicate
        cluster ids, events, the template memberships and explanations. When another article
        already has the new hash the two are merged (the earliest first sighting wins; the
        old explanation is dropped, the surviving article keeps its own). ``article_moves``
        keeps the old hash and says where it went (``explain OLD_HASH``). Call inside a
        transaction. Returns (new hash, merged). ``sketch``: the near-duplicate sketch of
        ``text``, when it was made elsewhere.
        """
        new_hash = content_hash(text)
        words = len(text.split())
        if new_hash == old_hash:
            self.db.execute(
                "update articles set text = ?, words = ? where hash = ? and text != ?",
                [text, words, old_hash, text],
            )
            return old_hash, False
        merged = self.has_article(new_hash)
        cursor = self.db.execute(
            "select first_seen, first_run, last_seen, text from articles where hash = ?",
            [old_hash],
        )
        old = dict(
            zip(("first_seen", "first_run", "last_seen", "text"), cursor.fetchone(), strict=True)
        )
        if merged:
            # Out of the near-duplicate index under its old text: its links go and the rest
            # of its cluster is re-linked (it may have been the bridge that held the cluster).
            self.neardup.remove(old_hash, old["text"])
            self.db.execute(
                """
                update articles set
                    first_run = case when ? < first_seen then ? else first_run end,
                    first_seen = min(first_seen, ?),
                    last_seen = max(coalesce(last_seen, ''), coalesce(?, ''))
                where hash = ?
                """,
                [
                    old["first_seen"],
                    old["first_run"],
                    old["first_seen"],
                    old["last_seen"],
                    new_hash,
                ],
            )
        else:
            # A copy of the row with the new text, inserted as such: the full-text index
            # then sees one insert (and one delete below) instead of an insert and an update.
            new_values = {
                "hash": new_hash,
                "text": text,
                "words": words,
                "norm_version": NORMALIZATION_VERSION,
                "cluster": new_hash,
            }
            columns = self._article_columns()
            names = ", ".join(columns)
            values = ", ".join("?" if c in new_values else c for c in columns)
            self.db.execute(
                f"insert into articles ({names}) select {values} from articles where hash = ?",
                [*(new_values[c] for c in columns if c in new_values), old_hash],
            )
            # The near-duplicate index follows: the links hold if the new text still
            # verifies against each linked article, else the cluster is re-linked.
            self.neardup.replace(
                old_hash, new_hash, text, old["first_seen"], old_text=old["text"], sketch=sketch
            )
        for table in ("urls", "pages", "events", "archive_records"):
            self.db.execute(
                f"update {table} set article_hash = ? where article_hash = ?", [new_hash, old_hash]
            )
        for column in ("story", "hash", "previous"):  # a revision keeps its place in its story
            self.db.execute(
                f"update revisions set {column} = ? where {column} = ?", [new_hash, old_hash]
            )
        self.db.execute(
            "insert or ignore into site_lines (site, line_id, article_hash, words, quoted) "
            "select site, line_id, ?, words, quoted from site_lines where article_hash = ?",
            [new_hash, old_hash],
        )
        self.db.execute("delete from site_lines where article_hash = ?", [old_hash])
        self.db.execute(
            "update article_sources set article_hash = ? where article_hash = ?",
            [new_hash, old_hash],
        )
        # A queued article stays queued under its new hash (or its merged one's).
        self.db.execute(
            "update or ignore template_backlog set article_hash = ? where article_hash = ?",
            [new_hash, old_hash],
        )
        self.db.execute("delete from template_backlog where article_hash = ?", [old_hash])
        if merged:
            self.db.execute("delete from removed_lines where article_hash = ?", [old_hash])
            self.db.execute("delete from site_articles where article_hash = ?", [old_hash])
        else:
            for table in ("removed_lines", "site_articles"):
                self.db.execute(
                    f"update {table} set article_hash = ? where article_hash = ?",
                    [new_hash, old_hash],
                )
        self.db.execute("delete from articles where hash = ?", [old_hash])
        self._insert(
            "article_moves",
            {
                "old_hash": old_hash,
                "new_hash": new_hash,
                "run_id": run_id,
                "at": utcnow(),
                "reason": reason,
                "merged": int(merged),
            },
        )
        return new_hash, merged

    def _article_columns(self) -> list[str]:
        if self._columns is None:
            self._columns = [c.name for c in self.db["articles"].columns]
        return self._columns

    def moved_to(self, old_hash: str) -> list[dict[str, Any]]:
        """The chain of moves from ``old_hash`` to the article's current hash."""
        chain: list[dict[str, Any]] = []
        current, seen = old_hash, {old_hash}
        while True:
            row = next(
                self.db.query(
                    "select * from article_moves where old_hash = ? order by id desc limit 1",
                    [current],
                ),
                None,
            )
            if row is None or row["new_hash"] in seen:
                return chain
            chain.append(row)
            current = row["new_hash"]
            seen.add(current)

    def consistency_problems(self) -> list[str]:
        """Broken links in the store: empty when every reference resolves."""
        checks = {
            "url without article": "select url from urls where article_hash not in "
            "(select hash from articles)",
            "page without article": "select url from pages where article_hash is not null "
            "and article_hash not in (select hash from articles)",
            "cluster without article": "select hash from articles where cluster is not null "
            "and cluster not in (select hash from articles)",
            "event hash lost": "select id from events where article_hash is not null and "
            "article_hash not in (select hash from articles) and article_hash not in "
            "(select old_hash from article_moves)",
            "article without run": "select hash from articles where first_run is not null "
            "and first_run not in (select id from runs)",
            "template line without article": "select article_hash from site_lines where "
            "article_hash not in (select hash from articles)",
            "explanation without article": "select article_hash from removed_lines where "
            "article_hash not in (select hash from articles)",
            "site row without article": "select article_hash from site_articles where "
            "article_hash not in (select hash from articles)",
            "source without article": "select source_hash from article_sources where "
            "article_hash not in (select hash from articles)",
            "revision without article": "select hash from revisions where "
            "hash not in (select hash from articles)",
        }
        problems = []
        for name, sql in checks.items():
            for row in self.db.execute(sql + " limit 5"):
                problems.append(f"{name}: {row[0]}")
        for hash_, text in self.db.execute("select hash, text from articles"):
            if content_hash(text) != hash_:
                problems.append(f"hash mismatch: {hash_}")
        for row in self.db.execute(
            "select m.new_hash from article_moves m where m.id = (select max(id) from "
            "article_moves where old_hash = m.old_hash) and m.new_hash not in "
            "(select hash from articles) and m.new_hash not in (select old_hash from "
            "article_moves)"
        ):
            problems.append(f"move to nowhere: {row[0]}")
        return problems


def _use_wal(conn: sqlite3.Connection) -> None:
    """Put the database in WAL mode, waiting (up to the busy timeout) for another process.

    When two processes create a database at the same moment (a cron crawl and a manual
    ingest on a new store), SQLite can answer the switch to WAL with "database is locked"
    at once, without calling the busy handler (measured: 22 of 1,200 connections opened in
    threads at once, 13 of 400 processes on a busy machine). The switch is retried then.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _limit(at_most: int | None) -> int:
    """A LIMIT value: ``at_most``, or -1 (SQLite's "no limit")."""
    return -1 if at_most is None else at_most


def process_alive(pid: int | None) -> bool:
    """Whether process ``pid`` exists (a zombie counts until it is reaped)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# A crawl commits its pages in groups at most this far apart. One commit per page cost the
# crawling process 9% of its time (each commit writes the WAL frames of every index it
# touched, and FTS5 flushes a segment per transaction); a group loses at most this much
# work on a kill, and that work is fetched again by the next run (its URLs' bookkeeping is
# in the same transaction).
GROUP_COMMIT_SECONDS = 1.0


class CommitGroup:
    """Writes that commit together: each :meth:`write` is all or nothing (a savepoint), and
    the transaction around them is committed once it is :data:`GROUP_COMMIT_SECONDS` old,
    or on :meth:`flush`. Call :meth:`flush` when the writes end (nothing else commits)."""

    def __init__(self, store: Store, seconds: float = GROUP_COMMIT_SECONDS) -> None:
        self.store = store
        self.seconds = seconds
        self._opened: float | None = None

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite_utils.Database]:
        conn = self.store.db.conn
        if not conn.in_transaction:
            conn.execute("BEGIN IMMEDIATE")
            self._opened = time.monotonic()
        with self.store.transaction() as db:
            yield db
        if self.due():
            self.flush()

    def due(self) -> bool:
        """Whether the open transaction is old enough to commit."""
        return self._opened is not None and time.monotonic() - self._opened >= self.seconds

    @property
    def pending(self) -> bool:
        return self._opened is not None and self.store.db.conn.in_transaction

    def flush(self) -> None:
        """Commit what the group holds (nothing when it holds nothing)."""
        if self.store.db.conn.in_transaction:
            self.store.db.conn.commit()
        self._opened = None
