"""Concurrent clients and busy workers: every accepted submission is answered and finished."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.conftest import RunningServer, image_bytes, make_user, submit, wait_done


def test_concurrent_submissions_all_succeed_and_finish(server: RunningServer) -> None:
    users = [make_user(server)[1] for _ in range(4)]

    def client_session(index: int) -> list[str]:
        key = users[index % len(users)]
        with server.client(key) as client:
            ids = [submit(client, image_bytes(seed=1000 + index * 100 + n)) for n in range(8)]
            # resubmitting the same bytes exercises cache lookups racing the workers' commits
            ids += [submit(client, image_bytes(seed=1000 + index * 100)) for _ in range(2)]
            return ids

    with ThreadPoolExecutor(8) as pool:
        batches = list(pool.map(client_session, range(8)))
    for index, ids in enumerate(batches):
        with server.client(users[index % len(users)]) as client:
            for identifier in ids:
                assert wait_done(client, identifier)["status"] == "done"
