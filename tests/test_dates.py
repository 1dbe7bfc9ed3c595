"""Answers that know their dates: reposted paragraphs quoted once, years and "latest" honoured,
the newer article first among equals (index/retrieval/dates.py), on a real index."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bot.terminal import TerminalChat
from index.build.pipeline import build_index
from index.config import IndexSettings
from index.retrieval.dates import DateWish, date_wish, fold_repeats, latest_articles, prefer_dates
from index.retrieval.engine import Engine

REPO = Path(__file__).resolve().parents[1]

SHARED = (
    "Le syndicat intercommunal des eaux de Vierzon a fait poser des microphones sur les "
    "lampadaires du quartier de la gare, reliés à un logiciel censé reconnaître les cris, les "
    "bris de verre et les klaxons, sans la moindre délibération du conseil municipal."
)
INTROS = {
    2019: "Nous revenons sur les premières expérimentations de capteurs dans le Cher.",
    2021: "Deux ans plus tard, la commission d'accès aux documents administratifs a tranché.",
    2024: "Le dossier revient devant le tribunal administratif d'Orléans cette année.",
}
OUTROS = {
    2019: "Les habitants ont lancé une pétition contre ce dispositif de captation.",
    2021: "Le rapport d'évaluation promis par la préfecture n'a jamais été publié.",
    2024: "Une audience est prévue au printemps, nous y serons avec les associations.",
}


def reposted(year: int) -> str:
    return f"""---
title: 'Vierzon, épisode {year}'
date: '{year}-03-15'
url: https://technopolice.example/{year}/03/15/vierzon-{year}/
source: Technopolice
lang: fr
---

{INTROS[year]}

{SHARED}

{OUTROS[year]}
"""


@pytest.fixture(scope="module")
def dated_engine(tmp_path_factory: pytest.TempPathFactory, index_settings, embedder) -> Engine:
    tmp = tmp_path_factory.mktemp("dates")
    content = tmp / "content"
    shutil.copytree(REPO / "content", content)
    for year in INTROS:
        (content / "articles" / f"vierzon-{year}.md").write_text(reposted(year), encoding="utf-8")
    settings = IndexSettings(
        content_dir=content,
        index_dir=tmp / "index",
        cache_dir=index_settings.cache_dir,
        embedding_model=index_settings.embedding_model,
        embedding_backend=index_settings.embedding_backend,
    )
    build_index(settings, embedder, progress=False)
    return Engine.open(settings, embedder)


def quoting(answer, words: str) -> list:
    return [r for r in answer.results if words in r.quote]


def test_a_paragraph_in_three_articles_is_quoted_once(dated_engine: Engine) -> None:
    answer = dated_engine.search("microphones sur les lampadaires à Vierzon", k=9)
    assert answer.answered
    (hit,) = quoting(answer, "microphones sur les lampadaires")
    others = {a.article_url for a in hit.also_in}
    assert len(others) == 2 and hit.article_url not in others
    assert {hit.article_url, *others} == {
        f"https://technopolice.example/{y}/03/15/vierzon-{y}/" for y in INTROS
    }
    assert hit.to_json()["also_in"][0]["date"] > hit.to_json()["also_in"][1]["date"]
    for other in hit.also_in:  # each article quoted in its own words
        year = other.date.year
        assert INTROS[year][:30] in other.quote or SHARED[:40] in other.quote
        assert all(INTROS[y][:30] not in other.quote for y in INTROS if y != year)


def test_a_year_or_latest_picks_the_matching_article(dated_engine: Engine) -> None:
    for question, year in (
        ("microphones sur les lampadaires à Vierzon en 2019", 2019),
        ("microphones sur les lampadaires à Vierzon en 2021", 2021),
        ("les derniers microphones sur les lampadaires à Vierzon", 2024),
    ):
        (hit,) = quoting(dated_engine.search(question, k=9), "microphones sur les lampadaires")
        assert hit.date.year == year, question


def test_date_wish_reads_years_and_latest() -> None:
    assert date_wish("Que s'est-il passé en 2023 ?") == DateWish(frozenset({2023}))
    assert date_wish("Quoi de neuf récemment ?").latest
    assert date_wish("les dernières décisions").latest and date_wish("latest news").latest
    assert not date_wish("la loi sur les JO")
    assert not date_wish("article 12345 du code").years  # not a year


def test_newer_wins_only_among_near_ties() -> None:
    dates = {1: dt.date(2019, 1, 1), 2: dt.date(2024, 1, 1), 3: dt.date(2025, 1, 1)}
    order = prefer_dates([(1, 1.0), (2, 0.995), (3, 0.5)], dates.__getitem__, DateWish(), None)
    assert [pid for pid, _ in order] == [2, 1, 3]  # 2 ties with 1 and is newer; 3 is far below
    span = (dt.date(2019, 1, 1), dt.date(2025, 1, 1))
    order = prefer_dates([(1, 1.0), (3, 0.9)], dates.__getitem__, DateWish(latest=True), span)
    assert [pid for pid, _ in order] == [3, 1]
    order = prefer_dates([(3, 1.0), (1, 0.9)], dates.__getitem__, DateWish(frozenset({2019})), None)
    assert [pid for pid, _ in order] == [1, 3]


def test_fold_repeats_keeps_the_best_and_lists_the_others() -> None:
    texts = {
        1: SHARED,
        2: "Autre chose, " + SHARED,
        3: SHARED.replace("Vierzon", "Bourges"),
        4: "x",
    }
    articles = {1: "a", 2: "b", 3: "c", 4: "d", 5: "b"}
    texts[5] = texts[2]
    kept, also = fold_repeats(
        [(1, 0.9), (2, 0.8), (3, 0.7), (4, 0.6), (5, 0.5)], texts.__getitem__, articles.__getitem__
    )
    assert [pid for pid, _ in kept] == [1, 4] and also == {1: [2, 3]}  # one per other article


def test_latest_lists_newest_first(dated_engine: Engine) -> None:
    newest = latest_articles(dated_engine.articles(), 3)
    assert newest[0].date.year == 2024
    assert [a.date for a in newest] == sorted((a.date for a in newest), reverse=True)


def test_terminal_shows_repeats_under_more_and_lists_the_latest(dated_engine: Engine) -> None:
    chat = TerminalChat(dated_engine, "fr")
    first = chat.handle("microphones sur les lampadaires à Vierzon")
    assert "aussi dans 2 articles" in first
    pages = [first]
    while "Il n'y a pas d'autres passages" not in pages[-1] and len(pages) < 10:
        pages.append(chat.handle("plus"))
    shown = "\n".join(pages)
    assert all(f"Vierzon, épisode {y}" in shown for y in INTROS)  # the repeats, after the rest
    assert shown.count("microphones sur les lampadaires du quartier") == 3

    news = chat.handle("/nouveautes")
    count = min(10, len(dated_engine.articles()))
    assert news.splitlines()[0] == f"Nouveautés : les {count} derniers articles"
    assert len(news.splitlines()) == count + 1
    assert "15 mars 2024 — Vierzon, épisode 2024" in news
    assert "https://technopolice.example/2024/03/15/vierzon-2024/" in news
    assert chat.handle("/latest") == news
