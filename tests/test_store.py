import sqlite3
import zlib

import pytest

from newsmill.errors import QueryError, StoreError
from newsmill.fingerprint import content_hash
from newsmill.models import Article
from newsmill.store import RunCounts, Store, compress_page, decompress_page, migrations


def make_article(text: str, **kw) -> Article:
    return Article(text=text, hash=content_hash(text), **kw)


def test_open_creates_schema_in_wal_mode(db_path):
    with Store.open(db_path) as store:
        tables = set(store.db.table_names())
        assert {"articles", "urls", "pages", "runs", "events", "articles_fts"} <= tables
        assert store.db.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_migrations_are_safe_to_run_on_every_start(db_path):
    for _ in range(3):
        Store.open(db_path).close()
    with Store.open(db_path) as store:
        applied = [m.name for m in migrations.applied(store.db)]
        assert applied == sorted(set(applied))
        assert not migrations.pending(store.db)


def test_add_article_is_keyed_by_hash(store):
    run = store.start_run("test", {})
    a = make_article("Ferry crews strike again.", title="Strike", site="Ledger")
    assert store.add_article(a, run_id=run, seen_at="2026-01-01T00:00:00+00:00")
    again = make_article("ferry   CREWS strike again.", title="Other title")
    assert again.hash == a.hash
    assert not store.add_article(again, run_id=run, seen_at="2026-01-02T00:00:00+00:00")
    row = store.db["articles"].get(a.hash)
    assert row["title"] == "Strike"  # the first copy is kept
    assert row["first_seen"] == "2026-01-01T00:00:00+00:00"
    assert row["last_seen"] == "2026-01-02T00:00:00+00:00"
    assert row["cluster"] == a.hash
    assert store.db["articles"].count == 1


def test_url_sightings_many_to_one(store):
    run = store.start_run("test", {})
    a = make_article("A story.")
    store.add_article(a, run_id=run, seen_at="t1")
    store.record_url("https://x.example/a", a.hash, kind="canonical", run_id=run, seen_at="t1")
    store.record_url("https://x.example/a", a.hash, kind="canonical", run_id=run, seen_at="t2")
    store.record_url("file:///tmp/a.html", a.hash, kind="file", run_id=run, seen_at="t2")
    rows = {r["url"]: r for r in store.db["urls"].rows}
    assert rows["https://x.example/a"]["times_seen"] == 2
    assert rows["https://x.example/a"]["last_seen"] == "t2"
    assert set(store.find_article(a.hash[:8])["urls"]) == set(rows)


def test_foreign_key_protects_urls(store):
    with pytest.raises(sqlite3.IntegrityError), store.transaction():
        store.record_url("https://x.example/b", "0" * 64, kind="canonical", run_id=1, seen_at="t")


def test_search_and_bad_query(store):
    run = store.start_run("test", {})
    store.add_article(
        make_article("Frost hits the vineyards.", title="Frost"), run_id=run, seen_at="t"
    )
    store.add_article(make_article("Ferry strike continues."), run_id=run, seen_at="t")
    hits = store.search("vineyard")  # porter stemming
    assert [h["title"] for h in hits] == ["Frost"]
    assert "[vineyards]" in hits[0]["snippet"]
    with pytest.raises(QueryError):
        store.search('"unbalanced')
    with pytest.raises(QueryError):
        store.search("ferry AND")


def test_fts_stays_in_step_with_articles(store):
    run = store.start_run("test", {})
    a = make_article("Harbour bridge reopens.")
    store.add_article(a, run_id=run, seen_at="t")
    with store.transaction():
        store.db["articles"].delete(a.hash)
    assert store.search("harbour") == []


def test_fts_follows_text_updates_and_ignores_other_columns(store):
    run = store.start_run("test", {})
    a = make_article("Harbour bridge reopens.")
    store.add_article(a, run_id=run, seen_at="t")
    before = store.db.execute("select count(*) from articles_fts_data").fetchone()[0]
    with store.transaction():
        for i in range(20):  # a duplicate sighting, a cluster change: no re-indexing
            store.db.execute(
                "update articles set last_seen = ?, cluster = ? where hash = ?",
                [f"t{i}", f"c{i}", a.hash],
            )
    assert store.db.execute("select count(*) from articles_fts_data").fetchone()[0] == before
    with store.transaction():
        store.db.execute("update articles set text = 'Tram depot floods.' where hash = ?", [a.hash])
    assert [r["hash"] for r in store.search("tram")] == [a.hash]
    assert store.search("harbour") == []
    store.db.execute("insert into articles_fts (articles_fts) values ('integrity-check')")


def test_a_moved_article_is_found_by_its_new_text_only(store):
    run = store.start_run("test", {})
    a = make_article("Harbour bridge reopens.\nShare this story", title="Bridge")
    store.add_article(a, run_id=run, seen_at="t")
    with store.transaction():
        new_hash, merged = store.move_article(
            a.hash, "Harbour bridge reopens.", run_id=run, reason="test"
        )
    assert not merged
    hits = store.search("harbour")
    assert [(h["hash"], h["title"]) for h in hits] == [(new_hash, "Bridge")]
    assert store.search("share") == []
    row = store.db["articles"].get(new_hash)
    assert (row["text"], row["words"], row["cluster"]) == ("Harbour bridge reopens.", 3, new_hash)
    store.db.execute("insert into articles_fts (articles_fts) values ('integrity-check')")


def test_find_article_prefix_rules(store):
    run = store.start_run("test", {})
    a = make_article("Alpha story.")
    store.add_article(a, run_id=run, seen_at="t")
    assert store.find_article(a.hash)["hash"] == a.hash
    assert store.find_article(a.hash[:6].upper())["hash"] == a.hash
    assert store.find_article(a.hash[:5]) is None  # too short to be unambiguous in practice
    assert store.find_article("not-hex!") is None


def test_runs_ledger_and_interrupted_runs(store):
    run = store.start_run("ingest", {"paths": ["x"]})
    counts = RunCounts()
    counts.add("new")
    counts.add("empty", "no-article-text")
    store.finish_run(run, counts)
    row = store.run(run)
    assert (row["status"], row["new"], row["empty"], row["inputs"]) == ("ok", 1, 1, 2)
    assert row["ended"] >= row["started"]
    # a run whose process died without closing its row
    with store.transaction():
        dead = (
            store.db["runs"]
            .insert({"command": "crawl", "status": "running", "pid": 2**22 + 12345, "started": "t"})
            .last_pk
        )
    store.start_run("ingest", {})
    assert store.run(dead)["status"] == "interrupted"


def test_pages_are_compressed_and_restorable(store):
    body = b"<html><body><p>" + b"x" * 10000 + b"</p></body></html>"
    with store.transaction():
        store.save_page(
            "https://x.example/p", body, article_hash=None, content_type="text/html", fetched_at="t"
        )
    assert store.page_body("https://x.example/p") == body
    stored = store.db.execute("select body from pages").fetchone()[0]
    assert len(stored) < len(body) / 10
    assert stored.startswith(b"\x28\xb5\x2f\xfd")  # a zstd frame


def test_pages_stored_with_zlib_by_older_versions_stay_readable(store):
    body = b"<html><body><p>An older page.</p></body></html>"
    with store.transaction():
        store.db.execute(
            "insert into pages (url, body, size, content_type, fetched_at) values (?, ?, ?, ?, ?)",
            ["https://x.example/old", zlib.compress(body, 6), len(body), "text/html", "t"],
        )
    assert store.page_body("https://x.example/old") == body
    assert decompress_page(compress_page(body)) == body


def test_unopenable_database_is_a_clear_error(tmp_path):
    bad = tmp_path / "not-a-db.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open database"):
        Store.open(bad)
    with pytest.raises(StoreError, match="cannot open database"):
        Store.open(tmp_path)  # a directory


def test_migrations_run_in_one_transaction(tmp_path):
    """Nothing in a migration commits early: two runs starting at once on a new database
    must not see a half-migrated schema or lose the write lock midway."""
    import sqlite3

    import sqlite_utils

    from newsmill.store import migrations

    conn = sqlite3.connect(tmp_path / "news.db")
    db = sqlite_utils.Database(conn)
    conn.execute("BEGIN IMMEDIATE")
    migrations.apply(db)
    assert conn.in_transaction
    conn.rollback()
    assert db.table_names() == []


def test_the_near_duplicate_index_opens_inside_a_transaction_without_committing_it(store):
    from newsmill.neardup import NearDupIndex

    run = store.start_run("test", {})
    with pytest.raises(RuntimeError), store.transaction():
        store.db.execute("update runs set status = 'changed' where id = ?", [run])
        NearDupIndex(store.db)  # the first article of a process opens the index mid-transaction
        assert store.db.conn.in_transaction
        raise RuntimeError
    assert store.run(run)["status"] == "running"


def _count_from_outside(db_path) -> int:
    with sqlite3.connect(db_path) as other:
        return other.execute("select count(*) from articles").fetchone()[0]


def test_a_commit_group_commits_on_flush_and_when_due(db_path):
    store = Store.open(db_path)
    run = store.start_run("test", {})
    group = store.commit_group()
    group.seconds = 3600  # not due: only flush commits
    with group.write():
        store.add_article(make_article("Grouped one."), run_id=run, seen_at="2024-01-01")
    with group.write():
        store.add_article(make_article("Grouped two."), run_id=run, seen_at="2024-01-01")
    assert group.pending
    assert _count_from_outside(db_path) == 0  # another reader sees nothing yet
    group.flush()
    assert not group.pending
    assert _count_from_outside(db_path) == 2

    group.seconds = 0  # due at once: every write commits
    with group.write():
        store.add_article(make_article("Grouped three."), run_id=run, seen_at="2024-01-01")
    assert not group.pending
    assert _count_from_outside(db_path) == 3
    store.close()


def test_a_failed_write_in_a_commit_group_undoes_only_itself(db_path):
    store = Store.open(db_path)
    run = store.start_run("test", {})
    group = store.commit_group()
    group.seconds = 3600
    with group.write():
        store.add_article(make_article("Kept before."), run_id=run, seen_at="2024-01-01")
    with pytest.raises(RuntimeError), group.write():
        store.add_article(make_article("Half written."), run_id=run, seen_at="2024-01-01")
        raise RuntimeError("a bug while recording a page")
    with group.write():
        store.add_article(make_article("Kept after."), run_id=run, seen_at="2024-01-01")
    group.flush()
    texts = {row[0] for row in store.db.execute("select text from articles")}
    assert texts == {"Kept before.", "Kept after."}
    assert _count_from_outside(db_path) == 2
    store.close()


def test_capped_line_and_site_counts_stop_at_the_cap(store):
    with store.transaction():
        for i in range(30):
            article_hash = f"{i:064x}"
            store.db.execute(
                "insert into site_articles (article_hash, site) values (?, ?)",
                [article_hash, "ledger.example"],
            )
            lines = [(1, 3, False)] + ([(2, 5, False)] if i < 4 else [])
            store.remember_lines(article_hash, "ledger.example", lines, replace=True)
    full = store.line_counts("ledger.example", [1, 2, 3])
    assert full == {1: 30, 2: 4}
    assert store.line_counts("ledger.example", [1, 2, 3], at_most=22) == {1: 22, 2: 4}
    excluded = f"{0:064x}"
    assert store.line_counts("ledger.example", [2], exclude=excluded, at_most=22) == {2: 3}
    assert store.site_article_count("ledger.example") == 30
    assert store.site_article_count("ledger.example", at_most=5) == 5
    assert store.site_article_count("other.example", at_most=5) == 0


def test_atomic_nests_as_savepoints(tmp_path):
    from newsmill.dbutil import atomic

    conn = sqlite3.connect(tmp_path / "t.db")
    conn.execute("create table t (x integer)")
    conn.commit()
    with atomic(conn):  # a transaction
        conn.execute("insert into t values (1)")
        with pytest.raises(ValueError), atomic(conn):  # a savepoint, rolled back alone
            conn.execute("insert into t values (2)")
            with atomic(conn):
                conn.execute("insert into t values (3)")
            raise ValueError("inner block fails")
        with atomic(conn):
            conn.execute("insert into t values (4)")
    assert not conn.in_transaction
    assert [x for (x,) in conn.execute("select x from t order by x")] == [1, 4]
    with pytest.raises(ValueError), atomic(conn):
        conn.execute("insert into t values (5)")
        raise ValueError("the whole transaction goes")
    assert [x for (x,) in conn.execute("select x from t order by x")] == [1, 4]
    conn.close()
