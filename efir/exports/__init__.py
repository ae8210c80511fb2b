"""Exports: one transcript rendered as subtitles (SRT, WebVTT, EBU-TT-D), text, DOCX or JSON.

``render(transcript, "srt")`` returns the file's bytes; ``FORMATS`` lists what can be
asked for, with the media type and file extension to serve it under. Subtitle formats are
cut into cues by broadcast rules (``CueRules``; sources in ``efir.exports.rules``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from efir.exports.cues import Cue, build_cues
from efir.exports.document import render_docx
from efir.exports.numbers import NUMBER_STYLES, with_digits
from efir.exports.rules import CueRules
from efir.exports.subtitles import render_srt, render_vtt
from efir.exports.text import render_text
from efir.exports.ttml import render_ttml
from efir.transcript import Transcript

__all__ = [
    "FORMATS",
    "NUMBER_STYLES",
    "Cue",
    "CueRules",
    "ExportFormat",
    "build_cues",
    "render",
]

DEFAULT_TITLE = "Расшифровка эфира"


@dataclass(frozen=True)
class ExportFormat:
    media_type: str
    extension: str


FORMATS: dict[str, ExportFormat] = {
    "srt": ExportFormat("application/x-subrip; charset=utf-8", "srt"),
    "vtt": ExportFormat("text/vtt; charset=utf-8", "vtt"),
    "ttml": ExportFormat("application/ttml+xml", "ttml"),
    "txt": ExportFormat("text/plain; charset=utf-8", "txt"),
    "docx": ExportFormat(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"
    ),
    "json": ExportFormat("application/json", "json"),
}


@dataclass(frozen=True)
class _Request:
    transcript: Transcript
    rules: CueRules
    timecodes: bool
    title: str

    def cues(self) -> list[Cue]:
        return build_cues(self.transcript, self.rules)


_RENDERERS: dict[str, Callable[[_Request], bytes]] = {
    "srt": lambda r: render_srt(r.cues()).encode(),
    "vtt": lambda r: render_vtt(r.cues(), r.transcript).encode(),
    "ttml": lambda r: render_ttml(
        r.cues(), r.transcript, fps=r.rules.fps, frame_timecodes=r.timecodes
    ),
    "txt": lambda r: render_text(r.transcript, timecodes=r.timecodes).encode(),
    "docx": lambda r: render_docx(r.transcript, title=r.title),
    "json": lambda r: r.transcript.to_json(indent=2).encode(),
}


def render(
    transcript: Transcript,
    fmt: str,
    *,
    rules: CueRules | None = None,
    timecodes: bool = False,
    title: str | None = None,
    numbers: str = "words",
) -> bytes:
    """The transcript as a file in format ``fmt`` (a key of ``FORMATS``), UTF-8 encoded.

    ``rules`` cut subtitle cues (defaults if None); ``timecodes`` adds [hh:mm:ss] to each
    turn of the text export and makes TTML times frame timecodes (hh:mm:ss:ff at
    ``rules.fps``); ``title`` heads the DOCX; ``numbers="digits"`` writes spelled-out
    numbers as digits. Raises ValueError for an unknown format or number style.
    """
    renderer = _RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"unknown export format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if numbers not in NUMBER_STYLES:
        raise ValueError(
            f"неизвестный вид чисел {numbers!r} (unknown numbers style);"
            f" choose one of: {', '.join(NUMBER_STYLES)}"
        )
    if numbers == "digits":
        transcript = with_digits(transcript)
    request = _Request(transcript, rules or CueRules(), timecodes, title or DEFAULT_TITLE)
    return renderer(request)
