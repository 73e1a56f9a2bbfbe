"""Fetching a web page or feed, bounded: http(s) only, a timeout, a size limit, a few redirects.

Every failure is a :class:`~rag.errors.CorpusError` naming the URL and what went wrong, never a
hang or a page read into memory without end.

>>> fetch("ftp://example.org/a")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
rag.errors.CorpusError: ftp://example.org/a: only http:// and https:// addresses can be fetched...
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import IO, Any

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


class _Redirects(urllib.request.HTTPRedirectHandler):
    max_redirections = MAX_REDIRECTS
    max_repeats = 2


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
    opener = urllib.request.build_opener(_Redirects())
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "*/*"})
    started = time.monotonic()
    try:
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
    except TimeoutError:
        raise CorpusError(f"{url}: no answer within {timeout:g} s (timed out)") from None
    except OSError as exc:
        raise CorpusError(f"{url}: the download failed ({exc})") from None


def _read(response: IO[bytes], url: str, max_bytes: int, started: float, deadline: float) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() - started > deadline:
            raise CorpusError(f"{url}: the download took over {deadline:g} s (a server too slow)")
        part = response.read(_CHUNK)
        if not part:
            return b"".join(parts)
        size += len(part)
        if size > max_bytes:
            raise CorpusError(f"{url}: the page is over the limit of {_mb(max_bytes)} (not read further)")
        parts.append(part)


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"
