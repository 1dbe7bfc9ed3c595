"""Logging: one line per event, no user data, never the token.

httpx logs every request URL at INFO, and Telegram URLs contain the token; PTB logs request
parameters and responses (user messages) at DEBUG. Both are clamped whatever LOG_LEVEL says.
On top of that, every formatted line (message and traceback) goes through :func:`redact`:
anything shaped like a bot token, and the configured secrets, become ``***``.

``LOG_FORMAT=json`` writes one JSON object per line (``ts``, ``level``, ``logger``, ``msg``,
and ``exc`` for exceptions), for log collectors; ``text`` (default) is for humans.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterable

QUIET = {
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "telegram": logging.INFO,
    # faiss tells at INFO which CPU builds it could not load (AVX512, AVX2…): five lines of
    # "ModuleNotFoundError" at every start, in the middle of the terminal chat.
    "faiss": logging.WARNING,
}
# '123456:AA…' bot tokens, bare or inside a Bot API URL (/bot123456:AA…/getMe).
TOKEN_RE = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{20,}")
HANDLER_NAME = "campaign-bot"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def clamp_noisy_loggers() -> None:
    for name, floor in QUIET.items():
        logger = logging.getLogger(name)
        if logger.level < floor:  # NOTSET (0) included
            logger.setLevel(floor)


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def __call__(self, line: str) -> str:
        for secret in self.secrets:
            line = line.replace(secret, "***")
        return TOKEN_RE.sub("***", line)


def redact(line: str, secrets: Iterable[str] = ()) -> str:
    return Redactor(secrets)(line)


class TextFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__(TEXT_FORMAT)
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        line = self.redactor(super().format(record))
        return line.replace("\n", "\n  ")  # a traceback stays visibly attached to its event


class JsonFormatter(logging.Formatter):
    """One JSON object per line; tracebacks are kept inside it, newlines escaped."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "msg": self.redactor(record.getMessage()),
        }
        if record.exc_info:
            event["exc"] = self.redactor(self.formatException(record.exc_info))
        return json.dumps(event, ensure_ascii=False)


def make_formatter(fmt: str = "text", secrets: Iterable[str] = ()) -> logging.Formatter:
    redactor = Redactor(secrets)
    return JsonFormatter(redactor) if fmt == "json" else TextFormatter(redactor)


def setup_logging(level: str = "INFO", fmt: str = "text", secrets: Iterable[str] = ()) -> None:
    """Root logger to stderr, one line per event, redacted; noisy libraries clamped."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_formatter(fmt, secrets))
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in list(root.handlers):  # ours from an earlier call; other handlers are kept
        if old.get_name() == HANDLER_NAME:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    clamp_noisy_loggers()
