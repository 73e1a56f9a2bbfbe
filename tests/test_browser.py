"""The web chat driven in headless Chromium (Debian's /usr/bin/chromium, never a downloaded build).

Run with ``pytest -m browser``. Skipped when Chromium or the playwright package is missing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import SEED_ID, serving, write_corpus

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is not installed", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("gradio")

from rag import Engine, update_index  # noqa: E402
from rag.embedders import HashEmbedder  # noqa: E402
from ui.app import build_app  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT = 20_000  # ms
WASHINGTON = "Pour Washington, l’enjeu est avant tout stratégique."
METEO_EXAMPLE = "Que disent les articles sur « Météo à Lyon » ?"  # from the newest article's title
NEW_ARTICLE = (
    "La licorne de Brest\n"
    "La licorne de Brest a traversé la rade à la nage lundi matin. Les pêcheurs ont applaudi.\n"
)
EVIL_TITLE = '<img src=x onerror="window.__pwned=1"> Alerte [clic](javascript:window.__pwned=1)'
EVIL_SCRIPT = "<script>window.__pwned=1</script>"
EVIL_ARTICLE = (
    f"---\ntitle: {EVIL_TITLE}\n---\n"
    f"Le dragon violet de Quimper mange des crêpes {EVIL_SCRIPT} chaque matin.\n"
    'Un lien [clic](javascript:window.__pwned=1) et une image <img src=x onerror="window.__pwned=1">.\n'
)


def _served(root: Path) -> Iterator[str]:
    corpus = write_corpus(root / "corpus")
    engine = Engine.open(root / "index", corpus_dir=corpus, embedder=HashEmbedder(128), build=True)
    with serving(build_app(engine)) as address:
        yield address


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app the chat tests share: they do not change its corpus."""
    yield from _served(tmp_path_factory.mktemp("browser"))


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


def _page(browser: Any, url: str, width: int = 1400, height: int = 1000) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": width, "height": height})
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.goto(url)
    page.wait_for_selector("#rag-question textarea")
    yield page
    context.close()


@pytest.fixture
def page(browser, url: str) -> Iterator[Any]:
    yield from _page(browser, url)


@pytest.fixture
def own_app(browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path]]:
    """A page on an app of its own, for a test that changes the corpus, and the app's folder
    (``corpus/``, ``index/``)."""
    root = tmp_path_factory.mktemp("browser_own")
    for url in _served(root):
        for page in _page(browser, url):
            yield page, root


def answers(page) -> int:
    return page.locator("#rag-chat .rag-answer .rag-query").count()


def ask(page, question: str) -> None:
    """Type a question, send it, wait until the complete answer (with its query line) is shown."""
    before = answers(page)
    page.fill("#rag-question textarea", question)
    page.press("#rag-question textarea", "Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('#rag-chat .rag-answer .rag-query').length > n", arg=before
    )


def last_answer(page):
    return page.locator("#rag-chat .rag-answer").last


def assert_nothing_ran(page) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.locator("#rag-chat script, #rag-article script, #rag-docs script").count() == 0


def test_question_streams_a_cited_answer_with_highlighted_sources(page, tmp_path: Path):
    # an empty chat says what is indexed and offers questions about it, the newest article first
    assert "2 articles" in page.locator("#rag-chat").inner_text()
    assert page.locator("#rag-chat").get_by_text(METEO_EXAMPLE).count() >= 1
    # record every state of the answer while it streams in
    page.evaluate(
        """() => {
          window.__states = [];
          const record = () => {
            const t = document.querySelectorAll('#rag-chat .rag-answer, #rag-chat .rag-pending');
            if (t.length) window.__states.push(t[t.length - 1].innerText);
          };
          const options = {subtree: true, childList: true, characterData: true};
          new MutationObserver(record).observe(document.querySelector('#rag-chat'), options);
        }"""
    )
    ask(page, "Quel est l'enjeu pour Washington ?")
    states = page.evaluate("window.__states")
    assert any("Recherche" in s or "[1]" not in s for s in states[:-1])  # shown before it was complete
    answer = last_answer(page)
    text = answer.locator(".rag-text").inner_text()
    assert text.startswith(WASHINGTON) and "[1]" in text
    assert answer.locator(".rag-marker").first.inner_text() == "[1]"
    assert "Quel est l'enjeu pour Washington ?" in answer.locator(".rag-query").inner_text()
    source = answer.locator(".rag-src").first
    assert SEED_ID in source.locator(".rag-src-head").inner_text()
    assert "À Washington, une réunion internationale" in source.locator(".rag-src-title").inner_text()
    assert source.locator(".rag-passage mark").inner_text() == WASHINGTON
    # the whole article opens beside the chat, the quote highlighted and scrolled into view
    cited = page.locator("#rag-article mark#rag-cited")
    assert cited.inner_text() == WASHINGTON
    assert "Les États-Unis prévoient la création" in page.locator("#rag-article").inner_text()
    page.wait_for_function(
        """() => { const m = document.querySelector('#rag-article mark#rag-cited').getBoundingClientRect();
        const b = document.querySelector('#rag-article .rag-article-body').getBoundingClientRect();
        return m.top >= b.top && m.bottom <= b.bottom && m.bottom <= window.innerHeight; }"""
    )
    assert page.locator("#rag-pick").get_by_text("[1] À Washington").count() == 1

    # a follow-up is searched with the previous question, and says so
    ask(page, "Et l'Union européenne ?")
    query = last_answer(page).locator(".rag-query").inner_text()
    assert "Quel est l'enjeu pour Washington ? Et l'Union européenne ?" in query
    page.screenshot(path=str(tmp_path / "chat.png"))
    print(f"screenshot: {tmp_path / 'chat.png'}")


def test_upload_then_ask_and_malicious_text_stays_inert(own_app, tmp_path: Path):
    page, _ = own_app
    new = tmp_path / "licorne.txt"
    new.write_text(NEW_ARTICLE, encoding="utf-8")
    evil = tmp_path / "alerte.md"
    evil.write_text(EVIL_ARTICLE, encoding="utf-8")
    big = tmp_path / "gros.txt"
    big.write_text("mot " * (1_400_000), encoding="utf-8")  # 5.6 MB: over the 5 MB limit

    page.get_by_role("tab", name="Articles").click()
    page.wait_for_selector("#rag-docs table")
    assert "hash-128" in page.locator("#rag-info").inner_text()
    upload = "#rag-files input[type=file]"
    binary = tmp_path / "binaire.txt"
    binary.write_bytes(b"\x00\xff\xfe" * 100)
    # one batch, two bad files: each gets its own line, the good ones go in
    page.set_input_files(upload, [str(big), str(binary), str(new), str(evil)])
    page.locator("#rag-files").get_by_text("alerte").wait_for()
    page.click("#rag-add")
    page.wait_for_selector("#rag-status .rag-changes")
    lines = page.locator("#rag-status li").all_inner_texts()
    print("upload:", lines)
    assert "gros.txt refusé" in lines[0] and "5 MB upload limit" in lines[0]
    assert "binaire.txt refusé" in lines[1] and "binary" in lines[1]
    assert lines[2].startswith("✓ licorne.txt ajouté") and lines[3].startswith("✓ alerte.md ajouté")
    assert "2 nouveau(x)" in lines[4]
    page.locator("#rag-docs").get_by_text("La licorne de Brest").wait_for()
    docs = page.locator("#rag-docs").inner_text()
    assert "La licorne de Brest" in docs and "licorne.txt" in docs
    assert EVIL_TITLE in docs  # shown literally
    assert_nothing_ran(page)

    page.get_by_role("tab", name="Chat").click()
    ask(page, "Qui a traversé la rade de Brest à la nage ?")
    answer = last_answer(page)
    assert answer.locator(".rag-text").inner_text().startswith("La licorne de Brest a traversé la rade")
    assert "licorne.txt" in answer.locator(".rag-src-head").first.inner_text()

    ask(page, "Que mange le dragon violet de Quimper ?")
    answer = last_answer(page)
    assert EVIL_SCRIPT in answer.locator(".rag-text").inner_text()
    assert EVIL_TITLE in answer.locator(".rag-src-title").first.inner_text()
    page.locator("#rag-article mark#rag-cited").get_by_text(EVIL_SCRIPT).wait_for()
    assert "[clic](javascript:window.__pwned=1)" in page.locator("#rag-article").inner_text()
    assert_nothing_ran(page)
    page.screenshot(path=str(tmp_path / "malicious.png"))

    # clicking an earlier answer brings back its sources and article
    page.locator("#rag-chat .rag-answer").get_by_text("La licorne de Brest a traversé").first.click()
    page.locator("#rag-article").get_by_text("Les pêcheurs ont applaudi.").wait_for()
    assert (
        page.locator("#rag-article mark#rag-cited").inner_text().startswith("La licorne de Brest a traversé")
    )

    # the uploaded article can be removed again from the Articles tab, once confirmed, and restored
    page.get_by_role("tab", name="Articles").click()
    page.locator("#rag-remove-pick input").click()
    page.get_by_role("option", name="La licorne de Brest — licorne.txt").click()
    page.click("#rag-remove")
    page.locator("#rag-confirm-text").get_by_text("La licorne de Brest — licorne.txt").wait_for()
    assert "licorne.txt" in page.locator("#rag-docs").inner_text()  # nothing removed yet
    page.click("#rag-confirm-no")
    page.locator("#rag-confirm").wait_for(state="hidden")
    page.click("#rag-remove")
    page.click("#rag-confirm-yes")
    page.wait_for_function("() => document.querySelector('#rag-status').innerText.includes('corbeille')")
    page.wait_for_function("() => !document.querySelector('#rag-docs').innerText.includes('licorne.txt')")
    page.locator("#rag-trash-pick input").click()
    page.get_by_role("option", name=re.compile(r"^licorne\.txt — supprimé le")).click()
    page.click("#rag-restore")
    page.wait_for_function("() => document.querySelector('#rag-status').innerText.includes('restauré')")
    page.locator("#rag-docs").get_by_text("licorne.txt").wait_for()


def test_examples_and_errors_in_the_page(page):
    page.locator("#rag-chat").get_by_text(METEO_EXAMPLE).click()
    page.wait_for_selector("#rag-chat .rag-answer .rag-query")
    assert "Météo à Lyon" in page.locator("#rag-chat .rag-question").first.inner_text()

    page.fill("#rag-question textarea", "? ! ?")
    page.press("#rag-question textarea", "Enter")
    assert "no words" in page.locator("#rag-chat .rag-error").inner_text()

    page.click("#rag-send")  # empty question: a warning, nothing asked
    page.get_by_text("La question est vide").wait_for()

    ask(page, "Quelle est la recette de la tarte tatin aux pommes caramélisées ?")
    answer = last_answer(page)
    assert answer.locator(".rag-text").inner_text() == "Je n'ai pas trouvé la réponse dans les articles."
    assert "Passages proches" in answer.locator(".rag-sources-title").inner_text()
    assert answer.locator(".rag-src mark").count() >= 1

    # the chat's clear button starts a new conversation: no history, examples again
    page.click("#rag-chat button[aria-label=Clear]")
    page.locator("#rag-chat").get_by_text(METEO_EXAMPLE).wait_for()
    page.locator("#rag-article").get_by_text("Choisissez une source").wait_for()
    ask(page, "Et l'Union européenne ?")
    assert "« Et l'Union européenne ? »" in last_answer(page).locator(".rag-query").inner_text()


def test_the_page_follows_changes_made_beside_it(own_app):
    page, root = own_app
    page.get_by_role("tab", name="Articles").click()
    page.wait_for_selector("#rag-docs table")
    assert not page.locator("#rag-update").is_visible()
    page.locator("#rag-remove-pick input").click()  # someone is picking an article meanwhile
    page.get_by_role("option", name="Météo à Lyon — meteo.md").click()
    # `rag index` run beside the app: the page shows the new article within seconds
    (root / "corpus" / "cannes.txt").write_text(
        "Le festival de Cannes\nUn film coréen a reçu la Palme d'or.", encoding="utf-8"
    )
    update_index(root / "corpus", root / "index", HashEmbedder(128))
    started = time.monotonic()
    page.locator("#rag-docs").get_by_text("Le festival de Cannes").wait_for()
    print(f"index built beside the app shown after {time.monotonic() - started:.1f} s")
    page.wait_for_timeout(500)
    assert page.locator("#rag-remove-pick input").input_value() == "Météo à Lyon — meteo.md"  # kept
    # a file dropped in the corpus folder: said, and indexed with one click
    (root / "corpus" / "venise.txt").write_text(
        "La Mostra de Venise\nUn film chilien a reçu le Lion d'or.", encoding="utf-8"
    )
    page.locator("#rag-pending").get_by_text("1 changement(s)").wait_for()
    assert "venise.txt" in page.locator("#rag-pending").inner_text()
    page.click("#rag-update")
    page.locator("#rag-docs").get_by_text("La Mostra de Venise").wait_for()
    page.locator("#rag-update").wait_for(state="hidden")
    page.get_by_role("tab", name="Chat").click()
    ask(page, "Qui a reçu le Lion d'or à Venise ?")
    assert "venise.txt" in last_answer(page).locator(".rag-src-head").first.inner_text()


GIST = "Résume l'article sur la réunion de Washington"


def test_markers_open_their_source_and_copy_gives_the_text(page):
    ask(page, GIST)
    answer = last_answer(page)
    assert answer.locator(".rag-marker").count() >= 3
    quote = page.evaluate(
        "() => [...document.querySelectorAll('#rag-chat .rag-answer .rag-copy-text')].pop().textContent"
    )
    third = next(line for line in quote.splitlines() if line.startswith("[3] "))
    answer.locator(".rag-marker.rag-n-3").first.click()
    page.wait_for_function(
        "q => document.querySelector('#rag-article mark#rag-cited') &&"
        " q.includes(document.querySelector('#rag-article mark#rag-cited').innerText.trim())",
        arg=third,
    )
    assert page.locator("#rag-pick input[type=radio]").nth(2).is_checked()
    # the copy button copies the answer and its sources as plain text
    answer.locator(".rag-copy").click()
    answer.locator(".rag-copy").get_by_text("copié").wait_for()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.startswith(answer.locator(".rag-text").inner_text()[:40]) and third in copied
    assert "<" not in copied and "[1] " in copied


def test_the_start_of_the_latest_answer_stays_in_view(page):
    for question in (GIST, "Quel est l'enjeu pour Washington ?", GIST):
        ask(page, question)
    page.wait_for_timeout(300)
    top, bottom = page.evaluate(
        """() => {
          const q = [...document.querySelectorAll('#rag-chat .rag-question')].pop();
          let box = q.parentElement;
          while (box && !(['auto', 'scroll'].includes(getComputedStyle(box).overflowY)
                          && box.scrollHeight > box.clientHeight)) box = box.parentElement;
          const b = box.getBoundingClientRect(), r = q.getBoundingClientRect();
          return [r.top - b.top, b.bottom - r.top];
        }"""
    )
    assert 0 <= top < 80 and bottom > 100, (top, bottom)  # the question, and its answer below it


def test_on_a_phone_the_question_box_is_in_view_and_the_page_does_not_jump(browser, url: str):
    for page in _page(browser, url, width=390, height=844):
        send = page.locator("#rag-send").bounding_box()
        assert send is not None and send["y"] + send["height"] <= 844
        ask(page, GIST)
        assert page.evaluate("() => window.scrollY") < 50  # still at the chat, not at the article
        page.get_by_role("tab", name="Articles").click()
        files = page.locator("#rag-files").bounding_box()
        assert files is not None and files["y"] < 1500
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= 400, wide


def test_the_articles_table_searches_sorts_and_pages(page):
    page.get_by_role("tab", name="Articles").click()
    page.wait_for_selector("#rag-docs table")
    rows = page.locator("#rag-docs tbody tr")
    assert rows.first.inner_text().startswith("Météo à Lyon")  # newest first: dated 2026-11-20
    page.fill("#rag-docs-search textarea, #rag-docs-search input", "washington")
    page.wait_for_function("() => document.querySelectorAll('#rag-docs tbody tr').length === 1")
    assert SEED_ID in rows.first.inner_text()
    page.fill("#rag-docs-search textarea, #rag-docs-search input", "lyonnais")
    page.locator("#rag-docs").get_by_text("Aucun article ne contient").wait_for()


def test_the_page_speaks_one_language_at_a_time(browser, url: str, page):
    french = page.locator("body").inner_text()
    for english in ("Send", "settings", "your question", "Related passages", "Add articles"):
        assert english not in french, english
    assert page.locator("#rag-send").inner_text().strip() == "Envoyer"
    for en_page in _page(browser, url + "?lang=en"):
        en_page.locator("#rag-send").get_by_text("Send").wait_for()
        assert en_page.get_attribute("#rag-question textarea", "placeholder") == "Your question…"
        assert "Questions about the articles" in en_page.locator("#rag-title").inner_text()
        ask(en_page, "What does the administration put forward in diplomatic negotiations?")
        assert "Searched for: «" in last_answer(en_page).locator(".rag-query").inner_text()
        ask(en_page, "Quel est l'enjeu pour Washington ?")  # a French question: the bubble in French
        assert "Recherche : «" in last_answer(en_page).locator(".rag-query").inner_text()
        en_page.get_by_role("tab", name="Articles").click()
        en_page.get_by_text("Add articles").wait_for()
        body = en_page.locator("body").inner_text()
        assert "Supprimer" not in body and "Corbeille" not in body and "modèle" not in body


def test_a_period_set_in_the_settings_limits_the_answer(page):
    page.get_by_text("Réglages").click()
    page.fill("#rag-since input, #rag-since textarea", "2026-11-01")
    page.fill("#rag-until input, #rag-until textarea", "2026-11-30")
    ask(page, "Quel temps fera-t-il à Lyon demain ?")
    answer = last_answer(page)
    assert "articles du 2026-11-01 au 2026-11-30" in answer.locator(".rag-query").inner_text()
    assert "meteo.md" in answer.locator(".rag-src-head").first.inner_text()
    page.fill("#rag-since input, #rag-since textarea", "hier")
    page.fill("#rag-question textarea", "Quel temps ?")
    page.press("#rag-question textarea", "Enter")
    page.locator("#rag-chat .rag-error").get_by_text("since='hier' is not a date").wait_for()


def test_an_article_url_typed_in_the_articles_tab_is_fetched_and_indexed(own_app):
    import http.server
    import threading

    article = (
        "<html><head><title>La licorne de Lorient</title><meta name='date' content='2026-11-25'></head><body>"
        "<article><h1>La licorne de Lorient</h1><p>"
        + "Une licorne a été vue sur le port de Lorient mardi. " * 6
        + "</p></article></body></html>"
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200 if self.path == "/licorne" else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(article if self.path == "/licorne" else b"not found")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    page, root = own_app
    try:
        page.get_by_role("tab", name="Articles").click()
        page.fill("#rag-web-source input, #rag-web-source textarea", base + "/absent")
        page.click("#rag-add-web")
        page.locator("#rag-status").get_by_text("the server answered 404").wait_for()
        page.fill("#rag-web-source input, #rag-web-source textarea", base + "/licorne")
        page.click("#rag-add-web")
        page.locator("#rag-docs").get_by_text("La licorne de Lorient").wait_for()
        assert "ajouté" in page.locator("#rag-status").inner_text()
        assert page.input_value("#rag-web-source input, #rag-web-source textarea") == ""
        assert len(list((root / "corpus").glob("web-la-licorne-de-lorient-*.md"))) == 1
    finally:
        server.shutdown()
        server.server_close()
