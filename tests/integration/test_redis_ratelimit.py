"""Rate limits shared through Redis hold across API processes: two servers, one limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import RunningServer, make_user, start_server
from tests.support.redis_server import redis_binary, redis_server

pytest.importorskip("redis")
pytestmark = pytest.mark.skipif(redis_binary() is None, reason="redis-server is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, RunningServer]]:
    with redis_server() as url:
        shared_db = tmp_path_factory.mktemp("shared")
        common = {"ratelimit_enabled": True, "ratelimit_url": url, "ratelimit_get": "3/minute"}
        first = start_server(shared_db, **common)
        second = start_server(shared_db, operator_key=first.operator_key, **common)
        try:
            yield first, second
        finally:
            first.stop()
            second.stop()


def test_a_limit_holds_across_two_api_processes(two_servers: tuple[RunningServer, RunningServer]) -> None:
    first, second = two_servers
    _, key = make_user(first)
    codes = []
    for server in (first, second, first, second):
        with server.client(key) as client:
            codes.append(client.get("/api/user/credits").status_code)
    assert codes[:3] == [200, 200, 200]
    assert codes[3] == 429, codes  # the fourth request in a minute, on the other process
