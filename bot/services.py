"""What every handler shares: settings, engine, store, limiters; kept in ``bot_data``.

One typed object instead of loose ``bot_data`` keys, so handlers cannot misspell a key and
tests can build the bot around any engine.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from telegram.ext import Application, CallbackContext

from bot.ratelimit import OncePerUser, RateLimiter
from bot.render import Quote
from bot.settings import BotSettings
from bot.store import Store

if TYPE_CHECKING:
    from index import Engine, Fetcher, UpdateReport

KEY = "services"
T = TypeVar("T")


@dataclass
class Services:
    settings: BotSettings
    store: Store
    limiter: RateLimiter
    inline_limiter: RateLimiter
    engine: Engine | None = None
    votes: OncePerUser = field(default_factory=OncePerUser)  # one 👍/👎 per user and answer
    fetcher: Fetcher | None = None  # what updates fetch with (index.fetch_all); None: build only
    rebuild_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    # The store's own thread: its calls take a fraction of a millisecond, and in the shared
    # pool each of an answer's three (counters, quotes) waited behind every queued search,
    # so that under load some answers waited three queues instead of one.
    store_thread: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="store")
    )

    def require_engine(self) -> Engine:
        if self.engine is None:
            raise RuntimeError("engine not loaded yet")
        return self.engine

    def update_index(self) -> UpdateReport:
        """The update every surface runs (``index.update``): fetch, build, switch the engine;
        blocking (call it in a worker thread)."""
        import index

        engine = self.require_engine()
        return index.update(engine.settings, engine=engine, fetcher=self.fetcher)

    async def in_store(self, call: Callable[..., T], *args: Any) -> T:
        """Run a store call off the event loop, on the store's thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.store_thread, functools.partial(call, *args))

    async def save_answer(self, quotes: list[Quote]) -> str | None:
        """Keep an answer's quotes for its buttons; ``None`` when the store cannot (full disk,
        read-only or damaged file): the answer is then sent without them, never lost."""
        try:
            return await self.in_store(self.store.save_answer, quotes)
        except (sqlite3.Error, OSError) as exc:
            logging.getLogger(__name__).warning(
                "answer not saved (%s: %s): sent without its buttons", type(exc).__name__, exc
            )
            return None

    async def count(self, name: str, n: int = 1) -> None:
        """Bump an anonymous counter without blocking the loop; never fails a reply."""
        try:
            await self.in_store(self.store.count, name, n)
        except Exception:  # a counter is not worth losing an answer for
            logging.getLogger(__name__).warning("counter %s not saved", name, exc_info=True)


def services(context: CallbackContext | Application) -> Services:
    data = context.bot_data
    return data[KEY]  # type: ignore[no-any-return]


def share_url(username: str, aid: str) -> str:
    """Deep link that opens the stored answer in a private chat with the bot."""
    return f"https://t.me/{username}?start={aid}"


def answer_link(settings: BotSettings, username: str, aid: str) -> str:
    """The link a shared answer gives: its web page when PUBLIC_URL is set (it opens for
    people without Telegram, and its preview shows the quote), else the deep link."""
    if settings.public_url:
        return web_answer_url(settings.public_url, aid)
    return share_url(username, aid)


def web_answer_url(public_url: str, aid: str) -> str:
    return f"{public_url.rstrip('/')}/a/{aid}"
