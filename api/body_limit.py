"""Request bodies over ``max_bytes`` get a 413, except the media uploads, which enforce
EFIR_MAX_UPLOAD_BYTES themselves while streaming to disk.

The bytes are counted as they arrive, so a chunked body or a false Content-Length is
caught too. Ours rather than FastAPI's ``max_body_size``: the limit and the exemption
come from settings at app creation, and the refusal speaks Russian and English in the
API's ``{"detail"}`` shape.
"""

from __future__ import annotations

import re

from fastapi import HTTPException
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimitMiddleware"]

_MEDIA_UPLOADS = (
    ("POST", re.compile(r"^/api/v1/clips/?$")),
    ("PATCH", re.compile(r"^/api/v1/uploads/[^/]+$")),
    ("POST", re.compile(r"^/v1/audio/transcriptions/?$")),
    ("POST", re.compile(r"^/asr/?$")),
)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_media_upload(scope["method"], scope["path"]):
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refusal()(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the app's body read: FastAPI turns it into the response.
                    raise HTTPException(413, self._detail())
            return message

        await self.app(scope, counting_receive, send)

    def _detail(self) -> str:
        return (
            f"Тело запроса больше {self.max_bytes} байт. "
            f"The request body is over {self.max_bytes} bytes."
        )

    def _refusal(self) -> JSONResponse:
        return JSONResponse({"detail": self._detail()}, status_code=413)


def _is_media_upload(method: str, path: str) -> bool:
    return any(
        method == upload_method and route.match(path) for upload_method, route in _MEDIA_UPLOADS
    )
