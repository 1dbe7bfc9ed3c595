"""Page metadata: ``<meta>`` tags, JSON-LD (Yoast's ``@graph`` included), dates, language,
canonical URL and the title without the site's name."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import urljoin, urlsplit

import lxml.etree as etree


def meta_content(root: etree._Element, *names: str) -> str | None:
    for name in names:
        for el in root.iterfind(".//meta"):
            if (el.get("property") or el.get("name") or "").lower() == name:
                value = (el.get("content") or "").strip()
                if value:
                    return value
    return None


def json_ld(root: etree._Element) -> list[dict]:
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


def lang_code(value: str | None) -> str | None:
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip())[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def canonical_url(root: etree._Element, fetched_url: str) -> str:
    """``link rel=canonical`` or ``og:url`` when it stays on the fetched site, else the URL."""
    candidates = [
        el.get("href")
        for el in root.iter("link")
        if "canonical" in (el.get("rel") or "").lower().split()
    ]
    candidates.append(meta_content(root, "og:url"))
    for cand in candidates:
        if not cand:
            continue
        url = urljoin(fetched_url, cand.strip()).split("#", 1)[0]
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and _host(url) == _host(fetched_url):
            return url
    return fetched_url.split("#", 1)[0]


def clean_title(title: str, site: str | None) -> str:
    title = " ".join(title.split())
    if site:
        for sep in (" – ", " — ", " - ", " | ", " :: ", " · "):
            suffix = f"{sep}{site}"
            if title.endswith(suffix) and len(title) > len(suffix):
                return title[: -len(suffix)].strip()
    return title
