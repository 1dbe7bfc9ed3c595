"""The campaign-bot engine: import → chunk → embed → lexical + vector search → fuse → quote.

This module is the engine's public API: ``bot/`` and ``bench/`` import nothing else (an
import-linter contract in ``pyproject.toml`` checks it). Names load on first use, so that
``import index`` stays cheap and a process never loads what it does not call (the bot never
imports the builder's or the fetcher's libraries unless it updates).

Reading: ``Engine`` (``search`` → ``Answer`` of ``Result``), ``IndexInfo``, ``ArticleInfo``,
``latest_articles`` (what ``/nouveautes`` lists).
Writing: ``open_engine``, ``rebuild``, ``update`` (fetch → build → switch), ``build_index``,
``fetch_all``, ``import`` helpers (``load_corpus``, ``save_article``).
Settings and errors: ``IndexSettings``, ``IndexUnavailable``, ``IndexDamaged``, ``ModelError``.
Text at the boundary: ``clean_text`` (valid UTF-8), ``detect_lang``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    # reading
    "Engine": "index.search",
    "IndexInfo": "index.search",
    "CANDIDATES": "index.search",
    "latest_articles": "index.dates",
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
    "build_index": "index.build",
    "BuildReport": "index.build",
    "passage_context": "index.build",
    "fetch_all": "index.fetch",
    "FetchReport": "index.fetch",
    "load_corpus": "index.corpus",
    "save_article": "index.corpus",
    "articles_dir": "index.corpus",
    "chunk_article": "index.chunk",
    "sentence_units": "index.sentences",
    # models
    "Embedder": "index.embed",
    "EmbeddingCache": "index.embed",
    "ModelError": "index.embed",
    "model_id_for": "index.embed",
    # storage
    "IndexUnavailable": "index.store",
    "IndexDamaged": "index.store",
    "open_version": "index.store",
    "intact_older_versions": "index.store",
    # evaluation
    "evaluate": "index.evaluate",
    "load_jsonl": "index.evaluate",
    "EvalReport": "index.evaluate",
    # settings and text
    "IndexSettings": "index.config",
    "clean_text": "index.clean",
    "detect_lang": "index.text",
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
    from index.build import BuildReport, build_index, passage_context
    from index.chunk import chunk_article
    from index.clean import clean_text
    from index.config import IndexSettings
    from index.corpus import articles_dir, load_corpus, save_article
    from index.dates import latest_articles
    from index.embed import Embedder, EmbeddingCache, ModelError, model_id_for
    from index.evaluate import EvalReport, evaluate, load_jsonl
    from index.fetch import FetchReport, fetch_all
    from index.lifecycle import Fetcher, UpdateReport, open_engine, rebuild, update
    from index.search import CANDIDATES, Engine, IndexInfo
    from index.sentences import sentence_units
    from index.store import IndexDamaged, IndexUnavailable, intact_older_versions, open_version
    from index.text import detect_lang
    from index.types import Answer, Article, ArticleInfo, Result
