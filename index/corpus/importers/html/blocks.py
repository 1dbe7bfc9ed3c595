"""Tree → body blocks: paragraphs, ``## Heading`` lines, ``- item`` lists and table rows, from
an HTML tree or from trafilatura's XML."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import lxml.etree as etree

from index.corpus.importers.html.clean import DROP_ALWAYS

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_LISTS = frozenset({"ul", "ol", "menu"})
_BLOCKS = {
    "p",
    "div",
    "section",
    "article",
    "main",
    "header",
    "footer",
    "aside",
    "blockquote",
    "figure",
    "figcaption",
    "pre",
    "address",
    "details",
    "summary",
    "center",
    "body",
    "html",
    "fieldset",
    "hgroup",
    "dl",
    "dt",
    "dd",
    "li",
    "table",
    "hr",
    "doc",
}
# Never converted to text: what the extractor drops, plus media and page metadata.
_SKIP = (DROP_ALWAYS - {"label"}) | {
    "img",
    "picture",
    "graphic",
    "head",
    "title",
    "meta",
    "link",
    "form",
    "nav",
}
# trafilatura's XML vocabulary, mapped onto HTML.
_XML_TAGS = {
    "head": "h2",
    "list": "ul",
    "item": "li",
    "quote": "blockquote",
    "lb": "br",
    "row": "tr",
    "cell": "td",
    "hi": "span",
    "ref": "a",
    "del": "s",
    "graphic": "img",
    "code": "code",
    "main": "main",
    "doc": "doc",
    "comments": "skip",
}
_BR = "\x00"


def tag_of(el: etree._Element, xml: bool) -> str:
    if not isinstance(el.tag, str):
        return "#comment"
    tag = etree.QName(el).localname.lower()
    if xml:
        return _XML_TAGS.get(tag, tag)
    return tag


def _clean_inline(parts: Iterable[str]) -> str:
    text = re.sub(r"[ \t\r\n\f\v]+", " ", "".join(parts))
    text = re.sub(r" ?\x00 ?", "\n", text)
    text = re.sub(r"\n{2,}", "\n", text)
    return text.strip()


def _inline_parts(
    el: etree._Element, xml: bool = False, skip: frozenset[str] = frozenset()
) -> Iterator[str]:
    tag = tag_of(el, xml)
    if tag in _SKIP or tag == "skip" or tag == "#comment" or tag in skip:
        return
    if tag == "br":
        yield _BR
        return
    block = tag in _BLOCKS or tag in HEADINGS or tag in _LISTS or tag in {"tr", "td", "th"}
    if block:
        yield " "
    if el.text:
        yield el.text
    for child in el:
        yield from _inline_parts(child, xml, skip)
        if child.tail:
            yield child.tail
    if block:
        yield " "


def inline_text(el: etree._Element, xml: bool = False) -> str:
    return _clean_inline(_inline_parts(el, xml))


def _list_items(lst: etree._Element, xml: bool, depth: int = 0) -> list[str]:
    items: list[str] = []
    bullet = "  " * depth + "- "
    for child in lst:
        if tag_of(child, xml) != "li":
            text = inline_text(child, xml).replace("\n", " ")
            if text:
                items.append(bullet + text)
            continue
        text = _clean_inline(_inline_parts(child, xml, skip=_LISTS))
        if text:
            items.append(bullet + text.replace("\n", " "))
        for nested in _nested_lists(child, xml):
            items.extend(_list_items(nested, xml, depth + 1 if text else depth))
    return items


def _nested_lists(el: etree._Element, xml: bool) -> list[etree._Element]:
    """Outermost lists inside a list item (rendered one level deeper)."""
    out = []
    for child in el:
        if tag_of(child, xml) in _LISTS:
            out.append(child)
        else:
            out.extend(_nested_lists(child, xml))
    return out


def _table_rows(el: etree._Element, xml: bool) -> list[str]:
    rows = []
    for row in el.iter():
        if tag_of(row, xml) == "tr":
            cells = [
                inline_text(c, xml).replace("\n", " ")
                for c in row
                if tag_of(c, xml) in ("td", "th")
            ]
            cells = [c for c in cells if c]
            if cells:
                rows.append(" | ".join(cells))
    return rows


def render_blocks(root: etree._Element, *, xml: bool = False) -> list[str]:
    """Walk a tree (HTML, or trafilatura's XML with ``xml=True``) into body blocks."""
    blocks: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        text = _clean_inline(buf)
        buf.clear()
        if text:
            blocks.append(text)

    def walk(el: etree._Element, top: bool = False) -> None:
        tag = tag_of(el, xml)
        if tag in _SKIP or tag in ("skip", "#comment"):
            pass
        elif tag in HEADINGS:
            flush()
            text = inline_text(el, xml).replace("\n", " ")
            if text:
                blocks.append(f"## {text.lstrip('#').strip()}")
        elif tag in _LISTS:
            flush()
            items = _list_items(el, xml)
            if items:
                blocks.append("\n".join(items))
        elif tag == "table":
            flush()
            rows = _table_rows(el, xml)
            if rows:
                blocks.append("\n".join(rows))
        elif tag == "br":
            buf.append(_BR)
        elif tag in _BLOCKS:
            flush()
            if el.text:
                buf.append(el.text)
            for child in el:
                walk(child)
            flush()
        else:
            if el.text:
                buf.append(el.text)
            for child in el:
                walk(child)
        if el.tail and not top:
            buf.append(el.tail)

    walk(root, top=True)
    flush()
    return blocks
