"""Pure formatting for the web chat: answers, citations, articles and the corpus as HTML.

Everything here is a function of plain values (the dicts of ``Answer.to_dict()``, document texts,
``engine.documents()`` records) returning a string, so it is tested without a browser.

Safety rule: every piece of text that comes from an article (title, date, source, passage, whole
text) or from a person (the question) goes through :func:`escape`, which makes it inert both as
HTML and as Markdown (the chat component renders Markdown and LaTeX): ``<script>`` is shown as
text, ``[x](javascript:…)`` is not a link, ``$$…$$`` is not a formula. The only markup in the output
is the markup written in this module. Chat messages are a single line of HTML (newlines become
``<br>``), so Markdown never sees a blank line that would end the HTML block.

>>> escape('<img src=x onerror="alert(1)">')
'&#60;img src=x onerror=&#34;alert&#40;1&#41;&#34;&#62;'
>>> highlight("Un. Deux. Trois.", 4, 9)
'Un. <mark>Deux.</mark> Trois.'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .words import period, words

MARK_ID = "rag-cited"
PASSAGE_CONTEXT = 240  # characters shown around a quote when its chunk is not known

# HTML specials, plus every character Markdown, LaTeX or template engines give a meaning to.
_SPECIAL = "&<>\"'`\\*_[](){}#!|~$:^"
_ENTITIES = {ord(c): f"&#{ord(c)};" for c in _SPECIAL}
_NEWLINES = re.compile(r"\r\n|\r|\n|\u2028|\u2029")
_MARKER = re.compile(r"\[(\d+)\]")
_STREAM_BREAK = re.compile(r"(?<=[\].!?…])\s+(?!\[)")
_EXAMPLE_UNSAFE = re.compile(r"[^\w\s'’,.:;?!«»\"-]+", re.UNICODE)
EXAMPLE_TITLE_WORDS = 10  # an example question quotes at most this many words of a title


def escape(text: object) -> str:
    """``text`` as inert HTML/Markdown: every special character becomes a numeric entity."""
    return str(text if text is not None else "").translate(_ENTITIES)


def escape_block(text: object) -> str:
    """Like :func:`escape`, with line breaks kept as ``<br>`` (never raw newlines)."""
    return _NEWLINES.sub("<br>", escape(text))


def highlight(text: str, start: int, end: int, mark_id: str | None = None) -> str:
    """``text`` escaped, with ``text[start:end]`` inside ``<mark>`` (with ``id=mark_id`` if given)."""
    start = max(0, min(start, len(text)))
    end = max(start, min(end, len(text)))
    attr = f' id="{escape(mark_id)}"' if mark_id else ""
    return (
        f"{escape_block(text[:start])}<mark{attr}>{escape_block(text[start:end])}</mark>"
        f"{escape_block(text[end:])}"
    )


def stream_prefixes(text: str) -> list[str]:
    """The growing prefixes of an answer to show while it streams in: one more sentence (with its
    citation markers) each time. The last prefix is the whole text.

    >>> stream_prefixes("Un. [1] Deux ! [2]")
    ['Un. [1]', 'Un. [1] Deux ! [2]']
    """
    ends = [m.start() for m in _STREAM_BREAK.finditer(text)]
    prefixes = [text[:e] for e in ends if text[:e].strip()]
    return [*prefixes, text] if text else [""]


def answer_text_html(text: str) -> str:
    """The answer text escaped, its ``[n]`` citation markers styled."""
    parts: list[str] = []
    last = 0
    for m in _MARKER.finditer(text):
        parts.append(escape_block(text[last : m.start()]))
        parts.append(f'<sup class="rag-marker rag-n-{m.group(1)}">&#91;{m.group(1)}&#93;</sup>')
        last = m.end()
    parts.append(escape_block(text[last:]))
    return "".join(parts)


def passage_bounds(
    text: str, start: int, end: int, chunk: Mapping[str, Any] | None = None, context: int = PASSAGE_CONTEXT
) -> tuple[int, int]:
    """The span of ``text`` to show around a quote ``[start, end)``: its chunk when it contains the
    quote, else ``context`` characters each side, cut at a space."""
    if chunk and chunk.get("start", 0) <= start and end <= chunk.get("end", -1) <= len(text):
        return int(chunk["start"]), int(chunk["end"])
    lo = max(0, start - context)
    hi = min(len(text), end + context)
    if lo > 0:
        space = text.find(" ", lo, start)
        lo = space + 1 if space != -1 else lo
    if hi < len(text):
        space = text.rfind(" ", end, hi)
        hi = space if space != -1 else hi
    return lo, hi


def quote_matches(citation: Mapping[str, Any], doc_text: str | None) -> bool:
    """Whether the document text still holds the quote at the citation's offsets."""
    if doc_text is None:
        return False
    start, end = int(citation["start"]), int(citation["end"])
    return 0 <= start <= end <= len(doc_text) and doc_text[start:end] == citation["quote"]


def citation_meta(citation: Mapping[str, Any]) -> str:
    """`title · date · source` of a citation, escaped."""
    bits = [f'<span class="rag-src-title">{escape(citation.get("title") or citation["doc_id"])}</span>']
    if citation.get("date"):
        bits.append(f'<span class="rag-src-date">{escape(citation["date"])}</span>')
    bits.append(f'<span class="rag-src-file">{escape(citation.get("source") or citation["doc_id"])}</span>')
    return " · ".join(bits)


def citation_html(
    citation: Mapping[str, Any], doc_text: str | None, chunk: Mapping[str, Any] | None = None
) -> str:
    """One source card: ``[n]`` title · date · file, then the passage with the quote in ``<mark>``."""
    if quote_matches(citation, doc_text):
        assert doc_text is not None
        start, end = int(citation["start"]), int(citation["end"])
        lo, hi = passage_bounds(doc_text, start, end, chunk)
        before = "… " if doc_text[:lo].strip() else ""
        after = " …" if doc_text[hi:].strip() else ""
        passage = before + highlight(doc_text[lo:hi], start - lo, end - lo) + after
    else:  # the document changed or is gone: the quote alone
        passage = f"<mark>{escape_block(citation['quote'])}</mark>"
    return (
        f'<div class="rag-src"><div class="rag-src-head"><b>&#91;{int(citation["number"])}&#93;</b> '
        f"{citation_meta(citation)}</div>"
        f'<div class="rag-passage">{passage}</div></div>'
    )


def highlight_all(text: str, spans: Sequence[tuple[int, int, int]]) -> str:
    """``text`` escaped, each ``(start, end, number)`` span in ``<mark>`` followed by its ``[n]`` marker
    (spans in order, not overlapping).

    >>> html = highlight_all("Un. Deux. Trois.", [(0, 3, 1), (10, 16, 2)])
    >>> html.replace('<sup class="rag-marker">', "<sup>")
    '<mark>Un.</mark><sup>&#91;1&#93;</sup> Deux. <mark>Trois.</mark><sup>&#91;2&#93;</sup>'
    """
    parts: list[str] = []
    last = 0
    for start, end, number in spans:
        parts.append(escape_block(text[last:start]))
        marker = f'<sup class="rag-marker">&#91;{int(number)}&#93;</sup>'
        parts.append(f"<mark>{escape_block(text[start:end])}</mark>{marker}")
        last = end
    parts.append(escape_block(text[last:]))
    return "".join(parts)


def article_card_html(
    citations: Sequence[Mapping[str, Any]],
    doc_text: str | None,
    chunks: Mapping[str, Mapping[str, Any]],
    footer: str = "",
) -> str:
    """One card for the citations of one article: their markers, title · date · file, then the
    passages around the quotes with every quote highlighted and numbered (passages that touch are
    shown as one), then ``footer`` (HTML: the articles carrying the same story)."""
    first = citations[0]
    markers = " ".join(f"&#91;{int(c['number'])}&#93;" for c in citations)
    head = f'<div class="rag-src-head"><b>{markers}</b> {citation_meta(first)}</div>'
    verified = [c for c in citations if quote_matches(c, doc_text)]
    if doc_text is None or len(verified) < len(citations):  # the document changed: the quotes alone
        quotes = " … ".join(f"<mark>{escape_block(c['quote'])}</mark>" for c in citations)
        return f'<div class="rag-src">{head}<div class="rag-passage">{quotes}</div>{footer}</div>'
    windows: list[list[Any]] = []  # [lo, hi, [(start, end, number)]], merged where they touch
    for c in sorted(verified, key=lambda c: int(c["start"])):
        start, end = int(c["start"]), int(c["end"])
        lo, hi = passage_bounds(doc_text, start, end, chunks.get(c.get("chunk_id") or ""))
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = max(windows[-1][1], hi)
            if start >= windows[-1][2][-1][1]:  # a quote overlapping the previous one is not marked twice
                windows[-1][2].append((start, end, c["number"]))
        else:
            windows.append([lo, hi, [(start, end, c["number"])]])
    passages = []
    for lo, hi, spans in windows:
        body = highlight_all(doc_text[lo:hi], [(s - lo, e - lo, n) for s, e, n in spans])
        passages.append(
            ("… " if doc_text[:lo].strip() else "") + body + (" …" if doc_text[hi:].strip() else "")
        )
    return f'<div class="rag-src">{head}<div class="rag-passage">{"<br>".join(passages)}</div>{footer}</div>'


def sources_html(answer: Mapping[str, Any], texts: Mapping[str, str], heading: bool = True) -> str:
    """The citations of an answer (or its related passages when it abstained) as source cards, one
    card per article."""
    abstained = bool(answer.get("abstained"))
    cited: Sequence[Mapping[str, Any]] = answer.get("related" if abstained else "citations") or ()
    if not cited:
        return ""
    chunks = {h["chunk"]["id"]: h["chunk"] for h in answer.get("hits") or ()}
    by_doc: dict[str, list[Mapping[str, Any]]] = {}
    for c in cited:
        by_doc.setdefault(c["doc_id"], []).append(c)
    w = words(answer.get("language"))
    title = w["related"] if abstained else w["sources"]
    also: dict[str, list[Mapping[str, Any]]] = {}
    for c in answer.get("copies") or ():
        also.setdefault(c["of"], []).append(c)
    cards = "".join(
        article_card_html(group, texts.get(doc_id), chunks, copies_html(also.get(doc_id, ()), w))
        for doc_id, group in by_doc.items()
    )
    head = f'<div class="rag-sources-title">{title}</div>' if heading else ""
    return f'<div class="rag-sources{" rag-related" if abstained else ""}">{head}{cards}</div>'


def copies_html(copies: Sequence[Mapping[str, Any]], w: Mapping[str, Any]) -> str:
    """The other articles carrying a card's story: "Also in: title · date · source, …"."""
    if not copies:
        return ""
    items = []
    for c in copies:
        relation = w["relations"].get(c.get("relation"), "")
        items.append(citation_meta(c) + (f" ({escape(relation)})" if relation else ""))
    return f'<div class="rag-also">{escape(w["also_in"])} : {" ; ".join(items)}</div>'


def message_html(
    answer: Mapping[str, Any],
    texts: Mapping[str, str],
    partial_text: str | None = None,
    turn: int | None = None,
) -> str:
    """A whole chat bubble for an answer: text (``partial_text`` while streaming), the search query
    used, then the sources and a copy button once the text is complete. One line of HTML.
    ``turn`` (the bubble's place in the chat) lets a click on a ``[n]`` marker open that source."""
    done = partial_text is None
    text = answer["text"] if done else partial_text
    cls = "rag-answer rag-abstained" if answer.get("abstained") else "rag-answer"
    if turn is not None:  # (the chat's sanitiser keeps classes only: no data- attributes)
        cls += f" rag-turn-{int(turn)}"
    parts = [f'<div class="{cls}">']
    if done and text and (answer.get("since") or answer.get("until")) and "\n" in text:
        opening, _, text = text.partition("\n")  # the period searched, said first
        parts.append(f'<div class="rag-period">{escape_block(opening)}</div>')
    short = answer.get("short_answer")
    if short and text:  # the short answer is the text's first line: shown apart, in bold
        first, _, text = text.partition("\n")
        parts.append(f'<div class="rag-short">{answer_text_html(first)}</div>')
    parts.append(f'<div class="rag-text">{answer_text_html(text or "")}</div>')
    if done:
        if answer.get("query"):
            w = words(answer.get("language"))
            copy = f'<span class="rag-copy" role="button">{escape(w["copy"])}</span>'
            searched = w["query"].format(query=escape(answer["query"]))
            if answer.get("since") or answer.get("until"):
                searched += escape(
                    f" ({period(answer.get('since', ''), answer.get('until', ''), answer.get('language'))})"
                )
            parts.append(f'<div class="rag-query">{searched}{copy}</div>')
        parts.append(sources_html(answer, texts))
        # newlines as entities: kept in the copied text (textContent), never raw in the markup
        copied = escape(answer_as_text(answer)).replace("\n", "&#10;")
        parts.append(f'<div class="rag-copy-text">{copied}</div>')
    parts.append("</div>")
    return "".join(parts)


def answer_as_text(answer: Mapping[str, Any]) -> str:
    """The answer with its sources as plain text, for the copy button.

    >>> print(answer_as_text({"text": "Oui. [1]", "abstained": False, "citations": [
    ...     {"number": 1, "title": "Le sommet", "date": "2026-11-20", "source": "a.txt", "quote": "Oui."}]}))
    Oui. [1]
    <BLANKLINE>
    [1] Le sommet, 2026-11-20, a.txt : « Oui. »
    """
    cited = answer.get("related" if answer.get("abstained") else "citations") or ()
    lines = [str(answer["text"]), ""] if cited else [str(answer["text"])]
    for c in cited:
        facts = ", ".join(
            str(x) for x in (c.get("title") or c.get("doc_id"), c.get("date"), c.get("source")) if x
        )
        lines.append(f"[{int(c['number'])}] {facts} : « {c['quote']} »")
    for c in answer.get("copies") or ():
        facts = ", ".join(
            str(x) for x in (c.get("title") or c.get("doc_id"), c.get("date"), c.get("source")) if x
        )
        lines.append(f"    = {facts}")
    return "\n".join(lines)


def question_html(question: str) -> str:
    """A person's question as an inert chat bubble."""
    return f'<div class="rag-question">{escape_block(question)}</div>'


def error_html(message: str) -> str:
    return f'<div class="rag-error">⚠ {escape_block(message)}</div>'


def article_html(
    doc: Mapping[str, Any] | None,
    start: int | None = None,
    end: int | None = None,
    reveal: bool = False,
    lang: str = "fr",
) -> str:
    """The whole article, escaped, with ``[start, end)`` in ``<mark id="rag-cited">``. ``reveal``:
    a person asked for it, so the page scrolls to it (``ui.assets.ARTICLE_JS``). ``lang``: the page's
    language, for the empty panel."""
    if not doc:
        return f'<div class="rag-article rag-empty">{escape(words(lang)["no_article"])}</div>'
    text = doc.get("text") or ""
    meta = [f"<h3>{escape(doc.get('title') or doc.get('id'))}</h3>", '<div class="rag-article-meta">']
    facts = [escape(x) for x in (doc.get("date"), doc.get("source") or doc.get("id")) if x]
    meta.append(" · ".join(facts))
    if doc.get("url"):
        meta.append(f' · <span class="rag-url">{escape(doc["url"])}</span>')
    meta.append("</div>")
    if start is not None and end is not None and 0 <= start <= end <= len(text):
        body = highlight(text, start, end, mark_id=MARK_ID)
    else:
        body = escape_block(text)
    cls = "rag-article rag-reveal" if reveal else "rag-article"
    return f'<div class="{cls}">{"".join(meta)}<div class="rag-article-body">{body}</div></div>'


def citation_label(citation: Mapping[str, Any]) -> str:
    """A plain-text label for picking a citation (in a radio list: Gradio shows it as text)."""
    title = " ".join(str(citation.get("title") or citation["doc_id"]).split())
    if len(title) > 70:
        title = title[:69] + "…"
    date = f", {citation['date']}" if citation.get("date") else ""
    return f"[{int(citation['number'])}] {title}{date}"


def document_label(title: str, doc_id: str) -> str:
    """A plain-text label for picking a document: its title (shortened) and id."""
    title = " ".join(str(title or "").split())
    if len(title) > 60:
        title = title[:59] + "…"
    return f"{title} — {doc_id}" if title else doc_id


DOCS_PER_PAGE = 25


def documents_html(
    documents: Iterable[Any],
    query: str = "",
    order: str = "date",
    page: int = 1,
    per_page: int = DOCS_PER_PAGE,
    lang: str = "fr",
) -> str:
    """The indexed documents (``engine.documents()`` records) as a table: those whose title or file
    holds ``query`` (case and accents ignored), newest first (``order="date"``, undated last) or by
    title, page ``page`` of ``per_page`` rows, with a line saying which rows of how many.

    >>> from types import SimpleNamespace as D
    >>> docs = [D(id=f"{i}.txt", title=f"Été {i}", date=f"2026-01-0{i}", chunks=1) for i in range(1, 4)]
    >>> "3.txt" in documents_html(docs, per_page=1) and "1 – 1 sur 3" in documents_html(docs, per_page=1)
    True
    >>> "2.txt" in documents_html(docs, query="ete 2") and "1.txt" not in documents_html(docs, query="ete 2")
    True
    """
    w = words(lang)
    documents = list(documents)
    if not documents:
        return f'<div class="rag-docs rag-empty">{escape(w["no_docs"])}</div>'
    wanted = _folded(query)
    found = [d for d in documents if wanted in _folded(f"{d.title} {d.id}")]
    if order == "title":
        found.sort(key=lambda d: _folded(d.title or d.id))
    else:
        found = _newest_first(found)
    if not found:
        empty = escape(str(w["no_match"]).format(query=query))
        return f'<div class="rag-docs rag-empty">{empty}</div>'
    pages = max(1, -(-len(found) // per_page))
    page = max(1, min(int(page or 1), pages))
    shown = found[(page - 1) * per_page : page * per_page]
    rows = [
        f"<tr><td>{escape(d.title or d.id)}</td><td>{escape(d.date)}</td>"
        f"<td class='rag-num'>{int(d.chunks)}</td><td><code>{escape(d.id)}</code></td></tr>"
        for d in shown
    ]
    first = (page - 1) * per_page + 1
    count = w["rows"].format(
        first=first, last=first + len(shown) - 1, total=len(found), page=page, pages=pages
    )
    head = "".join(f"<th>{escape(h)}</th>" for h in w["head"])
    return (
        f'<div class="rag-docs-count">{escape(count)}</div>'
        f'<table class="rag-docs"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _folded(text: object) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", str(text or "").casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def change_html(change: Any, lang: str = "fr") -> str:
    """One line per file of a :class:`~rag.indexing.CorpusChange` (with the reason for a refusal,
    the lines skipped inside a file), then what the index update did."""
    w = words(lang)
    lines, failed = [], False
    for f in change.files:
        line = str(w.get(f.status, "{name}: {status}")).format(name=f.name, path=f.path, status=f.status)
        if f.message:
            line += f" — {f.message}"
        failed = failed or f.status == "refused"
        lines.append(f'<li class="rag-change-{escape(f.status)}">{escape(line)}</li>')
    lines += [f'<li class="rag-change-note">{escape(note)}</li>' for note in getattr(change, "notes", ())]
    index = change.index
    if index is not None:
        summary = str(w["index_line"]).format(
            added=int(index.added),
            updated=int(index.updated),
            removed=int(index.removed),
            embedded=int(index.sentences_embedded),
        )
        lines.append(f"<li>{escape(summary)}</li>")
        mine = {f.path for f in change.files}  # their skipped lines are said above
        lines += [
            f"<li>{escape(str(w['ignored']).format(path=s.path, reason=s.reason))}</li>"
            for s in index.skipped
            if s.path not in mine
        ]
    css = "rag-status-warn" if failed else "rag-status-ok"
    return f'<div class="{css}"><ul class="rag-changes">{"".join(lines)}</ul></div>'


def info_html(info: Any, lang: str = "fr") -> str:
    """Index facts from ``engine.info()``."""
    w = words(lang)
    built = str(info.built_at or "").replace("T", " ")
    built = re.sub(r"(\d\d:\d\d:\d\d)(\.\d+)?(\+00:00|Z)$", r"\1 UTC", built)
    return (
        '<div class="rag-info">'
        f"<span><b>{int(info.documents)}</b> {escape(w['articles'])}</span>"
        f" · <span><b>{int(info.chunks)}</b> {escape(w['passages'])}</span>"
        f" · <span>{escape(w['model'])} <code>{escape(info.model_id)}</code> ({int(info.dim)} dim.)</span>"
        + (f" · <span>{escape(w['ivf'])}</span>" if info.vector_index == "ivf" else "")
        + f" · <span>{escape(w['updated'])} {escape(built or '—')}</span></div>"
    )


def _newest_first(documents: Sequence[Any]) -> list[Any]:
    """Documents by date, newest first; undated ones after, in corpus order."""
    dated = sorted((d for d in documents if d.date), key=lambda d: str(d.date), reverse=True)
    return dated + [d for d in documents if not d.date]


def _short_title(title: object, words: int = EXAMPLE_TITLE_WORDS) -> str:
    """A title reduced to plain words and punctuation, cut at ``words`` words."""
    plain = " ".join(_EXAMPLE_UNSAFE.sub(" ", str(title or "")).split()).rstrip(" .…:;,")
    cut = plain.split()
    return " ".join(cut[:words]).rstrip(" .…:;,") if len(cut) > words else plain


def example_questions(documents: Sequence[Any], limit: int = 4, lang: str = "fr") -> list[str]:
    """A few questions to try, about the newest articles of the corpus in use, built from their
    titles (reduced to plain words and punctuation).

    >>> from types import SimpleNamespace as D
    >>> example_questions([D(title="Météo à Lyon : la pluie", date="2026-11-20"), D(title="Sport", date="")])
    ['Que disent les articles sur « Météo à Lyon : la pluie » ?', 'Que disent les articles sur « Sport » ?']
    """
    questions: list[str] = []
    for d in _newest_first(documents):
        if len(questions) >= limit:
            break
        title = _short_title(d.title)
        if len(title) < 4:
            continue
        question = str(words(lang)["example"]).format(title=title)
        if question not in questions:
            questions.append(question)
    return questions


def welcome_text(documents: Sequence[Any], lang: str = "fr") -> str:
    """What an empty chat says: how many articles there are, over which dates, and what to do.

    >>> from types import SimpleNamespace as D
    >>> welcome_text([D(date="2012-03-01"), D(date="2012-05-09"), D(date="")])[:40]
    '3 articles (du 2012-03-01 au 2012-05-09)'
    >>> welcome_text([]).startswith("Aucun article")
    True
    """
    w = words(lang)
    if not documents:
        return str(w["welcome_none"])
    count = f"{len(documents)} article{'s' if len(documents) > 1 else ''}"
    dates = sorted(str(d.date) for d in documents if d.date)
    if dates and dates[0] != dates[-1]:
        count += str(w["span"]).format(first=dates[0], last=dates[-1])
    elif dates:
        count += f" ({dates[0]})"
    return str(w["welcome"]).format(count=count)
