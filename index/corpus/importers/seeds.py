"""Importers for the raw seed pages: a blog mirror holding several articles, and a page that
republishes one article inside another site's menus.

Both arrive as plain text extracted from HTML, so structure is recovered from the text itself:
title lines followed by French date lines, short heading lines, footnote tooltips left inline
by a WordPress plugin, and menu link lists.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from index.corpus.article import article_id, derived_permalink
from index.types import Article

ORIGIN_BASE = "https://www.laquadrature.net"
ORIGIN_SOURCE = "La Quadrature du Net"

MONTHS = {
    "janvier": 1,
    "février": 2,
    "fevrier": 2,
    "mars": 3,
    "avril": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7,
    "août": 8,
    "aout": 8,
    "septembre": 9,
    "octobre": 10,
    "novembre": 11,
    "décembre": 12,
    "decembre": 12,
}
_MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAYS = "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche"
DATE_LINE = re.compile(
    rf"^(?:{_DAYS})\s+(\d{{1,2}})(?:er)?\s+({_MONTH_RE})\s+(\d{{4}})(?:\s+à\s+(\d{{1,2}})[:h](\d{{2}}))?\s*$",
    re.IGNORECASE,
)
# The footnote plugin leaves `word<N><note text><script …tooltip_<post>_<n>_<N>…});` inline.
TOOLTIP_SCRIPT = re.compile(
    r"<script[^>]*>\s*jQuery\('#footnote_plugin_tooltip_\d+_\d+_(\d+)'\)\.tooltip\(\{.*?\}\);",
    re.DOTALL,
)
ANY_SCRIPT_LINE = re.compile(r"^\s*<script\b.*$", re.MULTILINE)
URL_LINE = re.compile(r"^https?://\S+$")
HEADING_MAX = 140


@dataclass(frozen=True)
class SeedResult:
    articles: list[Article]
    warnings: list[str]


def import_seed_file(path: Path) -> SeedResult:
    """Dispatch on the page's shape: a mirror (title + French date lines) or a republication."""
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    lines = text.split("\n")
    if sum(1 for ln in lines if DATE_LINE.match(ln.strip())) >= 1:
        return import_mirror(text)
    return import_republished(text)


# ---------------------------------------------------------------- the blog mirror (many articles)


def import_mirror(text: str) -> SeedResult:
    """Cut a mirror page into articles at each (title line, date line) pair."""
    lines = text.split("\n")
    starts: list[tuple[int, int]] = []  # (title line index, date line index)
    for i, line in enumerate(lines):
        if DATE_LINE.match(line.strip()):
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            if j >= 0:
                starts.append((j, i))
    articles: list[Article] = []
    warnings: list[str] = []
    for n, (title_i, date_i) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        title = " ".join(lines[title_i].split())
        m = DATE_LINE.match(lines[date_i].strip())
        assert m
        date = dt.date(int(m.group(3)), MONTHS[m.group(2).lower()], int(m.group(1)))
        raw = "\n".join(lines[date_i + 1 : end])
        body, notes_warn = _clean_mirror_body(raw)
        warnings.extend(f"{title}: {w}" for w in notes_warn)
        url = derived_permalink(ORIGIN_BASE, date, title)
        articles.append(_origin_article(url, title, date, body, url_derived=True))
    return SeedResult(articles, warnings)


def _origin_article(url: str, title: str, date: dt.date, body: str, **derived: bool) -> Article:
    """An article of the origin site (La Quadrature du Net, in French)."""
    return Article(
        id=article_id(url), title=title, date=date, url=url, source=ORIGIN_SOURCE, lang="fr",
        body=body, **derived,
    )  # fmt: skip


def _clean_mirror_body(raw: str) -> tuple[str, list[str]]:
    warnings: list[str] = []
    # Split off the references block ("References" heading, repeated) and parse its notes.
    notes: dict[int, str] = {}
    ref = re.search(r"^\s*References\s*$", raw, re.MULTILINE)
    main = raw
    if ref:
        main, tail = raw[: ref.start()], raw[ref.start() :]
        tail = ANY_SCRIPT_LINE.sub("", tail)
        for line in tail.split("\n"):
            mnote = re.match(r"^\s*(\d{1,3})\s+(\S.*)$", line)
            if mnote:
                notes[int(mnote.group(1))] = mnote.group(2).strip()
    # Inline tooltips: `word<N><note text><script…>` → `word[^N]`.
    out: list[str] = []
    pos = 0
    for m in TOOLTIP_SCRIPT.finditer(main):
        n = int(m.group(1))
        before = main[pos : m.start()]
        note = notes.get(n)
        cut = -1
        if note:
            cut = before.rfind(f"{n}{note}")
        if cut < 0:
            # Fall back on the last place where the number is glued to a word.
            glued = list(re.finditer(rf"(?<=[^\W\d]|[»”).]){n}(?=\S)", before))
            cut = glued[-1].start() if glued else -1
            if cut >= 0 and n not in notes:
                notes[n] = before[cut + len(str(n)) :].strip()
        if cut < 0:
            warnings.append(f"footnote {n} could not be placed")
            out.append(before)
        else:
            out.append(before[:cut] + f"[^{n}]")
        pos = m.end()
    out.append(main[pos:])
    main = ANY_SCRIPT_LINE.sub("", "".join(out))
    main = _inline_notes_to_footnotes(main, notes)
    paragraphs = _paragraphs(main)
    body = "\n\n".join(_mark_heading(p) for p in paragraphs)
    if notes:
        body += "\n\n" + "\n\n".join(f"[^{k}]: {v}" for k, v in sorted(notes.items()))
    return body, warnings


_INLINE_NOTE = re.compile(r"\s?\[([^\[\]\n]*https?://[^\[\]\n]*)\]")


def _inline_notes_to_footnotes(text: str, notes: dict[int, str]) -> str:
    """Bracketed source notes left inline ("coûte [D’après cet article … https://…]") become
    footnotes, so quotes read as sentences."""

    def repl(m: re.Match[str]) -> str:
        n = max(notes, default=0) + 1
        notes[n] = " ".join(m.group(1).split())
        return f"[^{n}]"

    return _INLINE_NOTE.sub(repl, text)


def _paragraphs(text: str) -> list[str]:
    paras = []
    for block in re.split(r"\n\s*\n", text):
        block = " ".join(block.split())
        if block:
            paras.append(block)
    return paras


def _mark_heading(paragraph: str) -> str:
    """Short lines that start with a capital or a number and end without sentence punctuation
    are section headings in these pages."""
    if _looks_like_heading(paragraph):
        return f"## {paragraph}"
    return paragraph


def _looks_like_heading(line: str) -> bool:
    line = line.strip()
    if not line or len(line) > HEADING_MAX or line.startswith("- "):
        return False
    if line[-1] in ".:;,…" or URL_LINE.match(line):
        return False
    first = line[0]
    return first.isupper() or first.isdigit() or first in '«"“'


# ---------------------------------------- a republished article inside another site's menus


def import_republished(text: str) -> SeedResult:
    """Keep only the article: it starts after the last menu list, its canonical URL stands on a
    line of its own, and its footnotes come as a trailing list."""
    lines = [ln.rstrip() for ln in text.split("\n")]
    url_i = next((i for i, ln in enumerate(lines) if URL_LINE.match(ln.strip())), None)
    if url_i is None:
        raise ValueError("no canonical URL line found in the republished page")
    url = lines[url_i].strip()
    last_list = max((i for i in range(url_i) if lines[i].lstrip().startswith("- ")), default=-1)
    preamble = [ln.strip() for ln in lines[last_list + 1 : url_i] if ln.strip()]
    if not preamble:
        raise ValueError("no title found before the canonical URL")
    title = " ".join(preamble[0].split())
    rest = [ln.strip() for ln in lines[url_i + 1 :]]
    # The article's own notes: the trailing run of list lines.
    end = len(rest)
    while end > 0 and (not rest[end - 1] or rest[end - 1].startswith("- ")):
        end -= 1
    body_lines = [ln for ln in rest[:end] if ln]
    note_lines = [ln[2:].strip() for ln in rest[end:] if ln.startswith("- ")]
    notes = _parse_list_notes(note_lines)
    paragraphs = [_glue_note_refs(p, notes) for p in body_lines]
    body = "\n\n".join(_mark_heading(p) for p in paragraphs)
    if notes:
        body += "\n\n" + "\n\n".join(f"[^{k}]: {v}" for k, v in sorted(notes.items()))
    date, warnings = _date_from_text("\n".join(body_lines))
    return SeedResult(
        [_origin_article(url, title, date, body, date_derived=True)],
        warnings,
    )


def _parse_list_notes(items: list[str]) -> dict[int, str]:
    """Notes written as '- 1.' followed by items, or '- 2.Text'."""
    notes: dict[int, list[str]] = {}
    current: int | None = None
    for item in items:
        m = re.match(r"^(\d{1,3})\.\s*(.*)$", item)
        if m:
            current = int(m.group(1))
            notes[current] = [m.group(2).strip()] if m.group(2).strip() else []
        elif current is not None:
            notes[current].append(item)
    return {k: " ".join(_clean_note(v) for v in vs if v).strip() for k, vs in notes.items()}


def _clean_note(text: str) -> str:
    text = re.sub(r';?\s*target="_blank">', " ", text)
    return " ".join(text.split())


def _glue_note_refs(paragraph: str, notes: dict[int, str]) -> str:
    """'ailleurs1, et' → 'ailleurs[^1], et' for the numbers that have a note."""
    for n in sorted(notes, reverse=True):
        paragraph = re.sub(rf"(?<=[^\W\d]){n}(?=[\s,.;:)»]|$)", f"[^{n}]", paragraph, count=1)
    return paragraph


def _date_from_text(text: str) -> tuple[dt.date, list[str]]:
    """No date on the page: take the latest past date the text itself mentions (marked derived).

    Only dated mentions count ("janvier 2018", "19 septembre dernier"): a bare year may be a
    plan for the future ("réviser la loi en 2020").
    """
    dated: list[dt.date] = []
    for d, month, y in re.findall(rf"\b(\d{{1,2}})(?:er)?\s+({_MONTH_RE})\s+(\d{{4}})", text, re.I):
        dated.append(dt.date(int(y), MONTHS[month.lower()], int(d)))
    for month, y in re.findall(rf"\b({_MONTH_RE})\s+(\d{{4}})\b", text, re.I):
        dated.append(dt.date(int(y), MONTHS[month.lower()], 1))
    years = [d.year for d in dated] or [int(y) for y in re.findall(r"\b(19[89]\d|20\d\d)\b", text)]
    if not years:
        raise ValueError("the page holds no date at all")
    year = max(years)
    dated.append(dt.date(year, 1, 1))
    for d, month in re.findall(rf"\b(\d{{1,2}})(?:er)?\s+({_MONTH_RE})\s+dernier\b", text, re.I):
        dated.append(dt.date(year, MONTHS[month.lower()], int(d)))
    best = max(dated)
    return best, [f"date derived from the text: {best.isoformat()}"]
