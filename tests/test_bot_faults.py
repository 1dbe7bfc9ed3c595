"""Faults around the bot, injected through the real path: a full disk under the store, a
corrupt store file, Telegram down at start, hostile callbacks. Nothing lost, the bot answers."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from bot_fixtures import *  # noqa: F403  (fixtures)
from bot_fixtures import REPO, start_bot, stop_bot
from fakebotapi import TOKEN, FakeBotApi
from test_bot_ops import free_port

from bot.__main__ import webhook_options
from bot.app import build_application
from bot.check import check_store
from bot.services import KEY
from bot.settings import BotSettings
from bot.store import Store
from bot.webhook import guard_webhook_server, unguard_webhook_server

QUESTION = "vidéosurveillance algorithmique"


async def ask(api: FakeBotApi, user: dict, text: str = QUESTION, timeout: float = 15) -> Any:
    """Send ``text`` as ``user``; the bot's next message to them."""
    since = api.mark()
    api.send_text(user, text)
    return await api.wait_for(
        "sendMessage", lambda c: c["chat_id"] == user["id"], since=since, timeout=timeout
    )


def buttons(call: Any) -> list[dict]:
    markup = call.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


@contextlib.contextmanager
def tiny_filesystem(folder: Path) -> Iterator[bool]:
    """A 1 MiB tmpfs at ``folder`` (True) when this process may mount one (root);
    else nothing (False) and the caller limits SQLite's own size instead."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
            capture_output=True,
        ).returncode
        == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> None:
    """Write zeros until the file system refuses: ENOSPC for every later write."""
    try:
        with open(folder / "filler", "wb") as fh:
            while True:
                fh.write(b"\0" * 4096)
                fh.flush()
    except OSError as exc:
        assert exc.errno == errno.ENOSPC


async def test_on_a_full_disk_the_answer_is_sent_without_its_buttons(
    fake_api: FakeBotApi, bot_engine: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "tiny"
    with tiny_filesystem(folder) as real:
        app = await start_bot(fake_api, bot_engine, folder / "bot.sqlite3")
        svc = app.bot_data[KEY]
        try:
            if real:
                fill(folder)
            else:  # no mount here: SQLite's own size limit raises the same SQLITE_FULL
                db = svc.store._db
                pages = db.execute("PRAGMA page_count").fetchone()[0]
                db.execute(f"PRAGMA max_page_count = {pages}")
            user = fake_api.new_user()
            with caplog.at_level(logging.WARNING, logger="bot.services"):
                call = await ask(fake_api, user)
            assert "<blockquote" in call["text"]  # the quotes went out
            assert "t.me/" not in call["text"] and buttons(call) == []  # nothing to share
            assert "Désolé" not in call["text"]
            assert "answer not saved (OperationalError: database or disk is full)" in caplog.text
            with pytest.raises(sqlite3.OperationalError, match="full"):
                svc.store.save_answer([])  # the fault was real, not bypassed
        finally:
            await stop_bot(app)


def _damaged_store(path: Path) -> bytes:
    """A real store with answers, then one page in its middle overwritten."""
    store = Store(path)
    for i in range(300):
        store.count("questions", i)
    store.close()
    with sqlite3.connect(path) as db:  # answers of the store's own schema, written directly
        db.executemany(
            "INSERT INTO answers(id, results, created) VALUES (?, ?, '2026-01-01')",
            [(f"id{i:09d}", "x" * 500) for i in range(300)],
        )
    db.close()
    data = bytearray(path.read_bytes())
    data[4096 * 3 : 4096 * 5] = b"\xff" * 8192
    path.write_bytes(bytes(data))
    return bytes(data)


@pytest.mark.parametrize("kind", ["not a database", "damaged page"])
async def test_a_corrupt_store_is_moved_aside_and_the_bot_keeps_answering(
    fake_api: FakeBotApi, bot_engine: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    kind: str,
) -> None:  # fmt: skip
    path = tmp_path / "bot.sqlite3"
    if kind == "not a database":
        original = b"this is not SQLite, just bytes that a bad disk left behind\n" * 100
        path.write_bytes(original)
    else:
        original = _damaged_store(path)
    settings = BotSettings(telegram_bot_token=TOKEN, store_path=path)
    before = check_store(settings)
    assert before.status == "FAIL" and "corrupt" in before.detail
    assert "moves it aside" in before.detail and "writable" not in before.detail

    with caplog.at_level(logging.WARNING, logger="bot.store"):
        app = await start_bot(fake_api, bot_engine, path)
    try:
        call = await ask(fake_api, fake_api.new_user())
        assert "<blockquote" in call["text"] and buttons(call)  # saved in the fresh store
    finally:
        await stop_bot(app)
    (aside,) = tmp_path.glob("bot.sqlite3.corrupt-*[0-9TZ]")
    assert aside.read_bytes() == original  # kept as it was, for inspection or .recover
    assert "moved aside to " + aside.name in caplog.text
    assert check_store(settings).status == "ok"


async def _answer(api: FakeBotApi, user: dict) -> tuple[Any, str]:
    call = await ask(api, user)
    (aid,) = {b["callback_data"].split(":")[1] for b in buttons(call) if "callback_data" in b}
    return call, aid


async def test_a_flood_of_button_presses_is_rate_limited_like_questions(
    fake_api: FakeBotApi, bot_engine: Any, tmp_path: Path
) -> None:
    app = await start_bot(fake_api, bot_engine, tmp_path / "bot.sqlite3")  # burst 4
    try:
        user = fake_api.new_user()
        first, aid = await _answer(fake_api, user)  # one token
        since = fake_api.mark()
        ids = [fake_api.press(user, first.result, f"m:{aid}:3") for _ in range(40)]
        await fake_api.wait_for(
            "answerCallbackQuery", lambda c: c["callback_query_id"] == ids[-1], since=since
        )
        await asyncio.sleep(1.0)
        sent = fake_api.calls_of("sendMessage", lambda c: c["chat_id"] == user["id"], since)
        assert 1 <= len(sent) <= 3  # the burst left after the question, then refusals
        popups = fake_api.calls_of("answerCallbackQuery", since=since)
        assert len(popups) == 40  # every press gets its spinner stopped
        assert any("réessayez dans une minute" in (c.get("text") or "") for c in popups)
        assert app.bot_data[KEY].store.counters()["rate_limited"] >= 37
    finally:
        await stop_bot(app)


async def test_forged_votes_count_once_per_user_and_answer(
    fake_api: FakeBotApi, bot_engine: Any, tmp_path: Path
) -> None:
    app = await start_bot(
        fake_api, bot_engine, tmp_path / "bot.sqlite3", rate_limit_burst=100,
        rate_limit_per_minute=600,
    )  # fmt: skip
    store = app.bot_data[KEY].store
    try:
        user, other = fake_api.new_user(), fake_api.new_user()
        first, aid = await _answer(fake_api, user)
        since = fake_api.mark()
        ids = [fake_api.press(user, first.result, f"f:{aid}:u") for _ in range(30)]
        ids += [fake_api.press(other, first.result, f"f:{aid}:u") for _ in range(5)]
        ids += [fake_api.press(user, first.result, f"f:{aid}:d")]  # no changing sides either
        await fake_api.wait_for("answerCallbackQuery", since=since, count=len(ids), timeout=20)
        counters = store.counters()
        assert (counters["feedback_up"], counters["feedback_down"]) == (2, 0)
    finally:
        await stop_bot(app)


# ----------------------------------------------------------------- Telegram down at start


def _bot_env(engine: Any, tmp_path: Path, base_url: str, token: str = TOKEN) -> dict[str, str]:
    settings = engine.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=token,
        TELEGRAM_API_BASE_URL=base_url,
        EMBEDDING_MODEL=settings.embedding_model,
        EMBEDDING_BACKEND=settings.embedding_backend,
        CONTENT_DIR=str(settings.content_dir),
        INDEX_DIR=str(settings.index_dir),
        CACHE_DIR=str(settings.cache_dir),
        STORE_PATH=str(tmp_path / "bot.sqlite3"),
        REQUEST_TIMEOUT_SECONDS="2",
        UPDATE_INTERVAL_MINUTES="0",
        HEALTH_PORT="0",
        PYTHONPATH=str(REPO),  # this checkout's bot, whatever is installed
    )
    return env


async def test_telegram_down_at_start_the_bot_waits_then_answers(
    bot_engine: Any, tmp_path: Path
) -> None:
    port = free_port()
    api = FakeBotApi(port=port)
    env = _bot_env(bot_engine, tmp_path, api.base_url)
    log_path = tmp_path / "bot.log"
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, stdout=log_file,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while b"Telegram unreachable at start" not in log_path.read_bytes():
            assert proc.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            await asyncio.sleep(0.2)
        await api.start()  # Telegram is back
        user = api.new_user()
        call = await ask(api, user, timeout=90)
        assert "<blockquote" in call["text"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
        await api.stop()
    start = log_path.read_text().split("Application started")[0]  # (PTB's shutdown may log)
    assert "Telegram unreachable at start (" in start and "Telegram reached after" in start
    assert "Traceback" not in start and TOKEN.split(":")[1] not in start


def test_a_refused_token_at_start_exits_2_with_one_clear_line(
    bot_engine: Any, tmp_path: Path
) -> None:
    async def serve_then_run() -> subprocess.CompletedProcess:
        api = FakeBotApi()
        await api.start()
        try:
            env = _bot_env(bot_engine, tmp_path, api.base_url, token="42:" + "y" * 30)
            return await asyncio.to_thread(
                subprocess.run, [sys.executable, "-m", "bot"], cwd=tmp_path, env=env,
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
        finally:
            await api.stop()

    run = asyncio.run(serve_then_run())
    out = run.stdout + run.stderr
    assert run.returncode == 2, out
    assert "Telegram refused the token: check TELEGRAM_BOT_TOKEN" in out
    assert "Traceback" not in out and "y" * 30 not in out


# ----------------------------------------------------------------------------- webhook


async def _raw_post(port: int, secret: str | None, length: int) -> bytes:
    """Send only a POST's headers (declaring ``length`` body bytes); the server's answer, or
    b"" when it waits for the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = "POST /tg/hook HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {length}\r\n"
    head += f"X-Telegram-Bot-Api-Secret-Token: {secret}\r\n" if secret else ""
    writer.write((head + "\r\n").encode())
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(200), 3)
    except TimeoutError:
        return b""
    finally:
        writer.close()


async def test_the_webhook_refuses_a_body_before_reading_it(
    fake_api: FakeBotApi, bot_engine: Any, tmp_path: Path
) -> None:
    port = free_port()
    settings = BotSettings(
        telegram_bot_token=TOKEN, telegram_api_base_url=fake_api.base_url,
        store_path=tmp_path / "bot.sqlite3", webhook_url="https://bot.example/tg/hook",
        webhook_secret="s3cret_token-1", webhook_listen="127.0.0.1", webhook_port=port,
    )  # fmt: skip
    app = build_application(settings, bot_engine)
    await app.initialize()
    await app.start()
    guard_webhook_server("s3cret_token-1")  # what `python -m bot` does in webhook mode
    try:
        await app.updater.start_webhook(**webhook_options(settings))
        # 60 MB announced without the secret: refused on the headers, nothing read.
        for secret in (None, "wrong"):
            answer = await _raw_post(port, secret, 60_000_000)
            assert answer.startswith(b"HTTP/1.1 400"), answer
        # With the secret, a body past the cap is refused just as early.
        assert (await _raw_post(port, "s3cret_token-1", 60_000_000)).startswith(b"HTTP/1.1 400")
        # A real update still goes through.
        user = fake_api.new_user()
        update = {"update_id": 20_000, "message": fake_api.message(user, "/start")}
        since = fake_api.mark()
        async with aiohttp.ClientSession() as session:
            headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret_token-1"}
            url = f"http://127.0.0.1:{port}/tg/hook"
            async with session.post(url, json=update, headers=headers) as resp:
                assert resp.status == 200
        await fake_api.wait_for("sendMessage", lambda c: c["chat_id"] == user["id"], since=since)
    finally:
        unguard_webhook_server()
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


# ----------------------------------------------------------------------- invalid UTF-8

BAD = "\ud800 vidéosurveillance\udc9b algorithmique \x9b\ud83d"  # lone halves, a C1 byte


async def test_invalid_unicode_from_telegram_gets_an_answer(
    fake_api: FakeBotApi, bot_engine: Any, tmp_path: Path
) -> None:
    app = await start_bot(fake_api, bot_engine, tmp_path / "bot.sqlite3")
    try:
        user = fake_api.new_user()
        since = fake_api.mark()
        call = await ask(fake_api, user, BAD)
        assert "<blockquote" in call["text"] and "Désolé" not in call["text"]
        query_id = fake_api.inline(user, BAD)
        cards = await fake_api.wait_for(
            "answerInlineQuery", lambda c: c["inline_query_id"] == query_id, since=since
        )
        assert cards["results"]
        assert fake_api.bad_requests(since) == []
    finally:
        await stop_bot(app)


def test_invalid_utf8_in_the_terminal_loses_no_line(bot_engine: Any, tmp_path: Path) -> None:
    env = _bot_env(bot_engine, tmp_path, "http://127.0.0.1:9/bot", token="")
    env["PYTHONIOENCODING"] = "utf-8:strict"  # a UTF-8 terminal's default (C locale: lenient)
    stdin = b"caf\x9b \xff\xfe\n" + QUESTION.encode() + b"\n"
    proc = subprocess.run(
        [sys.executable, "-m", "bot"], input=stdin, capture_output=True, env=env, cwd=tmp_path,
        timeout=300,
    )  # fmt: skip
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err and "Désolé" not in out  # the bad line: a plain answer
    assert out.count("│ ") >= 1  # and the question after it was answered
    first = bot_engine.search(QUESTION, k=9).results[0]
    assert first.url in out


async def test_telegram_down_mid_run_the_bot_answers_when_it_is_back(
    bot_engine: Any, tmp_path: Path
) -> None:
    api = FakeBotApi()
    await api.start()
    app = await start_bot(api, bot_engine, tmp_path / "bot.sqlite3")
    try:
        user = api.new_user()
        await ask(api, user)
        await api.stop()  # Telegram goes away for a few seconds
        await asyncio.sleep(3)
        back = FakeBotApi(port=api.port)
        back._update_ids = api._update_ids  # Telegram's update ids go on after an outage
        await back.start()
        api = back
        user = back.new_user()
        call = await ask(back, user, timeout=30)
        assert "<blockquote" in call["text"]
    finally:
        await stop_bot(app)
        await api.stop()
