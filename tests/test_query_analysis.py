"""Query analysis against a small vocabulary: typos and missing accents are fixed, real words
are left as the user typed them."""

from __future__ import annotations

from index.language import terms
from index.retrieval.lexical import Vocabulary, analyze_query

CORPUS = [
    "Le chercheur a voulu étudier les caméras. Son étude porte sur la reconnaissance faciale.",
    "La bataille commence au Sénat. Le débat a commencé hier, les alertes aussi.",
    "Les caméras filment. Une caméra coûte cher.",
]


def analyzed(question: str) -> str:
    return analyze_query(question, Vocabulary.build(CORPUS), {}).text


def test_missing_accents_are_restored():
    assert analyzed("combien de cameras au senat") == "combien de caméras au sénat"


def test_one_typo_is_fixed():
    assert analyzed("la reconaissance faciale") == "la reconnaissance faciale"


def test_other_forms_of_known_words_are_not_corrected():
    # "étudié" is one edit from "étude", but it is a form of "étudier": not a typo.
    assert analyzed("Quel chercheur a étudié les caméras ?") == (
        "Quel chercheur a étudié les caméras ?"
    )
    assert analyzed("une alerte") == "une alerte"


def test_words_the_corpus_writes_both_ways_keep_the_typed_form():
    assert analyzed("quand commence le debat") == "quand commence le débat"


def test_english_words_become_french_terms(engine):
    aq = engine.analyze("Which laws allow algorithmic surveillance in Orléans?")
    assert aq.lang == "en"
    assert {"loi", "algorithm", "surveil", "orlean"} <= set(aq.core_terms)  # glossary, cognates
    assert "which" not in aq.core_terms
    unknown = engine.analyze("Best pizza dough recipe")
    assert not set(unknown.core_terms) & set(engine.idf())


def test_answer_type_from_the_question_word():
    from index.retrieval.question import answer_type

    assert answer_type("Combien de caméras pour les JO ?") == "quantity"
    assert answer_type("How many cameras?") == "quantity"
    assert answer_type("Quand commence l'examen au Sénat ?") == "date"
    assert answer_type("Qui fabrique les logiciels ?") == "name"
    assert answer_type("Pourquoi la CAF a-t-elle donné ces données ?") is None


def test_folding_matches_whole_text_normalisation():
    """The fast per-character fold gives what normalising the whole text gives, on the seed
    corpus and on ligatures, combining accents, apostrophes and Greek final sigma."""
    from pathlib import Path

    from index.corpus.folder import load_corpus
    from index.language import fold, fold_text

    content = Path(__file__).resolve().parents[1] / "content"
    texts = [a.title + "\n" + a.body for a in load_corpus(content).articles]
    assert texts
    texts += [
        "Œuvre ÆSIR straße ﬁnance İstanbul ½ ™ e\u0301te\u0301 A\u030a ǅ ’ʼ‘ \u00a0\u202f",
        "ΟΔΥΣΣΕΥΣ Σ",
    ]
    for text in texts:
        assert fold(text) == fold_text(text)
    assert fold("Élève d’ÉTÉ") == "eleve d'ete"


def test_texting_abbreviations_are_expanded():
    assert analyzed("cb de cameras ds le senat") == "combien de caméras dans le sénat"
    assert analyzed("pk la camera coute cher") == "pourquoi la caméra coûte cher"


def test_a_texting_form_the_corpus_uses_is_kept():
    vocab = Vocabulary.build([*CORPUS, "Le rapport du groupe ds a été publié."])
    assert analyze_query("le rapport ds", vocab, {}).text == "le rapport ds"


def test_glued_elisions_are_split():
    # "lalerte" (l'alerte typed without its apostrophe), its tail one typo away too.
    assert analyzed("lalerte du senat") == "l'alerte du sénat"


def test_clipped_words_are_completed_from_the_corpus():
    vocab = Vocabulary.build([*CORPUS, "Les manifestations contre les algorithmes de la police."])
    assert analyze_query("les algos et les manifs", vocab, {}).text == (
        "les algorithmes et les manifestations"
    )
    # Long unknown words are not clippings: left as typed.
    assert analyze_query("les algorithmiquement", vocab, {}).text == "les algorithmiquement"


def test_a_word_and_its_participle_share_a_stem():
    # Snowball reads the accents of participles ("é", "ée", "és"): stemmed after folding,
    # "vérifiée" missed "vérifier" and "authentiques" missed "authenticité".
    assert terms("vérifiée") == terms("vérifier") == terms("vérifiés") == terms("verifiee")
    assert terms("vérifie") == terms("vérifier")  # Snowball: "vérif" for the present tense
    assert terms("authentiques") == terms("authenticité") == terms("authenticite")
    assert terms("déployées") == terms("déployer") == terms("deployees")
    assert terms("caméras") == terms("cameras") and terms("sécurité") == terms("securite")


def test_the_shipped_tables_are_wordfreq_s():
    from index.language import (
        _word_table,
        _written_forms,
        accent_table_from_wordfreq,
        word_table_from_wordfreq,
    )

    stale = "index/french_*: stale, rewrite them with `python -m index.language`"
    assert _written_forms() == accent_table_from_wordfreq(), stale
    assert (_word_table() == word_table_from_wordfreq()).all(), stale


def test_everyday_words_are_not_typos():
    # « baisser » is one edit from the corpus's « laisser », « Lille » from « ville »: corrected,
    # the question changed meaning, and an everyday one looked like the corpus's.
    vocab = Vocabulary.build([*CORPUS, "Il faut laisser la ville décider de ses caméras."])
    question = "Les caméras font-elles baisser la délinquance à Lille ?"
    assert analyze_query(question, vocab, {}).text == question
    assert analyzed("la reconaissance faciale") == "la reconnaissance faciale"  # still a typo
