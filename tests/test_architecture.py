"""The layers of README's architecture, enforced: `lint-imports` (import-linter, configured in
pyproject.toml) passes on the project and fails when a forbidden import is added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def copy_project(tmp_path: Path) -> Path:
    for name in ("index", "bot"):
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_layers_hold(tmp_path: Path) -> None:
    result = lint(copy_project(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        # a bot module reaching into the engine's internals
        (
            "bot/render.py",
            "from index.retrieval.engine import Engine",
            "bot.render -> index.retrieval.engine",
        ),
        # the reading side importing the builder
        (
            "index/retrieval/engine.py",
            "from index.build.pipeline import build_index",
            "index.retrieval.engine -> index.build.pipeline",
        ),
    ],
)
def test_a_forbidden_import_breaks_a_contract(
    tmp_path: Path, module: str, line: str, broken: str
) -> None:
    root = copy_project(tmp_path)
    with (root / module).open("a", encoding="utf-8") as fh:
        fh.write(f"\n{line}  # noqa\n")
    result = lint(root)
    assert result.returncode != 0
    assert broken in result.stdout


def test_every_public_name_resolves() -> None:
    """index/__init__.py's lazy exports: each name in __all__ loads, and nothing else is."""
    import index

    assert set(index.__all__) == set(index._EXPORTS)
    for name in index.__all__:
        assert getattr(index, name) is not None, name


def test_serving_loads_no_fetching_library() -> None:
    """The bot's start (its application, the engine's use cases) imports none of the feed and
    page libraries (trafilatura, lxml, feedparser, babel: ~9 MB resident on a server with a
    300 MB budget): they load on the first /update. Nor scipy (~20 MB): BM25 is added up with
    numpy."""
    code = (
        "import sys, index, bot.app; "
        "index.open_engine; index.update; index.fetch_feeds; index.Engine; "
        "print(sorted(m for m in ('trafilatura', 'feedparser', 'lxml', 'babel', 'scipy', 'bm25s') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout
