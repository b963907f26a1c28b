"""Site-template benchmark: do learned templates remove a site's own boilerplate, and only it?

Usage::

    python bench/templates.py DATASET_DIR [--seed 1] [--json out.json] [--sweep]

``DATASET_DIR`` holds ``truth.jsonl`` and ``pages/<id>.html.gz`` (the layout of the
ScrapingHub/Zyte article-extraction benchmark, e.g. ``../shared/bench/extraction``).

What it does:

1. Groups the pages into made-up sites of 10 to 30 pages (seeded shuffle).
2. Gives every site its own template, invented here from word lists (never a fixed list of
   strings): a share bar, a related-stories list drawn from the site's own pool of invented
   headlines, newsletter and app prompts, a copyright line (its year varies), a mirror-address
   line, photo credits from the site's staff photographers, a comment count, a "follow us"
   line. Each site uses 6 to 9 of these kinds, worded its own way, at its own places (top,
   middle, bottom) *inside the article container* (next to the paragraphs that hold the
   ground truth), so extraction keeps them.
3. Adds follow-up content that is *not* template: in every site one story paragraph (15 to 60
   words) also appears in three other stories of the site (a background paragraph that
   follow-ups repeat), and one short sentence (6 to 12 words) in one other story (a quote
   repeated by a follow-up). These lines are added to those pages' ground truth.
4. Ingests each site's pages in order through newsmill's pipeline into a fresh database
   (sites interleaved, as a crawl would), then reads every page's stored text.

Reported, side by side with plain trafilatura:

* residue: the share of template tokens (tokens of the inserted lines) still in the output;
  a line counts as left when its token sequence appears in the output;
* content precision, recall and F1 against the ground truth (4-token shingles, scored as
  upstream's ``evaluate.py``; see the dataset README), for the templated pages and, as the
  reference, for the same pages without template blocks;
* shared content kept: the share of follow-up tokens (repeated paragraphs and quotes) still in
  newsmill's output (must stay near 100%).

``--sweep`` re-runs only the ingest (extraction is cached) for several template thresholds.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lxml.html
import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

# Scoring is upstream evaluate.py's, shared with bench/extraction.py.
from extraction import _TOKEN, page_scores
from newsmill import templates
from newsmill.pipeline import Document, analyze, record
from newsmill.store import Store, utcnow

# -- scoring -----------------------------------------------------------------------------


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def aggregate(scores: list[tuple[float | None, float]]) -> tuple[float, float, float]:
    precisions = [p for p, _ in scores if p is not None]
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(r for _, r in scores) / len(scores) if scores else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def contains(haystack: list[str], needle: list[str]) -> bool:
    """Whether the token sequence ``needle`` appears contiguously in ``haystack``."""
    if not needle:
        return False
    n = len(needle)
    first = needle[0]
    return any(
        haystack[i] == first and haystack[i : i + n] == needle for i in range(len(haystack) - n + 1)
    )


def occurrences(haystack: list[str], needle: list[str]) -> int:
    """How many times the token sequence ``needle`` appears contiguously in ``haystack``."""
    n = len(needle)
    if not n:
        return 0
    first = needle[0]
    return sum(
        1
        for i in range(len(haystack) - n + 1)
        if haystack[i] == first and haystack[i : i + n] == needle
    )


def left_tokens(lines: list[str], output: str, truth: str = "") -> tuple[int, int]:
    """(tokens of ``lines`` still in ``output``, tokens of ``lines``).

    A line counts as left when its token sequence occurs in the output more often than in
    the ground truth (a one-word share-bar item such as "Twitter" may also be a word of the
    story)."""
    out, gold = tokens(output), tokens(truth)
    total = left = 0
    seen: Counter[tuple[str, ...]] = Counter()
    for line in lines:
        toks = tokens(line)
        total += len(toks)
        seen[tuple(toks)] += 1
        if occurrences(out, toks) - occurrences(gold, toks) >= seen[tuple(toks)]:
            left += len(toks)
    return left, total


# -- invented site templates ---------------------------------------------------------------

NAME_A = ["Nor", "Vel", "Tam", "Kes", "Orin", "Bral", "Sut", "Lom", "Quen", "Dar", "Hal", "Pel"]
NAME_B = ["ford", "mont", "haven", "dale", "wick", "bury", "mouth", "field", "stead", "moor"]
NAME_C = ["Herald", "Post", "Courier", "Daily", "Tribune", "Observer", "Ledger", "Times",
          "Sentinel", "Gazette", "Chronicle", "Dispatch", "Record", "Standard"]  # fmt: skip
FIRST = ["Mira", "Tomas", "Ada", "Ravi", "Lena", "Jonah", "Ines", "Kofi", "Sana", "Piotr",
         "Elif", "Marco", "Yuki", "Noor", "Aino", "Bram", "Chidi", "Dalia"]  # fmt: skip
LAST = ["Olsen", "Varga", "Mbeki", "Castell", "Lindqvist", "Osei", "Haddad", "Novak",
        "Serrano", "Takeda", "Brennan", "Kowalski", "Abara", "Fontaine"]  # fmt: skip
H_SUBJ = ["City council", "Rail union", "Local bakery", "Harbour board", "School district",
          "Water utility", "Museum", "Ferry operator", "Hospital trust", "Cycling club",
          "Farmers' market", "Airport", "Library", "Youth orchestra", "Tenants' group",
          "Fire brigade", "Football club", "Zoo", "Startup", "Bus company"]  # fmt: skip
H_VERB = ["unveils", "delays", "wins", "rejects", "backs", "doubles", "cuts", "launches",
          "revives", "pauses", "expands", "questions"]  # fmt: skip
H_OBJ = ["plan for new bridge", "budget for winter", "bid to host festival", "late-night service",
         "ban on plastic bags", "fund for repairs", "search for director", "summer programme",
         "rent freeze", "river clean-up", "night market", "solar roof project"]  # fmt: skip
H_TAIL = ["", " after long debate", " amid protests", " for second year", " despite costs",
          " as prices rise", " in surprise vote"]  # fmt: skip


def pick(rng: random.Random, *options: str) -> str:
    return rng.choice(options)


@dataclass
class SiteTemplate:
    """One made-up site: its name, domain and the template blocks its pages carry."""

    name: str
    domain: str
    kinds: list[str]  # block kinds in page order
    places: dict[str, str]  # kind -> top / middle / bottom
    words: dict[str, Any] = field(default_factory=dict)  # the site's fixed wordings

    def block(self, kind: str, page: int, rng: random.Random) -> tuple[str, list[str]]:
        """(HTML, lines) of one block on one page."""
        w = self.words
        if kind == "share":
            items = w["share_items"]
            return (
                f"<p>{w['share_label']}</p><ul>{''.join(f'<li>{i}</li>' for i in items)}</ul>",
                [w["share_label"], *items],
            )
        if kind == "related":
            heads = rng.sample(w["headlines"], k=min(len(w["headlines"]), w["related_n"]))
            lis = "".join(f"<li>{h}</li>" for h in heads)
            return f"<h3>{w['related_label']}</h3><ul>{lis}</ul>", [w["related_label"], *heads]
        if kind == "copyright":
            line = w["copyright"].format(year=2016 + page % 5)
            return f"<p>{line}</p>", [line]
        if kind == "credit":
            line = w["credit"].format(who=rng.choice(w["photographers"]))
            return f"<p>{line}</p>", [line]
        if kind == "comments":
            line = w["comments"].format(n=rng.randint(0, 480))
            return f"<p>{line}</p>", [line]
        line = w[kind]
        return f"<p>{line}</p>", [line]


def make_site(rng: random.Random, index: int) -> SiteTemplate:
    name = f"{rng.choice(NAME_A)}{rng.choice(NAME_B)} {rng.choice(NAME_C)}"
    slug = name.lower().replace(" ", "")
    domain = f"{slug}{index}.example"
    handle = slug[:12]
    people = [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(rng.randint(2, 4))]
    headlines = set()
    while len(headlines) < rng.randint(8, 14):
        headlines.add(
            f"{rng.choice(H_SUBJ)} {rng.choice(H_VERB)} {rng.choice(H_OBJ)}{rng.choice(H_TAIL)}"
        )
    socials = ["Facebook", "Twitter", "WhatsApp", "Email", "LinkedIn", "Telegram", "Reddit"]
    rng.shuffle(socials)
    agency = pick(rng, name, f"{rng.choice(NAME_A)}{rng.choice(NAME_B)} Press Agency")
    words: dict[str, Any] = {
        "share_label": pick(rng, "Share", "Share this article", "Share this story", "Share on"),
        "share_items": socials[: rng.randint(3, 5)],
        "related_label": pick(
            rng,
            "Related stories",
            f"More from {name}",
            "You may also like",
            "Read next",
            "Most read",
            "Recommended",
        ),
        "related_n": rng.randint(3, 5),
        "headlines": sorted(headlines),
        "newsletter": (
            f"{pick(rng, 'Sign up for', 'Subscribe to', 'Get')} "
            f"{pick(rng, 'our', 'the')} {name} "
            f"{pick(rng, 'daily', 'morning', 'weekly', 'evening')} "
            f"{pick(rng, 'newsletter', 'briefing', 'digest')} "
            f"{pick(rng, 'and get', 'to receive', 'for')} "
            f"{pick(rng, 'the top stories', 'our best journalism', 'breaking news and analysis')} "
            f"{pick(rng, 'in your inbox.', 'delivered to your inbox every morning.', 'by email.')}"
        ),
        "app": (
            f"{pick(rng, 'Download', 'Get', 'Install')} the {name} app for "
            f"{pick(rng, 'iPhone and Android', 'iOS and Android', 'your phone')} "
            f"{pick(rng, 'to get', 'for')} "
            + pick(rng, "breaking news alerts.", "the latest headlines.", "alerts on your stories.")
        ),
        "mirror": pick(
            rng,
            f"{name}'s website can also be accessed at the following alternate addresses: "
            f"www.{slug}.tv www.{slug}-news.org",
            f"You can also read {name} at {slug}.info and {slug}mirror.net if our main site "
            f"is blocked where you are.",
            f"Mirror: {slug}.cc | {slug}-mirror.org",
        ),
        "copyright": pick(
            rng,
            "© {year} "
            + name
            + pick(rng, " Ltd.", " Media Group.", " Inc.")
            + " All rights reserved",
            "Copyright {year} " + name + ". This material may not be published, broadcast, "
            "rewritten or redistributed without permission.",
            "© " + name + " {year}. No part of this article may be reproduced without the "
            "written permission of the publisher.",
        ),
        "credit": pick(rng, "Photo: {who} / ", "Image: {who}/", "(Photo by {who} for ")
        + agency
        + pick(rng, "", "."),
        "photographers": people,
        "comments": pick(
            rng, "{n} comments", "Comments ({n})", "Join the discussion: {n} comments"
        ),
        "follow": pick(
            rng,
            f"Follow {name} on Twitter @{handle} and on Facebook.",
            f"Got a news tip? Email us at tips@{domain}.",
            f"Follow us on Instagram and Telegram: @{handle}",
        ),
    }
    # credit lines with a "(Photo by ... )" opening need their closing bracket
    if words["credit"].startswith("(") and not words["credit"].endswith(")"):
        words["credit"] += ")"
    all_kinds = [
        "credit", "share", "related", "newsletter", "app", "copyright", "mirror", "comments",
        "follow",
    ]  # fmt: skip
    kinds = rng.sample(all_kinds, k=rng.randint(6, 9))
    places = {}
    for kind in kinds:
        if kind in ("credit", "share"):
            places[kind] = pick(rng, "top", "middle")
        elif kind in ("copyright", "mirror", "comments"):
            places[kind] = "bottom"
        else:
            places[kind] = pick(rng, "middle", "bottom")
    return SiteTemplate(name, domain, kinds, places, words)


# -- placing blocks inside the article container ---------------------------------------------


def _norm(text: str) -> str:
    return " ".join(tokens(text)).lower()


def content_elements(root: Any, truth: str) -> list[Any]:
    """The paragraph-like elements whose text is part of the ground truth, in page order."""
    truth_norm = _norm(truth)
    found = []
    for el in root.iter("p", "li", "h2", "h3", "blockquote"):
        text = _norm(el.text_content())
        if len(text) >= 40 and text in truth_norm:
            found.append(el)
    return found


def insert_blocks(
    html: str, truth: str, blocks: dict[str, list[str]], extra: list[tuple[int, str]]
) -> tuple[str, bool]:
    """Put template ``blocks`` (place -> HTML snippets) and ``extra`` content paragraphs
    ((index among content elements, text)) beside the truth's paragraphs. Returns (html,
    whether the container was found)."""
    root = lxml.html.document_fromstring(html)
    anchors = content_elements(root, truth)
    found = bool(anchors)
    if not anchors:  # fall back to the article element or the body
        container = next(iter(root.iter("article")), None)
        if container is None:
            container = root.body
        anchors = [container[-1]] if len(container) else []
        if not anchors:
            container.append(lxml.html.fromstring("<p> </p>"))
            anchors = [container[-1]]
    for index, text in sorted(extra, reverse=True):
        el = anchors[min(index, len(anchors) - 1)]
        p = lxml.html.fragment_fromstring(f"<p>{text}</p>")
        el.addnext(p)
    first, last = anchors[0], anchors[-1]
    middle = anchors[len(anchors) // 2]
    for place, snippets in blocks.items():
        for snippet in snippets if place != "bottom" else reversed(snippets):
            for el in reversed(lxml.html.fragments_fromstring(f"<div>{snippet}</div>")[0]):
                if place == "top":
                    first.addprevious(el)
                elif place == "middle":
                    middle.addnext(el)
                else:
                    last.addnext(el)
    return lxml.html.tostring(root, encoding="unicode"), found


# -- the run -------------------------------------------------------------------------------


@dataclass
class Page:
    id: str
    truth: str  # ground truth, with the follow-up content added
    plain_html: str  # with follow-up content, without template
    html: str  # with template blocks
    site: int
    url: str
    template_lines: list[str]
    shared_lines: list[str]
    found: bool


def load(dataset: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in (dataset / "truth.jsonl").open(encoding="utf-8")]
    for row in rows:
        row["html"] = gzip.decompress((dataset / "pages" / f"{row['id']}.html.gz").read_bytes())
        row["html"] = row["html"].decode("utf-8")
    return rows


def build(rows: list[dict[str, Any]], seed: int) -> tuple[list[Page], list[SiteTemplate]]:
    rng = random.Random(seed)
    order = list(range(len(rows)))
    rng.shuffle(order)
    groups: list[list[int]] = []
    while order:
        size = rng.randint(10, 30)
        if len(order) - size < 10:
            size = len(order) if len(order) <= 30 else len(order) - 10
        groups.append(order[:size])
        order = order[size:]
    pages: list[Page] = []
    sites: list[SiteTemplate] = []
    for s, group in enumerate(groups):
        site = make_site(rng, s)
        sites.append(site)
        # follow-up content: a paragraph of one story repeated by two others, a short sentence
        # of one story repeated by one other
        paragraphs = [
            (i, p) for i in group for p in rows[i]["text"].split("\n") if 15 <= len(p.split()) <= 60
        ]
        shared_by: dict[int, list[str]] = {}
        if paragraphs:
            origin, para = rng.choice(paragraphs)
            others = [i for i in group if i != origin]
            for i in rng.sample(others, k=3):
                shared_by.setdefault(i, []).append(para)
            sentences = [
                (i, sent)
                for i, p in paragraphs
                for sent in re.split(r"(?<=[.!?])\s+", p)
                if 6 <= len(sent.split()) <= 12 and i != origin
            ]
            if sentences:
                origin2, sent = rng.choice(sentences)
                target = rng.choice([i for i in group if i != origin2])
                shared_by.setdefault(target, []).append(sent)
        for n, i in enumerate(group):
            row = rows[i]
            extra_texts = shared_by.get(i, [])
            truth_lines = row["text"].split("\n")
            extra = []
            for text in extra_texts:
                at = rng.randint(1, max(1, len(truth_lines) - 1))
                extra.append((at - 1, text))
            # the truth gets the extra paragraphs at the same places
            truth = _truth_with(truth_lines, extra)
            plain, found = insert_blocks(row["html"], row["text"], {}, extra)
            blocks: dict[str, list[str]] = {"top": [], "middle": [], "bottom": []}
            lines: list[str] = []
            for kind in site.kinds:
                snippet, block_lines = site.block(kind, n, rng)
                blocks[site.places[kind]].append(snippet)
                lines += block_lines
            html, _ = insert_blocks(row["html"], row["text"], blocks, extra)
            url = f"https://www.{site.domain}/news/{n:03d}-{row['id'][:10]}"
            pages.append(Page(row["id"], truth, plain, html, s, url, lines, extra_texts, found))
    return pages, sites


def _truth_with(lines: list[str], extra: list[tuple[int, str]]) -> str:
    out = list(lines)
    for index, text in sorted(extra, reverse=True):
        out.insert(min(index + 1, len(out)), text)
    return "\n".join(out)


def interleave(pages: list[Page]) -> Iterator[Page]:
    """Pages in crawl order: sites take turns, each site's pages in their own order."""
    by_site: dict[int, list[Page]] = {}
    for page in pages:
        by_site.setdefault(page.site, []).append(page)
    queues = list(by_site.values())
    while any(queues):
        for q in queues:
            if q:
                yield q.pop(0)


def trafilatura_text(html: str) -> str:
    return trafilatura.extract(html, include_comments=False) or ""


def ingest_all(pages: list[Page], analyses: dict[str, Any], db: Path) -> dict[str, str]:
    """Ingest every templated page; return page id -> its stored text."""
    with Store.open(db) as store:
        run_id = store.start_run("bench-templates", {})
        for page in interleave(pages):
            doc = Document(
                body=page.html.encode("utf-8"),
                input=page.id,
                url=page.url,
                kind="html",
                url_is_final=True,
            )
            record(store, doc, analyses[page.id], run_id=run_id, seen_at=utcnow())
        out = {}
        for page in pages:
            row = store.db.execute(
                "select a.text from urls u join articles a on a.hash = u.article_hash "
                "where u.url = ?",
                [page.url],
            ).fetchone()
            out[page.id] = row[0] if row else ""
        problems = store.consistency_problems()
        if problems:
            print("consistency problems:", problems[:5], file=sys.stderr)
    return out


@contextlib.contextmanager
def thresholds(**values: int) -> Iterator[None]:
    old = {k: getattr(templates, k) for k in values}
    for k, v in values.items():
        setattr(templates, k, v)
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(templates, k, v)


def measure(pages: list[Page], outputs: dict[str, str]) -> dict[str, float]:
    left = total = shared_left = shared_total = 0
    scores = []
    for page in pages:
        text = outputs[page.id]
        a, b = left_tokens(page.template_lines, text, page.truth)
        left, total = left + a, total + b
        a, b = left_tokens(page.shared_lines, text)
        shared_left, shared_total = shared_left + a, shared_total + b
        scores.append(page_scores(page.truth, text))
    p, r, f = aggregate(scores)
    return {
        "residue": left / total if total else 0.0,
        "precision": p,
        "recall": r,
        "f1": f,
        "shared_kept": shared_left / shared_total if shared_total else 1.0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="Write the results here as JSON.")
    parser.add_argument("--sweep", action="store_true", help="Also sweep the thresholds.")
    args = parser.parse_args()

    started = time.monotonic()
    rows = load(args.dataset)
    pages, sites = build(rows, args.seed)
    print(
        f"{len(pages)} pages in {len(sites)} made-up sites "
        f"({', '.join(str(sum(p.site == s for p in pages)) for s in range(len(sites)))} pages); "
        f"container found on {sum(p.found for p in pages)}",
        file=sys.stderr,
    )
    plain_traf = {p.id: trafilatura_text(p.plain_html) for p in pages}
    templ_traf = {p.id: trafilatura_text(p.html) for p in pages}
    plain_an = {
        p.id: analyze(Document(p.plain_html.encode(), p.id, p.url, "html", True)) for p in pages
    }
    templ_an = {p.id: analyze(Document(p.html.encode(), p.id, p.url, "html", True)) for p in pages}

    def rules_only(analyses: dict[str, Any]) -> dict[str, str]:
        return {k: (a.article.text if a.article else "") for k, a in analyses.items()}

    with tempfile.TemporaryDirectory() as tmp:
        stored = ingest_all(pages, templ_an, Path(tmp) / "t.db")
        stored_plain = ingest_all(
            [_plain(p) for p in pages], plain_an, Path(tmp) / "p.db"
        )  # the reference goes through the same store, templates and all
    results = {
        "trafilatura, pages without template": measure(pages, plain_traf),
        "trafilatura, templated pages": measure(pages, templ_traf),
        "newsmill, pages without template": measure(pages, stored_plain),
        "newsmill rules only, templated pages": measure(pages, rules_only(templ_an)),
        "newsmill with site templates, templated pages": measure(pages, stored),
    }
    print(markdown(results))
    report: dict[str, Any] = {
        "pages": len(pages),
        "sites": len(sites),
        "seed": args.seed,
        "results": results,
        "thresholds": _current(),
    }
    if args.sweep:
        sweep = []
        for min_site in (3, 5, 8):
            for min_articles in (2, 3, 4):
                for per_word in (4, 8, 1000):
                    with (
                        thresholds(
                            MIN_SITE_ARTICLES=min_site,
                            MIN_ARTICLES=min_articles,
                            WORDS_PER_EXTRA_ARTICLE=per_word,
                        ),
                        tempfile.TemporaryDirectory() as tmp,
                    ):
                        out = ingest_all(pages, templ_an, Path(tmp) / "s.db")
                    m = measure(pages, out)
                    m.update(min_site=min_site, min_articles=min_articles, per_word=per_word)
                    sweep.append(m)
                    print(
                        f"MIN_SITE_ARTICLES={min_site} MIN_ARTICLES={min_articles} "
                        f"WORDS_PER_EXTRA_ARTICLE={per_word}: residue {m['residue']:.2%} "
                        f"F1 {m['f1']:.4f} shared kept {m['shared_kept']:.1%}",
                        file=sys.stderr,
                    )
        report["sweep"] = sweep
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    print(f"({time.monotonic() - started:.0f}s)", file=sys.stderr)
    return 0


def _plain(page: Page) -> Page:
    return Page(
        page.id, page.truth, page.plain_html, page.plain_html, page.site, page.url,
        page.template_lines, page.shared_lines, page.found,
    )  # fmt: skip


def _current() -> dict[str, int]:
    names = (
        "MIN_SITE_ARTICLES", "MIN_ARTICLES", "SHORT_LINE_WORDS", "WORDS_PER_EXTRA_ARTICLE",
        "QUOTED_MIN_ARTICLES", "MAX_TEMPLATE_WORDS",
    )  # fmt: skip
    return {name: getattr(templates, name) for name in names}


def markdown(results: dict[str, dict[str, float]]) -> str:
    lines = [
        "| extractor, pages | template residue | precision | recall | F1 | shared content kept |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, m in results.items():
        lines.append(
            f"| {name} | {m['residue']:.1%} | {m['precision']:.4f} | {m['recall']:.4f} | "
            f"{m['f1']:.4f} | {m['shared_kept']:.1%} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
