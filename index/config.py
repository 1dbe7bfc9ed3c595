"""Engine settings, read from the environment (and ``.env``) with pydantic-settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "auto"  # converted multilingual-e5-small if present, else packaged MiniLM


class IndexSettings(BaseSettings):
    """Where the corpus and the index live, which model embeds, and how results are fused."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    content_dir: Path = Field(Path("content"), description="Corpus folder (articles, sources).")
    index_dir: Path = Field(Path("data/index"), description="Where index versions are written.")
    cache_dir: Path = Field(
        Path("data/cache"), description="Embedding cache, keyed by passage hash and model id."
    )
    embedding_model: str = Field(
        DEFAULT_MODEL,
        description="'auto', 'e5', 'minilm', or any sentence-transformers model name or path.",
    )
    embedding_backend: str = Field(
        "auto", description="'auto' (ONNX int8 when exported, else torch), 'torch' or 'onnx'."
    )
    embedding_vocabulary: str = Field(
        "auto",
        pattern="^(auto|full)$",
        description="'auto': the ONNX model's French + English vocabulary when trimmed (`model "
        "export-onnx` writes it; same vectors for French and English text, ~350 MB less resident); "
        "'full': all 250k pieces.",
    )
    embedding_batch_size: int = Field(32, ge=1, le=1024)
    embedding_checkpoint: int = Field(
        256,
        ge=1,
        description="Texts embedded between two writes to the embedding cache: a build that is "
        "killed keeps what it embedded, and the next one goes on from there.",
    )
    embedding_device: str = Field("cpu", description="torch device for the embedding model.")
    query_prompt: str | None = Field(
        None, description="Override the query prefix (e5: 'query: '); default from the model."
    )
    passage_prompt: str | None = Field(
        None, description="Override the passage prefix (e5: 'passage: ')."
    )
    ann_threshold: int = Field(
        50_000,
        ge=0,
        description="Passages above which FAISS searches an inverted-file (IVF) index, a fifth "
        "of the vectors (recall@10 0.97 of exact search at 100k); below, a full scan (float16 "
        "copies from 20k passages). 0 = always the full scan.",
    )
    search_threads: int = Field(
        1,
        ge=0,
        description="Threads for one search (ONNX, torch, FAISS, BLAS); 0 = the libraries' "
        "defaults. One thread per search is fastest when several questions run at once.",
    )
    reranker_model: str | None = Field(
        None,
        description="A sentence-transformers CrossEncoder (name or path) that reorders the best "
        "candidates; off by default (none installs offline).",
    )
    reranker_candidates: int = Field(
        20, ge=1, le=200, description="How many fused candidates the reranker reads."
    )
    reranker_weight: float = Field(
        0.8,
        ge=0.0,
        le=1.0,
        description="Share of the reranker in the final order (the rest: the fused score).",
    )
    fetch_allow_private_addresses: bool = Field(
        False,
        description="Let the fetcher reach loopback, private, link-local and other non-public "
        "addresses (tests, intranet sources). Off: a feed cannot steer it to internal services.",
    )
    fetch_delay_seconds: float = Field(
        1.0,
        ge=0.0,
        description="Seconds between two requests to the same site (robots.txt Crawl-delay "
        "may ask for more); `fetch --delay` overrides it.",
    )
    fetch_max_pages: int | None = Field(
        None,
        ge=1,
        description="Article pages one run downloads at most, the rest waits for the next run "
        "(default 100 for `fetch`, 10000 for `fetch --backfill`); `--max-pages` overrides it.",
    )
