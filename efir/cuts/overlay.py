"""What a cut shows over its picture or beside it: subtitle cues cut by the broadcast
rules (efir.exports.build_cues) from the words inside the cut, on the cut's own
timeline, as an ASS script for libass to burn (written by pysubs2) or a sidecar SRT;
and the speaker's caption as a lower third for its first seconds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import pysubs2

from efir.cuts.spec import CutSpan, cropped_transcript
from efir.exports import Cue, CueRules, build_cues
from efir.transcripts.model import Speaker, Transcript

__all__ = [
    "LOWER_THIRD_S",
    "ReelQuote",
    "cut_cues",
    "lower_third_speaker",
    "reel_cues",
    "render_ass",
    "shots_within",
]

LOWER_THIRD_S = 4.0
_WHITE = pysubs2.Color(255, 255, 255)
_BOX = pysubs2.Color(0, 0, 0, 0)  # ASS alpha 0: an opaque box, legible over any picture


def cut_cues(
    transcript: Transcript,
    start_s: float,
    end_s: float,
    rules: CueRules,
    shot_changes: Sequence[float] = (),
) -> list[Cue]:
    """Cues of the words within [start_s, end_s], timed from ``start_s`` by ``rules`` (at
    the cut's frame rate), and to the clip's ``shot_changes`` (s on the clip) in the cut."""
    return build_cues(
        cropped_transcript(transcript, start_s, end_s),
        rules,
        shots_within(shot_changes, start_s, end_s),
    )


@dataclass(frozen=True)
class ReelQuote:
    """One quote of a rough cut: ``frames`` frames of its clip from ``first_frame``."""

    transcript: Transcript
    first_frame: int
    frames: int
    shot_changes: Sequence[float] = ()


def reel_cues(quotes: Sequence[ReelQuote], rules: CueRules) -> list[Cue]:
    """Each quote's own cues (``rules`` at the reel's frame rate) on the reel's timeline:
    shifted by the frames of the quotes before it, none past its own last frame."""
    cues: list[Cue] = []
    offset = 0
    for quote in quotes:
        start_s = quote.first_frame / rules.fps
        end_s = (quote.first_frame + quote.frames) / rules.fps
        for cue in cut_cues(quote.transcript, start_s, end_s, rules, quote.shot_changes):
            end_frame = min(cue.end_frame, quote.frames)
            if end_frame > cue.start_frame:
                cues.append(
                    replace(cue, start_frame=offset + cue.start_frame, end_frame=offset + end_frame)
                )
        offset += quote.frames
    return cues


def shots_within(shot_changes: Sequence[float], start_s: float, end_s: float) -> list[float]:
    """The shot changes strictly inside [start_s, end_s], on the cut's own timeline."""
    return [t - start_s for t in shot_changes if start_s < t < end_s]


def lower_third_speaker(transcript: Transcript, span: CutSpan) -> Speaker | None:
    """The named speaker of the cut's first words, if a caption names them."""
    for segment in transcript.segments:
        if segment.end > span.speech_start_s and segment.start < span.speech_end_s:
            speaker = transcript.speaker(segment.speaker)
            return speaker if speaker is not None and speaker.name else None
    return None


def render_ass(
    cues: list[Cue],
    *,
    width: int,
    height: int,
    lower_third: Speaker | None = None,
    lower_third_from_s: float = 0.0,
) -> str:
    """An ASS script sized to the picture: white text in a dark box at the bottom centre
    (the cues), and a name and title over the left of the lower third."""
    subs = pysubs2.SSAFile()
    subs.info["PlayResX"] = str(width)
    subs.info["PlayResY"] = str(height)
    subs.info["WrapStyle"] = "2"  # the cue's own line breaks only
    size = round(height * 0.05)
    subs.styles["Default"] = pysubs2.SSAStyle(
        fontname="DejaVu Sans",
        fontsize=size,
        primarycolor=_WHITE,
        outlinecolor=_BOX,
        backcolor=_BOX,
        borderstyle=3,
        outline=round(size * 0.25),
        shadow=0,
        alignment=pysubs2.Alignment.BOTTOM_CENTER,
        marginv=round(height * 0.05),
    )
    for cue in cues:
        event = pysubs2.SSAEvent(start=cue.start_ms, end=cue.end_ms, style="Default")
        event.plaintext = cue.text
        subs.append(event)
    if lower_third is not None and lower_third.name:
        # The cues' boxed white text, smaller, over the left of the lower third.
        lower = subs.styles["Default"].copy()
        lower.fontsize = round(size * 0.8)
        lower.outline = round(size * 0.2)
        lower.alignment = pysubs2.Alignment.BOTTOM_LEFT
        lower.marginl = round(width * 0.05)
        lower.marginv = round(height * 0.3)
        subs.styles["LowerThird"] = lower
        start_ms = round(lower_third_from_s * 1000)
        event = pysubs2.SSAEvent(
            start=start_ms, end=start_ms + round(LOWER_THIRD_S * 1000), style="LowerThird"
        )
        title = f"\\N{_ass_text(lower_third.title)}" if lower_third.title else ""
        event.text = f"{{\\b1}}{_ass_text(lower_third.name)}{{\\b0}}{title}"  # the name bold
        subs.append(event)
    text: str = subs.to_string("ass")
    return text


def _ass_text(text: str) -> str:
    """Plain text inside an event that also holds override tags: no braces, no backslashes."""
    return text.replace("{", "(").replace("}", ")").replace("\\", "/").replace("\n", " ")
