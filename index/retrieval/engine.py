"""The engine: one loaded model and index version, answering questions with quotes.

Pipeline: analyse the query (accents, typos, acronyms) → BM25 and vector search → fuse the
normalised scores → abstain when nothing is relevant → diversify → pick each quote → link it.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
import time
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import faiss
import numpy as np
from threadpoolctl import threadpool_limits

from index.clean import clean_text
from index.config import IndexSettings
from index.corpus.folder import refreshed_at
from index.language import terms
from index.models.embed import Embedder
from index.retrieval.dates import dated_ranking
from index.retrieval.evidence import (
    Scored,
    coverage,
    question_evidence,
    relevance_rows,
    unknown_share,
    zscore,
)
from index.retrieval.fuse import (
    FusionParams,
    Signals,
    abstain,
    family_for,
    fuse,
    params_for,
)
from index.retrieval.lexical import analyze_query
from index.retrieval.question import AnalyzedQuery
from index.retrieval.relevance import (
    FEATURES,
    RelevanceModel,
    model_path,
)
from index.retrieval.rerank import CrossEncoderReranker, Reranker, blend
from index.retrieval.results import diversify, make_result, reading
from index.retrieval.snapshot import Snapshot, load_snapshot, older_intact, settle_memory
from index.storage.versions import (
    IndexDamaged,
    IndexUnavailable,
    current_version,
    open_version,
    verify_files,
)
from index.types import Answer, ArticleInfo

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 1000
CANDIDATES = 60
PROXIMITY_CANDIDATES = 20  # read by the proximity bonus (15 gave the same dev, held-out)
JUDGED_CANDIDATES = 30  # the fused order's best, read by the relevance model
# Results shown besides the best: those the model finds at least this share as likely as the
# best one (far below, a passage merely shares words with the question).
SHOWN_SHARE = 0.1


@dataclass
class Pool:
    """A question's candidates in fused order; ``rows`` their relevance features (the best
    ``JUDGED_CANDIDATES``), ``probabilities`` and ``answered`` the fitted model's verdict."""

    aq: AnalyzedQuery
    ids: list[int]
    fused: list[float]
    rows: np.ndarray = field(default_factory=lambda: np.zeros((0, len(FEATURES))))
    probabilities: np.ndarray = field(default_factory=lambda: np.zeros(0))
    answered: bool = False


@dataclass(frozen=True)
class IndexInfo:
    version: str
    built_at: dt.datetime
    model_id: str
    articles: int
    passages: int
    newest_article: dt.date | None
    content_refreshed_at: dt.datetime | None
    approximate: bool = False  # vectors searched through an IVF index (large corpora)


def sanitize(query: str) -> str:
    """Control characters out, spaces collapsed, length bounded at a word boundary."""
    cleaned = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in query
    )
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > MAX_QUERY_CHARS:
        cut = cleaned.rfind(" ", 0, MAX_QUERY_CHARS)
        cleaned = cleaned[: cut if cut > 0 else MAX_QUERY_CHARS]
    return cleaned


class _Laps:
    """Stage durations (seconds) added into ``out``; does nothing when ``out`` is None."""

    __slots__ = ("out", "t")

    def __init__(self, out: dict[str, float] | None) -> None:
        self.out = out
        self.t = time.perf_counter()

    def __call__(self, stage: str) -> None:
        if self.out is not None:
            now = time.perf_counter()
            self.out[stage] = self.out.get(stage, 0.0) + now - self.t
            self.t = now


class Engine:
    """Thread-safe: searches read an immutable snapshot; a reload swaps the reference."""

    def __init__(
        self,
        settings: IndexSettings,
        embedder: Embedder,
        snapshot: Snapshot,
        reranker: Reranker | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        if reranker is None and settings.reranker_model:
            reranker = CrossEncoderReranker(
                settings.reranker_model, device=settings.embedding_device
            )
        self.reranker = reranker
        self._snap = snapshot
        self._lock = threading.Lock()  # the query cache and the snapshot swap: brief holds
        self._reload_lock = threading.Lock()  # one reload at a time; searches never wait on it
        self._refused: str | None = None  # a published version that failed its checks
        self._qcache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.params: FusionParams = params_for(embedder.spec.name, embedder.model_id)
        self.family = family_for(embedder.spec.name, embedder.model_id)
        # Fitted by `python -m index calibrate`; without one, the hand rule of fuse.abstain.
        self.relevance: RelevanceModel | None = RelevanceModel.load(model_path(self.family))
        if settings.search_threads:  # serving: one search per thread beats threads per search
            faiss.omp_set_num_threads(settings.search_threads)
            # numpy's BLAS too: its idle threads spin, doubling a 100k search's CPU time.
            threadpool_limits(settings.search_threads, user_api="blas")
            if embedder.backend == "torch":
                import torch

                torch.set_num_threads(settings.search_threads)
        self.analyze_queries = True  # accents, typos, acronyms (off only to measure its worth)
        settle_memory()

    # ------------------------------------------------------------------ loading
    @classmethod
    def open(
        cls,
        settings: IndexSettings | None = None,
        embedder: Embedder | None = None,
        *,
        reranker: Reranker | None = None,
    ) -> Engine:
        """The engine over the current version (or the newest intact older one when it is
        damaged); :class:`IndexUnavailable` when there is none (``open_engine`` builds one)."""
        settings = settings or IndexSettings()
        embedder = embedder or Embedder(settings)
        return cls(settings, embedder, cls._load_current(settings, embedder), reranker)

    @staticmethod
    def _load_current(settings: IndexSettings, embedder: Embedder) -> Snapshot:
        try:
            folder, manifest = open_version(settings.index_dir, verify=False)
            if manifest.model_id != embedder.model_id:
                raise IndexUnavailable(
                    f"index built with {manifest.model_id}, engine runs {embedder.model_id}"
                )
            verify_files(folder, manifest, list(manifest.files))
            return load_snapshot(folder, manifest)
        except IndexDamaged as exc:  # an older version serves meanwhile
            return older_intact(settings, embedder, exc)

    def reload_if_changed(self) -> bool:
        """Switch to a newer published version; a bad one is refused and the old one serves."""
        version = current_version(self.settings.index_dir)
        if not version or version in (self._snap.manifest.version, self._refused):
            return False
        # Loading (checksums, arrays) takes seconds at 100k passages: it runs outside the lock
        # that searches take, and only the swap happens under it.
        with self._reload_lock:
            if version in (self._snap.manifest.version, self._refused):
                return False
            try:
                folder, manifest = open_version(self.settings.index_dir, version)
                if manifest.model_id != self.embedder.model_id:
                    raise IndexUnavailable(f"index {version} was built with {manifest.model_id}")
                snap = load_snapshot(folder, manifest)
            except (IndexUnavailable, OSError, ValueError) as exc:
                log.error(
                    "new index version refused, keeping %s: %s", self._snap.manifest.version, exc
                )
                self._refused = version  # not checked (nor logged) again: a build makes a new one
                return False
            with self._lock:
                self._snap = snap
            del snap
            settle_memory()
            log.info("switched to index version %s", version)
            return True

    # ------------------------------------------------------------------ facts
    def articles(self) -> list[ArticleInfo]:
        return sorted(self._snap.articles.values(), key=lambda a: (a.date, a.id), reverse=True)

    def info(self) -> IndexInfo:
        m = self._snap.manifest
        refreshed = refreshed_at(self.settings.content_dir)
        return IndexInfo(
            version=m.version,
            built_at=dt.datetime.fromisoformat(m.built_at),
            model_id=m.model_id,
            articles=m.articles,
            passages=m.passages,
            newest_article=dt.date.fromisoformat(m.newest_article) if m.newest_article else None,
            content_refreshed_at=refreshed,
            approximate=m.approximate,
        )

    # ------------------------------------------------------------------ search
    def analyze(self, query: str) -> AnalyzedQuery:
        """The question as the engine searches it: accents restored, typos fixed, acronyms and
        English words mapped to the corpus's terms (tests and ablations read it)."""
        snap = self._snap
        return analyze_query(sanitize(clean_text(query)), snap.vocab, snap.acronyms, snap.lexical)

    def _embed_query(self, text: str) -> np.ndarray:
        with self._lock:
            hit = self._qcache.get(text)
            if hit is not None:
                self._qcache.move_to_end(text)
                return hit
        vec = self.embedder.embed_query(text)
        with self._lock:
            self._qcache[text] = vec
            if len(self._qcache) > 512:
                self._qcache.popitem(last=False)
        return vec

    def candidates(self, query: str) -> Pool:
        """A question's best candidates with their relevance features, before any decision:
        what ``python -m index calibrate`` learns from."""
        snap = self._snap
        pool, _, _ = self._pool(snap, sanitize(clean_text(query)), 10, _Laps(None), judge=True)
        return pool

    def _pool(
        self, snap: Snapshot, q: str, k: int, lap: _Laps, *, judge: bool = False
    ) -> tuple[Pool, Signals, np.ndarray]:
        """Analyse → BM25 + vectors → fuse (+ proximity) → the relevance model's rows."""
        if self.analyze_queries:
            aq = analyze_query(q, snap.vocab, snap.acronyms, snap.lexical)
        else:
            aq = AnalyzedQuery(q, q, terms(q), terms(q))
        lap("analyze")
        qvec = self._embed_query(aq.text)
        lap("embed")
        bm = snap.lexical.scores(aq.terms)
        lap("bm25")
        n = len(snap.passages)
        top_n = min(n, max(CANDIDATES, 3 * k))
        _, vec_ids = snap.vector.search(qvec, top_n)
        lap("vector")
        bm_ids = np.argpartition(-bm, top_n - 1)[:top_n] if n > top_n else np.arange(n)
        cand = np.unique(np.concatenate([vec_ids.astype(np.int64), bm_ids.astype(np.int64)]))
        cos_passage = snap.vector.similarity(qvec, cand).astype(np.float32)
        best_sentence = snap.sentences.best(qvec, cand)
        w = self.params.sentence_weight
        cos = np.where(best_sentence > -1, (1 - w) * cos_passage + w * best_sentence, cos_passage)
        sample_sentence = snap.sample_sentences.best(qvec)
        sample_passage = snap.sample @ qvec
        sample_cos = sample_passage
        if len(sample_sentence) == len(sample_cos):
            sample_cos = (1 - w) * sample_cos + w * sample_sentence
        lap("rescore")
        lexical_share = (
            1.0 - unknown_share(aq.core_terms, snap.lexical)
            if self.params.lexical_by_known_share
            else 1.0
        )
        fused, signals = fuse(
            bm[cand],
            float(bm.max()) if n else 0.0,
            cos,
            float(sample_cos.mean()) if len(sample_cos) else 0.0,
            self.params,
            lexical_share,
        )
        signals.sentence_z = zscore(
            float(best_sentence.max()), sample_sentence, self.params.cosine_spread
        )
        order = np.argsort(-fused)
        sentence_cov: dict[int, float] = {}
        judge = judge or self.relevance is not None
        judged = JUDGED_CANDIDATES if judge else 0
        for i in order[: max(judged, PROXIMITY_CANDIDATES if self.params.proximity_weight else 0)]:
            # Proximity: the question's words together in one sentence, for the best few.
            sentence_cov[int(i)] = max(
                (
                    coverage(aq.core_terms, sentence, snap.lexical, aq.answer)
                    for sentence in snap.sentence_terms(int(cand[i]))
                ),
                default=0.0,
            )
        if self.params.proximity_weight > 0:
            prox = np.zeros(len(fused), dtype=np.float32)
            for i in order[:PROXIMITY_CANDIDATES]:
                prox[i] = sentence_cov[int(i)]
            fused = fused + self.params.proximity_weight * lexical_share * prox
            order = np.argsort(-fused)
        lap("fuse")
        pool = Pool(aq, [int(cand[i]) for i in order], [float(fused[i]) for i in order])
        if judge:
            scored = Scored(
                cand, bm, cos_passage, cos, best_sentence, sample_passage, sample_cos,
                sample_sentence, sentence_cov, self.params.cosine_spread, fused,
            )  # fmt: skip
            pool.rows = relevance_rows(snap, aq, scored, order[:judged], self.params)
            if self.relevance is not None:
                pool.probabilities, pool.answered = self.relevance.judge(pool.rows)
            lap("judge")
        return pool, signals, qvec

    def _decide(
        self, snap: Snapshot, pool: Pool, signals: Signals
    ) -> list[tuple[int, float]] | None:
        """The candidates worth quoting, best first, or None when nothing answers."""
        aq = pool.aq
        if self.relevance is not None:
            probs = pool.probabilities
            if not pool.answered:
                return None
            floor = float(probs.max()) * SHOWN_SHARE
            judged = sorted(
                ((pid, float(p)) for pid, p in zip(pool.ids, probs, strict=False)),
                key=lambda item: -item[1],
            )
            return [(pid, p) for pid, p in judged if p >= floor]
        if abstain(signals, question_evidence(snap, aq, pool.ids[:3]), self.params):
            return None
        return list(zip(pool.ids, pool.fused, strict=True))

    def search(self, query: str, k: int = 5, timings: dict[str, float] | None = None) -> Answer:
        """``timings``, if given, receives each stage's duration in seconds (benchmarks)."""
        lap = _Laps(timings)
        snap = self._snap
        version = snap.manifest.version
        query = clean_text(query)  # valid UTF-8 before the tokenizer, and in the answer
        q = sanitize(query)
        if not re.search(r"[^\W_]", q):
            return Answer(
                query=query, answered=False, results=[], reason="empty", index_version=version
            )
        pool, signals, qvec = self._pool(snap, q, k, lap)
        aq = pool.aq
        ranked = self._decide(snap, pool, signals)
        if ranked is None:
            return Answer(
                query=query, answered=False, results=[], reason="no_match", index_version=version
            )
        if self.reranker is not None:
            ranked = self._rerank(snap, aq.text, ranked, k)
            lap("rerank")
        ranked, also = dated_ranking(ranked, q, snap.passages, snap.articles)
        floor = 0.0 if self.relevance is not None else self.params.relative_floor
        chosen = diversify(ranked, snap, k, self.params, floor)
        lap("diversify")
        qterms = set(aq.terms)
        results = [
            replace(
                make_result(snap, pid, score, qterms, qvec, aq.answer),
                also_in=tuple(
                    make_result(snap, p, s, qterms, qvec, aq.answer) for p, s in also.get(pid, ())
                ),
            )
            for pid, score in chosen
        ]
        lap("quote")
        return Answer(query=query, answered=True, results=results, index_version=version)

    def _rerank(
        self, snap: Snapshot, query: str, ranked: list[tuple[int, float]], k: int
    ) -> list[tuple[int, float]]:
        """The reranker reorders the best candidates; the others cannot be shown anyway."""
        assert self.reranker is not None
        top = ranked[: max(self.settings.reranker_candidates, k)]
        texts = [reading(snap, pid) for pid, _ in top]
        scores = blend(
            np.array([s for _, s in top], dtype=np.float32),
            self.reranker.score(query, texts),
            self.settings.reranker_weight,
        )
        return sorted(
            ((pid, float(s)) for (pid, _), s in zip(top, scores, strict=True)),
            key=lambda item: -item[1],
        )

    def passage_source(self, position: int) -> str:
        """A passage's stored text (Markdown), by its position in the current version."""
        return self._snap.passages[position].text

    def idf(self) -> dict[str, float]:
        """Each index term's inverse document frequency in the current version."""
        return self._snap.lexical.idf

    def corpus_hash(self) -> str:
        return self._snap.manifest.corpus_hash

    def vector_recall(self, query: str, depths: tuple[int, ...] = (10, CANDIDATES)) -> list[float]:
        """Per depth, the share of the exact nearest passages the vector index returns."""
        snap = self._snap
        qvec = self.embedder.embed_query(query)
        exact = snap.vector.vectors[np.arange(len(snap.passages))] @ qvec
        truth = np.argsort(-exact)
        _, got = snap.vector.search(qvec, max(depths))
        return [len(set(got[:d].tolist()) & set(truth[:d].tolist())) / d for d in depths]

    def clear_query_cache(self) -> None:
        """Forget embedded questions (benchmarks measure cold searches; ablations)."""
        with self._lock:
            self._qcache.clear()

    def passage_text(self, passage_id: str) -> str:
        """What a reranker reads of a passage: its article's title, then its text as quoted."""
        snap = self._snap
        return reading(snap, snap.position[passage_id])
