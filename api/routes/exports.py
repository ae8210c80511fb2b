"""The export formats the server can render: the registry the web UI builds its list from."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from api.auth import require
from efir.accounts.users import Permission
from efir.exports import FORMATS

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/export-formats", tags=["transcripts"])


class ExportFormatPublic(BaseModel):
    name: str
    extension: str
    media_type: str


@router.get("", dependencies=[require(Permission.EXPORT)])
def list_export_formats() -> list[ExportFormatPublic]:
    """Every format ``GET /api/v1/transcripts/{clip_id}/export?format=`` accepts."""
    return [
        ExportFormatPublic(name=name, extension=entry.extension, media_type=entry.media_type)
        for name, entry in FORMATS.items()
    ]
