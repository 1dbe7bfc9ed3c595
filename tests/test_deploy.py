"""The deployment recipe: Dockerfile lint, the image's build steps run for real in a fresh
virtual environment (no Docker engine on CI machines), .env.example and compose.yaml."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT = 1200  # torch and friends from the local wheel cache: ~2-3 minutes here
PREPARE_TIMEOUT = 900


def _hadolint() -> str | None:
    beside = Path(sys.executable).parent / "hadolint"
    return str(beside) if beside.exists() else shutil.which("hadolint")


def test_dockerfile_passes_hadolint() -> None:
    binary = _hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed")
    run = subprocess.run(
        [binary, "Dockerfile"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_env_example_is_generated_from_the_settings() -> None:
    from bot.envfile import env_example

    generated = env_example()
    committed = (REPO / ".env.example").read_text(encoding="utf-8")
    assert committed == generated, "run `python -m bot env-example > .env.example`"
    from bot.settings import BotSettings
    from index.config import IndexSettings

    for cls in (BotSettings, IndexSettings):
        for name in cls.model_fields:
            assert f"\n# {name.upper()}=" in generated, name
    assert "TOKEN=123" not in generated and "SECRET=" in generated


def test_env_example_cli() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bot", "env-example"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert run.stdout == (REPO / ".env.example").read_text(encoding="utf-8")


def test_compose_file_has_polling_and_webhook_services() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    polling, webhook = services["bot"], services["bot-webhook"]
    assert "profiles" not in polling  # the default
    assert webhook["profiles"] == ["webhook"]
    assert polling["environment"]["WEBHOOK_URL"] == ""
    for service in (polling, webhook):
        assert "bot-data:/app/data" in service["volumes"]
        assert "bot-content:/app/content" in service["volumes"]
        assert service["env_file"][0]["path"] == ".env"
        assert service["healthcheck"]["test"][0] == "CMD"
    assert any(p.endswith(":8443") for p in webhook["ports"])
    assert any(p.endswith(":8080") for p in webhook["ports"])
    assert set(compose["volumes"]) == {"bot-data", "bot-content"}


def test_systemd_unit_runs_the_bot() -> None:
    unit = (REPO / "docs" / "campaign-bot.service").read_text(encoding="utf-8")
    assert "ExecStart=" in unit and "-m bot" in unit
    assert "EnvironmentFile=" in unit and "User=" in unit


def _copy_repo(dest: Path) -> None:
    """Tracked and untracked-but-not-ignored files: what `docker build` would see, minus
    data/, .venv and the rest of .dockerignore (all ignored by git too)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True, timeout=60,
    ).stdout.decode()  # fmt: skip
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if not source.is_file():  # deleted in the work tree
            continue
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _clean_env(tmp: Path) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != venv_bin)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "WEBHOOK_", "HEALTH_", "EMBEDDING_", "PYTHON"))
        and k not in {"VIRTUAL_ENV", "CONTENT_DIR", "INDEX_DIR", "CACHE_DIR", "STORE_PATH"}
    }
    env.update(
        PATH=path,
        EMBEDDING_MODEL="minilm",  # packaged: no conversion, no download (e5 is tested apart)
        CONTENT_DIR=str(tmp / "vol" / "content"),
        INDEX_DIR=str(tmp / "vol" / "data" / "index"),
        CACHE_DIR=str(tmp / "vol" / "data" / "cache"),
        STORE_PATH=str(tmp / "vol" / "data" / "bot.sqlite3"),
        HF_HUB_OFFLINE="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


def test_image_build_steps_in_a_fresh_venv(tmp_path: Path) -> None:
    """deploy/build-steps.sh install + prepare, then the image's HEALTHCHECK command."""
    if shutil.which("python3") is None:
        pytest.skip("no python3 on PATH")
    started = time.monotonic()
    repo = tmp_path / "repo"
    _copy_repo(repo)
    env = _clean_env(tmp_path)
    shutil.copytree(repo / "content", tmp_path / "vol" / "content")  # the content volume
    venv = tmp_path / "venv"
    steps = ["bash", str(repo / "deploy" / "build-steps.sh")]

    def step(*args: str, timeout: int) -> subprocess.CompletedProcess[str]:
        run = subprocess.run(
            [*steps, *args], cwd=repo, env=env, capture_output=True, text=True, timeout=timeout
        )
        assert run.returncode == 0, f"{args}: {run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        return run

    step("install", str(venv), timeout=INSTALL_TIMEOUT)
    assert (venv / "bin" / "python").exists()
    installed = time.monotonic()
    step("prepare", str(venv), timeout=PREPARE_TIMEOUT)
    index_dir = tmp_path / "vol" / "data" / "index"
    assert (index_dir / "CURRENT").is_file()
    assert not (repo / "data").exists()  # everything went where the settings said

    check = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "bot", "check", "--quick"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    lines = check.stdout.splitlines()
    assert check.returncode == 0, check.stdout + check.stderr
    articles = len(list((repo / "content" / "articles").glob("*.md")))
    assert lines[0] == "ok  settings: valid"
    assert lines[1].startswith("ok  index: version ")
    assert f", {articles} articles, " in lines[1] and "all-MiniLM-L6-v2@" in lines[1]
    assert lines[2] == "skip model: not loaded (--quick)"
    assert lines[3].startswith("ok  store: ") and lines[4].startswith("ok  folders: ")
    assert lines[5].startswith("skip telegram: ") and lines[6].startswith("skip webhook: ")
    assert len(lines) == 7
    print(  # shown with -s / on failure: how long the image recipe takes here
        f"install {installed - started:.0f}s, prepare+check {time.monotonic() - installed:.0f}s"
    )
