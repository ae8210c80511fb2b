"""One log line per request, and the request id and path on every line logged meanwhile.

The id is the caller's ``X-Request-ID`` when it looks like one (a proxy's), else a new
one; it is echoed in the response so a user's report can be matched to the logs.
Plain ASGI rather than ``BaseHTTPMiddleware``: streamed responses (job events) pass
through untouched and the log context reaches the endpoint's thread.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from efir.logs import log_context

__all__ = ["REQUEST_ID_HEADER", "RequestLogMiddleware"]

REQUEST_ID_HEADER = "X-Request-ID"
# A forwarded id is written into logs verbatim, so only a short plain token is trusted.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

log = logging.getLogger("api.requests")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        forwarded = Headers(scope=scope).get(REQUEST_ID_HEADER, "")
        request_id = forwarded if _SAFE_REQUEST_ID.match(forwarded) else uuid.uuid4().hex
        status = 500  # what the client gets if the app fails before it starts a response
        started = time.perf_counter()

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        with log_context(request_id=request_id, path=scope["path"]):
            try:
                await self.app(scope, receive, send_with_request_id)
            finally:
                log.info(
                    "%s %s %d %.1f ms",
                    scope["method"],
                    scope["path"],
                    status,
                    (time.perf_counter() - started) * 1000,
                )
