"""Bad local input becomes a recorded skip, never a traceback, a hang or lost data."""

import json
import os
import sqlite3
from pathlib import Path

from ..conftest import SAMPLE, run_cli


def events(db):
    with sqlite3.connect(db) as conn:
        return {
            Path(row[0]).name: (row[1], row[2])
            for row in conn.execute("select input, outcome, reason from events")
        }


def test_fifo_200mb_file_zero_bytes_and_binary(tmp_path, db_path):
    d = tmp_path / "in"
    d.mkdir()
    os.mkfifo(d / "pipe.html")  # reading it would block forever
    with open(d / "huge.html", "wb") as fh:  # 200 MB, sparse: costs no disk
        fh.truncate(200 * 1024 * 1024)
    (d / "zero.html").write_bytes(b"")
    (d / "binary.html").write_bytes(bytes(range(256)) * 64)
    (d / "good.html").write_bytes((SAMPLE / "vineyard-frost.html").read_bytes())
    r = run_cli("ingest", str(d), "--json", db=db_path)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    summary = json.loads(r.stdout)
    assert (summary["new"], summary["skipped"], summary["empty"]) == (1, 2, 2)
    ev = events(db_path)
    assert ev["pipe.html"] == ("skipped", "not-a-regular-file")
    assert ev["huge.html"] == ("skipped", "too-large")
    assert ev["zero.html"][0] == "empty"
    assert ev["binary.html"] == ("empty", "binary")


def test_read_errors_are_skips(tmp_path, db_path):
    """A file that fails with EIO when read (as a failing disk does) and a dangling link.

    Tests run as root in CI, where permission bits don't stop a read, so the I/O error comes
    from /proc/self/mem: a regular file whose read at offset 0 fails with EIO.
    """
    d = tmp_path / "in"
    d.mkdir()
    (d / "eio.html").symlink_to("/proc/self/mem")
    (d / "dangling.html").symlink_to(tmp_path / "gone.html")
    (d / "ok.txt").write_bytes((SAMPLE / "council-budget.txt").read_bytes())
    r = run_cli("ingest", str(d), "--json", db=db_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["skipped"] == 2
    ev = events(db_path)
    assert ev["eio.html"] == ("skipped", "unreadable")
    assert ev["dangling.html"] == ("skipped", "unreadable")
    assert ev["ok.txt"] == ("new", None)
