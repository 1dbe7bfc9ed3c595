"""SSRF: a feed, a redirect hop or a page link must not steer the fetcher to internal services.

The "internet" here: host names ending in ``.test`` resolve (a stub of ``socket.getaddrinfo``,
the system resolver) to a public address, and an httpx transport carries their requests to the
fixture server on 127.0.0.1. Internal targets are real servers on 127.0.0.1.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_fetch import OPTIONS, QuietServer, Route, Site, _handler, fault_feed

from index.config import IndexSettings
from index.corpus.fetch import fetch_all
from index.corpus.urlguard import URLRefused, address_refusal, check_url

PUBLIC = "93.184.215.14"
_real_getaddrinfo = socket.getaddrinfo


@pytest.fixture
def servers() -> Iterator[tuple[Site, Site]]:
    """(the public site behind ``*.test``, an internal service on 127.0.0.1)."""
    sites, started = [], []
    for _ in range(2):
        state = Site()
        server = QuietServer(("127.0.0.1", 0), _handler(state))
        state.base = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)  # fmt: skip
        thread.start()
        sites.append(state)
        started.append(server)
    try:
        yield sites[0], sites[1]
    finally:
        for server in started:
            server.shutdown()
            server.server_close()


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[list[str]]]:
    """``*.test`` names resolve to a public address unless the test lists successive
    answers for a name (the last one then sticks)."""
    answers: dict[str, list[list[str]]] = {}

    def getaddrinfo(host: object, port: object, *args: object, **kw: object) -> list:
        if isinstance(host, str) and host.endswith(".test"):
            queue = answers.get(host, [[PUBLIC]])
            addresses = queue.pop(0) if len(queue) > 1 else queue[0]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]
        return _real_getaddrinfo(host, port, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def internet(public: Site, requested: list[str]) -> httpx.Client:
    """A client whose ``*.test`` requests reach ``public``; others go where they say."""
    direct = httpx.Client()

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        url = request.url
        if url.host.endswith(".test"):
            url = httpx.URL(public.base + url.raw_path.decode())
        got = direct.get(url, headers=request.headers, follow_redirects=False)
        return httpx.Response(got.status_code, headers=got.headers, content=got.content)

    return httpx.Client(transport=httpx.MockTransport(handler))


def settings_for(tmp_path: Path, feed: str, allow_private: bool) -> IndexSettings:
    content = tmp_path / "content"
    content.mkdir(parents=True, exist_ok=True)
    (content / "sources.toml").write_text(
        f'[[source]]\nname = "Site"\nfeed = "{feed}"\nlang = "fr"\n', encoding="utf-8"
    )
    return IndexSettings(content_dir=content, index_dir=tmp_path / "data" / "index",
                         cache_dir=tmp_path / "data" / "cache",
                         fetch_allow_private_addresses=allow_private)  # fmt: skip


@pytest.mark.parametrize("allow_private", [False, True])
def test_a_redirect_chain_to_an_internal_service_is_refused_at_its_last_hop(
    servers: tuple[Site, Site], dns: dict, tmp_path: Path, allow_private: bool
) -> None:
    public, internal = servers
    internal.feed("/admin/feed", "rss-full.xml")
    public.routes["/feed"] = Route(b"", status=302, location="http://b.test/hop")
    public.routes["/hop"] = Route(b"", status=307, location=internal.base + "/admin/feed")
    requested: list[str] = []
    settings = settings_for(tmp_path, "http://a.test/feed", allow_private)
    report = fetch_all(settings, client=internet(public, requested), options=OPTIONS)

    (source,) = report.sources
    assert public.hits["/feed"] == 1 and public.hits["/hop"] == 1
    if allow_private:  # tests and intranet deployments: local sites still work
        assert internal.hits["/admin/feed"] == 1 and source.feed_status == "fetched"
        return
    assert internal.hits["/admin/feed"] == 0 and not any("127.0.0.1" in u for u in requested)
    assert source.feed_status == "failed" and source.added == 0
    (reason,) = [why for _, why in source.skipped]
    assert reason == "feed: redirect refused: 127.0.0.1 resolves to a loopback address 127.0.0.1"


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local address 169.254.169.254"),
        ("http://[::1]:8080/", "loopback address ::1"),
        ("http://[::1]/", "loopback address ::1"),
        ("http://[::ffff:10.0.0.1]/", "private address 10.0.0.1"),
        ("http://0.0.0.0/", "unspecified address 0.0.0.0"),
        ("http://intranet.test/", "private address 192.168.1.10"),
        ("file:///etc/passwd", None),
    ],
)
def test_a_feed_redirecting_to_internal_addresses_is_refused(
    servers: tuple[Site, Site], dns: dict, tmp_path: Path, target: str, why: str | None
) -> None:
    public, _ = servers
    dns["intranet.test"] = [[PUBLIC, "192.168.1.10"]]  # one bad address is enough
    public.routes["/feed"] = Route(b"", status=301, location=target)
    requested: list[str] = []
    settings = settings_for(tmp_path, "http://a.test/feed", allow_private=False)
    report = fetch_all(settings, client=internet(public, requested), options=OPTIONS)

    assert requested == ["http://a.test/feed"]  # the internal target was never requested
    (reason,) = [w for _, w in report.sources[0].skipped]
    assert reason.startswith("feed: redirect refused: ")
    if why:
        assert reason.endswith(f"resolves to a {why}")
    assert report.exit_code == 1


def test_pages_stay_on_the_sources_ports_and_robots_is_guarded(
    servers: tuple[Site, Site], dns: dict, tmp_path: Path
) -> None:
    public, _ = servers
    fault_feed(public, ["http://a.test:6379/page", "http://a.test/ok"], path="/feed")
    public.routes["/feed"].body = public.routes["/feed"].body.replace(public.base.encode(), b"")
    requested: list[str] = []
    settings = settings_for(tmp_path, "http://a.test/feed", allow_private=False)
    options = OPTIONS.__class__(**{**OPTIONS.__dict__, "respect_robots": True})
    report = fetch_all(settings, client=internet(public, requested), options=options)

    reasons = dict(report.sources[0].skipped)
    assert reasons["http://a.test:6379/page"] == (
        "refused: port 6379 is not allowed (80, 443 or the feed's own port)"
    )
    assert not any(":6379" in u for u in requested)  # neither the page nor its robots.txt
    assert "http://a.test/robots.txt" in requested and "http://a.test/ok" in requested


def test_a_dns_answer_that_changes_after_the_check_is_caught_on_the_connection(
    servers: tuple[Site, Site], dns: dict, tmp_path: Path
) -> None:
    """Rebinding: the guard sees a public address, the connection reaches 127.0.0.1."""
    public, _ = servers
    public.feed("/feed", "rss-full.xml")
    port = int(public.base.rsplit(":", 1)[1])
    dns["rebind.test"] = [[PUBLIC], ["127.0.0.1"]]
    settings = settings_for(tmp_path, f"http://rebind.test:{port}/feed", allow_private=False)
    with httpx.Client() as client:  # a real connection: its peer address is checked
        report = fetch_all(settings, client=client, options=OPTIONS)

    (source,) = report.sources
    assert source.added == 0
    assert source.skipped[0][1] == "feed: refused: connected to a loopback address 127.0.0.1"


def test_the_guard_unit() -> None:
    assert address_refusal("8.8.8.8") is None
    assert address_refusal("::ffff:127.0.0.1") == "loopback address 127.0.0.1"
    assert address_refusal("100.64.0.1") == "non-public address 100.64.0.1"  # carrier NAT
    assert address_refusal("224.0.0.1") == "multicast address 224.0.0.1"
    assert address_refusal("fe80::1%eth0") == "link-local address fe80::1"
    with pytest.raises(URLRefused, match="not an http"):
        check_url("gopher://a.test/", allow_private=True)
    check_url("http://127.0.0.1:9/", allow_private=True)
    with pytest.raises(URLRefused, match="port 9 is not allowed"):
        check_url("http://a.test:9/", allow_private=False, resolver=lambda h, p: [PUBLIC])
    check_url(
        "http://a.test:9/", allow_private=False, extra_ports={9}, resolver=lambda h, p: [PUBLIC]
    )
