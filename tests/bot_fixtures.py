"""Fixtures for the bot tests: the fake Bot API, and the real bot running against it.

Import with ``from bot_fixtures import *`` in a test module (pytest collects fixtures from the
module namespace). The engine comes from the shared ``engine`` fixture of conftest.py when it
exists; otherwise a session engine is built here over ``content/``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fakebotapi import TOKEN, Call, FakeBotApi
from telegram.ext import Application

from bot.app import ALLOWED_UPDATES, build_application
from bot.settings import BotSettings

REPO = Path(__file__).resolve().parents[1]
REQUEST_TIMEOUT = 2.0
RATE_BURST = 4


@pytest.fixture(scope="session")
def bot_engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The shared real engine if conftest provides one, else our own over a copy of content/.

    ``BOT_TESTS_INDEX_DIR`` keeps the built index between runs (handy while developing).
    """
    try:
        return request.getfixturevalue("engine")
    except pytest.FixtureLookupError:
        pass
    from index import open_engine
    from index.config import IndexSettings

    tmp = tmp_path_factory.mktemp("bot-index")
    content = tmp / "content"
    shutil.copytree(REPO / "content", content)
    keep = os.environ.get("BOT_TESTS_INDEX_DIR")
    index_dir = Path(keep) if keep else tmp / "index"
    settings = IndexSettings(
        content_dir=content,
        index_dir=index_dir,
        cache_dir=index_dir.parent / "cache" if keep else tmp / "cache",
        embedding_model="minilm",
    )
    return open_engine(settings)


@dataclass
class Harness:
    """A running bot and its fake Telegram; helpers speak as a user would."""

    api: FakeBotApi
    app: Application
    settings: BotSettings

    async def ask(
        self, user: dict, text: str | None, chat: dict | None = None, timeout: float = 15.0,
        **kwargs: Any,
    ) -> Call:  # fmt: skip
        """Send a message as ``user``; return the bot's next sendMessage to that chat."""
        since = self.api.mark()
        message = self.api.send_text(user, text, chat, **kwargs)
        chat_id = message["chat"]["id"]
        return await self.api.wait_for(
            "sendMessage", lambda c: c["chat_id"] == chat_id, timeout=timeout, since=since
        )

    async def silent(self, chat_id: int, since: int, settle: float = 1.0) -> bool:
        """True if the bot sent nothing to ``chat_id`` after ``since`` (waits ``settle``)."""
        await asyncio.sleep(settle)
        sent = [
            c
            for c in self.api.calls[since:]
            if c.get("chat_id") == chat_id
            and c.method.lower().startswith("send")
            and c.method != "sendChatAction"
        ]
        return not sent


async def start_bot(
    api: FakeBotApi, engine: Any, store_path: Path, **overrides: Any
) -> Application:
    values: dict[str, Any] = {
        "telegram_bot_token": TOKEN,
        "telegram_api_base_url": api.base_url,
        "store_path": store_path,
        "request_timeout_seconds": REQUEST_TIMEOUT,
        "rate_limit_burst": RATE_BURST,
        "rate_limit_per_minute": 2,
        "admin_user_ids": "4242",
        "reload_interval_seconds": 3600,
    }
    values.update(overrides)
    settings = BotSettings(**values)
    app = build_application(settings, engine)
    await app.initialize()
    if app.post_init:
        await app.post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES)
    return app


async def stop_bot(app: Application) -> None:
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
    await app.shutdown()
    if app.post_shutdown:
        await app.post_shutdown(app)


@pytest.fixture(scope="module")
async def fake_api() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi()
    await api.start()
    yield api
    await api.stop()


@pytest.fixture(scope="module")
async def harness(
    fake_api: FakeBotApi, bot_engine: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Harness]:
    store_path = tmp_path_factory.mktemp("bot-store") / "bot.sqlite3"
    app = await start_bot(fake_api, bot_engine, store_path)
    yield Harness(api=fake_api, app=app, settings=app.bot_data["services"].settings)
    await stop_bot(app)


def sent_to(chat_id: int) -> Callable[[Call], bool]:
    return lambda c: c.get("chat_id") == chat_id


NEW_ARTICLE_QUESTION = "Où la mairie de Montpellier installe-t-elle des capteurs sonores ?"


def own_engine(tmp_path: Path, index_settings: Any, embedder: Any) -> Any:
    """A real engine over a copy of the test corpus, that a test may rebuild and change
    (the session engine is shared); vectors come from the session's embedding cache."""
    from index import open_engine
    from index.config import IndexSettings

    content = tmp_path / "content"
    shutil.copytree(index_settings.content_dir, content, ignore=shutil.ignore_patterns(".*"))
    settings = IndexSettings(
        content_dir=content, index_dir=tmp_path / "index", cache_dir=index_settings.cache_dir,
        embedding_model="minilm", embedding_backend=index_settings.embedding_backend,
    )  # fmt: skip
    return open_engine(settings, embedder)


def add_article(content_dir: Path) -> str:
    """Save one new article (what a fetch would bring); returns its id."""
    import datetime as dt

    from index.corpus.article import article_id
    from index.corpus.folder import save_article
    from index.types import Article

    url = "https://example.org/2024/05/02/capteurs-sonores-montpellier/"
    article = Article(
        id=article_id(url), title="Capteurs sonores à Montpellier", date=dt.date(2024, 5, 2),
        url=url, source="Test", lang="fr",
        body="La mairie de Montpellier installe des capteurs sonores dans le quartier de "
        "l’Écusson.\n\nCes micros détectent les cris et alertent la police municipale.",
    )  # fmt: skip
    assert save_article(content_dir, article) == "added"
    return article.id


def run_terminal_bot(settings: Any, tmp_path: Path, lines: str) -> Any:
    """``python -m bot`` without a token (the terminal chat) over ``settings``' index, fed
    ``lines``: what a user at the terminal gets; this checkout's packages, no ``.env``."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
    # The same index as the in-process engine: every IndexSettings field, as environment.
    env.update({k.upper(): str(v) for k, v in settings.model_dump().items() if v is not None})
    env.update(TELEGRAM_BOT_TOKEN="", STORE_PATH=str(tmp_path / "bot.sqlite3"))
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    proc = subprocess.run(
        [sys.executable, "-m", "bot"], input=lines, capture_output=True, text=True, env=env,
        cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    return proc
