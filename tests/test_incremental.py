"""Incremental builds reuse the previous version's segments and give the index a full build
of the same corpus gives: same passages in the same order, same statistics, same answers."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

import index.build.compaction as compaction
import index.build.segment_rows as segment_rows
from index import open_engine
from index.build.pipeline import build_index
from index.config import IndexSettings
from index.corpus.article import article_id
from index.corpus.folder import articles_dir, save_article
from index.retrieval.engine import Engine
from index.storage.versions import current_version, open_version
from index.types import Article

QUESTIONS = [
    "Combien coûte une caméra de vidéosurveillance ?",
    "Qui a saisi la justice contre les micros d'Orléans ?",
    "Quelle société a installé des détecteurs sonores à Orléans ?",
    "Que détectent les capteurs sonores à Montpellier ?",
    "Quel score la CAF attribue-t-elle aux allocataires ?",
    "Who won the football world cup?",
]


def _article(slug: str, title: str, date: dt.date, body: str) -> Article:
    url = f"https://example.org/{date:%Y/%m/%d}/{slug}/"
    return Article(id=article_id(url), title=title, date=date, url=url, source="Test",
                   lang="fr", body=body)  # fmt: skip


SOUND = _article(
    "capteurs-sonores",
    "Capteurs sonores à Montpellier (CSM)",
    dt.date(2021, 5, 2),  # among the seed articles' dates: inserted mid-order, not appended
    "La ville installe des capteurs sonores (CSM) dans le quartier de l’Écusson.\n\n"
    "Ces micros détectent les cris et alertent la police municipale en temps réel. "
    "Les Capteurs Sonores Municipaux coûtent 15 000 euros.",
)


@pytest.fixture
def corpus(tmp_path: Path, index_settings: IndexSettings, engine) -> Path:
    """A copy of the seed corpus; ``engine`` has filled the session's embedding cache."""
    shutil.copytree(index_settings.content_dir, tmp_path / "content")
    return tmp_path / "content"


def _settings(
    corpus: Path, index_dir: Path, index_settings: IndexSettings, **more: object
) -> IndexSettings:
    return IndexSettings(content_dir=corpus, index_dir=index_dir,
                         cache_dir=index_settings.cache_dir, embedding_model="minilm",
                         embedding_backend=index_settings.embedding_backend,
                         **more)  # fmt: skip


def _answers(settings: IndexSettings, embedder) -> list:
    engine = Engine.open(settings, embedder)
    return [
        [(r.passage_id, r.quote, r.score) for r in engine.search(q, k=5).results] for q in QUESTIONS
    ]


def _same_index(a: IndexSettings, b: IndexSettings, embedder) -> None:
    fa, ma = open_version(a.index_dir)
    fb, mb = open_version(b.index_dir)
    assert (ma.corpus_hash, ma.passages, ma.articles) == (mb.corpus_hash, mb.passages, mb.articles)
    for name in ("passages.jsonl", "articles.json", "acronyms.json"):
        assert (fa / name).read_bytes() == (fb / name).read_bytes(), name
    for name in ("vocab.json", "idf.json"):
        assert json.loads((fa / name).read_text()) == json.loads((fb / name).read_text())
    assert _answers(a, embedder) == _answers(b, embedder)


def _full(corpus: Path, tmp_path: Path, index_settings: IndexSettings, embedder, tag: str):
    settings = _settings(corpus, tmp_path / f"full-{tag}", index_settings)
    report = build_index(settings, embedder, progress=False)
    assert not report.incremental
    return settings


def test_added_modified_removed_articles_match_a_full_build(
    corpus: Path, tmp_path: Path, index_settings: IndexSettings, embedder
) -> None:
    files = sorted(articles_dir(corpus).glob("*.md"))
    aside = tmp_path / files[1].name
    shutil.move(files[1], aside)  # A: the seed corpus less one article
    settings = _settings(corpus, tmp_path / "index", index_settings)
    first = build_index(settings, embedder, progress=False)
    assert not first.incremental

    # B: that article back, and a new one dated among the others.
    shutil.move(aside, files[1])
    save_article(corpus, SOUND)
    added = build_index(settings, embedder, progress=False)
    assert added.incremental and added.removed_passages == 0
    assert added.articles == first.articles + 2
    assert added.embedded <= len(SOUND.body) // 100  # the new article's passages only
    _same_index(settings, _full(corpus, tmp_path, index_settings, embedder, "b"), embedder)
    answer = open_engine(settings, embedder).search("Que détectent les capteurs sonores ?")
    assert answer.answered and answer.results[0].title == SOUND.title

    # Kept segments are hard links with their checksums carried over, not new copies.
    folder_a, manifest_a = open_version(settings.index_dir, first.version, verify=False)
    folder_b, manifest_b = open_version(settings.index_dir, added.version)
    linked = [n for n in manifest_b.files if n in manifest_a.files and n.startswith("segments/")]
    assert linked and all(manifest_a.files[n] == manifest_b.files[n] for n in linked)
    assert all((folder_a / n).stat().st_ino == (folder_b / n).stat().st_ino for n in linked)

    # C: one article changed, another removed.
    changed = SOUND.__class__(**{**SOUND.__dict__, "body": SOUND.body.replace("15 000", "20 000")})
    save_article(corpus, changed)
    files[3].unlink()
    third = build_index(settings, embedder, progress=False)
    assert third.incremental and third.removed_passages > 0
    assert third.articles == added.articles - 1
    _same_index(settings, _full(corpus, tmp_path, index_settings, embedder, "c"), embedder)
    assert "20 000" in open_engine(settings, embedder).search(
        "Combien coûtent les capteurs sonores municipaux ?").results[0].quote  # fmt: skip

    # Unchanged corpus: nothing published, nothing read but the files' bytes.
    again = build_index(settings, embedder, progress=False)
    assert not again.changed and again.version == third.version


def test_compaction_and_corrupt_previous_version(
    corpus: Path, tmp_path: Path, index_settings: IndexSettings, embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    settings = _settings(corpus, tmp_path / "index", index_settings)
    build_index(settings, embedder, progress=False)
    monkeypatch.setattr(compaction, "MAX_SEGMENTS", 1)  # the next build compacts
    save_article(corpus, SOUND)
    compacted = build_index(settings, embedder, progress=False)
    folder, _ = open_version(settings.index_dir)
    assert compacted.incremental and len(list((folder / "segments").iterdir())) == 1
    _same_index(settings, _full(corpus, tmp_path, index_settings, embedder, "d"), embedder)

    # A damaged segment of the current version: the next build starts over, and serves.
    monkeypatch.setattr(compaction, "MAX_SEGMENTS", 16)
    segment = next((folder / "segments").iterdir())
    with (segment / "terms.npy").open("r+b") as fh:
        fh.seek(-4, 2)
        fh.write(b"\xff\xff\xff\x7f")
    rebuilt = build_index(settings, embedder, progress=False)  # the corpus is unchanged
    assert rebuilt.changed and not rebuilt.incremental and "terms.npy" in rebuilt.repaired
    assert current_version(settings.index_dir) == rebuilt.version
    _same_index(settings, _full(corpus, tmp_path, index_settings, embedder, "e"), embedder)


def test_approximate_index_keeps_its_centroids_when_an_article_is_added(
    corpus: Path, tmp_path: Path, index_settings: IndexSettings, embedder
) -> None:
    """Past ANN_THRESHOLD the version carries IVF centroids: trained by the first build,
    carried over by an incremental one (no list changes), and the engine answers from it as
    it does from the exact scan."""
    from index.storage.layout import IVF_CENTROIDS

    ivf = _settings(corpus, tmp_path / "ivf", index_settings, ann_threshold=50)
    exact = _settings(corpus, tmp_path / "exact", index_settings)
    first = build_index(ivf, embedder, progress=False)
    build_index(exact, embedder, progress=False)
    folder_a, manifest_a = open_version(ivf.index_dir)
    assert manifest_a.approximate and (folder_a / IVF_CENTROIDS).exists()
    engine = Engine.open(ivf, embedder)
    assert engine.info().approximate
    tops = [[r.passage_id for r in engine.search(q).results[:1]] for q in QUESTIONS]
    assert tops == [
        [r.passage_id for r in a.results[:1]]
        for a in map(open_engine(exact, embedder).search, QUESTIONS)
    ]

    save_article(corpus, SOUND)
    added = build_index(ivf, embedder, progress=False)
    _, manifest_b = open_version(ivf.index_dir)
    assert added.incremental and added.version != first.version
    assert manifest_b.files[IVF_CENTROIDS] == manifest_a.files[IVF_CENTROIDS]
    assert engine.reload_if_changed()
    answer = engine.search("Que détectent les capteurs sonores ?")
    assert answer.answered and answer.results[0].title == SOUND.title


def test_row_store_reads_runs_across_segments() -> None:
    """Rows of several runs, each within one segment, in the order asked: merged slices for
    long runs, one gather for many short ones; the same rows either way."""
    import numpy as np

    from index.storage.segments import RowStore

    rng = np.random.default_rng(1)
    a, b = rng.random((50, 3)), rng.random((70, 3))
    store = RowStore([a, b], np.array([0, 50, 120]))
    both = np.concatenate([a, b])
    for _ in range(200):
        starts = rng.integers(0, 115, rng.integers(1, 40))
        counts = rng.integers(0, 6, len(starts))
        counts = np.where((starts < 50) & (starts + counts > 50), 50 - starts, counts)
        counts = np.minimum(counts, 120 - starts)
        expected = np.concatenate([both[s : s + c] for s, c in zip(starts, counts, strict=True)])
        assert np.array_equal(store.ranges(starts, counts), expected)
    assert np.array_equal(store.slice(60, 65), b[10:15])


def test_a_build_embeds_and_writes_batch_by_batch(
    corpus: Path, tmp_path: Path, index_settings: IndexSettings, embedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """An archive-size build never embeds (nor holds) all its new vectors at once: batches of
    about EMBED_BATCH_TEXTS texts are analysed, embedded and written in turn, and the index
    is that of a build in one batch, byte for byte (issue 17)."""
    whole = _full(corpus, tmp_path, index_settings, embedder, "whole")
    monkeypatch.setattr(segment_rows, "EMBED_BATCH_TEXTS", 40)
    calls: list[int] = []
    embed = embedder.embed_passages

    def counted(texts: list[str], progress: bool = False):
        calls.append(len(texts))
        return embed(texts, progress)

    monkeypatch.setattr(embedder, "embed_passages", counted)
    batched = _full(corpus, tmp_path, index_settings, embedder, "batched")
    assert len(calls) >= 6 and max(calls) < sum(calls) / 2, calls

    def files(settings: IndexSettings) -> dict[str, str]:
        _, manifest = open_version(settings.index_dir)
        return {  # a version's name is its segment's; the state records when it scanned
            name.replace(manifest.version, "V"): digest
            for name, digest in manifest.files.items()
            if name not in ("build_state.json", "segments.json")
        }

    assert files(batched) == files(whole)
