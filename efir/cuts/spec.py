"""What a cut asks for, and where it really starts and ends.

A cut is asked by times (``start_s``/``end_s``) or by segment ids. Its in and out points
are snapped outwards to word edges, so no word is cut in half: a time inside a word moves
to that word's start (in) or end (out); a time in a silence moves to the next word's
start (in) or the previous word's end (out). A handle of ``handle_s`` is then added on
each side (clamped to the media), and both points are rounded to the clip's frames, so
the file lasts a whole number of frames within one frame of the snapped span plus handles.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from efir.errors import InvalidCutError, InvalidExportError
from efir.exports.rules import CueRules
from efir.transcripts.edits import align_words, share_span
from efir.transcripts.model import Segment, Transcript, Word

__all__ = [
    "DEFAULT_HANDLE_S",
    "MAX_HANDLE_S",
    "SIDECAR_FORMATS",
    "CutFormat",
    "CutRequest",
    "CutSpan",
    "SubtitleMode",
    "cropped_transcript",
    "frame_span",
    "resolve_span",
    "timed_words",
]

DEFAULT_HANDLE_S = 0.2
MAX_HANDLE_S = 5.0
# The subtitle exports (efir.exports.FORMATS) a sidecar may be written as.
SIDECAR_FORMATS = ("srt", "vtt", "ttml")


class CutFormat(StrEnum):
    MP4 = "mp4"  # H.264/AAC
    MP3 = "mp3"
    WAV = "wav"

    @property
    def has_video(self) -> bool:
        return self is CutFormat.MP4

    @property
    def media_type(self) -> str:
        return {"mp4": "video/mp4", "mp3": "audio/mpeg", "wav": "audio/wav"}[self.value]


class SubtitleMode(StrEnum):
    BURN = "burn"  # drawn into the picture (MP4 only)
    SIDECAR = "sidecar"  # a subtitle file beside the media (``CutRequest.sidecar``)
    NONE = "none"


@dataclass(frozen=True)
class CutRequest:
    """One quote to cut from one clip; ``revision`` None means the latest transcript."""

    start_s: float | None = None
    end_s: float | None = None
    segment_ids: tuple[int, ...] = ()
    handle_s: float = DEFAULT_HANDLE_S
    format: CutFormat = CutFormat.MP4
    subtitles: SubtitleMode = SubtitleMode.NONE
    lower_third: bool = False
    revision: int | None = None
    sidecar: str = "srt"
    # Subtitle rule overrides (efir.exports.rules names), for burned and sidecar cues.
    rules: tuple[tuple[str, float], ...] = ()

    def __post_init__(self) -> None:
        by_times = self.start_s is not None or self.end_s is not None
        if by_times == bool(self.segment_ids):
            raise InvalidCutError(
                "Укажите либо начало и конец (start_s, end_s), либо номера реплик. "
                "Give either start_s and end_s or segment ids, not both."
            )
        if by_times and (self.start_s is None or self.end_s is None):
            raise InvalidCutError("Нужны и начало, и конец. Both start_s and end_s are needed.")
        if self.start_s is not None and self.end_s is not None and self.start_s >= self.end_s:
            raise InvalidCutError(
                f"Начало ({self.start_s:g} с) должно быть раньше конца ({self.end_s:g} с). "
                f"The start ({self.start_s:g} s) must come before the end ({self.end_s:g} s)."
            )
        if self.start_s is not None and self.start_s < 0:
            raise InvalidCutError(
                "Начало не может быть отрицательным. The start cannot be negative."
            )
        if not 0 <= self.handle_s <= MAX_HANDLE_S:
            raise InvalidCutError(
                f"Запас (handle_s) должен быть от 0 до {MAX_HANDLE_S:g} с. "
                f"The handle (handle_s) must be between 0 and {MAX_HANDLE_S:g} s."
            )
        if self.subtitles is SubtitleMode.BURN and not self.format.has_video:
            raise InvalidCutError(
                "Вшить субтитры можно только в видео (mp4). "
                "Subtitles can be burned into video (mp4) only."
            )
        if self.sidecar not in SIDECAR_FORMATS:
            raise InvalidCutError(
                f"Субтитры рядом пишутся в {', '.join(SIDECAR_FORMATS)}. "
                f"Sidecar subtitles are one of {', '.join(SIDECAR_FORMATS)}."
            )
        if self.lower_third and not self.format.has_video:
            raise InvalidCutError(
                "Титр с именем можно показать только в видео (mp4). "
                "A lower third needs video (mp4)."
            )
        if any(name == "fps" for name, _ in self.rules):
            raise InvalidCutError(
                "Частота кадров нарезки — частота кадров сюжета. "
                "A cut's frame rate is its clip's; fps cannot be set."
            )
        self.cue_rules(CueRules().fps)  # a bad rule is refused before anything is queued

    def cue_rules(self, fps: float) -> CueRules:
        """The subtitle rules of this cut's cues at the cut's frame rate."""
        try:
            rules = CueRules.from_query(dict(self.rules), strict=True)
        except InvalidExportError as error:
            raise InvalidCutError(
                f"Неверное правило субтитров: {error}. Bad subtitle rule: {error}."
            ) from None
        return replace(rules, fps=fps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "start_s": self.start_s,
            "end_s": self.end_s,
            "segment_ids": list(self.segment_ids),
            "handle_s": self.handle_s,
            "format": self.format.value,
            "subtitles": self.subtitles.value,
            "lower_third": self.lower_third,
            "revision": self.revision,
            "sidecar": self.sidecar,
            "rules": dict(self.rules),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CutRequest:
        return cls(
            start_s=data.get("start_s"),
            end_s=data.get("end_s"),
            segment_ids=tuple(data.get("segment_ids") or ()),
            handle_s=float(data.get("handle_s", DEFAULT_HANDLE_S)),
            format=CutFormat(data.get("format", "mp4")),
            subtitles=SubtitleMode(data.get("subtitles", "none")),
            lower_third=bool(data.get("lower_third", False)),
            revision=data.get("revision"),
            sidecar=str(data.get("sidecar", "srt")),
            rules=tuple((data.get("rules") or {}).items()),
        )


@dataclass(frozen=True)
class CutSpan:
    """Where a cut lies on the clip's timeline: the snapped speech and the handles."""

    speech_start_s: float
    speech_end_s: float
    in_s: float
    out_s: float

    @property
    def duration_s(self) -> float:
        return self.out_s - self.in_s


def timed_words(segment: Segment) -> tuple[Word, ...]:
    """The segment's text as timed words, as the cue cutter sees them (edited text keeps
    the old words' times; a segment without words shares its span by length)."""
    return align_words(segment.words, segment.text) or tuple(
        share_span((segment.start, segment.end), segment.text.split())
    )


def resolve_span(transcript: Transcript, request: CutRequest, duration_s: float) -> CutSpan:
    """The cut's snapped span on a clip lasting ``duration_s``; InvalidCutError (422)
    for a span past the media's end or segment ids the transcript does not have."""
    if request.segment_ids:
        chosen = [s for s in transcript.segments if s.id in set(request.segment_ids)]
        missing = set(request.segment_ids) - {s.id for s in chosen}
        if missing:
            raise InvalidCutError(
                f"В расшифровке нет реплик {sorted(missing)}. "
                f"The transcript has no segments {sorted(missing)}."
            )
        start, end = min(s.start for s in chosen), max(s.end for s in chosen)
    else:
        # Both set: CutRequest refuses one without the other.
        start, end = request.start_s or 0.0, request.end_s or 0.0
    if start >= duration_s:
        raise InvalidCutError(
            f"Начало ({start:g} с) за концом записи ({duration_s:.2f} с). "
            f"The start ({start:g} s) is past the end of the media ({duration_s:.2f} s)."
        )
    if end > duration_s + 0.5:
        raise InvalidCutError(
            f"Конец ({end:g} с) за концом записи ({duration_s:.2f} с). "
            f"The end ({end:g} s) is past the end of the media ({duration_s:.2f} s)."
        )
    end = min(end, duration_s)
    words = [w for s in transcript.segments for w in timed_words(s)]
    snapped_start, snapped_end = _snap(words, start, end)
    return CutSpan(
        speech_start_s=snapped_start,
        speech_end_s=snapped_end,
        in_s=max(0.0, snapped_start - request.handle_s),
        out_s=min(duration_s, snapped_end + request.handle_s),
    )


def _snap(words: list[Word], start: float, end: float) -> tuple[float, float]:
    """Outwards to the words the span touches, inwards across silence at its edges; the
    times as given when no word lies in the span."""
    inside = [w for w in words if w.end > start and w.start < end]
    if not inside:
        return start, end
    return min(w.start for w in inside), max(w.end for w in inside)


def frame_span(span: CutSpan, fps: float) -> tuple[int, int]:
    """The cut's first frame and the frame after its last, at ``fps``."""
    first = round(span.in_s * fps)
    return first, max(first + 1, round(span.out_s * fps))


def cropped_transcript(transcript: Transcript, start_s: float, end_s: float) -> Transcript:
    """The words lying within [start_s, end_s] (by their middle), on a timeline that
    starts at ``start_s``: what the cut's subtitles show."""
    segments = []
    for segment in transcript.segments:
        kept = [
            replace(w, start=max(0.0, w.start - start_s), end=min(end_s, w.end) - start_s)
            for w in timed_words(segment)
            if start_s <= (w.start + w.end) / 2 <= end_s
        ]
        if kept:
            segments.append(
                replace(
                    segment,
                    start=kept[0].start,
                    end=kept[-1].end,
                    text=" ".join(w.word.strip() for w in kept),
                    words=tuple(kept),
                )
            )
    return replace(transcript, duration=end_s - start_s, segments=tuple(segments)).renumbered()
