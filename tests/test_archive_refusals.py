"""An archive of look-alike posts must not unlock off-topic questions (issues #14 and #17).

Hundreds of similar posts (the same councils, sensors and procurement stories, written in the
same few sentence shapes) narrow the spread of a question's cosines over the corpus. When that
spread was the unit of the refusal rule's z-scores, every question stood further out from the
corpus and most off-topic questions got a quote: with the 200 posts of the fixture site, 22 of
64 unanswerable questions were refused instead of 47 (e5). The unit is now a constant of the
model (``FusionParams.cosine_spread``). The engines: ``e5_engines`` (conftest).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from index.quality.evaluate import evaluate, load_jsonl

REPO = Path(__file__).resolve().parents[1]
SHARED_EVAL = REPO.parent / "shared" / "eval"


def test_look_alike_posts_do_not_unlock_off_topic_questions(e5_engines):
    seed_engine, archive_engine = e5_engines
    ood = load_jsonl(REPO / "tests/eval/offtopic_ood.jsonl") + load_jsonl(
        REPO / "tests/eval/heldout_ood.jsonl"
    )
    seed = evaluate(seed_engine, [], ood)
    archive = evaluate(archive_engine, [], ood)
    # Measured: 38/48 refused on the seed corpus, 35/48 with the posts (session 7: stems of
    # participles, everyday words not corrected; 39 and 35 in session 6); with z-scores in the
    # corpus's own spread, the posts brought it down to 26/48 (36/48 on the seed corpus then).
    assert seed.ood_refused >= 36
    assert archive.ood_refused >= 31, archive.bluffs


@pytest.mark.skipif(not SHARED_EVAL.is_dir(), reason="../shared/eval is not present")
@pytest.mark.parametrize("name", ["dev", "dev_more"])
def test_look_alike_posts_do_not_push_answers_out(e5_engines, name: str):
    """Issue #17: with the archive's posts as distractors, Hit@5 drops by at most 0.03."""
    seed_engine, archive_engine = e5_engines
    questions = load_jsonl(SHARED_EVAL / f"{name}.jsonl")
    seed = evaluate(seed_engine, questions, [])
    archive = evaluate(archive_engine, questions, [])
    # Measured (e5 ONNX, 80 posts): dev 0.917 → 0.917, dev_more 0.917 → 0.917; dev fell to
    # 0.875 before stems saw participles (« vérifié » and « vérifier » apart, a question lost).
    assert archive.hit5 >= seed.hit5 - 0.03, (seed.hit5, archive.hit5, archive.misses)


# Every word of these names is in the seed corpus, one here, one there; the names never are.
NAMES_NEVER_WRITTEN = (
    "Qui a gagné le Tour de France l'an dernier ?",
    "Combien coûte un abonnement à la Gazette des communes ?",
    "Où se trouve la Tour Eiffel ?",
    # The issue's own examples: a name with its edition or model number.
    "Qui a gagné la Coupe du monde 2018 ?",
    "Combien coûte un iPhone 15 ?",
)
NAMES_WRITTEN = (
    "Que dit la Cour des comptes sur la vidéosurveillance ?",
    "Qu'a décidé le Conseil d'État sur les drones ?",
    "Que dit la loi JO 2024 sur la VSA ?",
)


def test_a_name_the_articles_never_write_is_not_their_topic(e5_engines):
    """« le Tour de France »: "tour" and "France" are both in the articles, never together;
    word by word the question looked covered and got a quote (all three did before)."""
    for name, engine in zip(("seed", "archive"), e5_engines, strict=True):
        for question in NAMES_NEVER_WRITTEN:
            assert not engine.search(question).answered, (name, question)
        for question in NAMES_WRITTEN:
            assert engine.search(question).answered, question
