"""Parsing and cleaning: a tree without scripts, forms, menus, banners, share buttons or
comments (page furniture), so that only the article's text is left to render."""

from __future__ import annotations

import re

import lxml.etree as etree
import lxml.html

from index.corpus.importers.html import ExtractionError

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


DROP_ALWAYS = {
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
NEVER_DROP = {"html", "body", "main", "article"}


def text_len(el: etree._Element) -> int:
    return len("".join(el.itertext()).strip())


def clean_tree(root: lxml.html.HtmlElement) -> None:
    """Remove page furniture: scripts, forms, menus, banners, share buttons, comments.

    Class/id matching is a guess, so an element holding most of the text is never removed.
    """
    total = max(text_len(root), 1)
    doomed: list[lxml.html.HtmlElement] = []
    for el in root.iter():
        if not isinstance(el.tag, str):
            doomed.append(el)  # comments, processing instructions
            continue
        tag = el.tag.lower()
        if tag in NEVER_DROP or el is root:
            continue
        if tag in DROP_ALWAYS:
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
        if suspect and text_len(el) < 0.5 * total:
            doomed.append(el)
    marked = set(doomed)
    for el in doomed:
        if el.getparent() is not None and not any(a in marked for a in el.iterancestors()):
            drop_element(el)


def drop_element(el: etree._Element) -> None:
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


def replace_with_text(el: etree._Element, text: str) -> None:
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
