"""HTML and feed importers on fixture pages and feeds (no network)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from index.corpus.importers.feed import (
    FeedError,
    article_from_entry,
    has_full_content,
    parse_feed,
)
from index.corpus.importers.html import ExtractionError
from index.corpus.importers.html.decode import decode_html, repair_mojibake
from index.corpus.importers.html.page import article_from_html, html_to_body

FIXTURES = Path(__file__).parent / "webfixtures"
BASE = "http://127.0.0.1:8765"
VSA_URL = f"{BASE}/2024/05/02/vsa-et-jeux-olympiques-lexperimentation-qui-ne-devait-pas-durer/"

FURNITURE = [
    "Accepter", "cookies", "Qui sommes-nous", "Rechercher", "Partager", "Mastodon",
    "Mots-clés", "Article précédent", "À lire aussi", "commentaire", "Merci pour ce travail",
    "Mentions légales", "CC-BY-SA", "Aller au contenu", "Posté le",
]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes().replace(b"{{BASE}}", BASE.encode())


# ------------------------------------------------------------------------------- HTML pages


def test_article_from_wordpress_page() -> None:
    art = article_from_html(fixture("page-vsa-jo.html"), VSA_URL + "?utm_source=feed",
                            source="La Quadrature du Net", lang="en")
    assert art.title == "VSA et Jeux Olympiques : l’expérimentation qui ne devait pas durer"
    assert art.date == dt.date(2024, 5, 2)
    assert art.url == VSA_URL  # rel=canonical, not the fetched URL with its tracking query
    assert art.lang == "fr"  # <html lang="fr-FR"> beats the given default
    assert art.source == "La Quadrature du Net"
    body = art.body
    assert body.startswith("Le gouvernement a présenté la loi")
    assert "\n\n## Une expérimentation sans évaluation sérieuse\n\n" in body
    assert "\n\n## Ce que nous demandons\n\n" in body
    assert "- détection de personnes « statiques » ciblant" in body
    assert "rendue publique[^1]." in body and "étaient nombreux[^2]." in body
    assert body.endswith(
        "[^1]: Voir l’article 10 de la loi n° 2023-380 du 19 mai 2023.\n\n"
        "[^2]: Documents obtenus auprès de la préfecture de police en mars 2024."
    )
    for junk in FURNITURE:
        assert junk not in body, junk
    assert "<" not in body and "dataLayer" not in body and "↩" not in body
    assert "\n\n\n" not in body
    assert not body.startswith("## VSA")  # the title is not repeated as a heading


def test_article_without_known_container_keeps_headings_and_drops_banners() -> None:
    url = f"{BASE}/2024/04/20/reconnaissance-faciale-marseille/"
    art = article_from_html(fixture("page-marseille.html"), url, source="LQDN", lang="fr")
    assert art.title == "Reconnaissance faciale à Marseille : la mairie persiste"
    assert art.date == dt.date(2024, 4, 20)  # JSON-LD datePublished
    assert art.url == url  # relative canonical resolved
    assert "## Ce que disent les documents" in art.body
    assert "## Notre recours" in art.body
    assert "« La reconnaissance faciale en temps réel" in art.body
    for junk in ("cookies", "Tout accepter", "Boîte à outils", "Partagez", "Lettre d’information",
                 "Derniers articles", "licence", "Accueil"):
        assert junk not in art.body, junk


def test_site_rule_body_xpath_picks_the_article() -> None:
    url = f"{BASE}/blog/2024/06/drones-manifestations/"
    data = fixture("page-drones.html")
    art = article_from_html(data, url, source="Technopolice", lang="fr",
                            body_xpath="//div[@class='texte-article']")
    assert art.body.startswith("Saisi en urgence, le Conseil d’État")
    assert "Agenda" not in art.body and "Grenoble" not in art.body
    assert "## Une banalisation" in art.body
    assert art.date == dt.date(2024, 6, 1)  # <time datetime>
    # A rule that no longer matches falls back to the generic extraction.
    fallback = article_from_html(data, url, source="T", lang="fr", body_xpath="//div[@id='x']")
    assert "Saisi en urgence" in fallback.body


def test_latin1_page_declared_utf8_decodes_without_mojibake() -> None:
    data = (FIXTURES / "page-latin1.html").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the fixture really is not UTF-8
    art = article_from_html(data, f"{BASE}/2023/11/08/cameras-communes-rurales/",
                            source="LQDN", encoding="utf-8")
    assert "Subventionnées par l’État" in art.body  # cp1252 apostrophe, Latin-1 accents
    assert "À Saint-Étienne-de-Crossey" in art.body
    assert "Ã" not in art.body and "\ufffd" not in art.body
    assert art.title == "Des caméras jusque dans les communes rurales"


def test_decode_html_cases() -> None:
    text = "Vidéosurveillance « algorithmique » à l’œuvre"
    assert decode_html(text.encode("utf-8"), "iso-8859-1") == text  # wrong label, real UTF-8
    assert decode_html(text.encode("cp1252"), "utf-8") == text
    assert decode_html(text.encode("cp1252")) == text
    assert decode_html("é".encode("iso-8859-15"), "iso-8859-15") == "é"
    # A page mixing both: each part decodes right.
    mixed = "Caméra ".encode() + "télé".encode("cp1252")
    assert decode_html(mixed) == "Caméra télé"


def test_double_encoded_text_is_repaired_or_refused() -> None:
    assert repair_mojibake("la vidÃ©osurveillance câ€™est") == "la vidéosurveillance c’est"
    assert repair_mojibake("« déjà »") == "« déjà »"  # legitimate text untouched
    page = ("<html lang='fr'><head><title>T</title>"
            "<meta property='article:published_time' content='2024-01-01'></head><body>"
            "<article><h1>T</h1><p>" + "CamÃ©ra Ã¿ï¿½ Ã¿ï¿½ Ã¿ï¿½ bizarre. " * 10 + "</p>"
            "</article></body></html>")
    with pytest.raises(ExtractionError, match="mis-decoded"):
        article_from_html(page, f"{BASE}/x/", source="S", lang="fr")


def test_page_without_article_text_raises() -> None:
    page = ("<html><head><title>Page introuvable</title></head><body><nav><a href='/'>Accueil"
            "</a></nav><h1>Page introuvable</h1><p>Désolé.</p><footer>Contact</footer></body>"
            "</html>")
    with pytest.raises(ExtractionError, match="no article text"):
        article_from_html(page, f"{BASE}/404/", source="S", lang="fr", date=dt.date(2024, 1, 1))


def test_page_without_date_uses_fallback_or_raises() -> None:
    paragraph = "<p>" + "La ville déploie de nouvelles caméras dans le centre. " * 8 + "</p>"
    page = f"<html><head><title>Sans date</title></head><body><article>{paragraph}</article>"
    art = article_from_html(page + "</body></html>", f"{BASE}/sans-date/", source="S",
                            lang="fr", date=dt.date(2024, 2, 3), title="Titre du flux")
    assert art.date == dt.date(2024, 2, 3)
    assert art.lang == "fr"


def test_html_fragment_conversion() -> None:
    body = html_to_body(
        "<h3>Un titre</h3><p>Ligne un<br>ligne deux</p><ul><li>a<ul><li>b</li></ul></li>"
        "<li>c</li></ul><table><tr><th>Ville</th><th>Caméras</th></tr><tr><td>Nice</td>"
        "<td>4 000</td></tr></table><script>alert(1)</script><p>Fin&nbsp;!</p>"
    )
    assert body == (
        "## Un titre\n\nLigne un\nligne deux\n\n- a\n  - b\n- c\n\n"
        "Ville | Caméras\nNice | 4 000\n\nFin\u00a0!"
    )


# ------------------------------------------------------------------------------------ feeds


def test_parse_rss_summary_only() -> None:
    feed = parse_feed(fixture("rss-summary.xml"), f"{BASE}/lqdn/feed/")
    assert feed.title == "La Quadrature du Net"
    assert feed.lang == "fr" and feed.bozo_error is None
    assert [e.url for e in feed.entries] == [
        VSA_URL,
        f"{BASE}/2024/04/20/reconnaissance-faciale-marseille/",
        f"{BASE}/2023/11/08/cameras-communes-rurales/",
    ]
    first = feed.entries[0]
    assert first.title == "VSA et Jeux Olympiques : l’expérimentation qui ne devait pas durer"
    assert first.date == dt.date(2024, 5, 2)
    assert first.updated == "Thu, 02 May 2024 08:31:12 +0000"
    assert first.content_html is None and "à titre expérimental" in first.summary_html
    assert not has_full_content(first)
    assert article_from_entry(first, source="LQDN", lang="fr") is None


def test_parse_rss_with_content_encoded() -> None:
    feed = parse_feed(fixture("rss-full.xml"), f"{BASE}/technopolice/feed/")
    nice, toulouse = feed.entries
    assert has_full_content(nice)
    art = article_from_entry(nice, source="Technopolice", lang="fr")
    assert art is not None
    assert art.url == f"{BASE}/blog/2024/03/12/nice-capteurs-sonores/"
    assert art.date == dt.date(2024, 3, 12) and art.lang == "fr"
    assert art.title == "À Nice, des capteurs sonores pour « détecter les cris »"
    assert "coups de feu[^1]." in art.body
    assert "## Une surveillance de l’espace sonore" in art.body
    assert "## Et maintenant ?" in art.body
    assert "- la société prestataire dispose d’un accès aux données ;" in art.body
    assert art.body.endswith("[^1]: Délibération du conseil municipal du 8 février 2024.")
    assert "est apparu en premier" not in art.body
    other = article_from_entry(toulouse, source="Technopolice", lang="fr")
    assert other is not None
    assert "- détection d’intrusion\n  - dans les parcs la nuit ;" in other.body
    assert "« Le logiciel permettra d’identifier" in other.body


def test_parse_atom() -> None:
    feed = parse_feed(fixture("atom.xml"), f"{BASE}/atom/feed")
    drones, gares = feed.entries
    assert drones.url == f"{BASE}/blog/2024/06/drones-manifestations/"  # relative link
    assert drones.title == "Drones en manifestation : le Conseil d’État laisse faire"
    assert drones.date == dt.date(2024, 6, 1)  # local date, not shifted to UTC (May 31)
    assert drones.updated == "2024-06-03T18:20:00+02:00"
    assert article_from_entry(drones, source="T", lang="fr") is None  # summary only
    art = article_from_entry(gares, source="T", lang="fr")
    assert art is not None and "## Un cadre juridique flou" in art.body


def test_entry_links_lose_tracking_parameters() -> None:
    data = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item>'
            b"<title>X</title><link>http://h/a/?utm_source=rss&amp;utm_medium=rss&amp;p=2"
            b"</link></item><item><title>Y</title></item></channel></rss>")
    feed = parse_feed(data, "http://h/feed")
    assert [e.url for e in feed.entries] == ["http://h/a/?p=2"]
    assert feed.dropped == 1  # no link at all


def test_malformed_and_non_feeds_raise() -> None:
    with pytest.raises(FeedError, match="not a usable feed"):
        parse_feed(fixture("broken-feed.xml"), f"{BASE}/broken/feed")
    with pytest.raises(FeedError):
        parse_feed(fixture("page-vsa-jo.html"), f"{BASE}/lqdn/feed/")
    with pytest.raises(FeedError):
        parse_feed(b"", f"{BASE}/empty")


def test_recoverable_feed_keeps_entries_and_says_why() -> None:
    data = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
            b"<item><title>Cam\xc3\xa9ras & drones</title><link>/a/</link></item></channel></rss>")
    feed = parse_feed(data, f"{BASE}/feed/")
    assert [e.url for e in feed.entries] == [f"{BASE}/a/"]
    assert feed.bozo_error and "not well-formed" in feed.bozo_error


def test_teaser_content_is_not_full_content() -> None:
    data = (b'<?xml version="1.0"?><rss version="2.0" '
            b'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>T</title>'
            b"<item><title>X</title><link>http://h/x</link>"
            b"<pubDate>Tue, 12 Mar 2024 10:00:00 +0100</pubDate>"
            b"<content:encoded><![CDATA[<p>Le d\xc3\xa9but seulement. <a href='/x'>Lire la suite"
            b"</a></p>]]></content:encoded></item></channel></rss>")
    entry = parse_feed(data, "http://h/feed").entries[0]
    assert entry.content_html and not has_full_content(entry)


def test_numbered_links_to_sections_are_not_footnotes() -> None:
    body = html_to_body(
        "<div><p>Sommaire : <a href='#s1'>1</a> <a href='#s2'>2</a></p>"
        "<h2 id='s1'>Premier point</h2><p>Texte un.</p>"
        "<h2 id='s2'>Deuxième point</h2><p>Texte deux.</p></div>"
    )
    assert body == ("Sommaire : 1 2\n\n## Premier point\n\nTexte un.\n\n"
                    "## Deuxième point\n\nTexte deux.")  # the section links stay plain text
