"""Bytes → text: the declared charset, else the page's own, else UTF-8 with a Windows-1252
fallback per byte; and repair of text that was double-encoded on the way."""

from __future__ import annotations

import codecs
import re


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode the bytes that are not UTF-8 as Windows-1252 (Latin-1 for its 5 holes)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    bad = exc.object[exc.start : exc.end]
    chars = []
    for byte in bad:
        try:
            chars.append(bytes([byte]).decode("cp1252"))
        except UnicodeDecodeError:
            chars.append(bytes([byte]).decode("latin-1"))
    return "".join(chars), exc.end


codecs.register_error("campaignbot-cp1252", _cp1252_fallback)

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_LATIN1_ALIASES = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "ascii", "us-ascii"}


def _codec(name: str | None) -> str | None:
    """Normalise a declared charset; 'latin-1' means windows-1252 on the web (WHATWG)."""
    if not name:
        return None
    name = name.strip().strip("'\"").lower()
    if name in _LATIN1_ALIASES:
        return "cp1252"
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_html(data: bytes, declared: str | None = None) -> str:
    """Bytes → text without mojibake, whatever the page claims.

    Strict UTF-8 first (it almost never succeeds on text that is not UTF-8), then the declared
    charset (HTTP header or ``<meta>``), then UTF-8 where every invalid byte is read as
    Windows-1252: this decodes a Latin-1 page declared UTF-8, and even a page mixing both.
    """
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(codec, errors="replace").lstrip("\ufeff")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    candidates = [_codec(declared)]
    match = _META_CHARSET.search(data[:4096])
    if match:
        candidates.append(_codec(match.group(1).decode("ascii", "replace")))
    for codec in candidates:
        if codec and codec not in ("utf-8", "utf-16", "utf-32"):
            try:
                return data.decode(codec)
            except (UnicodeDecodeError, LookupError):
                continue
    return data.decode("utf-8", errors="campaignbot-cp1252")


# UTF-8 read as Windows-1252, e.g. "Ã©" for "é", "â€™" for "’": two or more such characters.
_CP1252_RUN = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6"
    "\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]{1,3}"
)


def repair_mojibake(text: str) -> str:
    """Undo UTF-8-read-as-cp1252 runs that are in the text itself (double-encoded sources)."""

    def fix(match: re.Match[str]) -> str:
        chunk = match.group(0)
        try:
            return chunk.encode("cp1252").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            return chunk

    return _CP1252_RUN.sub(fix, text)


def looks_mis_decoded(text: str) -> bool:
    """True when mojibake survives repair: the encoding is mixed up beyond what we can fix."""
    return len(_CP1252_RUN.findall(text)) >= 3 or text.count("\ufffd") >= 3
