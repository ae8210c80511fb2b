"""Exports: one transcript rendered as subtitles (SRT, WebVTT, EBU-TT-D, EBU STL), text,
DOCX or JSON, and the QC report of its subtitle cues.

``render(transcript, "srt")`` returns the file's bytes. ``FORMATS`` is the one registry:
each format's media type, file extension and renderer. The API's ``format`` enum, the
CLI's ``--format`` choices and the web UI's download list all read it, so a new format is
one module plus one line here. Subtitle formats are cut into cues by broadcast rules
(``CueRules``; sources in ``efir.exports.rules``), adjusted by the format's own limits
(``ExportFormat.preset``: STL's teletext lines), and timed to the clip's shot changes
where they are known.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from efir.errors import InvalidExportError
from efir.exports.cues import Cue, build_cues
from efir.exports.document import render_docx
from efir.exports.numbers import NUMBER_STYLES, with_digits
from efir.exports.qc import Violation, check_cues
from efir.exports.rules import CueRules, teletext_rules
from efir.exports.stl import render_stl
from efir.exports.subtitles import render_srt, render_vtt
from efir.exports.text import render_text
from efir.exports.ttml import render_ttml
from efir.search.models import ClipMeta
from efir.transcripts.model import Transcript

__all__ = [
    "FORMATS",
    "NUMBER_STYLES",
    "Cue",
    "CueRules",
    "ExportFormat",
    "ExportRequest",
    "Violation",
    "build_cues",
    "export_format",
    "is_cue_format",
    "quality_check",
    "render",
]

DEFAULT_TITLE = "Расшифровка эфира"


@dataclass(frozen=True)
class ExportRequest:
    """What a renderer gets: the transcript and the caller's options."""

    transcript: Transcript
    rules: CueRules
    timecodes: bool
    title: str
    clip: ClipMeta | None = None  # programme, channel, air date for headers
    mark_checks: bool = False  # the text export marks turns whose speaker is to be checked
    shot_changes: tuple[float, ...] = ()  # s; subtitle cues are timed to them

    def cues(self) -> list[Cue]:
        return build_cues(self.transcript, self.rules, self.shot_changes)


def _same_rules(rules: CueRules) -> CueRules:
    return rules


@dataclass(frozen=True)
class ExportFormat:
    media_type: str
    extension: str
    render: Callable[[ExportRequest], bytes]
    preset: Callable[[CueRules], CueRules] = _same_rules  # the format's own limits
    cues: bool = False  # cut into cues, which are timed to the picture's shot changes


FORMATS: dict[str, ExportFormat] = {
    "srt": ExportFormat(
        "application/x-subrip; charset=utf-8",
        "srt",
        lambda r: render_srt(r.cues()).encode(),
        cues=True,
    ),
    "vtt": ExportFormat(
        "text/vtt; charset=utf-8",
        "vtt",
        lambda r: render_vtt(r.cues(), r.transcript).encode(),
        cues=True,
    ),
    "ttml": ExportFormat(
        "application/ttml+xml",
        "ttml",
        lambda r: render_ttml(r.cues(), r.transcript, fps=r.rules.fps, frame_timecodes=r.timecodes),
        cues=True,
    ),
    "stl": ExportFormat(
        "application/x-ebu-stl",
        "stl",
        lambda r: render_stl(r.cues(), title=r.title),
        preset=teletext_rules,
        cues=True,
    ),
    "txt": ExportFormat(
        "text/plain; charset=utf-8",
        "txt",
        lambda r: render_text(
            r.transcript, timecodes=r.timecodes, mark_checks=r.mark_checks
        ).encode(),
    ),
    "docx": ExportFormat(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "docx",
        lambda r: render_docx(r.transcript, title=r.title, clip=r.clip),
    ),
    "json": ExportFormat(
        "application/json", "json", lambda r: r.transcript.to_json(indent=2).encode()
    ),
}


def is_cue_format(name: str) -> bool:
    """Whether the registered format ``name`` is cut into cues, which are timed to the
    picture's shot changes (asked of the registry, so a plugged-in format counts too)."""
    found = FORMATS.get(name)
    return found is not None and found.cues


def export_format(name: str) -> ExportFormat:
    """The registered format ``name``; InvalidExportError (422 in the API) if none."""
    found = FORMATS.get(name)
    if found is None:
        raise InvalidExportError(
            f"Неизвестный формат {name!r}; форматы: {', '.join(FORMATS)}. "
            f"Unknown export format {name!r}; formats: {', '.join(FORMATS)}."
        )
    return found


def render(
    transcript: Transcript,
    fmt: str,
    *,
    rules: CueRules | None = None,
    timecodes: bool = False,
    title: str | None = None,
    clip: ClipMeta | None = None,
    mark_checks: bool = False,
    numbers: str = "words",
    shot_changes: Sequence[float] = (),
) -> bytes:
    """The transcript as a file in format ``fmt`` (a key of ``FORMATS``), UTF-8 encoded.

    ``rules`` cut subtitle cues (defaults if None); ``timecodes`` adds [hh:mm:ss] to each
    turn of the text export and makes TTML times frame timecodes (hh:mm:ss:ff at
    ``rules.fps``); ``title`` (else the clip's) heads the DOCX, with the ``clip's
    programme, channel and air date under it; ``mark_checks`` marks the text export's turns
    whose speaker is flagged for checking; ``numbers="digits"`` writes spelled-out numbers
    as digits; subtitle cues are timed to ``shot_changes`` (s). Raises InvalidExportError
    for an unknown format or number style.
    """
    chosen = export_format(fmt)
    transcript = _numbered(transcript, numbers)
    heading = title or (clip.title if clip else None) or DEFAULT_TITLE
    request = ExportRequest(
        transcript,
        chosen.preset(rules or CueRules()),
        timecodes,
        heading,
        clip,
        mark_checks=mark_checks,
        shot_changes=tuple(shot_changes),
    )
    return chosen.render(request)


def quality_check(
    transcript: Transcript,
    fmt: str = "srt",
    *,
    rules: CueRules | None = None,
    numbers: str = "words",
    shot_changes: Sequence[float] = (),
) -> tuple[CueRules, list[Violation]]:
    """The rules a subtitle export in ``fmt`` applies and every rule its cues break (the
    QC report); the same cues ``render`` writes. Raises InvalidExportError as it does."""
    applied = export_format(fmt).preset(rules or CueRules())
    cues = build_cues(_numbered(transcript, numbers), applied, shot_changes)
    return applied, check_cues(cues, applied, shot_changes)


def _numbered(transcript: Transcript, numbers: str) -> Transcript:
    if numbers not in NUMBER_STYLES:
        raise InvalidExportError(
            f"Неизвестный вид чисел {numbers!r}; допустимо: {', '.join(NUMBER_STYLES)}. "
            f"Unknown numbers style {numbers!r}; choose one of: {', '.join(NUMBER_STYLES)}."
        )
    return with_digits(transcript) if numbers == "digits" else transcript
