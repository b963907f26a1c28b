"""Two runs writing one database at once wait for each other; nothing is lost."""

import os
import sqlite3
import subprocess
import sys

from ..conftest import REPO


def make_pages(directory, start, count):
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + count):
        paras = "".join(
            f"<p>Report {i}: the committee met for the {j}th time and heard {i * j} witnesses "
            f"about the bridge repairs, the ferry timetable and the budget for district {j}.</p>"
            for j in range(1, 7)
        )
        (directory / f"p{i}.html").write_text(
            f"<html><head><title>Report {i}</title></head><body><article>{paras}"
            f"</article></body></html>"
        )


def test_two_ingests_at_once_on_a_new_database(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    make_pages(a, 0, 120)
    make_pages(b, 80, 120)  # 40 pages overlap: the same articles arrive from both runs
    db = tmp_path / "news.db"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "newsmill", "ingest", str(d), "--db", str(db)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for d in (a, b)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err and "Traceback" not in err
    with sqlite3.connect(db) as conn:
        # what each run recorded, shown when an assertion fails (a rare failure seen once)
        ledger = (
            conn.execute("select id, status, inputs, new, duplicate, empty, failed, skipped "
                         "from runs order by id").fetchall(),
            conn.execute("select run_id, outcome, reason, count(*) from events "
                         "group by 1, 2, 3").fetchall(),
        )  # fmt: skip
        assert conn.execute("select count(*) from articles").fetchone()[0] == 200, ledger
        assert (
            conn.execute("select count(*) from urls where url like 'file:%'").fetchone()[0] == 240
        ), ledger
        runs = conn.execute("select status, new, duplicate from runs order by id").fetchall()
        assert [r[0] for r in runs] == ["ok", "ok"]
        assert sum(r[1] for r in runs) == 200 and sum(r[2] for r in runs) == 40
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"


def test_a_crawl_and_an_ingest_at_once_on_one_database(tmp_path):
    """A cron crawl and a manual ingest overlap: both finish, neither loses anything."""
    from ..crawlsite import Site, _static

    site = Site("cron", "127.0.0.1")
    site.start()
    try:
        pages = tmp_path / "pages"
        make_pages(pages, 0, 120)
        html = "text/html; charset=utf-8"
        for i in range(1000, 1120):
            site.routes[f"/news/report-{i}"] = _static(
                (pages / "p0.html")
                .read_text()
                .replace("Report 0", f"Report {i}")
                .replace(" 0th", f" {i}th")
                .replace("heard 0", f"heard {i}"),
                html,
            )
        entries = "".join(
            f"<url><loc>{site.url(f'/news/report-{i}')}</loc></url>" for i in range(1000, 1120)
        )
        site.routes["/sitemap.xml"] = _static(
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{entries}</urlset>",
            "application/xml",
        )
        db = tmp_path / "news.db"
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        env.pop("NEWSMILL_DB", None)
        commands = [
            ["crawl", site.url("/sitemap.xml"), "--delay", "0", "--workers", "1"],
            ["ingest", str(pages)],
        ]
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "newsmill", *cmd, "--db", str(db)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for cmd in commands
        ]
        outputs = [p.communicate(timeout=300) for p in procs]
    finally:
        site.stop()
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err and "Traceback" not in err
    with sqlite3.connect(db) as conn:
        runs = conn.execute("select command, status, new from runs order by id").fetchall()
        assert sorted(r[0] for r in runs) == ["crawl", "ingest"]
        assert all(r[1] == "ok" for r in runs), runs
        (s1, e1), (s2, e2) = conn.execute("select started, ended from runs order by id")
        assert s1 <= e2 and s2 <= e1  # the runs overlapped (timestamps are whole seconds)
        # every page became an article; the two runs' writes interleaved
        assert sum(r[2] for r in runs) == 240
        assert conn.execute("select count(*) from articles").fetchone()[0] == 240
        assert (
            conn.execute("select count(*) from urls where url like 'http:%'").fetchone()[0] == 120
        )
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"


def test_runs_creating_one_new_database_at_once_all_open_it(tmp_path):
    """SQLite may refuse the switch to WAL at once ("database is locked", no busy wait) when
    several connections create a database together; every opener must still get in."""
    import threading

    from newsmill.store import Store, StoreError

    errors: list[str] = []
    for round_ in range(40):
        path = tmp_path / f"new-{round_}.db"
        barrier = threading.Barrier(6)

        def open_store(path=path, barrier=barrier) -> None:
            barrier.wait()
            try:
                Store.open(path, migrate=False).close()
            except StoreError as exc:
                errors.append(str(exc))

        threads = [threading.Thread(target=open_store) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []


WRITE_AND_CLOSE = """
import sys
from newsmill.store import Store
from newsmill.fingerprint import content_hash
from newsmill.models import Article
with Store.open(sys.argv[1]) as store:
    run = store.start_run("other", {})
    text = "Written by another process that then closes its connection."
    with store.transaction():
        store.add_article(Article(text=text, hash=content_hash(text)), run_id=run, seen_at="t")
"""


def test_reading_the_filter_ahead_keeps_sqlites_locks(tmp_path):
    """The near-duplicate filter's read-ahead opens the database file itself. Closing that
    descriptor would drop this process's POSIX locks on the file: another process closing
    its connection would then take itself for the last one, checkpoint and delete the WAL,
    and this process's later commits would be lost."""
    from newsmill.fingerprint import content_hash
    from newsmill.models import Article
    from newsmill.store import Store

    db = tmp_path / "news.db"
    store = Store.open(db)
    run = store.start_run("test", {})
    store.neardup._prefetch([[1, 1]])  # read the file's first page ahead
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    other = subprocess.run(
        [sys.executable, "-c", WRITE_AND_CLOSE, str(db)], env=env, capture_output=True, text=True
    )
    assert other.returncode == 0, other.stderr
    # this connection is open, so the other one was not the last: the WAL must still be there
    assert (tmp_path / "news.db-wal").exists()
    text = "Written here after the other process closed its connection."
    with store.transaction():
        store.add_article(Article(text=text, hash=content_hash(text)), run_id=run, seen_at="t")
    store.close()
    with sqlite3.connect(db) as conn:
        stored = {t for (t,) in conn.execute("select text from articles")}
    assert text in stored and len(stored) == 2


def test_ingesting_the_database_itself_is_a_skip_that_keeps_sqlites_locks(tmp_path):
    """``newsmill ingest`` given the database (or a link to it, or its WAL) must not open
    it: reading and closing it would drop the process's SQLite locks, as above."""
    from newsmill.ingest import ingest_file
    from newsmill.store import Store

    db = tmp_path / "news.db"
    store = Store.open(db)
    run = store.start_run("test", {})
    (tmp_path / "link.db").hardlink_to(db)
    for path in (db, tmp_path / "news.db-wal", tmp_path / "link.db"):
        outcome = ingest_file(store, path, run_id=run)
        assert (outcome.outcome, outcome.reason) == ("skipped", "store-file"), path
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    other = subprocess.run(
        [sys.executable, "-c", WRITE_AND_CLOSE, str(db)], env=env, capture_output=True, text=True
    )
    assert other.returncode == 0, other.stderr
    assert (tmp_path / "news.db-wal").exists()  # this connection still counts
    store.close()
