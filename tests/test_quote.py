"""Which sentences of a passage are quoted."""

from __future__ import annotations

from index.language import terms
from index.retrieval.quote import quote_text, select_quote

PASSAGE = (
    "## Une fuite majeure : état civil, situation familiale, données médicales\n\n"
    "Pour chaque dossier, 181 variables sont disponibles. On trouve notamment les informations "
    "suivantes sur chaque allocataire :\n\n"
    "L’exposition de cette base révèle énormément d’informations personnelles. "
    "Et ce depuis plus d’un an et demi. Le prestataire ne l’a jamais signalé."
)


def quoted(question: str, **kwargs) -> str:
    idf = {t: 2.0 for t in terms(PASSAGE)}
    s, e = select_quote(PASSAGE, set(terms(question)), idf, **kwargs)
    return quote_text(PASSAGE[s:e])


def test_quote_holds_the_sentences_with_the_question_words():
    quote = quoted("La base révèle-t-elle des informations personnelles ?")
    assert "informations personnelles" in quote
    assert len(quote) <= 800


def test_quote_opens_on_its_section_heading_without_losing_a_sentence():
    quote = quoted("Quelles informations contenait la base ?")
    assert quote.startswith("Une fuite majeure : état civil")  # the heading: the answer
    assert "informations personnelles" in quote


def test_quote_prefers_the_number_when_asked_how_many():
    text = "Les allocataires sont nombreux dans cette base. La base compte 10 000 allocataires."
    idf = {t: 2.0 for t in terms(text)}
    question = set(terms("Combien d'allocataires dans la base ?"))
    s, e = select_quote(text, question, idf, max_chars=60)  # one sentence at most
    assert "nombreux" in text[s:e]  # the words tie: the longer sentence
    s, e = select_quote(text, question, idf, answer="quantity", max_chars=60)
    assert text[s:e] == "La base compte 10 000 allocataires."
