"""A small French corpus for the bot tests, written with the engine's own article format.

Used only when conftest.py provides no shared ``engine`` fixture.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from index.article import article_id
from index.corpus import save_article
from index.types import Article

BASE = "https://www.laquadrature.net"

ARTICLES = [
    (
        "La VSA, une surveillance biométrique de masse",
        dt.date(2024, 3, 12),
        "/2024/03/12/la-vsa-surveillance-biometrique/",
        [
            "La vidéosurveillance algorithmique (VSA) consiste à analyser automatiquement les "
            "images des caméras de surveillance grâce à des logiciels d'intelligence "
            "artificielle. Ces logiciels détectent des « comportements suspects » dans "
            "l'espace public.",
            "La VSA est une surveillance biométrique : elle analyse les corps, les gestes et "
            "les attitudes des personnes filmées. Elle permet d'identifier et de suivre "
            "chaque passant dans la rue.",
            "La loi relative aux Jeux olympiques de 2024 a autorisé l'expérimentation de la "
            "vidéosurveillance algorithmique jusqu'en mars 2025. Cette expérimentation a "
            "servi de cheval de Troie pour légaliser la VSA.",
            "Les entreprises de la VSA, comme Briefcam, vendent leurs logiciels aux communes "
            "et à la police. Des villes utilisent ces outils sans aucun cadre légal.",
            "Nous demandons l'interdiction de la vidéosurveillance algorithmique et de la "
            "reconnaissance faciale dans l'espace public.",
        ],
    ),
    (
        "Capteurs sonores : la ville de Saint-Étienne veut écouter ses habitants",
        dt.date(2019, 3, 5),
        "/2019/03/05/capteurs-sonores-saint-etienne/",
        [
            "La mairie de Saint-Étienne prévoit d'installer des capteurs sonores, des micros "
            "capables de détecter des bruits « anormaux » comme des cris ou des bris de verre, "
            "dans un quartier populaire.",
            "La CNIL a averti la ville que ces capteurs sonores étaient illégaux : écouter la "
            "rue en permanence porte atteinte à la vie privée des habitants.",
            "Les capteurs sonores s'ajoutent aux caméras et aux drones : la surveillance "
            "sonore de l'espace public est une nouvelle étape de la Technopolice.",
        ],
    ),
    (
        "Notation des allocataires : l'algorithme de la CAF en accusation",
        dt.date(2023, 11, 27),
        "/2023/11/27/notation-des-allocataires-caf/",
        [
            "La CAF utilise un algorithme de notation qui attribue à chaque allocataire un "
            "score de suspicion. Plus le score est élevé, plus la probabilité d'être "
            "contrôlé est forte.",
            "L'algorithme de la CAF cible les personnes les plus précaires : bénéficiaires "
            "des minima sociaux, familles monoparentales, personnes en situation de "
            "handicap.",
            "Nous avons obtenu le code source de l'algorithme de notation de la CAF et "
            "montré qu'il discrimine les allocataires les plus pauvres.",
        ],
    ),
]


def write_corpus(content_dir: Path) -> Path:
    """Write the articles under ``content_dir``; returns it."""
    for title, date, path, paragraphs in ARTICLES:
        url = BASE + path
        article = Article(
            id=article_id(url),
            title=title,
            date=date,
            url=url,
            source="laquadrature.net",
            lang="fr",
            body="\n\n".join(paragraphs),
        )
        save_article(content_dir, article)
    return content_dir
