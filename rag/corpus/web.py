"""Articles from the web: a page's URL, or an RSS or Atom feed (a URL or a file), read into
:class:`WebArticle` records that are stored in the corpus folder as Markdown files with front matter
(title, date, source, url), so that ``rag index --rebuild`` reproduces the index offline.

A page is fetched (:mod:`rag.corpus.fetch`) and its article extracted with trafilatura, which also
reads its title, date and site. A feed (``feedparser``) lists items: each item's page is fetched and
extracted the same way (a few at a time), falling back on the text the feed carries; an item that
fails is reported with its reason and the others go in. A file's name is made from its URL and text
(:meth:`WebArticle.file_name`): adding the same article again changes nothing, and a changed
article at the same URL is a new file, a newer version of the old one (:mod:`rag.store.copies`).

>>> article = WebArticle("https://lyon.example/t10", "Le T10", "2024-03-05", "Lyon Info", "Le tram.")
>>> print(article.markdown())
---
title: Le T10
date: 2024-03-05
source: Lyon Info
url: https://lyon.example/t10
---
Le tram.
<BLANKLINE>
>>> article.file_name()
'web-le-t10-a1bd2d0d-5128d0.md'
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

from ..errors import CorpusError
from ..text import fold
from .fetch import Fetched, fetch

log = logging.getLogger(__name__)

MAX_ITEMS = 200  # of a feed, the first (newest) read; more on request (max_items)
MIN_ARTICLE_CHARS = 200  # less extracted text than this is not an article (a menu, a login page)
WORKERS = 4  # item pages fetched at a time
_FEED_TYPES = ("rss", "atom", "xml")


@dataclass(frozen=True)
class WebArticle:
    """An article read from the web, as it is stored."""

    url: str
    title: str
    date: str
    source: str
    text: str

    def markdown(self) -> str:
        def clean(value: str) -> str:
            return " ".join(value.split())

        front = "\n".join(
            f"{key}: {clean(value)}"
            for key, value in (
                ("title", self.title),
                ("date", self.date),
                ("source", self.source),
                ("url", self.url),
            )
            if value
        )
        return f"---\n{front}\n---\n{self.text.strip()}\n"

    def file_name(self) -> str:
        """``web-<title words>-<hash of the url>-<hash of the text>.md``."""
        slug = re.sub(r"[^a-z0-9]+", "-", fold(self.title or urlparse(self.url).netloc)).strip("-")[:48]
        url_hash = hashlib.sha256(self.url.encode()).hexdigest()[:8]
        text_hash = hashlib.sha256(self.text.strip().encode()).hexdigest()[:6]
        return f"web-{slug.rstrip('-') or 'page'}-{url_hash}-{text_hash}.md"


@dataclass(frozen=True)
class WebRead:
    """What reading a URL or feed gave: the ``articles``, the items ``refused`` as (item, reason),
    and a ``note`` (a feed cut at ``max_items``)."""

    articles: tuple[WebArticle, ...]
    refused: tuple[tuple[str, str], ...] = ()
    note: str = ""
    feed: str = field(default="")  # the feed's title, when it was one


def is_web_source(source: str) -> bool:
    """Whether ``rag add`` reads this as a URL or a feed file rather than a corpus file."""
    return source.lower().startswith(("http://", "https://")) or Path(source).suffix.lower() in (
        ".rss",
        ".atom",
    )


def read_web(
    source: str, max_items: int = MAX_ITEMS, progress: Callable[[int, int], None] | None = None
) -> WebRead:
    """The articles of a page URL, or of a feed (URL or file path). A page that is neither an
    article nor a feed, a URL that cannot be fetched: a :class:`CorpusError` naming it."""
    if "://" in source:  # (fetch refuses any scheme but http and https)
        got = fetch(source)
    else:
        path = Path(source)
        try:
            got = Fetched(path.resolve().as_uri(), "", path.read_bytes())
        except OSError as exc:
            raise CorpusError(f"{source}: cannot be read ({exc.strerror or exc})") from None
    feed = _as_feed(got)
    if feed is None:
        article = extract(got)
        if article is None:
            kind = "an HTML page" if b"<html" in got.body[:2000].lower() else "a file"
            raise CorpusError(
                f"{source}: {kind} with no article text (under {MIN_ARTICLE_CHARS} characters extracted) "
                "and not an RSS or Atom feed: give an article's address or a feed's"
            )
        return WebRead((article,))
    return _read_feed(source, got.url, feed, max_items, progress)


def extract(got: Fetched, fallback: dict[str, str] | None = None) -> WebArticle | None:
    """The article of a fetched page (None when there is too little text to be one); ``fallback``
    fills the title, date and source the page does not give (from a feed item)."""
    import trafilatura

    fallback = fallback or {}
    # Without a charset from the server, trafilatura reads the page's own (<meta charset>).
    doc = trafilatura.bare_extraction(
        got.text() if "charset=" in got.content_type else got.body,
        url=got.url,
        with_metadata=True,
        favor_recall=True,
        include_comments=False,
        include_tables=False,
    )
    text = (getattr(doc, "text", "") or "").strip()
    if len(text) < MIN_ARTICLE_CHARS:
        return None
    return WebArticle(
        url=got.url or fallback.get("url", ""),
        title=(getattr(doc, "title", "") or fallback.get("title", "")).strip(),
        date=(getattr(doc, "date", "") or fallback.get("date", "")).strip(),
        source=(fallback.get("source") or getattr(doc, "sitename", "") or urlparse(got.url).netloc).strip(),
        text=text,
    )


def _as_feed(got: Fetched) -> Any | None:
    head = got.body[:1000].lstrip().lower()
    looks = any(t in got.content_type.lower() for t in _FEED_TYPES) or head.startswith(
        (b"<?xml", b"<rss", b"<feed")
    )
    if not looks:
        return None
    import feedparser

    parsed = feedparser.parse(got.body)
    if not parsed.get("version"):  # XML, but neither RSS nor Atom
        if head.startswith(b"<?xml") and b"<html" not in head:
            raise CorpusError(f"{got.url}: an XML file that is not an RSS or Atom feed")
        return None
    return parsed


def _read_feed(
    source: str, base: str, feed: Any, max_items: int, progress: Callable[[int, int], None] | None
) -> WebRead:
    title = str(feed.feed.get("title", "") or urlparse(source).netloc or Path(source).name)
    # Newest first (items without a date after, in feed order), so that a cut keeps the newest.
    entries = sorted(feed.entries, key=lambda e: _entry_date(e) or "0", reverse=True)
    if not entries:
        return WebRead((), (), f"{source}: the feed lists no items", title)
    note = ""
    if len(entries) > max_items:
        note = (
            f"{source}: the feed has {len(entries)} items, over the limit of {max_items}: the first "
            f"{max_items} were read (rag add --max-items N reads more)"
        )
        entries = entries[:max_items]
    refused: list[tuple[str, str]] = []
    articles: list[WebArticle] = []
    done = 0

    def one(n: int, entry: Any) -> WebArticle:
        link = str(entry.get("link", "") or "").strip()
        if link and base.lower().startswith(("http://", "https://")):
            link = urljoin(base, link)  # (a relative link is relative to the feed)
        name = link or f"{source} item {n + 1} ({entry.get('title', 'untitled')})"
        fallback = {
            "url": link,
            "title": str(entry.get("title", "")),
            "date": _entry_date(entry),
            "source": title,
        }
        failure = ""
        if link:
            try:
                article = extract(fetch(link), fallback)
                if article is not None:
                    return article
                failure = f"{link}: not an article (under {MIN_ARTICLE_CHARS} characters of text)"
            except CorpusError as exc:
                failure = str(exc)
        else:
            failure = f"{name}: the item has no link"
        carried = _entry_text(entry)
        if len(carried) >= MIN_ARTICLE_CHARS:  # the feed carries the article itself
            return WebArticle(link or source, fallback["title"], fallback["date"], title, carried)
        raise CorpusError(failure)

    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(one, n, e) for n, e in enumerate(entries)]
        for n, future in enumerate(futures):
            try:
                articles.append(future.result())
            except Exception as exc:  # one item that fails, however, is reported; the others go in
                link = str(entries[n].get("link", "") or f"item {n + 1}")
                message = str(exc) if isinstance(exc, CorpusError) else f"{link}: {type(exc).__name__}: {exc}"
                refused.append((link, message))
            done += 1
            if progress is not None:
                progress(done, len(entries))
    log.info(
        "feed %s: %d articles, %d refused in %.1f s",
        source,
        len(articles),
        len(refused),
        time.monotonic() - started,
    )
    return WebRead(tuple(articles), tuple(refused), note, title)


def _entry_date(entry: Any) -> str:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if parsed:
        return time.strftime("%Y-%m-%d", parsed)
    return ""


def _entry_text(entry: Any) -> str:
    html = ""
    if entry.get("content"):
        html = " ".join(str(c.get("value", "")) for c in entry.content)
    html = html or str(entry.get("summary", "") or "")
    if not html:
        return ""
    import lxml.html

    try:
        return " ".join(lxml.html.fromstring(html).text_content().split())
    except (ValueError, TypeError, lxml.etree.ParserError):
        return ""
