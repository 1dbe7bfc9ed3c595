"""Which language a question is in (French, the corpus' own, or English), from the function
words it uses; and the English function words an English question carries besides its topic."""

from __future__ import annotations

import re

from index.language import fold

_EN_MARKERS = frozenset(
    [
        "the",
        "of",
        "and",
        "is",
        "are",
        "was",
        "were",
        "what",
        "which",
        "who",
        "how",
        "why",
        "when",
        "where",
        "does",
        "did",
        "do",
        "about",
        "for",
        "with",
        "this",
        "that",
        "these",
        "those",
        "can",
        "could",
        "should",
        "would",
        "will",
        "from",
        "into",
        "their",
        "there",
    ]
)
_FR_MARKERS = frozenset(
    [
        "le",
        "la",
        "les",
        "des",
        "du",
        "de",
        "un",
        "une",
        "est",
        "sont",
        "que",
        "qui",
        "quoi",
        "quel",
        "quelle",
        "quels",
        "quelles",
        "pour",
        "avec",
        "dans",
        "sur",
        "au",
        "aux",
        "ce",
        "cette",
        "ces",
        "comment",
        "pourquoi",
        "quand",
        "combien",
        "ou",
        "et",
        "en",
    ]
)


# English function words and question words: what an English question says besides its topic.
_EN_FUNCTION_WORDS = """a an as at be but by if in it its no not on or such to then than too
    very so just also
    any all some more most other new get got say said tell please
    know want like between after before during over under up down out off again per via each
    few both only own same much many lot lots i me my we our you your he she him her they them
    us am been being has have had having may might must shall whom whose done doing there's
    what's it's don't doesn't didn't isn't aren't wasn't"""
EN_STOP_WORDS = _EN_MARKERS | frozenset(_EN_FUNCTION_WORDS.split())


def detect_lang(text: str) -> str:
    """'en' when English function words outnumber French ones, else 'fr' (the corpus' own)."""
    tokens = re.findall(r"[a-z]+", fold(text))
    en = sum(t in _EN_MARKERS for t in tokens)
    fr = sum(t in _FR_MARKERS for t in tokens)
    return "en" if en > fr else "fr"
