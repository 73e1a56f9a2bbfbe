"""Wire copies and versions: grouped at indexing, one cited per story, the others listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag import Engine
from rag.corpus import make_document
from rag.store import Store, copies
from rag.store.copies import CopyIndex
from rag.types import Answer

DISPATCH = [
    "Le sommet de Washington réunira jeudi les dirigeants de cinquante pays autour du climat.",
    "La Maison Blanche a confirmé la venue du président chinois, attendue depuis des semaines.",
    "Les négociateurs espèrent un accord sur la réduction des émissions de méthane d'ici 2030.",
    "Plusieurs organisations non gouvernementales ont annoncé des manifestations devant le Capitole.",
    "Le secrétaire d'État a promis une déclaration commune à l'issue de la deuxième journée.",
    "Les pays insulaires du Pacifique réclament un fonds spécial pour les pertes et dommages.",
]
SAME_SUBJECT = (
    "Le sommet de Washington sur le climat s'est achevé vendredi sans déclaration commune. "
    "Les dirigeants de cinquante pays se sont séparés sur un constat d'échec, selon plusieurs délégués. "
    "Les organisations non gouvernementales dénoncent un rendez-vous manqué pour la planète. "
    "Le président chinois a quitté la capitale américaine dès jeudi soir."
)


def doc(doc_id: str, text: str, **meta: str):  # type: ignore[no-untyped-def]
    return make_document(doc_id, text, title=meta.pop("title", doc_id), **meta)


def grouped(docs: list) -> CopyIndex:  # type: ignore[type-arg]
    index = CopyIndex()
    index.regroup({d.id: d for d in docs})
    return index


def test_realistic_copies_are_grouped_and_a_story_on_the_same_subject_is_not() -> None:
    whole = " ".join(DISPATCH)
    variants = {
        "lead-cut": " ".join(DISPATCH[2:]),
        "tail-cut": " ".join(DISPATCH[:3]),
        "byline": "Par Marie Dupont (AFP)\n" + whole,
        "typos": whole.replace("dirigeants", "dirigaents").replace("manifestations", "manifestatons"),
        "reordered": " ".join(DISPATCH[3:] + DISPATCH[:3]),
        "added": whole + " Le maire de Washington a fermé trois avenues pour la durée du sommet.",
    }
    docs = [doc("original", whole)] + [doc(k, v) for k, v in variants.items()]
    docs.append(doc("other", SAME_SUBJECT))
    index = grouped(docs)
    assert set(index.copies_of("original")) == set(variants)
    assert index.copies_of("other") == ()
    assert not copies.is_copy(copies.signature(whole), copies.signature(SAME_SUBJECT))


def test_a_short_text_is_nobodys_copy() -> None:
    index = grouped([doc("a", "Le sommet commence jeudi."), doc("b", "Le sommet commence jeudi.")])
    assert index.group == {}


def test_grouping_reuses_signatures_and_drops_those_of_removed_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = " ".join(DISPATCH)
    index = grouped([doc("a", whole), doc("b", whole + " Mis à jour.")])
    made: list[str] = []
    real = copies.signature
    monkeypatch.setattr(copies, "signature", lambda text: made.append(text) or real(text))
    index.regroup({d.id: d for d in [doc("a", whole), doc("c", SAME_SUBJECT)]})
    assert made == [SAME_SUBJECT]  # only the new text is hashed; "b" is gone with its signature
    assert index.copies_of("a") == () and len(index.signatures) == 2


def test_versions_by_url_and_by_source_are_superseded_by_the_newest() -> None:
    whole = " ".join(DISPATCH)
    index = grouped(
        [
            doc("v1", whole, url="https://x.fr/a", date="2024-03-01"),
            doc("v2", "Tout autre texte, réécrit de bout en bout.", url="https://x.fr/a", date="2024-03-02"),
            doc("wire-a", whole, source="agence", date="2024-03-01"),
            doc("wire-b", whole + " Précision ajoutée.", source="agence", date="2024-03-03"),
            doc("outlet", whole, source="journal", date="2024-02-28"),
        ]
    )
    assert index.newer == {"v1": "v2", "wire-a": "wire-b"}
    assert set(index.copies_of("v2")) == {"v1", "wire-a", "wire-b", "outlet"}


def test_the_preferred_member_is_the_most_complete_current_one_earliest_or_latest() -> None:
    whole = " ".join(DISPATCH)
    docs = [
        doc("cut", " ".join(DISPATCH[:3]), date="2024-01-01"),  # earliest, but not complete
        doc("full-a", whole, date="2024-01-02"),
        doc("full-b", whole + " Fin.", date="2024-01-05"),
    ]
    index = grouped(docs)
    by_id = {d.id: d for d in docs}
    assert index.preferred("cut", by_id) == "full-a"
    assert index.preferred("cut", by_id, latest=True) == "full-b"


def test_the_groups_are_saved_with_the_index_and_made_for_an_older_one(tmp_path: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from helpers import make_store

    whole = " ".join(DISPATCH)
    store = make_store(embedder, {"a.txt": whole, "b.txt": "Par X (AFP)\n" + whole, "c.txt": SAME_SUBJECT})
    assert store.group_copies() == 1
    generation = store.save(tmp_path / "index")
    loaded = Store.load(tmp_path / "index")
    assert loaded.copies.copies_of("a.txt") == ("b.txt",) and loaded.copies.group == store.copies.group
    (generation / "copies.npz").unlink()  # an index saved before copies were grouped
    manifest = json.loads((generation / "manifest.json").read_text())
    del manifest["files"]["copies.npz"]
    (generation / "manifest.json").write_text(json.dumps(manifest))
    assert Store.load(tmp_path / "index").copies.copies_of("b.txt") == ("a.txt",)


@pytest.fixture
def wire_corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    whole = " ".join(DISPATCH)
    for name, date, source, text in [
        ("afp.md", "2024-03-01", "AFP", whole),
        ("journal.md", "2024-03-02", "Le Journal", "Par Marie Dupont (AFP)\n" + whole),
        ("radio.md", "2024-03-03", "Radio", " ".join(DISPATCH[:4])),
        ("bilan.md", "2024-03-04", "Le Journal", SAME_SUBJECT),
    ]:
        front = f"---\ntitle: Sommet ({source})\ndate: {date}\nsource: {source}\n---\n"
        (folder / name).write_text(front + text + "\n", encoding="utf-8")
    return folder


def test_one_article_per_story_is_cited_and_the_answer_says_where_else(wire_corpus: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    engine = Engine.open(wire_corpus / "index", corpus_dir=wire_corpus, embedder=embedder, build=True)
    found = engine.retrieve("Qui réclame un fonds pour les pertes et dommages ?", k=4)
    story = {"afp.md", "journal.md", "radio.md"}
    cited_story = {h.chunk.doc_id for h in found.hits} & story
    assert len(cited_story) == 1  # the k hits are not filled with copies of one dispatch
    answer = engine.ask("Qui réclame un fonds pour les pertes et dommages ?")
    assert not answer.abstained
    assert {c.doc_id for c in answer.citations} == {"afp.md"}  # complete and earliest
    assert [(c.of, c.doc_id, c.relation) for c in answer.copies] == [
        ("afp.md", "journal.md", "copy"),
        ("afp.md", "radio.md", "copy"),
    ]
    assert answer.text.endswith("[1] Aussi dans 2 autres articles.")
    assert Answer.from_dict(json.loads(json.dumps(answer.to_dict()))) == answer


def test_a_newer_version_of_an_article_is_the_one_cited(wire_corpus: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    whole = " ".join(DISPATCH)
    (wire_corpus / "afp-2.md").write_text(
        "---\ntitle: Sommet (AFP, mis à jour)\ndate: 2024-03-05\nsource: AFP\n---\n"
        + whole
        + " Mise à jour.\n",
        encoding="utf-8",
    )
    engine = Engine.open(wire_corpus / "index", corpus_dir=wire_corpus, embedder=embedder, build=True)
    answer = engine.ask("Qui réclame un fonds pour les pertes et dommages ?")
    assert {c.doc_id for c in answer.citations} == {"afp-2.md"}
    assert ("afp.md", "earlier version") in {(c.doc_id, c.relation) for c in answer.copies}
    # Both stay in the corpus and the index.
    assert {"afp.md", "afp-2.md"} <= set(engine.store.documents)


def test_the_source_card_and_the_cli_list_the_other_articles(wire_corpus: Path, embedder) -> None:  # type: ignore[no-untyped-def]
    from ui.cli import format_answer
    from ui.render import answer_as_text, sources_html

    engine = Engine.open(wire_corpus / "index", corpus_dir=wire_corpus, embedder=embedder, build=True)
    answer = engine.ask("Qui réclame un fonds pour les pertes et dommages ?")
    import html as markup

    html = markup.unescape(sources_html(answer.to_dict(), {"afp.md": engine.document("afp.md").text}))
    assert html.count('class="rag-src"') == 1 and html.count('class="rag-also"') == 1
    assert "Aussi dans" in html and "Sommet (Le Journal)" in html and "Sommet (Radio)" in html
    printed = format_answer(answer)
    assert "aussi : Sommet (Le Journal), 2024-03-02 (Le Journal)" in printed
    assert "= Sommet (Radio), 2024-03-03, Radio" in answer_as_text(answer.to_dict())


def test_a_version_chain_across_url_and_source_ends_at_one_current_article() -> None:
    whole = " ".join(DISPATCH)
    docs = [
        doc("a", whole, source="AFP", url="https://x.fr/u", date="2024-01-01"),
        doc("b", whole, source="AFP", url="https://x.fr/u", date="2024-01-02"),  # a updated in place
        doc("d", whole, source="AFP", url="https://x.fr/v", date="2024-01-03"),  # then reprinted
    ]
    index = grouped(docs)
    assert index.newer == {"a": "d", "b": "d"}
    assert index.preferred("a", {d.id: d for d in docs}) == "d"
