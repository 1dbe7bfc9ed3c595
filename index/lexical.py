"""French BM25 (bm25s) and the query analysis that feeds it: the corpus vocabulary restores
accents and fixes one-letter typos, and acronyms learned from the corpus expand queries."""

from __future__ import annotations

import json
import logging
import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer

from index.text import EN_STOP_WORDS, STOP_WORDS, detect_lang, fold, stem, terms, words

logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs each build at DEBUG via root
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_WORD_RE = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


@dataclass
class Vocabulary:
    """Folded corpus words → (document frequency, written form to restore).

    The written form is the most frequent one, except when the corpus also writes the word
    without accents ("commence" next to "commencé"): then what the user typed is a real word.
    """

    df: dict[str, int] = field(default_factory=dict)
    surface: dict[str, str] = field(default_factory=dict)
    _stems: frozenset[str] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def build(cls, texts: list[str]) -> Vocabulary:
        df: Counter[str] = Counter()
        forms: dict[str, Counter[str]] = {}
        for text in texts:
            seen = set()
            for raw in _WORD_RE.findall(text):
                for part in re.split(r"['’]", raw)[-1:]:
                    key = fold(part)
                    if not key or key in STOP_WORDS:
                        continue
                    forms.setdefault(key, Counter())[part.lower()] += 1
                    seen.add(key)
            df.update(seen)
        surface = {k: k if k in c else c.most_common(1)[0][0] for k, c in forms.items()}
        return cls(dict(df), surface)

    @property
    def stems(self) -> frozenset[str]:
        if self._stems is None:
            self._stems = frozenset(stem(w) for w in self.df)
        return self._stems

    def correct(self, word: str) -> str | None:
        """The most frequent corpus word at one edit (Damerau) from an unknown word.

        A word whose stem the corpus knows is another form of a known word ("étudié" next to
        "étudier"), not a typo: it stays as typed.
        """
        if len(word) < 5 or word in self.df or word.isdigit() or stem(word) in self.stems:
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
        for phrase, acr in _ACR_AFTER.findall(text) + _ACR_DASH.findall(text):
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
    for text in texts:
        tokens = re.findall(r"[^\W\d_]+", text)
        budget -= len(tokens)
        if budget < 0:
            break
        for i in range(len(tokens)):
            if fold(tokens[i])[:1].upper() not in firsts:
                continue
            content: list[str] = []
            j = i
            while j < len(tokens) and len(content) < 5:
                if fold(tokens[j]) not in STOP_WORDS or not content:
                    content.append(tokens[j])
                if len(content) >= 2:
                    initials = "".join(fold(w)[0] for w in content).upper()
                    if initials in acronyms and fold(tokens[i]) not in STOP_WORDS:
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
    lang: str = "fr"
    answer: str | None = None  # the kind of answer asked for: "quantity", "date", "name"


_ASKS_QUANTITY = re.compile(r"\b(?:combien|how (?:many|much))\b")
_ASKS_DATE = re.compile(
    r"\b(?:quand|when|(?:en |a )?quelle (?:annee|date)|what (?:year|date)|which year)\b"
)


_ASKS_NAME = re.compile(r"^(?:qui|who|whom)\b|\b(?:par qui|a qui|avec qui)\b")


def answer_type(query: str) -> str | None:
    """"Combien …?" wants a number and "Quand …?" a date: a passage holding one, near the
    question's words, is more likely the answer (classic question-answering typing)."""
    folded = fold(query)
    if _ASKS_QUANTITY.search(folded):
        return "quantity"
    if _ASKS_DATE.search(folded):
        return "date"
    if _ASKS_NAME.search(folded):
        return "name"
    return None


_GLOSSARY_FILE = Path(__file__).with_name("glossary_en_fr.tsv")
_MIN_ROOT = 5  # shortest shared root taken for a cognate ("olymp", "surveil")


@lru_cache(maxsize=1)
def _english_stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _glossary() -> dict[str, list[list[str]]]:
    """English stem → French translations, each as index terms (first: the usual one)."""
    table: dict[str, list[list[str]]] = {}
    stemmer = _english_stemmer()
    for line in _GLOSSARY_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        english, _, french = line.partition("\t")
        translations = [terms(w) for w in french.split()]
        table.setdefault(stemmer.stemWord(fold(english.strip())), []).extend(
            t for t in translations if t
        )
    return table


_MONTH_NAMES = (
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre "
    "january february march april june july august september october november december"
)
_MONTHS = frozenset(stem(m) for m in _MONTH_NAMES.split())


NAME = "@"  # marks a capitalised word inside a sentence (a name) among a sentence's terms
_NAME_RE = re.compile(r"(?<=[^\W\d_][\s,;:(«] |[^\W\d_], )([A-ZÀ-ÖØ-Þ][\w-]+)")


def is_answer(term: str, answer: str) -> bool:
    """Whether a sentence term is the kind of answer asked for (its marker, for names)."""
    if answer == "name":
        return term.startswith(NAME)
    year = len(term) == 4 and term.isdigit() and term[:2] in ("19", "20")
    if answer == "date":
        return year or term in _MONTHS
    return term.isdigit() and not year


def sentence_terms(sentence: str) -> list[str]:
    """A sentence's index terms plus a marker for each name in it (for "qui …?")."""
    return terms(sentence) + [NAME + stem(fold(n)) for n in _NAME_RE.findall(sentence)]



def translate_word(word: str, lexical: LexicalIndex) -> list[list[str]]:
    """French index terms for a folded English word: from the glossary, else the same word in
    the corpus (names, "CNIL"), else a cognate sharing its root ("algorithmic" → algorithm)."""
    english = _english_stemmer().stemWord(word)
    known = [t for t in _glossary().get(english, []) if all(x in lexical.idf for x in t)]
    if known:
        return known
    french = stem(word)
    if french in lexical.idf:
        return [[french]]
    for n in range(len(word) - 1, _MIN_ROOT - 1, -1):
        if word[:n] in lexical.idf:
            return [[word[:n]]]
    if len(english) >= _MIN_ROOT:
        matches = lexical.starting_with(english)
        if matches:
            return [[min(matches, key=lambda t: lexical.idf[t])]]
    return []


def _analyze_english(
    query: str, lexical: LexicalIndex, acronyms: dict[str, list[str]]
) -> AnalyzedQuery:
    """An English question over a French corpus: each content word becomes French terms; a word
    with no translation stays as it is, and weighs as a word the corpus never uses."""
    core: list[str] = []
    extra: list[str] = []
    for raw in _WORD_RE.findall(query):
        key = fold(raw)
        if key in EN_STOP_WORDS or key in STOP_WORDS or (len(key) < 2 and not key.isdigit()):
            continue
        if key in acronyms:
            core.append(stem(key))
            for exp in acronyms[key][:2]:
                extra.extend(terms(exp))
            continue
        translations = translate_word(key, lexical)
        if not translations:
            core.append(key)
            continue
        core.extend(translations[0])
        for other in translations[1:]:
            extra.extend(other)
    return AnalyzedQuery(query, query, core + extra, core, "en", answer_type(query))


def analyze_query(
    query: str,
    vocab: Vocabulary,
    acronyms: dict[str, list[str]],
    lexical: LexicalIndex | None = None,
) -> AnalyzedQuery:
    """Fix what users type: missing accents, one-letter typos, acronyms or their expansions.
    English questions (when the lexical index is given) are mapped to French terms."""
    if lexical is not None and detect_lang(query) == "en":
        return _analyze_english(query, lexical, acronyms)
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
    return AnalyzedQuery(query, text, core + extra, core, "fr", answer_type(query))


class LexicalIndex:
    """BM25 over stemmed, folded terms of title + heading + passage."""

    def __init__(self, bm25: bm25s.BM25, idf: dict[str, float]) -> None:
        self.bm25 = bm25
        self.idf = idf
        self.max_idf = max(idf.values(), default=1.0)  # the weight of a word never seen
        self._sorted: list[str] | None = None

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
