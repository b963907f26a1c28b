"""kill -9 in the middle of an ingest loses nothing and tears nothing (bench/crash.py)."""

import json
import subprocess
import sys

from ..conftest import REPO


def test_kill_9_during_ingest_then_resume():
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "crash.py"),
            "--trials",
            "6",
            "--pages",
            "300",
            "--seed",
            "7",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = json.loads(result.stdout)
    summary = report["summary"]
    assert summary["trials"] == 6
    assert summary["killed_mid_run"] >= 3  # the kills really landed inside runs
    assert summary["integrity_failures"] == 0, report["trials"]
    assert summary["duplicates"] == 0
    assert summary["lost_articles"] == 0
    assert result.returncode == 0
