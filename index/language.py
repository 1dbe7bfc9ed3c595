"""French-aware text analysis shared by BM25, query expansion and quote selection.

Folding makes "videosurveillance", "vidéosurveillance" and "VIDÉOSURVEILLANCE" one term;
elisions (l’, d’, qu’) are cut so "l’article" matches "article"; digit groups written
"15 000" become "15000"; Snowball's French stemmer joins "caméras" and "caméra".
Which language a question is in: :mod:`index.langdetect`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
import Stemmer

APOSTROPHES = "’ʼ‘`´′"
_APOS_TABLE = str.maketrans({c: "'" for c in APOSTROPHES})
ELISIONS = ("l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu")
_ELISION_RE = re.compile(rf"\b(?:{'|'.join(ELISIONS)})'(?=\w)")
_DIGIT_GROUPS = re.compile(r"(?<!\d)(\d{1,3})(?:[ \u00a0\u202f\u2009](\d{3}))+(?!\d)")
_HYPHENATED = re.compile(r"[a-z]+(?:-[a-z]+)+")
_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")
FOOTNOTE_REF = re.compile(r"\[\^\d+\]")

# Function words and question words in French and English: they carry no topic.
STOP_WORDS = frozenset(
    [
        "a",
        "ai",
        "aie",
        "ainsi",
        "alors",
        "apres",
        "au",
        "aucun",
        "aupres",
        "aussi",
        "autre",
        "autres",
        "aux",
        "avaient",
        "avais",
        "avait",
        "avant",
        "avec",
        "avez",
        "avoir",
        "avons",
        "ayant",
        "c",
        "ca",
        "car",
        "ce",
        "ceci",
        "cela",
        "celle",
        "celles",
        "celui",
        "ces",
        "cet",
        "cette",
        "ceux",
        "chaque",
        "chez",
        "ci",
        "comme",
        "comment",
        "d",
        "dans",
        "de",
        "des",
        "deja",
        "depuis",
        "doit",
        "donc",
        "dont",
        "du",
        "elle",
        "elles",
        "en",
        "encore",
        "entre",
        "es",
        "est",
        "et",
        "etaient",
        "etais",
        "etait",
        "ete",
        "etes",
        "etre",
        "eu",
        "eux",
        "fait",
        "faire",
        "fois",
        "font",
        "ici",
        "il",
        "ils",
        "j",
        "je",
        "jusqu",
        "l",
        "la",
        "le",
        "les",
        "leur",
        "leurs",
        "lors",
        "lorsqu",
        "lui",
        "m",
        "ma",
        "mais",
        "me",
        "meme",
        "mes",
        "moi",
        "mon",
        "n",
        "ne",
        "ni",
        "non",
        "nos",
        "notre",
        "nous",
        "on",
        "ont",
        "ou",
        "par",
        "parce",
        "pas",
        "peu",
        "peut",
        "peuvent",
        "plus",
        "pour",
        "pourquoi",
        "pourra",
        "pourront",
        "qu",
        "quand",
        "que",
        "quel",
        "quelle",
        "quelles",
        "quels",
        "qui",
        "quoi",
        "s",
        "sa",
        "sans",
        "se",
        "sera",
        "serait",
        "ses",
        "si",
        "sien",
        "soit",
        "sont",
        "sous",
        "sur",
        "ta",
        "te",
        "tes",
        "toi",
        "ton",
        "tous",
        "tout",
        "toute",
        "toutes",
        "tres",
        "tu",
        "un",
        "une",
        "unes",
        "uns",
        "va",
        "vers",
        "voici",
        "voila",
        "vos",
        "votre",
        "vous",
        "y",
        "combien",
        "quoi",
        "est-ce",
        "qu'est-ce",
        "dit",
        "dire",
        "elle-meme",
        "lui-meme",
        "c'est",
        "avez-vous",
        "the",
        "of",
        "and",
        "or",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "from",
        "at",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "would",
        "will",
        "about",
        "into",
        "than",
        "then",
        "there",
        "their",
        "they",
        "them",
        "he",
        "she",
        "his",
        "her",
        "we",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "an",
        "any",
        "some",
        "not",
        "no",
    ]
)


def fold_text(text: str) -> str:
    """Lower case, unify apostrophes, strip accents, expand ligatures (the reference that
    ``fold`` applies character by character)."""
    text = unicodedata.normalize("NFKC", text).translate(_APOS_TABLE).lower()
    text = text.replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class _FoldTable(dict):
    """str.translate table filled on first sight of each character: folding is per
    character (a combining accent folds to nothing, "é" to "e"), and a table is 4x faster
    than normalising every text: it runs on every sentence a search reads."""

    def __missing__(self, code: int) -> str:
        self[code] = folded = fold_text(chr(code))
        return folded


_FOLD_TABLE = _FoldTable()


def fold(text: str) -> str:
    """Lower case, unify apostrophes, strip accents, expand ligatures."""
    if "Σ" in text:  # the one letter whose lower case depends on its neighbours (σ / ς)
        return fold_text(text)
    return text.translate(_FOLD_TABLE)


URL_RE = re.compile(r"(?:https?://|www\.)\S+")


def strip_urls(text: str) -> str:
    """Links are not words: their paths ("…-cameras-video") must not match questions."""
    return URL_RE.sub(" ", text)


def clean_display(text: str) -> str:
    """Text as a reader should see it: footnote markers removed, spaces collapsed."""
    return " ".join(FOOTNOTE_REF.sub("", text).split())


@lru_cache(maxsize=500_000)
def fold_word(word: str) -> str:
    """fold() of one word, cached: the same words recur across a corpus' texts."""
    return fold(word)


def words(text: str) -> list[str]:
    """Folded word tokens, elisions cut, digit groups joined, hyphenated words split."""
    text = fold(FOOTNOTE_REF.sub(" ", text))
    text = _DIGIT_GROUPS.sub(
        lambda m: (
            m.group(0)
            .replace(" ", "")
            .replace("\u00a0", "")
            .replace("\u202f", "")
            .replace("\u2009", "")
        ),
        text,
    )
    text = _ELISION_RE.sub(" ", text)
    tokens = [tok.rstrip(".,") for tok in _TOKEN_RE.findall(text)]
    # "vidéo-surveillance" also matches "vidéosurveillance", "start-up" "startup".
    for m in _HYPHENATED.finditer(text):
        parts = m.group(0).split("-")
        if all(len(x) > 1 and x not in STOP_WORDS for x in parts) and len(m.group(0)) > 5:
            tokens.append("".join(parts))
    return [t for t in tokens if t]


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("french")


ACCENT_TABLE = Path(__file__).with_name("french_accents.tsv")


def accent_table_from_wordfreq() -> dict[str, str]:
    """Folded word → its written form in French (wordfreq's list), where that form's accents
    change its Snowball stem: "verifiee" → "vérifiée", "donnees" → "données". Of the accented
    forms that fold alike, the one with the longest stem, then the most frequent: "verifie" is
    « vérifié » (stem "vérifi", as « vérifier ») rather than « vérifie » (Snowball: "vérif").
    Written once into ``ACCENT_TABLE`` (loading wordfreq's list costs 60 MB of memory);
    ``python -m index.language`` rewrites it (and ``WORD_TABLE``)."""
    from wordfreq import iter_wordlist, zipf_frequency

    stem_word = _stemmer().stemWord
    top: dict[str, float] = {}  # folded → the most frequent accented form's zipf
    best: dict[str, tuple[int, str]] = {}
    for word in iter_wordlist("fr"):  # most frequent first: ties keep the first
        folded = fold_text(word)
        if folded == word:
            continue  # the bare form is what Snowball already reads
        zipf = zipf_frequency(word, "fr")
        if zipf < top.setdefault(folded, zipf) - 1:
            continue  # ten times rarer: a misspelling ("securité"), not another reading
        length = len(stem_word(word))
        if folded not in best or length > best[folded][0]:
            best[folded] = (length, word)
    return {
        folded: word
        for folded, (_, word) in sorted(best.items())
        if fold_text(stem_word(word)) != stem_word(folded)
    }


WORD_TABLE = Path(__file__).with_name("french_words.u64")
EVERYDAY_ZIPF = 3.0  # once per million words: a word of everyday French, not a misspelling


def word_hash(folded: str) -> int:
    """A folded word's stable 64-bit hash (the word table stores hashes: 240 kB for 30k words,
    where a set of strings would cost the bot ~3 MB)."""
    return int.from_bytes(hashlib.blake2b(folded.encode(), digest_size=8).digest(), "little")


def word_table_from_wordfreq() -> np.ndarray:
    """The sorted hashes of French words (folded) at least as frequent as ``EVERYDAY_ZIPF``."""
    from wordfreq import iter_wordlist, zipf_frequency

    words: set[str] = set()
    for word in iter_wordlist("fr"):  # most frequent first
        if zipf_frequency(word, "fr") < EVERYDAY_ZIPF:
            break
        words.add(fold_text(word))
    return np.unique(np.array([word_hash(w) for w in words], dtype=np.uint64))


@lru_cache(maxsize=1)
def _word_table() -> np.ndarray:
    return np.fromfile(WORD_TABLE, dtype="<u8")


def is_everyday_word(folded: str) -> bool:
    """Whether a folded word is a word of everyday French (``WORD_TABLE``): « baisser »,
    « Lille », « litre » are words, not misspellings of a corpus word."""
    table = _word_table()
    h = np.uint64(word_hash(folded))
    i = int(np.searchsorted(table, h))
    return i < len(table) and table[i] == h


@lru_cache(maxsize=1)
def _written_forms() -> dict[str, str]:
    """``ACCENT_TABLE``, read once (2.4 MB)."""
    with ACCENT_TABLE.open(encoding="utf-8") as f:
        return dict(line.rstrip("\n").split("\t") for line in f if not line.startswith("#"))


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """The stem of a folded word. Snowball's French rules read accents (the suffixes "é",
    "ée", "és" of participles): stemmed bare, "vérifiée" ("verifiee") and "vérifier" had
    different stems, and so had "authentique" and "authenticité". The word's accents are put
    back first, the stem folded after: a question typed without accents gets the same stems."""
    return fold_word(_stemmer().stemWord(_written_forms().get(word, word)))


def terms(text: str) -> list[str]:
    """Index terms: content words, stemmed. Used identically for passages and queries."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS and (len(w) > 1 or w.isdigit())]


_SENTENCE_END = re.compile(r"(?<=[.!?…])[»”\"')\]]*(?:\[\^\d+\])?\s+(?=[«“\"(\[]?[A-ZÀ-ÖØ-Þ0-9])")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence boundaries as (start, end) offsets into ``text``; headings and lines count
    as sentences of their own."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        seg_start = line.start()
        seg = line.group(0)
        pos = 0
        for m in _SENTENCE_END.finditer(seg):
            end = m.start() + len(m.group(0).rstrip())
            if end - pos > 0:
                spans.append((seg_start + pos, seg_start + end))
            pos = m.end()
        if pos < len(seg) and seg[pos:].strip():
            spans.append((seg_start + pos, seg_start + len(seg.rstrip())))
    # Trim whitespace at both ends of each span; rejoin cuts after abbreviations ("M.", "cf.").
    out: list[tuple[int, int]] = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e <= s:
            continue
        if (
            out
            and _ABBREV_END.search(text[out[-1][0] : out[-1][1]])
            and text[out[-1][1] : s].strip() == ""
        ):
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


_ABBREV_END = re.compile(r"(?:\b[A-Z]|\b(?:M|Mme|Mlle|Dr|cf|etc|p|art|n°|vol|St))\.$")


if __name__ == "__main__":
    from importlib.metadata import version

    table = accent_table_from_wordfreq()
    ACCENT_TABLE.write_text(
        f"# wordfreq {version('wordfreq')}, French: folded word, written form (index/language.py)\n"
        + "".join(f"{k}\t{v}\n" for k, v in table.items()),
        encoding="utf-8",
    )
    print(f"{len(table)} forms written to {ACCENT_TABLE}")
    hashes = word_table_from_wordfreq()
    hashes.astype("<u8").tofile(WORD_TABLE)
    print(f"{len(hashes)} words written to {WORD_TABLE}")
