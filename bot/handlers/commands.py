"""Commands: /start (with share-link payloads), /aide, /sujets, /nouveautes, /apropos,
/confidentialite.

French names first, English aliases (/help, /topics, /latest, /about, /privacy) beside them.
"""

from __future__ import annotations

import asyncio

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes, filters

from bot import replies
from bot.handlers.common import reply, reply_answer
from bot.render import render_latest
from bot.services import services
from bot.store import is_answer_id
from bot.texts import lang_for, text

HELP_PAYLOADS = frozenset({"aide", "help"})


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Welcome; or, with a share-link payload, the stored answer it points to."""
    message = update.effective_message
    if message is None:
        return
    lang = lang_for(update)
    payload = context.args[0] if context.args else ""
    if payload in HELP_PAYLOADS:
        await on_help(update, context)
        return
    if payload:
        svc = services(context)
        quotes = (
            await svc.in_store(svc.store.get_answer, payload) if is_answer_id(payload) else None
        )
        if not quotes:
            await reply(message, context, text(lang, "unknown_payload"))
            return
        await svc.count("shares")
        await reply_answer(message, context, quotes, payload, lang)
        return
    await reply(message, context, replies.welcome(lang))


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None:
        lang = lang_for(update)
        await reply(message, context, replies.help_text(lang, context.bot.username or ""))


async def on_topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every article, newest first, split across as many messages as needed."""
    message = update.effective_message
    if message is None:
        return
    lang = lang_for(update)
    engine = services(context).require_engine()
    articles = await asyncio.to_thread(engine.articles)
    for part in replies.topics(articles, lang):
        await reply(message, context, part)


async def on_latest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The newest articles with their dates and links (the archive spans fifteen years)."""
    message = update.effective_message
    if message is None:
        return
    articles = await asyncio.to_thread(services(context).require_engine().articles)
    await reply(message, context, render_latest(articles, lang_for(update)))


async def on_about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    lang = lang_for(update)
    info = await asyncio.to_thread(services(context).require_engine().info)
    await reply(message, context, replies.about(info, lang))


async def on_privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None:
        days = services(context).settings.answer_retention_days
        await reply(message, context, replies.privacy(lang_for(update), days))


def register(application: Application) -> None:
    only_new = filters.UpdateType.MESSAGE
    application.add_handler(CommandHandler("start", on_start, filters=only_new))
    application.add_handler(CommandHandler(["aide", "help"], on_help, filters=only_new))
    application.add_handler(CommandHandler(["sujets", "topics"], on_topics, filters=only_new))
    application.add_handler(CommandHandler(["nouveautes", "latest"], on_latest, filters=only_new))
    application.add_handler(CommandHandler(["apropos", "about"], on_about, filters=only_new))
    application.add_handler(
        CommandHandler(["confidentialite", "privacy"], on_privacy, filters=only_new)
    )
