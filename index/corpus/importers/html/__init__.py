"""Web page → :class:`Article`: decoding, cleaning, footnotes, blocks, metadata, assembly.

The body convention (the chunker relies on it): paragraphs separated by one blank line, headings
as ``## Heading`` lines, list items as ``- item`` lines, footnote references as ``[^N]`` glued to
the preceding word and their definitions at the end as ``[^N]: text`` paragraphs. No HTML, no
menus, share buttons, comments or footers.

Generic extraction uses trafilatura on an already-downloaded page (its own downloader refuses
non-public addresses, and we want our polite client anyway). Footnotes are taken out *before*
trafilatura, which would otherwise drop the notes and glue the reference numbers to words.
"""

from __future__ import annotations


class ExtractionError(ValueError):
    """No usable article could be taken out of a page; the message says why."""
