"""A reload loads the new version outside the lock that searches take: no stall at the switch."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import index.retrieval.engine
from index import open_engine
from index.build.pipeline import build_index
from index.config import IndexSettings

SLOW_LOAD = 2.0


def test_a_search_during_a_slow_reload_does_not_wait_for_it(
    tmp_path: Any, embedder: Any, index_settings: IndexSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = IndexSettings(content_dir=index_settings.content_dir, index_dir=tmp_path / "ix",
                             cache_dir=tmp_path / "cache", embedding_model="minilm")  # fmt: skip
    first = build_index(settings, embedder, progress=False)
    engine = open_engine(settings, embedder)
    assert engine.search("vidéosurveillance algorithmique").answered  # warm
    second = build_index(settings, embedder, force=True, progress=False)
    assert second.version != first.version

    real_load = index.retrieval.engine.load_snapshot
    loading = threading.Event()

    def slow_load(*args: Any, **kwargs: Any) -> Any:
        """The real load, made as slow as a big index's (checksums of gigabytes)."""
        loading.set()
        time.sleep(SLOW_LOAD)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(index.retrieval.engine, "load_snapshot", slow_load)
    switched: list[bool] = []
    reload = threading.Thread(target=lambda: switched.append(engine.reload_if_changed()))
    reload.start()
    assert loading.wait(10)
    started = time.monotonic()
    answer = engine.search("capteurs sonores à Saint-Étienne")  # not in the query cache
    waited = time.monotonic() - started
    reload.join()
    assert answer.answered and waited < SLOW_LOAD / 2, f"the search waited {waited:.2f}s"
    assert switched == [True] and engine.info().version == second.version
