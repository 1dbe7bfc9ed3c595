"""Archive import throughput: backfill of the 200-post fixture site, then a full build.

    python bench/archive.py [--model e5|minilm] [--backend torch|onnx] [--delay 0]
    python bench/archive.py --model minilm --backend torch --generated 500 2000 \
        [--paragraphs 3] [--interrupt-after 60] [--cache-dir DIR]

The WordPress-like site of tests/wpsite.py is served on 127.0.0.1; ``python -m index fetch
--backfill`` and ``python -m index build`` run as child processes, exactly as an operator
would run them, over a fresh content folder, index and embedding cache (every passage is
embedded). Each child's wall time and peak resident memory (``wait4``) are reported: the
figures give how long 1,000 articles take (``--delay`` adds the polite per-site pause, 1 s
by default in production: 1,000 s per 1,000 articles on top).

``--generated N ...``: builds at archive size instead. For each N (ascending), N generated
articles (bench/gen.py; the first ones are the same at every size) are built anew by a child
``python -m index build``, over one embedding cache shared by the sizes (``--cache-dir`` keeps
it between runs), and its peak resident memory is set beside the total size of the vectors the
index holds (float32): a build that streams its vectors grows by far less than that total.
``--interrupt-after S`` kills (SIGKILL) the largest size's first build after S seconds; the
next build resumes from the embedding cache: it embeds only what the killed one had not.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c
import numpy as np
from gen import TextGenerator
from synthetic import cache_key

from index import (
    Embedder,
    chunk_article,
    open_version,
    passage_context,
    save_article,
    sentence_units,
)

sys.path.insert(0, str(c.REPO / "tests"))
import wpsite


def start_index(cmd: list[str], env: dict[str, str], stdout: int) -> subprocess.Popen:
    """``python -m index ...`` started from the repository, as an operator runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "index", *cmd],
        cwd=c.REPO,
        env=env,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def child(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run ``python -m index ...``; (wall seconds, peak RSS in MB, stdout)."""
    started = time.perf_counter()
    proc = start_index(cmd, env, subprocess.PIPE)
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
    p.add_argument("--generated", type=int, nargs="+", help="build N generated articles instead")
    p.add_argument("--paragraphs", type=int, default=3, help="per generated article")
    p.add_argument("--interrupt-after", type=float, default=0.0, help="seconds (--generated)")
    p.add_argument("--cache-dir", type=Path, default=None, help="embedding cache (--generated)")
    p.add_argument(
        "--synthetic",
        type=int,
        default=None,
        metavar="K",
        help="(--generated) random vectors put in the cache for every text but the last K "
        "articles': memory measured at sizes whose embedding would take hours on 2 cores",
    )
    args = p.parse_args(argv)
    if args.generated:
        return generated_builds(args)
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


SUMMARY = re.compile(
    r"(?P<articles>\d+) articles, (?P<passages>\d+) passages .*embedded (?P<embedded>\d+), "
    r".*sentences embedded (?P<sentences>\d+)"
)


def killed_after(cmd: list[str], env: dict[str, str], seconds: float) -> float:
    """Start ``python -m index ...`` and SIGKILL it after ``seconds``; its wall time."""
    started = time.perf_counter()
    proc = start_index(cmd, env, subprocess.DEVNULL)
    try:
        proc.wait(seconds)
        raise SystemExit(f"{' '.join(cmd)} ended before {seconds:g} s: nothing to interrupt")
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    return time.perf_counter() - started


def held_vectors(index_dir: Path) -> tuple[int, float]:
    """The published version's sentence count, and the size of all its vectors in memory
    (float32, MB): what a build holding every vector at once would add."""
    folder, manifest = open_version(index_dir)
    sentences = sum(
        np.load(f, mmap_mode="r").shape[0] for f in folder.glob("segments/*/sentences.npy")
    )
    return sentences, (manifest.passages + sentences) * manifest.dim * 4 / 2**20


def cache_random_vectors(args: argparse.Namespace, root: Path, articles: list) -> None:
    """Random unit vectors in the embedding cache under the keys a build looks up for these
    articles' passages and sentences (a build's memory does not depend on their values)."""
    settings = c.settings_for(
        args, content_dir=root / "unused", cache_dir=args.cache_dir or root / "cache"
    )
    embedder = Embedder(settings)
    texts = [
        text
        for a in articles
        for p in chunk_article(a)
        for text in [passage_context(a, p), *(u[2] for u in sentence_units(a, p))]
    ]
    rng = np.random.default_rng(17)
    for start in range(0, len(texts), 10_000):
        chunk = texts[start : start + 10_000]
        vectors = rng.standard_normal((len(chunk), embedder.dim), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        keys = [cache_key(embedder.passage_prompt, t) for t in chunk]
        embedder.cache.put_many(embedder.model_id, dict(zip(keys, vectors, strict=True)))
    embedder.cache.close()
    print(f"{len(texts)} random vectors cached for {len(articles)} articles")


def generated_builds(args: argparse.Namespace) -> int:
    """Builds at archive size (see the module's docstring)."""
    sizes = sorted(args.generated)
    gen = TextGenerator(c.REPO / "content")
    articles = [gen.article(i, args.paragraphs) for i in range(sizes[-1])]
    rows, results = [], []
    with tempfile.TemporaryDirectory(prefix="bench-archive-build-") as tmp:
        root = Path(tmp)
        if args.synthetic is not None:
            cache_random_vectors(args, root, articles[: len(articles) - args.synthetic])
        for n in sizes:
            content = root / f"content-{n}"
            for article in articles[:n]:
                save_article(content, article)
            env = {
                **os.environ,
                "CONTENT_DIR": str(content),
                "INDEX_DIR": str(root / f"index-{n}"),
                "CACHE_DIR": str(args.cache_dir or root / "cache"),
                "EMBEDDING_MODEL": args.model,
                "EMBEDDING_BACKEND": args.backend,
            }
            killed_s = 0.0
            if args.interrupt_after and n == sizes[-1]:
                killed_s = killed_after(["build", "--quiet"], env, args.interrupt_after)
            build_s, peak_mb, out = child(["build", "--quiet"], env)
            found = SUMMARY.search(out)
            if not found:
                raise SystemExit(f"unexpected build summary: {out}")
            sentences, vectors_mb = held_vectors(root / f"index-{n}")
            result = {
                "articles": n,
                "passages": int(found["passages"]),
                "sentences": sentences,
                "embedded": int(found["embedded"]) + int(found["sentences"]),
                "killed_after_s": round(killed_s, 1),
                "build_s": round(build_s, 1),
                "peak_rss_mb": round(peak_mb),
                "vectors_mb": round(vectors_mb, 1),
            }
            results.append(result)
            rows.append(list(result.values()))
    header = ["articles", "passages", "sentences", "embedded", "killed after s"]
    print(c.table(rows, [*header, "build s", "peak RSS MB", "all vectors MB"]))
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(
            f"\npeak RSS {first['articles']} -> {last['articles']} articles: "
            f"+{last['peak_rss_mb'] - first['peak_rss_mb']} MB, while the vectors grew by "
            f"{last['vectors_mb'] - first['vectors_mb']:.0f} MB"
        )
    if args.interrupt_after and len(results) > 1:
        texts = [r["passages"] + r["sentences"] for r in (results[-2], results[-1])]
        print(
            f"the build killed after {args.interrupt_after:g} s, resumed: embedded "
            f"{results[-1]['embedded']} of the {texts[1] - texts[0]} texts new to the cache "
            "(the rest was kept by the killed build)"
        )
    c.write_result("archive-build", args, {"paragraphs": args.paragraphs, "builds": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
