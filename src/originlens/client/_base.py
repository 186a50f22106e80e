"""What the sync and async clients share: configuration, building each request, reading each
answer, mapping errors, the 429 retry policy and the polling schedule. Only I/O differs
between :class:`~originlens.client.Client` and :class:`~originlens.client.AsyncClient`."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from originlens import __version__
from originlens.client.errors import APIError, OriginlensError, WaitTimeoutError, error_for_response, parse_retry_after
from originlens.client.models import AudioResult, Credits, ImageResult, Submission, UserProfile, VideoResult

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

FileInput = str | os.PathLike[str] | bytes | IO[bytes]
"""A path, the bytes themselves, or a binary file object (read from its start)."""

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
MAX_BATCH = 100
"""The server answers at most this many identifiers per batch read; the client splits longer lists."""
MAX_RETRY_AFTER_S = 60.0
"""A 429's ``Retry-After`` is obeyed up to this many seconds per retry."""
DEFAULT_RETRY_AFTER_S = 1.0

MediaKind = Literal["image", "video", "audio"]


@dataclass(frozen=True)
class _Routes:
    """Where one kind of media's results live, and the model they are read as."""

    one: str
    many: str
    override: str
    model: type[BaseModel]


ROUTES: dict[str, _Routes] = {
    "image": _Routes("/api/classification", "/api/classifications", "classification", ImageResult),
    "video": _Routes("/api/classification_video", "/api/classifications_video", "classification_video", VideoResult),
    "audio": _Routes("/api/classification_audio", "/api/classifications_audio", "classification_audio", AudioResult),
}


def media_kind(*, video: bool = False, audio: bool = False) -> MediaKind:
    """The kind named by the ``video=``/``audio=`` flags of ``wait`` and ``override``."""
    if video and audio:
        raise ValueError("a result is a video or an audio recording, not both: pass video=True or audio=True")
    return "video" if video else "audio" if audio else "image"


@dataclass
class Upload:
    """A file to send as one multipart field, re-readable for a retry after a 429."""

    field_name: str
    source: FileInput
    filename: str

    @classmethod
    def of(cls, field_name: str, source: FileInput, filename: str | None, default_name: str) -> Upload:
        """Name the upload (explicit name, else the path's or file object's name); a
        non-seekable stream (a pipe) is read into memory once so that it can be sent again."""
        if isinstance(source, bytes | bytearray | memoryview):
            return cls(field_name, bytes(source), filename or default_name)
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            return cls(field_name, path, filename or path.name)
        own_name = getattr(source, "name", None)  # a pipe's is an int, stdin's "<stdin>"
        if isinstance(own_name, str) and own_name and not own_name.startswith("<"):
            default_name = Path(own_name).name
        name = filename or default_name
        seekable = getattr(source, "seekable", None)
        if not (callable(seekable) and seekable()):
            return cls(field_name, source.read(), name)
        return cls(field_name, source, name)

    @contextmanager
    def opened(self) -> Iterator[dict[str, tuple[str, Any]]]:
        """httpx's ``files=`` for one attempt (a path is opened for that attempt only)."""
        if isinstance(self.source, Path):
            with self.source.open("rb") as handle:
                yield {self.field_name: (self.filename, handle)}
        else:
            yield {self.field_name: (self.filename, self.source)}


@dataclass
class Call(Generic[T]):
    """One API request and how to read its successful answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: list[tuple[str, str]] | None = None
    data: dict[str, str] | None = None
    json: Any = None
    upload: Upload | None = None
    accept: str = "application/json"

    @contextmanager
    def request_kwargs(self) -> Iterator[dict[str, Any]]:
        """The keyword arguments of ``httpx.Client.request`` for one attempt."""
        kwargs: dict[str, Any] = {"headers": {"Accept": self.accept}}
        if self.params is not None:
            kwargs["params"] = self.params
        if self.data is not None:
            kwargs["data"] = self.data
        if self.json is not None:
            kwargs["json"] = self.json
        if self.upload is None:
            yield kwargs
            return
        with self.upload.opened() as files:
            yield {**kwargs, "files": files}


def _form(**values: Any) -> dict[str, str]:
    """Multipart fields as the server reads them: ``true``/``false``; unset and false options left out."""
    form: dict[str, str] = {}
    for name, value in values.items():
        if value is None or value is False:
            continue
        form[name] = "true" if value is True else str(value)
    return form


def _segment(value: str) -> str:
    """A path segment, escaped: an identifier can never reach another endpoint."""
    return quote(str(value), safe="")


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise APIError("the server's answer is not JSON", response=response, body=response.text) from exc


def _model(cls: type[M], key: str | None = None) -> Callable[[httpx.Response], M]:
    """A parser: the JSON body (or its ``key`` member) as ``cls``."""

    def parse(response: httpx.Response) -> M:
        body = _json_body(response)
        try:
            return cls.model_validate(body[key] if key else body)
        except (ValidationError, KeyError, TypeError) as exc:
            raise APIError(f"unexpected answer: {exc}", response=response, body=body) from exc

    return parse


def _models(cls: type[M]) -> Callable[[httpx.Response], list[M]]:
    adapter = TypeAdapter(list[cls])  # type: ignore[valid-type]

    def parse(response: httpx.Response) -> list[M]:
        body = _json_body(response)
        try:
            return list(adapter.validate_python(body))
        except ValidationError as exc:
            raise APIError(f"unexpected answer: {exc}", response=response, body=body) from exc

    return parse


def _none(response: httpx.Response) -> None:
    return None


def _content(response: httpx.Response) -> bytes:
    return response.content


@dataclass
class Poller:
    """The ``wait`` schedule: start at ``poll_interval``, x1.5 per poll up to ``max_interval``,
    never sleeping past the deadline."""

    identifier: str
    timeout: float
    interval: float
    max_interval: float
    deadline: float = field(init=False)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout

    def next_sleep(self, last: Any) -> float:
        """Seconds to sleep before the next poll; raises :class:`WaitTimeoutError` when time is up."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise WaitTimeoutError(self.identifier, self.timeout, last)
        delay = min(self.interval, left)
        self.interval = min(self.interval * 1.5, self.max_interval)
        return delay


class BaseClient:
    """Configuration and request building shared by the sync and async clients."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 3,
    ) -> None:
        self.base_url = (base_url or os.environ.get("ORIGINLENS_URL") or DEFAULT_BASE_URL).rstrip("/")
        key = api_key if api_key is not None else os.environ.get("ORIGINLENS_API_KEY")
        if not key:
            raise OriginlensError("no API key: pass api_key= or set ORIGINLENS_API_KEY")
        self.api_key = key
        self.timeout = timeout
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.max_retries = max_retries

    def _client_kwargs(self) -> dict[str, Any]:
        """What both httpx clients are built with."""
        return {
            "base_url": self.base_url,
            "headers": {"X-Api-Key": self.api_key, "User-Agent": f"originlens-client/{__version__}"},
            "timeout": self.timeout,
        }

    def _retry_delay(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying, or ``None`` to stop. Only 429 is retried: the server
        refused the request before doing anything, so even a POST is safe to send again."""
        if response.status_code != 429 or attempt >= self.max_retries:
            return None
        advised = parse_retry_after(response.headers.get("retry-after"))
        return min(DEFAULT_RETRY_AFTER_S if advised is None else advised, MAX_RETRY_AFTER_S)

    @staticmethod
    def _finish(call: Call[T], response: httpx.Response) -> T:
        """The parsed answer, or the exception for its status."""
        if response.is_success:
            return call.parse(response)
        raise error_for_response(response)

    # --- the requests, built once for both clients -------------------------------------

    @staticmethod
    def _submit_call(path: str, upload: Upload | None = None, **form: Any) -> Call[Submission]:
        """A submit (upload or ``file_url``), answered as JSON thanks to ``Accept``."""
        return Call("POST", path, _model(Submission), data=_form(**form), upload=upload)

    @staticmethod
    def _get_call(identifier: str, kind: MediaKind) -> Call[Any]:
        routes = ROUTES[kind]
        return Call("GET", f"{routes.one}/{_segment(identifier)}", _model(routes.model))

    @staticmethod
    def _get_many_calls(identifiers: Sequence[str], kind: MediaKind) -> list[Call[Any]]:
        if isinstance(identifiers, str):
            raise TypeError("identifiers must be a list of strings, not one string")
        routes = ROUTES[kind]
        parse = _models(routes.model)
        ids = list(identifiers)
        return [
            Call("GET", routes.many, parse, params=[("identifiers[]", i) for i in ids[start : start + MAX_BATCH]])
            for start in range(0, len(ids), MAX_BATCH)
        ]

    @staticmethod
    def _override_call(sha256_hash: str, classification: str, kind: MediaKind) -> Call[None]:
        return Call(
            "POST",
            f"/api/{ROUTES[kind].override}/{_segment(sha256_hash)}/override",
            _none,
            json={"classification": classification},
        )

    @staticmethod
    def _map_call(kind: str, identifier: str) -> Call[bytes]:
        return Call("GET", f"/api/classification/{kind}/{_segment(identifier)}", _content, accept="image/png")

    @staticmethod
    def _credits_call() -> Call[Credits]:
        return Call("GET", "/api/user/credits", _model(Credits))

    @staticmethod
    def _me_call() -> Call[UserProfile]:
        return Call("GET", "/api/user", _model(UserProfile, "data"))
