"""Inline keyboards and their callback data.

Callback data carries only an answer id and an offset (never the question): the state lives in
the store, so buttons still work after a restart, and Telegram's 64-byte limit is far away.
"""

from __future__ import annotations

import re

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.texts import Lang, text

SHARE_PREFIX = "share:"
_MORE_RE = re.compile(r"^m:([A-Za-z0-9_-]{11}):(\d{1,3})$")
_VOTE_RE = re.compile(r"^f:([A-Za-z0-9_-]{11}):([ud])$")


def more_data(aid: str, offset: int) -> str:
    return f"m:{aid}:{offset}"


def vote_data(aid: str, up: bool) -> str:
    return f"f:{aid}:{'u' if up else 'd'}"


def parse_more(data: str) -> tuple[str, int] | None:
    match = _MORE_RE.match(data)
    return (match.group(1), int(match.group(2))) if match else None


def parse_vote(data: str) -> tuple[str, bool] | None:
    match = _VOTE_RE.match(data)
    return (match.group(1), match.group(2) == "u") if match else None


def answer_keyboard(
    aid: str, lang: Lang, next_offset: int | None, *, votes: bool = True
) -> InlineKeyboardMarkup:
    """[More passages] [Share] / [👍] [👎]; "more" only when passages remain."""
    first_row = []
    if next_offset is not None:
        first_row.append(
            InlineKeyboardButton(text(lang, "btn_more"), callback_data=more_data(aid, next_offset))
        )
    first_row.append(
        InlineKeyboardButton(text(lang, "btn_share"), switch_inline_query=SHARE_PREFIX + aid)
    )
    rows = [first_row]
    if votes:
        rows.append(
            [
                InlineKeyboardButton(text(lang, "btn_up"), callback_data=vote_data(aid, True)),
                InlineKeyboardButton(text(lang, "btn_down"), callback_data=vote_data(aid, False)),
            ]
        )
    return InlineKeyboardMarkup(rows)


def open_answer_keyboard(url: str, lang: Lang, web_url: str | None = None) -> InlineKeyboardMarkup:
    """Under an inline card: open the full answer in a private chat with the bot, and on the
    web when PUBLIC_URL is set (for the people in that chat who do not use the bot)."""
    rows = [[InlineKeyboardButton(text(lang, "btn_open"), url=url)]]
    if web_url:
        rows.append([InlineKeyboardButton(text(lang, "btn_web"), url=web_url)])
    return InlineKeyboardMarkup(rows)
