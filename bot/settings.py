"""Bot settings, read from the environment (and ``.env``) with pydantic-settings.

A missing or invalid setting must stop the start with one clear line naming it, and secrets
(token, webhook secret) must never show up in a repr or a log line: hence ``SecretStr`` and
:func:`load_settings`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_BOT_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


class SettingsError(SystemExit):
    """Raised instead of a traceback: the message names the setting and what is wrong."""


class BotSettings(BaseSettings):
    """Everything the Telegram side needs; the engine reads its own ``IndexSettings``."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    telegram_bot_token: SecretStr | None = Field(
        None, description="Bot token from @BotFather; absent => chat in the terminal."
    )
    telegram_api_base_url: str = Field(
        "https://api.telegram.org/bot",
        description="Bot API base URL, token appended (or a {token} placeholder); any "
        "Bot API-compatible server, e.g. a local telegram-bot-api.",
    )
    telegram_api_file_url: str | None = Field(
        None, description="Bot API file URL; default: derived by python-telegram-bot."
    )
    admin_user_ids: Annotated[frozenset[int], NoDecode] = Field(
        frozenset(),
        description="Comma-separated Telegram user ids allowed /reindex, /update and /stats.",
    )
    webhook_url: str | None = Field(
        None, description="Public HTTPS URL Telegram posts updates to; set => webhook mode."
    )
    webhook_secret: SecretStr | None = Field(
        None,
        description="Required with WEBHOOK_URL: 1-256 chars of A-Z a-z 0-9 _ -; Telegram "
        "sends it back in a header and other requests are refused.",
    )
    webhook_listen: str = Field("0.0.0.0", description="Address the webhook server binds.")
    webhook_port: int = Field(
        8443, ge=1, le=65535, description="Port the webhook server listens on (behind a proxy)."
    )
    health_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="HTTP port for GET /healthz and /stats.json; unset: 8080 in webhook mode, "
        "off in polling mode; 0 = off.",
    )
    health_listen: str = Field("0.0.0.0", description="Address the health server binds.")
    public_url: str | None = Field(
        None,
        description="Public base URL of the web pages (e.g. https://bot.example.org); set => "
        "the bot serves shared answers at PUBLIC_URL/a/<id> and a search page on WEB_PORT, "
        "and its share links point there.",
    )
    web_listen: str = Field("0.0.0.0", description="Address the web pages' server binds.")
    web_port: int = Field(
        8000, ge=1, le=65535, description="Port of the web pages (behind an HTTPS proxy)."
    )
    web_behind_proxy: bool = Field(
        False,
        description="Trust the last X-Forwarded-For address as the client's, for the web "
        "search's rate limit (set it only behind a reverse proxy that sets this header).",
    )
    bot_username: str | None = Field(
        None,
        description="The bot's Telegram username, for 'open in Telegram' links of `python -m "
        "bot web` (the bot process knows its own).",
    )
    rate_limit_per_minute: float = Field(6.0, gt=0, description="Questions refilled per minute.")
    rate_limit_burst: int = Field(4, ge=1, description="Questions allowed in a quick burst.")
    store_path: Path = Field(
        Path("data/bot.sqlite3"),
        description="SQLite file: quoted answers behind share links, aggregate counters.",
    )
    answer_retention_days: int = Field(
        365, ge=1, description="Stored answers (quotes only) older than this are deleted."
    )
    update_interval_minutes: int = Field(
        0, ge=0, description="Scheduled update (fetch the feeds, then rebuild); 0 = off."
    )
    reload_interval_seconds: float = Field(
        60.0, gt=0, description="How often the bot looks for a newer published index."
    )
    request_timeout_seconds: float = Field(
        15.0, gt=0, description="Timeout of each Bot API request, in seconds."
    )
    send_retries: int = Field(2, ge=0, le=10, description="Retries on transient network errors.")
    flood_max_retries: int = Field(3, ge=0, le=10, description="Retries after a 429.")
    paid_broadcast: bool = Field(
        False,
        description="Send messages with Telegram's allow_paid_broadcast: up to 1,000 a second "
        "instead of 30, for 0.1 Telegram Stars each from the bot's balance. Off: at 30 a "
        "second, 100 people asking at once wait up to 3 s for their answers.",
    )
    results_per_question: int = Field(
        9, ge=1, le=30, description="Passages kept per question (3 shown, the rest on demand)."
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: Literal["text", "json"] = Field(
        "text", description="'text' (one readable line per event) or 'json' (JSON lines)."
    )

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.replace(";", ",").split(",")]
            try:
                return frozenset(int(p) for p in parts if p)
            except ValueError:
                raise ValueError("must be a comma-separated list of numeric user ids") from None
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _BOT_TOKEN_RE.match(value.get_secret_value().strip()):
            raise ValueError("does not look like a bot token (expected '<digits>:<letters>')")
        return SecretStr(value.get_secret_value().strip()) if value is not None else None

    @field_validator("webhook_secret")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _SECRET_TOKEN_RE.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters among A-Z a-z 0-9 _ -")
        return value

    @field_validator("telegram_api_base_url", "webhook_url", "public_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://", value):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("bot_username")
    @classmethod
    def _check_username(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^@?[A-Za-z][A-Za-z0-9_]{3,31}$", value):
            raise ValueError("must be a Telegram username (letters, digits, _)")
        return value.lstrip("@") if value else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.strip().upper()
        if not isinstance(logging.getLevelName(level), int):
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> BotSettings:
        if self.webhook_url and not self.webhook_url.startswith("https://"):
            raise ValueError("WEBHOOK_URL must be an https:// URL (Telegram refuses others)")
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET is required when WEBHOOK_URL is set")
        taken = {self.effective_health_port, self.webhook_port if self.webhook_url else 0}
        if self.public_url and self.web_port in taken:
            raise ValueError("WEB_PORT must differ from HEALTH_PORT and WEBHOOK_PORT")
        return self

    @property
    def effective_health_port(self) -> int:
        """HEALTH_PORT if set, else 8080 in webhook mode and 0 (off) in polling mode."""
        if self.health_port is not None:
            return self.health_port
        return 8080 if self.webhook_url else 0

    @property
    def token(self) -> str | None:
        """The token in clear, for the Telegram client only."""
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else None


def load_settings(**overrides: object) -> BotSettings:
    """Read the settings, or stop with one line per bad setting (never a traceback)."""
    try:
        return BotSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_input=False, include_url=False):
            name = "_".join(str(p) for p in err["loc"]).upper() or "settings"
            lines.append(f"invalid setting {name}: {err['msg']}")
        raise SettingsError("\n".join(lines)) from None
