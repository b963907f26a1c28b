"""The labelled seed articles in ../shared/seeds (outside the repo; skipped when absent)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from newsmill.clean import clean_text

# ../shared next to the repo root; NEWSMILL_SHARED overrides it (e.g. in a git worktree)
SHARED = Path(os.environ.get("NEWSMILL_SHARED") or Path(__file__).parents[1].parent / "shared")
SEEDS = SHARED / "seeds"
pytestmark = pytest.mark.skipif(
    not (SEEDS / "LABELS.json").is_file(),
    reason=f"seed articles not found at {SEEDS} (they live next to the repo, not in it)",
)


def _cases() -> list[str]:
    if not (SEEDS / "LABELS.json").is_file():
        return []
    labels = json.loads((SEEDS / "LABELS.json").read_text(encoding="utf-8"))
    return sorted(name for name in labels if name.endswith(".txt"))


@pytest.mark.parametrize("name", _cases())
def test_seed_labels(name):
    labels = json.loads((SEEDS / "LABELS.json").read_text(encoding="utf-8"))[name]
    raw = (SEEDS / name).read_text(encoding="utf-8")
    kept = set(clean_text(raw).splitlines())
    for number, line in enumerate(raw.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if number in labels["remove"]:
            assert line not in kept, f"{name}:{number} is boilerplate but was kept: {line!r}"
        elif number not in labels.get("optional", []):
            assert line in kept, f"{name}:{number} is content but was removed: {line!r}"


@pytest.mark.parametrize("name", _cases())
def test_seed_cleaning_is_idempotent(name):
    once = clean_text((SEEDS / name).read_text(encoding="utf-8"))
    assert clean_text(once) == once
