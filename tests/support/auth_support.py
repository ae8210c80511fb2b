"""Production-mode helpers for the access-control tests: settings with a strong secret,
accounts made through efir.accounts.users on the test's database, bearer headers."""

from __future__ import annotations

from typing import Any

from efir.accounts.users import AccountRole, create_token, create_user
from efir.config import Settings
from efir.db import make_engine, make_session_factory, migrate

__all__ = ["PASSWORD", "STRONG_SECRET", "add_user", "bearer", "production"]

STRONG_SECRET = "Qm9uZCwgSmFtZXMgQm9uZC4gc2hha2VuLCBub3Qgc3RpcnJlZA-_0123456789"
PASSWORD = "верный-пароль-2026"


def production(settings: Settings, **overrides: Any) -> Settings:
    """``settings`` in production mode with a strong secret key and ``overrides``."""
    return settings.model_copy(
        update={"environment": "production", "secret_key": STRONG_SECRET, **overrides}
    )


def add_user(settings: Settings, username: str, role: AccountRole) -> tuple[int, str]:
    """A user with PASSWORD and one API token of their role: (user id, token)."""
    migrate(settings.sqlalchemy_url)
    engine = make_engine(settings.sqlalchemy_url)
    try:
        with make_session_factory(engine)() as session:
            user = create_user(session=session, username=username, password=PASSWORD, role=role)
            _, token = create_token(session=session, user=user, name=f"{username}-test")
            return user.id, token
    finally:
        engine.dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
