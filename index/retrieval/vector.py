"""FAISS vector search on normalised vectors: an exact inner-product scan for small corpora
(over float16 copies from ``HALF_PRECISION_FROM`` passages: half the memory read, scores
within ~1e-3), an inverted-file index (IVF) past ``ann_threshold`` passages.

The IVF index scans the ``1 / PROBE_SHARE`` of its lists whose centroids are nearest the
question (about a fifth of the vectors): recall@10 0.97 of exact search on the 100k bench,
4x faster than the scan. Only its centroids are stored (``IVF_CENTROIDS``, trained once and
carried over by later builds while the corpus keeps its order of size), so adding an article
never retrains or rewrites the index: the lists are filled from the vectors at load."""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path

import faiss
import numpy as np

from index.storage.layout import IVF_CENTROIDS, PASSAGE_ROWS, PASSAGE_VECTORS
from index.storage.segments import RowReader, RowStore

log = logging.getLogger(__name__)

HALF_PRECISION_FROM = 20_000
LIST_SIZE = 200  # passages per list on average: 500 lists at 100k
PROBE_SHARE = 5  # a search scans 1/5 of the lists
MIN_PROBES = 16
TRAIN_POINTS_PER_LIST = 64  # k-means sample: enough for stable centroids, fast at 1M
TRAIN_ITERATIONS = 15
TRAIN_SEED = 1234
LOAD_CHUNK = 4_096  # rows read and added to a float16 index at once when loading (6 MB)


def list_count(n: int) -> int:
    return int(np.clip(n // LIST_SIZE, 16, 16_384))


def train_centroids(vectors: np.ndarray) -> np.ndarray:
    """Spherical k-means centroids of the IVF lists (deterministic for given vectors)."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    lists = list_count(len(vectors))
    kmeans = faiss.Kmeans(
        vectors.shape[1],
        lists,
        niter=TRAIN_ITERATIONS,
        seed=TRAIN_SEED,
        spherical=True,
        max_points_per_centroid=TRAIN_POINTS_PER_LIST,
    )
    kmeans.train(vectors)
    return np.ascontiguousarray(kmeans.centroids, dtype=np.float32)


def centroids_fit(centroids: np.ndarray | None, n: int, dim: int) -> bool:
    """Whether earlier centroids still serve ``n`` passages: same dimension, and a list count
    within a factor of two of what ``n`` would get."""
    if centroids is None or centroids.ndim != 2 or centroids.shape[1] != dim:
        return False
    return list_count(n) / 2 <= len(centroids) <= 2 * list_count(n)


class DiskVectors:
    """The exact float32 passage vectors of a version, read from its segments when asked
    (``vectors[ids]``, like an array's rows): beside a float16 index they are not held a
    second time in memory (154 MB at 100k passages); a question reads its ~100 candidates."""

    def __init__(self, reader: RowReader, rows: np.ndarray) -> None:
        self.reader = reader
        self.rows = rows  # passage i's global row in the segments
        self.shape = (len(rows), *reader.row_shape)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, ids: int | list[int] | np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        out = self.reader.take(self.rows[ids.reshape(-1)])
        return out.reshape(*ids.shape, *self.reader.row_shape)


class VectorIndex:
    def __init__(self, index: faiss.Index, vectors: np.ndarray | DiskVectors) -> None:
        self.index = index
        self.vectors = vectors  # (n, dim) float32 in passage order; rescoring needs it

    @property
    def approximate(self) -> bool:
        return not isinstance(self.index, faiss.IndexFlat)

    @staticmethod
    def build(vectors: np.ndarray, centroids: np.ndarray | None = None) -> VectorIndex:
        """A scan, or an IVF index over ``centroids`` when given."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if centroids is not None:
            index = _ivf_index(centroids)
            index.add(vectors)
            return VectorIndex(index, vectors)
        index = _scan_index(*vectors.shape)
        index.add(vectors)
        if isinstance(index, faiss.IndexFlat):
            return VectorIndex(index, _stored_vectors(index, vectors.shape))
        return VectorIndex(index, vectors)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self.index.ntotal)
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def similarity(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact cosine for given passages (vectors are normalised)."""
        return self.vectors[ids] @ query

    @staticmethod
    def load(folder: Path) -> VectorIndex:
        """The passages' vectors in passage order, from the version's segments; the IVF
        lists, when the version has centroids, filled from them. A float16 index (IVF, or a
        scan past HALF_PRECISION_FROM) is filled chunk by chunk, and exact vectors are read
        from the segments when needed (``DiskVectors``): the float32 vectors are never all
        in memory at once."""
        reader = RowReader.open(folder, PASSAGE_VECTORS)
        rows = read_passage_rows(folder)
        dim = reader.row_shape[0] if reader.row_shape else 0
        centroids = None
        if (folder / IVF_CENTROIDS).exists():
            centroids = np.load(folder / IVF_CENTROIDS)
            if centroids.ndim != 2 or not len(centroids) or centroids.shape[1] != dim:
                raise ValueError(f"{IVF_CENTROIDS} has shape {centroids.shape}")
        if centroids is None and len(rows) < HALF_PRECISION_FROM:
            return VectorIndex.build(reader.take(rows))  # a float32 scan holds them anyway
        index = _ivf_index(centroids) if centroids is not None else _scan_index(len(rows), dim)
        _fill(index, DiskVectors(reader, rows))
        return VectorIndex(index, DiskVectors(reader, rows))


def _fill(index: faiss.Index, vectors: DiskVectors) -> None:
    """``index.add`` of every vector, chunk by chunk, into storage sized once: grown chunk by
    chunk, vectors' capacity doubles as they fill (+70 MB for 100k passages in IVF lists).
    The IVF lists' sizes come from a first pass that assigns each vector to its list."""
    chunks = [
        np.arange(i, min(i + LOAD_CHUNK, len(vectors))) for i in range(0, len(vectors), LOAD_CHUNK)
    ]
    if isinstance(index, faiss.IndexIVF):
        lists = faiss.downcast_InvertedLists(index.invlists)
        assign = [index.quantizer.assign(vectors[c], 1).ravel() for c in chunks]
        sizes = np.bincount(
            np.concatenate(assign or [np.zeros(0, np.int64)]), minlength=index.nlist
        )
        for i, size in enumerate(sizes.tolist()):
            lists.resize(i, size)  # from empty: exactly this capacity, kept when emptied
            lists.resize(i, 0)
        for c, a in zip(chunks, assign, strict=True):
            x = np.ascontiguousarray(vectors[c], dtype=np.float32)
            index.add_core(len(x), faiss.swig_ptr(x), None, faiss.swig_ptr(np.ascontiguousarray(a)))
        return
    index.codes.resize(len(vectors) * index.code_size)
    index.codes.resize(0)
    for c in chunks:
        index.add(np.ascontiguousarray(vectors[c], dtype=np.float32))


def read_passage_rows(folder: Path) -> np.ndarray:
    return np.load(folder / PASSAGE_ROWS)


def write_passage_rows(folder: Path, rows: np.ndarray) -> None:
    """Each passage's global row in the segments' PASSAGE_VECTORS, in passage order."""
    np.save(folder / PASSAGE_ROWS, rows.astype(np.int64))


def write_centroids(folder: Path, store: RowStore, prev_folder: Path | None) -> None:
    """The IVF centroids: the previous version's while they fit the corpus's size (adding an
    article changes no list), else trained on the passages' vectors."""
    rows = read_passage_rows(folder)
    dim = store.arrays[0].shape[1]
    centroids = None
    if prev_folder is not None and (prev_folder / IVF_CENTROIDS).exists():
        try:
            centroids = np.load(prev_folder / IVF_CENTROIDS)
        except (OSError, ValueError):
            centroids = None
    if not centroids_fit(centroids, len(rows), dim):
        log.info("training the vector index's %d lists", list_count(len(rows)))
        centroids = train_centroids(store.take(rows))  # the vectors read only to train
    np.save(folder / IVF_CENTROIDS, centroids)


def _ivf_index(centroids: np.ndarray) -> faiss.IndexIVF:
    """IVF lists of float16 vectors around fixed centroids (nothing left to train)."""
    lists, dim = centroids.shape
    quantizer = faiss.IndexFlatIP(dim)
    quantizer.add(np.ascontiguousarray(centroids, dtype=np.float32))
    index = faiss.IndexIVFScalarQuantizer(
        quantizer, dim, lists, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
    )
    index.is_trained = True  # float16 coding needs no training; the centroids are given
    index.nprobe = max(MIN_PROBES, -(-lists // PROBE_SHARE))
    return index


def _scan_index(n: int, dim: int) -> faiss.Index:
    """A full scan: float32 for small corpora, float16 copies from HALF_PRECISION_FROM."""
    if n >= HALF_PRECISION_FROM:
        return faiss.IndexScalarQuantizer(
            dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT
        )
    return faiss.IndexFlatIP(dim)


def _stored_vectors(index: faiss.IndexFlat, shape: tuple[int, ...]) -> np.ndarray:
    """A read-only array over the vectors the index stores (no second copy in memory: 150 MB
    at 100k passages), which keeps the index alive as long as it or a view of it lives."""
    size = int(np.prod(shape))
    if not size:
        return np.zeros(shape, dtype=np.float32)
    address = faiss.rev_swig_ptr(index.get_xb(), size).ctypes.data

    class _Buffer(ctypes.c_float * size):  # ctypes memory that can hold a reference
        pass

    buffer = _Buffer.from_address(address)
    buffer.owner = index  # type: ignore[attr-defined]
    view = np.frombuffer(buffer, dtype=np.float32).reshape(shape)
    view.flags.writeable = False
    return view
