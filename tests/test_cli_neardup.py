"""``ingest`` links near-duplicates; ``dups``, ``explain``, ``show`` and ``export --unique``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsmill.cli import cli
from newsmill.store import Store

from .test_neardup import OTHER_STORY, TEASER, UNRELATED, VARIANTS, WIRE

INPUTS = {
    "wire.txt": WIRE,
    "gazette.txt": VARIANTS["typo fixes"],
    "trimmed.txt": VARIANTS["paragraph dropped"],
    "teaser.txt": TEASER,
    "other.txt": OTHER_STORY,
    "council.txt": UNRELATED,
}


def write_inputs(folder: Path, names: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in INPUTS.items():
        (folder / (names or {}).get(name, name)).write_text(text, encoding="utf-8")
    return folder


def run(db: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "--db", str(db)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def clusters(db: Path) -> dict[str, str]:
    with Store.open(db) as store:
        return dict(store.db.execute("select hash, cluster from articles").fetchall())


def hash_of(db: Path, path: Path) -> str:
    with Store.open(db) as store:
        return store.find_article_by_key(str(path))["hash"]


@pytest.fixture
def ingested(tmp_path: Path) -> tuple[Path, Path]:
    folder = write_inputs(tmp_path / "in")
    db = tmp_path / "news.db"
    run(db, "ingest", str(folder))
    return db, folder


def test_dups_lists_the_wire_story_cluster(ingested):
    db, folder = ingested
    lines = [json.loads(line) for line in run(db, "dups", "--json", "--members").splitlines()]
    assert len(lines) == 1
    (cluster,) = lines
    wire_cluster = {hash_of(db, folder / n) for n in ("wire.txt", "gazette.txt", "trimmed.txt")}
    assert len(wire_cluster) == 3
    assert {m["hash"] for m in cluster["members"]} == {
        *wire_cluster,
        hash_of(db, folder / "teaser.txt"),
    }
    assert cluster["size"] == 4
    assert cluster["cluster"] == min(m["hash"] for m in cluster["members"])  # one run: ties
    assert cluster["first_seen"] == cluster["last_seen"]
    assert cluster["cluster"][:12] in run(db, "dups")


def test_export_carries_the_cluster_and_unique_keeps_one_per_cluster(ingested):
    db, _ = ingested
    rows = [json.loads(line) for line in run(db, "export").splitlines()]
    assert len(rows) == 6
    assert all(row["cluster"] for row in rows)
    unique = [json.loads(line) for line in run(db, "export", "--unique").splitlines()]
    assert len(unique) == 3  # the wire story, the other story, the council story
    assert {row["cluster"] for row in unique} == {row["cluster"] for row in rows}
    assert all(row["hash"] == row["cluster"] for row in unique)


def test_explain_says_why(ingested, tmp_path):
    db, folder = ingested
    wire = hash_of(db, folder / "wire.txt")
    copy = tmp_path / "again" / "copy-of-wire.txt"
    copy.parent.mkdir()
    copy.write_text(WIRE + "\n\n", encoding="utf-8")
    (tmp_path / "again" / "empty.txt").write_text("  \n", encoding="utf-8")
    run(db, "ingest", str(copy.parent))

    gazette = run(db, "explain", str(folder / "gazette.txt"))
    assert "near-duplicate" in gazette
    assert "at similarity 0.9" in gazette
    assert f"cluster {clusters(db)[wire]}" in gazette

    teaser = run(db, "explain", str(folder / "teaser.txt"))
    assert "partial copy" in teaser

    exact = run(db, "explain", str(copy))
    assert f"exact copy of {wire}" in exact
    assert "stored in run 1 from" in exact

    assert "the input is empty" in run(db, "explain", str(copy.parent / "empty.txt"))

    by_hash = run(db, "explain", wire[:10])
    assert "stored as" in by_hash and "exact copy" in by_hash  # both inputs that led to it
    assert "linked: " in by_hash  # wire.txt came last in the run: it links to the others

    data = json.loads(run(db, "explain", "--json", str(folder / "other.txt")))
    assert data["events"][0]["outcome"] == "new"
    assert "cluster: none (no near-duplicate stored)" in data["notes"]


def test_explain_unknown_key_fails(tmp_path):
    result = CliRunner().invoke(cli, ["explain", "abcdef123456", "--db", str(tmp_path / "n.db")])
    assert result.exit_code == 1
    assert "nothing recorded" in result.output


def test_show_carries_the_cluster(ingested):
    db, folder = ingested
    out = run(db, "show", str(folder / "gazette.txt"))
    assert "cluster_size:4" in out.replace(" ", "")
    assert "near-duplicate of" in out


def test_reingesting_the_same_inputs_changes_no_cluster(ingested):
    db, folder = ingested
    before = clusters(db)
    with Store.open(db) as store:
        links = store.db.execute("select * from neardup_links order by 1, 2").fetchall()
    run(db, "ingest", str(folder))
    assert clusters(db) == before
    with Store.open(db) as store:
        assert store.db.execute("select * from neardup_links order by 1, 2").fetchall() == links


def test_clusters_do_not_depend_on_input_order(tmp_path):
    # ingest walks a folder in name order; these names reverse it
    reverse = {name: f"{9 - i}-{name}" for i, name in enumerate(INPUTS)}
    forward = {name: f"{i}-{name}" for i, name in enumerate(INPUTS)}
    a, b = tmp_path / "a.db", tmp_path / "b.db"
    run(a, "ingest", str(write_inputs(tmp_path / "fwd", forward)))
    run(b, "ingest", str(write_inputs(tmp_path / "rev", reverse)))
    assert clusters(a) == clusters(b)
    assert len(set(clusters(a).values())) == 3


def test_dups_rebuild_keeps_the_clusters(ingested):
    db, _ = ingested
    before = clusters(db)
    run(db, "dups", "--rebuild")
    assert clusters(db) == before


def test_changed_parameters_stop_ingest_until_dups_rebuild(ingested, tmp_path):
    db, folder = ingested
    before = clusters(db)
    with Store.open(db) as store, store.transaction():
        store.db.execute("update neardup_meta set value = '{}' where key = 'params'")
    more = tmp_path / "more"
    more.mkdir()
    (more / "late.txt").write_text(VARIANTS["editor's note"], encoding="utf-8")
    result = CliRunner().invoke(cli, ["ingest", str(more), "--db", str(db)])
    assert result.exit_code == 1
    assert "newsmill dups --rebuild" in result.output
    assert (
        "rebuilt the near-duplicate index over 6 articles"
        in CliRunner().invoke(cli, ["dups", "--rebuild", "--db", str(db)]).output
    )
    assert clusters(db) == before
    run(db, "ingest", str(more))
    after = clusters(db)
    assert after[hash_of(db, more / "late.txt")] == before[hash_of(db, folder / "wire.txt")]
