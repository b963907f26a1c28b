"""Quality of near-duplicate linking on republished variants of real articles.

Usage::

    PYTHONPATH=src python bench/neardup.py DATASET_DIR [--seeds DIR] [--minhash rensa|datasketch]

``DATASET_DIR`` holds a ``truth.jsonl`` ({"id", "url", "text"} per line), like the Zyte
article-extraction benchmark. For every article the bench makes republished variants
(``bench/variants.py``: other sites' boilerplate, a new headline, a paragraph dropped or
added, an editor's note, typo fixes, all of those at once, and a teaser), puts originals and
variants (and the seed stories, if given) into one real SQLite store through
:class:`newsmill.neardup.NearDupIndex`, and scores the clusters it gets:

* recall per kind: the variant ends up in its original's cluster;
* pair precision: of all pairs of articles that share a cluster, the share that come from
  the same original (every other pair is a negative: same site, same event, same
  boilerplate, or just another article);
* link precision: of the links the index recorded, the share between the same original;
* a curve over the near-duplicate threshold, and one over the containment threshold;
* whether the clusters are the same when the articles arrive in another order.

Prints markdown tables.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import sqlite_utils

sys.path.insert(0, str(Path(__file__).parent))

from newsmill import neardup
from newsmill.fingerprint import content_hash
from variants import FULL_TEXT_KINDS, make_variants


def datasketch_minhash(items, num_perm: int, seed: int) -> list[int]:
    """The same signature slot, made with datasketch (for ``--minhash datasketch``)."""
    import datasketch

    m = datasketch.MinHash(num_perm=num_perm, seed=seed)
    m.update_batch([s.encode("utf-8") for s in items])
    return [int(v) for v in m.hashvalues]


def load(dataset: Path, seeds: Path | None) -> list[dict]:
    """Documents: {"group", "kind", "site", "text"}; ``group`` is the original's index."""
    rows = [json.loads(line) for line in (dataset / "truth.jsonl").open(encoding="utf-8")]
    rows = [r for r in rows if (r.get("text") or "").strip()]
    texts = [r["text"] for r in rows]
    docs = [
        {"group": i, "kind": "original", "site": urlsplit(r["url"]).hostname, "text": r["text"]}
        for i, r in enumerate(rows)
    ]
    for i, kind, text in make_variants(texts):
        docs.append({"group": i, "kind": kind, "site": f"{kind}.example", "text": text})
    if seeds:
        for j, path in enumerate(sorted(seeds.glob("*.txt"))):
            docs.append(
                {
                    "group": f"seed-{j}",
                    "kind": "seed",
                    "site": "seed.example",
                    "text": path.read_text(encoding="utf-8"),
                }
            )
    # One document per distinct text: a variant that happens to equal its original (a
    # paragraph dropped from a one-paragraph article) is an exact copy, not a near-duplicate.
    seen: set[str] = set()
    unique = []
    for doc in docs:
        doc["hash"] = content_hash(doc["text"])
        if doc["hash"] not in seen:
            seen.add(doc["hash"])
            unique.append(doc)
    return unique


def build(docs: list[dict], path: Path, *, order_seed: int | None, **thresholds) -> dict:
    """Store ``docs`` (originals in run 1, the rest in run 2) and return hash -> cluster."""
    db = sqlite_utils.Database(path, recreate=True)
    db["articles"].create(
        {
            "hash": str,
            "text": str,
            "site": str,
            "first_seen": str,
            "last_seen": str,
            "cluster": str,
        },
        pk="hash",
    )
    index = neardup.NearDupIndex(db, **thresholds)
    runs = [
        [d for d in docs if d["kind"] == "original"],
        [d for d in docs if d["kind"] != "original"],
    ]
    seconds: list[float] = []
    for run, batch in enumerate(runs, 1):
        batch = list(batch)
        if order_seed is not None:
            random.Random(order_seed + run).shuffle(batch)
        first_seen = f"2026-01-0{run}T00:00:00+00:00"
        for doc in batch:
            with db.atomic():
                db["articles"].insert(
                    {
                        "hash": doc["hash"],
                        "text": doc["text"],
                        "site": doc["site"],
                        "first_seen": first_seen,
                        "last_seen": first_seen,
                        "cluster": doc["hash"],
                    }
                )
                start = time.perf_counter()
                index.add(doc["hash"], doc["text"], first_seen)
                seconds.append(time.perf_counter() - start)
    clusters = dict(db.execute("select hash, cluster from articles").fetchall())
    links = db.execute("select article, matched, kind, similarity from neardup_links").fetchall()
    db.close()
    return {"clusters": clusters, "links": links, "seconds": seconds}


def score(docs: list[dict], result: dict) -> dict:
    clusters = result["clusters"]
    by_hash = {d["hash"]: d for d in docs}
    original = {d["group"]: d["hash"] for d in docs if d["kind"] == "original"}
    recall: dict[str, list[bool]] = defaultdict(list)
    for d in docs:
        if d["kind"] in ("original", "seed"):
            continue
        recall[d["kind"]].append(clusters[d["hash"]] == clusters[original[d["group"]]])

    def pair_precision(include) -> tuple[float, int, int]:
        members: dict[str, list[dict]] = defaultdict(list)
        for d in docs:
            if include(d):
                members[clusters[d["hash"]]].append(d)
        good = bad = 0
        for group in members.values():
            for a, b in itertools.combinations(group, 2):
                if a["group"] == b["group"]:
                    good += 1
                else:
                    bad += 1
        return (good / (good + bad) if good + bad else 1.0), good, bad

    negatives = Counter()
    false_links = Counter()
    for a, b in itertools.combinations(docs, 2):
        if a["group"] == b["group"]:
            continue
        kinds = []
        if a["kind"] == "seed" and b["kind"] == "seed":
            kinds.append("same event (seeds)")
        if a["kind"] == b["kind"] == "original" and a["site"] == b["site"]:
            kinds.append("same site")
        if {a["kind"], b["kind"]} <= {"boilerplate", "mixed"}:
            kinds.append("shared boilerplate")
        kinds.append("any other article")
        for kind in kinds:
            negatives[kind] += 1
            if clusters[a["hash"]] == clusters[b["hash"]]:
                false_links[kind] += 1

    link_ok = Counter()
    for article, matched, kind, _sim in result["links"]:
        link_ok[(kind, by_hash[article]["group"] == by_hash[matched]["group"])] += 1

    seeds = [d for d in docs if d["kind"] == "seed"]
    return {
        "recall": {k: sum(v) / len(v) for k, v in recall.items()},
        "recall_n": {k: len(v) for k, v in recall.items()},
        "full_recall": _mean([x for k, v in recall.items() if k != "teaser" for x in v]),
        "precision_all": pair_precision(lambda d: True),
        "precision_full": pair_precision(lambda d: d["kind"] != "teaser"),
        "link_ok": link_ok,
        "negatives": negatives,
        "false_links": false_links,
        "seed_clusters": len({clusters[d["hash"]] for d in seeds}),
        "seeds": len(seeds),
    }


def separation(docs: list[dict]) -> None:
    """Exact similarities the thresholds must separate: variants vs. their original, and
    the most similar pair of different stories (found through shared shingles)."""
    toks = [neardup.tokens(d["text"]) for d in docs]
    sets = [neardup.shingles(t) for t in toks]
    original = {d["group"]: i for i, d in enumerate(docs) if d["kind"] == "original"}

    def jaccard(a: int, b: int) -> float:
        inter = len(sets[a] & sets[b])
        return inter / (len(sets[a]) + len(sets[b]) - inter)

    def prefix_containment(a: int, b: int) -> float:
        small, large = (a, b) if len(toks[a]) <= len(toks[b]) else (b, a)
        prefix = neardup.shingles(toks[large][: len(toks[small]) + neardup.PREFIX_SLACK])
        return len(sets[small] & prefix) / len(sets[small]) if sets[small] else 0.0

    by_kind: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for i, d in enumerate(docs):
        if d["kind"] not in ("original", "seed"):
            o = original[d["group"]]
            by_kind[d["kind"]].append((jaccard(i, o), prefix_containment(i, o)))
    postings: dict[str, list[int]] = defaultdict(list)
    for i, sh in enumerate(sets):
        for shingle in sh:
            postings[shingle].append(i)
    shared: Counter = Counter()
    for ids in postings.values():
        if len(ids) > 1:
            for a, b in itertools.combinations(ids, 2):
                if docs[a]["group"] != docs[b]["group"]:
                    shared[(a, b)] += 1
    worst_j = max((jaccard(a, b), a, b) for a, b in shared) if shared else (0.0, 0, 0)
    worst_c = max(
        (
            (prefix_containment(a, b), a, b)
            for a, b in shared
            if min(len(sets[a]), len(sets[b])) >= neardup.MIN_CONTAINED
        ),
        default=(0.0, 0, 0),
    )

    def q(xs: list[float], p: float) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(p * len(xs)))]

    print(
        "| exact similarity to the original | Jaccard min | 5th pct | median "
        "| prefix containment min | 5th pct | median |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, values in by_kind.items():
        js = [v[0] for v in values]
        cs = [v[1] for v in values]
        print(
            f"| {kind} | {min(js):.3f} | {q(js, 0.05):.3f} | {statistics.median(js):.3f} "
            f"| {min(cs):.3f} | {q(cs, 0.05):.3f} | {statistics.median(cs):.3f} |"
        )
    print(
        f"| **different stories, most similar pair** | **{worst_j[0]:.3f}** | | "
        f"| **{worst_c[0]:.3f}** | | |"
    )
    print(
        f"\n(most similar different stories: by Jaccard {docs[worst_j[1]]['kind']} vs "
        f"{docs[worst_j[2]]['kind']}; by containment {docs[worst_c[1]]['kind']} vs "
        f"{docs[worst_c[2]]['kind']}; {len(shared):,} pairs of different stories share a "
        f"{neardup.SHINGLE_SIZE}-word shingle)\n"
    )


def compare_libraries(docs: list[dict], seeds: int = 10) -> None:
    """Signing speed and signature quality of datasketch and rensa, same shingles."""
    import datasketch
    import rensa

    sets = [list(neardup.shingles(neardup.tokens(d["text"]))) for d in docs]
    original = {d["group"]: i for i, d in enumerate(docs) if d["kind"] == "original"}
    pairs = [
        (i, original[d["group"]])
        for i, d in enumerate(docs)
        if d["kind"] in FULL_TEXT_KINDS and d["group"] in original
    ]
    exact = [len(set(sets[a]) & set(sets[b])) / len(set(sets[a]) | set(sets[b])) for a, b in pairs]
    n = neardup.BANDS * neardup.ROWS
    r = neardup.ROWS

    def sign_datasketch(items: list[str], seed: int) -> list[int]:
        m = datasketch.MinHash(num_perm=n, seed=seed)
        m.update_batch([x.encode("utf-8") for x in items])
        return [int(v) for v in m.hashvalues]

    def sign_rensa(items: list[str], seed: int) -> list[int]:
        m = rensa.RMinHash(num_perm=n, seed=seed)
        m.update(items)
        return list(m.digest())

    def sign_cminhash(items: list[str], seed: int) -> list[int]:
        m = rensa.CMinHash(num_perm=n, seed=seed)
        m.update(items)
        return list(m.digest())

    print(
        f"| library | sign one article ({n} permutations) | mean abs(estimate - J) "
        f"| {neardup.BANDS}x{r} band recall, full-text variants ({seeds} seeds) |"
    )
    print("|---|---:|---:|---:|")
    for name, sign in (
        (f"datasketch {datasketch.__version__} MinHash", sign_datasketch),
        ("rensa 0.5 RMinHash (chosen)", sign_rensa),
        ("rensa 0.5 CMinHash", sign_cminhash),
    ):
        recalls, errors, seconds = [], [], 0.0
        for seed in range(1, seeds + 1):
            start = time.perf_counter()
            sigs = [sign(items, seed) for items in sets]
            seconds += time.perf_counter() - start
            hit = [
                any(
                    sigs[a][k * r : k * r + r] == sigs[b][k * r : k * r + r]
                    for k in range(neardup.BANDS)
                )
                for a, b in pairs
            ]
            recalls.append(sum(hit) / len(hit))
            errors += [
                abs(sum(x == y for x, y in zip(sigs[a], sigs[b], strict=True)) / n - j)
                for (a, b), j in zip(pairs, exact, strict=True)
            ]
        per_doc = seconds / (seeds * len(sets)) * 1e6
        print(
            f"| {name} | {per_doc:.0f} µs | {statistics.mean(errors):.4f} | "
            f"{statistics.mean(recalls):.4f} (min {min(recalls):.4f}) |"
        )
    model = statistics.mean(1 - (1 - j**r) ** neardup.BANDS for j in exact)
    print(f"| *theory, 1-(1-J^{r})^{neardup.BANDS} on the exact J* | | | {model:.4f} |")
    print(f"\n({len(sets)} texts, mean {statistics.mean(map(len, sets)):.0f} shingles)\n")


def _mean(xs: list[bool]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--seeds", type=Path, help="a directory of *.txt stories (one each)")
    parser.add_argument("--minhash", choices=["rensa", "datasketch"], default="rensa")
    parser.add_argument("--no-curve", action="store_true")
    parser.add_argument(
        "--compare-libraries",
        action="store_true",
        help="only compare datasketch and rensa (speed, estimation error, band recall)",
    )
    args = parser.parse_args()
    if args.minhash == "datasketch":
        neardup.minhash = datasketch_minhash

    docs = load(args.dataset, args.seeds)
    kinds = Counter(d["kind"] for d in docs)
    print(f"documents: {len(docs)} ({', '.join(f'{k} {n}' for k, n in kinds.items())})")
    print(
        f"minhash: {args.minhash}; defaults: shingle {neardup.SHINGLE_SIZE}, "
        f"{neardup.BANDS}x{neardup.ROWS} bands + lead {neardup.LEAD_BANDS}x{neardup.LEAD_ROWS}"
        f" over {neardup.LEAD_TOKENS} tokens, near J >= {neardup.NEAR_THRESHOLD}, "
        f"containment >= {neardup.CONTAINMENT_THRESHOLD}\n"
    )

    if args.compare_libraries:
        print("### datasketch vs rensa\n")
        compare_libraries(docs)
        return

    print("### Similarities the thresholds must separate\n")
    separation(docs)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        result = build(docs, path, order_seed=None)
        s = score(docs, result)
        secs = result["seconds"]
        print("### At the default thresholds\n")
        print("| variant | n | recall |")
        print("|---|---:|---:|")
        for kind in [*FULL_TEXT_KINDS, "teaser"]:
            if kind == "teaser":
                print(
                    f"| **all full-text variants** | "
                    f"{sum(s['recall_n'][k] for k in FULL_TEXT_KINDS)} | "
                    f"**{s['full_recall']:.3f}** |"
                )
            print(f"| {kind} | {s['recall_n'][kind]} | {s['recall'][kind]:.3f} |")
        p_all, good, bad = s["precision_all"]
        p_full, good_f, bad_f = s["precision_full"]
        print()
        print("| precision | value | same-story pairs | false pairs |")
        print("|---|---:|---:|---:|")
        print(
            f"| pairs sharing a cluster, full-text variants | **{p_full:.4f}** "
            f"| {good_f} | {bad_f} |"
        )
        print(f"| pairs sharing a cluster, teasers included | {p_all:.4f} | {good} | {bad} |")
        for kind in ("near", "containment"):
            ok, ko = s["link_ok"][(kind, True)], s["link_ok"][(kind, False)]
            if ok + ko:
                print(f"| {kind} links recorded | {ok / (ok + ko):.4f} | {ok} | {ko} |")
        print()
        print("| hard negatives (pairs of different stories) | pairs | wrongly clustered |")
        print("|---|---:|---:|")
        for kind, n in s["negatives"].items():
            print(f"| {kind} | {n} | {s['false_links'][kind]} |")
        if s["seeds"]:
            print(f"\nseed stories: {s['seeds']} in, {s['seed_clusters']} clusters")
        print(
            f"\ncheck time per article (add, {len(secs)} articles, store up to {len(docs)}): "
            f"mean {statistics.mean(secs) * 1e3:.2f} ms, "
            f"p95 {sorted(secs)[int(0.95 * len(secs))] * 1e3:.2f} ms"
        )

        same = all(
            build(docs, path, order_seed=seed)["clusters"] == result["clusters"] for seed in (1, 2)
        )
        print(f"clusters identical after shuffling each run's input order (2 shuffles): {same}")

        if args.no_curve:
            return
        print(
            "\n### Curve over the near-duplicate (Jaccard) threshold "
            f"(containment fixed at {neardup.CONTAINMENT_THRESHOLD})\n"
        )
        _curve(docs, path, "near_threshold", [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
        print("\n### The same without containment links (Jaccard alone)\n")
        _curve(
            docs,
            path,
            "near_threshold",
            [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
            containment_threshold=1.01,
        )
        print(
            f"\n### Curve over the containment threshold (near fixed at {neardup.NEAR_THRESHOLD})\n"
        )
        _curve(docs, path, "containment_threshold", [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.01])


def _curve(docs: list[dict], path: Path, name: str, values: list[float], **fixed) -> None:
    print(
        f"| {name} | full-text recall | pair precision (full-text) | teaser recall "
        "| pair precision (with teasers) | seed clusters |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for value in values:
        s = score(docs, build(docs, path, order_seed=None, **fixed, **{name: value}))
        label = "off" if value > 1 else f"{value:.2f}"
        print(
            f"| {label} | {s['full_recall']:.3f} | {s['precision_full'][0]:.4f} | "
            f"{s['recall']['teaser']:.3f} | {s['precision_all'][0]:.4f} | "
            f"{s['seed_clusters']} |"
        )


if __name__ == "__main__":
    try:
        main()
    except (sqlite3.Error, OSError) as exc:
        sys.exit(f"error: {exc}")
