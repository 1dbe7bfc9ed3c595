"""Per-user token bucket, and one-vote-per-user memory, in memory only.

Keys are salted hashes of the user id (or of a web client's address), with a salt drawn at
start and never written anywhere: the limiter can tell two users apart for a minute without
being able to name either.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class RateLimiter:
    """``burst`` questions at once, refilled at ``per_minute``; forgets idle users."""

    def __init__(self, per_minute: float, burst: int, max_keys: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.max_keys = max_keys
        self._salt = os.urandom(16)
        self._buckets: dict[bytes, _Bucket] = {}

    def held_keys(self) -> list[bytes]:
        """What the limiter remembers about people: salted hashes only (audits and tests)."""
        return list(self._buckets)

    def _key(self, user_id: int | str) -> bytes:
        return hashlib.blake2b(str(user_id).encode(), key=self._salt, digest_size=16).digest()

    def check(self, user_id: int | str | None) -> tuple[bool, bool]:
        """Take one token: ``(allowed, first_refusal)``.

        ``first_refusal`` is True only the first time in a row a user is refused, so the
        polite notice is sent once rather than for every message of a flood.
        """
        if user_id is None:
            return True, False
        now = time.monotonic()
        key = self._key(user_id)
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= self.max_keys:
                self._forget_idle(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.warned = False
            return True, False
        first = not bucket.warned
        bucket.warned = True
        return False, first

    def _forget_idle(self, now: float) -> None:
        full_after = self.burst / self.rate if self.rate else 0.0
        for key in [k for k, b in self._buckets.items() if now - b.updated > full_after]:
            del self._buckets[key]
        if len(self._buckets) >= self.max_keys:
            self._buckets.clear()


class OncePerUser:
    """Remembers that a user did something about an item (voted on an answer), as a salted
    hash of both, so a forged or repeated press cannot count twice. In memory: a restart
    forgets (a vote may then count again once), and the oldest entries go past ``max_keys``."""

    def __init__(self, max_keys: int = 200_000) -> None:
        self.max_keys = max_keys
        self._salt = os.urandom(16)
        self._seen: dict[bytes, None] = {}  # insertion-ordered: the oldest first

    def first(self, user_id: int | None, item: str) -> bool:
        """True the first time ``user_id`` does ``item``; False afterwards (and with no user)."""
        if user_id is None:
            return False
        key = hashlib.blake2b(
            f"{user_id}\0{item}".encode(), key=self._salt, digest_size=16
        ).digest()
        if key in self._seen:
            return False
        if len(self._seen) >= self.max_keys:
            del self._seen[next(iter(self._seen))]
        self._seen[key] = None
        return True
