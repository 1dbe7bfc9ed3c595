"""A fetch's memory between runs (feed validators, per-entry stamps) and the one lock of runs
that write ``content/``."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

from index.config import IndexSettings
from index.corpus.article import atomic_write_text

log = logging.getLogger(__name__)

STATE_FILE = "fetch-state.json"
STATE_VERSION = 1


class FetchError(RuntimeError):
    """The run cannot start (another fetch holds the lock)."""


def fetch_state_path(settings: IndexSettings) -> Path:
    return Path(settings.index_dir).parent / STATE_FILE


class FetchState:
    """Feed validators and per-entry stamps; rewritten atomically, and only when changed."""

    def __init__(self, path: Path, data: dict, original: str) -> None:
        self.path = path
        self.data = data
        self._original = original

    @classmethod
    def load(cls, path: Path) -> FetchState:
        empty = {"version": STATE_VERSION, "feeds": {}, "entries": {}}
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path, empty, "")
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
                raise ValueError("unknown layout")
            data.setdefault("feeds", {})
            data.setdefault("entries", {})
        except ValueError as exc:
            log.warning("%s is unreadable (%s); starting from a blank fetch state", path, exc)
            return cls(path, empty, text)
        return cls(path, data, text)

    @property
    def feeds(self) -> dict[str, dict]:
        return self.data["feeds"]

    @property
    def entries(self) -> dict[str, dict]:
        return self.data["entries"]

    def save(self) -> None:
        text = json.dumps(self.data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        if text != self._original:
            atomic_write_text(self.path, text)
            self._original = text


@contextlib.contextmanager
def run_lock(state_path: Path) -> Iterator[None]:
    """One fetch at a time: two would race on the state file and on content/."""
    state_path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with open(state_path.with_name(state_path.name + ".lock"), "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise FetchError(f"another fetch is running (lock on {fh.name})") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
