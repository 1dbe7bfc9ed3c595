"""Pick the quote inside a passage and build a link that highlights it in the browser."""

from __future__ import annotations

import re
from urllib.parse import quote as pct

from index.language import clean_display, sentence_spans
from index.retrieval.question import holds_answer, sentence_terms

MAX_QUOTE_CHARS = 800
MAX_SENTENCES = 3
ANSWER_BONUS = 0.5  # a sentence holding the kind of answer asked for, against 0–2 for words


def select_quote(
    text: str,
    query_terms: set[str],
    idf: dict[str, float],
    *,
    semantic: dict[tuple[int, int], float] | None = None,
    answer: str | None = None,
    max_chars: int = MAX_QUOTE_CHARS,
    known_terms: list[frozenset[str]] | None = None,
    sentences: int = MAX_SENTENCES,
    within: tuple[int, int] | None = None,
) -> tuple[int, int]:
    """Offsets (into ``text``) of the best 1–3 consecutive sentences, at most ``max_chars``.

    A sentence scores by the idf of the query terms it holds and, when sentence vectors are
    given, by how close its meaning is to the question (relative to the passage's other
    sentences), and by holding the kind of answer asked for (a number for "combien"). The
    best-scoring window wins; ties go to the longer one, for context. A
    window may open on its section's heading without losing a sentence. ``within``: only
    sentences inside these offsets (the answering sentence of a chosen window).
    """
    spans = sentence_spans(text)
    if not spans:
        return 0, len(text)
    # ``known_terms``: each sentence's terms (``sentence_terms``), when the caller has them.
    if known_terms is None or len(known_terms) != len(spans):
        known_terms = [frozenset(sentence_terms(text[s:e])) for s, e in spans]
    if within is not None:
        keep = [i for i, (s, e) in enumerate(spans) if s >= within[0] and e <= within[1]]
        if keep:
            spans = [spans[i] for i in keep]
            known_terms = [known_terms[i] for i in keep]
    lexical = [sum(idf.get(t, 1.0) for t in ts & query_terms) for ts in known_terms]
    top = max(lexical) or 1.0
    scores = [v / top for v in lexical]
    if semantic:
        values = [semantic.get(span) for span in spans]
        known = [v for v in values if v is not None]
        if known:
            lo, hi = min(known), max(known)
            spread = (hi - lo) or 1.0
            scores = [
                sc + (0.0 if v is None else (v - lo) / spread)
                for sc, v in zip(scores, values, strict=True)
            ]
    if answer:
        scores = [
            sc + ANSWER_BONUS * holds_answer(ts, answer, query_terms)
            for sc, ts in zip(scores, known_terms, strict=True)
        ]
    best: tuple[float, int] | None = None
    window = (spans[0][0], spans[0][1])
    for i in range(len(spans)):
        total = 0.0
        # A section heading rides along with the sentences after it: it is context, not text.
        size = sentences + (1 if text.startswith("#", spans[i][0]) else 0)
        for j in range(i, min(i + size, len(spans))):
            length = spans[j][1] - spans[i][0]
            if length > max_chars and j > i:
                break
            total += scores[j]
            key = (round(total, 6), length)
            if best is None or key > best:
                best = key
                window = (spans[i][0], spans[j][1])
    start, end = window
    if end - start > max_chars:
        end = _cut_at_word(text, start, start + max_chars)
    return start, end


def _cut_at_word(text: str, start: int, limit: int) -> int:
    cut = text.rfind(" ", start, limit)
    return cut if cut > start else limit


def quote_text(raw: str) -> str:
    """What the reader sees: markdown heading marks and footnote markers removed."""
    lines = [
        re.sub(r"^(?:#{1,6}\s+|\[\^\d+\]:\s*)", "", ln) for ln in raw.split("\n") if ln.strip()
    ]
    return (
        clean_display(" — ".join(lines))
        if len(lines) > 1
        else clean_display(lines[0] if lines else "")
    )


# WICG Text Fragments: these characters are syntax inside the directive and must be escaped.
_FRAGMENT_SAFE = "".join(c for c in "!$'()*+./:;=?@_~" if c not in "&,-")


def _encode_fragment(text: str) -> str:
    return pct(text, safe=_FRAGMENT_SAFE).replace("-", "%2D")


# What the page does not show as written: a footnote marker ([^2] renders as a superscript
# "2" glued to its word), a soft hyphen, Markdown emphasis, links and code. A fragment word
# holding one of them never matches, so the fragment is built around such words.
_HIDDEN = re.compile(r"\[\^\d+\]|[\u00ad*_`\[\]<>]")
# Line starts the page renders as a list marker or a heading, not as text.
_LINE_MARK = re.compile(r"^(?:#{1,6}\s+|\[\^\d+\]:\s*|(?:\d{1,3}[.)]|[-*+])\s+)")


def _safe_run(ok: list[bool], size: int, *, last: bool, lo: int = 0) -> int | None:
    """Start of the first (or last) run of ``size`` shown words at or after ``lo``."""
    starts = range(lo, len(ok) - size + 1)
    for i in reversed(starts) if last else starts:
        if all(ok[i : i + size]):
            return i
    return None


def text_fragment_url(url: str, quote: str, words_each_side: int = 5) -> str:
    """``url#:~:text=start,end`` for long quotes, ``url#:~:text=quote`` for short ones.

    ``quote`` is the passage's text as stored (Markdown, footnote markers) or as displayed.
    The fragment uses words from a single line of the quote, so it matches text that the
    browser renders inside one block, and only words the page shows as written: the first
    and last runs of such words (a short quote holding none of the others is used whole).
    """
    base = url.split("#", 1)[0]
    lines = [_LINE_MARK.sub("", ln).strip() for ln in re.split(r"\n| — ", quote)]
    tokens = max(lines, key=len).split() if lines else []
    if not tokens:
        return base
    ok = [not _HIDDEN.search(t) for t in tokens]
    if len(tokens) <= 2 * words_each_side + 2 and all(ok):
        return f"{base}#:~:text={_encode_fragment(' '.join(tokens))}"
    for size in range(words_each_side, 0, -1):
        first = _safe_run(ok, size, last=False)
        final = _safe_run(ok, size, last=True, lo=first + size) if first is not None else None
        if first is not None and final is not None:
            start = _encode_fragment(" ".join(tokens[first : first + size]))
            end = _encode_fragment(" ".join(tokens[final : final + size]))
            return f"{base}#:~:text={start},{end}"
    shown = [t for t, k in zip(tokens, ok, strict=True) if k]  # one at most by now
    return f"{base}#:~:text={_encode_fragment(shown[0])}" if shown else base
