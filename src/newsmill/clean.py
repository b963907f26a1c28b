"""Remove the boilerplate that extraction leaves inside an article body.

The rules are data (``rules.toml`` in this package); this module loads them and applies them
to the lines of a text. A line is judged by what it says *and* where it stands:

- ``head``: the lines before the first content paragraph (titles, dates, breadcrumbs);
- ``tail``: the lines after the last content paragraph no rule matched (related-links
  lists, share bars, newsletter prompts, credits, copyright);
- ``anywhere``: lines that are boilerplate wherever they are, matched as a *whole line*
  (so a story sentence that merely contains "read more" or "share" stays).

A content paragraph is a line with more than ``short_max_words`` words. In the tail, once a
rule marked ``ends_article`` fires, the short lines after it go too (rule id ``tail-block``):
a share bar or a "Recommended" heading is followed by link text, not by the story.

Every removed line is reported with the id of the rule that removed it, so the store can
explain any removal; :func:`check_rule_examples` checks each rule against its own examples.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from newsmill.models import RemovedLine

Zone = Literal["anywhere", "head", "tail"]
Kind = Literal["line", "block", "date", "title", "duplicate", "menu-run"]
KINDS: frozenset[str] = frozenset({"line", "block", "date", "title", "duplicate", "menu-run"})
ZONES: frozenset[str] = frozenset({"anywhere", "head", "tail"})
ITEM_SHAPES: frozenset[str] = frozenset({"short", "address", "tags"})
TAG_MAX_WORDS = 6  # a tag ("Premier League", "stock car santa cruz do sul") is a name, not a clause
MAX_PASSES = 8  # cleaning repeats until nothing changes; real texts settle in one or two
TAIL_BLOCK = "tail-block"  # id reported for short lines swept after an ``ends_article`` line

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_ADDRESS = re.compile(r"(?:https?://)?(?:www\.)?[\w-]+(?:\.[\w-]+)+(?:/\S*)?/?", re.IGNORECASE)
_WORD = re.compile(r"\w+")
# numeric dates and times: 2019-11-19, 05/10/2018, 19.11.2019, 15:24, 11:28:02, 20th
# (and 5. 12. 2026, as Czech and Slovak write it); times also as 10h30 (French, Portuguese)
_NUMERIC_DATE = re.compile(r"\b\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b|\b\d{1,2}\. \d{1,2}\. \d{4}\b")
_NUMERIC = re.compile(
    r"\b\d{1,2}:\d{2}(?::\d{2})?\b|\b\d{1,2}h\d{2}\b|\b\d{1,4}(?:st|nd|rd|th|er|º|ª)?\b"
)
# CJK dates, and times after them: 2024年1月5日, 1月5日, 2018년 8월 25일, 10時30分 (digits run
# into the characters, so the word-bounded patterns above do not see them)
_CJK_DATE = re.compile(
    r"(?:\d{2,4}\s*[年년]\s*)?\d{1,2}\s*[月월]\s*\d{1,2}\s*[日일号號]|\d{2,4}\s*[年년]\s*\d{1,2}\s*[月월]"
)
_CJK_TIME = re.compile(r"\d{1,2}\s*[時时시]\s*(?:\d{1,2}\s*[分분])?")
_ALPHA = re.compile(r"[^\W\d_]+(?:\.[^\W\d_]+)*", re.UNICODE)
# a table row as extraction renders it: "| cell | cell |", a literal pipe in a cell as "\|"
_CELL_BORDER = re.compile(r"(?<!\\)\|")
_LETTER_OR_DIGIT = re.compile(r"[^\W_]")
_TAG_SEPARATOR = re.compile(r"\s*[,;|•·、，]\s*")  # not the "¦" of a table row
_LETTER = re.compile(r"[^\W\d_]")
_SENTENCE_END = re.compile(r"[.!?。！？]$")
# what a menu entry does not hold: a number or a "label: value" (data), a sentence's end
_NOT_A_LABEL = re.compile(r"[\d:：]|[.!?;,。！？]$")


@dataclass(frozen=True, slots=True)
class CleanResult:
    text: str
    removed: tuple[RemovedLine, ...]


@dataclass(frozen=True, slots=True)
class Rule:
    """One boilerplate rule, as declared in ``rules.toml``."""

    id: str
    kind: Kind
    zone: Zone
    description: str = ""
    pattern: re.Pattern[str] | None = None
    heading: re.Pattern[str] | None = None
    items: str = "short"
    max_words: int | None = None
    contains: tuple[str, ...] = ()
    ends_article: bool = False
    examples_remove: tuple[str, ...] = ()
    examples_keep: tuple[str, ...] = ()
    min_run: int = 3  # menu-run: rows in a run
    max_cells: int = 4  # menu-run: cells of a row, empty ones included


@dataclass(frozen=True, slots=True, eq=False)
class RuleSet:
    """The rules plus the few numbers and word lists they share.

    Compared and hashed by identity: the compiled matchers are cached per rule set, and
    hashing every rule's fields on each lookup cost more than the matching itself.
    """

    rules: tuple[Rule, ...]
    short_max_words: int = 12
    list_item_max_words: int = 40
    head_max_lines: int = 8
    duplicate_min_words: int = 8
    date_tokens: frozenset[str] = frozenset()
    months: frozenset[str] = frozenset()


# ----------------------------------------------------------------------------- loading


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    if not pattern:
        return None
    literal = re.sub(r"\\.", "", pattern)  # without escapes such as \S, \W, \b
    if literal != literal.lower():
        # lines are lowered once and matched without IGNORECASE (see _Matcher.match)
        raise re.error(f"write patterns in lower case: {pattern[:60]!r}")
    return re.compile(pattern)


def parse_rules(data: dict[str, object]) -> RuleSet:
    """Build a :class:`RuleSet` from the parsed TOML document (raises ValueError if invalid)."""
    settings = data.get("settings", {})
    vocabulary = data.get("vocabulary", {})
    if not isinstance(settings, dict) or not isinstance(vocabulary, dict):
        raise ValueError("[settings] and [vocabulary] must be tables")
    rules = []
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise ValueError("[[rule]] must be an array of tables")
    for raw in raw_rules:
        examples = raw.get("examples", {})
        kind, zone = raw.get("kind", "line"), raw.get("zone", "anywhere")
        if kind not in KINDS or zone not in ZONES:
            raise ValueError(f"rule {raw.get('id')!r}: bad kind {kind!r} or zone {zone!r}")
        try:
            rule = Rule(
                id=raw["id"],
                kind=kind,
                zone=zone,
                description=raw.get("description", ""),
                pattern=_compile(raw.get("pattern")),
                heading=_compile(raw.get("heading")),
                items=raw.get("items", "short"),
                max_words=raw.get("max_words"),
                contains=tuple(s.lower() for s in raw.get("contains", ())),
                ends_article=bool(raw.get("ends_article", False)),
                examples_remove=tuple(examples.get("remove", ())),
                examples_keep=tuple(examples.get("keep", ())),
                min_run=int(raw.get("min_run", 3)),
                max_cells=int(raw.get("max_cells", 4)),
            )
        except (KeyError, re.error) as err:
            raise ValueError(f"rule {raw.get('id')!r}: {err}") from err
        rules.append(rule)
    months = frozenset(vocabulary.get("months", ()))
    date_tokens = months | frozenset(vocabulary.get("weekdays", ()))
    date_tokens |= frozenset(vocabulary.get("date_words", ()))
    return RuleSet(
        rules=tuple(rules),
        short_max_words=int(settings.get("short_max_words", 12)),
        list_item_max_words=int(settings.get("list_item_max_words", 40)),
        head_max_lines=int(settings.get("head_max_lines", 8)),
        duplicate_min_words=int(settings.get("duplicate_min_words", 8)),
        date_tokens=date_tokens,
        months=months,
    )


def load_rules(path: Path | str | None = None) -> RuleSet:
    """Load a rules file; without ``path``, the rules shipped with newsmill."""
    if path is None:
        return default_rules()
    return parse_rules(tomllib.loads(Path(path).read_text(encoding="utf-8")))


@cache
def default_rules() -> RuleSet:
    """The rules shipped in ``newsmill/rules.toml`` (read once; the result is immutable)."""
    text = resources.files("newsmill").joinpath("rules.toml").read_text(encoding="utf-8")
    return parse_rules(tomllib.loads(text))


# ----------------------------------------------------------------------------- line shapes


def word_count(line: str) -> int:
    """Words in ``line``; CJK characters count half a word (those scripts use no spaces)."""
    if line.isascii():
        return len(line.split())
    return len(line.split()) + len(_CJK.findall(line)) // 2


def line_view(line: str) -> tuple[str, int]:
    """How the rules see ``line``, and its word count: runs of spaces as one space, and a
    table row without its frame.

    Layout tables come out of extraction as rows like ``| | Related   Links | |``: the
    empty and bullet-only cells, the borders and the source's indentation would make a
    two-word heading look like a long paragraph that no whole-line rule matches. The row is
    seen as its cells that hold a letter or digit, joined by " ¦ " (not counted as words,
    and not the "|" of a menu line: a data table's header row is no menu); a row of empty
    cells is seen as a bare "|", a separator line.
    """
    if "  " in line or "\t" in line:
        line = " ".join(line.split())
    if len(line) < 2 or line[0] != "|" or line[-1] != "|":
        return line, word_count(line)
    cells = [c for c in _cells(line[1:-1]) if _LETTER_OR_DIGIT.search(c)]
    if not cells:
        return "|", 1
    return " ¦ ".join(cells), word_count(" ".join(cells))


def _cells(row: str) -> list[str]:
    """The cells of a table row as extraction renders it, between its outer borders
    (``a | b`` of ``| a | b |``; a literal pipe in a cell is ``\\|``), empty ones included."""
    return [c.replace("\\|", "|").strip(" |") for c in _CELL_BORDER.split(row)]


def is_menu_row(line: str, rule: Rule) -> bool:
    """Whether ``line`` is a layout table's row holding one short label: at most
    ``rule.max_cells`` cells, one of them with text, of at most ``rule.max_words`` words and
    without a number, a colon or a sentence's end. A data table's row fills several cells or
    holds numbers; an item of a list in a table ends like a sentence."""
    line = line.strip()
    if len(line) < 2 or line[0] != "|":
        return False
    cells = _cells(line[1:-1] if line[-1] == "|" else line[1:])  # the last border may lack
    if len(cells) > rule.max_cells:
        return False
    filled = [c.strip() for c in cells if _LETTER_OR_DIGIT.search(c)]
    return (
        len(filled) == 1
        and word_count(filled[0]) <= (rule.max_words or 4)
        and not _NOT_A_LABEL.search(filled[0])
    )


def is_date_line(line: str, rules: RuleSet) -> bool:
    """True when ``line`` is only a date/time, with at most a 'Published'/'Updated' label."""
    low = line.casefold()
    if len(low) > 80:
        return False
    rest, cjk_dates = _CJK_DATE.subn(" ", low)
    if cjk_dates:
        rest = _CJK_TIME.sub(" ", rest)
    has_numeric_date = bool(cjk_dates) or bool(_NUMERIC_DATE.search(rest))
    rest = _NUMERIC_DATE.sub(" ", rest)
    has_time = bool(re.search(r"\d:\d\d|\dh\d\d", rest))
    rest, numbers = _NUMERIC.subn(" ", rest)
    if not (has_numeric_date or numbers):
        return False
    has_month = False
    unknown = 0
    for token in _ALPHA.findall(rest):
        token = token.rstrip(".")
        if token in rules.months:
            has_month = True
        elif token not in rules.date_tokens:
            unknown += 1  # one time-zone abbreviation ("AMT", "MSK") is tolerated after a time
    if unknown > (1 if has_time else 0):
        return False
    return has_numeric_date or (has_month and numbers > 0)


def _tokens(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def is_title_line(line: str, title: str) -> bool:
    """True when ``line`` repeats ``title`` (or the title without its site-name suffix)."""
    return _same_title(_tokens(line), _tokens(title))


def _same_title(a: list[str], b: list[str]) -> bool:
    if not a or not b:
        return False
    if a == b:
        return True
    # title "Headline | Site" or "Headline - Site" against a line "Headline"
    return len(a) >= 4 and b[: len(a)] == a and len(b) - len(a) <= 5


# ----------------------------------------------------------------------------- engine


def _fits(rule: Rule, line: str, words: int) -> bool:
    return rule.max_words is None or words <= rule.max_words


def _line_match(rule: Rule, line: str, words: int, rules: RuleSet) -> bool:
    """Whether ``rule`` matches ``line``, given in lower case (see :class:`_Matcher`)."""
    if not _fits(rule, line, words):
        return False
    if rule.contains and not any(s in line for s in rule.contains):
        return False
    if rule.kind == "line" and rule.pattern is not None:
        return rule.pattern.fullmatch(line) is not None
    if rule.kind == "block" and rule.heading is not None:
        return rule.heading.fullmatch(line) is not None
    if rule.kind == "date":
        return is_date_line(line, rules)
    return False


def is_tag_list(line: str) -> bool:
    """True for a list of tags on one line: 'Budget, Council, Elections', 'a | b | c'
    (two or more separated names of at most ``TAG_MAX_WORDS`` words with a letter, none a
    sentence)."""
    if _SENTENCE_END.search(line):  # the last tag would be a sentence
        return False
    tags = [t.strip() for t in _TAG_SEPARATOR.split(line)]
    return len(tags) >= 2 and all(
        len(t.split()) <= TAG_MAX_WORDS and _LETTER.search(t) and not _SENTENCE_END.search(t)
        for t in tags
    )


def _is_item(rule: Rule, line: str, words: int, rules: RuleSet) -> bool:
    if rule.items == "address":
        return _ADDRESS.fullmatch(line) is not None
    if rule.items == "tags" and is_tag_list(line):
        return True
    if line.startswith("- ") and words <= rules.list_item_max_words:
        return True
    return words <= max(rules.short_max_words, rule.max_words or 0)


class _Matcher:
    """The line and heading rules of one zone, tried in one regex call per line.

    The rules' patterns are joined into one alternation with a named group per rule, so a
    line that matches nothing (most lines) costs one ``fullmatch`` instead of one per rule.
    There is one alternation per word limit (``max_words``): a line is tried only against the
    rules whose limit admits it, so a long story paragraph skips the many short-line rules.
    """

    def __init__(self, rules: RuleSet, zone: Zone) -> None:
        self.rules = rules
        ordered = [r for r in rules.rules if r.zone == zone and r.kind in ("line", "block")]
        # rules tried one by one: dates, and guarded rules (only on lines with their strings)
        self.single = [
            r for r in rules.rules if r.zone == zone and (r.kind == "date" or r.contains)
        ]
        self.by_group = {
            f"r{i}": rule for i, rule in enumerate(r for r in ordered if not r.contains)
        }
        self.limits = sorted(
            {r.max_words for r in self.by_group.values() if r.max_words is not None}
        )
        # combined[i]: the rules whose limit is at least limits[i] (the last: unlimited ones),
        # compiled on first use, as a short run may never see most line lengths
        self.combined: dict[int, re.Pattern[str] | None] = {}

    def _join(self, index: int) -> re.Pattern[str] | None:
        limit = self.limits[index] if index < len(self.limits) else None
        parts = [
            f"(?P<{name}>{(rule.pattern or rule.heading).pattern})"  # type: ignore[union-attr]
            for name, rule in self.by_group.items()
            if rule.max_words is None or (limit is not None and rule.max_words >= limit)
        ]
        return re.compile("|".join(parts)) if parts else None

    def match(self, line: str, words: int) -> Rule | None:
        """The first rule of this zone that matches ``line``, which is in lower case: the
        patterns are written in lower case, and matching them without IGNORECASE against a
        line lowered once is much faster than case-insensitive matching rule by rule."""
        for rule in self.single:
            if _line_match(rule, line, words, self.rules):
                return rule
        # the rules of the smallest limit >= words are exactly the rules this line fits
        index = bisect_left(self.limits, words)
        if index not in self.combined:
            self.combined[index] = self._join(index)
        combined = self.combined[index]
        found = combined.fullmatch(line) if combined is not None else None
        return self.by_group[found.lastgroup or ""] if found is not None else None


@cache
def _matchers(rules: RuleSet) -> dict[str, _Matcher]:
    return {zone: _Matcher(rules, zone) for zone in ZONES}


class _Pass:
    """The state of one cleaning pass over a list of non-blank lines."""

    def __init__(
        self,
        lines: list[str],
        rules: RuleSet,
        words: list[int],
        keys: list[int],
        memo: dict[tuple[int, str], Rule | None],
        lowered: list[str],
        menu_rows: dict[str, list[bool]] | None = None,
    ) -> None:
        self.lines = lines
        self.rules = rules
        self.words = words
        self.keys = keys  # index of each line in the original text, for ``memo``
        self.memo = memo  # line matches do not depend on position: shared across passes
        self.lowered = lowered  # every line of the text in lower case, by ``keys``
        self.menu_rows = menu_rows or {}  # per menu-run rule: each line's is_menu_row, by keys
        self.marks: list[str | None] = [None] * len(lines)
        self.matchers = _matchers(rules)
        self.ends = {r.id for r in rules.rules if r.ends_article}

    def short(self, i: int) -> bool:
        if self.words[i] <= self.rules.short_max_words:
            return True
        return self.lines[i].startswith("- ") and self.words[i] <= self.rules.list_item_max_words

    def first_match(self, i: int, zone: Zone) -> Rule | None:
        key = (self.keys[i], zone)
        if key not in self.memo:
            self.memo[key] = self.matchers[zone].match(self.lowered[self.keys[i]], self.words[i])
        return self.memo[key]

    def apply(self, i: int, rule: Rule, stop: int) -> int:
        """Mark line ``i`` (and a block's items up to ``stop``); return the next index."""
        self.marks[i] = rule.id
        i += 1
        if rule.kind == "block":
            while i < stop and self.marks[i] is None:
                if not _is_item(rule, self.lines[i], self.words[i], self.rules):
                    break
                self.marks[i] = rule.id
                i += 1
        return i

    def run_anywhere(self) -> None:
        i, n = 0, len(self.lines)
        while i < n:
            rule = self.first_match(i, "anywhere") if self.marks[i] is None else None
            i = self.apply(i, rule, n) if rule else i + 1

    def run_title(self, titles: list[list[str]]) -> None:
        rule = next((r for r in self.rules.rules if r.kind == "title"), None)
        if not titles or rule is None:
            return
        for i in range(min(self.rules.head_max_lines, len(self.lines))):
            if self.marks[i] is None and any(
                _same_title(_tokens(self.lines[i]), t) for t in titles
            ):
                self.marks[i] = rule.id
                return
            if self.marks[i] is None and not self.short(i):
                return

    def run_head(self) -> None:
        n = min(self.rules.head_max_lines, len(self.lines))
        i = 0
        while i < n:
            if self.marks[i] is not None:
                i += 1
                continue
            rule = self.first_match(i, "head")
            if rule is not None:
                i = self.apply(i, rule, n)
            elif self.short(i):
                i += 1
            else:
                return

    def tail_start(self) -> int:
        """Index of the first line after the last unmatched content paragraph."""
        j = len(self.lines) - 1
        while j >= 0:
            if (
                self.marks[j] is None
                and not self.short(j)
                and not is_tag_list(self.lines[j])  # the tags under a "Tags" heading
                and not self.first_match(j, "tail")
            ):
                break
            j -= 1
        return j + 1

    def run_tail(self) -> None:
        start, n = self.tail_start(), len(self.lines)
        i = start
        while i < n:
            rule = self.first_match(i, "tail") if self.marks[i] is None else None
            i = self.apply(i, rule, n) if rule else i + 1
        # sweep: after a line that ends the article, short lines are boilerplate too
        swept = False
        for i in range(start, n):
            if self.marks[i] in self.ends:
                swept = True
            elif swept and self.marks[i] is None and self.short(i):
                self.marks[i] = TAIL_BLOCK

    def run_menu_runs(self) -> None:
        """Mark runs of at least ``min_run`` menu rows (:func:`is_menu_row`) not yet marked;
        a line another rule removed (a row of empty cells, a menu bar) does not end a run."""
        for rule in self.rules.rules:
            rows = self.menu_rows.get(rule.id)  # only menu-run rules have rows
            if rows is None:
                continue
            i, n = 0, len(self.lines)
            while i < n:
                run, j = [], i
                while j < n and (rows[self.keys[j]] or self.marks[j] is not None):
                    if self.marks[j] is None:
                        run.append(j)
                    j += 1
                if len(run) >= rule.min_run:
                    for k in run:
                        self.marks[k] = rule.id
                i = max(j, i + 1)

    def run_duplicates(self) -> None:
        rule = next((r for r in self.rules.rules if r.kind == "duplicate"), None)
        if rule is None:
            return
        seen: set[tuple[str, ...]] = set()
        for i, line in enumerate(self.lines):
            if self.marks[i] is not None or self.words[i] < self.rules.duplicate_min_words:
                continue
            key = tuple(_tokens(line))
            if key in seen:
                self.marks[i] = rule.id
            seen.add(key)


def clean_lines(
    text: str,
    url: str | None = None,
    *,
    title: str | Sequence[str] | None = None,
    rules: RuleSet | None = None,
) -> CleanResult:
    """Clean ``text`` and say which lines went, and why.

    Args:
        text: article text, one paragraph a line (blank lines are dropped).
        url: the article's URL (reserved for site-specific rules; unused by the defaults).
        title: the article's title (or several candidates: headline, og:title, <title>)
            when known; a first line repeating one of them is removed.
        rules: a rule set (see :func:`load_rules`); the shipped rules by default.

    Returns:
        The kept lines joined by newlines, and every removed line with its rule id.
    """
    rules = rules or default_rules()
    lines = [stripped for line in text.splitlines() if (stripped := line.strip())]
    # Zones depend on which lines are left, so clean again until nothing changes: this makes
    # cleaning idempotent by construction. A second pass is rare and usually removes nothing.
    seen = [line_view(line) for line in lines]  # how the rules see each line (table rows)
    views = [view for view, _ in seen]
    # "İ".lower() is "i" and a combining dot, which no pattern expects
    lowered = [view.lower().replace("i\u0307", "i") for view in views]
    words = [count for _, count in seen]
    titles = [title] if isinstance(title, str) else [t for t in title or () if t]
    title_tokens = [tokens for t in titles if (tokens := _tokens(t))]
    menu_rows: dict[str, list[bool]] = {}  # only for a rule with enough rows for a run
    for rule in rules.rules:
        if rule.kind == "menu-run" and sum(line[0] == "|" for line in lines) >= rule.min_run:
            rows = [is_menu_row(line, rule) for line in lines]
            if sum(rows) >= rule.min_run:
                menu_rows[rule.id] = rows
    memo: dict[tuple[int, str], Rule | None] = {}
    index = list(range(len(lines)))
    marks: dict[int, str] = {}
    for _ in range(MAX_PASSES):
        current = [views[i] for i in index]
        if not current:
            break
        state = _Pass(current, rules, [words[i] for i in index], index, memo, lowered, menu_rows)
        state.run_anywhere()
        state.run_title(title_tokens)
        state.run_head()
        state.run_tail()
        state.run_menu_runs()
        state.run_duplicates()
        new = {index[k]: mark for k, mark in enumerate(state.marks) if mark}
        if not new:
            break
        marks.update(new)
        index = [i for i in index if i not in new]
    kept = [lines[i] for i in index]
    removed = tuple(RemovedLine(lines[i], marks[i]) for i in sorted(marks))
    return CleanResult("\n".join(kept), removed)


def clean_text(text: str, url: str | None = None, *, title: str | None = None) -> str:
    """Return ``text`` without boilerplate lines (see :func:`clean_lines`)."""
    return clean_lines(text, url, title=title).text


# ----------------------------------------------------------------------------- self-check

# Neutral story paragraphs the examples are placed between, as in a real article.
_CONTEXT = (
    "The regional council voted on Tuesday to expand the bus network to three new districts, "
    "a plan that officials said would cost about 40 million euros over five years.",
    "Residents had campaigned for the change since 2019, arguing that the suburbs were cut off "
    "from jobs and schools in the city centre after the old routes were closed.",
)


def _placed(rule: Rule, example: str) -> list[str]:
    block = [line for line in example.splitlines() if line.strip()]
    first, second = _CONTEXT
    if rule.zone == "head":
        return [*block, first, second]
    if rule.zone == "tail":
        return [first, second, *block]
    return [first, *block, second]


def check_rule_examples(rules: RuleSet | None = None) -> list[str]:
    """Check every rule against its own examples; return the problems found (empty = all good).

    Each example is placed in its rule's zone between neutral story paragraphs and the whole
    cleaner is run: every line of a ``remove`` example must go (its first line by this very
    rule), every line of a ``keep`` example must stay, and the story paragraphs must stay.
    """
    rules = rules or default_rules()
    problems = []
    ids = [r.id for r in rules.rules]
    problems += [f"duplicate rule id {i!r}" for i in sorted({i for i in ids if ids.count(i) > 1})]
    for rule in rules.rules:
        if rule.kind in ("line",) and rule.pattern is None:
            problems.append(f"{rule.id}: a line rule needs a pattern")
        if rule.kind == "block" and (rule.heading is None or rule.items not in ITEM_SHAPES):
            problems.append(f"{rule.id}: a block rule needs a heading and items in {ITEM_SHAPES}")
        if not rule.examples_remove:
            problems.append(f"{rule.id}: no examples.remove")
        if not rule.examples_keep:
            problems.append(f"{rule.id}: no examples.keep")
        for kind, examples in (("remove", rule.examples_remove), ("keep", rule.examples_keep)):
            for example in examples:
                lines = _placed(rule, example)
                title = rule.examples_remove[0].splitlines()[0] if rule.kind == "title" else None
                result = clean_lines("\n".join(lines), title=title, rules=rules)
                kept = result.text.splitlines()
                by_rule = {r.text: r.rule for r in result.removed}
                block = [line.strip() for line in example.splitlines() if line.strip()]
                if any(c not in kept for c in _CONTEXT):
                    problems.append(f"{rule.id}: {kind} example {example!r} removed story text")
                if kind == "keep":
                    gone = [line for line in block if line not in kept]
                    if gone:
                        problems.append(f"{rule.id}: keep example lost {gone!r} ({by_rule})")
                    continue
                left = [line for line in block if line in kept]
                if left:
                    problems.append(f"{rule.id}: remove example kept {left!r}")
                elif by_rule.get(block[0]) != rule.id:
                    problems.append(
                        f"{rule.id}: {block[0]!r} was removed by {by_rule.get(block[0])!r}"
                    )
    return problems
