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
        assert conn.execute("select count(*) from articles").fetchone()[0] == 200
        assert (
            conn.execute("select count(*) from urls where url like 'file:%'").fetchone()[0] == 240
        )
        runs = conn.execute("select status, new, duplicate from runs order by id").fetchall()
        assert [r[0] for r in runs] == ["ok", "ok"]
        assert sum(r[1] for r in runs) == 200 and sum(r[2] for r in runs) == 40
        assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
