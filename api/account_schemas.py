"""What the session, users and tokens routes accept and return; a token's text appears
only in ``TokenCreated``, the answer to creating it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from efir.accounts.users import AccountRole, Permission

__all__ = [
    "LoginRequest",
    "SessionPublic",
    "TokenCreate",
    "TokenCreated",
    "TokenPublic",
    "UserCreate",
    "UserPublic",
    "UserUpdate",
]


class LoginRequest(BaseModel):
    username: str = Field(max_length=150)
    password: str = Field(max_length=1000)


class SessionPublic(BaseModel):
    """Who am I: ``authenticated`` false means the UI shows its login page."""

    authenticated: bool
    mode: Literal["local", "production"]
    username: str | None = None
    role: AccountRole | None = None
    permissions: list[Permission] = Field(default_factory=list)


class UserCreate(BaseModel):
    username: str = Field(max_length=150)
    password: str = Field(max_length=1000)
    role: AccountRole


class UserUpdate(BaseModel):
    role: AccountRole | None = None
    disabled: bool | None = None
    password: str | None = Field(default=None, max_length=1000)


class UserPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: AccountRole
    disabled: bool
    created_at: datetime


class TokenCreate(BaseModel):
    username: str = Field(max_length=150, description="the token's owner")
    name: str = Field(default="", max_length=200, description="what the token is for")
    role: AccountRole | None = Field(
        default=None, description="at most the owner's; theirs if empty"
    )


class TokenPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    user_id: int
    role: AccountRole
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str = Field(description="shown this once; only its hash is stored")
