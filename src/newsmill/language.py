"""The language of an article's text, for pages that declare none.

newsmill records the language a page declares (``<html lang>``, ``content-language``,
``og:locale``, JSON-LD ``inLanguage``; :mod:`newsmill.extract`). In a run that keeps only
some languages (``--languages``; :func:`newsmill.pipeline.with_language`), a page that
declares none gets the language of its cleaned text from py3langid (langid.py's naive
Bayes model over byte n-grams; what trafilatura uses for its own language filter), when
the text is long enough and the model sure enough. Otherwise the language stays unknown,
and ``--languages`` keeps the article (dropping it could lose articles of the wanted
languages).

The thresholds come from ``bench/language.py``: on benchmark pages that do declare their
language, how often the text's detected language agrees with the declared one.
"""

from __future__ import annotations

import functools
from typing import Any

# Shorter texts are not judged: a few words say little about a language.
MIN_CHARS = 200
# The model's normalised probability it must reach.
MIN_PROBABILITY = 0.95
# The text read: its first 3,000 characters (a few paragraphs) decide as well as all of it
# in bench/language.py, at a sixth of the cost for a long article.
MAX_CHARS = 2_000


@functools.cache
def _identifier() -> Any:
    """py3langid's identifier with normalised probabilities (loaded once: ~0.5 s)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of ``text``'s language, or None when it is too short to tell or
    the model is not sure."""
    if len(text) < MIN_CHARS:
        return None
    code, probability = _identifier().classify(text[:MAX_CHARS])
    return str(code) if probability >= MIN_PROBABILITY else None
