"""Evidence about a (question, candidate) pair, computed from the loaded version alone: how much
of the question's weight a passage (or one of its sentences) holds, the share of words the corpus
never uses, and the relevance model's feature rows for the best candidates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from index.retrieval.fuse import Evidence, FusionParams, Signals, abstain
from index.retrieval.lexical import LexicalIndex
from index.retrieval.names import foreign_name_terms
from index.retrieval.question import AnalyzedQuery, holds_answer
from index.retrieval.relevance import FEATURES, Candidate, features, question_stats
from index.retrieval.snapshot import Snapshot

# The answer asked for ("combien" → a number) weighs as much as two average question words:
# it is what the question is about (dev Hit@1 0.792 → 0.833; held-out MRR 0.700 → 0.703).
ANSWER_SLOT = 2.0


@dataclass(frozen=True)
class Scored:
    """A question's candidates and their scores, as the fusion left them."""

    cand: np.ndarray  # passage positions
    bm: np.ndarray  # BM25 of every passage
    cos_passage: np.ndarray  # per candidate
    cos: np.ndarray  # per candidate, the best sentence's cosine mixed in
    best_sentence: np.ndarray  # per candidate (-1: no sentence vector)
    sample_passage: np.ndarray  # the corpus sample's cosines: the z-scores' reference
    sample_cos: np.ndarray
    sample_sentence: np.ndarray
    sentence_cov: dict[int, float]  # candidate index → its best sentence's coverage
    spread: float  # the model's cosine spread: the z-scores' unit (see FusionParams)
    fused: np.ndarray  # per candidate, the hand rules' score (proximity included)


def _zs(values: np.ndarray, sample: np.ndarray, spread: float) -> np.ndarray:
    return (values - (float(sample.mean()) if len(sample) else 0.0)) / spread


def relevance_rows(
    snap: Snapshot, aq: AnalyzedQuery, sc: Scored, top: np.ndarray, params: FusionParams
) -> np.ndarray:
    """The relevance model's feature rows of the candidates ``top`` (indices into ``sc.cand``),
    the hand rules' own verdicts among them (the model learns corrections to the rules)."""
    stats = question_stats(
        aq.original, aq.core_terms, snap.lexical.idf, snap.lexical.max_idf, aq.answer,
        aq.lang != "fr",
    )  # fmt: skip
    z_pass = _zs(sc.cos_passage, sc.sample_passage, sc.spread)
    z_mixed = _zs(sc.cos, sc.sample_cos, sc.spread)
    z_sent = _zs(sc.best_sentence, sc.sample_sentence, sc.spread)
    vec_rank = np.empty(len(sc.cand), dtype=np.int64)
    vec_rank[np.argsort(-sc.cos_passage)] = np.arange(len(sc.cand))
    lex_rank = np.empty(len(sc.cand), dtype=np.int64)
    lex_rank[np.argsort(-sc.bm[sc.cand], kind="stable")] = np.arange(len(sc.cand))
    top_z = float(z_mixed.max())
    bm_max = float(sc.bm.max()) if len(sc.bm) else 0.0
    fused_max = float(sc.fused.max()) if len(sc.fused) else 0.0
    evidence = question_evidence(snap, aq, [int(sc.cand[i]) for i in top[:3]])
    best_z = zscore(float(sc.best_sentence.max()), sc.sample_sentence, sc.spread)
    refused = abstain(Signals(top_z=top_z, sentence_z=best_z), evidence, params)
    rule = (evidence.coverage, evidence.unknown, float(not refused))
    rows = []
    for rank, i in enumerate(top):
        pid = int(sc.cand[i])
        p = snap.passages[pid]
        c = Candidate(
            passage_terms=snap.text_terms(pid),
            title_terms=snap.title_terms(p.article_id),
            heading_terms=snap.heading_terms(pid),
            article_terms=snap.article_terms(p.article_id),
            sentence_coverage=sc.sentence_cov[int(i)],
            sentence_terms=snap.sentence_terms(pid),
            z_passage=float(z_pass[i]),
            z_sentence=float(z_sent[i]) if sc.best_sentence[i] > -1 else 0.0,
            z_gap=top_z - float(z_mixed[i]),
            bm25=float(sc.bm[pid]),
            vector_rank=int(vec_rank[i]),
            lexical_rank=int(lex_rank[i]),
            note=p.note,
            fused_share=float(sc.fused[i]) / fused_max if fused_max > 0 else 0.0,
            fused_rank=rank,
        )
        rows.append(features(stats, c, bm_max, rule))
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(FEATURES))


def zscore(value: float, sample: np.ndarray, spread: float) -> float:
    """How far ``value`` stands above the corpus sample's mean, in the model's cosine spread."""
    if not len(sample):
        return 0.0
    return (value - float(sample.mean())) / spread


def coverage(
    query_terms: list[str],
    passage_terms: list[str] | frozenset[str],
    lexical: LexicalIndex,
    answer: str | None = None,
    foreign: frozenset[str] = frozenset(),
) -> float:
    """Share of the query's weight (idf) found in the passage; unknown terms weigh most, and so
    do the words of a name the corpus never writes (``foreign``), found or not.

    With an ``answer`` type, the answer itself counts as ``ANSWER_SLOT`` more words of average
    weight, present when the passage holds a number, a date or a name that the question
    does not.
    """
    if not query_terms:
        return 0.0
    present = passage_terms if isinstance(passage_terms, frozenset) else set(passage_terms)
    weights = _weights(query_terms, lexical, foreign)
    total = sum(weights.values())
    found = sum(w for t, w in weights.items() if t in present and t not in foreign)
    if answer and weights:
        slot = ANSWER_SLOT * total / len(weights)
        total += slot
        if holds_answer(present, answer, weights.keys()):
            found += slot
    return found / total if total else 0.0


def unknown_share(
    query_terms: list[str], lexical: LexicalIndex, foreign: frozenset[str] = frozenset()
) -> float:
    """Share of the question's weight in words the corpus never uses ("pizza"), or only
    apart from the name they make up ("Tour de France")."""
    if not query_terms:
        return 1.0
    weights = _weights(query_terms, lexical, foreign)
    total = sum(weights.values())
    unknown = sum(w for t, w in weights.items() if t not in lexical.idf or t in foreign)
    return unknown / total if total else 1.0


def _weights(
    query_terms: list[str], lexical: LexicalIndex, foreign: frozenset[str]
) -> dict[str, float]:
    top, idf = lexical.max_idf, lexical.idf
    return {t: top if t in foreign else idf.get(t, top) for t in set(query_terms)}


def question_evidence(snap: Snapshot, aq: AnalyzedQuery, top: list[int]) -> Evidence:
    """What the refusal rule reads of the best passages ``top``: the best coverage, the share
    of unknown words — a French question's names the corpus never writes counting as unknown."""
    foreign = (
        foreign_name_terms(aq.original, snap.lexical, snap.written_sets)
        if aq.lang == "fr"
        else frozenset()
    )
    lexical = snap.lexical
    best = max(
        (coverage(aq.core_terms, snap.passage_terms(p), lexical, foreign=foreign) for p in top),
        default=0.0,
    )
    return Evidence(
        coverage=best,
        unknown=unknown_share(aq.core_terms, snap.lexical, foreign),
        translated=aq.lang != "fr",
    )
