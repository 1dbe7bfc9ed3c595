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

import cProfile
import hashlib
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path

import _common as c
import numpy as np
from gen import TextGenerator
from questions import QUESTIONS

from index import (
    CANDIDATES,
    Embedder,
    EmbeddingCache,
    Engine,
    build_index,
    chunk_article,
    load_corpus,
    passage_context,
    save_article,
    sentence_units,
)

PARAGRAPHS = 10  # per generated article: one passage each (~400 chars, see index/corpus/chunk.py)
SENTENCE_CHUNK = 10_000  # passages whose synthetic sentence vectors are made and cached at once


def cache_key(prompt: str, text: str) -> str:
    """Embedder.embed_passages' key for a passage text."""
    return hashlib.sha256(f"{prompt}\0{text}".encode()).hexdigest()[:32]


def noise_factor(real: np.ndarray) -> np.ndarray:
    """Cholesky factor of the real vectors' covariance: z @ chol.T is noise shaped like them."""
    mu = real.mean(axis=0)
    cov = np.cov((real - mu).T) + 1e-6 * np.eye(real.shape[1])
    return np.linalg.cholesky(cov)


def synth_vectors(
    real: np.ndarray, chol: np.ndarray, n_articles: int, per: int, seed: int
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    topics = rng.integers(0, len(real), size=n_articles)
    out = np.empty((n_articles * per, real.shape[1]), dtype=np.float32)
    for a in range(n_articles):
        base = real[topics[a]]
        other = real[rng.integers(0, len(real), size=per)]
        w = rng.uniform(0.1, 0.5, size=(per, 1))
        noise = rng.standard_normal((per, real.shape[1])) @ chol.T
        v = (1 - w) * base + w * other + 0.6 * noise
        out[a * per : (a + 1) * per] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def synth_sentences(
    passage_vecs: np.ndarray, counts: np.ndarray, chol: np.ndarray, scale: float, seed: int
):
    """Per chunk of passages: their sentences' vectors, each its passage's vector plus
    ``scale`` x real-covariance noise, normalised (yields float32 arrays in sentence order)."""
    rng = np.random.default_rng(seed)
    for i in range(0, len(passage_vecs), SENTENCE_CHUNK):
        j = i + SENTENCE_CHUNK
        base = np.repeat(passage_vecs[i:j], counts[i:j], axis=0)
        noise = rng.standard_normal(base.shape, dtype=np.float32) @ chol.T.astype(np.float32)
        v = base + scale * noise
        yield (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def own_passage_cos(sent: np.ndarray, passage: np.ndarray, counts: np.ndarray) -> float:
    """Mean cosine of each sentence vector with its own passage's vector."""
    return float(np.mean(np.sum(sent * np.repeat(passage, counts, axis=0), axis=1)))


def main(argv: list[str] | None = None) -> int:
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
    n_articles = max(1, args.passages // PARAGRAPHS)

    if args.workdir is not None and args.workdir.exists() and any(args.workdir.iterdir()):
        p.error(f"--workdir {args.workdir} is not empty")
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

        # 1. Texts: generated articles written as Markdown files.
        t0 = time.perf_counter()
        gen = TextGenerator(c.REPO / "content")
        articles = [gen.article(i, PARAGRAPHS) for i in range(n_articles)]
        for a in articles:
            save_article(settings.content_dir, a)
        contexts: list[str] = []
        owner: list[int] = []
        sent_texts: list[str] = []
        sent_counts: list[int] = []
        for i, a in enumerate(articles):
            for ps in chunk_article(a):
                contexts.append(passage_context(a, ps))
                owner.append(i)
                units = sentence_units(a, ps)
                sent_texts.extend(u[2] for u in units)
                sent_counts.append(len(units))
        t_gen = time.perf_counter() - t0
        print(
            f"generated {n_articles} articles, {len(contexts)} passages, "
            f"{len(sent_texts)} sentences to embed in {t_gen:.1f} s"
        )

        # 2. Real vectors: seed passages + some generated paragraphs; then synthetic ones.
        t0 = time.perf_counter()
        seed_pairs = [
            (a, ps) for a in load_corpus(c.REPO / "content").articles for ps in chunk_article(a)
        ]
        seed_ctx = [passage_context(a, ps) for a, ps in seed_pairs]
        sample = [contexts[i] for i in np.random.default_rng(1).choice(len(contexts), args.real)]
        real = embedder._encode(seed_ctx + sample, embedder.passage_prompt)
        # Real sentences of a few seed passages: how close a sentence is to its own passage.
        pick = np.random.default_rng(4).choice(
            len(seed_pairs), min(args.real_sentences, len(seed_pairs)), replace=False
        )
        real_units = [sentence_units(*seed_pairs[i]) for i in pick]
        real_sent = embedder._encode(
            [u[2] for us in real_units for u in us], embedder.passage_prompt
        )
        real_counts = np.array([len(us) for us in real_units])
        cos_real_own = own_passage_cos(real_sent, real[pick], real_counts)
        t_real = time.perf_counter() - t0
        chol = noise_factor(real)
        if args.sentence_noise is None:  # |p + s·n|: cos(p + s·n, p) ≈ 1 / sqrt(1 + s² tr(cov))
            trace = float(np.sum(chol**2))
            args.sentence_noise = round(
                float(np.sqrt(max(0.0, 1 / cos_real_own**2 - 1) / trace)), 3
            )
        per_article = np.bincount(owner, minlength=n_articles)
        synth = synth_vectors(real, chol, n_articles, int(per_article.max()), seed=7)
        vecs = np.concatenate(
            [
                synth[a * per_article.max() : a * per_article.max() + per_article[a]]
                for a in range(n_articles)
            ]
        )
        rs = real[np.random.default_rng(2).choice(len(real), 200)]
        ss = vecs[np.random.default_rng(3).choice(len(vecs), 200)]
        stats = {
            "real_vectors": len(real),
            "real_embed_s": round(t_real, 1),
            "mean_cos_real_real": round(float((rs @ rs.T).mean()), 3),
            "mean_cos_synth_synth": round(float((ss @ ss.T).mean()), 3),
            "mean_cos_synth_real": round(float((ss @ rs.T).mean()), 3),
        }
        print(
            f"{len(real)} real passage vectors, {len(real_sent)} real sentence vectors in "
            f"{t_real:.1f} s; synthetic passage vectors: {stats}"
        )
        cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite3")
        cache.put_many(
            embedder.model_id,
            {cache_key(embedder.passage_prompt, t): v for t, v in zip(contexts, vecs, strict=True)},
        )

        # Synthetic sentence vectors, cached under their real keys (see the docstring).
        t0 = time.perf_counter()
        counts = np.array(sent_counts)
        done = 0
        first = None
        for chunk in synth_sentences(vecs, counts, chol, args.sentence_noise, seed=11):
            texts = sent_texts[done : done + len(chunk)]
            cache.put_many(
                embedder.model_id,
                {
                    cache_key(embedder.passage_prompt, t): v
                    for t, v in zip(texts, chunk, strict=True)
                },
            )
            if first is None:
                first = chunk
            done += len(chunk)
        cache.close()
        assert done == len(sent_texts)
        n_first = min(SENTENCE_CHUNK, len(vecs))
        stats["sentence_noise"] = args.sentence_noise
        stats["sentences_synthetic"] = done
        stats["sentences_per_passage"] = round(done / max(1, len(contexts)), 2)
        stats["real_sentences"] = len(real_sent)
        stats["mean_cos_sentence_own_passage_real"] = round(cos_real_own, 3)
        stats["mean_cos_sentence_own_passage_synth"] = round(
            own_passage_cos(first, vecs[:n_first], counts[:n_first]), 3
        )
        print(
            f"SYNTHETIC sentence vectors: {done} ({stats['sentences_per_passage']}/passage) = "
            f"passage vector + {args.sentence_noise} x real-covariance noise, normalised, "
            f"in {time.perf_counter() - t0:.1f} s; cos(sentence, own passage) real "
            f"{cos_real_own:.3f} / synthetic {stats['mean_cos_sentence_own_passage_synth']:.3f}"
        )

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
        snap = engine._snap
        print(
            f"full build from cache {full.seconds:.1f} s ({full.passages} passages, "
            f"approximate={snap.manifest.approximate}); engine open {t_open:.1f} s"
        )

        # 4. Latency, by stage, query cache off.
        for q in QUESTIONS[:5]:
            engine.search(q)
        totals: list[float] = []
        stages: dict[str, list[float]] = {}
        qvecs: list[np.ndarray] = []
        for _ in range(args.rounds):
            for q in QUESTIONS:
                engine._qcache.clear()
                timings: dict[str, float] = {}
                t = time.perf_counter()
                engine.search(q, k=5, timings=timings)
                totals.append(time.perf_counter() - t)
                for s, v in timings.items():
                    stages.setdefault(s, []).append(v)
        for q in QUESTIONS:
            qvecs.append(embedder.embed_query(q))

        # 5. Recall of the approximate index against exact search.
        exact = snap.vector.vectors[np.arange(full.passages)]  # read from the segments
        rec10, rec60 = [], []
        for qv in qvecs:
            truth = np.argsort(-(exact @ qv))
            _, got = snap.vector.search(qv, CANDIDATES)
            rec10.append(len(set(got[:10]) & set(truth[:10])) / 10)
            rec60.append(len(set(got) & set(truth[:CANDIDATES])) / CANDIDATES)

        # 6. One new article into the 100k index.
        new = gen.article(n_articles + 1, PARAGRAPHS)
        save_article(settings.content_dir, new)
        prof = cProfile.Profile() if args.profile else None
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

    total = c.summary_ms(totals)
    print()
    print(
        c.table(
            [["search (query embedded)", total["n"], total["p50"], total["p95"], total["p99"]]]
            + [
                [f"  {s}", len(v), *(c.summary_ms(v)[k] for k in ("p50", "p95", "p99"))]
                for s, v in stages.items()
            ],
            ["100k passages, ms", "n", "p50", "p95", "p99"],
        )
    )
    print(
        f"\nvector search recall@10 {np.mean(rec10):.3f} (min {np.min(rec10):.2f}), "
        f"recall@{CANDIDATES} {np.mean(rec60):.3f}"
    )
    print(
        f"+1 article: build {inc.seconds:.1f} s (embedded {inc.embedded} passages, "
        f"{inc.embedded_sentences} sentences), "
        f"engine switch {t_switch:.1f} s; index grew by {grew} passages"
        f"{' (incremental)' if inc.incremental else ''}; steps (s): "
        + ", ".join(f"{k} {v:.2f}" for k, v in inc.timings.items())
    )
    if profile_text:
        print(profile_text)
    c.write_result(
        "scale",
        args,
        {
            "model_id": embedder.model_id,
            "backend": embedder.backend,
            "vectors": "synthetic mixtures of real embeddings (see docstring)",
            "sentence_vectors": "synthetic: passage vector + scaled real-covariance noise",
            "vector_stats": stats,
            "passages": full.passages,
            "articles": full.articles,
            "approximate": snap.manifest.approximate,
            "generate_s": round(t_gen, 1),
            "full_build_from_cache_s": round(full.seconds, 2),
            "full_build_embedded": {
                "passages": full.embedded,
                "sentences": full.embedded_sentences,
            },
            "engine_open_s": round(t_open, 2),
            "search": total,
            "stages": {s: c.summary_ms(v) for s, v in stages.items()},
            "recall_at_10": round(float(np.mean(rec10)), 4),
            "recall_at_10_min": round(float(np.min(rec10)), 2),
            f"recall_at_{CANDIDATES}": round(float(np.mean(rec60)), 4),
            "add_one_article": {
                "build_s": round(inc.seconds, 2),
                "embedded": inc.embedded,
                "embedded_sentences": inc.embedded_sentences,
                "engine_switch_s": round(t_switch, 2),
                "passages_added": grew,
                "incremental": inc.incremental,
                "steps_s": {k: round(v, 3) for k, v in inc.timings.items()},
            },
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
