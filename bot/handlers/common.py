"""Helpers shared by handlers: replying robustly and showing one page of a stored answer."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Message
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.delivery import retrying
from bot.keyboards import answer_keyboard
from bot.render import PAGE_SIZE, Quote, render_answer
from bot.services import answer_link, services
from bot.texts import Lang

log = logging.getLogger(__name__)


async def reply(
    message: Message, context: ContextTypes.DEFAULT_TYPE, html: str, **kwargs: object
) -> Message:
    """Reply in the same chat (quoting the question in groups), retrying network errors;
    with PAID_BROADCAST, past Telegram's free 30 messages a second (AIORateLimiter then
    counts the message against its 1,000-a-second limit), and at the free rate when Telegram
    refuses to bill it (an empty Stars balance must not cost an answer)."""
    settings = services(context).settings
    retries = settings.send_retries
    if settings.paid_broadcast:
        try:
            return await retrying(
                lambda: message.reply_text(html, allow_paid_broadcast=True, **kwargs),  # type: ignore[arg-type]
                retries,
            )
        except BadRequest as exc:
            log.warning("paid broadcast refused (%s): sent at the free rate", exc.message)
    return await retrying(lambda: message.reply_text(html, **kwargs), retries)  # type: ignore[arg-type]


def next_offset(quotes: Sequence[Quote], offset: int) -> int | None:
    nxt = offset + PAGE_SIZE
    return nxt if nxt < len(quotes) else None


async def reply_answer(
    message: Message,
    context: ContextTypes.DEFAULT_TYPE,
    quotes: Sequence[Quote],
    aid: str | None,
    lang: Lang,
    offset: int = 0,
) -> Message:
    """Send one page of the answer ``aid`` with its share link and keyboard; an answer that
    could not be saved (``aid`` None) goes out alone: its buttons would find nothing."""
    url = answer_link(services(context).settings, context.bot.username, aid) if aid else None
    html = render_answer(quotes, lang, offset=offset, share_url=url)
    markup = answer_keyboard(aid, lang, next_offset(quotes, offset)) if aid else None
    return await reply(message, context, html, reply_markup=markup)
