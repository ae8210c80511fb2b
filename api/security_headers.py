"""Headers every response carries, and local mode's guard against other websites.

Every response says ``nosniff``: a browser takes the declared type at its word, so no
JSON or media body is ever read as a page or a script. Pages set their own CSP
(api.routes.ui), media its sandbox (api.media_response).

Local mode has no login, so the guard stands in for one: it answers only requests
whose Host names loopback (a DNS-rebinding page arrives under its own host name), and a
state-changing request a browser marked as coming from another origin is refused.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import SAFE_METHODS, from_other_site
from efir.startup_checks import is_loopback_host

__all__ = ["LocalOnlyMiddleware", "SecurityHeadersMiddleware"]


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LocalOnlyMiddleware:
    """Installed in local mode only (production authenticates every request instead)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            refusal = _refusal(request)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _refusal(request: Request) -> JSONResponse | None:
    if not is_loopback_host(request.url.hostname or ""):
        return JSONResponse(
            {
                "detail": "Локальный режим отвечает только на адрес localhost или 127.0.0.1. "
                "Local mode answers only requests addressed to localhost or 127.0.0.1."
            },
            status_code=421,
        )
    if request.method not in SAFE_METHODS and from_other_site(request, required=False):
        return JSONResponse(
            {"detail": "Запрос пришёл с чужого сайта и отклонён. Cross-site request refused."},
            status_code=403,
        )
    return None
