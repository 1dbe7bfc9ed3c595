"""The campaign-bot engine: import → chunk → embed → lexical + vector search → fuse → quote.

Public API: ``Engine`` (search), ``IndexSettings``, ``build_index`` and the data types.
"""

from index.config import IndexSettings
from index.types import Answer, Article, ArticleInfo, Result

__all__ = ["Answer", "Article", "ArticleInfo", "IndexSettings", "Result"]
