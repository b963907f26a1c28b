"""Content hashing: the normative key of an article.

The key is recomputable by anyone from the stored text (the README states the same steps):

1. Unicode NFKC;
2. delete U+00AD (soft hyphen), U+200B..U+200D (zero-width space / non-joiner / joiner),
   U+2060 (word joiner) and U+FEFF (zero-width no-break space / BOM);
3. casefold;
4. replace every run of whitespace by one space, then strip;
5. lowercase hex SHA-256 of the UTF-8 bytes.

``NORMALIZATION_VERSION`` is stored beside every hash; it changes whenever these steps do,
so a store can tell which articles need rehashing.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

NORMALIZATION_VERSION = 1

# Step 2 as a regular expression: ``str.translate`` with a deletion table is ~20x slower on
# non-ASCII text, and hashing runs for every page.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200d\u2060\ufeff]")


@functools.lru_cache(maxsize=64)
def normalize_for_hash(text: str) -> str:
    """Return ``text`` normalized as the content hash sees it.

    Cached for the last few texts: storing one page normalizes the same text several times
    (its hash, its template-cleaned hash, its near-duplicate tokens, the hash a move
    checks), each time from a different but equal string, and a cache hit costs one string
    comparison instead of ~0.2 ms of Unicode work.
    """
    text = unicodedata.normalize("NFKC", text)
    text = _INVISIBLE.sub("", text)
    text = text.casefold()
    # Step 4: str.split() splits on exactly the characters ``\s`` matches (str.isspace),
    # and is several times faster than a regular expression substitution.
    return " ".join(text.split())


def content_hash(text: str) -> str:
    """Return the article key: lowercase hex SHA-256 of the normalized text."""
    return hashlib.sha256(normalize_for_hash(text).encode("utf-8")).hexdigest()
