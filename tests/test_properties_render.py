"""Property: whatever the quotes and titles, an answer is valid Telegram HTML within 4096
UTF-16 units (Hypothesis; bounded by the profile in conftest.py)."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="pip install -e '.[dev]'")
from fakebotapi import check_text  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bot.render import Quote, render_answer, u16len  # noqa: E402

# Telegram's HTML: these tags, balanced, and <a> with an href (core.telegram.org/bots/api).
TELEGRAM_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
MAX_MESSAGE = 4096


class TelegramHTML(HTMLParser):
    """Collects what a recipient sees; raises on a tag Telegram refuses or leaves open."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in TELEGRAM_TAGS, f"unsupported tag <{tag}>"
        if tag == "a":
            assert dict(attrs).get("href"), "a link without href"
            assert "a" not in self.stack, "nested links"
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}> in {self.stack}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def visible(html: str) -> str:
    parser = TelegramHTML()
    parser.feed(html)
    parser.close()
    assert not parser.stack, f"unclosed {parser.stack}"
    return "".join(parser.text)


# Outside text: any characters, lone surrogates and controls included, and markup lookalikes.
outside = st.lists(
    st.one_of(
        st.characters(),
        st.characters(categories=["Cs", "Cc", "Cf", "Zl", "Zp"]),  # surrogates, controls
        st.sampled_from(list("<>&\"'/;=#\n\t \u00a0\u200b😀🇫🇷")),
        st.sampled_from(["<b>", "</a>", "&amp;", "&#0;", "<blockquote>", "<a href='x'>"]),
    ),
    max_size=1500,
).map("".join)
urls = st.builds(
    lambda path: "https://www.laquadrature.net/" + path,
    st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_categories=("Cs",)),
            max_size=300),
)  # fmt: skip
quotes = st.builds(
    Quote,
    quote=outside,
    title=outside,
    url=urls,
    date=st.one_of(st.none(), st.dates(dt.date(1990, 1, 1), dt.date(2100, 1, 1))),
)


@given(
    page=st.lists(quotes, min_size=1, max_size=9),
    offset=st.integers(0, 8),
    lang=st.sampled_from(["fr", "en"]),
    share=st.one_of(st.none(), st.just("https://t.me/CampaignBot?start=abcdefghijk")),
    header=st.booleans(),
)
def test_an_answer_is_always_valid_telegram_html(
    page: list[Quote], offset: int, lang: str, share: str | None, header: bool
) -> None:
    offset = min(offset, len(page) - 1)
    html = render_answer(page, lang, offset=offset, share_url=share, header=header)  # type: ignore[arg-type]
    plain = visible(html)
    assert plain.strip() and u16len(plain) <= MAX_MESSAGE
    plain.encode("utf-8")  # no lone surrogate reaches Telegram
    assert check_text(html, "HTML") == plain  # Telegram's own parse agrees (fake Bot API)
    if share:
        assert share in html
