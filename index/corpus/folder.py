"""The corpus folder: load every article, save one idempotently."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

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
    folder = articles_dir(content_dir)
    articles: list[Article] = []
    errors: list[str] = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        try:
            article = read_article(path)
        except (ArticleError, OSError) as exc:
            errors.append(str(exc))
            log.warning("skipped article file: %s", exc)
            continue
        if article.id in seen:
            errors.append(f"{path}: duplicate id {article.id!r} (also {seen[article.id]})")
            continue
        seen[article.id] = path
        articles.append(article)
    return Corpus(articles=articles, errors=errors)


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
