"""Compaction: rows of removed or changed articles stay in their segment until there are too
many segments or too many dead rows; then every live row is rewritten into one segment."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np

from index.build.segment_rows import ROW_FIELD
from index.build.state import ArticleRecord
from index.storage.layout import PASSAGE_VECTORS, SENTENCE_VECTORS
from index.storage.segments import SEGMENT_ROWS, RowStore, segment_dir, write_rows

log = logging.getLogger(__name__)

# Compaction: rewrite every live row into one segment past these (rows of removed or changed
# articles stay in their segment until then).
MAX_SEGMENTS = 16
MAX_DEAD_SHARE = 0.5


def compact_if_due(
    work: Path,
    name: str,
    names: list[str],
    records: list[ArticleRecord],
    stores: dict[str, RowStore],
    known_sums: dict[str, str],
) -> tuple[list[str], list[ArticleRecord], dict[str, RowStore], dict[str, str]]:
    """The version's segments, records, row stores and known checksums, compacted into the
    segment ``name`` when past MAX_SEGMENTS or MAX_DEAD_SHARE, else as given."""
    dead = _dead_share(records, stores)
    if len(names) > MAX_SEGMENTS or dead > MAX_DEAD_SHARE:
        log.info("compacting %d segments (%.0f%% dead rows)", len(names), 100 * dead)
        return _compact(work, name, names, records, stores)
    return names, records, stores, known_sums


def _dead_share(records: list[ArticleRecord], stores: dict[str, RowStore]) -> float:
    if not stores:
        return 0.0
    total = len(stores[SENTENCE_VECTORS]) + len(stores[PASSAGE_VECTORS])
    live = sum(r.sentences[1] + r.passages[1] for r in records)
    return 1 - live / total if total else 0.0


def _compact(
    work: Path,
    name: str,
    names: list[str],
    records: list[ArticleRecord],
    stores: dict[str, RowStore],
) -> tuple[list[str], list[ArticleRecord], dict[str, RowStore], dict[str, str]]:
    """One segment with every live row, in passage order; the old ones are unlinked."""
    folder = segment_dir(work, name)
    folder.mkdir(parents=True)
    out: list[ArticleRecord] = [ArticleRecord(**r.__dict__) for r in records]
    for file in SEGMENT_ROWS:
        field_name = ROW_FIELD[file]
        starts = np.array(
            [stores[file].bounds[r.segment] + getattr(r, field_name)[0] for r in records]
        )
        counts = np.array([getattr(r, field_name)[1] for r in records])
        write_rows(folder, file, stores[file].ranges(starts, counts))
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        for r, o, c in zip(out, offsets, counts, strict=True):
            setattr(r, field_name, (int(o), int(c)))
    for r in out:
        r.segment = 0
    for old in names:
        shutil.rmtree(segment_dir(work, old))
    return [name], out, {f: RowStore.open(work, f, [name]) for f in SEGMENT_ROWS}, {}
