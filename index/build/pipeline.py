"""Build an index version from ``content/``: chunk, embed (cache first), BM25, FAISS, publish.

Each article is analysed once: its passages, sentences, vectors, BM25 term counts,
vocabulary counts and acronym evidence are stored as rows of a segment (index/storage/segments.py),
which later versions hard-link. A build after new posts therefore reads only the files that
changed (a file whose bytes are unchanged is not parsed), analyses and embeds only their
articles, writes one small segment, and redoes the corpus-wide statistics (BM25 weights,
vocabulary, acronyms, passage order) from the stored counts with numpy. Passages stay in the
same order as a full build's (newest article first), so an incremental build and a full build
of the same corpus give the same index, and the same answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from index.config import IndexSettings
from index.corpus.article import ArticleError, content_hash, info, read_article
from index.corpus.chunk import chunk_article
from index.corpus.folder import articles_dir
from index.language import clean_display, strip_urls, terms
from index.models.embed import Embedder
from index.retrieval.acronyms import (
    AcronymEvidence,
    acronym_evidence,
    acronyms_from_evidence,
    initial_phrases,
)
from index.retrieval.lexical import LexicalIndex, Vocabulary, word_counts
from index.retrieval.sentences import (
    SENTENCE_RANGES,
    SENTENCE_SPANS,
    SENTENCE_VECTORS,
    sentence_units,
)
from index.retrieval.vector import (
    IVF_CENTROIDS,
    PASSAGE_VECTORS,
    centroids_fit,
    list_count,
    train_centroids,
)
from index.storage.segments import (
    SEGMENTS_DIR,
    SEGMENTS_FILE,
    RowStore,
    link_or_copy,
    segment_dir,
    write_segment_names,
)
from index.storage.versions import (
    FORMAT,
    IndexUnavailable,
    Manifest,
    current_version,
    discard_work,
    new_version_dir,
    open_version,
    publish,
    sweep_dead_builds,
    verify_files,
)
from index.types import Article, Passage

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    version: str
    articles: int
    passages: int
    embedded: int
    reused: int
    seconds: float
    changed: bool
    skipped: list[str] = field(default_factory=list)
    added_passages: int = 0
    embedded_sentences: int = 0
    removed_passages: int = 0
    incremental: bool = False  # built on the previous version's segments
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step
    repaired: str = ""  # why the previous version could not be reused (damaged)

    def summary(self) -> str:
        if not self.changed:
            head = (
                f"index {self.version} is up to date "
                f"({self.articles} articles, {self.passages} passages)"
            )
        else:
            head = (
                f"index {self.version}: {self.articles} articles, {self.passages} passages "
                f"(+{self.added_passages} / -{self.removed_passages}), embedded {self.embedded}, "
                f"reused {self.reused}, sentences embedded {self.embedded_sentences}, "
                f"{self.seconds:.1f} s{' (incremental)' if self.incremental else ''}"
            )
        lines = [head] + [f"skipped: {s}" for s in self.skipped]
        if self.repaired:
            lines.append(f"repaired: {self.repaired}")
        return "\n".join(lines)


def passage_context(article: Article, passage: Passage) -> str:
    """What is searched: the title and section give a passage its context (not quoted)."""
    raw = re.sub(r"^(?:## |\[\^\d+\]:\s*)", "", passage.text, flags=re.M)
    text = clean_display(strip_urls(raw))
    parts = [article.title]
    if passage.heading and passage.heading not in text[: len(passage.heading) + 5]:
        parts.append(passage.heading)
    parts.append(text)
    return "\n".join(parts)


# Bump when chunking or text analysis changes: the same corpus then gives a different index.
PIPELINE_VERSION = "7"
MIN_NOTE_CHARS = 60
STATE_FILE = "build_state.json"  # what an incremental build needs of the previous version
STATE_FORMAT = 2
# Compaction: rewrite every live row into one segment past these (rows of removed or changed
# articles stay in their segment until then).
MAX_SEGMENTS = 16
MAX_DEAD_SHARE = 0.5
# Segment files: name → (dtype, columns; 0 = the model's dimension). passage_meta: per
# passage (sentences, term pairs, BM25 length); terms: per passage (term id, count); words: per
# article text (vocabulary pair id, count, first position, first form of its key, title).
ROWS = {
    PASSAGE_VECTORS: (np.float32, 0),
    SENTENCE_VECTORS: (np.float16, 0),
    SENTENCE_SPANS: (np.int32, 2),
    "passage_meta.npy": (np.int32, 3),
    "terms.npy": (np.int32, 2),
    "words.npy": (np.int32, 5),
}


class _Laps:
    """Seconds per build step, into BuildReport.timings."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.t = time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.times[step] = self.times.get(step, 0.0) + now - self.t
        self.t = now


def corpus_hash(articles: list[Article]) -> str:
    h = hashlib.sha256(PIPELINE_VERSION.encode())
    for a in sorted(articles, key=lambda a: a.id):
        h.update(a.id.encode())
        h.update(content_hash(a).encode())
    return h.hexdigest()


def _corpus_hash(ids_hashes: list[tuple[str, str]]) -> str:
    """corpus_hash from (id, content hash) pairs: unchanged files are not parsed again."""
    h = hashlib.sha256(PIPELINE_VERSION.encode())
    for aid, chash in sorted(ids_hashes):
        h.update(aid.encode())
        h.update(chash.encode())
    return h.hexdigest()


@dataclass
class ArticleRecord:
    """One indexed article: what articles.json shows, where its rows are, and what the next
    build needs to keep it without reading it again."""

    id: str
    file: str  # its file name in content/articles
    raw: str  # sha256 of the file's bytes
    stat: tuple[int, int, int]  # the file's (size, mtime ns, inode) when its bytes were read
    hash: str  # content_hash
    info: dict  # its articles.json entry
    segment: int  # index into the version's segments
    passages: tuple[int, int]  # (first row, count) of its passages in the segment
    sentences: tuple[int, int]
    terms: tuple[int, int]
    words: tuple[int, int]
    pids: list[str]
    jsonl: tuple[int, int]  # byte range of its passages in passages.jsonl
    acronyms: AcronymEvidence

    @property
    def sort_key(self) -> tuple[str, str]:
        return (self.info["date"], self.id)  # ISO dates sort as dates


_RECORD_FIELDS = [
    "id", "file", "raw", "stat", "hash", "info", "segment",
    "passages", "sentences", "terms", "words", "pids", "jsonl",
]  # fmt: skip


@dataclass
class BuildState:
    """The previous version's records and the id tables its segments' rows refer to."""

    segments: list[str]
    scanned_ns: int  # when the content folder was scanned (see _scan)
    terms: list[str]  # BM25 term id → term
    words: list[str]  # vocabulary word id → folded word or written form
    pairs: list[tuple[int, int]]  # vocabulary pair id → (key word id, form word id)
    articles: list[ArticleRecord]  # in passage order

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": STATE_FORMAT,
                "pipeline": PIPELINE_VERSION,
                "segments": self.segments,
                "scanned_ns": self.scanned_ns,
                "terms": self.terms,
                "words": self.words,
                "pairs": self.pairs,
                # Columns, not one object per article: half the time to write and read.
                "articles": {
                    name: [getattr(a, name) for a in self.articles] for name in _RECORD_FIELDS
                },
                "acronyms": [a.acronyms.to_json() for a in self.articles],
            },
            ensure_ascii=False,
        )

    @classmethod
    def read(cls, folder: Path) -> BuildState:
        try:
            data = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
            if data.get("format") != STATE_FORMAT or data.get("pipeline") != PIPELINE_VERSION:
                raise IndexUnavailable(f"{folder / STATE_FILE} is from another pipeline")
            return cls(
                segments=list(data["segments"]),
                scanned_ns=int(data["scanned_ns"]),
                terms=list(data["terms"]),
                words=list(data["words"]),
                pairs=[(int(k), int(f)) for k, f in data["pairs"]],
                articles=[
                    ArticleRecord(*row[:3], tuple(row[3]), *row[4:], AcronymEvidence.from_json(ev))
                    for *row, ev in zip(
                        *(data["articles"][n] for n in _RECORD_FIELDS),
                        data["acronyms"],
                        strict=True,
                    )
                ],
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise IndexUnavailable(f"no usable {STATE_FILE} in {folder}: {exc}") from exc


@dataclass
class Analysis:
    """A new or changed article, analysed: its rows, before they are written."""

    source: _Fresh
    passages: list[Passage]
    contexts: list[str]
    units: list[list[tuple[int, int, str]]]
    terms: list[list[str]]
    words: list[tuple[str, str, int, int, int, int]]  # word_counts rows + 1 for the title
    acronyms: AcronymEvidence

    @property
    def article(self) -> Article:
        return self.source.article

    @staticmethod
    def of(source: _Fresh) -> Analysis:
        article = source.article
        passages: list[Passage] = []
        contexts: list[str] = []
        for p in chunk_article(article):
            context = passage_context(article, p)
            if p.note and len(context) - len(article.title) < MIN_NOTE_CHARS:
                continue  # "Voir SEXE, DTNAIRES." or a bare link: nothing to quote
            passages.append(p)
            contexts.append(context)
        return Analysis(
            source=source,
            passages=passages,
            contexts=contexts,
            units=[sentence_units(article, p) for p in passages],
            terms=[terms(c) for c in contexts],
            words=[(*w, 0) for w in word_counts(article.body)]
            + [(*w, 1) for w in word_counts(article.title)],
            acronyms=acronym_evidence(article.body),
        )


@dataclass
class _Fresh:
    """A new or changed article file, parsed."""

    article: Article
    raw: str  # sha256 of its bytes
    file: str
    stat: tuple[int, int, int]


@dataclass
class _Scan:
    """content/articles as found: unchanged records (not parsed), new or changed articles."""

    kept: list[ArticleRecord]
    fresh: list[_Fresh]
    errors: list[str]
    started_ns: int

    def corpus_hash(self) -> str:
        return _corpus_hash(
            [(r.id, r.hash) for r in self.kept]
            + [(f.article.id, content_hash(f.article)) for f in self.fresh]
        )


# A file modified this close before a scan may change again within its timestamp's
# granularity without its size changing: its bytes are read again the next time.
RACY_NS = 2_000_000_000


def _scan(content_dir: Path, known: dict[str, ArticleRecord], scanned_ns: int = 0) -> _Scan:
    """Like load_corpus (same order, same errors, first of duplicate ids wins), but a file
    a previous build indexed is taken from its record instead of parsed: when its size,
    modification time and inode are those recorded (and were not racy at that scan, as in
    git's index), without even reading it; otherwise when its bytes hash the same."""
    started = time.time_ns()
    folder = articles_dir(content_dir)
    kept: list[ArticleRecord] = []
    fresh: list[_Fresh] = []
    errors: list[str] = []
    seen: dict[str, Path] = {}
    paths = sorted(folder.glob("*.md"), key=lambda p: p.name) if folder.is_dir() else []
    for path in paths:  # by name: load_corpus' order, without slow Path comparisons
        try:
            st = path.stat()
            stat = (st.st_size, st.st_mtime_ns, st.st_ino)
            record = known.get(path.name)
            if record is not None and record.stat == stat and stat[1] < scanned_ns - RACY_NS:
                aid, item = record.id, record
            else:
                raw = hashlib.sha256(path.read_bytes()).hexdigest()
                if record is not None and record.raw == raw:
                    aid, item = record.id, ArticleRecord(**{**record.__dict__, "stat": stat})
                else:
                    article = read_article(path)
                    aid, item = article.id, _Fresh(article, raw, path.name, stat)
        except (ArticleError, OSError) as exc:
            errors.append(str(exc))
            log.warning("skipped article file: %s", exc)
            continue
        if aid in seen:
            errors.append(f"{path}: duplicate id {aid!r} (also {seen[aid]})")
            continue
        seen[aid] = path
        if isinstance(item, ArticleRecord):
            kept.append(item)
        else:
            fresh.append(item)
    return _Scan(kept, fresh, errors, started)


def _previous(
    settings: IndexSettings, embedder: Embedder, force: bool
) -> tuple[Path | None, Manifest | None, BuildState | None]:
    """The published version a build can reuse, if any, with its state; why not in the log."""
    current = current_version(settings.index_dir)
    if not current:
        return None, None, None
    try:
        folder, manifest = open_version(settings.index_dir, current, verify=False)
    except IndexUnavailable as exc:
        log.warning("previous index unusable, building anew: %s", exc)
        return None, None, None
    if force or manifest.model_id != embedder.model_id:
        return folder, manifest, None
    try:
        return folder, manifest, BuildState.read(folder)
    except IndexUnavailable as exc:
        log.warning("previous index not reusable, building anew: %s", exc)
        return folder, manifest, None


class _Tables:
    """Id tables of terms, words and vocabulary pairs; append-only while segments are shared
    (their rows hold these ids)."""

    def __init__(self, terms: list[str], words: list[str], pairs: list[tuple[int, int]]) -> None:
        self.terms = {t: i for i, t in enumerate(terms)}
        self.words = {w: i for i, w in enumerate(words)}
        self.pairs = {p: i for i, p in enumerate(pairs)}

    def term(self, t: str) -> int:
        return self.terms.setdefault(t, len(self.terms))

    def word(self, w: str) -> int:
        return self.words.setdefault(w, len(self.words))

    def pair(self, key: str, form: str) -> int:
        return self.pairs.setdefault((self.word(key), self.word(form)), len(self.pairs))


def _rows_of(
    an: Analysis, vectors: np.ndarray, sent_vectors: np.ndarray, tables: _Tables
) -> dict[str, np.ndarray]:
    """One analysed article's rows, file by file (see ROWS)."""
    term_rows: list[tuple[int, int]] = []
    meta: list[tuple[int, int, int]] = []
    for us, ts in zip(an.units, an.terms, strict=True):
        counts = Counter(ts or [""])  # bm25s indexes an empty passage as one empty term
        term_rows.extend((tables.term(t), n) for t, n in counts.items())
        meta.append((len(us), len(counts), len(ts) or 1))
    dim = vectors.shape[1]
    return {
        PASSAGE_VECTORS: vectors.reshape(-1, dim),
        SENTENCE_VECTORS: sent_vectors.reshape(-1, dim),
        SENTENCE_SPANS: np.array([(s, e) for us in an.units for s, e, _ in us]).reshape(-1, 2),
        "passage_meta.npy": np.array(meta).reshape(-1, 3),
        "terms.npy": np.array(term_rows).reshape(-1, 2),
        "words.npy": np.array(
            [(tables.pair(k, f), c, first, kf, title) for k, f, c, first, kf, title in an.words]
        ).reshape(-1, 5),
    }


def _write_segment(folder: Path, parts: list[dict[str, np.ndarray]], dim: int) -> list[dict]:
    """Write one segment from per-article rows; returns each article's (first row, count)
    per file."""
    folder.mkdir(parents=True)
    where: list[dict] = [{} for _ in parts]
    for name, (dtype, width) in ROWS.items():
        arrays = [np.asarray(p[name]).reshape(-1, width or dim) for p in parts]
        start = 0
        for w, a in zip(where, arrays, strict=True):
            w[name] = (start, len(a))
            start += len(a)
        np.save(folder / name, np.concatenate(arrays).astype(dtype))
    return where


def _record(an: Analysis, segment: int, where: dict) -> ArticleRecord:
    article = an.article
    return ArticleRecord(
        id=article.id,
        file=an.source.file,
        raw=an.source.raw,
        stat=an.source.stat,
        hash=content_hash(article),
        info={**info(article).__dict__, "date": article.date.isoformat()},
        segment=segment,
        passages=where[PASSAGE_VECTORS],
        sentences=where[SENTENCE_VECTORS],
        terms=where["terms.npy"],
        words=where["words.npy"],
        pids=[p.id for p in an.passages],
        jsonl=(0, 0),  # set when passages.jsonl is written
        acronyms=an.acronyms,
    )


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
    lap = _Laps()
    embedder = embedder or Embedder(settings)
    sweep_dead_builds(settings.index_dir)  # a build killed mid-way left its work folder
    prev_folder, prev_manifest, state = _previous(settings, embedder, force)
    known = {r.file: r for r in state.articles} if state else {}
    scan = _scan(settings.content_dir, known, state.scanned_ns if state else 0)
    lap("scan")
    n_articles = len(scan.kept) + len(scan.fresh)
    if not n_articles:
        raise IndexUnavailable(
            f"no article could be read from {settings.content_dir}: "
            "run `python -m index import-seeds` or add articles"
        )
    chash = scan.corpus_hash()
    damaged = ""
    if (
        prev_folder is not None
        and prev_manifest is not None
        and not force
        and prev_manifest.model_id == embedder.model_id
    ):
        # What is reused is checked first, byte for byte: an "up to date" version must be
        # intact, and a damaged segment must not be hard-linked into the next version.
        up_to_date = prev_manifest.corpus_hash == chash
        try:
            if up_to_date:
                verify_files(prev_folder, prev_manifest, list(prev_manifest.files))
                return BuildReport(
                    prev_manifest.version,
                    prev_manifest.articles,
                    prev_manifest.passages,
                    0,
                    prev_manifest.passages,
                    time.perf_counter() - started,
                    False,
                    scan.errors,
                )
            if state is not None:
                reused = _reusable_files(prev_folder, prev_manifest, state, scan.kept)
                verify_files(prev_folder, prev_manifest, reused)
        except IndexUnavailable as exc:
            log.warning("current index damaged, building anew: %s", exc)
            damaged = str(exc)
            if state is not None:
                state = None
                scan = _scan(settings.content_dir, {})
    previous_ids = (
        {pid for r in state.articles for pid in r.pids}
        if state is not None
        else _passage_ids(prev_folder, prev_manifest, embedder)
    )

    lap("verify")
    # In passage order, newest first: a full build's segment is then read in long runs.
    fresh = [
        Analysis.of(f)
        for f in tqdm(
            sorted(scan.fresh, key=lambda f: (f.article.date, f.article.id), reverse=True),
            desc="chunking",
            unit="article",
            disable=not progress,
        )
    ]
    contexts = [c for an in fresh for c in an.contexts]
    sent_texts = [u[2] for an in fresh for us in an.units for u in us]
    lap("analyse")
    with embedder.building():
        vectors, embedded = embedder.embed_passages(contexts, progress=progress)
        sent_vectors, sent_embedded = embedder.embed_passages(sent_texts, progress=progress)

    lap("embed")
    version, work = new_version_dir(settings.index_dir)
    try:
        manifest, known_sums, n_passages, ids = _assemble(
            settings,
            embedder,
            work,
            version,
            chash,
            state,
            prev_folder,
            prev_manifest,
            scan,
            fresh,
            vectors,
            sent_vectors,
            lap,
        )
        publish(settings.index_dir, work, manifest, known=known_sums)
        lap("publish")
    except BaseException:
        discard_work(work)
        raise
    return BuildReport(
        version=version,
        articles=n_articles,
        passages=n_passages,
        embedded=embedded,
        reused=n_passages - embedded,
        embedded_sentences=sent_embedded,
        seconds=time.perf_counter() - started,
        changed=True,
        skipped=scan.errors,
        added_passages=len(ids - previous_ids),
        removed_passages=len(previous_ids - ids),
        incremental=state is not None,
        timings=lap.times,
        repaired=damaged,
    )


def _reusable_files(
    folder: Path, manifest: Manifest, state: BuildState, kept: list[ArticleRecord]
) -> list[str]:
    """The previous version's files an incremental build reads or links, all checked
    against their checksums: a file damaged in place keeps its size and may keep its
    modification time, and a linked segment is shared by every later version."""
    names = [STATE_FILE, SEGMENTS_FILE, "passages.jsonl"]
    if IVF_CENTROIDS in manifest.files:
        names.append(IVF_CENTROIDS)  # carried over while they fit
    for s in sorted({r.segment for r in kept}):
        names += [f"{SEGMENTS_DIR}/{state.segments[s]}/{file}" for file in ROWS]
    return names


def _passage_ids(folder: Path | None, manifest: Manifest | None, embedder: Embedder) -> set[str]:
    """Passage ids of a previous version built with the same model (for the report)."""
    if folder is None or manifest is None or manifest.model_id != embedder.model_id:
        return set()
    try:
        with (folder / "passages.jsonl").open(encoding="utf-8") as fh:
            return {json.loads(line)["id"] for line in fh}
    except (OSError, ValueError, KeyError):
        return set()


def _assemble(
    settings: IndexSettings,
    embedder: Embedder,
    work: Path,
    version: str,
    chash: str,
    state: BuildState | None,
    prev_folder: Path | None,
    prev_manifest: Manifest | None,
    scan: _Scan,
    fresh: list[Analysis],
    vectors: np.ndarray,
    sent_vectors: np.ndarray,
    lap: _Laps,
) -> tuple[Manifest, dict[str, str], int, set[str]]:
    """Write the version into ``work``; returns its manifest (files not yet summed), the
    checksums of linked files, its passage count and passage ids."""
    dim = embedder.dim
    tables = _Tables(*((state.terms, state.words, state.pairs) if state else ([], [], [])))
    kept = scan.kept if state else []
    # Segments still holding live rows are linked; the new articles get a segment of their own.
    old_names = state.segments if state else []
    live = sorted({r.segment for r in kept})
    names = [old_names[s] for s in live]
    remap = {s: i for i, s in enumerate(live)}
    records: list[ArticleRecord] = [
        ArticleRecord(**{**r.__dict__, "segment": remap[r.segment]}) for r in kept
    ]
    known_sums: dict[str, str] = {}
    for name in names:
        for file in ROWS:
            rel = f"{SEGMENTS_DIR}/{name}/{file}"
            link_or_copy(prev_folder / rel, work / rel)  # type: ignore[operator]
            known_sums[rel] = prev_manifest.files[rel]  # type: ignore[union-attr]
    if fresh:
        parts, pos, spos = [], 0, 0
        for an in fresh:
            n, m = len(an.passages), sum(len(us) for us in an.units)
            parts.append(
                _rows_of(an, vectors[pos : pos + n], sent_vectors[spos : spos + m], tables)
            )
            pos, spos = pos + n, spos + m
        where = _write_segment(segment_dir(work, version), parts, dim)
        names.append(version)
        records += [_record(an, len(names) - 1, w) for an, w in zip(fresh, where, strict=True)]
    # Passage order: newest article first (as the engine has always had it).
    order = sorted(range(len(records)), key=lambda i: records[i].sort_key, reverse=True)
    records = [records[i] for i in order]
    stores = {f: RowStore.open(work, f, names) for f in ROWS} if names else {}
    dead = _dead_share(records, stores)
    if len(names) > MAX_SEGMENTS or dead > MAX_DEAD_SHARE:
        log.info("compacting %d segments (%.0f%% dead rows)", len(names), 100 * dead)
        names, records, stores, known_sums = _compact(work, version + "c", names, records, stores)
    write_segment_names(work, names)
    by_new = {an.article.id: an for an in fresh}
    lap("segments")
    n_passages = _write_passages(work, records, prev_folder, by_new)
    lap("passages")
    _write_layout(work, records, stores, n_passages)
    _write_lexical(work, records, stores, tables, n_passages)
    lap("lexical")
    acronyms = _acronyms(records, by_new, settings.content_dir)
    lap("acronyms")
    (work / "acronyms.json").write_text(json.dumps(acronyms, ensure_ascii=False), "utf-8")
    (work / "articles.json").write_text(
        json.dumps([r.info for r in records], ensure_ascii=False), encoding="utf-8"
    )
    approximate = bool(settings.ann_threshold and n_passages > settings.ann_threshold)
    if approximate:
        _write_centroids(work, stores[PASSAGE_VECTORS], prev_folder if state else None)
    lap("vectors")
    (work / STATE_FILE).write_text(
        BuildState(
            names,
            scan.started_ns,
            list(tables.terms),
            list(tables.words),
            list(tables.pairs),
            records,
        ).to_json(),
        encoding="utf-8",
    )
    manifest = Manifest(
        format=FORMAT,
        version=version,
        built_at=dt.datetime.now(dt.UTC).isoformat(),
        model_id=embedder.model_id,
        dim=dim,
        corpus_hash=chash,
        articles=len(records),
        passages=n_passages,
        newest_article=records[0].info["date"] if records else None,
        approximate=approximate,
        model=embedder.describe(),
    )
    return manifest, known_sums, n_passages, {pid for r in records for pid in r.pids}


def _write_centroids(work: Path, store: RowStore, prev_folder: Path | None) -> None:
    """The IVF centroids: the previous version's while they fit the corpus's size (adding an
    article changes no list), else trained on the passages' vectors."""
    rows = np.load(work / "passage_rows.npy")
    dim = store.arrays[0].shape[1]
    centroids = None
    if prev_folder is not None and (prev_folder / IVF_CENTROIDS).exists():
        try:
            centroids = np.load(prev_folder / IVF_CENTROIDS)
        except (OSError, ValueError):
            centroids = None
    if not centroids_fit(centroids, len(rows), dim):
        log.info("training the vector index's %d lists", list_count(len(rows)))
        centroids = train_centroids(store.take(rows))  # the vectors read only to train
    np.save(work / IVF_CENTROIDS, centroids)


def _dead_share(records: list[ArticleRecord], stores: dict[str, RowStore]) -> float:
    if not stores:
        return 0.0
    total = len(stores[SENTENCE_VECTORS]) + len(stores[PASSAGE_VECTORS])
    live = sum(r.sentences[1] + r.passages[1] for r in records)
    return 1 - live / total if total else 0.0


def _compact(
    work: Path,
    name: str,
    names: list[str],
    records: list[ArticleRecord],
    stores: dict[str, RowStore],
) -> tuple[list[str], list[ArticleRecord], dict[str, RowStore], dict[str, str]]:
    """One segment with every live row, in passage order; the old ones are unlinked."""
    folder = segment_dir(work, name)
    folder.mkdir(parents=True)
    out: list[ArticleRecord] = [ArticleRecord(**r.__dict__) for r in records]
    for file in ROWS:
        field_name = _FIELD[file]
        starts = np.array(
            [stores[file].bounds[r.segment] + getattr(r, field_name)[0] for r in records]
        )
        counts = np.array([getattr(r, field_name)[1] for r in records])
        np.save(folder / file, stores[file].ranges(starts, counts))
        offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
        for r, o, c in zip(out, offsets, counts, strict=True):
            setattr(r, field_name, (int(o), int(c)))
    for r in out:
        r.segment = 0
    for old in names:
        shutil.rmtree(segment_dir(work, old))
    return [name], out, {f: RowStore.open(work, f, [name]) for f in ROWS}, {}


_FIELD = {
    PASSAGE_VECTORS: "passages",
    "passage_meta.npy": "passages",
    SENTENCE_VECTORS: "sentences",
    SENTENCE_SPANS: "sentences",
    "terms.npy": "terms",
    "words.npy": "words",
}


def _write_passages(
    work: Path,
    records: list[ArticleRecord],
    prev_folder: Path | None,
    by_new: dict[str, Analysis],
) -> int:
    """passages.jsonl in passage order: a kept article's lines are copied byte for byte from
    the previous version's file, a new one's written."""
    old = b""
    if prev_folder is not None and any(r.id not in by_new for r in records):
        old = (prev_folder / "passages.jsonl").read_bytes()
    n = 0
    pos = 0
    with (work / "passages.jsonl").open("wb") as fh:
        for r in records:
            an = by_new.get(r.id)
            if an is None:
                start, end = r.jsonl
                chunk = old[start:end]
            else:
                chunk = "".join(
                    json.dumps(asdict(p), ensure_ascii=False) + "\n" for p in an.passages
                ).encode("utf-8")
            fh.write(chunk)
            r.jsonl = (pos, pos + len(chunk))
            pos += len(chunk)
            n += len(r.pids)
    return n


def _article_rows(records: list[ArticleRecord], store: RowStore, field_name: str) -> np.ndarray:
    """Each article's first global row of one kind (``field_name``: see _FIELD)."""
    return np.array(
        [store.bounds[r.segment] + getattr(r, field_name)[0] for r in records], dtype=np.int64
    )


def _write_layout(
    work: Path, records: list[ArticleRecord], stores: dict[str, RowStore], n: int
) -> None:
    """passage_rows.npy (each passage's vector row) and sentence_ranges.npy."""
    counts = np.array([r.passages[1] for r in records], dtype=np.int64)
    if not n:
        np.save(work / "passage_rows.npy", np.zeros(0, dtype=np.int64))
        np.save(work / SENTENCE_RANGES, np.zeros((0, 2), dtype=np.int64))
        return
    first = _article_rows(records, stores[PASSAGE_VECTORS], "passages")
    rows = np.repeat(first - np.cumsum(counts) + counts, counts) + np.arange(n)
    np.save(work / "passage_rows.npy", rows.astype(np.int64))
    meta = stores["passage_meta.npy"].take(rows)
    sent_counts = meta[:, 0].astype(np.int64)
    sfirst = np.repeat(_article_rows(records, stores[SENTENCE_VECTORS], "sentences"), counts)
    excl = np.cumsum(sent_counts) - sent_counts  # sentences before each passage, overall
    art_start = np.repeat(np.cumsum(counts) - counts, counts)  # each article's first passage
    starts = sfirst + excl - excl[art_start]
    np.save(work / SENTENCE_RANGES, np.stack([starts, starts + sent_counts], axis=1))


def _write_lexical(
    work: Path,
    records: list[ArticleRecord],
    stores: dict[str, RowStore],
    tables: _Tables,
    n: int,
) -> None:
    """BM25 and the query vocabulary, from every article's stored counts."""
    rows = np.load(work / "passage_rows.npy")
    meta = stores["passage_meta.npy"].take(rows)
    tfirst = _article_rows(records, stores["terms.npy"], "terms")
    tcount = np.array([r.terms[1] for r in records], dtype=np.int64)
    pairs = stores["terms.npy"].ranges(tfirst, tcount)
    lexical = LexicalIndex.from_counts(
        list(tables.terms),
        np.concatenate([[0], np.cumsum(meta[:, 1].astype(np.int64))]),
        pairs[:, 0],
        pairs[:, 1],
        meta[:, 2].astype(np.int64),
    )
    lexical.save(work)
    wfirst = _article_rows(records, stores["words.npy"], "words")
    wcount = np.array([r.words[1] for r in records], dtype=np.int64)
    words = stores["words.npy"].ranges(wfirst, wcount)
    # Texts in corpus order: every body (newest article first), then every title.
    article_rank = np.repeat(np.arange(len(records), dtype=np.int64), wcount)
    ranks = article_rank + words[:, 4].astype(np.int64) * len(records)
    vocab = Vocabulary.from_counts(
        list(tables.words),
        np.array(list(tables.pairs), dtype=np.int64).reshape(-1, 2),
        words[:, :4],
        ranks,
    )
    (work / "vocab.json").write_text(
        json.dumps(vocab.to_json(), ensure_ascii=False), encoding="utf-8"
    )


def _acronyms(
    records: list[ArticleRecord], by_new: dict[str, Analysis], content_dir: Path
) -> dict[str, list[str]]:
    """Acronyms from every article's evidence; an article whose evidence lacks phrases for
    an initialism is read again (rare: a new acronym, or a removal within the budget)."""

    def rescan(i: int, wanted: set[str]) -> list[tuple[int, int, str, str]]:
        r = records[i]
        an = by_new.get(r.id)
        body = an.article.body if an else read_article(articles_dir(content_dir) / r.file).body
        return initial_phrases(body, wanted)

    return acronyms_from_evidence([r.acronyms for r in records], rescan)
