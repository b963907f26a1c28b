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

import hashlib
import re
import unicodedata

NORMALIZATION_VERSION = 1

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_WHITESPACE = re.compile(r"\s+")


def normalize_for_hash(text: str) -> str:
    """Return ``text`` normalized as the content hash sees it."""
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_INVISIBLE)
    text = text.casefold()
    return _WHITESPACE.sub(" ", text).strip()


def content_hash(text: str) -> str:
    """Return the article key: lowercase hex SHA-256 of the normalized text."""
    return hashlib.sha256(normalize_for_hash(text).encode("utf-8")).hexdigest()
