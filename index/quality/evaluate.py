"""Retrieval metrics on JSONL sets: Hit@1, Hit@5, MRR@10 and refusals, overall and by kind.

A question counts as found at rank r when the r-th quote holds one of its gold evidence strings
(the quote, not just its passage: what the reader sees must answer).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from index.retrieval.engine import Engine


def normalise_quote(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def load_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@dataclass(frozen=True)
class Outcome:
    """What the engine did with one question."""

    id: str
    kind: str
    answerable: bool
    answered: bool
    rank: int | None  # of the first quote holding gold evidence, within the first 10


@dataclass
class EvalReport:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def _found(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.answerable]

    @property
    def n(self) -> int:
        return len(self._found)

    def _share(self, value) -> float:
        found = self._found
        return sum(value(o) for o in found) / len(found) if found else 0.0

    @property
    def hit1(self) -> float:
        return self._share(lambda o: o.rank == 1)

    @property
    def hit5(self) -> float:
        return self._share(lambda o: o.rank is not None and o.rank <= 5)

    @property
    def mrr10(self) -> float:
        return self._share(lambda o: 1 / o.rank if o.rank else 0.0)

    @property
    def refused_answerable(self) -> int:
        return sum(not o.answered for o in self._found)

    @property
    def ood(self) -> int:
        return sum(not o.answerable for o in self.outcomes)

    @property
    def ood_refused(self) -> int:
        return sum(not o.answerable and not o.answered for o in self.outcomes)

    @property
    def misses(self) -> list[str]:
        return [o.id for o in self._found if o.rank is None]

    @property
    def bluffs(self) -> list[str]:
        return [o.id for o in self.outcomes if not o.answerable and o.answered]

    @staticmethod
    def combine(reports: list[EvalReport]) -> EvalReport:
        return EvalReport([o for r in reports for o in r.outcomes])

    def by_kind(self) -> dict[str, EvalReport]:
        kinds: dict[str, EvalReport] = {}
        for o in self.outcomes:
            kinds.setdefault(o.kind, EvalReport()).outcomes.append(o)
        return kinds

    def render(self) -> str:
        lines = [
            f"questions      {self.n}",
            f"Hit@1          {self.hit1:.3f}",
            f"Hit@5          {self.hit5:.3f}",
            f"MRR@10         {self.mrr10:.3f}",
            f"refused (answerable)  {self.refused_answerable}/{self.n}",
        ]
        if self.ood:
            lines.append(
                f"refused (unanswerable) {self.ood_refused}/{self.ood} "
                f"= {self.ood_refused / self.ood:.2f}"
            )
        return "\n".join(lines)

    def row(self, name: str) -> str:
        """One Markdown table row: name, Hit@1, Hit@5, MRR@10, refusals."""
        found = (
            f"{self.hit1:.3f} | {self.hit5:.3f} | {self.mrr10:.3f} | "
            f"{self.refused_answerable}/{self.n}"
            if self.n
            else "– | – | – | –"
        )
        ood = f"{self.ood_refused}/{self.ood}" if self.ood else "–"
        return f"| {name} | {found} | {ood} |"

    def to_json(self) -> dict:
        return {
            "n": self.n,
            "hit1": round(self.hit1, 4),
            "hit5": round(self.hit5, 4),
            "mrr10": round(self.mrr10, 4),
            "refused_answerable": self.refused_answerable,
            "ood": self.ood,
            "ood_refused": self.ood_refused,
        }


TABLE_HEAD = (
    "| set | Hit@1 | Hit@5 | MRR@10 | answerable refused | unanswerable refused |\n"
    "|---|---|---|---|---|---|"
)


def judge(engine: Engine, q: dict, answerable: bool) -> Outcome:
    answer = engine.search(q["q"], k=10 if answerable else 5)
    rank = None
    if answerable:
        golds = [normalise_quote(g) for g in q["gold"]]
        for i, r in enumerate(answer.results[:10]):
            if any(g in normalise_quote(r.quote) for g in golds):
                rank = i + 1
                break
    kind = q.get("kind") or ("unanswerable" if not answerable else "")
    return Outcome(q.get("id", q["q"]), kind, answerable, answer.answered, rank)


def evaluate(engine: Engine, questions: list[dict], ood: list[dict] | None = None) -> EvalReport:
    return EvalReport(
        [judge(engine, q, True) for q in questions] + [judge(engine, q, False) for q in ood or []]
    )


ABLATIONS: list[tuple[str, dict, bool, bool]] = [
    ("BM25 only (French analysis)", {"lexical_weight": 1.0}, True, False),
    ("vectors only (passage + sentence)", {"lexical_weight": 0.0}, True, False),
    ("hybrid, passage vectors only", {"sentence_weight": 0.0}, True, False),
    ("hybrid, no sentence proximity bonus", {"proximity_weight": 0.0}, True, False),
    ("hybrid, no query analysis", {}, False, False),
    ("hybrid with the hand rules (no relevance model)", {}, True, False),
    ("full pipeline (relevance model)", {}, True, True),
]


def ablation(
    engine: Engine, questions: list[dict], ood: list[dict] | None
) -> list[tuple[str, EvalReport]]:
    """What each step adds: the same engine with one piece switched off at a time."""
    import dataclasses

    base, analyze, relevance = engine.params, engine.analyze_queries, engine.relevance
    rows = []
    try:
        for name, changes, analysis, judged in ABLATIONS:
            if judged and relevance is None:
                continue
            engine.params = dataclasses.replace(base, **changes)
            engine.analyze_queries = analysis
            engine.relevance = relevance if judged else None
            engine.clear_query_cache()
            rows.append((name, evaluate(engine, questions, ood)))
    finally:
        engine.params, engine.analyze_queries, engine.relevance = base, analyze, relevance
    return rows
