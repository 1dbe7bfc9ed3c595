"""Every user-facing string, French first, then English.

Kept in one place so that the Telegram bot and the terminal chat say exactly the same things,
and so that a translation is a matter of editing one dict. Strings are HTML (Telegram's subset);
``{placeholders}`` are filled with already-escaped values by the callers.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from telegram import Update

from index import detect_lang

Lang = Literal["fr", "en"]

EXAMPLES: dict[Lang, tuple[str, ...]] = {
    "fr": (
        "Qu'est-ce que la VSA ?",
        "Que dit la loi JO 2024 sur la vidéosurveillance algorithmique ?",
        "Comment fonctionne l'algorithme de notation de la CAF ?",
    ),
    "en": (
        "What is algorithmic video surveillance?",
        "What did the 2024 Olympics law allow?",
        "How does the CAF scoring algorithm work?",
    ),
}

_MONTHS: dict[Lang, tuple[str, ...]] = {
    "fr": (
        "janvier", "février", "mars", "avril", "mai", "juin",
        "juillet", "août", "septembre", "octobre", "novembre", "décembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip

TEXTS: dict[Lang, dict[str, str]] = {
    "fr": {
        "welcome": (
            "Bonjour ! Je réponds aux questions sur la campagne <b>Technopolice</b> de "
            "La Quadrature du Net (vidéosurveillance algorithmique, capteurs sonores, "
            "fichiers et logiciels policiers, algorithme de notation de la CAF) "
            "en <b>citant</b> les articles de la campagne, avec leurs liens. "
            "Je n'invente rien : si rien ne correspond, je le dis.\n\n"
            "Posez une question, par exemple :\n{examples}\n\n"
            "/sujets : les articles que je connais · /aide : mode d'emploi"
        ),
        "help": (
            "<b>Mode d'emploi</b>\n"
            "• Écrivez une question ; je réponds par des extraits des articles de la "
            "campagne Technopolice, avec le lien vers chaque article.\n"
            "• « Plus de passages » affiche d'autres extraits ; « Partager » envoie la "
            "réponse dans une autre conversation.\n"
            "• Dans un groupe : mentionnez-moi (@{username} …), répondez à l'un de mes "
            "messages, ou écrivez /q suivi de la question.\n"
            "• Partout : tapez @{username} suivi d'une question pour insérer un extrait.\n\n"
            "/sujets : liste des articles · /nouveautes : les derniers · /apropos : à propos · "
            "/confidentialite : ce qui est conservé"
        ),
        "header": "📚 <b>Ce qu'en disent les articles de la campagne</b>",
        "header_more": "📚 <b>Autres passages</b> ({first}–{last} sur {total})",
        "share_line": "🔗 Partager cette réponse : {url}",
        "nothing_no_match": (
            "Je n'ai trouvé aucun passage des articles de la campagne qui réponde à cette "
            "question. Essayez de la reformuler avec d'autres mots (par exemple « VSA », "
            "« capteurs sonores », « algorithme de la CAF »), ou consultez la liste des "
            "articles avec /sujets."
        ),
        "nothing_empty": (
            "Je n'ai pas trouvé de question dans ce message. Écrivez-moi une question en "
            "quelques mots, par exemple : <i>{example}</i>"
        ),
        "nothing_too_long": (
            "Ce message est trop long pour une recherche. Posez une question courte "
            "(une ou deux phrases) ; la liste des articles est dans /sujets."
        ),
        "send_text": (
            "Je ne lis que le texte. Écrivez-moi votre question, par exemple : <i>{example}</i>"
        ),
        "q_usage": "Écrivez la question après la commande, par exemple : /q {example}",
        "rate_limited": (
            "Vous posez beaucoup de questions à la suite ; je vous réponds à nouveau "
            "dans une minute environ. Merci de votre patience !"
        ),
        "topics_header": "<b>Articles de la campagne</b> ({count}, du plus récent au plus ancien)",
        "topics_empty": "Aucun article n'est encore chargé.",
        "latest_header": "<b>Nouveautés</b> : les {count} derniers articles",
        "also_in": "aussi dans {count} articles (« Plus de passages »)",
        "about": (
            "<b>À propos</b>\n"
            "Ce robot répond aux questions sur la campagne Technopolice de La Quadrature "
            "du Net en citant mot pour mot les articles de la campagne, avec leur lien et "
            "leur date. Il ne rédige rien lui-même : il cherche les passages les plus "
            "proches de la question.\n\n"
            "• Articles : {articles} ({passages} passages)\n"
            "• Article le plus récent : {newest}\n"
            "• Index construit le : {built}\n"
            "• Corpus mis à jour le : {refreshed}\n"
            "• Site de la campagne : https://technopolice.fr"
        ),
        "privacy": (
            "<b>Confidentialité</b>\n"
            "<b>Ce qui est conservé :</b>\n"
            "• les passages cités dans une réponse (extrait, titre, lien, date) et le jour "
            "de la réponse, sous un identifiant tiré du contenu de ces passages, pour que "
            "les boutons et les liens de partage fonctionnent ; effacés après {days} jours ;\n"
            "• des compteurs globaux par jour (nombre de questions, de réponses, de "
            "partages, de 👍/👎), sans lien avec qui que ce soit.\n\n"
            "<b>Ce qui n'est jamais conservé ni journalisé :</b> votre question, votre "
            "identifiant, votre nom, vos messages, le groupe d'où vous écrivez.\n\n"
            "La limite de questions par minute est tenue en mémoire seulement, sous une "
            "empreinte de votre identifiant, et disparaît au redémarrage."
        ),
        "unknown_payload": (
            "Ce lien de partage n'est pas (ou plus) valable. Posez directement votre "
            "question, ou consultez /sujets."
        ),
        "unknown_command": "Je ne connais pas cette commande. /aide explique ce que je sais faire.",
        "callback_invalid": "Ce bouton n'est plus valable ; posez à nouveau la question.",
        "no_more": "Il n'y a pas d'autres passages pour cette réponse.",
        "feedback_thanks": "Merci pour votre avis !",
        "feedback_already": "Votre avis sur cette réponse est déjà compté, merci !",
        "rate_limited_button": "Trop de demandes à la suite ; réessayez dans une minute environ.",
        "error": "Désolé, une erreur s'est produite. Réessayez dans un instant.",
        "btn_more": "➕ Plus de passages",
        "btn_share": "↗️ Partager",
        "btn_up": "👍",
        "btn_down": "👎",
        "btn_open": "Voir la réponse complète",
        "btn_web": "🌐 Page web",
        "inline_open_bot": "Poser la question au robot",
        "inline_nothing": "Aucun passage ne correspond : ouvrir le robot",
        "reindex_started": "Reconstruction de l'index en cours…",
        "reindex_done": "Index reconstruit.\n<pre>{summary}</pre>",
        "reindex_failed": "La reconstruction a échoué ({error}). L'ancien index reste en service.",
        "reindex_busy": "Une reconstruction est déjà en cours.",
        "update_started": "Recherche de nouveaux articles, puis reconstruction de l'index…",
        "update_done": "Mise à jour terminée.\n<pre>{summary}</pre>",
        "stats": "<b>Statistiques</b> (7 derniers jours / total)\n<pre>{table}</pre>",
        "date_unknown": "inconnue",
    },
    "en": {
        "welcome": (
            "Hello! I answer questions about La Quadrature du Net's <b>Technopolice</b> "
            "campaign (algorithmic video surveillance, sound sensors, police data-mining, "
            "the CAF scoring algorithm) by <b>quoting</b> the campaign's articles, with "
            "links. I never make things up: if nothing matches, I say so.\n\n"
            "Ask a question, for example:\n{examples}\n\n"
            "/topics: the articles I know · /help: how to use me"
        ),
        "help": (
            "<b>How to use me</b>\n"
            "• Write a question; I answer with excerpts of the Technopolice campaign's "
            "articles (mostly in French), with a link to each article.\n"
            "• “More passages” shows other excerpts; “Share” sends the answer to another "
            "chat.\n"
            "• In a group: mention me (@{username} …), reply to one of my messages, or "
            "write /q followed by the question.\n"
            "• Anywhere: type @{username} followed by a question to insert an excerpt.\n\n"
            "/topics: list of articles · /latest: the newest · /about: about · "
            "/privacy: what is kept"
        ),
        "header": "📚 <b>What the campaign's articles say</b>",
        "header_more": "📚 <b>More passages</b> ({first}–{last} of {total})",
        "share_line": "🔗 Share this answer: {url}",
        "nothing_no_match": (
            "I found no passage in the campaign's articles that answers this question. "
            "Try rephrasing it with other words (for example “VSA”, “sound sensors”, "
            "“CAF algorithm”), or browse the articles with /topics."
        ),
        "nothing_empty": (
            "I found no question in this message. Write me a question in a few words, "
            "for example: <i>{example}</i>"
        ),
        "nothing_too_long": (
            "This message is too long for a search. Ask a short question (one or two "
            "sentences); the list of articles is in /topics."
        ),
        "send_text": "I only read text. Write me your question, for example: <i>{example}</i>",
        "q_usage": "Write the question after the command, for example: /q {example}",
        "rate_limited": (
            "You are asking many questions in a row; I will answer again in about a "
            "minute. Thank you for your patience!"
        ),
        "topics_header": "<b>Campaign articles</b> ({count}, newest first)",
        "topics_empty": "No article is loaded yet.",
        "latest_header": "<b>Latest</b>: the {count} newest articles",
        "also_in": "also in {count} articles (“More passages”)",
        "about": (
            "<b>About</b>\n"
            "This bot answers questions about La Quadrature du Net's Technopolice campaign "
            "by quoting the campaign's articles word for word, with their link and date. "
            "It writes nothing itself: it looks for the passages closest to the question.\n\n"
            "• Articles: {articles} ({passages} passages)\n"
            "• Newest article: {newest}\n"
            "• Index built on: {built}\n"
            "• Corpus refreshed on: {refreshed}\n"
            "• Campaign website: https://technopolice.fr"
        ),
        "privacy": (
            "<b>Privacy</b>\n"
            "<b>What is kept:</b>\n"
            "• the passages quoted in an answer (excerpt, title, link, date) and the day of "
            "the answer, under an id derived from those passages, so that buttons and share "
            "links work; deleted after {days} days;\n"
            "• global daily counters (number of questions, answers, shares, 👍/👎), linked "
            "to nobody.\n\n"
            "<b>Never kept nor logged:</b> your question, your user id, your name, your "
            "messages, the group you write from.\n\n"
            "The questions-per-minute limit lives in memory only, under a fingerprint of "
            "your id, and vanishes on restart."
        ),
        "unknown_payload": (
            "This share link is not (or no longer) valid. Ask your question directly, or "
            "browse /topics."
        ),
        "unknown_command": "I don't know this command. /help explains what I can do.",
        "callback_invalid": "This button is no longer valid; please ask the question again.",
        "no_more": "There are no other passages for this answer.",
        "feedback_thanks": "Thanks for your feedback!",
        "feedback_already": "Your feedback on this answer is already counted, thanks!",
        "rate_limited_button": "Too many requests in a row; please try again in about a minute.",
        "error": "Sorry, something went wrong. Please try again in a moment.",
        "btn_more": "➕ More passages",
        "btn_share": "↗️ Share",
        "btn_up": "👍",
        "btn_down": "👎",
        "btn_open": "See the full answer",
        "btn_web": "🌐 Web page",
        "inline_open_bot": "Ask the bot",
        "inline_nothing": "No passage matches: open the bot",
        "reindex_started": "Rebuilding the index…",
        "reindex_done": "Index rebuilt.\n<pre>{summary}</pre>",
        "reindex_failed": "The rebuild failed ({error}). The old index stays in service.",
        "reindex_busy": "A rebuild is already running.",
        "update_started": "Looking for new articles, then rebuilding the index…",
        "update_done": "Update done.\n<pre>{summary}</pre>",
        "stats": "<b>Statistics</b> (last 7 days / total)\n<pre>{table}</pre>",
        "date_unknown": "unknown",
    },
}


def lang_for(update: object, question: str | None = None) -> Lang:
    """English for a question written in English or a Telegram client in English; French for
    everyone else."""
    if question and detect_lang(question) == "en":
        return "en"
    user = update.effective_user if isinstance(update, Update) else None
    code = (user.language_code or "") if user else ""
    return "en" if code.lower().startswith("en") else "fr"


def text(lang: Lang, key: str, **values: object) -> str:
    """The string ``key`` in ``lang`` (French if missing), with ``values`` filled in."""
    template = TEXTS[lang].get(key) or TEXTS["fr"][key]
    return template.format(**values) if values else template


def example(lang: Lang, n: int = 0) -> str:
    return EXAMPLES[lang][n % len(EXAMPLES[lang])]


def format_date(value: dt.date | None, lang: Lang) -> str:
    """``12 mars 2024`` / ``March 12, 2024``; 1st of the month is ``1er`` in French."""
    if value is None:
        return text(lang, "date_unknown")
    month = _MONTHS[lang][value.month - 1]
    if lang == "en":
        return f"{month} {value.day}, {value.year}"
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {month} {value.year}"


def commands(lang: Lang) -> list[tuple[str, str]]:
    """The command menu registered with setMyCommands."""
    if lang == "en":
        return [
            ("start", "Welcome and example questions"),
            ("help", "How to use the bot"),
            ("topics", "The campaign's articles"),
            ("latest", "The newest articles"),
            ("about", "What this bot is, corpus size"),
            ("privacy", "What is kept and what is not"),
            ("q", "Ask a question (in groups)"),
        ]
    return [
        ("start", "Accueil et exemples de questions"),
        ("aide", "Mode d'emploi"),
        ("sujets", "Les articles de la campagne"),
        ("nouveautes", "Les derniers articles"),
        ("apropos", "À propos du robot, taille du corpus"),
        ("confidentialite", "Ce qui est conservé ou non"),
        ("q", "Poser une question (dans les groupes)"),
    ]
