"""Which edits of a revisited article are trivial and which make a revision.

Usage::

    PYTHONPATH=src python bench/revisions.py DATASET_DIR [--seed 7]

``DATASET_DIR`` holds a ``truth.jsonl`` ({"id", "url", "text"} per line), like the Zyte
article-extraction benchmark (``../shared/bench/extraction``). Every article is edited the
ways a newsroom edits a published story, and :func:`newsmill.revisions.compare_texts`
judges each edited text against the original. Expected: whitespace changes are
``unchanged``, one or two typo fixes are ``trivial``, everything else (a sentence or a
paragraph added or removed, a number or a word changed, a word inserted, a new first line,
an editor's correction note) is a ``revision``. Prints a markdown table: per kind, how many
variants got each verdict.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from newsmill.revisions import compare_texts
from variants import add_paragraph, drop_paragraph, editors_note, paragraphs, with_headline

_ALPHA_WORD = re.compile(r"\b[^\W\d_]{4,}\b")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def respace(text: str, rng: random.Random) -> str:
    """Other whitespace: doubled spaces, sentences broken over lines, indented lines."""
    text = text.replace(". ", ".\n   ").replace(", ", ",  ")
    return "\n\n".join("  " + p for p in text.split("\n"))


def typos(n: int) -> Callable[[str, random.Random], str]:
    """``n`` words (alphabetic, 4+ letters) changed by one letter: swapped or dropped."""

    def edit(text: str, rng: random.Random) -> str:
        words = list(_ALPHA_WORD.finditer(text))
        chosen = sorted(rng.sample(words, min(n, len(words))), key=lambda m: -m.start())
        for m in chosen:
            w = m.group()
            i = rng.randrange(1, len(w) - 1)
            swap = w[:i] + w[i + 1] + w[i] + w[i + 2 :]
            edited = swap if rng.random() < 0.5 and swap != w else w[:i] + w[i + 1 :]
            text = text[: m.start()] + edited + text[m.end() :]
        return text

    return edit


def sentences(text: str) -> list[str]:
    return [s for p in paragraphs(text) for s in _SENTENCE.split(p)]


def drop_sentence(text: str, rng: random.Random) -> str:
    paras = paragraphs(text)
    i = rng.randrange(len(paras))
    parts = _SENTENCE.split(paras[i])
    if len(parts) > 1:
        del parts[rng.randrange(len(parts))]
        paras[i] = " ".join(parts)
    else:
        del paras[i]
    return "\n".join(paras)


def change_number(text: str, rng: random.Random) -> str | None:
    numbers = list(re.finditer(r"\b\d+\b", text))
    if not numbers:
        return None
    m = rng.choice(numbers)
    value = int(m.group())
    return text[: m.start()] + str(value + rng.randint(1, 9)) + text[m.end() :]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    truth = args.dataset / "truth.jsonl"
    if not truth.exists():
        sys.exit(f"no truth.jsonl in {args.dataset}")
    texts = [json.loads(line)["text"] for line in truth.open(encoding="utf-8")]
    texts = [t for t in texts if t and len(t.split()) >= 50]
    rng = random.Random(args.seed)
    donor_sentences = [s for t in texts for s in sentences(t) if 10 <= len(s.split()) <= 40]
    donors = [p for t in texts for p in paragraphs(t) if len(p.split()) >= 20]
    vocabulary = sorted({w for t in texts for w in _ALPHA_WORD.findall(t)})

    def add_sentence(text: str, rng: random.Random) -> str:
        paras = paragraphs(text)
        i = rng.randrange(len(paras))
        extra = rng.choice(donor_sentences)
        while extra in text:
            extra = rng.choice(donor_sentences)
        paras[i] += " " + extra
        return "\n".join(paras)

    def replace_word(text: str, rng: random.Random) -> str:
        m = rng.choice(list(_ALPHA_WORD.finditer(text)))
        other = rng.choice(vocabulary)
        while other.casefold() == m.group().casefold():
            other = rng.choice(vocabulary)
        return text[: m.start()] + other + text[m.end() :]

    def insert_word(text: str, rng: random.Random) -> str:
        spaces = [m.start() for m in re.finditer(" ", text)]
        at = rng.choice(spaces)
        return text[:at] + " not" + text[at:]

    kinds: dict[str, tuple[str, Callable[[str, random.Random], str | None]]] = {
        "whitespace": ("unchanged", respace),
        "1 typo fixed": ("trivial", typos(1)),
        "2 typos fixed": ("trivial", typos(2)),
        "3 typos fixed": ("trivial", typos(3)),
        "sentence added": ("revision", add_sentence),
        "paragraph added": ("revision", lambda t, r: add_paragraph(t, r, r.choice(donors))),
        "sentence removed": ("revision", drop_sentence),
        "paragraph removed": ("revision", drop_paragraph),
        "number changed": ("revision", change_number),
        "word replaced": ("revision", replace_word),
        "word 'not' inserted": ("revision", insert_word),
        "new first line": ("revision", with_headline),
        "correction note": ("revision", editors_note),
    }
    print(f"{len(texts)} articles of 50+ words from {truth}, seed {args.seed}\n")
    print("| edit | expected | unchanged | trivial | revision | right |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for name, (expected, make) in kinds.items():
        verdicts: Counter[str] = Counter()
        for text in texts:
            edited = make(text, rng)
            if edited is None or edited == text:
                continue
            verdicts[compare_texts(text, edited, "0" * 64).kind] += 1
        total = sum(verdicts.values())
        right = verdicts[expected] + (verdicts["unchanged"] if expected == "trivial" else 0)
        print(
            f"| {name} | {expected} | {verdicts['unchanged']} | {verdicts['trivial']} | "
            f"{verdicts['revision']} | {right / total:.3f} |"
        )


if __name__ == "__main__":
    main()
