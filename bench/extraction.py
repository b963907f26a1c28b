"""Score newsmill's extractor against plain trafilatura on an article-extraction dataset.

Usage::

    python bench/extraction.py DATASET_DIR [--repeat 3] [--json out.json] [--half dev|holdout]

``DATASET_DIR`` holds ``truth.jsonl`` (one ``{"id", "url", "text"}`` object a line) and
``pages/<id>.html.gz`` (gzip of UTF-8 HTML), the layout of the ScrapingHub/Zyte
article-extraction-benchmark.

Scoring follows upstream's ``evaluate.py``: tokens are runs of ``\\w+``, shingles are runs of
4 tokens counted as a multiset (a text of 1-3 tokens is one shingle); per page precision and
recall; precision is averaged over pages with a non-empty prediction, recall over all pages
(an empty prediction scores 0); F1 is the harmonic mean of the two averages.

Timing is fair by construction: every extractor gets the same decoded ``str`` in the same
process, after a warm-up pass, and the extractors take turns page by page (in a rotating
order) so that background load hits them all alike. pages/s is pages divided by the sum of
the time spent in that extractor, taking the fastest of ``--repeat`` passes.

Generality: pages are split into two halves by a hash of their id (``--split-seed``). The
table shows F1 on each half; rules were developed looking at the "dev" half only, and the
"holdout" half shows whether a gain carries over to pages that were not looked at.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from newsmill.extract import extract_article

_TOKEN = re.compile(r"\w+")
SHINGLE = 4


def shingles(text: str) -> Counter[tuple[str, ...]]:
    """Multiset of 4-token shingles (a 1-3 token text is one shingle, empty text none)."""
    tokens = _TOKEN.findall(text)
    if not tokens:
        return Counter()
    if len(tokens) < SHINGLE:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + SHINGLE]) for i in range(len(tokens) - SHINGLE + 1))


def page_scores(truth: str, prediction: str) -> tuple[float | None, float]:
    """Return (precision or None for an empty prediction, recall) of one page."""
    t, p = shingles(truth), shingles(prediction)
    tp = sum((t & p).values())
    fp = sum(p.values()) - tp
    fn = sum(t.values()) - tp
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall


def aggregate(scores: list[tuple[float | None, float]]) -> tuple[float, float, float]:
    """Mean precision (non-empty predictions), mean recall, F1 of the means."""
    precisions = [p for p, _ in scores if p is not None]
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(r for _, r in scores) / len(scores) if scores else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


@dataclass
class Page:
    id: str
    url: str | None
    html: str
    truth: str

    def half(self, seed: str) -> str:
        digest = hashlib.sha256(f"{seed}:{self.id}".encode()).digest()
        return "dev" if digest[0] % 2 == 0 else "holdout"


def load_dataset(directory: Path) -> list[Page]:
    pages = []
    with (directory / "truth.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            row = json.loads(line)
            raw = (directory / "pages" / f"{row['id']}.html.gz").read_bytes()
            html = gzip.decompress(raw).decode("utf-8")
            pages.append(Page(row["id"], row.get("url"), html, row["text"] or ""))
    return pages


def _newsmill(html: str, url: str | None) -> str:
    article = extract_article(html, url)
    return article.text if article is not None else ""


def _trafilatura(**kwargs: object) -> Callable[[str, str | None], str]:
    def run(html: str, url: str | None) -> str:
        return trafilatura.extract(html, url=url, **kwargs) or ""  # type: ignore[arg-type]

    return run


EXTRACTORS: dict[str, Callable[[str, str | None], str]] = {
    "trafilatura (defaults)": _trafilatura(),
    "trafilatura (include_comments=False)": _trafilatura(include_comments=False),
    "trafilatura (fast, include_comments=False)": _trafilatura(fast=True, include_comments=False),
    "newsmill": _newsmill,
}
BASELINE = "trafilatura (defaults)"


@dataclass
class Result:
    name: str
    outputs: dict[str, str] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)  # one total per pass


def run(pages: list[Page], names: list[str], repeat: int) -> dict[str, Result]:
    results = {name: Result(name) for name in names}
    for page in pages[: min(5, len(pages))]:  # warm-up: imports, caches, lazy compiles
        for name in names:
            EXTRACTORS[name](page.html, page.url)
    for _ in range(repeat):
        totals = dict.fromkeys(names, 0.0)
        for i, page in enumerate(pages):
            order = names[i % len(names) :] + names[: i % len(names)]
            for name in order:
                start = time.perf_counter()
                text = EXTRACTORS[name](page.html, page.url)
                totals[name] += time.perf_counter() - start
                results[name].outputs[page.id] = text
        for name in names:
            results[name].seconds.append(totals[name])
    return results


def summarize(pages: list[Page], results: dict[str, Result], seed: str) -> list[dict[str, object]]:
    rows = []
    for name, result in results.items():
        per_page = {p.id: page_scores(p.truth, result.outputs[p.id]) for p in pages}
        precision, recall, f1 = aggregate(list(per_page.values()))
        halves = {
            half: aggregate([per_page[p.id] for p in pages if p.half(seed) == half])[2]
            for half in ("dev", "holdout")
        }
        best = min(result.seconds)
        rows.append(
            {
                "extractor": name,
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "f1_dev": halves["dev"],
                "f1_holdout": halves["holdout"],
                "empty": sum(1 for p in pages if not result.outputs[p.id].strip()),
                "seconds": best,
                "pages_per_second": len(pages) / best if best else 0.0,
                "per_page": {k: {"precision": v[0], "recall": v[1]} for k, v in per_page.items()},
            }
        )
    return rows


def markdown(rows: list[dict[str, object]], n_pages: int, seed: str) -> str:
    base = next((r for r in rows if r["extractor"] == BASELINE), None)
    lines = [
        f"{n_pages} pages; halves by sha256(seed={seed!r}:id): rules were developed on 'dev' only",
        "",
        "| extractor | precision | recall | F1 | F1 dev | F1 holdout | empty | pages/s "
        "| speed vs defaults |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        speed = (
            f"{r['pages_per_second'] / base['pages_per_second']:.2f}x"  # type: ignore[operator]
            if base
            else "-"
        )
        lines.append(
            f"| {r['extractor']} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} "
            f"| {r['f1_dev']:.4f} | {r['f1_holdout']:.4f} | {r['empty']} "
            f"| {r['pages_per_second']:.1f} | {speed} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path, help="directory with truth.jsonl and pages/")
    parser.add_argument("--repeat", type=int, default=2, help="timed passes (fastest is kept)")
    parser.add_argument("--json", type=Path, help="also write the results (with per-page) here")
    parser.add_argument("--only", action="append", help="run only these extractors (repeatable)")
    parser.add_argument("--half", choices=["dev", "holdout"], help="score one half only")
    parser.add_argument("--split-seed", default="newsmill", help="seed of the dev/holdout split")
    parser.add_argument("--limit", type=int, help="first N pages only (quick checks)")
    args = parser.parse_args(argv)

    pages = load_dataset(args.dataset)
    if args.half:
        pages = [p for p in pages if p.half(args.split_seed) == args.half]
    if args.limit:
        pages = pages[: args.limit]
    names = args.only or list(EXTRACTORS)
    unknown = [n for n in names if n not in EXTRACTORS]
    if unknown:
        parser.error(f"unknown extractor(s) {unknown}; known: {list(EXTRACTORS)}")
    results = run(pages, names, args.repeat)
    rows = summarize(pages, results, args.split_seed)
    print(markdown(rows, len(pages), args.split_seed))
    if args.json:
        args.json.write_text(json.dumps({"rows": rows}, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
