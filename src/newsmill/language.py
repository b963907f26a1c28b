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
# The text read: its first 2,000 characters (a few paragraphs). In bench/language.py they
# answer as often as 3,000 (coverage 0.994 against 0.995 at MIN_PROBABILITY, the same
# agreement) at 1.3 ms a page instead of 1.6 ms; 1,000 answered for 98.9%.
MAX_CHARS = 2_000


@functools.cache
def _identifier() -> Any:
    """py3langid's identifier with normalised probabilities (loaded once: ~0.5 s)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def classify(text: str) -> tuple[str, float] | None:
    """The model's language for ``text`` (an ISO 639-1 code) and its probability; None when
    the text is too short to judge."""
    if len(text) < MIN_CHARS:
        return None
    code, probability = _identifier().classify(text[:MAX_CHARS])
    return str(code), float(probability)


def detect_language(text: str) -> str | None:
    """The ISO 639-1 code of ``text``'s language, or None when it is too short to tell or
    the model is not sure."""
    judged = classify(text)
    return judged[0] if judged is not None and judged[1] >= MIN_PROBABILITY else None
