from rag.text import LexicalAnalyzer, detect_language, fold, normalize, sentence_spans, words


def test_typographic_and_straight_apostrophes_give_the_same_terms():
    analyzer = LexicalAnalyzer()
    assert analyzer.tokens("l’enjeu d’aujourd’hui") == analyzer.tokens("l'enjeu d'aujourd'hui")
    assert normalize("l’État") == "l'État"


def test_elisions_are_split_off_and_stop_words_dropped():
    assert words("L'administration qu'il dirige") == ["administration", "il", "dirige"]
    assert LexicalAnalyzer().tokens("Quel est l'enjeu pour Washington ?") == ["enjeu", "washington"]


def test_accents_are_folded_for_matching_and_stemming_is_french():
    analyzer = LexicalAnalyzer()
    assert fold("Égide États") == "egide etats"
    assert analyzer.tokens("stratégique") == analyzer.tokens("stratégiques")
    assert analyzer.tokens("ressources") == analyzer.tokens("ressource")


def test_sentences_respect_abbreviations_and_keep_exact_offsets():
    text = "M. Rubio arrive à 9 h. Le sommet commence !\nJ.-C. Dupont parle ; il sourit. Fin"
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "M. Rubio arrive à 9 h.",
        "Le sommet commence !",
        "J.-C. Dupont parle ; il sourit.",
        "Fin",
    ]


def test_language_detection():
    assert detect_language("What does the administration put forward in diplomatic negotiations?") == "en"
    assert detect_language("Who else?") == "en"
    assert detect_language("Quel est l'enjeu pour Washington ?") == "fr"
    assert detect_language("Et l'Australie ?") == "fr"
