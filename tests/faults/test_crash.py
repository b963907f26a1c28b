"""kill -9 in the middle of an ingest or a crawl loses nothing, tears nothing and leaves no
process behind (bench/crash.py), including a kill inside the template backfill."""

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from ..conftest import REPO
from . import benchmod

crash = benchmod.load("crash")


def run_bench(*args: str) -> tuple[dict, subprocess.CompletedProcess[str]]:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "crash.py"), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.stdout, result.stderr[-3000:]
    return json.loads(result.stdout), result


def test_kill_9_during_ingest_then_resume():
    report, result = run_bench("--mode", "ingest", "--trials", "6", "--pages", "300", "--seed", "7")
    summary = report["summary"]
    assert summary["trials"] == 6
    assert summary["killed_mid_run"] >= 3  # the kills really landed inside runs
    assert summary["integrity_failures"] == 0, report["trials"]
    assert summary["duplicates"] == 0
    assert summary["lost_articles"] == 0
    assert result.returncode == 0


def test_kill_9_during_crawl_then_resume():
    """The crawl's process group, or the crawler alone (its workers must then exit by
    themselves); the next crawl takes over the lock and finishes the work."""
    report, result = run_bench("--mode", "crawl", "--trials", "4", "--pages", "200", "--seed", "5")
    summary = report["summary"]
    trials = report["trials"]
    assert summary["trials"] == 4
    assert {t["mode"] for t in trials} == {"crawl"}
    assert {t["kill"] for t in trials} == {"group", "main process"}
    assert summary["killed_mid_run"] >= 2
    assert any(t["killed"] and t["stored_at_kill"] > 0 for t in trials)  # kills mid-storing
    assert summary["stale_locks_taken_over"] >= 1  # the lock file named a dead crawler
    assert summary["integrity_failures"] == 0, trials  # incl. no process left behind
    assert summary["duplicates"] == 0
    assert summary["lost_articles"] == 0
    assert all(t["statuses"][-1] == "ok" for t in trials)
    assert result.returncode == 0


# Dies, as kill -9 would (no cleanup), when a page makes a line template (or the site old
# enough), before the site's earlier articles are cleaned again.
DIE_AT_BACKFILL = """
import os, sys
import newsmill.templates as templates
from newsmill.cli import cli

backfill, crossings = templates.backfill, [0]

def dying_backfill(store, result, **kwargs):
    if result.crossed or result.site_crossed:
        crossings[0] += 1
        if crossings[0] == int(os.environ["DIE_AT"]):
            os._exit(137)
    return backfill(store, result, **kwargs)

templates.backfill = dying_backfill
cli(sys.argv[1:], prog_name="newsmill")
"""

# Dies, as kill -9 would, part-way through draining the template backlog at the end of an
# ingest: after DIE_AT articles have been cleaned again.
DIE_IN_DRAIN = """
import os, sys
import newsmill.templates as templates
from newsmill.cli import cli

reclean, done = templates.reclean, [0]

def dying_reclean(*args, **kwargs):
    if done[0] == int(os.environ["DIE_AT"]):
        os._exit(137)
    done[0] += 1
    return reclean(*args, **kwargs)

templates.reclean = dying_reclean
cli(sys.argv[1:], prog_name="newsmill")
"""


@pytest.fixture(scope="module")
def template_pages(tmp_path_factory):
    """120 pages whose site lines become template at four points of an ingest, and the
    article hashes of an uninterrupted ingest (which cleans every article of them)."""
    root = tmp_path_factory.mktemp("template-crash")
    crash.make_pages(root / "pages", 120, random.Random(5))
    ref = root / "reference.db"
    subprocess.run(
        crash.newsmill("ingest", str(root / "pages"), "--db", str(ref), "-q"),
        env=crash.run_env(),
        check=True,
    )
    with sqlite3.connect(ref) as conn:
        moved = conn.execute("select count(*) from article_moves").fetchone()[0]
        left = conn.execute(
            "select count(*) from articles where text like '%newsletter arrives%'"
        ).fetchone()[0]
        # each article was cleaned again once, however many of its lines became template
        chained = conn.execute(
            "select count(*) from article_moves a join article_moves b on b.old_hash = a.new_hash"
        ).fetchone()[0]
    assert moved >= 4 and left == 0  # the backfill happened, and cleaned them all
    assert chained == 0
    return root / "pages", crash.hashes(ref)


@pytest.mark.parametrize(
    ("script", "die_at"),
    [(DIE_AT_BACKFILL, 1), (DIE_AT_BACKFILL, 3), (DIE_AT_BACKFILL, 4), (DIE_IN_DRAIN, 2)],
    ids=["crossing-1", "crossing-3", "crossing-4", "in-the-backlog-drain"],
)
def test_kill_between_a_page_and_its_template_backfill(tmp_path, template_pages, script, die_at):
    pages, reference = template_pages
    db = tmp_path / "news.db"
    env = {**crash.run_env(), "DIE_AT": str(die_at)}
    died = subprocess.run(
        [sys.executable, "-c", script, "ingest", str(pages), "--db", str(db), "-q"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert died.returncode == 137, died.stderr[-2000:]
    assert crash.check_consistency(db) == []
    if script is DIE_IN_DRAIN:
        with sqlite3.connect(db) as conn:
            waiting = conn.execute("select count(*) from template_backlog").fetchone()[0]
        assert waiting > 0  # killed with articles still queued: the next run cleans them
    again = subprocess.run(
        crash.newsmill("ingest", str(pages), "--db", str(db), "-q"),
        env={k: v for k, v in env.items() if k != "DIE_AT"},
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0, again.stderr[-2000:]
    assert crash.check_consistency(db) == []
    after = crash.hashes(db)
    assert after - reference == set()  # no article left with the site's template lines
    assert reference - after == set()  # and none lost
    with sqlite3.connect(db) as conn:
        statuses = [r[0] for r in conn.execute("select status from runs order by id")]
    assert statuses == ["interrupted", "ok"]


# Makes the crawl's extraction pool, has both workers run a task, prints their pids, waits.
POOL_THEN_WAIT = """
import os, sys, time
from newsmill.crawl.workers import make_pool

pool = make_pool(2)
futures = [pool.submit(time.sleep, 0.5) for _ in range(2)]
for f in futures:
    f.result()
print(" ".join(str(pid) for pid in pool._processes), flush=True)
time.sleep(120)
"""


def test_extraction_workers_exit_when_the_crawler_alone_is_killed():
    """kill -9 of the crawling process only (the OOM killer, ``kill -9 PID``): its workers,
    forkserver and resource tracker must not live on as orphans."""
    proc = subprocess.Popen(
        [sys.executable, "-c", POOL_THEN_WAIT],
        env=crash.run_env(),
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        workers = [int(pid) for pid in proc.stdout.readline().split()]
        assert len(workers) == 2
        assert set(workers) <= set(crash.group_members(proc.pid))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while crash.group_members(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert crash.group_members(proc.pid) == []
    finally:
        for pid in crash.group_members(proc.pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("pidfd", [True, False], ids=["pidfd", "polling"])
def test_parent_watch_ends_the_process_when_the_crawler_is_gone(pidfd):
    crawler = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys, time\n"
            "from newsmill.crawl import parentwatch\n"
            "if sys.argv[2] == 'no': del os.pidfd_open\n"
            "parentwatch.POLL_SECONDS = 0.1\n"
            "parentwatch.exit_when_gone(int(sys.argv[1]))\n"
            "time.sleep(60)\n",
            str(crawler.pid),
            "yes" if pidfd else "no",
        ],
        env=crash.run_env(),
    )
    try:
        time.sleep(0.5)
        assert watcher.poll() is None  # the crawler is alive: keep working
        crawler.kill()
        crawler.wait()
        assert watcher.wait(timeout=10) == 1
    finally:
        for proc in (crawler, watcher):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
