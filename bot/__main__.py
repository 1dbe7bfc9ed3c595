"""``python -m bot``: polling by default, a webhook if WEBHOOK_URL is set, the terminal if
no TELEGRAM_BOT_TOKEN is configured (or with ``--terminal``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any
from urllib.parse import urlsplit

from bot.settings import BotSettings, SettingsError, load_settings

log = logging.getLogger("bot")


def _engine_factory():  # type: ignore[no-untyped-def]
    from bot.app import default_engine_factory

    return default_engine_factory()


def webhook_options(settings: BotSettings) -> dict[str, Any]:
    """Arguments for PTB's webhook server; Telegram must send the secret back in a header
    (``X-Telegram-Bot-Api-Secret-Token``), and PTB refuses requests without it."""
    assert settings.webhook_url and settings.webhook_secret  # checked by BotSettings
    return {
        "listen": settings.webhook_listen,
        "port": settings.webhook_port,
        "url_path": urlsplit(settings.webhook_url).path.lstrip("/"),
        "webhook_url": settings.webhook_url,
        "secret_token": settings.webhook_secret.get_secret_value(),
    }


def _secrets(settings: BotSettings) -> list[str]:
    values = [settings.token, settings.webhook_secret]
    return [v.get_secret_value() if hasattr(v, "get_secret_value") else v for v in values if v]


def fast_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it installs (Linux, macOS), else asyncio's own: with uvloop the bot's CPU
    per answer falls by about a quarter (bench/bot.py), and once Telegram's flood limit is
    lifted (PAID_BROADCAST) CPU is what decides how long 100 people wait."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_telegram(settings: BotSettings) -> int:
    """Blocks until SIGINT/SIGTERM; PTB then stops polling, the jobs and the handlers.
    Waits for Telegram first when it cannot be reached; 2 when it refuses the token."""
    from bot.app import ALLOWED_UPDATES, TokenRefused, build_application, wait_for_telegram

    loop = fast_event_loop()
    asyncio.set_event_loop(loop)  # python-telegram-bot runs on the current loop
    application = build_application(settings)
    try:
        loop.run_until_complete(wait_for_telegram(application))
    except TokenRefused as exc:
        log.error("%s", exc)
        return 2
    except KeyboardInterrupt:
        log.info("stopped before Telegram could be reached")
        return 0
    if settings.webhook_url:
        from bot.webhook import guard_webhook_server

        assert settings.webhook_secret is not None  # checked by BotSettings
        guard_webhook_server(settings.webhook_secret.get_secret_value())
        log.info(
            "starting in webhook mode on %s:%d", settings.webhook_listen, settings.webhook_port
        )
        application.run_webhook(**webhook_options(settings), allowed_updates=ALLOWED_UPDATES)
    else:
        log.info("starting in polling mode")
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=__doc__,
        epilog="commands: run (default) the bot; check [--quick] verifies the installation "
        "(exit 0 ok, 1 a check failed, 2 invalid settings); env-example prints .env.example; "
        "web [--host H] [--port P] serves the web pages alone, without Telegram",
    )
    parser.add_argument(
        "command", nargs="?", default="run", choices=("run", "check", "env-example", "web")
    )
    parser.add_argument("--terminal", action="store_true", help="chat in the terminal")
    parser.add_argument("--lang", choices=("fr", "en"), default="fr", help="terminal language")
    parser.add_argument("--quick", action="store_true", help="check: skip loading the model")
    parser.add_argument("--host", help="web: address to bind (default WEB_LISTEN)")
    parser.add_argument("--port", type=int, help="web: port (default WEB_PORT)")
    args = parser.parse_args(argv)
    if args.command == "env-example":
        from bot.envfile import env_example

        sys.stdout.write(env_example())
        return 0
    if args.command == "check":
        from bot.check import main_check

        return main_check(quick=args.quick)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc.code, file=sys.stderr)
        return 2

    from bot.logs import setup_logging

    setup_logging(settings.log_level, settings.log_format, secrets=_secrets(settings))
    if args.command == "web":
        from bot.web.serve import run_web

        return run_web(settings, _engine_factory, args.host, args.port)
    if args.terminal or settings.token is None:
        from bot.terminal import run_terminal

        return run_terminal(
            _engine_factory,
            lang=args.lang,
            k=settings.results_per_question,
            retention_days=settings.answer_retention_days,
        )
    return run_telegram(settings)


if __name__ == "__main__":
    sys.exit(main())
