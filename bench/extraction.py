"""Score newsmill's extractor against plain trafilatura on article-extraction datasets.

Usage::

    python bench/extraction.py DATASET_DIR [DATASET_DIR ...] [--repeat 1]
        [--limit-per-set N] [--subset NAME] [--only EXTRACTOR] [--json out.json]

Each ``DATASET_DIR`` holds ``truth.jsonl`` (one ``{"id", "url", "text"}`` object a line, with
an optional ``"subset"``) and ``pages/<id>.html.gz`` (gzip of UTF-8 HTML), the layout of the
ScrapingHub/Zyte article-extraction-benchmark (``../shared/bench/extraction``) and of the
WCEB-derived set (``../shared/bench/extraction-wceb``). All sets are scored in one run.

Scoring follows upstream's ``evaluate.py``: tokens are runs of ``\\w+``, shingles are runs of
4 tokens counted as a multiset (a text of 1-3 tokens is one shingle); per page precision and
recall; precision is averaged over pages with a non-empty prediction, recall over all pages
(an empty prediction scores 0); F1 is the harmonic mean of the two averages. Scores are given
per set and per subset; "all" pools every page of a set.

A *collapse* is a page where newsmill's recall is below 0.5 while trafilatura's defaults
reach at least 0.9: the article silently lost most of its text.

Timing is fair by construction: every extractor gets the same decoded ``str`` in the same
process, after a warm-up pass, and the extractors take turns page by page (in a rotating
order, over the pages of all sets) so that background load hits them all alike. pages/s is
pages divided by the sum of each page's time in that extractor (its fastest of ``--repeat``
passes); "speed vs defaults" is that against ``trafilatura.extract(html, url=url)`` over the
same pages of the same run. newsmill's time includes its metadata and its cleaning.

newsmill's extraction path (``Article.extraction``: fast, full, structured data, merged) is
counted per set with the time spent on the pages of each path, which shows how often the
second pass runs and what it costs.

Generality: pages are split into two halves by a hash of their id (``--split-seed``). The
table shows F1 on each half; rules were developed looking at the "dev" half only, and the
"holdout" half shows whether a gain carries over to pages that were not looked at.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import logging
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from newsmill import extract
from newsmill.errors import NoArticle
from newsmill.extract import parse_article

_TOKEN = re.compile(r"\w+")
SHINGLE = 4
COLLAPSE_RECALL = 0.5  # newsmill below this ...
COLLAPSE_BASELINE = 0.9  # ... while trafilatura's defaults reach this


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
    dataset: str
    id: str
    url: str | None
    html: str
    truth: str
    subset: str | None = None

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.id}"

    def half(self, seed: str) -> str:
        return "dev" if _digest(seed, self.id)[0] % 2 == 0 else "holdout"


def _digest(seed: str, ident: str) -> bytes:
    return hashlib.sha256(f"{seed}:{ident}".encode()).digest()


def load_dataset(
    directory: Path, *, limit: int | None = None, subsets: list[str] | None = None, seed: str = ""
) -> list[Page]:
    """The pages of one set; ``limit``: a sample of that many, the same in every run (the
    pages of lowest hash), so that a quick run mixes the subsets."""
    rows = []
    with (directory / "truth.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                row = json.loads(line)
                if not subsets or row.get("subset") in subsets:
                    rows.append(row)
    if limit is not None:
        rows = sorted(rows, key=lambda row: _digest(seed, row["id"]))[:limit]
        rows.sort(key=lambda row: row["id"])
    pages = []
    for row in rows:
        raw = (directory / "pages" / f"{row['id']}.html.gz").read_bytes()
        html = gzip.decompress(raw).decode("utf-8")
        name = directory.resolve().name
        pages.append(
            Page(name, row["id"], row.get("url"), html, row["text"] or "", row.get("subset"))
        )
    return pages


# Which extraction path newsmill took on each page (the last pass wins; it is deterministic).
PATHS: dict[str, str] = {}


def _newsmill(page: Page) -> str:
    try:
        article = parse_article(page.html, page.url)
    except NoArticle as err:
        PATHS[page.key] = f"none ({err.reason})"
        return ""
    PATHS[page.key] = _path_label(article.extraction)
    return article.text


def _path_label(extraction: str | None) -> str:
    """The path of ``Article.extraction``, whether a second pass ran and was not taken, and
    whether dropped text (lists, bare text) was read again (taken or not)."""
    path, _, why = (extraction or "?").partition(": ")
    label = path
    if path not in ("full", "merged") and "the full pass" in why:
        label = f"{path} (after a full pass)"
    if "read again with them as paragraphs" in why:
        taken = not why.endswith("kept the text without them")
        label += " + dropped text" if taken else " (dropped text read, not taken)"
    return label


def _newsmill_unchecked(page: Page) -> str:
    """newsmill with the fast path's output taken unchecked (as before the truncation
    check): shows what the check costs and gains, in the same run."""
    saved = extract._shortfall, extract._with_dropped_text
    extract._shortfall = lambda tree, text, structured, main: (None, "", None)
    extract._with_dropped_text = lambda tree, url, body, holder: None
    try:
        return _newsmill(page)
    finally:
        extract._shortfall, extract._with_dropped_text = saved


def _trafilatura(**kwargs: object) -> Callable[[Page], str]:
    def run(page: Page) -> str:
        return trafilatura.extract(page.html, url=page.url, **kwargs) or ""  # type: ignore[arg-type]

    return run


NEWSMILL = "newsmill"
BASELINE = "trafilatura (defaults)"
NO_COMMENTS = "trafilatura (include_comments=False)"
EXTRACTORS: dict[str, Callable[[Page], str]] = {
    BASELINE: _trafilatura(),
    NO_COMMENTS: _trafilatura(include_comments=False),
    "trafilatura (fast, include_comments=False)": _trafilatura(fast=True, include_comments=False),
    NEWSMILL: _newsmill,
    "newsmill (fast path unchecked)": _newsmill_unchecked,
}
DEFAULT_EXTRACTORS = [BASELINE, NO_COMMENTS, NEWSMILL]


@dataclass
class Result:
    name: str
    outputs: dict[str, str] = field(default_factory=dict)  # page key -> text
    times: dict[str, float] = field(default_factory=dict)  # page key -> seconds (best pass)
    seconds: list[float] = field(default_factory=list)  # one total per pass


def run(
    pages: list[Page], names: list[str], repeat: int, progress: bool = False
) -> dict[str, Result]:
    results = {name: Result(name) for name in names}
    for page in pages[: min(5, len(pages))]:  # warm-up: imports, caches, lazy compiles
        for name in names:
            EXTRACTORS[name](page)
    for n in range(repeat):
        totals = dict.fromkeys(names, 0.0)
        for i, page in enumerate(pages):
            order = names[i % len(names) :] + names[: i % len(names)]
            for name in order:
                start = time.perf_counter()
                text = EXTRACTORS[name](page)
                took = time.perf_counter() - start
                totals[name] += took
                result = results[name]
                result.outputs[page.key] = text
                result.times[page.key] = min(took, result.times.get(page.key, took))
            if progress and i % 250 == 249:
                print(f"pass {n + 1}: {i + 1}/{len(pages)} pages", file=sys.stderr, flush=True)
        for name in names:
            results[name].seconds.append(totals[name])
    return results


@dataclass
class Scored:
    """Per-page scores of every extractor, and the tables made from them."""

    pages: list[Page]
    results: dict[str, Result]
    seed: str
    per_page: dict[str, dict[str, tuple[float | None, float]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, result in self.results.items():
            self.per_page[name] = {
                p.key: page_scores(p.truth, result.outputs[p.key]) for p in self.pages
            }

    def scores(self, name: str, pages: Iterable[Page]) -> tuple[float, float, float]:
        return aggregate([self.per_page[name][p.key] for p in pages])

    def seconds(self, name: str, pages: Iterable[Page]) -> float:
        return sum(self.results[name].times[p.key] for p in pages)

    def collapses(self) -> list[tuple[Page, float, float]]:
        if NEWSMILL not in self.per_page or BASELINE not in self.per_page:
            return []
        found = []
        for p in self.pages:
            mine, base = self.per_page[NEWSMILL][p.key][1], self.per_page[BASELINE][p.key][1]
            if mine < COLLAPSE_RECALL and base >= COLLAPSE_BASELINE:
                found.append((p, mine, base))
        return found


def set_table(scored: Scored, pages: list[Page]) -> list[str]:
    names = list(scored.results)
    base_seconds = scored.seconds(BASELINE, pages) if BASELINE in scored.results else None
    lines = [
        "| extractor | precision | recall | F1 | F1 dev | F1 holdout | empty | pages/s "
        "| speed vs defaults |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        precision, recall, f1 = scored.scores(name, pages)
        halves = [
            scored.scores(name, [p for p in pages if p.half(scored.seed) == h])[2]
            for h in ("dev", "holdout")
        ]
        empty = sum(1 for p in pages if not scored.results[name].outputs[p.key].strip())
        seconds = scored.seconds(name, pages)
        rate = len(pages) / seconds if seconds else 0.0
        speed = f"{base_seconds / seconds:.2f}x" if base_seconds and seconds else "-"
        lines.append(
            f"| {name} | {precision:.4f} | {recall:.4f} | {f1:.4f} | {halves[0]:.4f} "
            f"| {halves[1]:.4f} | {empty} | {rate:.1f} | {speed} |"
        )
    return lines


def subset_table(scored: Scored, pages: list[Page]) -> list[str]:
    groups: dict[str, list[Page]] = defaultdict(list)
    for p in pages:
        groups[p.subset or "-"].append(p)
    if len(groups) < 2:
        return []
    names = list(scored.results)
    head = "| subset | pages | " + " | ".join(f"{n} P / R / F1" for n in names)
    lines = [head + " | newsmill F1 - defaults |", "|---|---|" + "---|" * (len(names) + 1)]
    for subset, members in sorted(groups.items()):
        cells, f1s = [], {}
        for name in names:
            precision, recall, f1 = scored.scores(name, members)
            f1s[name] = f1
            cells.append(f"{precision:.3f} / {recall:.3f} / {f1:.4f}")
        delta = (
            f"{(f1s[NEWSMILL] - f1s[BASELINE]) * 100:+.2f}"
            if NEWSMILL in f1s and BASELINE in f1s
            else "-"
        )
        lines.append(f"| {subset} | {len(members)} | " + " | ".join(cells) + f" | {delta} |")
    return lines


def path_table(scored: Scored, pages: list[Page]) -> list[str]:
    """How often each of newsmill's extraction paths ran, and its time per page."""
    if NEWSMILL not in scored.results:
        return []
    groups: dict[str, list[Page]] = defaultdict(list)
    for p in pages:
        groups[PATHS.get(p.key, "?")].append(p)
    total = scored.seconds(NEWSMILL, pages)
    lines = [
        "| newsmill path | pages | share | ms/page (newsmill) | ms/page (defaults) | F1 |",
        "|---|---|---|---|---|---|",
    ]
    for path, members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        mine = scored.seconds(NEWSMILL, members) / len(members) * 1000
        base = (
            f"{scored.seconds(BASELINE, members) / len(members) * 1000:.1f}"
            if BASELINE in scored.results
            else "-"
        )
        f1 = scored.scores(NEWSMILL, members)[2]
        lines.append(
            f"| {path} | {len(members)} | {len(members) / len(pages):.1%} | {mine:.1f} "
            f"| {base} | {f1:.4f} |"
        )
    lines.append(f"| (all) | {len(pages)} | | {total / len(pages) * 1000:.1f} | | |")
    return lines


def _gold_counts_comments(scored: Scored, page: Page) -> bool:
    """True when trafilatura without comments also collapses on ``page``: its truth is
    mostly reader comments, which newsmill leaves out by design."""
    scores = scored.per_page.get(NO_COMMENTS)
    return scores is not None and scores[page.key][1] < COLLAPSE_RECALL


def report(scored: Scored) -> str:
    by_set: dict[str, list[Page]] = defaultdict(list)
    for p in scored.pages:
        by_set[p.dataset].append(p)
    out = [
        f"halves by sha256(seed={scored.seed!r}:id); collapses: newsmill recall < "
        f"{COLLAPSE_RECALL} where trafilatura's defaults reach >= {COLLAPSE_BASELINE}",
        "",
    ]
    for name, pages in by_set.items():
        out += [f"## {name}: {len(pages)} pages", ""]
        out += [*set_table(scored, pages), ""]
        subsets = subset_table(scored, pages)
        out += subsets + ([""] if subsets else [])
        paths = path_table(scored, pages)
        out += paths + ([""] if paths else [])
        collapses = [c for c in scored.collapses() if c[0].dataset == name]
        comments = [c for c in collapses if _gold_counts_comments(scored, c[0])]
        out.append(
            f"collapses: {len(collapses)} ({len(comments)} where trafilatura without comments"
            f" also stays below {COLLAPSE_RECALL}: the truth counts reader comments)"
        )
        for p, mine, base in collapses:
            note = " [comments]" if (p, mine, base) in comments else ""
            out.append(
                f"- {p.id} ({p.subset or '-'}): newsmill recall {mine:.2f} "
                f"({PATHS.get(p.key, '?')}), defaults {base:.2f}{note}"
            )
        out.append("")
    if len(by_set) > 1:
        out += [f"## all sets: {len(scored.pages)} pages (speed over every page of the run)", ""]
        out += [*set_table(scored, scored.pages), ""]
    return "\n".join(out)


def as_json(scored: Scored) -> dict[str, object]:
    return {
        "pages": [
            {
                "set": p.dataset,
                "id": p.id,
                "subset": p.subset,
                "newsmill_path": PATHS.get(p.key),
                **{
                    name: {
                        "precision": scored.per_page[name][p.key][0],
                        "recall": scored.per_page[name][p.key][1],
                        "seconds": scored.results[name].times[p.key],
                        "chars": len(scored.results[name].outputs[p.key]),
                    }
                    for name in scored.results
                },
            }
            for p in scored.pages
        ]
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", type=Path, nargs="+", help="directories with truth.jsonl")
    parser.add_argument("--repeat", type=int, default=1, help="timed passes (fastest is kept)")
    parser.add_argument("--json", type=Path, help="also write per-page scores and times here")
    parser.add_argument("--texts", type=Path, help="also write every output here (JSON lines)")
    parser.add_argument("--only", action="append", help="run only these extractors (repeatable)")
    parser.add_argument("--half", choices=["dev", "holdout"], help="score one half only")
    parser.add_argument("--split-seed", default="newsmill", help="seed of the dev/holdout split")
    parser.add_argument(
        "--limit-per-set", type=int, metavar="N", help="a fixed sample of N pages of each set"
    )
    parser.add_argument("--subset", action="append", help="only pages of this subset")
    parser.add_argument("--progress", action="store_true", help="report progress on stderr")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # trafilatura logs "discarding data" for empty pages

    pages: list[Page] = []
    for directory in args.datasets:
        if not (directory / "truth.jsonl").is_file():
            parser.error(f"{directory}: no truth.jsonl there")
        pages += load_dataset(
            directory, limit=args.limit_per_set, subsets=args.subset, seed=args.split_seed
        )
    if args.half:
        pages = [p for p in pages if p.half(args.split_seed) == args.half]
    if not pages:
        parser.error("no pages selected")
    names = args.only or DEFAULT_EXTRACTORS
    unknown = [n for n in names if n not in EXTRACTORS]
    if unknown:
        parser.error(f"unknown extractor(s) {unknown}; known: {list(EXTRACTORS)}")
    results = run(pages, names, args.repeat, args.progress)
    scored = Scored(pages, results, args.split_seed)
    print(report(scored))
    if args.json:
        args.json.write_text(json.dumps(as_json(scored), indent=1), encoding="utf-8")
    if args.texts:
        with args.texts.open("w", encoding="utf-8") as fh:
            for p in pages:
                row = {"set": p.dataset, "id": p.id, "path": PATHS.get(p.key)}
                row |= {name: results[name].outputs[p.key] for name in names}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
