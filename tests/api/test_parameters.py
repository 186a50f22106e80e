"""Integer parameters: out-of-range values are a 422 naming the field, never a database error."""

from __future__ import annotations

from typing import Any, get_args

import pytest
from fastapi.routing import APIRoute

from originlens.api.app import create_app
from originlens.settings import Settings
from tests.conftest import RunningServer, make_user

HUGE = "99999999999999999999"


def _is_int(annotation: Any) -> bool:
    return annotation is int or int in get_args(annotation)


def _fields(dependant: Any) -> list[Any]:
    """Every parameter of a route and of its dependencies, recursively."""
    own = [*dependant.query_params, *dependant.path_params, *dependant.body_params, *dependant.header_params]
    return own + [f for sub in dependant.dependencies for f in _fields(sub)]


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every route, including those of included routers (FastAPI keeps them apart)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
    return found


def _bounds(field: Any) -> tuple[bool, bool]:
    names = {type(m).__name__ for m in field.field_info.metadata}
    return bool(names & {"Ge", "Gt"}), bool(names & {"Le", "Lt"})


def test_every_integer_parameter_of_every_route_is_bounded(tmp_path: Any) -> None:
    """Covers the API and the dashboard, in or out of the OpenAPI document."""
    app = create_app(Settings(data_dir=tmp_path))
    unbounded = []
    routes = _api_routes(app.routes)
    assert len(routes) > 40
    for route in routes:
        for field in _fields(route.dependant):
            if _is_int(field.field_info.annotation) and _bounds(field) != (True, True):
                unbounded.append(f"{route.path} {field.name}")
    assert unbounded == []


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("GET", f"/api/classifications?page={HUGE}", "page"),
        ("GET", f"/api/classifications_video?page={HUGE}", "page"),
        ("GET", f"/api/classifications_audio?per_page={HUGE}", "per_page"),
        ("GET", f"/api/classifications?per_page={HUGE}", "per_page"),
        ("GET", f"/api/partner/users?page={HUGE}", "page"),
        ("GET", f"/api/partner/users?pricing_id={HUGE}", "pricing_id"),
        ("DELETE", f"/api/user?id={HUGE}", "id"),
    ],
)
def test_huge_query_integers_are_422_naming_the_field(
    server: RunningServer, method: str, path: str, field: str
) -> None:
    with server.client(server.operator_key) as client:
        response = client.request(method, path)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]


@pytest.mark.parametrize(
    ("path", "form", "field"),
    [
        ("/api/partner/user", {"name": "A", "email": "a@example.org", "heuristic": "Average", "id": HUGE}, "id"),
        (
            "/api/partner/user",
            {"name": "A", "email": "a@example.org", "heuristic": "Average", "pricing_id": HUGE},
            "pricing_id",
        ),
        ("/api/user", {"name": "A", "email": "b@example.org", "pricing_id": HUGE}, "pricing_id"),
        ("/api/user", {"name": "A", "email": "c@example.org", "balance": "inf"}, "balance"),
        ("/api/partner/send_creation_email", {"id": HUGE}, "id"),
    ],
)
def test_huge_form_integers_are_422_naming_the_field(
    server: RunningServer, path: str, form: dict[str, str], field: str
) -> None:
    with server.client(server.operator_key) as client:
        response = client.post(path, data=form)
    assert response.status_code == 422, response.text
    assert field in response.json()["errors"]


def test_an_ordinary_page_still_lists(server: RunningServer) -> None:
    _, key = make_user(server)
    with server.client(key) as client:
        response = client.get("/api/classifications?page=3&per_page=5")
    assert response.status_code == 200
    assert response.json()["current_page"] == 3
