"""File names for exports that say what they hold: ``<air date>_<programme>_<title>.<ext>``
(``2026-11-20_Новости_Гражданский-форум-в-Костанае.srt``), transliterated on request for
systems that take ASCII only (iuliia, the Wikipedia schema for Russian)."""

from __future__ import annotations

import re
from urllib.parse import quote

import iuliia

from efir.search.models import ClipMeta

__all__ = ["content_disposition", "export_filename"]

_UNSAFE = re.compile(r"[^\w.-]+")
_MAX_STEM = 120


def export_filename(clip: ClipMeta, extension: str, *, transliterate: bool = False) -> str:
    parts = [clip.air_date.isoformat() if clip.air_date else None, clip.programme, clip.title]
    words = [_slug(part, transliterate) for part in parts if part and part.strip()]
    stem = "_".join(word for word in words if word) or clip.clip_id
    return f"{stem[:_MAX_STEM].rstrip('-_.')}.{extension}"


def content_disposition(filename: str) -> str:
    """An attachment header every browser reads: an ASCII ``filename`` and the real one
    in ``filename*`` (RFC 6266)."""
    fallback = _slug(filename.rsplit(".", 1)[0], True) + "." + filename.rsplit(".", 1)[-1]
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def _slug(text: str, transliterate: bool) -> str:
    if transliterate:
        text = iuliia.WIKIPEDIA.translate(text)
        text = text.encode("ascii", "ignore").decode()
    return _UNSAFE.sub("-", text.strip()).strip("-_.")
