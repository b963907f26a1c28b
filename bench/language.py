"""Language detection from the text (``newsmill.language``) against the language pages
declare, on extraction datasets in the format of ``shared/bench/extraction/``.

    python bench/language.py ../shared/bench/extraction ../shared/bench/extraction-wceb

For every page, newsmill's extraction gives the declared language (or none) and the
cleaned text. On the pages that declare one, the text's language is detected as for a page
that declares none, and the two are compared: how often detection answers (coverage) and
how often its answer is the declared language (agreement), at several probability
thresholds. Declared languages are not always right (a template's ``lang="en"`` on a page
in another language), so agreement is a lower bound of accuracy. Also: how many pages
declare no language (those detection is for), what it says for them, and its cost.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from extraction import load_dataset
from newsmill import language
from newsmill.errors import NoArticle
from newsmill.extract import parse_article

THRESHOLDS = (0.5, 0.8, 0.9, 0.95, 0.99)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", type=Path, nargs="+")
    args = parser.parse_args()
    declared: list[tuple[str, str, float]] = []  # (declared, detected, probability)
    undeclared: Counter[str] = Counter()
    times: list[float] = []
    total = short = 0
    language._identifier()  # the model loaded once, outside the timing
    for directory in args.datasets:
        if not (directory / "truth.jsonl").is_file():
            print(f"{directory}: no truth.jsonl, skipped", file=sys.stderr)
            continue
        for page in load_dataset(directory):
            try:
                article = parse_article(page.html, page.url)
            except NoArticle:
                continue
            total += 1
            started = time.perf_counter()
            judged = language.classify(article.text)
            if judged is None:
                short += 1
                continue
            times.append(time.perf_counter() - started)
            code, probability = judged
            if article.language:
                declared.append((article.language.split("-")[0].lower(), code, probability))
            elif probability >= language.MIN_PROBABILITY:
                undeclared[code] += 1
            else:
                undeclared["(unsure)"] += 1
    print(f"pages extracted: {total}; text under {language.MIN_CHARS} characters: {short}")
    print(f"declaring a language: {len(declared)}; declaring none: {sum(undeclared.values())}")
    print("| threshold | coverage | agreement | disagreements |")
    print("| ---: | ---: | ---: | ---: |")
    for threshold in THRESHOLDS:
        answered = [(d, c) for d, c, p in declared if p >= threshold]
        agree = sum(d == c for d, c in answered)
        cover = len(answered) / len(declared) if declared else 0.0
        rate = agree / len(answered) if answered else 0.0
        print(f"| {threshold} | {cover:.3f} | {rate:.4f} | {len(answered) - agree} |")
    wrong = Counter((d, c) for d, c, p in declared if p >= language.MIN_PROBABILITY and d != c)
    print(
        f"disagreements at {language.MIN_PROBABILITY} (declared, detected): {wrong.most_common(12)}"
    )
    print(
        f"detected on pages declaring none (at {language.MIN_PROBABILITY}): "
        f"{undeclared.most_common(12)}"
    )
    if times:
        ms = sorted(t * 1000 for t in times)
        print(
            f"detection: {statistics.mean(ms):.2f} ms/page mean, p50 {ms[len(ms) // 2]:.2f}, "
            f"p99 {ms[int(len(ms) * 0.99)]:.2f}, max {ms[-1]:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
