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
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, and_, case, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from efir.db import AccountRole, ApiToken, LoginFailure, UiSession, User, utcnow
from efir.errors import EfirError, NotFoundError

__all__ = [
    "ROLE_PERMISSIONS",
    "AccountConflictError",
    "AccountError",
    "AccountRole",
    "LoginAttempt",
    "LoginFailedError",
    "LoginLockedError",
    "Permission",
    "begin_login",
    "create_token",
    "create_user",
    "end_ui_session",
    "finish_login",
    "get_user",
    "has_enabled_admin",
    "hash_password",
    "list_tokens",
    "list_users",
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
# A public marker that starts every token, not a secret.
TOKEN_PREFIX = "efir_"  # nosec B105
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


@dataclass(frozen=True)
class LoginAttempt:
    """A login between its two short transactions: who, from where, and the stored hash
    the password is checked against (a decoy for an unknown name)."""

    username: str
    client_ip: str
    user_id: int | None
    password_hash: str


def begin_login(*, session: Session, username: str, client_ip: str) -> LoginAttempt:
    """Refuse a locked username and address (LoginLockedError) before any hashing; else
    what ``verify_password`` needs. The caller may close ``session`` while it hashes."""
    name = username.strip().lower()[:150]
    _raise_if_locked(session, name, client_ip)
    user = session.scalar(select(User).where(User.username == name))
    usable = user is not None and not user.disabled
    return LoginAttempt(
        username=name,
        client_ip=client_ip,
        user_id=user.id if usable and user else None,
        password_hash=user.password_hash if usable and user else _UNKNOWN_USER_HASH,
    )


def finish_login(
    *,
    session: Session,
    attempt: LoginAttempt,
    password: str,
    password_ok: bool,
    max_failures: int,
    lockout_s: float,
) -> User:
    """The user when the password was right and the pair is still unlocked; a failure is
    counted atomically (``failures = failures + 1``), so concurrent guesses cannot all
    read the same count, and one that lands after the lock is refused as locked."""
    if attempt.user_id is None or not password_ok:
        _count_failure(session, attempt, max_failures, lockout_s)
        raise LoginFailedError("Неверное имя или пароль. Wrong username or password.")
    # Other guesses may have locked the pair while this password was being hashed.
    _raise_if_locked(session, attempt.username, attempt.client_ip)
    user = session.get(User, attempt.user_id)
    if user is None or user.disabled:
        raise LoginFailedError("Неверное имя или пароль. Wrong username or password.")
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    session.execute(delete(LoginFailure).where(*_pair(attempt.username, attempt.client_ip)))
    session.commit()
    return user


def _pair(username: str, client_ip: str) -> tuple[ColumnElement[bool], ...]:
    return (LoginFailure.username == username, LoginFailure.client_ip == client_ip)


def _locked_error(retry_after_s: float) -> LoginLockedError:
    return LoginLockedError(
        "Слишком много неверных попыток входа; подождите. Too many failed logins; try again later.",
        retry_after_s=retry_after_s,
    )


def _raise_if_locked(session: Session, username: str, client_ip: str) -> None:
    now = utcnow()
    locked_until = session.scalar(
        select(LoginFailure.locked_until).where(*_pair(username, client_ip))
    )
    session.rollback()  # end the read: the caller may hold this session across a hash
    if locked_until is not None and locked_until > now:
        raise _locked_error((locked_until - now).total_seconds())


def _count_failure(
    session: Session, attempt: LoginAttempt, max_failures: int, lockout_s: float
) -> None:
    """One more failure for the pair, in the database: the one reaching ``max_failures``
    sets the lock; one arriving while locked raises LoginLockedError instead."""
    now = utcnow()
    lockout = timedelta(seconds=lockout_s)
    pair = _pair(attempt.username, attempt.client_ip)
    if session.scalar(select(LoginFailure.id).where(*pair)) is None:
        session.add(
            LoginFailure(
                username=attempt.username,
                client_ip=attempt.client_ip,
                failures=0,
                last_failed_at=now,
            )
        )
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # a parallel failure inserted it first
    # Old mistakes and served locks are forgiven.
    session.execute(
        update(LoginFailure)
        .where(
            *pair,
            or_(
                LoginFailure.locked_until <= now,
                and_(
                    LoginFailure.locked_until.is_(None),
                    LoginFailure.last_failed_at < now - lockout,
                ),
            ),
        )
        .values(failures=0, locked_until=None)
    )
    # SET expressions read the row as it was: the new count and the lock in one step.
    counted = session.scalar(
        update(LoginFailure)
        .where(*pair, LoginFailure.locked_until.is_(None))
        .values(
            failures=LoginFailure.failures + 1,
            last_failed_at=now,
            locked_until=case(
                (LoginFailure.failures + 1 >= max_failures, now + lockout), else_=None
            ),
        )
        .returning(LoginFailure.failures)
    )
    session.commit()
    if counted is None:
        raise _locked_error(lockout_s)


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
