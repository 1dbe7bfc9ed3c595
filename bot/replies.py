"""The commands' replies, built once for every surface (Telegram, the terminal, the web):
the same words wherever /aide, /sujets, /apropos or /confidentialite is asked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.render import esc, render_article_lines, split_messages
from bot.texts import EXAMPLES, Lang, format_date, text

if TYPE_CHECKING:
    from index import ArticleInfo, IndexInfo


def welcome(lang: Lang) -> str:
    examples = "\n".join(f"• <i>{esc(q)}</i>" for q in EXAMPLES[lang])
    return text(lang, "welcome", examples=examples)


def help_text(lang: Lang, username: str) -> str:
    return text(lang, "help", username=esc(username))


def topics(articles: Sequence[ArticleInfo], lang: Lang) -> list[str]:
    """Every article, newest first, in as many messages as needed."""
    if not articles:
        return [text(lang, "topics_empty")]
    header = text(lang, "topics_header", count=len(articles))
    return split_messages(header, render_article_lines(articles, lang))


def _when(value: dt.datetime | dt.date | None, lang: Lang) -> str:
    day = value.date() if isinstance(value, dt.datetime) else value
    return format_date(day, lang)


def about(info: IndexInfo, lang: Lang) -> str:
    return text(
        lang,
        "about",
        articles=info.articles,
        passages=info.passages,
        newest=esc(_when(info.newest_article, lang)),
        built=esc(_when(info.built_at, lang)),
        refreshed=esc(_when(info.content_refreshed_at, lang)),
    )


def privacy(lang: Lang, retention_days: int) -> str:
    return text(lang, "privacy", days=retention_days)
