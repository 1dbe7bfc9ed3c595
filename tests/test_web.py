"""The web pages through the real aiohttp server on 127.0.0.1, over the real engine and store.

What is checked is what a visitor, a link preview or a cache sees: quotes escaped and linked
to the quoted words, OpenGraph tags, 404s, inert injections, security headers on every
response, no reference to another host, HEAD, ETag/304, and a question that is saved nowhere.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
from settings_env import settings_env
from web_fixtures import BOT_NAME, parse, serving, web_services

from bot.render import Quote
from bot.services import Services
from bot.web.app import CSP

QUESTION = "Qu'est-ce que la vidéosurveillance algorithmique ?"
INJECTIONS = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')
AID_RE = re.compile(r'href="/a/([A-Za-z0-9_-]{11})"')


@pytest.fixture(scope="module")
async def svc(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Services]:
    services = web_services(engine, tmp_path_factory.mktemp("web") / "bot.sqlite3")
    yield services
    services.store.close()


@pytest.fixture(scope="module")
async def base(svc: Services) -> AsyncIterator[str]:
    async with serving(svc) as url:
        yield url


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(scope="module")
def article_hosts(engine: Any) -> set[str]:
    return {urlsplit(a.url).netloc for a in engine.articles()}


@pytest.fixture(scope="module")
def stored(engine: Any, svc: Services) -> tuple[str, list[Quote]]:
    """An answer as the bot saves it, whose first passage holds markup and quotes."""
    results = engine.search(QUESTION, k=4).results
    assert len(results) >= 2
    first = Quote.from_result(results[0])
    hostile = Quote(
        quote=f'Les caméras {INJECTIONS[0]} & "VSA" {INJECTIONS[1]} ' + "voient tout " * 40,
        title=f"VSA & <b>JO</b> {INJECTIONS[1]}",
        url=first.url,
        date=dt.date(2024, 3, 1),
    )
    quotes = [hostile, *(Quote.from_result(r) for r in results)]
    return svc.store.save_answer(quotes), quotes


async def get(http: aiohttp.ClientSession, url: str, **headers: str) -> tuple[int, str, Any]:
    async with http.get(url, headers=headers, allow_redirects=False) as response:
        return response.status, await response.text(), response.headers


async def test_answer_page_quotes_fragments_and_previews(
    http: aiohttp.ClientSession, base: str, stored: tuple[str, list[Quote]]
) -> None:
    aid, quotes = stored
    status, html, headers = await get(http, f"{base}/a/{aid}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    page = parse(html)
    assert page.all("html")[0]["lang"] == "fr"
    for injection in INJECTIONS:
        assert injection not in html  # escaped, not markup
    assert not page.all("script") and not page.all("img")
    assert html.count("<b>") <= len(quotes)  # only the words that answer are bold
    assert html.count("<blockquote") == len(quotes)
    # Each title links to the quoted words (text fragment), inside a <cite>.
    links = {a["href"] for a in page.all("a")}
    for q in quotes:
        assert q.url in links and "#:~:text=" in q.url
    assert len(page.all("cite")) == len(quotes)
    assert "1er mars 2024" in page.text
    meta = page.meta()
    assert meta["og:title"] == quotes[0].title
    description = meta["og:description"]
    assert quotes[0].quote.startswith(description.rstrip("…")) and description.endswith("…")
    assert 150 <= len(description) <= 201 and not description.endswith(" …")
    assert meta["og:url"] == f"{base}/a/{aid}"
    assert meta["og:locale"] == "fr_FR" and meta["og:site_name"]
    assert meta["twitter:card"] == "summary" and meta["twitter:description"] == description
    assert f"https://t.me/{BOT_NAME}?start={aid}" in links
    assert page.all("form")[0]["action"] == "/"

    status, english, _ = await get(http, f"{base}/a/{aid}", **{"Accept-Language": "en-GB,fr;q=0.5"})
    assert parse(english).all("html")[0]["lang"] == "en"
    assert parse(english).meta()["og:locale"] == "en_US" and "March 1, 2024" in english
    status, chosen, _ = await get(http, f"{base}/a/{aid}?lang=fr", **{"Accept-Language": "en"})
    assert parse(chosen).all("html")[0]["lang"] == "fr"


async def test_answer_json(http: aiohttp.ClientSession, base: str, stored) -> None:
    aid, quotes = stored
    async with http.get(f"{base}/a/{aid}.json") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/json")
        data = await response.json()
    assert data["id"] == aid and data["url"] == f"{base}/a/{aid}"
    assert data["telegram"] == f"https://t.me/{BOT_NAME}?start={aid}"
    assert [q["quote"] for q in data["quotes"]] == [q.quote for q in quotes]
    assert data["quotes"][0]["date"] == "2024-03-01"


@pytest.mark.parametrize(
    "path", ["/a/AAAAAAAAAAA", "/a/AAAAAAAAAAA.json", "/a/short", "/a/%3Cscript%3E", "/nope"]
)
async def test_unknown_or_malformed_answer_is_a_404_page(
    http: aiohttp.ClientSession, base: str, path: str
) -> None:
    status, html, headers = await get(http, base + path)
    assert status == 404 and headers["Content-Type"].startswith("text/html")
    page = parse(html)
    assert page.all("link")[0]["href"] == "/static/style.css"  # the site's own style
    assert page.all("form") and "<script" not in html
    assert "effacées après 365 jours" in page.text


async def test_search_saves_quotes_only_and_shares_them(
    http: aiohttp.ClientSession,
    base: str,
    svc: Services,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    question = "C'est quoi la vidéosurveillance algorithmique ?"
    async with http.get(f"{base}/", params={"q": question}) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        html = await response.text()
    page = parse(html)
    assert page.all("input")[0]["value"] == question  # the form keeps the question
    assert page.meta()["robots"] == "noindex"  # the page to index is /a/<id>
    share = AID_RE.findall(html)
    assert share and len(set(share)) == 1, "one answer, one share id"
    assert sum(a["href"].startswith(f"/a/{share[0]}#p") for a in page.all("a")) >= 3
    status, shared, _ = await get(http, f"{base}/a/{share[0]}")
    assert status == 200
    first = parse(html).all("blockquote")
    assert first and parse(shared).all("blockquote")[0]["cite"] == first[0]["cite"]
    # Neither the store nor the logs hold the question (the access log holds the path).
    svc.store.count("questions", 0)  # flush through the same connection
    db = sqlite3.connect(svc.store.path)
    dump = "\n".join(db.iterdump())
    db.close()
    assert share[0] in dump and "C'est quoi" not in dump and "C''est quoi" not in dump
    assert "GET / 200" in caplog.text
    logged = caplog.text.lower()
    assert "quoi" not in logged and "vid%c3%a9o" not in logged and "q=" not in logged


async def test_no_answer_is_worded_as_in_the_bot(http: aiohttp.ClientSession, base: str) -> None:
    status, html, _ = await get(http, f"{base}/?q=recette+de+la+tarte+aux+pommes+caramélisées")
    assert status == 200 and "Je n'ai trouvé aucun passage" in html
    assert not AID_RE.search(html)
    status, html, _ = await get(http, f"{base}/?q=%3F%3F%3F&lang=en")
    assert "Write me a question" in html or "I found no question" in html


@pytest.mark.parametrize("injection", INJECTIONS)
async def test_injections_in_the_query_come_back_inert(
    http: aiohttp.ClientSession, base: str, injection: str
) -> None:
    async with http.get(f"{base}/", params={"q": injection}) as response:
        html = await response.text()
    assert injection not in html
    page = parse(html)
    assert not page.all("script") and not page.all("img")
    assert page.all("input")[0]["value"] == injection  # shown back as text only
    switch = [a["href"] for a in page.all("a") if a.get("hreflang")]
    assert switch and "<" not in switch[0] and '"' not in switch[0]


async def test_landing_page_lists_examples_and_articles(
    http: aiohttp.ClientSession, base: str, engine: Any
) -> None:
    status, html, _ = await get(http, f"{base}/")
    assert status == 200
    page = parse(html)
    links = {a["href"] for a in page.all("a")}
    assert all(a.url in links for a in engine.articles())
    assert any(h.startswith("/?q=") for h in links)
    assert "?lang=en" in links  # the visible switch
    label = page.all("label")[0]
    assert label["for"] == "q" and page.all("input")[0]["id"] == "q"
    _, english, _ = await get(http, f"{base}/?lang=en")
    assert parse(english).all("html")[0]["lang"] == "en"
    assert 'name="lang" value="en"' in english  # a chosen language survives the search


async def test_security_headers_and_no_other_host_on_every_response(
    http: aiohttp.ClientSession, base: str, stored, article_hosts: set[str]
) -> None:
    aid, _ = stored
    paths = [
        "/", "/?lang=en", f"/?q={QUESTION}", "/?q=%3Cscript%3E", f"/a/{aid}", f"/a/{aid}.json",
        "/a/AAAAAAAAAAA", "/nope", "/static/style.css", "/static/icon.svg", "/favicon.ico",
        "/robots.txt", "/static/robots.txt",
        "/?q=" + "x" * 600,
    ]  # fmt: skip
    allowed = {urlsplit(base).netloc, "t.me"} | article_hosts
    for path in paths:
        async with http.get(base + path) as response:
            body = await response.text()
            headers = response.headers
        assert headers["Content-Security-Policy"] == CSP, path
        assert headers["Referrer-Policy"] == "no-referrer", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert "Set-Cookie" not in headers, path
        assert parse(body).hosts() <= allowed, (path, parse(body).hosts() - allowed)
        assert "//" not in re.sub(r"https?://[^\s\"'<>]+", "", body.split("*/", 1)[-1]), path
    async with http.post(f"{base}/", data=b"x" * 10_000) as response:
        assert response.status in (405, 413)
        assert response.headers["Content-Security-Policy"] == CSP


async def test_too_long_query_is_refused_without_searching(
    http: aiohttp.ClientSession, base: str, svc: Services
) -> None:
    before = svc.store.counters()["questions"]
    status, html, _ = await get(http, f"{base}/?q=" + "caméra " * 200)
    assert status == 414 and "trop long" in html
    assert svc.store.counters()["questions"] == before


async def test_head_and_etag(http: aiohttp.ClientSession, base: str, stored) -> None:
    aid, _ = stored
    async with http.get(f"{base}/a/{aid}") as response:
        etag = response.headers["ETag"]
        length = len(await response.read())
        assert "public" in response.headers["Cache-Control"]
        assert "max-age=" in response.headers["Cache-Control"]
    async with http.head(f"{base}/a/{aid}") as response:
        assert response.status == 200 and response.headers["ETag"] == etag
        assert int(response.headers["Content-Length"]) == length
        assert await response.read() == b""
    async with http.get(f"{base}/a/{aid}", headers={"If-None-Match": etag}) as response:
        assert response.status == 304 and await response.read() == b""
        assert response.headers["Content-Security-Policy"] == CSP
    async with http.get(f"{base}/a/{aid}", headers={"If-None-Match": '"other"'}) as response:
        assert response.status == 200
    for path in ("/", "/static/style.css"):
        async with http.head(base + path) as response:
            assert response.status == 200, path


async def test_search_rate_limit_per_client(engine: Any, tmp_path) -> None:
    svc = web_services(engine, tmp_path / "bot.sqlite3")
    try:
        async with serving(svc, per_minute=1, burst=2) as url, aiohttp.ClientSession() as http:
            statuses = []
            for _ in range(3):
                async with http.get(f"{url}/", params={"q": QUESTION}) as response:
                    statuses.append(response.status)
                    html = await response.text()
            assert statuses == [200, 200, 429]
            assert response.headers["Retry-After"] == "60" and "dans une minute" in html
            async with http.get(f"{url}/") as response:  # pages other than searches stay open
                assert response.status == 200
        assert svc.store.counters()["rate_limited"] == 1
    finally:
        svc.store.close()


async def test_bot_serves_the_pages_and_its_share_links_point_there(engine: Any, tmp_path) -> None:
    """PUBLIC_URL set: the bot's answer links to its web page, served by the bot's own loop;
    inline cards link there too; the t.me deep link stays on the page and on the cards."""
    from bot_fixtures import Harness, start_bot, stop_bot
    from fakebotapi import BOT_USERNAME, FakeBotApi
    from web_fixtures import free_socket

    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    public = f"http://127.0.0.1:{port}"
    api = FakeBotApi()
    await api.start()
    app = await start_bot(
        api, engine, tmp_path / "bot.sqlite3", public_url=public + "/", web_port=port,
        web_listen="127.0.0.1", health_port=0,
    )  # fmt: skip
    try:
        harness = Harness(api=api, app=app, settings=app.bot_data["services"].settings)
        user = api.new_user()
        call = await harness.ask(user, QUESTION)
        match = re.search(rf"{re.escape(public)}/a/([A-Za-z0-9_-]{{11}})", call["text"])
        assert match, call["text"]
        aid = match.group(1)
        async with aiohttp.ClientSession() as http:
            status, html, _ = await get(http, match.group(0))
        assert status == 200
        page = parse(html)
        assert page.meta()["og:url"] == match.group(0)
        assert f"https://t.me/{BOT_USERNAME}?start={aid}" in {a["href"] for a in page.all("a")}
        since = api.mark()
        query_id = api.inline(user, f"share:{aid}")
        shared = await api.wait_for(
            "answerInlineQuery", lambda c: c["inline_query_id"] == query_id, since=since
        )
        rows = shared["results"][0]["reply_markup"]["inline_keyboard"]
        assert rows[0][0]["url"] == f"https://t.me/{BOT_USERNAME}?start={aid}"
        assert rows[1][0]["url"] == match.group(0)
    finally:
        await stop_bot(app)
        await api.stop()
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientConnectionError):
            await get(http, f"{public}/")


async def test_python_m_bot_web_serves_alone_and_stops_on_sigterm(
    engine: Any, index_settings: Any, tmp_path
) -> None:
    """``python -m bot web``: no Telegram token, the same engine's index, a clean stop."""
    import asyncio
    import signal
    import subprocess
    import sys

    from web_fixtures import free_socket

    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    env = settings_env(
        index_settings,
        STORE_PATH=str(tmp_path / "bot.sqlite3"),
        PUBLIC_URL="https://answers.example.org/",
    )
    env.pop("TELEGRAM_BOT_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "web", "--host", "127.0.0.1", "--port", str(port)],
        cwd=Path(__file__).resolve().parents[1], env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(240):
                try:
                    status, html, _ = await get(http, f"http://127.0.0.1:{port}/?q={QUESTION}")
                    break
                except aiohttp.ClientConnectionError:
                    assert proc.poll() is None, proc.communicate()[1]
                    await asyncio.sleep(0.5)
            else:
                pytest.fail("python -m bot web did not start")
        assert status == 200
        assert "https://answers.example.org/a/" in html  # PUBLIC_URL, not the Host header
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(proc.wait, 30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_a_store_fault_is_an_error_page_and_the_server_stays_up(
    engine: Any, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    svc = web_services(engine, tmp_path / "bot.sqlite3")
    aid = svc.store.save_answer([Quote("Un passage.", "Titre", "https://t.example/a", None)])
    async with serving(svc) as url, aiohttp.ClientSession() as http:
        svc.store.close()  # the disk went away: every store call now raises
        status, html, headers = await get(http, f"{url}/a/{aid}")
        assert status == 500 and "Désolé, une erreur" in html, html
        assert headers["Content-Security-Policy"] == CSP
        # A search still answers: its quotes are shown, without a share link to a page that
        # could not be saved.
        status, html, headers = await get(http, f"{url}/?q={QUESTION}")
        assert status == 200 and "<blockquote" in html and "/a/" not in html, html
        assert headers["Content-Security-Policy"] == CSP
        status, _, _ = await get(http, f"{url}/")  # the rest still works
        assert status == 200
    assert "ProgrammingError" in caplog.text and "vidéosurveillance" not in caplog.text
    svc.store_thread.shutdown()


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /?q=zorglub\x01secret HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /?q=zorglub HTTP/1.1\r\nHo st: x\r\n\r\n",
        b"GET /?q=zorglub" + b"x" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
)
async def test_malformed_requests_log_neither_the_question_nor_the_address(
    base: str, http: aiohttp.ClientSession, raw: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp's own log line for a request it cannot parse quotes the raw request line."""
    import asyncio

    caplog.set_level(logging.DEBUG)
    host, port = urlsplit(base).hostname, urlsplit(base).port
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(raw)
    await writer.drain()
    assert (await reader.read(100)).startswith(b"HTTP/1.")
    writer.close()
    await writer.wait_closed()
    status, _, _ = await get(http, f"{base}/")
    assert status == 200
    assert "web server:" in caplog.text
    assert "zorglub" not in caplog.text and "127.0.0.1" not in caplog.text
