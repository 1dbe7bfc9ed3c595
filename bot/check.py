"""``python -m bot check [--quick]``: is this installation able to serve?

One line per check (``ok  index: …`` / ``FAIL model: … what to do``), exit code 0 when all
pass, 1 when one fails, 2 when the settings themselves are invalid. Docker's HEALTHCHECK runs
the quick form (no model load); run the full form after a deployment or an upgrade.
Nothing printed here may contain a secret: the token and the webhook secret are never shown,
and error messages from the network are reduced to their type.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from bot.settings import BotSettings, SettingsError, load_settings
from bot.store import damage

OK, FAIL, SKIP = "ok", "FAIL", "skip"
TELEGRAM_TIMEOUT = 5.0
# Telegram delivers webhooks to these ports only.
WEBHOOK_PORTS = frozenset({80, 88, 443, 8443})
PROBE_QUERY = "vidéosurveillance algorithmique"


@dataclass(frozen=True)
class Check:
    status: str
    name: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<3} {self.name}: {self.detail}"


def telegram_url(base_url: str, token: str, method: str) -> str:
    """The Bot API URL as PTB builds it: ``{token}`` placeholder, or the token appended."""
    base = base_url.format(token=token) if "{token}" in base_url else f"{base_url}{token}"
    return f"{base}/{method}"


def _scrub(message: str, *secrets: str | None) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


def check_index(index_settings) -> tuple[Check, object | None]:
    """The published version opens and matches its checksums; its model is the configured one."""
    from index import IndexDamaged, IndexUnavailable, ModelError, model_id_for, open_version

    try:
        _, manifest = open_version(Path(index_settings.index_dir), verify=True)
    except IndexDamaged as exc:
        return Check(FAIL, "index", f"{exc}; {_fallback(index_settings)}"), None
    except IndexUnavailable as exc:
        return Check(
            FAIL, "index", f"{exc} (the bot builds it at start when content/ has articles)"
        ), None
    except OSError as exc:
        return Check(
            FAIL, "index", f"cannot read {index_settings.index_dir}: {type(exc).__name__}"
        ), None
    summary = (
        f"version {manifest.version}, {manifest.articles} articles, {manifest.passages} passages"
    )
    try:
        expected = model_id_for(index_settings)
    except ModelError as exc:
        return Check(FAIL, "index", f"{summary}; model: {exc}"), manifest
    if manifest.model_id != expected:
        return (
            Check(
                FAIL,
                "index",
                f"{summary}, built with {manifest.model_id} but EMBEDDING_MODEL gives {expected}: "
                "the bot rebuilds it at start, or run `python -m index build`",
            ),
            manifest,
        )
    return Check(OK, "index", f"{summary}, model {manifest.model_id}"), manifest


def _fallback(index_settings) -> str:
    """What serves while the current version is damaged, and the repair."""
    from index import ModelError, intact_older_versions, model_id_for

    repair = "run `python -m index build` to repair it"
    try:
        model_id = model_id_for(index_settings)
    except ModelError:
        return repair
    older = next(intact_older_versions(Path(index_settings.index_dir), model_id), None)
    if older is None:
        return f"no intact older version: the bot cannot answer; {repair}"
    return f"the bot answers from the older version {older[1].version} meanwhile; {repair}"


def check_model(index_settings, manifest) -> Check:
    """Load the embedding model and embed one query (the slow part of a start)."""
    try:
        from index import Embedder

        embedder = Embedder(index_settings)
        vector = embedder.embed_query(PROBE_QUERY)
    except Exception as exc:
        return Check(
            FAIL,
            "model",
            f"{type(exc).__name__}: {exc}; check EMBEDDING_MODEL / EMBEDDING_BACKEND "
            "(`python -m index model import-e5` converts the default model)",
        )
    if manifest is not None and vector.shape[0] != manifest.dim:
        return Check(
            FAIL,
            "model",
            f"{embedder.model_id} gives {vector.shape[0]} dims, index has {manifest.dim}",
        )
    return Check(OK, "model", f"{embedder.model_id} ({embedder.backend}), {vector.shape[0]} dims")


def check_content(index_settings) -> Check:
    """Every article file reads (a malformed one is skipped by builds, with a warning)."""
    from index import articles_dir, load_corpus

    folder = articles_dir(Path(index_settings.content_dir))
    corpus = load_corpus(Path(index_settings.content_dir))
    if corpus.errors:
        errors = [e.replace(f"{folder}/", "") for e in corpus.errors]
        names = ", ".join(e.split(":")[0] for e in errors[:20])
        shown = "; ".join(errors[:3]) + (" …" if len(errors) > 3 else "")
        return Check(
            FAIL,
            "content",
            f"{len(errors)} article file(s) in {folder} skipped by builds ({names}): {shown} "
            "(fix or remove them, then `python -m index build`)",
        )
    return Check(OK, "content", f"{len(corpus.articles)} articles readable")


def check_store(settings: BotSettings) -> Check:
    """The SQLite store can take a write lock (share links and counters live there)."""
    path = Path(settings.store_path)
    why = damage(path)
    if why:
        return Check(
            FAIL, "store", f"{path} is corrupt ({why}): the bot moves it aside (renamed "
            f"{path.name}.corrupt-<time>, kept) and starts a fresh store at its next start"
        )  # fmt: skip
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(path), timeout=5)
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
        finally:
            db.close()
    except (OSError, sqlite3.Error) as exc:
        return Check(
            FAIL, "store", f"{path} is not writable ({type(exc).__name__}): check STORE_PATH and "
            "the owner of its folder (uid 10001 in the image)"
        )  # fmt: skip
    return Check(OK, "store", f"{path} writable")


def check_folders(index_settings) -> Check:
    """Rebuilds write data/index and data/cache; updates write content/."""
    bad = []
    for name in ("content_dir", "index_dir", "cache_dir"):
        folder = Path(getattr(index_settings, name))
        probe = folder
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if not os.access(probe, os.W_OK):
            bad.append(f"{name.upper()}={folder}")
    if bad:
        return Check(FAIL, "folders", f"not writable: {', '.join(bad)} (rebuilds and updates fail)")
    return Check(OK, "folders", "content, index and cache folders writable")


def check_telegram(settings: BotSettings, get: Callable | None = None) -> Check:
    token = settings.token
    if not token:
        return Check(SKIP, "telegram", "no TELEGRAM_BOT_TOKEN: the bot chats in the terminal")
    import httpx

    url = telegram_url(settings.telegram_api_base_url, token, "getMe")
    try:
        resp = (get or httpx.get)(url, timeout=TELEGRAM_TIMEOUT)
    except Exception as exc:  # message may hold the URL, hence the token: type only
        return Check(
            FAIL, "telegram", f"Bot API unreachable ({type(exc).__name__}): check the network "
            "and TELEGRAM_API_BASE_URL"
        )  # fmt: skip
    try:
        data = resp.json()
        me = data["result"] if data.get("ok") else None
        code = data.get("error_code")  # only the Bot API answers with its own error_code
    except (ValueError, KeyError, AttributeError):
        me, code = None, None
    if code is None and resp.status_code != 200:
        return Check(
            FAIL, "telegram", f"TELEGRAM_API_BASE_URL answers HTTP {resp.status_code} without "
            "the Bot API's JSON: not a Bot API server (a wrong URL, or a proxy in the way?)"
        )  # fmt: skip
    if code == 401:
        return Check(
            FAIL, "telegram", "the Bot API refused the token (401): check TELEGRAM_BOT_TOKEN "
            "(@BotFather /token)"
        )  # fmt: skip
    if code == 404:  # Telegram's answer to a malformed token and to a wrong path alike
        return Check(
            FAIL, "telegram", "the Bot API knows no such bot or method (404): check the token's "
            "form (digits:letters) and the path of TELEGRAM_API_BASE_URL (…/bot)"
        )  # fmt: skip
    if resp.status_code != 200 or not me:
        return Check(FAIL, "telegram", f"unexpected getMe answer (HTTP {resp.status_code})")
    inline = (
        "inline on" if me.get("supports_inline_queries") else "inline off (@BotFather /setinline)"
    )
    return Check(OK, "telegram", f"@{_scrub(str(me.get('username')), token)}, {inline}")


def check_webhook(settings: BotSettings) -> Check:
    if not settings.webhook_url:
        health = settings.effective_health_port
        extra = f", health on :{health}" if health else ""
        return Check(SKIP, "webhook", f"polling mode (WEBHOOK_URL unset){extra}")
    url = urlsplit(settings.webhook_url)
    problems = []
    if url.scheme != "https":
        problems.append("WEBHOOK_URL must be https://")
    if url.port is not None and url.port not in WEBHOOK_PORTS:
        problems.append(f"Telegram only calls ports 443, 80, 88, 8443, not {url.port}")
    if not url.path.strip("/"):
        problems.append("give WEBHOOK_URL a path (e.g. /telegram/<random>)")
    if settings.webhook_secret is None:
        problems.append("WEBHOOK_SECRET is required")
    if settings.effective_health_port == settings.webhook_port:
        problems.append(f"HEALTH_PORT and WEBHOOK_PORT are both {settings.webhook_port}")
    if problems:
        return Check(FAIL, "webhook", "; ".join(problems))
    health = settings.effective_health_port
    return Check(
        OK,
        "webhook",
        f"{url.hostname} → listen {settings.webhook_listen}:{settings.webhook_port}, secret set"
        + (f", health on :{health}" if health else ""),
    )


def run_checks(settings: BotSettings, index_settings, *, quick: bool) -> list[Check]:
    checks = [Check(OK, "settings", "valid")]
    index_check, manifest = check_index(index_settings)
    checks.append(index_check)
    if quick:
        checks.append(Check(SKIP, "model", "not loaded (--quick)"))
    else:
        checks.append(check_model(index_settings, manifest))
        checks.append(check_content(index_settings))  # reads every article: not in --quick
    checks.append(check_store(settings))
    checks.append(check_folders(index_settings))
    checks.append(check_telegram(settings))
    checks.append(check_webhook(settings))
    return checks


def main_check(quick: bool = False, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        settings = load_settings()
        from index import IndexSettings

        index_settings = _index_settings(IndexSettings)
    except SettingsError as exc:
        for line in str(exc.code).splitlines():
            print(f"FAIL settings: {line}", file=out)
        return 2
    failed = False
    hidden = (settings.token, _secret(settings))  # scrubbed from every line, never printed
    for check in run_checks(settings, index_settings, quick=quick):
        print(_scrub(check.line(), *hidden), file=out, flush=True)
        failed |= check.status == FAIL
    return 1 if failed else 0


def _secret(settings: BotSettings) -> str | None:
    return settings.webhook_secret.get_secret_value() if settings.webhook_secret else None


def _index_settings(cls):
    from pydantic import ValidationError

    try:
        return cls()
    except ValidationError as exc:
        lines = [
            f"invalid setting {'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        ]
        raise SettingsError("\n".join(lines)) from None
