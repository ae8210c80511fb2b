"""Accounts: users and their roles, what each role may do, API tokens, browser sessions
and the failed-login lockout.

``ROLE_PERMISSIONS`` is the one statement of who may do what; the API checks a route's
permission against it and the web UI hides what the role lacks. Every function takes the
database session keyword-only and commits its own small transaction, like efir.jobs.lifecycle.

Secrets are never stored: passwords as argon2 hashes, API tokens and session ids as
SHA-256 digests (see ``_digest`` for why a fast hash is right for those).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from efir.db import AccountRole, ApiToken, LoginFailure, UiSession, User, utcnow
from efir.errors import EfirError, NotFoundError

__all__ = [
    "ROLE_PERMISSIONS",
    "AccountConflictError",
    "AccountError",
    "AccountRole",
    "LoginFailedError",
    "LoginLockedError",
    "Permission",
    "create_token",
    "create_user",
    "end_ui_session",
    "get_user",
    "has_enabled_admin",
    "hash_password",
    "list_tokens",
    "list_users",
    "log_in",
    "permissions_of",
    "revoke_token",
    "role_allows",
    "role_within",
    "start_ui_session",
    "token_owner",
    "ui_session_user",
    "update_user",
    "verify_password",
]

MIN_PASSWORD_CHARS = 10
TOKEN_PREFIX = "efir_"
# Writing last_used_at on every request would turn each read into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=1)
_USERNAME_PUNCTUATION = frozenset("._-@")
_hasher = PasswordHasher()
# Verified against when the username is unknown, so a wrong name costs the same time
# as a wrong password and does not reveal which accounts exist.
_UNKNOWN_USER_HASH = _hasher.hash(secrets.token_urlsafe(16))


class Permission(StrEnum):
    READ = "read"  # clips, their media, jobs, transcripts, revisions, the voice registry
    SEARCH = "search"
    EXPORT = "export"  # transcripts as SRT/VTT/DOCX/…
    UPLOAD = "upload"  # new clips, plain or resumable
    QUEUE = "queue"  # cancel, retry, urgent
    EDIT = "edit"  # transcript corrections, restoring revisions, naming a clip's speakers
    VOICES_EDIT = "voices.edit"  # a voice's name, title, role
    VOICES_ADMIN = "voices.admin"  # merging and forgetting voices
    ACCOUNTS = "accounts"  # users and tokens
    METRICS = "metrics"  # /metrics


_EVERYONE = frozenset(AccountRole)
ROLE_PERMISSIONS: Mapping[Permission, frozenset[AccountRole]] = {
    Permission.READ: _EVERYONE,
    Permission.SEARCH: frozenset({AccountRole.EDITOR, AccountRole.ARCHIVIST, AccountRole.ADMIN}),
    Permission.EXPORT: frozenset({AccountRole.EDITOR, AccountRole.ARCHIVIST, AccountRole.ADMIN}),
    Permission.UPLOAD: frozenset({AccountRole.UPLOADER, AccountRole.EDITOR, AccountRole.ADMIN}),
    Permission.QUEUE: frozenset({AccountRole.UPLOADER, AccountRole.EDITOR, AccountRole.ADMIN}),
    Permission.EDIT: frozenset({AccountRole.EDITOR, AccountRole.ADMIN}),
    Permission.VOICES_EDIT: frozenset({AccountRole.EDITOR, AccountRole.ADMIN}),
    Permission.VOICES_ADMIN: frozenset({AccountRole.ADMIN}),
    Permission.ACCOUNTS: frozenset({AccountRole.ADMIN}),
    Permission.METRICS: frozenset({AccountRole.ADMIN}),
}


class AccountError(EfirError):
    """A username, password, role or token request that cannot be accepted."""


class AccountConflictError(AccountError):
    """The username is already taken."""


class LoginFailedError(EfirError):
    """Wrong username or password, or a disabled account (not told apart on purpose)."""


class LoginLockedError(EfirError):
    """Too many wrong passwords for this username from this address; try later."""

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


def role_allows(role: AccountRole, permission: Permission) -> bool:
    return role in ROLE_PERMISSIONS[permission]


def permissions_of(role: AccountRole) -> list[Permission]:
    return [permission for permission in Permission if role_allows(role, permission)]


def role_within(role: AccountRole, ceiling: AccountRole) -> bool:
    """Whether ``role`` may do nothing ``ceiling`` may not (roles are not a ladder:
    an archivist exports but cannot upload, an uploader the other way round)."""
    return set(permissions_of(role)) <= set(permissions_of(ceiling))


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(
            f"Пароль короче {MIN_PASSWORD_CHARS} символов. "
            f"The password is shorter than {MIN_PASSWORD_CHARS} characters."
        )
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# ---- users --------------------------------------------------------------------------------


def create_user(*, session: Session, username: str, password: str, role: AccountRole) -> User:
    user = User(
        username=_checked_username(username), password_hash=hash_password(password), role=role
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise AccountConflictError(
            f"Пользователь {user.username} уже есть. User {user.username} already exists."
        ) from None
    return user


def get_user(*, session: Session, username: str) -> User:
    name = username.strip().lower()
    user = session.scalar(select(User).where(User.username == name))
    if user is None:
        raise NotFoundError(f"Пользователь {name} не найден. User {name} does not exist.")
    return user


def list_users(*, session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.username)).all()


def update_user(
    *,
    session: Session,
    user_id: int,
    role: AccountRole | None = None,
    disabled: bool | None = None,
    password: str | None = None,
) -> User:
    """Change what is given. Disabling or a new password signs the user out everywhere;
    their tokens stop working while disabled (users are never deleted: clips stay theirs)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"Пользователь {user_id} не найден. User {user_id} does not exist.")
    was_admin = user.role is AccountRole.ADMIN and not user.disabled
    if role is not None:
        user.role = role
    if disabled is not None:
        user.disabled = disabled
    session.flush()
    if was_admin and not has_enabled_admin(session=session):
        session.rollback()
        raise AccountError(
            "Нельзя отключить или понизить последнего администратора. "
            "The last enabled admin cannot be disabled or demoted."
        )
    if password is not None:
        user.password_hash = hash_password(password)
    if disabled or password is not None:
        session.execute(delete(UiSession).where(UiSession.user_id == user.id))
    session.commit()
    return user


def has_enabled_admin(*, session: Session) -> bool:
    query = select(User.id).where(User.role == AccountRole.ADMIN, User.disabled.is_(False)).limit(1)
    return session.scalar(query) is not None


def _checked_username(username: str) -> str:
    name = username.strip().lower()
    if not 1 <= len(name) <= 150 or not all(
        char.isalnum() or char in _USERNAME_PUNCTUATION for char in name
    ):
        raise AccountError(
            "Имя пользователя: 1–150 букв, цифр и знаков . _ - @. "
            "A username is 1-150 letters, digits and . _ - @."
        )
    return name


# ---- API tokens ---------------------------------------------------------------------------


def _digest(secret: str) -> str:
    # SHA-256, not argon2: tokens and session ids are 256 random bits, so there is no
    # dictionary to slow down, and every request checks one; a fast hash still keeps a
    # leaked database from being a list of working credentials.
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    *, session: Session, user: User, name: str, role: AccountRole | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``user``, at most the user's role; the token text is returned once."""
    token_role = role or user.role
    if not role_within(token_role, user.role):
        raise AccountError(
            f"Роль токена {token_role} шире роли пользователя {user.role}. "
            f"A token with role {token_role} cannot belong to a user with role {user.role}."
        )
    label = name.strip()[:200] or "token"
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=label, token_hash=_digest(secret), user_id=user.id, role=token_role)
    session.add(token)
    session.commit()
    return token, secret


def list_tokens(*, session: Session) -> Sequence[ApiToken]:
    return session.scalars(select(ApiToken).order_by(ApiToken.id)).all()


def revoke_token(*, session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFoundError(f"Токен {token_id} не найден. Token {token_id} does not exist.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.commit()
    return token


def token_owner(*, session: Session, secret: str) -> tuple[ApiToken, User] | None:
    """The live token and its enabled owner for a presented token, else None."""
    row = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _digest(secret))
    ).first()
    if row is None:
        return None
    token, user = row
    # A token whose owner has since been given a narrower role stops rather than
    # keeping powers the owner lost.
    if token.revoked_at is not None or user.disabled or not role_within(token.role, user.role):
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.commit()
    return token, user


# ---- browser sessions and logging in ------------------------------------------------------


def log_in(
    *,
    session: Session,
    username: str,
    password: str,
    client_ip: str,
    max_failures: int,
    lockout_s: float,
) -> User:
    """The user for a correct password; counts failures per username and address and
    refuses a locked pair before looking at the password."""
    name = username.strip().lower()[:150]
    now = utcnow()
    failure = session.scalar(
        select(LoginFailure).where(
            LoginFailure.username == name, LoginFailure.client_ip == client_ip
        )
    )
    if failure is not None and failure.locked_until is not None and failure.locked_until > now:
        raise LoginLockedError(
            "Слишком много неверных попыток входа; подождите. "
            "Too many failed logins; try again later.",
            retry_after_s=(failure.locked_until - now).total_seconds(),
        )
    user = session.scalar(select(User).where(User.username == name))
    valid = verify_password(user.password_hash if user else _UNKNOWN_USER_HASH, password)
    if user is None or not valid or user.disabled:
        _count_failure(session, failure, name, client_ip, max_failures, lockout_s, now)
        raise LoginFailedError("Неверное имя или пароль. Wrong username or password.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    if failure is not None:
        session.delete(failure)
    session.commit()
    return user


def _count_failure(
    session: Session,
    failure: LoginFailure | None,
    username: str,
    client_ip: str,
    max_failures: int,
    lockout_s: float,
    now: datetime,
) -> None:
    lockout = timedelta(seconds=lockout_s)
    if failure is None:
        failure = LoginFailure(username=username, client_ip=client_ip, failures=0)
        session.add(failure)
    elif now - failure.last_failed_at > lockout:
        failure.failures = 0  # old mistakes are forgiven
    failure.failures += 1
    failure.last_failed_at = now
    if failure.failures >= max_failures:
        failure.locked_until, failure.failures = now + lockout, 0
    try:
        session.commit()
    except IntegrityError:
        # A parallel failure for the same pair inserted the row first; its count stands.
        session.rollback()


def start_ui_session(*, session: Session, user: User, ttl_s: float) -> str:
    """A new browser session for ``user``; returns the id for the cookie (stored hashed)."""
    session_id = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        UiSession(
            session_hash=_digest(session_id),
            user_id=user.id,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
    )
    # Expired rows of everyone go here rather than in a periodic job: logins are rare.
    session.execute(delete(UiSession).where(UiSession.expires_at <= now))
    session.commit()
    return session_id


def ui_session_user(*, session: Session, session_id: str) -> User | None:
    """The enabled user of a live session, else None."""
    row = session.execute(
        select(UiSession, User)
        .join(User, User.id == UiSession.user_id)
        .where(UiSession.session_hash == _digest(session_id))
    ).first()
    if row is None:
        return None
    ui_session, user = row
    if ui_session.expires_at <= utcnow() or user.disabled:
        return None
    return user


def end_ui_session(*, session: Session, session_id: str) -> None:
    session.execute(delete(UiSession).where(UiSession.session_hash == _digest(session_id)))
    session.commit()
