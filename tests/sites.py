"""A small invented news site for the template tests: pages that share template lines."""

from __future__ import annotations

from pathlib import Path

HOST = "harbourgazette.example"

MIRROR = "The Harbour Gazette can also be read at gazette-mirror.example.org and hg.example.net."
NEWSLETTER = (
    "Sign up for the Harbour Gazette morning briefing and get the day's top stories "
    "in your inbox before seven."
)
CREDIT = "Photo: Harbour Gazette / Mira Olsen"
COPYRIGHT = "© {year} Harbour Gazette Ltd. All rights reserved."
TEMPLATE_LINES = (MIRROR, NEWSLETTER, CREDIT, "Harbour Gazette Ltd. All rights reserved.")

# A quote two follow-up stories repeat (content: must stay).
QUOTE = (
    "“We will rebuild the north pier before the first winter storm,” harbour master "
    "Ines Caldwell said."
)
# A long background paragraph four stories repeat (content: must stay).
BACKGROUND = (
    "The north pier was closed in March after divers found cracks in three of its concrete "
    "pillars, and ferries to the outer islands have since used a temporary pontoon at the "
    "fish market, which the port authority says can take only the two smaller boats of the "
    "fleet in calm weather."
)

SUBJECTS = [
    "The ferry operator",
    "The council",
    "A fishermen's union",
    "The port authority",
    "Local traders",
    "The coastguard",
    "Island residents",
    "The harbour trust",
    "A marine biologist",
    "The mayor's office",
    "Dock workers",
    "The lifeboat crew",
    "A school on the quay",
    "The tourist office",
]
VERBS = ["announced", "questioned", "welcomed", "criticised", "postponed", "reviewed"]
OBJECTS = [
    "a new timetable",
    "the dredging plan",
    "the budget for repairs",
    "a survey of the seawall",
    "the winter schedule",
    "the price of mooring permits",
]


def content_paragraphs(i: int) -> list[str]:
    """Six paragraphs unique to page ``i`` (no sentence recurs on another page)."""
    paras = []
    for j in range(6):
        s = SUBJECTS[(i + j) % len(SUBJECTS)]
        v = VERBS[(i * 3 + j) % len(VERBS)]
        o = OBJECTS[(i * 5 + j * 2) % len(OBJECTS)]
        paras.append(
            f"{s} {v} {o} on day {i * 7 + j} of the dispute, story {i} paragraph {j} notes, "
            f"and said it would report back to the harbour committee by the {j + 2}th."
        )
    return paras


def page_html(i: int, *, quote: bool = False, background: bool = False) -> str:
    paras = content_paragraphs(i)
    if quote:
        paras.insert(2, QUOTE)
    if background:
        paras.insert(1, BACKGROUND)
    body = [CREDIT, *paras[:3], MIRROR, *paras[3:], NEWSLETTER, COPYRIGHT.format(year=2020 + i % 4)]
    ps = "\n".join(f"<p>{p}</p>" for p in body)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>Harbour story {i}</title>"
        f'<link rel="canonical" href="https://www.{HOST}/news/story-{i}"></head>'
        f"<body><article><h1>Harbour story {i}</h1>{ps}</article></body></html>"
    )


def write_site(directory: Path, pages: int = 12) -> list[Path]:
    """Write ``pages`` pages; stories 3 and 4 share QUOTE, stories 5-8 share BACKGROUND."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(pages):
        path = directory / f"story-{i:02d}.html"
        path.write_text(page_html(i, quote=i in (3, 4), background=5 <= i <= 8), "utf-8")
        paths.append(path)
    return paths
