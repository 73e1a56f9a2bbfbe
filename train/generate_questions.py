"""Generate French questions from the project's own corpora, as more span-reader training data.

The reader issue allows questions generated from our corpora's text (the seed, Wikinews, the PIAF
and XQuAD contexts). No model here writes questions, so they are made by rule, in the form French
speakers use every day: the question word put where the answer was ("La société emploie combien de
personnes ?", "Le sommet a lieu où ?"), or in front ("Quand le sommet a-t-il lieu" is beyond rules;
"Quand le sommet a lieu ?" is what is made). The answer is a date or a number with its noun found by
the short-answer rules (:func:`rag.composer.short_answer.spans`), or a person, organisation or place
found by spaCy's French pipeline. To look less like the sentence itself, a question keeps only the
clause holding the answer and drops some of its adverbs and adjectives. With ``--unanswerable``, a
sentence without a date is also asked one ("Quand la société a embauché … ?"), with no answer.

Texts used: PIAF contexts of its training half (with ``--hold-out-fold``, not of the tuning fold),
and the Wikinews articles. No PIAF or XQuAD figure is measured on them; the Wikinews question sets
(eval/) are, so a reader trained with these questions has read their text (never their questions).
The output is a QA jsonl file (``rag.evaluation.qa.load_qa`` reads it) that ``train/span_reader.py
--generated`` adds to its rows, with the other sentences of the paragraph and article as "no answer"
examples.

"Le 7 novembre, la société a embauché 800 personnes à Lyon." gives "Quand la société a embauché
800 personnes à Lyon ?" (answer "Le 7 novembre"), "La société a embauché combien de personnes à Lyon ?"
("800 personnes") and "La société a embauché 800 personnes où ?" ("Lyon"); tests/test_generate_questions.py.

Needs spaCy's small French pipeline for the names and places (``pip install -e .[train]``).

Run from the repository root (about a minute)::

    .venv/bin/python train/generate_questions.py ../shared/data --out /tmp/generated.jsonl
    .venv/bin/python train/span_reader.py ../shared/data --generated /tmp/generated.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rag.composer.short_answer import spans  # noqa: E402
from rag.evaluation.qa import load_qa, title_half  # noqa: E402
from rag.text import fold, normalize, sentence_spans  # noqa: E402

SEED = 11
PER_PARAGRAPH = 2  # questions kept per paragraph, so that long articles do not dominate
DROP = 0.3  # share of the clause's adverbs and adjectives dropped
_PREPOSITION = re.compile(r"\b(?:le|en|au|aux|à|dans|depuis|vers|dès|entre|début|fin|mi-)\s$", re.IGNORECASE)
_PLACE_BEFORE = re.compile(r"\b(?:à|au|aux|en|dans)\s$")
_ARTICLE_BEFORE = re.compile(r"(?<!\w)(?:le |la |les |l'|l’|du |des |d'|d’|au |aux )$", re.IGNORECASE)
_QUI_AFTER = {
    "d'": "de qui",
    "d’": "de qui",
    "du ": "de qui",
    "des ": "de qui",
    "au ": "à qui",
    "aux ": "à qui",
}
# time said in words ("depuis plusieurs mois", "à cette époque"): a sentence that may answer "quand"
_WHEN = re.compile(
    r"\b(an|ans|annee|annees|mois|semaines?|jours?|journee|epoque|date|siecles?|periode|saison|hier|demain|"
    r"aujourd'hui|autrefois|jadis|lors|lorsque|quand|apres|avant|depuis|pendant|durant|alors|puis|ensuite|"
    r"bientot|desormais|maintenant|recemment|actuellement|soir|matin|nuit|heures?|fois|moment|temps)\b"
)
_CLAUSE = re.compile(r"[,;:()«»\"]")


def questions(doc, rng: random.Random) -> list[tuple[str, tuple[int, int]]]:
    """Every question the rules make from one parsed sentence ``doc`` (one per kind of answer), and
    the offsets of its answer in the sentence."""
    sentence = doc.text
    found: dict[str, tuple[int, int]] = {}
    for kind in ("date", "number"):
        for start, end in spans(sentence, kind, frozenset({"combien"} if kind == "number" else ())):
            found.setdefault(kind, (start, end))
    for ent in doc.ents:
        kind = {"PER": "name", "ORG": "name", "LOC": "place"}.get(ent.label_)
        if kind and len(ent.text) > 2:
            found.setdefault(kind, (ent.start_char, ent.end_char))
    out = []
    for kind, (start, end) in found.items():
        made = _question(doc, kind, start, end, rng)
        if made:
            out.append((made, (start, end)))
    return out


def _question(doc, kind: str, start: int, end: int, rng: random.Random) -> str | None:
    sentence = doc.text
    answer, before = sentence[start:end], sentence[:start]
    if kind == "date":
        prep = _PREPOSITION.search(before)
        cut = prep.start() if prep else start
        wh, front = "quand", True
    elif kind == "number":
        figure = re.match(r"[\d\s.,\u00a0\u202f]+(?:(?:millions?|milliards?|mille)\s)?(?:de |d['’])?", answer)
        noun = answer[figure.end() :] if figure else ""
        if not noun or not noun[0].isalpha():
            return None
        wh, front, cut = f"combien {'d’' if noun[0].lower() in 'aeiouéèh' else 'de '}{noun}", False, start
    elif kind == "name":
        if _PLACE_BEFORE.search(before) or not answer[0].isupper():
            return None
        article = _ARTICLE_BEFORE.search(before)  # "la CGT" asks "qui", "du parti" asks "de qui"
        cut = article.start() if article else start
        wh = _QUI_AFTER.get(article.group(0).lower() if article else "", "qui")
        front = False
    else:
        prep = _PLACE_BEFORE.search(before)
        if not prep:
            return None
        wh, front, cut = "où", False, prep.start()
    # the clause holding the answer: from the last break before it to the first after it
    left = max((m.end() for m in _CLAUSE.finditer(sentence[:cut])), default=0)
    breaks = [m.start() + end for m in _CLAUSE.finditer(sentence[end:])] + [len(sentence)]
    # "Le 7 mai, la société …": a date set off by a comma asks about the clause after it
    right = breaks[0] if sentence[end : breaks[0]].strip() else breaks[min(1, len(breaks) - 1)]
    head = [t for t in doc if left <= t.idx and t.idx + len(t) <= cut]
    tail = [t for t in doc if end <= t.idx and t.idx + len(t) <= right and not t.is_punct]
    if len(head) + len(tail) < 3 or not any(t.pos_ == "VERB" or t.pos_ == "AUX" for t in head + tail):
        return None
    words = [_word(t, n == 0 and left == 0) for n, t in enumerate(head) if _kept(t, rng)]
    rest = [t.text for t in tail if _kept(t, rng)]
    if front or not head or (kind in ("date", "number") and rng.random() < 0.3):
        return _asked([wh, *words, *rest])
    return _asked([*words, wh, *rest])


def _asked(words: list[str]) -> str:
    """The question of ``words``: one space between them, none after an elision, a capital and "?"."""
    text = re.sub(r"\s+", " ", " ".join(words).replace("' ", "'").replace("’ ", "’")).strip()
    return text[0].upper() + text[1:] + " ?"


def _kept(token, rng: random.Random) -> bool:
    """Whether a word stays in the question: adverbs and adjectives are dropped now and then, as a
    person asking leaves out what they do not know."""
    dropped = token.pos_ in ("ADV", "ADJ") and rng.random() < DROP
    return not dropped or (token.i > 0 and token.doc[token.i - 1].text.endswith(("'", "’")))  # "d'autres"


def _word(token, first: bool) -> str:
    """The token's text, lower-cased when it opened the sentence and is not a name."""
    return token.text.lower() if first and token.pos_ != "PROPN" else token.text


def _paragraphs(data: Path, hold_out_fold: bool) -> Iterator[tuple[str, str]]:
    """``(title, paragraph)`` of every text allowed (see the module docstring)."""
    from train.span_reader import tuning_fold

    seen: set[tuple[str, str]] = set()
    for item in load_qa(data / "piaf_v1.0_fr.jsonl"):
        if title_half(item.title) != "train" or (hold_out_fold and tuning_fold(item.title)):
            continue
        context = normalize(item.context)
        if (item.title, context) not in seen:
            seen.add((item.title, context))
            yield item.title, context
    news = data / "wikinews_fr_2012.jsonl"
    for line in news.read_text(encoding="utf-8").splitlines() if news.is_file() else []:
        article = json.loads(line)
        for paragraph in article["text"].split("\n"):
            if paragraph.strip():
                yield article["title"], normalize(paragraph)


def unanswered(doc, rng: random.Random) -> str | None:
    """A date question about ``doc`` that it cannot answer, for it gives no date: "Quand la société a
    embauché 800 personnes ?" of "La société a embauché 800 personnes.", the "about the subject but
    not the asked detail" sentence the reader must learn to refuse (None when the sentence has a
    date, or no clause with a verb to ask about)."""
    if spans(doc.text, "date", frozenset()) or _WHEN.search(fold(doc.text)):
        return None
    breaks = [0, *(m.end() for m in _CLAUSE.finditer(doc.text)), len(doc.text)]
    for left, right in zip(breaks, breaks[1:]):
        clause = [t for t in doc if left <= t.idx and t.idx + len(t) <= right and not t.is_punct]
        if len(clause) >= 4 and any(t.pos_ == "VERB" for t in clause):
            words = [_word(t, n == 0 and left == 0) for n, t in enumerate(clause) if _kept(t, rng)]
            return _asked(["quand", *words])
    return None


def generate(data: Path, hold_out_fold: bool = False, unanswerable: bool = False) -> list[dict[str, object]]:
    """The generated questions of every allowed paragraph, as QA rows; with ``unanswerable``, also one
    date question a paragraph's sentence without a date cannot answer (its context that one sentence,
    no answer)."""
    try:
        import spacy

        nlp = spacy.load("fr_core_news_sm")
    except (ImportError, OSError) as exc:  # OSError: spaCy without its French pipeline
        raise SystemExit(
            f"spaCy's French pipeline is missing ({exc}): run .venv/bin/pip install -e .[train]"
        ) from exc
    rng, other = random.Random(SEED), random.Random(SEED + 1)
    rows: list[dict[str, object]] = []
    for title, paragraph in _paragraphs(data, hold_out_fold):
        bounds = sentence_spans(paragraph)
        docs = [nlp(paragraph[s:e]) for s, e in bounds]
        starts = [s for s, _ in bounds]
        made = [(q, (s + a, s + b)) for s, doc in zip(starts, docs) for q, (a, b) in questions(doc, rng)]
        for question, (a, b) in rng.sample(made, min(PER_PARAGRAPH, len(made))):
            rows.append({"id": _id(title, question), "question": question, "answers": [paragraph[a:b]],
                         "answer_starts": [a], "context": paragraph, "title": title})  # fmt: skip
        if unanswerable:
            asked = [(q, doc.text) for doc in other.sample(docs, len(docs)) if (q := unanswered(doc, other))]
            for question, sentence in asked[:1]:
                rows.append({"id": _id(title, question), "question": question, "answers": [],
                             "answer_starts": [], "context": sentence, "title": title})  # fmt: skip
    return rows


def _id(title: str, question: str) -> str:
    return "gen-" + hashlib.sha256(f"{title}\n{question}".encode()).hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="the folder of piaf_v1.0_fr.jsonl, wikinews_fr_2012.jsonl")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--hold-out-fold", action="store_true", help="leave out the tuning fold's articles")
    parser.add_argument(
        "--unanswerable", action="store_true", help="add date questions a sentence cannot answer"
    )
    args = parser.parse_args()
    if not (args.data / "piaf_v1.0_fr.jsonl").is_file():
        parser.error(f"{args.data} holds no piaf_v1.0_fr.jsonl: pass the shared data folder (../shared/data)")
    rows = generate(args.data, args.hold_out_fold, args.unanswerable)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} questions written to {args.out}")


if __name__ == "__main__":
    main()
