"""Articles and feeds from the web, served by a local HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag import Engine
from rag.corpus import fetch as fetching
from rag.corpus.web import read_web
from rag.errors import CorpusError

BODY = (
    "Le tramway T10 de Lyon coûtera finalement {n} millions d'euros de plus que prévu, a reconnu mardi la "
    "métropole lors d'un conseil agité. Les travaux, commencés en février, doivent durer deux ans. Les "
    "riverains de Vénissieux dénoncent déjà les nuisances d'un chantier qui ferme trois rues."
)


def page(title: str, day: str, n: int = 40) -> str:
    return (
        f"<html><head><title>{title}</title><meta name='date' content='{day}'>"
        "<meta property='og:site_name' content='Lyon Info'></head><body><nav>Accueil · Sport</nav>"
        f"<article><h1>{title}</h1><p>{BODY.format(n=n)}</p></article>"
        "<footer>© Lyon Info</footer></body></html>"
    )


def rss(base: str, links: list[str], title: str = "Lyon Info") -> str:
    items = "".join(
        f"<item><title>Article {i}</title><link>{base}{link}</link>"
        f"<pubDate>Tue, 0{1 + i % 8} Mar 2024 10:00:00 GMT</pubDate></item>"
        for i, link in enumerate(links)
    )
    return f"<?xml version='1.0'?><rss version='2.0'><channel><title>{title}</title>{items}</channel></rss>"


class Site:
    """What the local server serves, by path; a test may change it."""

    def __init__(self) -> None:
        self.base = ""
        self.pages: dict[str, tuple[int, str, str]] = {}  # path -> (status, content type, body)

    def set(self, path: str, body: str, kind: str = "text/html; charset=utf-8", status: int = 200) -> None:
        self.pages[path] = (status, kind, body)


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/slow":
                time.sleep(1.5)
            if self.path == "/loop":
                self.send_response(302)
                self.send_header("Location", "/loop")
                self.end_headers()
                return
            if self.path in ("/to-ftp", "/to-metadata"):
                self.send_response(302)
                where = "ftp://127.0.0.1/x" if self.path == "/to-ftp" else "http://169.254.169.254/latest/"
                self.send_header("Location", where)
                self.end_headers()
                return
            if self.path == "/moved":
                self.send_response(301)
                self.send_header("Location", "/a3")
                self.end_headers()
                return
            status, kind, body = served.pages.get(self.path, (404, "text/plain", "not found"))
            data = body.encode("utf-8", errors="surrogateescape")  # (a test may serve other bytes)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.base = f"http://127.0.0.1:{server.server_address[1]}"
    for path, title, day in [
        ("/a1", "Le T10 est lancé", "2024-03-01"),
        ("/a2", "Le T10 en retard", "2024-03-02"),
    ]:
        served.set(path, page(title, day, n=len(path) * 10 + int(day[-1])))
    served.set("/a3", page("Le T10 coûte plus cher", "2024-03-03", n=77))
    served.set("/slow", page("Trop lent", "2024-03-04"))
    served.set("/menu", "<html><body><nav>Accueil · Sport · Météo</nav></body></html>")
    links = ["/a1", "/a2", "/moved", "/missing", "/menu", "/slow"]
    served.set("/feed.xml", rss(served.base, links), "application/rss+xml")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def quick_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetching, "TIMEOUT_S", 0.5)


@pytest.fixture
def engine(tmp_path: Path, embedder) -> Engine:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "meteo.md").write_text(
        "---\ntitle: Météo\ndate: 2024-03-01\n---\nIl pleuvra à Lyon.\n", "utf-8"
    )
    return Engine.open(tmp_path / "index", corpus_dir=corpus, embedder=embedder, build=True)


def test_a_feed_adds_every_good_item_and_says_why_the_others_failed(site: Site, engine: Engine) -> None:
    change = engine.add_web(site.base + "/feed.xml")
    added = [f for f in change.files if f.status == "added"]
    refused = {f.name.rsplit("/", 1)[1]: f.message for f in change.refused}
    assert len(added) == 3  # /a1, /a2 and /moved (redirected to /a3)
    assert set(refused) == {"missing", "menu", "slow"}
    assert "answered 404" in refused["missing"]
    assert "not an article" in refused["menu"]
    assert "timed out" in refused["slow"]
    assert change.index is not None and change.index.added == 3
    docs = {d.url: d for d in engine.store.documents.values() if d.url}
    assert set(docs) == {site.base + "/a1", site.base + "/a2", site.base + "/a3"}  # the redirect's target
    moved = docs[site.base + "/a3"]
    assert (moved.title, moved.date, moved.source) == ("Le T10 coûte plus cher", "2024-03-03", "Lyon Info")
    answer = engine.ask("Combien coûtera le tramway T10 de plus ?")
    assert not answer.abstained and answer.citations[0].doc_id.startswith("web-")
    # The pages are files of the corpus folder: a rebuild with the server gone gives the same index.
    files = sorted(p.name for p in Path(engine.settings.corpus_dir).glob("web-*.md"))
    assert len(files) == 3
    before = {d.id: (d.url, d.date, d.title, d.text) for d in engine.store.documents.values()}
    site.pages.clear()
    engine.update(rebuild=True)
    assert {d.id: (d.url, d.date, d.title, d.text) for d in engine.store.documents.values()} == before


def test_adding_a_feed_again_changes_nothing(site: Site, engine: Engine) -> None:
    site.set("/feed.xml", rss(site.base, ["/a1", "/a2"]), "application/rss+xml")
    engine.add_web(site.base + "/feed.xml")
    generation = engine.store.generation
    again = engine.add_web(site.base + "/feed.xml")
    assert [f.status for f in again.files] == ["unchanged", "unchanged"]
    assert again.index is None and engine.store.generation == generation


def test_a_changed_article_at_the_same_url_is_its_newer_version(site: Site, engine: Engine) -> None:
    engine.add_web(site.base + "/a1")
    site.set("/a1", page("Le T10 est lancé (mis à jour)", "2024-03-05", n=55))
    change = engine.add_web(site.base + "/a1")
    assert [f.status for f in change.files] == ["added"]
    versions = [d for d in engine.store.documents.values() if d.url == site.base + "/a1"]
    assert len(versions) == 2  # both stay in the corpus
    old, new = sorted(versions, key=lambda d: d.date)
    assert engine.store.copies.newer == {old.id: new.id}
    answer = engine.ask("Combien coûtera le tramway T10 de plus ?")
    assert {c.doc_id for c in answer.citations} == {new.id}
    assert [(c.doc_id, c.relation) for c in answer.copies] == [(old.id, "earlier version")]


def test_bad_sources_get_a_message_naming_them_and_nothing_indexed_is_lost(
    site: Site, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = dict(engine.store.documents)
    site.set("/big", "<html><body>" + "x" * 20_000 + "</body></html>")
    site.set("/data.xml", "<?xml version='1.0'?><data><row>1</row></data>", "application/xml")
    monkeypatch.setattr(fetching, "MAX_BYTES", 10_000)
    cases = {
        "/loop": "redirected more than 5 times",
        "/big": "over the limit of 0.0 MB",
        "/menu": "no article text",
        "/data.xml": "not an RSS or Atom feed",
        "/missing": "answered 404",
    }
    for path, message in cases.items():
        with pytest.raises(CorpusError) as caught:
            engine.add_web(site.base + path)
        assert site.base + path in str(caught.value) and message in str(caught.value), path
    with pytest.raises(CorpusError, match="only http:// and https://"):
        engine.add_web("file:///etc/passwd")
    assert engine.store.documents == before


def test_a_feed_over_the_item_limit_is_read_up_to_it_and_says_so(site: Site, engine: Engine) -> None:
    site.set("/feed.xml", rss(site.base, ["/a1", "/a2", "/moved"]), "application/rss+xml")
    change = engine.add_web(site.base + "/feed.xml", max_items=2)
    assert len(change.files) == 2
    assert change.notes and "has 3 items, over the limit of 2" in change.notes[0]


def test_a_feed_file_and_an_atom_feed_are_read(site: Site, tmp_path: Path) -> None:
    atom = (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom'><title>Lyon</title>"
        f"<entry><title>Le T10</title><link href='{site.base}/a2'/><updated>2024-03-02T08:00:00Z</updated>"
        "</entry><entry><title>Sans page</title><link href='{base}/gone'/>"
        "<updated>2024-03-04T08:00:00Z</updated>"
        f"<content type='html'>&lt;p&gt;{BODY.format(n=12)}&lt;/p&gt;</content></entry></feed>"
    ).replace("{base}", site.base)
    path = tmp_path / "lyon.atom"
    path.write_text(atom, encoding="utf-8")
    read = read_web(str(path))
    assert [a.url for a in read.articles] == [site.base + "/gone", site.base + "/a2"]  # newest first
    carried = read.articles[0]  # its page is gone: the text the feed carries is used
    assert carried.date == "2024-03-04" and "12 millions" in carried.text and carried.source == "Lyon"


def test_rag_add_takes_files_urls_and_feeds_together(site: Site, tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from ui.cli import main

    monkeypatch.setenv("RAG_MODEL", "hash")
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    corpus.mkdir()
    note = tmp_path / "note.txt"
    note.write_text("Le conseil de la métropole se réunit mardi.\n", encoding="utf-8")
    where = ["--corpus", str(corpus), "--index", str(index)]
    code = main(["add", str(note), site.base + "/a1", site.base + "/feed.xml", site.base + "/loop", *where])
    out = capsys.readouterr().out
    assert code == 2  # something was refused; the rest went in
    assert "added note.txt" in out and f"refused {site.base}/loop: {site.base}/loop: redirected" in out
    assert f"refused {site.base}/missing: {site.base}/missing: the server answered 404" in out
    assert len(list(corpus.glob("web-*.md"))) == 3  # /a1 once (the feed's /a1 is the same file), /a2, /a3
    code = main(["add", site.base + "/a1", *where])
    assert code == 0 and "unchanged" in capsys.readouterr().out


def test_redirects_off_http_and_to_link_local_addresses_are_refused(site: Site, engine: Engine) -> None:
    for path, message in [("/to-ftp", "only http:// and https://"), ("/to-metadata", "link-local")]:
        with pytest.raises(CorpusError, match=message):
            engine.add_web(site.base + path)


def test_odd_addresses_a_latin1_page_relative_links_and_an_empty_feed(site: Site, engine: Engine) -> None:
    latin = page("Été à Noël", "2024-03-06").replace("<head>", "<head><meta charset='iso-8859-1'>")
    raw = latin.encode("latin-1")  # served as these bytes, with no charset in the header
    site.pages["/%C3%A9t%C3%A9"] = (200, "text/html", raw.decode("utf-8", errors="surrogateescape"))
    read = read_web(site.base + "/été")  # a non-ASCII path is percent-encoded
    assert read.articles[0].title == "Été à Noël" and "Vénissieux" in read.articles[0].text
    with pytest.raises(CorpusError, match="not a usable address|cannot be reached|download failed"):
        read_web("http://[::1")
    relative = rss("", ["/a1", "/a2"])  # links without the host: relative to the feed
    site.set("/relative.xml", relative, "application/rss+xml")
    assert {a.url for a in read_web(site.base + "/relative.xml").articles} == {
        site.base + "/a1",
        site.base + "/a2",
    }
    site.set("/empty.xml", rss(site.base, []), "application/rss+xml")
    change = engine.add_web(site.base + "/empty.xml")
    assert change.files == () and change.notes == (f"{site.base}/empty.xml: the feed lists no items",)
