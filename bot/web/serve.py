"""Serving the web pages: beside the bot (PUBLIC_URL set) or alone (``python -m bot web``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

from aiohttp import web

from bot.health import start_runner
from bot.ratelimit import RateLimiter
from bot.services import Services
from bot.settings import BotSettings
from bot.store import Store
from bot.web.app import PathOnlyAccessLogger, WebSite, make_web_app

if TYPE_CHECKING:
    from index import Engine

log = logging.getLogger(__name__)
ACCESS_LOG = logging.getLogger("bot.web.access")


class _TypeOnly(logging.Filter):
    """aiohttp logs a malformed request with the client's address and the raw request line
    (which holds the question): keep only what went wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        record.msg = f"web server: {type(exc).__name__ if exc else 'error'} ({record.levelname})"
        record.args, record.exc_info, record.exc_text = (), None, None
        return True


SERVER_LOG = logging.getLogger("bot.web.server")
SERVER_LOG.addFilter(_TypeOnly())


def site_for(svc: Services, base_url: str, bot_username: str | None) -> WebSite:
    """The web search has its own limiter (keyed by client address), at the bot's rate."""
    settings = svc.settings
    return WebSite(
        svc=svc,
        base_url=base_url.rstrip("/"),
        bot_username=bot_username or settings.bot_username,
        limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        behind_proxy=settings.web_behind_proxy,
    )


def make_runner(site: WebSite) -> web.AppRunner:
    return web.AppRunner(
        make_web_app(site),
        access_log_class=PathOnlyAccessLogger,
        access_log=ACCESS_LOG,
        logger=SERVER_LOG,
    )


async def start_web_server(site: WebSite, host: str, port: int) -> web.AppRunner | None:
    """Start serving on the running loop (None, logged, if the port cannot be bound)."""
    return await start_runner(make_runner(site), host, port, f"web pages ({site.base_url})")


async def stop_web_server(runner: web.AppRunner | None) -> None:
    if runner is not None:
        await runner.cleanup()


def run_web(
    settings: BotSettings,
    engine_factory: Callable[[], Engine],
    host: str | None = None,
    port: int | None = None,
) -> int:
    """``python -m bot web``: the pages alone, no Telegram; blocks until SIGINT/SIGTERM."""
    from bot.__main__ import fast_event_loop

    host = host or settings.web_listen
    port = port or settings.web_port
    base_url = settings.public_url or f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"
    log.info("loading the search engine")
    try:
        engine = engine_factory()
    except Exception as exc:
        log.error("cannot load the search engine: %s: %s", type(exc).__name__, exc)
        return 1
    rate = settings.rate_limit_per_minute
    svc = Services(
        settings=settings,
        store=Store(settings.store_path),
        limiter=RateLimiter(rate, settings.rate_limit_burst),
        inline_limiter=RateLimiter(rate, settings.rate_limit_burst),
        engine=engine,
    )
    loop = fast_event_loop()
    asyncio.set_event_loop(loop)

    async def main() -> int:
        runner = await start_web_server(site_for(svc, base_url, None), host, port)
        if runner is None:
            return 1
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # Windows: Ctrl+C still works
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await stop_web_server(runner)
        return 0

    try:
        return loop.run_until_complete(main())
    except KeyboardInterrupt:
        return 0
    finally:
        svc.store.close()
        svc.store_thread.shutdown(wait=True)
        close = getattr(engine, "close", None)
        if callable(close):
            close()
        loop.close()
