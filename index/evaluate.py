"""Retrieval metrics on a JSONL set: Hit@1, Hit@5, MRR@10, and refusals."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from index.search import Engine


def _norm(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def load_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@dataclass
class EvalReport:
    n: int = 0
    hit1: float = 0.0
    hit5: float = 0.0
    mrr10: float = 0.0
    refused_answerable: int = 0
    ood: int = 0
    ood_refused: int = 0
    misses: list[str] = field(default_factory=list)

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

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "misses"}


def evaluate(engine: Engine, questions: list[dict], ood: list[dict] | None = None) -> EvalReport:
    rep = EvalReport(n=len(questions))
    h1 = h5 = rr = 0.0
    for q in questions:
        answer = engine.search(q["q"], k=10)
        golds = [_norm(g) for g in q["gold"]]
        rank = None
        for i, r in enumerate(answer.results[:10]):
            if any(g in _norm(r.quote) for g in golds):
                rank = i + 1
                break
        if not answer.answered:
            rep.refused_answerable += 1
        if rank == 1:
            h1 += 1
        if rank and rank <= 5:
            h5 += 1
        if rank:
            rr += 1 / rank
        else:
            rep.misses.append(q.get("id", q["q"]))
    if questions:
        rep.hit1, rep.hit5, rep.mrr10 = h1 / rep.n, h5 / rep.n, rr / rep.n
    for q in ood or []:
        rep.ood += 1
        if not engine.search(q["q"], k=5).answered:
            rep.ood_refused += 1
    return rep


ABLATIONS: list[tuple[str, dict, bool]] = [
    ("BM25 only (French analysis)", {"lexical_weight": 1.0}, True),
    ("vectors only (passage + sentence)", {"lexical_weight": 0.0}, True),
    ("hybrid, passage vectors only", {"sentence_weight": 0.0}, True),
    ("hybrid, no sentence proximity bonus", {"proximity_weight": 0.0}, True),
    ("hybrid, no query analysis", {}, False),
    ("full pipeline", {}, True),
]


def ablation(
    engine: Engine, questions: list[dict], ood: list[dict] | None
) -> list[tuple[str, EvalReport]]:
    """What each step adds: the same engine with one piece switched off at a time."""
    import dataclasses

    base, analyze = engine.params, engine.analyze_queries
    rows = []
    try:
        for name, changes, analysis in ABLATIONS:
            engine.params = dataclasses.replace(base, **changes)
            engine.analyze_queries = analysis
            rows.append((name, evaluate(engine, questions, ood)))
    finally:
        engine.params, engine.analyze_queries = base, analyze
    return rows
