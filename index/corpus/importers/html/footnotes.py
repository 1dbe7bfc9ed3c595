"""Footnotes: references turned into ``[^N]`` text and their definitions cut out of the tree,
before trafilatura (which would drop the notes and glue the numbers to words)."""

from __future__ import annotations

import re

import lxml.etree as etree
import lxml.html

from index.corpus.importers.html.blocks import HEADINGS, inline_text
from index.corpus.importers.html.clean import NEVER_DROP, drop_element, replace_with_text, text_len

_REF_TEXT = re.compile(r"^[\[(]?(\d{1,3})[\])]?$")
_INLINE_WRAPPERS = {"sup", "span", "small", "a", "em", "i", "b", "strong"}
_BLOCKS_FOR_NOTES = {"li", "p", "div", "dd", "aside", "section", "td"}
_NOTES_RESIDUE = re.compile(
    r"(?:notes?|notes de bas de page|footnotes|références|references|sources|renvois)?\s*:?",
    re.I,
)
_BACKLINK_TEXT = re.compile(
    r"^[\s↩↑^\u21a9\ufe0e]*(?:retour|back|return)?[\s↩↑^\u21a9\ufe0e]*$", re.I
)


MAX_NOTE_CHARS = 2000


def _note_block(target: etree._Element) -> etree._Element | None:
    """The element holding a footnote: the list item around the anchor, or the paragraph.

    Conservative, because the block is cut out of the page: a numbered link to a section
    heading (a table of contents) must not take the article with it.
    """
    near = [target, *list(target.iterancestors())[:3]]
    block = next((el for el in near if el.tag == "li"), None)
    if block is None:
        block = next(
            (
                el
                for el in near[:2]
                if isinstance(el.tag, str) and el.tag in _BLOCKS_FOR_NOTES and text_len(el) > 0
            ),
            None,
        )
    if block is None or block.tag in NEVER_DROP:
        return None
    if text_len(block) > MAX_NOTE_CHARS or any(
        isinstance(el.tag, str) and el.tag in HEADINGS for el in block.iter()
    ):
        return None
    return block


def take_footnotes(root: etree._Element) -> list[tuple[str, str]]:
    """Turn footnote references into ``[^N]`` text and cut their definitions out of the tree.

    A reference is a link to ``#anchor`` whose text is a number and whose target (a note)
    comes later in the page; returns ``[(N, note text)]`` in reference order.
    """
    order = {el: i for i, el in enumerate(root.iter())}
    anchors = {}
    for el in root.iter():
        if isinstance(el.tag, str):
            for key in ("id", "name"):
                if el.get(key):
                    anchors.setdefault(el.get(key), el)
    found: list[tuple[etree._Element, str, etree._Element]] = []
    for a in list(root.iter("a")):
        fragment = (a.get("href") or "").strip().partition("#")[2]
        if not fragment:
            continue
        match = _REF_TEXT.match("".join(a.itertext()).strip())
        target = anchors.get(fragment)
        if not match or target is None or order.get(target, -1) <= order[a]:
            continue
        block = _note_block(target)
        if block is None or a in set(block.iter()):
            continue
        found.append((a, match.group(1), block))
    notes: dict[str, str] = {}
    blocks: list[etree._Element] = []
    for a, number, block in found:
        unit = a
        text = "".join(a.itertext()).strip()
        while True:
            parent = unit.getparent()
            if (
                parent is None
                or not isinstance(parent.tag, str)
                or parent.tag not in _INLINE_WRAPPERS
                or "".join(parent.itertext()).strip() != text
            ):
                break
            unit = parent
        back_ids = {el.get("id") for el in (unit, *unit.iter()) if el.get("id")}
        if number not in notes:
            notes[number] = _note_text(block, number, back_ids)
        if all(block is not b for b in blocks):
            blocks.append(block)
        replace_with_text(unit, f"[^{number}]")
    for block in blocks:
        container = block.getparent()
        drop_element(block)
        _drop_notes_container(container)
    return [(n, t) for n, t in notes.items() if t]


def _note_text(block: etree._Element, number: str, back_ids: set[str]) -> str:
    copy = lxml.html.fromstring(etree.tostring(block, encoding="unicode"))
    for a in list(copy.iter("a")):
        href = (a.get("href") or "").partition("#")[2]
        if href in back_ids or _BACKLINK_TEXT.match("".join(a.itertext())):
            drop_element(a)
    text = inline_text(copy)
    text = re.sub(rf"^[\[(]?{number}[\])]?[.):]?\s+", "", text)
    return re.sub(r"[\s↩↑\u21a9\ufe0e]+$", "", text).strip()


def _drop_notes_container(container: etree._Element | None) -> None:
    victim = None
    node = container
    while node is not None and isinstance(node.tag, str) and node.tag not in NEVER_DROP:
        residue = " ".join("".join(node.itertext()).split())
        if not _NOTES_RESIDUE.fullmatch(residue):
            break
        victim = node
        node = node.getparent()
    if victim is not None:
        drop_element(victim)
