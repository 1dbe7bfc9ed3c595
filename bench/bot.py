"""The bot end to end: `python -m bot` (a separate process, polling) against the fake Bot API.

    python bench/bot.py [--model e5|minilm] [--backend torch|onnx] [--users 100] [--each 10]

The index is built beforehand (in a temporary folder, from the shared embedding cache), so
the cold start measured is: process start → model and index loaded → first question
answered (the question is queued before the process starts). Then ``--users`` users ask
``--each`` questions each, concurrently, each waiting for its answer before the next one:
latency = question queued → the bot's sendMessage to that chat. RSS (VmRSS of the bot
process) after the first answer and at the end.

Only the bot's own per-user limit (``RATE_LIMIT_*``) is raised, since each user here asks
``--each`` questions in a row. Telegram's flood limit is kept as in production: PTB's
AIORateLimiter lets 30 requests/s to chats through overall (a burst of 30, then one every
1/30 s), so with ``--users`` questions always waiting, an answer waits about users / 30 s
(3.3 s for 100) however fast the search is. ``--paid-broadcast`` runs the bot with
PAID_BROADCAST=true: answers then count against AIORateLimiter's 1,000 messages/s (Telegram's
paid limit, 0.1 Stars a message), and the bot's own speed decides.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c
from questions import QUESTIONS

sys.path.insert(0, str(c.REPO / "tests"))
from fakebotapi import TOKEN, FakeBotApi

from index import Embedder, open_engine

ANSWERABLE = QUESTIONS[:48]  # the last ones are off-topic or foreign: refusals are fast


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def ask(api: FakeBotApi, user: dict, text: str, timeout: float) -> float:
    since = api.mark()
    t = time.perf_counter()
    api.send_text(user, text)
    await api.wait_for(
        "sendMessage", lambda call: call.get("chat_id") == user["id"], timeout=timeout, since=since
    )
    return time.perf_counter() - t


async def run(args: object, settings_env: dict[str, str], root: Path) -> dict:
    api = FakeBotApi()
    await api.start()
    env = {
        **os.environ,
        **settings_env,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "STORE_PATH": str(root / "bot.sqlite3"),
        "RATE_LIMIT_BURST": "100000",
        "RATE_LIMIT_PER_MINUTE": "1000000",
        "RELOAD_INTERVAL_SECONDS": "3600",
        "UPDATE_INTERVAL_MINUTES": "0",
        "HEALTH_PORT": "0",
        "LOG_LEVEL": "WARNING",
        "PAID_BROADCAST": "true" if args.paid_broadcast else "false",
    }
    first_user = api.new_user(uid=1)
    started = time.perf_counter()
    api.send_text(first_user, ANSWERABLE[0])  # queued before the bot exists
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot"], cwd=c.REPO, env=env,
        stdout=subprocess.DEVNULL, stderr=open(root / "bot.log", "w"),  # noqa: SIM115
    )  # fmt: skip
    try:
        await api.wait_for(
            "sendMessage", lambda call: call.get("chat_id") == 1, timeout=args.start_timeout
        )
        cold_start = time.perf_counter() - started
        rss_start = rss_mb(proc.pid)

        users = [api.new_user(uid=10_000 + i) for i in range(args.users)]
        latencies: list[float] = []
        lost = 0

        async def one_user(i: int, user: dict) -> None:
            nonlocal lost
            for j in range(args.each):
                q = ANSWERABLE[(i * 7 + j) % len(ANSWERABLE)]
                try:
                    latencies.append(await ask(api, user, q, args.timeout))
                except AssertionError:
                    lost += 1

        t0, bot_cpu, our_cpu = time.perf_counter(), c.cpu_s(proc.pid), c.cpu_s(os.getpid())
        await asyncio.gather(*(one_user(i, u) for i, u in enumerate(users)))
        wall = time.perf_counter() - t0
        bot_cpu, our_cpu = c.cpu_s(proc.pid) - bot_cpu, c.cpu_s(os.getpid()) - our_cpu
        rss_end = rss_mb(proc.pid)
        bad = len(api.bad_requests())
        actions = len(api.calls_of("sendChatAction", ok_only=False))
    finally:
        c.stop(proc)
        await api.stop()
    return {
        "cold_start_first_answer_s": round(cold_start, 2),
        "rss_after_start_mb": round(rss_start, 1),
        "rss_after_questions_mb": round(rss_end, 1),
        "questions": args.users * args.each,
        "answered": len(latencies),
        "lost": lost,
        "bad_requests": bad,
        "chat_actions": actions,
        "wall_s": round(wall, 2),
        "throughput_qps": round(len(latencies) / wall, 2),
        "bot_cpu_ms_per_answer": round(1000 * bot_cpu / max(1, len(latencies)), 2),
        "fake_api_and_users_cpu_ms_per_answer": round(1000 * our_cpu / max(1, len(latencies)), 2),
        "latency": c.summary_ms(latencies),
    }


def main(argv: list[str] | None = None) -> int:
    p = c.parser(__doc__.splitlines()[0], size=False)
    p.add_argument("--users", type=int, default=100)
    p.add_argument("--each", type=int, default=10)
    p.add_argument("--timeout", type=float, default=60.0, help="per answer, seconds")
    p.add_argument("--start-timeout", type=float, default=120.0)
    p.add_argument("--paid-broadcast", action="store_true", help="the bot with PAID_BROADCAST=true")
    p.add_argument(
        "--corpus",
        type=Path,
        default=None,
        help="a folder kept by `bench/scale.py --workdir` (content, index, cache of 100k "
        "passages) instead of the seed corpus",
    )
    args = p.parse_args(argv)
    # Each corpus, load and limit its own results file: bot-<model>-<backend>-100x10[-paid].json
    args.size = ("100k-" if args.corpus else "") + f"{args.users}x{args.each}"
    args.size += "-paid" if args.paid_broadcast else ""
    with tempfile.TemporaryDirectory(prefix="bench-bot-") as tmp:
        root = Path(tmp)
        if args.corpus:
            dirs = {k: args.corpus / k for k in ("content", "index", "cache")}
            settings = c.settings_for(args, **{f"{k}_dir": v for k, v in dirs.items()})
        else:
            settings = c.settings_for(args, index_dir=root / "index")
        open_engine(settings, Embedder(settings))  # build the index before the bot starts
        res = asyncio.run(run(args, c.engine_env(settings, args), root))
    lat = res["latency"]
    print(
        c.table(
            [
                ["cold start → first answer (s)", res["cold_start_first_answer_s"]],
                ["RSS after start (MB)", res["rss_after_start_mb"]],
                [f"RSS after {res['questions']} questions (MB)", res["rss_after_questions_mb"]],
                [
                    "answered / asked (lost)",
                    f"{res['answered']}/{res['questions']} ({res['lost']})",
                ],
                [
                    "answer latency p50 / p95 / p99 (ms)",
                    f"{lat['p50']} / {lat['p95']} / {lat['p99']}",
                ],
                ["throughput (answers/s)", res["throughput_qps"]],
                ["bot CPU per answer (ms)", res["bot_cpu_ms_per_answer"]],
                [
                    "fake Bot API + users CPU per answer (ms)",
                    res["fake_api_and_users_cpu_ms_per_answer"],
                ],
                ["Bot API requests refused (400)", res["bad_requests"]],
                ['"typing" actions sent', res["chat_actions"]],
            ],
            [
                f"bot, {args.users} concurrent users"
                + (", paid broadcast" if args.paid_broadcast else ""),
                "value",
            ],
        )
    )
    c.write_result("bot", args, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
