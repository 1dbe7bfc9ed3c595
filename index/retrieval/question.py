"""What a question asks for, and the analysed form the engine searches with: a number
("combien"), a date ("quand") or a name ("qui"), and whether a sentence holds one."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from index.language import fold, stem, terms


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
    """ "Combien …?" wants a number and "Quand …?" a date: a passage holding one, near the
    question's words, is more likely the answer (classic question-answering typing)."""
    folded = fold(query)
    if _ASKS_QUANTITY.search(folded):
        return "quantity"
    if _ASKS_DATE.search(folded):
        return "date"
    if _ASKS_NAME.search(folded):
        return "name"
    return None


_MONTH_NAMES = (
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre "
    "january february march april june july august september october november december"
)
_MONTHS = frozenset(stem(m) for m in _MONTH_NAMES.split())


NAME = "@"  # marks a capitalised word inside a sentence (a name) among a sentence's terms
_NAME_RE = re.compile(r"(?<=[^\W\d_][\s,;:(«] |[^\W\d_], )([A-ZÀ-ÖØ-Þ][\w-]+)")


def holds_answer(text_terms: frozenset[str], answer: str, question_terms: Collection[str]) -> bool:
    """Whether ``sentence_terms`` hold the kind of answer asked for, other than the question's
    own words (a year the question names is not its answer)."""
    return any(
        _is_answer(t, answer) and t.removeprefix(NAME) not in question_terms
        for t in text_terms
        if t not in question_terms
    )


def _is_answer(term: str, answer: str) -> bool:
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
