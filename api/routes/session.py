"""The browser's sign-in: ``GET`` who am I, ``POST`` log in (sets the session cookie),
``DELETE`` log out. Open to anonymous callers: they are how one stops being anonymous."""

from __future__ import annotations

import math

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.account_schemas import LoginRequest, SessionPublic
from api.auth import LOCAL_PRINCIPAL, SESSION_COOKIE, Principal, authenticate, require_same_origin
from api.deps import SessionDep, SettingsDep
from api.rate_limits import RateLimits, too_many
from efir.accounts.users import (
    LoginAttempt,
    LoginFailedError,
    LoginLockedError,
    begin_login,
    end_ui_session,
    finish_login,
    permissions_of,
    start_ui_session,
    verify_password,
)
from efir.config import Settings
from efir.db import User

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/session", tags=["session"])


@router.get("", response_model=SessionPublic)
def who_am_i(request: Request, session: SessionDep, settings: SettingsDep) -> SessionPublic:
    try:
        principal = authenticate(request, session, settings)
    except HTTPException as error:
        if error.status_code != 401:
            raise
        return SessionPublic(authenticated=False, mode=settings.environment)
    return _public(principal, settings)


@router.post("", response_model=SessionPublic)
async def sign_in(
    credentials: LoginRequest, request: Request, response: Response, settings: SettingsDep
) -> SessionPublic:
    """Username and password → an HttpOnly, SameSite=Strict session cookie; 401 when
    wrong, 429 with Retry-After once that username is locked for this address or the
    address or username is over its attempts a minute."""
    if settings.environment == "local":
        return _public(LOCAL_PRINCIPAL, settings)
    # A login forged from another site would sign the victim into the attacker's account.
    require_same_origin(request, required=False)
    client_ip = request.client.host if request.client else "unknown"
    limits: RateLimits = request.app.state.rate_limits
    wait_s = limits.login_wait_s(client_ip=client_ip, username=credentials.username)
    if wait_s is not None:
        raise too_many(
            wait_s, russian="Слишком много попыток входа", english="Too many login attempts"
        )
    sessions: sessionmaker[Session] = request.app.state.sessions
    try:
        attempt = await run_in_threadpool(_begin, sessions, credentials.username, client_ip)
        # The hash (64 MiB, tens of ms of CPU) runs holding no database connection, and
        # only a few at once, so anonymous logins cannot starve everyone's requests.
        async with request.app.state.password_hashes:
            password_ok = await run_in_threadpool(
                verify_password, attempt.password_hash, credentials.password
            )
        user, session_id = await run_in_threadpool(
            _finish, sessions, attempt, credentials.password, password_ok, settings
        )
    except LoginLockedError as error:
        retry_after = str(math.ceil(error.retry_after_s))
        raise HTTPException(429, str(error), headers={"Retry-After": retry_after}) from None
    except LoginFailedError as error:
        raise HTTPException(401, str(error)) from None
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(settings.session_ttl_s),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    principal = Principal(user_id=user.id, username=user.username, role=user.role, token_id=None)
    return _public(principal, settings)


def _begin(sessions: sessionmaker[Session], username: str, client_ip: str) -> LoginAttempt:
    with sessions() as session:
        return begin_login(session=session, username=username, client_ip=client_ip)


def _finish(
    sessions: sessionmaker[Session],
    attempt: LoginAttempt,
    password: str,
    password_ok: bool,
    settings: Settings,
) -> tuple[User, str]:
    with sessions() as session:
        user = finish_login(
            session=session,
            attempt=attempt,
            password=password,
            password_ok=password_ok,
            max_failures=settings.login_max_failures,
            lockout_s=settings.login_lockout_s,
        )
        return user, start_ui_session(session=session, user=user, ttl_s=settings.session_ttl_s)


@router.delete("", status_code=204)
def sign_out(request: Request, session: SessionDep) -> Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is not None:
        require_same_origin(request, required=True)
        end_ui_session(session=session, session_id=session_id)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _public(principal: Principal, settings: Settings) -> SessionPublic:
    return SessionPublic(
        authenticated=True,
        mode=settings.environment,
        username=principal.username,
        role=principal.role,
        permissions=permissions_of(principal.role),
    )
