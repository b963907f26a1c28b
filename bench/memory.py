"""Peak memory of ``newsmill ingest`` over many files and of ``newsmill crawl`` over many pages.

    python bench/memory.py --files 5000 --pages 5000 [--mode ingest|crawl|both]

Both use distinct generated article pages (bench/crash.py's generator, our own text).

ingest: the pages are written to disk and ingested by a child process; reported is that
child's peak resident set size as the kernel tracked it (``ru_maxrss`` of
``getrusage(RUSAGE_CHILDREN)``, read before any other child runs).

crawl: the pages are served on 127.0.0.1 (bench/crash.py's site: home page, robots.txt,
sitemap index, sitemaps, RSS feed) and crawled with ``--delay 0`` and the default workers
(one extraction process per CPU). The crawl runs in a process group of its own: the
crawler, the multiprocessing forkserver, its extraction workers and the resource tracker.
Every 50 ms the script reads ``/proc/PID/status`` of every process of the group and
reports:

* the tree's peak RSS: the largest sum of ``VmRSS`` over the group's processes seen in one
  sample (pages shared between processes, such as the forkserver's and its workers'
  copy-on-write pages, count once per process, so this overstates real use);
* the tree's peak PSS, the same from ``/proc/PID/smaps_rollup`` (shared pages divided
  among the processes that share them);
* each process's own peak RSS (``VmHWM``, tracked by the kernel; the last value read
  before the process ended), and their sum: an upper bound on the tree at any moment,
  since the processes need not peak at once.

The limit (``--limit``, 400 MB) applies to the larger of the tree's peak RSS and the sum
of the peaks; the script exits 1 above it.
"""

from __future__ import annotations

import argparse
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from crash import Site, group_processes, make_pages, newsmill, run_env, site_pages

MB = 1024 * 1024


def measure_ingest(files: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        pages = Path(tmp) / "pages"
        make_pages(pages, files, random.Random(3))
        db = Path(tmp) / "news.db"
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        started = time.monotonic()
        subprocess.run(
            newsmill("ingest", str(pages), "--db", str(db), "-q"), env=run_env(), check=True
        )
        seconds = time.monotonic() - started
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        if peak_kb <= before:
            sys.exit("measure the ingest before any bigger child process has run")
        with sqlite3.connect(db) as conn:
            articles = conn.execute("select count(*) from articles").fetchone()[0]
        return {
            "files": files,
            "articles": articles,
            "peak_rss_mb": peak_kb / 1024,
            "seconds": seconds,
            "database_mb": db.stat().st_size / 1e6,
        }


def _status(pid: int) -> dict[str, str]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return fields


def _kb(value: str) -> int:
    return int(value.split()[0]) if value else 0


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return _kb(line.partition(":")[2].strip())
    except OSError:
        pass
    return 0


@dataclass
class Proc:
    pid: int
    ppid: int
    role: str
    hwm_kb: int = 0  # VmHWM: this process's own peak RSS, as last read


@dataclass
class TreeSampler:
    """Samples the processes of one process group (see the module docstring)."""

    pgid: int
    procs: dict[int, Proc] = field(default_factory=dict)
    peak_rss_kb: int = 0
    peak_pss_kb: int = 0
    peak_processes: int = 0
    samples: int = 0

    def members(self) -> list[tuple[int, int]]:
        return group_processes(self.pgid)

    def sample(self) -> None:
        rss = pss = n = 0
        for pid, ppid in self.members():
            try:
                status = _status(pid)
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue  # ended meanwhile
            proc = self.procs.get(pid)
            if proc is None:
                proc = self.procs[pid] = Proc(pid, ppid, self._role(pid, ppid, cmdline))
            proc.hwm_kb = max(proc.hwm_kb, _kb(status.get("VmHWM", "")))
            rss += _kb(status.get("VmRSS", ""))
            pss += _pss_kb(pid)
            n += 1
        self.samples += 1
        self.peak_rss_kb = max(self.peak_rss_kb, rss)
        self.peak_pss_kb = max(self.peak_pss_kb, pss)
        self.peak_processes = max(self.peak_processes, n)

    def _role(self, pid: int, ppid: int, cmdline: bytes) -> str:
        if pid == self.pgid:
            return "crawler"
        if b"resource_tracker" in cmdline:
            return "resource tracker"
        if b"forkserver" in cmdline:
            # the workers are forked from the forkserver: same command line, its pid as parent
            return "forkserver" if ppid == self.pgid else "extraction worker"
        return "other"


def measure_crawl(pages: int, interval: float = 0.05) -> dict:
    site = Site(site_pages(pages, random.Random(3)))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "news.db"
            started = time.monotonic()
            log = Path(tmp) / "stderr.txt"
            with log.open("wb") as err:
                proc = subprocess.Popen(
                    newsmill("crawl", site.base + "/", "--delay", "0", "--db", str(db), "-q"),
                    env=run_env(),
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    start_new_session=True,
                )
                sampler = TreeSampler(proc.pid)
                while proc.poll() is None:
                    sampler.sample()
                    time.sleep(interval)
            seconds = time.monotonic() - started
            if proc.returncode != 0:
                sys.exit(f"crawl failed ({proc.returncode}): {log.read_text()[-2000:]}")
            with sqlite3.connect(db) as conn:
                articles = conn.execute("select count(*) from articles").fetchone()[0]
            size_mb = db.stat().st_size / 1e6
    finally:
        site.close()
    by_role: dict[str, list[float]] = {}
    for p in sampler.procs.values():
        by_role.setdefault(p.role, []).append(p.hwm_kb / 1024)
    return {
        "pages": pages,
        "articles": articles,
        "article_requests": len(site.article_hits),
        "seconds": seconds,
        "database_mb": size_mb,
        "samples": sampler.samples,
        "processes": sampler.peak_processes,
        "tree_peak_rss_mb": sampler.peak_rss_kb / 1024,
        "tree_peak_pss_mb": sampler.peak_pss_kb / 1024,
        "process_peak_rss_mb": by_role,
        "sum_of_process_peaks_mb": sum(p.hwm_kb for p in sampler.procs.values()) / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=5000, help="ingest: files")
    parser.add_argument("--pages", type=int, default=5000, help="crawl: article pages")
    parser.add_argument("--mode", choices=["ingest", "crawl", "both"], default="both")
    parser.add_argument("--limit", type=float, default=400, help="MB (default 400)")
    args = parser.parse_args()
    over = False
    if args.mode in ("ingest", "both"):
        r = measure_ingest(args.files)
        print(
            f"ingest of {r['files']} files: peak RSS {r['peak_rss_mb']:.0f} MB, "
            f"{r['seconds']:.1f} s ({r['files'] / r['seconds']:.0f} files/s), "
            f"{r['articles']} articles, database {r['database_mb']:.1f} MB",
            flush=True,
        )
        over |= r["peak_rss_mb"] > args.limit
    if args.mode in ("crawl", "both"):
        r = measure_crawl(args.pages)
        print(
            f"crawl of {r['pages']} pages: {r['seconds']:.1f} s "
            f"({r['pages'] / r['seconds']:.0f} pages/s), {r['article_requests']} article "
            f"requests, {r['articles']} articles, database {r['database_mb']:.1f} MB"
        )
        print(
            f"  process tree ({r['processes']} processes, {r['samples']} samples every 50 ms): "
            f"peak RSS {r['tree_peak_rss_mb']:.0f} MB (sum over processes), "
            f"peak PSS {r['tree_peak_pss_mb']:.0f} MB"
        )
        peaks = ", ".join(
            f"{role} {' + '.join(f'{mb:.0f}' for mb in sorted(mbs))} MB"
            for role, mbs in r["process_peak_rss_mb"].items()
        )
        print(f"  peak RSS of each process (VmHWM): {peaks}")
        print(f"  sum of the processes' peaks: {r['sum_of_process_peaks_mb']:.0f} MB")
        worst = max(r["tree_peak_rss_mb"], r["sum_of_process_peaks_mb"])
        over |= worst > args.limit
    if over:
        print(f"over the limit of {args.limit:.0f} MB")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
