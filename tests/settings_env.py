"""The environment a child process (``python -m index``, ``python -m bot``) needs to work on
the same content, index, cache and model as a test's settings."""

from __future__ import annotations

import os

from index.config import IndexSettings


def settings_env(settings: IndexSettings, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "CONTENT_DIR": str(settings.content_dir),
        "INDEX_DIR": str(settings.index_dir),
        "CACHE_DIR": str(settings.cache_dir),
        "EMBEDDING_MODEL": settings.embedding_model,
        "EMBEDDING_BACKEND": settings.embedding_backend,
        **extra,
    }
