"""Republished variants and hard negatives for the near-duplicate benchmarks.

Each function takes an article's text (paragraphs separated by newlines) and a seeded
``random.Random`` and returns the text another site would publish. The kinds mimic what
happens to a wire story on its way through ten news sites; ``teaser`` is the partial copy
(first two paragraphs and a "Read more" link) that containment, not Jaccard, must catch.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

# Boilerplate that survives extraction on other sites: one fixed set per "site", so two
# different articles republished by the same site share it (a hard negative for short texts).
SITE_BOILERPLATE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "riverside-courier": (
        ("Advertisement", "Share this article on Facebook, Twitter or by email"),
        (
            "Sign up for the Morning Courier newsletter and get the day's top stories in "
            "your inbox.",
            "© 2019 The Riverside Courier. All rights reserved.",
        ),
    ),
    "metro-wire-daily": (
        ("Metro Wire Daily | World | Updated 2 hours ago",),
        (
            "This material may not be published, broadcast, rewritten or redistributed "
            "without permission.",
            "Related: City council approves new budget for parks and libraries",
            "Comments are closed on this article.",
        ),
    ),
    "the-evening-ledger": (
        ("Listen to this article (4 min)",),
        (
            "Follow The Evening Ledger on Twitter and Facebook for the latest updates.",
            "Have a news tip? Email our newsroom or call us any time.",
        ),
    ),
    "northern-herald": (
        ("By Herald Staff and Wire Services", "Published in print: Tuesday"),
        (
            "Read our community guidelines before commenting. We moderate all comments "
            "before they are published.",
        ),
    ),
}

EDITOR_NOTES = (
    "Editor's note: This story has been updated to correct the spelling of a name. An "
    "earlier version misidentified one of the officials quoted.",
    "Editor's note: This article was originally published by our wire partner and has "
    "been edited for length and style.",
    "Correction: An earlier version of this article gave the wrong date for the meeting. "
    "It took place on Tuesday, not Monday.",
)

HEADLINE_PREFIXES = ("BREAKING:", "WATCH:", "Update:", "Analysis:", "", "")

READ_MORE = ("Read more", "Read more »", "Continue reading", "Read the full story")


def paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _join(paras: list[str]) -> str:
    return "\n".join(paras)


def with_boilerplate(text: str, rng: random.Random) -> str:
    """Another site's leftover boilerplate above and below the story."""
    before, after = SITE_BOILERPLATE[rng.choice(sorted(SITE_BOILERPLATE))]
    return _join([*before, *paragraphs(text), *after])


def with_headline(text: str, rng: random.Random) -> str:
    """The republisher's own headline, kept by the extractor as the first line."""
    words = re.findall(r"\w+", text)[:40]
    rng.shuffle(words)
    headline = " ".join(w.capitalize() for w in words[: rng.randint(6, 11)])
    return _join([f"{rng.choice(HEADLINE_PREFIXES)} {headline}".strip(), *paragraphs(text)])


def drop_paragraph(text: str, rng: random.Random) -> str:
    """One paragraph (not the only one) trimmed by an editor."""
    paras = paragraphs(text)
    if len(paras) < 2:
        return text
    del paras[rng.randrange(len(paras))]
    return _join(paras)


def add_paragraph(text: str, rng: random.Random, extra: str) -> str:
    """A paragraph added by the republisher (a local angle), inserted anywhere."""
    paras = paragraphs(text)
    paras.insert(rng.randint(1, len(paras)), extra)
    return _join(paras)


def editors_note(text: str, rng: random.Random) -> str:
    paras = paragraphs(text)
    note = rng.choice(EDITOR_NOTES)
    return _join([note, *paras] if rng.random() < 0.5 else [*paras, note])


def typo_fixes(text: str, rng: random.Random) -> str:
    """About one word in a hundred changed by a letter (a typo fixed, or one introduced)."""
    words = list(re.finditer(r"\w{4,}", text))
    if not words:
        return text
    n = min(8, max(1, len(re.findall(r"\w+", text)) // 100))
    chosen = sorted(rng.sample(words, min(n, len(words))), key=lambda m: m.start(), reverse=True)
    for m in chosen:
        w = m.group()
        i = rng.randrange(1, len(w) - 1)
        edited = w[:i] + w[i + 1] + w[i] + w[i + 2 :] if rng.random() < 0.5 else w[:i] + w[i + 1 :]
        text = text[: m.start()] + edited + text[m.end() :]
    return text


def mixed(text: str, rng: random.Random) -> str:
    """Everything a busy aggregator does at once: headline, note, typos, boilerplate."""
    return with_boilerplate(editors_note(with_headline(typo_fixes(text, rng), rng), rng), rng)


def teaser(text: str, rng: random.Random) -> str:
    """The first two paragraphs and a link to the rest: a partial copy."""
    return _join([*paragraphs(text)[:2], rng.choice(READ_MORE)])


FULL_TEXT_KINDS: dict[str, Callable[[str, random.Random], str]] = {
    "boilerplate": with_boilerplate,
    "headline": with_headline,
    "drop-paragraph": drop_paragraph,
    "add-paragraph": lambda t, r: t,  # placeholder: needs another article, see make_variants
    "editors-note": editors_note,
    "typo-fixes": typo_fixes,
    "mixed": mixed,
}


def make_variants(texts: list[str], seed: int = 4) -> list[tuple[int, str, str]]:
    """``(source index, kind, text)`` for every article: the full-text kinds and a teaser.

    ``add-paragraph`` borrows a paragraph of at least 20 words from another article, so the
    added text is real prose that the original does not contain.
    """
    rng = random.Random(seed)
    donors = [p for t in texts for p in paragraphs(t) if len(p.split()) >= 20]
    out: list[tuple[int, str, str]] = []
    for i, text in enumerate(texts):
        for kind, make in FULL_TEXT_KINDS.items():
            if kind == "add-paragraph":
                extra = rng.choice([p for p in donors if p not in text] or donors)
                variant = add_paragraph(text, rng, extra)
            else:
                variant = make(text, rng)
            out.append((i, kind, variant))
        out.append((i, "teaser", teaser(text, rng)))
    return out
