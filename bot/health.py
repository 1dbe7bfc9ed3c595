"""A tiny HTTP server for load balancers and monitoring, beside the bot.

``GET /healthz``    200 ``{"status": "ok", "index_version", "articles", "passages"}`` once the
                    engine is loaded, 503 ``{"status": "starting"}`` before (or on error)
``GET /stats.json`` the aggregate counters /stats shows admins (7 days and total), the answered
                    share and the index version: no user data exists to show

Runs on HEALTH_PORT (8080 by default in webhook mode, off in polling mode unless set), on the
bot's event loop (aiohttp), started in ``post_init`` and stopped in ``post_shutdown``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from aiohttp import web

from bot.services import Services

log = logging.getLogger(__name__)

RUNNER_KEY = "health_runner"


def _info(svc: Services) -> Any | None:
    engine = svc.engine
    if engine is None:
        return None
    try:
        return engine.info()
    except Exception:  # an engine that cannot describe itself is not healthy
        log.warning("engine.info() failed", exc_info=True)
        return None


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else None


def stats_payload(svc: Services, week: dict[str, int], total: dict[str, int], info: Any) -> dict:
    def share(counts: dict[str, int]) -> float | None:
        asked = counts.get("questions", 0)
        return round(counts.get("answered", 0) / asked, 4) if asked else None

    return {
        "started_at": svc.started_at.isoformat(timespec="seconds"),
        "index_version": getattr(info, "version", None),
        "articles": getattr(info, "articles", None),
        "passages": getattr(info, "passages", None),
        "content_refreshed_at": _iso(getattr(info, "content_refreshed_at", None)),
        "last_7_days": {**week, "answered_share": share(week)},
        "total": {**total, "answered_share": share(total)},
    }


def make_app(svc: Services) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        info = await asyncio.to_thread(_info, svc)
        if info is None:
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response(
            {
                "status": "ok",
                "index_version": info.version,
                "articles": info.articles,
                "passages": info.passages,
            }
        )

    async def stats(request: web.Request) -> web.Response:
        since = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=6)
        try:
            week = await svc.in_store(svc.store.counters, since)
            total = await svc.in_store(svc.store.counters, None)
        except Exception:
            log.warning("counters unavailable", exc_info=True)
            return web.json_response({"status": "store unavailable"}, status=503)
        info = await asyncio.to_thread(_info, svc)
        return web.json_response(stats_payload(svc, week, total, info))

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/stats.json", stats)
    return app


async def start_runner(
    runner: web.AppRunner, host: str, port: int, what: str
) -> web.AppRunner | None:
    """Start serving ``runner``; a port that cannot be bound is logged, not fatal (the bot
    still runs)."""
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        log.error("%s not started on %s:%d: %s", what, host, port, exc.strerror or exc)
        await runner.cleanup()
        return None
    log.info("%s on %s:%d", what, host, port)
    return runner


async def start_health_server(svc: Services, host: str, port: int) -> web.AppRunner | None:
    runner = web.AppRunner(make_app(svc), access_log=None)
    return await start_runner(runner, host, port, "health server (/healthz, /stats.json)")


async def stop_health_server(runner: web.AppRunner | None) -> None:
    if runner is not None:
        await runner.cleanup()
