"""HTML of the web pages: one layout (templates/page.html) and small fragment functions.

Every value from the corpus, the store or the request goes through ``html.escape`` here and
nowhere else; fragments are built from escaped pieces only, then dropped into the layout.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from string import Template
from typing import Any
from urllib.parse import urlencode

from bot.render import Quote, clean_text, esc, marked, render_nothing, shorten
from bot.services import web_answer_url
from bot.texts import EXAMPLES, Lang, example, format_date, text
from bot.web.texts import wt

OG_DESCRIPTION = 200  # characters of the first quote in link previews
SHOWN_FIRST = 3  # passages shown before "more passages" (as in the bot)


@dataclass(frozen=True)
class PageContext:
    """What every page needs to know about the request: language, and whether it was chosen
    by ``?lang=`` (then links carry it, since there is no cookie to remember it)."""

    lang: Lang
    chosen: bool
    base_url: str  # absolute, never taken from request headers

    @property
    def other(self) -> Lang:
        return "en" if self.lang == "fr" else "fr"

    def query(self, **params: str) -> str:
        """``?a=b&lang=..``: a same-page link keeping the chosen language."""
        if self.chosen:
            params = {**params, "lang": self.lang}
        return "?" + urlencode(params) if params else ""


@cache
def _layout() -> Template:
    source = files("bot.web").joinpath("templates/page.html").read_text(encoding="utf-8")
    return Template(source)


def layout(
    ctx: PageContext,
    title: str,
    main: str,
    *,
    description: str = "",
    meta: str = "",
    switch_params: dict[str, str] | None = None,
) -> str:
    """The whole page around ``main`` (already escaped HTML)."""
    params = {**(switch_params or {}), "lang": ctx.other}
    return _layout().substitute(
        lang=ctx.lang,
        title=esc(title),
        description=esc(description or wt(ctx.lang, "intro")),
        meta=meta,
        home="/" + ctx.query(),
        site_name=esc(wt(ctx.lang, "site_name")),
        switch_href=esc("?" + urlencode(params)),
        other=ctx.other,
        switch=esc(wt(ctx.lang, "switch")),
        main=main,
        privacy=esc(wt(ctx.lang, "privacy")),
    )


def search_form(ctx: PageContext, value: str = "") -> str:
    """A plain GET form: works without JavaScript, keyboard-usable, labelled."""
    hidden = f'<input type="hidden" name="lang" value="{ctx.lang}">' if ctx.chosen else ""
    return (
        f'<form class="search" role="search" action="/" method="get">'
        f'<label for="q">{esc(wt(ctx.lang, "search_label"))}</label>'
        f'<input id="q" name="q" type="search" required maxlength="500" '
        f'value="{esc(value)}" placeholder="{esc(example(ctx.lang))}">{hidden}'
        f'<button type="submit">{esc(wt(ctx.lang, "search_button"))}</button></form>'
    )


def _time(value: dt.date | None, lang: Lang) -> str:
    if value is None:
        return esc(format_date(None, lang))
    return f'<time datetime="{value.isoformat()}">{esc(format_date(value, lang))}</time>'


def quote_block(q: Quote, number: int, lang: Lang, share_href: str | None = None) -> str:
    """A passage: the quote, then its article's title linked to the quoted words."""
    share = ""
    if share_href:
        share = f' · <a href="{esc(share_href)}">{esc(wt(lang, "share"))}</a>'
    title = shorten(clean_text(q.title) or q.url, 300)
    return (
        f'<figure class="quote" id="p{number}">'
        f'<blockquote cite="{esc(q.url)}">{marked(q, clean_text(q.quote))}</blockquote>'
        f'<figcaption>— <cite><a href="{esc(q.url)}">{esc(title)}</a></cite>, '
        f"{_time(q.date, lang)}{share}</figcaption></figure>"
    )


def _quotes(quotes: Sequence[Quote], lang: Lang, share_href: str | None = None) -> str:
    """The first passages, then the others folded (a ``<details>``: no script needed)."""
    blocks = [
        quote_block(q, i, lang, f"{share_href}#p{i}" if share_href else None)
        for i, q in enumerate(quotes, 1)
    ]
    shown, folded = blocks[:SHOWN_FIRST], blocks[SHOWN_FIRST:]
    html = "\n".join(shown)
    if folded:
        summary = f"{wt(lang, 'more_passages')} ({SHOWN_FIRST + 1}–{len(blocks)})"
        html += f"\n<details><summary>{esc(summary)}</summary>\n" + "\n".join(folded)
        html += "\n</details>"
    return html


def og_description(quotes: Sequence[Quote]) -> str:
    return shorten(clean_text(quotes[0].quote), OG_DESCRIPTION) if quotes else ""


def _og_tags(ctx: PageContext, title: str, description: str, url: str) -> str:
    tags = [
        ("property", "og:type", "article"),
        ("property", "og:title", title),
        ("property", "og:description", description),
        ("property", "og:url", url),
        ("property", "og:site_name", wt(ctx.lang, "site_name")),
        ("property", "og:locale", wt(ctx.lang, "locale")),
        ("name", "twitter:card", "summary"),
        ("name", "twitter:title", title),
        ("name", "twitter:description", description),
    ]
    lines = [f'<meta {kind}="{name}" content="{esc(value)}">' for kind, name, value in tags]
    lines.append(f'<link rel="canonical" href="{esc(url)}">')
    return "\n".join(lines)


def answer_page(
    ctx: PageContext, aid: str, quotes: Sequence[Quote], telegram_url: str | None
) -> str:
    """A shared answer: its quotes, the way to open it in Telegram, a search box."""
    url = web_answer_url(ctx.base_url, aid)
    title = clean_text(quotes[0].title) if quotes else wt(ctx.lang, "answer_title")
    description = og_description(quotes)
    actions = ""
    if telegram_url:
        actions = (
            f'<p class="actions"><a class="button" href="{esc(telegram_url)}">'
            f"{esc(wt(ctx.lang, 'open_telegram'))}</a></p>"
        )
    main = (
        f"<h1>{esc(wt(ctx.lang, 'answer_title'))}</h1>\n"
        f"<p>{esc(wt(ctx.lang, 'answer_intro'))}</p>\n"
        f"{_quotes(quotes, ctx.lang)}\n{actions}\n{search_form(ctx)}"
    )
    return layout(
        ctx,
        f"{title} — {wt(ctx.lang, 'site_name')}",
        main,
        description=description,
        meta=_og_tags(ctx, title, description, url),
    )


def results_page(
    ctx: PageContext, question: str, quotes: Sequence[Quote], aid: str | None, nothing: str = ""
) -> str:
    """Answer to ``/?q=``: the quotes with a share link to their page (none when the answer
    could not be saved: ``aid`` is None), or why there are none (``nothing`` is the reason,
    worded as the bot words it)."""
    head = f"<h1>{esc(wt(ctx.lang, 'results_for'))}</h1>\n"
    head += f'<p class="question">{esc(question)}</p>\n'
    if not quotes:
        message = render_nothing(nothing, ctx.lang, example(ctx.lang))
        body = f'<p class="notice">{message}</p>\n{_articles_link(ctx)}'
    elif aid is None:
        body = _quotes(quotes, ctx.lang)
    else:
        share = f"/a/{aid}"
        body = (
            f'<p class="actions"><a class="button" href="{esc(share)}">'
            f"{esc(wt(ctx.lang, 'share'))}</a> "
            f'<span class="share-link">{esc(ctx.base_url + share)}</span></p>\n'
            f"{_quotes(quotes, ctx.lang, share)}"
        )
    main = head + search_form(ctx, question) + "\n" + body
    return layout(
        ctx,
        f"{question} — {wt(ctx.lang, 'site_name')}",
        main,
        meta='<meta name="robots" content="noindex">',  # the shared page is /a/<id>
        switch_params={"q": question},
    )


def _articles_link(ctx: PageContext) -> str:
    return f'<p><a href="/{ctx.query()}#articles">{esc(wt(ctx.lang, "articles"))}</a></p>'


def landing_page(ctx: PageContext, articles: Sequence[Any]) -> str:
    """Search box, example questions, and every article of the corpus (newest first)."""
    examples = "".join(
        f'<li><a href="/{esc(ctx.query(q=q))}">{esc(q)}</a></li>' for q in EXAMPLES[ctx.lang]
    )
    items = "\n".join(
        f'<li>{_time(a.date, ctx.lang)} — <a href="{esc(a.url)}">'
        f"{esc(shorten(clean_text(a.title), 200))}</a></li>"
        for a in articles
    )
    main = (
        f"<h1>{esc(wt(ctx.lang, 'site_name'))}</h1>\n<p>{esc(wt(ctx.lang, 'intro'))}</p>\n"
        f"{search_form(ctx)}\n<h2>{esc(wt(ctx.lang, 'examples'))}</h2>\n<ul>{examples}</ul>\n"
        f'<h2 id="articles">{esc(wt(ctx.lang, "articles"))} ({len(articles)})</h2>\n'
        f'<ul class="articles">\n{items or esc(text(ctx.lang, "topics_empty"))}\n</ul>'
    )
    return layout(ctx, wt(ctx.lang, "site_name"), main)


def message_page(ctx: PageContext, title: str, message_html: str, *, form: bool = True) -> str:
    """Not found, too many questions, errors: the same style, a way forward."""
    main = f"<h1>{esc(title)}</h1>\n<p>{message_html}</p>\n"
    if form:
        main += search_form(ctx) + "\n" + _articles_link(ctx)
    return layout(ctx, title, main)
