"""Page → :class:`Article`, and an HTML fragment → body text: blocks and footnotes assembled
under the body convention (see the package docstring)."""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
from typing import Any

import lxml.etree as etree
import trafilatura

from index.corpus.article import article_id
from index.corpus.importers.html import ExtractionError
from index.corpus.importers.html.blocks import render_blocks, tag_of
from index.corpus.importers.html.clean import clean_tree, parse_fragment, parse_html
from index.corpus.importers.html.decode import decode_html, looks_mis_decoded, repair_mojibake
from index.corpus.importers.html.footnotes import take_footnotes
from index.corpus.importers.html.metadata import (
    canonical_url,
    clean_title,
    json_ld,
    lang_code,
    meta_content,
    parse_date,
)
from index.types import Article

log = logging.getLogger(__name__)

MIN_BODY_CHARS = 80  # below this, what we found is a stub or an error page, not an article


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
    ld = json_ld(root)
    site = meta_content(root, "og:site_name")

    page_title = next(
        (d["headline"] for d in ld if isinstance(d.get("headline"), str)), None
    ) or meta_content(root, "og:title", "twitter:title")
    published = _published(root, ld)
    canonical = canonical_url(root, url)
    page_lang = lang_code(
        root.get("lang")
        or root.get("{http://www.w3.org/XML/1998/namespace}lang")
        or meta_content(root, "og:locale", "content-language")
    )

    any_time = _time_date(root, anywhere=True)  # before cleaning drops "date" furniture
    notes = take_footnotes(root)
    blocks = _site_rule_blocks(root, body_xpath, url) if body_xpath else None
    doc = None
    if blocks is None:
        blocks, doc = _generic_blocks(root, url)

    final_title = clean_title(
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
        lang=page_lang or lang_code(lang) or "und",
        body=body,
    )


def _published(root: etree._Element, ld: list[dict]) -> dt.date | None:
    """The date the page gives as its publication: meta tags, JSON-LD, then a marked ``<time>``."""
    return (
        parse_date(
            meta_content(
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


def _site_rule_blocks(root: etree._Element, body_xpath: str, url: str) -> list[str] | None:
    """Blocks of the elements the source's ``body_xpath`` selects; None when it selects none."""
    blocks: list[str] | None = None
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
    return blocks


def _generic_blocks(root: etree._Element, url: str) -> tuple[list[str], Any]:
    """trafilatura's main text of the cleaned page, and its document (for title and date)."""
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
    return blocks, doc


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
    if any(tag_of(el, True) == "h2" for el in body.iter()):
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
