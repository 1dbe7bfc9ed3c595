"""Multiword names in a question, and whether the corpus writes them (index/retrieval/names)."""

from __future__ import annotations

from index.language import terms
from index.retrieval.lexical import LexicalIndex
from index.retrieval.names import foreign_name_terms, question_names


def test_names_are_found_inside_the_sentence_not_its_opening_word():
    assert question_names("Qui a remporté le Tour de France cette année ?") == ["Tour de France"]
    assert question_names("Que dit la Ligue des droits de l'Homme ?") == [
        "Ligue des droits de l'Homme"
    ]
    assert question_names("Quelle est la position d'Amnesty International ?") == [
        "Amnesty International"
    ]
    assert question_names("Combien de caméras à Nice ?") == []  # an opening word, one name
    assert question_names("Selon LQDN, la VSA est-elle légale ?") == []
    assert question_names("Cour des comptes : que dit son rapport ?") == []
    assert question_names("QUEL EST LE RÔLE DE SENSIVIC À ORLÉANS ?") == []  # all capitals
    assert question_names("Que Dit La Cnil Sur Les Caméras Intelligentes ?") == []


def _corpus(*sentences: str) -> tuple[LexicalIndex, list[list[frozenset[str]]]]:
    docs = [terms(s) for s in sentences]
    return LexicalIndex.build(docs), [[frozenset(d)] for d in docs]


def test_a_name_is_foreign_when_no_sentence_holds_all_its_words():
    lexical, sets = _corpus(
        "Le tour des caméras de la ville.",
        "La France expérimente la VSA.",
        "La Cour des comptes doute de son efficacité.",
    )
    foreign = foreign_name_terms("Qui a gagné le Tour de France ?", lexical, sets.__getitem__)
    assert foreign == {"tour", "franc"}
    assert not foreign_name_terms("Que dit la Cour des comptes ?", lexical, sets.__getitem__)
    unknown = foreign_name_terms("Que pense Human Rights Watch ?", lexical, sets.__getitem__)
    assert unknown == {"human", "right", "watch"}


def test_two_names_the_corpus_writes_joined_in_a_question_are_not_foreign():
    lexical, sets = _corpus(
        "La Quadrature du Net publie un article.",
        "La Cour des comptes doute de son efficacité.",
    )
    question = "Que sait la Quadrature du Net de la Cour des comptes ?"
    assert question_names(question) == ["Quadrature du Net de la Cour des comptes"]
    assert not foreign_name_terms(question, lexical, sets.__getitem__)
    lone = "Que sait la Quadrature du Net de la Cour de cassation ?"
    assert foreign_name_terms(lone, lexical, sets.__getitem__) == {
        "quadratur",
        "net",
        "cour",
        "cassat",
    }


def test_a_name_s_number_is_part_of_the_name():
    # The edition or the model: « la Coupe du monde 2018 » is not « la coupe du monde de rugby
    # 2023 » the articles mention, an « iPhone 15 » not their « 15 000 caméras ».
    assert question_names("Qui a gagné la Coupe du monde 2018 ?") == ["Coupe du monde 2018"]
    assert question_names("Combien coûte un iPhone 15 ?") == ["iPhone 15"]
    assert question_names("Combien coûte une Renault Clio 5 ?") == ["Renault Clio 5"]
    assert question_names("Combien de caméras à Nice en 2020 ?") == []  # a date, not a name's
    lexical, sets = _corpus(
        "La coupe du monde de rugby 2023 servira de test.",
        "En 2018, la CNIL nous a reçus.",
        "Les JO 2024 sont le prétexte.",
    )
    assert foreign_name_terms("Qui a gagné la Coupe du monde 2018 ?", lexical, sets.__getitem__)
    assert not foreign_name_terms("Que disent-ils des JO 2024 ?", lexical, sets.__getitem__)
    assert not foreign_name_terms(
        "Que disent-ils de la Coupe du monde de rugby 2023 ?", lexical, sets.__getitem__
    )
