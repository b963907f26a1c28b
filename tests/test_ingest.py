import gzip
import os
import shutil

from newsmill.ingest import DEFAULT_MAX_BYTES, document_kind, ingest, iter_input_files
from newsmill.pipeline import Document, analyze, sniff_kind

from .conftest import SAMPLE

PAGE = """<!DOCTYPE html><html lang="{lang}"><head><meta charset="{charset}">
<title>{title}</title></head><body><article><h1>{title}</h1>
{paragraphs}</article></body></html>"""


def page(title: str, paragraphs: list[str], charset: str = "utf-8", lang: str = "en") -> str:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return PAGE.format(title=title, paragraphs=body, charset=charset, lang=lang)


RUSSIAN = [
    "Городской совет в четверг утвердил бюджет на следующий год после долгих споров о транспорте.",
    "Депутаты обсуждали план строительства велосипедных дорожек на главных улицах города.",
    "Оппозиция заявила, что сокращение парковок ударит по мелким магазинам в центре.",
    "Первые дорожки должны открыться в сентябре, сообщили в мэрии на пресс-конференции.",
]


def test_document_kind_from_name(tmp_path):
    assert document_kind(tmp_path / "a.HTML") == "html"
    assert document_kind(tmp_path / "a.html.gz") == "html"
    assert document_kind(tmp_path / "a.txt") == "text"
    assert document_kind(tmp_path / "a.pdf") is None
    assert sniff_kind(b"\xef\xbb\xbf  <!DOCTYPE html><html>") == "html"
    assert sniff_kind(b"Just a story.\nWith lines.") == "text"


def test_sample_directory(store):
    result = ingest(store, [SAMPLE])
    c = result.counts
    # the AMP copy has the same canonical URL and text: a duplicate; gone.html is an error
    # page ("Page not found"), quarantined as a soft 404
    assert (c.inputs, c.new, c.duplicate, c.empty, c.failed, c.skipped) == (5, 3, 1, 0, 0, 1)
    assert c.reasons["skipped:soft-404"] == 1
    assert result.status == "ok"
    urls = {r["url"]: r for r in store.db["urls"].rows}
    canonical = "https://coastal-ledger.example/news/2026/03/ferry-workers-strike-second-day"
    assert urls[canonical]["times_seen"] == 2
    # every file that led to the article is recorded too, many URLs to one article
    ferry_files = [u for u in urls if u.startswith("file:") and "harbour-ferry" in u]
    assert len(ferry_files) == 2
    assert {urls[u]["article_hash"] for u in ferry_files} == {urls[canonical]["article_hash"]}
    # raw HTML is kept for reprocessing, one page per URL (the AMP copy shares the
    # canonical URL); text inputs have no page row
    assert store.db["pages"].count == 3
    events = list(
        store.db.query("select outcome, reason from events where run_id = ?", [result.run_id])
    )
    assert sorted(e["outcome"] for e in events) == ["duplicate", "new", "new", "new", "skipped"]


def test_reingest_adds_nothing_and_records_sightings(store):
    ingest(store, [SAMPLE])
    before = store.db["articles"].count
    second = ingest(store, [SAMPLE])
    assert second.counts.new == 0 and second.counts.duplicate == 4
    assert store.db["articles"].count == before
    times = [r["times_seen"] for r in store.db["urls"].rows]
    assert min(times) >= 2
    runs = list(store.db["runs"].rows)
    assert [r["status"] for r in runs] == ["ok", "ok"]
    assert runs[1]["duplicate"] == 4 and runs[1]["new"] == 0


def test_bad_local_inputs_are_recorded_not_raised(store, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "empty.html").write_bytes(b"")
    (d / "binary.html").write_bytes(os.urandom(4096) + b"\x00" * 100)
    (d / "broken-link.html").symlink_to(tmp_path / "missing.html")
    (d / "loop").symlink_to(d, target_is_directory=True)  # a symlink loop
    (d / "bad.html.gz").write_bytes(b"\x1f\x8bnot really gzip")
    (d / "notes.pdf").write_bytes(b"%PDF-1.4")  # not picked up from a directory walk
    result = ingest(store, [d])
    by_input = {o.input.rsplit("/", 1)[-1]: o for o in result.outcomes}
    assert set(by_input) == {"empty.html", "binary.html", "broken-link.html", "bad.html.gz"}
    assert by_input["empty.html"].outcome == "empty"
    assert by_input["binary.html"].outcome == "empty"
    assert by_input["binary.html"].reason == "binary"
    assert by_input["broken-link.html"].outcome == "skipped"
    assert by_input["broken-link.html"].reason == "unreadable"
    assert by_input["bad.html.gz"].reason == "bad-gzip"
    assert result.status == "ok"
    assert store.db["articles"].count == 0
    assert store.db["events"].count == 4


def test_too_large_is_skipped(store, tmp_path):
    big = tmp_path / "big.html"
    big.write_text(page("Big", ["word " * 400]))
    result = ingest(store, [big], max_bytes=1000)
    assert result.outcomes[0].outcome == "skipped"
    assert result.outcomes[0].reason == "too-large"
    assert DEFAULT_MAX_BYTES >= 10 * 1024 * 1024


def test_gzip_and_wrong_charset_declaration(store, tmp_path):
    html = page("Бюджет", RUSSIAN, charset="utf-8", lang="ru")
    (tmp_path / "ru.html").write_bytes(html.encode("windows-1251"))  # declared utf-8: a lie
    (tmp_path / "ru2.html.gz").write_bytes(gzip.compress(html.encode("utf-8")))
    result = ingest(store, [tmp_path])
    assert [o.outcome for o in result.outcomes] == ["new", "duplicate"]
    text = store.db.execute("select text from articles").fetchone()[0]
    assert "велосипедных дорожек" in text


def test_analyze_never_raises_on_junk():
    for body in (
        b"",
        b"\x00\x01\x02",
        b"<html>",
        b"<html><body></body></html>",
        "<p>caf\xe9</p>".encode("latin-1"),
        b"<" * 10000,
        b"\xff\xfe<\x00p\x00>\x00",
    ):
        result = analyze(Document(body=body, input="x"))
        assert result.article is None or result.article.text


def test_a_fetched_page_keeps_only_a_canonical_url_on_its_own_site():
    """A page may not claim another site's URL (the next crawl would skip the real page);
    the check is part of analyze, so the workers of a crawl and an ingest both make it."""
    paragraphs = [
        "The harbour board met on Tuesday to discuss the dredging of the outer channel.",
        "Members heard that silt had narrowed the channel by four metres since spring.",
        "A contract for the work is expected to be signed before the end of the month.",
    ]
    base = page("Harbour board orders dredging", paragraphs)

    def canonical_of(url: str, claimed: str) -> str | None:
        html = base.replace("</title>", f'</title><link rel="canonical" href="{claimed}">')
        result = analyze(Document(body=html.encode(), input=url, url=url, kind="html"))
        assert result.article is not None
        return result.article.url

    fetched = "https://harbour.example/news/dredging?utm_source=feed"
    assert canonical_of(fetched, "https://harbour.example/news/dredging") == (
        "https://harbour.example/news/dredging"
    )
    assert canonical_of(fetched, "https://rival.example/news/dredging") is None
    # a local file names no site: its page's canonical URL is taken as it is
    local = "file:///archive/dredging.html"
    assert canonical_of(local, "https://rival.example/news/dredging") == (
        "https://rival.example/news/dredging"
    )


def test_iter_input_files_order_is_stable(tmp_path):
    for name in ("b.html", "a.txt", "sub/c.htm", "sub/.hidden.html"):
        p = tmp_path / name
        p.parent.mkdir(exist_ok=True)
        p.write_text("x")
    names = [p.relative_to(tmp_path).as_posix() for p in iter_input_files([tmp_path])]
    assert names == ["a.txt", "b.html", "sub/c.htm"]


def test_copy_of_sample_under_other_name_is_duplicate(store, tmp_path):
    ingest(store, [SAMPLE / "vineyard-frost.html"])
    copy = tmp_path / "copy.html"
    shutil.copy(SAMPLE / "vineyard-frost.html", copy)
    result = ingest(store, [copy])
    assert result.outcomes[0].outcome == "duplicate"
    assert result.outcomes[0].reason == "exact-copy"
