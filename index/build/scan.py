"""The incremental scan of ``content/articles``: a file a previous build indexed is taken from
its record, without being parsed again; new and changed files are parsed."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path

from index.build.state import ArticleRecord, corpus_hash
from index.corpus.article import content_hash, read_article
from index.corpus.folder import read_articles
from index.types import Article

# A file modified this close before a scan may change again within its timestamp's
# granularity without its size changing: its bytes are read again the next time.
RACY_NS = 2_000_000_000


@dataclass
class FreshArticle:
    """A new or changed article file, parsed."""

    article: Article
    raw: str  # sha256 of its bytes
    file: str
    stat: tuple[int, int, int]


@dataclass
class ContentScan:
    """content/articles as found: unchanged records (not parsed), new or changed articles."""

    kept: list[ArticleRecord]
    fresh: list[FreshArticle]
    errors: list[str]
    started_ns: int

    def corpus_hash(self) -> str:
        return corpus_hash(
            [(r.id, r.hash) for r in self.kept]
            + [(f.article.id, content_hash(f.article)) for f in self.fresh]
        )


def scan_content(
    content_dir: Path, known: dict[str, ArticleRecord], scanned_ns: int = 0
) -> ContentScan:
    """The corpus as load_corpus reads it (same order, same errors, first of duplicate ids
    wins), but a file a previous build indexed is taken from its record instead of parsed:
    when its size, modification time and inode are those recorded (and were not racy at that
    scan, as in git's index), without even reading it; otherwise when its bytes hash the same."""
    started = time.time_ns()

    def read(path: Path) -> tuple[str, ArticleRecord | FreshArticle]:
        st = path.stat()
        stat = (st.st_size, st.st_mtime_ns, st.st_ino)
        record = known.get(path.name)
        if record is not None and record.stat == stat and stat[1] < scanned_ns - RACY_NS:
            return record.id, record
        raw = hashlib.sha256(path.read_bytes()).hexdigest()
        if record is not None and record.raw == raw:
            return record.id, ArticleRecord(**{**record.__dict__, "stat": stat})
        article = read_article(path)
        return article.id, FreshArticle(article, raw, path.name, stat)

    items, errors = read_articles(content_dir, read)
    kept = [item for item in items if isinstance(item, ArticleRecord)]
    fresh = [item for item in items if isinstance(item, FreshArticle)]
    return ContentScan(kept, fresh, errors, started)
