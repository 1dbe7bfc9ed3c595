"""SQLite store: quoted answers by content id, and anonymous daily counters.

Buttons and share links must keep working after a restart, so an answer's quotes are kept
under a short id derived from their content (the same answer always gets the same id, and an
id reveals nothing). By design there is no column for a user id, a chat id or a question.
Calls are short and synchronous; the bot runs them on a thread of their own
(``Services.in_store``). A damaged file is moved aside (renamed, never deleted) and a fresh
store takes its place: old share links stop working, the bot keeps answering.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from bot.render import Quote

log = logging.getLogger(__name__)

ID_LENGTH = 11  # 64 bits of urlsafe base64: short enough for callback data and /start links
ID_RE = re.compile(r"^[A-Za-z0-9_-]{11}$")

COUNTERS = (
    "questions",
    "answered",
    "not_answered",
    "shares",
    "more",
    "inline",
    "feedback_up",
    "feedback_down",
    "errors",
    "rate_limited",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    results TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_created ON answers(created);
CREATE TABLE IF NOT EXISTS counters (
    day TEXT NOT NULL,
    name TEXT NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, name)
);
"""


def answer_id(quotes: Sequence[Quote]) -> str:
    """Stable id from the quotes' content (not from who asked, nor when)."""
    payload = json.dumps(
        [[q.quote, q.title, q.url, q.date.isoformat() if q.date else None] for q in quotes],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(payload.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest[:8]).decode("ascii").rstrip("=")[:ID_LENGTH]


def is_answer_id(value: str) -> bool:
    return bool(ID_RE.match(value))


def _today() -> str:
    return dt.datetime.now(dt.UTC).date().isoformat()


# SQLITE_CORRUPT, SQLITE_NOTADB: the file is damaged (other errors: locks, rights, disk).
_DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB}


def damage(path: Path | str) -> str | None:
    """Why the store file at ``path`` is damaged, or ``None`` (absent, fine, or unreadable for
    another reason: that one is not ours to repair). Opens it read-only."""
    path = Path(path)
    if str(path) == ":memory:" or not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            rows = db.execute("PRAGMA quick_check").fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorcode", None) in _DAMAGED:
            return str(exc)
        return None
    problems = [str(r[0]) for r in rows if r[0] != "ok"]
    return "; ".join(problems[:3]) or None


def aside_name(path: Path) -> Path:
    """Where a damaged store goes: beside it, with the time (UTC) in its name."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return path.with_name(f"{path.name}.corrupt-{stamp}")


def move_aside(path: Path) -> Path:
    """Rename the damaged store (and its -wal/-shm companions) out of the way; kept for
    inspection or repair (``sqlite3 FILE .recover``)."""
    target = aside_name(path)
    n = 1
    while target.exists():
        n += 1
        target = target.with_name(f"{aside_name(path).name}-{n}")
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.rename(target.with_name(target.name + suffix))
    path.rename(target)
    return target


class Store:
    """Thread-safe wrapper around one SQLite connection (WAL, so readers never block)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        why = damage(self.path)
        if why:
            target = move_aside(self.path)
            log.warning(
                "store %s is damaged (%s): moved aside to %s, starting a fresh one "
                "(earlier share links stop working)",
                self.path,
                why,
                target.name,
            )
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def save_answer(self, quotes: Sequence[Quote]) -> str:
        """Keep the quotes; returns their id (idempotent)."""
        aid = answer_id(quotes)
        data = json.dumps([q.to_json() for q in quotes], ensure_ascii=False)
        with self._lock:
            self._db.execute(
                "INSERT INTO answers(id, results, created) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET created = excluded.created",
                (aid, data, _today()),
            )
        return aid

    def get_answer(self, aid: str) -> list[Quote] | None:
        """The stored quotes, or None for an unknown or malformed id."""
        if not is_answer_id(aid):
            return None
        with self._lock:
            row = self._db.execute("SELECT results FROM answers WHERE id = ?", (aid,)).fetchone()
        if row is None:
            return None
        try:
            return [Quote.from_json(item) for item in json.loads(row[0])]
        except (ValueError, TypeError, AttributeError):
            return None

    def prune(self, days: int) -> int:
        """Delete answers older than ``days``; returns how many."""
        cutoff = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days)).isoformat()
        with self._lock:
            cur = self._db.execute("DELETE FROM answers WHERE created < ?", (cutoff,))
        return cur.rowcount

    def count(self, name: str, n: int = 1) -> None:
        """Add ``n`` to today's counter ``name``."""
        if name not in COUNTERS:
            raise ValueError(f"unknown counter {name!r}")
        with self._lock:
            self._db.execute(
                "INSERT INTO counters(day, name, count) VALUES (?, ?, ?) "
                "ON CONFLICT(day, name) DO UPDATE SET count = count + excluded.count",
                (_today(), name, n),
            )

    def counters(self, since: dt.date | None = None) -> dict[str, int]:
        """Sum of each counter since ``since`` (all days if None); zero for unseen ones."""
        query = "SELECT name, SUM(count) FROM counters"
        args: Iterable[str] = ()
        if since is not None:
            query += " WHERE day >= ?"
            args = (since.isoformat(),)
        with self._lock:
            rows = self._db.execute(query + " GROUP BY name", tuple(args)).fetchall()
        totals = dict.fromkeys(COUNTERS, 0)
        totals.update({name: int(total) for name, total in rows})
        return totals
