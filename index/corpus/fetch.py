"""Polite fetching of new articles from the sources' feeds into ``content/``.

One run: for each source, a conditional GET of its feed (stored ETag / Last-Modified; 304 means
nothing new), then for each entry not yet in the corpus or whose stamp changed, the article from
the feed's full text when it has it, else from its page (conditional GET, extraction). Each
entry's stamp is remembered, so a second run in a row makes no page request and writes nothing.

Every failure (feed, page, extraction) is reported and skipped; the others go on. Articles reach
``content/`` only through :func:`index.corpus.folder.save_article`, which writes atomically.
Fetch state lives in ``<index_dir>/../fetch-state.json``: it is not content. What a fetch shares
with the backfill (sources, options, report, state, client, entry pipeline) is in
:mod:`index.corpus.fetching`.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import httpx

from index.config import IndexSettings
from index.corpus.fetching.options import FetchOptions, fetch_options
from index.corpus.fetching.report import FetchReport, SourceReport
from index.corpus.fetching.run import fetch_session
from index.corpus.fetching.sources import SourceError
from index.corpus.fetching.state import FetchError, fetch_state_path
from index.corpus.folder import mark_refreshed

log = logging.getLogger(__name__)


def fetch_all(
    settings: IndexSettings,
    *,
    source: str | None = None,
    since: dt.date | None = None,
    client: httpx.Client | None = None,
    sources_file: Path | None = None,
    options: FetchOptions | None = None,
) -> FetchReport:
    """Fetch every enabled source (or the one named, even if disabled) into the corpus.

    Raises :class:`SourceError` for a bad sources file or an unknown name, and
    :class:`FetchError` when another fetch is running; everything else is in the report.
    """
    report = FetchReport()
    session = fetch_session(
        settings, source, since, client, sources_file, options or FetchOptions(),
        fetch_state_path(settings),
    )  # fmt: skip
    with session as (chosen, run, state):
        for src in chosen:
            try:
                report.sources.append(run.source(src))
            except Exception as exc:  # isolate sources from each other, even on a bug
                log.exception("unexpected error on source %s", src.name)
                failed = SourceReport(name=src.name, feed=src.feed, feed_status="failed")
                failed.skipped.append((src.feed, f"unexpected error ({exc!r})"))
                report.sources.append(failed)
            state.save()
    return report


def report_run(settings: IndexSettings, run: Callable[[], FetchReport]) -> int:
    """A fetch or backfill from the command line: print its report and note the refresh; 0
    unless nothing could be fetched (1), 2 on bad usage (a bad sources file, a fetch running)."""
    try:
        report = run()
    except (SourceError, FetchError) as exc:
        print(f"fetch: {exc}", file=sys.stderr)
        return 2
    print(report.render())
    if report.ok:
        mark_refreshed(settings.content_dir)
    return report.exit_code


def main_fetch(
    settings: IndexSettings,
    source: str | None = None,
    since: dt.date | None = None,
    *,
    delay: float | None = None,
    max_pages: int | None = None,
) -> int:
    """CLI entry of ``fetch``: see :func:`report_run`."""
    options = fetch_options(settings, delay=delay, max_pages=max_pages)
    return report_run(
        settings, lambda: fetch_all(settings, source=source, since=since, options=options)
    )
