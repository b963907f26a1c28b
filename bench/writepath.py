"""The crawl's writing path alone: ``record()`` and the template backlog, without drift.

    python bench/writepath.py ../shared/bench/extraction [--pages 2000] [--rate 60] [--repeat 3]

``bench/crawl.py``'s crawl spends its crawling process's time on Scrapy, on handing pages to
the extraction workers, and on writing what they found. This script times the last part
alone, in one process: the same 2,000 pages (``bench/crawl.py``'s site) go through
:func:`newsmill.pipeline.record` in the crawl's order, with the template backlog drained as
the crawl's pipeline drains it (a few articles after each page, once they have waited
``BACKLOG_WAIT_SECONDS``) and commits in groups. A fake clock puts page *i* at *i* /
``--rate`` seconds, so the backlog behaves as in a crawl at that many pages a second
whatever this machine's speed. Each page's analysis (extraction, done by the workers in a
crawl) is computed once, with the template hint the crawl would send, and not timed; the
rounds reuse it. CPU time (``process_time``) is reported next to the wall time. One
process does the whole replay, so no other process of the measurement competes with it
(a whole crawl's wall time moves with how its processes share the cores); the machine's own
speed still drifts, so compare rounds run one after the other. On 2026-12-02 three rounds
agreed within 1.5%.

The loop repeats what ``NewsmillPipeline.process_item`` and ``_drain_waiting``
(``newsmill.crawl.pipelines``) do after a page's analysis; keep the two in step.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

from crawl import build_pages
from newsmill import templates
from newsmill.crawl.state import CrawlRun
from newsmill.pipeline import Analysis, Document, analyze, record
from newsmill.store import Store
from newsmill.templates import BACKLOG_WAIT_SECONDS, DRAIN_PER_PAGE, TemplateHints
from newsmill.urls import normalize_url

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class FakeClock:
    def __init__(self) -> None:
        self.seconds = 0.0

    def iso(self, offset: float = 0.0) -> str:
        return (START + dt.timedelta(seconds=self.seconds + offset)).isoformat(timespec="seconds")


def one_round(
    pages: dict[str, bytes], analyses: dict[tuple[str, bytes], Analysis], rate: float, db: Path
) -> dict[str, float]:
    """Write every page into a new database at ``db``; return the times and the moves."""
    clock = FakeClock()
    with (
        mock.patch("newsmill.store.utcnow", clock.iso),
        mock.patch("newsmill.pipeline.utcnow", clock.iso),
        Store.open(db) as store,
    ):
        run = CrawlRun.start(store, "crawl", {})
        hints = TemplateHints()
        group = store.commit_group()
        spent = cpu = 0.0
        for i, (path, body) in enumerate(pages.items()):
            clock.seconds = i / rate
            url = normalize_url("http://127.0.0.1:9" + path) or path
            site = templates.site_key(url)
            doc = Document(
                body=body,
                input=url,
                url=url,
                kind="html",
                content_type="text/html",
                fetched_at=clock.iso(),
                template_hint=hints.packed(site),
            )
            key = (path, doc.template_hint)
            if key not in analyses:
                analyses[key] = analyze(doc)
            started, started_cpu = time.perf_counter(), time.process_time()
            with group.write():
                outcome = record(
                    store,
                    doc,
                    analyses[key],
                    run_id=run.run_id,
                    seen_at=clock.iso(),
                    defer_backfill=True,
                )
                run.after_record(outcome, also_urls=[doc.input])
            templates.drain_backlog(
                store,
                run_id=run.run_id,
                write=group.write,
                queued_by=clock.iso(-BACKLOG_WAIT_SECONDS),
                limit=DRAIN_PER_PAGE,
            )
            if group.due():
                group.flush()
            hints.learn(site, outcome.template_lines)
            spent += time.perf_counter() - started
            cpu += time.process_time() - started_cpu
        started, started_cpu = time.perf_counter(), time.process_time()
        at_end = len(templates.drain_backlog(store, run_id=run.run_id, write=group.write))
        group.flush()
        end, end_cpu = time.perf_counter() - started, time.process_time() - started_cpu
        moves = store.db.execute("select count(*) from article_moves").fetchone()[0]
        run.finish("ok")
    return {"during": spent, "during_cpu": cpu, "end": end, "end_cpu": end_cpu,
            "moves": moves, "moves_at_end": at_end}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=60.0, help="pages a second of the clock")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    pages = build_pages(args.dataset, args.pages)
    analyses: dict[tuple[str, bytes], Analysis] = {}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeat + 1):  # round 0 computes the analyses: not counted
            db = Path(tmp) / f"round-{k}.db"
            result = one_round(pages, analyses, args.rate, db)
            for suffix in ("", "-wal", "-shm"):
                Path(str(db) + suffix).unlink(missing_ok=True)
            if k:
                results.append(result)
                print(
                    f"round {k}: {result['during']:.2f} s during the crawl "
                    f"({result['during_cpu']:.2f} s CPU, "
                    f"{result['during'] / args.pages * 1000:.2f} ms a page), "
                    f"{result['end']:.2f} s at its end; {result['moves']} moves, "
                    f"{result['moves_at_end']} of them at the end",
                    flush=True,
                )
    cpu = statistics.median(r["during_cpu"] + r["end_cpu"] for r in results)
    print(
        f"{args.pages} pages at {args.rate:g} pages/s of the clock, {os.cpu_count()} CPUs, "
        f"Python {sys.version.split()[0]}: median {cpu:.2f} s CPU "
        f"({cpu / args.pages * 1000:.2f} ms a page) over {len(results)} rounds"
    )


if __name__ == "__main__":
    main()
