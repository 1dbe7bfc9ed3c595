"""A maintainer's update, end to end: `python -m index update` against a local feed server,
while the running bot keeps answering; then the bot quotes the new post with its link."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bot_fixtures import start_bot, stop_bot
from fakebotapi import FakeBotApi, parse_html
from test_fetch import VSA, Site, site, standard_site, write_sources  # noqa: F401 (fixture)

from index import open_engine
from index.config import IndexSettings

REPO = Path(__file__).resolve().parents[1]
NEW_POST_QUESTION = "Qu'ont fait les agents de la gare du Nord face aux alertes de la VSA ?"


def run_update(settings: IndexSettings) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CONTENT_DIR": str(settings.content_dir),
        "INDEX_DIR": str(settings.index_dir),
        "CACHE_DIR": str(settings.cache_dir),
        "EMBEDDING_MODEL": settings.embedding_model,
        "EMBEDDING_BACKEND": settings.embedding_backend,
        "FETCH_ALLOW_PRIVATE_ADDRESSES": str(settings.fetch_allow_private_addresses).lower(),
    }
    return subprocess.run(
        [sys.executable, "-m", "index", "update", "--source", "La Quadrature du Net", "--quiet"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )  # fmt: skip


async def test_update_then_the_bot_quotes_the_new_post(
    site: Site,  # noqa: F811 (fixture)
    embedder: Any,
    index_settings: IndexSettings,
    tmp_path: Path,
) -> None:
    standard_site(site)
    content = tmp_path / "content"
    shutil.copytree(index_settings.content_dir, content, ignore=shutil.ignore_patterns(".*"))
    settings = IndexSettings(
        content_dir=content, index_dir=tmp_path / "index", cache_dir=index_settings.cache_dir,
        embedding_model="minilm", embedding_backend=index_settings.embedding_backend,
        fetch_allow_private_addresses=True,  # the fixture site is on 127.0.0.1
    )  # fmt: skip
    write_sources(settings, site, ("La Quadrature du Net", "/lqdn/feed/"))
    engine = open_engine(settings, embedder)
    before = engine.info()
    assert not engine.search(NEW_POST_QUESTION).answered or all(
        "gare du Nord" not in r.quote for r in engine.search(NEW_POST_QUESTION).results
    )

    api = FakeBotApi()
    await api.start()
    app = await start_bot(api, engine, tmp_path / "bot.sqlite3", rate_limit_burst=50,
                          rate_limit_per_minute=600)  # fmt: skip
    try:
        user = api.new_user()
        update = asyncio.create_task(asyncio.to_thread(run_update, settings))
        # The bot keeps answering while the update fetches, embeds and builds.
        answered_during = 0
        while not update.done():
            since = api.mark()
            api.send_text(user, "Que fait la ville d'Orléans avec Sensivic ?")
            call = await api.wait_for(
                "sendMessage", lambda c: c["chat_id"] == user["id"], timeout=30, since=since
            )
            answered_during += "<blockquote>" in call["text"]
            await asyncio.sleep(0.5)
        proc = await update
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert answered_during >= 1
        assert "added 3" in proc.stdout or re.search(r"\b3\b.*added|added\D+3", proc.stdout)
        assert "+" in proc.stdout and "embedded" in proc.stdout

        assert engine.reload_if_changed()  # what the bot's reload job does every minute
        assert engine.info().articles == before.articles + 3
        since = api.mark()
        api.send_text(user, NEW_POST_QUESTION)
        call = await api.wait_for(
            "sendMessage", lambda c: c["chat_id"] == user["id"], timeout=30, since=since
        )
        html = call["text"]
        assert f'href="{site.base}{VSA}#:~:text=' in html, html
        assert "gare du Nord" in parse_html(html)

        # Running the update again changes nothing and embeds nothing.
        again = await asyncio.to_thread(run_update, settings)
        assert again.returncode == 0, again.stderr[-2000:]
        assert "up to date" in again.stdout, again.stdout
        assert not engine.reload_if_changed()

        # A changed article replaces its old passages: the old words are no longer found.
        feed = site.routes["/lqdn/feed/"]
        feed.body = feed.body.replace(
            b"Thu, 02 May 2024 08:31:12 +0000", b"Mon, 06 May 2024 08:02:40 +0000"
        )
        feed.etag = '"feed-v2"'
        page = site.routes[VSA]
        page.body = page.body.replace(b"gare du Nord", b"gare Saint-Lazare")
        page.etag = '"vsa-v2"'
        changed = await asyncio.to_thread(run_update, settings)
        assert changed.returncode == 0, changed.stderr[-2000:]
        assert engine.reload_if_changed()
        answer = engine.search("agents gare Saint-Lazare alertes VSA", k=5)
        assert any("gare Saint-Lazare" in r.quote for r in answer.results)
        for result in engine.search(NEW_POST_QUESTION, k=10).results:
            assert "gare du Nord" not in result.quote
    finally:
        await stop_bot(app)
        await api.stop()
