"""The embedder: one loaded model (the torch-free ONNX encoder, or sentence-transformers), the
model's prompts, and the content-hash cache in front of it.

The cache is keyed by (model id, prompt + text hash), so rebuilding after a new post embeds
only the new passages.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from index.config import IndexSettings
from index.models.embedding_cache import EmbeddingCache
from index.models.onnx_encoder import OnnxEncoder
from index.models.resolve import (
    ModelError,
    ModelSpec,
    choose_backend,
    model_id_for,
    onnx_files,
    resolve_model,
)


@contextmanager
def _progress(total: int, show: bool) -> Iterator[Any]:
    """One bar (count, rate, ETA) over a build's texts, however many cache checkpoints."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc="embedding", unit="text", disable=not show or not total)
    try:
        yield bar
    finally:
        bar.close()


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
                model_file, tokenizer_file = onnx_files(settings, Path(self.spec.path), onnx_file)
                self.onnx = OnnxEncoder(
                    Path(self.spec.path),
                    model_file,
                    settings.cache_dir,
                    threads=settings.search_threads,
                    tokenizer_file=tokenizer_file,
                )
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

    def encode_uncached(
        self, texts: list[str], prompt: str, batch_size: int | None = None, progress: bool = False
    ) -> np.ndarray:
        """``texts``' vectors with ``prompt`` prepended, straight from the model: the cache is
        neither read nor written (queries; comparisons and benchmarks of the model itself)."""
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

    @contextmanager
    def building(self) -> Iterator[None]:
        """Around a build's embedding calls: they share one parallel session, freed after."""
        if self.onnx is None:
            yield
            return
        with self.onnx.keep_build_session():
            yield

    def embed_query(self, text: str) -> np.ndarray:
        return self.encode_uncached([text], self.query_prompt, batch_size=1)[0]

    def embed_passages(
        self, texts: Sequence[str], progress: bool = False
    ) -> tuple[np.ndarray, int]:
        """Embed with the cache; returns (vectors, number actually embedded)."""
        keys = [
            hashlib.sha256(f"{self.passage_prompt}\0{t}".encode()).hexdigest()[:32] for t in texts
        ]
        found = {  # a damaged cached vector is embedded again
            k: v
            for k, v in self.cache.get_many(self.model_id, keys).items()
            if v.shape == (self.dim,) and np.isfinite(v).all()
        }
        missing = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in found}.items())
        step = self.settings.embedding_checkpoint
        with _progress(len(missing), progress) as bar:
            for start in range(0, len(missing), step):
                chunk = missing[start : start + step]
                new = self.encode_uncached([t for _, t in chunk], self.passage_prompt)
                fresh = {k: v for (k, _), v in zip(chunk, new, strict=True)}
                self.cache.put_many(self.model_id, fresh)  # kept even if the build dies next
                found.update(fresh)
                bar.update(len(chunk))
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
