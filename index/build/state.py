"""The build state: what an incremental build needs of the previous version (each article's
record and where its rows are, the id tables the segments' rows refer to), and the previous
version itself when a build can reuse it."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from index.config import IndexSettings
from index.models.embed import Embedder
from index.retrieval.acronyms import AcronymEvidence
from index.storage.layout import BUILD_STATE
from index.storage.versions import IndexUnavailable, Manifest, current_version, open_version

log = logging.getLogger(__name__)

# Bump when chunking or text analysis changes: the same corpus then gives a different index.
PIPELINE_VERSION = "9"
STATE_FORMAT = 2


def corpus_hash(ids_hashes: list[tuple[str, str]]) -> str:
    """The corpus's hash from (id, content hash) pairs: unchanged files are not parsed again."""
    h = hashlib.sha256(PIPELINE_VERSION.encode())
    for aid, chash in sorted(ids_hashes):
        h.update(aid.encode())
        h.update(chash.encode())
    return h.hexdigest()


@dataclass
class ArticleRecord:
    """One indexed article: what articles.json shows, where its rows are, and what the next
    build needs to keep it without reading it again."""

    id: str
    file: str  # its file name in content/articles
    raw: str  # sha256 of the file's bytes
    stat: tuple[int, int, int]  # the file's (size, mtime ns, inode) when its bytes were read
    hash: str  # content_hash
    info: dict  # its articles.json entry
    segment: int  # index into the version's segments
    passages: tuple[int, int]  # (first row, count) of its passages in the segment
    sentences: tuple[int, int]
    terms: tuple[int, int]
    words: tuple[int, int]
    pids: list[str]
    jsonl: tuple[int, int]  # byte range of its passages in passages.jsonl
    acronyms: AcronymEvidence

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.info["date"], self.id)  # ISO dates sort as dates


_RECORD_FIELDS = [
    "id", "file", "raw", "stat", "hash", "info", "segment",
    "passages", "sentences", "terms", "words", "pids", "jsonl",
]  # fmt: skip


@dataclass
class BuildState:
    """The previous version's records and the id tables its segments' rows refer to."""

    segments: list[str]
    scanned_ns: int  # when the content folder was scanned (see index/build/scan.py)
    terms: list[str]  # BM25 term id → term
    words: list[str]  # vocabulary word id → folded word or written form
    pairs: list[tuple[int, int]]  # vocabulary pair id → (key word id, form word id)
    articles: list[ArticleRecord]  # in passage order

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": STATE_FORMAT,
                "pipeline": PIPELINE_VERSION,
                "segments": self.segments,
                "scanned_ns": self.scanned_ns,
                "terms": self.terms,
                "words": self.words,
                "pairs": self.pairs,
                # Columns, not one object per article: half the time to write and read.
                "articles": {
                    name: [getattr(a, name) for a in self.articles] for name in _RECORD_FIELDS
                },
                "acronyms": [a.acronyms.to_json() for a in self.articles],
            },
            ensure_ascii=False,
        )

    def write(self, folder: Path) -> None:
        (folder / BUILD_STATE).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def read(cls, folder: Path) -> BuildState:
        try:
            data = json.loads((folder / BUILD_STATE).read_text(encoding="utf-8"))
            if data.get("format") != STATE_FORMAT or data.get("pipeline") != PIPELINE_VERSION:
                raise IndexUnavailable(f"{folder / BUILD_STATE} is from another pipeline")
            return cls(
                segments=list(data["segments"]),
                scanned_ns=int(data["scanned_ns"]),
                terms=list(data["terms"]),
                words=list(data["words"]),
                pairs=[(int(k), int(f)) for k, f in data["pairs"]],
                articles=[
                    ArticleRecord(*row[:3], tuple(row[3]), *row[4:], AcronymEvidence.from_json(ev))
                    for *row, ev in zip(
                        *(data["articles"][n] for n in _RECORD_FIELDS),
                        data["acronyms"],
                        strict=True,
                    )
                ],
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexUnavailable(f"no usable {BUILD_STATE} in {folder}: {exc}") from exc


class IdTables:
    """Id tables of terms, words and vocabulary pairs; append-only while segments are shared
    (their rows hold these ids)."""

    def __init__(self, terms: list[str], words: list[str], pairs: list[tuple[int, int]]) -> None:
        self.terms = {t: i for i, t in enumerate(terms)}
        self.words = {w: i for i, w in enumerate(words)}
        self.pairs = {p: i for i, p in enumerate(pairs)}

    def term(self, t: str) -> int:
        return self.terms.setdefault(t, len(self.terms))

    def word(self, w: str) -> int:
        return self.words.setdefault(w, len(self.words))

    def pair(self, key: str, form: str) -> int:
        return self.pairs.setdefault((self.word(key), self.word(form)), len(self.pairs))


@dataclass
class PreviousVersion:
    """The published version a build starts from: its folder and manifest (None when there is
    none or it cannot be opened), and its state when an incremental build can reuse it."""

    folder: Path | None
    manifest: Manifest | None
    state: BuildState | None


def previous_version(settings: IndexSettings, embedder: Embedder, force: bool) -> PreviousVersion:
    """The published version a build can reuse, if any, with its state; why not in the log."""
    current = current_version(settings.index_dir)
    if not current:
        return PreviousVersion(None, None, None)
    try:
        folder, manifest = open_version(settings.index_dir, current, verify=False)
    except IndexUnavailable as exc:
        log.warning("previous index unusable, building anew: %s", exc)
        return PreviousVersion(None, None, None)
    if force or manifest.model_id != embedder.model_id:
        return PreviousVersion(folder, manifest, None)
    try:
        return PreviousVersion(folder, manifest, BuildState.read(folder))
    except IndexUnavailable as exc:
        log.warning("previous index not reusable, building anew: %s", exc)
        return PreviousVersion(folder, manifest, None)
