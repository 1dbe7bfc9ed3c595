"""The campaign-bot engine: import → chunk → embed → lexical + vector search → fuse → quote.

This module is the engine's public API: ``bot/`` and ``bench/`` import nothing else (an
import-linter contract in ``pyproject.toml`` checks it). Names load on first use, so that
``import index`` stays cheap and a process never loads what it does not call (the bot never
imports the builder's or the fetcher's libraries unless it updates).

Reading: ``Engine`` (``search`` → ``Answer`` of ``Result``), ``IndexInfo``, ``ArticleInfo``,
``latest_articles`` (what ``/nouveautes`` lists).
Writing: ``open_engine``, ``rebuild``, ``update`` (fetch → build → switch; ``fetch_feeds``, its
default fetcher, imports the fetching stack only when called), ``build_index``, ``fetch_all``,
``import`` helpers (``load_corpus``, ``save_article``).
Settings and errors: ``IndexSettings``, ``IndexUnavailable``, ``IndexDamaged``, ``ModelError``.
Text at the boundary: ``clean_text`` (valid UTF-8), ``detect_lang``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # reading
    "Engine": "index.retrieval.engine",
    "IndexInfo": "index.retrieval.engine",
    "CANDIDATES": "index.retrieval.engine",
    "latest_articles": "index.retrieval.dates",
    "Answer": "index.types",
    "Article": "index.types",
    "ArticleInfo": "index.types",
    "Result": "index.types",
    # writing: use cases first
    "open_engine": "index.lifecycle",
    "rebuild": "index.lifecycle",
    "update": "index.lifecycle",
    "UpdateReport": "index.lifecycle",
    "Fetcher": "index.lifecycle",
    "fetch_feeds": "index.lifecycle",
    "build_index": "index.build.pipeline",
    "BuildReport": "index.build.report",
    "passage_context": "index.build.analysis",
    "fetch_all": "index.corpus.fetch",
    "FetchReport": "index.corpus.fetching.report",
    "load_corpus": "index.corpus.folder",
    "save_article": "index.corpus.folder",
    "articles_dir": "index.corpus.folder",
    "chunk_article": "index.corpus.chunk",
    "sentence_units": "index.retrieval.sentences",
    # models
    "Embedder": "index.models.embed",
    "EmbeddingCache": "index.models.embedding_cache",
    "ModelError": "index.models.resolve",
    "model_id_for": "index.models.resolve",
    # storage
    "IndexUnavailable": "index.storage.versions",
    "IndexDamaged": "index.storage.versions",
    "open_version": "index.storage.versions",
    "intact_older_versions": "index.storage.versions",
    # evaluation
    "evaluate": "index.quality.evaluate",
    "load_jsonl": "index.quality.evaluate",
    "EvalReport": "index.quality.evaluate",
    # settings and text
    "IndexSettings": "index.config",
    "clean_text": "index.clean",
    "detect_lang": "index.langdetect",
}

__all__ = [
    "CANDIDATES",
    "Answer",
    "Article",
    "ArticleInfo",
    "BuildReport",
    "Embedder",
    "EmbeddingCache",
    "Engine",
    "EvalReport",
    "FetchReport",
    "Fetcher",
    "IndexDamaged",
    "IndexInfo",
    "IndexSettings",
    "IndexUnavailable",
    "ModelError",
    "Result",
    "UpdateReport",
    "articles_dir",
    "build_index",
    "chunk_article",
    "clean_text",
    "detect_lang",
    "evaluate",
    "fetch_all",
    "fetch_feeds",
    "intact_older_versions",
    "latest_articles",
    "load_corpus",
    "load_jsonl",
    "model_id_for",
    "open_engine",
    "open_version",
    "passage_context",
    "rebuild",
    "save_article",
    "sentence_units",
    "update",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'index' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # for type checkers and readers: what each name is
    from index.build.analysis import passage_context
    from index.build.pipeline import build_index
    from index.build.report import BuildReport
    from index.clean import clean_text
    from index.config import IndexSettings
    from index.corpus.chunk import chunk_article
    from index.corpus.fetch import fetch_all
    from index.corpus.fetching.report import FetchReport
    from index.corpus.folder import articles_dir, load_corpus, save_article
    from index.langdetect import detect_lang
    from index.lifecycle import Fetcher, UpdateReport, fetch_feeds, open_engine, rebuild, update
    from index.models.embed import Embedder
    from index.models.embedding_cache import EmbeddingCache
    from index.models.resolve import ModelError, model_id_for
    from index.quality.evaluate import EvalReport, evaluate, load_jsonl
    from index.retrieval.dates import latest_articles
    from index.retrieval.engine import CANDIDATES, Engine, IndexInfo
    from index.retrieval.sentences import sentence_units
    from index.storage.versions import (
        IndexDamaged,
        IndexUnavailable,
        intact_older_versions,
        open_version,
    )
    from index.types import Answer, Article, ArticleInfo, Result
