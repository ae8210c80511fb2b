"""The browser's sign-in: ``GET`` who am I, ``POST`` log in (sets the session cookie),
``DELETE`` log out. Open to anonymous callers: they are how one stops being anonymous."""

from __future__ import annotations

import math

from fastapi import APIRouter, HTTPException, Request, Response

from api.account_schemas import LoginRequest, SessionPublic
from api.auth import LOCAL_PRINCIPAL, SESSION_COOKIE, Principal, authenticate, require_same_origin
from api.deps import SessionDep, SettingsDep
from efir.accounts.users import (
    LoginFailedError,
    LoginLockedError,
    end_ui_session,
    log_in,
    permissions_of,
    start_ui_session,
)
from efir.config import Settings

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
def sign_in(
    credentials: LoginRequest,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> SessionPublic:
    """Username and password → an HttpOnly, SameSite=Strict session cookie; 401 when
    wrong, 429 with Retry-After once that username is locked for this address."""
    if settings.environment == "local":
        return _public(LOCAL_PRINCIPAL, settings)
    # A login forged from another site would sign the victim into the attacker's account.
    require_same_origin(request, required=False)
    try:
        user = log_in(
            session=session,
            username=credentials.username,
            password=credentials.password,
            client_ip=request.client.host if request.client else "unknown",
            max_failures=settings.login_max_failures,
            lockout_s=settings.login_lockout_s,
        )
    except LoginLockedError as error:
        retry_after = str(math.ceil(error.retry_after_s))
        raise HTTPException(429, str(error), headers={"Retry-After": retry_after}) from None
    except LoginFailedError as error:
        raise HTTPException(401, str(error)) from None
    session_id = start_ui_session(session=session, user=user, ttl_s=settings.session_ttl_s)
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
