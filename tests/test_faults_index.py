"""Faults of the engine and the index, injected through the real path: damaged version files,
hostile or broken article files, a corrupt embedding cache, a build killed mid-way."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from bot_fixtures import run_terminal_bot
from settings_env import settings_env
from test_incremental import _article

from index import open_engine
from index.build.pipeline import build_index
from index.config import IndexSettings
from index.corpus.folder import articles_dir, load_corpus, save_article
from index.retrieval.engine import Engine
from index.storage.versions import IndexDamaged, current_version, open_version
from index.types import Article

QUESTION = "Que détectent les capteurs sonores à Montpellier ?"


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
                    Engine.open(copy, embedder)
                started = open_engine(copy, embedder)  # the bot at start: builds, then serves
                assert started.info().version not in (first, second), kind
            else:
                served = Engine.open(copy, embedder)
                assert served.info().version == first, kind
                assert served.search("vidéosurveillance algorithmique").answered, kind
                assert f"serving the older version {first}" in caplog.text, kind
        report = build_index(copy, embedder, progress=False)
        assert (report.changed or shared) and report.version != second, kind
        open_version(copy.index_dir)  # every file checked: nothing damaged linked
        repaired = Engine.open(copy, embedder)
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


def test_the_bot_starts_on_a_damaged_index(two_versions, tmp_path: Path) -> None:
    """`python -m bot` (terminal chat) over an index whose current version is damaged: it
    starts, says which version it serves, and answers."""

    settings, first, second = two_versions
    copy = _copy(settings, tmp_path)
    flip_bytes(copy.index_dir / "versions" / second / "articles.json")
    proc = run_terminal_bot(copy, tmp_path, "vidéosurveillance algorithmique\n")
    assert f"serving the older version {first}" in proc.stderr
    assert "│ " in proc.stdout  # a quote


def test_a_damaged_current_version_is_refused_once(
    two_versions, tmp_path: Path, embedder, caplog: pytest.LogCaptureFixture
) -> None:
    """Serving an older version, the bot's reload (every minute) does not check the damaged
    one again and again (a full checksum pass, an error line each time)."""
    settings, first, second = two_versions
    copy = _copy(settings, tmp_path)
    flip_bytes(copy.index_dir / "versions" / second / "vocab.json")
    served = Engine.open(copy, embedder)
    assert served.info().version == first
    with caplog.at_level(logging.ERROR, logger="index"):
        assert served.reload_if_changed() is False
        assert served.reload_if_changed() is False
    assert caplog.text.count("new index version refused") == 1
    report = build_index(copy, embedder, progress=False)
    assert served.reload_if_changed() is True and served.info().version == report.version


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
    assert Engine.open(copy, embedder).search(QUESTION).answered
    assert len(list(articles_dir(content).glob("*.md"))) == report.articles


FRONT = (
    "---\ntitle: {title}\ndate: {date}\nurl: https://example.org/{slug}/\nsource: Test\n"
    "lang: fr\n{more}---\n\n{body}\n"
)
ALIAS_BOMB = (
    "a: &a [x,x,x,x,x,x,x,x,x]\n"
    + "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "title: *i\n"
)
BROKEN = {
    "impossible-date.md": FRONT.format(title="Date", date="2024-02-30", slug="d", more="",
                                       body="Un texte."),
    "tagged-date.md": FRONT.format(title="Date", date="!!timestamp 2024-02-30", slug="t",
                                   more="", body="Un texte."),
    "bad-yaml.md": "---\ntitle: [unclosed\ndate: 2024-01-01\n---\n\nTexte.\n",
    "no-title.md": FRONT.format(title="''", date="2024-01-01", slug="n", more="", body="Texte."),
    "python-tag.md": FRONT.format(title="!!python/object/apply:os.system ['true']",
                                  date="2024-01-01", slug="p", more="", body="Texte."),
    "deep.md": FRONT.format(title="[" * 5000 + "]" * 5000, date="2024-01-01", slug="x",
                            more="", body="Texte."),
    "alias-bomb.md": "---\n" + ALIAS_BOMB + "date: 2024-01-01\nurl: https://e.org/a/\n"
                     "source: T\nlang: fr\n---\n\nTexte.\n",
    "escape.md": FRONT.format(title="Évasion", date="2024-01-01", slug="e",
                              more="id: ../../escaped\n", body="Texte."),
    "not-utf8.md": "---\ntitle: caf\xe9\n---\n",  # written as latin-1 below
    "garbage.md": "",  # random bytes below
}  # fmt: skip


def _write_broken(folder: Path) -> list[Path]:
    paths = []
    for name, text in BROKEN.items():
        path = folder / name
        if name == "not-utf8.md":
            path.write_bytes(text.encode("latin-1"))
        elif name == "garbage.md":
            path.write_bytes(bytes(range(256)) * 8)
        else:
            path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def test_malformed_article_files_are_skipped_by_name_and_the_others_build(
    tmp_path: Path, index_settings: IndexSettings, embedder
) -> None:
    """An impossible date stopped every build (a ValueError from the YAML library); each
    malformed file is now skipped with a warning naming it, and the rest is indexed."""
    from bot.check import FAIL, check_content

    content = tmp_path / "content"
    shutil.copytree(index_settings.content_dir, content)
    seeds = len(list(articles_dir(content).glob("*.md")))
    broken = _write_broken(articles_dir(content))
    settings = settings_for(content, tmp_path / "index", index_settings)
    report = build_index(settings, embedder, progress=False)
    assert report.articles == seeds
    assert len(report.skipped) == len(broken)
    assert report.skipped == load_corpus(content).errors  # the corpus is read one way
    for path in broken:
        assert sum(str(path) in s for s in report.skipped) == 1, path.name
    summary = report.summary()
    assert "impossible-date.md: date '2024-02-30' is not a valid ISO 8601 date" in summary
    assert "alias-bomb.md: front matter is not valid YAML (aliases are not allowed)" in summary
    assert "escape.md: id '../../escaped' is not a slug" in summary
    assert not (tmp_path / "escaped.md").exists()
    assert Engine.open(settings, embedder).search("vidéosurveillance algorithmique").answered
    check = check_content(settings)
    assert check.status == FAIL and check.detail.startswith(f"{len(broken)} article file(s) in")
    assert "impossible-date.md" in check.detail and "python -m index build" in check.detail


def test_import_refuses_hostile_front_matter(tmp_path: Path) -> None:
    """`index import` of an id that climbs out of content/, an absolute id, and a 1 KB alias
    bomb: each refused with a message, quickly, and nothing written outside content/."""
    import sys
    import time

    from index.corpus.article import ArticleError

    REPO = Path(__file__).resolve().parents[1]
    outside = tmp_path / "outside"
    files = {
        "climb.md": FRONT.format(title="A", date="2024-01-01", slug="a",
                                 more="id: ../../outside/pwned\n", body="Texte."),
        "absolute.md": FRONT.format(title="B", date="2024-01-01", slug="b",
                                    more=f"id: {outside}/abs\n", body="Texte."),
        "bomb.md": BROKEN["alias-bomb.md"],
        "fine.md": FRONT.format(title="Correct", date="2024-01-01", slug="c", more="",
                                body="Un article correct."),
    }  # fmt: skip
    assert len(BROKEN["alias-bomb.md"]) < 1100
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    content = tmp_path / "content"
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "index", "--content-dir", str(content), "import",
         *(str(tmp_path / n) for n in files)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert time.monotonic() - started < 30
    assert run.returncode == 0, run.stderr  # one file imported
    assert "Traceback" not in run.stderr
    assert "climb.md: id '../../outside/pwned' is not a slug" in run.stderr
    assert f"absolute.md: id '{outside}/abs' is not a slug" in run.stderr
    assert "bomb.md: front matter is not valid YAML (aliases are not allowed)" in run.stderr
    assert [p.name for p in articles_dir(content).iterdir()] == ["fine.md"]
    assert not outside.exists() and not list(tmp_path.glob("**/pwned*"))
    # save_article itself never leaves the folder, whatever builds the Article.
    with pytest.raises(ArticleError, match="outside"):
        save_article(content, Article(**{**SOUND.__dict__, "id": "../../outside/x"}))


@pytest.mark.parametrize("damage", ["garbage", "pages"])
def test_corrupt_embedding_cache_is_discarded_and_the_build_succeeds(
    damage: str, tmp_path: Path, index_settings: IndexSettings, embedder,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    """The SQLite embedding cache is disposable: unreadable, it is dropped and rebuilt."""
    content = tmp_path / "content"
    articles_dir(content).mkdir(parents=True)
    smallest = min(articles_dir(index_settings.content_dir).glob("*.md"), key=os.path.getsize)
    shutil.copy(smallest, articles_dir(content))
    save_article(content, SOUND)
    settings = IndexSettings(content_dir=content, index_dir=tmp_path / "index",
                             cache_dir=tmp_path / "cache", embedding_model="minilm",
                             embedding_backend=index_settings.embedding_backend)  # fmt: skip
    from index.models.embed import Embedder

    fresh = Embedder.__new__(Embedder)  # the session's model, its own cache
    fresh.__dict__.update({**embedder.__dict__, "settings": settings, "_cache": None})
    build_index(settings, fresh, progress=False)
    fresh.cache.close()
    cache = settings.cache_dir / "embeddings.sqlite3"
    size = cache.stat().st_size
    assert size > 16 * 1024
    if damage == "garbage":
        cache.write_bytes(os.urandom(size))
    else:  # the header intact, the b-tree pages overwritten
        with cache.open("r+b") as fh:
            fh.seek(4096)
            fh.write(b"\xa5" * (size - 8192))
    fresh.__dict__["_cache"] = None
    with caplog.at_level(logging.WARNING, logger="index"):
        report = build_index(settings, fresh, force=True, progress=False)
    assert f"embedding cache {cache} unreadable" in caplog.text
    assert report.embedded == report.passages > 0
    answer = Engine.open(settings, fresh).search(QUESTION)
    assert answer.answered and answer.results[0].title == SOUND.title
    fresh.cache.close()
    fresh.__dict__["_cache"] = None
    again = build_index(settings, fresh, force=True, progress=False)
    assert again.embedded == 0  # the rebuilt cache serves


BAD_TEXT = ["caméras \udcff\udc9b à Nice", "\ud800 reconnaissance faciale", "VSA \udfff\ud83d"]


@pytest.mark.parametrize("question", BAD_TEXT)
def test_search_takes_lone_surrogates_and_undecodable_bytes(engine, question: str) -> None:
    answer = engine.search(question)
    json.dumps(answer.to_json(), ensure_ascii=False).encode("utf-8")  # printable as UTF-8


def test_clean_text() -> None:
    from index import clean_text

    assert clean_text("caf\udcc3\udca9") == "café"  # UTF-8 bytes carried by surrogateescape
    assert clean_text("x\udc9by") == "x\ufffdy"
    assert clean_text("\ud83d\ude00 \ud800") == "😀 \ufffd"
    ok = "déjà vu 😀"
    assert clean_text(ok) is ok


def test_ask_cli_survives_invalid_utf8(index_settings, engine) -> None:
    """A raw \\x9b byte in the question argument, and a batch on stdin whose second line is
    not UTF-8: every line is answered, no traceback."""
    import sys

    REPO = Path(__file__).resolve().parents[1]
    env = settings_env(index_settings)
    ask = [sys.executable, "-m", "index", "ask", "--json", "--k", "2"]
    one = subprocess.run([*ask, b"cam\xc3\xa9ras \x9b \xff\xfe Nice"], env=env, cwd=REPO,
                         capture_output=True, timeout=300)  # fmt: skip
    assert one.returncode == 0 and b"Traceback" not in one.stderr, one.stderr
    assert json.loads(one.stdout.decode("utf-8"))["query"] == "caméras \ufffd \ufffd\ufffd Nice"
    question = "Quelle société a installé des détecteurs sonores à Orléans ?\n".encode()
    batch = question + b"\xff\x9b cam\xe9ras \xc3\n\xed\xa0\x80\n" + question
    many = subprocess.run([*ask, "-"], input=batch, env=env, cwd=REPO, capture_output=True,
                          timeout=300)  # fmt: skip
    assert many.returncode == 0 and b"Traceback" not in many.stderr, many.stderr
    lines = [json.loads(line) for line in many.stdout.decode("utf-8").splitlines()]
    assert len(lines) == 4 and all("error" not in line for line in lines)
    assert lines[0]["answered"] and lines[3]["answered"]
    assert lines[0]["results"] == lines[3]["results"]
    assert "\ufffd" in lines[1]["query"]


def _versions(index_dir: Path) -> Path:
    return index_dir / "versions"


# When to kill a build: a glob under versions/ that appears at that phase (None: a delay).
KILL_PHASES = {
    "loading the model": None,
    "work folder created": ".build-*",
    "segment written": ".build-*/segments/*/words.npy",
    "lexical index written": ".build-*/vocab.json",
}


def _build_killed_at(env: dict, index_dir: Path, marker: str | None) -> bool:
    """Run `python -m index build` and SIGKILL it when ``marker`` appears; True when killed
    at that phase (False: it finished first)."""
    import signal
    import sys
    import time

    REPO = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "index", "build", "--quiet"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        if marker is None:
            time.sleep(1.0)
        else:
            while not list(_versions(index_dir).glob(marker)):
                if proc.poll() is not None or time.monotonic() > deadline:
                    return False
                time.sleep(0.0005)
        os.kill(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_build_killed_at_each_phase_keeps_the_index_and_recovers(
    tmp_path: Path, index_settings: IndexSettings, embedder, engine
) -> None:
    """kill -9 of a real build process at several phases: the published version keeps
    serving, intact; the next build completes and leaves no work folder behind."""
    content = tmp_path / "content"
    articles_dir(content).mkdir(parents=True)
    for path in sorted(articles_dir(index_settings.content_dir).glob("*.md"))[:3]:
        shutil.copy(path, articles_dir(content))
    settings = IndexSettings(content_dir=content, index_dir=tmp_path / "index",
                             cache_dir=tmp_path / "cache", embedding_model="minilm",
                             embedding_backend=index_settings.embedding_backend)  # fmt: skip
    shutil.copytree(index_settings.cache_dir, settings.cache_dir)  # vectors of the seeds
    first = build_index(settings, embedder, progress=False)
    env = settings_env(settings, CONTENT_DIR=str(content))
    for n, (phase, marker) in enumerate(KILL_PHASES.items()):
        # Something to build each time: a new article (its vectors not cached).
        body = f"Des micros numéro {n} écoutent la rue piétonne."
        save_article(content, _article(f"micro-{n}", f"Micros {n}", dt.date(2024, 6, 1 + n), body))
        killed = any(_build_killed_at(env, settings.index_dir, marker) for _ in range(3))
        assert killed, f"the build finished before {phase}"
        current = current_version(settings.index_dir)
        open_version(settings.index_dir, current)  # intact, whichever it is
        engine = Engine.open(settings, embedder)
        assert engine.search("vidéosurveillance algorithmique").answered, phase
        if marker is not None and marker.startswith(".build-"):
            assert list(_versions(settings.index_dir).glob(".build-*")), phase
    report = build_index(settings, embedder, progress=False)
    assert report.changed and report.articles == 3 + len(KILL_PHASES)
    assert not list(_versions(settings.index_dir).glob(".build-*"))
    assert not list(_versions(settings.index_dir).glob(".init-*"))
    open_version(settings.index_dir, first.version)  # the first version kept, intact
    engine = Engine.open(settings, embedder)
    assert engine.search("Des micros écoutent-ils la rue piétonne ?").answered


def _cached_vectors(cache_dir: Path) -> int:
    import sqlite3

    files = list(cache_dir.glob("*.sqlite3"))
    if not files:
        return 0
    try:
        db = sqlite3.connect(f"{files[0].resolve().as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            return int(db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def test_a_build_killed_while_embedding_keeps_what_it_embedded(
    tmp_path: Path, index_settings: IndexSettings, embedder
) -> None:
    """kill -9 of a full build from an empty cache in the middle of its embedding: the next
    build embeds only what the killed one had not (the cache is written every
    EMBEDDING_CHECKPOINT texts), and gives the same index as an uninterrupted build."""
    import signal
    import sys
    import time

    settings = IndexSettings(content_dir=index_settings.content_dir, index_dir=tmp_path / "index",
                             cache_dir=tmp_path / "cache", embedding_model="minilm",
                             embedding_backend=index_settings.embedding_backend)  # fmt: skip
    env = settings_env(
        settings,
        EMBEDDING_CHECKPOINT="16",
        PYTHONPATH=str(Path(__file__).resolve().parents[1]),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "index", "build", "--quiet"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while _cached_vectors(settings.cache_dir) < 32 and proc.poll() is None:
            assert time.monotonic() < deadline, "no vector reached the cache"
            time.sleep(0.05)
        assert proc.poll() is None, "the build ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    kept = _cached_vectors(settings.cache_dir)
    from index.models.embed import Embedder

    report = build_index(
        settings, Embedder(settings), progress=False
    )  # this cache, not the session's
    # Killed among the passages (131), with two checkpoints or more behind it: every vector
    # it had embedded is reused, only the others are embedded.
    assert 32 <= kept < report.passages
    assert (report.reused, report.embedded) == (kept, report.passages - kept)
    full = IndexSettings(**{**settings.model_dump(), "index_dir": tmp_path / "full",
                            "cache_dir": index_settings.cache_dir})  # fmt: skip
    build_index(full, embedder, progress=False)
    question = "Combien coûte une caméra de vidéosurveillance ?"
    resumed, whole = (Engine.open(s, embedder).search(question) for s in (settings, full))
    assert [r.quote for r in resumed.results] == [r.quote for r in whole.results]
