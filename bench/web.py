"""The web pages under load: `python -m bot web` (a separate process) and many clients.

    python bench/web.py [--model e5|minilm] [--backend torch|onnx] [--clients 100] [--seconds 8]

The index is built beforehand (in a temporary folder, from the shared embedding cache). Then,
for ``--seconds`` each, ``--clients`` concurrent clients (aiohttp, one connection each, each
sending its next request as soon as the previous one is answered) fetch:

- ``/a/<id>``: shared answers (10 of them), the page a viral link brings; served from the
  rendered-page memory after the first hit of each;
- ``/a/<id>`` with ``If-None-Match``: what a cache or a returning browser asks (304);
- ``/?q=``: searches, each a real ``Engine.search`` plus the answer's save; the questions
  cycle through bench/questions.py, so after the first round their query vectors are cached
  (as in production for frequent questions).

Reported: requests/s, latency percentiles, the server's CPU per request (and the clients', as
both share this machine's cores). The search limit per client is raised (all clients share
127.0.0.1 here).
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import _common as c
import aiohttp
from questions import QUESTIONS

from index import Embedder, open_engine

ANSWERABLE = QUESTIONS[:48]
SHARE_RE = re.compile(r'href="/a/([A-Za-z0-9_-]{11})"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(base: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"{base}/") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.25)
    raise TimeoutError("the web server did not start")


async def load(
    base: str, paths: list[str], clients: int, seconds: float, headers: dict[str, str], pid: int
) -> dict:
    """``clients`` loops, each on its own connection, for ``seconds``; path i goes to client
    i % len(paths) first, then each client walks the list."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    async with aiohttp.ClientSession(connector=connector) as http:
        end = time.perf_counter() + seconds

        async def client(i: int) -> None:
            j = i
            while time.perf_counter() < end:
                t = time.perf_counter()
                async with http.get(base + paths[j % len(paths)], headers=headers) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                latencies.append(time.perf_counter() - t)
                j += 1

        t0, server_cpu, our_cpu = time.perf_counter(), c.cpu_s(pid), c.cpu_s(os.getpid())
        await asyncio.gather(*(client(i) for i in range(clients)))
        wall = time.perf_counter() - t0
        server_cpu, our_cpu = c.cpu_s(pid) - server_cpu, c.cpu_s(os.getpid()) - our_cpu
    n = max(1, len(latencies))
    return {
        "requests": len(latencies),
        "statuses": statuses,
        "wall_s": round(wall, 2),
        "requests_per_s": round(len(latencies) / wall, 1),
        "server_cpu_ms_per_request": round(1000 * server_cpu / n, 3),
        "clients_cpu_ms_per_request": round(1000 * our_cpu / n, 3),
        "latency": c.summary_ms(latencies),
    }


async def run(args: object, env: dict[str, str], root: Path) -> dict:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "web", "--host", "127.0.0.1", "--port", str(port)],
        cwd=c.REPO, env=env, stdout=subprocess.DEVNULL, stderr=open(root / "web.log", "w"),  # noqa: SIM115
    )  # fmt: skip
    try:
        await wait_ready(base, args.start_timeout)
        aids: list[str] = []
        async with aiohttp.ClientSession() as http:
            for q in ANSWERABLE:
                async with http.get(f"{base}/", params={"q": q}) as response:
                    found = SHARE_RE.search(await response.text())
                if found and found.group(1) not in aids:
                    aids.append(found.group(1))
                if len(aids) == 10:
                    break
            async with http.get(f"{base}/a/{aids[0]}") as response:
                etag = response.headers["ETag"]
        pages = [f"/a/{aid}" for aid in aids]
        searches = ["/?" + urlencode({"q": q}) for q in ANSWERABLE]
        results = {
            "answer_page": await load(base, pages, args.clients, args.seconds, {}, proc.pid),
            "answer_page_304": await load(
                base, pages[:1], args.clients, args.seconds, {"If-None-Match": etag}, proc.pid
            ),
            "search": await load(base, searches, args.clients, args.seconds, {}, proc.pid),
        }
    finally:
        c.stop(proc)
    return results


def main(argv: list[str] | None = None) -> int:
    p = c.parser(__doc__.splitlines()[0], size=False)
    p.add_argument("--clients", type=int, default=100)
    p.add_argument("--seconds", type=float, default=8.0, help="per kind of request")
    p.add_argument("--start-timeout", type=float, default=120.0)
    args = p.parse_args(argv)
    args.size = f"{args.clients}c"
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        root = Path(tmp)
        settings = c.settings_for(args, index_dir=root / "index")
        open_engine(settings, Embedder(settings))  # build the index before the server starts
        env = {
            **os.environ,
            **c.engine_env(settings, args),
            "STORE_PATH": str(root / "bot.sqlite3"),
            "RATE_LIMIT_BURST": "1000000",
            "RATE_LIMIT_PER_MINUTE": "100000000",
            "BOT_USERNAME": "CampaignBenchBot",
            "LOG_LEVEL": "WARNING",
        }
        env.pop("TELEGRAM_BOT_TOKEN", None)
        res = asyncio.run(run(args, env, root))
    rows = []
    for name, r in res.items():
        lat = r["latency"]
        rows.append(
            [
                name, r["requests_per_s"], lat["p50"], lat["p95"], lat["p99"],
                r["server_cpu_ms_per_request"], r["clients_cpu_ms_per_request"],
                ",".join(f"{k}:{v}" for k, v in sorted(r["statuses"].items())),
            ]
        )  # fmt: skip
    header = [
        f"{args.clients} clients, {args.seconds:g} s each",
        "req/s", "p50 ms", "p95 ms", "p99 ms", "server CPU ms/req", "clients CPU ms/req",
        "statuses",
    ]  # fmt: skip
    print(c.table(rows, header))
    c.write_result("web", args, res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
