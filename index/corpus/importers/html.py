"""Web page → :class:`Article`: decoding, main-text extraction and the body convention.

The body convention (the chunker relies on it): paragraphs separated by one blank line, headings
as ``## Heading`` lines, list items as ``- item`` lines, footnote references as ``[^N]`` glued to
the preceding word and their definitions at the end as ``[^N]: text`` paragraphs. No HTML, no
menus, share buttons, comments or footers.

Generic extraction uses trafilatura on an already-downloaded page (its own downloader refuses
non-public addresses, and we want our polite client anyway). Footnotes are taken out *before*
trafilatura, which would otherwise drop the notes and glue the reference numbers to words.
"""

from __future__ import annotations

import codecs
import copy
import datetime as dt
import json
import logging
import re
from collections.abc import Iterable, Iterator
from urllib.parse import urljoin, urlsplit

import lxml.etree as etree
import lxml.html
import trafilatura

from index.corpus.article import article_id
from index.types import Article

log = logging.getLogger(__name__)

MIN_BODY_CHARS = 80  # below this, what we found is a stub or an error page, not an article


class ExtractionError(ValueError):
    """No usable article could be taken out of a page; the message says why."""


# --------------------------------------------------------------------------------------------
# Decoding


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


# --------------------------------------------------------------------------------------------
# Parsing and cleaning

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)


def parse_html(text: str) -> lxml.html.HtmlElement:
    """Whole document → tree (lxml refuses str input that carries an encoding declaration)."""
    text = _XML_DECL.sub("", text, count=1)
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"not parseable as HTML ({exc})") from exc


def parse_fragment(text: str) -> lxml.html.HtmlElement:
    """HTML fragment (feed content) → a ``<div>`` holding it."""
    text = _XML_DECL.sub("", text, count=1)
    try:
        return lxml.html.fragment_fromstring(text, create_parent="div")
    except (etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"not parseable as HTML ({exc})") from exc


_DROP_ALWAYS = {
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "math",
    "button",
    "input",
    "select",
    "textarea",
    "label",
    "iframe",
    "object",
    "embed",
    "canvas",
    "audio",
    "video",
}
_DROP_TAGS = {"form", "nav", "dialog"}
_DROP_ROLES = {
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "dialog",
    "alertdialog",
    "search",
    "menu",
    "menubar",
    "toolbar",
}
# Class/id tokens of page furniture. Matched on whole hyphen/underscore-separated words.
_JUNK_WORDS = (
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "rgpd",
    "share",
    "sharing",
    "sharedaddy",
    "social",
    "socials",
    "comment",
    "comments",
    "respond",
    "newsletter",
    "related",
    "breadcrumb",
    "breadcrumbs",
    "navigation",
    "menu",
    "sidebar",
    "widget",
    "widgets",
    "popup",
    "modal",
    "advert",
    "ads",
    "sponsor",
    "subscribe",
    "skip",
    "screen-reader-text",
    "post-navigation",
    "entry-meta",
    "entry-footer",
    "tags-links",
    "cat-links",
    "author-bio",
    "print",
    "jp-relatedposts",
    "date",
    "byline",
    "posted-on",
)
_JUNK = re.compile(
    r"(?:^|[-_\s])(?:" + "|".join(re.escape(w) for w in _JUNK_WORDS) + r")(?:$|[-_\s])", re.I
)
# Cookie-consent libraries common on French sites name their nodes with a prefix.
_CONSENT_PREFIX = re.compile(r"(?:^|\s)(?:tarteaucitron|axeptio|didomi|cmplz|onetrust)", re.I)
_NEVER_DROP = {"html", "body", "main", "article"}


def _text_len(el: etree._Element) -> int:
    return len("".join(el.itertext()).strip())


def clean_tree(root: lxml.html.HtmlElement) -> None:
    """Remove page furniture: scripts, forms, menus, banners, share buttons, comments.

    Class/id matching is a guess, so an element holding most of the text is never removed.
    """
    total = max(_text_len(root), 1)
    doomed: list[lxml.html.HtmlElement] = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            doomed.append(el)  # comments, processing instructions
            continue
        tag = el.tag.lower()
        if tag in _NEVER_DROP or el is root:
            continue
        if tag in _DROP_ALWAYS:
            doomed.append(el)
            continue
        marks = f"{el.get('class') or ''} {el.get('id') or ''}"
        suspect = (
            tag in _DROP_TAGS
            or el.get("hidden") is not None
            or el.get("aria-hidden") == "true"
            or (el.get("role") or "").lower() in _DROP_ROLES
            or bool(marks.strip() and (_JUNK.search(marks) or _CONSENT_PREFIX.search(marks)))
        )
        # A guess never removes most of the page (ASP.NET wraps whole pages in a <form>).
        if suspect and _text_len(el) < 0.5 * total:
            doomed.append(el)
    marked = set(doomed)
    for el in doomed:
        if el.getparent() is not None and not any(a in marked for a in el.iterancestors()):
            _drop(el)


def _drop(el: etree._Element) -> None:
    """Remove an element but keep its tail text."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def _replace_with_text(el: etree._Element, text: str) -> None:
    """Replace an element by ``text`` glued to what precedes it (spaces before it removed)."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail or ""
    prev = el.getprevious()
    if prev is not None:
        prev.tail = (prev.tail or "").rstrip() + text + tail
    else:
        parent.text = (parent.text or "").rstrip() + text + tail
    parent.remove(el)


# --------------------------------------------------------------------------------------------
# Footnotes

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
                if isinstance(el.tag, str) and el.tag in _BLOCKS_FOR_NOTES and _text_len(el) > 0
            ),
            None,
        )
    if block is None or block.tag in _NEVER_DROP:
        return None
    if _text_len(block) > MAX_NOTE_CHARS or any(
        isinstance(el.tag, str) and el.tag in _HEADINGS for el in block.iter()
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
        _replace_with_text(unit, f"[^{number}]")
    for block in blocks:
        container = block.getparent()
        _drop(block)
        _drop_notes_container(container)
    return [(n, t) for n, t in notes.items() if t]


def _note_text(block: etree._Element, number: str, back_ids: set[str]) -> str:
    copy = lxml.html.fromstring(etree.tostring(block, encoding="unicode"))
    for a in list(copy.iter("a")):
        href = (a.get("href") or "").partition("#")[2]
        if href in back_ids or _BACKLINK_TEXT.match("".join(a.itertext())):
            _drop(a)
    text = _inline_text(copy)
    text = re.sub(rf"^[\[(]?{number}[\])]?[.):]?\s+", "", text)
    return re.sub(r"[\s↩↑\u21a9\ufe0e]+$", "", text).strip()


def _drop_notes_container(container: etree._Element | None) -> None:
    victim = None
    node = container
    while node is not None and isinstance(node.tag, str) and node.tag not in _NEVER_DROP:
        residue = " ".join("".join(node.itertext()).split())
        if not _NOTES_RESIDUE.fullmatch(residue):
            break
        victim = node
        node = node.getparent()
    if victim is not None:
        _drop(victim)


# --------------------------------------------------------------------------------------------
# Tree → body text

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
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
_SKIP = (_DROP_ALWAYS - {"label"}) | {
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


def _tag(el: etree._Element, xml: bool) -> str:
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
    tag = _tag(el, xml)
    if tag in _SKIP or tag == "skip" or tag == "#comment" or tag in skip:
        return
    if tag == "br":
        yield _BR
        return
    block = tag in _BLOCKS or tag in _HEADINGS or tag in _LISTS or tag in {"tr", "td", "th"}
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


def _inline_text(el: etree._Element, xml: bool = False) -> str:
    return _clean_inline(_inline_parts(el, xml))


def render_blocks(root: etree._Element, *, xml: bool = False) -> list[str]:
    """Walk a tree (HTML, or trafilatura's XML with ``xml=True``) into body blocks."""
    blocks: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        text = _clean_inline(buf)
        buf.clear()
        if text:
            blocks.append(text)

    def list_items(lst: etree._Element, depth: int = 0) -> list[str]:
        items: list[str] = []
        bullet = "  " * depth + "- "
        for child in lst:
            if _tag(child, xml) != "li":
                text = _inline_text(child, xml).replace("\n", " ")
                if text:
                    items.append(bullet + text)
                continue
            text = _clean_inline(_inline_parts(child, xml, skip=_LISTS))
            if text:
                items.append(bullet + text.replace("\n", " "))
            for nested in nested_lists(child):
                items.extend(list_items(nested, depth + 1 if text else depth))
        return items

    def nested_lists(el: etree._Element) -> list[etree._Element]:
        """Outermost lists inside a list item (rendered one level deeper)."""
        out = []
        for child in el:
            if _tag(child, xml) in _LISTS:
                out.append(child)
            else:
                out.extend(nested_lists(child))
        return out

    def walk(el: etree._Element, top: bool = False) -> None:
        tag = _tag(el, xml)
        if tag in _SKIP or tag in ("skip", "#comment"):
            pass
        elif tag in _HEADINGS:
            flush()
            text = _inline_text(el, xml).replace("\n", " ")
            if text:
                blocks.append(f"## {text.lstrip('#').strip()}")
        elif tag in _LISTS:
            flush()
            items = list_items(el)
            if items:
                blocks.append("\n".join(items))
        elif tag == "table":
            flush()
            rows = []
            for row in el.iter():
                if _tag(row, xml) == "tr":
                    cells = [
                        _inline_text(c, xml).replace("\n", " ")
                        for c in row
                        if _tag(c, xml) in ("td", "th")
                    ]
                    cells = [c for c in cells if c]
                    if cells:
                        rows.append(" | ".join(cells))
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


_FEED_FOOTER = re.compile(
    r"^(?:The post .+ appeared first on .+"
    r"|L[’'](?:article|entrée) .+ est apparu en premier sur .+)$"
)


def assemble_body(blocks: list[str], notes: list[tuple[str, str]], *, title: str = "") -> str:
    """Blocks + footnotes → body text; drops a leading title repeat and feed boilerplate."""
    blocks = [b for b in blocks if b.strip()]
    if blocks and title and _same_text(blocks[0].removeprefix("## "), title):
        blocks = blocks[1:]
    if blocks and _FEED_FOOTER.match(blocks[-1]):
        blocks = blocks[:-1]
    text = "\n\n".join(blocks)
    used = [(n, t) for n, t in notes if f"[^{n}]" in text]
    if used:
        text += "\n\n" + "\n\n".join(f"[^{n}]: {t}" for n, t in used)
    return text.strip()


def _same_text(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def html_to_body(fragment: str, *, title: str = "") -> str:
    """An HTML fragment that *is* the article (feed content, a site rule) → body text."""
    root = parse_fragment(fragment)
    notes = take_footnotes(root)
    clean_tree(root)
    return assemble_body(render_blocks(root), notes, title=title)


# --------------------------------------------------------------------------------------------
# Metadata


def _meta(root: etree._Element, *names: str) -> str | None:
    for name in names:
        for el in root.iterfind(".//meta"):
            if (el.get("property") or el.get("name") or "").lower() == name:
                value = (el.get("content") or "").strip()
                if value:
                    return value
    return None


def _json_ld(root: etree._Element) -> list[dict]:
    """Article-like objects from JSON-LD blocks (including Yoast's ``@graph``)."""
    found: list[dict] = []

    def visit(node: object) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
        elif isinstance(node, dict):
            kind = node.get("@type")
            kinds = kind if isinstance(kind, list) else [kind]
            if any(
                isinstance(k, str)
                and (k.endswith("Article") or k in ("BlogPosting", "WebPage", "Report"))
                for k in kinds
            ):
                found.append(node)
            if "@graph" in node:
                visit(node["@graph"])

    for script in root.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        try:
            visit(json.loads(script.text))
        except ValueError:
            continue
    # Articles before generic web pages.
    found.sort(
        key=lambda d: (
            0 if "Article" in str(d.get("@type")) or "BlogPosting" in str(d.get("@type")) else 1
        )
    )
    return found


def parse_date(value: object) -> dt.date | None:
    """ISO-ish date or datetime → the date *as written* (local date, not converted to UTC)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        pass
    match = re.match(r"(\d{4})-(\d{2})-(\d{2})", text)
    if match:
        try:
            return dt.date(*(int(g) for g in match.groups()))
        except ValueError:
            return None
    return None


def _lang(value: str | None) -> str | None:
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip())[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def _canonical(root: etree._Element, fetched_url: str) -> str:
    """``link rel=canonical`` or ``og:url`` when it stays on the fetched site, else the URL."""
    candidates = [
        el.get("href")
        for el in root.iter("link")
        if "canonical" in (el.get("rel") or "").lower().split()
    ]
    candidates.append(_meta(root, "og:url"))
    for cand in candidates:
        if not cand:
            continue
        url = urljoin(fetched_url, cand.strip()).split("#", 1)[0]
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and _host(url) == _host(fetched_url):
            return url
    return fetched_url.split("#", 1)[0]


def _clean_title(title: str, site: str | None) -> str:
    title = " ".join(title.split())
    if site:
        for sep in (" – ", " — ", " - ", " | ", " :: ", " · "):
            suffix = f"{sep}{site}"
            if title.endswith(suffix) and len(title) > len(suffix):
                return title[: -len(suffix)].strip()
    return title


# --------------------------------------------------------------------------------------------
# Page → Article


def article_from_html(
    html: bytes | str,
    url: str,
    *,
    source: str,
    lang: str | None = None,
    body_xpath: str | None = None,
    encoding: str | None = None,
    title: str | None = None,
    date: dt.date | None = None,
) -> Article:
    """Extract one article from a downloaded page.

    ``encoding`` is the HTTP charset, if any; ``title`` and ``date`` are fallbacks (from the
    feed entry) for pages that do not say. ``body_xpath`` is a site rule that selects the
    article body when generic extraction gets it wrong; if it matches nothing (the site
    changed), generic extraction is used and a warning logged.
    Raises :class:`ExtractionError` when there is no article text, title or date.
    """
    text = decode_html(html, encoding) if isinstance(html, bytes) else html
    text = repair_mojibake(text)
    if looks_mis_decoded(text):
        raise ExtractionError("text is mis-decoded (mixed-up character encodings)")
    root = parse_html(text)
    ld = _json_ld(root)
    site = _meta(root, "og:site_name")

    page_title = next(
        (d["headline"] for d in ld if isinstance(d.get("headline"), str)), None
    ) or _meta(root, "og:title", "twitter:title")
    published = (
        parse_date(
            _meta(
                root,
                "article:published_time",
                "og:published_time",
                "date",
                "dc.date",
                "dcterms.date",
            )
        )
        or next((parse_date(d.get("datePublished")) for d in ld if d.get("datePublished")), None)
        or _time_date(root)
    )
    canonical = _canonical(root, url)
    page_lang = _lang(
        root.get("lang")
        or root.get("{http://www.w3.org/XML/1998/namespace}lang")
        or _meta(root, "og:locale", "content-language")
    )

    any_time = _time_date(root, anywhere=True)  # before cleaning drops "date" furniture
    notes = take_footnotes(root)
    blocks: list[str] | None = None
    if body_xpath:
        try:
            picked = [el for el in root.xpath(body_xpath) if isinstance(el, etree._Element)]
        except etree.XPathError as exc:
            raise ExtractionError(f"invalid body_xpath {body_xpath!r}: {exc}") from exc
        if picked:
            blocks = []
            for el in picked:
                clean_tree(el)
                blocks.extend(render_blocks(el))
        else:
            log.warning(
                "body_xpath %r matched nothing on %s; using generic extraction", body_xpath, url
            )
    doc = None
    if blocks is None:
        clean_tree(root)
        doc = trafilatura.bare_extraction(
            copy.deepcopy(root),
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            include_formatting=False,
        )
        blocks = []
        if doc is not None and doc.body is not None:
            _restore_headings(doc.body, root)
            blocks = render_blocks(doc.body, xml=True)

    final_title = _clean_title(
        page_title
        or (doc.title if doc is not None and doc.title else "")
        or title
        or _title_tag(root)
        or "",
        site,
    )
    if not final_title:
        raise ExtractionError("no title found on the page")
    final_date = (
        published or date or (parse_date(doc.date) if doc is not None else None) or any_time
    )
    if final_date is None:
        raise ExtractionError("no publication date found on the page")
    body = assemble_body(blocks, notes, title=final_title)
    if len(body) < MIN_BODY_CHARS:
        raise ExtractionError("no article text found on the page")
    if looks_mis_decoded(body):
        raise ExtractionError("text is mis-decoded (mixed-up character encodings)")
    return Article(
        id=article_id(canonical),
        title=final_title,
        date=final_date,
        url=canonical,
        source=source,
        lang=page_lang or _lang(lang) or "und",
        body=body,
    )


def _time_date(root: etree._Element, *, anywhere: bool = False) -> dt.date | None:
    """Date of a ``<time datetime>`` marked as the publication, or inside the article."""
    times = [el for el in root.iter("time") if el.get("datetime")]
    marked = [
        el
        for el in times
        if el.get("itemprop") == "datePublished" or "published" in (el.get("class") or "")
    ]
    inside = [el for el in times if any(a.tag in ("article", "main") for a in el.iterancestors())]
    for el in marked + inside + (times if anywhere else []):
        date = parse_date(el.get("datetime"))
        if date:
            return date
    return None


def _restore_headings(body: etree._Element, root: etree._Element) -> None:
    """Put back the headings trafilatura dropped between the paragraphs it kept.

    When a page has no container trafilatura knows, it keeps paragraphs only; headings that
    sit, in the page, between two kept blocks belong to the article.
    """
    if any(_tag(el, True) == "h2" for el in body.iter()):
        return
    order = list(root.iter())
    heads = [
        (i, el)
        for i, el in enumerate(order)
        if isinstance(el.tag, str) and el.tag in ("h2", "h3", "h4", "h5", "h6")
    ]
    if not heads:
        return
    texts = [
        " ".join("".join(el.itertext()).split()) if isinstance(el.tag, str) else "" for el in order
    ]
    prev = None
    for block in list(body):
        key = " ".join("".join(block.itertext()).split())[:60]
        if not key:
            continue
        start = 0 if prev is None else prev + 1
        pos = next((j for j in range(start, len(order)) if texts[j].startswith(key)), None)
        if pos is None:
            continue
        if prev is not None:
            for i, head in heads:
                if prev < i < pos and texts[i]:
                    new = etree.Element("head", rend=head.tag)
                    new.text = texts[i]
                    block.addprevious(new)
        prev = pos


def _title_tag(root: etree._Element) -> str | None:
    el = root.find(".//title")
    return " ".join(el.text_content().split()) if el is not None else None
