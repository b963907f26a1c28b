"""How near-duplicate checks scale with the size of the store.

Usage::

    PYTHONPATH=src python bench/neardup_scale.py [--db PATH] [--sizes 10000,100000,1000000]
                                                 [--checks 1000] [--words 250]

Grows one SQLite store of synthetic articles (Zipf-distributed words from a 30,000-word
vocabulary, in paragraphs) to each size in turn. The bulk load computes every article's
bands with the same code as :meth:`NearDupIndex.add` (``Sketch.of``) on both cores and
inserts articles, docs and bands in large sorted batches, with the journal off.

At each size a fresh process, configured like a cron run of the store (WAL,
synchronous=NORMAL, SQLite's default 2 MB page cache), adds ``--checks`` new articles, each
in its own transaction: one in ten is a republished variant of a stored article (headline,
boilerplate, typos, editor's note), the rest are new. It reports the time of each
``NearDupIndex.add`` (candidate lookup, verification, band inserts, cluster update) and the
process's peak resident memory. The articles table is the store's, without its FTS index,
which is not the near-duplicate index's cost.

Each size is measured twice: *cold*, with the database file evicted from the OS page cache
first (``posix_fadvise(DONTNEED)``, as after a reboot: at a million articles nearly every
band lookup is then a disk read), and *warm*, after one sequential pass over the
near-duplicate tables (as on a server that keeps them in its page cache between runs; the
pass itself is timed and reported).
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

import sqlite_utils

sys.path.insert(0, str(Path(__file__).parent))

from newsmill import neardup
from newsmill.fingerprint import content_hash
from variants import editors_note, typo_fixes, with_boilerplate, with_headline

VOCABULARY = 30_000
CHUNK = 20_000
RUN_STARTS = "2026-01-01T00:00:00+00:00"


def _vocabulary() -> tuple[list[str], list[float]]:
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = sorted(
        {"".join(rng.choices(letters, k=rng.randint(2, 11))) for _ in range(VOCABULARY * 2)}
    )[:VOCABULARY]
    rng.shuffle(words)
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))
    return words, weights


_WORDS, _WEIGHTS = _vocabulary()


def synthetic_text(seed: int, words: int) -> str:
    rng = random.Random(seed)
    toks = rng.choices(_WORDS, cum_weights=_WEIGHTS, k=words)
    paras, i = [], 0
    while i < len(toks):
        n = rng.randint(25, 70)
        paras.append(" ".join(toks[i : i + n]).capitalize() + ".")
        i += n
    return "\n".join(paras)


def _make(args: tuple[int, int]) -> tuple[str, str, int, list[int]]:
    seed, words = args
    text = synthetic_text(seed, words)
    sketch = neardup.Sketch.of(text)
    return content_hash(text), text, len(sketch.shingles), sketch.keys


def create(path: Path) -> None:
    db = sqlite_utils.Database(path)
    if not db["articles"].exists():
        db["articles"].create(
            {
                "hash": str,
                "text": str,
                "title": str,
                "author": str,
                "published": str,
                "site": str,
                "language": str,
                "url": str,
                "norm_version": int,
                "first_seen": str,
                "first_run": int,
                "last_seen": str,
                "cluster": str,
            },
            pk="hash",
        )
    neardup.create_tables(db)
    neardup.NearDupIndex(db)  # records the parameters
    db.close()


def grow(path: Path, target: int, words: int) -> float:
    """Bulk-load synthetic articles until the store holds ``target``. Returns seconds."""
    conn = sqlite3.connect(path)
    conn.execute("pragma journal_mode=off")
    conn.execute("pragma synchronous=off")
    conn.execute("pragma cache_size=-1000000")  # 1 GB while loading; the check runs use 2 MB
    have = conn.execute("select count(*) from articles").fetchone()[0]
    next_doc = (
        conn.execute(
            "select max(coalesce((select max(id) from neardup_docs), 0), "
            "coalesce((select max(doc) from neardup_pending), 0))"
        ).fetchone()[0]
        + 1
    )
    start = time.perf_counter()
    with multiprocessing.Pool(2) as pool:
        seed = 10**9 + have
        while have < target:
            n = min(CHUNK, target - have)
            made = pool.map(_make, [(seed + i, words) for i in range(n)], chunksize=500)
            seed += n
            articles, docs, bands = [], [], []
            for article_hash, text, count, keys in made:
                articles.append(
                    (
                        article_hash,
                        text,
                        "synthetic.example",
                        1,
                        RUN_STARTS,
                        RUN_STARTS,
                        article_hash,
                    )
                )
                docs.append((next_doc, article_hash, count))
                bands.extend((key, next_doc) for key in keys)
                next_doc += 1
            bands.sort()
            with conn:
                conn.executemany(
                    "insert or ignore into articles (hash, text, site, norm_version, "
                    "first_seen, last_seen, cluster) values (?, ?, ?, ?, ?, ?, ?)",
                    articles,
                )
                conn.executemany(
                    "insert into neardup_docs (id, hash, shingles) values (?, ?, ?)", docs
                )
                conn.executemany(
                    "insert or ignore into neardup_bands (key, doc) values (?, ?)", bands
                )
            have += n
            print(
                f"  {have:>9,} articles, {time.perf_counter() - start:6.0f} s",
                file=sys.stderr,
                flush=True,
            )
    conn.execute("pragma journal_mode=wal")
    conn.close()
    # The bands went straight into the table: build the Bloom filter over them, as
    # `newsmill dups --rebuild` would (timed with the load).
    db = sqlite_utils.Database(path)
    neardup.NearDupIndex(db).rebuild_filter()
    db.close()
    return time.perf_counter() - start


def evict_from_page_cache(path: Path) -> None:
    """Drop this database file's pages from the OS page cache (only this file's)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def insert_article(conn: sqlite3.Connection, article_hash: str, text: str, seen: str) -> None:
    """Insert a new article row as the store would (before its near-duplicate check)."""
    conn.execute(
        "insert or ignore into articles (hash, text, site, norm_version, first_seen, "
        "last_seen, cluster) values (?, ?, 'new.example', 1, ?, ?, ?)",
        [article_hash, text, seen, seen, article_hash],
    )


def check_run(path: Path, checks: int, words: int, seed: int, warm: bool) -> dict:
    """Run in a fresh process: add ``checks`` new articles like a cron run would.

    Cold: the database file's pages are first evicted from the OS page cache, as after a
    reboot. ``warm``: the near-duplicate tables are first read through once (a full scan,
    which lands them in the OS page cache, not in this process), as on a machine that keeps
    its page cache between runs.
    """
    if not warm:
        evict_from_page_cache(path)
    conn = sqlite3.connect(path, timeout=60)
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma synchronous=normal")
    db = sqlite_utils.Database(conn)
    warm_s = 0.0
    if warm:
        start = time.perf_counter()
        conn.execute("select count(*) from neardup_bands").fetchone()
        conn.execute("select count(*) from neardup_docs where hash >= ''").fetchone()
        warm_s = time.perf_counter() - start
    index = neardup.NearDupIndex(db)
    rng = random.Random(seed)
    stored = conn.execute("select count(*) from articles").fetchone()[0]
    first_seen = f"2026-02-{seed % 28 + 1:02d}T00:00:00+00:00"
    times, totals, linked = [], [], 0
    variants = [with_headline, with_boilerplate, typo_fixes, editors_note]
    for i in range(checks):
        if i % 10 == 0:  # a republished copy of a random stored article
            (text,) = conn.execute(
                "select text from articles where rowid >= ? limit 1", [rng.randint(1, stored)]
            ).fetchone()
            text = rng.choice(variants)(text, rng)
        else:
            text = synthetic_text(seed * 10**6 + i, words)
        article_hash = content_hash(text)
        t0 = time.perf_counter()
        with db.atomic():
            insert_article(conn, article_hash, text, first_seen)
            t1 = time.perf_counter()
            match = index.add(article_hash, text, first_seen)
            t2 = time.perf_counter()
        times.append(t2 - t1)
        totals.append(time.perf_counter() - t0)
        linked += match is not None
    first = times[0]
    rest = times[1:] or times
    times.sort()
    return {
        "stored": stored,
        "checks": checks,
        "linked": linked,
        "mean_ms": statistics.mean(times) * 1e3,
        "first_ms": first * 1e3,
        "mean_after_first_ms": statistics.mean(rest) * 1e3,
        "p50_ms": times[len(times) // 2] * 1e3,
        "p95_ms": times[int(len(times) * 0.95)] * 1e3,
        "with_insert_ms": statistics.mean(totals) * 1e3,
        "peak_rss_mb": peak_rss_mb(),
        "cache": "warm" if warm else "cold",
        "warm_s": warm_s,
    }


def merge_run(path: Path, words: int) -> dict:
    """Cold: add new articles until the pending bands reach MERGE_AT and merge (which
    happens inside one ``add``). Reports that add apart from the others."""
    evict_from_page_cache(path)
    conn = sqlite3.connect(path, timeout=60)
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma synchronous=normal")
    db = sqlite_utils.Database(conn)
    index = neardup.NearDupIndex(db)
    stored = conn.execute("select count(*) from articles").fetchone()[0]
    first_seen = "2026-03-01T00:00:00+00:00"
    times: list[float] = []
    merge_s = 0.0
    moved = 0
    i = 0
    while True:
        before = conn.execute("select count(*) from neardup_pending").fetchone()[0]
        text = synthetic_text(7 * 10**8 + i, words)
        article_hash = content_hash(text)
        t0 = time.perf_counter()
        with db.atomic():
            insert_article(conn, article_hash, text, first_seen)
            index.add(article_hash, text, first_seen)
        elapsed = time.perf_counter() - t0
        i += 1
        after = conn.execute("select count(*) from neardup_pending").fetchone()[0]
        if after < before:
            merge_s, moved = elapsed, before + 1
            break
        times.append(elapsed)
    return {
        "stored": stored,
        "adds": i,
        "merged": moved,
        "merge_s": merge_s,
        "mean_ms": (sum(times) + merge_s) / i * 1e3,
        "mean_without_merge_ms": statistics.mean(times) * 1e3,
        "peak_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process image.

    ``/proc/self/status`` VmHWM, not ``getrusage``: Linux carries the parent's RSS at fork
    into the child's ``ru_maxrss`` across ``exec``, so a child started by a big parent
    reports the parent's size.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sizes(path: Path) -> dict[str, float]:
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "select name, sum(pgsize) from dbstat group by name order by 2 desc"
    ).fetchall()
    conn.close()
    return {name: size / 1e6 for name, size in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=Path("bench/out/neardup_scale.db"))
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--words", type=int, default=250)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--warm", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--keep", action="store_true", help="grow an existing --db instead of starting afresh"
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="at the largest size, also add articles (cold) until the pending bands merge",
    )
    parser.add_argument("--merge-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--seed-base",
        type=int,
        default=0,
        help="offset for the new articles' seeds (with --keep: not the texts added before)",
    )
    args = parser.parse_args()
    if args.child:
        print(json.dumps(check_run(args.db, args.checks, args.words, args.seed, args.warm)))
        return
    if args.merge_child:
        print(json.dumps(merge_run(args.db, args.words)))
        return

    args.db.parent.mkdir(parents=True, exist_ok=True)
    if not args.keep:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
    create(args.db)
    results = []
    for step, target in enumerate(int(s) for s in args.sizes.split(",")):
        print(f"growing to {target:,}", file=sys.stderr)
        build_s = grow(args.db, target, args.words)
        for warm in (False, True):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "--db",
                    str(args.db),
                    "--checks",
                    str(args.checks),
                    "--words",
                    str(args.words),
                    "--seed",
                    str(args.seed_base + 2 * step + warm + 1),
                    *(["--warm"] if warm else []),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            result = json.loads(out.stdout)
            result["build_s"] = build_s
            result["file_mb"] = args.db.stat().st_size / 1e6
            result["tables"] = sizes(args.db)
            results.append(result)
            print(json.dumps(result), file=sys.stderr)

    merged = None
    if args.merge:
        out = subprocess.run(
            [sys.executable, __file__, "--merge-child", "--db", str(args.db)],
            check=True,
            capture_output=True,
            text=True,
        )
        merged = json.loads(out.stdout)
        print(json.dumps(merged), file=sys.stderr)

    print(
        "| stored articles | OS cache | check (add) mean | first check | mean of the rest | p50 "
        "| p95 | + article insert | linked | peak RSS of the run | database | near-dup tables "
        "| load time |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        nd = sum(v for k, v in r["tables"].items() if "neardup" in k)
        cache = f"warm (pre-read {r['warm_s']:.1f} s)" if r["cache"] == "warm" else "cold (evicted)"
        print(
            f"| {r['stored']:,} | {cache} | {r['mean_ms']:.2f} ms | {r['first_ms']:.0f} ms | "
            f"{r['mean_after_first_ms']:.2f} ms | {r['p50_ms']:.2f} ms | "
            f"{r['p95_ms']:.2f} ms | {r['with_insert_ms']:.2f} ms | "
            f"{r['linked']}/{r['checks']} | {r['peak_rss_mb']:.0f} MB | "
            f"{r['file_mb']:,.0f} MB | {nd:,.0f} MB | {r['build_s']:,.0f} s |"
        )
    print("\nLargest tables and indexes at the last size (MB):\n")
    print("| table or index | MB |")
    print("|---|---:|")
    for name, mb in list(results[-1]["tables"].items())[:8]:
        print(f"| {name} | {mb:,.1f} |")
    for cache in ("cold", "warm"):
        rows = [r for r in results if r["cache"] == cache]
        print(
            f"\ncheck time ({cache}) at the largest size / at the smallest: "
            f"{rows[-1]['mean_ms'] / rows[0]['mean_ms']:.2f}x"
        )
    if merged:
        print(
            f"\nmerge at {merged['stored']:,} stored (cold): {merged['adds']:,} adds until "
            f"{merged['merged']:,} pending articles merged; the merge took "
            f"{merged['merge_s']:.1f} s; mean add {merged['mean_ms']:.2f} ms with it, "
            f"{merged['mean_without_merge_ms']:.2f} ms without; peak RSS "
            f"{merged['peak_rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
