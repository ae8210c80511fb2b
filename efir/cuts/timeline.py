"""A selection as an edit: an OpenTimelineIO timeline written as a CMX3600 EDL or FCP XML
(OTIO's own adapters, read by Premiere, Resolve and Avid), and a DOCX script.

Each quote is one clip on one video track, its source range in whole frames at the
timeline's rate; the media reference names the clip's original file, which is what an
editor's bin holds, and the EDL's reel is the first eight characters of the clip id.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import docx
import opentimelineio as otio
from docx.shared import Pt, RGBColor

from efir.cuts.selections import QuoteView
from efir.errors import InvalidCutError

__all__ = [
    "TIMELINE_FORMATS",
    "TimelineFormat",
    "build_timeline",
    "frame_timecode",
    "quote_frames",
    "render_timeline",
]

_GREY = RGBColor(0x66, 0x66, 0x66)


class TimelineFormat(StrEnum):
    EDL = "edl"
    FCPXML = "fcpxml"
    DOCX = "docx"


@dataclass(frozen=True)
class _Written:
    media_type: str
    extension: str


TIMELINE_FORMATS = {
    TimelineFormat.EDL: _Written("text/plain; charset=utf-8", "edl"),
    TimelineFormat.FCPXML: _Written("application/xml", "xml"),
    TimelineFormat.DOCX: _Written(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"
    ),
}


def quote_frames(start_s: float, end_s: float, fps: float) -> tuple[int, int]:
    """A quote's first frame and the frame after its last."""
    first = round(start_s * fps)
    return first, max(first + 1, round(end_s * fps))


def frame_timecode(frame: int, fps: float) -> str:
    """hh:mm:ss:ff, non-drop-frame."""
    rate = round(fps)
    seconds, frames = divmod(frame, rate)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}:{frames:02d}"


def build_timeline(name: str, quotes: Sequence[QuoteView], fps: float) -> otio.schema.Timeline:
    if not quotes:
        raise InvalidCutError("Подборка пуста. The selection is empty.")
    timeline = otio.schema.Timeline(name=name)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for number, view in enumerate(quotes, start=1):
        first, stop = quote_frames(view.quote.start_s, view.quote.end_s, fps)
        available = round((view.clip.duration_s or view.quote.end_s) * fps)
        reference = otio.schema.ExternalReference(
            target_url=view.clip.original_filename,
            available_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, fps), otio.opentime.RationalTime(available, fps)
            ),
        )
        reference.name = view.clip.title or view.clip.original_filename
        clip = otio.schema.Clip(
            name=f"{number:03d} {view.speaker or view.clip.title or view.clip.id}",
            media_reference=reference,
            source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(first, fps),
                otio.opentime.RationalTime(stop - first, fps),
            ),
            metadata={
                "cmx_3600": {"reel": view.clip.id[:8].upper()},
                "efir": {"clip_id": view.clip.id},
            },
        )
        track.append(clip)
    return timeline


def render_timeline(
    fmt: TimelineFormat, name: str, quotes: Sequence[QuoteView], fps: float
) -> bytes:
    if fmt is TimelineFormat.DOCX:
        return _script(name, quotes, fps)
    timeline = build_timeline(name, quotes, fps)
    adapter = "cmx_3600" if fmt is TimelineFormat.EDL else "fcp_xml"
    text: str = otio.adapters.write_to_string(timeline, adapter)
    return text.encode()


def _script(name: str, quotes: Sequence[QuoteView], fps: float) -> bytes:
    """The script an editor reads beside the EDL: per quote its record and source
    timecodes, the clip, the speaker in bold and the words."""
    if not quotes:
        raise InvalidCutError("Подборка пуста. The selection is empty.")
    document = docx.Document()
    document.core_properties.title = name
    document.add_heading(name, level=1)
    record = 0
    for number, view in enumerate(quotes, start=1):
        first, stop = quote_frames(view.quote.start_s, view.quote.end_s, fps)
        header = document.add_paragraph()
        header.paragraph_format.space_before = Pt(10)
        header.paragraph_format.keep_with_next = True
        record_end = record + stop - first
        times = header.add_run(
            f"{number:03d}  {frame_timecode(record, fps)}–{frame_timecode(record_end, fps)}"
            f"  ({view.clip.title or view.clip.original_filename}, "
            f"{frame_timecode(first, fps)}–{frame_timecode(stop, fps)})"
        )
        times.font.color.rgb = _GREY
        times.font.size = Pt(9)
        if view.speaker:
            document.add_paragraph().add_run(f"{view.speaker}:").bold = True
        document.add_paragraph(view.text or "—")
        record += stop - first
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
