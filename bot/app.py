"""Build the PTB Application: defaults, rate limiting, handlers, jobs, start and stop hooks.

The engine is either given (tests, terminal) or loaded in ``post_init`` in a worker thread,
before polling starts, so the first question never waits for the model and the event loop
is never blocked by it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from telegram import BotCommand, BotCommandScopeDefault, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter, Application, ContextTypes, Defaults

import index
from bot import handlers
from bot.delivery import retrying
from bot.logs import clamp_noisy_loggers
from bot.ratelimit import RateLimiter
from bot.services import KEY, Services, services
from bot.settings import BotSettings
from bot.store import Store
from bot.texts import commands

if TYPE_CHECKING:
    from index import Engine, Fetcher

WEB_KEY = "web_runner"  # bot_data key of the web pages' server, when PUBLIC_URL is set

log = logging.getLogger(__name__)

_DEFAULT: object = object()
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY]
INLINE_RATE_FACTOR = 5  # inline queries arrive as the user types


def default_engine_factory() -> Engine:
    from index import IndexSettings, open_engine

    return open_engine(IndexSettings())


def build_application(
    settings: BotSettings,
    engine: Engine | None = None,
    *,
    engine_factory: Callable[[], Engine] = default_engine_factory,
    store: Store | None = None,
    fetcher: Fetcher | object | None = _DEFAULT,
) -> Application:
    """The whole bot, not started; ``engine=None`` loads it with ``engine_factory`` at start.

    ``fetcher`` is what scheduled updates and /update call before rebuilding; by default
    ``index.fetch_feeds`` (the fetching stack imported on the first update) when the bot loads
    its own engine, and nothing (rebuild only) when the caller hands an engine in (tests,
    embedding) without a fetcher.
    """
    if fetcher is _DEFAULT:
        fetcher = index.fetch_feeds if engine is None else None
    token = settings.token
    if not token:
        raise ValueError("TELEGRAM_BOT_TOKEN is required to build the Telegram application")
    clamp_noisy_loggers()
    timeout = settings.request_timeout_seconds
    builder = (
        Application.builder()
        .token(token)
        .base_url(settings.telegram_api_base_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                allow_sending_without_reply=True,
            )
        )
        .concurrent_updates(True)
        .rate_limiter(AIORateLimiter(max_retries=settings.flood_max_retries))
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .write_timeout(timeout)
        .pool_timeout(timeout)
        .get_updates_connect_timeout(timeout)
        .get_updates_pool_timeout(timeout)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if settings.telegram_api_file_url:
        builder = builder.base_file_url(settings.telegram_api_file_url)
    application = builder.build()

    rate = settings.rate_limit_per_minute
    application.bot_data[KEY] = Services(
        settings=settings,
        store=store or Store(settings.store_path),
        limiter=RateLimiter(rate, settings.rate_limit_burst),
        inline_limiter=RateLimiter(
            rate * INLINE_RATE_FACTOR, settings.rate_limit_burst * INLINE_RATE_FACTOR
        ),
        engine=engine,
        fetcher=fetcher,  # type: ignore[arg-type]
    )
    application.bot_data["engine_factory"] = engine_factory
    handlers.register(application, settings.admin_user_ids)
    return application


class TokenRefused(RuntimeError):
    """Telegram refused the token at start: no retry can help."""


async def wait_for_telegram(
    application: Application, *, first_delay: float = 1.0, max_delay: float = 60.0
) -> None:
    """Initialise the application (its getMe), retrying while Telegram cannot be reached,
    with a doubling delay and one clear log line per try, instead of exiting with a
    traceback: a bot started before the network (or during an outage) comes up by itself."""
    delay, attempt = first_delay, 1
    while True:
        try:
            await application.initialize()
        except InvalidToken as exc:
            raise TokenRefused(
                "Telegram refused the token: check TELEGRAM_BOT_TOKEN (@BotFather /token)"
            ) from exc
        except (NetworkError, RetryAfter) as exc:  # TimedOut is a NetworkError
            wait = max(delay, float(getattr(exc, "retry_after", 0) or 0))
            log.warning(
                "Telegram unreachable at start (%s: %s); try %d, next in %.0f s",
                type(exc).__name__,
                exc,
                attempt,
                wait,
            )
            await asyncio.sleep(wait)
            delay, attempt = min(max_delay, delay * 2), attempt + 1
        else:
            if attempt > 1:
                log.info("Telegram reached after %d tries", attempt)
            return


async def _post_init(application: Application) -> None:
    svc = services(application)
    if svc.engine is None:
        log.info("loading the search engine")
        factory = application.bot_data["engine_factory"]
        svc.engine = await asyncio.to_thread(factory)
        log.info("search engine ready")
    await register_commands(application)
    schedule_jobs(application)
    svc = services(application)
    port = svc.settings.effective_health_port
    if port:
        from bot.health import RUNNER_KEY, start_health_server

        application.bot_data[RUNNER_KEY] = await start_health_server(
            svc, svc.settings.health_listen, port
        )
    if svc.settings.public_url:
        from bot.web.serve import site_for, start_web_server

        site = site_for(svc, svc.settings.public_url, application.bot.username)
        application.bot_data[WEB_KEY] = await start_web_server(
            site, svc.settings.web_listen, svc.settings.web_port
        )


async def register_commands(application: Application) -> None:
    """The command menu, French by default and English for English-speaking clients."""
    bot = application.bot
    retries = services(application).settings.send_retries
    for lang, code in (("fr", None), ("en", "en")):
        menu = [BotCommand(name, description) for name, description in commands(lang)]  # type: ignore[arg-type]
        try:
            await retrying(
                lambda menu=menu, code=code: bot.set_my_commands(
                    menu, scope=BotCommandScopeDefault(), language_code=code
                ),
                retries,
            )
        except Exception as exc:  # the menu is a comfort; the bot works without it
            log.warning("setMyCommands failed for %s: %s", lang, type(exc).__name__)


def schedule_jobs(application: Application) -> None:
    """Reload a newer index when one appears; optional scheduled update; daily pruning."""
    jobs = application.job_queue
    if jobs is None:
        log.warning("no job queue: index reloads and updates are off")
        return
    settings = services(application).settings
    jobs.run_repeating(
        reload_job,
        interval=settings.reload_interval_seconds,
        first=settings.reload_interval_seconds,
        name="reload-index",
    )
    if settings.update_interval_minutes:
        interval = dt.timedelta(minutes=settings.update_interval_minutes)
        jobs.run_repeating(update_job, interval=interval, first=interval, name="update-index")
    jobs.run_repeating(prune_job, interval=dt.timedelta(days=1), first=60, name="prune-store")


async def reload_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    engine = services(context).engine
    if engine is not None and await asyncio.to_thread(engine.reload_if_changed):
        log.info("switched to a newer index")


async def update_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Scheduled update: fetch the feeds, then rebuild incrementally, off the event loop."""
    svc = services(context)
    if svc.engine is None or svc.rebuild_lock.locked():
        return
    async with svc.rebuild_lock:
        try:
            result = await asyncio.to_thread(svc.update_index)
        except Exception as exc:
            log.error("scheduled update failed: %s", type(exc).__name__)
            await svc.count("errors")
            return
    log.info("scheduled update done: %s", result.summary().replace("\n", " | "))


async def prune_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    svc = services(context)
    removed = await svc.in_store(svc.store.prune, svc.settings.answer_retention_days)
    if removed:
        log.info("pruned %d old answers", removed)


async def _post_shutdown(application: Application) -> None:
    svc = services(application)
    from bot.health import RUNNER_KEY, stop_health_server

    await stop_health_server(application.bot_data.pop(RUNNER_KEY, None))
    if WEB_KEY in application.bot_data:
        from bot.web.serve import stop_web_server

        await stop_web_server(application.bot_data.pop(WEB_KEY))
    await svc.in_store(svc.store.close)
    svc.store_thread.shutdown(wait=True)
    close = getattr(svc.engine, "close", None)
    if callable(close):
        await asyncio.to_thread(close)
    log.info("bot stopped")
