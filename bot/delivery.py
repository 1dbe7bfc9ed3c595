"""Sending that survives Telegram's bad moments.

Flood limits (429) are retried by PTB's ``AIORateLimiter``. Here: transient network errors and
5xx are retried a few times with a short back-off, because an answer that can still be sent
must not be lost; "message is not modified" is a success; a blocked bot is not an error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram.error import BadRequest, Forbidden, NetworkError

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_SECONDS = 0.5


def is_not_modified(exc: BaseException) -> bool:
    return isinstance(exc, BadRequest) and "not modified" in exc.message.lower()


async def retrying(factory: Callable[[], Awaitable[T]], retries: int = 2) -> T:
    """Await ``factory()``, again on a transient network error (never on a 400/403)."""
    attempt = 0
    while True:
        try:
            return await factory()
        except BadRequest:
            raise
        except NetworkError as exc:  # includes TimedOut and 5xx
            if attempt >= retries:
                raise
            attempt += 1
            log.info("transient Telegram error (%s), retry %d", type(exc).__name__, attempt)
            await asyncio.sleep(BACKOFF_SECONDS * attempt)


async def quietly(factory: Callable[[], Awaitable[object]], retries: int = 0) -> bool:
    """For extras (chat actions, edits of a keyboard): failures are logged, never raised."""
    try:
        await retrying(factory, retries)
    except Forbidden:
        log.info("bot blocked or removed from a chat")
        return False
    except BadRequest as exc:
        if is_not_modified(exc):
            return True
        log.info("Telegram refused an optional call: %s", exc.message)
        return False
    except NetworkError as exc:
        log.info("optional call failed: %s", type(exc).__name__)
        return False
    return True
