"""Does this passage answer this question? A small learned judgement, used twice: to order the
candidates and to decide whether the question is answered at all.

Each (question, candidate passage) pair becomes a row of features that any corpus gives without
labels — how much of the question's weight the passage, its title and heading, its best sentence
and its whole article hold; whether the rarest question words are among them; the dense cosine
of the passage and of its best sentence as z-scores (the distance above the corpus's mean, in
the model's cosine spread); both rankings' opinions; whether the kind of answer asked for (a
number, a date, a name) is there — and a logistic regression, fitted by ``python -m index
calibrate`` on labelled questions (gold passages positive; the other candidates and every
candidate of an unanswerable question negative), turns the row into a probability. Hand
thresholds fitted to 24 questions did not carry over to new ones (Hit@1 0.83 → 0.70); a model
over general features, checked on held-out folds, is meant to.

The fitted model is a small JSON file per model family
(``index/retrieval/relevance/relevance-<family>.json``): standardisation, coefficients, the
decision threshold, and the hash of its training data.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.language import terms
from index.retrieval.question import holds_answer

MODEL_DIR = Path(__file__).with_name("relevance")
FORMAT = 2  # 2: each score names the columns it reads

FEATURES: tuple[str, ...] = (
    "cov_passage",  # share of the question's weight in the passage's own words
    "cov_context",  # ... in the passage, its title and its heading
    "cov_article",  # ... anywhere in its article
    "cov_sentence",  # ... in its best sentence (with the answer slot): words together
    "top_terms_found",  # share of the question's two heaviest words found in the context
    "missing_rare",  # the rarest known question word absent from the context (idf / top idf)
    "matched_terms",  # how many distinct question words the context holds (log)
    "lone_match",  # the context holds exactly one question word: one shared word is no answer
    "specific_cov",  # share of the question's specificity (rarity in general French) held
    "specific_best",  # the most specific word held, against the question's most specific word
    "unknown",  # share of the question's weight in words the corpus never uses
    "unknown_french",  # the same for a question in the corpus' language (no translation gap)
    "unknown_names",  # names and acronyms of the question the corpus never mentions (0–2)
    "question_terms",  # how many content words the question has (log)
    "z_passage",  # passage cosine, z-score against the corpus sample
    "z_sentence",  # best sentence cosine, z-score against the sample's best sentences
    "z_gap",  # how far this passage's mixed cosine is below the best candidate's (z units)
    "bm25_share",  # BM25 / best BM25 of the question
    "bm25_level",  # BM25 / the question's total idf (how much text evidence, absolutely)
    "vector_rank",  # 1 / (1 + rank in the vector order)
    "lexical_rank",  # 1 / (1 + rank in the BM25 order)
    "asks_type",  # the question asks for a number, a date or a name
    "type_found",  # ... and the passage's best sentence holds one not in the question
    "title_cov",  # share of the question's weight in the article's title
    "translated",  # another language than the corpus': its words were mapped, partially
    "translated_z_sentence",  # meaning crosses languages when words do not
    "translated_cov",
    "note",  # a footnote
    "fused_share",  # the hand rules' fused score (proximity included) / the question's best
    "fused_rank",  # 1 / (1 + rank in the hand rules' order)
    "rule_coverage",  # the refusal rule's coverage: the best of the top 3 passages (question)
    "rule_unknown",  # the refusal rule's unknown share, unwritten names included (question)
    "rule_answers",  # the refusal rule (fuse.abstain) answers the question
)


@dataclass(frozen=True)
class QuestionStats:
    """What a question brings to every one of its rows."""

    weights: dict[str, float]  # content term → idf (the corpus' highest for unknown words)
    unknown: float
    answer: str | None
    translated: bool
    unknown_names: int = 0
    known: frozenset[str] = frozenset()
    max_idf: float = 1.0
    specificity: dict[str, float] = field(default_factory=dict)  # term → general rarity

    @property
    def total(self) -> float:
        return sum(self.weights.values())

    def heaviest_known(self, n: int = 2) -> list[str]:
        """The rarest words the corpus knows: what a passage must hold to be about them."""
        return sorted(self.known, key=lambda t: (-self.weights[t], t))[:n]


# A capitalised word inside a sentence, or an acronym ("AN2V"): a name the question is about.
_NAME = re.compile(
    r"(?<=\w[\s,;:(«'’])([A-Z][\w-]*[A-Z0-9][\w-]*|[A-Z][a-z][\w-]+)|\b([A-Z]{2,}\w*)"
)


def question_stats(
    question: str,
    core_terms: Sequence[str],
    idf: dict[str, float],
    max_idf: float,
    answer: str | None,
    translated: bool,
) -> QuestionStats:
    weights = {t: idf.get(t, max_idf) for t in dict.fromkeys(core_terms)}
    total = sum(weights.values())
    unknown = sum(max_idf for t in weights if t not in idf) / total if total else 1.0
    names = {terms(a or b)[0] for a, b in _NAME.findall(question) if terms(a or b)}
    return QuestionStats(
        weights,
        unknown,
        answer,
        translated,
        unknown_names=sum(1 for t in names if t not in idf),
        known=frozenset(t for t in weights if t in idf),
        max_idf=max_idf or 1.0,
        specificity=weights if translated else _specificity(question, weights),
    )


_WORD = re.compile(r"[^\W_]+")


def _specificity(text: str, weights: dict[str, float]) -> dict[str, float]:
    """How rare each question word is in French at large (wordfreq's Zipf scale, 8 − zipf):
    "France", "gagner", "temps" or a year are everyday words that cannot carry a question,
    however rare a small corpus makes them look."""
    from wordfreq import zipf_frequency

    out: dict[str, float] = {}
    for word in _WORD.findall(text):
        found = terms(word)
        if found and found[0] in weights:
            rarity = 8.0 - zipf_frequency(word.lower(), "fr")
            out[found[0]] = max(out.get(found[0], 0.0), rarity)
    for t in weights:
        out.setdefault(t, 8.0)
    return out


def share(stats: QuestionStats, present: Collection[str]) -> float:
    total = stats.total
    if not total:
        return 0.0
    return sum(w for t, w in stats.weights.items() if t in present) / total


@dataclass(frozen=True)
class Candidate:
    """One candidate's raw evidence, gathered by the engine."""

    passage_terms: frozenset[str]
    title_terms: frozenset[str]
    heading_terms: frozenset[str]
    article_terms: frozenset[str]
    sentence_coverage: float  # best sentence's coverage (answer slot included)
    sentence_terms: Sequence[frozenset[str]]
    z_passage: float
    z_sentence: float
    z_gap: float
    bm25: float
    vector_rank: int
    lexical_rank: int
    note: bool
    fused_share: float = 0.0  # the hand rules' score against the question's best
    fused_rank: int = 0


def features(
    stats: QuestionStats,
    c: Candidate,
    bm25_max: float,
    rule: tuple[float, float, float] = (0.0, 1.0, 0.0),
) -> list[float]:
    """One pair's row; ``rule``: the refusal rule's coverage, unknown share and verdict (1:
    answered) of the question."""
    context = c.passage_terms | c.title_terms | c.heading_terms
    matched = sum(1 for t in stats.weights if t in context)
    heavy = stats.heaviest_known()
    known_weight = sum(w for w in stats.weights.values()) * (1 - stats.unknown)
    asks = stats.answer is not None
    type_found = asks and any(
        holds_answer(s, stats.answer, stats.weights.keys()) for s in c.sentence_terms
    )
    z_sent = c.z_sentence
    cov_ctx = share(stats, context)
    spec = stats.specificity
    spec_total = sum(spec.values())
    held = [spec[t] for t in spec if t in context]
    translated = float(stats.translated)
    return [
        share(stats, c.passage_terms),
        cov_ctx,
        share(stats, c.article_terms),
        c.sentence_coverage,
        sum(1 for t in heavy if t in context) / len(heavy) if heavy else 0.0,
        max((stats.weights[t] for t in stats.known if t not in context), default=0.0)
        / stats.max_idf,
        math.log1p(matched),
        float(matched == 1),
        sum(held) / spec_total if spec_total else 0.0,
        max(held, default=0.0) / max(spec.values(), default=1.0),
        stats.unknown,
        stats.unknown * (1 - translated),
        min(stats.unknown_names, 2) / 2,
        math.log1p(len(stats.weights)),
        c.z_passage,
        z_sent,
        c.z_gap,
        c.bm25 / bm25_max if bm25_max > 0 else 0.0,
        c.bm25 / known_weight if known_weight > 0 else 0.0,
        1.0 / (1 + c.vector_rank),
        1.0 / (1 + c.lexical_rank),
        float(asks),
        float(type_found),
        share(stats, c.title_terms),
        translated,
        translated * z_sent,
        translated * cov_ctx,
        float(c.note),
        c.fused_share,
        1.0 / (1 + c.fused_rank),
        *rule,
    ]


# The question-level decision reads the best candidate's ranking score and evidence, and the
# best sentence anywhere among the candidates: is anything here about this question at all?
_MAXED_NAMES = ("z_sentence", "cov_sentence", "cov_context", "z_passage")
DECISION_FEATURES: tuple[str, ...] = (
    "best_score",  # the ranking's score of its best candidate
    *FEATURES,  # that candidate's row
    *(f"max_{f}" for f in _MAXED_NAMES),  # the best value among all the candidates
)
_MAXED = [FEATURES.index(f) for f in _MAXED_NAMES]


def decision_row(scores: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One question's decision features from its candidates' rows and ranking scores."""
    if not len(rows):
        return np.zeros(len(DECISION_FEATURES))
    best = int(np.argmax(scores))
    return np.concatenate(
        [
            [scores[best]],
            rows[best],
            rows[:, _MAXED].max(axis=0),
        ]
    )


@dataclass(frozen=True)
class Linear:
    """A standardised linear score over some named columns of a row:
    coef · (x[columns] − mean) / scale + b (a logistic regression's decision function)."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    names: tuple[str, ...]  # the columns read, by name
    columns: np.ndarray  # ... and their positions in the rows

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        if not len(rows):
            return np.zeros(0, dtype=np.float64)
        return ((rows[:, self.columns] - self.mean) / self.scale) @ self.coef + self.intercept

    def to_json(self) -> dict:
        return {
            "features": list(self.names),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
        }

    @classmethod
    def from_json(cls, data: dict, known: Sequence[str]) -> Linear | None:
        """The score, or None when it reads a column this version does not compute."""
        names = tuple(data.get("features", ()))
        if not names or any(n not in known for n in names):
            return None
        return cls(
            np.array(data["mean"], dtype=np.float64),
            np.array(data["scale"], dtype=np.float64),
            np.array(data["coef"], dtype=np.float64),
            float(data["intercept"]),
            names,
            np.array([list(known).index(n) for n in names], dtype=np.int64),
        )


@dataclass(frozen=True)
class RelevanceModel:
    """Two fitted judgements: ``rank`` scores each (question, passage) pair (higher: more
    likely the passage answers); ``decide`` scores the question from its best candidates, and
    the question is answered when that score reaches ``threshold``."""

    rank: Linear
    decide: Linear
    threshold: float
    family: str = ""
    trained_on: str = ""  # hash of the training questions and the corpus they were asked of
    report: dict = field(default_factory=dict, compare=False)

    def judge(self, rows: np.ndarray) -> tuple[np.ndarray, bool]:
        """Each candidate's share of the question's belief (a softmax of the ranking scores:
        the odds between two candidates are what the ranking knows, not how sure it is of
        either), and whether the question is answered. Shares, not saturated probabilities:
        the date step reads scores within 1 % of each other as ties (0.999 and 0.990 are)."""
        if not len(rows):
            return np.zeros(0), False
        scores = self.rank(rows)
        verdict = float(self.decide(decision_row(scores, rows)[None, :])[0])
        odds = np.exp(scores - scores.max())
        return odds / odds.sum(), verdict >= self.threshold

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "family": self.family,
            "rank": self.rank.to_json(),
            "decide": self.decide.to_json(),
            "threshold": self.threshold,
            "trained_on": self.trained_on,
            "report": self.report,
        }

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1, ensure_ascii=False) + "\n", "utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> RelevanceModel | None:
        """The fitted model, or None when absent or fitted for other features (refit it)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if data.get("format") != FORMAT:
            return None
        rank = Linear.from_json(data.get("rank", {}), FEATURES)
        decide = Linear.from_json(data.get("decide", {}), DECISION_FEATURES)
        if rank is None or decide is None:
            return None
        return cls(
            rank=rank,
            decide=decide,
            threshold=float(data["threshold"]),
            family=data.get("family", ""),
            trained_on=data.get("trained_on", ""),
            report=data.get("report", {}),
        )


def model_path(family: str) -> Path:
    return MODEL_DIR / f"relevance-{family}.json"
