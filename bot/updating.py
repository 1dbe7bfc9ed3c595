"""Fetch new articles from the feeds, then rebuild: the scheduled update and ``/update``.

Runs in a worker thread (blocking I/O and embedding). ``index.fetch.fetch_all`` writes new
articles into ``content/``; ``engine.rebuild()`` builds incrementally and switches atomically,
so the old index answers until the new one is published. After a fetch that reached at least
one feed, ``content/.refreshed`` records when (``/apropos`` shows it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.corpus import mark_refreshed

log = logging.getLogger(__name__)

Fetcher = Callable[[Any], Any]  # IndexSettings -> index.fetch.FetchReport


def default_fetcher(index_settings: Any) -> Any:
    from index.fetch import fetch_all

    return fetch_all(index_settings)


@dataclass
class UpdateResult:
    fetched: bool
    fetch_summary: str
    build_summary: str

    def summary(self) -> str:
        return f"{self.fetch_summary}\n{self.build_summary}"


def fetch_summary(report: Any) -> str:
    sources = getattr(report, "sources", [])
    failed = sum(1 for s in sources if getattr(s, "feed_status", "") == "failed")
    return (
        f"fetch: {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.skipped)} skipped, {failed}/{len(sources)} feeds failed"
    )


def fetch_and_rebuild(engine: Any, fetcher: Fetcher | None) -> UpdateResult:
    """Fetch (when a fetcher is configured), then rebuild whatever happened to the fetch."""
    fetched = False
    text = "fetch: not configured"
    if fetcher is not None:
        settings = engine.settings
        try:
            report = fetcher(settings)
        except Exception as exc:  # bad sources.toml, another fetch running, a bug
            log.error("fetch failed: %s", type(exc).__name__)
            text = f"fetch: failed ({type(exc).__name__})"
        else:
            text = fetch_summary(report)
            log.info("%s", text)
            if report.ok:
                fetched = True
                mark_refreshed(Path(settings.content_dir))
    build = engine.rebuild()
    build_text = build.summary() if hasattr(build, "summary") else str(build)
    return UpdateResult(fetched, text, build_text)
