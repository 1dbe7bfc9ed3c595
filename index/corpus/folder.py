"""The corpus folder: load every article, save one idempotently."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from index.corpus.article import (
    ARTICLES_SUBDIR,
    ArticleError,
    article_id,
    atomic_write_text,
    content_hash,
    read_article,
    to_markdown,
)
from index.types import Article

log = logging.getLogger(__name__)


REFRESHED_FILE = ".refreshed"  # when the feeds were last read successfully


def mark_refreshed(content_dir: Path, when: dt.datetime | None = None) -> None:
    """Record a successful fetch (ISO timestamp, written atomically); /apropos shows it."""
    when = when or dt.datetime.now(dt.UTC)
    atomic_write_text(Path(content_dir) / REFRESHED_FILE, when.isoformat(timespec="seconds") + "\n")


def refreshed_at(content_dir: Path) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat((Path(content_dir) / REFRESHED_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


@dataclass
class Corpus:
    articles: list[Article]
    errors: list[str] = field(default_factory=list)  # one line per file that could not be read


def articles_dir(content_dir: Path) -> Path:
    return Path(content_dir) / ARTICLES_SUBDIR


def load_corpus(content_dir: Path) -> Corpus:
    """Read every ``*.md`` article; a broken file is reported and skipped, the others load."""

    def read(path: Path) -> tuple[str, Article]:
        article = read_article(path)
        return article.id, article

    articles, errors = read_articles(content_dir, read)
    return Corpus(articles=articles, errors=errors)


Item = TypeVar("Item")


def read_articles(
    content_dir: Path, read: Callable[[Path], tuple[str, Item]]
) -> tuple[list[Item], list[str]]:
    """Every ``*.md`` article file, in name order, through ``read`` (its article's id and what
    to keep of it): the one way the corpus is read. A file ``read`` cannot read (ArticleError,
    OSError) is reported and skipped, so is a duplicate id (the first file wins). Returns the
    items and one error line per skipped file."""
    folder = articles_dir(content_dir)
    items: list[Item] = []
    errors: list[str] = []
    seen: dict[str, Path] = {}
    paths = sorted(folder.glob("*.md"), key=lambda p: p.name) if folder.is_dir() else []
    for path in paths:  # by name: the same order as by path, without slow Path comparisons
        try:
            aid, item = read(path)
        except (ArticleError, OSError) as exc:
            errors.append(str(exc))
            log.warning("skipped article file: %s", exc)
            continue
        if aid in seen:
            errors.append(f"{path}: duplicate id {aid!r} (also {seen[aid]})")
            continue
        seen[aid] = path
        items.append(item)
    return items, errors


def save_article(content_dir: Path, article: Article) -> str:
    """Write ``article`` to its file; returns 'added', 'updated' or 'unchanged'.

    The file name comes from the canonical URL, so the same article re-imported lands on the
    same file, and a changed article replaces its old version.
    """
    aid = article.id or article_id(article.url)
    folder = articles_dir(content_dir)
    path = folder / f"{aid}.md"
    if path.parent != folder or aid.startswith(".") or "/" in aid or "\\" in aid:
        raise ArticleError(f"id {aid[:80]!r} would write outside {folder}")
    status = "added"
    if path.exists():
        try:
            old = read_article(path)
        except ArticleError:
            old = None
        if old is not None and content_hash(old) == content_hash(article):
            return "unchanged"
        status = "updated"
    atomic_write_text(path, to_markdown(article))
    return status
