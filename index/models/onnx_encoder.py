"""The torch-free ONNX encoder: tokenizers + onnxruntime, one run per text (int8 activations
are scaled per run), in parallel single-threaded runs for builds."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from index.models.int8_weights import PROBE_TEXTS, Int8WeightFile, cpu_has_vnni
from index.models.onnx_graph import DISABLED_OPTIMIZERS

log = logging.getLogger(__name__)

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
        self.int8_file = Int8WeightFile(self.model_path, cache_dir)
        self.threads = threads
        self.int8_weights = True  # single-threaded sessions use int8 weights when exact
        self.weights = "uint8"  # what the single-threaded session uses: "int8" or "uint8"
        self._build_lock = threading.Lock()
        self._shrink = self._shrink_options()
        self._kept = None
        self._keep = 0
        verified = self.int8_file.verified() if threads == 1 else None
        if verified is not None:  # checked on this CPU before: the only model loaded
            self.session = self._session(1, verified)
            self.weights = "int8"
        else:
            self.session = self._session(threads, self.int8_file.reference())
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

    def _session(self, threads: int, model: bytes | str):
        """An onnxruntime session of ``model`` (serialised bytes or a file: one of
        ``self.int8_file``'s graphs); threads=0 is its default pool (fastest for one query on
        idle cores)."""
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads
        return ort.InferenceSession(
            model,
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=DISABLED_OPTIMIZERS,
        )

    @staticmethod
    def _shrink_options():
        import onnxruntime as ort

        options = ort.RunOptions()
        options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        return options

    def _single_threaded(self):
        """A single-threaded session: int8 weights when this machine gives the very same
        vectors with them as with the file's (checked on PROBE_TEXTS against ``self.session``),
        the file's otherwise (both on the graph of index/models/onnx_graph.py)."""
        if self.int8_weights and cpu_has_vnni():
            try:
                fast = self._session(1, self.int8_file.model())
                if all(
                    np.array_equal(self._run_one(fast, t), self._run_one(self.session, t))
                    for t in PROBE_TEXTS
                ):
                    self.weights = "int8"
                    self.int8_file.record_verified()
                    return fast
                log.info("int8 weights change the vectors on this machine: not used")
            except Exception as exc:  # an optimisation, never a failure
                log.info("int8 weights unavailable (%s): the model as it is", exc)
        self.weights = "uint8"
        return self.session if self.threads == 1 else self._session(1, self.int8_file.reference())

    def build_session(self):
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

    @property
    def holds_build_session(self) -> bool:
        """Whether a build session is kept now (a second model resident): only inside
        ``keep_build_session``."""
        return self._kept is not None

    def _run_one(self, session, text: str, options=None) -> np.ndarray:
        """One text, one run: no padding, no batch-mates (see ``encode``; the graph has no
        attention mask, ``onnx_graph.unmasked_attention``); ``options``: onnxruntime's
        RunOptions."""
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

    def encode_one(self, text: str) -> np.ndarray:
        """``text``'s vector from one run on the serving session, no prompt added: the
        reference that parallel and int8-weight encoding must reproduce bit for bit."""
        return self._run_one(self.session, text)

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

            session = self.build_session()

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
