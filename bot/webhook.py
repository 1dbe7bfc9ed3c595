"""A guard in front of python-telegram-bot's webhook server (tornado).

PTB compares the secret token only once tornado has read the whole request body (up to
tornado's default 100 MB): anyone who finds the webhook URL could make the bot read 60 MB per
request. Here, the secret header is checked as soon as the headers arrive: a request without
it may carry no body at all (tornado closes the connection without reading one), and a body
is capped at ``MAX_BODY_BYTES`` even with the secret (a Telegram update is a few kilobytes).
"""

from __future__ import annotations

import hmac
from typing import Any

from tornado import httputil
from tornado.httpserver import HTTPServer

MAX_BODY_BYTES = 1_000_000
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class _SecretFirst(httputil.HTTPMessageDelegate):
    """Wraps tornado's delegate for one request: no body unless the secret matches."""

    def __init__(
        self, inner: httputil.HTTPMessageDelegate, conn: httputil.HTTPConnection, secret: str
    ) -> None:
        self.inner = inner
        self.conn = conn
        self.secret = secret

    def headers_received(
        self,
        start_line: httputil.RequestStartLine | httputil.ResponseStartLine,
        headers: httputil.HTTPHeaders,
    ) -> Any:
        given = headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            self.conn.set_max_body_size(0)  # type: ignore[attr-defined]  # HTTP1Connection
        return self.inner.headers_received(start_line, headers)

    def data_received(self, chunk: bytes) -> Any:
        return self.inner.data_received(chunk)

    def finish(self) -> None:
        self.inner.finish()

    def on_connection_close(self) -> None:
        self.inner.on_connection_close()


class GuardedHTTPServer(HTTPServer):
    """tornado's HTTPServer, each request wrapped in :class:`_SecretFirst`."""

    def initialize(self, *args: Any, secret_token: str = "", **kwargs: Any) -> None:
        self.secret_token = secret_token
        super().initialize(*args, **kwargs)

    def start_request(
        self, server_conn: object, request_conn: httputil.HTTPConnection
    ) -> httputil.HTTPMessageDelegate:
        inner = super().start_request(server_conn, request_conn)
        return _SecretFirst(inner, request_conn, self.secret_token)


def guard_webhook_server(secret_token: str, max_body_bytes: int = MAX_BODY_BYTES) -> None:
    """Make every tornado HTTPServer created from now on (PTB's webhook server is one) check
    the secret before reading a body, and cap bodies. Call before ``run_webhook``."""
    HTTPServer.configure(GuardedHTTPServer, secret_token=secret_token, max_body_size=max_body_bytes)


def unguard_webhook_server() -> None:
    """Back to tornado's plain server (tests)."""
    HTTPServer.configure(None)
