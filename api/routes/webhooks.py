"""Webhooks: a clip's callback URL, its delivery log, and the caller's signing secret.

    PUT    /api/v1/clips/{id}/webhook   {"url": …}  set or replace (upload: callback_url)
    DELETE /api/v1/clips/{id}/webhook
    GET    /api/v1/clips/{id}/webhooks  the callback and every delivery with its attempts
    GET    /api/v1/webhooks/secret      the secret signing the caller's token's events

The rules (allow-list, signing, retries) are in efir.webhooks.delivery and efir.webhooks.urls.
A clip's webhook is its uploader's: only they or an admin may set or remove it, and only
they see the excerpts of the answers it got (the receiving system's words, not efir's).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.auth import Principal, require
from api.deps import SessionDep, SettingsDep
from efir.accounts.users import AccountRole, Permission, role_allows
from efir.db import Clip
from efir.media.clips import get_clip
from efir.webhooks.delivery import (
    callback_url_for,
    signing_secret,
    subscribe,
    unsubscribe,
    webhook_log,
)

__all__ = ["router"]

router = APIRouter(tags=["webhooks"])


class WebhookRequest(BaseModel):
    url: str


class WebhookSubscriptionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    url: str
    token_id: int | None
    created_at: datetime


class WebhookDeliveryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    delivery_id: str = Field(validation_alias="id")
    event: str
    job_id: str
    url: str
    state: str
    attempt: int
    status_code: int | None
    error: str | None
    # Each attempt: attempt, started_at, finished_at, status_code, error, response_excerpt.
    attempts: list[dict[str, Any]] = Field(validation_alias="attempts_log")
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class WebhookLogPublic(BaseModel):
    subscription: WebhookSubscriptionPublic | None
    deliveries: list[WebhookDeliveryPublic]


class WebhookSecretPublic(BaseModel):
    token_id: int | None
    secret: str


def _manages_webhook(principal: Principal, clip: Clip) -> bool:
    return principal.role is AccountRole.ADMIN or (
        principal.user_id is not None and principal.user_id == clip.uploaded_by_user_id
    )


def _require_webhook_owner(session: Session, clip_id: str, principal: Principal) -> None:
    if not _manages_webhook(principal, get_clip(session, clip_id)):
        raise HTTPException(
            403,
            "Вебхук клипа меняет только тот, кто его загрузил, или администратор. "
            "Only the clip's uploader or an admin may change its webhook.",
        )


@router.put("/api/v1/clips/{clip_id}/webhook", response_model=WebhookSubscriptionPublic)
def set_clip_webhook(
    clip_id: str,
    body: WebhookRequest,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, require(Permission.UPLOAD)],
) -> WebhookSubscriptionPublic:
    """Events for this clip's next job ends go to ``url``, signed for the caller's token."""
    url = callback_url_for(body.url, settings)
    _require_webhook_owner(session, clip_id, principal)
    subscription = subscribe(session, clip_id=clip_id, url=url, token_id=principal.token_id)
    session.commit()
    return WebhookSubscriptionPublic.model_validate(subscription)


@router.delete("/api/v1/clips/{clip_id}/webhook", status_code=204)
def delete_clip_webhook(
    clip_id: str,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.UPLOAD)],
) -> Response:
    _require_webhook_owner(session, clip_id, principal)
    unsubscribe(session, clip_id)
    session.commit()
    return Response(status_code=204)


@router.get("/api/v1/clips/{clip_id}/webhooks", response_model=WebhookLogPublic)
def clip_webhooks(
    clip_id: str,
    session: SessionDep,
    principal: Annotated[Principal, require(Permission.READ)],
) -> WebhookLogPublic:
    """The callback and its deliveries; answer excerpts only for the uploader or an admin."""
    subscription, deliveries = webhook_log(session, clip_id)
    public = [WebhookDeliveryPublic.model_validate(delivery) for delivery in deliveries]
    if not _manages_webhook(principal, get_clip(session, clip_id)):
        for delivery in public:
            delivery.attempts = [
                {key: value for key, value in attempt.items() if key != "response_excerpt"}
                for attempt in delivery.attempts
            ]
    return WebhookLogPublic(
        subscription=(
            WebhookSubscriptionPublic.model_validate(subscription) if subscription else None
        ),
        deliveries=public,
    )


@router.get("/api/v1/webhooks/secret", response_model=WebhookSecretPublic)
def webhook_secret(
    settings: SettingsDep, principal: Annotated[Principal, require(Permission.READ)]
) -> WebhookSecretPublic:
    """The secret of the caller's API token. Without a token (a browser session, local
    mode) it is the installation's shared one, for admins only."""
    if principal.token_id is None and not role_allows(principal.role, Permission.ACCOUNTS):
        raise HTTPException(
            403,
            "Общий секрет вебхуков доступен только администратору; используйте API-токен. "
            "The shared webhook secret is for admins; use an API token.",
        )
    if not settings.secret_key:
        raise HTTPException(
            409,
            "EFIR_SECRET_KEY не задан: вебхуки выключены. "
            "EFIR_SECRET_KEY is not set: webhooks are off.",
        )
    return WebhookSecretPublic(
        token_id=principal.token_id,
        secret=signing_secret(settings.secret_key, principal.token_id),
    )
