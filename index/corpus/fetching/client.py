"""The polite HTTP client: our User-Agent, timeouts, retries with backoff, per-host pacing,
robots.txt, capped bodies, and the URL guard on every hop."""

from __future__ import annotations

import logging
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from urllib.parse import urljoin, urlsplit

import httpx

from index.corpus.fetching.options import FetchOptions
from index.corpus.urlguard import URLRefused, check_peer, check_url

log = logging.getLogger(__name__)

ROBOTS_AGENT = "campaign-bot"


class Failure(Exception):
    """A request that gave nothing usable; ``transient`` ones are worth retrying next run."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.transient = transient


@dataclass
class Response:
    url: str
    status: int
    headers: httpx.Headers
    body: bytes = b""

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        msg = Message()
        msg["content-type"] = self.headers.get("content-type", "")
        value = msg.get_param("charset")
        return value if isinstance(value, str) else None


_RETRY_STATUS = {429, 500, 502, 503, 504}


class PoliteClient:
    """GET with our User-Agent, timeouts, bounded retries with backoff, per-host pacing,
    capped streamed bodies, and every URL, redirect hops included, through
    :func:`index.corpus.urlguard.check_url` (no loopback, private or metadata address: SSRF)."""

    def __init__(
        self,
        client: httpx.Client,
        options: FetchOptions,
        *,
        allow_private: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.options = options
        self.allow_private = allow_private
        self.sleep = sleep
        self.clock = clock
        self._last: dict[str, float] = {}
        self._delay: dict[str, float] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | None] = {}
        self.requests = 0

    def get(
        self,
        url: str,
        *,
        max_bytes: int,
        headers: dict[str, str] | None = None,
        allowed: Callable[[str], bool] | None = None,
        ports: set[int] | frozenset[int] = frozenset(),
    ) -> Response:
        """Follow up to ``max_redirects`` hops, each one guarded (``allowed`` hosts, 80/443 or
        ``ports``); raises :class:`Failure`."""
        for hop in range(self.options.max_redirects + 1):
            try:
                check_url(
                    url, allow_private=self.allow_private, allowed_host=allowed, extra_ports=ports
                )
            except URLRefused as exc:
                what = "redirect refused" if hop else "refused"
                raise Failure(f"{what}: {exc}", transient=False) from exc
            resp = self._with_retries(url, headers or {}, max_bytes)
            location = resp.headers.get("location")
            if resp.status in (301, 302, 303, 307, 308) and location:
                url = urljoin(url, location)
                continue
            return resp
        raise Failure(f"more than {self.options.max_redirects} redirects", transient=False)

    def _with_retries(self, url: str, headers: dict[str, str], max_bytes: int) -> Response:
        opts = self.options
        for attempt in range(opts.max_retries + 1):
            last = attempt == opts.max_retries
            wait = min(opts.backoff_max, opts.backoff_base * (2**attempt))
            try:
                resp = self._once(url, headers, max_bytes)
            except Failure as exc:
                if not exc.transient or last:
                    raise
                log.info("retrying %s in %.1fs: %s", url, wait, exc.reason)
            else:
                if resp.status not in _RETRY_STATUS:
                    return resp
                if last:
                    raise Failure(f"HTTP {resp.status} (after {attempt + 1} tries)", transient=True)
                retry_after = resp.headers.get("retry-after", "")
                if retry_after.isdigit():
                    wait = max(wait, min(float(retry_after), opts.backoff_max))
                log.info("retrying %s in %.1fs: HTTP %s", url, wait, resp.status)
            self.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    def _pace(self, host: str) -> None:
        delay = max(self.options.min_delay, self._delay.get(host, 0.0))
        last = self._last.get(host)
        if last is not None and delay > 0:
            remaining = delay - (self.clock() - last)
            if remaining > 0:
                self.sleep(remaining)
        self._last[host] = self.clock()

    def _once(self, url: str, headers: dict[str, str], max_bytes: int) -> Response:
        host = (urlsplit(url).hostname or "").lower()
        self._pace(host)
        self.requests += 1
        sent = {"User-Agent": self.options.user_agent, **headers}
        try:
            with self.client.stream(
                "GET", url, headers=sent, timeout=self.options.timeout, follow_redirects=False
            ) as r:
                stream = r.extensions.get("network_stream")
                peer = stream.get_extra_info("server_addr") if stream is not None else None
                try:
                    check_peer(peer[0] if peer else None, allow_private=self.allow_private)
                except URLRefused as exc:
                    raise Failure(f"refused: {exc}", transient=False) from exc
                resp = Response(str(r.url), r.status_code, r.headers)
                if r.status_code != 200:
                    return resp  # status only; a 304/4xx/5xx body is of no use
                length = r.headers.get("content-length", "")
                if length.isdigit() and int(length) > max_bytes:
                    raise Failure(f"too large ({int(length)} bytes > {max_bytes})", transient=False)
                body = bytearray()
                for chunk in r.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise Failure(f"too large (more than {max_bytes} bytes)", transient=False)
                resp.body = bytes(body)
                return resp
        except httpx.TimeoutException as exc:
            raise Failure(f"timed out ({type(exc).__name__})", transient=True) from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise Failure(f"bad URL ({exc})", transient=False) from exc
        except httpx.DecodingError as exc:
            raise Failure(f"undecodable response ({exc})", transient=False) from exc
        except httpx.TransportError as exc:
            raise Failure(
                f"connection error ({type(exc).__name__}: {exc})", transient=True
            ) from exc

    def robots_allow(
        self,
        url: str,
        allowed: Callable[[str], bool] | None = None,
        ports: set[int] | frozenset[int] = frozenset(),
    ) -> bool:
        """robots.txt verdict for our agent; an unreachable or absent file allows."""
        if not self.options.respect_robots:
            return True
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if origin not in self._robots:
            parser: urllib.robotparser.RobotFileParser | None = None
            try:
                resp = self.get(
                    origin + "/robots.txt", max_bytes=500_000, allowed=allowed, ports=ports
                )
                if resp.status == 200:
                    parser = urllib.robotparser.RobotFileParser()
                    parser.parse(resp.body.decode("utf-8", "replace").splitlines())
                    crawl = parser.crawl_delay(ROBOTS_AGENT)
                    if crawl:
                        self._delay[(parts.hostname or "").lower()] = min(float(crawl), 30.0)
            except Failure as exc:
                log.info("robots.txt of %s unavailable (%s); proceeding", origin, exc.reason)
            self._robots[origin] = parser
        parser = self._robots[origin]
        return parser is None or parser.can_fetch(ROBOTS_AGENT, url)
