"""Admin commands, for ADMIN_USER_IDS only: /reindex (rebuild from content/), /update (fetch
the feeds, then rebuild) and /stats.

Other users get no answer at all from these commands (they fall through to nothing), so the
bot does not advertise them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, filters

import index
from bot.handlers.common import reply
from bot.render import esc, shorten
from bot.services import Services, services
from bot.store import COUNTERS
from bot.texts import lang_for, text

log = logging.getLogger(__name__)


async def _run_job(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    name: str,
    job: Callable[[Services], index.BuildReport | index.UpdateReport],
    started: str,
    done: str,
) -> None:
    """One rebuild at a time, in a worker thread; the old index answers meanwhile."""
    message = update.effective_message
    if message is None:
        return
    svc = services(context)
    lang = lang_for(update)
    if svc.rebuild_lock.locked():
        await reply(message, context, text(lang, "reindex_busy"))
        return
    async with svc.rebuild_lock:
        await reply(message, context, text(lang, started))
        log.info("%s requested by an admin", name)
        try:
            result = await asyncio.to_thread(job, svc)
        except Exception as exc:
            log.exception("%s failed", name)
            await reply(
                message, context, text(lang, "reindex_failed", error=esc(type(exc).__name__))
            )
            return
        summary = result.summary()
        log.info("%s done: %s", name, summary.replace("\n", " | "))
        await reply(message, context, text(lang, done, summary=esc(shorten(summary, 3500))))


async def on_reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Rebuild from content/."""
    await _run_job(
        update, context, "rebuild", lambda svc: index.rebuild(svc.require_engine()),
        "reindex_started", "reindex_done",
    )  # fmt: skip


async def on_update(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Fetch new articles from the feeds, then rebuild."""
    await _run_job(
        update, context, "update",
        lambda svc: svc.update_index(),
        "update_started", "update_done",
    )  # fmt: skip


async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    svc = services(context)
    since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=6)
    week = await svc.in_store(svc.store.counters, since)
    total = await svc.in_store(svc.store.counters, None)
    table = "\n".join(f"{name:<14}{week[name]:>7}{total[name]:>9}" for name in COUNTERS)
    await reply(message, context, text(lang_for(update), "stats", table=esc(table)))


def register(application: Application, admin_ids: frozenset[int]) -> None:
    admins = filters.User(user_id=list(admin_ids)) & filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("reindex", on_reindex, filters=admins))
    application.add_handler(CommandHandler("stats", on_stats, filters=admins))
    application.add_handler(CommandHandler("update", on_update, filters=admins))
