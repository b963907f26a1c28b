"""Kill -9 a running ``newsmill ingest`` at random moments and check nothing is lost or torn.

Each trial starts an ingest of generated pages into a fresh database, kills it with SIGKILL
after a random delay, checks the database, runs the same ingest again to completion and checks
that the result equals a reference run that was never interrupted.

    python bench/crash.py --trials 20

Checked after each kill: ``PRAGMA integrity_check`` is ok; the full-text index is in step
with ``articles`` (FTS5 'integrity-check'); every article has a URL row and every URL row an
article; every event that names an article finds it. After the follow-up run: the ledger has
no run left 'running' (the killed one is 'interrupted'), the set of article hashes equals the
reference (no article lost, none extra), and every input page's URL is recorded.

The pages carry a few site lines (a newsletter line on every page, others on every 7th,
19th, 43rd, 97th page) that newsmill learns as the site's template during the run and then
removes from the articles already stored (a hash move), so kills also land in that work.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

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


def trial(
    pages: Path, work: Path, reference: set[str], rng: random.Random, max_delay: float
) -> dict:
    db = work / "news.db"
    proc = subprocess.Popen(
        newsmill("ingest", str(pages), "--db", str(db), "-q"),
        env=run_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    delay = rng.uniform(0.05, max_delay)
    time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    stored_at_kill = len(hashes(db)) if db.exists() else 0
    running_at_kill = 0
    if db.exists():
        with sqlite3.connect(db) as conn:
            if conn.execute("select 1 from sqlite_master where name = 'runs'").fetchone():
                sql = "select count(*) from runs where status = 'running'"
                running_at_kill = conn.execute(sql).fetchone()[0]
    after_kill = check_consistency(db) if db.exists() else []

    follow = subprocess.run(
        newsmill("ingest", str(pages), "--db", str(db), "-q"),
        env=run_env(),
        capture_output=True,
        text=True,
    )
    after = hashes(db)
    problems = after_kill + check_consistency(db)
    with sqlite3.connect(db) as conn:
        running = conn.execute("select count(*) from runs where status = 'running'").fetchone()[0]
        statuses = [r[0] for r in conn.execute("select status from runs order by id")]
        urls = {r[0] for r in conn.execute("select url from urls")}
    missing_urls = sum(
        1 for i in range(len(reference)) if f"https://crash.example/news/{i}" not in urls
    )
    if follow.returncode != 0:
        problems.append(f"follow-up run exited {follow.returncode}: {follow.stderr[-300:]}")
    if running:
        problems.append(f"{running} runs left 'running'")
    if running_at_kill and statuses[:1] != ["interrupted"]:
        problems.append(f"killed run not marked interrupted: {statuses}")
    return {
        "delay": round(delay, 2),
        "killed": killed,
        "stored_at_kill": stored_at_kill,
        "statuses": statuses,
        "lost": len(reference - after),
        "duplicates": len(after - reference),
        "missing_urls": missing_urls,
        "problems": problems,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--max-delay",
        type=float,
        help="latest kill in seconds (default: an uninterrupted run's time)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        pages = root / "pages"
        make_pages(pages, args.pages, rng)
        ref_db = root / "reference.db"
        started = time.monotonic()
        subprocess.run(
            newsmill("ingest", str(pages), "--db", str(ref_db), "-q"), env=run_env(), check=True
        )
        # kill anywhere from process start-up to just past the end of an uninterrupted run
        max_delay = args.max_delay or (time.monotonic() - started) * 1.05
        reference = hashes(ref_db)
        results = []
        for n in range(args.trials):
            work = root / f"trial-{n}"
            work.mkdir()
            results.append(trial(pages, work, reference, rng, max_delay))
            if not args.json:
                r = results[-1]
                print(
                    f"trial {n + 1:2}: kill after {r['delay']:.2f}s "
                    f"({'killed' if r['killed'] else 'had finished'}, "
                    f"{r['stored_at_kill']} stored): "
                    f"lost {r['lost']}, duplicates {r['duplicates']}, "
                    f"problems {len(r['problems'])} {r['problems'] or ''}"
                )
    summary = {
        "trials": len(results),
        "killed_mid_run": sum(r["killed"] for r in results),
        "integrity_failures": sum(bool(r["problems"]) for r in results),
        "duplicates": sum(r["duplicates"] for r in results),
        "lost_articles": sum(r["lost"] + r["missing_urls"] for r in results),
        "reference_articles": len(reference),
    }
    if args.json:
        print(json.dumps({"summary": summary, "trials": results}, indent=2))
    else:
        print(
            f"{summary['trials']} trials ({summary['killed_mid_run']} killed mid-run): "
            f"{summary['integrity_failures']} integrity failures, "
            f"{summary['duplicates']} duplicates, "
            f"{summary['lost_articles']} lost articles (reference: {len(reference)} articles)"
        )
    failed = summary["integrity_failures"] or summary["duplicates"] or summary["lost_articles"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
