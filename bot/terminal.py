"""Chat in the terminal when no token is configured: same engine, same texts, plain text.

Useful to try the corpus without Telegram. Reads one question per line until EOF or
``quit``; any odd input gets a sentence, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from bot.render import (
    PAGE_SIZE,
    Quote,
    clean_text,
    esc,
    html_to_plain,
    quotes_of,
    render_answer,
    render_article_lines,
    render_latest,
    render_nothing,
)
from bot.texts import EXAMPLES, Lang, example, format_date, text
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
        self.k = k
        self.retention_days = retention_days
        self.quotes: list[Quote] = []
        self.offset = 0

    def welcome(self) -> str:
        examples = "\n".join(f"• {esc(q)}" for q in EXAMPLES[self.lang])
        hint = (
            "\n\n(« plus » : autres passages · « quit » : quitter)"
            if self.lang == "fr"
            else ("\n\n(“more”: more passages · “quit”: leave)")
        )
        return html_to_plain(text(self.lang, "welcome", examples=examples)) + hint

    def handle(self, line: str) -> str:
        """The plain-text reply to one input line."""
        command = line.strip().lower().split("@", 1)[0]
        if command in ("/start",):
            return self.welcome()
        if command in ("/aide", "/help"):
            return html_to_plain(text(self.lang, "help", username="bot"))
        if command in ("/sujets", "/topics"):
            articles = self.engine.articles()
            if not articles:
                return html_to_plain(text(self.lang, "topics_empty"))
            header = text(self.lang, "topics_header", count=len(articles))
            return html_to_plain("\n".join([header, *render_article_lines(articles, self.lang)]))
        if command in ("/nouveautes", "/latest"):
            return html_to_plain(render_latest(self.engine.articles(), self.lang))
        if command in ("/apropos", "/about"):
            info = self.engine.info()
            built = info.built_at.date() if info.built_at else None
            refreshed = getattr(info, "content_refreshed_at", None)
            return html_to_plain(
                text(
                    self.lang,
                    "about",
                    articles=info.articles,
                    passages=info.passages,
                    newest=format_date(info.newest_article, self.lang),
                    built=format_date(built, self.lang),
                    refreshed=format_date(refreshed.date() if refreshed else None, self.lang),
                )
            )
        if command in ("/confidentialite", "/privacy"):
            return html_to_plain(text(self.lang, "privacy", days=self.retention_days))
        if command in MORE:
            return self.more()
        question = clean_text(line)
        if not question:
            return html_to_plain(render_nothing("empty", self.lang, example(self.lang)))
        lang: Lang = "en" if detect_lang(question) == "en" else self.lang
        answer = self.engine.search(question, k=self.k)
        if not answer.answered or not answer.results:
            self.quotes = []
            return html_to_plain(render_nothing(answer.reason, lang, example(lang)))
        self.quotes = quotes_of(answer.results)
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
