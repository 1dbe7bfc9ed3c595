"""A generated corpus with synthetic vectors in the embedding cache, for bench/scale.py (whose
docstring says how the vectors are made and why): texts through the real pipeline, vectors
mixtures of real embeddings, so that build_index finds every vector in the cache."""

from __future__ import annotations

import argparse
import hashlib
import time
from dataclasses import dataclass, field

import _common as c
import numpy as np
from gen import TextGenerator

from index import (
    Embedder,
    EmbeddingCache,
    IndexSettings,
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


@dataclass
class Generated:
    """The generated articles and what the build will embed of them."""

    gen: TextGenerator
    n_articles: int
    contexts: list[str] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)  # each passage's article
    sent_texts: list[str] = field(default_factory=list)
    sent_counts: list[int] = field(default_factory=list)  # sentences per passage
    seconds: float = 0.0


def generate(settings: IndexSettings, n_articles: int) -> Generated:
    """1. Texts: generated articles written as Markdown files."""
    t0 = time.perf_counter()
    out = Generated(TextGenerator(c.REPO / "content"), n_articles)
    articles = [out.gen.article(i, PARAGRAPHS) for i in range(n_articles)]
    for a in articles:
        save_article(settings.content_dir, a)
    for i, a in enumerate(articles):
        for ps in chunk_article(a):
            out.contexts.append(passage_context(a, ps))
            out.owner.append(i)
            units = sentence_units(a, ps)
            out.sent_texts.extend(u[2] for u in units)
            out.sent_counts.append(len(units))
    out.seconds = time.perf_counter() - t0
    print(
        f"generated {n_articles} articles, {len(out.contexts)} passages, "
        f"{len(out.sent_texts)} sentences to embed in {out.seconds:.1f} s"
    )
    return out


def real_vectors(
    embedder: Embedder, texts: Generated, args: argparse.Namespace
) -> tuple[np.ndarray, np.ndarray, float, float]:
    """2a. Real vectors of the seed passages and some generated paragraphs, and of a few seed
    passages' sentences: (passages, sentences, their mean cosine with their own passage,
    seconds)."""
    t0 = time.perf_counter()
    seed_pairs = [
        (a, ps) for a in load_corpus(c.REPO / "content").articles for ps in chunk_article(a)
    ]
    seed_ctx = [passage_context(a, ps) for a, ps in seed_pairs]
    contexts = texts.contexts
    sample = [contexts[i] for i in np.random.default_rng(1).choice(len(contexts), args.real)]
    real = embedder.encode_uncached(seed_ctx + sample, embedder.passage_prompt)
    # Real sentences of a few seed passages: how close a sentence is to its own passage.
    pick = np.random.default_rng(4).choice(
        len(seed_pairs), min(args.real_sentences, len(seed_pairs)), replace=False
    )
    real_units = [sentence_units(*seed_pairs[i]) for i in pick]
    real_sent = embedder.encode_uncached(
        [u[2] for us in real_units for u in us], embedder.passage_prompt
    )
    real_counts = np.array([len(us) for us in real_units])
    cos_real_own = own_passage_cos(real_sent, real[pick], real_counts)
    return real, real_sent, cos_real_own, time.perf_counter() - t0


def synthetic_passages(
    embedder: Embedder, texts: Generated, real: np.ndarray, chol: np.ndarray, cache: EmbeddingCache
) -> np.ndarray:
    """2b. Synthetic passage vectors, cached under the passages' real keys."""
    n_articles = texts.n_articles
    per_article = np.bincount(texts.owner, minlength=n_articles)
    synth = synth_vectors(real, chol, n_articles, int(per_article.max()), seed=7)
    vecs = np.concatenate(
        [
            synth[a * per_article.max() : a * per_article.max() + per_article[a]]
            for a in range(n_articles)
        ]
    )
    cache.put_many(
        embedder.model_id,
        {
            cache_key(embedder.passage_prompt, t): v
            for t, v in zip(texts.contexts, vecs, strict=True)
        },
    )
    return vecs


def vector_stats(real: np.ndarray, vecs: np.ndarray, t_real: float) -> dict:
    rs = real[np.random.default_rng(2).choice(len(real), 200)]
    ss = vecs[np.random.default_rng(3).choice(len(vecs), 200)]
    return {
        "real_vectors": len(real),
        "real_embed_s": round(t_real, 1),
        "mean_cos_real_real": round(float((rs @ rs.T).mean()), 3),
        "mean_cos_synth_synth": round(float((ss @ ss.T).mean()), 3),
        "mean_cos_synth_real": round(float((ss @ rs.T).mean()), 3),
    }


def synthetic_sentences(
    embedder: Embedder,
    texts: Generated,
    vecs: np.ndarray,
    chol: np.ndarray,
    noise: float,
    cache: EmbeddingCache,
) -> tuple[int, float]:
    """2c. Synthetic sentence vectors, cached under their real keys (see the docstring):
    (how many, mean cosine with their own passage in the first chunk)."""
    counts = np.array(texts.sent_counts)
    done = 0
    first = None
    for chunk in synth_sentences(vecs, counts, chol, noise, seed=11):
        chunk_texts = texts.sent_texts[done : done + len(chunk)]
        cache.put_many(
            embedder.model_id,
            {
                cache_key(embedder.passage_prompt, t): v
                for t, v in zip(chunk_texts, chunk, strict=True)
            },
        )
        if first is None:
            first = chunk
        done += len(chunk)
    assert done == len(texts.sent_texts)
    n_first = min(SENTENCE_CHUNK, len(vecs))
    return done, own_passage_cos(first, vecs[:n_first], counts[:n_first])


def cache_vectors(
    settings: IndexSettings, embedder: Embedder, texts: Generated, args: argparse.Namespace
) -> dict:
    """2. Real vectors, then synthetic ones put in the embedding cache; their statistics."""
    real, real_sent, cos_real_own, t_real = real_vectors(embedder, texts, args)
    chol = noise_factor(real)
    if args.sentence_noise is None:  # |p + s·n|: cos(p + s·n, p) ≈ 1 / sqrt(1 + s² tr(cov))
        trace = float(np.sum(chol**2))
        args.sentence_noise = round(float(np.sqrt(max(0.0, 1 / cos_real_own**2 - 1) / trace)), 3)
    cache = EmbeddingCache(settings.cache_dir / "embeddings.sqlite3")
    vecs = synthetic_passages(embedder, texts, real, chol, cache)
    stats = vector_stats(real, vecs, t_real)
    print(
        f"{len(real)} real passage vectors, {len(real_sent)} real sentence vectors in "
        f"{t_real:.1f} s; synthetic passage vectors: {stats}"
    )
    t0 = time.perf_counter()
    done, cos_synth_own = synthetic_sentences(
        embedder, texts, vecs, chol, args.sentence_noise, cache
    )
    cache.close()
    stats["sentence_noise"] = args.sentence_noise
    stats["sentences_synthetic"] = done
    stats["sentences_per_passage"] = round(done / max(1, len(texts.contexts)), 2)
    stats["real_sentences"] = len(real_sent)
    stats["mean_cos_sentence_own_passage_real"] = round(cos_real_own, 3)
    stats["mean_cos_sentence_own_passage_synth"] = round(cos_synth_own, 3)
    print(
        f"SYNTHETIC sentence vectors: {done} ({stats['sentences_per_passage']}/passage) = "
        f"passage vector + {args.sentence_noise} x real-covariance noise, normalised, "
        f"in {time.perf_counter() - t0:.1f} s; cos(sentence, own passage) real "
        f"{cos_real_own:.3f} / synthetic {stats['mean_cos_sentence_own_passage_synth']:.3f}"
    )
    return stats
