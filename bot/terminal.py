"""Chat in the terminal when no token is configured: same engine, same texts, plain text.

Useful to try the corpus without Telegram. Reads one question per line until EOF or
``quit``; any odd input gets a sentence, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from bot import replies
from bot.flow import ask
from bot.ratelimit import RateLimiter
from bot.render import (
    PAGE_SIZE,
    Quote,
    clean_text,
    html_to_plain,
    render_answer,
    render_latest,
    render_nothing,
)
from bot.services import Services
from bot.settings import BotSettings
from bot.store import Store
from bot.texts import Lang, example, text
from index import detect_lang

if TYPE_CHECKING:
    from index import Engine

log = logging.getLogger(__name__)
QUIT = frozenset({"quit", "exit", "/quit", "/exit", ":q"})
MORE = frozenset({"plus", "more", "/plus", "/more"})


class TerminalChat:
    """The conversation state of one terminal session: the last answer, for "plus"."""

    def __init__(self, engine: Engine, lang: Lang, k: int = 9, retention_days: int = 365) -> None:
        self.engine = engine
        self.lang = lang
        self.retention_days = retention_days
        self.quotes: list[Quote] = []
        self.offset = 0
        # The question flow every surface shares (bot/flow.py); its answers kept in memory
        # only: the terminal has no share links, and one user (no rate limit: who=None).
        self.services = Services(
            settings=BotSettings.model_construct(results_per_question=k),
            store=Store(":memory:"),
            limiter=RateLimiter(60, 10),
            inline_limiter=RateLimiter(60, 10),
            engine=engine,
        )

    def close(self) -> None:
        self.services.store.close()
        self.services.store_thread.shutdown(wait=True)

    def welcome(self) -> str:
        hint = (
            "\n\n(« plus » : autres passages · « quit » : quitter)"
            if self.lang == "fr"
            else ("\n\n(“more”: more passages · “quit”: leave)")
        )
        return html_to_plain(replies.welcome(self.lang)) + hint

    def handle(self, line: str) -> str:
        """The plain-text reply to one input line."""
        command = line.strip().lower().split("@", 1)[0]
        if command in ("/start",):
            return self.welcome()
        if command in ("/aide", "/help"):
            return html_to_plain(replies.help_text(self.lang, "bot"))
        if command in ("/sujets", "/topics"):
            return "\n".join(
                html_to_plain(m) for m in replies.topics(self.engine.articles(), self.lang)
            )
        if command in ("/nouveautes", "/latest"):
            return html_to_plain(render_latest(self.engine.articles(), self.lang))
        if command in ("/apropos", "/about"):
            return html_to_plain(replies.about(self.engine.info(), self.lang))
        if command in ("/confidentialite", "/privacy"):
            return html_to_plain(replies.privacy(self.lang, self.retention_days))
        if command in MORE:
            return self.more()
        question = clean_text(line)
        if not question:
            return html_to_plain(render_nothing("empty", self.lang, example(self.lang)))
        lang: Lang = "en" if detect_lang(question) == "en" else self.lang
        asked = asyncio.run(ask(self.services, question, limiter=self.services.limiter, who=None))
        if asked.outcome != "answered":
            self.quotes = []
            return html_to_plain(render_nothing(asked.reason, lang, example(lang)))
        self.quotes = list(asked.quotes)
        self.offset = 0
        return html_to_plain(render_answer(self.quotes, lang))

    def more(self) -> str:
        if self.offset + PAGE_SIZE >= len(self.quotes):
            return html_to_plain(text(self.lang, "no_more"))
        self.offset += PAGE_SIZE
        return html_to_plain(render_answer(self.quotes, self.lang, offset=self.offset))


def run_terminal(
    engine_factory: Callable[[], Engine],
    lang: Lang = "fr",
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    *,
    k: int = 9,
    retention_days: int = 365,
) -> int:
    """Loop until EOF or ``quit``; returns the exit status."""
    if stdin is None:
        stdin = sys.stdin
        # Bytes that are not UTF-8 reach clean_text (as U+DC80..U+DCFF) instead of ending
        # the loop with a UnicodeDecodeError: one bad line must not drop the next ones.
        with contextlib.suppress(AttributeError, ValueError):
            stdin.reconfigure(errors="surrogateescape")  # type: ignore[attr-defined]
    stdout = stdout or sys.stdout
    interactive = stdin.isatty()
    print(
        "Chargement du moteur de recherche…" if lang == "fr" else "Loading the search engine…",
        file=sys.stderr,
    )
    try:
        engine = engine_factory()
    except Exception as exc:
        print(f"Cannot load the search engine: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    chat = TerminalChat(engine, lang, k=k, retention_days=retention_days)
    try:
        return _loop(chat, lang, stdin, stdout, interactive)
    finally:
        chat.close()


def _loop(chat: TerminalChat, lang: Lang, stdin: TextIO, stdout: TextIO, interactive: bool) -> int:
    print(chat.welcome(), file=stdout, flush=True)
    while True:
        if interactive:
            print("\n> ", end="", file=stdout, flush=True)
        try:
            line = stdin.readline()
        except (KeyboardInterrupt, UnicodeDecodeError):
            line = "" if not interactive else "\n"
        if not line:  # EOF
            break
        if line.strip().lower() in QUIT:
            break
        if not line.strip():
            continue
        try:
            reply = chat.handle(line)
        except Exception as exc:  # never a traceback in the user's face
            log.error("terminal chat error: %s", type(exc).__name__)
            reply = html_to_plain(text(lang, "error"))
        print(f"\n{reply}", file=stdout, flush=True)
    return 0
