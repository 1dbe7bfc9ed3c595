"""Operations at run time: health server, scheduled update and /update, /apropos refresh date,
structured logs without secrets."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from bot_fixtures import *  # noqa: F403  (fixtures)
from bot_fixtures import NEW_ARTICLE_QUESTION, Harness, add_article, own_engine, start_bot, stop_bot
from fakebotapi import TOKEN, FakeBotApi

from bot.app import build_application, update_job
from bot.health import start_health_server, stop_health_server
from bot.logs import make_formatter, redact, setup_logging
from bot.services import KEY
from bot.settings import BotSettings
from index import FetchReport, update
from index.corpus.fetching.report import SourceReport
from index.corpus.folder import REFRESHED_FILE, mark_refreshed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ------------------------------------------------------------------------ health server


async def _get(url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.json()


async def test_health_server_reports_engine_and_counters(bot_engine: Any, tmp_path: Path) -> None:
    settings = BotSettings(telegram_bot_token=TOKEN, store_path=tmp_path / "s.sqlite3")
    app = build_application(settings, bot_engine)
    svc = app.bot_data[KEY]
    svc.engine = None  # still loading
    port = free_port()
    runner = await start_health_server(svc, "127.0.0.1", port)
    assert runner is not None
    try:
        status, body = await _get(f"http://127.0.0.1:{port}/healthz")
        assert (status, body) == (503, {"status": "starting"})
        svc.engine = bot_engine
        info = bot_engine.info()
        status, body = await _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200
        assert body == {
            "status": "ok",
            "index_version": info.version,
            "articles": info.articles,
            "passages": info.passages,
        }
        for name, n in (("questions", 4), ("answered", 3), ("shares", 2), ("errors", 1)):
            svc.store.count(name, n)
        status, stats = await _get(f"http://127.0.0.1:{port}/stats.json")
        assert status == 200
        assert stats["index_version"] == info.version
        assert stats["total"]["questions"] == 4 and stats["total"]["answered_share"] == 0.75
        assert stats["last_7_days"]["shares"] == 2 and stats["last_7_days"]["errors"] == 1
        assert set(stats) == {
            "started_at", "index_version", "articles", "passages", "content_refreshed_at",
            "last_7_days", "total",
        }  # fmt: skip
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/nothing") as resp,
        ):
            assert resp.status == 404
        # a busy port is logged, not fatal
        assert await start_health_server(svc, "127.0.0.1", port) is None
    finally:
        await stop_health_server(runner)
        svc.store.close()


async def test_health_server_follows_the_application(
    fake_api: FakeBotApi, bot_engine: Any, tmp_path: Path
) -> None:
    """Polling mode with HEALTH_PORT set: started in post_init, stopped in post_shutdown."""
    port = free_port()
    app = await start_bot(
        fake_api, bot_engine, tmp_path / "bot.sqlite3", health_port=port, health_listen="127.0.0.1"
    )
    try:
        status, body = await _get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and body["status"] == "ok"
    finally:
        await stop_bot(app)
    with pytest.raises(aiohttp.ClientConnectionError):
        await _get(f"http://127.0.0.1:{port}/healthz")


def test_health_port_defaults() -> None:
    assert BotSettings().effective_health_port == 0
    assert BotSettings(health_port=9000).effective_health_port == 9000
    webhook = {"webhook_url": "https://bot.example/tg", "webhook_secret": "abc"}
    assert BotSettings(**webhook).effective_health_port == 8080
    assert BotSettings(**webhook, health_port=0).effective_health_port == 0


# ------------------------------------------------------------------------ update


def fetch_report(ok: bool = True) -> FetchReport:
    """What a fetch of one feed returns (the network is the outside world: faked here)."""
    source = SourceReport(name="Test", feed="https://example.org/feed", feed_status="fetched")
    if ok:
        source.added, source.updated, source.unchanged = 2, 1, 5
        source.skipped = [("https://x", "too big")]
    else:
        source.feed_status = "failed"
    return FetchReport(sources=[source])


def test_fetch_then_rebuild_marks_the_refresh(
    tmp_path: Path, index_settings: Any, embedder: Any
) -> None:
    """index.update on a real engine copy: fetch, note the refresh, build, switch."""
    engine = own_engine(tmp_path, index_settings, embedder)
    content = Path(engine.settings.content_dir)
    seen = []

    def fetcher(settings: Any) -> FetchReport:
        seen.append(settings)
        add_article(settings.content_dir)  # what the feed brought
        return fetch_report()

    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    articles = engine.info().articles
    result = update(engine.settings, engine=engine, fetcher=fetcher)
    assert seen == [engine.settings] and engine.info().articles == articles + 1
    assert result.summary().startswith(
        "fetch: 2 added, 1 updated, 5 unchanged, 1 skipped, 0/1 feeds failed\nindex "
    )
    assert engine.search(NEW_ARTICLE_QUESTION).answered
    stamp = dt.datetime.fromisoformat((content / REFRESHED_FILE).read_text().strip())
    assert stamp >= before
    # nothing fetched (every feed failed): no new refresh date, the build still runs
    (content / REFRESHED_FILE).unlink()
    result = update(engine.settings, engine=engine, fetcher=lambda s: fetch_report(ok=False))
    assert not result.fetched and not (content / REFRESHED_FILE).exists()

    def broken(settings: Any) -> Any:
        raise RuntimeError("sources.toml: bad")

    result = update(engine.settings, engine=engine, fetcher=broken)
    assert result.fetch_summary() == "fetch: failed (RuntimeError)"
    assert update(engine.settings, engine=engine, fetcher=None).fetch_summary() == (
        "fetch: not configured"
    )


async def test_update_job_fetches_then_rebuilds(
    tmp_path: Path, index_settings: Any, embedder: Any, caplog: Any
) -> None:
    caplog.set_level(logging.INFO)
    engine = own_engine(tmp_path, index_settings, embedder)
    fetched = []
    settings = BotSettings(telegram_bot_token=TOKEN, store_path=tmp_path / "s.sqlite3")

    def fetcher(s: Any) -> FetchReport:
        fetched.append(s)
        return fetch_report()

    app = build_application(settings, engine, fetcher=fetcher)
    context = SimpleNamespace(bot_data=app.bot_data)
    await update_job(context)  # type: ignore[arg-type]
    assert len(fetched) == 1
    assert (Path(engine.settings.content_dir) / REFRESHED_FILE).exists()
    assert "scheduled update done: fetch: 2 added" in caplog.text
    app.bot_data[KEY].store.close()


def test_fetcher_defaults(bot_engine: Any, tmp_path: Path) -> None:
    from index import fetch_feeds

    settings = BotSettings(telegram_bot_token=TOKEN, store_path=tmp_path / "s.sqlite3")
    given = build_application(settings, bot_engine)
    assert given.bot_data[KEY].fetcher is None  # an engine handed in: rebuild only
    own = build_application(settings, engine_factory=lambda: bot_engine)
    assert own.bot_data[KEY].fetcher is fetch_feeds  # index.fetch_all, imported when called
    for app in (given, own):
        app.bot_data[KEY].store.close()


async def test_update_command_and_apropos_date(
    harness: Harness, bot_engine: Any, index_settings: Any, embedder: Any, tmp_path: Path
) -> None:
    """/update fetches (a fetcher that brings one article), then the real build indexes it."""
    svc = harness.app.bot_data[KEY]
    api = harness.api
    admin, someone = api.new_user(uid=4242), api.new_user()
    engine = own_engine(tmp_path, index_settings, embedder)
    svc.engine = engine
    marker = Path(engine.settings.content_dir) / REFRESHED_FILE
    fetched: list[Any] = []

    def fetcher(settings: Any) -> FetchReport:
        fetched.append(settings)
        add_article(settings.content_dir)
        report = fetch_report()
        report.sources[0].added, report.sources[0].updated, report.sources[0].skipped = 1, 0, []
        return report

    svc.fetcher = fetcher
    before = engine.info()
    try:
        refused = await harness.ask(someone, "/update")  # not an admin: an unknown command
        assert "Je ne connais pas cette commande" in refused["text"]
        assert fetched == [] and not marker.exists()
        since = api.mark()
        api.send_text(admin, "/update")
        done = await api.wait_for("sendMessage", lambda c: "<pre>" in c["text"], since=since)
        after = engine.info()
        assert "fetch: 1 added" in done["text"] and after.articles == before.articles + 1
        assert f"index {after.version}: {after.articles} articles" in done["text"]
        assert fetched == [engine.settings] and marker.exists()
        answer = await harness.ask(api.new_user(), NEW_ARTICLE_QUESTION)
        assert "Capteurs sonores à Montpellier" in answer["text"]
        mark_refreshed(marker.parent, dt.datetime(2026, 3, 1, 8, 30, tzinfo=dt.UTC))
        about = await harness.ask(api.new_user(), "/apropos")
        assert "Corpus mis à jour le : 1er mars 2026" in about["text"]
        about = await harness.ask(api.new_user("en"), "/about")
        assert "Corpus refreshed on: March 1, 2026" in about["text"]
    finally:
        svc.engine = bot_engine
        svc.fetcher = None


# ------------------------------------------------------------------------ logs


def _emit(fmt: str, message: str, *args: Any, exc: bool = False) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(make_formatter(fmt, secrets=["s3cret_hook"]))
    logger = logging.getLogger("test.ops.logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        if exc:
            try:
                raise RuntimeError(f"GET https://bot-api.invalid/bot{TOKEN}/getMe failed")
            except RuntimeError:
                logger.exception(message, *args)
        else:
            logger.warning(message, *args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_json_logs_one_line_per_event_without_secrets() -> None:
    out = _emit("json", "url %s secret %s", f"https://bot-api.invalid/bot{TOKEN}/x", "s3cret_hook")
    assert out.count("\n") == 1
    event = json.loads(out)
    assert event["level"] == "WARNING" and event["logger"] == "test.ops.logs"
    assert event["msg"] == "url https://bot-api.invalid/bot***/x secret ***"
    dt.datetime.fromisoformat(event["ts"])
    out = _emit("json", "boom", exc=True)
    assert out.count("\n") == 1
    event = json.loads(out)
    assert "RuntimeError" in event["exc"] and TOKEN not in out and "TEST-token" not in out


def test_text_logs_redact_tracebacks() -> None:
    out = _emit("text", "boom", exc=True)
    assert "WARNING" not in out and "ERROR test.ops.logs: boom" in out
    assert TOKEN not in out and "bot***/getMe" in out
    assert redact("123456789:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") == "***"


def test_settings_accept_log_format(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    assert BotSettings().log_format == "json"
    monkeypatch.setenv("LOG_FORMAT", "xml")
    from bot.settings import SettingsError, load_settings

    with pytest.raises(SettingsError, match="LOG_FORMAT"):
        load_settings()


def test_setup_logging_replaces_only_its_own_handler() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        setup_logging("INFO", "json")
        setup_logging("INFO", "text")
        ours = [h for h in root.handlers if h.get_name() == "campaign-bot"]
        assert len(ours) == 1
        others = [h for h in before if h.get_name() != "campaign-bot"]
        assert all(h in root.handlers for h in others)  # pytest's capture handlers included
    finally:
        for handler in list(root.handlers):
            if handler not in before:
                root.removeHandler(handler)
        for handler in before:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(level)
