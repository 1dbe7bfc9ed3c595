"""Row storage shared between index versions: the large per-passage arrays (passage and
sentence vectors, BM25 counts, vocabulary counts) live in immutable segments, one per build
that added articles. A new version hard-links the segments it keeps and writes one for its new
articles, so adding an article to 100k passages writes a few kilobytes, not 600 MB; the
version's small canonical files (``passage_rows.npy``, ``sentence_ranges.npy``) say where each
passage's rows are. Rows of removed articles stay in their segment until a compaction."""

from __future__ import annotations

import io
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from index.storage.layout import (
    PASSAGE_META,
    PASSAGE_VECTORS,
    SEGMENTS_DIR,
    SEGMENTS_FILE,
    SENTENCE_SPANS,
    SENTENCE_VECTORS,
    TERM_COUNTS,
    WORD_COUNTS,
)

# Segment files: name → (dtype, columns; 0 = the model's dimension). passage_meta: per
# passage (sentences, term pairs, BM25 length); terms: per passage (term id, count); words: per
# article text (vocabulary pair id, count, first position, first form of its key, title).
SEGMENT_ROWS = {
    PASSAGE_VECTORS: (np.float32, 0),
    SENTENCE_VECTORS: (np.float16, 0),
    SENTENCE_SPANS: (np.int32, 2),
    PASSAGE_META: (np.int32, 3),
    TERM_COUNTS: (np.int32, 2),
    WORD_COUNTS: (np.int32, 5),
}


def segment_names(folder: Path) -> list[str]:
    """The version's segments, in storage order."""
    return list(json.loads((folder / SEGMENTS_FILE).read_text(encoding="utf-8"))["segments"])


def write_segment_names(folder: Path, names: list[str]) -> None:
    (folder / SEGMENTS_FILE).write_text(json.dumps({"segments": names}), encoding="utf-8")


def segment_dir(folder: Path, name: str) -> Path:
    return folder / SEGMENTS_DIR / name


class SegmentWriter:
    """One segment written as its articles come, so that a build of thousands of articles
    never holds all their vectors: the vector files are written article by article (plain
    writes: a memory map would keep every written page in the process's resident memory),
    their np.save header rewritten with the row count at the end; the small integer rows are
    gathered and written at the end. The bytes are np.save's either way."""

    def __init__(self, folder: Path, streamed: list[str], dim: int) -> None:
        folder.mkdir(parents=True)
        self.folder = folder
        self.dim = dim
        self.next = dict.fromkeys(SEGMENT_ROWS, 0)
        self.files: dict[str, BinaryIO] = {}
        for name in streamed:
            self.files[name] = (folder / name).open("wb")
            self.files[name].write(self._header(name, 0))
        self.parts: dict[str, list[np.ndarray]] = {
            name: [] for name in SEGMENT_ROWS if name not in self.files
        }

    def _header(self, name: str, rows: int) -> bytes:
        dtype, width = SEGMENT_ROWS[name]
        header = {
            "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
            "fortran_order": False,
            "shape": (rows, width or self.dim),
        }
        buffer = io.BytesIO()
        np.lib.format.write_array_header_1_0(buffer, header)
        return buffer.getvalue()

    def add(self, rows: dict[str, np.ndarray]) -> dict[str, tuple[int, int]]:
        """One article's rows, file by file; returns its (first row, count) per file."""
        where = {}
        for name, (dtype, width) in SEGMENT_ROWS.items():
            array = np.asarray(rows[name]).reshape(-1, width or self.dim)
            start = self.next[name]
            where[name] = (start, len(array))
            self.next[name] = start + len(array)
            if name in self.files:
                self.files[name].write(np.ascontiguousarray(array, dtype=dtype).tobytes())
            else:
                self.parts[name].append(array)
        return where

    def close(self) -> None:
        for name, fh in self.files.items():
            header = self._header(name, self.next[name])
            if len(header) != len(self._header(name, 0)):  # padded to 64 bytes: 10^50 rows
                raise ValueError(f"{name}: {self.next[name]} rows do not fit the header")
            fh.seek(0)
            fh.write(header)
            fh.close()
        for name, parts in self.parts.items():
            dtype, width = SEGMENT_ROWS[name]
            rows = np.concatenate(parts) if parts else np.zeros((0, width or self.dim))
            np.save(self.folder / name, rows.astype(dtype))


def write_rows(folder: Path, file: str, rows: np.ndarray) -> None:
    """One row file of a segment written whole (a compaction's)."""
    np.save(folder / file, rows)


@dataclass
class RowStore:
    """Rows of one kind (``passages.npy``, ``sentences.npy``, ...) across segments, read
    through memory maps: global row r is row r - bounds[s] of segment s."""

    arrays: list[np.ndarray]
    bounds: np.ndarray  # (n_segments + 1,) first global row of each segment, then the total

    @staticmethod
    def open(folder: Path, file: str, names: list[str] | None = None) -> RowStore:
        names = segment_names(folder) if names is None else names
        # Plain arrays over the maps: slicing an np.memmap runs Python code per slice
        # (__array_finalize__); a cached-vector search went 2.9 -> 1.9 ms without it.
        arrays = [
            np.load(segment_dir(folder, n) / file, mmap_mode="r").view(np.ndarray) for n in names
        ]
        bounds = np.concatenate([[0], np.cumsum([len(a) for a in arrays])]).astype(np.int64)
        return RowStore(arrays, bounds)

    def __len__(self) -> int:
        return int(self.bounds[-1])

    def take(self, rows: np.ndarray) -> np.ndarray:
        """Rows by global index, in the order given (a copy)."""
        rows = np.asarray(rows, dtype=np.int64)
        if len(self.arrays) == 1:
            return np.asarray(self.arrays[0][rows])
        first = self.arrays[0] if self.arrays else np.zeros((0,), dtype=np.float32)
        out = np.empty((len(rows), *first.shape[1:]), dtype=first.dtype)
        seg = np.searchsorted(self.bounds, rows, side="right") - 1
        for s in np.unique(seg):
            mask = seg == s
            out[mask] = self.arrays[s][rows[mask] - self.bounds[s]]
        return out

    def slice(self, start: int, end: int) -> np.ndarray:
        """Rows start:end, which never straddle two segments (an article's rows are in one)."""
        if end <= start:
            return self.take(np.zeros(0, dtype=np.int64))
        s = int(np.searchsorted(self.bounds, start, side="right") - 1)
        base = int(self.bounds[s])
        return self.arrays[s][start - base : end - base]

    def ranges(self, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """The rows of several runs (global start, count), concatenated in order; runs never
        straddle two segments. Consecutive runs are read as one slice: with passages stored
        in passage order, 10k articles' rows are a few slices, not 10k."""
        starts = np.asarray(starts, dtype=np.int64)
        counts = np.asarray(counts, dtype=np.int64)
        keep = counts > 0
        starts, counts = starts[keep], counts[keep]
        if not len(counts):
            return self.take(np.zeros(0, dtype=np.int64))
        ends = starts + counts
        seg = np.searchsorted(self.bounds, starts, side="right") - 1
        # A run continues the previous one when it starts where that one ended, same segment.
        cont = np.zeros(len(starts), dtype=bool)
        cont[1:] = (starts[1:] == ends[:-1]) & (seg[1:] == seg[:-1])
        heads = np.nonzero(~cont)[0]
        if len(heads) > 16:  # many short runs (a search's candidates): one gather is faster
            offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
            return self.take(offsets + np.arange(int(counts.sum()), dtype=np.int64))
        tails = np.append(heads[1:], len(starts)) - 1
        runs = zip(starts[heads], ends[tails], strict=True)
        parts = [self.slice(int(a), int(b)) for a, b in runs]
        return np.concatenate(parts) if len(parts) > 1 else np.array(parts[0])


def link_or_copy(src: Path, dst: Path) -> None:
    """A hard link (instant, no space) where the filesystem allows, else a copy."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
