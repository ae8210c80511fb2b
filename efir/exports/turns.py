"""Speaker turns as a newsroom transcript prints them: consecutive segments of one speaker."""

from __future__ import annotations

from dataclasses import dataclass

from efir.transcripts.model import SpeakerRole, Transcript

__all__ = ["Turn", "format_clock", "speaker_heading", "turns_of", "voice_name"]


@dataclass(frozen=True)
class Turn:
    start: float
    end: float
    speaker: str | None
    heading: str
    text: str
    quoted: bool  # an interviewee (a synch): the newsroom prints their words in «»
    check: bool = False  # some of it is under a name the speaker stage was unsure of


def speaker_heading(transcript: Transcript, speaker_id: str | None) -> str:
    """ "NAME, TITLE" for a captioned speaker, the role label ("Корр"), else "Спикер N"."""
    speaker = transcript.speaker(speaker_id)
    if speaker is not None and speaker.caption:
        return speaker.caption
    if speaker_id is None:
        return "Спикер"
    known = [s.id for s in transcript.speakers]
    number = known.index(speaker_id) + 1 if speaker_id in known else speaker_id
    return f"Спикер {number}"


def voice_name(transcript: Transcript, speaker_id: str | None) -> str:
    """The speaker's name alone (for WebVTT voices and TTML agents), else their heading."""
    speaker = transcript.speaker(speaker_id)
    if speaker is not None and speaker.name:
        return speaker.name
    return speaker_heading(transcript, speaker_id)


def turns_of(transcript: Transcript) -> list[Turn]:
    turns: list[Turn] = []
    for segment in sorted(transcript.segments, key=lambda s: (s.start, s.end)):
        text = " ".join(segment.text.split())
        if not text:
            continue
        if turns and turns[-1].speaker == segment.speaker:
            last = turns[-1]
            turns[-1] = Turn(
                last.start,
                max(last.end, segment.end),
                last.speaker,
                last.heading,
                f"{last.text} {text}",
                last.quoted,
                last.check or segment.check,
            )
            continue
        speaker = transcript.speaker(segment.speaker)
        turns.append(
            Turn(
                start=segment.start,
                end=segment.end,
                speaker=segment.speaker,
                heading=speaker_heading(transcript, segment.speaker),
                text=text,
                quoted=bool(speaker and (speaker.name or speaker.role is SpeakerRole.INTERVIEWEE)),
                check=segment.check,
            )
        )
    return turns


def format_clock(seconds: float) -> str:
    """hh:mm:ss, as printed next to a turn."""
    whole = max(0, int(seconds))
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
