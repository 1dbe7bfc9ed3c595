"""Index build throughput (embedding cache disabled) and time to index one new article.

    python bench/build.py [--model e5|minilm] [--backend torch|onnx] [--size seed|100k]

The corpus is a copy of content/, the index and the embedding cache are fresh temporary
folders, so every passage is embedded. The model is loaded before timing (process start and
model load are excluded, and reported apart). Then one new article (generated text, 10
paragraphs) is added and the incremental build timed, plus the engine's switch to it.
Passages/s counts passages, but the time includes embedding every passage's sentences
(index/retrieval/sentences.py), reported apart.
``--size 100k`` runs bench/scale.py, which times adding one article to a 100k-passage index.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import _common as c
from gen import TextGenerator

from index import BuildReport, Embedder, Engine, build_index, save_article


@dataclass
class Timings:
    """The builds measured and the engine's switch to the last one."""

    model_load_s: float
    full: BuildReport  # cache empty: every passage embedded
    again: BuildReport  # forced rebuild, everything from the cache
    inc: BuildReport  # one new article
    reload_s: float


def measure(args: argparse.Namespace, root: Path) -> tuple[Embedder, Timings]:
    shutil.copytree(c.REPO / "content", root / "content")
    settings = c.settings_for(
        args,
        content_dir=root / "content",
        index_dir=root / "index",
        cache_dir=root / "cache",
    )
    t0 = time.perf_counter()
    embedder = Embedder(settings)
    t_load = time.perf_counter() - t0
    embedder.encode_uncached(["échauffement du modèle"], embedder.passage_prompt)  # warm kernels

    full = build_index(settings, embedder, progress=False)
    again = build_index(settings, embedder, force=True, progress=False)  # all cached

    engine = Engine.open(settings, embedder)
    article = TextGenerator(settings.content_dir).article(1)
    save_article(settings.content_dir, article)
    inc = build_index(settings, embedder, progress=False)
    t0 = time.perf_counter()
    switched = engine.reload_if_changed()
    t_reload = time.perf_counter() - t0
    assert switched and engine.info().articles == full.articles + 1
    return embedder, Timings(t_load, full, again, inc, t_reload)


def print_table(embedder: Embedder, t: Timings) -> None:
    full, again, inc = t.full, t.again, t.inc
    rows = [
        [
            "full build, cache empty",
            full.passages,
            full.embedded,
            full.embedded_sentences,
            f"{full.seconds:.2f}",
        ],
        [
            "full rebuild, all cached (force)",
            again.passages,
            again.embedded,
            again.embedded_sentences,
            f"{again.seconds:.2f}",
        ],
        [
            "+1 article, incremental",
            inc.added_passages,
            inc.embedded,
            inc.embedded_sentences,
            f"{inc.seconds:.2f}",
        ],
        ["engine switch to new version", "", "", "", f"{t.reload_s:.2f}"],
    ]
    print(
        f"model {embedder.model_id} ({embedder.backend}); model load {t.model_load_s:.1f} s "
        "(excluded)"
    )
    print()
    print(c.table(rows, ["step", "passages", "embedded", "sentences embedded", "seconds"]))
    print(
        f"\nfull build throughput: {full.passages / full.seconds:.1f} passages/s "
        f"({full.articles} articles; "
        f"{full.embedded_sentences} sentences embedded too, "
        f"{full.embedded_sentences / max(1, full.passages):.2f} per passage; "
        f"{texts_rate(full):.1f} texts/s)"
    )


def texts_rate(report: BuildReport) -> float:
    return (report.embedded + report.embedded_sentences) / report.seconds


def result(embedder: Embedder, t: Timings) -> dict:
    """What bench/results/build-*.json holds."""
    full, inc = t.full, t.inc
    return {
        "model_id": embedder.model_id,
        "backend": embedder.backend,
        "model_load_s": round(t.model_load_s, 2),
        "full": {
            "passages": full.passages,
            "articles": full.articles,
            "seconds": round(full.seconds, 3),
            "passages_per_s": round(full.passages / full.seconds, 2),
            "embedded": full.embedded,
            "embedded_sentences": full.embedded_sentences,
            "texts_per_s": round(texts_rate(full), 2),
        },
        "rebuild_cached_s": round(t.again.seconds, 3),
        "incremental_one_article": {
            "added_passages": inc.added_passages,
            "embedded": inc.embedded,
            "embedded_sentences": inc.embedded_sentences,
            "seconds": round(inc.seconds, 3),
            "engine_switch_s": round(t.reload_s, 3),
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = c.parser(__doc__.splitlines()[0])
    args = p.parse_args(argv)
    if args.size == "100k":
        import scale

        return scale.main(argv)

    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        embedder, timings = measure(args, Path(tmp))
    print_table(embedder, timings)
    c.write_result("build", args, result(embedder, timings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
