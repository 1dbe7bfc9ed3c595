"""``python -m bot``: polling by default, a webhook if WEBHOOK_URL is set, the terminal if
no TELEGRAM_BOT_TOKEN is configured (or with ``--terminal``)."""

from __future__ import annotations

import argparse
import logging
import sys
from urllib.parse import urlsplit

from bot.settings import BotSettings, SettingsError, load_settings

log = logging.getLogger("bot")


def _engine_factory():  # type: ignore[no-untyped-def]
    from bot.app import default_engine_factory

    return default_engine_factory()


def run_telegram(settings: BotSettings) -> None:
    from bot.app import ALLOWED_UPDATES, build_application

    application = build_application(settings)
    if settings.webhook_url:
        path = urlsplit(settings.webhook_url).path.lstrip("/")
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        log.info(
            "starting in webhook mode on %s:%d", settings.webhook_listen, settings.webhook_port
        )
        application.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=path,
            webhook_url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=False,
        )
    else:
        log.info("starting in polling mode")
        application.run_polling(allowed_updates=ALLOWED_UPDATES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("--terminal", action="store_true", help="chat in the terminal")
    parser.add_argument("--lang", choices=("fr", "en"), default="fr", help="terminal language")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc.code, file=sys.stderr)
        return 2

    from bot.logs import setup_logging

    setup_logging(settings.log_level)
    if args.terminal or settings.token is None:
        from bot.terminal import run_terminal

        return run_terminal(_engine_factory, lang=args.lang)
    run_telegram(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
