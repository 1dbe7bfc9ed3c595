"""The layers of README's architecture, enforced: `lint-imports` (import-linter, configured in
pyproject.toml) passes on the project and fails when a forbidden import is added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

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


def test_a_bot_module_reaching_into_the_engine_breaks_a_contract(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    with (root / "bot" / "render.py").open("a", encoding="utf-8") as fh:
        fh.write("\nfrom index.search import Engine  # noqa\n")
    result = lint(root)
    assert result.returncode != 0
    assert "bot.render -> index.search" in result.stdout


def test_the_engine_importing_the_builder_breaks_a_contract(tmp_path: Path) -> None:
    root = copy_project(tmp_path)
    with (root / "index" / "search.py").open("a", encoding="utf-8") as fh:
        fh.write("\nfrom index.build import build_index  # noqa\n")
    result = lint(root)
    assert result.returncode != 0
    assert "index.search is not allowed to import index.build" in result.stdout
