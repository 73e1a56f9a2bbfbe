"""The web chat's formatting functions: escaping, highlighting, citations, articles, examples."""

from __future__ import annotations

import html
import re
from types import SimpleNamespace

import pytest

from ui import render

EVIL_TITLE = '<img src=x onerror="window.__pwned=1"> Alerte [clic](javascript:window.__pwned=1)'
EVIL_TEXT = (
    "Le dragon mange des crêpes <script>window.__pwned=1</script> chaque matin.\n\n"
    "    Un lien [clic](javascript:window.__pwned=1), une image ![x](javascript:alert(1)) "
    'et <img src=x onerror="window.__pwned=1"> puis $$\\href{javascript:alert(1)}{x}$$ et **gras** `code`.\n'
    '# Titre\n<a href="javascript:alert(1)">lien</a> {{value}} ${value} &amp; &lt;b&gt;'
)
# What an attacker needs to survive in the output for markup to be interpreted.
DANGEROUS = ["<script", "<img", "<a ", "](", "![", "$$", "**", "`", "{{", "${", "&amp;", "&lt;b"]


def visible_text(markup: str) -> str:
    """What a browser shows for ``markup`` (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<br>", "\n", re.sub(r"<(?!br>)[^>]+>", "", markup)))


def assert_inert(markup: str) -> None:
    """No markup from the article survives: the only tags are the ones ui.render writes."""
    tags = re.findall(r"<(/?)([a-zA-Z0-9]+)([^>]*)>", markup)
    assert {t[1] for t in tags} <= {
        "div",
        "span",
        "mark",
        "sup",
        "b",
        "br",
        "h3",
        "code",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    }, tags
    # only the attributes ui.render writes: class, id, the copy button's role
    allowed = "|".join([r"""(class|id)=("[\w -]*"|'[\w -]*')""", 'role="button"'])
    for _, _, attrs in tags:
        assert re.fullmatch(rf"(\s+({allowed}))*", attrs), attrs
    for bad in DANGEROUS:
        assert bad not in markup, (bad, markup)
    assert "\n" not in markup and "\r" not in markup


def citation(number=1, start=0, end=10, quote=None, text=EVIL_TEXT, **extra):
    return {
        "number": number,
        "doc_id": "evil.md",
        "title": EVIL_TITLE,
        "date": "2026-11-20",
        "source": "evil.md",
        "quote": text[start:end] if quote is None else quote,
        "start": start,
        "end": end,
        "score": 1.0,
        "chunk_id": "c1",
        **extra,
    }


def test_escape_makes_html_and_markdown_inert():
    out = render.escape(EVIL_TEXT)
    assert_inert(render.escape_block(EVIL_TEXT))
    assert html.unescape(out) == EVIL_TEXT
    assert render.escape(None) == ""
    assert render.escape("a < b & c") == "a &#60; b &#38; c"


def test_escape_block_keeps_lines_as_br():
    assert render.escape_block("un\ndeux\r\ntrois\rquatre") == "un<br>deux<br>trois<br>quatre"


def test_highlight_marks_exactly_the_span_and_escapes_everything():
    start = EVIL_TEXT.index("<script>")
    end = EVIL_TEXT.index("</script>") + len("</script>")
    out = render.highlight(EVIL_TEXT, start, end, mark_id="rag-cited")
    assert_inert(out)
    marked = re.search(r'<mark id="rag-cited">(.*?)</mark>', out).group(1)
    assert html.unescape(marked) == "<script>window.__pwned=1</script>"
    assert visible_text(out) == EVIL_TEXT
    assert render.highlight("abc", 5, 9) == "abc<mark></mark>"  # out-of-range offsets are clamped


def test_stream_prefixes_grow_sentence_by_sentence_with_their_markers():
    text = "Pour Washington, l’enjeu est stratégique. [1] Les États-Unis ont signé des accords. [2] [3]"
    prefixes = render.stream_prefixes(text)
    assert prefixes == [
        "Pour Washington, l’enjeu est stratégique. [1]",
        text,
    ]
    assert render.stream_prefixes("Une phrase. Deux ? Trois !") == [
        "Une phrase.",
        "Une phrase. Deux ?",
        "Une phrase. Deux ? Trois !",
    ]
    assert render.stream_prefixes("") == [""]


def test_answer_text_styles_markers_and_escapes_the_rest():
    out = render.answer_text_html("Un <b>x</b> [1] et [x](javascript:y) [2]")
    assert out.count('<sup class="rag-marker rag-n-1">&#91;') == 1 and "rag-n-2" in out
    assert_inert(out)
    assert visible_text(out) == "Un <b>x</b> [1] et [x](javascript:y) [2]"


def test_citation_card_shows_meta_and_highlighted_passage_from_its_chunk():
    text = "Premier paragraphe.\nPour Washington, l’enjeu est stratégique. Suite du texte.\nFin."
    start = text.index("Pour")
    end = text.index("stratégique.") + len("stratégique.")
    chunk = {"id": "c1", "start": 20, "end": text.index("\nFin"), "text": ""}
    card = render.citation_html(
        citation(2, start, end, text=text, title="Titre <b>", date="2026-01-02"), text, chunk
    )
    assert_inert(card)
    assert (
        "&#91;2&#93;" in card and "Titre &#60;b&#62;" in card and "2026-01-02" in card and "evil.md" in card
    )
    assert html.unescape(re.search(r"<mark>(.*?)</mark>", card).group(1)) == text[start:end]
    passage = visible_text(re.search(r'class="rag-passage">(.*)</div></div>', card).group(1))
    assert passage == "… " + text[20 : text.index("\nFin")] + " …"


def test_citation_card_without_chunk_shows_a_window_and_falls_back_to_the_quote():
    text = "mot " * 200 + "LA PHRASE CITÉE." + " mot" * 200
    start = text.index("LA")
    c = citation(1, start, start + 16, text=text)
    card = render.citation_html(c, text)
    shown = visible_text(re.search(r'class="rag-passage">(.*)</div></div>', card).group(1))
    assert (
        shown.startswith("… mot") and shown.endswith("mot …") and len(shown) < 2 * render.PASSAGE_CONTEXT + 40
    )
    # the document changed since the answer (or is gone): the quote alone, still escaped
    stale = render.citation_html(citation(1, 0, 5, quote="<script>x</script>"), "autre texte")
    assert '<div class="rag-passage"><mark>&#60;script&#62;x&#60;/script&#62;</mark></div>' in stale
    assert render.citation_html(citation(1, 0, 5, quote="q"), None).count("<mark>") == 1


def test_malicious_article_renders_literally_everywhere():
    start = EVIL_TEXT.index("Un lien")
    end = EVIL_TEXT.index("`code`.") + len("`code`.")
    c = citation(1, start, end)
    answer = {
        "text": c["quote"] + " [1]",
        "citations": [c],
        "related": [],
        "hits": [],
        "abstained": False,
        "query": "q <script>",
        "question": "q",
    }
    texts = {"evil.md": EVIL_TEXT}
    for markup in (
        render.message_html(answer, texts),
        render.message_html(answer, texts, partial_text=c["quote"]),
        render.sources_html(answer, texts),
        render.article_html(
            {"id": "evil.md", "title": EVIL_TITLE, "text": EVIL_TEXT, "url": "javascript:x"}, start, end
        ),
        render.question_html(EVIL_TEXT),
        render.error_html(EVIL_TEXT),
    ):
        assert_inert(markup)
    article = render.article_html({"id": "evil.md", "title": EVIL_TITLE, "text": EVIL_TEXT}, start, end)
    assert visible_text(article).endswith(EVIL_TEXT)
    assert EVIL_TITLE in visible_text(article)


def test_message_shows_query_and_sources_only_when_complete():
    text = "Pour Washington, l’enjeu est stratégique."
    c = citation(1, 0, len(text), text=text, title="Sommet")
    answer = {
        "text": text + " [1]",
        "citations": [c],
        "related": [],
        "hits": [],
        "abstained": False,
        "query": "Que veut l'UE ? Et Washington ?",
    }
    done = render.message_html(answer, {"evil.md": text})
    assert "rag-sources" in done and "Recherche : «" in done and "Que veut l&#39;UE ? Et Washington ?" in done
    # the bubble's own words follow the question's language; the quotes stay as they are
    english = render.message_html({**answer, "language": "en"}, {"evil.md": text})
    assert "Searched for: «" in english and "Recherche" not in english and "l’enjeu" in english
    partial = render.message_html(answer, {"evil.md": text}, partial_text=text)
    assert "rag-sources" not in partial and "rag-query" not in partial


def test_abstained_answer_lists_related_passages():
    text = "Une phrase proche. Une autre."
    related = [citation(1, 0, 18, text=text), citation(2, 19, len(text), text=text)]
    answer = {
        "text": "Je n'ai pas trouvé la réponse dans les articles.",
        "citations": [],
        "related": related,
        "hits": [],
        "abstained": True,
        "query": "tarte",
    }
    out = render.message_html(answer, {"evil.md": text})
    assert "rag-abstained" in out and "Passages proches" in out and out.count("<mark>") == 2
    assert visible_text(out).startswith("Je n'ai pas trouvé la réponse dans les articles.")
    assert render.sources_html({**answer, "related": []}, {}) == ""


def test_article_without_selection_and_with_bad_offsets():
    assert "Choisissez une source" in render.article_html(None)
    doc = {"id": "a.txt", "title": "T", "text": "abc", "date": "", "source": "a.txt"}
    assert "<mark" not in render.article_html(doc, 2, 9)
    assert '<mark id="rag-cited">b</mark>' in render.article_html(doc, 1, 2)


def test_labels_are_plain_and_short():
    label = render.citation_label(citation(3, title="x" * 100))
    assert label.startswith("[3] xxx") and label.endswith("…, 2026-11-20") and len(label) < 100
    assert render.document_label("Titre\n  long", "a.txt") == "Titre long — a.txt"
    assert render.document_label("", "a.txt") == "a.txt"


def doc(id, title, chunks=1, date=""):
    return SimpleNamespace(id=id, title=title, date=date, chunks=chunks, source=id, characters=10)


def test_documents_and_info_tables_escape_titles():
    out = render.documents_html([doc("evil.md", EVIL_TITLE, 3, "2026-11-20"), doc("a.txt", "Météo")])
    assert_inert(out)
    assert out.count("<tr>") == 3 and "Météo" in out and "2026-11-20" in out
    assert "Aucun article" in render.documents_html([])
    info = SimpleNamespace(
        documents=2,
        chunks=9,
        model_id="hash-<128>",
        dim=128,
        built_at="2026-11-28T12:14:47+00:00",
        vector_index="flat",
    )
    out = render.info_html(info)
    assert_inert(out)
    assert "2026-11-28 12:14:47 UTC" in visible_text(out) and "hash-<128>" in visible_text(out)
    assert "approx" not in out
    ivf = SimpleNamespace(**{**vars(info), "vector_index": "ivf"})
    assert "recherche approchée" in render.info_html(ivf)
    assert "approximate search" in render.info_html(ivf, lang="en") and "modèle" not in render.info_html(
        ivf, "en"
    )


def test_example_questions_come_from_the_newest_articles_with_sanitised_titles():
    seed = doc(
        "000.txt", "À Washington, une réunion internationale sans précédent réunit plus d’une cinquantaine"
    )
    questions = render.example_questions(
        [seed, doc("m.md", "Météo à Lyon", date="2026-11-20"), doc("e.md", EVIL_TITLE), doc("x", "<>")]
    )
    assert questions[0] == "Que disent les articles sur « Météo à Lyon » ?"  # the only dated one: newest
    ten_words = "À Washington, une réunion internationale sans précédent réunit plus d’une"
    assert questions[1] == f"Que disent les articles sur « {ten_words} » ?"
    assert len(questions) == 3
    for q in questions:
        assert not set(q) & set("<>[]()*`$=\\{}")
    assert render.example_questions([]) == []


@pytest.mark.parametrize("bounds", [(0, 3), (5, 9), (3, 9)])
def test_passage_bounds_contain_the_quote(bounds):
    text = "Un deux trois quatre cinq."
    lo, hi = render.passage_bounds(text, *bounds, context=4)
    assert lo <= bounds[0] and bounds[1] <= hi
