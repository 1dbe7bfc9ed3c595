"""French BM25 (bm25s' scoring) and the query analysis that feeds it: the corpus vocabulary
restores accents and fixes one-letter typos, and acronyms learned from the corpus expand
queries."""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.langdetect import detect_lang
from index.language import STOP_WORDS, fold, fold_word, is_everyday_word, stem, terms, words
from index.retrieval.colloquial import expand_texting, split_elision
from index.retrieval.english import analyze_english
from index.retrieval.question import AnalyzedQuery, answer_type
from index.storage.layout import BM25_DIR, IDF, VOCABULARY

# bm25s' file layout inside BM25_DIR (indexes written by bm25s itself load the same).
_BM25_FILES = ("data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy")
_BM25_VOCAB, _BM25_PARAMS = "vocab.index.json", "params.index.json"
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_WORD_RE = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_APOSTROPHE = re.compile(r"['’]")


@dataclass
class Vocabulary:
    """Folded corpus words → (document frequency, written form to restore).

    The written form is the most frequent one, except when the corpus also writes the word
    without accents ("commence" next to "commencé"): then what the user typed is a real word.
    """

    df: dict[str, int] = field(default_factory=dict)
    surface: dict[str, str] = field(default_factory=dict)
    _stems: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)
    _sorted: list[str] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def build(cls, texts: list[str]) -> Vocabulary:
        words: dict[str, int] = {}
        pairs: dict[tuple[int, int], int] = {}
        rows: list[tuple[int, int, int, int]] = []
        ranks: list[int] = []
        for rank, text in enumerate(texts):
            for key, form, count, first, key_first in word_counts(text):
                k = words.setdefault(key, len(words))
                pair = pairs.setdefault((k, words.setdefault(form, len(words))), len(pairs))
                rows.append((pair, count, first, key_first))
                ranks.append(rank)
        return cls.from_counts(
            list(words),
            np.array(list(pairs), dtype=np.int64).reshape(-1, 2),
            np.array(rows, dtype=np.int64).reshape(-1, 4),
            np.array(ranks, dtype=np.int64),
        )

    @classmethod
    def from_counts(
        cls, words: list[str], pairs: np.ndarray, rows: np.ndarray, ranks: np.ndarray
    ) -> Vocabulary:
        """The vocabulary of texts given by their ``word_counts``, with words and (key, form)
        pairs as ids: ``words`` the strings, ``pairs`` (key id, form id) per pair id, ``rows``
        (pair id, count, first position, first form of its key) per text and pair, ``ranks``
        each row's text position in the corpus. A key's written form is its most frequent
        one, the first met in the corpus among equals (the plain one when the corpus also
        writes it without accents); everything is counted with numpy, so
        that incremental builds redo it from stored counts in well under a second."""
        n_pairs = len(pairs)
        pair, count = rows[:, 0], rows[:, 1]
        totals = np.bincount(pair, weights=count, minlength=n_pairs).astype(np.int64)
        first = np.full(n_pairs, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, pair, (ranks.astype(np.int64) << 32) | rows[:, 2])
        keys = pairs[:, 0] if n_pairs else np.zeros(0, dtype=np.int64)
        df = np.bincount(keys[pair[rows[:, 3] == 1]], minlength=len(words))
        live = np.nonzero(totals)[0]
        ranked = live[np.lexsort((first[live], -totals[live], keys[live]))]
        head = np.ones(len(ranked), dtype=bool)
        head[1:] = keys[ranked[1:]] != keys[ranked[:-1]]
        # A key also written without accents keeps that form (ids: a key equal to its form).
        plain = set(keys[live][keys[live] == pairs[live, 1]].tolist()) if n_pairs else set()
        return cls(
            {words[k]: int(df[k]) for k in np.nonzero(df)[0]},
            {
                words[pairs[p, 0]]: words[pairs[p, 0] if pairs[p, 0] in plain else pairs[p, 1]]
                for p in ranked[head]
            },
        )

    @property
    def stems(self) -> frozenset[str]:
        if self._stems is None:
            self._stems = frozenset(stem(w) for w in self.df)
        return self._stems

    def correct(self, word: str) -> str | None:
        """The most frequent corpus word at one edit (Damerau) from an unknown word.

        A word whose stem the corpus knows is another form of a known word ("étudié" next to
        "étudier"), not a typo: it stays as typed; so does a word of everyday French the corpus
        does not use (« baisser » is not « laisser », « Lille » not « ville », « crêpes » not
        « créés »: corrected, an everyday question looked like the corpus's).
        """
        if len(word) < 5 or word in self.df or word.isdigit() or stem(word) in self.stems:
            return None
        if is_everyday_word(word):
            return None
        best, best_df = None, 0
        for cand in sorted(_edits1(word)):  # sorted: ties go the same way in every process
            d = self.df.get(cand, 0)
            if d > best_df:
                best, best_df = cand, d
        return best

    def completion(self, word: str) -> str | None:
        """The corpus word a clipped form stands for ("algos" → "algorithmes", "micros" →
        "microphones", "manif" → "manifestation"): the most frequent corpus word it begins,
        for an unknown word of 4–6 letters (its plural "s" dropped; clippings are short) that
        no typo explains."""
        clipped = word[:-1] if word.endswith("s") else word
        if not 4 <= len(clipped) <= 6 or not clipped.isalpha():
            return None
        if self._sorted is None:
            self._sorted = sorted(self.df)
        i = bisect_left(self._sorted, clipped)
        best, best_df = None, 0
        while i < len(self._sorted) and self._sorted[i].startswith(clipped):
            cand = self._sorted[i]
            if len(cand) >= len(clipped) + 3 and self.df[cand] > best_df:
                best, best_df = cand, self.df[cand]
            i += 1
        return self.surface.get(best, best) if best else None

    def known_form(self, word: str) -> str | None:
        """The corpus' written form of a folded word (or of another form of it); None when
        unknown."""
        if word in self.df or stem(word) in self.stems:
            return self.surface.get(word, word)
        return None

    def to_json(self) -> dict:
        return {"df": self.df, "surface": self.surface}

    @classmethod
    def from_json(cls, data: dict) -> Vocabulary:
        return cls(dict(data["df"]), dict(data["surface"]))

    def save(self, folder: Path) -> None:
        (folder / VOCABULARY).write_text(json.dumps(self.to_json(), ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, folder: Path) -> Vocabulary:
        return cls.from_json(json.loads((folder / VOCABULARY).read_text(encoding="utf-8")))


def word_counts(text: str) -> list[tuple[str, str, int, int, int]]:
    """One text's share of the Vocabulary: (folded word, written form, occurrences, first
    occurrence, 1 for the key's first form in the text) in order of first occurrence."""
    counts: dict[tuple[str, str], list[int]] = {}
    keys: set[str] = set()
    pos = 0
    for raw in _WORD_RE.findall(text):
        part = _APOSTROPHE.split(raw)[-1]
        key = fold_word(part)
        if not key or key in STOP_WORDS:
            continue
        pair = (key, part.lower())
        if pair in counts:
            counts[pair][0] += 1
        else:
            counts[pair] = [1, pos, key not in keys]
            keys.add(key)
        pos += 1
    return [(k, f, c, first, int(kf)) for (k, f), (c, first, kf) in counts.items()]


def _edits1(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in _ALPHABET]
    inserts = [a + c + b for a, b in splits for c in _ALPHABET]
    return set(deletes + transposes + replaces + inserts)


def analyze_query(
    query: str,
    vocab: Vocabulary,
    acronyms: dict[str, list[str]],
    lexical: LexicalIndex | None = None,
) -> AnalyzedQuery:
    """Fix what users type: missing accents, one-letter typos, acronyms or their expansions.
    English questions (when the lexical index is given) are mapped to French terms."""
    if lexical is not None and detect_lang(query) == "en":
        return analyze_english(query, lexical, acronyms)
    pieces: list[str] = []
    pos = 0
    for m in _WORD_RE.finditer(query):
        pieces.append(query[pos : m.start()])
        word = m.group(0)
        key = fold(word)
        replacement = word
        texting = expand_texting(key, vocab.df)
        if texting is not None:
            replacement = texting
        elif key not in STOP_WORDS and "'" not in key and "’" not in word:
            if key in vocab.df:
                form = vocab.surface.get(key, word)
                # Restore accents only for words typed in plain lower-case ASCII.
                if word.isascii() and word.islower() and fold(form) == key:
                    replacement = form
            else:
                fixed = vocab.correct(key)
                if fixed:
                    replacement = vocab.surface.get(fixed, fixed)
                else:
                    replacement = (
                        vocab.completion(key) or split_elision(key, vocab.known_form) or word
                    )
        pieces.append(replacement)
        pos = m.end()
    pieces.append(query[pos:])
    text = "".join(pieces)
    core = terms(text)
    extra: list[str] = []
    folded_words = set(words(text))
    for acr, expansions in acronyms.items():
        if acr in folded_words:
            for exp in expansions[:2]:
                extra.extend(terms(exp))
        else:
            for exp in expansions[:2]:
                exp_terms = terms(exp)
                if len(exp_terms) >= 2 and set(exp_terms) <= set(core):
                    extra.append(stem(acr))
                    break
    return AnalyzedQuery(query, text, core + extra, core, "fr", answer_type(query))


class LexicalIndex:
    """BM25 over stemmed, folded terms of title + heading + passage.

    The scores are bm25s' (Lucene idf, k1 1.2, b 0.75), computed once per version into a
    term-major sparse matrix (CSC: each term's documents and their scores) and stored in bm25s'
    own file layout; a question adds its terms' columns. Held as three numpy arrays rather than
    through bm25s, whose import brings scipy.sparse (~20 MB resident) into a server that only
    ever adds columns."""

    K1, B = 1.2, 0.75

    def __init__(
        self,
        data: np.ndarray,
        indices: np.ndarray,
        indptr: np.ndarray,
        vocab: dict[str, int],
        num_docs: int,
        idf: dict[str, float],
    ) -> None:
        self.data, self.indices, self.indptr = data, indices, indptr
        self.vocab = vocab  # term → its column
        self.num_docs = num_docs
        self.idf = idf
        self.max_idf = max(idf.values(), default=1.0)  # the weight of a word never seen
        self._sorted: list[str] | None = None

    @staticmethod
    def build(docs_terms: list[list[str]]) -> LexicalIndex:
        terms: dict[str, int] = {}
        ids: list[int] = []
        tfs: list[int] = []
        rows = [0]
        for d in docs_terms:
            for term, tf in Counter(d or [""]).items():  # bm25s' empty token for empty docs
                ids.append(terms.setdefault(term, len(terms)))
                tfs.append(tf)
            rows.append(len(ids))
        lengths = np.array([len(d) or 1 for d in docs_terms], dtype=np.int64)
        return LexicalIndex.from_counts(
            list(terms), np.array(rows), np.array(ids), np.array(tfs), lengths
        )

    @staticmethod
    def from_counts(
        terms: list[str],
        rows: np.ndarray,
        term_ids: np.ndarray,
        tfs: np.ndarray,
        lengths: np.ndarray,
    ) -> LexicalIndex:
        """What ``bm25s.BM25(k1, b).index(docs)`` computes, bit for bit, from each document's
        (term id, count) pairs (document d's are ``rows[d]:rows[d + 1]``; an empty document
        counts the term "" once, as bm25s does): numpy instead of a Python loop per document,
        so that an incremental build redoes 100k passages from stored counts at once."""
        n = len(lengths)
        term_ids = np.asarray(term_ids, dtype=np.int64)
        doc = np.repeat(np.arange(n, dtype=np.int64), np.diff(rows))
        df = np.bincount(term_ids, minlength=len(terms))
        idf32 = np.zeros(len(terms), dtype=np.float32)
        for t in np.nonzero(df)[0]:
            c = int(df[t])
            idf32[t] = math.log(1 + (n - c + 0.5) / (c + 0.5))  # bm25s' Lucene idf
        k1, b = LexicalIndex.K1, LexicalIndex.B
        lengths = np.asarray(lengths, dtype=np.int64)
        l_avg = lengths.mean()
        tf = np.asarray(tfs).astype(np.float32)
        norm = (k1 * ((1 - b) + b * lengths / l_avg))[doc]  # per document, then per pair
        scores = (idf32[term_ids] * (tf / (norm + tf))).astype(np.float32)
        # Documents' rows → terms' columns: a stable sort by term keeps each column's documents
        # in order (what scipy's CSR → CSC transposition gives; a term is counted once a row).
        order = np.argsort(term_ids, kind="stable")
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        idf = {
            terms[t]: float(np.log(1 + (n - int(df[t]) + 0.5) / (int(df[t]) + 0.5)))
            for t in np.nonzero(df)[0]
            if terms[t]
        }
        return LexicalIndex(
            scores[order],
            doc[order].astype(np.int32),
            indptr,
            {t: i for i, t in enumerate(terms)},
            n,
            idf,
        )

    def starting_with(self, prefix: str, limit: int = 200) -> list[str]:
        """Index terms that begin with ``prefix`` (sorted once, on first use)."""
        if self._sorted is None:
            self._sorted = sorted(self.idf)
        i = bisect_left(self._sorted, prefix)
        found: list[str] = []
        while i < len(self._sorted) and self._sorted[i].startswith(prefix) and len(found) < limit:
            found.append(self._sorted[i])
            i += 1
        return found

    def scores(self, query_terms: list[str]) -> np.ndarray:
        """Each passage's BM25 for the question's known terms (a repeated term counts again),
        added column by column in the question's order, as bm25s does (float32)."""
        scores = np.zeros(self.num_docs, dtype=np.float32)
        for term in query_terms:
            if term in self.idf:
                col = self.vocab[term]
                start, end = self.indptr[col], self.indptr[col + 1]
                np.add.at(scores, self.indices[start:end], self.data[start:end])
        return scores

    def save(self, folder: Path) -> None:
        """bm25s' file layout (``BM25_DIR``), then the idf of each term."""
        out = folder / BM25_DIR
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / _BM25_FILES[0], self.data)
        np.save(out / _BM25_FILES[1], self.indices)
        np.save(out / _BM25_FILES[2], self.indptr)
        (out / _BM25_VOCAB).write_text(json.dumps(self.vocab, ensure_ascii=False), "utf-8")
        params = {"k1": self.K1, "b": self.B, "delta": 0.5, "method": "lucene",
                  "idf_method": "lucene", "dtype": "float32", "int_dtype": "int32",
                  "num_docs": self.num_docs, "backend": "numpy"}  # fmt: skip
        (out / _BM25_PARAMS).write_text(json.dumps(params, indent=4), encoding="utf-8")
        (folder / IDF).write_text(json.dumps(self.idf), encoding="utf-8")

    @staticmethod
    def load(folder: Path) -> LexicalIndex:
        src = folder / BM25_DIR
        data, indices, indptr = (np.load(src / name) for name in _BM25_FILES)
        vocab = json.loads((src / _BM25_VOCAB).read_text(encoding="utf-8"))
        num_docs = int(json.loads((src / _BM25_PARAMS).read_text(encoding="utf-8"))["num_docs"])
        idf = json.loads((folder / IDF).read_text(encoding="utf-8"))
        return LexicalIndex(data, indices, indptr, vocab, num_docs, idf)
