"""Faults of the engine and the index, injected through the real path: damaged version files,
hostile or broken article files, a corrupt embedding cache, a build killed mid-way."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from index.article import article_id
from index.build import build_index
from index.config import IndexSettings
from index.corpus import articles_dir, save_article
from index.search import Engine
from index.store import IndexDamaged, open_version
from index.types import Article

QUESTION = "Que détectent les capteurs sonores à Montpellier ?"


def _article(slug: str, title: str, date: dt.date, body: str) -> Article:
    url = f"https://example.org/{date:%Y/%m/%d}/{slug}/"
    return Article(id=article_id(url), title=title, date=date, url=url, source="Test",
                   lang="fr", body=body)  # fmt: skip


SOUND = _article(
    "capteurs-sonores",
    "Capteurs sonores à Montpellier",
    dt.date(2024, 5, 2),
    "La ville installe des capteurs sonores dans le quartier de l’Écusson.\n\n"
    "Ces micros détectent les cris et alertent la police municipale en temps réel.",
)


def settings_for(content: Path, index_dir: Path, index_settings: IndexSettings) -> IndexSettings:
    """The session's model and embedding cache (filled by ``engine``) over another folder."""
    return IndexSettings(content_dir=content, index_dir=index_dir,
                         cache_dir=index_settings.cache_dir, embedding_model="minilm",
                         embedding_backend=index_settings.embedding_backend)  # fmt: skip


def flip_bytes(path: Path) -> None:
    """Damage a file in place as bit rot would: same size, same modification time."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    for i in range(middle, min(middle + 8, len(data))):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory, index_settings, engine):
    """An index with two versions: the seed corpus, then one article more (an incremental
    build: the second version hard-links the first one's segment)."""
    tmp = tmp_path_factory.mktemp("two-versions")
    content = tmp / "content"
    shutil.copytree(index_settings.content_dir, content)
    settings = settings_for(content, tmp / "index", index_settings)
    first = build_index(settings, engine.embedder, progress=False)
    save_article(content, SOUND)
    second = build_index(settings, engine.embedder, progress=False)
    assert second.incremental
    return settings, first.version, second.version


def _copy(settings: IndexSettings, tmp_path: Path) -> IndexSettings:
    """A copy of the index that keeps its hard links (cp -a), over the same content."""
    subprocess.run(["cp", "-a", str(settings.index_dir), str(tmp_path / "index")], check=True)
    return settings_for(settings.content_dir, tmp_path / "index", settings)


def _version_files(settings: IndexSettings, version: str) -> list[str]:
    _, manifest = open_version(settings.index_dir, version)
    return ["manifest.json", *sorted(manifest.files)]


def test_every_damaged_version_file_is_served_around_then_repaired(
    two_versions, tmp_path: Path, embedder, caplog: pytest.LogCaptureFixture
) -> None:
    settings, first, second = two_versions
    kinds = _version_files(settings, second)
    assert any(k.startswith("segments/") for k in kinds) and len(kinds) > 10
    for n, kind in enumerate(kinds):
        work = tmp_path / str(n)
        work.mkdir()
        copy = _copy(settings, work)
        damaged = copy.index_dir / "versions" / second / kind
        shared = (copy.index_dir / "versions" / first / kind).exists() and (
            damaged.stat().st_ino == (copy.index_dir / "versions" / first / kind).stat().st_ino
        )
        flip_bytes(damaged)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="index"):
            if shared:  # the older version shares the damaged segment: nothing intact
                with pytest.raises(IndexDamaged):
                    Engine.open(copy, embedder, build_if_missing=False)
            else:
                served = Engine.open(copy, embedder, build_if_missing=False)
                assert served.info().version == first, kind
                assert served.search("vidéosurveillance algorithmique").answered, kind
                assert f"serving the older version {first}" in caplog.text, kind
        report = build_index(copy, embedder, progress=False)
        assert report.changed and report.version != second, kind
        open_version(copy.index_dir)  # every file checked: nothing damaged linked
        repaired = Engine.open(copy, embedder, build_if_missing=False)
        assert repaired.info().version == report.version, kind
        answer = repaired.search(QUESTION)
        assert answer.answered and answer.results[0].title == SOUND.title, kind
        shutil.rmtree(work)


def test_check_reports_a_damaged_version_and_its_repair(two_versions, tmp_path: Path) -> None:
    from bot.check import FAIL, check_index

    settings, first, second = two_versions
    copy = _copy(settings, tmp_path)
    flip_bytes(copy.index_dir / "versions" / second / "articles.json")
    check, _ = check_index(copy)
    assert check.status == FAIL
    assert "articles.json is corrupt" in check.detail
    assert f"older version {first}" in check.detail
    assert "python -m index build" in check.detail and "builds it at start" not in check.detail


def test_build_after_damage_to_a_version_shared_by_hard_links(
    two_versions, tmp_path: Path, embedder
) -> None:
    """One more article after a damaged shared segment: the incremental build must not link
    the damaged segment into the new version (it checks every file it reuses)."""
    settings, _, second = two_versions
    content = tmp_path / "content"
    shutil.copytree(settings.content_dir, content)
    copy = settings_for(content, _copy(settings, tmp_path).index_dir, settings)
    segment = next((copy.index_dir / "versions" / second / "segments").iterdir())
    flip_bytes(segment / "passages.npy")
    more = _article(
        "micros",
        "Des micros dans la rue",
        dt.date(2024, 6, 1),
        "Des micros écoutent les passants dans la rue piétonne du centre-ville.",
    )
    save_article(content, more)
    report = build_index(copy, embedder, progress=False)
    assert not report.incremental and "passages.npy is corrupt" in report.repaired
    open_version(copy.index_dir)  # raises when a damaged file was linked
    assert Engine.open(copy, embedder, build_if_missing=False).search(QUESTION).answered
    assert len(list(articles_dir(content).glob("*.md"))) == report.articles
