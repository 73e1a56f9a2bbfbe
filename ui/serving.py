"""Serving the web chat: the request limit, the login rule beyond this machine, ``launch_app`` and
``serve`` (used by ``rag serve``: prints the address and blocks), and the file that tells ``rag ask``
a server is running on the index.

``launch_app(app, …)`` starts a :func:`ui.app.build_app` page with its CSS, upload and request
limits (tests use it with ``prevent_thread_lock=True``).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from rag import Engine, RagError, SettingsError

from .app import build_app
from .assets import CSS

log = logging.getLogger(__name__)

SERVING = ".serving.json"  # beside the index: which process serves it, and where


MAX_REQUEST_BYTES = 1024 * 1024  # a question and 20 history items of 2,000 characters fit many times


class RequestLimit:
    """ASGI middleware: a request body over :data:`MAX_REQUEST_BYTES` (file uploads aside, which
    have their own limit) is answered 413 with a one-line message. Its bytes are read and dropped as
    they come (never kept or parsed), so that the client gets the answer rather than a broken pipe;
    a body sent without a length (chunked) is read up to the limit before the app sees it."""

    def __init__(self, app: Any, limit: int = MAX_REQUEST_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("path", "").endswith("/upload"):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length")
        if length is not None and length.isdigit():
            if int(length) <= self.limit:
                await self.app(scope, receive, send)
            else:
                await self._refuse(scope, receive, send, int(length), more=True)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size, more = size + len(chunks[-1]), bool(message.get("more_body"))
            if size > self.limit:
                await self._refuse(scope, receive, send, size, more)
                return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Any, receive: Any, send: Any, size: int, more: bool) -> None:
        log.warning("request refused: %d bytes to %s, over %d", size, scope.get("path"), self.limit)
        while more:  # drain what the client still sends, a chunk at a time
            message = await receive()
            more = message["type"] == "http.request" and bool(message.get("more_body"))
        body = (
            f'{{"error": "the request has {size} bytes or more, over the limit of {self.limit}: send a '
            f'shorter question or history"}}'
        ).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def launch_app(app: gr.Blocks, host: str = "127.0.0.1", port: int | None = 7860, **kwargs: Any) -> Any:
    """Start ``app`` with the page's CSS, upload and request limits; other ``kwargs`` go to
    ``Blocks.launch``."""
    from starlette.middleware import Middleware

    options: dict[str, Any] = {
        "server_name": host,
        "server_port": port,
        "css": CSS,
        "max_file_size": 4 * Engine.MAX_UPLOAD_BYTES,  # bigger files are cut off by Gradio itself
        "show_error": True,
        "app_kwargs": {"middleware": [Middleware(RequestLimit)]},
    }
    options.update(kwargs)
    return app.launch(**options)


def _warm_up(engine: Engine) -> None:
    try:
        engine.warm_up()
    except Exception:  # a broken model shows up, with its message, on the first question instead
        log.warning("warming up the engine failed", exc_info=True)


LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def check_exposure(host: str, logins: Sequence[tuple[str, str]], read_only: bool) -> None:
    """Refuse to serve the page's write actions (upload, removal) beyond this machine without a
    login: a :class:`SettingsError` saying how to set one, or to serve read-only."""
    if host in LOCAL_HOSTS or host.startswith("127.") or logins or read_only:
        return
    raise SettingsError(
        f"--host {host} would let anyone who can reach this machine upload and remove articles: set a "
        "login (--auth user:password, --auth-file FILE, or RAG_AUTH / RAG_AUTH_FILE), or serve without "
        "the write actions (--read-only)"
    )


def serve(
    engine: Engine,
    host: str = "127.0.0.1",
    port: int = 7860,
    logins: Sequence[tuple[str, str]] = (),
    read_only: bool = False,
) -> None:
    """Serve the web chat until interrupted: prints the address, then blocks. ``logins``: the
    (user, password) pairs the page asks for (none: no login); see :func:`check_exposure`."""
    check_exposure(host, logins, read_only)
    app = build_app(engine, read_only=read_only)
    try:
        launch_app(app, host=host, port=port, prevent_thread_lock=True, quiet=True, auth=list(logins) or None)
    except OSError as exc:
        raise RagError(f"cannot serve on {host}:{port} ({exc}): choose another --port") from None
    url = f"http://{host}:{app.server_port or port}"
    print(f"rag web chat: {url}  (Ctrl-C to stop)", flush=True)
    # The page is up; the model loads now instead of during the first question (3.5 s on 2 cores).
    threading.Thread(target=_warm_up, args=(engine,), name="rag-warm-up", daemon=True).start()
    announced = announce(engine.settings.index_dir, url, bool(logins))
    try:
        app.block_thread()
    finally:
        announced.unlink(missing_ok=True)
        app.close()


def announce(index_dir: Path, url: str, login: bool) -> Path:
    """Say, beside the index, that this process serves it at ``url``: ``rag ask`` then asks it
    instead of loading the model itself (see ``ui.cli.served_answer``). Returns the file written."""
    path = Path(index_dir) / SERVING
    row = {"pid": os.getpid(), "url": url.replace("0.0.0.0", "127.0.0.1"), "login": login}
    tmp = path.with_name(f"{SERVING}.{os.getpid()}")
    tmp.write_text(json.dumps(row), encoding="utf-8")
    os.replace(tmp, path)
    return path
