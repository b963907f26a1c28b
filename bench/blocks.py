"""Check the page classifier (newsmill.classify): walls kept out, real articles kept in.

Usage::

    python bench/blocks.py ../shared/bench/extraction ../shared/bench/extraction-wceb \\
        [--sample 48] [--seed 17] [--cache /tmp/blocks-cache.pickle] [--json out.json]
        [--cost 181]

Two measurements:

1. **Labelled check.** The wall pages of ``tests/walls.py`` (written by us after real-world
   consent walls, paywall teasers, bot challenges, region blocks, soft 404s and tag/search
   pages, in several languages; label = their class) and ``--sample`` real articles drawn
   (seeded) from the benchmark sets given (label = article). Precision and recall of
   "not an article" (any class but article), and the share of walls given their exact class.
2. **Every benchmark page.** Each page of each set given is extracted and classified; a
   page classified as anything but an article would be quarantined. The script prints how
   many, per class and subset, with the evidence, and the classifier's time per page
   (extraction excluded: that is the pipeline's cost anyway). ``--cost N`` times extraction
and classification page by page in turn on the first N pages, for what classifying adds.

Extraction of ~3,000 pages takes minutes; ``--cache`` keeps the articles between runs (the
cache is keyed by the page id and is only valid for one version of the extractor).
"""

from __future__ import annotations

import argparse
import gzip
import json
import pickle
import random
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from tests.walls import extra_pages, wall_pages  # noqa: E402

from newsmill.classify import ARTICLE, classify  # noqa: E402
from newsmill.errors import NoArticle  # noqa: E402
from newsmill.extract import decode_html, parse_article  # noqa: E402
from newsmill.models import Article  # noqa: E402


def read_set(directory: Path) -> list[dict]:
    rows = [json.loads(line) for line in (directory / "truth.jsonl").open(encoding="utf-8")]
    for row in rows:
        row["set"] = directory.name
        row["path"] = directory / "pages" / f"{row['id']}.html.gz"
    return rows


def page_html(row: dict) -> str:
    return decode_html(gzip.decompress(row["path"].read_bytes()))


def extract(html: str, url: str | None) -> Article | None:
    try:
        return parse_article(html, url)
    except NoArticle:
        return None


def timed_classify(html: str, url: str | None, article: Article | None) -> tuple[str, str, float]:
    started = time.perf_counter()
    verdict = classify(html, url, article)
    return verdict.page_class, verdict.evidence, time.perf_counter() - started


def every_page(rows: list[dict], cache: dict) -> dict:
    """Classify every benchmark page; return counts, the quarantined pages and timings."""
    quarantined = []
    seconds = []
    by_subset: Counter[str] = Counter()
    for i, row in enumerate(rows):
        html = page_html(row)
        if row["id"] not in cache:
            cache[row["id"]] = extract(html, row.get("url"))
        article = cache[row["id"]]
        page_class, evidence, took = timed_classify(html, row.get("url"), article)
        seconds.append(took)
        by_subset[row.get("subset") or row["set"]] += 1
        if page_class != ARTICLE:
            quarantined.append(
                {"id": row["id"], "set": row["set"], "class": page_class, "evidence": evidence}
            )
        if (i + 1) % 500 == 0:
            print(f"  {i + 1}/{len(rows)} pages", file=sys.stderr)
    seconds.sort()
    return {
        "pages": len(rows),
        "subsets": dict(by_subset),
        "quarantined": quarantined,
        "by_class": dict(Counter(q["class"] for q in quarantined)),
        "ms_mean": 1000 * sum(seconds) / max(len(seconds), 1),
        "ms_p50": 1000 * seconds[len(seconds) // 2] if seconds else 0.0,
        "ms_p99": 1000 * seconds[int(len(seconds) * 0.99)] if seconds else 0.0,
        "ms_max": 1000 * seconds[-1] if seconds else 0.0,
    }


def cost(rows: list[dict], n: int) -> dict:
    """Extraction and classification time on the first ``n`` pages, taken page by page in
    turn (so background load hits both alike): what classifying adds to ``analyze``."""
    extract_s = classify_s = 0.0
    for row in rows[:n]:
        html = page_html(row)
        started = time.perf_counter()
        article = extract(html, row.get("url"))
        extract_s += time.perf_counter() - started
        classify_s += timed_classify(html, row.get("url"), article)[2]
    pages = max(min(n, len(rows)), 1)
    return {
        "pages": pages,
        "extract_ms": 1000 * extract_s / pages,
        "classify_ms": 1000 * classify_s / pages,
        "share": classify_s / (extract_s + classify_s) if extract_s + classify_s else 0.0,
    }


def labelled(rows: list[dict], cache: dict, sample: int, seed: int) -> dict:
    """Precision/recall of "not an article" on our walls plus a sample of real articles."""
    cases = []  # (name, label, html, url)
    for wall in wall_pages() + extra_pages():
        cases.append((wall.name, wall.page_class, wall.html, wall.url))
    picked = random.Random(seed).sample(rows, min(sample, len(rows))) if rows else []
    for row in picked:
        cases.append((f"{row['set']}/{row['id']}", ARTICLE, page_html(row), row.get("url")))
    tp = fp = fn = exact = walls = 0
    wrong = []
    for name, label, html, url in cases:
        key = ("wall", name) if label != ARTICLE else name.split("/", 1)[1]
        if key not in cache:
            cache[key] = extract(html, url)
        page_class, evidence, _ = timed_classify(html, url, cache[key])
        predicted_wall, is_wall = page_class != ARTICLE, label != ARTICLE
        walls += is_wall
        tp += predicted_wall and is_wall
        fp += predicted_wall and not is_wall
        fn += is_wall and not predicted_wall
        exact += is_wall and page_class == label
        if page_class != label:
            wrong.append({"page": name, "label": label, "class": page_class, "evidence": evidence})
    return {
        "pages": len(cases),
        "walls": walls,
        "articles": len(cases) - walls,
        "precision": tp / (tp + fp) if tp + fp else 1.0,
        "recall": tp / (tp + fn) if tp + fn else 1.0,
        "exact_class": exact / walls if walls else 1.0,
        "wrong": wrong,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="*", type=Path, help="benchmark directories")
    parser.add_argument("--sample", type=int, default=48, help="real articles in the check")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--cache", type=Path, help="pickle of extracted articles")
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument(
        "--cost", type=int, default=0, metavar="N", help="time extraction vs classify on N pages"
    )
    args = parser.parse_args()

    cache: dict = {}
    if args.cache and args.cache.exists():
        cache = pickle.loads(args.cache.read_bytes())
    rows = [row for directory in args.sets if directory.exists() for row in read_set(directory)]
    check = labelled(rows, cache, args.sample, args.seed)
    print(
        f"labelled check: {check['pages']} pages ({check['walls']} walls, "
        f"{check['articles']} real articles): precision {check['precision']:.3f}, "
        f"recall {check['recall']:.3f} for 'not an article'; "
        f"exact class {check['exact_class']:.3f} of walls"
    )
    for item in check["wrong"]:
        print(f"  {item['page']}: labelled {item['label']}, got {item['class']} {item['evidence']}")
    result = {"labelled": check}
    if rows:
        every = every_page(rows, cache)
        subsets = ", ".join(f"{k} {v}" for k, v in sorted(every["subsets"].items()))
        print(
            f"benchmark pages: {every['pages']} ({subsets}): "
            f"{len(every['quarantined'])} quarantined {every['by_class']}; classify "
            f"{every['ms_mean']:.2f} ms/page mean, p50 {every['ms_p50']:.2f}, "
            f"p99 {every['ms_p99']:.2f}, max {every['ms_max']:.1f}"
        )
        for item in every["quarantined"]:
            print(f"  {item['set']}/{item['id']}: {item['class']} ({item['evidence']})")
        result["benchmark"] = every
    if args.cost and rows:
        spent = cost(rows, args.cost)
        print(
            f"cost on {spent['pages']} pages: extraction {spent['extract_ms']:.1f} ms/page, "
            f"classification {spent['classify_ms']:.2f} ms/page "
            f"({spent['share']:.1%} of the two)"
        )
        result["cost"] = spent
    if args.cache:
        args.cache.write_bytes(pickle.dumps(cache))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
