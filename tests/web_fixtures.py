"""Helpers for the web page tests: a real aiohttp server on 127.0.0.1, and an HTML reader."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.ratelimit import RateLimiter
from bot.services import Services
from bot.settings import BotSettings
from bot.store import Store
from bot.web.app import WebSite
from bot.web.serve import make_runner

BOT_NAME = "CampaignTestBot"
URL_ATTRS = {"href", "src", "action", "cite", "content", "srcset", "poster", "data"}


def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def web_services(engine: Any, store_path: Path, **overrides: Any) -> Services:
    values: dict[str, Any] = {"store_path": store_path, "bot_username": BOT_NAME}
    values.update(overrides)
    settings = BotSettings(**values)
    return Services(
        settings=settings,
        store=Store(settings.store_path),
        limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        inline_limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        engine=engine,
    )


@asynccontextmanager
async def serving(
    svc: Services, *, per_minute: float = 600, burst: int = 100
) -> AsyncIterator[str]:
    """The web pages of ``svc`` on a free port; yields their base URL."""
    sock = free_socket()
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    site = WebSite(svc, base, svc.settings.bot_username, RateLimiter(per_minute, burst))
    runner = make_runner(site)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    try:
        yield base
    finally:
        await runner.cleanup()


class Page(HTMLParser):
    """Tags, attributes and text of a page, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def meta(self) -> dict[str, str]:
        found = {}
        for attrs in self.all("meta"):
            key = attrs.get("property") or attrs.get("name")
            if key:
                found[key] = attrs.get("content", "")
        return found

    def hosts(self) -> set[str]:
        """Every host an attribute of this page points to (absolute URLs only)."""
        found = set()
        for _, attrs in self.tags:
            for name, value in attrs.items():
                if name in URL_ATTRS and "//" in value:
                    for part in value.split():
                        host = urlsplit(part).netloc
                        if host:
                            found.add(host)
        return found

    @property
    def text(self) -> str:
        return " ".join(self.texts)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page
