"""English questions over a French corpus: each content word mapped to French index terms
(a glossary of common civic, legal and technical words, else the same word in the corpus, else
a cognate), then judged like a French question."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import Stemmer

from index.langdetect import EN_STOP_WORDS
from index.language import STOP_WORDS, fold, stem, terms
from index.retrieval.question import AnalyzedQuery, answer_type

if TYPE_CHECKING:
    from index.retrieval.lexical import LexicalIndex

_WORD_RE = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
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


def analyze_english(
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
