"""Web archive ingest: ``newsmill ingest`` of a WARC against the same pages as loose files,
against extraction in one process, against trafilatura; a re-ingest; and peak memory.

    python bench/archive.py ../shared/bench/extraction [--pages 2000] [--repeat 3] [--out DIR]
    python bench/archive.py ../shared/bench/extraction --memory [--pages 2000] [--scale 10]

The pages are ``bench/crawl.py``'s: ``--pages`` article pages cycled from a dataset in the
format of ``shared/bench/extraction/`` (``pages/<id>.html.gz``, ``truth.jsonl``), every copy
after the first with its own text (crawl.py's letter substitution) and every page with a
sentence of its own, so each is a distinct article. Their URLs are the dataset's: copy *k*
of a page is at the page's URL with ``-k`` after its path (``a/b-2.html``), and its
canonical and og:url links are rewritten to match. A page with neither in its head gets a
canonical link to its URL, so that the loose files, whose URL is their canonical link,
get the same URL as the WARC records.

The script writes them, itself, as one WARC (``crash.write_warc``: gzip per record, a warcinfo
record, then a response (200, ``text/html; charset=utf-8``) and a request per page) and as
``.html`` files in one directory, then times, in the same run:

a. ``newsmill ingest FILE.warc.gz`` (default workers: one per CPU), on a new database;
b. ``newsmill ingest DIR`` of the loose files (default workers), on a new database;
c. ``newsmill ingest FILE.warc.gz --workers 0`` (extraction in the one process);
d. ``trafilatura.extract(html, url=url)`` over the loose files in one child process
   (the page decoded as UTF-8 first; no metadata, trafilatura's default);
e. ``newsmill ingest FILE.warc.gz`` again, into the database of (a): no new articles.

Each run is a child process, timed from start to exit (so interpreter start-up is in
every row), started after ``os.sync()``: the disk has caught up with the previous run's
database, which the kernel would otherwise write out during this one. With ``--repeat N``
all of them run N times; even rounds run them in the order above, odd rounds backwards
(e after a either way), and the table shows each run's median: this machine's speed
drifts by several percent within minutes. The ratios are given round
by round and as the median. The article hash sets of a, b and c are compared.

``--memory``: the peak memory of ``newsmill ingest`` (default workers) over a WARC of
``--pages`` records and over one ``--scale`` times larger (the same cycling, so every
record is a distinct article), sampled as ``bench/memory.py`` samples a crawl: every 50 ms,
the sum of ``VmRSS`` over the ingest's process group (the ingesting process, the
forkserver, its workers, the resource tracker), and each process's own peak (``VmHWM``).

Writes ``results.json`` in ``--out``.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from crash import newsmill, run_env, write_warc
from crawl import _vary, timed
from memory import TreeSampler

WARC_RUN = "a. newsmill ingest WARC"
FILES_RUN = "b. newsmill ingest DIR (loose files)"
SINGLE_RUN = "c. newsmill ingest WARC --workers 0"
TRAFILATURA_RUN = "d. trafilatura.extract(html, url=url), one process"
REINGEST_RUN = "e. newsmill ingest WARC again (into a's database)"
ORDER = [WARC_RUN, REINGEST_RUN, FILES_RUN, SINGLE_RUN, TRAFILATURA_RUN]

# (d): one child process, like the newsmill rows; prints how many pages gave a text.
TRAFILATURA = """
import sys
from pathlib import Path
import trafilatura
texts = 0
for line in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines():
    path, url = line.split("\\t")
    page = Path(path).read_bytes().decode("utf-8")
    texts += bool(trafilatura.extract(page, url=url))
print(texts)
"""


# -- the pages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    url: str
    text: str  # the ground truth (crawl.py's _vary looks for it in the page)
    page: str


def read_sources(dataset: Path) -> list[Source]:
    """The dataset's pages, in crawl.py's order (sorted file names)."""
    truth = {}
    for line in (dataset / "truth.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        truth[row["id"]] = row
    sources = []
    for path in sorted((dataset / "pages").glob("*.html.gz")):
        row = truth.get(path.name.removesuffix(".html.gz"), {})
        page = gzip.decompress(path.read_bytes()).decode("utf-8")
        url = row.get("url") or f"https://bench.example/{path.name.removesuffix('.html.gz')}"
        sources.append(Source(url, row.get("text", ""), page))
    if not sources:
        sys.exit(f"no pages/*.html.gz in {dataset}")
    return sources


def iter_pages(sources: list[Source], n: int) -> Iterator[tuple[str, bytes]]:
    """``(url, html)`` of page ``i`` for ``i`` in ``range(n)``: crawl.py's ``build_pages``
    (page ``i`` is copy ``i // len(sources)`` of source ``i % len(sources)``, varied by
    ``_vary``), one at a time, with the dataset's URLs."""
    for i in range(n):
        source = sources[i % len(sources)]
        edition = i // len(sources)
        page = _vary(source.page, source.text, edition, i)
        url = edition_url(source.url, edition)
        yield url, with_own_url(page, url, edition).encode("utf-8")


def edition_url(url: str, edition: int) -> str:
    """Copy ``edition`` of the article at ``url``: ``-edition`` after its path's last
    segment (before its extension: ``a/b-2.html``)."""
    if not edition:
        return url
    parts = urlsplit(url)
    path = parts.path.rstrip("/") or "/story"
    trail = "/" if parts.path.endswith("/") and len(parts.path) > 1 else ""
    stem, dot, ext = path.rpartition(".")
    if dot and "/" not in ext and stem.rsplit("/", 1)[-1]:
        path = f"{stem}-{edition}.{ext}"
    else:
        path = f"{path}-{edition}"
    return parts._replace(path=path + trail).geturl()


_URL_LINKS = re.compile(
    r"""<link\b[^>]*\brel=["']?canonical\b[^>]*>|<meta\b[^>]*\bog:url\b[^>]*>""", re.I
)
_LINK_TARGET = re.compile(r"""\b(?:href|content)\s*=\s*(["'])(.*?)\1""", re.I | re.S)
_HEAD = re.compile(r"<head\b[^>]*>", re.I)
_HEAD_END = re.compile(r"</head\s*>", re.I)


def with_own_url(page: str, url: str, edition: int) -> str:
    """The page with its canonical and og:url links naming copy ``edition``'s URL, and
    with a canonical link to ``url`` in its head when its head has neither (newsmill reads
    the head only: a few pages have theirs in the body)."""
    targets = {
        target.group(2)
        for link in _URL_LINKS.finditer(page)
        if (target := _LINK_TARGET.search(link.group(0))) and target.group(2).strip()
    }
    if edition and targets:
        longest_first = sorted(targets, key=len, reverse=True)
        pattern = re.compile("|".join(re.escape(t) for t in longest_first))
        page = pattern.sub(lambda m: edition_url(m.group(0), edition), page)
    head_end = _HEAD_END.search(page)
    if _URL_LINKS.search(page, 0, head_end.start() if head_end else 0):
        return page
    head = _HEAD.search(page)
    at = head.end() if head else 0
    return page[:at] + f'<link rel="canonical" href="{html.escape(url)}">' + page[at:]


def write_inputs(sources: list[Source], n: int, out: Path) -> tuple[Path, Path, Path]:
    """The WARC, the loose files (``page-NNNNN.html``, in WARC order) and the
    ``path<TAB>url`` list trafilatura reads."""
    pages = out / "pages"
    pages.mkdir(parents=True)
    listing = []

    def both() -> Iterator[tuple[str, bytes]]:
        for i, (url, body) in enumerate(iter_pages(sources, n)):
            path = pages / f"page-{i:05d}.html"
            path.write_bytes(body)
            listing.append(f"{path}\t{url}\n")
            yield url, body

    warc = out / "pages.warc.gz"
    write_warc(warc, both())
    urls = out / "urls.tsv"
    urls.write_text("".join(listing), encoding="utf-8")
    return warc, pages, urls


# -- the timed runs ------------------------------------------------------------------------


def articles(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {row[0] for row in conn.execute("select hash from articles")}


def ingest_row(label: str, inputs: Path, db: Path, extra: list[str]) -> dict[str, object]:
    seconds, proc = timed(newsmill("ingest", str(inputs), "--db", str(db), "--json", "-q", *extra))
    summary = json.loads(proc.stdout)
    return {
        "run": label,
        "seconds": seconds,
        "new": summary["new"],
        "inputs": summary["inputs"],
        "skipped": summary["skipped"],
        "stored": len(articles(db)),
    }


def trafilatura_row(urls: Path) -> dict[str, object]:
    seconds, proc = timed([sys.executable, "-c", TRAFILATURA, str(urls)])
    texts = int(proc.stdout.strip().splitlines()[-1])
    return {"run": TRAFILATURA_RUN, "seconds": seconds, "new": texts, "stored": texts}


def one_round(
    k: int, warc: Path, pages: Path, urls: Path, out: Path
) -> tuple[list[dict[str, object]], dict[str, set[str]]]:
    """Every run once, on new databases in ``out``: in ORDER, or backwards in odd rounds
    (the re-ingest always right after the ingest it repeats)."""
    runs = {
        WARC_RUN: lambda: ingest_row(WARC_RUN, warc, out / "warc.db", []),
        REINGEST_RUN: lambda: ingest_row(REINGEST_RUN, warc, out / "warc.db", []),
        FILES_RUN: lambda: ingest_row(FILES_RUN, pages, out / "files.db", []),
        SINGLE_RUN: lambda: ingest_row(SINGLE_RUN, warc, out / "single.db", ["--workers", "0"]),
        TRAFILATURA_RUN: lambda: trafilatura_row(urls),
    }
    order = ORDER if k % 2 == 0 else [*reversed(ORDER[2:]), *ORDER[:2]]
    rows = {}
    for label in order:
        # Every run writes a ~120 MB database, which the kernel writes out to disk up to
        # 30 s later: during the next run, on a core that run wanted (the two-worker ingest
        # has none to spare). Each run starts with the disk caught up, the first with the
        # inputs written above too.
        os.sync()
        load = os.getloadavg()[0]  # other work on the machine skews the times: shown
        rows[label] = {**runs[label](), "load_before": round(load, 2)}
        print(json.dumps(rows[label]), flush=True)
    hash_sets = {
        label: articles(out / name)
        for label, name in (
            (WARC_RUN, "warc.db"),
            (FILES_RUN, "files.db"),
            (SINGLE_RUN, "single.db"),
        )
    }
    return [rows[label] for label in ORDER], hash_sets


def report(rounds: list[list[dict[str, object]]], n: int, same: list[bool], out: Path) -> None:
    """The table (each run's median over the rounds), the ratios and the hash check."""
    rows = []
    for runs in zip(*rounds, strict=True):
        row = dict(runs[len(runs) // 2])
        row["seconds"] = statistics.median(float(r["seconds"]) for r in runs)  # type: ignore[arg-type]
        row["rounds"] = [round(float(r["seconds"]), 1) for r in runs]  # type: ignore[arg-type]
        rows.append(row)
    (out / "results.json").write_text(json.dumps({"median": rows, "rounds": rounds}, indent=2))
    print()
    print(f"{n} pages, {len(rounds)} round(s), Python {sys.version.split()[0]}")
    print()
    print("| run | seconds | pages/s | new articles (texts) | rounds (s) |")
    print("| --- | ---: | ---: | ---: | --- |")
    for row in rows:
        seconds = float(row["seconds"])  # type: ignore[arg-type]
        rate = "-" if row["run"] == REINGEST_RUN else f"{n / seconds:.1f}"
        shown = ", ".join(f"{s:.1f}" for s in row["rounds"])  # type: ignore[attr-defined]
        print(f"| {row['run']} | {seconds:.1f} | {rate} | {row['new']} | {shown} |")
    print()

    def ratio(label: str, slower: str, faster: str, form: str, target: str) -> None:
        per_round = []
        for runs in rounds:
            by_run = {str(r["run"]): float(r["seconds"]) for r in runs}  # type: ignore[arg-type]
            per_round.append(by_run[slower] / by_run[faster])
        shown = ", ".join(form.format(r) for r in per_round)
        median = form.format(statistics.median(per_round))
        print(f"{label}: median {median} (rounds: {shown}); target {target}")

    ratio("speed, WARC ingest / --workers 0", SINGLE_RUN, WARC_RUN, "{:.2f}x", ">= 1.7x")
    ratio("speed, WARC ingest / loose-files ingest", FILES_RUN, WARC_RUN, "{:.2f}x", ">= 0.95x")
    ratio("speed, WARC ingest / trafilatura (1 process)", TRAFILATURA_RUN, WARC_RUN, "{:.2f}x", "-")
    ratio(
        "speed, --workers 0 / trafilatura (1 process)", TRAFILATURA_RUN, SINGLE_RUN, "{:.2f}x", "-"
    )
    ratio("re-ingest time / WARC ingest time", REINGEST_RUN, WARC_RUN, "{:.1%}", "<= 5%")
    new = [r["new"] for runs in rounds for r in runs if r["run"] == REINGEST_RUN]
    print(f"re-ingest: new articles per round {new}")
    for k, check in enumerate(same):
        print(f"round {k + 1}: {check}")


def compare(hash_sets: dict[str, set[str]]) -> str:
    """Whether runs a, b and c stored the same article hashes, and if not how they differ."""
    a, b, c = (hash_sets[label] for label in (WARC_RUN, FILES_RUN, SINGLE_RUN))
    sizes = f"a {len(a)}, b {len(b)}, c {len(c)} articles"
    if a == b == c:
        return f"a, b and c stored the same set of article hashes: yes ({sizes})"
    return (
        f"a, b and c stored the same set of article hashes: NO ({sizes}; only in a vs b: "
        f"{len(a - b)}, only in b: {len(b - a)}; only in a vs c: {len(a - c)}, "
        f"only in c: {len(c - a)})"
    )


# -- memory --------------------------------------------------------------------------------


def measure_memory(sources: list[Source], n: int, where: Path) -> dict[str, object]:
    """Peak memory of ``newsmill ingest`` (default workers) over a WARC of ``n`` pages."""
    warc = where / f"memory-{n}.warc.gz"
    write_warc(warc, iter_pages(sources, n))
    db = where / f"memory-{n}.db"
    log = where / f"memory-{n}.stderr"
    started = time.monotonic()
    with log.open("wb") as err:
        proc = subprocess.Popen(
            newsmill("ingest", str(warc), "--db", str(db), "--json", "-q"),
            env=run_env(),
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,
        )
        sampler = TreeSampler(proc.pid)
        while proc.poll() is None:
            sampler.sample()
            time.sleep(0.05)
        stdout = proc.stdout.read() if proc.stdout else b""
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit(f"ingest failed ({proc.returncode}): {log.read_text()[-2000:]}")
    summary = json.loads(stdout)
    result = {
        "records": n,
        "new": summary["new"],
        "stored": len(articles(db)),
        "seconds": seconds,
        "warc_mb": warc.stat().st_size / 1e6,
        "database_mb": db.stat().st_size / 1e6,
        "samples": sampler.samples,
        "processes": sampler.peak_processes,
        "tree_peak_rss_mb": sampler.peak_rss_kb / 1024,
        "tree_peak_pss_mb": sampler.peak_pss_kb / 1024,
        "process_peaks_mb": sorted(p.hwm_kb / 1024 for p in sampler.procs.values()),
    }
    for path in (warc, db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        path.unlink(missing_ok=True)  # the 10x ones take a few GB
    return result


def memory(sources: list[Source], n: int, scale: int, out: Path) -> int:
    """Both measurements, printed; 1 when the larger peak is more than 10% above."""
    results = []
    for count in (n, n * scale):
        r = measure_memory(sources, count, out)
        results.append(r)
        peaks = " + ".join(f"{mb:.0f}" for mb in r["process_peaks_mb"])  # type: ignore[attr-defined]
        print(
            f"ingest of a {count}-record WARC ({r['warc_mb']:.0f} MB): {r['seconds']:.1f} s, "
            f"{r['new']} new articles ({r['stored']} stored), database "
            f"{r['database_mb']:.0f} MB\n"
            f"  process tree ({r['processes']} processes, {r['samples']} samples every 50 ms): "
            f"peak RSS {r['tree_peak_rss_mb']:.0f} MB, peak PSS {r['tree_peak_pss_mb']:.0f} MB"
            f"; each process's peak (VmHWM): {peaks} MB",
            flush=True,
        )
    (out / "memory.json").write_text(json.dumps(results, indent=2))
    small, large = (float(r["tree_peak_rss_mb"]) for r in results)  # type: ignore[arg-type]
    ratio = large / small
    print(
        f"peak RSS of the tree, {n * scale} records / {n} records: {large:.0f} / {small:.0f} MB"
        f" = {ratio:.2f}x (target: within 10%, <= 1.10x)"
    )
    return 0 if ratio <= 1.10 else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds of every run, one after the other; the table shows each run's median",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(tempfile.gettempdir()) / "newsmill-bench-archive",
        help="where the WARC, the pages and the databases go (emptied first)",
    )
    parser.add_argument("--memory", action="store_true", help="measure peak memory instead")
    parser.add_argument("--scale", type=int, default=10, help="--memory: the larger WARC")
    args = parser.parse_args()
    out = args.out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sources = read_sources(args.dataset)
    if args.memory:
        return memory(sources, args.pages, args.scale, out)
    started = time.monotonic()
    warc, pages, urls = write_inputs(sources, args.pages, out)
    print(
        f"{args.pages} pages from {len(sources)} in {args.dataset}: {warc} "
        f"({warc.stat().st_size / 1e6:.0f} MB) and {pages}/, "
        f"written in {time.monotonic() - started:.0f} s",
        flush=True,
    )
    rounds, checks = [], []
    for k in range(args.repeat):
        where = out / f"round-{k + 1}"
        where.mkdir()
        rows, hash_sets = one_round(k, warc, pages, urls, where)
        rounds.append(rows)
        checks.append(compare(hash_sets))
    report(rounds, args.pages, checks, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
