"""int8 weights for onnxruntime's faster uint8 x int8 kernels, used only where exact: the
conversion, its cached copy beside the embedding cache (with the uint8 graph it must
reproduce), and the per-machine verdict that it gives the very vectors of the uint8 graph
(checked on PROBE_TEXTS)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
from pathlib import Path

import numpy as np

from index.models.onnx_graph import GRAPH_TAG, faster_graph

log = logging.getLogger(__name__)

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


def session_model(path: Path, int8_weights: bool) -> bytes:
    """The model file as the encoder runs it (``onnx_graph.faster_graph``); with
    ``int8_weights``, its MatMulInteger weights as int8: w - 128 with zero point z - 128 leaves
    every (w - z) as it was, so the integer products, and the vectors, are the same;
    onnxruntime has faster uint8 x int8 kernels (about 1.5x on AVX-512 VNNI)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    faster_graph(model)
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node if int8_weights else ():
        if node.op_type != "MatMulInteger" or len(node.input) < 4:
            continue
        weight, zero = inits.get(node.input[1]), inits.get(node.input[3])
        if weight is None or zero is None or weight.data_type != onnx.TensorProto.UINT8:
            continue
        for t in (weight, zero):
            shifted = numpy_helper.to_array(t).astype(np.int16) - 128
            t.CopyFrom(numpy_helper.from_array(shifted.astype(np.int8), t.name))
    return model.SerializeToString()


class Int8WeightFile:
    """The two graphs run for one model file (``session_model``): with int8 weights, and as
    the file has them (the reference the int8 one must reproduce), each kept in ``cache_dir``
    when there is one (by the file's size and date), with the verdict of the machine on which
    the int8 one was found exact."""

    def __init__(self, model_path: Path, cache_dir: Path | None) -> None:
        self.model_path = model_path
        self.cache_dir = cache_dir

    def model(self) -> bytes | str:
        """The int8-weight graph (the conversion takes 0.4 s for e5); the probe checks a
        cached one like a fresh one."""
        return self._derived(self.path(), int8_weights=True)

    def reference(self) -> bytes | str:
        """The graph with the file's own (uint8) weights: what every machine can run."""
        return self._derived(self._path(f"{GRAPH_TAG}-uint8w.onnx"), int8_weights=False)

    def _derived(self, cached: Path | None, int8_weights: bool) -> bytes | str:
        """The graph from ``cached`` when there, else made (and kept there when the cache
        folder takes it: a read-only one only costs the conversion at each start)."""
        if cached is not None and cached.exists():
            return str(cached)
        model = session_model(self.model_path, int8_weights)
        if cached is None:
            return model
        kind = cached.name.rsplit("-", 1)[-1]  # int8w.onnx or uint8w.onnx
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            for old in cached.parent.glob(f"{self._stem()}-*-{kind}*"):
                old.unlink(missing_ok=True)  # an earlier export's or graph's, and its verdict
            tmp.write_bytes(model)
            os.replace(tmp, cached)
            return str(cached)  # onnxruntime reads the file: these bytes need not stay
        except OSError as exc:
            log.info("cannot keep %s (%s): made again at the next start", cached.name, exc)
            with contextlib.suppress(OSError):
                tmp.unlink()
        return model

    def _stem(self) -> str:
        return f"{self.model_path.parent.parent.name}-{self.model_path.stem}"

    def path(self) -> Path | None:
        """Where the int8-weight graph of this very model file is cached (by size and date)."""
        return self._path(f"{GRAPH_TAG}-int8w.onnx")

    def _path(self, kind: str) -> Path | None:
        if self.cache_dir is None:
            return None
        st = self.model_path.stat()
        return self.cache_dir / "onnx" / f"{self._stem()}-{st.st_size}-{st.st_mtime_ns}-{kind}"

    def verified(self) -> str | None:
        """The cached int8-weight file when the probe passed with it on this very CPU and
        onnxruntime: a server then starts without loading the model twice (~35 MB less)."""
        path = self.path()
        try:
            if path and path.exists() and _verdict(path).read_text() == _machine_fingerprint():
                return str(path)
        except OSError:
            pass
        return None

    def record_verified(self) -> None:
        path = self.path()
        if path is None or not path.exists():
            return
        try:
            _verdict(path).write_text(_machine_fingerprint())
        except OSError as exc:
            log.info("cannot record the int8 check (%s)", exc)
