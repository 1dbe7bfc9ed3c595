"""The learned relevance judgement: fitted by `calibrate` on labelled questions, saved as a small
versioned file, and wired into the engine's ordering and its answered/refused decision."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from index.retrieval.relevance import FEATURES, Linear, RelevanceModel

REPO = Path(__file__).resolve().parents[1]
SHARED_EVAL = REPO.parent / "shared" / "eval"
pytestmark = pytest.mark.skipif(not SHARED_EVAL.is_dir(), reason="../shared/eval is not present")


@pytest.fixture(scope="module")
def calibration(engine):
    from index.quality.calibrate import calibrate

    return calibrate(engine, [SHARED_EVAL / "dev.jsonl"], [SHARED_EVAL / "dev_ood.jsonl"], folds=3)


def test_calibration_reports_held_out_folds_beside_the_training_fit(calibration, tmp_path):
    report = calibration.model.report
    assert report["questions"] == 24 and report["unanswerable"] == 4
    folds = report["cross_validation"]
    assert folds["folds"] == 3 and folds["n"] == 24 and folds["ood"] == 4
    assert len(calibration.folds.outcomes) == len(calibration.training.outcomes) == 28
    assert len(calibration.model.trained_on) == 16
    path = tmp_path / "relevance.json"
    calibration.model.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["rank"]["features"] == list(calibration.model.rank.names)
    assert data["decide"]["features"] == list(calibration.model.decide.names)
    loaded = RelevanceModel.load(path)
    assert loaded is not None and loaded.threshold == calibration.model.threshold
    assert loaded.decide.names == calibration.model.decide.names
    data["decide"]["features"][0] = "no_such_column"  # fitted for other features: not used
    path.write_text(json.dumps(data), encoding="utf-8")
    assert RelevanceModel.load(path) is None


def test_a_decision_reading_only_the_rule_verdict_is_the_hand_rule(engine):
    """The rows carry the hand rules' own verdict (``rule_answers``): fitted on it alone, with
    the rules' order, the model answers exactly the questions the rules answer, in the same
    first quote — what the residual recipe starts from before it learns corrections."""
    from index.quality.calibrate import Recipe, calibrate

    only_rule = Recipe(ranking="rules", decision_features=("rule_answers",))
    cal = calibrate(
        engine, [SHARED_EVAL / "dev.jsonl"], [SHARED_EVAL / "dev_ood.jsonl"], folds=3,
        recipe=only_rule,
    )  # fmt: skip

    def firsts(report):  # answered, and the first quote right (lower ranks: other floors)
        return sorted((o.id, o.answered, o.rank == 1) for o in report.outcomes)

    assert firsts(cal.training) == firsts(cal.folds) == firsts(cal.rules)
    assert not cal.generalises  # a tie keeps the rules: nothing is written


def test_confident_scores_are_not_read_as_date_ties(engine):
    """The engine orders by each candidate's share of the question's belief, not by saturated
    probabilities: 0.9999 and 0.9990 are "within 1 %", and the date step reordered such
    near-certain candidates by date (a ranking on the rules' score ×10 fell to Hit@1 0.52)."""
    from index.quality.evaluate import load_jsonl

    name = ("fused_share",)
    column = np.array([FEATURES.index(name[0])])
    sharp = Linear(np.zeros(1), np.ones(1), np.array([10.0]), 0.0, name, column)
    always = Linear(np.zeros(1), np.ones(1), np.zeros(1), 1.0, ("best_score",), np.array([0]))
    saved = engine.relevance
    try:
        firsts = []
        for model in (None, RelevanceModel(sharp, always, 0.0)):
            engine.relevance = model
            answers = [engine.search(q["q"], k=5) for q in load_jsonl(SHARED_EVAL / "dev.jsonl")]
            firsts.append([a.results[0].passage_id if a.answered else None for a in answers])
    finally:
        engine.relevance = saved
    rules, model = firsts
    assert sum(r is not None for r in rules) >= 20
    assert all(m == r for r, m in zip(rules, model, strict=True) if r is not None)


def test_the_engine_orders_and_decides_by_the_fitted_model(engine, calibration):
    question = "Combien coûte une caméra de vidéosurveillance ?"
    saved = engine.relevance
    try:
        engine.relevance = calibration.model
        answer = engine.search(question, k=5)
        pool = engine.candidates(question)
        assert answer.answered
        scores = [r.score for r in answer.results]
        assert scores == sorted(scores, reverse=True)
        assert scores[0] == pytest.approx(float(pool.probabilities.max()), abs=1e-4)
        engine.relevance = dataclasses.replace(calibration.model, threshold=1e9)
        assert not engine.search(question, k=5).answered
    finally:
        engine.relevance = saved
