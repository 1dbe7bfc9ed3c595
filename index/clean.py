"""One normalisation for every text that enters from outside (command line, stdin, Telegram,
files): always valid Unicode that encodes to UTF-8, whatever bytes came in."""

from __future__ import annotations

import re

# Surrogates that no UTF-8 bytes produced: lone halves from JSON ("\ud800") or a broken
# client. U+DC80..U+DCFF are the bytes Python could not decode (surrogateescape).
_LONE_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")
_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")  # UTF-16 halves left apart: joined


def _join(m: re.Match[str]) -> str:
    return m.group().encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def clean_text(s: str) -> str:
    """``s`` as valid text: bytes that were not UTF-8 (carried by Python as U+DC80..U+DCFF,
    e.g. a raw ``\\x9b`` in ``sys.argv``) are decoded again; what still is not UTF-8 and
    lone surrogates become U+FFFD; two UTF-16 halves, the character they make. Valid text
    comes back unchanged (the same object)."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        pass
    s = _LONE_SURROGATE.sub("\ufffd", _PAIR.sub(_join, s))
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
