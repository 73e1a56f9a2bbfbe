"""The web app's API, launched in-process on a free port and called with gradio_client."""

from __future__ import annotations

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import SEED_ID, free_port, serving, write_corpus

gr = pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

from rag import Answer, Citation, Document, Engine, RagError, SettingsError  # noqa: E402
from rag.embedders import HashEmbedder  # noqa: E402
from ui.app import build_app  # noqa: E402
from ui.cli import main  # noqa: E402
from ui.handlers import answer_stream  # noqa: E402
from ui.serving import announce, check_exposure, serve  # noqa: E402

pytestmark = [  # raised inside gradio's queue, not by this project
    pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    root = tmp_path_factory.mktemp("ui_app")
    corpus = write_corpus(root / "corpus")
    return Engine.open(root / "index", corpus_dir=corpus, embedder=HashEmbedder(128), build=True)


@pytest.fixture(scope="module")
def url(engine: Engine):
    with serving(build_app(engine)) as address:
        yield address


@pytest.fixture(scope="module")
def client(url: str):
    return gradio_client.Client(url, verbose=False)


def test_ask_returns_the_answer_json_with_verbatim_citations(client, engine: Engine):
    data = client.predict("Quel est l'enjeu pour Washington ?", 5, api_name="/ask")
    assert set(data) == set(Answer.__dataclass_fields__)
    assert not data["abstained"] and data["language"] == "fr"
    assert data["text"].startswith("Pour Washington, l’enjeu est avant tout stratégique. [1]")
    first = data["citations"][0]
    assert first["doc_id"] == SEED_ID and first["number"] == 1
    for c in data["citations"]:
        assert engine.document(c["doc_id"]).text[c["start"] : c["end"]] == c["quote"]
        assert f"[{c['number']}]" in data["text"]
    assert 1 <= len(data["hits"]) <= 5


def test_k_and_defaults(client):
    one = client.predict("Quel est l'enjeu pour Washington ?", 1, api_name="/ask")
    assert len(one["hits"]) == 1
    default = client.predict("Quel temps fera-t-il à Lyon demain ?", api_name="/ask")
    assert default["citations"][0]["doc_id"] == "meteo.md"
    assert default["citations"][0]["date"] == "2026-11-20"


def test_follow_up_uses_the_history(client):
    data = client.predict(
        "Et l'Union européenne ?", 5, ["Quel est l'enjeu pour Washington ?"], api_name="/ask"
    )
    assert data["query"] == "Quel est l'enjeu pour Washington ? Et l'Union européenne ?"
    assert data["question"] == "Et l'Union européenne ?"


def test_abstains_with_related_passages(client, engine: Engine):
    data = client.predict("What is the recipe for apple tarte tatin with caramel?", 5, api_name="/ask")
    assert data["abstained"] and data["citations"] == []
    assert data["text"] == "I did not find the answer in the articles."
    assert data["related"]
    for c in data["related"]:
        assert engine.document(c["doc_id"]).text[c["start"] : c["end"]] == c["quote"]


def test_errors_are_friendly_and_the_server_keeps_running(client):
    with pytest.raises(Exception, match="empty"):
        client.predict("   ", 5, api_name="/ask")
    with pytest.raises(Exception, match="out of range"):
        client.predict("Quel est l'enjeu pour Washington ?", 99, api_name="/ask")
    assert client.predict("Combien de pays participent ?", 5, api_name="/ask")["question"]


def test_bad_api_arguments_are_one_line_messages_and_one_log_line(client, capfd, caplog):
    capfd.readouterr()
    for args, match in [
        (("Et l'Australie ?", 5, 42), "history must be a list"),
        (("Et l'Australie ?", 5, "Que veut l'UE ?"), "not a string"),
        (("Et l'Australie ?", 5, ["Q ?"] * 21), "over the limit of 20"),
        (("Et l'Australie ?", "abc"), "k='abc' is not a whole number"),
        (("Et l'Australie ?", 0), "k=0 is out of range"),
    ]:
        with pytest.raises(Exception, match=match):
            client.predict(*args, api_name="/ask")
    assert "Traceback" not in capfd.readouterr().err  # a user's mistake is not a fault of the server
    assert sum("/ask refused" in r.getMessage() for r in caplog.records) == 5


def test_concurrent_visitors_get_their_own_answers(url: str):
    questions = [
        "Quel est l'enjeu pour Washington ?",
        "Quel temps fera-t-il à Lyon demain ?",
        "Qui représentera l'Union européenne ?",
        "What is the recipe for apple tarte tatin with caramel?",
    ] * 2

    def ask(question: str) -> dict:
        return gradio_client.Client(url, verbose=False).predict(question, 5, api_name="/ask")

    with ThreadPoolExecutor(len(questions)) as pool:
        answers = list(pool.map(ask, questions))
    assert [a["question"] for a in answers] == questions
    assert answers[1]["citations"][0]["doc_id"] == "meteo.md"
    assert answers[0]["citations"][0]["doc_id"] == SEED_ID


def test_the_api_is_documented_with_its_parameters(client):
    info = client.view_api(print_info=False, return_format="dict")
    assert list(info["named_endpoints"]) == ["/ask"]  # the UI's own events are private
    params = [p["parameter_name"] for p in info["named_endpoints"]["/ask"]["parameters"]]
    assert params == ["question", "k", "history", "since", "until"]


def test_serve_prints_the_address(engine: Engine, capsys, monkeypatch):
    ran = []
    monkeypatch.setattr(gr.Blocks, "block_thread", lambda self: ran.append(self.server_port))
    port = free_port()
    serve(engine, host="127.0.0.1", port=port)
    assert ran == [port]
    assert f"http://127.0.0.1:{port}" in capsys.readouterr().out
    for thread in threading.enumerate():  # the model was warmed up in the background
        if thread.name == "rag-warm-up":
            thread.join(30)
    assert engine.store.lexical.built == (True, True)
    with socket.socket() as s:  # closed again once serving stops
        s.bind(("127.0.0.1", port))


def test_serving_beyond_this_machine_needs_a_login_or_read_only(engine: Engine):
    for host in ("127.0.0.1", "localhost", "::1", "127.0.1.1"):
        check_exposure(host, [], read_only=False)
    with pytest.raises(SettingsError, match=r"--host 0\.0\.0\.0 would let anyone .*\(--auth user:password"):
        check_exposure("0.0.0.0", [], read_only=False)
    with pytest.raises(SettingsError, match="--read-only"):
        serve(engine, host="192.168.1.20", port=free_port())  # refused before anything listens
    check_exposure("0.0.0.0", [("ana", "s3cret")], read_only=False)
    check_exposure("0.0.0.0", [], read_only=True)


def test_a_login_is_asked_when_set(engine: Engine):
    with serving(build_app(engine), auth=[("ana", "s3cret")]) as url:
        with pytest.raises(Exception):  # noqa: B017 - gradio_client raises its own error types
            gradio_client.Client(url, verbose=False)
        client = gradio_client.Client(url, auth=("ana", "s3cret"), verbose=False)
        assert client.predict("Quel est l'enjeu pour Washington ?", 5, api_name="/ask")["citations"]


def test_a_read_only_page_has_no_write_action(engine: Engine):
    import urllib.request

    with serving(build_app(engine, read_only=True)) as url:
        config = urllib.request.urlopen(url + "config").read().decode("utf-8")
        assert "rag-docs" in config and "rag-files" not in config and "rag-remove" not in config
        client = gradio_client.Client(url, verbose=False)
        assert client.predict("Quel est l'enjeu pour Washington ?", 5, api_name="/ask")["citations"]


def test_serve_reports_a_busy_port(engine: Engine):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(RagError, match="choose another --port"):
            serve(engine, host="127.0.0.1", port=s.getsockname()[1])


def test_the_web_app_imports_only_public_rag_names():
    import rag

    for name in ("app.py", "handlers.py", "render.py"):
        source = (Path(__file__).resolve().parent.parent / "ui" / name).read_text(encoding="utf-8")
        imported = [line for line in source.splitlines() if line.startswith(("from rag", "import rag"))]
        for line in imported:
            assert line.startswith("from rag import "), line
            names = line.removeprefix("from rag import ").split("#")[0].split(",")
            assert {n.strip() for n in names} <= set(rag.__all__), line


class TwoSentenceEngine:
    """Just enough of an Engine for ``answer_stream``: a fixed answer citing two sentences."""

    TEXT = "Première phrase <b>citée</b>. Deuxième phrase citée !"

    def __init__(self):
        self.asked = []

    def ask(self, question, k=None, history=(), since=None, until=None):
        self.asked.append((question, k, list(history)))
        cites = tuple(
            Citation(n, "a.txt", "Titre", "", "a.txt", self.TEXT[s:e], s, e, 1.0, "c")
            for n, (s, e) in enumerate([(0, 29), (30, len(self.TEXT))], start=1)
        )
        text = f"{cites[0].quote} [1] {cites[1].quote} [2]"
        return Answer(question, text, cites, (), False, "fr", 0.9, "Avant ? " + question)

    def document(self, doc_id):
        if doc_id != "a.txt":
            raise RagError(f"no document {doc_id!r}")
        return Document("a.txt", "Titre", self.TEXT, "h")


def test_answer_streams_sentence_by_sentence_then_shows_sources(monkeypatch):
    monkeypatch.setattr("ui.handlers.STREAM_DELAY", 0)
    engine = TwoSentenceEngine()
    steps = list(answer_stream(engine, "Et ça ?", 3, ["Avant ?"]))
    assert engine.asked == [("Et ça ?", 3, ["Avant ?"])]
    assert [(s.answer is None, s.done) for s in steps] == [(True, False), (False, False), (False, True)]
    pending, (partial, _, _), (final, data, _) = steps[0].html, steps[1], steps[2]
    assert "Recherche" in pending
    assert "Première phrase &#60;b&#62;citée&#60;/b&#62;." in partial and "&#91;1&#93;" in partial
    assert "Deuxième" not in partial and "rag-sources" not in partial
    assert "Deuxième phrase citée &#33;" in final and "&#91;2&#93;" in final  # "!" escaped
    assert final.count('class="rag-src"') == 1 and final.count("<mark>") == 2  # one card per article
    assert "Avant ? Et ça ?" in final  # the search query used
    assert data["citations"][1]["quote"] == "Deuxième phrase citée !"


def test_answer_stream_raises_the_engines_error(engine: Engine):
    steps = answer_stream(engine, "   ")
    assert next(steps).answer is None
    with pytest.raises(RagError, match="empty"):
        next(steps)


def test_rag_ask_uses_a_server_running_on_the_index(engine: Engine, url: str, capsys, monkeypatch):
    import ui.cli

    index_dir = Path(engine.settings.index_dir)
    monkeypatch.setenv("RAG_MODEL", "hash-128")
    opened = []
    real_open = ui.cli.Engine.open
    monkeypatch.setattr(ui.cli.Engine, "open", lambda *a, **kw: opened.append(1) or real_open(*a, **kw))
    announced = announce(index_dir, url.rstrip("/"), login=False)
    try:
        assert main(["ask", "Quel est l'enjeu pour Washington ?", "--index", str(index_dir), "--json"]) == 0
        answer = Answer.from_dict(json.loads(capsys.readouterr().out))
        assert answer.citations[0].doc_id == SEED_ID and opened == []  # answered by the server
        assert main(["ask", "   ", "--index", str(index_dir)]) == 2  # its error, on one line
        assert "empty" in capsys.readouterr().err
        assert main(["ask", "Quel est l'enjeu pour Washington ?", "--index", str(index_dir), "--local"]) == 0
        assert opened == [1]
    finally:
        announced.unlink()
    # a server that is gone (its pid no longer runs): the question is answered here
    announced.write_text(json.dumps({"pid": 2**22 + 12345, "url": url, "login": False}))
    try:
        assert main(["ask", "Quel est l'enjeu pour Washington ?", "--index", str(index_dir)]) == 0
        assert opened == [1, 1] and "[1]" in capsys.readouterr().out
    finally:
        announced.unlink()


def test_an_answer_round_trips_through_its_json(engine: Engine):
    for question in (
        "Combien de pays participent ?",
        "Quel est l'enjeu pour Washington ?",
        "Recette de tarte ?",
    ):
        answer = engine.ask(question)
        assert Answer.from_dict(json.loads(json.dumps(answer.to_dict()))) == answer


def test_an_oversized_request_is_refused_before_it_is_read(client, url: str):
    import urllib.error
    import urllib.request

    body = json.dumps({"data": ["Et l'Australie ?", 5, ["x" * 2000] * 600], "fn_index": 0}).encode()
    request = urllib.request.Request(
        url + "gradio_api/queue/join", data=body, headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)
    assert error.value.code == 413
    assert (
        f"the request has {len(body)} bytes or more, over the limit of 1048576" in error.value.read().decode()
    )
    # the same body sent in chunks, without a length
    import http.client
    from urllib.parse import urlsplit

    where = urlsplit(url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    headers = {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}
    connection.request("POST", "/gradio_api/queue/join", body=chunks, encode_chunked=True, headers=headers)
    response = connection.getresponse()
    assert response.status == 413 and b"over the limit of 1048576" in response.read()
    connection.close()
    assert client.predict("Quel est l'enjeu pour Washington ?", 5, api_name="/ask")["citations"]


def test_removal_removes_only_the_article_the_confirmation_named(tmp_path: Path):
    from ui.handlers import Handlers

    corpus = write_corpus(tmp_path / "corpus")
    engine = Engine.open(tmp_path / "index", corpus_dir=corpus, embedder=HashEmbedder(128), build=True)
    handlers = Handlers(engine, components=None)  # type: ignore[arg-type]
    row, text, named = handlers.ask_remove("meteo.md")
    assert named == "meteo.md" and "Météo à Lyon — meteo.md" in text
    with pytest.warns(UserWarning, match="a changé depuis la demande de confirmation"):
        handlers.remove_doc(SEED_ID, named)  # the pick changed after the confirmation was asked
    assert {d.id for d in engine.documents()} == {SEED_ID, "meteo.md"}
    handlers.remove_doc("meteo.md", named)
    assert {d.id for d in engine.documents()} == {SEED_ID}


def test_the_api_takes_a_period(client):
    data = client.predict(
        "Quel temps fera-t-il à Lyon demain ?", 5, [], "2026-11-01", "2026-11-30", api_name="/ask"
    )
    assert {h["chunk"]["doc_id"] for h in data["hits"]} == {"meteo.md"}  # the only article dated then
    assert (data["since"], data["until"]) == ("2026-11-01", "2026-11-30")
    with pytest.raises(Exception, match="since='hier' is not a date"):
        client.predict("Quel temps ?", 5, [], "hier", "", api_name="/ask")
