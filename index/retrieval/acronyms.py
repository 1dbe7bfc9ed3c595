"""Acronyms learned from the corpus itself: definitions (« vidéosurveillance algorithmique
(VSA) »), and acronyms used without one ("JO") matched to a recurring phrase whose content
words' initials spell them ("Jeux olympiques"). Queries are expanded with them."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from index.language import STOP_WORDS, fold, fold_word

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


_CAPS = re.compile(r"\b[A-Z]{2,5}\b")
_LETTERS = re.compile(r"[^\W\d_]+")
INITIALISM_BUDGET = 2_000_000  # tokens: enough to learn a corpus' vocabulary, bounded


@dataclass
class AcronymEvidence:
    """What one text says about acronyms: a corpus' acronyms are learned again from these
    without re-reading the texts that did not change (incremental builds keep them)."""

    tokens: int  # words, counted against INITIALISM_BUDGET
    caps: list[str]  # capitalised words: acronyms perhaps used without a definition
    defined: list[tuple[str, str]]  # (folded acronym, expansion), in text order
    phrases: list[tuple[int, int, str, str]]  # (first word, last word, initials, phrase)
    covered: frozenset[str] = frozenset()  # the initials ``phrases`` holds every phrase of

    def to_json(self) -> list:
        return [self.tokens, self.caps, self.defined, self.phrases, sorted(self.covered)]

    @classmethod
    def from_json(cls, data: list) -> AcronymEvidence:
        tokens, caps, defined, phrases, covered = data
        return cls(
            int(tokens),
            list(caps),
            [(k, e) for k, e in defined],
            [(int(i), int(j), a, p) for i, j, a, p in phrases],
            frozenset(covered),
        )


def acronym_evidence(
    text: str, initials: set[str] | frozenset[str] = frozenset()
) -> AcronymEvidence:
    """Definitions (« vidéosurveillance algorithmique (VSA) »), capitalised words, and the
    phrases whose content words' initials spell one of ``initials``."""
    defined: list[tuple[str, str]] = []
    after = _ACR_AFTER.findall(text) if _ACR_AFTER_HINT.search(text) else []
    dash = _ACR_DASH.findall(text) if _ACR_DASH_HINT.search(text) else []
    for phrase, acr in after + dash:
        if sum(c.isupper() for c in acr) < 2:
            continue
        exp = _expansion_for(acr, phrase)
        if exp:
            defined.append((fold(acr), exp))
    for acr, phrase in _ACR_BEFORE.findall(text):
        exp = _expansion_for(acr, " ".join(phrase.split()[: len(acr) + 3]))
        if exp and fold(exp.split()[0])[:1] == fold(acr[0]):
            defined.append((fold(acr), exp))
    return AcronymEvidence(
        tokens=len(_LETTERS.findall(text)),
        caps=sorted(set(_CAPS.findall(text))),
        defined=defined,
        phrases=initial_phrases(text, initials),
        covered=frozenset(initials),
    )


def initial_phrases(
    text: str, initials: set[str] | frozenset[str]
) -> list[tuple[int, int, str, str]]:
    """Runs of words whose content words' initials spell one of ``initials`` ("Jeux
    olympiques" for JO), each as (first word, last word, initials, phrase), in text order."""
    if not initials:
        return []
    prefixes = {a[:k] for a in initials for k in range(1, len(a) + 1)}
    firsts = {a[0] for a in initials}
    tokens = _LETTERS.findall(text)
    folded = [fold_word(t) for t in tokens]
    out: list[tuple[int, int, str, str]] = []
    for i in range(len(tokens)):
        # A phrase starting with a stop word never counts: skip those starts early.
        if folded[i][:1].upper() not in firsts or folded[i] in STOP_WORDS:
            continue
        spelled, n = "", 0  # the content words' initials so far, how many words
        j = i
        while j < len(tokens) and n < 5:
            if folded[j] not in STOP_WORDS or not n:
                spelled, n = spelled + folded[j][0].upper(), n + 1
                if spelled not in prefixes:
                    break  # no longer word can spell one of them either
            if n >= 2 and spelled in initials:
                out.append((i, j, spelled, " ".join(tokens[i : j + 1])))
            j += 1
    return out


def learn_acronyms(texts: list[str]) -> dict[str, list[str]]:
    """Pairs like « vidéosurveillance algorithmique (VSA) » found in the corpus itself."""
    evidence = [acronym_evidence(t) for t in texts]
    return acronyms_from_evidence(evidence, lambda i, wanted: initial_phrases(texts[i], wanted))


def acronyms_from_evidence(
    evidence: list[AcronymEvidence],
    rescan: Callable[[int, set[str]], list[tuple[int, int, str, str]]],
) -> dict[str, list[str]]:
    """The corpus' acronyms from its texts' evidence, in corpus order: definitions first,
    then acronyms used without one ("JO") matched to a recurring phrase whose content words'
    initials spell them ("Jeux olympiques"), in the first INITIALISM_BUDGET words. Evidence
    that lacks phrases for an initialism is completed by ``rescan(index, initials)``, in
    place (a caller keeping evidence keeps the completed one)."""
    found: dict[str, Counter[str]] = {}
    for ev in evidence:
        for key, exp in ev.defined:
            found.setdefault(key, Counter())[exp] += 1
    acronyms = {a for ev in evidence for a in ev.caps} - set(found)
    acronyms = {a for a in acronyms if fold(a) not in found}
    phrases: dict[str, Counter[str]] = {}
    budget = INITIALISM_BUDGET
    for i, ev in enumerate(evidence if acronyms else []):
        budget -= ev.tokens
        if budget < 0:
            break
        missing = acronyms - ev.covered
        if missing:
            ev.phrases = sorted(ev.phrases + rescan(i, missing))
            ev.covered = ev.covered | missing
        for _, _, spelled, phrase in ev.phrases:
            if spelled in acronyms:
                phrases.setdefault(spelled, Counter())[phrase] += 1
    for acr, counter in phrases.items():
        normalized: Counter[str] = Counter()
        for phrase, n in counter.items():
            normalized[phrase.lower()] += n
        phrase, n = normalized.most_common(1)[0]
        if n >= 3:
            found.setdefault(fold(acr), Counter())[phrase] += n
    return {k: [e for e, _ in c.most_common(3)] for k, c in found.items()}
