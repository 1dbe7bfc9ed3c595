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

import shutil
import sys
import tempfile
import time
from pathlib import Path

import _common as c
from gen import TextGenerator

from index import Embedder, Engine, build_index, save_article


def main(argv: list[str] | None = None) -> int:
    p = c.parser(__doc__.splitlines()[0])
    args = p.parse_args(argv)
    if args.size == "100k":
        import scale

        return scale.main(argv)

    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        root = Path(tmp)
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
        embedder.encode_uncached(["échauffement"], embedder.passage_prompt)  # warm kernels

        full = build_index(settings, embedder, progress=False)
        rate = full.passages / full.seconds
        again = build_index(settings, embedder, force=True, progress=False)  # all cached

        engine = Engine.open(settings, embedder)
        article = TextGenerator(settings.content_dir).article(1)
        save_article(settings.content_dir, article)
        inc = build_index(settings, embedder, progress=False)
        t0 = time.perf_counter()
        switched = engine.reload_if_changed()
        t_reload = time.perf_counter() - t0
        assert switched and engine.info().articles == full.articles + 1

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
        ["engine switch to new version", "", "", "", f"{t_reload:.2f}"],
    ]
    print(f"model {embedder.model_id} ({embedder.backend}); model load {t_load:.1f} s (excluded)")
    print()
    print(c.table(rows, ["step", "passages", "embedded", "sentences embedded", "seconds"]))
    texts_rate = (full.embedded + full.embedded_sentences) / full.seconds
    print(
        f"\nfull build throughput: {rate:.1f} passages/s ({full.articles} articles; "
        f"{full.embedded_sentences} sentences embedded too, "
        f"{full.embedded_sentences / max(1, full.passages):.2f} per passage; "
        f"{texts_rate:.1f} texts/s)"
    )
    c.write_result(
        "build",
        args,
        {
            "model_id": embedder.model_id,
            "backend": embedder.backend,
            "model_load_s": round(t_load, 2),
            "full": {
                "passages": full.passages,
                "articles": full.articles,
                "seconds": round(full.seconds, 3),
                "passages_per_s": round(rate, 2),
                "embedded": full.embedded,
                "embedded_sentences": full.embedded_sentences,
                "texts_per_s": round(texts_rate, 2),
            },
            "rebuild_cached_s": round(again.seconds, 3),
            "incremental_one_article": {
                "added_passages": inc.added_passages,
                "embedded": inc.embedded,
                "embedded_sentences": inc.embedded_sentences,
                "seconds": round(inc.seconds, 3),
                "engine_switch_s": round(t_reload, 3),
            },
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
