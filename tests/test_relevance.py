"""The learned relevance judgement: fitted by `calibrate` on labelled questions, saved as a small
versioned file, and wired into the engine's ordering and its answered/refused decision."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from index.retrieval.relevance import DECISION_FEATURES, FEATURES, RelevanceModel

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
    assert data["features"] == list(FEATURES)
    assert data["decision_features"] == list(DECISION_FEATURES)
    loaded = RelevanceModel.load(path)
    assert loaded is not None and loaded.threshold == calibration.model.threshold
    data["features"] = data["features"][:-1]  # a model fitted for other features is not used
    path.write_text(json.dumps(data), encoding="utf-8")
    assert RelevanceModel.load(path) is None


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
