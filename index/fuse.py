"""Score normalisation, fusion and the abstention rule, with weights per model family.

BM25 scores are divided by the best BM25 score of the query; cosines become z-scores against a
sample of the corpus (e5's cosines are compressed: unrelated questions still score about 0.8,
so only the distance from the corpus' typical score means anything), then scaled by the best
candidate. The abstention rule reads the same z-score and how much of the question's weight the
top passage covers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FusionParams:
    lexical_weight: float  # convex weight of normalised BM25; the rest goes to the vector score
    min_z: float  # top vector z-score under which a question is refused without lexical support
    strong_z: float  # top vector z-score that answers on its own
    min_coverage: float  # lexical support: share of the question's idf weight in the top passage
    relative_floor: float = 0.45  # results below this share of the best fused score are noise
    adjacent_penalty: float = 0.85


# Tuned with `python -m index eval ../shared/eval/dev.jsonl --ood ../shared/eval/dev_ood.jsonl`.
PARAMS = {
    "e5": FusionParams(lexical_weight=0.35, min_z=2.0, strong_z=3.5, min_coverage=0.5),
    "minilm": FusionParams(lexical_weight=0.6, min_z=2.0, strong_z=4.0, min_coverage=0.5),
    "other": FusionParams(lexical_weight=0.5, min_z=2.0, strong_z=4.0, min_coverage=0.5),
}


def params_for(name: str, model_id: str) -> FusionParams:
    if name == "e5" or "e5" in model_id.lower():
        return PARAMS["e5"]
    if name == "minilm" or "minilm" in model_id.lower():
        return PARAMS["minilm"]
    return PARAMS["other"]


@dataclass(frozen=True)
class Signals:
    top_z: float  # best candidate's cosine as a z-score against the corpus sample
    top_bm25: float


def fuse(
    bm: np.ndarray, bm_max: float, cos: np.ndarray, mu: float, sigma: float,
    params: FusionParams,
) -> tuple[np.ndarray, Signals]:
    z = (cos - mu) / sigma
    top_z = float(z.max()) if len(z) else 0.0
    vec_norm = np.clip(z, 0, None) / top_z if top_z > 0 else np.zeros_like(z)
    bm_norm = bm / bm_max if bm_max > 0 else np.zeros_like(bm)
    w = params.lexical_weight
    return w * bm_norm + (1 - w) * vec_norm, Signals(top_z=top_z, top_bm25=bm_max)


def abstain(signals: Signals, coverage: float, params: FusionParams) -> bool:
    """Refuse unless the meaning is clearly close, or close enough with the words to back it."""
    if signals.top_z >= params.strong_z:
        return False
    return not (signals.top_z >= params.min_z and coverage >= params.min_coverage)
