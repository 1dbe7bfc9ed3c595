"""French BM25 (bm25s) and the query analysis that feeds it: the corpus vocabulary restores
accents and fixes one-letter typos, and acronyms learned from the corpus expand queries."""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import bm25s
import numpy as np

from index.text import STOP_WORDS, fold, stem, terms, words

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each build at DEBUG via root
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_WORD_RE = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


@dataclass
class Vocabulary:
    """Folded corpus words → (document frequency, most frequent written form)."""

    df: dict[str, int] = field(default_factory=dict)
    surface: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, texts: list[str]) -> Vocabulary:
        df: Counter[str] = Counter()
        forms: dict[str, Counter[str]] = {}
        folded_of: dict[str, str] = {}  # fold() is slow and the same words recur
        for text in texts:
            seen = set()
            for raw in _WORD_RE.findall(text):
                for part in re.split(r"['’]", raw)[-1:]:
                    key = folded_of.get(part) or folded_of.setdefault(part, fold(part))
                    if not key or key in STOP_WORDS:
                        continue
                    forms.setdefault(key, Counter())[part.lower()] += 1
                    seen.add(key)
            df.update(seen)
        return cls(dict(df), {k: c.most_common(1)[0][0] for k, c in forms.items()})

    def correct(self, word: str) -> str | None:
        """The most frequent corpus word at one edit (Damerau) from an unknown word."""
        if len(word) < 5 or word in self.df or word.isdigit():
            return None
        best, best_df = None, 0
        for cand in _edits1(word):
            d = self.df.get(cand, 0)
            if d > best_df:
                best, best_df = cand, d
        return best

    def to_json(self) -> dict:
        return {"df": self.df, "surface": self.surface}

    @classmethod
    def from_json(cls, data: dict) -> Vocabulary:
        return cls(dict(data["df"]), dict(data["surface"]))


def _edits1(word: str) -> set[str]:
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    transposes = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    replaces = [a + c + b[1:] for a, b in splits if b for c in _ALPHABET]
    inserts = [a + c + b for a, b in splits for c in _ALPHABET]
    return set(deletes + transposes + replaces + inserts)


_ACR_AFTER = re.compile(
    r"([^\W\d_][^().;:!?«»\n]{2,90}?)\s*\(\s*([A-Z][A-Za-z]{1,7}|[A-Z]{2,8})\s*\)"
)
_ACR_DASH = re.compile(r"([^\W\d_][^().;:!?«»\n–—]{2,90}?)\s+[–—]\s+([A-Z]{2,8})\b")
_ACR_BEFORE = re.compile(r"\b([A-Z]{2,8})\s*\(\s*([^\W\d_][^()\n]{3,80}?)\s*\)")
# What _ACR_AFTER and _ACR_DASH need to match at all: cheap to look for, and their lazy
# 90-character phrases make them slow on the (many) texts without any.
_ACR_AFTER_HINT = re.compile(r"\(\s*(?:[A-Z][A-Za-z]{1,7}|[A-Z]{2,8})\s*\)")
_ACR_DASH_HINT = re.compile(r"[–—]\s+[A-Z]{2,8}\b")


def _expansion_for(acronym: str, phrase: str) -> str | None:
    """The shortest tail of ``phrase`` whose first word starts like the acronym."""
    tokens = [t for t in re.split(r"[\s’'\-]+", phrase.strip(' «»"“”')) if t]
    first = fold(acronym[0])
    for n in range(1, min(len(tokens), len(acronym) + 3) + 1):
        cand = tokens[-n:]
        if fold(cand[0])[:1] == first:
            content = [t for t in cand if fold(t) not in STOP_WORDS]
            if content and len(content) <= len(acronym) + 1 and _initials_fit(acronym, cand):
                return " ".join(cand)
    return None


def _initials_fit(acronym: str, tokens: list[str]) -> bool:
    """The acronym's letters appear in order in the expansion (VSA in "vidéosurveillance
    automatisée"), starting with the first word's initial."""
    joined = fold("".join(tokens))
    pos = 0
    for letter in fold(acronym):
        pos = joined.find(letter, pos)
        if pos < 0:
            return False
        pos += 1
    return True


def learn_acronyms(texts: list[str]) -> dict[str, list[str]]:
    """Pairs like « vidéosurveillance algorithmique (VSA) » found in the corpus itself."""
    found: dict[str, Counter[str]] = {}
    for text in texts:
        after = _ACR_AFTER.findall(text) if _ACR_AFTER_HINT.search(text) else []
        dash = _ACR_DASH.findall(text) if _ACR_DASH_HINT.search(text) else []
        for phrase, acr in after + dash:
            if sum(c.isupper() for c in acr) < 2:
                continue
            exp = _expansion_for(acr, phrase)
            if exp:
                found.setdefault(fold(acr), Counter())[exp] += 1
        for acr, phrase in _ACR_BEFORE.findall(text):
            exp = _expansion_for(acr, " ".join(phrase.split()[: len(acr) + 3]))
            if exp and fold(exp.split()[0])[:1] == fold(acr[0]):
                found.setdefault(fold(acr), Counter())[exp] += 1
    _learn_initialisms(texts, found)
    return {k: [e for e, _ in c.most_common(3)] for k, c in found.items()}


_CAPS = re.compile(r"\b[A-Z]{2,5}\b")


def _learn_initialisms(texts: list[str], found: dict[str, Counter[str]]) -> None:
    """Acronyms used without a definition ("JO") matched to phrases of the corpus whose
    content words' initials spell them ("Jeux olympiques"), when such a phrase recurs."""
    acronyms = {a for t in texts for a in _CAPS.findall(t)} - set(found)
    acronyms = {a for a in acronyms if fold(a) not in found}
    if not acronyms:
        return
    phrases: dict[str, Counter[str]] = {}
    firsts = {a[0] for a in acronyms}
    budget = 2_000_000  # tokens: enough to learn a corpus' vocabulary, bounded for big archives
    folded_of: dict[str, str] = {}  # fold() is slow and the same words recur
    for text in texts:
        tokens = re.findall(r"[^\W\d_]+", text)
        budget -= len(tokens)
        if budget < 0:
            break
        folded = [folded_of.get(t) or folded_of.setdefault(t, fold(t)) for t in tokens]
        for i in range(len(tokens)):
            # A phrase starting with a stop word never counts: skip those starts early.
            if folded[i][:1].upper() not in firsts or folded[i] in STOP_WORDS:
                continue
            initials, n = "", 0  # the content words' initials so far, how many words
            j = i
            while j < len(tokens) and n < 5:
                if folded[j] not in STOP_WORDS or not n:
                    initials, n = initials + folded[j][0].upper(), n + 1
                if n >= 2 and initials in acronyms:
                    phrases.setdefault(initials, Counter())[" ".join(tokens[i : j + 1])] += 1
                j += 1
    for acr, counter in phrases.items():
        normalized: Counter[str] = Counter()
        for phrase, n in counter.items():
            normalized[phrase.lower()] += n
        phrase, n = normalized.most_common(1)[0]
        if n >= 3:
            found.setdefault(fold(acr), Counter())[phrase] += n


@dataclass(frozen=True)
class AnalyzedQuery:
    original: str
    text: str  # for the embedding model: typos fixed, accents restored from the corpus
    terms: list[str]  # BM25 terms, expansions included
    core_terms: list[str]  # the query's own terms (for coverage)


def analyze_query(query: str, vocab: Vocabulary, acronyms: dict[str, list[str]]) -> AnalyzedQuery:
    """Fix what users type: missing accents, one-letter typos, acronyms or their expansions."""
    pieces: list[str] = []
    pos = 0
    for m in _WORD_RE.finditer(query):
        pieces.append(query[pos : m.start()])
        word = m.group(0)
        key = fold(word)
        replacement = word
        if key not in STOP_WORDS and "'" not in key and "’" not in word:
            if key in vocab.df:
                form = vocab.surface.get(key, word)
                # Restore accents only for words typed in plain lower-case ASCII.
                if word.isascii() and word.islower() and fold(form) == key:
                    replacement = form
            else:
                fixed = vocab.correct(key)
                if fixed:
                    replacement = vocab.surface.get(fixed, fixed)
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
    return AnalyzedQuery(query, text, core + extra, core)


class LexicalIndex:
    """BM25 over stemmed, folded terms of title + heading + passage."""

    def __init__(self, bm25: bm25s.BM25, idf: dict[str, float]) -> None:
        self.bm25 = bm25
        self.idf = idf
        self.max_idf = max(idf.values(), default=1.0)  # the weight of a word never seen

    @staticmethod
    def build(docs_terms: list[list[str]]) -> LexicalIndex:
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        bm25.index([d or [""] for d in docs_terms], show_progress=False)
        n = len(docs_terms)
        df: Counter[str] = Counter()
        for d in docs_terms:
            df.update(set(d))
        idf = {t: float(np.log(1 + (n - c + 0.5) / (c + 0.5))) for t, c in df.items()}
        return LexicalIndex(bm25, idf)

    def scores(self, query_terms: list[str]) -> np.ndarray:
        known = [t for t in query_terms if t in self.idf]
        n = self.bm25.scores["num_docs"] if isinstance(self.bm25.scores, dict) else None
        if not known:
            size = int(n) if n else len(self.bm25.get_scores([""]))
            return np.zeros(size, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(known), dtype=np.float32)

    def save(self, folder: Path) -> None:
        self.bm25.save(str(folder / "bm25"), show_progress=False)
        (folder / "idf.json").write_text(json.dumps(self.idf), encoding="utf-8")

    @staticmethod
    def load(folder: Path) -> LexicalIndex:
        bm25 = bm25s.BM25.load(str(folder / "bm25"), mmap=False, show_progress=False)
        idf = json.loads((folder / "idf.json").read_text(encoding="utf-8"))
        return LexicalIndex(bm25, idf)
