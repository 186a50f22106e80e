"""The sync :class:`Client` and the async :class:`AsyncClient`: the same methods, the same
requests (built by :class:`~originlens.client._base.BaseClient`); only the I/O differs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Literal, TypeVar, overload

import httpx

from originlens.client._base import BaseClient, Call, FileInput, Poller, Upload, media_kind
from originlens.client.errors import TransportError
from originlens.client.models import AudioResult, Credits, ImageResult, Submission, UserProfile, VideoResult

__all__ = ["AsyncClient", "Client"]

T = TypeVar("T")


class Client(BaseClient):
    """A synchronous originlens API client (thread-safe like ``httpx.Client``; close it, or use ``with``).

    ``base_url`` and ``api_key`` default to ``ORIGINLENS_URL`` and ``ORIGINLENS_API_KEY``.
    ``transport`` is handed to ``httpx.Client`` (``httpx.MockTransport``, ``httpx.HTTPTransport(
    retries=..., proxy=...)``, ``httpx.WSGITransport``...). A 429 is retried ``max_retries`` times.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout=timeout, max_retries=max_retries)
        self._http = httpx.Client(transport=transport, **self._client_kwargs())

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _run(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                with call.request_kwargs() as kwargs:
                    response = self._http.request(call.method, call.path, **kwargs)
            except httpx.RequestError as exc:
                raise TransportError(f"{call.method} {call.path}: {exc or type(exc).__name__}") from exc
            delay = self._retry_delay(response, attempt)
            if delay is None:
                return self._finish(call, response)
            attempt += 1
            time.sleep(delay)

    def submit_image(
        self,
        file: FileInput,
        *,
        filename: str | None = None,
        ref_id: str | None = None,
        webhook_url: str | None = None,
        with_heatmap: bool = False,
        with_morphing: bool = False,
        with_tampering: bool = False,
        with_nsfw: bool = False,
        no_cache: bool = False,
        prevent_c2pa_forces: bool = False,
    ) -> Submission:
        """Upload an image (a path, bytes or a binary file object); ``POST /api/classification``."""
        upload = Upload.of("image", file, filename, "image")
        return self._run(
            self._submit_call(
                "/api/classification", upload, ref_id=ref_id, webhook_url=webhook_url, with_heatmap=with_heatmap,
                with_morphing=with_morphing, with_tampering=with_tampering, with_nsfw=with_nsfw,
                no_cache=no_cache, prevent_c2pa_forces=prevent_c2pa_forces,
            )
        )  # fmt: skip

    def submit_image_url(
        self,
        url: str,
        *,
        ref_id: str | None = None,
        webhook_url: str | None = None,
        with_heatmap: bool = False,
        with_morphing: bool = False,
        with_tampering: bool = False,
        with_nsfw: bool = False,
        no_cache: bool = False,
        prevent_c2pa_forces: bool = False,
    ) -> Submission:
        """Have the server fetch an image (``POST /api/image_fromurl``); fetch failures are 422."""
        return self._run(
            self._submit_call(
                "/api/image_fromurl", file_url=url, ref_id=ref_id, webhook_url=webhook_url,
                with_heatmap=with_heatmap, with_morphing=with_morphing, with_tampering=with_tampering,
                with_nsfw=with_nsfw, no_cache=no_cache, prevent_c2pa_forces=prevent_c2pa_forces,
            )
        )  # fmt: skip

    def submit_video(
        self,
        file: FileInput,
        *,
        frames: int = 5,
        key_frames: bool = False,
        key_frames_method: str | None = None,
        filename: str | None = None,
        ref_id: str | None = None,
        webhook_url: str | None = None,
        with_morphing: bool = False,
        with_tampering: bool = False,
        with_nsfw: bool = False,
        no_cache: bool = False,
        prevent_c2pa_forces: bool = False,
    ) -> Submission:
        """Upload a video (``POST /api/classification_video``); ``frames`` is 5, 10 or 30."""
        upload = Upload.of("video", file, filename, "video")
        return self._run(
            self._submit_call(
                "/api/classification_video", upload, frames=frames, key_frames=key_frames,
                key_frames_method=key_frames_method, ref_id=ref_id, webhook_url=webhook_url,
                with_morphing=with_morphing, with_tampering=with_tampering, with_nsfw=with_nsfw,
                no_cache=no_cache, prevent_c2pa_forces=prevent_c2pa_forces,
            )
        )  # fmt: skip

    def submit_video_url(
        self,
        url: str,
        *,
        frames: int = 5,
        key_frames: bool = False,
        key_frames_method: str | None = None,
        ref_id: str | None = None,
        webhook_url: str | None = None,
        with_morphing: bool = False,
        with_tampering: bool = False,
        with_nsfw: bool = False,
        no_cache: bool = False,
        prevent_c2pa_forces: bool = False,
    ) -> Submission:
        """Have the server download a video (``POST /api/video_fromurl``)."""
        return self._run(
            self._submit_call(
                "/api/video_fromurl", file_url=url, frames=frames, key_frames=key_frames,
                key_frames_method=key_frames_method, ref_id=ref_id, webhook_url=webhook_url,
                with_morphing=with_morphing, with_tampering=with_tampering, with_nsfw=with_nsfw,
                no_cache=no_cache, prevent_c2pa_forces=prevent_c2pa_forces,
            )
        )  # fmt: skip

    def submit_audio(
        self,
        file: FileInput,
        *,
        filename: str | None = None,
        ref_id: str | None = None,
        webhook_url: str | None = None,
        no_cache: bool = False,
        prevent_c2pa_forces: bool = False,
    ) -> Submission:
        """Upload a recording (``POST /api/classification_audio``): MP3, WAV, OGG, FLAC, AAC, M4A, MP4..."""
        upload = Upload.of("audio", file, filename, "audio")
        return self._run(
            self._submit_call(
                "/api/classification_audio", upload, ref_id=ref_id, webhook_url=webhook_url, no_cache=no_cache,
                prevent_c2pa_forces=prevent_c2pa_forces,
            )
        )  # fmt: skip

    def submit_audio_url(
        self,
        url: str,
        *,
        ref_id: str | None = None,
        webhook_url: str | None = None,
        no_cache: bool = False,
        prevent_c2pa_forces: bool = False,
    ) -> Submission:
        """Have the server download a recording (``POST /api/audio_fromurl``)."""
        return self._run(
            self._submit_call(
                "/api/audio_fromurl", file_url=url, ref_id=ref_id, webhook_url=webhook_url, no_cache=no_cache,
                prevent_c2pa_forces=prevent_c2pa_forces,
            )
        )  # fmt: skip

    def get(self, identifier: str) -> ImageResult:
        """One image result, pending or not (``GET /api/classification/{identifier}``)."""
        result: ImageResult = self._run(self._get_call(identifier, "image"))
        return result

    def get_video(self, identifier: str) -> VideoResult:
        result: VideoResult = self._run(self._get_call(identifier, "video"))
        return result

    def get_audio(self, identifier: str) -> AudioResult:
        """One recording's result, pending or not (``GET /api/classification_audio/{identifier}``)."""
        result: AudioResult = self._run(self._get_call(identifier, "audio"))
        return result

    def get_many(self, identifiers: Sequence[str]) -> list[ImageResult]:
        """Several image results in the order asked; unknown identifiers are left out."""
        return [item for call in self._get_many_calls(identifiers, "image") for item in self._run(call)]

    def get_many_videos(self, identifiers: Sequence[str]) -> list[VideoResult]:
        return [item for call in self._get_many_calls(identifiers, "video") for item in self._run(call)]

    def get_many_audio(self, identifiers: Sequence[str]) -> list[AudioResult]:
        """Several recordings' results in the order asked; unknown identifiers are left out."""
        return [item for call in self._get_many_calls(identifiers, "audio") for item in self._run(call)]

    def _get_kind(self, identifier: str, video: bool, audio: bool) -> ImageResult | VideoResult | AudioResult:
        if video:
            return self.get_video(identifier)
        return self.get_audio(identifier) if audio else self.get(identifier)

    @overload
    def wait(
        self,
        identifier: str,
        *,
        video: Literal[False] = False,
        audio: Literal[False] = False,
        timeout: float = 300.0,
        poll_interval: float = 0.5,
        max_interval: float = 5.0,
    ) -> ImageResult: ...
    @overload
    def wait(
        self,
        identifier: str,
        *,
        video: Literal[True],
        audio: Literal[False] = False,
        timeout: float = 300.0,
        poll_interval: float = 0.5,
        max_interval: float = 5.0,
    ) -> VideoResult: ...
    @overload
    def wait(
        self,
        identifier: str,
        *,
        video: Literal[False] = False,
        audio: Literal[True],
        timeout: float = 300.0,
        poll_interval: float = 0.5,
        max_interval: float = 5.0,
    ) -> AudioResult: ...
    @overload
    def wait(
        self,
        identifier: str,
        *,
        video: bool = False,
        audio: bool = False,
        timeout: float = 300.0,
        poll_interval: float = 0.5,
        max_interval: float = 5.0,
    ) -> ImageResult | VideoResult | AudioResult: ...
    def wait(
        self,
        identifier: str,
        *,
        video: bool = False,
        audio: bool = False,
        timeout: float = 300.0,
        poll_interval: float = 0.5,
        max_interval: float = 5.0,
    ) -> ImageResult | VideoResult | AudioResult:
        """Poll until the result is no longer pending (``done`` or ``errored``); backs off x1.5
        up to ``max_interval``; raises :class:`WaitTimeoutError` after ``timeout`` seconds.
        ``video=True`` reads a video's result, ``audio=True`` a recording's."""
        media_kind(video=video, audio=audio)  # both at once is refused before any request
        poller = Poller(identifier, timeout, poll_interval, max_interval)
        while True:
            result = self._get_kind(identifier, video, audio)
            if not result.pending:
                return result
            time.sleep(poller.next_sleep(result))

    def override(self, sha256_hash: str, classification: str, *, video: bool = False, audio: bool = False) -> None:
        """Force the verdict of every one of your results with this file hash (yours only);
        ``video=True`` or ``audio=True`` for those kinds of results."""
        self._run(self._override_call(sha256_hash, classification, media_kind(video=video, audio=audio)))

    def heatmap(self, identifier: str) -> bytes:
        """The heatmap overlay (PNG) of a ``with_heatmap`` result; :class:`NotFoundError` without one."""
        return self._run(self._map_call("heatmap", identifier))

    def tampering_map(self, identifier: str) -> bytes:
        """The tampering map (PNG) of a ``with_tampering`` result; :class:`NotFoundError` without one."""
        return self._run(self._map_call("tampering", identifier))

    def credits(self) -> Credits:
        return self._run(self._credits_call())

    def me(self) -> UserProfile:
        """Your profile, including ``webhook_secret`` to verify webhooks with."""
        return self._run(self._me_call())


class AsyncClient(BaseClient):
    """The asyncio twin of :class:`Client`: same arguments, same methods, as coroutines.

    ``transport`` is handed to ``httpx.AsyncClient`` (e.g. ``httpx.ASGITransport(app=...)``).
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout = 30.0,
        max_retries: int = 3,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(base_url, api_key, timeout=timeout, max_retries=max_retries)
        self._http = httpx.AsyncClient(transport=transport, **self._client_kwargs())

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _run(self, call: Call[T]) -> T:
        attempt = 0
        while True:
            try:
                with call.request_kwargs() as kwargs:
                    response = await self._http.request(call.method, call.path, **kwargs)
            except httpx.RequestError as exc:
                raise TransportError(f"{call.method} {call.path}: {exc or type(exc).__name__}") from exc
            delay = self._retry_delay(response, attempt)
            if delay is None:
                return self._finish(call, response)
            attempt += 1
            await asyncio.sleep(delay)

    async def submit_image(
        self,
        file: FileInput,
        *,
        filename: str | None = None,
        ref_id: str | None = None,
        webhook_url: str | None = None,
        with_heatmap: bool = False,
        with_morphing: bool = False,
        with_tampering: bool = False,
        with_nsfw: bool = False,
        no_cache: bool = False,
        prevent_c2pa_forces: bool = False,
    ) -> Submission:
        upload = Upload.of("image", file, filename, "image")
        return await self._run(
            self._submit_call(
                "/api/classification", upload, ref_id=ref_id, webhook_url=webhook_url, with_heatmap=with_heatmap,
                with_morphing=with_morphing, with_tampering=with_tampering, with_nsfw=with_nsfw,
                no_cache=no_cache, prevent_c2pa_forces=prevent_c2pa_forces,
            )
        )  # fmt: skip

    async def submit_image_url(
        self,
        url: str,
        *,
        ref_id: str | None = None,
        webhook_url: str | None = None,
        with_heatmap: bool = False,
        with_morphing: bool = False,
        with_tampering: bool = False,
        with_nsfw: bool = False,
        no_cache: bool = False,
        prevent_c2pa_forces: bool = False,
    ) -> Submission:
        return await self._run(
            self._submit_call(
                "/api/image_fromurl", file_url=url, ref_id=ref_id, webhook_url=webhook_url,
                with_heatmap=with_heatmap, with_morphing=with_morphing, with_tampering=with_tampering,
                with_nsfw=with_nsfw, no_cache=no_cache, prevent_c2pa_forces=prevent_c2pa_forces,
            )
        )  # fmt: skip

    async def submit_video(
        self,
        file: FileInput,
        *,
        frames: int = 5,
        key_frames: bool = False,
        key_frames_method: str | None = None,
        filename: str | None = None,
        ref_id: str | None = None,
        webhook_url: str | None = None,
        with_morphing: bool = False,
        with_tampering: bool = False,
        with_nsfw: bool = False,
        no_cache: bool = False,
        prevent_c2pa_forces: bool = False,
    ) -> Submission:
        upload = Upload.of("video", file, filename, "video")
        return await self._run(
            self._submit_call(
                "/api/classification_video", upload, frames=frames, key_frames=key_frames,
                key_frames_method=key_frames_method, ref_id=ref_id, webhook_url=webhook_url,
                with_morphing=with_morphing, with_tampering=with_tampering, with_nsfw=with_nsfw,
                no_cache=no_cache, prevent_c2pa_forces=prevent_c2pa_forces,
            )
        )  # fmt: skip

    async def submit_video_url(
        self,
        url: str,
        *,
        frames: int = 5,
        key_frames: bool = False,
        key_frames_method: str | None = None,
        ref_id: str | None = None,
        webhook_url: str | None = None,
        with_morphing: bool = False,
        with_tampering: bool = False,
        with_nsfw: bool = False,
        no_cache: bool = False,
        prevent_c2pa_forces: bool = False,
    ) -> Submission:
        return await self._run(
            self._submit_call(
                "/api/video_fromurl", file_url=url, frames=frames, key_frames=key_frames,
                key_frames_method=key_frames_method, ref_id=ref_id, webhook_url=webhook_url,
                with_morphing=with_morphing, with_tampering=with_tampering, with_nsfw=with_nsfw,
                no_cache=no_cache, prevent_c2pa_forces=prevent_c2pa_forces,
            )
        )  # fmt: skip

    async def submit_audio(
        self,
        file: FileInput,
        *,
        filename: str | None = None,
        ref_id: str | None = None,
        webhook_url: str | None = None,
        no_cache: bool = False,
        prevent_c2pa_forces: bool = False,
    ) -> Submission:
        upload = Upload.of("audio", file, filename, "audio")
        return await self._run(
            self._submit_call(
                "/api/classification_audio", upload, ref_id=ref_id, webhook_url=webhook_url, no_cache=no_cache,
                prevent_c2pa_forces=prevent_c2pa_forces,
            )
        )  # fmt: skip

    async def submit_audio_url(
        self,
        url: str,
        *,
        ref_id: str | None = None,
        webhook_url: str | None = None,
        no_cache: bool = False,
        prevent_c2pa_forces: bool = False,
    ) -> Submission:
        return await self._run(
            self._submit_call(
                "/api/audio_fromurl", file_url=url, ref_id=ref_id, webhook_url=webhook_url, no_cache=no_cache,
                prevent_c2pa_forces=prevent_c2pa_forces,
            )
        )  # fmt: skip

    async def get(self, identifier: str) -> ImageResult:
        result: ImageResult = await self._run(self._get_call(identifier, "image"))
        return result

    async def get_video(self, identifier: str) -> VideoResult:
        result: VideoResult = await self._run(self._get_call(identifier, "video"))
        return result

    async def get_audio(self, identifier: str) -> AudioResult:
        result: AudioResult = await self._run(self._get_call(identifier, "audio"))
        return result

    async def get_many(self, identifiers: Sequence[str]) -> list[ImageResult]:
        out: list[ImageResult] = []
        for call in self._get_many_calls(identifiers, "image"):
            out.extend(await self._run(call))
        return out

    async def get_many_videos(self, identifiers: Sequence[str]) -> list[VideoResult]:
        out: list[VideoResult] = []
        for call in self._get_many_calls(identifiers, "video"):
            out.extend(await self._run(call))
        return out

    async def get_many_audio(self, identifiers: Sequence[str]) -> list[AudioResult]:
        out: list[AudioResult] = []
        for call in self._get_many_calls(identifiers, "audio"):
            out.extend(await self._run(call))
        return out

    async def _get_kind(self, identifier: str, video: bool, audio: bool) -> ImageResult | VideoResult | AudioResult:
        if video:
            return await self.get_video(identifier)
        return await (self.get_audio(identifier) if audio else self.get(identifier))

    @overload
    async def wait(
        self,
        identifier: str,
        *,
        video: Literal[False] = False,
        audio: Literal[False] = False,
        timeout: float = 300.0,
        poll_interval: float = 0.5,
        max_interval: float = 5.0,
    ) -> ImageResult: ...
    @overload
    async def wait(
        self,
        identifier: str,
        *,
        video: Literal[True],
        audio: Literal[False] = False,
        timeout: float = 300.0,
        poll_interval: float = 0.5,
        max_interval: float = 5.0,
    ) -> VideoResult: ...
    @overload
    async def wait(
        self,
        identifier: str,
        *,
        video: Literal[False] = False,
        audio: Literal[True],
        timeout: float = 300.0,
        poll_interval: float = 0.5,
        max_interval: float = 5.0,
    ) -> AudioResult: ...
    @overload
    async def wait(
        self,
        identifier: str,
        *,
        video: bool = False,
        audio: bool = False,
        timeout: float = 300.0,
        poll_interval: float = 0.5,
        max_interval: float = 5.0,
    ) -> ImageResult | VideoResult | AudioResult: ...
    async def wait(
        self,
        identifier: str,
        *,
        video: bool = False,
        audio: bool = False,
        timeout: float = 300.0,
        poll_interval: float = 0.5,
        max_interval: float = 5.0,
    ) -> ImageResult | VideoResult | AudioResult:
        media_kind(video=video, audio=audio)
        poller = Poller(identifier, timeout, poll_interval, max_interval)
        while True:
            result = await self._get_kind(identifier, video, audio)
            if not result.pending:
                return result
            await asyncio.sleep(poller.next_sleep(result))

    async def override(
        self, sha256_hash: str, classification: str, *, video: bool = False, audio: bool = False
    ) -> None:
        await self._run(self._override_call(sha256_hash, classification, media_kind(video=video, audio=audio)))

    async def heatmap(self, identifier: str) -> bytes:
        return await self._run(self._map_call("heatmap", identifier))

    async def tampering_map(self, identifier: str) -> bytes:
        return await self._run(self._map_call("tampering", identifier))

    async def credits(self) -> Credits:
        return await self._run(self._credits_call())

    async def me(self) -> UserProfile:
        return await self._run(self._me_call())
