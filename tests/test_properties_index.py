"""Property-based tests (Hypothesis, bounded by the profile in conftest.py) of the parts that
take outside text: query cleaning and analysis, text-fragment links, front matter, chunking."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import unquote

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="pip install -e '.[dev]'")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from index.clean import clean_text  # noqa: E402
from index.corpus.article import ArticleError, parse_markdown  # noqa: E402
from index.corpus.chunk import chunk_article  # noqa: E402
from index.retrieval.engine import MAX_QUERY_CHARS, sanitize  # noqa: E402
from index.retrieval.quote import text_fragment_url  # noqa: E402
from index.types import Article  # noqa: E402

# Any code point, lone surrogates and escaped bytes (U+DC80..U+DCFF) mixed in.
BAD = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udc9b", "\udcff", "\udfff", "\x00", "\x9b"])
ANY_TEXT = st.lists(st.one_of(st.text(max_size=12), BAD), max_size=25).map("".join)
LONG_TEXT = st.lists(st.one_of(st.text(max_size=200), BAD), max_size=30).map("".join)
# Article-like text: French words, punctuation, footnote markers, soft hyphens, Markdown.
PIECES = st.sampled_from(
    ["la", "vidéosurveillance", "CNIL", "l’État", "15 000", "«", "»", "—", "-", ",", ".", "?",
     "[^1]", "[^12]", "\u00ad", "**gras**", "_em_", "`code`", "[lien](https://e.org)", "1.",
     "-", "&", "#", "%", "\u00a0", "😀", "\n", "\n\n", "## ", "[^3]: "]
)  # fmt: skip
PROSE = st.lists(PIECES, max_size=80).map(" ".join)


@given(ANY_TEXT)
def test_clean_text_is_valid_utf8_and_idempotent(text: str) -> None:
    cleaned = clean_text(text)
    cleaned.encode("utf-8")
    assert clean_text(cleaned) == cleaned


@given(LONG_TEXT)
def test_sanitize_bounds_any_query(text: str) -> None:
    q = sanitize(clean_text(text))
    q.encode("utf-8")
    assert len(q) <= MAX_QUERY_CHARS
    assert not re.search(r"[\x00-\x1f\x7f]", q)


@given(st.one_of(ANY_TEXT, PROSE))
def test_search_never_raises_and_answers_in_utf8(engine, text: str) -> None:
    engine.analyze(text)
    answer = engine.search(text, k=2)
    json.dumps(answer.to_json(), ensure_ascii=False).encode("utf-8")
    for result in answer.results:
        result.url.encode("ascii")


def _tokens_in(words: str, quote: str) -> bool:
    """``words`` appear as consecutive words of the quote."""
    want, have = words.split(), quote.split()
    return any(have[i : i + len(want)] == want for i in range(len(have) - len(want) + 1))


@given(PROSE)
def test_text_fragment_decodes_to_words_of_the_quote(quote: str) -> None:
    url = text_fragment_url("https://ex.org/a/#x", quote)
    assert url.startswith("https://ex.org/a/")
    if "#:~:text=" not in url:
        assert url == "https://ex.org/a/"
        return
    directive = url.split("#:~:text=", 1)[1]
    parts = directive.split(",")
    assert 1 <= len(parts) <= 2
    for part in parts:
        assert not re.search(r"[\s&\-]", part), part  # syntax characters escaped
        words = unquote(part)
        assert words.strip() and _tokens_in(words, quote), (words, quote)
        assert not re.search(r"\[\^\d+\]|\u00ad", words)  # only what the page shows


FRONT_VALUES = st.one_of(
    ANY_TEXT.map(lambda s: s.replace("\n", " ")),
    st.sampled_from(["2024-02-30", "2024-13-01", "!!timestamp 2024-02-30", "&a x", "*a",
                     "[1, [2, [3]]]", "{a: b}", "'", '"', "|", ">", "!!python/name:os.system",
                     "../../x", "/etc/passwd", "null", "~", "2024-01-01 25:00:00"]),
)  # fmt: skip


@given(
    st.fixed_dictionaries({}, optional={
        k: FRONT_VALUES for k in ("title", "date", "url", "source", "lang", "id", "extra")
    }),
    PROSE,
)  # fmt: skip
def test_front_matter_parsing_raises_only_article_error(meta: dict, body: str) -> None:
    head = "\n".join(f"{k}: {v}" for k, v in meta.items())
    for text in (f"---\n{head}\n---\n\n{body}", clean_text(head + body)):
        try:
            article = parse_markdown(text, name="x.md")
        except ArticleError as exc:
            assert str(exc).startswith("x.md: ")
            continue
        assert isinstance(article.date, dt.date) and article.title and article.body
        assert "/" not in article.id and not article.id.startswith(".")


@given(st.lists(PROSE, min_size=1, max_size=12).map("\n\n".join))
def test_chunk_offsets_slice_back_to_their_text(body: str) -> None:
    body = body.strip() or "texte"
    article = Article(id="a", title="Titre", date=dt.date(2024, 1, 1), url="https://e.org/a/",
                      source="T", lang="fr", body=body)  # fmt: skip
    passages = chunk_article(article)
    for p in passages:
        assert body[p.start : p.end] == p.text
    assert [p.start for p in passages] == sorted(p.start for p in passages)
