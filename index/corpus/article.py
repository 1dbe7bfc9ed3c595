"""Articles as Markdown files with YAML front matter: ids, slugs, reading and writing.

One file per article, ``content/articles/<id>.md``. The id is derived from the canonical URL so
that re-importing the same article always lands on the same file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

import yaml

from index.types import Article, ArticleInfo

ARTICLES_SUBDIR = "articles"
REQUIRED_FIELDS = ("title", "date", "url", "source", "lang")


class ArticleError(ValueError):
    """A malformed article file; the message names the file and the problem."""


def canonical_url(url: str) -> str:
    """Normalise a URL for identity: lower-case host, https, no query tracking, no fragment."""
    parts = urlsplit(url.strip())
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme
    path = parts.path or "/"
    return urlunsplit((scheme, parts.netloc.lower(), path, parts.query, ""))


def article_id(url: str) -> str:
    """Stable id from the canonical URL: readable slug tail + short hash."""
    canon = canonical_url(url)
    digest = hashlib.sha256(canon.encode("utf-8")).hexdigest()[:10]
    tail = [p for p in urlsplit(canon).path.split("/") if p]
    stem = slugify(tail[-1])[:60] if tail else "article"
    return f"{stem or 'article'}-{digest}"


def slugify(title: str) -> str:
    """WordPress-style slug: lower case, accents removed, elisions joined, words joined by '-'.

    « l’indécence » → ``lindecence``: apostrophes vanish rather than separate words.
    """
    text = unicodedata.normalize("NFKD", title.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.replace("œ", "oe").replace("æ", "ae")
    text = re.sub(r"['’ʼ`´]", "", text)
    text = re.sub(r"[^a-z0-9]+", "-", text)
    return text.strip("-")


def derived_permalink(base: str, date: dt.date, title: str) -> str:
    """The origin site's permalink pattern ``{base}/YYYY/MM/DD/<slug>/``."""
    return f"{base.rstrip('/')}/{date:%Y/%m/%d}/{slugify(title)}/"


def content_hash(article: Article) -> str:
    """Hash of what a reader sees; an unchanged hash means re-import changes nothing."""
    h = hashlib.sha256()
    for part in (article.title, article.date.isoformat(), article.url, article.body):
        h.update(part.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def to_markdown(article: Article) -> str:
    meta: dict = {
        "title": article.title,
        "date": article.date.isoformat(),
        "url": article.url,
        "source": article.source,
        "lang": article.lang,
    }
    if article.url_derived:
        meta["url_derived"] = True
    if article.date_derived:
        meta["date_derived"] = True
    for key, value in sorted(article.extra.items()):
        meta.setdefault(key, value)
    head = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000).strip()
    return f"---\n{head}\n---\n\n{article.body.strip()}\n"


_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n?", re.DOTALL)
MAX_FRONT_MATTER = 64 * 1024  # characters; a real article's is a few hundred
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")  # a file name in content/articles
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML with limits: no aliases (1 KB of nested aliases expands to gigabytes when
    the value is read), and dates left as text, which parse_markdown checks itself (the
    YAML library turned ``2024-02-30`` into a bare ValueError)."""

    yaml_implicit_resolvers: ClassVar[dict] = {
        first: [r for r in resolvers if r[0] != _TIMESTAMP]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "aliases are not allowed", mark)
        return super().compose_node(parent, index)


def load_front_matter(text: str, name: str) -> object:
    """The YAML of a front matter, within limits; ArticleError naming ``name`` otherwise."""
    if len(text) > MAX_FRONT_MATTER:
        raise ArticleError(f"{name}: front matter longer than {MAX_FRONT_MATTER} characters")
    try:
        return yaml.load(text, Loader=_FrontMatterLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or exc.__class__.__name__
        raise ArticleError(f"{name}: front matter is not valid YAML ({problem})") from None
    except (ValueError, TypeError, RecursionError) as exc:  # e.g. an explicit !!timestamp
        kind = exc.__class__.__name__
        raise ArticleError(f"{name}: front matter cannot be read ({kind})") from None


def parse_markdown(text: str, *, name: str = "<text>", default_id: str | None = None) -> Article:
    """Parse one article file; raises ArticleError naming ``name`` on any problem."""
    text = text.lstrip("\ufeff")
    match = _FRONT.match(text)
    if not match:
        raise ArticleError(f"{name}: no YAML front matter (the file must start with '---')")
    meta = load_front_matter(match.group(1), name) or {}
    if not isinstance(meta, dict):
        raise ArticleError(f"{name}: front matter must be a mapping of fields")
    missing = [f for f in REQUIRED_FIELDS if not meta.get(f)]
    if missing:
        raise ArticleError(f"{name}: missing front matter field(s): {', '.join(missing)}")
    date = meta["date"]
    if isinstance(date, dt.datetime):
        date = date.date()
    elif isinstance(date, str):
        try:
            date = dt.date.fromisoformat(date.strip()[:10])
        except ValueError:
            raise ArticleError(
                f"{name}: date {meta['date']!r} is not a valid ISO 8601 date (YYYY-MM-DD)"
            ) from None
    elif not isinstance(date, dt.date):
        raise ArticleError(f"{name}: date {meta['date']!r} is not ISO 8601 (YYYY-MM-DD)")
    url = str(meta["url"]).strip()
    if not re.match(r"^https?://[^\s/]+", url):
        raise ArticleError(f"{name}: url {url!r} is not an http(s) link")
    body = text[match.end() :].strip()
    if not body:
        raise ArticleError(f"{name}: the article has no text")
    known = {*REQUIRED_FIELDS, "url_derived", "date_derived", "id"}
    aid = str(meta.get("id") or default_id or article_id(url))
    if meta.get("id") is not None and not _ID.fullmatch(aid):
        raise ArticleError(f"{name}: id {aid[:80]!r} is not a slug (letters, digits, . _ -)")
    return Article(
        id=aid,
        title=" ".join(str(meta["title"]).split()),
        date=date,
        url=url,
        source=str(meta["source"]).strip(),
        lang=str(meta["lang"]).strip().lower(),
        body=body,
        url_derived=bool(meta.get("url_derived", False)),
        date_derived=bool(meta.get("date_derived", False)),
        extra={str(k): v for k, v in meta.items() if k not in known},
    )


def read_article(path: Path) -> Article:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ArticleError(f"{path}: not UTF-8 text") from None
    return parse_markdown(text, name=str(path), default_id=path.stem)


def info(article: Article) -> ArticleInfo:
    return ArticleInfo(
        id=article.id,
        title=article.title,
        date=article.date,
        url=article.url,
        source=article.source,
        lang=article.lang,
    )


def atomic_write_text(path: Path, text: str) -> None:
    """Write beside, fsync, rename: a reader sees the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
