"""The web pages' aiohttp application: routes, language, caching and security headers.

``GET /``          landing page (examples, articles); ``GET /?q=…`` an answer, saved like
                   the bot's so that its "Partager" link works; the question itself is neither
                   stored nor logged (the access log writes the path only, at DEBUG)
``GET /a/<id>``    a shared answer, immutable: cacheable by anyone, with an ETag
``GET /a/<id>.json`` the same answer as data
``GET /static/…``  the stylesheet and the icon: no asset from another host
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.resources import files

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot.flow import ask
from bot.ratelimit import RateLimiter
from bot.render import Quote, esc
from bot.services import Services, share_url, web_answer_url
from bot.store import is_answer_id
from bot.texts import Lang, text
from bot.web import pages
from bot.web.texts import wt

log = logging.getLogger(__name__)

MAX_QUERY = 500  # characters of ?q=: a question, not a document (the bot's own limit is 1000)
MAX_REQUEST_BODY = 4096  # nothing here takes a body
ANSWER_MAX_AGE = 86_400  # answer pages never change: any cache may keep them a day
PAGE_MAX_AGE = 300  # landing page and static files: the article list changes on updates
RENDERED_PAGES = 1024  # answer pages kept rendered in memory (a viral link costs no store call)
RENDERED_TTL = 3600.0
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
STATIC = {"style.css": "text/css", "icon.svg": "image/svg+xml", "robots.txt": "text/plain"}


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    etag: str
    at: float


class RenderedPages:
    """Answer pages kept rendered, least recently used out: a link shared widely costs no
    store call and no rendering; an hour at most, since answers are pruned after a while."""

    def __init__(self, size: int = RENDERED_PAGES, ttl: float = RENDERED_TTL) -> None:
        self.size, self.ttl = size, ttl
        self._pages: OrderedDict[tuple[str, ...], Rendered] = OrderedDict()

    def get(self, key: tuple[str, ...]) -> Rendered | None:
        page = self._pages.get(key)
        if page is None or time.monotonic() - page.at > self.ttl:
            return None
        self._pages.move_to_end(key)
        return page

    def put(self, key: tuple[str, ...], body: bytes, content_type: str) -> Rendered:
        page = self._pages[key] = Rendered(body, content_type, _etag(body), time.monotonic())
        self._pages.move_to_end(key)
        if len(self._pages) > self.size:
            self._pages.popitem(last=False)
        return page


@dataclass
class WebSite:
    """What the pages are served from; ``base_url`` is configured (PUBLIC_URL), never read
    from a request's Host header, so a forged header cannot poison a cached page."""

    svc: Services
    base_url: str
    bot_username: str | None
    limiter: RateLimiter
    behind_proxy: bool = False
    rendered: RenderedPages = field(default_factory=RenderedPages)


SITE = web.AppKey("site", WebSite)


class PathOnlyAccessLogger(AbstractAccessLogger):
    """Method, path (never the query string, which holds the question), status, duration;
    at DEBUG, so nothing is written by default; no client address."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.debug(
            "%s %s %d %.1f ms", request.method, request.path, response.status, time * 1000
        )


def pick_lang(request: web.Request) -> tuple[Lang, bool]:
    """``?lang=`` if given (then it is carried in links), else the best of Accept-Language."""
    chosen = request.query.get("lang")
    if chosen in ("fr", "en"):
        return chosen, True  # type: ignore[return-value]
    best: tuple[float, Lang] = (0.0, "fr")
    for part in request.headers.get("Accept-Language", "")[:200].split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower()[:2]
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if primary in ("fr", "en") and weight > best[0]:
            best = (weight, primary)  # type: ignore[assignment]
    return best[1], False


def client_key(request: web.Request, behind_proxy: bool) -> str:
    """Who a search counts against: the address (its /64 for IPv6, which a single client
    usually holds whole); the limiter keeps only a salted hash of it."""
    raw = request.remote or ""
    if behind_proxy:
        forwarded = request.headers.get("X-Forwarded-For", "").rsplit(",", 1)[-1].strip()
        raw = forwarded or raw
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def cached(
    request: web.Request,
    body: bytes,
    content_type: str,
    max_age: int,
    etag: str | None = None,
    *,
    vary: bool = True,
) -> web.Response:
    """A cacheable response; 304 when the client already holds this very body. ``vary``: the
    body depends on Accept-Language (pages, not static files)."""
    etag = etag or _etag(body)
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if vary:
        headers["Vary"] = "Accept-Language"
    held = {
        t.strip().removeprefix("W/") for t in request.headers.get("If-None-Match", "").split(",")
    }
    if etag in held or "*" in held:
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type=content_type, charset="utf-8", headers=headers)


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        headers={"Cache-Control": "no-store"},
    )


def _context(request: web.Request) -> pages.PageContext:
    lang, chosen = pick_lang(request)
    return pages.PageContext(lang, chosen, request.app[SITE].base_url)


def answer_json(site: WebSite, aid: str, quotes: list[Quote]) -> dict:
    telegram = share_url(site.bot_username, aid) if site.bot_username else None
    return {
        "id": aid,
        "url": web_answer_url(site.base_url, aid),
        "telegram": telegram,
        "quotes": [{k: v for k, v in q.to_json().items() if k != "score"} for q in quotes],
    }


async def answer(request: web.Request) -> web.Response:
    site = request.app[SITE]
    name = request.match_info["name"]
    as_json = name.endswith(".json")
    aid = name.removesuffix(".json")
    if not is_answer_id(aid):
        raise web.HTTPNotFound()
    ctx = _context(request)
    key = (name, ctx.lang, "chosen" if ctx.chosen else "")  # a chosen language is in links
    page = site.rendered.get(key)
    if page is None:
        page = await _render_answer(site, ctx, aid, as_json, key)
    return cached(request, page.body, page.content_type, ANSWER_MAX_AGE, page.etag)


async def _render_answer(
    site: WebSite, ctx: pages.PageContext, aid: str, as_json: bool, key: tuple[str, ...]
) -> Rendered:
    quotes = await site.svc.in_store(site.svc.store.get_answer, aid)
    if not quotes:
        raise web.HTTPNotFound()
    if as_json:
        body = json.dumps(answer_json(site, aid, quotes), ensure_ascii=False).encode()
        content_type = "application/json"
    else:
        telegram = share_url(site.bot_username, aid) if site.bot_username else None
        body = pages.answer_page(ctx, aid, quotes, telegram).encode()
        content_type = "text/html"
    return site.rendered.put(key, body, content_type)


async def index(request: web.Request) -> web.Response:
    site = request.app[SITE]
    ctx = _context(request)
    question = request.query.get("q")
    engine = site.svc.engine
    if engine is None:
        return _error_page(ctx, 503)
    if question is None:
        body = pages.landing_page(ctx, engine.articles()).encode()
        return cached(request, body, "text/html", PAGE_MAX_AGE)
    if len(question) > MAX_QUERY:
        page = pages.results_page(ctx, question[:MAX_QUERY] + "…", [], None, "too_long")
        return _html(page, 414)
    asked = await ask(
        site.svc, question, limiter=site.limiter, who=client_key(request, site.behind_proxy)
    )
    if asked.outcome == "rate_limited":
        message = text(ctx.lang, "rate_limited")
        response = _html(pages.message_page(ctx, wt(ctx.lang, "too_many"), message), 429)
        response.headers["Retry-After"] = "60"
        return response
    page = pages.results_page(ctx, question, asked.quotes, asked.answer_id, asked.reason)
    return _html(page)


def _error_page(ctx: pages.PageContext, status: int, title: str = "") -> web.Response:
    title = title or wt(ctx.lang, "error_title")
    return _html(pages.message_page(ctx, title, text(ctx.lang, "error")), status)


def _static_files() -> dict[str, tuple[bytes, str]]:
    folder = files("bot.web").joinpath("static")
    return {name: (folder.joinpath(name).read_bytes(), ctype) for name, ctype in STATIC.items()}


def _static_handler() -> Callable[[web.Request], Awaitable[web.Response]]:
    loaded = _static_files()

    async def static(request: web.Request) -> web.Response:
        name = request.match_info.get("name") or request.path.rsplit("/", 1)[-1]
        name = "icon.svg" if name == "favicon.ico" else name
        if name not in loaded:
            raise web.HTTPNotFound()
        body, content_type = loaded[name]
        return cached(request, body, content_type, PAGE_MAX_AGE, vary=False)

    return static


@web.middleware
async def error_pages(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Errors as pages in the site's style; a fault is logged by its type, never with the URL
    (which may hold a question)."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        ctx = _context(request)
        if exc.status == 404:
            days = request.app[SITE].svc.settings.answer_retention_days
            message = esc(wt(ctx.lang, "not_found", days=days))
            page = pages.message_page(ctx, wt(ctx.lang, "not_found_title"), message)
            response = _html(page, 404)
        else:
            response = _error_page(ctx, exc.status, f"{exc.status} {exc.reason}")
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except Exception as exc:
        log.error("web page failed: %s", type(exc).__name__)
        ctx = _context(request)
        return _error_page(ctx, 500)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every response, errors and static files included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def make_web_app(site: WebSite) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST_BODY, middlewares=[error_pages])
    app[SITE] = site
    app.on_response_prepare.append(_security_headers)
    static = _static_handler()
    app.router.add_get("/", index)
    app.router.add_get("/a/{name}", answer)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/favicon.ico", static)
    app.router.add_get("/robots.txt", static)
    return app
