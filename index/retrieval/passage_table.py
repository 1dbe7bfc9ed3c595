"""A version's passages held as columns, not as one Python object each: at 100k passages the
objects (a dataclass, seven fields, their strings) took ~208 MB for 58 MB of JSON lines; as
columns (one UTF-8 buffer for the texts, one for the headings, numpy arrays for the rest)
they take about what their text weighs. The engine reads a few hundred passages per question:
each is made on demand as a ``Passage``, the same value the objects held."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from index.types import Passage


class TextColumn:
    """Strings in one UTF-8 buffer: string i is ``buffer[offsets[i]:offsets[i + 1]]``."""

    def __init__(self, buffer: bytes, offsets: np.ndarray) -> None:
        self.buffer = buffer
        self.offsets = offsets

    @staticmethod
    def of(values: list[bytes]) -> TextColumn:
        offsets = np.zeros(len(values) + 1, dtype=np.int64)
        np.cumsum([len(v) for v in values], out=offsets[1:])
        return TextColumn(b"".join(values), offsets)

    def __getitem__(self, i: int) -> str:
        return self.buffer[self.offsets[i] : self.offsets[i + 1]].decode("utf-8")


class PassageIds:
    """Passage id → position, by binary search over the sorted ids (a dict of 100k strings
    would hold ~12 MB of objects)."""

    def __init__(self, ids: list[str]) -> None:
        width = max((len(i.encode()) for i in ids), default=1)
        self.ids = np.array([i.encode() for i in ids], dtype=f"S{width}")
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
        ids: list[str] = []
        texts: list[bytes] = []
        headings: list[bytes] = []
        article_ids: list[str] = []
        article_of: dict[str, int] = {}
        article: list[int] = []
        numbers: list[tuple[int, int, int]] = []
        notes: list[bool] = []
        for r in rows:
            p = Passage(**r)  # the same checks (fields, names) as when passages were objects
            ids.append(p.id)
            texts.append(p.text.encode("utf-8"))
            headings.append(p.heading.encode("utf-8"))
            if p.article_id not in article_of:
                article_of[p.article_id] = len(article_ids)
                article_ids.append(p.article_id)
            article.append(article_of[p.article_id])
            numbers.append((p.ordinal, p.start, p.end))
            notes.append(p.note)
        self.ids = PassageIds(ids)
        self.texts = TextColumn.of(texts)
        self.headings = TextColumn.of(headings)
        self.article_ids = article_ids
        self.article = np.array(article, dtype=np.int32)
        self.numbers = np.array(numbers, dtype=np.int64).reshape(-1, 3)
        self.notes = np.array(notes, dtype=bool)

    @staticmethod
    def load(path: Path) -> PassageTable:
        """From a version's ``passages.jsonl`` (one JSON object a line), read line by line."""
        with path.open(encoding="utf-8") as fh:
            return PassageTable(json.loads(line) for line in fh)

    def __len__(self) -> int:
        return len(self.article)

    def __getitem__(self, i: int) -> Passage:
        i = int(i)
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        ordinal, start, end = (int(v) for v in self.numbers[i])
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
