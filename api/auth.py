"""Who is asking and whether they may: every route but health, the login page and static
files depends on ``require(permission)``.

Production: an ``Authorization: Bearer <token>`` header or the browser's session cookie;
missing or bad credentials are 401 (with ``WWW-Authenticate: Bearer``), a role without
the route's permission is 403 (efir.accounts.users.ROLE_PERMISSIONS). A cookie is sent by the
browser to any site's request, so unsafe methods with one must come from our own origin
(CSRF). Local mode: no login; every request is the local admin, on loopback only
(api.security_headers.LocalOnlyMiddleware refuses other Host names and other sites).
Requests are counted per principal (api.rate_limits) before the permission check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from api.deps import SessionDep, SettingsDep
from api.rate_limits import RateLimits, too_many
from efir.accounts.users import AccountRole, Permission, role_allows, token_owner, ui_session_user
from efir.config import Settings

__all__ = [
    "LOCAL_PRINCIPAL",
    "SAFE_METHODS",
    "SESSION_COOKIE",
    "SIGNED_IN_PAGE",
    "Principal",
    "PrincipalDep",
    "authenticate",
    "from_other_site",
    "require",
    "require_same_origin",
]

SESSION_COOKIE = "efir_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """The account a request acts for: a user signed in, a user's API token, or local."""

    user_id: int | None
    username: str
    role: AccountRole
    token_id: int | None

    @property
    def rate_key(self) -> str:
        if self.token_id is not None:
            return f"token:{self.token_id}"
        return f"user:{self.user_id}"


LOCAL_PRINCIPAL = Principal(user_id=None, username="local", role=AccountRole.ADMIN, token_id=None)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def authenticate(request: Request, session: Session, settings: Settings) -> Principal:
    """The request's principal, or 401. Cookie sessions also pass the CSRF check here."""
    if settings.environment == "local":
        return LOCAL_PRINCIPAL
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.partition(" ")
        is_bearer = scheme.lower() == "bearer" and secret.strip()
        found = token_owner(session=session, secret=secret.strip()) if is_bearer else None
        if found is None:
            raise _unauthorized("Токен неверный или отозван. The API token is invalid or revoked.")
        token, owner = found
        return Principal(
            user_id=owner.id, username=owner.username, role=token.role, token_id=token.id
        )
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is None:
        raise _unauthorized(
            "Нужен вход или API-токен (Authorization: Bearer …). "
            "Sign in or send an API token (Authorization: Bearer …)."
        )
    user = ui_session_user(session=session, session_id=session_id)
    if user is None:
        raise _unauthorized("Сеанс истёк; войдите снова. The session has expired; sign in again.")
    if request.method not in SAFE_METHODS:
        require_same_origin(request, required=True)
    return Principal(user_id=user.id, username=user.username, role=user.role, token_id=None)


def from_other_site(request: Request, *, required: bool) -> bool:
    """Whether Origin (or Referer) names another host than this request's, or neither is
    sent while ``required`` (API clients send neither, browsers always send Origin)."""
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if claimed is None:
        return required
    # Host and port only: behind a TLS proxy the scheme we see may differ from the browser's.
    return urlsplit(claimed).netloc != request.url.netloc


def require_same_origin(request: Request, *, required: bool) -> None:
    """403 when ``from_other_site``."""
    if from_other_site(request, required=required):
        raise HTTPException(
            403,
            "Запрос пришёл с чужого сайта и отклонён. Cross-site request refused.",
        )


def _current_principal(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    return authenticate(request, session, settings)


# The authenticated principal (401 without one). Routes name their permission with
# ``require``; this is for code that needs to know who, e.g. to record an uploader.
PrincipalDep = Annotated[Principal, Depends(_current_principal)]


def _count_request(request: Request, principal: Principal, *, new_upload: bool) -> None:
    if principal is LOCAL_PRINCIPAL:
        return  # one person on this computer: nobody to share with
    limits: RateLimits = request.app.state.rate_limits
    wait_s = limits.request_wait_s(principal.rate_key)
    if wait_s is None and new_upload:
        wait_s = limits.upload_wait_s(principal.rate_key)
    if wait_s is not None:
        raise too_many(wait_s, russian="Слишком много запросов", english="Too many requests")


def _check_permission(principal: Principal, permission: Permission) -> None:
    if not role_allows(principal.role, permission):
        raise HTTPException(
            403,
            f"Роли «{principal.role}» это не разрешено ({permission}). "
            f"The {principal.role} role may not do this ({permission}).",
        )


def require(permission: Permission, *, new_upload: bool = False) -> Any:
    """A dependency: the principal, counted against its rate limits (``new_upload`` also
    against the upload limit) and holding ``permission``; else 401, 429 or 403."""

    def permitted_principal(request: Request, principal: PrincipalDep) -> Principal:
        _count_request(request, principal, new_upload=new_upload)
        _check_permission(principal, permission)
        return principal

    return Depends(permitted_principal)


def _signed_in_page(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    try:
        principal = authenticate(request, session, settings)
    except HTTPException as error:
        if error.status_code != 401:
            raise
        target = quote(request.url.path, safe="/")
        raise HTTPException(303, headers={"Location": f"/login?next={target}"}) from None
    _count_request(request, principal, new_upload=False)
    _check_permission(principal, Permission.READ)
    return principal


# Web UI pages: like ``require(Permission.READ)``, but a browser without a session is
# sent to the login page instead of getting a 401.
SIGNED_IN_PAGE = Depends(_signed_in_page)
