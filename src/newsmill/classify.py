"""Is a page the article, or a wall in front of it? Classify before storing.

A crawler meets pages that are not the article it asked for: cookie-consent walls, paywall
teasers, bot challenges ("Just a moment..."), region blocks, error pages served with status
200 ("soft 404s") and pages that list articles (section fronts, tag and search pages).
Stored as articles they pollute the corpus, and every page of a site behind the same wall
collapses into one exact duplicate.

:func:`classify` runs a chain of small checks over evidence the page ships: the patterns of
``blocks.toml`` (multilingual, each with examples it must and must not match), schema.org
``isAccessibleForFree: false``, the words extraction found, link density and JSON-LD types.
The first check that decides gives the :class:`Verdict`: the page class and the evidence.

A pattern alone never quarantines a real article: walls, challenges and error pages must
also extract to little text (``short_words``), a teaser to at most ``teaser_max_words``, and
a listing must be mostly link text. So a news story *about* cookies or a 404 error keeps
its place. The chain is cheap (regular expressions over the page string, a few per page).
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from html import unescape
from importlib import resources
from pathlib import Path
from typing import Any

from newsmill.models import Article

logger = logging.getLogger(__name__)

ARTICLE = "article"
PAYWALL = "paywall"
CONSENT_WALL = "consent-wall"
BOT_CHALLENGE = "bot-challenge"
REGION_BLOCK = "region-block"
SOFT_404 = "soft-404"
NOT_AN_ARTICLE = "not-an-article"
CLASSES = (ARTICLE, PAYWALL, CONSENT_WALL, BOT_CHALLENGE, REGION_BLOCK, SOFT_404, NOT_AN_ARTICLE)
PLACES = ("title", "text", "html", "url")

# How much of a page the markup and visible-text checks read: walls put their markers
# early, and a pathological page must not cost more than a normal one.
SCAN_CHARS = 300_000
VISIBLE_TEXT_CHARS = 20_000
# A guarded pattern runs on the text around its guard words (this many characters either
# side; no pattern matches more than ~200), unless there are more than MAX_WINDOWS of them.
WINDOW_CHARS = 300
MAX_WINDOWS = 40
# A link whose text has at least this many words reads like a headline (a listing's teaser).
HEADLINE_LINK_WORDS = 4
# Consent vocabulary: a consent wall that extracted as prose uses one of these about every
# tenth word (our walls: 10-16%), a news story about cookie banners far fewer (5%).
_CONSENT_WORDS = re.compile(
    r"cookie|consent|privacy|partners|personal data|personali[sz]ed|advertis|tracking|"
    r"datenschutz|einwillig|zustimm|personenbezogen|werbung|partner|"
    r"vie privée|consentement|partenaires|données personnelles|privacidad|consentimiento|"
    r"socios|datos personales|consenso|dati personali|toestemming|persoonsgegevens|"
    r"privacidade|consentimento|parceiros|dados pessoais",
    re.IGNORECASE,
)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(r"<h1[^>]*>(.*?)</h1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_ANCHOR = re.compile(r"<a\b[^>]*>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_BODY = re.compile(r"<body[\s>]", re.IGNORECASE)
_NOT_FREE = re.compile(
    r"""["']?isAccessibleForFree["']?\s*(?::\s*["']?|["']?\s+content\s*=\s*["'])(?:false|no)\b""",
    re.IGNORECASE,
)
_CSS_SELECTOR = re.compile(r""""cssSelector"\s*:\s*"([^"]{1,200})\"""")
_LD_TYPE = re.compile(r""""@type"\s*:\s*\[?\s*"([A-Za-z]+)\"""")
_OG_ARTICLE = re.compile(
    r"""<meta[^>]+property\s*=\s*["']og:type["'][^>]+content\s*=\s*["']article""", re.IGNORECASE
)
_ARTICLE_TYPES = frozenset(
    {"article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "blogposting",
     "opinionnewsarticle", "reviewnewsarticle", "backgroundnewsarticle", "liveblogposting",
     "report", "techarticle", "scholarlyarticle"}
)  # fmt: skip
_LISTING_TYPES = frozenset({"collectionpage", "searchresultspage", "profilepage", "itemlist"})


@dataclass(frozen=True, slots=True)
class Verdict:
    """A page's class and the evidence that decided it (empty for a plain article)."""

    page_class: str
    evidence: str = ""

    @property
    def blocked(self) -> bool:
        """True when the page is not an article (it is quarantined unless kept on request)."""
        return self.page_class != ARTICLE


@dataclass(frozen=True, slots=True)
class Pattern:
    """One pattern of ``blocks.toml``."""

    id: str
    page_class: str
    place: str
    regex: re.Pattern[str]
    match: tuple[str, ...] = ()
    no_match: tuple[str, ...] = ()
    # The pattern is only tried on a haystack holding one of these (lowercase) strings: a
    # cheap guard, since a long alternation costs a regex step per alternative per position.
    contains: tuple[str, ...] = ()

    def guarded_out(self, lowered: str) -> bool:
        return bool(self.contains) and not any(word in lowered for word in self.contains)


@dataclass(frozen=True, slots=True)
class BlockRules:
    """The patterns and thresholds of ``blocks.toml``."""

    patterns: tuple[Pattern, ...]
    short_words: int = 120
    teaser_max_words: int = 350
    declared_teaser_max_words: int = 200
    consent_density: float = 0.08
    link_share: float = 0.35
    min_headline_links: int = 6

    def of(self, page_class: str, place: str) -> list[Pattern]:
        return [p for p in self.patterns if p.page_class == page_class and p.place == place]


def parse_block_rules(data: dict[str, Any]) -> BlockRules:
    """Build :class:`BlockRules` from the parsed TOML; raises ValueError on a bad entry."""
    settings = data.get("settings", {})
    patterns = []
    for raw in data.get("pattern", []):
        page_class, place = raw.get("class"), raw.get("in")
        if page_class not in CLASSES or page_class == ARTICLE:
            raise ValueError(f"pattern {raw.get('id')!r}: unknown class {page_class!r}")
        if place not in PLACES:
            raise ValueError(f"pattern {raw.get('id')!r}: 'in' must be one of {PLACES}")
        try:
            regex = re.compile(raw["pattern"], re.IGNORECASE | re.MULTILINE)
        except (KeyError, re.error) as err:
            raise ValueError(f"pattern {raw.get('id')!r}: {err}") from err
        patterns.append(
            Pattern(
                raw["id"],
                page_class,
                place,
                regex,
                tuple(raw.get("match", ())),
                tuple(raw.get("no_match", ())),
                tuple(word.lower() for word in raw.get("contains", ())),
            )
        )
    return BlockRules(
        tuple(patterns),
        short_words=int(settings.get("short_words", 120)),
        teaser_max_words=int(settings.get("teaser_max_words", 350)),
        declared_teaser_max_words=int(settings.get("declared_teaser_max_words", 200)),
        consent_density=float(settings.get("consent_density", 0.08)),
        link_share=float(settings.get("link_share", 0.35)),
        min_headline_links=int(settings.get("min_headline_links", 6)),
    )


def load_block_rules(path: str | Path) -> BlockRules:
    return parse_block_rules(tomllib.loads(Path(path).read_text(encoding="utf-8")))


@cache
def default_block_rules() -> BlockRules:
    """The patterns shipped in ``newsmill/blocks.toml`` (read once)."""
    text = resources.files("newsmill").joinpath("blocks.toml").read_text(encoding="utf-8")
    return parse_block_rules(tomllib.loads(text))


def check_block_examples(rules: BlockRules | None = None) -> list[str]:
    """Every pattern against its own examples; the problems found (empty: all good)."""
    rules = rules or default_block_rules()
    problems = []
    ids = [p.id for p in rules.patterns]
    problems += [
        f"duplicate pattern id {i!r}" for i in sorted({i for i in ids if ids.count(i) > 1})
    ]
    for pattern in rules.patterns:
        if not pattern.match:
            problems.append(f"{pattern.id}: no match examples")
        if not pattern.no_match:
            problems.append(f"{pattern.id}: no no_match examples")
        problems += [
            f"{pattern.id}: does not match {example!r}"
            for example in pattern.match
            if not pattern.regex.search(example)
        ]
        problems += [
            f"{pattern.id}: its 'contains' guard hides {example!r}"
            for example in pattern.match
            if pattern.guarded_out(example.lower())
        ]
        problems += [
            f"{pattern.id}: matches {example!r}"
            for example in pattern.no_match
            if pattern.regex.search(example)
        ]
    return problems


# ----------------------------------------------------------------------------- the page


class Page:
    """What the checks read, each piece computed at most once and only when asked for."""

    def __init__(self, html: str, url: str | None, article: Article | None) -> None:
        self.html = html[:SCAN_CHARS]
        self.url = url or ""
        self.article = article
        self.words = len(article.text.split()) if article is not None else 0
        self._haystacks: dict[str, tuple[str, str]] = {}

    @cached_property
    def title(self) -> str:
        """The <title> and the first <h1>, one per line."""
        parts = []
        for regex in (_TITLE, _H1):
            match = regex.search(self.html)
            if match:
                parts.append(_SPACE.sub(" ", unescape(_TAG.sub(" ", match.group(1)))).strip())
        if self.article is not None and self.article.title:
            parts.append(self.article.title)
        return "\n".join(parts)

    @cached_property
    def body_markup(self) -> str:
        """The page from ``<body>`` on, without scripts, styles and comments."""
        from newsmill.extract import drop_scripts  # (extract loads trafilatura: not at import)

        body = _BODY.search(self.html)
        return _COMMENT.sub(" ", drop_scripts(self.html[body.start() if body else 0 :]))

    @cached_property
    def visible_text(self) -> str:
        """The page's text without markup, scripts and styles (its first part)."""
        markup = self.body_markup[: 8 * VISIBLE_TEXT_CHARS]
        return _SPACE.sub(" ", unescape(_TAG.sub(" ", markup)))[:VISIBLE_TEXT_CHARS]

    @cached_property
    def text(self) -> str:
        """The title lines, the extracted text and the lines the cleaner removed from it;
        without an article, the title lines and the page's visible text."""
        if self.article is None:
            return f"{self.title}\n{self.visible_text}"
        removed = "\n".join(r.text for r in self.article.removed)
        return f"{self.title}\n{self.article.text}\n{removed}"

    @cached_property
    def ld_types(self) -> set[str]:
        if "ld+json" not in self.html:
            return set()
        return {t.lower() for t in _LD_TYPE.findall(self.html)}

    @cached_property
    def not_free(self) -> bool:
        return "sAccessibleForFree" in self.html and bool(_NOT_FREE.search(self.html))

    @cached_property
    def links(self) -> tuple[float, int]:
        """The share of the visible text that is link text, and the number of links that
        read like headlines (at least :data:`HEADLINE_LINK_WORDS` words)."""
        markup = self.body_markup
        total = len(_SPACE.sub("", unescape(_TAG.sub("", markup))))
        if not total:
            return 0.0, 0
        linked, headlines = 0, 0
        for anchor in _ANCHOR.findall(markup):
            text = unescape(_TAG.sub(" ", anchor))
            linked += len(_SPACE.sub("", text))
            headlines += len(text.split()) >= HEADLINE_LINK_WORDS
        return linked / total, headlines

    def haystack(self, place: str) -> tuple[str, str]:
        """The text of ``place`` and its lowercase form (for the guards), made once."""
        found = self._haystacks.get(place)
        if found is None:
            text = {"title": self.title, "text": self.text, "html": self.html, "url": self.url}
            found = self._haystacks[place] = (text[place], text[place].lower())
        return found

    def search(self, pattern: Pattern) -> str | None:
        """The text ``pattern`` finds in its place, or None."""
        text, lowered = self.haystack(pattern.place)
        if pattern.guarded_out(lowered):
            return None
        match = None
        for start, end in _windows(lowered, pattern.contains):
            match = pattern.regex.search(text, start, end)
            if match is not None:
                break
        if match is None:
            return None
        found = _SPACE.sub(" ", match.group(0)).strip()
        return found[:80]


def _windows(lowered: str, words: tuple[str, ...]) -> list[tuple[int, int]]:
    """Where to run a guarded pattern in a long haystack: around each guard word (a regex
    over a few windows instead of a whole page). The whole haystack when it is short,
    unguarded, or the guard words are everywhere."""
    if not words or len(lowered) <= WINDOW_CHARS * 4:
        return [(0, len(lowered))]
    spans: list[tuple[int, int]] = []
    for word in words:
        at = lowered.find(word)
        while at >= 0:
            spans.append((max(0, at - WINDOW_CHARS), at + len(word) + WINDOW_CHARS))
            if len(spans) > MAX_WINDOWS:
                return [(0, len(lowered))]
            at = lowered.find(word, at + len(word))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _first_hit(page: Page, rules: BlockRules, page_class: str, places: tuple[str, ...]) -> str:
    """``id: 'found text'`` of the first pattern of ``page_class`` that finds something."""
    for place in places:
        for pattern in rules.of(page_class, place):
            found = page.search(pattern)
            if found is not None:
                return f"{pattern.id} {found!r}"
    return ""


def _words(page: Page) -> str:
    return f"{page.words} words" if page.article is not None else "no article text"


# ----------------------------------------------------------------------------- the checks

Check = Callable[[Page, BlockRules], Verdict | None]


def _short_page_class(page_class: str) -> Check:
    """A class decided by any of its patterns, on a page with little or no article text."""

    def check(page: Page, rules: BlockRules) -> Verdict | None:
        if page.words > rules.short_words:
            return None
        hit = _first_hit(page, rules, page_class, ("title", "text", "html"))
        return Verdict(page_class, f"{hit}; {_words(page)}") if hit else None

    return check


def _consent_wall(page: Page, rules: BlockRules) -> Verdict | None:
    """A consent phrase on a short page, or on a longer one written in consent vocabulary."""
    if page.words > 4 * rules.teaser_max_words:
        return None
    hit = _first_hit(page, rules, CONSENT_WALL, ("title", "text"))
    if not hit:
        if page.article is None:
            hit = _first_hit(page, rules, CONSENT_WALL, ("html",))
            return Verdict(CONSENT_WALL, f"{hit}; no article text") if hit else None
        return None
    if page.words <= rules.short_words:
        return Verdict(CONSENT_WALL, f"{hit}; {_words(page)}")
    density = _consent_density(page.article.text if page.article else "")
    if density >= rules.consent_density:
        return Verdict(
            CONSENT_WALL,
            f"{hit}; {density:.0%} of its {page.words} words are consent vocabulary",
        )
    return None


def _consent_density(text: str) -> float:
    """Consent vocabulary (cookies, partners, personal data, ...) per word of ``text``."""
    words = len(text.split())
    return len(_CONSENT_WORDS.findall(text)) / words if words else 0.0


def _paywall(page: Page, rules: BlockRules) -> Verdict | None:
    """A teaser: short, and ending in a paywall phrase or declared not free (schema.org)."""
    if page.words > rules.teaser_max_words:
        return None
    evidence = []
    if page.not_free and page.words <= rules.declared_teaser_max_words:
        selector = _CSS_SELECTOR.search(page.html)
        evidence.append(
            "isAccessibleForFree false"
            + (f" (paywalled part {selector.group(1)!r})" if selector else "")
        )
    hit = _first_hit(page, rules, PAYWALL, ("title", "text"))
    if hit:
        evidence.append(hit)
    if not evidence:
        return None
    return Verdict(PAYWALL, f"{'; '.join(evidence)}; {_words(page)}")


def _listing(page: Page, rules: BlockRules) -> Verdict | None:
    """A section, tag or search page: named so (URL, title, JSON-LD type) and mostly links."""
    named = _first_hit(page, rules, NOT_AN_ARTICLE, ("url", "title"))
    types = sorted(page.ld_types & _LISTING_TYPES)
    if not named and not types:
        return None
    if page.ld_types & _ARTICLE_TYPES or _OG_ARTICLE.search(page.html):
        return None
    share, headlines = page.links
    if share < rules.link_share or headlines < rules.min_headline_links:
        return None
    evidence = named or f"JSON-LD type {types[0]}"
    return Verdict(
        NOT_AN_ARTICLE, f"{evidence}; {share:.0%} of its text is links, {headlines} headline links"
    )


CHECKS: tuple[Check, ...] = (
    _short_page_class(BOT_CHALLENGE),
    _short_page_class(REGION_BLOCK),
    _short_page_class(SOFT_404),
    _consent_wall,
    _paywall,
    _listing,
)


def classify(
    html: str,
    url: str | None = None,
    article: Article | None = None,
    *,
    rules: BlockRules | None = None,
) -> Verdict:
    """The class of a page (``html``, the decoded page; ``article``, what extraction and
    cleaning made of it, None when they found nothing)."""
    rules = rules or default_block_rules()
    page = Page(html, url, article)
    for check in CHECKS:
        verdict = check(page, rules)
        if verdict is not None:
            return verdict
    return Verdict(ARTICLE)


# ----------------------------------------------------------------------------- per-site warning


@dataclass
class WallWatch:
    """Counts a run's pages per site by class, and warns once for a site that is mostly
    walls (at least ``min_pages`` pages, at least ``share`` of them not articles)."""

    min_pages: int = 5
    share: float = 0.5
    seen: dict[str, Counter[str]] = field(default_factory=dict)  # site -> class -> pages
    warned: set[str] = field(default_factory=set)

    def note(self, site: str | None, verdict: Verdict | None) -> bool:
        """Count a page of ``site``; True (and one warning logged) when the site just
        became mostly walls."""
        if not site:
            return False
        counts = self.seen.setdefault(site, Counter())
        counts[verdict.page_class if verdict is not None else ARTICLE] += 1
        pages = sum(counts.values())
        walls = pages - counts[ARTICLE]
        if site in self.warned or pages < self.min_pages or walls < self.share * pages:
            return False
        self.warned.add(site)
        classes = ", ".join(f"{c} {n}" for c, n in counts.most_common() if c != ARTICLE)
        logger.warning(
            "%s: %d of its first %d pages are walls or not articles (%s): it may be blocking "
            "or walling newsmill; they are not stored (see `newsmill stats`)",
            site,
            walls,
            pages,
            classes,
        )
        return True


__all__ = [
    "CLASSES",
    "BlockRules",
    "Verdict",
    "WallWatch",
    "check_block_examples",
    "classify",
    "default_block_rules",
]
