"""Shared helpers of the benchmark scripts: options, settings, percentiles, tables, results."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
SHARED = REPO.parent / "shared"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from index import IndexSettings  # noqa: E402


def parser(description: str, *, size: bool = True) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", choices=["e5", "minilm"], default="e5")
    p.add_argument("--backend", choices=["torch", "onnx"], default="onnx")
    if size:
        p.add_argument("--size", choices=["seed", "100k"], default="seed")
    return p


def settings_for(args: argparse.Namespace, **overrides: object) -> IndexSettings:
    """Engine settings for the chosen model and backend; the shared embedding cache is reused
    (it is keyed by model id) unless a bench gives its own."""
    values: dict[str, object] = {
        "content_dir": REPO / "content",
        "cache_dir": REPO / "data" / "cache",
        "embedding_model": args.model,
        "embedding_backend": args.backend,
    }
    values.update(overrides)
    return IndexSettings(**values)  # type: ignore[arg-type]


def engine_env(settings: IndexSettings, args: argparse.Namespace) -> dict[str, str]:
    """The environment that makes a `python -m bot` process open the same index."""
    return {
        "CONTENT_DIR": str(settings.content_dir),
        "INDEX_DIR": str(settings.index_dir),
        "CACHE_DIR": str(settings.cache_dir),
        "EMBEDDING_MODEL": args.model,
        "EMBEDDING_BACKEND": args.backend,
    }


def cpu_s(pid: int) -> float:
    """CPU time (user + system) a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL if the process is still there 20 s later."""
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if len(values) else 0.0


def summary_ms(values_s: Sequence[float]) -> dict[str, float]:
    """p50/p95/p99/mean in milliseconds of durations given in seconds."""
    ms = [v * 1000 for v in values_s]
    return {
        "n": len(ms),
        "p50": round(pct(ms, 50), 2),
        "p95": round(pct(ms, 95), 2),
        "p99": round(pct(ms, 99), 2),
        "mean": round(float(np.mean(ms)) if ms else 0.0, 2),
    }


def table(rows: list[list[object]], header: list[str]) -> str:
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]

    def line(r: list[str]) -> str:
        pairs = enumerate(zip(r, widths, strict=True))
        return "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in pairs)

    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths), *map(line, cells[1:])])


def machine() -> dict[str, object]:
    import torch

    return {
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
    }


def write_result(name: str, args: argparse.Namespace, data: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    tag = "-".join(str(getattr(args, k)) for k in ("model", "backend", "size") if hasattr(args, k))
    path = RESULTS / f"{name}-{tag}.json"
    payload = {
        "bench": name,
        "args": vars(args),
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **data,
    }
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str), "utf-8")
    print(f"\nwritten {path.relative_to(REPO)}")
    return path
