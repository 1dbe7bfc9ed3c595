"""``python -m bot check``: one line per check, exit codes 0/1/2, never a secret."""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from bot_fixtures import *  # noqa: F403  (fixtures)
from fakebotapi import TOKEN, FakeBotApi

from bot.check import check_telegram, check_webhook, main_check, telegram_url
from bot.settings import BotSettings

REPO = Path(__file__).resolve().parents[1]
SETTING_VARS = (
    "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "WEBHOOK_URL", "WEBHOOK_SECRET",
    "WEBHOOK_PORT", "HEALTH_PORT", "EMBEDDING_MODEL", "EMBEDDING_BACKEND", "CONTENT_DIR",
    "INDEX_DIR", "CACHE_DIR", "STORE_PATH",
)  # fmt: skip


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, engine: Any) -> pytest.MonkeyPatch:
    """Settings of the shared test engine (MiniLM, torch), a store in tmp; no .env read."""
    for name in SETTING_VARS:
        monkeypatch.delenv(name, raising=False)
    settings = engine.settings
    monkeypatch.setenv("EMBEDDING_MODEL", settings.embedding_model)
    monkeypatch.setenv("EMBEDDING_BACKEND", settings.embedding_backend)
    monkeypatch.setenv("CONTENT_DIR", str(settings.content_dir))
    monkeypatch.setenv("INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("CACHE_DIR", str(settings.cache_dir))
    monkeypatch.setenv("STORE_PATH", str(tmp_path / "store" / "bot.sqlite3"))
    monkeypatch.setitem(BotSettings.model_config, "env_file", None)
    from index.config import IndexSettings

    monkeypatch.setitem(IndexSettings.model_config, "env_file", None)
    return monkeypatch


def run_check(quick: bool = True) -> tuple[int, list[str]]:
    out = io.StringIO()
    code = main_check(quick=quick, out=out)
    return code, out.getvalue().splitlines()


def test_quick_check_passes_on_a_built_index(env: pytest.MonkeyPatch, engine: Any) -> None:
    code, lines = run_check(quick=True)
    info = engine.info()
    assert code == 0, lines
    assert lines[0] == "ok  settings: valid"
    assert lines[1].startswith(
        f"ok  index: version {info.version}, {info.articles} articles, {info.passages} passages"
    )
    assert lines[2] == "skip model: not loaded (--quick)"
    assert [line.split(":")[0] for line in lines[3:]] == [
        "ok  store", "ok  folders", "skip telegram", "skip webhook",
    ]  # fmt: skip


def test_full_check_loads_the_model(env: pytest.MonkeyPatch, engine: Any) -> None:
    code, lines = run_check(quick=False)
    assert code == 0, lines
    model = next(line for line in lines if "model:" in line)
    assert model.startswith(f"ok  model: {engine.embedder.model_id} (torch), 384 dims")


def test_corrupt_or_mismatched_index_fails_with_advice(
    env: pytest.MonkeyPatch, engine: Any, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    shutil.copytree(engine.settings.index_dir, index_dir)
    env.setenv("INDEX_DIR", str(index_dir))
    env.setenv("EMBEDDING_BACKEND", "auto")
    env.setenv("EMBEDDING_MODEL", str(tmp_path / "other-model"))  # another model id
    (tmp_path / "other-model").mkdir()
    code, lines = run_check()
    assert code == 1
    assert lines[1].startswith("FAIL index: ") and "python -m index build" in lines[1]
    env.setenv("EMBEDDING_MODEL", engine.settings.embedding_model)
    env.setenv("EMBEDDING_BACKEND", engine.settings.embedding_backend)
    version = (index_dir / "CURRENT").read_text().strip()
    passages = index_dir / "versions" / version / "passages.jsonl"
    passages.write_text(passages.read_text() + "\n", encoding="utf-8")
    code, lines = run_check()
    assert code == 1 and lines[1].startswith("FAIL index: ") and "corrupt" in lines[1]
    env.setenv("INDEX_DIR", str(tmp_path / "nothing"))
    code, lines = run_check()
    assert code == 1 and "no index" in lines[1]


def test_invalid_settings_exit_2_without_secrets(env: pytest.MonkeyPatch) -> None:
    env.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    env.setenv("WEBHOOK_URL", "https://bot.example/hook")  # no WEBHOOK_SECRET
    code, lines = run_check()
    assert code == 2
    assert lines and all(line.startswith("FAIL settings: ") for line in lines)
    assert TOKEN not in "\n".join(lines)
    env.setenv("WEBHOOK_SECRET", "x" * 10)
    env.setenv("WEBHOOK_PORT", "not-a-port")
    code, lines = run_check()
    assert code == 2 and "WEBHOOK_PORT" in lines[0]


def test_cli_exit_code_and_output(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env.setenv("HEALTH_PORT", "-1")
    run = subprocess.run(
        [sys.executable, "-m", "bot", "check", "--quick"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2, run.stdout + run.stderr
    assert run.stdout.startswith("FAIL settings: invalid setting HEALTH_PORT")


async def test_telegram_check_against_the_bot_api(
    env: pytest.MonkeyPatch, fake_api: FakeBotApi
) -> None:
    settings = BotSettings(telegram_bot_token=TOKEN, telegram_api_base_url=fake_api.base_url)
    check = await asyncio.to_thread(check_telegram, settings)
    assert check.status == "ok" and check.detail.startswith("@")
    wrong = BotSettings(
        telegram_bot_token="42:" + "x" * 30, telegram_api_base_url=fake_api.base_url
    )
    check = await asyncio.to_thread(check_telegram, wrong)
    assert check.status == "FAIL" and "refused the token (401)" in check.detail
    assert "x" * 30 not in check.line()
    # A 404 is not "token refused": the Bot API's own 404, or no Bot API at all.
    path = BotSettings(
        telegram_bot_token=TOKEN,
        telegram_api_base_url=fake_api.base_url.replace("/bot", "/api/bot"),
    )
    check = await asyncio.to_thread(check_telegram, path)
    assert check.status == "FAIL" and "refused" not in check.detail
    assert "no such bot or method (404)" in check.detail and "TELEGRAM_API_BASE_URL" in check.detail
    with plain_http_server() as base:
        other = BotSettings(telegram_bot_token=TOKEN, telegram_api_base_url=base + "/bot")
        check = await asyncio.to_thread(check_telegram, other)
    assert check.status == "FAIL" and "refused" not in check.detail
    assert "HTTP 404 without the Bot API's JSON: not a Bot API server" in check.detail
    assert TOKEN not in check.line()
    down = BotSettings(telegram_bot_token=TOKEN, telegram_api_base_url="http://127.0.0.1:9/bot")
    check = await asyncio.to_thread(check_telegram, down)
    assert check.status == "FAIL" and "unreachable" in check.detail and TOKEN not in check.line()
    # the whole command, token set: no secret in its output
    env.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    env.setenv("TELEGRAM_API_BASE_URL", fake_api.base_url)
    code, lines = await asyncio.to_thread(run_check)
    assert code == 0, lines
    assert lines[5].startswith("ok  telegram: @")
    assert TOKEN.split(":")[1] not in "\n".join(lines)


@contextlib.contextmanager
def plain_http_server() -> Iterator[str]:
    """A web server that is not the Bot API (a proxy's or a site's 404 page)."""

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_telegram_url_placeholder() -> None:
    assert telegram_url("https://bot-api.invalid/bot", "1:a", "getMe") == (
        "https://bot-api.invalid/bot1:a/getMe"
    )
    assert telegram_url("http://h/x/{token}/", "1:a", "getMe") == "http://h/x/1:a//getMe"


def test_webhook_coherence() -> None:
    base: dict[str, Any] = {"telegram_bot_token": TOKEN, "webhook_secret": "s3cret"}
    ok = check_webhook(BotSettings(webhook_url="https://bot.example/tg/hook", **base))
    assert ok.status == "ok" and "health on :8080" in ok.detail and "s3cret" not in ok.line()
    bad_port = check_webhook(BotSettings(webhook_url="https://bot.example:8080/tg", **base))
    assert bad_port.status == "FAIL" and "8080" in bad_port.detail
    no_path = check_webhook(BotSettings(webhook_url="https://bot.example", **base))
    assert no_path.status == "FAIL" and "path" in no_path.detail
    clash = check_webhook(
        BotSettings(webhook_url="https://bot.example/tg", health_port=8443, **base)
    )
    assert clash.status == "FAIL" and "HEALTH_PORT" in clash.detail
    polling = check_webhook(BotSettings())
    assert polling.status == "skip" and "polling" in polling.detail
