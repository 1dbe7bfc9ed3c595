"""The terminal chat (no token): same engine, same texts, plain text, clean exit on EOF."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from typing import Any

import pytest
from bot_fixtures import *  # noqa: F403  (fixtures)
from bot_fixtures import run_terminal_bot

from bot.terminal import TerminalChat, run_terminal

QUESTION = "vidéosurveillance algorithmique"


@pytest.fixture(scope="module")
def question(bot_engine: Any) -> str:
    for candidate in (QUESTION, "Qu'est-ce que la VSA ?", "capteurs sonores", "Technopolice"):
        answer = bot_engine.search(candidate, k=9)
        if answer.answered and len(answer.results) >= 4:
            return candidate
    pytest.fail("the test corpus answers none of the candidate questions")


def test_terminal_chat_in_process(bot_engine: Any, question: str) -> None:
    stdin = io.StringIO(
        f"{question}\nplus\nplus\nplus\n\x00\x07\n<b>&amp;</b> & <i>\n/sujets\n/apropos\nquit\n"
        "never read\n"
    )
    stdout = io.StringIO()
    assert run_terminal(lambda: bot_engine, "fr", stdin, stdout) == 0
    out = stdout.getvalue()
    first = bot_engine.search(question, k=9).results[0]
    assert "│ " in out and first.title in out and first.url in out
    assert "Autres passages (4–6" in out
    assert "Il n'y a pas d'autres passages" in out
    assert "Articles de la campagne" in out and "Articles :" in out
    assert "<b>" not in out.replace("<b>&amp;</b>", "")
    assert "never read" not in out


def test_terminal_chat_never_shows_a_traceback() -> None:
    class Broken:
        def search(self, query: str, k: int = 5) -> Any:
            raise RuntimeError("boom")

    chat = TerminalChat(Broken(), "en")  # type: ignore[arg-type]
    stdout = io.StringIO()
    assert run_terminal(lambda: chat.engine, "en", io.StringIO("hello\n"), stdout) == 0
    assert "something went wrong" in stdout.getvalue()
    assert "Traceback" not in stdout.getvalue()


def test_python_m_bot_without_token_chats_in_the_terminal(
    bot_engine: Any,
    question: str,
    tmp_path,
) -> None:
    proc = run_terminal_bot(bot_engine.settings, tmp_path, f"{question}\n")
    first = bot_engine.search(question, k=9).results[0]
    assert "│ " + first.quote.split()[0] in proc.stdout
    assert first.url in proc.stdout
    assert "faiss" not in proc.stderr  # its loader's CPU probing is no news to a reader


def test_python_m_bot_names_a_bad_setting(tmp_path) -> None:
    env = dict(os.environ, TELEGRAM_BOT_TOKEN="oops", ADMIN_USER_IDS="1")
    proc = subprocess.run(
        [sys.executable, "-m", "bot"], capture_output=True, text=True, env=env, cwd=tmp_path,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in proc.stderr and "oops" not in proc.stderr
    assert "Traceback" not in proc.stderr
