"""Exports: one transcript rendered as subtitles (SRT, WebVTT, EBU-TT-D), text, DOCX or JSON.

``render(transcript, "srt")`` returns the file's bytes; ``FORMATS`` lists what can be
asked for, with the media type and file extension to serve it under. Subtitle formats are
cut into cues by broadcast rules (``CueRules``; sources in ``efir.exports.rules``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from efir.exports.rules import CueRules
from efir.exports.text import render_text
from efir.transcript import Transcript

__all__ = ["FORMATS", "CueRules", "ExportFormat", "render"]


@dataclass(frozen=True)
class ExportFormat:
    media_type: str
    extension: str


FORMATS: dict[str, ExportFormat] = {
    "json": ExportFormat("application/json", "json"),
    "txt": ExportFormat("text/plain; charset=utf-8", "txt"),
}

_Renderer = Callable[[Transcript, CueRules, bool], bytes]

_RENDERERS: dict[str, _Renderer] = {
    "json": lambda t, _rules, _tc: t.to_json(indent=2).encode(),
    "txt": lambda t, _rules, timecodes: render_text(t, timecodes=timecodes).encode(),
}


def render(
    transcript: Transcript,
    fmt: str,
    *,
    rules: CueRules | None = None,
    timecodes: bool = False,
) -> bytes:
    """The transcript as a file in format ``fmt`` (a key of ``FORMATS``), UTF-8 encoded.

    ``rules`` cut subtitle cues (defaults if None); ``timecodes`` adds [hh:mm:ss] to each
    turn of the text export. Raises ValueError for an unknown format.
    """
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    return renderer(transcript, rules or CueRules(), timecodes)
