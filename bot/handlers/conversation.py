"""Questions: private messages, group mentions and replies to the bot, and ``/q``.

The search runs in a worker thread (``asyncio.to_thread``) so that one slow search never
stalls the other chats; the user sees "typing…" only when it takes a while (see
``TYPING_DELAY_SECONDS``).
"""

from __future__ import annotations

import asyncio
import logging
import re

from telegram import Chat, Message, MessageEntity, Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot.delivery import quietly
from bot.flow import ask
from bot.handlers.common import reply, reply_answer
from bot.render import clean_text, render_nothing
from bot.services import services
from bot.texts import example, lang_for, text

log = logging.getLogger(__name__)

# "typing…" is shown only when the answer is not ready after this delay. Most searches take
# ~15 ms, and every chat action is one more request against Telegram's flood limit
# (AIORateLimiter: 30 requests/s to chats, shared by all users): sent for every question, it
# halved the answers the bot could send per second. Half a second is about when a user starts
# to wonder whether the bot heard them.
TYPING_DELAY_SECONDS = 0.5


class _AddressedToBot(filters.MessageFilter):
    """A group message that mentions the bot or replies to one of its messages."""

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        replied = message.reply_to_message
        if replied and replied.from_user and replied.from_user.id == bot.id:
            return True
        username = (bot.username or "").lower()
        for entity, value in message.parse_entities(
            [MessageEntity.MENTION, MessageEntity.TEXT_MENTION]
        ).items():
            if entity.type == MessageEntity.TEXT_MENTION:
                if entity.user and entity.user.id == bot.id:
                    return True
            elif value.lower() == f"@{username}":
                return True
        return False


ADDRESSED_TO_BOT = _AddressedToBot(name="addressed_to_bot")


async def typing_after(chat: Chat, delay: float) -> None:
    """Say "typing…" in ``chat`` after ``delay``; the caller cancels this once the answer is
    ready, so a fast answer costs no request and a pending action never outlives it."""
    await asyncio.sleep(delay)
    try:
        await quietly(lambda: chat.send_action(ChatAction.TYPING))
    except TelegramError as exc:  # e.g. a 429 after AIORateLimiter's retries: only an extra
        log.info("typing action failed: %s", type(exc).__name__)


def strip_mention(value: str, username: str) -> str:
    if not username:
        return value
    return re.sub(rf"@{re.escape(username)}\b", " ", value, flags=re.IGNORECASE)


async def answer_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: str
) -> None:
    """The shared question flow (bot/flow.py), then the first page of the answer."""
    message = update.effective_message
    if message is None:
        return
    svc = services(context)
    lang = lang_for(update, question)
    user = update.effective_user
    typing = asyncio.create_task(typing_after(message.chat, TYPING_DELAY_SECONDS))
    try:
        asked = await ask(svc, question, limiter=svc.limiter, who=user.id if user else None)
    finally:
        # An action not sent yet (in its delay, or waiting for its turn in the rate limiter)
        # never will be; asyncio.wait never raises, and the action is over before the answer.
        typing.cancel()
        await asyncio.wait({typing})
    if asked.outcome == "rate_limited":
        if asked.first_refusal:
            await reply(message, context, text(lang, "rate_limited"))
    elif asked.outcome == "nothing":
        await reply(message, context, render_nothing(asked.reason, lang, example(lang)))
    else:
        await reply_answer(message, context, list(asked.quotes), asked.answer_id, lang)


async def on_private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message and message.text is not None:
        await answer_question(update, context, message.text)


async def on_group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message and message.text is not None:
        question = strip_mention(message.text, context.bot.username or "")
        await answer_question(update, context, question)


async def on_q(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/q question``: the way to ask in a group without mentioning the bot."""
    message = update.effective_message
    if message is None:
        return
    question = " ".join(context.args or [])
    if not clean_text(question):
        lang = lang_for(update)
        await reply(message, context, text(lang, "q_usage", example=example(lang)))
        return
    # Keep the question's own line breaks: take the text after the command itself.
    raw = (message.text or "").split(maxsplit=1)
    await answer_question(update, context, raw[1] if len(raw) > 1 else question)


async def on_private_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice… in private: a hint to write the question."""
    message = update.effective_message
    if message is None:
        return
    lang = lang_for(update)
    await reply(message, context, text(lang, "send_text", example=example(lang)))


async def on_unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None:
        await reply(message, context, text(lang_for(update), "unknown_command"))


def register(application: Application) -> None:
    new_message = filters.UpdateType.MESSAGE
    private = filters.ChatType.PRIVATE & new_message
    groups = filters.ChatType.GROUPS & new_message
    application.add_handler(CommandHandler("q", on_q, filters=new_message))
    application.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, on_private_text)
    )
    application.add_handler(
        MessageHandler(groups & filters.TEXT & ~filters.COMMAND & ADDRESSED_TO_BOT, on_group_text)
    )
    application.add_handler(MessageHandler(private & filters.COMMAND, on_unknown_command))
    application.add_handler(
        MessageHandler(private & ~filters.TEXT & ~filters.StatusUpdate.ALL, on_private_other)
    )
