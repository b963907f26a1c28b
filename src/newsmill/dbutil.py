"""Transactions on a plain ``sqlite3`` connection, shared by the store and its indexes."""

from __future__ import annotations

import contextlib
import itertools
import sqlite3
from collections.abc import Iterator

# Savepoint names are numbered, not random: sqlite-utils' atomic() names each one with
# secrets.token_hex, so every SAVEPOINT statement is new SQL to compile (and a call to the
# OS for randomness); a crawl opens several per page.
_names = itertools.count()


@contextlib.contextmanager
def atomic(conn: sqlite3.Connection) -> Iterator[None]:
    """All or nothing: a savepoint inside an open transaction, else a transaction.

    Behaves as ``sqlite_utils.Database.atomic``."""
    if not conn.in_transaction:
        conn.execute("BEGIN")
        try:
            yield
        except BaseException:
            conn.rollback()
            raise
        conn.commit()
        return
    name = f"newsmill_{next(_names) % 64}"
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        # An error can end the whole transaction (a RAISE(ROLLBACK) trigger, say): then
        # there is no savepoint left to roll back to.
        if conn.in_transaction:
            conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            conn.execute(f"RELEASE SAVEPOINT {name}")
        raise
    conn.execute(f"RELEASE SAVEPOINT {name}")
