"""Vocabulary trimming: a copy of the int8 ONNX model and its tokenizer that keep only the
pieces French and English text can use (~92k of multilingual-e5's 250,002).

Why: the full SentencePiece vocabulary costs ~280 MB resident in ``tokenizers`` (its Unigram
trie) and 96 MB of int8 embedding rows in the ONNX session, for scripts the campaign never
writes in. Why it changes nothing for French and English: the Unigram tokenizer splits a text
into words and segments each word with a Viterbi search over the pieces that occur in it;
every piece made only of ``KEPT_CHARS`` is kept with its score, so a word made of those
characters sees the very same candidates and gets the very same pieces; their embedding rows
are copied byte for byte, so the model sees the same input. A word with another character
(Cyrillic, CJK, ``ñ``, ``ł``...) loses the pieces holding it: that character becomes
``<unk>`` and the word's vector drifts (README "Memory"). The original files stay:
``EMBEDDING_VOCABULARY=full`` serves them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# What French and English are written with: printable ASCII, the French letters, Latin-1's
# signs (no-break space, « », °, §, ², ×...), typographic quotes and dashes, the euro sign, and
# SentencePiece's word marker. (Letters such as ñ, ß, ã, ł are not kept: ~7k pieces, 7 MB.)
KEPT_CHARS = frozenset(
    [chr(c) for c in range(0x20, 0x7F)]
    + [chr(c) for c in range(0xA0, 0xC0)]
    + list("×÷àâäæçéèêëîïôöœùûüÿÀÂÄÆÇÉÈÊËÎÏÔÖŒÙÛÜŸ‘’‚“”„–—…•€™▁")
)
TRIMMED_MODEL = "onnx/model_quint8_avx2.fr-en.onnx"
TRIMMED_TOKENIZER = "onnx/tokenizer.fr-en.json"
TRIMMED_STAMP = "onnx/fr-en-stamp.json"


def kept_ids(tokenizer: dict) -> np.ndarray:
    """Original ids kept, ascending: special tokens, every piece made of KEPT_CHARS, and the
    lowest-scored piece (``tokenizers`` scores ``<unk>`` from the lowest score: kept as is)."""
    vocab = tokenizer["model"]["vocab"]
    specials = {t["id"] for t in tokenizer.get("added_tokens", [])}
    specials.add(tokenizer["model"].get("unk_id", 0))
    specials.add(min(range(len(vocab)), key=lambda i: vocab[i][1]))
    return np.array(
        [i for i, (piece, _) in enumerate(vocab) if i in specials or set(piece) <= KEPT_CHARS],
        dtype=np.int64,
    )


def trim_tokenizer(tokenizer: dict, keep: np.ndarray) -> dict:
    """The tokenizer with only the ``keep`` pieces (same scores, order kept), ids remapped."""
    new_id = {int(old): new for new, old in enumerate(keep)}
    out = json.loads(json.dumps(tokenizer))
    vocab = tokenizer["model"]["vocab"]
    out["model"]["vocab"] = [vocab[i] for i in keep]
    if out["model"].get("unk_id") is not None:
        out["model"]["unk_id"] = new_id[out["model"]["unk_id"]]
    for token in out.get("added_tokens", []):
        token["id"] = new_id[token["id"]]
    specials = (out.get("post_processor") or {}).get("special_tokens", {})
    for token in specials.values():
        token["ids"] = [new_id[i] for i in token["ids"]]
    if out.get("padding"):
        out["padding"]["pad_id"] = new_id[out["padding"]["pad_id"]]
    return out


def trim_onnx(model_file: Path, keep: np.ndarray) -> bytes:
    """The model with the rows of its token embedding (the initializer that ``input_ids``
    gathers from) reduced to ``keep``, in that order; nothing else touched."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(model_file))
    inits = {i.name: i for i in model.graph.initializer}
    tables = [
        inits[n.input[0]]
        for n in model.graph.node
        if n.op_type == "Gather" and n.input[1] == "input_ids" and n.input[0] in inits
    ]
    if len(tables) != 1:
        raise ValueError(f"{model_file.name}: no single token embedding gathered by input_ids")
    table = tables[0]
    rows = numpy_helper.to_array(table)
    if int(keep.max()) >= len(rows):
        raise ValueError(f"{model_file.name}: {len(rows)} embedding rows for a larger vocabulary")
    table.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(rows[keep]), table.name))
    return model.SerializeToString()


def vocabulary_id() -> str:
    """Names the kept characters in model ids: vectors cached with other ones are not reused."""
    return "fr-en-" + hashlib.sha256("".join(sorted(KEPT_CHARS)).encode()).hexdigest()[:8]


def _source_key(folder: Path, source: str) -> dict:
    """What the trimmed copy was made from: the model and tokenizer files (size, date) and the
    kept characters."""
    st, tok = (folder / source).stat(), (folder / "tokenizer.json").stat()
    return {
        "source_size": st.st_size,
        "source_mtime_ns": st.st_mtime_ns,
        "tokenizer_size": tok.st_size,
        "tokenizer_mtime_ns": tok.st_mtime_ns,
        "chars": vocabulary_id(),
    }


def trimmed_files(folder: Path, source: str) -> tuple[str, str] | None:
    """(model, tokenizer) of the trimmed copy when it was made from ``source`` as it is now."""
    try:
        stamp = json.loads((folder / TRIMMED_STAMP).read_text("utf-8"))
        current = stamp.get("source") == source and all(
            stamp.get(k) == v for k, v in _source_key(folder, source).items()
        )
    except (OSError, ValueError):
        return None
    if current and (folder / TRIMMED_MODEL).exists() and (folder / TRIMMED_TOKENIZER).exists():
        return TRIMMED_MODEL, TRIMMED_TOKENIZER
    return None


def write_trimmed(folder: Path, source: str) -> Path | None:
    """Write the trimmed copy of ``folder/source`` (idempotent); None for a tokenizer other
    than a Unigram one (MiniLM's 30k WordPiece vocabulary is English already)."""
    if trimmed_files(folder, source):
        return folder / TRIMMED_MODEL
    tokenizer = json.loads((folder / "tokenizer.json").read_text("utf-8"))
    if tokenizer.get("model", {}).get("type") != "Unigram":
        return None
    keep = kept_ids(tokenizer)
    model = trim_onnx(folder / source, keep)
    trimmed = json.dumps(trim_tokenizer(tokenizer, keep), ensure_ascii=False)
    for name, data in ((TRIMMED_MODEL, model), (TRIMMED_TOKENIZER, trimmed.encode("utf-8"))):
        tmp = folder / f"{name}.{os.getpid()}.tmp"
        tmp.write_bytes(data)
        os.replace(tmp, folder / name)  # atomic: a reader never sees half a file
    stamp = {"source": source, **_source_key(folder, source), "kept": len(keep)}
    stamp["of"] = len(tokenizer["model"]["vocab"])
    (folder / TRIMMED_STAMP).write_text(json.dumps(stamp, indent=2), encoding="utf-8")
    log.info("vocabulary trimmed to %d of %d pieces: %s", len(keep), stamp["of"], TRIMMED_MODEL)
    return folder / TRIMMED_MODEL
