"""Language detection from the text, for pages that declare none (newsmill.language)."""

from __future__ import annotations

from newsmill.language import MIN_CHARS, detect_language
from newsmill.models import Article
from newsmill.pipeline import Document, Policy, analyze, record, with_language
from newsmill.store import Store

from .walls import SENTENCES

GERMAN = " ".join(SENTENCES["de"] * 2)
ENGLISH = " ".join(SENTENCES["en"] * 2)
FRENCH = " ".join(SENTENCES["fr"] * 2)


def test_a_text_gets_its_language():
    assert detect_language(GERMAN) == "de"
    assert detect_language(ENGLISH) == "en"
    assert detect_language(FRENCH) == "fr"


def test_a_short_text_is_not_judged():
    short = SENTENCES["de"][0][: MIN_CHARS - 1]
    assert detect_language(short) is None


def test_a_text_of_no_language_is_not_judged():
    # numbers and codes: nothing the model is sure of
    table = " ".join(f"{n:05d} {n * 7 % 1000:03d}.{n % 97:02d}" for n in range(60))
    assert len(table) >= MIN_CHARS
    assert detect_language(table) is None


def test_a_declared_language_is_kept_as_declared():
    article = Article(text=GERMAN, hash="", language="en")
    assert with_language(article) is article  # the page's word beats the text's


PAGE = f"""<!doctype html><html><head><meta charset="utf-8"><title>Fährstreik</title></head>
<body><nav><a href="/">Start</a></nav><main><article><h1>Fährstreik im Hafen</h1>
{"".join(f"<p>{s}</p>" for s in SENTENCES["de"] * 2)}</article></main></body></html>"""


def stored_language(store: Store, page: str, policy: Policy) -> tuple[str | None, int]:
    run = store.start_run("test", {})
    doc = Document(body=page.encode(), input="page.html", kind="html")
    outcome = record(store, doc, analyze(doc), run_id=run, seen_at="2026-12-05", policy=policy)
    row = store.find_article(outcome.article_hash)
    return row["language"], row["language_detected"]


def test_a_run_that_filters_by_language_detects_it(tmp_path):
    with Store.open(tmp_path / "news.db") as store:
        assert stored_language(store, PAGE, Policy(languages=frozenset({"de"}))) == ("de", 1)


def test_a_declared_language_is_stored_as_declared(tmp_path):
    declared = PAGE.replace("<html>", '<html lang="de">')
    with Store.open(tmp_path / "news.db") as store:
        assert stored_language(store, declared, Policy(languages=frozenset({"de"}))) == ("de", 0)


def test_a_run_that_keeps_every_language_does_not_detect(tmp_path):
    with Store.open(tmp_path / "news.db") as store:
        assert stored_language(store, PAGE, Policy()) == (None, 0)
