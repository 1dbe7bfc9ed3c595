"""Inline mode: ``@bot question`` anywhere gives one card per quoted passage.

Each card carries a button opening the full answer in the bot (``/start <id>``). The share
button of an answer uses the query ``share:<id>``, which recalls the stored answer instead of
searching again. Inline queries arrive as the user types, so they have their own, looser
rate limit and are answered with an empty list (no message) when it is hit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import Application, ContextTypes, InlineQueryHandler

from bot.delivery import quietly
from bot.flow import ask
from bot.keyboards import SHARE_PREFIX, open_answer_keyboard
from bot.render import Quote, clean_text, render_answer, shorten
from bot.services import services, share_url, web_answer_url
from bot.store import answer_id, is_answer_id
from bot.texts import Lang, format_date, lang_for, text

log = logging.getLogger(__name__)
CACHE_SECONDS = 300
MAX_INLINE_QUERY = 256  # Telegram's own limit on inline query text


def cards(
    quotes: Sequence[Quote],
    aid: str | None,
    username: str,
    lang: Lang,
    public_url: str | None = None,
) -> list[InlineQueryResultArticle]:
    """One article result per passage: title, date and quote; a button to the full answer
    and one to its web page when PUBLIC_URL is set (none when the answer could not be saved:
    ``aid`` is None)."""
    web_url = web_answer_url(public_url, aid) if public_url and aid else None
    markup = open_answer_keyboard(share_url(username, aid), lang, web_url) if aid else None
    key = aid or answer_id(quotes)
    results = []
    for i, quote in enumerate(quotes):
        when = format_date(quote.date, lang)
        body = render_answer([quote], lang, header=False, share_url=None)
        results.append(
            InlineQueryResultArticle(
                id=f"{key}-{i}",
                title=shorten(clean_text(quote.title), 120),
                description=f"{when} — {shorten(clean_text(quote.quote), 180)}",
                input_message_content=InputTextMessageContent(body, parse_mode=ParseMode.HTML),
                reply_markup=markup,
            )
        )
    return results


async def on_inline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.inline_query
    if query is None:
        return
    svc = services(context)
    lang = lang_for(update)
    raw = clean_text(query.query or "")[:MAX_INLINE_QUERY]
    ask_bot = InlineQueryResultsButton(text(lang, "inline_open_bot"), start_parameter="aide")

    if raw.startswith(SHARE_PREFIX):
        aid = raw[len(SHARE_PREFIX) :].strip()
        quotes = await svc.in_store(svc.store.get_answer, aid) if is_answer_id(aid) else None
        if quotes:
            await svc.count("shares")
            results = cards(quotes, aid, context.bot.username, lang, svc.settings.public_url)
            await quietly(lambda: query.answer(results, cache_time=CACHE_SECONDS))
        else:
            await quietly(lambda: query.answer([], button=ask_bot, cache_time=0))
        return

    if not raw:
        await quietly(lambda: query.answer([], button=ask_bot, cache_time=CACHE_SECONDS))
        return
    who = query.from_user.id if query.from_user else None
    asked = await ask(svc, raw, limiter=svc.inline_limiter, who=who, counter="inline")
    if asked.outcome == "rate_limited":
        await quietly(lambda: query.answer([], button=ask_bot, cache_time=0, is_personal=True))
    elif asked.outcome == "nothing":
        nothing = InlineQueryResultsButton(text(lang, "inline_nothing"), start_parameter="aide")
        await quietly(lambda: query.answer([], button=nothing, cache_time=CACHE_SECONDS))
    else:
        results = cards(
            list(asked.quotes), asked.answer_id, context.bot.username, lang, svc.settings.public_url
        )
        await quietly(lambda: query.answer(results, button=ask_bot, cache_time=CACHE_SECONDS))


def register(application: Application) -> None:
    application.add_handler(InlineQueryHandler(on_inline))
