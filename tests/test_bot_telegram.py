"""The real bot, with the real engine, against a fake Telegram: what a new user would see.

Each test uses fresh users and chats, so tests share one running bot without interfering.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from bot_fixtures import *  # noqa: F403  (fixtures)
from bot_fixtures import REQUEST_TIMEOUT, Harness, sent_to, start_bot, stop_bot
from fakebotapi import BOT_USERNAME, TOKEN, FakeBotApi, parse_html

from bot.handlers.conversation import TYPING_DELAY_SECONDS
from bot.services import KEY

CANDIDATES = (
    "vidéosurveillance algorithmique",
    "Qu'est-ce que la VSA ?",
    "capteurs sonores",
    "algorithme de notation de la CAF",
    "Technopolice",
)
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning"  # raised inside PTB itself
)
UNRELATED = "recette de la tarte aux pommes caramélisées"
SHARE_RE = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=([A-Za-z0-9_-]{{11}})")
DATE_FR = re.compile(
    r"\d{1,2}(?:er)? (?:janvier|février|mars|avril|mai|juin|juillet|août|septembre|octobre"
    r"|novembre|décembre) \d{4}"
)
DATE_EN = re.compile(r"(?:January|February|March|April|May|June|July|August|September"
                     r"|October|November|December) \d{1,2}, \d{4}")  # fmt: skip


@pytest.fixture(scope="module")
def question(bot_engine: Any) -> str:
    """A question the test corpus answers with at least four passages (so "more" exists)."""
    for candidate in CANDIDATES:
        answer = bot_engine.search(candidate, k=9)
        if answer.answered and len(answer.results) >= 4:
            return candidate
    pytest.fail("the corpus answers none of the candidate questions with 4+ passages")


@pytest.fixture(autouse=True)
def no_malformed_requests(harness: Harness):
    """Whatever a test does, the bot never sends Telegram something it would refuse."""
    since = harness.api.mark()
    yield
    assert harness.api.bad_requests(since) == []


def buttons(call: Any) -> list[dict]:
    markup = call.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def quotes_of(html: str) -> list[str]:
    """The quotes' text (the first open, the others expandable; bold marks the answer)."""
    found = re.findall(r"<blockquote(?: expandable)?>(.*?)</blockquote>", html, flags=re.S)
    return [re.sub(r"</?b>", "", q) for q in found]


async def test_commands_menu_registered_in_french_and_english(harness: Harness) -> None:
    menus = harness.api.commands
    assert {c["command"] for c in menus[None]} >= {"start", "aide", "sujets", "apropos",
                                                   "confidentialite", "q"}  # fmt: skip
    assert {c["command"] for c in menus["en"]} >= {"start", "help", "topics", "about", "privacy"}


async def test_start_welcomes_with_example_questions(harness: Harness) -> None:
    user = harness.api.new_user()
    call = await harness.ask(user, "/start")
    text = call["text"]
    assert "Technopolice" in text and "/sujets" in text
    assert text.count("• <i>") == 3
    english = await harness.ask(harness.api.new_user("en-US"), "/start")
    assert "Ask a question" in english["text"]


async def test_question_gets_quotes_links_dates_share_link_and_keyboard(
    harness: Harness, question: str, bot_engine: Any
) -> None:
    api = harness.api
    user = api.new_user()
    call = await harness.ask(user, question)
    html = call["text"]
    quotes = quotes_of(html)
    assert len(quotes) == 3
    expected = bot_engine.search(question, k=9).results
    plain = parse_html(html)
    for result in expected[:3]:
        assert result.quote.split()[0] in plain  # quoted, not invented
        assert f'href="{result.url.replace("&", "&amp;")}"' in html
    assert "#:~:text=" in html
    assert DATE_FR.search(plain)
    share = SHARE_RE.search(html)
    assert share, html
    aid = share.group(1)
    by_data = {b.get("callback_data") or b.get("switch_inline_query"): b for b in buttons(call)}
    assert f"m:{aid}:3" in by_data
    assert f"share:{aid}" in by_data
    assert {f"f:{aid}:u", f"f:{aid}:d"} <= set(by_data)
    assert call.get("link_preview_options", {}).get("is_disabled") is True


class SlowEngine:
    """The real engine, with searches slower than the typing delay (a machine under load)."""

    def __init__(self, engine: Any, seconds: float) -> None:
        self.engine = engine
        self.seconds = seconds
        self.finished: list[float] = []  # time.monotonic() as each search ends

    def search(self, query: str, k: int = 5) -> Any:
        time.sleep(self.seconds)  # in the bot's worker thread, like a real slow search
        self.finished.append(time.monotonic())
        return self.engine.search(query, k)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


@contextmanager
def slow_searches(harness: Harness, bot_engine: Any) -> Iterator[SlowEngine]:
    svc = harness.app.bot_data[KEY]
    svc.engine = SlowEngine(bot_engine, TYPING_DELAY_SECONDS + 0.4)
    try:
        yield svc.engine
    finally:
        svc.engine = bot_engine


async def test_fast_answer_sends_no_typing_action(harness: Harness, question: str) -> None:
    """Each chat action counts against Telegram's 30 requests/s: a fast answer needs none."""
    api = harness.api
    user = api.new_user()
    since = api.mark()
    call = await harness.ask(user, question)  # a question the engine has seen: milliseconds
    assert quotes_of(call["text"])
    await asyncio.sleep(TYPING_DELAY_SECONDS + 0.3)  # an action left pending would be sent now
    assert not api.calls_of("sendChatAction", sent_to(user["id"]), since, ok_only=False)


async def test_slow_answer_shows_typing_before_the_message(
    harness: Harness, bot_engine: Any, question: str
) -> None:
    api = harness.api
    user = api.new_user()
    since = api.mark()
    asked = time.monotonic()
    with slow_searches(harness, bot_engine):
        call = await harness.ask(user, question)
    assert quotes_of(call["text"])
    actions = api.calls_of("sendChatAction", sent_to(user["id"]), since, ok_only=False)
    assert [(a.status, a["action"]) for a in actions] == [(200, "typing")]
    assert asked + TYPING_DELAY_SECONDS <= actions[0].at <= call.at


@pytest.mark.parametrize("kind", ["500", "timeout"])
async def test_failed_typing_action_never_holds_the_answer(
    harness: Harness, bot_engine: Any, question: str, kind: str
) -> None:
    api = harness.api
    user = api.new_user()
    since = api.mark()
    api.fail_next("sendChatAction", 1, kind=kind, delay=3.0)  # "timeout": hangs past ours
    asked = time.monotonic()
    with slow_searches(harness, bot_engine):
        call = await harness.ask(user, question)
    assert quotes_of(call["text"])
    actions = api.calls_of("sendChatAction", sent_to(user["id"]), since, ok_only=False)
    assert [a.status for a in actions] == [500 if kind == "500" else 504]
    # A hanging action is dropped when the answer is ready, not waited for until it times out.
    assert call.at - asked < REQUEST_TIMEOUT


async def test_shared_answer_opens_while_searches_queue(
    harness: Harness, bot_engine: Any, question: str
) -> None:
    """Opening a shared answer reads the store, which has a thread of its own: it is not
    queued behind the searches of a busy moment (nor are the answers' own store calls)."""
    api = harness.api
    first = await harness.ask(api.new_user(), question)
    aid = SHARE_RE.search(first["text"]).group(1)
    askers = [api.new_user() for _ in range(10)]  # more searches than worker threads
    since = api.mark()
    with slow_searches(harness, bot_engine) as slow:
        for user in askers:
            api.send_text(user, question)
        opened = await harness.ask(api.new_user(), f"/start {aid}")
        assert quotes_of(opened["text"])
        assert all(opened.at < t for t in slow.finished)  # no wait for a search to end
        ids = {u["id"] for u in askers}
        await api.wait_for(
            "sendMessage", lambda c: c["chat_id"] in ids, since=since, count=len(askers),
            timeout=30,
        )  # fmt: skip


async def test_more_passages_then_share_link_opened_by_someone_else(
    harness: Harness, question: str
) -> None:
    api = harness.api
    user = api.new_user()
    first = await harness.ask(user, question)
    aid = SHARE_RE.search(first["text"]).group(1)

    since = api.mark()
    query_id = api.press(user, first.result, f"m:{aid}:3")
    more = await api.wait_for("sendMessage", lambda c: c["chat_id"] == user["id"], since=since)
    assert "Autres passages (4–" in parse_html(more["text"])
    assert quotes_of(more["text"]) and not set(quotes_of(more["text"])) & set(
        quotes_of(first["text"])
    )
    await api.wait_for("answerCallbackQuery", lambda c: c["callback_query_id"] == query_id,
                       since=since)  # fmt: skip
    edit = await api.wait_for("editMessageReplyMarkup", since=since)
    assert not any(str(b.get("callback_data", "")).startswith("m:") for b in buttons(edit))

    other = api.new_user()
    shared = await harness.ask(other, f"/start {aid}")
    assert quotes_of(shared["text"]) == quotes_of(first["text"])
    assert SHARE_RE.search(shared["text"]).group(1) == aid


async def test_feedback_counts_once_and_thanks_even_when_pressed_twice(
    harness: Harness, question: str
) -> None:
    api = harness.api
    user = api.new_user()
    first = await harness.ask(user, question)
    aid = SHARE_RE.search(first["text"]).group(1)
    store = harness.app.bot_data["services"].store
    before = store.counters()["feedback_up"]
    replies = []
    for _ in range(2):  # a second press (an old client, a forged update) is not a second vote
        since = api.mark()
        query_id = api.press(user, first.result, f"f:{aid}:u")
        thanks = await api.wait_for(
            "answerCallbackQuery", lambda c, q=query_id: c["callback_query_id"] == q, since=since
        )
        replies.append(thanks["text"])
    assert replies == [
        "Merci pour votre avis !",
        "Votre avis sur cette réponse est déjà compté, merci !",
    ]
    await asyncio.sleep(0.2)
    assert store.counters()["feedback_up"] == before + 1


async def test_inline_query_gives_cards_with_open_buttons(harness: Harness, question: str) -> None:
    api = harness.api
    user = api.new_user()
    since = api.mark()
    query_id = api.inline(user, question)
    call = await api.wait_for("answerInlineQuery", lambda c: c["inline_query_id"] == query_id,
                              since=since)  # fmt: skip
    results = call["results"]
    assert len(results) >= 3
    aid = None
    for card in results:
        assert card["type"] == "article" and card["title"]
        assert DATE_FR.search(card["description"])
        body = card["input_message_content"]["message_text"]
        assert "<blockquote>" in body and "<a href=" in body
        url = card["reply_markup"]["inline_keyboard"][0][0]["url"]
        match = SHARE_RE.fullmatch(url)
        assert match
        aid = match.group(1)

    since = api.mark()
    query_id = api.inline(user, f"share:{aid}")
    shared = await api.wait_for("answerInlineQuery", lambda c: c["inline_query_id"] == query_id,
                                since=since)  # fmt: skip
    assert [c["input_message_content"] for c in shared["results"]] == [
        c["input_message_content"] for c in results
    ]

    since = api.mark()
    query_id = api.inline(user, UNRELATED)
    nothing = await api.wait_for("answerInlineQuery", lambda c: c["inline_query_id"] == query_id,
                                 since=since)  # fmt: skip
    assert nothing["results"] == [] and nothing["button"]["start_parameter"] == "aide"


async def test_group_answers_only_when_addressed(harness: Harness, question: str) -> None:
    api = harness.api
    group = api.new_group()
    user = api.new_user()

    since = api.mark()
    api.send_text(user, question, group)
    api.send_text(user, "", group, sticker=True)
    assert await harness.silent(group["id"], since)

    mention = await harness.ask(user, f"@{BOT_USERNAME} {question}", group)
    assert len(quotes_of(mention["text"])) == 3
    assert mention["reply_parameters"]["message_id"]  # replies to the question in a group

    reply = await harness.ask(user, question, group, reply_to=mention.result)
    assert quotes_of(reply["text"])

    slash_q = await harness.ask(user, f"/q {question}", group)
    assert quotes_of(slash_q["text"])
    addressed = await harness.ask(user, f"/q@{BOT_USERNAME} {question}", group)
    assert quotes_of(addressed["text"])
    usage = await harness.ask(user, "/q", group)
    assert "/q" in usage["text"] and not quotes_of(usage["text"])


async def test_sticker_and_odd_input_in_private(harness: Harness) -> None:
    api = harness.api
    hint = await harness.ask(api.new_user(), None, sticker=True)
    assert "texte" in hint["text"]
    photo = await harness.ask(api.new_user("en"), None, photo=True)
    assert "text" in photo["text"]

    empty = await harness.ask(api.new_user(), "\x00\x07 \u200b")
    assert "question" in empty["text"]

    long = await harness.ask(api.new_user(), "surveillance " * 330)  # ~4000 characters
    assert long["text"]

    unknown = await harness.ask(api.new_user(), "/nimportequoi")
    assert "/aide" in unknown["text"]


async def test_html_and_ampersand_in_question(harness: Harness) -> None:
    api = harness.api
    for text in ("<b>VSA</b> & caméras", "a < b && c > d &amp; <script>", UNRELATED + " <i>"):
        call = await harness.ask(api.new_user(), text)
        parse_html(call["text"])  # well-formed; the fixture also checks no 400 happened
    nothing = await harness.ask(api.new_user(), UNRELATED)
    assert "/sujets" in nothing["text"] and "reformuler" in nothing["text"]


async def test_forged_callbacks_and_start_payloads(harness: Harness, question: str) -> None:
    api = harness.api
    user = api.new_user()
    first = await harness.ask(user, question)
    aid = SHARE_RE.search(first["text"]).group(1)
    forged = [
        "m:AAAAAAAAAAA:3",  # well-formed, unknown answer
        f"m:{aid}:99",  # past the end
        f"m:{aid}:0",
        "garbage",
        "x" * 64,
        f"f:{aid}:z",
    ]
    for data in forged:  # each from someone else: presses share the questions' rate limit
        since = api.mark()
        query_id = api.press(api.new_user(), first.result, data)
        notice = await api.wait_for(
            "answerCallbackQuery", lambda c, q=query_id: c["callback_query_id"] == q, since=since
        )
        assert "plus valable" in notice["text"]
        assert not api.calls_of("sendMessage", lambda c: c["chat_id"] == user["id"], since)

    for payload in ("AAAAAAAAAAA", "not-an-id", "x" * 64, "aide"):
        call = await harness.ask(api.new_user(), f"/start {payload}")
        if payload == "aide":
            assert "Mode d'emploi" in call["text"]
        else:
            assert "lien de partage" in call["text"]


async def test_info_commands(harness: Harness, bot_engine: Any) -> None:
    api = harness.api
    topics_since = api.mark()
    user = api.new_user()
    first = await harness.ask(user, "/sujets")
    assert "Articles de la campagne" in first["text"]
    await asyncio.sleep(0.5)
    parts = api.calls_of("sendMessage", lambda c: c["chat_id"] == user["id"], topics_since)
    links = sum(p["text"].count("<a href=") for p in parts)
    articles = bot_engine.articles()
    assert links == len(articles)
    assert articles[0].title.split()[0] in parts[0]["text"]  # newest first

    about = await harness.ask(api.new_user(), "/apropos")
    assert f"Articles : {len(articles)}" in about["text"]
    assert DATE_FR.search(about["text"])
    about_en = await harness.ask(api.new_user("en"), "/about")
    assert DATE_EN.search(about_en["text"])

    privacy = await harness.ask(api.new_user(), "/confidentialite")
    assert "jamais conservé" in privacy["text"]
    help_en = await harness.ask(api.new_user("en"), "/help")
    assert f"@{BOT_USERNAME}" in help_en["text"]


async def test_admin_commands_only_for_admins(harness: Harness) -> None:
    api = harness.api
    stats = await harness.ask(api.new_user(uid=4242), "/stats")
    assert "questions" in stats["text"]
    for command in ("/stats", "/reindex"):  # for others, just unknown commands
        refused = await harness.ask(api.new_user(), command)
        assert "ne connais pas" in refused["text"]


async def test_rate_limit_is_polite_and_said_once(harness: Harness, question: str) -> None:
    api = harness.api
    user = api.new_user()
    since = api.mark()
    for _ in range(7):
        api.send_text(user, question)
    notice = await api.wait_for(
        "sendMessage", lambda c: "beaucoup de questions" in c["text"], since=since
    )
    assert notice["chat_id"] == user["id"]
    await api.wait_for("sendMessage", lambda c: c["chat_id"] == user["id"], since=since, count=5)
    await asyncio.sleep(1.0)
    sent = api.calls_of("sendMessage", lambda c: c["chat_id"] == user["id"], since)
    assert len(sent) == 5  # four answers (the burst) and one notice
    assert sum("beaucoup" in c["text"] for c in sent) == 1
    # Someone else is not affected.
    other = await harness.ask(api.new_user(), question)
    assert quotes_of(other["text"])


@pytest.mark.parametrize("kind", ["429", "500", "timeout"])
async def test_answer_survives_telegram_faults(harness: Harness, question: str, kind: str) -> None:
    api = harness.api
    user = api.new_user()
    since = api.mark()
    api.fail_next("sendMessage", 1, kind=kind, delay=3.5, retry_after=1)
    call = await harness.ask(user, question, timeout=30)
    assert quotes_of(call["text"])
    failed = [c for c in api.calls[since:] if c.method == "sendMessage" and not c.ok]
    assert len(failed) == 1
    # And the bot keeps answering normally.
    again = await harness.ask(api.new_user(), question)
    assert quotes_of(again["text"])


async def test_blocked_user_does_not_break_the_bot(harness: Harness, question: str) -> None:
    api = harness.api
    since = api.mark()
    api.fail_next("sendMessage", 1, kind="403")
    blocked = api.new_user()
    api.send_text(blocked, question)
    refused = await api.wait_for(
        "sendMessage", lambda c: c.status == 403, since=since, ok_only=False
    )
    assert refused["chat_id"] == blocked["id"]
    call = await harness.ask(api.new_user(), question)
    assert quotes_of(call["text"])


async def test_privacy_nothing_about_users_in_store_or_logs(
    fake_api: FakeBotApi, bot_engine: Any, tmp_path, caplog: pytest.LogCaptureFixture, question: str
) -> None:
    caplog.set_level(logging.DEBUG)
    from bot.logs import setup_logging

    setup_logging("DEBUG")  # even at DEBUG, no user data and no token
    store_path = tmp_path / "store" / "bot.sqlite3"
    app = await start_bot(fake_api, bot_engine, store_path, rate_limit_burst=50)
    harness = Harness(api=fake_api, app=app, settings=app.bot_data["services"].settings)
    secret_question = f"{question.upper()} ???"  # answered, yet found in no quote
    user = fake_api.new_user(uid=987654321)
    user["first_name"] = "Cunégonde"
    group = fake_api.new_group()
    try:
        first = await harness.ask(user, secret_question)
        aid = SHARE_RE.search(first["text"]).group(1)
        await harness.ask(user, f"@{BOT_USERNAME} {secret_question}", group)
        await harness.ask(user, f"/q {secret_question}", group)
        await harness.ask(user, UNRELATED + " zorglubien")
        since = fake_api.mark()
        fake_api.press(user, first.result, f"m:{aid}:3")
        fake_api.press(user, first.result, f"f:{aid}:d")
        fake_api.inline(user, secret_question)
        await fake_api.wait_for("answerInlineQuery", since=since)
        await fake_api.wait_for("answerCallbackQuery", since=since, count=2)
        await harness.ask(user, f"/start {aid}")
    finally:
        await stop_bot(app)
        logging.getLogger().setLevel(logging.WARNING)

    store_bytes = b"".join(p.read_bytes() for p in store_path.parent.iterdir() if p.is_file())
    logs = caplog.text
    assert "answered with" in logs  # the logs did capture the bot's events
    needles = (secret_question, "zorglubien", "987654321", "Cunégonde", str(group["id"]), TOKEN)
    for needle in needles:
        assert needle.encode() not in store_bytes, needle
        assert needle not in logs, needle
    assert TOKEN.split(":")[1] not in logs


async def test_reply_language_follows_the_question(harness: Harness) -> None:
    """A French Telegram client writing in English is answered in English, and vice versa."""
    api = harness.api
    french_client = api.new_user()
    call = await harness.ask(french_client, "Who won the football world cup last year?")
    assert "I found no passage" in parse_html(call["text"])
    call = await harness.ask(french_client, "Quelle est la recette de la tarte aux pommes ?")
    assert "Je n'ai trouvé aucun passage" in parse_html(call["text"])


async def test_paid_broadcast_only_when_configured(
    harness: Harness, bot_engine: Any, tmp_path, question: str
) -> None:
    """PAID_BROADCAST lifts Telegram's 30 messages/s for a fee: asked for only when set."""
    call = await harness.ask(harness.api.new_user(), question)
    assert "allow_paid_broadcast" not in call.params
    api = FakeBotApi()
    await api.start()
    app = await start_bot(api, bot_engine, tmp_path / "bot.sqlite3", paid_broadcast=True)
    try:
        call = await Harness(api=api, app=app, settings=app.bot_data[KEY].settings).ask(
            api.new_user(), question
        )
        assert quotes_of(call["text"]) and call["allow_paid_broadcast"] in (True, "true")
        # Telegram refuses to bill (no Stars left): the answer goes out at the free rate.
        api.fail_next("sendMessage", kind="400")
        user = api.new_user()
        since = api.mark()
        api.send_text(user, question)
        sent = await api.wait_for("sendMessage", lambda c: c["chat_id"] == user["id"], since=since)
        assert quotes_of(sent["text"]) and "allow_paid_broadcast" not in sent.params
    finally:
        await stop_bot(app)
        await api.stop()
