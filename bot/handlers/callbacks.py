"""Buttons: "more passages" and 👍/👎.

Callback data is parsed strictly; anything else (old layouts, forged data) gets a polite
notice in the answerCallbackQuery popup and nothing more. Presses share the questions' rate
limit (a flood of "more" would be a flood of messages), and a user's vote on an answer counts
once. Feedback only bumps anonymous counters.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, ContextTypes

from bot.delivery import quietly
from bot.handlers.common import reply_answer
from bot.keyboards import answer_keyboard, parse_more, parse_vote
from bot.services import services
from bot.texts import lang_for, text

log = logging.getLogger(__name__)


async def on_callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    lang = lang_for(update)
    data = query.data or ""
    svc = services(context)
    message = query.message if isinstance(query.message, Message) else None
    user_id = query.from_user.id if query.from_user else None
    allowed, first_refusal = svc.limiter.check(user_id)  # the questions' own limiter
    if not allowed:
        await svc.count("rate_limited")
        if first_refusal:
            log.info("button press refused by the rate limit")
        await quietly(lambda: query.answer(text(lang, "rate_limited_button")))
        return

    more = parse_more(data)
    if more is not None and message is not None:
        aid, offset = more
        quotes = await svc.in_store(svc.store.get_answer, aid)
        if not quotes or offset <= 0 or offset >= len(quotes):
            await quietly(lambda: query.answer(text(lang, "callback_invalid")))
            return
        await quietly(query.answer)  # stop the button's spinner at once
        await svc.count("more")
        # The old message keeps its quotes; only its "more" button goes away.
        await quietly(lambda: message.edit_reply_markup(answer_keyboard(aid, lang, None)))
        await reply_answer(message, context, quotes, aid, lang, offset=offset)
        return

    vote = parse_vote(data)
    if vote is not None:
        aid, up = vote
        quotes = await svc.in_store(svc.store.get_answer, aid)
        if not quotes:
            await quietly(lambda: query.answer(text(lang, "callback_invalid")))
            return
        if not svc.votes.first(user_id, aid):
            await quietly(lambda: query.answer(text(lang, "feedback_already")))
            return
        await svc.count("feedback_up" if up else "feedback_down")
        await quietly(lambda: query.answer(text(lang, "feedback_thanks")))
        if message is not None:
            offset = _current_more_offset(message)
            await quietly(
                lambda: message.edit_reply_markup(answer_keyboard(aid, lang, offset, votes=False))
            )
        return

    log.info("callback with unknown data refused")
    await quietly(lambda: query.answer(text(lang, "callback_invalid"), show_alert=False))


def _current_more_offset(message: Message) -> int | None:
    """Keep the "more" button of a message when removing its vote buttons."""
    markup = message.reply_markup
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            parsed = (
                parse_more(button.callback_data or "")
                if isinstance(button.callback_data, str)
                else None
            )
            if parsed:
                return parsed[1]
    return None


def register(application: Application) -> None:
    application.add_handler(CallbackQueryHandler(on_callback))
