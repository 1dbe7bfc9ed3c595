"""An archive of look-alike posts must not unlock off-topic questions (issues #14 and #17).

Hundreds of similar posts (the same councils, sensors and procurement stories, written in the
same few sentence shapes) narrow the spread of a question's cosines over the corpus. When that
spread was the unit of the refusal rule's z-scores, every question stood further out from the
corpus and most off-topic questions got a quote: with the 200 posts of the fixture site, 22 of
64 unanswerable questions were refused instead of 47 (e5). The unit is now a constant of the
model (``FusionParams.cosine_spread``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from wpsite import generate_posts

from index.build.pipeline import build_index
from index.config import IndexSettings
from index.models.embed import Embedder
from index.models.resolve import E5_DIR
from index.quality.evaluate import evaluate, load_jsonl
from index.retrieval.engine import Engine

REPO = Path(__file__).resolve().parents[1]
SHARED_EVAL = REPO.parent / "shared" / "eval"
POSTS = 80  # enough to narrow the spread as the 200-post archive does (e5: ~40 s to embed)


def _write_posts(articles: Path, n: int) -> None:
    for post in generate_posts(n):
        title = "'" + post.title.replace("'", "''") + "'"
        body = "\n\n".join(post.paragraphs)
        (articles / f"fixture-{post.n:03d}.md").write_text(
            f"---\ntitle: {title}\ndate: '{post.date}'\nurl: https://example.org{post.path}\n"
            f"source: Fixture\nlang: fr\n---\n\n{body}\n",
            encoding="utf-8",
        )


@pytest.fixture(scope="module")
def engines(tmp_path_factory, e5_deployment: Path) -> tuple[Engine, Engine]:
    """The default model (e5, ONNX int8) over the seed corpus, and over it plus the posts."""
    root = tmp_path_factory.mktemp("archive")
    built = []
    for name, posts in (("seed", 0), ("archive", POSTS)):
        content = root / name / "content"
        shutil.copytree(REPO / "content", content)
        _write_posts(content / "articles", posts)
        settings = IndexSettings(
            content_dir=content,
            index_dir=root / name / "index",
            cache_dir=root / "cache",  # shared: the seed's passages are embedded once
            embedding_model=str(e5_deployment / E5_DIR),
            embedding_backend="onnx",
        )
        embedder = built[0].embedder if built else Embedder(settings)
        assert build_index(settings, embedder, progress=False).articles == 6 + posts
        built.append(Engine.open(settings, embedder))
    return built[0], built[1]


def test_look_alike_posts_do_not_unlock_off_topic_questions(engines):
    seed_engine, archive_engine = engines
    ood = load_jsonl(REPO / "tests/eval/offtopic_ood.jsonl") + load_jsonl(
        REPO / "tests/eval/heldout_ood.jsonl"
    )
    seed = evaluate(seed_engine, [], ood)
    archive = evaluate(archive_engine, [], ood)
    # Measured: 38/48 refused on the seed corpus, 33/48 with the posts (session 7: stems of
    # participles; 39 and 35 in session 6); with z-scores in the corpus's own spread, the
    # posts brought it down to 26/48 (36/48 on the seed corpus then).
    assert seed.ood_refused >= 36
    assert archive.ood_refused >= 31, archive.bluffs


@pytest.mark.skipif(not SHARED_EVAL.is_dir(), reason="../shared/eval is not present")
@pytest.mark.parametrize("name", ["dev", "dev_more"])
def test_look_alike_posts_do_not_push_answers_out(engines, name: str):
    """Issue #17: with the archive's posts as distractors, Hit@5 drops by at most 0.03."""
    seed_engine, archive_engine = engines
    questions = load_jsonl(SHARED_EVAL / f"{name}.jsonl")
    seed = evaluate(seed_engine, questions, [])
    archive = evaluate(archive_engine, questions, [])
    # Measured (e5 ONNX, 80 posts): dev 0.917 → 0.917, dev_more 0.933 → 0.933; dev fell to
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


def test_a_name_the_articles_never_write_is_not_their_topic(engines):
    """« le Tour de France »: "tour" and "France" are both in the articles, never together;
    word by word the question looked covered and got a quote (all three did before)."""
    for name, engine in zip(("seed", "archive"), engines, strict=True):
        for question in NAMES_NEVER_WRITTEN:
            assert not engine.search(question).answered, (name, question)
        for question in NAMES_WRITTEN:
            assert engine.search(question).answered, question
