"""Web archives in: WARC and ARC files, streams and listings, read by ``newsmill ingest``."""

from __future__ import annotations

import gzip
import http.server
import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import ClassVar

import pytest

from newsmill.archive import BodyError, dechunk, read_archive, warc_date
from newsmill.ingest import ingest

from .conftest import REPO, run_cli
from .crawlsite import article_html, paragraphs
from .warcs import Response, chunked, gzipped, write_arc, write_warc

STORIES = [
    ("Harbour dredging plan approved", "harbour dredging plan"),
    ("School meals price to rise", "school meals price"),
    ("Night trains return to the coast line", "night trains coast"),
    ("Library opens a repair cafe", "library repair cafe"),
    ("Council freezes parking charges", "council parking charges"),
    ("River swimming spot tested weekly", "river swimming water"),
]


def story(i: int, site: str = "harbour.example") -> Response:
    title, words = STORIES[i % len(STORIES)]
    slug = f"{words.replace(' ', '-')}-{i}"
    url = f"https://{site}/news/{slug}"
    body = article_html(title, paragraphs(slug, words), canonical=url).encode()
    return Response(url, body)


def hashes(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("select hash from articles")}


def events(db: Path) -> list[dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    with conn:
        return [dict(r) for r in conn.execute("select * from events order by id")]


def test_warc_records_become_articles_with_their_url_date_and_page(store, tmp_path):
    warc = write_warc(tmp_path / "a.warc.gz", [story(i) for i in range(3)])
    result = ingest(store, [warc])
    assert (result.counts.inputs, result.counts.new) == (3, 3)
    row = store.db.execute(
        "select a.url, a.first_seen, p.fetched_at, p.content_type from articles a "
        "join pages p on p.article_hash = a.hash order by a.url limit 1"
    ).fetchone()
    assert row[0].startswith("https://harbour.example/news/")
    assert row[2] == "2026-11-20T08:30:00+00:00"  # the WARC-Date, as newsmill writes times
    assert row[3] == "text/html; charset=utf-8"
    # the raw page is stored like a crawled one: reprocess can use it
    assert store.page_body(row[0]).startswith(b"<!doctype html>")
    # explain names the archive and the record's offset
    records = store.db.execute("select name, offset, uri from archive_records").fetchall()
    assert len(records) == 3 and all(r[0] == str(warc) for r in records)
    assert all(r[1] > 0 for r in records)  # after the warcinfo record


def test_only_html_200_responses_are_inputs_and_the_rest_are_counted_skips(store, tmp_path):
    image = Response(
        "https://harbour.example/logo.png", b"\x89PNG....", headers=[("Content-Type", "image/png")]
    )
    missing = Response("https://harbour.example/gone", b"<html>gone</html>", status="404 Not Found")
    moved = Response(
        "https://harbour.example/old",
        b"",
        status="301 Moved Permanently",
        headers=[("Location", "https://harbour.example/new")],
    )
    revisit = Response(story(1).url, b"", kind="revisit")
    warc = write_warc(tmp_path / "mixed.warc.gz", [story(0), image, missing, moved, revisit])
    result = ingest(store, [warc])
    c = result.counts
    assert (c.inputs, c.new, c.skipped) == (5, 1, 4)
    assert c.reasons == {"skipped:not-html": 1, "skipped:http-status": 2, "skipped:revisit": 1}
    skipped = {e["reason"]: e["detail"] for e in store.db["events"].rows if e["reason"]}
    assert skipped["not-html"] == "image/png"
    assert skipped["revisit"] == "identical-payload-digest"


def test_content_and_transfer_encodings_are_undone(store, tmp_path):
    pages = [story(i) for i in range(3)]
    plain = pages[0].body
    pages[1].body = gzipped(pages[1].body)
    pages[1].headers = [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
    pages[2].body = chunked(gzipped(pages[2].body))
    pages[2].headers = [
        ("Content-Type", "text/html"),
        ("Content-Encoding", "gzip"),
        ("Transfer-Encoding", "chunked"),
    ]
    warc = write_warc(tmp_path / "enc.warc", pages, gzip_records=False)
    result = ingest(store, [warc])
    assert result.counts.new == 3
    assert store.page_body(pages[0].url) == plain
    assert store.page_body(pages[2].url).startswith(b"<!doctype html>")


def test_charset_from_the_http_headers(store, tmp_path):
    title = "Årets bästa smörgås"
    text = (
        "Kaféet vid torget har vunnit priset för årets bästa smörgås, meddelade juryn på "
        "söndagen. Ägaren berättade att receptet kommer från hennes mormor i Göteborg. "
    )
    html = (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        + "".join(f"<p>{text} Del {i}.</p>" for i in range(6))
        + "</article></body></html>"
    ).encode("iso-8859-1")
    page = Response(
        "https://tidning.example/nyheter/smorgas",
        html,
        headers=[("Content-Type", "text/html; charset=ISO-8859-1")],
    )
    ingest(store, [write_warc(tmp_path / "latin1.warc.gz", [page])])
    (stored,) = store.db.execute("select text from articles").fetchone()
    assert "smörgås" in stored and "\ufffd" not in stored


def test_a_default_latin1_header_does_not_beat_the_pages_own_charset():
    from newsmill.extract import decode_html

    text = "Городской совет утвердил бюджет"
    page = f'<html><head><meta charset="windows-1251"></head><p>{text}</p>'.encode("cp1251")
    assert text in decode_html(page, "ISO-8859-1")
    assert text in decode_html(page, "windows-1251")
    # a header naming a real charset beats a page that says nothing
    latin = "Kaféet vid torget".encode("iso-8859-1")
    assert decode_html(b"<p>" + latin, "iso-8859-1") == "<p>Kaféet vid torget"


def test_arc_files_are_read_too(store, tmp_path):
    pages = [(s.url, s.body) for s in (story(0), story(1))]
    arc = write_arc(tmp_path / "old.arc.gz", pages)
    result = ingest(store, [arc])
    assert (result.counts.inputs, result.counts.new) == (2, 2)
    # ARC records have no record id: they are known by the archive and offset
    keys = [r[0] for r in store.db.execute("select record_key from archive_records")]
    assert all(k.startswith("sha256:") and "@" in k for k in keys)


def test_reingesting_an_archive_adds_nothing_and_reads_nothing_again(store, tmp_path):
    warc = write_warc(tmp_path / "a.warc.gz", [story(i) for i in range(4)])
    first = ingest(store, [warc])
    again = ingest(store, [warc])
    assert first.counts.new == 4
    assert (again.counts.new, again.counts.inputs, again.counts.skipped) == (0, 1, 1)
    assert again.counts.reasons == {"skipped:archive-seen": 1}
    # a copy under another name is the same file
    copy = tmp_path / "copy.warc.gz"
    copy.write_bytes(warc.read_bytes())
    assert ingest(store, [copy]).counts.reasons == {"skipped:archive-seen": 1}


def test_records_already_ingested_from_another_file_are_recognised(store, tmp_path):
    responses = [story(i) for i in range(3)]
    first = write_warc(tmp_path / "first.warc.gz", responses[:2])
    ingest(store, [first])
    # the same records (same WARC-Record-IDs) with one more: a merged archive
    merged = tmp_path / "merged.warc.gz"
    merged.write_bytes(
        first.read_bytes() + write_warc(tmp_path / "x.warc.gz", responses[2:]).read_bytes()
    )
    result = ingest(store, [merged])
    assert result.counts.new == 1
    assert result.counts.reasons == {"skipped:already-ingested": 2}


def test_an_interrupted_archive_resumes_after_its_last_written_record(store, tmp_path):
    warc = write_warc(tmp_path / "a.warc.gz", [story(i) for i in range(5)])
    ingest(store, [warc])
    # forget the last two records, as a killed run would have left it
    rows = store.db.execute(
        "select offset, article_hash from archive_records order by offset"
    ).fetchall()
    keep_until = rows[3][0]
    with store.transaction():
        store.db.execute("delete from archive_records where offset >= ?", [keep_until])
        store.db.execute(
            "update archives set resume_at = ?, status = 'partial', records = 3", [keep_until]
        )
    result = ingest(store, [warc])
    assert result.counts.inputs == 2  # only the records after the resume point were read
    assert result.counts.duplicate == 2
    assert store.db["archive_records"].count == 5
    assert store.db.execute("select status from archives").fetchone()[0] == "done"


def test_archive_on_standard_input(db_path, tmp_path):
    warc = write_warc(tmp_path / "a.warc.gz", [story(i) for i in range(2)])

    def ingest_stdin() -> subprocess.CompletedProcess[str]:
        with open(warc, "rb") as stdin:
            return subprocess.run(
                [sys.executable, "-m", "newsmill", "ingest", "-", "--db", str(db_path)],
                stdin=stdin,
                capture_output=True,
                text=True,
            )

    r = ingest_stdin()
    assert r.returncode == 0, r.stderr
    assert "2 new" in r.stderr
    # a stream is recognised by its record ids
    r = ingest_stdin()
    assert "0 new" in r.stderr and "2 skipped" in r.stderr


class _Files(http.server.SimpleHTTPRequestHandler):
    """Static files, with ``Range: bytes=N-`` (as Common Crawl's server answers it)."""

    ranges: ClassVar[list[str]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        wanted = self.headers.get("Range")
        if not wanted:
            return super().do_GET()
        _Files.ranges.append(wanted)
        path = Path(self.translate_path(self.path))
        start = int(wanted.removeprefix("bytes=").rstrip("-"))
        data = path.read_bytes()[start:]
        self.send_response(206)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Range", f"bytes {start}-{start + len(data) - 1}/*")
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def file_server(tmp_path):
    root = tmp_path / "mirror"
    root.mkdir()
    handler = lambda *a, **k: _Files(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _cc_news(root: Path) -> Path:
    """A CC-NEWS-like mirror: two WARCs under crawl-data/ and a warc.paths.gz listing."""
    relative = [
        "crawl-data/CC-NEWS/2026/11/CC-NEWS-20261120083000-00001.warc.gz",
        "crawl-data/CC-NEWS/2026/11/CC-NEWS-20261120093000-00002.warc.gz",
    ]
    for n, rel in enumerate(relative):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        write_warc(root / rel, [story(n * 3 + i, site=f"site{n}.example") for i in range(3)])
    listing = root / "warc.paths.gz"
    listing.write_bytes(gzip.compress(("\n".join(relative) + "\n").encode()))
    return listing


def test_cc_news_listing_from_a_local_mirror(db_path, tmp_path):
    listing = _cc_news(tmp_path)
    r = run_cli("ingest", str(listing), "--archive-base", str(tmp_path), "--json", db=db_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["new"] == 6


def test_cc_news_listing_from_a_base_url(db_path, file_server):
    root, base = file_server
    listing = _cc_news(root)
    r = run_cli("ingest", str(listing), "--archive-base", base, "--json", db=db_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["new"] == 6
    r = run_cli("ingest", str(listing), "--archive-base", base, "--json", db=db_path)
    summary = json.loads(r.stdout)
    assert summary["new"] == 0 and summary["skipped"] == 2  # both archives: archive-seen


def test_a_download_cut_short_resumes_with_a_range_request(db_path, file_server):
    root, base = file_server
    listing = _cc_news(root)
    run_cli("ingest", str(listing), "--archive-base", base, db=db_path)
    # as if the run had been killed after the first record of the second archive
    with sqlite3.connect(db_path) as conn:
        key, first_end = conn.execute(
            "select r.archive, min(r.offset) from archive_records r join archives a "
            "on a.key = r.archive where a.name like '%00002.warc.gz' group by 1"
        ).fetchone()
        rows = conn.execute(
            "select offset from archive_records where archive = ? order by offset", [key]
        ).fetchall()
        conn.execute(
            "delete from archive_records where archive = ? and offset > ?", [key, first_end]
        )
        conn.execute(
            "update archives set status = 'partial', resume_at = ?, records = 1 where key = ?",
            [rows[1][0], key],
        )
    _Files.ranges.clear()
    r = run_cli("ingest", str(listing), "--archive-base", base, "--json", db=db_path)
    summary = json.loads(r.stdout)
    assert _Files.ranges == [f"bytes={rows[1][0]}-"]
    # the finished archive is skipped; the other gives its last two records, again duplicates
    assert (summary["inputs"], summary["skipped"], summary["duplicate"]) == (3, 1, 2)
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("select count(*) from archive_records").fetchone()[0] == 6
        assert conn.execute("select distinct status from archives").fetchall() == [("done",)]


def test_explain_names_the_archive_and_offset(db_path, tmp_path):
    warc = write_warc(tmp_path / "a.warc.gz", [story(0)])
    run_cli("ingest", str(warc), db=db_path)
    r = run_cli("explain", story(0).url, db=db_path)
    assert r.returncode == 0, r.stderr
    assert f"{warc}@" in r.stdout
    assert "archive record" in r.stdout and "offset" in r.stdout


# -- broken archives: a clear error or a recorded skip, never a traceback ------------------


def _ingest_cli(db_path: Path, *paths: Path, extra: tuple[str, ...] = ()):
    r = run_cli("ingest", *map(str, paths), "--json", *extra, db=db_path)
    assert "Traceback" not in r.stderr, r.stderr
    return r


def test_truncated_gzip_member_keeps_what_came_before(db_path, tmp_path):
    warc = write_warc(tmp_path / "cut.warc.gz", [story(i) for i in range(4)])
    data = warc.read_bytes()
    warc.write_bytes(data[: len(data) - 900])  # the last record's gzip member is cut
    r = _ingest_cli(db_path, warc)
    assert r.returncode == 0
    summary = json.loads(r.stdout)
    assert summary["new"] == 3
    reasons = {e["reason"] for e in events(db_path) if e["outcome"] == "skipped"}
    assert reasons & {"archive-truncated", "archive-corrupt"}


def test_a_record_whose_content_length_lies(db_path, tmp_path):
    warc = write_warc(tmp_path / "lies.warc", [story(i) for i in range(3)], gzip_records=False)
    data = warc.read_bytes()
    # make the second response's Content-Length 400 bytes too short
    first = data.index(b"WARC-Type: response")
    second = data.index(b"WARC-Type: response", first + 1)
    at = data.index(b"Content-Length: ", second) + len(b"Content-Length: ")
    end = data.index(b"\r\n", at)
    wrong = str(int(data[at:end]) - 400).encode()
    warc.write_bytes(data[:at] + wrong + data[end:])
    r = _ingest_cli(db_path, warc)
    assert r.returncode == 0
    assert json.loads(r.stdout)["new"] >= 1
    skipped = [e for e in events(db_path) if e["outcome"] == "skipped"]
    assert [e["reason"] for e in skipped] == ["archive-corrupt"]
    assert "Content-Length" in skipped[0]["detail"]


def test_not_a_warc_named_warc_gz(db_path, tmp_path):
    fake = tmp_path / "fake.warc.gz"
    fake.write_bytes(gzip.compress(b"<html><body><p>just a page</p></body></html>"))
    garbage = tmp_path / "garbage.warc.gz"
    garbage.write_bytes(os.urandom(5000))
    r = _ingest_cli(db_path, fake, garbage)
    assert r.returncode == 0
    skipped = [e for e in events(db_path) if e["outcome"] == "skipped"]
    assert [e["reason"] for e in skipped] == ["not-an-archive", "not-an-archive"]


def test_broken_chunked_encoding_is_a_recorded_skip(db_path, tmp_path):
    good = story(0)
    bad = story(1)
    bad.body = chunked(bad.body)[:-40] + b"zz\r\nbroken"
    bad.headers = [("Content-Type", "text/html"), ("Transfer-Encoding", "chunked")]
    r = _ingest_cli(db_path, write_warc(tmp_path / "chunks.warc.gz", [good, bad]))
    assert r.returncode == 0
    assert json.loads(r.stdout)["new"] == 1
    skipped = [e for e in events(db_path) if e["outcome"] == "skipped"]
    assert [e["reason"] for e in skipped] == ["bad-chunked-encoding"]


def test_a_cut_off_body_is_a_recorded_skip_not_a_short_article(db_path, tmp_path):
    """A gzip body that ends mid-stream, and a record the crawler marked WARC-Truncated:
    what survives of either would otherwise be stored as the whole article."""
    good = story(0)
    cut_gzip = story(1)
    cut_gzip.body = gzipped(cut_gzip.body)[:-300]
    cut_gzip.headers = [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
    marked = story(2)
    marked.warc_headers = {"WARC-Truncated": "length"}
    r = _ingest_cli(db_path, write_warc(tmp_path / "cut.warc.gz", [good, cut_gzip, marked]))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["new"] == 1
    skipped = {e["reason"]: e["detail"] for e in events(db_path) if e["outcome"] == "skipped"}
    assert set(skipped) == {"bad-content-encoding", "payload-truncated"}
    assert "mid-stream" in skipped["bad-content-encoding"]
    assert skipped["payload-truncated"] == "length"


def test_a_record_over_max_size_is_skipped_without_reading_it_into_memory(db_path, tmp_path):
    big = story(1)
    big.body = big.body.replace(
        b"</article>", b"<p>" + b"x" * (3 * 1024 * 1024) + b"</p></article>"
    )
    warc = write_warc(tmp_path / "big.warc.gz", [story(0), big, story(2)])
    r = _ingest_cli(db_path, warc, extra=("--max-size", "1MB"))
    assert r.returncode == 0
    assert json.loads(r.stdout)["new"] == 2
    skipped = [e for e in events(db_path) if e["outcome"] == "skipped"]
    assert [e["reason"] for e in skipped] == ["too-large"]


def test_a_2_gb_record_is_skipped_by_its_declared_length(db_path, tmp_path):
    """A record that says it holds 2 GB (a sparse file: no disk, no time) is skipped by
    --max-size before its payload is read, and memory stays small."""
    head = write_warc(tmp_path / "head.warc", [story(0)], gzip_records=False).read_bytes()
    size = 2 * 1024**3
    warc_header = (
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-"
        "000000000002>\r\nWARC-Target-URI: https://harbour.example/huge\r\nWARC-Date: "
        "2026-11-20T08:30:00Z\r\nContent-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {size}\r\n\r\n"
    ).encode()
    http_head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"
    path = tmp_path / "huge.warc"
    with open(path, "wb") as fh:
        fh.write(head + warc_header + http_head)
        fh.truncate(len(head) + len(warc_header) + size)  # a hole: reads as zeros
        fh.seek(0, os.SEEK_END)
        fh.write(b"\r\n\r\n")
    code = (
        "import resource, sys\n"
        "from newsmill.cli import cli\n"
        "try:\n"
        f"    cli(['ingest', {str(path)!r}, '--db', {str(db_path)!r}, '--workers', '0', '-q'])\n"
        "except SystemExit as e:\n"
        "    print(e.code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert "Traceback" not in r.stderr, r.stderr
    status, peak_kb = r.stdout.split()
    assert status in ("0", "None")
    assert int(peak_kb) < 400 * 1024  # far below the record's 2 GB
    skipped = [e for e in events(db_path) if e["outcome"] == "skipped"]
    assert [e["reason"] for e in skipped] == ["too-large"]
    assert hashes(db_path)  # the first record's article


# -- units ----------------------------------------------------------------------------------


def test_dechunk_strict():
    assert dechunk(chunked(b"hello world" * 100, size=7)) == b"hello world" * 100
    for broken in (b"5\r\nhel", b"zz\r\nhello\r\n0\r\n\r\n", b"5\r\nhelloXX0\r\n\r\n", b"hello"):
        with pytest.raises(BodyError):
            dechunk(broken)


def test_warc_date():
    assert warc_date("2026-11-20T08:30:00Z") == "2026-11-20T08:30:00+00:00"
    assert warc_date("2026-11-20T08:30:00.123456Z") == "2026-11-20T08:30:00+00:00"
    assert warc_date("yesterday") is None and warc_date(None) is None


def test_read_archive_offsets_are_where_records_start(tmp_path):
    warc = write_warc(tmp_path / "a.warc.gz", [story(i) for i in range(3)])
    data = warc.read_bytes()
    with open(warc, "rb") as fh:
        records = list(read_archive(fh, name="a", max_bytes=10**7))
    assert len(records) == 3
    for record in records:
        assert gzip.decompress(data[record.offset : record.end]).startswith(b"WARC/1")
    # resuming at a record boundary gives the same records from there
    with open(warc, "rb") as fh:
        fh.seek(records[1].offset)
        rest = list(read_archive(fh, name="a", max_bytes=10**7, start=records[1].offset))
    assert [r.offset for r in rest] == [r.offset for r in records[1:]]


# -- parallel ingest ------------------------------------------------------------------------


def test_workers_write_in_input_order_and_agree_with_one_process(tmp_path):
    from newsmill.store import Store

    warc = write_warc(tmp_path / "a.warc.gz", [story(i) for i in range(12)])
    results = {}
    for workers in (0, 2):
        with Store.open(tmp_path / f"w{workers}.db") as s:
            result = ingest(s, [warc], workers=workers)
            results[workers] = [(o.input, o.outcome, o.article_hash) for o in result.outcomes]
    offsets = [int(name.rsplit("@", 1)[1]) for name, _, _ in results[2]]
    assert offsets == sorted(offsets) and len(offsets) == 12
    assert results[0] == results[2]


def test_a_worker_that_dies_costs_no_input(tmp_path, monkeypatch):
    """Every worker is killed (as the OOM killer would) after the second input is written:
    the pool is replaced and the documents that were in flight are extracted again."""
    import signal

    import newsmill.ingest as ingest_module
    from newsmill.store import Store

    pools = []
    real_start_pool = ingest_module.start_pool

    def start_pool(workers: int):
        pool = real_start_pool(workers)
        pools.append(pool)
        return pool

    monkeypatch.setattr(ingest_module, "start_pool", start_pool)
    written = []

    def kill_workers_once(outcome) -> None:
        written.append(outcome)
        if len(written) == 2:
            for pid in list(pools[0]._processes):
                os.kill(pid, signal.SIGKILL)

    # 30 records: more than the 8 in flight, so some are handed out after the kill
    warc = write_warc(tmp_path / "a.warc.gz", [story(i) for i in range(30)])
    with Store.open(tmp_path / "n.db") as s:
        result = ingest(s, [warc], workers=2, on_outcome=kill_workers_once)
        assert len(pools) >= 2  # the dead pool was replaced
        assert (result.counts.new, result.counts.failed) == (30, 0)
        assert s.db["archive_records"].count == 30


def test_reprocess_works_on_pages_read_from_an_archive(db_path, tmp_path):
    warc = write_warc(tmp_path / "a.warc.gz", [story(i) for i in range(3)])
    assert run_cli("ingest", str(warc), db=db_path).returncode == 0
    before = hashes(db_path)
    r = run_cli("reprocess", "--json", db=db_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["failed"] == 0
    assert hashes(db_path) == before


def test_progress_on_a_terminal_and_none_under_cron(db_path, tmp_path):
    import pty

    warc = write_warc(tmp_path / "progress.warc.gz", [story(i) for i in range(3)])
    quiet = run_cli("ingest", str(warc), db=db_path)
    assert "\r" not in quiet.stderr and "/s" not in quiet.stderr  # no terminal: no bar
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsmill", "ingest", str(warc), "--db", str(tmp_path / "t.db")],
        stderr=follower,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    proc.wait(timeout=60)
    os.close(leader)
    text = output.decode(errors="replace")
    assert proc.returncode == 0, text
    assert "\r" in text and "inputs" in text and "/s" in text and "progress.warc.gz" in text


def test_stats_count_archives(db_path, tmp_path):
    warc = write_warc(tmp_path / "a.warc.gz", [story(i) for i in range(2)])
    run_cli("ingest", str(warc), db=db_path)
    r = run_cli("stats", db=db_path)
    assert "archives:  1 done (2 records ingested)" in r.stdout
    data = json.loads(run_cli("stats", "--json", db=db_path).stdout)
    assert data["archives"] == {"done": 1} and data["archive_records"] == 2


def test_random_bytes_are_never_taken_for_an_archive():
    """warcio alone takes a few in a hundred random files for a record (then a broken
    one); what a file starts with decides."""
    import io
    import random

    rng = random.Random(16)
    for _ in range(300):
        data = rng.randbytes(5000)
        records = list(read_archive(io.BufferedReader(io.BytesIO(data)), name="x", max_bytes=10**7))
        assert [r.reason for r in records] == ["not-an-archive"]


def test_an_archive_another_ingest_is_reading_is_left_to_it(tmp_path, db_path):
    from newsmill.archive import file_digest
    from newsmill.lock import archive_lock

    warc = write_warc(tmp_path / "a.warc.gz", [story(i) for i in range(3)])
    # this test process stands for an ingest that is reading the archive now
    with archive_lock(db_path, file_digest(warc)) as held:
        assert held
        busy = run_cli("ingest", str(warc), "--workers", "0", "--json", db=db_path)
        assert busy.returncode == 0, busy.stderr
        summary = json.loads(busy.stdout)
        assert (summary["new"], summary["skipped"]) == (0, 1)
        assert summary["reasons"] == {"skipped:archive-busy": 1}
        explain = run_cli("explain", str(warc), db=db_path).stdout
        assert "another newsmill ingest is reading it" in explain
    # once it is free, the next run reads it all
    after = json.loads(run_cli("ingest", str(warc), "--workers", "0", "--json", db=db_path).stdout)
    assert after["new"] == 3
