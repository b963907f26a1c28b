import hashlib
import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from newsmill.fingerprint import NORMALIZATION_VERSION, content_hash, normalize_for_hash

ZERO_WIDTH = ["\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
words = st.lists(
    st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=12),
    min_size=1,
    max_size=30,
)


def readme_recipe(text: str) -> str:
    """The README's recomputation, written out independently of the implementation."""
    text = unicodedata.normalize("NFKC", text)
    for ch in ZERO_WIDTH:
        text = text.replace(ch, "")
    text = text.casefold()
    text = " ".join(text.split())
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_known_value():
    assert content_hash("  Hello\n\tWORLD ") == hashlib.sha256(b"hello world").hexdigest()
    assert NORMALIZATION_VERSION == 1


def test_nfkc_and_invisible_characters():
    assert normalize_for_hash("ﬁne\u00a0print") == "fine print"
    assert normalize_for_hash("ze\u200bro\u00adwidth\ufeff") == "zerowidth"
    assert content_hash("Straße") == content_hash("STRASSE")


@given(words, st.data())
def test_hash_ignores_whitespace_case_and_zero_width(ws, data):
    text = " ".join(ws)
    spaced = "".join(w + data.draw(st.sampled_from([" ", "  ", "\n", "\t", " \r\n "])) for w in ws)
    assert content_hash(spaced) == content_hash(text)
    # The normative order is NFKC, then casefold. For a few characters casefolding leaves
    # text that NFKC would compose differently (e.g. 'ῒ'), or upper-casing loses
    # information (dotless ı -> I -> i); case is ignored everywhere else.
    folded = text.casefold()
    if unicodedata.is_normalized("NFKC", folded):
        assert content_hash(folded) == content_hash(text)
        if text.upper().casefold() == folded:
            assert content_hash(text.upper()) == content_hash(text)
    pos = data.draw(st.integers(0, len(text)))
    zw = data.draw(st.sampled_from(ZERO_WIDTH))
    assert content_hash(text[:pos] + zw + text[pos:]) == content_hash(text)


@given(words, st.integers(min_value=0), st.text(alphabet="abcdefghij", min_size=1, max_size=8))
def test_hash_changes_when_a_word_changes(ws, index, replacement):
    i = index % len(ws)
    changed = list(ws)
    if normalize_for_hash(changed[i]) == normalize_for_hash(replacement):
        replacement += "x"
    changed[i] = replacement
    assert content_hash(" ".join(changed)) != content_hash(" ".join(ws))


@given(st.text())
def test_hash_matches_readme_recipe(text):
    assert content_hash(text) == readme_recipe(text)
    assert re.fullmatch(r"[0-9a-f]{64}", content_hash(text))
