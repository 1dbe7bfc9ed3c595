"""Export the embedding model to ONNX with dynamic int8 quantisation (``avx2`` config).

``python -m index model export-onnx`` writes ``onnx/model_quint8_avx2.onnx`` inside the model
folder, where `index.models.embed.Embedder` picks it up (backend 'auto' or 'onnx'). Offline and
idempotent: an existing export is kept unless ``force``. The packaged MiniLM lives in
site-packages, so it is first copied to ``data/models/all-MiniLM-L6-v2`` (which
`index.models.resolve.resolve_model` then prefers) and exported there.

Exporting takes ~45 s and quantising ~30 s for multilingual-e5-small on 2 cores; MiniLM ~10 s.
Then, for a SentencePiece (Unigram) tokenizer, the French + English trimmed copy
(index/models/vocab.py, ~3 s), also made for an export that predates it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path

from index.config import IndexSettings
from index.models.resolve import MINILM_DIR, ONNX_INT8_FILE, ModelError, minilm_path, resolve_model
from index.models.vocab import write_trimmed

log = logging.getLogger(__name__)

QUANTIZATION_CONFIG = "avx2"  # on these CPUs avx512_vnni is no faster and less faithful
STAMP = "onnx/export-stamp.json"


def _is_inside(path: Path, parent: Path) -> bool:
    try:
        path.resolve().relative_to(parent.resolve())
    except ValueError:
        return False
    return True


def _writable_folder(name: str, source: Path, out_dir: Path | None) -> Path:
    """Where the export is written: ``out_dir`` if given (a copy of the model is made there
    unless it is the model folder itself), else the model folder, except for the packaged
    MiniLM, which is copied to ``data/models/all-MiniLM-L6-v2`` first."""
    if out_dir is None:
        packaged = name == "minilm" and _is_inside(source, minilm_path())
        if not packaged:
            return source
        out_dir = MINILM_DIR if MINILM_DIR.is_absolute() else Path.cwd() / MINILM_DIR
    if out_dir.exists() and out_dir.resolve() == source.resolve():
        return source
    if not (out_dir / "modules.json").exists():
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
        try:
            shutil.copytree(
                source, staging, dirs_exist_ok=True, ignore=shutil.ignore_patterns("onnx")
            )
            if out_dir.exists():  # an empty or partial folder: replace it
                shutil.rmtree(out_dir)
            os.replace(staging, out_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return out_dir


def export_onnx(
    settings: IndexSettings,
    model: str | None = None,
    *,
    force: bool = False,
    out_dir: Path | None = None,
) -> Path:
    """Export ``model`` (default: ``settings.embedding_model``) and return the int8 file."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    spec = resolve_model(model or settings.embedding_model)
    source = Path(spec.path)
    if not (source / "modules.json").exists():
        raise ModelError(f"{spec.path!r} is not a local sentence-transformers folder")
    folder = _writable_folder(spec.name, source, out_dir)
    target = folder / ONNX_INT8_FILE
    if target.exists() and not force:
        log.info("ONNX export already present: %s", target)
        _trim(folder)  # an export made before trimming existed
        return target

    try:
        from sentence_transformers import SentenceTransformer
        from sentence_transformers.backend import export_dynamic_quantized_onnx_model
    except ImportError as exc:  # pragma: no cover - optional extra
        raise ModelError(
            "ONNX export needs optimum and onnxruntime: pip install 'sentence-transformers[onnx]'"
        ) from exc

    started = time.perf_counter()
    # Export fp32 ONNX from the PyTorch weights (in a temporary folder), then quantise it.
    st = SentenceTransformer(
        str(folder), device="cpu", backend="onnx", model_kwargs={"export": True}
    )
    exported = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=".onnx-export-", dir=folder) as tmp:
        export_dynamic_quantized_onnx_model(st, QUANTIZATION_CONFIG, tmp)
        written = Path(tmp) / ONNX_INT8_FILE
        if not written.exists():  # the library changed its naming: say so rather than guess
            found = sorted(p.relative_to(tmp).as_posix() for p in Path(tmp).rglob("*.onnx"))
            raise ModelError(f"quantisation wrote {found}, expected {ONNX_INT8_FILE}")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(written, target)  # atomic: a reader never sees half a file
    stamp = {
        "file": ONNX_INT8_FILE,
        "source_model_id": spec.model_id,
        "quantization": QUANTIZATION_CONFIG,
        "export_s": round(exported - started, 1),
        "quantize_s": round(time.perf_counter() - exported, 1),
    }
    (folder / STAMP).write_text(json.dumps(stamp, indent=2), encoding="utf-8")
    log.info("ONNX int8 export written to %s (%s)", target, stamp)
    _trim(folder)
    return target


def _trim(folder: Path) -> None:
    """The French + English copy is a saving, never a reason for the export to fail."""
    try:
        write_trimmed(folder, ONNX_INT8_FILE)
    except (OSError, ValueError) as exc:
        log.warning("vocabulary not trimmed (%s): the full one serves", exc)
