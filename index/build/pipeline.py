"""Build an index version from ``content/``: chunk, embed (cache first), BM25, FAISS, publish.

Each article is analysed once: its passages, sentences, vectors, BM25 term counts,
vocabulary counts and acronym evidence are stored as rows of a segment (index/storage/segments.py),
which later versions hard-link. A build after new posts therefore reads only the files that
changed (a file whose bytes are unchanged is not parsed), analyses and embeds only their
articles, writes one small segment, and redoes the corpus-wide statistics (BM25 weights,
vocabulary, acronyms, passage order) from the stored counts with numpy. Passages stay in the
same order as a full build's (newest article first), so an incremental build and a full build
of the same corpus give the same index, and the same answers.

This module orchestrates; each step is its own module in ``index/build/``: scan.py (what
changed), analysis.py (each new article's rows), segment_rows.py, compaction.py,
corpus_stats.py (the corpus-wide files), state.py (what the next build reuses), report.py.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from index.build.compaction import compact_if_due
from index.build.corpus_stats import corpus_acronyms, write_layout, write_lexical, write_passages
from index.build.report import BuildReport, StepTimer
from index.build.scan import ContentScan, FreshArticle, scan_content
from index.build.segment_rows import FreshSegment, record_of, write_fresh_segment
from index.build.state import (
    ArticleRecord,
    BuildState,
    IdTables,
    PreviousVersion,
    previous_version,
)
from index.config import IndexSettings
from index.models.embed import Embedder
from index.retrieval.snapshot import write_acronyms, write_articles
from index.retrieval.vector import write_centroids
from index.storage.layout import (
    BUILD_STATE,
    IVF_CENTROIDS,
    PASSAGE_VECTORS,
    PASSAGES,
    SEGMENTS_DIR,
    SEGMENTS_FILE,
)
from index.storage.segments import (
    SEGMENT_ROWS,
    RowStore,
    link_or_copy,
    segment_dir,
    write_segment_names,
)
from index.storage.versions import (
    FORMAT,
    IndexUnavailable,
    Manifest,
    discard_work,
    new_version_dir,
    publish,
    sweep_dead_builds,
    verify_files,
)

log = logging.getLogger(__name__)


@dataclass
class VersionPlan:
    """Everything one build writes into its work folder, and what it starts from."""

    settings: IndexSettings
    embedder: Embedder
    work: Path
    version: str
    corpus_hash: str
    previous: PreviousVersion
    scan: ContentScan
    fresh: list[FreshArticle]  # new or changed articles, in passage order (newest first)
    progress: bool
    timer: StepTimer


@dataclass
class WrittenVersion:
    """The version written by _assemble: its manifest (files not yet summed), the checksums
    of the files it hard-linked, its passage count and passage ids, and how many passages and
    sentences were embedded (not found in the cache)."""

    manifest: Manifest
    known_sums: dict[str, str]
    passages: int
    passage_ids: set[str]
    embedded: int
    embedded_sentences: int


def build_index(
    settings: IndexSettings,
    embedder: Embedder | None = None,
    *,
    force: bool = False,
    progress: bool = True,
) -> BuildReport:
    """Incremental by default: an unchanged corpus and model publish nothing new; otherwise
    only new or changed articles are read, analysed and embedded (the cache first), and the
    previous version's segments are reused. ``force`` builds everything anew (vectors still
    come from the embedding cache)."""
    started = time.perf_counter()
    lap = StepTimer()
    embedder = embedder or Embedder(settings)
    sweep_dead_builds(settings.index_dir)  # a build killed mid-way left its work folder
    previous = previous_version(settings, embedder, force)
    state = previous.state
    known = {r.file: r for r in state.articles} if state else {}
    scan = scan_content(settings.content_dir, known, state.scanned_ns if state else 0)
    lap("scan")
    n_articles = len(scan.kept) + len(scan.fresh)
    if not n_articles:
        raise IndexUnavailable(
            f"no article could be read from {settings.content_dir}: "
            "run `python -m index import-seeds` or add articles"
        )
    chash = scan.corpus_hash()
    damaged = ""
    try:
        up_to_date = _reuse_or_verify(previous, scan, chash, embedder, force, started)
        if up_to_date is not None:
            return up_to_date
    except IndexUnavailable as exc:
        log.warning("current index damaged, building anew: %s", exc)
        damaged = str(exc)
        if previous.state is not None:
            previous.state = None
            scan = scan_content(settings.content_dir, {})
    previous_ids = _passage_ids(previous, embedder)
    lap("verify")
    fresh = sorted(scan.fresh, key=lambda f: (f.article.date, f.article.id), reverse=True)
    version, work = new_version_dir(settings.index_dir)
    plan = VersionPlan(
        settings, embedder, work, version, chash, previous, scan, fresh, progress, lap
    )
    try:
        written = _assemble(plan)
        publish(settings.index_dir, work, written.manifest, known=written.known_sums)
        lap("publish")
    except BaseException:
        discard_work(work)
        raise
    return BuildReport(
        version=version,
        articles=n_articles,
        passages=written.passages,
        embedded=written.embedded,
        reused=written.passages - written.embedded,
        embedded_sentences=written.embedded_sentences,
        seconds=time.perf_counter() - started,
        changed=True,
        skipped=scan.errors,
        added_passages=len(written.passage_ids - previous_ids),
        removed_passages=len(previous_ids - written.passage_ids),
        incremental=previous.state is not None,
        timings=lap.times,
        repaired=damaged,
    )


def _reuse_or_verify(
    previous: PreviousVersion,
    scan: ContentScan,
    chash: str,
    embedder: Embedder,
    force: bool,
    started: float,
) -> BuildReport | None:
    """The report of an up-to-date version, else None; what is reused is checked first, byte
    for byte (IndexUnavailable): an "up to date" version must be intact, and a damaged
    segment must not be hard-linked into the next version."""
    folder, manifest = previous.folder, previous.manifest
    if folder is None or manifest is None or force or manifest.model_id != embedder.model_id:
        return None
    if manifest.corpus_hash == chash:
        verify_files(folder, manifest, list(manifest.files))
        return BuildReport(
            manifest.version,
            manifest.articles,
            manifest.passages,
            0,
            manifest.passages,
            time.perf_counter() - started,
            False,
            scan.errors,
        )
    if previous.state is not None:
        reused = _reusable_files(folder, manifest, previous.state, scan.kept)
        verify_files(folder, manifest, reused)
    return None


def _reusable_files(
    folder: Path, manifest: Manifest, state: BuildState, kept: list[ArticleRecord]
) -> list[str]:
    """The previous version's files an incremental build reads or links, all checked
    against their checksums: a file damaged in place keeps its size and may keep its
    modification time, and a linked segment is shared by every later version."""
    names = [BUILD_STATE, SEGMENTS_FILE, PASSAGES]
    if IVF_CENTROIDS in manifest.files:
        names.append(IVF_CENTROIDS)  # carried over while they fit
    for s in sorted({r.segment for r in kept}):
        names += [f"{SEGMENTS_DIR}/{state.segments[s]}/{file}" for file in SEGMENT_ROWS]
    return names


def _passage_ids(previous: PreviousVersion, embedder: Embedder) -> set[str]:
    """Passage ids of the previous version, when built with the same model (for the report)."""
    if previous.state is not None:
        return {pid for r in previous.state.articles for pid in r.pids}
    folder, manifest = previous.folder, previous.manifest
    if folder is None or manifest is None or manifest.model_id != embedder.model_id:
        return set()
    try:
        with (folder / PASSAGES).open(encoding="utf-8") as fh:
            return {json.loads(line)["id"] for line in fh}
    except (OSError, ValueError, KeyError):
        return set()


def _assemble(plan: VersionPlan) -> WrittenVersion:
    """Write the version into ``plan.work``: segments, corpus-wide files, state, manifest."""
    settings, work, lap = plan.settings, plan.work, plan.timer
    state = plan.previous.state
    tables = IdTables(*((state.terms, state.words, state.pairs) if state else ([], [], [])))
    names, records, known_sums, fresh = _segments(plan, tables)
    # Passage order: newest article first (as the engine has always had it).
    order = sorted(range(len(records)), key=lambda i: records[i].sort_key, reverse=True)
    records = [records[i] for i in order]
    stores = {f: RowStore.open(work, f, names) for f in SEGMENT_ROWS} if names else {}
    names, records, stores, known_sums = compact_if_due(
        work, plan.version + "c", names, records, stores, known_sums
    )
    write_segment_names(work, names)
    by_new = {an.article.id: an for an in fresh.analyses}
    lap("segments")
    n_passages = write_passages(work, records, plan.previous.folder, by_new)
    lap("passages")
    write_layout(work, records, stores, n_passages)
    write_lexical(work, records, stores, tables, n_passages)
    lap("lexical")
    acronyms = corpus_acronyms(records, by_new, settings.content_dir)
    lap("acronyms")
    write_acronyms(work, acronyms)
    write_articles(work, [r.info for r in records])
    approximate = bool(settings.ann_threshold and n_passages > settings.ann_threshold)
    if approximate:
        write_centroids(work, stores[PASSAGE_VECTORS], plan.previous.folder if state else None)
    lap("vectors")
    BuildState(
        names,
        plan.scan.started_ns,
        list(tables.terms),
        list(tables.words),
        list(tables.pairs),
        records,
    ).write(work)
    ids = {pid for r in records for pid in r.pids}
    manifest = _manifest(plan, records, n_passages, approximate)
    return WrittenVersion(
        manifest, known_sums, n_passages, ids, fresh.embedded, fresh.embedded_sentences
    )


def _segments(
    plan: VersionPlan, tables: IdTables
) -> tuple[list[str], list[ArticleRecord], dict[str, str], FreshSegment]:
    """Segments still holding live rows are linked; the new articles are analysed and embedded
    into a segment of their own. Returns the segment names, the records (not yet in passage order),
    the checksums of the linked files and the new segment."""
    state, work = plan.previous.state, plan.work
    prev_folder, prev_manifest = plan.previous.folder, plan.previous.manifest
    kept = plan.scan.kept if state else []
    old_names = state.segments if state else []
    live = sorted({r.segment for r in kept})
    names = [old_names[s] for s in live]
    remap = {s: i for i, s in enumerate(live)}
    records: list[ArticleRecord] = [
        ArticleRecord(**{**r.__dict__, "segment": remap[r.segment]}) for r in kept
    ]
    known_sums: dict[str, str] = {}
    for name in names:
        for file in SEGMENT_ROWS:
            rel = f"{SEGMENTS_DIR}/{name}/{file}"
            link_or_copy(prev_folder / rel, work / rel)  # type: ignore[operator]
            known_sums[rel] = prev_manifest.files[rel]  # type: ignore[union-attr]
    fresh = FreshSegment([], [], 0, 0)
    if plan.fresh:
        folder = segment_dir(work, plan.version)
        fresh = write_fresh_segment(folder, plan.fresh, tables, plan.embedder, plan.progress)
        names.append(plan.version)
        records += [
            record_of(an, len(names) - 1, w)
            for an, w in zip(fresh.analyses, fresh.where, strict=True)
        ]
    plan.timer("analyse and embed")
    return names, records, known_sums, fresh


def _manifest(
    plan: VersionPlan, records: list[ArticleRecord], n_passages: int, approximate: bool
) -> Manifest:
    return Manifest(
        format=FORMAT,
        version=plan.version,
        built_at=dt.datetime.now(dt.UTC).isoformat(),
        model_id=plan.embedder.model_id,
        dim=plan.embedder.dim,
        corpus_hash=plan.corpus_hash,
        articles=len(records),
        passages=n_passages,
        newest_article=records[0].info["date"] if records else None,
        approximate=approximate,
        model=plan.embedder.describe(),
    )
