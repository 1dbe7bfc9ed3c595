"""Operations: webhook mode with its secret, the reload/update jobs, /reindex."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from bot_fixtures import *  # noqa: F403  (fixtures)
from bot_fixtures import NEW_ARTICLE_QUESTION, REQUEST_TIMEOUT, Harness, add_article, own_engine
from fakebotapi import TOKEN, FakeBotApi

from bot.__main__ import webhook_options
from bot.app import ALLOWED_UPDATES, build_application, reload_job, update_job
from bot.services import KEY
from bot.settings import BotSettings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_webhook_mode_checks_the_secret(fake_api: FakeBotApi, bot_engine: Any, tmp_path):
    port = free_port()
    settings = BotSettings(
        telegram_bot_token=TOKEN,
        telegram_api_base_url=fake_api.base_url,
        store_path=tmp_path / "bot.sqlite3",
        request_timeout_seconds=REQUEST_TIMEOUT,
        webhook_url="https://bot.example/tg/hook",
        webhook_secret="s3cret_token-1",
        webhook_listen="127.0.0.1",
        webhook_port=port,
    )
    app = build_application(settings, bot_engine)
    await app.initialize()
    await app.post_init(app)  # type: ignore[misc]
    await app.start()
    await app.updater.start_webhook(**webhook_options(settings), allowed_updates=ALLOWED_UPDATES)
    try:
        assert fake_api.webhook["url"] == "https://bot.example/tg/hook"
        assert fake_api.webhook["secret_token"] == "s3cret_token-1"
        user = fake_api.new_user()
        update = {"update_id": 10_000, "message": fake_api.message(user, "/start")}
        url = f"http://127.0.0.1:{port}/tg/hook"
        async with aiohttp.ClientSession() as session:
            for secret in (None, "wrong"):
                headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                async with session.post(url, json=update, headers=headers) as resp:
                    assert resp.status == 403
            since = fake_api.mark()
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret_token-1"}
            async with session.post(url, json=update, headers=headers) as resp:
                assert resp.status == 200
        welcome = await fake_api.wait_for(
            "sendMessage", lambda c: c["chat_id"] == user["id"], since=since
        )
        assert "Technopolice" in welcome["text"]
        assert len(fake_api.calls_of("sendMessage", lambda c: c["chat_id"] == user["id"])) == 1
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await app.post_shutdown(app)  # type: ignore[misc]


async def test_reindex_for_admins(
    harness: Harness, bot_engine: Any, index_settings: Any, embedder: Any, tmp_path: Path
) -> None:
    """The real build, on a copy of the test corpus: a new article becomes quotable."""
    svc = harness.app.bot_data[KEY]
    engine = own_engine(tmp_path, index_settings, embedder)
    svc.engine = engine
    try:
        api = harness.api
        admin, someone = api.new_user(uid=4242), api.new_user()
        add_article(engine.settings.content_dir)
        before = engine.info()
        refused = await harness.ask(someone, "/reindex")  # not an admin: an unknown command
        assert "Je ne connais pas cette commande" in refused["text"]
        assert engine.info().version == before.version
        since = api.mark()
        api.send_text(admin, "/reindex")
        done = await api.wait_for("sendMessage", lambda c: "<pre>" in c["text"], since=since)
        after = engine.info()
        assert after.version != before.version and after.articles == before.articles + 1
        assert f"index {after.version}: {after.articles} articles" in done["text"]
        answer = await harness.ask(api.new_user(), NEW_ARTICLE_QUESTION)
        assert "Capteurs sonores à Montpellier" in answer["text"]
        # A build that cannot write: the reply names the error's type, the old index serves.
        index_dir = Path(engine.settings.index_dir)
        index_dir.rename(index_dir.with_name("index.moved"))
        index_dir.write_text("not a folder")
        since = api.mark()
        api.send_text(admin, "/reindex")
        failed = await api.wait_for("sendMessage", lambda c: "échoué" in c["text"], since=since)
        assert "Error" in failed["text"] and str(tmp_path) not in failed["text"]
        assert engine.info().version == after.version
        assert (await harness.ask(api.new_user(), NEW_ARTICLE_QUESTION))["text"] == answer["text"]
    finally:
        svc.engine = bot_engine


async def test_jobs_reload_and_update_without_blocking(
    index_settings: Any, embedder: Any, tmp_path: Path
) -> None:
    """The scheduled jobs on a real engine copy: an update builds the new article and the
    engine switches; a job finding another rebuild running skips; a failing build is logged."""
    engine = own_engine(tmp_path, index_settings, embedder)
    settings = BotSettings(telegram_bot_token=TOKEN, store_path=tmp_path / "s.sqlite3")
    app = build_application(settings, engine)  # an engine handed in: updates only build
    context = SimpleNamespace(bot_data=app.bot_data)
    assert await asyncio.to_thread(engine.reload_if_changed) is False  # nothing new
    await reload_job(context)  # type: ignore[arg-type]
    before = engine.info()
    add_article(engine.settings.content_dir)
    async with app.bot_data[KEY].rebuild_lock:  # a rebuild in progress: the job skips
        await asyncio.wait_for(update_job(context), 1)  # type: ignore[arg-type]
    assert engine.info().version == before.version
    await update_job(context)  # type: ignore[arg-type]
    assert engine.info().articles == before.articles + 1
    index_dir = Path(engine.settings.index_dir)
    index_dir.rename(index_dir.with_name("index.moved"))
    index_dir.write_text("not a folder")  # the build cannot write: logged and counted
    await update_job(context)  # type: ignore[arg-type]
    assert app.bot_data[KEY].store.counters()["errors"] == 1
    app.bot_data[KEY].store.close()


def test_update_job_scheduled_only_when_asked(bot_engine: Any, tmp_path) -> None:
    from bot.app import schedule_jobs

    for minutes, expected in ((0, {"reload-index", "prune-store"}),
                              (30, {"reload-index", "prune-store", "update-index"})):  # fmt: skip
        settings = BotSettings(
            telegram_bot_token=TOKEN,
            store_path=tmp_path / f"s{minutes}.sqlite3",
            update_interval_minutes=minutes,
        )
        app = build_application(settings, bot_engine)
        schedule_jobs(app)
        names = {job.name for job in app.job_queue.jobs()}  # type: ignore[union-attr]
        assert names == expected
        app.bot_data[KEY].store.close()


def test_build_requires_a_token(tmp_path) -> None:
    settings = BotSettings(telegram_bot_token=None, store_path=tmp_path / "s")
    with pytest.raises(ValueError, match="TELEGRAM_BOT_TOKEN"):
        build_application(settings, object())  # type: ignore[arg-type]


async def test_error_handler_logs_no_user_text_and_tells_the_user(
    harness: Harness, bot_engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    class Exploding:
        def search(self, query: str, k: int = 5) -> Any:
            raise ValueError(f"cannot handle {query!r}")

        def __getattr__(self, name: str) -> Any:
            return getattr(bot_engine, name)

    svc = harness.app.bot_data[KEY]
    svc.engine = Exploding()
    try:
        call = await harness.ask(harness.api.new_user(), "question secrète xyzzy")
    finally:
        svc.engine = bot_engine
    assert "erreur" in call["text"]
    assert "ValueError" in caplog.text and "xyzzy" not in caplog.text
