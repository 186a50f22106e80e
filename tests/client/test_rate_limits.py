"""429 Too Many Attempts: the client waits ``Retry-After`` and sends again, up to ``max_retries``."""

from __future__ import annotations

import os
from collections.abc import Callable

import httpx
import pytest

from originlens.client import Client, RateLimitError
from originlens.client._base import MAX_RETRY_AFTER_S, BaseClient
from tests.conftest import RunningServer, image_bytes, make_user


class RecordingTransport(httpx.HTTPTransport):
    """A real HTTP transport that notes every status it receives: the injectable ``transport=``
    is how a user would add logging or metrics too."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.seen.append((request.method, response.status_code))
        return response


def test_a_429_is_waited_out_and_retried_then_reported(server_factory: Callable[..., RunningServer]) -> None:
    limited = server_factory(ratelimit_enabled=True, ratelimit_post="1/second", ratelimit_get="50/second")
    _, key = make_user(limited)
    transport = RecordingTransport()
    with Client(base_url=limited.base_url, api_key=key, transport=transport, max_retries=3) as client:
        first = client.submit_image(image_bytes(seed=31))
        # inside the same second: refused, then retried; from a pipe, which cannot be rewound
        reader, writer = os.pipe()
        os.write(writer, image_bytes(seed=32))
        os.close(writer)
        with open(reader, "rb") as pipe:
            assert not pipe.seekable()
            second = client.submit_image(pipe)  # named "image": a pipe has no file name
        piped = client.wait(second.identifier, timeout=30)
        assert piped.done and piped.name == "image"  # the whole image arrived, on the retry too
    assert first.identifier != second.identifier
    posts = [status for method, status in transport.seen if method == "POST"]
    assert posts[-2:] == [429, 200]  # the piped submit: refused within the second, then accepted

    impatient = Client(base_url=limited.base_url, api_key=key, max_retries=0)
    with impatient, pytest.raises(RateLimitError) as caught:
        for seed in (34, 35):  # two POSTs in one second: the second is over the limit
            impatient.submit_image(image_bytes(seed=seed))
    assert caught.value.status_code == 429 and caught.value.message == "Too Many Attempts."
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 60


def _response(status: int, retry_after: str | None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(status, headers=headers, request=httpx.Request("GET", "http://x/"))


def test_the_retry_schedule_obeys_caps_and_only_retries_429() -> None:
    base = BaseClient("http://x", "k", max_retries=2)
    assert base._retry_delay(_response(429, "2"), attempt=0) == 2.0
    assert base._retry_delay(_response(429, "3600"), attempt=0) == MAX_RETRY_AFTER_S
    assert base._retry_delay(_response(429, "Wed, 21 Oct 2015 07:28:00 GMT"), attempt=0) == 0.0  # a past date
    assert base._retry_delay(_response(429, None), attempt=1) == 1.0
    assert base._retry_delay(_response(429, "1"), attempt=2) is None  # retries used up
    assert base._retry_delay(_response(503, "1"), attempt=0) is None  # other statuses never retried
