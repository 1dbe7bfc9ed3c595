"""Cut an article into quotable passages on paragraph and sentence boundaries.

A passage is a contiguous slice of the article body, so its offsets always round-trip
(``body[start:end] == text``). The target size fits what small embedding models really read
(MiniLM truncates at 256 word pieces, about 800 French characters).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from index.language import sentence_spans
from index.types import Article, Passage

TARGET_CHARS = int(__import__("os").environ.get("CB_TARGET", "600"))
MAX_CHARS = 900
MIN_CHARS = int(__import__("os").environ.get("CB_MIN", "200"))

_HEADING = re.compile(r"^#{1,6}\s+(.*\S)\s*$")
_NOTE_DEF = re.compile(r"^\[\^(\d+)\]:\s")


@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    kind: str  # "heading", "para", "note"
    heading: str  # the section this block belongs to


def _blocks(body: str) -> list[_Block]:
    blocks: list[_Block] = []
    heading = ""
    for m in re.finditer(r"[^\n]+(?:\n(?!\s*\n)[^\n]+)*", body):
        text = m.group(0)
        if not text.strip():
            continue
        h = _HEADING.match(text)
        if h and "\n" not in text:
            heading = h.group(1)
            blocks.append(_Block(m.start(), m.end(), "heading", heading))
        elif _NOTE_DEF.match(text):
            blocks.append(_Block(m.start(), m.end(), "note", "Notes"))
        else:
            blocks.append(_Block(m.start(), m.end(), "para", heading))
    return blocks


def _split_long(body: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut an over-long paragraph into runs of whole sentences of about TARGET_CHARS."""
    spans = [(start + s, start + e) for s, e in sentence_spans(body[start:end])]
    if not spans:
        return [(start, end)]
    pieces: list[tuple[int, int]] = []
    cur_s, cur_e = spans[0]
    for s, e in spans[1:]:
        if e - cur_s > MAX_CHARS or (cur_e - cur_s >= TARGET_CHARS and e - cur_s > TARGET_CHARS):
            pieces.append((cur_s, cur_e))
            cur_s = s
        cur_e = e
    pieces.append((cur_s, cur_e))
    # A very long sentence stays whole: cutting it would make an unquotable fragment.
    return pieces


def passage_id(article_id: str, text: str) -> str:
    return hashlib.sha256(f"{article_id}\0{text}".encode()).hexdigest()[:20]


def chunk_article(article: Article) -> list[Passage]:
    """Group paragraphs into passages: a heading opens a new passage and stays in it, short
    paragraphs merge with their neighbours, long ones are cut between sentences."""
    body = article.body
    units: list[tuple[int, int, str, bool]] = []  # start, end, heading, starts_section
    pending_heading: tuple[int, str] | None = None
    for block in _blocks(body):
        if block.kind == "heading":
            pending_heading = (block.start, block.heading)
            continue
        pieces = _split_long(body, block.start, block.end)
        for i, (s, e) in enumerate(pieces):
            opens = False
            if i == 0 and pending_heading is not None:
                s = pending_heading[0]
                opens = True
                pending_heading = None
            units.append((s, e, block.heading, opens or block.kind == "note"))
    if pending_heading is not None:  # a heading with nothing after it
        s = pending_heading[0]
        units.append((s, len(body.rstrip()), pending_heading[1], True))

    groups: list[list[tuple[int, int, str, bool]]] = []
    for unit in units:
        if groups:
            last = groups[-1]
            size = last[-1][1] - last[0][0]
            new_size = unit[1] - last[0][0]
            same_section = unit[2] == last[-1][2] and not unit[3]
            if same_section and (size < MIN_CHARS or new_size <= TARGET_CHARS):
                last.append(unit)
                continue
        groups.append([unit])

    passages: list[Passage] = []
    for ordinal, group in enumerate(groups):
        start, end = group[0][0], group[-1][1]
        text = body[start:end]
        passages.append(
            Passage(
                id=passage_id(article.id, text),
                article_id=article.id,
                ordinal=ordinal,
                start=start,
                end=end,
                text=text,
                heading=group[0][2],
                note=_NOTE_DEF.match(text) is not None,
            )
        )
    return passages
