"""Crawl throughput: newsmill crawl vs the trafilatura command line vs newsmill ingest.

    python bench/crawl.py ../shared/bench/extraction [--pages 2000] [--repeat 3] [--out DIR]

Builds a news site of ``--pages`` article pages from a dataset in the format of
``shared/bench/extraction/`` (``pages/<id>.html.gz``, ``truth.jsonl``), each source page
repeated with a variation in its article text (so the copies are distinct articles), with
robots.txt, a sitemap index, sitemaps and an RSS feed, and serves it on 127.0.0.1. Then,
side by side, with politeness delays off for every tool (trafilatura's per-host
``SLEEP_TIME`` too, through its config file):

1. ``newsmill crawl`` from the site's home page, on a new database;
2. ``newsmill crawl`` again (incremental: nothing changed);
3. ``trafilatura -i urls.txt -o DIR`` on the same article URLs;
4. ``newsmill ingest`` on the same pages, written to disk;
5. ``newsmill crawl --workers 0`` (extraction in the crawling process) on a new database;
6. ``trafilatura --with-metadata -i urls.txt -o DIR``.

The runs a ratio compares (1 with 3, 1 with 4) go back to back.

With ``--repeat N`` it runs all of them N times over, one round after the other, and the
table shows each run's median: this machine's speed drifts by several percent within
minutes, and a tool measured once, minutes away from the other, can win or lose by that.
Each ratio is given round by round (the two tools of one round ran minutes apart) and as
the median of those.

Prints a markdown table; writes ``results.json`` next to the databases.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import string
import subprocess
import sys
import time
from pathlib import Path

from crash import Site  # the served site: robots.txt, sitemap index, sitemaps, feed

REPO = Path(__file__).resolve().parents[1]


def build_pages(dataset: Path, n: int) -> dict[str, bytes]:
    """``{path: html}`` for ``n`` article pages made from the dataset's pages."""
    truth = {}
    for line in (dataset / "truth.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        truth[row["id"]] = row["text"]
    sources = sorted((dataset / "pages").glob("*.html.gz"))
    if not sources:
        sys.exit(f"no pages/*.html.gz in {dataset}")
    pages: dict[str, bytes] = {}
    for i in range(n):
        src = sources[i % len(sources)]
        edition = i // len(sources)
        page = gzip.decompress(src.read_bytes()).decode("utf-8")
        page_id = src.name.removesuffix(".html.gz")
        pages[f"/news/2024/{i % 12 + 1:02d}/story-{i:05d}"] = _vary(
            page, truth.get(page_id, ""), edition, i
        ).encode("utf-8")
    return pages


def _vary(page: str, text: str, edition: int, i: int) -> str:
    """Make copy ``edition`` of a source page a distinct article on the same template.

    A real site does not publish one story ten times, so copies after the first get their
    own text: the letters of every long text run outside ``<script>``/``<style>`` (the
    paragraphs) go through a letter substitution chosen by the edition. Word lengths,
    punctuation, markup and the short template lines stay as they were, so extraction does
    the same work, but the corpus does not see the same paragraph on many pages (which
    would teach the site-template learner to remove article text, and link every copy as a
    near-duplicate). A sentence with the page number makes every copy unique.
    """
    marker = f" Edition {edition}, item {i}: {hashlib.sha1(str(i).encode()).hexdigest()[:10]}. "
    if edition:
        page = _recipher(page, edition)
        text = text.translate(_cipher(edition))
    for line in text.splitlines():
        probe = line.strip()[:40]
        if len(probe) < 20:
            continue
        for needle in (html.escape(probe, quote=False), probe):
            # the occurrence in the body text (right after a tag), not in a <meta> or
            # JSON-LD copy of the text
            at = page.find(needle)
            while at >= 0 and page[:at].rstrip()[-1:] != ">":
                at = page.find(needle, at + 1)
            if at >= 0:
                return page[:at] + marker + page[at:]
    at = page.find("</p>")
    return page[:at] + marker + page[at:] if at >= 0 else page + f"<p>{marker}</p>"


_CODE = re.compile(r"(<script\b.*?</script>|<style\b.*?</style>)", re.S | re.I)
_LONG_TEXT = re.compile(r">([^<>]{80,})<")


def _cipher(edition: int) -> dict[int, int]:
    """A letter substitution (lower and upper case alike) for one edition."""
    rng = random.Random(edition)
    letters = list(string.ascii_lowercase)
    shuffled = letters[:]
    rng.shuffle(shuffled)
    table = {ord(a): ord(b) for a, b in zip(letters, shuffled, strict=True)}
    table.update({ord(a.upper()): ord(b.upper()) for a, b in zip(letters, shuffled, strict=True)})
    return table


def _recipher(page: str, edition: int) -> str:
    table = _cipher(edition)

    def text_run(match: re.Match[str]) -> str:
        run = match.group(1)
        if "&" in run:  # keep entities intact: substitute around them
            parts = re.split(r"(&#?\w+;)", run)
            run = "".join(p if p.startswith("&") else p.translate(table) for p in parts)
        else:
            run = run.translate(table)
        return ">" + run + "<"

    pieces = _CODE.split(page)
    return "".join(
        piece if k % 2 else _LONG_TEXT.sub(text_run, piece) for k, piece in enumerate(pieces)
    )


def timed(cmd: list[str], **kwargs: object) -> tuple[float, subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("NEWSMILL_DB", None)
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False, **kwargs)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return seconds, proc


def count(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql).fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "crawl")
    parser.add_argument("--skip", nargs="*", default=[], help="skip: workers0 trafilatura")
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of every run, one after the other; the table shows each run's median",
    )
    args = parser.parse_args()

    out = args.out
    shutil.rmtree(out, ignore_errors=True)
    (out / "pages").mkdir(parents=True)
    pages = build_pages(args.dataset, args.pages)
    for path, body in pages.items():
        (out / "pages" / (path.strip("/").replace("/", "_") + ".html")).write_bytes(body)
    site = Site(pages)
    cpus = len(os.sched_getaffinity(0))
    print(f"site: {len(pages)} article pages from {args.dataset} at {site.base}; {cpus} CPUs")
    rounds = []
    for k in range(args.repeat):
        where = out if args.repeat == 1 else out / f"round-{k + 1}"
        where.mkdir(parents=True, exist_ok=True)
        rounds.append(one_round(site, pages, out / "pages", where, args.skip))
    site.close()
    report(rounds, len(pages), cpus, out)


def one_round(
    site: Site, pages: dict[str, bytes], page_dir: Path, out: Path, skip: list[str]
) -> list[dict[str, object]]:
    """Every run once, in order, on new databases in ``out``."""
    py = sys.executable
    crawl = [py, "-m", "newsmill", "crawl", site.base + "/", "--delay", "0", "--json", "-q"]
    rows: list[dict[str, object]] = []

    def crawl_row(label: str, db: Path, extra: list[str]) -> dict[str, object]:
        mark = len(site.article_hits)
        seconds, proc = timed([*crawl, "--db", str(db), *extra])
        summary = json.loads(proc.stdout)
        row = {
            "tool": label,
            "seconds": seconds,
            "article_pages_fetched": len(site.article_hits) - mark,
            "new_articles": summary["new"],
            "stored": count(db, "select count(*) from articles"),
        }
        print(json.dumps(row), flush=True)
        return row

    rows.append(crawl_row("newsmill crawl", out / "crawl.db", []))
    rows.append(crawl_row(RUN_2, out / "crawl.db", []))
    # The runs the ratios compare go back to back (this machine's speed drifts within
    # minutes): the crawl, the CLI's default, ingest; then the other rows.
    if "trafilatura" not in skip:
        rows.append(trafilatura_row(site, pages, out, []))
    rows.append(ingest_row(page_dir, out))
    if "workers0" not in skip:
        rows.append(crawl_row("newsmill crawl --workers 0", out / "crawl0.db", ["--workers", "0"]))
    if "trafilatura" not in skip:
        # The CLI's default extracts no metadata; newsmill extracts title, author, date,
        # site and language for every page, so this row does the same work.
        rows.append(trafilatura_row(site, pages, out, ["--with-metadata"]))
    return rows


def trafilatura_row(
    site: Site, pages: dict[str, bytes], out: Path, extra: list[str]
) -> dict[str, object]:
    """``trafilatura -i urls.txt -o DIR`` (with ``extra`` options) on the site's articles,
    its per-host sleep off through its config file."""
    py = sys.executable
    cfg = out / "trafilatura.cfg"
    settings = Path(__import__("trafilatura").__file__).parent / "settings.cfg"
    text = settings.read_text()
    text = text.replace("SLEEP_TIME = 5.0", "SLEEP_TIME = 0")
    text = text.replace("SSRF_PROTECTION = on", "SSRF_PROTECTION = off")  # 127.0.0.1
    cfg.write_text(text)
    urls = out / "urls.txt"
    urls.write_text("".join(site.base + p + "\n" for p in pages))
    traf_bin = Path(py).parent / "trafilatura"
    mark = len(site.article_hits)
    target = out / f"trafilatura{extra[0] if extra else ''}"
    shutil.rmtree(target, ignore_errors=True)
    seconds, _ = timed(
        [str(traf_bin), "-i", str(urls), "-o", str(target), "--config-file", str(cfg), *extra]
    )
    produced = sum(1 for p in target.rglob("*") if p.is_file())
    label = f" {' '.join(extra)}" if extra else ""
    row = {
        "tool": f"trafilatura CLI{label} (-i urls.txt -o DIR)",
        "seconds": seconds,
        "article_pages_fetched": len(site.article_hits) - mark,
        "new_articles": produced,
        "stored": produced,
    }
    print(json.dumps(row), flush=True)
    return row


def ingest_row(page_dir: Path, out: Path) -> dict[str, object]:
    """``newsmill ingest`` on the same pages, from disk, on a new database."""
    py = sys.executable
    ingest_db = out / "ingest.db"
    seconds, proc = timed(
        [py, "-m", "newsmill", "ingest", str(page_dir), "--db", str(ingest_db), "--json", "-q"]
    )
    row = {
        "tool": "newsmill ingest (same pages from disk)",
        "seconds": seconds,
        "article_pages_fetched": 0,
        "new_articles": json.loads(proc.stdout)["new"],
        "stored": count(ingest_db, "select count(*) from articles"),
    }
    print(json.dumps(row), flush=True)
    return row


RUN_2 = "newsmill crawl, run 2 (unchanged site)"


def report(rounds: list[list[dict[str, object]]], n: int, cpus: int, out: Path) -> None:
    """The table (each run's median over the rounds) and the ratios, round by round."""
    rows = []
    for runs in zip(*rounds, strict=True):
        row = dict(runs[len(runs) // 2])  # counts as in a middle round
        row["seconds"] = statistics.median(float(r["seconds"]) for r in runs)  # type: ignore[arg-type]
        row["rounds"] = [round(float(r["seconds"]), 1) for r in runs]  # type: ignore[arg-type]
        done = n if row["tool"] != RUN_2 else row["article_pages_fetched"]
        row["pages_per_s"] = round(float(done) / float(row["seconds"]), 1)  # type: ignore[arg-type]
        rows.append(row)
    (out / "results.json").write_text(json.dumps({"median": rows, "rounds": rounds}, indent=2))
    print()
    print(
        f"{n} article pages, {cpus} CPUs, Python {sys.version.split()[0]}, {len(rounds)} round(s)"
    )
    print()
    print("| run | seconds | pages/s | article pages fetched | new articles (files) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        run_2 = row["tool"] == RUN_2
        print(
            f"| {row['tool']} | {float(row['seconds']):.1f} | "  # type: ignore[arg-type]
            f"{row['pages_per_s'] if not run_2 else '-'} | "
            f"{row['article_pages_fetched'] if 'ingest' not in str(row['tool']) else '-'} | "
            f"{row['new_articles']} |"
        )
    print()

    def ratios(label: str, other: str, percent: bool = False) -> None:
        per_round = []
        for runs in rounds:
            by_tool = {str(r["tool"]): float(r["seconds"]) for r in runs}  # type: ignore[arg-type]
            if other not in by_tool:
                return
            crawl, them = by_tool["newsmill crawl"], by_tool[other]
            per_round.append(them / crawl)
        form = "{:.1%}" if percent else "{:.2f}x"
        shown = ", ".join(form.format(r) for r in per_round)
        median = form.format(statistics.median(per_round))
        print(f"{label}: median {median} (rounds: {shown})")

    ratios("run 2 / run 1 time", RUN_2, percent=True)
    for row in rows:
        if "trafilatura" in str(row["tool"]) or "ingest" in str(row["tool"]):
            ratios(f"crawl pages/s / {row['tool']}", str(row["tool"]))


if __name__ == "__main__":
    main()
