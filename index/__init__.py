"""The campaign-bot engine: import → chunk → embed → lexical + vector search → fuse → quote.

Public API: ``Engine`` (search), ``IndexSettings``, ``build_index``, the data types, and
``clean_text`` (every text from outside, normalised to valid UTF-8 at the boundary).
"""

from index.clean import clean_text
from index.config import IndexSettings
from index.types import Answer, Article, ArticleInfo, Result

__all__ = ["Answer", "Article", "ArticleInfo", "IndexSettings", "Result", "clean_text"]
