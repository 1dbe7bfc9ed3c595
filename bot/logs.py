"""Logging: one line per event, no user data, never the token.

httpx logs every request URL at INFO, and Telegram URLs contain the token; PTB logs request
parameters and responses (user messages) at DEBUG. Both are clamped whatever LOG_LEVEL says.
"""

from __future__ import annotations

import logging

QUIET = {"httpx": logging.WARNING, "httpcore": logging.WARNING, "telegram": logging.INFO}


def clamp_noisy_loggers() -> None:
    for name, floor in QUIET.items():
        logger = logging.getLogger(name)
        if logger.level < floor:  # NOTSET (0) included
            logger.setLevel(floor)


def setup_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger().setLevel(level)
    clamp_noisy_loggers()
