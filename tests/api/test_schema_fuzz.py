"""Schema fuzzing with schemathesis against the served OpenAPI document, with a partner's key:
no 5xx, and no answer that contradicts what the document publishes (status, content type,
headers, body). Bounded: a few dozen generated requests per operation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis import checks as st_checks  # noqa: E402

from tests.conftest import RunningServer, make_user, start_server  # noqa: E402
from tests.dashboard.conftest import db_session  # noqa: E402

EXAMPLES = 50
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_headers_conformance,
    st_checks.response_schema_conformance,
]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, str]]:
    from originlens.store.models import User

    running = start_server(tmp_path_factory.mktemp("schema-fuzz"), video_decode_deadline_s=10.0)
    user, key = make_user(running, balance=1000)
    with db_session(running) as session:
        row = session.get(User, user["id"])
        assert row is not None
        row.is_partner = True  # so the partner routes answer for real, not only 403
    yield running, key
    running.stop()


@pytest.fixture(scope="module")
def api_schema(fuzzed: tuple[RunningServer, str]) -> Any:
    running, _ = fuzzed
    loaded = schemathesis.openapi.from_url(f"{running.base_url}/openapi.json")
    # deleting the fuzzing account itself would leave only 401s to fuzz (tests/api/test_openapi.py covers it)
    return loaded.exclude(method="DELETE", path="/api/user")


def test_the_served_api_keeps_its_published_contract(api_schema: Any, fuzzed: tuple[RunningServer, str]) -> None:
    """Every operation in turn (schemathesis's pytest plugin does not run on this pytest)."""
    running, key = fuzzed
    failures: dict[str, str] = {}
    statuses: dict[int, int] = {}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
            phases=[Phase.explicit, Phase.generate],
        )
        def call(case: Any) -> None:
            response = case.call_and_validate(
                base_url=running.base_url, headers={"X-Api-Key": key}, checks=CHECKS, timeout=30
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

        try:
            call()
        except Exception as exc:  # a check failed: keep going to report every operation
            failures[operation.label] = str(exc)[:1500]
    assert sum(statuses.values()) > 10 * len(operations) and 200 in statuses, statuses
    assert failures == {}, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
