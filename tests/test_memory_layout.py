"""What a loaded version holds in memory: passages as columns (not one object each), exact
vectors beside a float16 index read from the segments (not a second copy); the same values."""

from __future__ import annotations

import json
import tracemalloc
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from index.retrieval.passage_table import PassageTable
from index.retrieval.vector import (
    HALF_PRECISION_FROM,
    IVF_CENTROIDS,
    PASSAGE_VECTORS,
    VectorIndex,
    train_centroids,
)
from index.storage.segments import RowReader, RowStore, segment_dir, write_segment_names
from index.types import Passage


def _passages(n: int) -> list[Passage]:
    rng = np.random.default_rng(0)
    words = ["vidéosurveillance", "algorithmique", "Technopolice", "capteurs", "police", "ville"]
    out = []
    for i in range(n):
        text = " ".join(rng.choice(words, 50)) + (" « ça » 🙂" if i % 7 == 0 else "")
        out.append(
            Passage(
                id=f"{i:020x}",
                article_id=f"article-{i // 10}",
                ordinal=i % 10,
                start=i * 3,
                end=i * 3 + len(text),
                text=text,
                heading="## Où" if i % 3 else "",
                note=i % 11 == 0,
            )
        )
    return out


def _held(make):
    """(what ``make()`` returns, bytes it keeps allocated: tracemalloc sees numpy's buffers)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        value = make()
        return value, tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_passage_table_gives_the_same_passages_for_about_their_text_s_weight(tmp_path: Path):
    passages = _passages(5_000)
    path = tmp_path / "passages.jsonl"
    path.write_text(
        "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in passages), "utf-8"
    )
    table, held = _held(lambda: PassageTable.load(path))
    assert len(table) == len(passages) and list(table) == passages
    assert table[-1] == passages[-1] and table[np.int64(7)] == passages[7]
    text_bytes = sum(len(p.text.encode()) for p in passages)
    assert held < 1.5 * text_bytes  # 1.2x; one Passage object each: 2.2x
    assert table.ids["00000000000000000abc"] == 0xABC
    assert "0" * 20 in table.ids and "nope" not in table.ids and 123 not in table.ids
    with pytest.raises(KeyError):
        table.ids["f" * 20]
    with pytest.raises(IndexError):
        table[len(passages)]
    groups = table.by_article()
    assert groups["article-3"].tolist() == list(range(30, 40))
    assert table.text(12) == passages[12].text and table.article_id(12) == "article-1"


def _version(folder: Path, vectors: np.ndarray, centroids: np.ndarray | None) -> np.ndarray:
    """A version folder whose passage vectors lie in two segments, passages in another order
    than the rows; returns the vectors in passage order."""
    half = len(vectors) // 2
    write_segment_names(folder, ["a", "b"])
    for name, part in (("a", vectors[:half]), ("b", vectors[half:])):
        segment_dir(folder, name).mkdir(parents=True)
        np.save(segment_dir(folder, name) / PASSAGE_VECTORS, part)
    rows = np.random.default_rng(3).permutation(len(vectors))
    np.save(folder / "passage_rows.npy", rows)
    if centroids is not None:
        np.save(folder / IVF_CENTROIDS, centroids)
    return vectors[rows]


@pytest.mark.parametrize("ivf", [False, True])
def test_float16_index_reads_exact_vectors_from_the_segments(tmp_path: Path, ivf: bool):
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((HALF_PRECISION_FROM, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ordered = _version(tmp_path, vectors, train_centroids(vectors) if ivf else None)
    loaded, held = _held(lambda: VectorIndex.load(tmp_path))
    assert loaded.approximate
    assert held < ordered.nbytes * 0.75  # the float16 codes; a float32 copy would add 1x
    built = VectorIndex.build(ordered, np.load(tmp_path / IVF_CENTROIDS) if ivf else None)
    q = ordered[5]
    assert [a.tolist() for a in loaded.search(q, 20)] == [a.tolist() for a in built.search(q, 20)]
    ids = np.array([19_999, 3, 3, 17, 10_000])
    assert np.array_equal(loaded.similarity(q, ids), ordered[ids] @ q)
    assert np.array_equal(loaded.vectors[7], ordered[7]) and loaded.vectors.shape == (20_000, 64)
    assert np.array_equal(loaded.vectors[[4, 2]], ordered[[4, 2]])


@pytest.mark.parametrize("held", [True, False])
def test_row_reader_reads_what_the_memory_map_holds(tmp_path: Path, monkeypatch, held: bool):
    """Small arrays are held in memory, larger ones read with pread: the same rows."""
    from index.storage import segments

    monkeypatch.setattr(segments, "HOLD_UP_TO", 1 << 20 if held else 0)
    rng = np.random.default_rng(2)
    a, b = rng.random((50, 3)).astype(np.float32), rng.random((70, 3)).astype(np.float32)
    write_segment_names(tmp_path, ["a", "b"])
    for name, part in (("a", a), ("b", b)):
        segment_dir(tmp_path, name).mkdir(parents=True)
        np.save(segment_dir(tmp_path, name) / "v.npy", part)
    reader, store = RowReader.open(tmp_path, "v.npy"), RowStore.open(tmp_path, "v.npy")
    assert (reader.held is not None) == held
    for _ in range(300):
        rows = rng.integers(0, 120, rng.integers(0, 40))
        rows = np.unique(rows) if rng.random() < 0.3 else rows  # in order: no np.unique
        assert np.array_equal(reader.take(rows), store.take(rows))
    assert np.array_equal(reader.take(np.arange(120)), np.concatenate([a, b]))
    with pytest.raises(IndexError):
        reader.take([120])


def test_a_loaded_engine_maps_no_vector_file(engine) -> None:
    """Vectors are read with pread, not through memory maps: a map's touched pages count in
    the process's resident memory (at 100k passages the whole 373 MB of sentence vectors were
    after loading), pread's stay in the shared page cache."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        pytest.skip("no /proc/self/maps (not Linux): nothing to check")
    engine.search("reconnaissance faciale")
    index_dir = str(engine.settings.index_dir)
    mapped = [line for line in maps.read_text().splitlines() if index_dir in line]
    assert not [m for m in mapped if m.endswith(("/sentences.npy", "/passages.npy"))], mapped
