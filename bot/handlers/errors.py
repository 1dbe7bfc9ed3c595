"""The one error handler: log without user data, count, and tell the user if we can.

Exception *messages* from outside Telegram may quote user input (a question inside a
ValueError, say), so only the exception type and the traceback's frames are logged for them;
Telegram's own error descriptions are generic and are logged as they are.
"""

from __future__ import annotations

import contextlib
import logging
import traceback

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ContextTypes

from bot.delivery import is_not_modified, quietly
from bot.services import services
from bot.texts import lang_for, text

log = logging.getLogger(__name__)


def describe(error: BaseException) -> str:
    """Type, Telegram description if any, and where it happened: never user input."""
    where = traceback.extract_tb(error.__traceback__)
    frames = " <- ".join(
        f"{f.filename.rsplit('/', 1)[-1]}:{f.lineno}" for f in reversed(where[-4:])
    )
    detail = f": {error.message}" if isinstance(error, TelegramError) else ""
    return f"{type(error).__name__}{detail} at {frames or '?'}"


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    if error is None:
        return
    if isinstance(error, Forbidden):
        log.info("bot blocked or removed from a chat")
        return
    if is_not_modified(error):
        return
    kind = type(update).__name__ if update is not None else "no update"
    if isinstance(error, RetryAfter | NetworkError) and not isinstance(error, BadRequest):
        log.warning("Telegram unreachable while handling %s: %s", kind, describe(error))
    else:
        log.error("error while handling %s: %s", kind, describe(error))
    with contextlib.suppress(KeyError):
        await services(context).count("errors")
    if not isinstance(update, Update):
        return
    lang = lang_for(update)
    query = update.callback_query
    if query is not None:  # stop the button's spinner with a word of explanation
        await quietly(lambda: query.answer(text(lang, "error")))
    elif update.effective_message is not None and update.inline_query is None:
        message = update.effective_message
        await quietly(lambda: message.reply_text(text(lang, "error")))


def register(application: Application) -> None:
    application.add_error_handler(on_error)
