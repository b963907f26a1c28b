"""Peak memory of ``newsmill ingest`` over many files.

    python bench/memory.py --files 5000

Generates distinct article pages (bench/crash.py's generator), ingests them in a child process
and reports the child's peak resident set size (``ru_maxrss``) and its throughput.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from crash import make_pages, newsmill, run_env


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pages = Path(tmp) / "pages"
        make_pages(pages, args.files, random.Random(3))
        db = Path(tmp) / "news.db"
        started = time.monotonic()
        subprocess.run(
            newsmill("ingest", str(pages), "--db", str(db), "-q"), env=run_env(), check=True
        )
        seconds = time.monotonic() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        size_mb = db.stat().st_size / 1e6
    print(
        f"ingest of {args.files} files: peak RSS {peak_mb:.0f} MB, {seconds:.1f} s "
        f"({args.files / seconds:.0f} files/s), database {size_mb:.1f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
