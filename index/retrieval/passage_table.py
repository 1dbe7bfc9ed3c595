"""A version's passages held as columns, not as one Python object each: at 100k passages the
objects (a dataclass, seven fields, their strings) took ~208 MB for 58 MB of JSON lines; as
columns (one UTF-8 buffer for the texts, one for the headings, numpy arrays for the rest)
they take about what their text weighs. The engine reads a few hundred passages per question:
each is made on demand as a ``Passage``, the same value the objects held."""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterator
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.types import Passage

PASSAGES_KEPT = 4096  # passages kept made (a question's candidates: ~100-300); ~4 MB


class TextColumn:
    """Strings in one UTF-8 buffer: string i is ``buffer[offsets[i]:offsets[i + 1]]``. Filled
    by ``append`` (no list of per-string objects, even while loading: the allocator would keep
    their memory after they are freed)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.ends = array("q", [0])

    def append(self, value: str) -> None:
        self.buffer += value.encode("utf-8")
        self.ends.append(len(self.buffer))

    @property
    def offsets(self) -> np.ndarray:
        return np.frombuffer(self.ends, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.ends) - 1

    def __getitem__(self, i: int) -> str:
        return self.buffer[self.ends[i] : self.ends[i + 1]].decode("utf-8")


class PassageIds:
    """Passage id → position, by binary search over the sorted ids (a dict of 100k strings
    would hold ~12 MB of objects)."""

    def __init__(self, ids: TextColumn) -> None:
        widths = np.diff(ids.offsets)
        width = max(1, int(widths.max(initial=1)))
        if np.all(widths == width):  # content hashes: one width, read as they lie
            self.ids = np.frombuffer(bytes(ids.buffer), dtype=f"S{width}")
        else:
            self.ids = np.array([ids[i].encode() for i in range(len(ids))], dtype=f"S{width}")
        self.order = np.argsort(self.ids, kind="stable")

    def get(self, passage_id: str) -> int | None:
        key = passage_id.encode()
        if len(key) > self.ids.dtype.itemsize:
            return None
        at = int(np.searchsorted(self.ids, key, sorter=self.order))
        if at < len(self.order) and self.ids[self.order[at]] == key:
            return int(self.order[at])
        return None

    def __getitem__(self, passage_id: str) -> int:
        pos = self.get(passage_id)
        if pos is None:
            raise KeyError(passage_id)
        return pos

    def __contains__(self, passage_id: object) -> bool:
        return isinstance(passage_id, str) and self.get(passage_id) is not None


class PassageTable:
    """The passages of one version in passage order; ``table[i]`` is passage i."""

    def __init__(self, rows: Iterator[dict]) -> None:
        ids, self.texts, self.headings = TextColumn(), TextColumn(), TextColumn()
        self.article_ids: list[str] = []
        article_of: dict[str, int] = {}
        article, numbers, notes = array("i"), array("q"), array("b")
        for r in rows:
            p = Passage(**r)  # the same checks (fields, names) as when passages were objects
            ids.append(p.id)
            self.texts.append(p.text)
            self.headings.append(p.heading)
            if p.article_id not in article_of:
                article_of[p.article_id] = len(self.article_ids)
                self.article_ids.append(p.article_id)
            article.append(article_of[p.article_id])
            numbers.extend((p.ordinal, p.start, p.end))
            notes.append(p.note)
        self.ids = PassageIds(ids)
        self.article = np.frombuffer(article, dtype=np.int32)
        self.numbers = np.frombuffer(numbers, dtype=np.int64).reshape(-1, 3)
        self.notes = np.frombuffer(notes, dtype=np.int8).astype(bool)
        self._passage = lru_cache(maxsize=PASSAGES_KEPT)(self._make)

    @staticmethod
    def load(path: Path) -> PassageTable:
        """From a version's ``passages.jsonl`` (one JSON object a line), read line by line."""
        with path.open(encoding="utf-8") as fh:
            return PassageTable(json.loads(line) for line in fh)

    def __len__(self) -> int:
        return len(self.article)

    def __getitem__(self, i: int) -> Passage:
        return self._passage(int(i))

    def _make(self, i: int) -> Passage:
        """Passage i, made from the columns; kept in ``_passage``'s cache: the ranking reads
        the same candidates' texts and articles hundreds of times per question."""
        n = len(self)
        if not -n <= i < n:
            raise IndexError(i)
        i %= n
        ordinal, start, end = self.numbers[i].tolist()
        return Passage(
            id=self.ids.ids[i].decode(),
            article_id=self.article_ids[self.article[i]],
            ordinal=ordinal,
            start=start,
            end=end,
            text=self.texts[i],
            heading=self.headings[i],
            note=bool(self.notes[i]),
        )

    def __iter__(self) -> Iterator[Passage]:
        return (self[i] for i in range(len(self)))

    def text(self, i: int) -> str:
        return self.texts[int(i)]

    def article_id(self, i: int) -> str:
        return self.article_ids[self.article[int(i)]]

    def by_article(self) -> dict[str, np.ndarray]:
        """Each article's passage positions, in passage order."""
        order = np.argsort(self.article, kind="stable")
        cuts = np.flatnonzero(np.diff(self.article[order])) + 1
        groups = np.split(order, cuts) if len(order) else []
        return {self.article_ids[self.article[g[0]]]: g for g in groups}


def passage_lines(passages: list[Passage]) -> bytes:
    """Passages as the lines of PASSAGES (a version's file holds every article's, in order)."""
    return "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in passages).encode(
        "utf-8"
    )
