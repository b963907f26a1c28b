"""Near-duplicate linking: variants join their original's cluster, other stories don't."""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsmill import neardup
from newsmill.fingerprint import content_hash
from newsmill.neardup import NearDupIndex, Sketch, StaleIndex, compare, create_tables
from newsmill.store import Store

from .conftest import SHARED

RUN1 = "2026-03-01T06:00:00+00:00"
RUN2 = "2026-03-02T06:00:00+00:00"

# An invented wire story, as the agency sent it.
WIRE = """\
VALMORA (Wire) — Dockworkers at the port of Valmora walked off the job on Tuesday, halting \
the loading of grain ships for the first time in eleven years after talks over a new \
contract collapsed late on Monday night.
The union representing about 4,200 crane operators, lashers and pilots said the strike \
would last at least 72 hours and could be extended if the port authority did not return \
to the table with an improved offer on wages and night-shift safety.
"We have been patient for fourteen months," union secretary Irena Volk told reporters \
outside the main gate, where several hundred workers gathered in the rain. "Nobody wants \
to see the ships waiting, but our members have run out of patience."
The port authority said in a statement that its offer of a 6 percent raise over two years \
was fair and that it had asked a state mediator to intervene. It estimated that each day \
of stoppage would cost exporters roughly 30 million euros.
About 40 vessels were anchored off the coast by Tuesday afternoon, according to ship \
tracking data, most of them bulk carriers waiting to load wheat and barley bound for \
North Africa and the Middle East.
Grain traders said prices on the regional exchange rose nearly 2 percent on the news, \
and warned that a longer strike could delay shipments that had already been held up by \
poor weather in the autumn.
The last major strike at Valmora, in 2015, lasted nine days and ended with a deal that \
raised pay by 4 percent and added two paid rest days a month for night crews."""

# The same event, written up separately by another newsroom: not a duplicate.
OTHER_STORY = """\
Grain exporters are bracing for delays after the country's busiest port shut down on \
Tuesday, with dock unions and port managers blaming each other for the breakdown.
At the Valmora terminals, cranes stood idle and trucks loaded with wheat queued for \
kilometres along the coastal highway as the strike entered its first day.
Union leader Irena Volk, speaking to a crowd of workers, accused managers of stalling. \
Management countered that it had offered a raise and called in a mediator.
Analysts at a commodities brokerage said the stoppage came at a delicate moment for \
buyers in North Africa, who had already faced shortages after a wet autumn slowed the \
harvest.
Shipping agents said dozens of bulk carriers were waiting at anchor and that some \
owners were considering diverting vessels to smaller ports further south, though those \
terminals lack the capacity to handle the largest ships.
The government has so far declined to intervene directly, saying it hopes the mediator \
can bring both sides back to talks before the end of the week."""

UNRELATED = """\
The city council voted 7 to 2 on Wednesday to raise water rates by 9 percent next year, \
the first increase since 2019, to pay for the replacement of lead service lines.
Council members who supported the measure said federal grants would cover only a third of \
the 120 million dollar project and that delaying it would expose families to health risks.
Opponents argued the increase would hit retirees and low-income households hardest and \
proposed phasing it in over three years, an amendment that failed by one vote.
The new rates take effect on January 1. Residents can apply for a discount program \
through the utility's website or by visiting the customer service office downtown."""


def paragraphs(text: str) -> list[str]:
    return text.split("\n")


VARIANTS = {
    "new headline and boilerplate": "\n".join(
        [
            "Port strike halts grain exports as talks collapse",
            "Advertisement",
            *paragraphs(WIRE),
            "Sign up for our morning newsletter to get the day's top stories.",
            "© 2026 Coastal Gazette. All rights reserved.",
        ]
    ),
    "paragraph dropped": "\n".join(paragraphs(WIRE)[:4] + paragraphs(WIRE)[5:]),
    "editor's note": WIRE
    + "\nEditor's note: An earlier version of this story misspelled the union secretary's "
    "name.",
    "typo fixes": WIRE.replace("lashers", "lashing crews")
    .replace("barley", "barely")
    .replace("intervene", "intervine"),
}

TEASER = "\n".join([*paragraphs(WIRE)[:2], "Read more"])


@pytest.fixture
def store(tmp_path: Path):
    with Store.open(tmp_path / "news.db") as s:
        yield s


def put(store: Store, text: str, first_seen: str = RUN1, site: str = "wire.example") -> str:
    """Insert an articles row the way the store does, and return its hash."""
    article_hash = content_hash(text)
    store.db["articles"].insert(
        {
            "hash": article_hash,
            "text": text,
            "site": site,
            "norm_version": 1,
            "first_seen": first_seen,
            "last_seen": first_seen,
            "cluster": article_hash,
        }
    )
    return article_hash


def add(store: Store, index: NearDupIndex, text: str, first_seen: str = RUN1, **kw):
    article_hash = put(store, text, first_seen, **kw)
    return article_hash, index.add(article_hash, text, first_seen)


@pytest.mark.parametrize("kind", sorted(VARIANTS))
def test_republished_variant_joins_the_original_cluster(store, kind):
    index = NearDupIndex(store.db)
    original, first = add(store, index, WIRE)
    assert first is None
    variant, match = add(store, index, VARIANTS[kind], RUN2, site="gazette.example")
    assert match is not None
    assert match.kind == "near"
    assert match.matched == original
    assert neardup.NEAR_THRESHOLD <= match.similarity < 1
    assert match.cluster == original  # the earlier run's article names the cluster
    assert index.cluster_of(variant) == index.cluster_of(original) == original


def test_teaser_is_linked_as_containment(store):
    index = NearDupIndex(store.db)
    original, _ = add(store, index, WIRE)
    teaser, match = add(store, index, TEASER, RUN2)
    assert match is not None
    assert match.kind == "containment"
    assert match.similarity >= neardup.CONTAINMENT_THRESHOLD
    # Its Jaccard similarity alone would never have linked it.
    assert len(Sketch.of(TEASER).shingles) / len(Sketch.of(WIRE).shingles) < 0.4
    assert index.cluster_of(teaser) == original


def test_teaser_stored_first_names_the_cluster(store):
    index = NearDupIndex(store.db)
    teaser, _ = add(store, index, TEASER, RUN1)
    full, match = add(store, index, WIRE, RUN2)
    assert match is not None and match.kind == "containment"
    assert index.cluster_of(full) == teaser


def test_different_stories_about_the_same_event_stay_apart(store):
    index = NearDupIndex(store.db)
    hashes = [add(store, index, text)[0] for text in (WIRE, OTHER_STORY, UNRELATED)]
    assert len({index.cluster_of(h) for h in hashes}) == 3
    assert list(index.clusters()) == []


def _seed_dir() -> Path | None:
    for candidate in (os.environ.get("NEWSMILL_SEEDS"), SHARED / "seeds"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.mark.skipif(
    _seed_dir() is None, reason="seed stories not found (../shared/seeds or $NEWSMILL_SEEDS)"
)
def test_seed_stories_stay_five_clusters(store):
    index = NearDupIndex(store.db)
    paths = sorted(_seed_dir().glob("*.txt"))
    assert len(paths) == 5
    hashes = [add(store, index, p.read_text(encoding="utf-8"))[0] for p in paths]
    assert len({index.cluster_of(h) for h in hashes}) == 5


def test_cluster_id_within_one_run_is_the_smallest_hash(store):
    index = NearDupIndex(store.db)
    texts = [WIRE, *VARIANTS.values()]
    hashes = [add(store, index, t, RUN1)[0] for t in texts]
    assert {index.cluster_of(h) for h in hashes} == {min(hashes)}
    (cluster,) = index.clusters()
    assert cluster.id == min(hashes)
    assert cluster.size == len(texts)
    assert cluster.first_seen == cluster.last_seen == RUN1


def _bridge_texts() -> tuple[str, str, str]:
    """A and C share too little to link; B overlaps both, so it merges them."""
    p = [*paragraphs(WIRE), *paragraphs(UNRELATED)]
    return "\n".join(p[0:4]), "\n".join(p[1:5]), "\n".join(p[2:6])


def test_a_bridging_article_merges_two_clusters(store):
    a, b, c = _bridge_texts()
    assert compare(neardup.tokens(a), neardup.tokens(c)) is None
    index = NearDupIndex(store.db)
    ha, _ = add(store, index, a, RUN1)
    hc, _ = add(store, index, c, RUN1)
    assert index.cluster_of(ha) != index.cluster_of(hc)
    hb, match = add(store, index, b, RUN2)
    assert match is not None
    assert {index.cluster_of(h) for h in (ha, hb, hc)} == {min(ha, hc)}
    assert {link["matched"] for link in index.links(hb)} == {ha, hc}


def _clusters_after(tmp_path: Path, name: str, docs: list[tuple[str, str]]) -> dict[str, str]:
    with Store.open(tmp_path / f"{name}.db") as store:
        index = NearDupIndex(store.db)
        for text, first_seen in docs:
            add(store, index, text, first_seen)
        return dict(store.db.execute("select hash, cluster from articles").fetchall())


def test_clusters_do_not_depend_on_the_order_within_a_run(tmp_path):
    a, b, c = _bridge_texts()
    texts = [a, b, c, WIRE, TEASER, OTHER_STORY, *list(VARIANTS.values())[:2]]
    expected = None
    for i, order in enumerate(itertools.islice(itertools.permutations(texts[:3]), 6)):
        rest = texts[3:]
        random.Random(i).shuffle(rest)
        result = _clusters_after(tmp_path, f"o{i}", [(t, RUN1) for t in [*order, *rest]])
        expected = expected or result
        assert result == expected
    # a (the wire story's first paragraphs) ties a+b+c to the wire story, its teaser and
    # variants; the other story about the same strike stays on its own
    assert len(set(expected.values())) == 2
    assert expected[content_hash(OTHER_STORY)] == content_hash(OTHER_STORY)


@pytest.mark.parametrize("fold_at", [1, 2, 3])
def test_folding_pending_rows_into_arrays_changes_no_cluster(tmp_path, monkeypatch, fold_at):
    """A process folds the pending rows it added into sorted arrays every FOLD_AT
    articles (memory): clusters, links and a removal come out as without folding."""
    a, b, c = _bridge_texts()
    texts = [a, WIRE, OTHER_STORY, b, TEASER, c, *list(VARIANTS.values())]

    def run(name: str) -> tuple[dict, list]:
        with Store.open(tmp_path / f"{name}.db") as store:
            index = NearDupIndex(store.db)
            hashes = [add(store, index, text, RUN1)[0] for text in texts]
            index.remove(hashes[3])  # b, pending: in the arrays when folded
            clusters = dict(store.db.execute("select hash, cluster from articles").fetchall())
            links = store.db.execute("select * from neardup_links order by 1, 2").fetchall()
            return clusters, links

    expected = run("unfolded")
    monkeypatch.setattr(neardup._LoadedBands, "FOLD_AT", fold_at)
    assert run(f"folded{fold_at}") == expected


def test_adding_again_changes_nothing(store):
    index = NearDupIndex(store.db)
    original, _ = add(store, index, WIRE)
    variant, match = add(store, index, VARIANTS["typo fixes"], RUN2)

    def snapshot():
        return [
            store.db.execute(f"select * from {t} order by 1, 2").fetchall()
            for t in ("neardup_docs", "neardup_bands", "neardup_pending", "neardup_links")
        ] + [store.db.execute("select hash, cluster from articles order by 1").fetchall()]

    before = snapshot()
    assert index.add(variant, VARIANTS["typo fixes"], RUN2) == match
    assert index.add(original, WIRE, RUN1) is None
    assert snapshot() == before


@pytest.mark.parametrize("merged", [False, True], ids=["pending", "merged"])
def test_remove_splits_a_cluster_held_together_by_one_article(store, merged):
    a, b, c = _bridge_texts()
    index = NearDupIndex(store.db)
    ha, _ = add(store, index, a, RUN1)
    hb, _ = add(store, index, b, RUN1)
    hc, _ = add(store, index, c, RUN1)
    assert len({index.cluster_of(h) for h in (ha, hb, hc)}) == 1
    if merged:
        assert index.merge_pending() == 3
    doc = _doc_id(store, hb)
    index.remove(hb)
    for table in ("neardup_bands", "neardup_pending"):
        assert not store.db.execute(f"select 1 from {table} where doc = ?", [doc]).fetchone()
    assert index.cluster_of(ha) == ha
    assert index.cluster_of(hc) == hc
    assert index.cluster_of(hb) == hb
    assert not index.is_indexed(hb)
    assert index.links(hb) == []
    assert (
        store.db.execute(
            "select count(*) from neardup_bands b join neardup_docs d "
            "on d.id = b.doc where d.hash = ?",
            [hb],
        ).fetchone()[0]
        == 0
    )
    # the text may change and come back under a new hash: it links again
    store.db["articles"].delete(hb)
    hb2, match = add(store, index, b + "\nUpdated at 14:00.", RUN2)
    assert match is not None
    assert {index.cluster_of(h) for h in (ha, hb2, hc)} == {min(ha, hc)}


def _doc_id(store, article_hash: str) -> int:
    """An indexed article's id: its neardup_docs row once merged, its pending row before."""
    (doc,) = store.db.execute(
        "select id from neardup_docs where hash = :h union all "
        "select doc from neardup_pending where hash = :h",
        {"h": article_hash},
    ).fetchone()
    return doc


def test_remove_without_text_scans_the_bands(store):
    index = NearDupIndex(store.db)
    original, _ = add(store, index, WIRE)
    variant, _ = add(store, index, VARIANTS["editor's note"], RUN2)
    index.merge_pending()
    store.db.execute("update articles set text = '' where hash = ?", [variant])
    index.remove(variant, text=None)
    assert store.db.execute("select count(distinct doc) from neardup_bands").fetchone()[0] == 1
    assert index.cluster_of(original) == original


def test_short_texts_are_not_indexed(store):
    index = NearDupIndex(store.db)
    h, match = add(store, index, "Ferry crews strike again today.")
    assert match is None
    assert not index.is_indexed(h)


def test_create_tables_is_idempotent(store):
    for _ in range(3):
        create_tables(store.db)
    assert {"neardup_docs", "neardup_bands", "neardup_links", "neardup_meta"} <= set(
        store.db.table_names()
    )


def test_changed_parameters_require_a_rebuild(store):
    index = NearDupIndex(store.db)
    original, _ = add(store, index, WIRE)
    variant, _ = add(store, index, VARIANTS["typo fixes"], RUN2)
    store.db.execute("update neardup_meta set value = '{\"bands\": 9}' where key = 'params'")
    with pytest.raises(StaleIndex, match="rebuild"):
        NearDupIndex(store.db)
    store.db.execute("update articles set cluster = hash")
    assert index.rebuild() == 2
    assert NearDupIndex(store.db).cluster_of(variant) == original


def test_rebuild_gives_the_same_clusters(store):
    index = NearDupIndex(store.db)
    add(store, index, WIRE)
    add(store, index, OTHER_STORY)
    for text in [*VARIANTS.values(), TEASER]:
        add(store, index, text, RUN2)
    before = store.db.execute("select hash, cluster from articles order by 1").fetchall()
    index.rebuild()
    assert store.db.execute("select hash, cluster from articles order by 1").fetchall() == before


def test_band_keys_are_stable():
    """Stored bands must stay comparable: if this changes, bump INDEX_VERSION."""
    keys = Sketch.of(WIRE).keys
    assert len(keys) == neardup.BANDS + neardup.LEAD_BANDS
    assert all(-(2**47) <= k < 2**47 for k in keys)
    assert keys[:3] == EXPECTED_KEYS


EXPECTED_KEYS = [-58936522687214, 58784319578763, 80546462957640]

vocabulary = [f"w{i}" for i in range(40)]


@given(st.lists(st.sampled_from(vocabulary), max_size=30), st.integers(1, 6))
def test_shingles_are_the_runs_of_tokens(toks, size):
    runs = {" ".join(toks[i : i + size]) for i in range(len(toks) - size + 1)}
    assert neardup.shingles(toks, size) == (runs or ({" ".join(toks)} if toks else set()))


def test_japanese_is_tokenized_by_character():
    assert neardup.tokens("東京で地震、ＮＨＫが報道") == [*"東京で地震", "nhk", *"が報道"]


words = st.lists(
    st.sampled_from(["ab", "cd", "ef", "gh", "ij", "kl", "mn", "op"]), min_size=0, max_size=60
)


@settings(max_examples=200, deadline=None)
@given(words, words)
def test_compare_is_symmetric(a, b):
    assert compare(a, b) == compare(b, a)


def _compare_by_definition(a, b):
    """compare() as its docstring defines it, every containment computed."""
    sa, sb = neardup.shingles(a), neardup.shingles(b)
    if not sa or not sb:
        return None
    inter = len(sa & sb)
    jaccard = inter / (len(sa) + len(sb) - inter)
    if jaccard >= neardup.NEAR_THRESHOLD:
        return neardup.Verdict("near", jaccard)
    best = 0.0
    for small_t, small_s, large_t in ((a, sa, b), (b, sb, a)):
        if len(small_t) > len(large_t) or len(small_s) < neardup.MIN_CONTAINED:
            continue
        prefix = neardup.shingles(large_t[: len(small_t) + neardup.PREFIX_SLACK])
        best = max(best, len(small_s & prefix) / len(small_s))
    return neardup.Verdict("containment", best) if best >= neardup.CONTAINMENT_THRESHOLD else None


@st.composite
def overlapping_texts(draw):
    """A text, and a teaser of it: its first words (some changed), a few words around."""
    base = draw(st.lists(st.sampled_from(vocabulary), min_size=20, max_size=120))
    teaser = base[: draw(st.integers(15, len(base)))]
    for _ in range(draw(st.integers(0, 4))):
        teaser[draw(st.integers(0, len(teaser) - 1))] = draw(st.sampled_from(vocabulary))
    before = draw(st.lists(st.sampled_from(vocabulary), max_size=3))
    after = draw(st.lists(st.sampled_from(vocabulary), max_size=10))
    return base, before + teaser + after


@settings(max_examples=300, deadline=None)
@given(overlapping_texts())
def test_compare_skips_no_containment_it_would_find(texts):
    a, b = texts
    assert compare(a, b) == _compare_by_definition(a, b)


def test_a_moved_article_keeps_its_cluster_under_its_new_hash(store):
    """When cleaning changes an article's text (so its hash), its cluster follows it."""
    original, _ = add(store, store.neardup, WIRE)
    republished = VARIANTS["new headline and boilerplate"]
    variant, _ = add(store, store.neardup, republished, RUN2, site="gazette.example")
    assert store.neardup.cluster_of(variant) == original
    # the original loses a line: it gets a new hash, stays the earliest and names the cluster
    with store.transaction():
        new_original, merged = store.move_article(
            original, WIRE.rsplit("\n", 1)[0], run_id=None, reason="reprocess"
        )
    assert not merged and new_original != original
    assert store.neardup.cluster_of(new_original) == new_original
    assert store.neardup.cluster_of(variant) == new_original
    assert not store.db.execute(
        "select count(*) from articles where cluster = ?", [original]
    ).fetchone()[0]
    # the variant is cleaned into the original's exact text: the two merge into one article
    with store.transaction():
        target, merged = store.move_article(
            variant, WIRE.rsplit("\n", 1)[0], run_id=None, reason="reprocess"
        )
    assert merged and target == new_original
    assert store.db["articles"].count == 1
    assert store.db.execute("select count(*) from neardup_links").fetchone()[0] == 0


def _state(store: Store) -> tuple[list, list]:
    """Clusters and links, with hashes replaced by the texts they stand for."""
    text = dict(store.db.execute("select hash, text from articles").fetchall())
    clusters = sorted(
        (text[h], text[c]) for h, c in store.db.execute("select hash, cluster from articles")
    )
    links = sorted(
        (text[a], text[m])
        for a, m in store.db.execute("select article, matched from neardup_links")
    )
    return clusters, links


@pytest.mark.parametrize("merged", [False, True], ids=["pending", "merged"])
def test_a_moved_member_whose_links_still_hold_keeps_them_without_relinking(
    store, merged, monkeypatch
):
    """A template re-clean changes a text a little: the links are renamed, not recomputed,
    and the result is what indexing the new texts from scratch gives."""
    a, b, c = _bridge_texts()
    ha, _ = add(store, store.neardup, a, RUN1)
    hb, _ = add(store, store.neardup, b, RUN1)
    hc, _ = add(store, store.neardup, c, RUN1)
    if merged:
        store.neardup.merge_pending()
    relinked: list[list[str]] = []
    monkeypatch.setattr(store.neardup, "_relink", relinked.append)
    moved = b + "\nUpdated at 14:00."
    with store.transaction():
        hb2, was_merged = store.move_article(hb, moved, run_id=None, reason="t")
    assert not was_merged and relinked == []
    assert {store.neardup.cluster_of(h) for h in (ha, hb2, hc)} == {min(ha, hb2, hc)}
    assert store.neardup.links(hb) == []
    assert {
        link["article"] if link["matched"] == hb2 else link["matched"]
        for link in store.neardup.links(hb2)
    } == {ha, hc}
    assert store.neardup.is_indexed(hb2) and not store.neardup.is_indexed(hb)
    monkeypatch.undo()
    after = _state(store)
    store.rebuild_near_duplicates()
    assert _state(store)[0] == after[0]  # the clusters (links depend on the order of adding)


def test_moving_the_member_that_names_the_cluster_renames_it(store):
    original, _ = add(store, store.neardup, WIRE, RUN1)
    variant, _ = add(store, store.neardup, VARIANTS["typo fixes"], RUN1)
    other, _ = add(store, store.neardup, VARIANTS["editor's note"], RUN2)
    first = min(original, variant)
    with store.transaction():
        new, _ = store.move_article(
            first, store.db["articles"].get(first)["text"] + "\nMore.", run_id=None, reason="t"
        )
    expected = min(new, max(original, variant))  # both in RUN1: the smaller hash names it
    assert {store.neardup.cluster_of(h) for h in (new, max(original, variant), other)} == {expected}
    assert not store.db.execute("select 1 from articles where cluster = ?", [first]).fetchone()


def test_a_moved_member_that_no_longer_matches_leaves_and_the_cluster_splits(store):
    a, b, c = _bridge_texts()
    ha, _ = add(store, store.neardup, a, RUN1)
    hb, _ = add(store, store.neardup, b, RUN1)
    hc, _ = add(store, store.neardup, c, RUN1)
    with store.transaction():
        hb2, _ = store.move_article(hb, OTHER_STORY, run_id=None, reason="t")
    assert store.neardup.cluster_of(ha) == ha
    assert store.neardup.cluster_of(hc) == hc
    assert store.neardup.cluster_of(hb2) == hb2
    assert store.neardup.links(hb2) == [] and store.neardup.links(hb) == []


def test_a_moved_member_that_now_matches_another_cluster_merges_it(store, monkeypatch):
    a, b, c = _bridge_texts()
    ha, _ = add(store, store.neardup, a, RUN1)
    hc, _ = add(store, store.neardup, c, RUN1)
    hc2, _ = add(store, store.neardup, c + "\nCorrection: nine, not seven.", RUN1)
    assert store.neardup.cluster_of(hc2) == store.neardup.cluster_of(hc) != ha
    relinked: list[list[str]] = []
    monkeypatch.setattr(store.neardup, "_relink", relinked.append)
    # the copy of c is cleaned into b's text: still a near-duplicate of c, now also of a
    with store.transaction():
        moved, _ = store.move_article(hc2, b + "\nCorrection.", run_id=None, reason="t")
    assert relinked == []
    assert {store.neardup.cluster_of(h) for h in (ha, hc, moved)} == {min(ha, hc, moved)}
    monkeypatch.undo()
    after = _state(store)
    store.rebuild_near_duplicates()
    assert _state(store)[0] == after[0]


# -- where the bands live: pending rows, the merged table, the Bloom filter ----------------


def test_matches_are_found_in_pending_and_merged_rows_alike(store):
    index = NearDupIndex(store.db)
    original, _ = add(store, index, WIRE)
    assert index.merge_pending() == 1
    assert store.db.execute("select count(*) from neardup_pending").fetchone()[0] == 0
    _, match = add(
        store, index, VARIANTS["new headline and boilerplate"], RUN2
    )  # against merged rows
    assert match is not None and match.matched == original
    _, match = add(store, index, VARIANTS["typo fixes"], RUN2)  # merged and pending rows
    assert match is not None and match.cluster == original
    unrelated, match = add(store, index, OTHER_STORY, RUN2)
    assert match is None and index.cluster_of(unrelated) == unrelated


def test_pending_rows_merge_by_themselves(store, monkeypatch):
    monkeypatch.setattr(neardup, "MERGE_AT", 3)
    index = NearDupIndex(store.db)
    original, _ = add(store, index, WIRE)
    for i, text in enumerate(_unrelated_texts(4)):
        add(store, index, text, RUN1)
        pending = store.db.execute("select count(*) from neardup_pending").fetchone()[0]
        assert pending == (i + 2) % 3
    _, match = add(store, index, VARIANTS["editor's note"], RUN2)
    assert match is not None and match.matched == original


def test_two_processes_see_each_others_bands(tmp_path):
    with Store.open(tmp_path / "news.db") as one, Store.open(tmp_path / "news.db") as two:
        index_one, index_two = NearDupIndex(one.db), NearDupIndex(two.db)
        original, _ = add(one, index_one, WIRE)
        variant, match = add(two, index_two, VARIANTS["typo fixes"], RUN2)  # pending, other
        assert match is not None and match.matched == original
        assert index_one.is_indexed(variant) and index_two.add(original, WIRE, RUN1) is None
        index_one.merge_pending()
        _, match = add(
            two, index_two, VARIANTS["new headline and boilerplate"], RUN2
        )  # merged by the other
        assert match is not None and match.cluster == original
        removed, _ = add(one, index_one, VARIANTS["editor's note"], RUN2)
        index_two.remove(removed)
        _, match = add(one, index_one, VARIANTS["paragraph dropped"], RUN2)
        assert match is not None and match.matched != removed


def test_pending_articles_get_their_docs_row_when_merged(store):
    index = NearDupIndex(store.db)
    original, _ = add(store, index, WIRE)
    variant, _ = add(store, index, VARIANTS["typo fixes"], RUN2)
    # pending: the hash is in the pending row, no neardup_docs row (no random index page)
    assert store.db.execute("select count(*) from neardup_docs").fetchone()[0] == 0
    assert store.db.execute("select hash from neardup_pending order by doc").fetchall() == [
        (original,),
        (variant,),
    ]
    assert index.is_indexed(original) and NearDupIndex(store.db).is_indexed(variant)
    assert not NearDupIndex(store.db).is_indexed(content_hash(OTHER_STORY))
    assert index.merge_pending() == 2
    assert store.db.execute("select hash from neardup_docs order by id").fetchall() == [
        (original,),
        (variant,),
    ]
    assert (
        store.db.execute(
            "select count(*) from neardup_bands where doc not in (select id from neardup_docs)"
        ).fetchone()[0]
        == 0
    )
    # merged: found through the filter (which holds the merged hashes) and neardup_docs
    fresh = NearDupIndex(store.db)
    assert fresh.is_indexed(original) and fresh.is_indexed(variant)
    assert not fresh.is_indexed(content_hash(OTHER_STORY))
    bloom = fresh._sync().filter
    assert neardup.doc_key(original) in bloom and neardup.doc_key(variant) in bloom
    # new ids come after the merged ones
    other, _ = add(store, fresh, OTHER_STORY, RUN2)
    assert _doc_id(store, other) > _doc_id(store, variant)


def test_a_store_from_before_pending_hashes_is_read_and_upgraded(store):
    """The previous layout: every indexed article had a neardup_docs row, pending rows had
    no hash, the filter held only band keys. Opening it adds the columns and the hashes."""
    db = store.db
    db.execute("drop table neardup_pending")
    db.execute("create table neardup_pending (doc integer primary key, keys blob not null)")
    docs = {}
    for text, merged in ((WIRE, True), (OTHER_STORY, False)):
        article_hash = put(store, text)
        sketch = Sketch.of(text)
        doc = db.execute(
            "insert into neardup_docs (hash, shingles) values (?, ?)",
            [article_hash, sketch.shingle_count],
        ).lastrowid
        if merged:
            db.conn.executemany(
                "insert into neardup_bands (key, doc) values (?, ?)",
                [(key, doc) for key in sketch.keys],
            )
        else:
            db.execute(
                "insert into neardup_pending (doc, keys) values (?, ?)",
                [doc, neardup._pack(sketch.keys)],
            )
        docs[article_hash] = doc
    bloom = neardup.BloomFilter.sized_for(1)
    bloom.add_many(Sketch.of(WIRE).keys)
    db.execute("insert into neardup_filter (chunk, bits) values (0, ?)", [bytes(bloom.data)])
    db.execute(
        "insert or replace into neardup_meta (key, value) values ('filter', ?)",
        [json.dumps({"bits": bloom.nbits, "keys": bloom.keys})],
    )
    db.conn.commit()

    index = NearDupIndex(db)
    assert {c.name for c in db["neardup_pending"].columns} >= {"hash", "shingles"}
    assert all(index.is_indexed(h) for h in docs)  # without reading the filter
    wire, other = docs
    _, match = add(store, index, VARIANTS["typo fixes"], RUN2)  # the merged original
    assert match is not None and match.matched == wire
    meta = json.loads(
        db.execute("select value from neardup_meta where key = 'filter'").fetchone()[0]
    )
    assert meta["version"] == neardup.FILTER_VERSION  # built again by the first add
    assert all(index.is_indexed(h) for h in docs)  # through the filter
    _, match = add(store, index, OTHER_STORY + "\nUpdated at 14:00.", RUN2)  # the old pending
    assert match is not None and match.matched == other
    assert index.merge_pending() == 3
    hashes = [h for (h,) in db.execute("select hash from neardup_docs")]
    assert len(hashes) == len(set(hashes)) == 4
    assert all(NearDupIndex(db).is_indexed(h) for h in hashes)


@pytest.mark.parametrize("threads", [False, True], ids=["one-thread", "threads"])
def test_the_filter_records_where_its_pages_are_and_a_wrong_record_is_harmless(
    store, monkeypatch, threads
):
    if threads:
        monkeypatch.setattr(neardup, "PREFETCH_PARALLEL_BYTES", 0)
    index = NearDupIndex(store.db)
    original, _ = add(store, index, WIRE)
    index.merge_pending()

    def meta() -> dict:
        row = store.db.execute("select value from neardup_meta where key = 'filter'").fetchone()
        return json.loads(row[0])

    pages = {
        page
        for (page,) in store.db.execute("select pageno from dbstat where name = 'neardup_filter'")
    }
    runs = meta()["pages"]
    assert {first + i for first, count in runs for i in range(count)} == pages
    assert [first for first, _ in runs] == sorted(first for first, _ in runs)
    for wrong in ([[10**9, 5]], [[-3, 2]], [[1, 10**6]], []):
        store.db.execute(
            "update neardup_meta set value = ? where key = 'filter'",
            [json.dumps({**meta(), "pages": wrong})],
        )
        _, match = add(store, NearDupIndex(store.db), VARIANTS["typo fixes"], RUN2)
        assert match is not None and match.cluster == original
        NearDupIndex(store.db).remove(match.article)
        store.db.execute("delete from articles where hash = ?", [match.article])


def _shared_keys(store) -> list[int]:
    return [
        key
        for (key,) in store.db.execute(
            "select key from neardup_bands group by key having count(*) > 1"
        )
    ]


@pytest.mark.parametrize("how", ["merge", "rebuild_filter"])
def test_keys_held_by_several_merged_articles_are_marked_in_the_filter(store, how):
    index = NearDupIndex(store.db)
    add(store, index, WIRE)
    if how == "merge":
        index.merge_pending()  # the variants' keys meet the original's in the table
    for kind in ("typo fixes", "editor's note", "new headline and boilerplate"):
        add(store, index, VARIANTS[kind], RUN2)
    index.merge_pending()
    if how == "rebuild_filter":
        index.rebuild_filter()
    shared = _shared_keys(store)
    assert len(shared) >= 10
    bloom = NearDupIndex(store.db)._sync().filter
    assert all(neardup.shared_key(key) in bloom for key in shared)
    single = [
        key
        for (key,) in store.db.execute(
            "select key from neardup_bands group by key having count(*) = 1"
        )
    ]
    assert sum(neardup.shared_key(key) in bloom for key in single) <= 0.05 * len(single)


def test_merged_candidates_are_the_ones_one_query_over_every_key_finds(store):
    """Keys of an article read for verification are counted without a lookup unless the
    filter marks them shared: the counts must be exactly those of a plain query."""
    index = NearDupIndex(store.db)
    texts = [WIRE, OTHER_STORY, UNRELATED, *VARIANTS.values()]
    for i, text in enumerate(texts):
        add(store, index, text, RUN1 if i < 3 else RUN2)
        if i in (0, 3, 6):
            index.merge_pending()
    index.merge_pending()
    fresh = NearDupIndex(store.db)
    bands = fresh._sync()
    read = 0
    for text in [*texts, WIRE + "\nUpdated at 14:00.", OTHER_STORY.replace("Tuesday", "Monday")]:
        keys = Sketch.of(text).keys
        merged = [key for key in keys if key in bands.filter]
        marks = ",".join("?" * len(merged))
        expected = dict(
            store.db.execute(
                f"select doc, count(*) from neardup_bands where key in ({marks}) group by doc",
                merged,
            ).fetchall()
        )
        known: dict = {}
        assert fresh._merged_hits(merged, -1, bands.filter, known) == expected
        read += bool(known)
    assert read >= 3  # the counting without lookups happened
    _, match = add(store, fresh, VARIANTS["paragraph dropped"] + "\nMore soon.", RUN2)
    assert match is not None and match.cluster == content_hash(WIRE)


def test_bloom_filter_has_no_false_negatives_and_few_false_positives():
    rng = random.Random(5)
    keys = [rng.randrange(-(1 << 47), 1 << 47) for _ in range(30_000)]
    vectorized = neardup.BloomFilter.sized_for(len(keys))
    vectorized.add_many(keys)  # numpy
    one_by_one = neardup.BloomFilter.sized_for(len(keys))
    for key in keys:
        one_by_one.add(key)
    assert vectorized.data == one_by_one.data
    assert all(key in vectorized for key in keys)
    probes = keys[:500] + [rng.randrange(-(1 << 47), 1 << 47) for _ in range(20_000)]
    assert vectorized.contains_many(probes) == [key in vectorized for key in probes]
    others = [rng.randrange(-(1 << 47), 1 << 47) for _ in range(30_000)]
    assert sum(key in vectorized for key in others) < 0.01 * len(others)


def test_filter_is_rebuilt_larger_when_the_table_outgrows_it(store, monkeypatch):
    monkeypatch.setattr(neardup, "FILTER_MIN_BYTES", 64)
    monkeypatch.setattr(neardup, "FILTER_CHUNK", 64)
    index = NearDupIndex(store.db)
    original, _ = add(store, index, WIRE)
    for text in _unrelated_texts(6):
        add(store, index, text, RUN1)
    index.merge_pending()
    bits = json.loads(
        store.db.execute("select value from neardup_meta where key = 'filter'").fetchone()[0]
    )["bits"]
    assert bits > 64 * 8
    keys = [k for (k,) in store.db.execute("select key from neardup_bands")]
    bloom = NearDupIndex(store.db)._sync().filter
    assert all(key in bloom for key in keys)
    _, match = add(store, index, VARIANTS["typo fixes"], RUN2)
    assert match is not None and match.matched == original


def test_rows_loaded_behind_the_index_back_are_found_after_rebuild_filter(store):
    index = NearDupIndex(store.db)
    original = put(store, WIRE)
    sketch = Sketch.of(WIRE)
    doc = store.db.execute(
        "insert into neardup_docs (hash, shingles) values (?, ?)",
        [original, sketch.shingle_count],
    ).lastrowid
    store.db.conn.executemany(
        "insert into neardup_bands (key, doc) values (?, ?)", [(k, doc) for k in sketch.keys]
    )
    index.rebuild_filter()
    _, match = add(store, index, VARIANTS["typo fixes"], RUN2)
    assert match is not None and match.matched == original


def _unrelated_texts(n: int) -> list[str]:
    rng = random.Random(n)
    words = [
        "harbour",
        "council",
        "budget",
        "frost",
        "vineyard",
        "tram",
        "library",
        "museum",
        "bakery",
        "quota",
    ]
    return [
        " ".join(rng.choice(words) + str(rng.randrange(10**6)) for _ in range(80)) for _ in range(n)
    ]
