"""Users and API tokens, for admins. A token's text is in the answer to creating it and
nowhere else; listing shows names, owners, roles and when each was last used."""

from __future__ import annotations

from fastapi import APIRouter

from api.account_schemas import (
    TokenCreate,
    TokenCreated,
    TokenPublic,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from api.auth import require
from api.deps import SessionDep
from api.params import RowId
from efir.accounts.users import (
    Permission,
    create_token,
    create_user,
    get_user,
    list_tokens,
    list_users,
    revoke_token,
    update_user,
)

__all__ = ["tokens_router", "users_router"]

users_router = APIRouter(
    prefix="/api/v1/users", tags=["accounts"], dependencies=[require(Permission.ACCOUNTS)]
)
tokens_router = APIRouter(
    prefix="/api/v1/tokens", tags=["accounts"], dependencies=[require(Permission.ACCOUNTS)]
)


@users_router.get("", response_model=list[UserPublic])
def users(session: SessionDep) -> list[UserPublic]:
    return [UserPublic.model_validate(user) for user in list_users(session=session)]


@users_router.post("", status_code=201, response_model=UserPublic)
def add_user(body: UserCreate, session: SessionDep) -> UserPublic:
    user = create_user(
        session=session, username=body.username, password=body.password, role=body.role
    )
    return UserPublic.model_validate(user)


@users_router.patch("/{user_id}", response_model=UserPublic)
def change_user(user_id: RowId, body: UserUpdate, session: SessionDep) -> UserPublic:
    """New role, password, or ``disabled``: a disabled user's sessions end and tokens stop."""
    user = update_user(
        session=session,
        user_id=user_id,
        role=body.role,
        disabled=body.disabled,
        password=body.password,
    )
    return UserPublic.model_validate(user)


@tokens_router.get("", response_model=list[TokenPublic])
def tokens(session: SessionDep) -> list[TokenPublic]:
    return [TokenPublic.model_validate(token) for token in list_tokens(session=session)]


@tokens_router.post("", status_code=201, response_model=TokenCreated)
def add_token(body: TokenCreate, session: SessionDep) -> TokenCreated:
    owner = get_user(session=session, username=body.username)
    token, secret = create_token(session=session, user=owner, name=body.name, role=body.role)
    return TokenCreated(**TokenPublic.model_validate(token).model_dump(), token=secret)


@tokens_router.delete("/{token_id}", response_model=TokenPublic)
def revoke(token_id: RowId, session: SessionDep) -> TokenPublic:
    return TokenPublic.model_validate(revoke_token(session=session, token_id=token_id))
