"""The search path and an incremental update on a generated 100k-passage corpus.

    python bench/scale.py [--model e5|minilm] [--backend torch|onnx] [--passages 100000]

TEXTS are generated (bench/gen.py: seed-corpus words, Zipf-like frequencies, ~400-char
paragraphs, 10 per article) and go through the real pipeline: Markdown files in content/,
load, chunk, BM25, FAISS (IVF past ann_threshold), publish, Engine.open.

VECTORS ARE SYNTHETIC: embedding 100k passages would take hours on 2 cores. Real embeddings
are computed for the seed passages and a few hundred generated paragraphs; each synthetic
passage vector is a mixture of its article's "topic" vector and another real vector, plus
Gaussian noise with the real vectors' covariance (anisotropy kept), normalised. They are put
in the embedding cache under the passages' real keys, so build_index finds them there.
SENTENCE VECTORS ARE SYNTHETIC TOO (~3-4 sentences per passage, i.e. ~350k more texts): for
each ``sentence_units(article, passage)`` text, its passage's vector plus Gaussian noise with
the real covariance scaled by ``--sentence-noise``, normalised, cached under the key
Embedder.embed_passages uses. The sentences of ``--real-sentences`` seed passages are really
embedded; by default the scale is chosen so that the synthetic cos(sentence, own passage)
matches theirs (both are printed). Query vectors are real (the model embeds
every question, query cache off).

Measured: full build from the cache, engine open, per-question latency by stage, vector
search recall@10 (and @60, the engine's candidate count) against exact search, and the time to add
one article to the 100k index (incremental build_index + engine switch).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import _common as c
import numpy as np
from questions import QUESTIONS
from synthetic import PARAGRAPHS, Generated, cache_vectors, generate

from index import (
    CANDIDATES,
    BuildReport,
    Embedder,
    Engine,
    IndexSettings,
    build_index,
    save_article,
)


@dataclass
class Search:
    """Latency by stage (query cache off) and recall of the vector index against exact."""

    totals: list[float]
    stages: dict[str, list[float]]
    rec10: list[float]
    rec60: list[float]


@dataclass
class AddOne:
    report: BuildReport
    switch_s: float
    grew: int
    profile: str | None


def options(argv: list[str] | None) -> argparse.Namespace:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--passages", type=int, default=100_000)
    p.add_argument("--real", type=int, default=400, help="generated paragraphs really embedded")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument(
        "--sentence-noise",
        type=float,
        default=None,
        help="noise scale of sentence vectors, x real covariance factor (default: calibrated "
        "so that cos(sentence, own passage) matches the really embedded seed sentences)",
    )
    p.add_argument(
        "--real-sentences", type=int, default=40, help="seed passages whose sentences are embedded"
    )
    p.add_argument("--profile", action="store_true", help="profile the incremental build")
    p.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="build in this empty folder and keep it (default: a temporary folder, removed)",
    )
    args = p.parse_args(argv)
    args.size = "100k"
    if args.workdir is not None and args.workdir.exists() and any(args.workdir.iterdir()):
        p.error(f"--workdir {args.workdir} is not empty")
    return args


def measure_search(engine: Engine, embedder: Embedder, rounds: int) -> Search:
    """4. Latency, by stage, query cache off; 5. recall of the approximate index against
    exact search."""
    for q in QUESTIONS[:5]:
        engine.search(q)
    totals: list[float] = []
    stages: dict[str, list[float]] = {}
    for _ in range(rounds):
        for q in QUESTIONS:
            engine.clear_query_cache()
            timings: dict[str, float] = {}
            t = time.perf_counter()
            engine.search(q, k=5, timings=timings)
            totals.append(time.perf_counter() - t)
            for s, v in timings.items():
                stages.setdefault(s, []).append(v)
    recalls = [engine.vector_recall(q, (10, CANDIDATES)) for q in QUESTIONS]
    rec10, rec60 = [r[0] for r in recalls], [r[1] for r in recalls]
    return Search(totals, stages, rec10, rec60)


def add_one_article(
    settings: IndexSettings,
    embedder: Embedder,
    engine: Engine,
    texts: Generated,
    full: BuildReport,
    profile: bool,
) -> AddOne:
    """6. One new article into the 100k index."""
    new = texts.gen.article(texts.n_articles + 1, PARAGRAPHS)
    save_article(settings.content_dir, new)
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    inc = build_index(settings, embedder, progress=False)
    if prof:
        prof.disable()
    t0 = time.perf_counter()
    engine.reload_if_changed()
    t_switch = time.perf_counter() - t0
    grew = engine.info().passages - full.passages
    profile_text = None
    if prof:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(25)
        profile_text = buf.getvalue()
    return AddOne(inc, t_switch, grew, profile_text)


def print_results(search: Search, added: AddOne) -> None:
    total = c.summary_ms(search.totals)
    print()
    print(
        c.table(
            [["search (query embedded)", total["n"], total["p50"], total["p95"], total["p99"]]]
            + [
                [f"  {s}", len(v), *(c.summary_ms(v)[k] for k in ("p50", "p95", "p99"))]
                for s, v in search.stages.items()
            ],
            ["100k passages, ms", "n", "p50", "p95", "p99"],
        )
    )
    rec10, rec60 = search.rec10, search.rec60
    print(
        f"\nvector search recall@10 {np.mean(rec10):.3f} (min {np.min(rec10):.2f}), "
        f"recall@{CANDIDATES} {np.mean(rec60):.3f}"
    )
    inc = added.report
    print(
        f"+1 article: build {inc.seconds:.1f} s (embedded {inc.embedded} passages, "
        f"{inc.embedded_sentences} sentences), "
        f"engine switch {added.switch_s:.1f} s; index grew by {added.grew} passages"
        f"{' (incremental)' if inc.incremental else ''}; steps (s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in inc.timings.items())
    )
    if added.profile:
        print(added.profile)


def result(
    embedder: Embedder,
    stats: dict,
    texts: Generated,
    full: BuildReport,
    approximate: bool,
    t_open: float,
    search: Search,
    added: AddOne,
) -> dict:
    """What bench/results/scale-*.json holds."""
    inc = added.report
    return {
        "model_id": embedder.model_id,
        "backend": embedder.backend,
        "vectors": "synthetic mixtures of real embeddings (see docstring)",
        "sentence_vectors": "synthetic: passage vector + scaled real-covariance noise",
        "vector_stats": stats,
        "passages": full.passages,
        "articles": full.articles,
        "approximate": approximate,
        "generate_s": round(texts.seconds, 1),
        "full_build_from_cache_s": round(full.seconds, 2),
        "full_build_embedded": {
            "passages": full.embedded,
            "sentences": full.embedded_sentences,
        },
        "engine_open_s": round(t_open, 2),
        "search": c.summary_ms(search.totals),
        "stages": {s: c.summary_ms(v) for s, v in search.stages.items()},
        "recall_at_10": round(float(np.mean(search.rec10)), 4),
        "recall_at_10_min": round(float(np.min(search.rec10)), 2),
        f"recall_at_{CANDIDATES}": round(float(np.mean(search.rec60)), 4),
        "add_one_article": {
            "build_s": round(inc.seconds, 2),
            "embedded": inc.embedded,
            "embedded_sentences": inc.embedded_sentences,
            "engine_switch_s": round(added.switch_s, 2),
            "passages_added": added.grew,
            "incremental": inc.incremental,
            "steps_s": {k: round(v, 3) for k, v in inc.timings.items()},
        },
    }


def main(argv: list[str] | None = None) -> int:
    args = options(argv)
    n_articles = max(1, args.passages // PARAGRAPHS)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = args.workdir or Path(tmp)
        settings = c.settings_for(
            args, content_dir=root / "content", index_dir=root / "index", cache_dir=root / "cache"
        )
        t0 = time.perf_counter()
        embedder = Embedder(settings)
        print(
            f"model {embedder.model_id} ({embedder.backend}) loaded in "
            f"{time.perf_counter() - t0:.1f} s; ann_threshold {settings.ann_threshold}"
        )
        texts = generate(settings, n_articles)
        stats = cache_vectors(settings, embedder, texts, args)

        # 3. Full build (every vector from the cache) and engine open.
        full = build_index(settings, embedder, progress=False)
        print(
            f"full build: embedded {full.embedded} passages, "
            f"{full.embedded_sentences} sentences (all others from the cache)"
        )
        assert full.embedded == 0 and full.embedded_sentences == 0, full.summary()
        t0 = time.perf_counter()
        engine = Engine.open(settings, embedder)
        t_open = time.perf_counter() - t0
        approximate = engine.info().approximate
        print(
            f"full build from cache {full.seconds:.1f} s ({full.passages} passages, "
            f"approximate={approximate}); engine open {t_open:.1f} s"
        )
        search = measure_search(engine, embedder, args.rounds)
        added = add_one_article(settings, embedder, engine, texts, full, args.profile)

    print_results(search, added)
    c.write_result(
        "scale",
        args,
        result(embedder, stats, texts, full, approximate, t_open, search, added),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
