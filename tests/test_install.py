"""`pip install .` without extras must run every feature: every third-party module that `bot/`
and `index/` import comes with a runtime dependency (pyproject `dependencies` and what they
pull in), not only with the `dev` extra.

The slow opt-in test (``CAMPAIGN_BOT_INSTALL_TEST=1``) proves it for real: a fresh venv,
``pip install .``, then the health server answers ``/healthz``.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import tomllib
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
OURS = {"bot", "index"}


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_top_modules() -> dict[str, str]:
    """Top-level modules imported by our packages (absolute imports) -> one file importing it."""
    found: dict[str, str] = {}
    for package in sorted(OURS):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".", 1)[0], str(path.relative_to(ROOT)))
    return found


def runtime_distributions() -> set[str]:
    """The distributions `pip install .` brings: `dependencies`, then theirs, extras honoured."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    todo = [(Requirement(r), "") for r in project["dependencies"]]
    seen: set[str] = set()
    extras_seen: set[tuple[str, str]] = set()
    while todo:
        req, via_extra = todo.pop()
        if req.marker and not req.marker.evaluate({"extra": via_extra}):
            continue
        name = _canon(req.name)
        for extra in {"", *req.extras}:
            if (name, extra) in extras_seen:
                continue
            extras_seen.add((name, extra))
            seen.add(name)
            try:
                requires = metadata.requires(req.name) or []
            except metadata.PackageNotFoundError:
                continue  # not installed here (another platform's marker): nothing to follow
            todo += [(Requirement(r), extra) for r in requires]
    return seen


def test_every_imported_module_comes_with_a_runtime_dependency() -> None:
    runtime = runtime_distributions()
    providers = metadata.packages_distributions()
    missing = []
    for module, where in sorted(imported_top_modules().items()):
        if module in OURS or module in sys.stdlib_module_names or module == "__future__":
            continue
        dists = {_canon(d) for d in providers.get(module, [])}
        assert dists, f"{module} (imported by {where}) is not installed at all"
        if not dists & runtime:
            missing.append(f"{module} ({where}; from {sorted(dists)})")
    assert not missing, "only in a dev extra, not in `dependencies`: " + ", ".join(missing)


def test_dev_extra_holds_no_runtime_import() -> None:
    """The check above sees the dev extra as not installed by `pip install .`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dev = {_canon(Requirement(r).name) for r in project["optional-dependencies"]["dev"]}
    assert "pytest" in dev and "pytest" not in runtime_distributions()


@pytest.mark.skipif(
    os.environ.get("CAMPAIGN_BOT_INSTALL_TEST") != "1",
    reason="slow (a fresh venv and `pip install .`): set CAMPAIGN_BOT_INSTALL_TEST=1",
)
def test_fresh_venv_pip_install_serves_healthz(tmp_path: Path) -> None:
    source = tmp_path / "src"  # pip builds in the source tree: keep the checkout clean
    skip = shutil.ignore_patterns(".*", "data", "build", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT, source, ignore=skip)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = [str(python), "-m", "pip", "install", "-q", str(source)]
    subprocess.run(install, check=True, timeout=900)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = textwrap.dedent(f"""
        import asyncio
        from types import SimpleNamespace
        from bot.health import start_health_server

        async def main():
            svc = SimpleNamespace(engine=None)
            runner = await start_health_server(svc, "127.0.0.1", {port})
            assert runner is not None
            await asyncio.sleep(30)

        asyncio.run(main())
    """)
    server = subprocess.Popen([str(python), "-c", script], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            except urllib.error.HTTPError as exc:  # 503 "starting": no engine in this check
                assert exc.code == 503 and b"starting" in exc.read()
                break
            except OSError:
                assert server.poll() is None, "the health server exited"
                assert time.monotonic() < deadline, "no answer on /healthz"
                time.sleep(0.2)
    finally:
        server.kill()
        server.wait()
