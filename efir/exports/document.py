"""DOCX as a newsroom prints a transcript: a title, the programme, channel and air date,
then per turn its timecode, the speaker's caption in bold and the words (an
interviewee's in «»)."""

from __future__ import annotations

import io

import docx
from docx.shared import Pt, RGBColor

from efir.exports.text import quoted
from efir.exports.turns import format_clock, turns_of
from efir.search.models import ClipMeta
from efir.transcripts.model import Transcript

__all__ = ["render_docx"]

_TIMECODE_GREY = RGBColor(0x66, 0x66, 0x66)


def render_docx(transcript: Transcript, *, title: str, clip: ClipMeta | None = None) -> bytes:
    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.language = transcript.language
    document.add_heading(title, level=1)
    about = _about(clip) if clip else ""
    if about:
        line = document.add_paragraph().add_run(about)
        line.font.color.rgb = _TIMECODE_GREY
    for turn in turns_of(transcript):
        header = document.add_paragraph()
        header.paragraph_format.space_before = Pt(10)
        header.paragraph_format.keep_with_next = True
        timecode = header.add_run(f"{format_clock(turn.start)}–{format_clock(turn.end)}  ")
        timecode.font.color.rgb = _TIMECODE_GREY
        timecode.font.size = Pt(9)
        header.add_run(f"{turn.heading}:").bold = True
        document.add_paragraph(quoted(turn.text) if turn.quoted else turn.text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _about(clip: ClipMeta) -> str:
    """«Программа: Итоги недели · Канал: Хабар · Эфир: 20.11.2026» (dates the Russian way)."""
    parts = [
        f"Программа: {clip.programme}" if clip.programme else None,
        f"Канал: {clip.channel}" if clip.channel else None,
        f"Эфир: {clip.air_date:%d.%m.%Y}" if clip.air_date else None,
    ]
    return " · ".join(part for part in parts if part)
