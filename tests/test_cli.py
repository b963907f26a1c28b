"""End-to-end: the ``newsmill`` command in a subprocess on a temporary database."""

import csv
import io
import json
import shutil

import pytest

from newsmill.fingerprint import content_hash

from .conftest import SAMPLE, SHARED, run_cli

SEEDS = SHARED / "seeds"


def test_ingest_export_roundtrip(db_path, tmp_path):
    r = run_cli("ingest", str(SAMPLE), db=db_path)
    assert r.returncode == 0, r.stderr
    # gone.html ("Page not found") is quarantined as a soft 404
    assert "5 inputs: 3 new, 1 duplicate, 0 empty, 0 failed, 1 skipped" in r.stderr
    assert "Traceback" not in r.stderr
    assert r.stdout == ""  # cron-friendly: nothing on stdout without --json

    r = run_cli("export", "--format", "jsonl", db=db_path)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == 3
    for row in rows:
        assert {"hash", "url", "title", "author", "published", "site", "language", "text"} <= set(
            row
        )
        assert row["hash"] == content_hash(row["text"])
    ferry = next(r for r in rows if "Ferry" in (r["title"] or ""))
    assert ferry["url"] == (
        "https://coastal-ledger.example/news/2026/03/ferry-workers-strike-second-day"
    )
    assert ferry["published"] == "2026-03-11"

    out = tmp_path / "a.csv"
    r = run_cli("export", "--format", "csv", "-o", str(out), db=db_path)
    assert r.returncode == 0, r.stderr
    with open(out, newline="", encoding="utf-8") as fh:
        csv_rows = list(csv.DictReader(fh))
    assert [c["hash"] for c in csv_rows] == [r["hash"] for r in rows]
    assert csv_rows[0]["text"] == rows[0]["text"]  # multi-line text survives CSV quoting


def test_ingest_json_summary_and_reingest(db_path):
    first = run_cli("ingest", str(SAMPLE), "--json", db=db_path)
    assert json.loads(first.stdout)["new"] == 3
    again = run_cli("ingest", str(SAMPLE), "--json", db=db_path)
    summary = json.loads(again.stdout)
    assert (summary["new"], summary["duplicate"], summary["status"]) == (0, 4, "ok")
    stats = json.loads(run_cli("stats", "--json", db=db_path).stdout)
    assert stats["articles"] == 3 and stats["runs"] == 2
    assert stats["last_run"]["duplicate"] == 4


def test_search_show_and_errors(db_path):
    run_cli("ingest", str(SAMPLE), db=db_path)
    r = run_cli("search", "frost", db=db_path)
    assert r.returncode == 0 and "Late frost" in r.stdout
    h = r.stdout.split()[0]
    r = run_cli("show", h, db=db_path)
    assert r.returncode == 0, r.stderr
    assert "hash:" in r.stdout and "agronomist Helena Stroud" in r.stdout
    r = run_cli(
        "show",
        "https://valleycourier.example/business/late-frost-valley-grapes",
        "--json",
        db=db_path,
    )
    assert json.loads(r.stdout)["hash"].startswith(h)

    bad = run_cli("search", '"unbalanced', db=db_path)
    assert bad.returncode == 2
    assert "not a valid search query" in bad.stderr and "Traceback" not in bad.stderr

    missing = run_cli("show", "abcdef0123", db=db_path)
    assert missing.returncode == 1 and "no article" in missing.stderr


def test_usage_and_failure_exit_codes(tmp_path, db_path):
    r = run_cli("ingest", str(tmp_path / "does-not-exist"), db=db_path)
    assert r.returncode == 2 and "does not exist" in r.stderr
    r = run_cli("export", "--format", "xml", db=db_path)
    assert r.returncode == 2
    not_db = tmp_path / "junk.db"
    not_db.write_bytes(b"garbage" * 1000)
    r = run_cli("stats", db=not_db)
    assert r.returncode == 1
    assert "cannot open database" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("ingest", str(SAMPLE), "--url", "https://x.example/", db=db_path)
    assert r.returncode == 2 and "--url" in r.stderr


def test_all_inputs_failing_is_exit_0_when_they_are_just_empty(tmp_path, db_path):
    (tmp_path / "a.html").write_bytes(b"")
    r = run_cli("ingest", str(tmp_path / "a.html"), "-v", db=db_path)
    assert r.returncode == 0, r.stderr
    assert "empty" in r.stderr  # -v names the input and the reason


def test_db_from_environment_and_quiet(tmp_path):
    db = tmp_path / "env.db"
    r = run_cli("ingest", str(SAMPLE), "-q", env={"NEWSMILL_DB": str(db)})
    assert r.returncode == 0 and r.stderr == "" and r.stdout == ""
    assert db.exists()


def test_url_option_sets_the_recorded_url(db_path, tmp_path):
    src = tmp_path / "story.txt"
    shutil.copy(SAMPLE / "council-budget.txt", src)
    r = run_cli("ingest", str(src), "--url", "https://city.example/budget", db=db_path)
    assert r.returncode == 0, r.stderr
    row = json.loads(run_cli("export", db=db_path).stdout.splitlines()[0])
    assert row["url"] == "https://city.example/budget"


def test_python_m_and_help():
    r = run_cli("--help")
    assert r.returncode == 0
    for command in ("ingest", "export", "stats", "search", "show"):
        assert command in r.stdout


@pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not beside this checkout")
def test_seeds_end_to_end(db_path):
    labels = json.loads((SEEDS / "LABELS.json").read_text())
    r = run_cli("ingest", str(SEEDS), "--json", db=db_path)
    assert json.loads(r.stdout)["new"] == 5, r.stderr
    r = run_cli("ingest", str(SEEDS), "--json", db=db_path)
    assert json.loads(r.stdout)["new"] == 0
    rows = [json.loads(line) for line in run_cli("export", db=db_path).stdout.splitlines()]
    assert len(rows) == 5
    by_file = {row["url"].rsplit("/", 1)[-1]: row for row in rows}
    for name, label in labels.items():
        if name == "about":
            continue
        row = by_file[name]
        assert row["hash"] == content_hash(row["text"])
        stored_lines = {line.strip() for line in row["text"].splitlines()}
        lines = (SEEDS / name).read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip() or number in label["optional"]:
                continue
            if number in label["remove"]:
                assert line.strip() not in stored_lines, (name, number)
            else:
                assert line.strip() in stored_lines, (name, number)


def test_csv_is_valid_for_empty_store(db_path):
    r = run_cli("export", "--format", "csv", db=db_path)
    assert r.returncode == 0
    header = next(csv.reader(io.StringIO(r.stdout)))
    assert header[0] == "hash" and "text" in header
