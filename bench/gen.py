"""Deterministic French-like text from the seed corpus' vocabulary (Zipf-like frequencies)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np

from index import Article, load_corpus

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


class TextGenerator:
    """Words of the seed corpus ranked by frequency, drawn with p(rank) ∝ 1 / rank^1.05."""

    def __init__(self, content_dir: Path, seed: int = 20240726) -> None:
        counts: dict[str, int] = {}
        for a in load_corpus(content_dir).articles:
            for w in _WORD.findall(a.title + " " + a.body):
                counts[w.lower()] = counts.get(w.lower(), 0) + 1
        self.words = sorted(counts, key=lambda w: (-counts[w], w))
        ranks = np.arange(1, len(self.words) + 1, dtype=np.float64)
        p = 1.0 / ranks**1.05
        self.p = p / p.sum()
        self.rng = np.random.default_rng(seed)

    def sentence(self) -> str:
        n = int(self.rng.integers(8, 26))
        ws = [self.words[i] for i in self.rng.choice(len(self.words), size=n, p=self.p)]
        return " ".join(ws).capitalize() + "."

    def paragraph(self, chars: int = 400) -> str:
        out: list[str] = []
        size = 0
        target = int(self.rng.integers(chars - 50, chars + 50))
        while size < target:
            s = self.sentence()
            out.append(s)
            size += len(s) + 1
        return " ".join(out)

    def article(self, number: int, paragraphs: int = 10) -> Article:
        title = " ".join(self.sentence().rstrip(".").split()[:8]).capitalize()
        date = dt.date(2015, 1, 1) + dt.timedelta(days=number % 3650)
        body = "\n\n".join(self.paragraph() for _ in range(paragraphs))
        url = f"https://bench.example.org/{date:%Y/%m/%d}/article-{number}/"
        return Article(
            id=f"bench-{number:06d}",
            title=title,
            date=date,
            url=url,
            source="bench",
            lang="fr",
            body=body,
        )
