"""Archive import throughput: backfill of the 200-post fixture site, then a full build.

    python bench/archive.py [--model e5|minilm] [--backend torch|onnx] [--delay 0]

The WordPress-like site of tests/wpsite.py is served on 127.0.0.1; ``python -m index fetch
--backfill`` and ``python -m index build`` run as child processes, exactly as an operator
would run them, over a fresh content folder, index and embedding cache (every passage is
embedded). Each child's wall time and peak resident memory (``wait4``) are reported: the
figures give how long 1,000 articles take (``--delay`` adds the polite per-site pause, 1 s
by default in production: 1,000 s per 1,000 articles on top).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c

sys.path.insert(0, str(c.REPO / "tests"))
import wpsite


def child(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``python -m index ...``; (wall seconds, peak RSS in MB, stdout)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "index", *cmd],
        cwd=c.REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024, out


def main(argv: list[str] | None = None) -> int:
    p = c.parser(__doc__.splitlines()[0], size=False)
    p.add_argument("--delay", type=float, default=0.0, help="seconds between page requests")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as tmp, wpsite.serve() as site:
        root = Path(tmp)
        content = root / "content"
        (content / "articles").mkdir(parents=True)
        (content / "sources.toml").write_text(wpsite.sources_toml(site), encoding="utf-8")
        env = {
            **os.environ,
            "FETCH_ALLOW_PRIVATE_ADDRESSES": "true",
            "CONTENT_DIR": str(content),
            "INDEX_DIR": str(root / "index"),
            "CACHE_DIR": str(root / "cache"),
            "EMBEDDING_MODEL": args.model,
            "EMBEDDING_BACKEND": args.backend,
        }
        fetch_s, fetch_mb, _ = child(
            ["fetch", "--backfill", "--quiet", "--delay", str(args.delay)], env
        )
        articles = len(list((content / "articles").glob("*.md")))
        pages = site.post_hits()
        build_s, build_mb, out = child(["build", "--quiet"], env)
        passages = int(out.split(" articles, ", 1)[1].split(" passages", 1)[0])
    rows = [
        ["backfill", articles, f"{articles / fetch_s:.1f} articles/s", f"{fetch_s:.1f}", fetch_mb],
        ["build", passages, f"{passages / build_s:.1f} passages/s", f"{build_s:.1f}", build_mb],
    ]
    print(c.table([[*r[:4], f"{r[4]:.0f}"] for r in rows], ["step", "n", "rate", "s", "peak MB"]))
    per_1000 = (fetch_s + build_s) / articles * 1000
    print(
        f"\n{articles} articles ({pages} page requests), {passages} passages: "
        f"{per_1000 / 60:.1f} min per 1,000 articles, plus {args.delay:g} s x 1,000 of politeness"
    )
    c.write_result(
        "archive",
        args,
        {
            "articles": articles,
            "page_requests": pages,
            "passages": passages,
            "backfill_s": round(fetch_s, 2),
            "backfill_articles_per_s": round(articles / fetch_s, 2),
            "backfill_peak_rss_mb": round(fetch_mb),
            "build_s": round(build_s, 2),
            "build_passages_per_s": round(passages / build_s, 2),
            "build_peak_rss_mb": round(build_mb),
            "minutes_per_1000_articles": round(per_1000 / 60, 2),
            "delay_s": args.delay,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
