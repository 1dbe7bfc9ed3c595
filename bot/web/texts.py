"""The web pages' own strings, French first; what the bot also says comes from bot/texts.py.

Values are plain text: the page renderer escapes them.
"""

from __future__ import annotations

from bot.texts import Lang

WEB_TEXTS: dict[Lang, dict[str, str]] = {
    "fr": {
        "site_name": "Technopolice · les articles répondent",
        "locale": "fr_FR",
        "intro": (
            "Posez une question sur la campagne Technopolice de La Quadrature du Net "
            "(vidéosurveillance algorithmique, capteurs sonores, fichiers et logiciels "
            "policiers, algorithme de notation de la CAF) : la réponse est faite de citations "
            "mot pour mot des articles de la campagne, avec leurs liens. Rien n'est inventé."
        ),
        "search_label": "Votre question",
        "search_button": "Chercher",
        "examples": "Exemples",
        "articles": "Les articles de la campagne",
        "answer_title": "Ce qu'en disent les articles de la campagne",
        "more_passages": "Autres passages",
        "share": "Partager",
        "share_answer": "Lien à partager",
        "open_telegram": "Ouvrir dans Telegram",
        "results_for": "Réponse à votre question",
        "not_found_title": "Page introuvable",
        "not_found": (
            "Cette réponse n'existe pas (ou plus : les réponses partagées sont effacées "
            "après {days} jours). Posez la question à nouveau :"
        ),
        "error_title": "Erreur",
        "too_many": "Trop de questions",
        "privacy": (
            "Ni cookie, ni mesure d'audience, ni ressource tierce. Votre question n'est ni "
            "conservée ni journalisée ; une réponse partagée garde seulement ses citations."
        ),
        "switch": "English",
        "answer_intro": (
            "Des passages cités mot pour mot des articles de la campagne Technopolice de "
            "La Quadrature du Net ; chaque titre mène au passage cité."
        ),
    },
    "en": {
        "site_name": "Technopolice · the articles answer",
        "locale": "en_US",
        "intro": (
            "Ask a question about La Quadrature du Net's Technopolice campaign (algorithmic "
            "video surveillance, sound sensors, police files and software, the CAF scoring "
            "algorithm): the answer is made of word-for-word quotes of the campaign's "
            "articles, with their links. Nothing is made up."
        ),
        "search_label": "Your question",
        "search_button": "Search",
        "examples": "Examples",
        "articles": "The campaign's articles",
        "answer_title": "What the campaign's articles say",
        "more_passages": "More passages",
        "share": "Share",
        "share_answer": "Link to share",
        "open_telegram": "Open in Telegram",
        "results_for": "Answer to your question",
        "not_found_title": "Page not found",
        "not_found": (
            "This answer does not exist (or no longer: shared answers are deleted after "
            "{days} days). Ask the question again:"
        ),
        "error_title": "Error",
        "too_many": "Too many questions",
        "privacy": (
            "No cookie, no analytics, no third-party resource. Your question is neither kept "
            "nor logged; a shared answer keeps its quotes only."
        ),
        "switch": "Français",
        "answer_intro": (
            "Passages quoted word for word from the articles of La Quadrature du Net's "
            "Technopolice campaign; each title leads to the quoted passage."
        ),
    },
}


def wt(lang: Lang, key: str, **values: object) -> str:
    """The web string ``key`` in ``lang`` (French if missing), with ``values`` filled in."""
    template = WEB_TEXTS[lang].get(key) or WEB_TEXTS["fr"][key]
    return template.format(**values) if values else template
