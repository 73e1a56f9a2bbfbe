import json

import pytest
from helpers import shared_file

from rag.chunking import Chunker
from rag.corpus import make_document


def test_offsets_are_exact_on_every_wikinews_article():
    chunker = Chunker(500, 100)
    n = 0
    with open(shared_file("wikinews_fr_2012.jsonl"), encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            doc = make_document(row["id"], row["text"], title=row["title"])
            chunks = chunker.split(doc)
            assert chunks, doc.id
            for chunk in chunks:
                assert doc.text[chunk.start : chunk.end] == chunk.text
                assert chunk.doc_id == doc.id and len(chunk.text) <= 500
            assert len({c.id for c in chunks}) == len(chunks)
            n += len(chunks)
    assert n > 300


def test_chunks_overlap_and_cover_the_text():
    text = " ".join(f"Phrase numéro {i} de l’article." for i in range(80))
    doc = make_document("d", text)
    chunks = Chunker(200, 50).split(doc)
    assert len(chunks) > 5
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
    for a, b in zip(chunks, chunks[1:]):
        assert b.start <= a.end  # no gap: every character is in some chunk
        assert b.start > a.start


def test_chunk_ids_survive_edits_elsewhere_in_the_document():
    paragraphs = [f"Paragraphe {i}. " + "Du texte. " * 30 for i in range(6)]
    before = make_document("d", "\n\n".join(paragraphs))
    after = make_document("d", "\n\n".join(paragraphs[:5] + ["Paragraphe 5 réécrit. " + "Autre. " * 30]))
    chunker = Chunker(400, 0)
    ids_before = {c.id for c in chunker.split(before)}
    ids_after = {c.id for c in chunker.split(after)}
    assert len(ids_before & ids_after) >= len(ids_before) - 2
    assert ids_before != ids_after


@pytest.mark.parametrize("size,overlap", [(10, 0), (100, 100), (100, -1)])
def test_bad_chunker_settings_are_refused(size, overlap):
    with pytest.raises(ValueError):
        Chunker(size, overlap)
