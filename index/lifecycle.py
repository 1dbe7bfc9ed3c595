"""The writing side's use cases, one each, for the command line and the bot alike.

``open_engine``: the engine over the current index, built first when there is none (the
``Engine`` itself only reads). ``rebuild``: an incremental build, then the engine switches to
it. ``update``: fetch the feeds, note when they were reached, build, switch — what ``python -m
index update``, ``/update`` and the scheduled update all run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from index.build.pipeline import build_index
from index.build.report import BuildReport
from index.config import IndexSettings
from index.corpus.fetching.report import FetchReport
from index.corpus.folder import mark_refreshed
from index.models.embed import Embedder
from index.retrieval.engine import Engine
from index.retrieval.rerank import Reranker
from index.storage.versions import IndexUnavailable

log = logging.getLogger(__name__)

Fetcher = Callable[[IndexSettings], FetchReport]


def fetch_feeds(settings: IndexSettings) -> FetchReport:
    """The feeds fetched into ``content/``. Imported on the first update: the fetching stack
    (trafilatura, lxml, feedparser, babel, httpx: ~9 MB resident) stays out of a bot that is
    never asked to update."""
    from index.corpus.fetch import fetch_all as fetch

    return fetch(settings)


def open_engine(
    settings: IndexSettings | None = None,
    embedder: Embedder | None = None,
    *,
    build_if_missing: bool = True,
    reranker: Reranker | None = None,
) -> Engine:
    """The engine over the newest intact index version; with none, one is built first."""
    settings = settings or IndexSettings()
    embedder = embedder or Embedder(settings)
    try:
        return Engine.open(settings, embedder, reranker=reranker)
    except IndexUnavailable as exc:
        if not build_if_missing:
            raise
        log.info("building the index: %s", exc)
        build_index(settings, embedder, progress=False)
        return Engine.open(settings, embedder, reranker=reranker)


def rebuild(engine: Engine, *, force: bool = False) -> BuildReport:
    """Build from content/ (incremental) and switch the engine to the result."""
    report = build_index(engine.settings, engine.embedder, force=force, progress=False)
    engine.reload_if_changed()
    return report


@dataclass
class UpdateReport:
    fetch: FetchReport | None  # None: no fetch configured, or it failed (``fetch_error``)
    build: BuildReport
    fetch_error: str = ""

    @property
    def fetched(self) -> bool:
        return self.fetch is not None and self.fetch.ok

    def fetch_summary(self) -> str:
        if self.fetch_error:
            return f"fetch: failed ({self.fetch_error})"
        if self.fetch is None:
            return "fetch: not configured"
        r = self.fetch
        failed = sum(1 for s in r.sources if s.feed_status == "failed")
        return (
            f"fetch: {r.added} added, {r.updated} updated, {r.unchanged} unchanged, "
            f"{len(r.skipped)} skipped, {failed}/{len(r.sources)} feeds failed"
        )

    def summary(self) -> str:
        return f"{self.fetch_summary()}\n{self.build.summary()}"


def update(
    settings: IndexSettings,
    *,
    engine: Engine | None = None,
    embedder: Embedder | None = None,
    fetcher: Fetcher | None = fetch_feeds,
    progress: bool = False,
) -> UpdateReport:
    """Fetch (when a fetcher is given), then build whatever happened to the fetch, then switch
    ``engine`` (if any) to the new version: the old index answers until then."""
    report: FetchReport | None = None
    error = ""
    if fetcher is not None:
        try:
            report = fetcher(settings)
        except Exception as exc:  # bad sources.toml, another fetch running, a bug
            log.error("fetch failed: %s", type(exc).__name__)
            error = type(exc).__name__
        else:
            if report.ok:
                mark_refreshed(settings.content_dir)
    embedder = embedder or (engine.embedder if engine is not None else None)
    build = build_index(settings, embedder, progress=progress)
    if engine is not None:
        engine.reload_if_changed()
    return UpdateReport(report, build, error)
