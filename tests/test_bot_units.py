"""Unit tests of the bot's pure parts: rendering, store, settings, rate limit, texts, and the
fake Bot API's own validator (the integration tests rely on it)."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from types import SimpleNamespace

import pytest
from fakebotapi import ApiError, check_text, parse_html
from telegram import Update

from bot.keyboards import answer_keyboard, parse_more, parse_vote
from bot.ratelimit import RateLimiter
from bot.render import (
    ELLIPSIS,
    MAX_MESSAGE,
    Quote,
    fit_quotes,
    html_to_plain,
    render_answer,
    render_nothing,
    shorten,
    split_messages,
    u16len,
    visible_length,
)
from bot.settings import BotSettings, SettingsError, load_settings
from bot.store import Store, answer_id, is_answer_id
from bot.texts import format_date, lang_for

URL = "https://www.laquadrature.net/2023/01/01/vsa/#:~:text=La%20VSA"


def quote(text: str = "La VSA est une surveillance de masse.", **kw: object) -> Quote:
    values: dict = {"title": "Article", "url": URL, "date": dt.date(2024, 3, 12)} | kw
    return Quote(quote=text, **values)


def test_the_words_that_answer_are_bold_and_survive_shortening() -> None:
    context = "Contexte qui précède la réponse, assez long pour être coupé. " * 20
    answer = "La ville a payé 12 000 euros pour ces caméras."
    q = quote(context + answer + " Et la suite du texte, coupée elle aussi. " * 20, answer=answer)
    html = render_answer([q], "fr")
    assert f"<b>{answer}</b>" in html
    check_text(html, "HTML")
    tight = fit_quotes([q], "", "", "fr", limit=200)
    assert f"<b>{answer}</b>" in tight and visible_length(tight) <= 200
    assert tight.count(ELLIPSIS) == 2  # context cut on both sides, never the answer
    stored = Quote.from_json(q.to_json())
    assert stored.answer == answer  # a shared answer keeps its bold words


def test_render_answer_has_blockquotes_links_dates_and_share_link() -> None:
    html = render_answer([quote(), quote("Deux."), quote("Trois."), quote("Quatre.")], "fr",
                         share_url="https://t.me/Bot?start=abcdefghijk")  # fmt: skip
    # A page is three quotes: the first open, the others folded (context one tap away).
    assert html.count("<blockquote>") == 1 and html.count("<blockquote expandable>") == 2
    assert html.index("<blockquote>") < html.index("<blockquote expandable>")
    assert f'<a href="{URL}">Article</a>, 12 mars 2024' in html
    assert html.rstrip().endswith("https://t.me/Bot?start=abcdefghijk")
    plain = check_text(html, "HTML")  # Telegram would accept it
    assert "Quatre" not in plain
    english = render_answer([quote()], "en")
    assert "March 12, 2024" in english


def test_render_escapes_everything_from_the_corpus() -> None:
    nasty = quote("a <b>bold</b> & <script>x</script> 5 > 3", title='T "quoted" <i> & co',
                  url='https://ex.org/?a=1&b="2"#:~:text=a%20b')  # fmt: skip
    html = render_answer([nasty], "fr")
    plain = check_text(html, "HTML")
    assert "a <b>bold</b> & <script>x</script> 5 > 3" in plain
    assert 'T "quoted" <i> & co' in plain
    assert "&amp;b=&quot;2&quot;" in html


@pytest.mark.parametrize("size", [2000, 5000, 20000])
def test_render_never_exceeds_telegram_limit(size: int) -> None:
    words = ("surveillance 😀 algorithmique & <biométrique> " * (size // 40))[:size]
    quotes = [quote(words, title="T" * 500) for _ in range(3)]
    html = render_answer(quotes, "fr", share_url="https://t.me/Bot?start=abcdefghijk")
    plain = check_text(html, "HTML")  # raises if too long or malformed
    assert u16len(plain) <= MAX_MESSAGE
    assert visible_length(html) == u16len(plain)
    if size > 2000:
        assert "…</blockquote>" in html  # shortened, tags intact
        assert "https://t.me/Bot?start=abcdefghijk" in html


def test_shorten_cuts_at_word_boundary() -> None:
    assert shorten("un deux trois quatre", 100) == "un deux trois quatre"
    cut = shorten("un deux trois quatre cinq", 16)
    assert cut.endswith("…") and u16len(cut) <= 16
    assert cut == "un deux trois…"


def test_nothing_message_offers_topics_and_rephrasing() -> None:
    fr = render_nothing("no_match", "fr")
    assert "/sujets" in fr and "reformuler" in fr
    assert "/topics" in render_nothing("no_match", "en")
    assert "trop long" in render_nothing("too_long", "fr")
    check_text(render_nothing("empty", "fr", "<b> & x"), "HTML")


def test_plain_text_for_terminal() -> None:
    plain = html_to_plain(render_answer([quote("Une phrase citée.")], "fr"))
    assert "│ Une phrase citée." in plain
    assert f"Article ({URL}), 12 mars 2024" in plain
    assert "<" not in plain


def test_split_messages_keeps_lines_whole() -> None:
    lines = [f"• ligne {i} " + "x" * 300 for i in range(40)]
    parts = split_messages("<b>Articles</b>", lines)
    assert len(parts) > 1
    assert all(visible_length(p) <= MAX_MESSAGE for p in parts)
    assert sum(p.count("• ligne") for p in parts) == 40


def test_store_ids_are_short_stable_and_content_derived(tmp_path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    quotes = [quote(), quote("Deux.")]
    aid = store.save_answer(quotes)
    assert is_answer_id(aid) and len(aid) == 11
    assert store.save_answer(list(quotes)) == aid == answer_id(quotes)
    assert store.save_answer([quote("Autre.")]) != aid
    assert store.get_answer(aid) == quotes
    assert store.get_answer("AAAAAAAAAAA") is None
    assert store.get_answer("'; DROP TABLE answers; --") is None
    store.count("questions")
    store.count("questions", 2)
    assert store.counters()["questions"] == 3
    with pytest.raises(ValueError):
        store.count("user_12345")
    assert store.prune(1) == 0
    store.close()
    db = sqlite3.connect(tmp_path / "s.sqlite3")
    columns = {r[1] for t in ("answers", "counters") for r in db.execute(f"PRAGMA table_info({t})")}
    assert columns == {"id", "results", "created", "day", "name", "count"}
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_keyboard_callback_data_fits_and_parses() -> None:
    markup = answer_keyboard("abcdefghijk", "fr", 3)
    buttons = [b for row in markup.inline_keyboard for b in row]
    datas = [b.callback_data for b in buttons if b.callback_data]
    assert all(len(str(d).encode()) <= 64 for d in datas)
    assert parse_more("m:abcdefghijk:3") == ("abcdefghijk", 3)
    assert parse_vote("f:abcdefghijk:d") == ("abcdefghijk", False)
    for forged in ("m:abc:3", "m:abcdefghijk:-1", "x", "m:abcdefghijk:3:4", "f:abcdefghijk:x"):
        assert parse_more(forged) is None and parse_vote(forged) is None
    assert buttons[1].switch_inline_query == "share:abcdefghijk"
    no_more = answer_keyboard("abcdefghijk", "fr", None)
    assert not any(b.callback_data and b.callback_data.startswith("m:")
                   for row in no_more.inline_keyboard for b in row)  # fmt: skip


def test_settings_defaults_and_secrets(monkeypatch) -> None:
    for name in ("TELEGRAM_BOT_TOKEN", "WEBHOOK_URL", "WEBHOOK_SECRET", "ADMIN_USER_IDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir("/")  # no .env
    assert BotSettings().token is None
    settings = BotSettings(
        telegram_bot_token="12345:SECRETsecret",
        admin_user_ids="1, 2,3",
        webhook_url="https://bot.example/hook",
        webhook_secret="s3cr3t_-",
    )
    assert settings.admin_user_ids == {1, 2, 3}
    assert "SECRETsecret" not in repr(settings) and "s3cr3t" not in repr(settings)
    assert settings.token == "12345:SECRETsecret"


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"TELEGRAM_BOT_TOKEN": "not a token"}, "TELEGRAM_BOT_TOKEN"),
        ({"ADMIN_USER_IDS": "12,abc"}, "ADMIN_USER_IDS"),
        ({"WEBHOOK_PORT": "99999"}, "WEBHOOK_PORT"),
        ({"RATE_LIMIT_PER_MINUTE": "-1"}, "RATE_LIMIT_PER_MINUTE"),
        ({"WEBHOOK_URL": "https://x.org/h"}, "WEBHOOK_SECRET"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ],
)
def test_bad_setting_stops_with_its_name(monkeypatch, env: dict, name: str) -> None:
    monkeypatch.chdir("/")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    message = str(info.value.code)
    assert name in message
    assert "Traceback" not in message and "not a token" not in message


def test_rate_limiter_bursts_then_refuses_once() -> None:
    limiter = RateLimiter(per_minute=1, burst=2)
    assert limiter.check(1) == (True, False)
    assert limiter.check(1) == (True, False)
    assert limiter.check(1) == (False, True)
    assert limiter.check(1) == (False, False)  # notice only once
    assert limiter.check(2) == (True, False)  # others unaffected
    # Keyed by salted hashes, not ids: another limiter (another salt) keys the same user apart.
    assert all(len(key) == 16 and key not in (b"1", b"2") for key in limiter.held_keys())
    other = RateLimiter(per_minute=1, burst=2)
    other.check(1)
    assert not set(other.held_keys()) & set(limiter.held_keys())


def test_lang_and_dates() -> None:
    def update(code: str | None) -> Update:
        user = {"id": 1, "is_bot": False, "first_name": "A", "language_code": code}
        return Update.de_json(
            {"update_id": 1, "message": {"message_id": 1, "date": 0, "from": user,
                                         "chat": {"id": 1, "type": "private"}, "text": "x"}},
            None,
        )  # fmt: skip

    assert lang_for(update("en-GB")) == "en"
    assert lang_for(update("fr")) == "fr"
    assert lang_for(update(None)) == "fr"
    assert lang_for(update("de")) == "fr"
    assert lang_for(SimpleNamespace()) == "fr"
    assert format_date(dt.date(2024, 5, 1), "fr") == "1er mai 2024"
    assert format_date(dt.date(2024, 5, 1), "en") == "May 1, 2024"


@pytest.mark.parametrize(
    "bad",
    ["a < b", "<b>x", "<b>x</i>", "<foo>x</foo>", "a & b", "<a>x</a>", "&nbsp;", "<b><i>x</b></i>"],
)
def test_fake_api_rejects_what_telegram_rejects(bad: str) -> None:
    with pytest.raises(ApiError):
        parse_html(bad)


def test_fake_api_parses_like_telegram() -> None:
    assert (
        parse_html('<b>a</b> &lt;&amp;&gt;&quot; <a href="u">l</a> &#x27;&#39;') == "a <&>\" l ''"
    )
    assert check_text("x" * 4096, None)
    with pytest.raises(ApiError):
        check_text("😀" * 2049, None)  # 4098 UTF-16 units
    assert re.sub(r"\s", "", parse_html("<blockquote>q</blockquote>")) == "q"


def test_bot_runs_on_uvloop_where_installed() -> None:
    """uvloop takes a quarter off the bot's CPU per answer (bench/bot.py); asyncio otherwise."""
    import importlib.util

    from bot.__main__ import fast_event_loop

    loop = fast_event_loop()
    try:
        expected = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
        assert type(loop).__module__.split(".")[0] == expected
    finally:
        loop.close()
