"""FAISS vector search on normalised vectors: exact inner product for small corpora, the same
scan over float16 copies past ``HALF_PRECISION_FROM`` passages (half the memory read, ~1.7×
faster at 100k, scores within ~1e-3), HNSW past a size threshold."""

from __future__ import annotations

import ctypes
from pathlib import Path

import faiss
import numpy as np

from index.segments import RowStore

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
HALF_PRECISION_FROM = 20_000
PASSAGE_VECTORS = "passages.npy"  # float32, one row per passage, in the segments


class VectorIndex:
    def __init__(self, index: faiss.Index, vectors: np.ndarray) -> None:
        self.index = index
        self.vectors = vectors  # (n, dim) float32 in passage order; rescoring needs it

    @property
    def approximate(self) -> bool:
        return not isinstance(self.index, faiss.IndexFlat)

    @staticmethod
    def build(vectors: np.ndarray, ann_threshold: int) -> VectorIndex:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        if ann_threshold and len(vectors) > ann_threshold:
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        else:
            index = _scan_index(len(vectors), dim)
        index.add(vectors)
        return VectorIndex(index, vectors)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = min(k, self.index.ntotal)
        if k <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        if isinstance(self.index, faiss.IndexHNSWFlat):
            self.index.hnsw.efSearch = max(HNSW_EF_SEARCH, k)
        scores, ids = self.index.search(query.reshape(1, -1).astype(np.float32), k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def similarity(self, query: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Exact cosine for given passages (vectors are normalised)."""
        return self.vectors[ids] @ query

    def save(self, folder: Path) -> None:
        """Only HNSW needs a file of its own: a scan index is rebuilt from the vectors at load
        (a copy, as fast as reading it), which live in the segments."""
        if isinstance(self.index, faiss.IndexHNSWFlat):
            faiss.write_index(self.index, str(folder / "vectors.faiss"))

    @staticmethod
    def load(folder: Path) -> VectorIndex:
        """The passages' vectors in passage order, from the version's segments."""
        store = RowStore.open(folder, PASSAGE_VECTORS)
        vectors = np.ascontiguousarray(
            store.take(np.load(folder / "passage_rows.npy")), dtype=np.float32
        )
        if (folder / "vectors.faiss").exists():
            return VectorIndex(faiss.read_index(str(folder / "vectors.faiss")), vectors)
        index = _scan_index(*vectors.shape)
        index.add(vectors)
        if isinstance(index, faiss.IndexFlat):
            return VectorIndex(index, _stored_vectors(index, vectors.shape))
        return VectorIndex(index, vectors)


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
