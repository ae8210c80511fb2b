"""Every route of the real app, asked by anonymous and by each role in production mode:
allowed exactly when efir.accounts.users.ROLE_PERMISSIONS gives the role the route's
permission. ROUTES below is the specification of which permission each route needs; a
route missing from it (or listed but gone) fails the test, so a new route cannot ship
without a decision about who may call it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount
from support.auth_support import add_user, bearer, production

from api.main import create_app
from efir.accounts.users import ROLE_PERMISSIONS, AccountRole, Permission
from efir.config import Settings

# None: public (health, the login page and the session routes that sign one in, API docs).
ROUTES: dict[tuple[str, str], Permission | None] = {
    ("GET", "/api/v1/clips"): Permission.READ,
    ("POST", "/api/v1/clips"): Permission.UPLOAD,
    ("GET", "/api/v1/clips/{clip_id}"): Permission.READ,
    ("GET", "/api/v1/clips/{clip_id}/media"): Permission.READ,
    ("GET", "/api/v1/clips/{clip_id}/peaks"): Permission.READ,
    ("GET", "/api/v1/clips/suggestions"): Permission.READ,
    ("PATCH", "/api/v1/clips/{clip_id}"): Permission.EDIT,
    ("DELETE", "/api/v1/clips/{clip_id}"): Permission.UPLOAD,
    ("GET", "/api/v1/export-formats"): Permission.EXPORT,
    ("POST", "/api/v1/clips/{clip_id}/cuts"): Permission.EXPORT,
    ("GET", "/api/v1/clips/{clip_id}/cuts"): Permission.EXPORT,
    ("GET", "/api/v1/cuts/{cut_id}"): Permission.EXPORT,
    ("GET", "/api/v1/cuts/{cut_id}/file"): Permission.EXPORT,
    ("GET", "/api/v1/cuts/{cut_id}/subtitles"): Permission.EXPORT,
    ("POST", "/api/v1/selections"): Permission.EXPORT,
    ("GET", "/api/v1/selections"): Permission.EXPORT,
    ("GET", "/api/v1/selections/{selection_id}"): Permission.EXPORT,
    ("DELETE", "/api/v1/selections/{selection_id}"): Permission.EXPORT,
    ("POST", "/api/v1/selections/{selection_id}/quotes"): Permission.EXPORT,
    ("DELETE", "/api/v1/selections/{selection_id}/quotes/{quote_id}"): Permission.EXPORT,
    ("GET", "/api/v1/selections/{selection_id}/export"): Permission.EXPORT,
    ("GET", "/api/v1/programme-glossary"): Permission.READ,
    ("PUT", "/api/v1/programme-glossary"): Permission.EDIT,
    ("POST", "/api/v1/selections/{selection_id}/render"): Permission.EXPORT,
    ("GET", "/api/v1/jobs"): Permission.READ,
    ("GET", "/api/v1/jobs/{job_id}"): Permission.READ,
    ("GET", "/api/v1/jobs/{job_id}/events"): Permission.READ,
    ("POST", "/api/v1/jobs/{job_id}/cancel"): Permission.QUEUE,
    ("POST", "/api/v1/jobs/{job_id}/retry"): Permission.QUEUE,
    ("POST", "/api/v1/jobs/{job_id}/priority"): Permission.QUEUE,
    ("GET", "/api/v1/search"): Permission.SEARCH,
    ("GET", "/api/v1/transcripts/{clip_id}"): Permission.READ,
    ("GET", "/api/v1/transcripts/{clip_id}/revisions"): Permission.READ,
    ("GET", "/api/v1/transcripts/{clip_id}/export"): Permission.EXPORT,
    ("GET", "/api/v1/transcripts/{clip_id}/export/qc"): Permission.EXPORT,
    ("PATCH", "/api/v1/transcripts/{clip_id}"): Permission.EDIT,
    ("POST", "/api/v1/transcripts/{clip_id}/revisions/{revision}/restore"): Permission.EDIT,
    ("POST", "/api/v1/transcripts/{clip_id}/speakers/{speaker_id}/voice"): Permission.EDIT,
    ("GET", "/api/v1/voices"): Permission.READ,
    ("GET", "/api/v1/voices/{voice_id}"): Permission.READ,
    ("PATCH", "/api/v1/voices/{voice_id}"): Permission.VOICES_EDIT,
    ("POST", "/api/v1/voices/{voice_id}/merge"): Permission.VOICES_ADMIN,
    ("POST", "/api/v1/voices/{voice_id}/apply"): Permission.EDIT,
    ("GET", "/api/v1/voices/{voice_id}/clips"): Permission.READ,
    ("DELETE", "/api/v1/voices/{voice_id}/clips/{clip_id}"): Permission.VOICES_ADMIN,
    ("DELETE", "/api/v1/voices/{voice_id}"): Permission.VOICES_ADMIN,
    ("POST", "/api/v1/uploads"): Permission.UPLOAD,
    ("HEAD", "/api/v1/uploads/{upload_id}"): Permission.UPLOAD,
    ("GET", "/api/v1/uploads/{upload_id}"): Permission.UPLOAD,
    ("PATCH", "/api/v1/uploads/{upload_id}"): Permission.UPLOAD,
    ("PUT", "/api/v1/clips/{clip_id}/webhook"): Permission.UPLOAD,
    ("DELETE", "/api/v1/clips/{clip_id}/webhook"): Permission.UPLOAD,
    ("GET", "/api/v1/clips/{clip_id}/webhooks"): Permission.READ,
    ("GET", "/api/v1/webhooks/secret"): Permission.READ,
    ("GET", "/api/v1/users"): Permission.ACCOUNTS,
    ("POST", "/api/v1/users"): Permission.ACCOUNTS,
    ("PATCH", "/api/v1/users/{user_id}"): Permission.ACCOUNTS,
    ("GET", "/api/v1/tokens"): Permission.ACCOUNTS,
    ("POST", "/api/v1/tokens"): Permission.ACCOUNTS,
    ("DELETE", "/api/v1/tokens/{token_id}"): Permission.ACCOUNTS,
    ("POST", "/v1/audio/transcriptions"): Permission.UPLOAD,
    ("GET", "/v1/models"): Permission.READ,
    ("POST", "/asr"): Permission.UPLOAD,
    ("GET", "/metrics"): Permission.METRICS,
    ("GET", "/"): Permission.READ,
    ("GET", "/clips/{clip_id}"): Permission.READ,
    ("GET", "/search"): Permission.READ,
    ("GET", "/speakers"): Permission.READ,
    ("GET", "/library"): Permission.READ,
    ("GET", "/login"): None,
    ("GET", "/api/v1/session"): None,
    ("POST", "/api/v1/session"): None,
    ("DELETE", "/api/v1/session"): None,
    ("GET", "/api/v1/health"): None,
    ("GET", "/api/v1/health/live"): None,
    ("GET", "/openapi.json"): None,
    ("GET", "/docs"): None,
    ("GET", "/docs/oauth2-redirect"): None,
    ("GET", "/redoc"): None,
}
PUBLIC_MOUNTS = {"/static": "/static/app.css"}
_INT_PARAMETERS = {"revision", "user_id", "token_id", "quote_id"}
# Pages send an anonymous browser to the login page rather than answer 401.
_DENIED = {401, 403, 303}


@pytest.fixture
def clients(database_url: str, tmp_path: Path) -> Iterator[dict[str, TestClient]]:
    """A client per principal on one production app: anonymous and one token per role."""
    settings = production(
        Settings(data_dir=tmp_path / "data", database_url=database_url),
        rate_limit_per_minute=1_000_000,
        upload_rate_limit_per_minute=1_000_000,
    )
    suffix = uuid.uuid4().hex[:6]  # the PostgreSQL database is shared by the session
    tokens = {role: add_user(settings, f"{role}-{suffix}", role)[1] for role in AccountRole}
    app = create_app(settings)
    with TestClient(app, follow_redirects=False) as anonymous:
        clients = {"anonymous": anonymous}
        for role, token in tokens.items():
            client = TestClient(app, follow_redirects=False, headers=bearer(token))
            clients[role.value] = client
        yield clients


def _app_routes(app: FastAPI) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    # Flattened: app.routes holds included routers as they were included.
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            assert route.path in PUBLIC_MOUNTS, f"mount {route.path} is not in the matrix"
        else:
            assert route.path is not None
            found.update((method, route.path) for method in route.methods or ())
    # Starlette answers HEAD on every GET route by itself; only explicit HEAD routes count.
    return {
        (method, path)
        for method, path in found
        if method != "HEAD" or ("GET", path) not in found or ("HEAD", path) in ROUTES
    }


def _concrete(path: str) -> str:
    return re.sub(
        r"\{(\w+)\}",
        lambda match: "999999" if match.group(1) in _INT_PARAMETERS else "missing1",
        path,
    )


def test_every_route_is_in_the_matrix(clients: dict[str, TestClient]) -> None:
    app = clients["anonymous"].app
    assert isinstance(app, FastAPI)
    routes = _app_routes(app)
    assert routes - ROUTES.keys() == set(), "routes without a decided permission"
    assert ROUTES.keys() - routes == set(), "matrix rows for routes that no longer exist"


def test_each_principal_is_allowed_exactly_what_its_role_permits(
    clients: dict[str, TestClient],
) -> None:
    mismatches = []
    for (method, path), permission in sorted(ROUTES.items()):
        body = {"json": {}} if method in {"POST", "PATCH", "PUT"} else {}
        for principal, client in clients.items():
            status = client.request(method, _concrete(path), **body).status_code
            if permission is None:
                allowed = True
            elif principal == "anonymous":
                allowed = False
            else:
                allowed = AccountRole(principal) in ROLE_PERMISSIONS[permission]
            if allowed == (status in _DENIED):
                mismatches.append(f"{principal} {method} {path}: {status}, allowed={allowed}")
    assert mismatches == []
    for mount, sample in PUBLIC_MOUNTS.items():
        assert clients["anonymous"].get(sample).status_code == 200, mount


def test_anonymous_gets_401_with_bearer_challenge_and_a_bilingual_reason(
    clients: dict[str, TestClient],
) -> None:
    response = clients["anonymous"].get("/api/v1/clips")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "Sign in or send an API token" in response.json()["detail"]
    assert "Нужен вход" in response.json()["detail"]
    page = clients["anonymous"].get("/search")
    assert (page.status_code, page.headers["Location"]) == (303, "/login?next=/search")
    denied = clients["archivist"].post("/api/v1/clips")
    assert denied.status_code == 403
    assert "archivist" in denied.json()["detail"] and "Роли" in denied.json()["detail"]
