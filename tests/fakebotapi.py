"""A fake Telegram Bot API server, for running the real bot without Telegram.

It speaks the Bot API's JSON over HTTP at ``/bot<token>/<method>``, validates what Telegram
validates (HTML entity parsing, the 4096-character limit after parsing, callback data of at
most 64 bytes, start payload rules, inline result ids), records every call, and can inject
faults (429 with ``retry_after``, 500, a response slower than the client's timeout) for the
next calls of a method. Tests push updates into a queue that ``getUpdates`` long-polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

TOKEN = "123456789:TEST-token_for-fake-api"
BOT_USERNAME = "TechnopoliceTestBot"
BOT_ID = 123456789
BOT_USER = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Technopolice",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": True,
}

# Parameters that Telegram reads as plain strings (everything else PTB JSON-encodes).
_STRING_PARAMS = frozenset(
    {
        "text", "query", "inline_query_id", "callback_query_id", "url", "secret_token",
        "language_code", "description", "short_description", "name", "start_parameter",
        "parse_mode", "action", "next_offset", "inline_message_id", "caption",
        "switch_pm_text", "switch_pm_parameter",
    }
)  # fmt: skip
_ALLOWED_TAGS = frozenset(
    {
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
        "a", "code", "pre", "blockquote", "tg-emoji",
    }
)  # fmt: skip
_TAG_RE = re.compile(
    r"<(/?)([A-Za-z][A-Za-z0-9-]*)"
    r"((?:\s+[A-Za-z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?)*)\s*(/?)>"
)
_ATTR_RE = re.compile(r"([A-Za-z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+)))?")
_ENTITY_RE = re.compile(r"&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_PAYLOAD_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
MAX_TEXT = 4096


class ApiError(Exception):
    """A Telegram-style refusal: HTTP code and description."""

    def __init__(self, code: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def u16len(value: str) -> int:
    return len(value.encode("utf-16-le")) // 2


def parse_html(value: str) -> str:
    """Parse Telegram HTML like Telegram does; returns the text, or raises ApiError 400."""
    out: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        if char == "<":
            match = _TAG_RE.match(value, i)
            if not match:
                raise ApiError(400, f"Bad Request: can't parse entities: unexpected '<' at {i}")
            closing, tag, attrs, _ = match.groups()
            tag = tag.lower()
            if tag not in _ALLOWED_TAGS:
                raise ApiError(
                    400, f'Bad Request: can\'t parse entities: Unsupported start tag "{tag}"'
                )
            if closing:
                if not stack or stack[-1] != tag:
                    raise ApiError(
                        400,
                        f"Bad Request: can't parse entities: Unmatched end tag at byte offset "
                        f'{i}, expected "</{stack[-1] if stack else ""}>", found "</{tag}>"',
                    )
                stack.pop()
            else:
                parsed = {m.group(1).lower(): next((g for g in m.groups()[1:] if g), "")
                          for m in _ATTR_RE.finditer(attrs or "")}  # fmt: skip
                if tag == "a" and not parsed.get("href"):
                    raise ApiError(400, "Bad Request: can't parse entities: empty href")
                if tag == "a" and "a" in stack:
                    raise ApiError(400, "Bad Request: can't parse entities: nested links")
                stack.append(tag)
            i = match.end()
        elif char == "&":
            match = _ENTITY_RE.match(value, i)
            if not match:
                raise ApiError(
                    400, f"Bad Request: can't parse entities: unsupported HTML entity at {i}"
                )
            name = match.group(1)
            if name in _NAMED:
                out.append(_NAMED[name])
            elif name.startswith("#x"):
                out.append(chr(int(name[2:], 16)))
            else:
                out.append(chr(int(name[1:])))
            i = match.end()
        else:
            out.append(char)
            i += 1
    if stack:
        raise ApiError(
            400, f"Bad Request: can't parse entities: Can't find end tag for \"{stack[-1]}\""
        )
    return "".join(out)


def check_text(value: Any, parse_mode: Any) -> str:
    """The message text as the recipient sees it, after Telegram's checks."""
    if not isinstance(value, str):
        raise ApiError(400, "Bad Request: message text is empty")
    plain = parse_html(value) if str(parse_mode).upper() == "HTML" else value
    if not plain.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if u16len(plain) > MAX_TEXT:
        raise ApiError(400, "Bad Request: message is too long")
    return plain


def check_markup(markup: Any) -> None:
    """Inline keyboards: 64-byte callback data, valid deep links, one action per button."""
    if markup in (None, ""):
        return
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if not button.get("text"):
                raise ApiError(
                    400, "Bad Request: text buttons are unallowed in the inline keyboard"
                )
            actions = [k for k in button if k != "text"]
            if len(actions) != 1:
                raise ApiError(400, "Bad Request: inline keyboard button must have one action")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None:
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https", "tg"):
                    raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
                start = parse_qs(parts.query).get("start")
                if parts.netloc == "t.me" and start and not _PAYLOAD_RE.match(start[0]):
                    raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
            query = button.get("switch_inline_query")
            if query is not None and len(query) > 256:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")


@dataclass
class Call:
    """One request the bot made: its method, decoded parameters and what we answered."""

    method: str
    params: dict[str, Any]
    status: int = 200
    result: Any = None
    error: str = ""
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return self.status == 200

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


@dataclass
class Fault:
    kind: str  # "429", "500", "timeout"
    retry_after: int = 1
    delay: float = 3.0


class FakeBotApi:
    """Run with ``await server.start()``; point the bot at ``server.base_url``."""

    def __init__(self, token: str = TOKEN, max_poll_seconds: float = 1.0, port: int = 0) -> None:
        self.token = token
        self.max_poll_seconds = max_poll_seconds
        self.calls: list[Call] = []
        self.port = port
        self._runner: web.AppRunner | None = None
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self._new_call = asyncio.Condition()
        self._faults: dict[str, list[Fault]] = {}
        self._message_ids: dict[int, itertools.count] = {}
        self._messages: dict[tuple[int, int], dict] = {}
        self._chats: dict[int, dict] = {}
        self._ids = itertools.count(1000)
        self.commands: dict[str | None, list[dict]] = {}
        self.webhook: dict[str, Any] = {}

    # ---------------------------------------------------------------- server
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        server = site._server  # aiohttp gives no public accessor for the bound port
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        self._new_update.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        match = re.match(r"^bot([^/]+)/([A-Za-z]+)$", path)
        if not match:
            return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        token, method = match.groups()
        if token != self.token:
            return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        params = await self._params(request)
        call = Call(method=method, params=params)
        fault = self._take_fault(method)
        try:
            if fault is not None:
                if fault.kind == "timeout":  # recorded now: the client gives up before the end
                    call.status, call.error = 504, "injected timeout"
                    await self._record(call)
                    await asyncio.sleep(fault.delay)
                    return self._reply(504, {"ok": False, "error_code": 504,
                                             "description": "Gateway Timeout"})  # fmt: skip
                await self._apply_fault(fault)
            handler = getattr(self, f"_m_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = handler(params)
            if asyncio.iscoroutine(result):
                result = await result
        except ApiError as exc:
            call.status, call.error = exc.code, exc.description
            await self._record(call)
            body: dict[str, Any] = {
                "ok": False,
                "error_code": exc.code,
                "description": exc.description,
            }
            if exc.parameters:
                body["parameters"] = exc.parameters
            return self._reply(exc.code, body)
        call.result = result
        await self._record(call)
        return self._reply(200, {"ok": True, "result": result})

    @staticmethod
    def _reply(status: int, body: dict) -> web.Response:
        return web.json_response(body, status=status)

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            data = await request.json()
            return data if isinstance(data, dict) else {}
        if request.method == "GET":
            raw: dict[str, Any] = dict(request.query)
        else:
            raw = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if key in _STRING_PARAMS:
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        return params

    async def _record(self, call: Call) -> None:
        async with self._new_call:
            self.calls.append(call)
            self._new_call.notify_all()

    # ---------------------------------------------------------------- faults
    def fail_next(
        self, method: str, n: int = 1, kind: str = "500", retry_after: int = 1, delay: float = 3.0
    ) -> None:
        """The next ``n`` calls of ``method`` get ``kind``: "429", "403", "400" (a request
        Telegram refuses, e.g. a paid broadcast without the Stars for it), "500" or "timeout"."""
        self._faults.setdefault(method.lower(), []).extend(
            Fault(kind, retry_after, delay) for _ in range(n)
        )

    def _take_fault(self, method: str) -> Fault | None:
        queue = self._faults.get(method.lower())
        return queue.pop(0) if queue else None

    @staticmethod
    async def _apply_fault(fault: Fault) -> None:
        if fault.kind == "429":
            raise ApiError(
                429,
                f"Too Many Requests: retry after {fault.retry_after}",
                {"retry_after": fault.retry_after},
            )
        if fault.kind == "403":
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        if fault.kind == "400":
            raise ApiError(400, "Bad Request: not enough Stars to pay for the broadcast")
        if fault.kind == "500":
            raise ApiError(500, "Internal Server Error")
        raise ValueError(fault.kind)

    # ------------------------------------------------------------ assertions
    def mark(self) -> int:
        """Position in the call log; pass as ``since`` to look only at later calls."""
        return len(self.calls)

    def calls_of(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        since: int = 0,
        ok_only: bool = True,
    ) -> list[Call]:
        return [
            c
            for c in self.calls[since:]
            if c.method.lower() == method.lower()
            and (c.ok or not ok_only)
            and (predicate is None or predicate(c))
        ]

    async def wait_for(
        self,
        method: str,
        predicate: Callable[[Call], bool] | None = None,
        timeout: float = 10.0,
        since: int = 0,
        count: int = 1,
        ok_only: bool = True,
    ) -> Call:
        """The first successful call of ``method`` (after ``since``) matching ``predicate``.

        With ``count`` > 1, waits until that many match and returns the last one.
        """

        def found() -> list[Call]:
            return self.calls_of(method, predicate, since, ok_only)

        async with self._new_call:
            try:
                await asyncio.wait_for(
                    self._new_call.wait_for(lambda: len(found()) >= count), timeout
                )
            except TimeoutError:
                seen = [(c.method, c.status, c.error) for c in self.calls[since:]]
                raise AssertionError(
                    f"no {method} matching after {timeout}s; calls since: {seen}"
                ) from None
        return found()[count - 1]

    def bad_requests(self, since: int = 0) -> list[Call]:
        """Calls Telegram would have refused as malformed (not counting injected faults)."""
        return [c for c in self.calls[since:] if c.status == 400 and "not modified" not in c.error]

    # ---------------------------------------------------------------- updates
    def push_update(self, update: dict) -> int:
        update = dict(update)
        update.setdefault("update_id", next(self._update_ids))
        self._updates.append(update)
        self._new_update.set()
        return update["update_id"]

    def new_user(self, lang: str = "fr", uid: int | None = None) -> dict:
        uid = uid if uid is not None else next(self._ids)
        return {"id": uid, "is_bot": False, "first_name": f"User{uid}", "language_code": lang}

    def private_chat(self, user: dict) -> dict:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        self._chats[chat["id"]] = chat
        return chat

    def new_group(self, supergroup: bool = True) -> dict:
        gid = -1_000_000_000_000 - next(self._ids)
        chat = {"id": gid, "type": "supergroup" if supergroup else "group", "title": "Group"}
        self._chats[gid] = chat
        return chat

    def message(
        self,
        user: dict,
        text: str | None = None,
        chat: dict | None = None,
        *,
        reply_to: dict | None = None,
        sticker: bool = False,
        photo: bool = False,
    ) -> dict:
        """A Message object as Telegram would send it, with command and mention entities."""
        chat = chat or self.private_chat(user)
        self._chats[chat["id"]] = chat
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": user,
        }
        if text is not None:
            message["text"] = text
            entities = _entities(text)
            if entities:
                message["entities"] = entities
        if sticker:
            message["sticker"] = {
                "file_id": "sticker-file",
                "file_unique_id": "sticker-u",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "🙂",
            }
        if photo:
            message["photo"] = [{"file_id": "p", "file_unique_id": "pu", "width": 90, "height": 90}]
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        self._messages[(chat["id"], message["message_id"])] = message
        return message

    def send_text(self, user: dict, text: str | None = None, chat: dict | None = None,
                  **kwargs: Any) -> dict:  # fmt: skip
        """Push a message update; returns the message."""
        message = self.message(user, text, chat, **kwargs)
        self.push_update({"message": message})
        return message

    def press(self, user: dict, message: dict, data: str) -> str:
        """Push a callback query for a button of ``message`` (one the bot sent)."""
        query_id = str(next(self._ids))
        self.push_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": user,
                    "message": message,
                    "chat_instance": str(message["chat"]["id"]),
                    "data": data,
                }
            }
        )
        return query_id

    def inline(self, user: dict, query: str) -> str:
        query_id = str(next(self._ids))
        self.push_update(
            {"inline_query": {"id": query_id, "from": user, "query": query, "offset": ""}}
        )
        return query_id

    def _next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)

    # ---------------------------------------------------------------- methods
    def _m_getme(self, params: dict) -> dict:
        return BOT_USER

    async def _m_getupdates(self, params: dict) -> list[dict]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and timeout > 0:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), min(timeout, self.max_poll_seconds))
        return self._updates[:limit]

    def _chat_for(self, chat_id: Any) -> dict:
        try:
            cid = int(chat_id)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        return self._chats.get(cid) or {"id": cid, "type": "private", "first_name": "User"}

    def _m_sendmessage(self, params: dict) -> dict:
        chat = self._chat_for(params.get("chat_id"))
        plain = check_text(params.get("text"), params.get("parse_mode"))
        check_markup(params.get("reply_markup"))
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            "text": plain,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        reply = params.get("reply_parameters")
        if isinstance(reply, dict) and "message_id" in reply:
            original = self._messages.get((chat["id"], int(reply["message_id"])))
            if original is not None:
                message["reply_to_message"] = original
        message["_html"] = params.get("text")
        self._messages[(chat["id"], message["message_id"])] = message
        return {k: v for k, v in message.items() if not k.startswith("_")}

    def _stored(self, params: dict) -> dict:
        key = (int(params.get("chat_id") or 0), int(params.get("message_id") or 0))
        message = self._messages.get(key)
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    def _public(self, message: dict) -> dict:
        return {k: v for k, v in message.items() if not k.startswith("_")}

    def _m_editmessagetext(self, params: dict) -> dict | bool:
        plain = check_text(params.get("text"), params.get("parse_mode"))
        markup = params.get("reply_markup") or None
        check_markup(markup)
        if params.get("inline_message_id"):
            return True
        message = self._stored(params)
        if message.get("_html") == params.get("text") and message.get("reply_markup") == markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        message.update(text=plain, _html=params.get("text"))
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return self._public(message)

    def _m_editmessagereplymarkup(self, params: dict) -> dict | bool:
        markup = params.get("reply_markup") or None
        check_markup(markup)
        if params.get("inline_message_id"):
            return True
        message = self._stored(params)
        if message.get("reply_markup") == markup:
            raise ApiError(400, "Bad Request: message is not modified")
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return self._public(message)

    def _m_answercallbackquery(self, params: dict) -> bool:
        if not params.get("callback_query_id"):
            raise ApiError(400, "Bad Request: query is too old or query ID is invalid")
        if len(params.get("text") or "") > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    def _m_answerinlinequery(self, params: dict) -> bool:
        results = params.get("results")
        if not isinstance(results, list) or len(results) > 50:
            raise ApiError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids = set()
        for result in results:
            rid = str(result.get("id", ""))
            if not 1 <= len(rid.encode()) <= 64 or rid in ids:
                raise ApiError(400, "Bad Request: RESULT_ID_INVALID")
            ids.add(rid)
            content = result.get("input_message_content") or {}
            check_text(content.get("message_text"), content.get("parse_mode"))
            check_markup(result.get("reply_markup"))
        button = params.get("button")
        start = button.get("start_parameter") if isinstance(button, dict) else None
        if start is not None and not _PAYLOAD_RE.match(str(start)):
            raise ApiError(400, "Bad Request: START_PARAM_INVALID")
        return True

    def _m_sendchataction(self, params: dict) -> bool:
        self._chat_for(params.get("chat_id"))
        return True

    def _m_setmycommands(self, params: dict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or not commands:
            raise ApiError(400, "Bad Request: commands must be non-empty")
        for command in commands:
            if not _COMMAND_RE.match(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[params.get("language_code") or None] = commands
        return True

    def _m_deletemycommands(self, params: dict) -> bool:
        self.commands.pop(params.get("language_code") or None, None)
        return True

    def _m_deletewebhook(self, params: dict) -> bool:
        self.webhook = {}
        return True

    def _m_setwebhook(self, params: dict) -> bool:
        self.webhook = dict(params)
        return True

    def _m_getwebhookinfo(self, params: dict) -> dict:
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}  # fmt: skip

    def _m_close(self, params: dict) -> bool:
        return True

    def _m_logout(self, params: dict) -> bool:
        return True


def _entities(text: str) -> list[dict]:
    """bot_command and mention entities, with UTF-16 offsets as Telegram sends them."""
    entities = []
    command = re.match(r"^/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
    if command:
        entities.append({"type": "bot_command", "offset": 0, "length": u16len(command.group())})
    for mention in re.finditer(r"(?<![\w/])@[A-Za-z0-9_]{5,32}", text):
        entities.append(
            {
                "type": "mention",
                "offset": u16len(text[: mention.start()]),
                "length": u16len(mention.group()),
            }
        )
    return entities


async def _chat(port: int) -> None:
    """Type questions; they reach the bot as private messages; its replies print as text."""
    import sys

    api = FakeBotApi(port=port, max_poll_seconds=10.0)
    await api.start()
    print(
        f"fake Bot API on {api.base_url} — start the bot in another terminal with:\n"
        f"  TELEGRAM_BOT_TOKEN={TOKEN} TELEGRAM_API_BASE_URL={api.base_url} "
        ".venv/bin/python -m bot\nthen type questions here (Ctrl-D to stop).",
        flush=True,
    )
    user = api.new_user()
    loop = asyncio.get_running_loop()
    try:
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            since = api.mark()
            api.send_text(user, line.strip())
            try:
                call = await api.wait_for("sendMessage", timeout=60, since=since)
            except AssertionError:
                print("(no reply within 60 s: is the bot running?)", flush=True)
                continue
            print(parse_html(call["text"]), "\n", flush=True)
    finally:
        await api.stop()


if __name__ == "__main__":
    import argparse

    cli = argparse.ArgumentParser(description="A local fake Telegram Bot API server.")
    cli.add_argument("--port", type=int, default=8081)
    asyncio.run(_chat(cli.parse_args().port))
