"""Accounts and limits against the real app under uvicorn: hashed tokens and passwords,
sign-in with cookie flags, expiry and logout, the CSRF origin check, the login lockout,
rate and body limits, who uploaded a clip, and the refusals to start unsafely."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from support.auth_support import PASSWORD, add_user, bearer, production
from support.service_support import (
    REPO_ROOT,
    SettingsFactory,
    cut_seed,
    running_api,
    session_factory,
    settings_environment,
)

from api.main import create_app
from efir.accounts.users import (
    AccountError,
    AccountRole,
    get_user,
    update_user,
    verify_password,
)
from efir.config import Settings
from efir.db import ApiToken, Clip
from efir.startup_checks import ServeRefusedError


@pytest.fixture
def prod(make_settings: SettingsFactory, redis_url: str, queue_name: str) -> Settings:
    """Production settings on the test's SQLite database, with an admin already there."""
    settings = production(make_settings(redis_url=redis_url, queue_name=queue_name))
    add_user(settings, "chief", AccountRole.ADMIN)
    return settings


def _serve(settings: Settings) -> Iterator[httpx.Client]:
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


@pytest.fixture
def live(prod: Settings) -> Iterator[httpx.Client]:
    yield from _serve(prod)


def _sign_in(client: httpx.Client, username: str = "chief") -> httpx.Response:
    return client.post("/api/v1/session", json={"username": username, "password": PASSWORD})


def _origin(client: httpx.Client) -> dict[str, str]:
    return {"Origin": str(client.base_url).rstrip("/")}


def test_tokens_are_stored_only_as_their_sha256_and_stop_when_revoked(
    database_url: str, tmp_path: Path
) -> None:
    settings = production(Settings(data_dir=tmp_path / "data", database_url=database_url))
    name = f"archive-{uuid.uuid4().hex[:6]}"
    user_id, token = add_user(settings, name, AccountRole.ARCHIVIST)
    sessions = session_factory(settings.sqlalchemy_url)
    with sessions() as session:
        stored = session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)).one()
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        # The token's text is in no column of any row of the table.
        rows = session.execute(text("SELECT * FROM api_tokens")).all()
        assert all(token not in str(value) for row in rows for value in row)
    admin_token = add_user(settings, f"ops-{name}", AccountRole.ADMIN)[1]
    with running_api(settings) as base_url, httpx.Client(base_url=base_url) as client:
        assert client.get("/api/v1/clips", headers=bearer(token)).status_code == 200
        with sessions() as session:
            used = session.get(ApiToken, stored.id)
            assert used is not None and used.last_used_at is not None
        listed = client.get("/api/v1/tokens", headers=bearer(admin_token)).json()
        assert all("token" not in row for row in listed)
        answer = client.delete(f"/api/v1/tokens/{stored.id}", headers=bearer(admin_token))
        assert answer.status_code == 200 and answer.json()["revoked_at"]
        refused = client.get("/api/v1/clips", headers=bearer(token))
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert client.get("/api/v1/clips", headers=bearer(token + "x")).status_code == 401
        assert (
            client.get("/api/v1/clips", headers={"Authorization": "Basic eDp5"}).status_code == 401
        )


def test_passwords_are_argon2id_hashes(prod: Settings) -> None:
    with session_factory(prod.sqlalchemy_url)() as session:
        user = get_user(session=session, username="chief")
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        assert verify_password(user.password_hash, PASSWORD)
        assert not verify_password(user.password_hash, PASSWORD + "!")


def test_admin_creates_a_token_shown_once_and_no_wider_than_its_owner(live: httpx.Client) -> None:
    assert _sign_in(live).status_code == 200
    made = live.post(
        "/api/v1/users",
        json={"username": "Арина", "password": PASSWORD, "role": "archivist"},
        headers=_origin(live),
    )
    assert made.status_code == 201 and made.json()["username"] == "арина"
    duplicate = live.post(
        "/api/v1/users",
        json={"username": "арина", "password": PASSWORD, "role": "editor"},
        headers=_origin(live),
    )
    assert duplicate.status_code == 409
    too_wide = live.post(
        "/api/v1/tokens", json={"username": "арина", "role": "editor"}, headers=_origin(live)
    )
    assert too_wide.status_code == 400 and "archivist" in too_wide.json()["detail"]
    created = live.post(
        "/api/v1/tokens", json={"username": "арина", "name": "экспорт"}, headers=_origin(live)
    )
    assert created.status_code == 201
    token = created.json()["token"]
    assert created.json()["role"] == "archivist"
    assert live.get("/api/v1/search", params={"q": "мир"}, headers=bearer(token)).status_code == 200
    assert "token" not in live.get("/api/v1/tokens").json()[-1]
    # Disabling the owner stops the token; the last admin cannot be disabled.
    user_id = made.json()["id"]
    live.patch(f"/api/v1/users/{user_id}", json={"disabled": True}, headers=_origin(live))
    assert live.get("/api/v1/clips", headers=bearer(token)).status_code == 401
    chief_id = live.get("/api/v1/users").json()[0]["id"]
    last = live.patch(f"/api/v1/users/{chief_id}", json={"role": "editor"}, headers=_origin(live))
    assert last.status_code == 400 and "last enabled admin" in last.json()["detail"]


def test_sign_in_sets_a_strict_httponly_cookie_and_sign_out_ends_it(live: httpx.Client) -> None:
    anonymous = live.get("/api/v1/session").json()
    assert anonymous == {
        "authenticated": False,
        "mode": "production",
        "username": None,
        "role": None,
        "permissions": [],
    }
    signed_in = _sign_in(live)
    assert signed_in.status_code == 200
    cookie = signed_in.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # plain http here; https requests get Secure
    me = live.get("/api/v1/session").json()
    assert (me["username"], me["role"], me["mode"]) == ("chief", "admin", "production")
    assert "accounts" in me["permissions"]
    assert live.get("/api/v1/clips").status_code == 200
    assert live.delete("/api/v1/session", headers=_origin(live)).status_code == 204
    assert live.get("/api/v1/clips").status_code == 401
    assert live.get("/api/v1/session").json()["authenticated"] is False
    # Behind a TLS proxy (uvicorn trusts X-Forwarded-Proto from loopback) it is Secure.
    proxied = live.post(
        "/api/v1/session",
        json={"username": "chief", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "secure" in proxied.headers["set-cookie"].lower()


def test_a_session_expires(prod: Settings) -> None:
    for client in _serve(prod.model_copy(update={"session_ttl_s": 1.0})):
        assert _sign_in(client).status_code == 200
        session_cookie = client.cookies["efir_session"]
        assert client.get("/api/v1/clips").status_code == 200
        time.sleep(1.5)
        client.cookies.set("efir_session", session_cookie)  # as a browser ignoring Max-Age
        expired = client.get("/api/v1/clips")
        assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_cookie_requests_that_change_things_must_come_from_our_origin(
    prod: Settings, live: httpx.Client
) -> None:
    assert _sign_in(live).status_code == 200
    change = {"json": {"name": "Новое имя"}}
    forged = live.patch("/api/v1/voices/nope", headers={"Origin": "https://evil.example"}, **change)
    assert forged.status_code == 403 and "Cross-site" in forged.json()["detail"]
    assert live.patch("/api/v1/voices/nope", **change).status_code == 403  # no Origin/Referer
    referer = {"Referer": f"{str(live.base_url).rstrip('/')}/speakers"}
    assert live.patch("/api/v1/voices/nope", headers=referer, **change).status_code == 404
    assert live.patch("/api/v1/voices/nope", headers=_origin(live), **change).status_code == 404
    assert live.get("/api/v1/voices", headers={"Origin": "https://evil.example"}).status_code == 200
    # A bearer token is not sent by browsers on their own: no origin needed.
    token = add_user(prod, "script", AccountRole.EDITOR)[1]
    live.cookies.clear()
    scripted = live.patch("/api/v1/voices/nope", headers=bearer(token), **change)
    assert scripted.status_code == 404


def test_wrong_passwords_lock_that_username_for_a_while(prod: Settings) -> None:
    locked_prod = prod.model_copy(update={"login_max_failures": 3, "login_lockout_s": 60.0})
    add_user(prod, "other", AccountRole.EDITOR)
    for client in _serve(locked_prod):
        wrong = {"username": "chief", "password": "не тот пароль"}
        for _ in range(3):
            failed = client.post("/api/v1/session", json=wrong)
            assert failed.status_code == 401
            assert failed.json()["detail"] == "Неверное имя или пароль. Wrong username or password."
        locked = _sign_in(client)  # the right password, too late
        assert locked.status_code == 429
        assert 50 <= int(locked.headers["Retry-After"]) <= 60
        assert _sign_in(client, "other").status_code == 200
        unknown = client.post("/api/v1/session", json={"username": "nobody", "password": "x"})
        assert unknown.status_code == 401
        assert unknown.json() == failed.json()  # unknown names are not told apart


def test_rate_limit_answers_429_with_retry_after_then_recovers(prod: Settings) -> None:
    # 60 a minute is enforced as 10 per 10 s; new uploads 6 a minute, 1 per 10 s.
    limited = prod.model_copy(
        update={"rate_limit_per_minute": 60, "upload_rate_limit_per_minute": 6}
    )
    token = add_user(prod, "busy", AccountRole.UPLOADER)[1]
    for client in _serve(limited):
        statuses = [
            client.get("/api/v1/jobs", headers=bearer(token)).status_code for _ in range(10)
        ]
        assert statuses == [200] * 10
        refused = client.get("/api/v1/jobs", headers=bearer(token))
        assert refused.status_code == 429
        wait_s = int(refused.headers["Retry-After"])
        assert 1 <= wait_s <= 10
        assert "Too many requests" in refused.json()["detail"]
        # Another principal has its own allowance.
        admin_token = add_user(prod, "calm", AccountRole.ADMIN)[1]
        assert client.get("/api/v1/jobs", headers=bearer(admin_token)).status_code == 200
        time.sleep(wait_s + 0.2)
        assert client.get("/api/v1/jobs", headers=bearer(token)).status_code == 200
        start = {"filename": "a.mp4", "size": 10}
        first = client.post("/api/v1/uploads", json=start, headers=bearer(admin_token))
        assert first.status_code == 201
        second = client.post("/api/v1/uploads", json=start, headers=bearer(admin_token))
        assert second.status_code == 429 and "Retry-After" in second.headers


def test_bodies_over_the_limit_get_413_even_without_content_length(prod: Settings) -> None:
    token = add_user(prod, "writer", AccountRole.ADMIN)[1]
    small = prod.model_copy(update={"max_request_body_bytes": 1024})
    for client in _serve(small):
        big_name = {"username": "x" * 2000, "password": PASSWORD, "role": "editor"}
        declared = client.post("/api/v1/users", json=big_name, headers=bearer(token))
        assert declared.status_code == 413
        assert "The request body is over 1024 bytes" in declared.json()["detail"]

        def chunks() -> Iterator[bytes]:
            yield b'{"username": "'
            yield b"y" * 2000
            yield b'", "password": "0123456789", "role": "editor"}'

        streamed = client.post(
            "/api/v1/users",
            content=chunks(),
            headers={**bearer(token), "Content-Type": "application/json"},
        )
        assert streamed.status_code == 413
        assert (
            client.get("/api/v1/users", headers=bearer(token)).json()[-1]["username"] != "y" * 2000
        )
        # Media chunks are not JSON bodies: the upload size limit governs them.
        upload = client.post(
            "/api/v1/uploads", json={"filename": "a.mp4", "size": 4096}, headers=bearer(token)
        ).json()
        chunk = client.patch(
            f"/api/v1/uploads/{upload['id']}",
            content=b"\0" * 2048,
            headers={**bearer(token), "Content-Range": "bytes 0-2047/4096"},
        )
        assert chunk.status_code == 200 and chunk.json()["offset"] == 2048


def test_clips_record_who_uploaded_them_by_either_upload_route(
    prod: Settings, tmp_path: Path
) -> None:
    media = cut_seed(tmp_path / "cut.mp4", start_s=10, duration_s=2).read_bytes()
    user_id, token = add_user(prod, "newsroom", AccountRole.UPLOADER)
    for client in _serve(prod):
        plain = client.post(
            "/api/v1/clips", files={"file": ("утро.mp4", media)}, headers=bearer(token)
        )
        assert plain.status_code == 202, plain.text
        started = client.post(
            "/api/v1/uploads",
            json={"filename": "вечер.mp4", "size": len(media), "metadata": {"title": "вечер"}},
            headers=bearer(token),
        ).json()
        resumed = client.patch(
            f"/api/v1/uploads/{started['id']}",
            content=media,
            headers={**bearer(token), "Content-Range": f"bytes 0-{len(media) - 1}/{len(media)}"},
        )
        assert resumed.status_code == 200 and resumed.json()["job"], resumed.text
        clips = client.get("/api/v1/clips", headers=bearer(token)).json()
        assert [clip["uploaded_by_user_id"] for clip in clips] == [user_id, user_id]
    with session_factory(prod.sqlalchemy_url)() as session:
        assert set(session.scalars(select(Clip.uploaded_by_user_id))) == {user_id}


def test_production_refuses_to_start_without_a_strong_secret_or_an_admin(
    make_settings: SettingsFactory,
) -> None:
    bare = production(make_settings())
    session_factory(bare.sqlalchemy_url)  # migrated, no users yet
    for secret in (None, "changethis", "short-secret", "a" * 40):
        with pytest.raises(ServeRefusedError, match="EFIR_SECRET_KEY"):
            create_app(bare.model_copy(update={"secret_key": secret}))
    with pytest.raises(ServeRefusedError, match="No admin account"):
        create_app(bare)
    admin_id = add_user(bare, "boss", AccountRole.ADMIN)[0]
    add_user(bare, "deputy", AccountRole.ADMIN)
    with session_factory(bare.sqlalchemy_url)() as session:
        update_user(session=session, user_id=admin_id, disabled=True)
        deputy = get_user(session=session, username="deputy")
        with pytest.raises(AccountError, match="last enabled admin"):
            update_user(session=session, user_id=deputy.id, role=AccountRole.EDITOR)
    assert create_app(bare).state.settings.environment == "production"
    # `efir serve` says why and exits non-zero.
    without_secret = bare.model_copy(update={"secret_key": None})
    environment = {**settings_environment(without_secret), "EFIR_ENVIRONMENT": "production"}
    served = subprocess.run(
        [sys.executable, "-m", "cli.main", "serve", "--no-worker", "--port", "1"],
        cwd=REPO_ROOT,
        env={**environment, "EFIR_REDIS_URL": "redis://127.0.0.1:6379/15"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert served.returncode == 2
    assert "EFIR_SECRET_KEY is not set" in served.stderr


def test_local_mode_is_an_admin_without_login_on_loopback_only(
    make_settings: SettingsFactory, redis_url: str, queue_name: str
) -> None:
    local = make_settings(redis_url=redis_url, queue_name=queue_name)
    for host in ("0.0.0.0", "192.168.1.20", "efir.newsroom.example"):
        with pytest.raises(ServeRefusedError, match="loopback only"):
            create_app(local.model_copy(update={"host": host}))
    for host in ("127.0.0.1", "::1", "localhost"):
        create_app(local.model_copy(update={"host": host}))
    for client in _serve(local):
        me = client.get("/api/v1/session").json()
        assert (me["authenticated"], me["mode"], me["role"]) == (True, "local", "admin")
        assert client.get("/metrics").status_code == 200
        assert client.get("/api/v1/users").status_code == 200
    served = subprocess.run(
        [sys.executable, "-m", "cli.main", "serve", "--no-worker", "--host", "0.0.0.0"],
        cwd=REPO_ROOT,
        env={**settings_environment(local), "EFIR_REDIS_URL": redis_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert served.returncode == 2
    assert "Local mode has no login and serves loopback only, not 0.0.0.0" in served.stderr
