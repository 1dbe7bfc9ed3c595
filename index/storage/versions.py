"""Index versions on disk: each build is written into its own folder, checked, then published
by atomically replacing the ``CURRENT`` pointer. Readers never see a half-written index."""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from index.corpus.article import atomic_write_text
from index.storage.layout import MANIFEST, POINTER, VERSIONS_DIR

log = logging.getLogger(__name__)

# 2: sentence vectors; 3: row segments shared between versions (index/storage/segments.py)
FORMAT = 3
KEEP_VERSIONS = 3


class IndexUnavailable(RuntimeError):
    """A missing, corrupt or mismatched index; the message says which and what to do."""


class IndexDamaged(IndexUnavailable):
    """A published version whose files are missing, unreadable or fail their checksums:
    the engine serves an older intact version, the next build replaces it."""


@dataclass
class Manifest:
    format: int
    version: str
    built_at: str
    model_id: str
    dim: int
    corpus_hash: str
    articles: int
    passages: int
    newest_article: str | None
    approximate: bool
    files: dict[str, str] = field(default_factory=dict)  # name → sha256
    model: dict = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, ensure_ascii=False, sort_keys=True)

    @staticmethod
    def from_file(path: Path) -> Manifest:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            manifest = Manifest(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise IndexDamaged(f"corrupt manifest {path}: {exc.__class__.__name__}") from exc
        if manifest.format != FORMAT:
            raise IndexUnavailable(f"index format {manifest.format} at {path}; expected {FORMAT}")
        return manifest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _checksums(folder: Path, names: list[str]) -> dict[str, str]:
    """sha256 of each file, two at a time (hashlib releases the GIL: ~2x on 2 cores)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        return dict(zip(names, pool.map(lambda n: _sha256(folder / n), names), strict=True))


def verify_files(folder: Path, manifest: Manifest, names: list[str]) -> None:
    """Check some of a version's files against its manifest (what a build reuses)."""
    missing = [n for n in names if n not in manifest.files or not (folder / n).is_file()]
    if missing:
        raise IndexDamaged(f"index version {manifest.version} lacks {missing[0]}: rebuild it")
    for name, digest in _checksums(folder, names).items():
        if digest != manifest.files[name]:
            raise IndexDamaged(
                f"index version {manifest.version}: {name} is corrupt (checksum): rebuild it"
            )


# Work folders of running builds, each locked (flock) by its build: a folder nobody locks
# is a build's that died (kill -9, power loss) and is removed by the next build.
_HELD: dict[Path, int] = {}


def new_version_dir(index_dir: Path) -> tuple[str, Path]:
    """A fresh, hidden working folder beside the published versions, locked while its build
    runs. It is locked before it gets its ``.build-`` name, so no sweep can take it for a
    dead build's."""
    versions = index_dir / VERSIONS_DIR
    versions.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    fresh = Path(tempfile.mkdtemp(prefix=f".init-{stamp}-", dir=versions))
    fd = os.open(fresh, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a filesystem without locks: only the age rule sweeps it
        os.close(fd)
        fd = -1
    work = fresh.with_name(".build-" + fresh.name.removeprefix(".init-"))
    os.replace(fresh, work)
    if fd >= 0:
        _HELD[work] = fd
    return stamp, work


def discard_work(work: Path) -> None:
    """An abandoned build's folder: removed, its lock released."""
    shutil.rmtree(work, ignore_errors=True)
    _release(work)


def _release(work: Path) -> None:
    fd = _HELD.pop(work, None)
    if fd is not None:
        os.close(fd)


def _abandoned(folder: Path) -> bool:
    """No running build holds this work folder's lock (where locks work; else an hour old)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a build is writing it
    except OSError:
        return _older_than(folder, 3600)
    finally:
        os.close(fd)
    return True


def _older_than(path: Path, seconds: float) -> bool:
    try:
        return dt.datetime.now().timestamp() - path.stat().st_mtime > seconds
    except OSError:
        return False


def sweep_dead_builds(index_dir: Path) -> list[str]:
    """Remove the work folders of builds that died; returns their names."""
    versions = index_dir / VERSIONS_DIR
    swept = []
    for stale in sorted(versions.glob(".build-*")) if versions.is_dir() else []:
        if stale.is_dir() and _abandoned(stale):
            shutil.rmtree(stale, ignore_errors=True)
            swept.append(stale.name)
    for stale in versions.glob(".init-*") if versions.is_dir() else []:
        if _older_than(stale, 3600):  # killed within microseconds of its creation
            shutil.rmtree(stale, ignore_errors=True)
    if swept:
        log.warning("removed the work folders of interrupted builds: %s", ", ".join(swept))
    return swept


def publish(
    index_dir: Path, work: Path, manifest: Manifest, known: dict[str, str] | None = None
) -> Path:
    """Checksum the files, write the manifest last, rename into place, switch the pointer.
    ``known``: checksums of files hard-linked from a verified version, not read again."""
    known = known or {}
    names = [
        p.relative_to(work).as_posix()
        for p in sorted(work.rglob("*"))
        if p.is_file() and p.name != MANIFEST
    ]
    fresh = _checksums(work, [n for n in names if n not in known])
    manifest.files = {n: known.get(n) or fresh[n] for n in names}
    (work / MANIFEST).write_text(manifest.to_json(), encoding="utf-8")
    final = index_dir / VERSIONS_DIR / manifest.version
    os.replace(work, final)
    _release(work)
    atomic_write_text(index_dir / POINTER, manifest.version + "\n")
    _prune(index_dir, keep=manifest.version)
    return final


def published_versions(index_dir: Path) -> list[str]:
    """Published version names, oldest first (names are build timestamps)."""
    versions = index_dir / VERSIONS_DIR
    if not versions.is_dir():
        return []
    return sorted(p.name for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))


def _prune(index_dir: Path, keep: str) -> None:
    versions = index_dir / VERSIONS_DIR
    for old in published_versions(index_dir)[:-KEEP_VERSIONS]:
        if old != keep:
            shutil.rmtree(versions / old, ignore_errors=True)
    sweep_dead_builds(index_dir)


def current_version(index_dir: Path) -> str | None:
    try:
        name = (index_dir / POINTER).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return name or None


def open_version(
    index_dir: Path, version: str | None = None, *, verify: bool = True
) -> tuple[Path, Manifest]:
    """The folder and manifest of a published version, checked against its checksums."""
    version = version or current_version(index_dir)
    if not version:
        raise IndexUnavailable(f"no index in {index_dir}: run `python -m index build`")
    folder = index_dir / VERSIONS_DIR / version
    if not folder.is_dir():
        raise IndexDamaged(f"index version {version} is missing from {index_dir}")
    manifest = Manifest.from_file(folder / MANIFEST)
    if verify:
        verify_files(folder, manifest, list(manifest.files))
    return folder, manifest


def intact_older_versions(index_dir: Path, model_id: str) -> Iterator[tuple[Path, Manifest]]:
    """Published versions older than the current one that pass their checksums and were
    built with ``model_id``, newest first: what serves while the current one is damaged
    (versions share hard-linked segments, so an older one may be damaged too)."""
    current = current_version(index_dir)
    for name in reversed(published_versions(index_dir)):
        if current is not None and name >= current:
            continue
        try:
            folder, manifest = open_version(index_dir, name)
        except IndexUnavailable as exc:
            log.warning("older index version not usable either: %s", exc)
            continue
        if manifest.model_id == model_id:
            yield folder, manifest
