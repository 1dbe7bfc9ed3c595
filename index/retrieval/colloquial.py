"""French as people type it on a phone: texting abbreviations and glued elisions.

The table is general French usage (as in any texting dictionary), not words of the corpus or of
any question set; a word the corpus itself uses is never rewritten ("tt" stays if an article
writes it).
"""

from __future__ import annotations

from collections.abc import Callable

TEXTING: dict[str, str] = {
    "ac": "avec",
    "avc": "avec",
    "bcp": "beaucoup",
    "bjr": "bonjour",
    "cest": "c'est",
    "jusqua": "jusqu'à",
    "quest": "qu'est",
    "cb": "combien",
    "cmb": "combien",
    "cmt": "comment",
    "dc": "donc",
    "dsl": "désolé",
    "ds": "dans",
    "gvt": "gouvernement",
    "gouv": "gouvernement",
    "jsp": "je ne sais pas",
    "ki": "qui",
    "koi": "quoi",
    "mm": "même",
    "ms": "mais",
    "mtn": "maintenant",
    "nb": "nombre",
    "ns": "nous",
    "pcq": "parce que",
    "pck": "parce que",
    "pk": "pourquoi",
    "pq": "pourquoi",
    "pr": "pour",
    "pdt": "pendant",
    "qd": "quand",
    "qq": "quelques",
    "qqch": "quelque chose",
    "qqn": "quelqu'un",
    "slt": "salut",
    "stp": "s'il te plaît",
    "svp": "s'il vous plaît",
    "tjs": "toujours",
    "tjrs": "toujours",
    "tt": "tout",
    "tte": "toute",
    "tts": "tous",
    "vs": "vous",
    "ya": "il y a",
}

_ELIDED = ("qu", "l", "d", "j", "m", "n", "s", "t", "c")


def expand_texting(word: str, known: set[str] | dict[str, int]) -> str | None:
    """The full form of a texting abbreviation the corpus does not use itself."""
    if word in known:
        return None
    return TEXTING.get(word)


def split_elision(word: str, known: Callable[[str], str | None]) -> str | None:
    """ "lintelligence" → "l'intelligence": a glued elision, when the word is unknown and its
    tail is known (``known`` gives the tail's corpus form, or None)."""
    if len(word) < 5:
        return None
    for head in _ELIDED:
        tail = word[len(head) :]
        if word.startswith(head) and len(tail) >= 4:
            form = known(tail)
            if form:
                return f"{head}'{form}"
    return None
