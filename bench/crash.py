"""Kill -9 a running ``newsmill ingest`` (of files or of a WARC) or ``newsmill crawl`` at
random moments and check that nothing is lost or torn.

Each trial starts a run on a fresh database, kills it with SIGKILL at a random moment,
checks the database, runs the same command again to completion and checks that the result
equals a reference run that was never interrupted.

    python bench/crash.py --trials 20                 # 20 ingest + 20 crawl trials
    python bench/crash.py --mode all --trials 20      # and 20 warc trials
    python bench/crash.py --mode crawl --trials 10 [--kill group|main|alternate]

``ingest`` reads generated pages from disk; ``warc`` reads the same kind of pages from one
WARC (gzip per record, a request and a response record per page, written with warcio).
The kills of both land at a random moment from start-up to just past the end of an
uninterrupted run (three in ten), or as soon as k articles are stored (k at random over
the pages). ``crawl`` serves the same kind of pages on
127.0.0.1 (a threaded stdlib server in this process: home page, robots.txt, a sitemap
index, sitemaps and an RSS feed) and crawls them from the home page with politeness
delays off; its kills land at a random moment of the start-up (a fifth of them), just
after the server was asked for the k-th article page, or as soon as k articles are stored
(k at random over the pages), so they spread over the crawl on any machine.
Every run has a session of its own, and extraction workers (one per CPU, the default of
both commands); by default the trials take turns killing the whole process group (the
crawler or ingest, its forkserver and extraction workers at once) and the main process
alone (as the OOM killer or ``kill -9 PID`` would; the workers must then exit by
themselves). Either way no process of the run may be left 10 s after the kill.

Checked after each kill: ``PRAGMA integrity_check`` is ok; the full-text index is in step
with ``articles`` (FTS5 'integrity-check'); every article has a URL row and every URL row an
article; every event that names an article finds it; every article has its raw page; no
process of the killed run is left. After the follow-up run: it exited 0 (for a crawl: it
took over the lock the killed crawl left behind, and its status is ok); the ledger has no
run left 'running' (the killed one is 'interrupted'); the set of article hashes equals the
reference (no article lost, none extra); every input page's URL is recorded. After a
``warc`` follow-up, also: ``archive_records`` has one row per response record of the WARC
(by WARC-Record-ID, none missing, none unknown); the killed run and the follow-up together
recorded one event per record (the follow-up resumed after what the killed run had
committed: a record read again would add an event, even when recognised as
``already-ingested``); the ``archives`` row is ``done`` and counts each record once.

The pages carry a few site lines (a newsletter line on every page, others on every 7th,
19th, 43rd, 97th page) that newsmill learns as the site's template during the run and then
removes from the articles already stored (a hash move), so kills also land in that work.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.server
import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

REPO = Path(__file__).resolve().parents[1]
MODES = ("ingest", "crawl", "warc")
# --mode: "both" is ingest and crawl (as before warc came); "all" adds warc.
MODE_GROUPS = {"both": ("ingest", "crawl"), "all": MODES}

PARAGRAPHS = [
    "The harbour authority said crews would review the timetable again on {day}.",
    "Residents of district {n} told reporters the disruption had lasted {k} days.",
    "A spokesperson for the council confirmed that {k} buses had been added to route {n}.",
    "Officials expect the inquiry to publish its first findings by the end of {month}.",
    "Union members voted {k} to {n} in favour of continuing the action, organisers said.",
    "Shops near the quay reported takings down by {k} percent compared with last {month}.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
MONTHS = ["January", "March", "May", "July", "September", "November"]
# Lines the site repeats (every Nth page): newsmill learns them as the site's template.
SITE_LINES = [
    ("Harbour Desk newsletter arrives every weekday morning.", 1),
    ("Photographs by the quayside picture team.", 7),
    ("Corrections desk welcomes letters from readers.", 19),
    ("Tide tables appear on the back page.", 43),
    ("Ferry timetable supplement is printed on Fridays.", 97),
]


def article_html(i: int, rng: random.Random, canonical: str | None = None) -> str:
    """Article page ``i`` (our own invented text): eight story paragraphs and site lines."""
    paras = []
    for j in range(8):
        template = PARAGRAPHS[(i + j) % len(PARAGRAPHS)]
        text = template.format(
            day=rng.choice(DAYS),
            month=rng.choice(MONTHS),
            n=i * 10 + j,
            k=rng.randint(2, 90),
        )
        paras.append(f"{text} Story {i}, paragraph {j}.")
    paras[4:4] = [line for line, every in SITE_LINES if i % every == 0]
    body = "\n".join(f"<p>{p}</p>" for p in paras)
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Harbour report {i}</title>{link}</head>"
        f"<body><article><h1>Harbour report {i}</h1>{body}</article></body></html>"
    )


def make_pages(directory: Path, count: int, rng: random.Random) -> None:
    """Write ``count`` distinct article pages (our own invented text) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        html = article_html(i, rng, canonical=f"https://crash.example/news/{i}")
        (directory / f"page-{i:04d}.html").write_text(html, encoding="utf-8")


def archive_pages(count: int, rng: random.Random) -> list[tuple[str, bytes]]:
    """``(url, html)`` of ``count`` distinct article pages for a WARC (as :func:`make_pages`
    writes them, their canonical link their URL)."""
    urls = [f"https://crash.example/news/{i}" for i in range(count)]
    return [
        (url, article_html(i, rng, canonical=url).encode("utf-8")) for i, url in enumerate(urls)
    ]


def write_warc(path: Path, pages: Iterable[tuple[str, bytes]]) -> list[str]:
    """A WARC of ``(url, html)`` pages, gzip per record: a warcinfo record, then a response
    (200, ``text/html; charset=utf-8``) and a request record per page. Returns the
    responses' WARC-Record-IDs."""
    ids = []
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "bench"}))
        for url, body in pages:
            headers = [("Content-Type", "text/html; charset=utf-8")]
            headers.append(("Content-Length", str(len(body))))
            date = {"WARC-Date": "2024-05-01T10:00:00Z"}
            response = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"),
                warc_headers_dict=date,
            )
            writer.write_record(response)
            ids.append(response.rec_headers.get_header("WARC-Record-ID"))
            parts = urlsplit(url)
            request = StatusAndHeaders(
                f"GET {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1",
                [("Host", parts.netloc)],
                is_http_request=True,
            )
            writer.write_record(
                writer.create_warc_record(
                    url,
                    "request",
                    payload=io.BytesIO(b""),
                    http_headers=request,
                    warc_headers_dict=date,
                )
            )
    return ids


def site_pages(count: int, rng: random.Random) -> dict[str, bytes]:
    """``{path: html}`` of ``count`` distinct article pages for :class:`Site`."""
    return {
        f"/news/2024/05/harbour-report-{i:05d}": article_html(i, rng).encode("utf-8")
        for i in range(count)
    }


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a killed crawler's sockets
            super().handle_error(request, client_address)


class Site:
    """``pages`` with a home page, robots.txt, a sitemap index, sitemaps and an RSS feed,
    served by a threaded stdlib server on 127.0.0.1 (hubs with ETags, as real sites do)."""

    PER_SITEMAP = 500

    def __init__(self, pages: dict[str, bytes]) -> None:
        self.pages = pages
        self.article_hits: list[float] = []  # when each article page was requested
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.hubs = self._hubs()
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def urls(self) -> list[str]:
        return [self.base + path for path in self.pages]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _hubs(self) -> dict[str, tuple[str, bytes]]:
        urls = self.urls()
        chunks = [urls[i : i + self.PER_SITEMAP] for i in range(0, len(urls), self.PER_SITEMAP)]
        ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        index = "".join(
            f"<sitemap><loc>{self.base}/sitemaps/{j}.xml</loc></sitemap>"
            for j in range(len(chunks))
        )
        hubs = {
            "/sitemap_index.xml": f'<?xml version="1.0"?><sitemapindex {ns}>{index}</sitemapindex>',
            "/rss.xml": '<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour</title>'
            + "".join(f"<item><link>{u}</link></item>" for u in urls[-50:])
            + "</channel></rss>",
            "/robots.txt": f"User-agent: *\nAllow: /\nSitemap: {self.base}/sitemap_index.xml\n",
            "/": '<!doctype html><html><head><title>Harbour</title><link rel="alternate" '
            'type="application/rss+xml" href="/rss.xml"></head><body><p>News</p></body></html>',
        }
        for j, chunk in enumerate(chunks):
            entries = "".join(
                f"<url><loc>{u}</loc><lastmod>2024-05-01</lastmod></url>" for u in chunk
            )
            hubs[f"/sitemaps/{j}.xml"] = f'<?xml version="1.0"?><urlset {ns}>{entries}</urlset>'
        types = {"/rss.xml": "application/rss+xml", "/robots.txt": "text/plain", "/": "text/html"}
        return {
            path: (types.get(path, "application/xml"), body.encode("utf-8"))
            for path, body in hubs.items()
        }

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                status, ctype, body, etag = 404, "text/plain", b"not found", None
                if path in site.pages:
                    site.article_hits.append(time.monotonic())
                    status, ctype, body = 200, "text/html; charset=utf-8", site.pages[path]
                elif path in site.hubs:
                    ctype, body = site.hubs[path]
                    status, etag = 200, '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                    if self.headers.get("If-None-Match") == etag:
                        status, body = 304, b""
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    if etag:
                        self.send_header("ETag", etag)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if body:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the crawler was killed mid-response

        return Handler


def newsmill(*args: str) -> list[str]:
    return [sys.executable, "-m", "newsmill", *args]


def run_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("NEWSMILL_DB", None)
    return env


def hashes(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("select hash from articles")}


def check_consistency(db: Path) -> list[str]:
    """Problems found in the database (an empty list means it is sound)."""
    problems = []
    conn = sqlite3.connect(db)
    try:
        result = conn.execute("pragma integrity_check").fetchone()[0]
        if result != "ok":
            problems.append(f"integrity_check: {result}")
        if not conn.execute("select 1 from sqlite_master where name = 'articles'").fetchone():
            return problems  # killed before the schema was created
        try:
            conn.execute("insert into articles_fts(articles_fts) values('integrity-check')")
        except sqlite3.DatabaseError as exc:
            problems.append(f"fts out of step: {exc}")
        checks = {
            "article without url": "select count(*) from articles a where not exists "
            "(select 1 from urls u where u.article_hash = a.hash)",
            "url without article": "select count(*) from urls u where not exists "
            "(select 1 from articles a where a.hash = u.article_hash)",
            "event naming a missing article": "select count(*) from events e where "
            "e.article_hash is not null and not exists "
            "(select 1 from articles a where a.hash = e.article_hash)",
            "article without its raw page": "select count(*) from articles a where not exists "
            "(select 1 from pages p where p.article_hash = a.hash)",
        }
        for name, sql in checks.items():
            n = conn.execute(sql).fetchone()[0]
            if n:
                problems.append(f"{n} {name}")
    except sqlite3.DatabaseError as exc:
        problems.append(f"unreadable: {exc}")
    finally:
        conn.close()
    return problems


def group_processes(pgid: int) -> list[tuple[int, int]]:
    """(pid, ppid) of the live (not zombie) processes in process group ``pgid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append((int(entry.name), int(fields[1])))
    return found


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group ``pgid``."""
    return [pid for pid, _ in group_processes(pgid)]


def wait_group_gone(pgid: int, timeout: float = 10.0) -> list[int]:
    """Wait until no process of group ``pgid`` is left; the ones still alive at the end."""
    deadline = time.monotonic() + timeout
    while (left := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@dataclass
class Mode:
    """One kind of run to kill: the command, and the page URLs it must record."""

    name: str
    command: Callable[[Path], list[str]]
    page_urls: list[str]
    takes_lock: bool
    children: bool  # runs child processes (the extraction pool)
    site: Site | None = None  # a crawl's server, which counts article requests
    archive: Archive | None = None  # a WARC ingest's file and its response records


@dataclass(frozen=True)
class Archive:
    """The WARC a ``warc`` run ingests."""

    path: Path
    record_ids: frozenset[str]  # of its response records


# Where crawl kills land, whatever the machine's speed: a random moment of the start-up
# (imports, lock, migrations, ledger row, hubs: until the reference run asked for its first
# article page); just after the server was asked for the k-th article page (downloads run
# ahead of extraction); or as soon as k articles are stored (read from the database, which
# is in WAL mode: a reader does not hold the writer up). k is uniform over the pages.
START_UP_SHARE = 0.2
REQUEST_SHARE = 0.3
# Ingest trials: this share at any moment from start-up to just past the end of an
# uninterrupted run (a first run is slower, so some land after the end), the others as
# soon as k articles are stored.
ANY_TIME_SHARE = 0.3


@dataclass
class Timing:
    """What an uninterrupted run took: bounds for the kill moments."""

    seconds: float  # the whole run
    start_up: float | None = None  # a crawl: until its first article request
    forced_max_delay: float | None = None  # --max-delay: time-based kills only


@dataclass(frozen=True)
class KillPlan:
    seconds: float | None = None  # kill this long after the start
    article_request: int | None = None  # kill once the server was asked for this many pages
    stored: int | None = None  # kill once this many articles are in the database
    label: str = ""


def plan_kill(mode: Mode, timing: Timing, rng: random.Random) -> KillPlan:
    """When to kill the next run."""
    if timing.forced_max_delay is not None:
        return KillPlan(seconds=rng.uniform(0.05, timing.forced_max_delay))
    draw = rng.random()
    if mode.site is None or timing.start_up is None:
        if draw < ANY_TIME_SHARE:
            # anywhere from process start-up to just past the end of an uninterrupted run
            return KillPlan(seconds=rng.uniform(0.05, timing.seconds * 1.05))
        k = rng.randint(1, len(mode.page_urls))
        return KillPlan(stored=k, label=f"{k} articles stored")
    if draw < START_UP_SHARE:
        return KillPlan(seconds=rng.uniform(0.05, timing.start_up), label="start-up")
    k = rng.randint(1, len(mode.page_urls))
    if draw < START_UP_SHARE + REQUEST_SHARE:
        return KillPlan(article_request=k, label=f"article request {k}")
    return KillPlan(stored=k, label=f"{k} articles stored")


def stored_articles(db: Path) -> int:
    """Articles in ``db`` now, read-only (0 before the schema exists)."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05)
    except sqlite3.Error:
        return 0
    try:
        return conn.execute("select count(*) from articles").fetchone()[0]
    except sqlite3.Error:
        return 0
    finally:
        conn.close()


def wait_for(
    plan: KillPlan, proc: subprocess.Popen, mode: Mode, db: Path, hits_before: int
) -> None:
    """Block until the planned moment, or the run's end."""
    if plan.seconds is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=plan.seconds)
        return
    deadline = time.monotonic() + 600
    hits = mode.site.article_hits if mode.site else []
    while proc.poll() is None and time.monotonic() < deadline:
        if plan.article_request is not None and len(hits) - hits_before >= plan.article_request:
            return
        if plan.stored is not None and db.exists() and stored_articles(db) >= plan.stored:
            return
        time.sleep(0.002 if plan.article_request is not None else 0.01)


def ingest_mode(pages: Path, count: int) -> Mode:
    # the default workers (one per CPU): an ingest extracts in a pool like a crawl
    return Mode(
        "ingest",
        lambda db: newsmill("ingest", str(pages), "--db", str(db), "-q"),
        [f"https://crash.example/news/{i}" for i in range(count)],
        takes_lock=False,
        children=True,
    )


def warc_mode(archive: Archive, urls: list[str]) -> Mode:
    return Mode(
        "warc",
        lambda db: newsmill("ingest", str(archive.path), "--db", str(db), "-q"),
        urls,
        takes_lock=False,
        children=True,
        archive=archive,
    )


def check_archive(db: Path, archive: Archive) -> list[str]:
    """Problems of a WARC ingest run to its end, maybe over a kill (see the module
    docstring): each response record recorded once, and extracted once over the runs."""
    problems = []
    expected = len(archive.record_ids)
    name = str(archive.path) + "@"
    with sqlite3.connect(db) as conn:
        keys = [row[0] for row in conn.execute("select record_key from archive_records")]
        events, inputs = conn.execute(
            "select count(*), count(distinct input) from events "
            "where substr(input, 1, length(?)) = ?",
            [name, name],
        ).fetchone()
        archives = conn.execute("select status, records from archives").fetchall()
    missing = len(archive.record_ids - set(keys))
    unknown = len(set(keys) - archive.record_ids)
    if len(keys) != expected or missing or unknown:
        problems.append(
            f"archive_records: {len(keys)} rows for {expected} response records "
            f"({missing} missing, {unknown} unknown)"
        )
    if events != expected or inputs != expected:
        problems.append(
            f"{events} events for {expected} records ({expected - inputs} records without "
            f"one, {events - inputs} records read again)"
        )
    if archives != [("done", expected)]:
        problems.append(f"archives (status, records): {archives}, expected done, {expected}")
    return problems


def archive_rows(db: Path) -> int:
    """Rows in ``archive_records`` now (0 before the schema exists)."""
    with sqlite3.connect(db) as conn:
        if not conn.execute(
            "select 1 from sqlite_master where name = 'archive_records'"
        ).fetchone():
            return 0
        return conn.execute("select count(*) from archive_records").fetchone()[0]


def crawl_mode(site: Site) -> Mode:
    # --delay 0: no politeness delay or AutoThrottle for our own local server (as
    # bench/crawl.py); the default workers (one per CPU) so the extraction pool is there.
    return Mode(
        "crawl",
        lambda db: newsmill("crawl", site.base + "/", "--delay", "0", "--db", str(db), "-q"),
        site.urls(),
        takes_lock=True,
        children=True,
        site=site,
    )


def run_to_end(mode: Mode, db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        mode.command(db), env=run_env(), capture_output=True, text=True, timeout=600
    )


def trial(
    mode: Mode,
    work: Path,
    reference: set[str],
    rng: random.Random,
    timing: Timing,
    *,
    whole_group: bool = True,
) -> dict:
    """One kill and recovery. ``whole_group``: SIGKILL the run's process group (the crawler,
    its forkserver and its workers at once), else the main process alone, as the OOM killer
    or ``kill -9 PID`` would; either way no process of the run may be left afterwards."""
    db = work / "news.db"
    plan = plan_kill(mode, timing, rng)
    hits_before = len(mode.site.article_hits) if mode.site else 0
    started = time.monotonic()
    # A session (so a process group) of its own, to kill and to look for survivors.
    proc = subprocess.Popen(
        mode.command(db),
        env=run_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for(plan, proc, mode, db, hits_before)
    delay = time.monotonic() - started
    killed = proc.poll() is None
    if killed:
        if whole_group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.send_signal(signal.SIGKILL)
    proc.wait()
    problems = []
    survivors = wait_group_gone(proc.pid)
    if survivors:
        problems.append(f"{len(survivors)} processes of the killed run still alive")
        for pid in survivors:
            os.kill(pid, signal.SIGKILL)
    lock = Path(str(db) + ".lock")
    stale_lock = lock.exists() and bool(lock.read_bytes().strip())
    stored_at_kill = 0
    running_at_kill = 0
    records_at_kill = 0
    if db.exists():
        problems += check_consistency(db)
        records_at_kill = archive_rows(db)
        with sqlite3.connect(db) as conn:
            if conn.execute("select 1 from sqlite_master where name = 'runs'").fetchone():
                sql = "select count(*) from runs where status = 'running'"
                running_at_kill = conn.execute(sql).fetchone()[0]
                stored_at_kill = conn.execute("select count(*) from articles").fetchone()[0]

    follow = run_to_end(mode, db)
    after = hashes(db)
    problems += check_consistency(db)
    if mode.archive is not None:
        problems += check_archive(db, mode.archive)
    with sqlite3.connect(db) as conn:
        running = conn.execute("select count(*) from runs where status = 'running'").fetchone()[0]
        statuses = [r[0] for r in conn.execute("select status from runs order by id")]
        urls = {r[0] for r in conn.execute("select url from urls")}
    missing_urls = sum(1 for url in mode.page_urls if url not in urls)
    if follow.returncode != 0:
        problems.append(f"follow-up run exited {follow.returncode}: {follow.stderr[-300:]}")
    if statuses[-1:] != ["ok"]:
        problems.append(f"follow-up run not ok: {statuses}")
    if running:
        problems.append(f"{running} runs left 'running'")
    if running_at_kill and statuses[:1] != ["interrupted"]:
        problems.append(f"killed run not marked interrupted: {statuses}")
    return {
        "mode": mode.name,
        "delay": round(delay, 2),
        "moment": plan.label,
        "killed": killed,
        "kill": "group" if whole_group else "main process",
        "stale_lock": stale_lock if mode.takes_lock else None,
        "stored_at_kill": stored_at_kill,
        "archive_records_at_kill": records_at_kill if mode.archive else None,
        "statuses": statuses,
        "lost": len(reference - after),
        "duplicates": len(after - reference),
        "missing_urls": missing_urls,
        "problems": problems,
    }


def summarize(results: list[dict], reference_articles: int | None = None) -> dict:
    summary = {
        "trials": len(results),
        "killed_mid_run": sum(r["killed"] for r in results),
        "integrity_failures": sum(bool(r["problems"]) for r in results),
        "duplicates": sum(r["duplicates"] for r in results),
        "lost_articles": sum(r["lost"] + r["missing_urls"] for r in results),
    }
    locks = [r["stale_lock"] for r in results if r["stale_lock"] is not None]
    if locks:
        summary["stale_locks_taken_over"] = sum(locks)
    if reference_articles is not None:
        summary["reference_articles"] = reference_articles
    return summary


def describe(label: str, summary: dict) -> str:
    text = (
        f"{label}: {summary['trials']} trials ({summary['killed_mid_run']} killed mid-run): "
        f"{summary['integrity_failures']} integrity failures, "
        f"{summary['duplicates']} duplicates, {summary['lost_articles']} lost articles"
    )
    if "stale_locks_taken_over" in summary:
        text += f", {summary['stale_locks_taken_over']} stale locks taken over"
    if "reference_articles" in summary:
        text += f" (reference: {summary['reference_articles']} articles)"
    return text


def run_mode(
    mode: Mode,
    root: Path,
    trials: int,
    rng: random.Random,
    *,
    max_delay: float | None,
    kill: str,
    quiet: bool,
) -> tuple[list[dict], set[str]]:
    ref_db = root / f"reference-{mode.name}.db"
    hits_before = len(mode.site.article_hits) if mode.site else 0
    started = time.monotonic()
    done = run_to_end(mode, ref_db)
    if done.returncode != 0:
        sys.exit(f"reference {mode.name} run failed: {done.stderr[-2000:]}")
    timing = Timing(time.monotonic() - started, forced_max_delay=max_delay)
    if mode.site is not None and len(mode.site.article_hits) > hits_before:
        timing.start_up = mode.site.article_hits[hits_before] - started
    reference = hashes(ref_db)
    if mode.archive is not None and (wrong := check_archive(ref_db, mode.archive)):
        sys.exit(f"reference {mode.name} run: {wrong}")
    if not quiet:
        start_up = f" (start-up {timing.start_up:.1f}s)" if timing.start_up else ""
        print(
            f"{mode.name}: reference run {timing.seconds:.1f}s{start_up}, "
            f"{len(reference)} articles",
            flush=True,
        )
    results = []
    for n in range(trials):
        work = root / f"{mode.name}-{n}"
        work.mkdir()
        whole_group = kill == "group" or (kill == "alternate" and n % 2 == 0)
        results.append(trial(mode, work, reference, rng, timing, whole_group=whole_group))
        if not quiet:
            r = results[-1]
            lock = " stale lock," if r["stale_lock"] else ""
            recorded = r["archive_records_at_kill"]
            recorded = f", {recorded} records" if recorded is not None else ""
            how = f"killed ({r['kill']})" if mode.children else "killed"
            moment = f", {r['moment']}" if r["moment"] else ""
            print(
                f"{mode.name} trial {n + 1:2}: kill at {r['delay']:.2f}s{moment} "
                f"({how if r['killed'] else 'had finished'},{lock} "
                f"{r['stored_at_kill']} stored{recorded}): "
                f"lost {r['lost'] + r['missing_urls']}, duplicates {r['duplicates']}, "
                f"problems {len(r['problems'])} {r['problems'] or ''}",
                flush=True,
            )
    return results, reference


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20, help="trials per mode")
    parser.add_argument(
        "--mode",
        choices=[*MODES, *MODE_GROUPS],
        default="both",
        help="ingest (files), crawl, warc (ingest of one WARC); both: ingest and crawl "
        "(default); all: the three",
    )
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument(
        "--kill",
        choices=["group", "main", "alternate"],
        default="alternate",
        help="SIGKILL the run's process group, its main process alone, or each in turn (default)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--max-delay",
        type=float,
        help="kill at a random time up to this many seconds (default: ingest and warc up to "
        "an uninterrupted run's time or once k articles are stored; crawl at a random "
        "article request, in the start-up or once k articles are stored)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    modes = MODE_GROUPS.get(args.mode, (args.mode,))
    report: dict[str, dict] = {}
    results: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name in modes:
            if name == "ingest":
                pages = root / "pages"
                make_pages(pages, args.pages, rng)
                mode, site = ingest_mode(pages, args.pages), None
            elif name == "warc":
                warc, page_list = root / "pages.warc.gz", archive_pages(args.pages, rng)
                archive = Archive(warc, frozenset(write_warc(warc, page_list)))
                mode, site = warc_mode(archive, [url for url, _ in page_list]), None
            else:
                site = Site(site_pages(args.pages, rng))
                mode = crawl_mode(site)
            try:
                mode_results, reference = run_mode(
                    mode,
                    root,
                    args.trials,
                    rng,
                    max_delay=args.max_delay,
                    kill=args.kill if mode.children else "group",
                    quiet=args.json,
                )
            finally:
                if site is not None:
                    site.close()
            report[name] = summarize(mode_results, len(reference))
            results += mode_results
    summary = summarize(results)
    if args.json:
        print(json.dumps({"summary": summary, "modes": report, "trials": results}, indent=2))
    else:
        print()
        for name, mode_summary in report.items():
            print(describe(name, mode_summary))
        print(describe("total", summary))
    failed = summary["integrity_failures"] or summary["duplicates"] or summary["lost_articles"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
