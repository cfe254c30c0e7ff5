"""A rate-limit store that every worker of one machine shares: a small SQLite file.

Flask-Limiter keeps its counters in a ``limits`` storage. ``memory://`` is one per process, so
with gunicorn's several workers an account got workers × the configured tries; Redis is shared
by every server but is one more service to run. The embedded default uses this store instead:
``sqlitefile:///path/limits.sqlite3``, a file (0600) beside the embedded database, whose counters
every worker on the machine increments under SQLite's write lock (``BEGIN IMMEDIATE``), so
counting is exact. It implements the fixed window, Flask-Limiter's default strategy.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from limits.storage import Storage

SCHEME = "sqlitefile"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS counters "
    "(key TEXT PRIMARY KEY, value INTEGER NOT NULL, expires_at REAL NOT NULL)"
)
#: Expired counters are swept once in this many increments.
_SWEEP_EVERY = 500


def uri_for(path: os.PathLike[str] | str) -> str:
    return f"{SCHEME}://{os.fspath(path)}"


class SQLiteFileStorage(Storage):
    """``sqlitefile:///absolute/path``: counters in a SQLite file shared by local processes."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012  (read by limits' storage registry)

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any):
        path = urllib.parse.urlparse(uri or "").path
        if not path:
            raise ValueError(f"{SCHEME}:// needs a file path, e.g. {SCHEME}:///var/lib/limits.db")
        self.path = path
        self._local = threading.local()
        self._increments = 0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        """One connection per thread and process (a forked worker opens its own)."""
        connection = getattr(self._local, "connection", None)
        if connection is None or getattr(self._local, "pid", None) != os.getpid():
            if not os.path.exists(self.path):
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(_SCHEMA)
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        self._increments += 1
        with self._writing() as connection:
            if self._increments % _SWEEP_EVERY == 0:
                connection.execute("DELETE FROM counters WHERE expires_at <= ?", (now,))
            else:
                connection.execute(
                    "DELETE FROM counters WHERE key = ? AND expires_at <= ?", (key, now)
                )
            connection.execute(
                "INSERT INTO counters (key, value, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value",
                (key, amount, now + expiry),
            )
            (value,) = connection.execute(
                "SELECT value FROM counters WHERE key = ?", (key,)
            ).fetchone()
        return int(value)

    def get(self, key: str) -> int:
        row = (
            self._connection()
            .execute(
                "SELECT value FROM counters WHERE key = ? AND expires_at > ?", (key, time.time())
            )
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = (
            self._connection()
            .execute("SELECT expires_at FROM counters WHERE key = ? AND expires_at > ?", (key, now))
            .fetchone()
        )
        return float(row[0]) if row else now

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        with self._writing() as connection:
            return connection.execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        with self._writing() as connection:
            connection.execute("DELETE FROM counters WHERE key = ?", (key,))
