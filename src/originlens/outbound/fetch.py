"""Download a media file from a client-supplied URL, safely.

Every connection goes through :func:`originlens.outbound.guard.guarded_client`, so private
and local addresses are refused at connect time (DNS rebinding included). On top of that:

* only http and https, for the first URL and for every redirect target;
* redirects are followed by hand, at most ``max_redirects`` of them;
* the size is capped: refused from ``Content-Length`` up front, and counted while streaming;
* one overall deadline (``timeout_s``) bounds resolution, connects, redirects and the body;
* the bytes are returned as sent (``Accept-Encoding: identity`` is asked for; a gzip or
  deflate body sent anyway is inflated under the same size cap). Nothing is sniffed here.

Error messages are written for the client that gave the URL. This module imports nothing
else from originlens.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from originlens.outbound.guard import (
    AddressPolicy,
    InvalidURLError,
    OutboundError,
    guarded_client,
    validate_url,
)

__all__ = [
    "FetchError",
    "FetchTimeoutError",
    "FetchedMedia",
    "RemoteStatusError",
    "TooLargeError",
    "TooManyRedirectsError",
    "fetch_media",
]

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_FALLBACK_NAME = "remote-file"


class FetchError(OutboundError):
    """The file could not be downloaded (connection failure, protocol error, ...)."""


class FetchTimeoutError(FetchError):
    """The server was too slow: a connect or read time-out, or the overall deadline."""


class TooManyRedirectsError(FetchError):
    """More redirects than allowed."""


class TooLargeError(FetchError):
    """The file is larger than ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        super().__init__(f"the file is larger than the {_human_size(max_bytes)} limit")


class RemoteStatusError(FetchError):
    """The server answered with a status other than 2xx (or a redirect without a Location)."""

    def __init__(self, status_code: int, reason: str = "") -> None:
        self.status_code = status_code
        shown = f"{status_code} {reason}".strip()
        super().__init__(f"the server answered HTTP {shown} instead of the file")


@dataclass
class FetchedMedia:
    data: bytes
    final_url: str
    """The URL the bytes came from, after redirects."""
    filename: str
    """From Content-Disposition, else the last segment of the final URL's path, else "remote-file"."""
    content_type: str | None
    """The media type the server declared (lower case, without parameters), if any."""
    consumed: Any = None
    """What ``consume`` returned, when the body was streamed to it instead of read into ``data``."""


def _human_size(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} byte" if n == 1 else f"{n} bytes"


def fetch_media(
    url: str,
    *,
    policy: AddressPolicy,
    max_bytes: int,
    timeout_s: float = 20.0,
    max_redirects: int = 3,
    user_agent: str = "originlens",
    consume: Callable[[Iterator[bytes]], Any] | None = None,
) -> FetchedMedia:
    """Download ``url`` and return its bytes; raise an :class:`OutboundError` subclass if refused.

    Raises :class:`InvalidURLError` (not http/https, also for a redirect target),
    :class:`~originlens.outbound.guard.BlockedAddressError` (private or local address),
    :class:`TooManyRedirectsError`, :class:`TooLargeError`, :class:`RemoteStatusError`,
    :class:`FetchTimeoutError` (``timeout_s`` is the deadline for the whole download) and
    :class:`FetchError` (connection and protocol failures).

    With ``consume``, the body is never held in memory: the size-capped chunks are handed to
    ``consume`` as they arrive (e.g. to stream a video into the blob store) and ``data`` is empty.
    """
    current = validate_url(url)
    headers = {"User-Agent": user_agent, "Accept": "*/*", "Accept-Encoding": "identity"}
    redirects = 0
    try:
        with guarded_client(policy, timeout=timeout_s, deadline_s=timeout_s, headers=headers) as client:
            while True:
                with client.stream("GET", current) as response:
                    if response.status_code in _REDIRECTS:
                        location = response.headers.get("location")
                        if not location:
                            raise RemoteStatusError(response.status_code, "redirect without a Location")
                        redirects += 1
                        if redirects > max_redirects:
                            raise TooManyRedirectsError(f"the URL redirected more than {max_redirects} times")
                        current = _redirect_target(response.url, location)
                        continue
                    if not 200 <= response.status_code < 300:
                        raise RemoteStatusError(response.status_code, response.reason_phrase)
                    _check_declared_length(response, max_bytes)
                    consumed = None
                    if consume is not None:
                        data, consumed = b"", consume(_capped_chunks(response, max_bytes))
                    else:
                        data = _read_capped(response, max_bytes)
                    return FetchedMedia(
                        data=data,
                        final_url=str(response.url),
                        filename=_filename(response),
                        content_type=_content_type(response),
                        consumed=consumed,
                    )
    except OutboundError:
        raise
    except httpx.TimeoutException as exc:
        raise FetchTimeoutError(f"the server did not deliver the file within {timeout_s:g} seconds") from exc
    except httpx.UnsupportedProtocol as exc:
        raise InvalidURLError(f"only http and https URLs are accepted ({exc})") from exc
    except httpx.InvalidURL as exc:
        raise InvalidURLError(f"the URL is malformed ({exc})") from exc
    except httpx.ConnectError as exc:
        raise FetchError(f"could not connect to the server ({_reason(exc)})") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"the download failed ({_reason(exc)})") from exc


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


def _redirect_target(base: httpx.URL, location: str) -> str:
    try:
        target = str(base.join(location.strip()))
    except (httpx.InvalidURL, ValueError) as exc:
        raise InvalidURLError(f"the URL redirected to a malformed URL ({exc})") from exc
    try:
        return validate_url(target)
    except InvalidURLError as exc:
        raise InvalidURLError(f"the URL redirected to {target[:200]!r}, which is refused: {exc}") from exc


def _check_declared_length(response: httpx.Response, max_bytes: int) -> None:
    declared = response.headers.get("content-length")
    if declared is None or response.headers.get("content-encoding", "identity").lower() != "identity":
        return
    try:
        length = int(declared.strip())
    except ValueError:
        return
    if length > max_bytes:
        raise TooLargeError(max_bytes)


def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    return b"".join(_capped_chunks(response, max_bytes))


def _capped_chunks(response: httpx.Response, max_bytes: int) -> Iterator[bytes]:
    total = 0
    for chunk in _decoded(response, max_bytes):
        total += len(chunk)
        if total > max_bytes:
            raise TooLargeError(max_bytes)  # leaving the stream closes the connection
        yield chunk


def _decoded(response: httpx.Response, max_bytes: int) -> Iterator[bytes]:
    """The body as sent, or inflated (bounded) when gzip/deflate was sent despite ``identity``."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        yield from response.iter_raw()
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise FetchError(f"the server sent the file with an unsupported Content-Encoding ({encoding[:40]})")
    decoder: zlib._Decompress | None = None
    produced = 0
    for chunk in response.iter_raw():
        if decoder is None:
            raw_deflate = encoding == "deflate" and not _looks_like_zlib(chunk)
            decoder = zlib.decompressobj(-zlib.MAX_WBITS if raw_deflate else zlib.MAX_WBITS | 32)
        try:
            # At most one byte more than allowed, so that a small compressed chunk cannot
            # inflate into something huge in memory.
            out = decoder.decompress(chunk, max_bytes - produced + 1)
        except zlib.error as exc:
            raise FetchError(f"the file's {encoding} encoding is corrupt") from exc
        produced += len(out)
        yield out
        if produced > max_bytes:
            return
    if decoder is not None:
        yield decoder.flush()


def _looks_like_zlib(chunk: bytes) -> bool:
    return len(chunk) >= 2 and chunk[0] & 0x0F == 8 and (chunk[0] << 8 | chunk[1]) % 31 == 0


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")


def _clean_name(name: str | None) -> str | None:
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("", name).strip().strip(".")
    return name[:255] or None


def _filename(response: httpx.Response) -> str:
    disposition = response.headers.get("content-disposition")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        name = _clean_name(message.get_filename())
        if name:
            return name
    path = urlsplit(str(response.url)).path
    return _clean_name(unquote(path.rsplit("/", 1)[-1])) or _FALLBACK_NAME


def _content_type(response: httpx.Response) -> str | None:
    value = response.headers.get("content-type")
    if not value:
        return None
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type or None
