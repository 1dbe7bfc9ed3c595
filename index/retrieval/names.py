"""Names of several words that a question holds — « le Tour de France », « la Ligue des
champions », « Amnesty International » — and whether the articles ever write them.

Each word of such a name may well be in the corpus ("France", "ligue", "international"), so
word by word a question about the Tour de France looks covered: « Qui a remporté le Tour de
France 2023 ? » was quoted a passage where "France" and "remporté" happen to meet. A name is one
thing: when no sentence, heading or title of the corpus holds all its words together, the
articles do not talk about it, and its words count as words the corpus never uses. A number
after a name is part of it (its edition or model: « la Coupe du monde 2018 » is not the « coupe
du monde de rugby 2023 » of the articles, an « iPhone 15 » not their « 15 000 caméras »).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np

from index.language import STOP_WORDS, fold, terms
from index.retrieval.lexical import LexicalIndex

_UPPER = "A-ZÀ-ÖØ-Þ"
_CAPITALISED = rf"[{_UPPER}][\w’'-]*"
_LINK = r"(?:de la|de l['’]|des|du|de|d['’]|of the|of)"
# A capitalised word, then capitalised words or linked words ("du monde", "de l'Homme"): at
# most three of either, so that a name does not run on into the rest of the question; then
# its number, if any. Or one capitalised word ("Windows") or brand ("iPhone") and a number.
_NAME = re.compile(
    rf"(?<![\w-])({_CAPITALISED}(?:(?:\s+{_CAPITALISED})|(?:\s*{_LINK}\s*[\w’'-]+)){{1,3}}"
    rf"(?:\s+\d{{1,4}}\b)?|(?:{_CAPITALISED}|[a-z]+[{_UPPER}][\w’'-]*)\s+\d{{1,4}}\b)"
)
_WORDS = re.compile(r"[^\W\d_]+")
_JOIN = re.compile(rf"\s*{_LINK}\s*(?=[{_UPPER}])")
_SENTENCE_START = re.compile(r"(?:^|[.!?…:]\s+)$")

# Passages holding all of a name's words that are read to look for them in one sentence: past
# this many, the words are common enough together to count as written.
MAX_CHECKED = 100


def question_names(question: str) -> list[str]:
    """Each name of two or more index terms, as written, leaving out a sentence's first word,
    capitalised because it opens the sentence. A question written in capitals (« QUE DIT LA
    CNIL … », « Que Dit La Cnil … »: function words capitalised) shows no names."""
    function_words = [w for w in _WORDS.findall(question)[1:] if fold(w) in STOP_WORDS]
    if sum(w[0].isupper() for w in function_words) >= 2:
        return []
    found: list[str] = []
    for m in _NAME.finditer(question):
        name = m.group(1)
        if _SENTENCE_START.search(question[: m.start()]):
            # « Combien de … », « Selon LQDN … »: the opening word is no part of a name.
            name = name.partition(" ")[2]
            if not name[:1].isupper():
                continue
        if len(_terms(name)) >= 2:
            found.append(name)
    return found


def _terms(text: str) -> list[str]:
    return list(dict.fromkeys(terms(text)))


def _halves(name: str) -> list[tuple[list[str], list[str]]]:
    """Two names joined by a link (« la Vidéosurveillance algorithmique de la Quadrature du
    Net »): each way to cut it before a capitalised word, as two names of two terms or more."""
    cuts = []
    for m in _JOIN.finditer(name):
        left, right = _terms(name[: m.start()]), _terms(name[m.end() :])
        if len(left) >= 2 and len(right) >= 2:
            cuts.append((left, right))
    return cuts


def written_together(
    words: list[str],
    lexical: LexicalIndex,
    sentence_sets: Callable[[int], Iterable[frozenset[str]]],
) -> bool:
    """Whether one sentence (or heading, or title: a passage's sets) of the corpus holds all
    ``words``; the passages holding them all are found from the BM25 postings."""
    if any(w not in lexical.vocab for w in words):
        return False
    docs: np.ndarray | None = None
    for w in words:
        col = lexical.vocab[w]
        holding = lexical.indices[lexical.indptr[col] : lexical.indptr[col + 1]]
        docs = holding if docs is None else np.intersect1d(docs, holding, assume_unique=True)
    assert docs is not None
    if len(docs) > MAX_CHECKED:
        return True
    wanted = set(words)
    return any(wanted <= s for doc in docs.tolist() for s in sentence_sets(doc))


def foreign_name_terms(
    question: str,
    lexical: LexicalIndex,
    sentence_sets: Callable[[int], Iterable[frozenset[str]]],
) -> frozenset[str]:
    """The terms of the question's names that the corpus never writes together (nor as two
    names it writes, joined by the question)."""
    out: set[str] = set()
    for name in question_names(question):
        words = _terms(name)
        if written_together(words, lexical, sentence_sets) or any(
            written_together(left, lexical, sentence_sets)
            and written_together(right, lexical, sentence_sets)
            for left, right in _halves(name)
        ):
            continue
        out.update(words)
    return frozenset(out)
