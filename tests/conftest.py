from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newsmill.store import Store

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SAMPLE = REPO / "data" / "sample"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "news.db"


@pytest.fixture
def store(db_path: Path):
    with Store.open(db_path) as s:
        yield s


def run_cli(
    *args: str,
    db: Path | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m newsmill`` in a subprocess, as a user (or cron) would."""
    full_env = {k: v for k, v in os.environ.items() if k != "NEWSMILL_DB"}
    full_env["PYTHONPATH"] = str(REPO / "src")
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "newsmill", *args]
    if db is not None:
        cmd += ["--db", str(db)]
    return subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
