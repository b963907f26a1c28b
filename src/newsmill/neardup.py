"""Near-duplicate linking: MinHash over word shingles, LSH bands in SQLite, clusters.

The content hash only catches exact copies. A wire story republished by ten sites with their
own headline, a trimmed paragraph or an editor's note gets ten hashes; this module links
them. Nothing is deleted: every article keeps its row and gets a ``cluster``, the hash of
the earliest member of its group.

How a new article is checked (:meth:`NearDupIndex.add`):

1. Tokens are the ``\\w+`` runs of the normalized text (:func:`newsmill.fingerprint.
   normalize_for_hash`); Chinese and Japanese characters are one token each. Shingles are
   runs of :data:`SHINGLE_SIZE` tokens.
2. Two MinHash signatures (rensa's R-MinHash): one over all shingles, cut into
   :data:`BANDS` bands of :data:`ROWS` values, and one over the shingles of the first
   :data:`LEAD_TOKENS` tokens (the *lead*), cut into :data:`LEAD_BANDS` bands. The lead
   bands find teasers, whose Jaccard similarity to the full story is far too low for the
   main bands.
3. Each band becomes one 48-bit integer key in ``neardup_bands``, a ``WITHOUT ROWID``
   table whose primary key (key, doc) is the index: one indexed lookup per band finds every
   stored article that shares it, without loading the store into memory. Recent articles'
   bands wait in a small pending log first, and lookups in the big table are skipped when
   a Bloom filter says the key is not there (see "Where the bands live" below).
4. Candidates are verified on the stored texts, exactly: *near* when the Jaccard similarity
   of the shingle sets is at least :data:`NEAR_THRESHOLD`; *containment* when the shorter
   text is a copy of the beginning of the longer (a teaser, a truncated copy) at
   :data:`CONTAINMENT_THRESHOLD` or more.
5. The article joins the cluster of every verified match; when it matches two clusters they
   merge. The cluster id is the hash of the member with the smallest ``(first_seen, hash)``,
   so it does not depend on the order in which a run's articles were added: the clusters
   are the connected components of the verified pairs.

Tables (created by :func:`create_tables`; ``articles`` belongs to the store):

``neardup_docs``     one row per merged article: its integer id in the band table, its hash
``neardup_bands``    (key, doc): the LSH bands, merged and indexed
``neardup_pending``  (doc, keys, hash): recent articles and their bands, not merged yet
``neardup_filter``   a Bloom filter over the keys of ``neardup_bands`` and the hashes of
                     ``neardup_docs``, in 1 MB chunks
``neardup_links``    (article, matched, similarity, kind): why an article joined a cluster
``neardup_meta``     the parameters the signatures were made with, the filter's size, and
                     a generation number that changes when pending rows are merged or removed
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import os
import re
import sqlite3
import struct
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import rensa
import sqlite_utils

from newsmill.dbutil import atomic
from newsmill.errors import StoreError
from newsmill.fingerprint import NORMALIZATION_VERSION, content_hash, normalize_for_hash

logger = logging.getLogger(__name__)

# -- Parameters, chosen by measurement -----------------------------------------------------
#
# Measured with bench/neardup.py on the 181 pages of the Zyte article-extraction benchmark
# (ground-truth texts), 8 republished variants of each and every other article as a
# negative; the full tables are in docs/neardup.md. At these defaults: recall 0.996 on the
# 1,261 full-text variants, 0.961 on teasers, pair precision 1.000, the five seed stories
# five clusters.

# 5-word shingles. k=4 and k=5 tie on the variants (every full-text variant verifies at
# J >= 0.4 with either); k=5 lowers the overlap of *different* stories about the same event
# (the five seed stories: max J 0.037 at k=5, 0.044 at k=4, 0.064 at k=3) and of
# different articles sharing a site's boilerplate. k=7 starts to hurt typo fixes (min J of
# the typo variants 0.85 at k=5, 0.79 at k=7).
SHINGLE_SIZE = 5

# 16 bands x 4 rows = 64 permutations. Candidate probability 1-(1-J^4)^16: 0.35 at J=0.4,
# 0.65 at J=0.5, 0.89 at J=0.6, 0.99 at J=0.7. Measured candidate recall on the full-text
# variants: 0.994, as theory says (10 seeds; 0.996 with the lead bands). 20x4 gains 0.002
# for 25% more rows; 14x5 loses 0.009; datasketch's own banding for a 0.8 threshold (9 bands
# x 13 rows of 128) finds 0.84. Unrelated articles (J < 0.15 here) collide with probability < 1e-5.
BANDS = 16
ROWS = 4

# The lead: shingles of the first 30 tokens, 4 bands x 3 rows. A teaser (two paragraphs and
# "Read more") shares its lead with the full story; its Jaccard to the full text is ~0.12
# (median), far below anything the main bands find. Measured teaser candidate recall: 0.95
# with 30 tokens, 0.89 with 50, 0.78 with 80 (a longer lead runs past short teasers).
LEAD_TOKENS = 30
LEAD_BANDS = 4
LEAD_ROWS = 3

# Verification. Exact Jaccard of full-text variants to their original: min 0.41, 5th
# percentile 0.58-0.92 by kind (the paragraph-dropped/added/mixed kinds of short articles
# are the low ones); the most similar pair of *different* stories: 0.21 (two short
# articles wrapped in the same site's boilerplate). Jaccard alone at 0.5 gives recall 0.995
# (0.990 at 0.6, 0.905 at 0.8), with containment 0.996; 0.4 gains 0.002 but sits where
# the bands find only a third of the pairs anyway. Precision is 1.000 at every threshold
# from 0.2 to 0.9 on this set: 0.5 keeps a wide margin above 0.21 for harder negatives.
NEAR_THRESHOLD = 0.5

# Share of the shorter text's shingles found in the beginning of the longer text (its
# first len(shorter) + PREFIX_SLACK tokens). Teasers: median 0.97, 5th percentile 0.89;
# different stories: at most 0.59 (an added paragraph borrowed from the other story).
# Teaser recall by threshold: 0.967 at 0.7, 0.961 at 0.8, 0.939 at 0.9, 0.707 at 0.95;
# 0.8 keeps the margin above 0.59. Restricting it to the beginning keeps a digest page
# that quotes the openings of five stories from linking (and so merging) all five.
CONTAINMENT_THRESHOLD = 0.8
PREFIX_SLACK = 40

# Texts with fewer shingles than this are not indexed: one shared sentence would already
# make them "near-duplicates". A containment needs at least MIN_CONTAINED shingles in the
# shorter text (a teaser of about 20 words).
MIN_SHINGLES = 10
MIN_CONTAINED = 15

# Bounds on the work one check may do. Candidates are grouped by cluster and tried best
# first (most shared bands); one verified match per cluster is enough to join it.
MAX_CANDIDATES = 200
MAX_VERIFY_PER_CLUSTER = 16
# Stored articles whose tokens and shingles a process keeps for verification: at most
# STORED_SKETCHES of them, and at most STORED_SKETCH_CHARS characters of text between them.
# Tokens and shingles take ~50 bytes a character (300 KB for a 1,000-word article): 128
# articles of the extraction benchmark held ~40 MB, filled slowly as near-duplicates were
# verified, so a long ingest's writer grew by that much. The budget is ~10 MB: a cluster's
# members are verified against (MAX_VERIFY_PER_CLUSTER) and fit in it many times over.
STORED_SKETCHES = 128
STORED_SKETCH_CHARS = 200_000

SEED = 20251214
LEAD_SEED = SEED + 1

# Bumped when tokens, shingles or band keys change: the stored bands must then be rebuilt.
INDEX_VERSION = 1

Kind = Literal["near", "containment"]

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|(?:(?![{_CJK}])\w)+")

# -- Where the bands live --------------------------------------------------------------------
#
# A band key is a random number, so inserting an article's 20 keys into one big B-tree
# touches 20 random leaf pages. At a million articles (a 330 MB band table) on a machine
# that has not kept the file in its page cache (after a reboot, or an idle night), each is a
# disk read: 2.2 ms a check instead of 0.5 (bench/neardup_scale.py). So:
#
# * new band rows go to ``neardup_pending``, an append-only log of one row per article that
#   every process also holds in memory, and are merged into the indexed ``neardup_bands``
#   table in one sorted pass once MERGE_AT articles are pending;
# * lookups in ``neardup_bands`` go through a Bloom filter over its keys (``neardup_filter``,
#   read once per process, 1.5 bytes per key): a new article's keys are nearly all absent
#   from the table, and the filter says so without a disk read;
# * the same goes for the article itself: a pending article has no ``neardup_docs`` row (its
#   hash is in its pending row), and the filter also holds the hashes of the merged
#   articles. "Is this article indexed already?" and adding it then touch no random page of
#   the 85 MB hash index of ``neardup_docs``, which at a million articles cost one disk read
#   per check (0.15-0.2 ms). The merge inserts the pending articles' rows, in hash order;
# * a republished copy of a merged article shares ~15 keys with it, 15 random leaves: the
#   filter also marks the keys that several merged articles hold (:func:`shared_key`), so
#   once one key has named the original, its other keys are counted from its text, which
#   verification reads anyway (:meth:`NearDupIndex._merged_hits`): one cold lookup (0.24 ms)
#   instead of one for all its keys (1.56 ms, 20 random pages).
#
# MERGE_AT: a merge rewrites most leaves of the band table whatever its size (20,000
# articles bring 400,000 keys, more than the table's leaves at a million articles), so its
# cost is paid once per MERGE_AT articles: ~0.25 ms an article at a million (5.2 s, of which
# 1.5 s inserting the articles' neardup_docs rows). 20,000 pending articles cost 40 MB of
# memory when a process reads them at once (16 MB of it the set of their keys), 80 MB when
# it added them itself.
MERGE_AT = 20_000
# Bloom filter: 6 probes, FILTER_BITS_PER_KEY bits per key when it is (re)built, rebuilt
# when the table has grown by half (8 bits per key): false positives 0.4% to 2.2% of the
# absent keys (measured on 2 M random keys; 3 probes gave 1.1% to 3.1%), i.e. 0.07 to 0.4
# needless lookups per check, each a cold disk read at a million articles (~0.2 ms). An
# absent key costs ~1.6 probes whatever their number (the test stops at the first zero
# bit). The filter is read whole when a process first checks an article (32 MB at a million
# articles, ~80 ms from a cold disk); 20 bits per key would save 0.05 lookups per check
# and cost 50 ms more to read.
FILTER_HASHES = (
    0x9E3779B97F4A7C15,
    0xC2B2AE3D27D4EB4F,
    0x165667B19E3779F9,
    0x27D4EB2F165667C5,
    0xFF51AFD7ED558CCD,
    0xC4CEB9FE1A85EC53,
)
FILTER_BITS_PER_KEY = 12
FILTER_FULL_BITS_PER_KEY = 8
FILTER_MIN_BYTES = 1 << 20
FILTER_CHUNK = 1 << 20  # bytes per stored row of neardup_filter
# Reading the filter's pages ahead of SQLite (NearDupIndex._prefetch): the 32.6 MB filter of
# the 1 M bench store (261 runs of pages) from a cold disk took 50-59 ms in one thread,
# 34-36 ms in two and 31-32 ms in four (the disk serves several requests at once).
PREFETCH_THREADS = 4
PREFETCH_PARALLEL_BYTES = 4 << 20
_MASK64 = (1 << 64) - 1


# What the filter holds besides the band keys, and its probes. Bumped when they change: a
# filter of another version is built again from the tables on first use (a full scan, 16 s
# at a million articles). 2: the merged articles' hashes, the shared marks, 6 probes.
FILTER_VERSION = 2
_SHARED_TAG = 0x5BD1E9955BD1E995


def doc_key(article_hash: str) -> int:
    """The filter key that stands for an article (its hash hashed to 48 bits, like a band)."""
    digest = hashlib.blake2b(article_hash.encode(), digest_size=8, person=b"newsmill-doc")
    return int.from_bytes(digest.digest(), "little", signed=True) >> 16


def shared_key(key: int) -> int:
    """The filter key that marks a band key as held by more than one merged article."""
    return key ^ _SHARED_TAG


class BloomFilter:
    """A Bloom filter over 48-bit band keys (already random: each probe is a multiply)."""

    def __init__(self, data: bytearray, keys: int = 0) -> None:
        self.data = data
        self.nbits = len(data) * 8
        self.keys = keys  # keys added (deletions are not subtracted)
        self.dirty: set[int] = set()  # chunks changed since the last save

    @classmethod
    def sized_for(cls, keys: int) -> BloomFilter:
        nbytes = max(FILTER_MIN_BYTES, keys * FILTER_BITS_PER_KEY // 8)
        nbytes = -(-nbytes // FILTER_CHUNK) * FILTER_CHUNK
        return cls(bytearray(nbytes))

    @property
    def capacity(self) -> int:
        return self.nbits // FILTER_FULL_BITS_PER_KEY

    def _positions(self, key: int) -> list[int]:
        k = key & _MASK64
        return [(((k * m) & _MASK64) >> 11) % self.nbits for m in FILTER_HASHES]

    def __contains__(self, key: int) -> bool:
        k, data, nbits = key & _MASK64, self.data, self.nbits
        for m in FILTER_HASHES:
            p = (((k * m) & _MASK64) >> 11) % nbits
            if not data[p >> 3] >> (p & 7) & 1:
                return False
        return True

    def add(self, key: int) -> None:
        for p in self._positions(key):
            self.data[p >> 3] |= 1 << (p & 7)
            self.dirty.add((p >> 3) // FILTER_CHUNK)
        self.keys += 1

    def contains_many(self, keys: Sequence[int]) -> list[bool]:
        """``[key in self for key in keys]``, vectorized."""
        return self.contains_array(keys).tolist() if len(keys) else []

    def contains_array(self, keys: Any) -> Any:
        """A numpy bool array: which of ``keys`` (a sequence or an int64 array) may be in."""
        import numpy as np

        values = np.asarray(keys, dtype=np.int64).view(np.uint64)
        arr = np.frombuffer(self.data, dtype=np.uint8)
        found = np.ones(len(values), dtype=bool)
        with np.errstate(over="ignore"):
            for m in FILTER_HASHES:
                pos = ((values * np.uint64(m)) >> np.uint64(11)) % np.uint64(self.nbits)
                bits = arr[(pos >> np.uint64(3)).astype(np.int64)] >> (pos & np.uint64(7))
                found &= (bits & 1).astype(bool)
        return found

    def add_many(self, keys: Sequence[int]) -> None:
        """Add many keys at once (vectorized: a rebuild adds millions)."""
        if len(keys) < 10_000:
            for key in keys:
                self.add(int(key))
            return
        import numpy as np

        values = np.asarray(keys, dtype=np.int64).view(np.uint64)
        arr = np.frombuffer(self.data, dtype=np.uint8)
        dirty = np.zeros(-(-len(arr) // FILTER_CHUNK), dtype=bool)
        with np.errstate(over="ignore"):
            for m in FILTER_HASHES:
                pos = ((values * np.uint64(m)) >> np.uint64(11)) % np.uint64(self.nbits)
                byte = (pos >> np.uint64(3)).astype(np.int64)
                bit = (pos & np.uint64(7)).astype(np.uint8)
                # One bit value at a time: a byte listed twice gets the same value twice, so
                # plain fancy indexing is exact (and faster than np.bitwise_or.at).
                for b in range(8):
                    chosen = byte[bit == b]
                    arr[chosen] |= np.uint8(1 << b)
                dirty[byte // FILTER_CHUNK] = True
        self.dirty.update(np.flatnonzero(dirty).tolist())
        self.keys += len(keys)


def params() -> dict[str, Any]:
    """Everything the stored bands depend on; a change means :meth:`NearDupIndex.rebuild`."""
    return {
        "index_version": INDEX_VERSION,
        "normalization": NORMALIZATION_VERSION,
        "minhash": f"rensa.RMinHash/{rensa.RMinHash.ALGORITHM_VERSION}",
        "shingle_size": SHINGLE_SIZE,
        "bands": BANDS,
        "rows": ROWS,
        "lead_tokens": LEAD_TOKENS,
        "lead_bands": LEAD_BANDS,
        "lead_rows": LEAD_ROWS,
        "seed": SEED,
    }


# Descriptors opened to read a database file ahead of SQLite, by (device, inode), never
# closed. Closing *any* descriptor of a file drops every POSIX lock the process holds on it,
# SQLite's included ("How To Corrupt An SQLite Database File", 2.2): another process then
# believes it holds the last connection, checkpoints and deletes the WAL, and the commits
# this process makes afterwards are lost. One descriptor per database file per process,
# released at exit.
_READ_AHEAD_FILES: dict[tuple[int, int], int] = {}
_READ_AHEAD_LOCK = threading.Lock()


def _read_only_descriptor(path: str) -> int | None:
    try:
        info = Path(path).stat()
    except OSError:
        return None
    key = (info.st_dev, info.st_ino)
    with _READ_AHEAD_LOCK:
        fd = _READ_AHEAD_FILES.get(key)
        if fd is None:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                return None
            _READ_AHEAD_FILES[key] = fd
    return fd


# -- Text to sketch ------------------------------------------------------------------------


def tokens(text: str) -> list[str]:
    """The tokens near-duplicate detection compares (normalized as the content hash is)."""
    return _TOKEN.findall(normalize_for_hash(text))


def shingles(toks: Sequence[str], size: int = SHINGLE_SIZE) -> set[str]:
    """Runs of ``size`` tokens; a text shorter than that is a single shingle."""
    if len(toks) < size:
        return {" ".join(toks)} if toks else set()
    # zip of shifted views (it stops at the shortest): the same shingles as joining each
    # slice, in 75% of the time
    return set(map(" ".join, zip(*(toks[i:] for i in range(size)), strict=False)))


def minhash(items: Iterable[str], num_perm: int, seed: int) -> list[int]:
    """A MinHash signature of ``items`` (rensa's R-MinHash; order and repeats don't matter).

    rensa rather than datasketch (bench/neardup.py --compare-libraries): the same accuracy
    (mean |estimate - J| 0.024 vs 0.025, 16x4 band recall 0.994 for both over 10 seeds) at
    18 us instead of 540 us per article, which is what rebuilding a million-article index
    spends its time on.
    """
    sketch = rensa.RMinHash(num_perm=num_perm, seed=seed)
    sketch.update(list(items))
    return list(sketch.digest())


class Sketch:
    """A text prepared for the index: its band keys, and its tokens and shingles.

    The band keys are what a lookup needs; tokens and shingles are needed only to verify
    candidates, so a sketch made from keys computed elsewhere (:meth:`from_keys`, e.g. in an
    extraction worker) computes them when first asked, which for most articles is never.
    """

    __slots__ = ("_shingles", "_tokens", "keys", "shingle_count", "text")

    def __init__(
        self,
        text: str,
        keys: list[int],
        shingle_count: int,
        toks: list[str] | None = None,
        sh: set[str] | None = None,
    ) -> None:
        self.text = text
        self.keys = keys
        self.shingle_count = shingle_count
        self._tokens = toks
        self._shingles = sh

    @classmethod
    def of(cls, text: str) -> Sketch:
        toks = tokens(text)
        sh = shingles(toks)
        if len(sh) < MIN_SHINGLES:
            return cls(text, [], len(sh), toks, sh)
        main = minhash(sh, BANDS * ROWS, SEED)
        lead = minhash(shingles(toks[:LEAD_TOKENS]), LEAD_BANDS * LEAD_ROWS, LEAD_SEED)
        return cls(text, band_keys(main, lead), len(sh), toks, sh)

    @classmethod
    def from_keys(cls, text: str, keys: Sequence[int], shingle_count: int) -> Sketch:
        """A sketch of ``text`` whose band keys were computed by :meth:`of` elsewhere."""
        return cls(text, list(keys), shingle_count)

    @property
    def tokens(self) -> list[str]:
        if self._tokens is None:
            self._tokens = tokens(self.text)
        return self._tokens

    @property
    def shingles(self) -> set[str]:
        if self._shingles is None:
            self._shingles = shingles(self.tokens)
        return self._shingles

    @property
    def indexable(self) -> bool:
        return bool(self.keys)


def band_keys(main: Sequence[int], lead: Sequence[int]) -> list[int]:
    """One signed 48-bit integer per band: a hash of the band's number and values.

    48 bits fit SQLite's 6-byte integer encoding; at 20 million rows a random collision
    between different bands happens once in ~10^7 lookups, and verification discards it.
    """
    keys = []
    for band, values in enumerate(
        [main[i * ROWS : (i + 1) * ROWS] for i in range(BANDS)]
        + [lead[i * LEAD_ROWS : (i + 1) * LEAD_ROWS] for i in range(LEAD_BANDS)]
    ):
        digest = hashlib.blake2b(
            struct.pack(f"<H{len(values)}I", band, *values), digest_size=8
        ).digest()
        keys.append(int.from_bytes(digest, "little", signed=True) >> 16)
    return keys


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: Kind
    similarity: float


def compare(
    a: Sketch | Sequence[str],
    b: Sketch | Sequence[str],
    *,
    near_threshold: float = NEAR_THRESHOLD,
    containment_threshold: float = CONTAINMENT_THRESHOLD,
) -> Verdict | None:
    """Whether two texts (sketches or token lists) are near-duplicates, and how.

    Symmetric: ``compare(a, b)`` and ``compare(b, a)`` agree, which is what makes the
    clusters independent of the order of insertion.
    """
    ta = a.tokens if isinstance(a, Sketch) else list(a)
    tb = b.tokens if isinstance(b, Sketch) else list(b)
    sa = a.shingles if isinstance(a, Sketch) else shingles(ta)
    sb = b.shingles if isinstance(b, Sketch) else shingles(tb)
    if not sa or not sb:
        return None
    inter = len(sa & sb)
    jaccard = inter / (len(sa) + len(sb) - inter)
    if jaccard >= near_threshold:
        return Verdict("near", jaccard)
    best = 0.0
    for small_t, small_s, large_t in ((ta, sa, tb), (tb, sb, ta)):
        if len(small_t) > len(large_t) or len(small_s) < MIN_CONTAINED:
            continue
        # The shingles of the larger text's start are some of its shingles, so no more of
        # the smaller text's are among them than among all of them: when even those are
        # too few, the start need not be read (most candidate pairs end here).
        if inter < containment_threshold * len(small_s):
            continue
        prefix = shingles(large_t[: len(small_t) + PREFIX_SLACK])
        best = max(best, len(small_s & prefix) / len(small_s))
    if best >= containment_threshold:
        return Verdict("containment", best)
    return None


# -- Schema --------------------------------------------------------------------------------


def create_tables(db: sqlite_utils.Database) -> None:
    """Create the index tables (idempotent). ``articles`` must have a ``cluster`` column."""
    db.executescript(
        """
        create table if not exists neardup_docs (
            id integer primary key,
            hash text not null unique,
            shingles integer not null
        );
        create table if not exists neardup_bands (
            key integer not null,
            doc integer not null,
            primary key (key, doc)
        ) without rowid;
        create table if not exists neardup_links (
            article text not null,
            matched text not null,
            similarity real not null,
            kind text not null check (kind in ('near', 'containment')),
            primary key (article, matched)
        );
        create index if not exists neardup_links_matched on neardup_links (matched);
        create table if not exists neardup_meta (
            key text primary key,
            value text not null
        );
        create table if not exists neardup_pending (
            doc integer primary key,
            keys blob not null,
            hash text,
            shingles integer
        );
        create table if not exists neardup_filter (
            chunk integer primary key,
            bits blob not null
        );
        """
    )
    # Stores made before pending articles carried their hash (their pending rows have a
    # neardup_docs row, and NULL here). ADD COLUMN does not rewrite the table.
    have = {row[1] for row in db.execute("pragma table_info(neardup_pending)")}
    for name, kind in (("hash", "text"), ("shingles", "integer")):
        if name not in have:
            try:
                db.execute(f"alter table neardup_pending add column {name} {kind}")
            except sqlite3.OperationalError as exc:  # another process was first
                if "duplicate column" not in str(exc):
                    raise
    if db["articles"].exists():
        # The name sqlite-utils gives the index m001 creates: never a second copy of it.
        db.execute("create index if not exists idx_articles_cluster on articles (cluster)")


class StaleIndex(StoreError):
    """The stored bands were made with other parameters; :meth:`NearDupIndex.rebuild`."""


# -- The index -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Match:
    """Why an article joined a cluster: the stored article it matched, and how closely."""

    article: str
    matched: str
    similarity: float
    kind: Kind
    cluster: str


@dataclass(frozen=True, slots=True)
class Cluster:
    id: str
    size: int
    sites: list[str]
    first_seen: str
    last_seen: str


@dataclass(frozen=True, slots=True)
class _Candidate:
    doc: int
    hash: str
    cluster: str
    hits: int
    sketch: Sketch | None = None  # when it was read already (see _merged_hits)


class NearDupIndex:
    """Near-duplicate links and clusters over the ``articles`` table of ``db``.

    Writes happen in the caller's transaction when there is one (a savepoint), so the
    pipeline can insert an article and link it atomically. Raises :class:`StaleIndex` when
    the stored bands were made with other parameters, unless ``check_params`` is False
    (only to call :meth:`rebuild`).
    """

    def __init__(
        self,
        db: sqlite_utils.Database,
        *,
        near_threshold: float = NEAR_THRESHOLD,
        containment_threshold: float = CONTAINMENT_THRESHOLD,
        check_params: bool = True,
    ) -> None:
        self.db = db
        self.near_threshold = near_threshold
        self.containment_threshold = containment_threshold
        self._bands: _LoadedBands | None = None
        self._stored: collections.OrderedDict[str, Sketch] = collections.OrderedDict()
        self._stored_chars = 0  # of the texts in _stored
        create_tables(db)
        if check_params:
            self._check_params()

    def _check_params(self) -> None:
        row = self.db.execute("select value from neardup_meta where key = 'params'").fetchone()
        current = params()
        if row and json.loads(row[0]) == current:
            return
        indexed = (
            "select exists (select 1 from neardup_docs) or exists (select 1 from neardup_pending)"
        )
        if row and self.db.execute(indexed).fetchone()[0]:
            raise StaleIndex(
                "the near-duplicate index was built with other parameters than this version "
                f"of newsmill uses ({row[0]}); rebuild it with `newsmill dups --rebuild`"
            )
        with atomic(self.db.conn):
            self.db.execute(
                "insert or replace into neardup_meta (key, value) values ('params', ?)",
                [json.dumps(current, sort_keys=True)],
            )

    # -- adding --------------------------------------------------------------------------

    def add(
        self, article_hash: str, text: str, first_seen: str, *, sketch: Sketch | None = None
    ) -> Match | None:
        """Index a new article and link it to the clusters it near-duplicates.

        The ``articles`` row must already exist. Returns the best link made, or None when
        the article is unique (or too short to judge). Adding an indexed article again
        changes nothing and returns its recorded link.
        """
        with atomic(self.db.conn):
            bands = self._sync()
            if self._doc_of(article_hash, bands) is not None:
                return self.match_of(article_hash)
            if sketch is None or sketch.text != text:
                sketch = Sketch.of(text)
            if not sketch.indexable:
                return None
            return self._index(article_hash, sketch, first_seen, bands)

    def _index(
        self,
        article_hash: str,
        sketch: Sketch,
        first_seen: str,
        bands: _LoadedBands,
        *,
        own_cluster: str | None = None,
    ) -> Match | None:
        """Index an indexable ``sketch`` under ``article_hash``, link it to the clusters it
        near-duplicates (besides ``own_cluster``), and merge the pending log when full."""
        doc = self._insert_doc(article_hash, sketch, bands)
        match = self._link(article_hash, sketch, first_seen, exclude=doc, own_cluster=own_cluster)
        if len(bands) >= MERGE_AT:
            self.merge_pending()
        return match

    def _insert_doc(self, article_hash: str, sketch: Sketch, bands: _LoadedBands) -> int:
        """Put ``sketch``'s keys in the pending log under ``article_hash`` (the caller merges
        the log when it is full). Returns the article's doc id."""
        # A new id after every merged and pending one (the last page of each table),
        # and after the pending ones this process has seen (not one it just removed).
        (doc,) = self.db.execute(
            "select max(coalesce((select max(id) from neardup_docs), 0), "
            "coalesce((select max(doc) from neardup_pending), 0), ?) + 1",
            [bands.upto],
        ).fetchone()
        self.db.execute(
            "insert into neardup_pending (doc, keys, hash, shingles) values (?, ?, ?, ?)",
            [doc, _pack(sketch.keys), article_hash, sketch.shingle_count],
        )
        bands.add_pending(doc, sketch.keys, article_hash)
        return int(doc)

    def _link(
        self,
        article_hash: str,
        sketch: Sketch,
        first_seen: str,
        *,
        exclude: int,
        within: set[str] | None = None,
        own_cluster: str | None = None,
    ) -> Match | None:
        """Verify the candidates of ``sketch``, record links and merge clusters.

        ``own_cluster``: the cluster the article is already in (its candidates there need
        no verifying; a link to another cluster merges the two)."""
        by_cluster: dict[str, list[_Candidate]] = {}
        for cand in self._candidates(sketch.keys, exclude=exclude):
            if (within is None or cand.hash in within) and cand.cluster != own_cluster:
                by_cluster.setdefault(cand.cluster, []).append(cand)
        matches: list[Match] = []
        for cluster, cands in sorted(by_cluster.items()):
            for cand in cands[:MAX_VERIFY_PER_CLUSTER]:
                other = cand.sketch or self._stored_sketch(cand.hash)
                if other is None:
                    continue
                verdict = self._verify(sketch, other)
                if verdict:
                    matches.append(
                        Match(article_hash, cand.hash, verdict.similarity, verdict.kind, cluster)
                    )
                    break
        if not matches:
            return None
        self.db.conn.executemany(
            "insert or replace into neardup_links (article, matched, similarity, kind) "
            "values (?, ?, ?, ?)",
            [(m.article, m.matched, m.similarity, m.kind) for m in matches],
        )
        clusters = [m.cluster for m in matches] + ([own_cluster] if own_cluster else [])
        new_id = self._merge(clusters, article_hash, first_seen)
        best = max(matches, key=lambda m: (m.similarity, m.kind == "near", m.matched))
        return Match(best.article, best.matched, best.similarity, best.kind, new_id)

    def _verify(self, sketch: Sketch, other: Sketch | list[str]) -> Verdict | None:
        """:func:`compare` at this index's thresholds, the similarity rounded as stored."""
        verdict = compare(
            sketch,
            other,
            near_threshold=self.near_threshold,
            containment_threshold=self.containment_threshold,
        )
        return Verdict(verdict.kind, round(verdict.similarity, 4)) if verdict else None

    def _candidates(self, keys: list[int], *, exclude: int) -> list[_Candidate]:
        """The indexed articles sharing at least one band with ``keys``, most bands first.

        Callers read the band store first (:meth:`_sync`, in the same transaction).
        """
        bands = self._bands or self._sync()
        hits = bands.hits(keys, exclude=exclude)
        known: dict[int, tuple[str, str, Sketch]] = {}
        merged = [key for key in keys if key in bands.filter]
        if merged:
            for doc, n in self._merged_hits(merged, exclude, bands.filter, known).items():
                hits[doc] = hits.get(doc, 0) + n
        if not hits:
            return []
        # A band shared by thousands (pages that are nothing but one site's boilerplate):
        # keep the docs sharing the most bands before asking for their hashes.
        docs = sorted(hits, key=lambda d: -hits[d])[: MAX_CANDIDATES * 20]
        # Pending articles' hashes are in memory; merged ones are in neardup_docs.
        pending = {bands.hashes[d]: d for d in docs if d in bands.hashes}
        merged_docs = [d for d in docs if d not in bands.hashes and d not in known]
        found = [(d, known[d][0], known[d][1]) for d in docs if d in known]
        hashes = list(pending)
        for start in range(0, len(hashes), 500):
            chunk = hashes[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found += [
                (pending[h], h, cluster)
                for h, cluster in self.db.execute(
                    f"select hash, coalesce(cluster, hash) from articles where hash in ({marks})",
                    chunk,
                )
            ]
        for start in range(0, len(merged_docs), 500):
            chunk = merged_docs[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found += self.db.execute(
                f"""
                select d.id, d.hash, coalesce(a.cluster, a.hash) from neardup_docs d
                join articles a on a.hash = d.hash where d.id in ({marks})
                """,
                chunk,
            ).fetchall()
        found.sort(key=lambda row: (-hits[row[0]], row[1]))
        return [
            _Candidate(doc, h, cluster, hits[doc], known[doc][2] if doc in known else None)
            for doc, h, cluster in found
        ][:MAX_CANDIDATES]

    def _merged_hits(
        self,
        keys: list[int],
        exclude: int,
        bloom: BloomFilter,
        known: dict[int, tuple[str, str, Sketch]],
    ) -> dict[int, int]:
        """``{doc: keys shared}`` over ``neardup_bands`` for ``keys`` (the ones the filter
        says may be there), reading as few random pages as it can.

        A republished copy of a merged article shares most of its 20 keys with it, and each
        key is a random leaf of the band table: 15 disk reads on a cold cache. So the keys
        are looked up one at a time until one is found; the article(s) it names (one or two)
        are read (``known``: hash, cluster and sketch, which verification needs anyway), and
        a key of theirs that the filter does not mark as shared by several merged articles
        (:func:`shared_key`, no false negatives) has no other row: it is counted without a
        lookup. The rest go in one query. The result is what one query over every key
        gives.
        """
        found: dict[int, int] = {}
        owner: dict[int, int] = {}  # key -> a known article that has it
        rest = list(keys)
        while rest and not owner:
            key = rest.pop(0)
            docs = [
                doc
                for (doc,) in self.db.execute(
                    "select doc from neardup_bands where key = ? and doc != ?", [key, exclude]
                )
            ]
            for doc in docs:
                found[doc] = found.get(doc, 0) + 1
            if len(docs) > 2:
                break  # a band many articles share: no reading of texts, one query for all
            for doc in docs:
                row = self.db.execute(
                    "select d.hash, a.text, coalesce(a.cluster, a.hash) from neardup_docs d "
                    "join articles a on a.hash = d.hash where d.id = ?",
                    [doc],
                ).fetchone()
                if row is None:
                    continue
                sketch = Sketch.of(row[1])
                known[doc] = (row[0], row[2], sketch)
                for k in sketch.keys:
                    owner[k] = doc
        lookup = []
        for key in rest:
            doc = owner.get(key)
            if doc is not None and shared_key(key) not in bloom:
                found[doc] = found.get(doc, 0) + 1
            else:
                lookup.append(key)
        if lookup:
            marks = ",".join("?" * len(lookup))
            for doc, n in self.db.execute(
                f"select doc, count(*) from neardup_bands where key in ({marks}) and doc != ? "
                "group by doc",
                [*lookup, exclude],
            ):
                found[doc] = found.get(doc, 0) + n
        return found

    # -- the band store (see "Where the bands live" at the top) -----------------------------

    def _sync(self) -> _LoadedBands:
        """The band store as this process knows it, brought up to date with the database.

        Other processes may have added pending rows (appended: read the new ones), merged
        or removed some (the generation changed: read everything again).
        """
        generation = self._generation()
        bands = self._bands
        query = "select doc, keys, hash from neardup_pending where doc > ? order by doc"
        if bands is None or bands.generation != generation:
            bands = self._bands = _LoadedBands(generation, self._load_filter())
            bands.load(self.db.execute(query, [0]).fetchall())
        else:
            for doc, packed, article_hash in self.db.execute(query, [bands.upto]):
                bands.add_pending(doc, _unpack(packed), article_hash)
        return bands

    def _doc_of(self, article_hash: str, bands: _LoadedBands) -> int | None:
        """The id of ``article_hash`` in the band store, None when it is not indexed."""
        doc = bands.doc_by_hash.get(article_hash)
        if doc is not None:
            return doc
        if doc_key(article_hash) not in bands.filter:
            return None  # not merged (no false negatives), and not pending
        row = self.db.execute(
            "select id from neardup_docs where hash = ?", [article_hash]
        ).fetchone()
        return row[0] if row else None

    def _generation(self) -> int:
        row = self.db.execute("select value from neardup_meta where key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def _bump_generation(self, keep: _LoadedBands | None = None) -> None:
        """Tell other processes to read the band store again. ``keep``: this process's
        state, already updated by the caller, stays valid (no reload here)."""
        generation = self._generation() + 1
        self.db.execute(
            "insert or replace into neardup_meta (key, value) values ('generation', ?)",
            [str(generation)],
        )
        if keep is not None:
            keep.generation = generation
        self._bands = keep

    def _load_filter(self) -> BloomFilter:
        row = self.db.execute("select value from neardup_meta where key = 'filter'").fetchone()
        if row is None:
            return self._build_filter()
        meta = json.loads(row[0])
        if meta.get("version") != FILTER_VERSION:
            # Made by an earlier version: without the merged articles' hashes and the
            # marks of shared keys. Built again, once.
            return self._build_filter()
        self._prefetch(meta.get("pages", []))
        data = bytearray(meta["bits"] // 8)
        size = 0
        for (chunk,) in self.db.execute("select bits from neardup_filter order by chunk"):
            data[size : size + len(chunk)] = chunk
            size += len(chunk)
        if size * 8 != meta["bits"]:
            return self._build_filter()
        return BloomFilter(data, meta["keys"])

    def _add_docs(self, bloom: BloomFilter, query: str) -> None:
        """Add the hashes ``query`` selects to ``bloom``, a million at a time."""
        cursor = self.db.execute(query)
        while rows := cursor.fetchmany(1_000_000):
            bloom.add_many([doc_key(h) for (h,) in rows])

    def _build_filter(self) -> BloomFilter:
        """A filter over every key of ``neardup_bands`` (and :func:`shared_key` for each key
        held by several articles) and every hash of ``neardup_docs``, saved (a full scan of
        both tables).

        Sized by rows: a key held by two articles takes one slot and its mark the other.
        """
        import numpy as np

        (count,) = self.db.execute("select count(*) from neardup_bands").fetchone()
        (docs,) = self.db.execute("select count(*) from neardup_docs").fetchone()
        bloom = BloomFilter.sized_for(count + docs)
        cursor = self.db.execute("select key from neardup_bands order by key")
        previous: int | None = None
        while rows := cursor.fetchmany(1_000_000):
            batch = np.fromiter((key for (key,) in rows), dtype=np.int64, count=len(rows))
            bloom.add_many(batch)
            repeated = batch[1:][batch[1:] == batch[:-1]].tolist()
            if previous is not None and batch[0] == previous:
                repeated.append(previous)
            bloom.add_many([shared_key(key) for key in set(repeated)])
            previous = int(batch[-1])
        self._add_docs(bloom, "select hash from neardup_docs")
        self.db.execute("delete from neardup_filter")
        bloom.dirty = set(range(len(bloom.data) // FILTER_CHUNK))
        self._save_filter(bloom)
        return bloom

    def _save_filter(self, bloom: BloomFilter) -> None:
        self.db.conn.executemany(
            "insert or replace into neardup_filter (chunk, bits) values (?, ?)",
            [
                (i, bytes(bloom.data[i * FILTER_CHUNK : (i + 1) * FILTER_CHUNK]))
                for i in sorted(bloom.dirty)
            ],
        )
        meta = {
            "bits": bloom.nbits,
            "keys": bloom.keys,
            "version": FILTER_VERSION,
            "pages": self._pages(),
        }
        self.db.execute(
            "insert or replace into neardup_meta (key, value) values ('filter', ?)",
            [json.dumps(meta, separators=(",", ":"))],
        )
        bloom.dirty.clear()

    def _pages(self) -> list[list[int]]:
        """Where the filter's pages are in the database file: runs of [first page, count],
        in file order (empty when SQLite has no dbstat table).

        SQLite stores a 1 MB chunk as a chain of 4 KB overflow pages, and a chunk rewritten
        takes pages from the free list, which leaves the chain in no useful order (at a
        million articles: 2,500-4,400 runs, mostly backwards, so the kernel's read-ahead
        never starts). Read in chain order from a cold disk the 32.6 MB took 0.3-0.4 s;
        read first in file order (:meth:`_prefetch`), 31-45 ms, then 13-30 ms through
        SQLite.
        Right after the filter is written its pages are in the cache: this walk takes
        ~30 ms at a million articles.
        """
        try:
            pages = sorted(
                page
                for (page,) in self.db.execute(
                    "select pageno from dbstat where name = 'neardup_filter'"
                )
            )
        except sqlite3.OperationalError:
            return []
        runs: list[list[int]] = []
        for page in pages:
            if runs and runs[-1][0] + runs[-1][1] == page:
                runs[-1][1] += 1
            else:
                runs.append([page, 1])
        return runs

    def _prefetch(self, runs: list[list[int]]) -> None:
        """Read the filter's pages into the OS page cache in file order, so SQLite then
        reads them from memory. Only a hint: a stale or missing list costs time, not
        correctness (the pages of uncheckpointed commits are in the WAL file anyway)."""
        if not runs:
            return
        path = next(
            (f for _, name, f in self.db.execute("pragma database_list") if name == "main"), ""
        )
        if not path:
            return
        (page_size,) = self.db.execute("pragma page_size").fetchone()

        fd = _read_only_descriptor(path)
        if fd is None:
            return

        def read(part: list[list[int]]) -> None:
            buffer = bytearray(1 << 20)
            try:
                for first, count in part:
                    offset, size = (first - 1) * page_size, count * page_size
                    while size > 0:
                        view = memoryview(buffer)[: min(size, len(buffer))]
                        got = os.preadv(fd, [view], offset)
                        if not got:
                            break
                        offset, size = offset + got, size - got
            except (OSError, ValueError):
                pass

        if sum(count for _, count in runs) * page_size < PREFETCH_PARALLEL_BYTES:
            read(runs)
            return
        # Each thread reads every n-th run, so each still reads in file order.
        threads = [
            threading.Thread(target=read, args=(runs[i::PREFETCH_THREADS],), daemon=True)
            for i in range(PREFETCH_THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def rebuild_filter(self) -> None:
        """Build the Bloom filter again from the band table (after rows were added to it
        by other means than this class, e.g. a bulk load)."""
        with atomic(self.db.conn):
            self.db.execute("delete from neardup_meta where key = 'filter'")
            self._build_filter()
            self._bump_generation()

    def merge_pending(self) -> int:
        """Move the pending band rows into the indexed table, in key order. Returns how many
        articles' rows moved. Runs by itself every :data:`MERGE_AT` articles.

        The rows go from the in-memory arrays to SQLite a slice at a time, and the articles'
        rows from a cursor: at MERGE_AT articles, lists of them (400,000 key-doc tuples) were
        ~80 MB of a long ingest's peak memory."""
        with atomic(self.db.conn):
            bands = self._sync()
            keys, docs = bands.rows()
            if not len(keys):
                return 0
            self.db.conn.executemany(
                "insert or ignore into neardup_bands (key, doc) values (?, ?)",
                _pairs(keys, docs),
            )
            # Pending rows of stores made before they carried the hash have a docs row.
            merged_hashes: list[int] = []
            self.db.conn.executemany(
                "insert into neardup_docs (id, hash, shingles) values (?, ?, ?)",
                _noting_doc_keys(
                    self.db.conn.execute(
                        "select doc, hash, shingles from neardup_pending "
                        "where hash is not null order by hash"
                    ),
                    merged_hashes,
                ),
            )
            bloom = bands.filter
            if bloom.keys + len(keys) + len(merged_hashes) > bloom.capacity:
                self.db.execute("delete from neardup_meta where key = 'filter'")
                bloom = self._build_filter()
            else:
                bloom.add_many(_with_shared_marks(bloom, keys, merged_hashes))
                self._save_filter(bloom)
            self.db.execute("delete from neardup_pending")
            moved = len(bands)
            emptied = _LoadedBands(bands.generation, bloom)
            emptied.upto = bands.upto
            self._bump_generation(keep=emptied)
            return moved

    def _merge(self, clusters: list[str], article_hash: str, first_seen: str) -> str:
        """Make ``article_hash`` and ``clusters`` one cluster named after its earliest member."""
        ids = sorted(set(clusters))
        marks = ",".join("?" * len(ids))
        earliest = [(first_seen, article_hash)]
        earliest += self.db.execute(
            f"select first_seen, hash from articles where hash in ({marks})", ids
        ).fetchall()
        new_id = min(earliest)[1]
        self.db.execute(
            f"update articles set cluster = ? where cluster in ({marks}) or hash = ?",
            [new_id, *ids, article_hash],
        )
        return new_id

    def _text(self, article_hash: str) -> str | None:
        row = self.db.execute("select text from articles where hash = ?", [article_hash]).fetchone()
        return row[0] if row else None

    def _stored_sketch(self, article_hash: str, text: str | None = None) -> Sketch | None:
        """A stored article's text, tokens and shingles for verifying against it (None:
        no such article), kept for the last articles asked for (:data:`STORED_SKETCHES`,
        :data:`STORED_SKETCH_CHARS`);
        ``text``: the article's text when the caller has read it already.

        The same articles are verified against again and again: the members of a growing
        cluster by each new copy, and an article's linked ones each time it is cleaned again.
        Tokenizing them each time was most of the cost of a check. A hash names one text
        (up to what normalization ignores, which tokens ignore too), so an entry never
        goes stale.
        """
        cached = self._stored.get(article_hash)
        if cached is not None:
            self._stored.move_to_end(article_hash)
            return cached
        if text is None:
            text = self._text(article_hash)
            if text is None:
                return None
        sketch = self._stored[article_hash] = Sketch(text, [], 0)
        self._stored_chars += len(text)
        while len(self._stored) > 1 and (
            len(self._stored) > STORED_SKETCHES or self._stored_chars > STORED_SKETCH_CHARS
        ):
            _, dropped = self._stored.popitem(last=False)
            self._stored_chars -= len(dropped.text)
        return sketch

    # -- removing and rebuilding ---------------------------------------------------------

    def remove(self, article_hash: str, text: str | None = None) -> None:
        """Take an article out of the index (before its row is deleted or its text changes).

        Its links go, and the rest of its cluster is re-linked among itself: removing a
        bridge can split a cluster in two. The band rows are found from ``text`` (default:
        the stored text) when it still hashes to ``article_hash``, otherwise by a scan of
        the band table (seconds at a million articles).
        """
        with atomic(self.db.conn):
            self._unindex(article_hash, text)
            self.db.execute(
                "delete from neardup_links where article = ? or matched = ?",
                [article_hash, article_hash],
            )
            cluster = self.cluster_of(article_hash)
            self.db.execute("update articles set cluster = hash where hash = ?", [article_hash])
            if cluster is not None:
                members = [
                    r[0]
                    for r in self.db.execute(
                        "select hash from articles where cluster = ? and hash != ?",
                        [cluster, article_hash],
                    )
                ]
                self._relink(members)

    def _unindex(self, article_hash: str, text: str | None) -> None:
        """Delete an article's band keys (pending or merged) and its doc row."""
        bands = self._sync()
        doc = self._doc_of(article_hash, bands)
        if doc is None:
            return
        if bands.is_pending(doc):
            self.db.execute("delete from neardup_pending where doc = ?", [doc])
            bands.remove_pending(doc)
            self._bump_generation(keep=bands)
        else:
            text = text if text is not None else self._text(article_hash)
            if text is not None and content_hash(text) == article_hash:
                self.db.conn.executemany(
                    "delete from neardup_bands where key = ? and doc = ?",
                    [(key, doc) for key in Sketch.of(text).keys],
                )
            else:
                self.db.execute("delete from neardup_bands where doc = ?", [doc])
        self.db.execute("delete from neardup_docs where id = ?", [doc])

    def replace(
        self,
        old_hash: str,
        new_hash: str,
        text: str,
        first_seen: str,
        *,
        old_text: str | None = None,
        sketch: Sketch | None = None,
    ) -> None:
        """Re-index an article whose text changed to ``text`` (hash ``new_hash``).

        The ``articles`` rows of both hashes must exist (the new one a copy of the old).
        When every article linked to the old text still verifies against the new one, the
        links are kept under the new hash: the cluster is the same graph with one member
        renamed, so nothing else is re-linked (re-linking a whole cluster on every template
        re-clean was a quarter of the crawling process's storing time in bench/crawl.py).
        Otherwise the article is removed as :meth:`remove` does and indexed again. Either
        way the new text then joins any other cluster it near-duplicates.
        """
        if sketch is None or sketch.text != text:
            sketch = Sketch.of(text)
        with atomic(self.db.conn):
            kept = self._reverify_links(old_hash, sketch) if sketch.indexable else None
            if kept is None:
                self.remove(old_hash, old_text)
                self.add(new_hash, text, first_seen, sketch=sketch)
                return
            old_id = self.cluster_of(old_hash) or old_hash
            self._unindex(old_hash, old_text)
            for (article, matched), similarity in kept.items():
                self.db.execute(
                    "update neardup_links set article = ?, matched = ?, similarity = ? "
                    "where article = ? and matched = ?",
                    [
                        new_hash if article == old_hash else article,
                        new_hash if matched == old_hash else matched,
                        similarity,
                        article,
                        matched,
                    ],
                )
            new_id = self._earliest(old_id, old_hash, new_hash, first_seen)
            self.db.execute(
                "update articles set cluster = ? where cluster = ? or hash = ?",
                [new_id, old_id, new_hash],
            )
            self._index(new_hash, sketch, first_seen, self._sync(), own_cluster=new_id)

    def _reverify_links(self, old_hash: str, sketch: Sketch) -> dict[tuple[str, str], float] | None:
        """``{(article, matched): new similarity}`` for every link of ``old_hash`` when all
        of them hold for the text of ``sketch``; None when one does not (or it had none)."""
        rows = self.db.execute(
            "select l.article, l.matched, a.text from neardup_links l join articles a "
            "on a.hash = (case when l.article = ? then l.matched else l.article end) "
            "where l.article = ? or l.matched = ?",
            [old_hash, old_hash, old_hash],
        ).fetchall()
        if not rows:
            return None
        kept: dict[tuple[str, str], float] = {}
        for article, matched, other in rows:
            stored = self._stored_sketch(matched if article == old_hash else article, other)
            assert stored is not None  # its text is given
            verdict = self._verify(sketch, stored)
            if verdict is None:
                return None
            kept[(article, matched)] = verdict.similarity
        return kept

    def _earliest(self, cluster: str, old_hash: str, new_hash: str, first_seen: str) -> str:
        """The id of ``cluster`` (its earliest member's hash) once ``new_hash``, first seen
        at ``first_seen``, has taken the place of ``old_hash`` in it."""
        rows = self.db.execute(
            "select first_seen, hash from articles where cluster = ? and hash != ?",
            [cluster, old_hash],
        ).fetchall()
        return min([(first_seen, new_hash), *rows])[1]

    def _relink(self, members: list[str]) -> None:
        """Recompute the clusters of ``members`` from scratch, among themselves only."""
        if not members:
            return
        marks = ",".join("?" * len(members))
        self.db.execute(
            f"delete from neardup_links where article in ({marks}) or matched in ({marks})",
            [*members, *members],
        )
        self.db.execute(f"update articles set cluster = hash where hash in ({marks})", members)
        rows = self.db.execute(
            f"select hash, text, first_seen from articles where hash in ({marks}) "
            "order by first_seen, hash",
            members,
        ).fetchall()
        bands = self._sync()
        done: set[str] = set()
        for article_hash, text, first_seen in rows:
            doc = self._doc_of(article_hash, bands)
            if doc is None:
                continue
            self._link(article_hash, Sketch.of(text), first_seen, exclude=doc, within=done)
            done.add(article_hash)

    def index_missing(self, *, batch: int = 1000) -> int:
        """Index the articles that are not indexed yet, oldest first. Returns how many."""
        count = 0
        after = ("", "")
        while True:
            rows = self.db.execute(
                "select hash, text, first_seen from articles where (first_seen, hash) > (?, ?) "
                "order by first_seen, hash limit ?",
                [*after, batch],
            ).fetchall()
            for article_hash, text, first_seen in rows:
                with atomic(self.db.conn):
                    indexed = self._doc_of(article_hash, self._sync()) is not None
                if not indexed:
                    self.add(article_hash, text, first_seen)
                    count += 1
            if len(rows) < batch:
                return count
            after = (rows[-1][2], rows[-1][0])

    def rebuild(self) -> int:
        """Drop every band, link and cluster and index all articles again, oldest first."""
        with atomic(self.db.conn):
            self.db.execute("delete from neardup_bands")
            self.db.execute("delete from neardup_pending")
            self.db.execute("delete from neardup_filter")
            self.db.execute("delete from neardup_meta where key = 'filter'")
            self._bump_generation()
            self.db.execute("delete from neardup_docs")
            self.db.execute("delete from neardup_links")
            self.db.execute("update articles set cluster = hash where cluster != hash")
            self.db.execute(
                "insert or replace into neardup_meta (key, value) values ('params', ?)",
                [json.dumps(params(), sort_keys=True)],
            )
        return self.index_missing()

    # -- reading -------------------------------------------------------------------------

    def is_indexed(self, article_hash: str) -> bool:
        if self._bands is not None:  # this process has read the band store: no scan
            with atomic(self.db.conn):
                return self._doc_of(article_hash, self._sync()) is not None
        # One question (explain): not worth reading the filter, which may not even be built
        # yet (and building it writes). Pending rows have no hash index: a scan of at most
        # MERGE_AT rows.
        return bool(
            self.db.execute(
                "select exists (select 1 from neardup_docs where hash = :h) "
                "or exists (select 1 from neardup_pending where hash = :h)",
                {"h": article_hash},
            ).fetchone()[0]
        )

    def cluster_of(self, article_hash: str) -> str | None:
        row = self.db.execute(
            "select coalesce(cluster, hash) from articles where hash = ?", [article_hash]
        ).fetchone()
        return row[0] if row else None

    def match_of(self, article_hash: str) -> Match | None:
        """The best link recorded when ``article_hash`` was added, if any."""
        row = self.db.execute(
            """
            select l.matched, l.similarity, l.kind, coalesce(a.cluster, a.hash)
            from neardup_links l join articles a on a.hash = l.article
            where l.article = ? order by l.similarity desc, l.matched limit 1
            """,
            [article_hash],
        ).fetchone()
        return Match(article_hash, row[0], row[1], row[2], row[3]) if row else None

    def links(self, article_hash: str) -> list[dict[str, Any]]:
        """Every link from or to ``article_hash``."""
        return list(
            self.db.query(
                "select * from neardup_links where article = ? or matched = ? "
                "order by similarity desc, article, matched",
                [article_hash, article_hash],
            )
        )

    def members(self, cluster_id: str, *, where: str = "") -> list[dict[str, Any]]:
        """The articles of a cluster, earliest first. ``where``: an SQL condition on
        ``articles`` the members listed must meet (the store's, never user input)."""
        return list(
            self.db.query(
                "select hash, url, site, title, first_seen, last_seen from articles "
                f"where cluster = ? {'and ' + where if where else ''} order by first_seen, hash",
                [cluster_id],
            )
        )

    def clusters(
        self, *, min_size: int = 2, limit: int | None = None, where: str = ""
    ) -> Iterator[Cluster]:
        """Clusters with at least ``min_size`` members, largest first. ``where``: an SQL
        condition on ``articles`` the members counted must meet (as :meth:`members`)."""
        sql = f"""
            select cluster, count(*), group_concat(distinct coalesce(site, '?')),
                   min(first_seen), max(coalesce(last_seen, first_seen))
            from articles where cluster is not null {"and " + where if where else ""}
            group by cluster having count(*) >= ?
            order by count(*) desc, min(first_seen), cluster
        """
        args: list[Any] = [min_size]
        if limit is not None:
            sql += " limit ?"
            args.append(limit)
        for cid, size, sites, first, last in self.db.execute(sql, args):
            yield Cluster(cid, size, sorted(sites.split(",")) if sites else [], first, last)


class _LoadedBands:
    """What one process holds of the band store: the filter and the pending rows.

    The pending rows sit in two sorted numpy arrays (reading 20,000 articles' rows is then
    one sort, not 400,000 dict inserts), 16 bytes a key; rows added since are in dicts
    until :data:`FOLD_AT` of them are, then folded into the arrays. In dicts, 20,000
    articles' rows took 130 MB (a list per key): a long ingest's memory grew with every
    article until the merge.
    """

    # Articles added (in the dicts) before they are folded into the arrays: a fold is one
    # sort of the pending keys (~30 ms at 20,000 articles), so once per 1,000 articles.
    FOLD_AT = 1_000

    def __init__(self, generation: int, bloom: BloomFilter) -> None:
        import numpy as np

        self.generation = generation
        self.filter = bloom
        self.base_keys = np.empty(0, dtype=np.int64)  # sorted
        self.base_docs = np.empty(0, dtype=np.int64)
        self.base_doc_set: set[int] = set()
        self.recent: dict[int, list[int]] = {}  # key -> docs
        self.recent_docs: dict[int, list[int]] = {}  # doc -> keys
        self.removed: set[int] = set()
        self.hashes: dict[int, str] = {}  # pending doc -> article hash
        self.doc_by_hash: dict[str, int] = {}
        self.upto = 0  # the highest pending doc read

    def load(self, rows: list[tuple[int, bytes, str | None]]) -> None:
        """Take the pending rows (doc, packed keys, hash) read at once, in doc order."""
        import numpy as np

        if not rows:
            return
        keys = np.frombuffer(b"".join(packed for _, packed, _ in rows), dtype="<i8")
        docs = np.repeat(
            np.fromiter((doc for doc, _, _ in rows), dtype=np.int64, count=len(rows)),
            [len(packed) // 8 for _, packed, _ in rows],
        )
        self._set_base(
            np.concatenate([self.base_keys, keys.astype(np.int64)]),
            np.concatenate([self.base_docs, docs]),
        )
        self.base_doc_set |= {doc for doc, _, _ in rows}
        self.hashes.update({doc: h for doc, _, h in rows if h is not None})
        self.doc_by_hash = {h: doc for doc, h in self.hashes.items()}
        self.upto = max(self.upto, rows[-1][0])

    def _set_base(self, keys: Any, docs: Any) -> None:
        import numpy as np

        order = np.argsort(keys, kind="stable")
        self.base_keys, self.base_docs = keys[order], docs[order]

    def _fold(self) -> None:
        """Move the rows added one by one (dicts) into the sorted arrays."""
        import numpy as np

        docs = list(self.recent_docs)
        counts = [len(self.recent_docs[doc]) for doc in docs]
        keys = np.fromiter(
            (key for doc in docs for key in self.recent_docs[doc]),
            dtype=np.int64,
            count=sum(counts),
        )
        self._set_base(
            np.concatenate([self.base_keys, keys]),
            np.concatenate([self.base_docs, np.repeat(np.asarray(docs, dtype=np.int64), counts)]),
        )
        self.base_doc_set.update(docs)
        self.recent.clear()
        self.recent_docs.clear()

    def __len__(self) -> int:
        return len(self.base_doc_set) - len(self.removed) + len(self.recent_docs)

    def is_pending(self, doc: int) -> bool:
        return doc in self.recent_docs or (doc in self.base_doc_set and doc not in self.removed)

    def hits(self, keys: list[int], *, exclude: int) -> dict[int, int]:
        """``{doc: number of keys shared}`` over the pending rows."""
        import numpy as np

        found: dict[int, int] = {}
        if len(self.base_keys) and keys:
            # one vectorized search for all the keys (tens of microseconds an article)
            wanted = np.asarray(keys, dtype=np.int64)
            lo = np.searchsorted(self.base_keys, wanted, side="left")
            hi = np.searchsorted(self.base_keys, wanted, side="right")
            for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
                if a == b:
                    continue
                for doc in self.base_docs[a:b].tolist():
                    if doc != exclude and doc not in self.removed:
                        found[doc] = found.get(doc, 0) + 1
        for key in keys:
            for doc in self.recent.get(key, ()):
                if doc != exclude:
                    found[doc] = found.get(doc, 0) + 1
        return found

    def rows(self) -> tuple[Any, Any]:
        """Every pending row as two numpy arrays (keys, docs), sorted by key."""
        import numpy as np

        if self.recent_docs:
            self._fold()
        keys, docs = self.base_keys, self.base_docs
        if self.removed:
            kept = ~np.isin(docs, np.fromiter(self.removed, dtype=np.int64))
            keys, docs = keys[kept], docs[kept]
        return keys, docs

    def remove_pending(self, doc: int) -> None:
        if doc in self.base_doc_set:
            self.removed.add(doc)
        article_hash = self.hashes.pop(doc, None)
        if article_hash is not None:
            self.doc_by_hash.pop(article_hash, None)
        for key in self.recent_docs.pop(doc, []):
            docs = self.recent.get(key, [])
            if doc in docs:
                docs.remove(doc)
            if not docs:
                self.recent.pop(key, None)

    def add_pending(self, doc: int, keys: list[int], article_hash: str | None = None) -> None:
        if self.is_pending(doc):
            return
        self.removed.discard(doc)
        if article_hash is not None:
            self.hashes[doc] = article_hash
            self.doc_by_hash[article_hash] = doc
        self.recent_docs[doc] = keys
        for key in keys:
            self.recent.setdefault(key, []).append(doc)
        self.upto = max(self.upto, doc)
        if len(self.recent_docs) >= self.FOLD_AT:
            self._fold()


# Rows handed to executemany a slice at a time (a slice's Python ints are ~4 MB).
_MERGE_SLICE = 50_000


def _pairs(keys: Any, docs: Any) -> Iterator[tuple[int, int]]:
    """``(key, doc)`` rows of two numpy arrays, converted a slice at a time."""
    for start in range(0, len(keys), _MERGE_SLICE):
        end = start + _MERGE_SLICE
        yield from zip(keys[start:end].tolist(), docs[start:end].tolist(), strict=True)


def _noting_doc_keys(
    rows: Iterable[tuple[int, str, int]], doc_keys: list[int]
) -> Iterator[tuple[int, str, int]]:
    """``rows`` (doc, hash, shingles) as they are, noting each hash's filter key."""
    for row in rows:
        doc_keys.append(doc_key(row[1]))
        yield row


def _with_shared_marks(bloom: BloomFilter, keys: Any, doc_keys: list[int]) -> Any:
    """What a merge adds to the filter: the pending ``keys`` (a sorted numpy array), the
    shared marks of those the table may hold already (the filter says so, or a false
    positive: a needless mark) or two pending articles hold, and the articles' ``doc_keys``."""
    import numpy as np

    shared = np.union1d(keys[bloom.contains_array(keys)], keys[1:][keys[1:] == keys[:-1]])
    marks = shared ^ np.int64(_SHARED_TAG)  # shared_key, vectorized
    return np.concatenate([keys, marks, np.asarray(doc_keys, dtype=np.int64)])


def _pack(keys: Sequence[int]) -> bytes:
    return struct.pack(f"<{len(keys)}q", *keys)


def _unpack(packed: bytes) -> list[int]:
    return list(struct.unpack(f"<{len(packed) // 8}q", packed))
