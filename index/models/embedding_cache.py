"""The embedding cache: vectors by (model id, prompt + text hash) in SQLite, so a rebuild after
a new post embeds only the new passages."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

_SQLITE_DAMAGED = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB


class EmbeddingCache:
    """Vectors by (model id, text hash) in SQLite: safe across processes and crashes. The
    cache is disposable: a file SQLite cannot read is discarded with a warning and starts
    empty (its vectors are embedded again), never failing a build."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = self._connect()
        except sqlite3.DatabaseError as exc:
            self._db = self._discard(exc)  # re-raises what is not damage

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT, vec BLOB, "
                "PRIMARY KEY (model, key))"
            )
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _discard(self, exc: sqlite3.DatabaseError) -> sqlite3.Connection:
        """Remove the unreadable file (and its journal) and start an empty cache; any other
        error (locked, disk full) is raised: those do not mean the file is damaged."""
        if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) not in _SQLITE_DAMAGED:
            raise exc
        log.warning("embedding cache %s unreadable (%s): discarded, rebuilt", self.path, exc)
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        return self._connect()

    def get_many(self, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self._lock:
            try:
                for i in range(0, len(keys), 500):
                    part = list(keys[i : i + 500])
                    marks = ",".join("?" * len(part))
                    rows = self._db.execute(
                        f"SELECT key, vec FROM vectors WHERE model=? AND key IN ({marks})",
                        [model, *part],
                    )
                    for key, blob in rows:
                        out[key] = np.frombuffer(blob, dtype=np.float32)
            except sqlite3.DatabaseError as exc:
                self._db = self._discard(exc)
                return {}
        return out

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        rows = [(model, k, np.asarray(v, np.float32).tobytes()) for k, v in items.items()]
        with self._lock:
            try:
                with self._db:
                    self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
            except sqlite3.DatabaseError as exc:
                self._db = self._discard(exc)
                with self._db:
                    self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)

    def close(self) -> None:
        self._db.close()
