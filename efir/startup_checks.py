"""Whether these settings are safe to serve with: the checks ``create_app`` (and so
``efir serve``) runs before listening. Local mode has no login, so it stays on loopback;
production needs a strong secret key and an admin who can let everyone else in.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from efir.accounts.users import has_enabled_admin
from efir.config import Settings
from efir.errors import EfirError

__all__ = [
    "ServeRefusedError",
    "is_loopback_host",
    "refuse_unsafe_serving",
    "weak_secret_key_reason",
]

MIN_SECRET_KEY_CHARS = 32


class ServeRefusedError(EfirError):
    """The settings would expose efir unsafely: the server does not start."""


def weak_secret_key_reason(secret_key: str | None) -> str | None:
    """Why EFIR_SECRET_KEY is unfit for production, or None when it will do."""
    if not secret_key:
        return "EFIR_SECRET_KEY не задан. EFIR_SECRET_KEY is not set."
    if secret_key.strip().lower() in {"changethis", "changeme", "secret", "efir"}:
        return "EFIR_SECRET_KEY — пример из документации. EFIR_SECRET_KEY is a placeholder."
    if len(secret_key) < MIN_SECRET_KEY_CHARS or len(set(secret_key)) < 10:
        return (
            f"EFIR_SECRET_KEY слишком простой: нужно от {MIN_SECRET_KEY_CHARS} случайных символов. "
            f"EFIR_SECRET_KEY is too weak: use {MIN_SECRET_KEY_CHARS}+ random characters "
            '(python -c "import secrets; print(secrets.token_urlsafe(48))").'
        )
    return None


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_unsafe_serving(*, sessions: sessionmaker[Session], settings: Settings) -> None:
    """Raise ServeRefusedError, naming every problem, when serving on ``settings.host``
    would be unsafe: local mode (no login) off loopback; production without a strong secret key
    or an enabled admin account."""
    if settings.environment == "local":
        host = settings.host
        if not is_loopback_host(host):
            raise ServeRefusedError(
                f"Локальный режим (без входа) работает только на 127.0.0.1, а не на {host}; "
                "для сети задайте EFIR_ENVIRONMENT=production. "
                f"Local mode has no login and serves loopback only, not {host}; "
                "set EFIR_ENVIRONMENT=production to serve a network."
            )
        return
    problems = [reason for reason in [weak_secret_key_reason(settings.secret_key)] if reason]
    try:
        with sessions() as session:
            admin_exists = has_enabled_admin(session=session)
    except DBAPIError:
        admin_exists = False  # not migrated yet: no users table
    if not admin_exists:
        problems.append(
            "Нет администратора: efir migrate, затем efir user add ИМЯ --role admin. "
            "No admin account: run efir migrate, then efir user add NAME --role admin."
        )
    if problems:
        raise ServeRefusedError(" ".join(problems))
