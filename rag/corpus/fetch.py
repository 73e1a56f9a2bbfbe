"""Fetching a web page or feed, bounded: http(s) only (redirects too), a timeout, a size limit, a
few redirects, and never a link-local address (a cloud's metadata service: 169.254.169.254).

Every failure is a :class:`~rag.errors.CorpusError` naming the URL and what went wrong, never a
hang or a page read into memory without end. Loopback and private addresses are fetched: a feed
on the intranet is a fair source (the web page asks for a login when it is exposed).

>>> fetch("ftp://example.org/a")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
rag.errors.CorpusError: ftp://example.org/a: only http:// and https:// addresses can be fetched...
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any

from ..errors import CorpusError

TIMEOUT_S = 15.0  # for the connection and for each read; a whole page gets DEADLINE_S
DEADLINE_S = 60.0
MAX_BYTES = 10_000_000  # a news page or feed is far smaller; a bigger one is refused, not read
MAX_REDIRECTS = 5
USER_AGENT = "rag (a news reader; +https://pypi.org/project/rag)"
_CHUNK = 65_536


@dataclass(frozen=True)
class Fetched:
    """What a URL gave: the final ``url`` (after redirects), its ``content_type`` and ``body``."""

    url: str
    content_type: str
    body: bytes

    def text(self) -> str:
        """The body decoded with the charset the server named (UTF-8 when it named none)."""
        charset = "utf-8"
        if "charset=" in self.content_type:
            charset = self.content_type.split("charset=", 1)[1].split(";")[0].strip().strip("\"'") or charset
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


class _Refused(Exception):
    """A redirect to an address this module does not fetch."""


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS
    max_repeats = 2

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        _check_address(urllib.parse.urljoin(req.full_url, newurl))
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _check_address(url: str) -> None:
    """Refuse a scheme other than http(s), and a host that resolves to a link-local address."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise _Refused(f"a redirect to {url[:200]!r}: only http:// and https:// addresses are fetched")
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return  # (the request itself then says the host cannot be reached)
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if address.is_link_local or address.is_multicast or address.is_unspecified:
            raise _Refused(f"{host} is a link-local or reserved address ({address}): not fetched")


def _encoded(url: str) -> str:
    """The URL with a non-ASCII host in IDNA and other characters percent-encoded."""
    parts = urllib.parse.urlsplit(url.strip())
    host = parts.hostname or ""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    netloc = host if not parts.port else f"{host}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    safe = "/%:@!$&'()*+,;=-._~"
    return urllib.parse.urlunsplit(
        (parts.scheme, netloc, urllib.parse.quote(parts.path, safe=safe),
         urllib.parse.quote(parts.query, safe=safe + "?"), "")
    )  # fmt: skip


def fetch(
    url: str, timeout: float | None = None, max_bytes: int | None = None, deadline: float | None = None
) -> Fetched:
    """GET ``url`` (default limits: :data:`TIMEOUT_S`, :data:`MAX_BYTES`, :data:`DEADLINE_S`)."""
    timeout = TIMEOUT_S if timeout is None else timeout
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    deadline = DEADLINE_S if deadline is None else deadline
    if not url.lower().startswith(("http://", "https://")):
        raise CorpusError(
            f"{url}: only http:// and https:// addresses can be fetched (give a file path for a file)"
        )
    opener = urllib.request.OpenerDirector()  # http and https only: no ftp, no file, no data handler
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        _Redirects(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    started = time.monotonic()
    try:
        target = _encoded(url)
        _check_address(target)
        request = urllib.request.Request(target, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
        with opener.open(request, timeout=timeout) as response:
            headers: Message = response.headers
            length = headers.get("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise CorpusError(
                    f"{url}: the page is {_mb(int(length))}, over the limit of {_mb(max_bytes)}"
                )
            body = _read(response, url, max_bytes, started, deadline)
            return Fetched(response.geturl(), headers.get("Content-Type", ""), body)
    except urllib.error.HTTPError as exc:
        if exc.code in (301, 302, 303, 307, 308):
            raise CorpusError(
                f"{url}: redirected more than {MAX_REDIRECTS} times (a redirect loop?)"
            ) from None
        raise CorpusError(f"{url}: the server answered {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        reason: Any = exc.reason
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            raise CorpusError(f"{url}: no answer within {timeout:g} s (timed out)") from None
        raise CorpusError(f"{url}: cannot be reached ({reason})") from None
    except _Refused as exc:
        raise CorpusError(f"{url}: {exc}") from None
    except TimeoutError:
        raise CorpusError(f"{url}: no answer within {timeout:g} s (timed out)") from None
    except (OSError, http.client.HTTPException) as exc:
        raise CorpusError(f"{url}: the download failed ({type(exc).__name__}: {exc})") from None
    except (ValueError, UnicodeError) as exc:
        raise CorpusError(f"{url}: not a usable address ({exc})") from None


def _read(response: Any, url: str, max_bytes: int, started: float, deadline: float) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() - started > deadline:
            raise CorpusError(f"{url}: the download took over {deadline:g} s (a server too slow)")
        part = response.read1(_CHUNK)  # (what has arrived: a trickling server meets the deadline)
        if not part:
            return b"".join(parts)
        size += len(part)
        if size > max_bytes:
            raise CorpusError(f"{url}: the page is over the limit of {_mb(max_bytes)} (not read further)")
        parts.append(part)


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"
