"""What each cleaning rule removes on article-extraction datasets, and what it is worth there.

Usage::

    python bench/cleaning.py DATASET_DIR [DATASET_DIR ...] [--half dev|holdout] [--top N]

For every page, newsmill extracts and cleans as usual; the cleaner says which lines it removed
and by which rule. For each rule, the page is scored again with that rule's lines put back in
place (the other rules' removals stay), with the scoring of ``bench/extraction.py``. A rule
whose lines are mostly in the ground truth shows up with a negative F1 contribution: on that
set it removes text the annotators counted as the article.

This is a diagnostic, not a target: the sets' ground truth has its own conventions (one keeps
copyright lines and embedded posts, another reader comments), and newsmill's rules say what a
news corpus wants removed. Read it to find rules that remove prose by mistake.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from extraction import Page, aggregate, load_dataset, page_scores
from newsmill import extract
from newsmill.clean import CleanResult
from newsmill.errors import NoArticle
from newsmill.extract import parse_article

Marked = list[tuple[str, str | None]]  # each input line, and the rule that removed it


def _marked_lines(text: str, result: CleanResult) -> Marked:
    """The cleaner's input lines in order, each with the rule that removed it (None: kept):
    kept and removed lines are both in input order, so one merge pass places them."""
    kept = result.text.splitlines() if result.text else []
    removed = list(result.removed)
    marked: Marked = []
    k = r = 0
    for line in (stripped for raw in text.splitlines() if (stripped := raw.strip())):
        if k < len(kept) and kept[k] == line:
            marked.append((line, None))
            k += 1
        elif r < len(removed) and removed[r].text == line:
            marked.append((line, removed[r].rule))
            r += 1
        else:  # not expected: keep the line's place, unmarked
            marked.append((line, None))
    return marked


def cleaned_pages(pages: Sequence[Page]) -> dict[str, Marked]:
    """Each page's cleaner input, marked (an empty list when newsmill stored nothing)."""
    seen: list[tuple[str, CleanResult]] = []
    original = extract.clean_lines

    def recording(text: str, *args: object, **kwargs: object) -> CleanResult:
        result = original(text, *args, **kwargs)  # type: ignore[arg-type]
        seen.append((text, result))
        return result

    extract.clean_lines = recording  # type: ignore[assignment]
    out: dict[str, Marked] = {}
    try:
        for page in pages:
            seen.clear()
            with contextlib.suppress(NoArticle):
                parse_article(page.html, page.url)
            out[page.key] = _marked_lines(*seen[-1]) if seen else []
    finally:
        extract.clean_lines = original  # type: ignore[assignment]
    return out


def _text(marked: Marked, put_back: str | None = None) -> str:
    return "\n".join(line for line, rule in marked if rule is None or rule == put_back)


def report(name: str, pages: Sequence[Page], marked: dict[str, Marked], top: int) -> None:
    base = aggregate([page_scores(p.truth, _text(marked[p.key])) for p in pages])
    words: dict[str, int] = defaultdict(int)
    touched: dict[str, set[str]] = defaultdict(set)
    for key, lines in marked.items():
        for line, rule in lines:
            if rule is not None:
                words[rule] += len(line.split())
                touched[rule].add(key)
    p, r, f = base
    print(f"\n## {name}: {len(pages)} pages; newsmill P {p:.4f} R {r:.4f} F1 {f:.4f}")
    print("\nF1 change when the rule's lines are put back (negative: the rule helps here)\n")
    print("| rule | pages | words removed | P change | R change | F1 change |")
    print("|---|---|---|---|---|---|")
    rows = []
    for rule in words:
        scores = [
            page_scores(p.truth, _text(marked[p.key], rule if p.key in touched[rule] else None))
            for p in pages
        ]
        p, r, f = aggregate(scores)
        rows.append((f - base[2], rule, p - base[0], r - base[1]))
    rows.sort(reverse=True)
    for delta, rule, dp, dr in rows[:top]:
        print(
            f"| {rule} | {len(touched[rule])} | {words[rule]} | {dp * 100:+.2f} | "
            f"{dr * 100:+.2f} | {delta * 100:+.2f} |"
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="+", type=Path, help="directories with truth.jsonl")
    parser.add_argument("--half", choices=("dev", "holdout"), help="score one half only")
    parser.add_argument("--split-seed", default="newsmill", help="seed of the dev/holdout split")
    parser.add_argument("--top", type=int, default=20, help="rules shown per set")
    args = parser.parse_args(argv)
    for directory in args.datasets:
        if not (directory / "truth.jsonl").is_file():
            parser.error(f"{directory}: no truth.jsonl")
        pages = load_dataset(directory, seed=args.split_seed)
        if args.half:
            pages = [p for p in pages if p.half(args.split_seed) == args.half]
        report(directory.resolve().name, pages, cleaned_pages(pages), args.top)
    print("\n(points: F1 x 100; the change is what keeping that rule's lines would do)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
