"""The French + English trimmed vocabulary (index/models/vocab.py) gives the full model's very token
ids and vectors on the seed corpus and every eval question, and is a reversible choice.

The converted and exported multilingual-e5-small comes from the session's ``e5_deployment``
(as ``make run`` makes it); the trimmed copy is written again into a temporary folder of links to
it (~4 s).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCE = "onnx/model_quint8_avx2.onnx"
EVAL_FILES = [
    *sorted((REPO.parent / "shared" / "eval").glob("*.jsonl")),
    *sorted((REPO / "tests" / "eval").glob("*.jsonl")),
]
FOREIGN = {
    "russian": "Видеонаблюдение с искусственным интеллектом на Олимпийских играх",
    "chinese": "奥运会期间的算法视频监控",
    "polish": "Monitoring wizyjny w Łodzi i Gdańsku",
    "french, a Polish name": "Les caméras de Łódź analysent les foules",
    "french, a Brazilian city": "La reconnaissance faciale à São Paulo",
}


@pytest.fixture(scope="module")
def e5(e5_deployment: Path) -> Path:
    from index.models.resolve import E5_DIR

    return e5_deployment / E5_DIR


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory, e5: Path) -> Path:
    """A model folder of links to the real one, holding a fresh trimmed copy."""
    from index.models.vocab import write_trimmed

    out = tmp_path_factory.mktemp("e5")
    for entry in e5.iterdir():
        if entry.name != "onnx":
            (out / entry.name).symlink_to(entry.resolve())
    (out / "onnx").mkdir()
    (out / SOURCE).symlink_to((e5 / SOURCE).resolve())
    assert write_trimmed(out, SOURCE) is not None
    return out


def corpus_texts() -> list[str]:
    """What a build embeds (passages and sentences) and what the evaluation asks, prompted."""
    from index.build.analysis import passage_context
    from index.corpus.chunk import chunk_article
    from index.corpus.folder import load_corpus
    from index.retrieval.sentences import sentence_units

    texts = []
    for article in load_corpus(REPO / "content").articles:
        for p in chunk_article(article):
            texts.append("passage: " + passage_context(article, p))
            texts += ["passage: " + u[2] for u in sentence_units(article, p)]
    for path in EVAL_FILES:
        for line in path.read_text("utf-8").splitlines():
            if line.strip():
                texts.append("query: " + json.loads(line)["q"])
    return texts


def test_trimmed_tokenizer_gives_the_same_ids(folder: Path) -> None:
    from tokenizers import Tokenizer

    from index.models.vocab import TRIMMED_TOKENIZER, kept_ids

    texts = corpus_texts()
    assert len(texts) > 500 and len(EVAL_FILES) >= 7  # ../shared/eval and tests/eval found
    full = Tokenizer.from_file(str(folder / "tokenizer.json"))
    trimmed = Tokenizer.from_file(str(folder / TRIMMED_TOKENIZER))
    keep = kept_ids(json.loads((folder / "tokenizer.json").read_text("utf-8")))
    assert 90_000 < len(keep) < 95_000  # of 250,002
    for a, b in zip(full.encode_batch(texts), trimmed.encode_batch(texts), strict=True):
        assert a.ids == keep[b.ids].tolist(), a.tokens


def test_trimmed_model_gives_the_same_vectors(folder: Path) -> None:
    """Bit for bit, on the longest passages and on eval questions; foreign scripts drift."""
    from index.models.onnx_encoder import OnnxEncoder
    from index.models.vocab import TRIMMED_MODEL, TRIMMED_TOKENIZER

    full = OnnxEncoder(folder, SOURCE, threads=1)
    trimmed = OnnxEncoder(folder, TRIMMED_MODEL, threads=1, tokenizer_file=TRIMMED_TOKENIZER)
    texts = corpus_texts()
    sample = sorted(texts, key=len)[-8:] + [t for t in texts if t.startswith("query: ")][::12]
    a = full.encode(sample, "", 1)
    b = trimmed.encode(sample, "", 1)
    assert np.array_equal(a, b)
    foreign = list(FOREIGN.values())
    cos = np.sum(full.encode(foreign, "", 1) * trimmed.encode(foreign, "", 1), axis=1)
    unk = trimmed.tokenizer.token_to_id("<unk>")
    assert all(unk in trimmed.tokenizer.encode(t).ids for t in foreign)
    assert cos.max() < 0.999, dict(zip(FOREIGN, cos.round(3), strict=True))


def test_choice_is_reversible_and_follows_the_export(folder: Path) -> None:
    from index.config import IndexSettings
    from index.models.resolve import model_id_for, onnx_files, resolve_model
    from index.models.vocab import TRIMMED_MODEL, TRIMMED_STAMP, TRIMMED_TOKENIZER, vocabulary_id

    auto = IndexSettings(embedding_model=str(folder), embedding_backend="onnx")
    full = IndexSettings(
        embedding_model=str(folder), embedding_backend="onnx", embedding_vocabulary="full"
    )
    assert onnx_files(auto, folder, SOURCE) == (TRIMMED_MODEL, TRIMMED_TOKENIZER)
    assert onnx_files(full, folder, SOURCE) == (SOURCE, "tokenizer.json")
    spec = resolve_model(str(folder))
    assert model_id_for(auto, spec) == f"{model_id_for(full, spec)}-{vocabulary_id()}"
    # A new export of the full model (another size or date) makes the trimmed copy stale:
    # the full one serves. (The stamp is edited: the model itself is a link, not ours.)
    stamp = folder / TRIMMED_STAMP
    saved = stamp.read_text("utf-8")
    stamp.write_text(json.dumps({**json.loads(saved), "source_mtime_ns": 1}), "utf-8")
    try:
        assert onnx_files(auto, folder, SOURCE) == (SOURCE, "tokenizer.json")
    finally:
        stamp.write_text(saved, "utf-8")
    assert onnx_files(auto, folder, SOURCE) == (TRIMMED_MODEL, TRIMMED_TOKENIZER)


RSS_AFTER_LONG_TEXTS = """
import sys
from pathlib import Path
from index.models.onnx_encoder import OnnxEncoder
from index.models.vocab import TRIMMED_MODEL, TRIMMED_TOKENIZER

def rss() -> float:
    with open("/proc/self/status") as fh:
        return next(int(ln.split()[1]) / 1024 for ln in fh if ln.startswith("VmRSS"))

enc = OnnxEncoder(Path(sys.argv[1]), TRIMMED_MODEL, Path(sys.argv[2]), threads=1,
                  tokenizer_file=TRIMMED_TOKENIZER)
enc.encode(["Qui vend les caméras ?"] * 3, "query: ", 1)
before = rss()
enc.encode([f"Le {i} mai, la vidéosurveillance algorithmique. " * 60 for i in range(4)], "", 1)
enc.encode(["Qui vend les caméras ?"] * 3, "query: ", 1)
print(rss() - before)
"""


def test_long_texts_leave_no_activations_behind(folder: Path, tmp_path: Path) -> None:
    """A build in a serving process (512-token passages) gives onnxruntime's arena back:
    without that, ~60 MB stayed resident for good."""
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", RSS_AFTER_LONG_TEXTS, str(folder), str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    grown = float(run.stdout.split()[-1])
    assert grown < 25, f"{grown:.0f} MB more resident after four 512-token texts"
