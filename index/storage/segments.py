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

SPAN_READ = 1 << 18  # bytes: rows within this span are read at once (then picked)
HOLD_UP_TO = 1 << 22  # bytes: a RowReader's rows up to this size are held in memory


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


def run_rows(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The row numbers of runs (start, count), concatenated in order."""
    offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
    return offsets + np.arange(int(counts.sum()), dtype=np.int64)


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
            return self.take(run_rows(starts, counts))
        tails = np.append(heads[1:], len(starts)) - 1
        runs = zip(starts[heads], ends[tails], strict=True)
        parts = [self.slice(int(a), int(b)) for a, b in runs]
        return np.concatenate(parts) if len(parts) > 1 else np.array(parts[0])


class RowReader:
    """Rows of one kind across segments read with ``pread``, not through a memory map: a
    map's pages count in the process's resident memory once touched (the kernel maps up to 16
    pages around each one it faults in), what ``pread`` reads stays in the page cache, shared
    and given back under pressure. For arrays read a few rows at a time, question after
    question (exact passage vectors at 100k: 154 MB; sentence vectors: 373 MB); rows of a
    small version (``HOLD_UP_TO``) are simply held in memory."""

    def __init__(self, paths: list[Path]) -> None:
        self.files = [path.open("rb", buffering=0) for path in paths]  # closed when collected
        self.data_at: list[int] = []
        counts, self.dtype, self.row_shape = [], np.dtype(np.float32), ()
        for fh in self.files:
            fmt = np.lib.format
            if fmt.read_magic(fh) == (1, 0):
                shape, fortran, dtype = fmt.read_array_header_1_0(fh)
            else:
                shape, fortran, dtype = fmt.read_array_header_2_0(fh)
            if fortran or dtype.hasobject or not shape:
                raise ValueError(f"{fh.name}: not a C-ordered array of rows")
            self.data_at.append(fh.tell())
            counts.append(shape[0])
            self.dtype, self.row_shape = dtype, tuple(shape[1:])
        self.bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.row_bytes = int(self.dtype.itemsize * np.prod(self.row_shape, dtype=np.int64))
        self.held: np.ndarray | None = None
        if len(self) * self.row_bytes <= HOLD_UP_TO:
            sizes = np.diff(self.bounds).tolist()
            parts = [self._read(s, int(self.bounds[s]), n) for s, n in enumerate(sizes)]
            self.held = np.concatenate(parts) if parts else self._read(0, 0, 0)

    @staticmethod
    def open(folder: Path, file: str) -> RowReader:
        return RowReader([segment_dir(folder, n) / file for n in segment_names(folder)])

    def __len__(self) -> int:
        return int(self.bounds[-1])

    def take(self, rows: np.ndarray) -> np.ndarray:
        """Rows by global index, in the order given: rows close together (a span within
        ``SPAN_READ`` bytes or 4x the rows asked) in one read, else one read per run."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if not len(rows):
            return np.empty((0, *self.row_shape), dtype=self.dtype)
        if rows.min() < 0 or rows.max() >= len(self):
            raise IndexError("row out of range")
        if self.held is not None:
            return self.held[rows]
        want, back = rows, None
        if not np.all(rows[1:] > rows[:-1]):
            want, back = np.unique(rows, return_inverse=True)
        seg = np.searchsorted(self.bounds, want, side="right") - 1
        span = int(want[-1] - want[0] + 1)
        if seg[0] == seg[-1] and span <= max(SPAN_READ // self.row_bytes, 4 * len(want)):
            out = self._read(int(seg[0]), int(want[0]), span)[want - want[0]]
        else:  # runs of consecutive rows within one segment: one read each
            out = np.empty((len(want), *self.row_shape), dtype=self.dtype)
            view = memoryview(out.reshape(-1).view(np.uint8))
            cuts = np.flatnonzero((np.diff(want) != 1) | (np.diff(seg) != 0)) + 1
            heads = np.concatenate([[0], cuts])
            ends = np.concatenate([cuts, [len(want)]]) * self.row_bytes
            rs = seg[heads]
            at = np.asarray(self.data_at)[rs] + (want[heads] - self.bounds[rs]) * self.row_bytes
            fds = [f.fileno() for f in self.files]
            starts = (heads * self.row_bytes).tolist()
            runs = zip(at.tolist(), starts, ends.tolist(), rs.tolist(), strict=True)
            for offset, a, b, s in runs:  # the loop a question runs ~300 times at 100k
                if os.preadv(fds[s], [view[a:b]], offset) != b - a:
                    raise OSError(f"{self.files[s].name}: short read")
        return out if back is None else out[back]

    def _read(self, segment: int, first: int, count: int) -> np.ndarray:
        """``count`` rows of one segment from global row ``first``."""
        out = np.empty((count, *self.row_shape), dtype=self.dtype)
        if count:
            self._read_into(segment, first, memoryview(out.reshape(-1).view(np.uint8)))
        return out

    def _read_into(self, segment: int, first: int, buffer: memoryview) -> None:
        at = self.data_at[segment] + (first - int(self.bounds[segment])) * self.row_bytes
        if os.preadv(self.files[segment].fileno(), [buffer], at) != len(buffer):
            raise OSError(f"{self.files[segment].name}: short read")

    def ranges(self, starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
        """The rows of several runs (global start, count), concatenated in order."""
        return self.take(run_rows(np.asarray(starts, np.int64), np.asarray(counts, np.int64)))

    def slice(self, start: int, end: int) -> np.ndarray:
        return self.take(np.arange(start, max(start, end), dtype=np.int64))


def link_or_copy(src: Path, dst: Path) -> None:
    """A hard link (instant, no space) where the filesystem allows, else a copy."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
