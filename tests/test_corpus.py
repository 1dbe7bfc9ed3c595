"""The corpus: seed pages, Markdown articles, chunk offsets, slugs and text-fragment links."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import unquote

import pytest

from index.corpus.article import ArticleError, read_article, slugify
from index.corpus.chunk import chunk_article
from index.corpus.folder import load_corpus, save_article
from index.corpus.importers.seeds import import_seed_file
from index.retrieval.quote import text_fragment_url
from index.types import Article

REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="../shared/seeds is not present")


@pytest.fixture(scope="module")
def seed_articles() -> list[Article]:
    articles: list[Article] = []
    for path in sorted(SEEDS.glob("*.txt")):
        articles += import_seed_file(path).articles
    return articles


@needs_seeds
def test_mirror_page_gives_five_dated_articles_with_derived_permalinks(seed_articles):
    mirror = [a for a in seed_articles if a.url_derived]
    assert len(mirror) == 5
    caf = next(a for a in mirror if a.title.startswith("Négligences à la CAF"))
    assert caf.date == dt.date(2023, 1, 5)
    assert caf.url == (
        "https://www.laquadrature.net/2023/01/05/"
        "negligences-a-la-caf-10-000-dossiers-dallocataires-en-acces-libre/"
    )
    for a in mirror:
        assert "<script" not in a.body and "jQuery" not in a.body
        assert "References" not in a.body
        assert "PROJET AUTOBLOG" not in a.body and "retour index" not in a.body
    # Footnotes stay footnotes: a marker after the word, the note at the end.
    assert "disponibles[^1]. On trouve" in caf.body
    assert "disponibles1Pour" not in caf.body
    assert "[^1]: Pour l’explication des variables présentes" in caf.body


@needs_seeds
def test_republished_page_keeps_only_the_article(seed_articles):
    (cnil,) = [a for a in seed_articles if not a.url_derived]
    assert cnil.url == "https://www.laquadrature.net/fr/technopolice_cnil"
    assert cnil.title == "Smart Cities sécuritaires : la CNIL forfait ?"
    assert cnil.date_derived
    for menu in ("Agenda militant", "Ailleurs sur le Web", "Inondations en Espagne",
                 "Site de la france insoumise", "Tendance CLAIRE"):
        assert menu not in cnil.body
    assert "ailleurs[^1], et qui" in cnil.body


@needs_seeds
def test_seed_import_is_idempotent(tmp_path, seed_articles):
    assert {save_article(tmp_path, a) for a in seed_articles} == {"added"}
    assert {save_article(tmp_path, a) for a in seed_articles} == {"unchanged"}
    changed = Article(**{**seed_articles[0].__dict__, "body": seed_articles[0].body + "\n\nFin."})
    assert save_article(tmp_path, changed) == "updated"
    assert len(load_corpus(tmp_path).articles) == len(seed_articles)


def test_slug_joins_elisions_and_drops_accents():
    assert slugify("Contre l’indécence des « smart cities » !") == (
        "contre-lindecence-des-smart-cities"
    )
    assert slugify("Négligences à la CAF : 10 000") == "negligences-a-la-caf-10-000"


def test_broken_front_matter_names_the_file_and_others_still_load(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    good = (
        "---\ntitle: Bon\ndate: 2024-03-01\nurl: https://ex.org/bon/\nsource: Ex\nlang: fr\n"
        "---\n\nTexte."
    )
    (folder / "bon.md").write_text(good, encoding="utf-8")
    (folder / "yaml.md").write_text("---\ntitle: [oops\n---\n\nTexte.", encoding="utf-8")
    (folder / "nodate.md").write_text("---\ntitle: T\nurl: https://ex.org/\n---\n\nX", "utf-8")
    (folder / "plain.md").write_text("Pas de front matter.", encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert [a.title for a in corpus.articles] == ["Bon"]
    assert len(corpus.errors) == 3
    joined = "\n".join(corpus.errors)
    assert "yaml.md" in joined and "not valid YAML" in joined
    assert "nodate.md" in joined and "date" in joined
    assert "plain.md" in joined and "front matter" in joined
    with pytest.raises(ArticleError, match=r"yaml\.md"):
        read_article(folder / "yaml.md")


def test_chunk_offsets_round_trip_to_the_article_text():
    for path in sorted((REPO / "content" / "articles").glob("*.md")):
        article = read_article(path)
        passages = chunk_article(article)
        assert passages
        for p in passages:
            assert article.body[p.start : p.end] == p.text
            assert len(p.text) <= 1400
        starts = [p.start for p in passages]
        assert starts == sorted(starts)


def test_text_fragment_escapes_dash_ampersand_comma_and_spaces():
    url = text_fragment_url("https://ex.org/a/#old", "Sécurité & libertés, vidéo-surveillance")
    base, directive = url.split("#:~:text=")
    assert base == "https://ex.org/a/"
    assert " " not in directive and "&" not in directive
    assert "%26" in directive and "%2C" in directive and "%2D" in directive and "%20" in directive
    assert "," not in directive  # short quote: a single text, no start,end pair
    assert unquote(directive) == "Sécurité & libertés, vidéo-surveillance"
    long = " ".join(f"mot{i}" for i in range(30))
    directive = text_fragment_url("https://ex.org/a/", long).split("#:~:text=")[1]
    start, end = directive.split(",")
    assert unquote(start) == "mot0 mot1 mot2 mot3 mot4"
    assert unquote(end) == "mot25 mot26 mot27 mot28 mot29"
