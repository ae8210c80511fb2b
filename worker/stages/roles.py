"""Roles for speakers nobody captioned: who is the anchor, who the correspondent.

A TV news item is built the same way almost everywhere: the anchor reads the
lead in the studio, then the correspondent's voice-over carries the story
between interviewees, who are the ones the channel captions. So:

* a speaker with a role already (read from a caption, known from the voice
  registry, set by an editor) keeps it; a named speaker without one is an
  interviewee;
* the speaker who opens the programme, if still unplaced, is the anchor
  ("Ведущий");
* of the unplaced rest, the one with the most speech time is the
  correspondent ("Корр");
* anyone left is "other". A role already known in the clip (say the registry
  recognised the correspondent) is not handed out a second time.

The guess is wrong for an item that opens straight on voice-over (its
correspondent becomes "anchor"); editors correct roles, and the registry then
remembers the voice with its role.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from efir.transcripts.model import SpeakerRole, Transcript

__all__ = ["assign_roles"]


def assign_roles(transcript: Transcript) -> Transcript:
    speech_s: defaultdict[str, float] = defaultdict(float)
    for segment in transcript.segments:
        if segment.speaker is not None:
            speech_s[segment.speaker] += segment.end - segment.start

    unplaced = [s.id for s in transcript.speakers if s.role is None and not s.name]
    known = {s.role for s in transcript.speakers}
    opener = (
        min(transcript.segments, key=lambda s: s.start).speaker if transcript.segments else None
    )
    anchor = opener if opener in unplaced and SpeakerRole.ANCHOR not in known else None
    others = [sid for sid in unplaced if sid != anchor]
    correspondent = None
    if SpeakerRole.CORRESPONDENT not in known:
        correspondent = max(others, key=lambda sid: speech_s[sid], default=None)

    def role_of(speaker_id: str, current: SpeakerRole | None, named: bool) -> SpeakerRole:
        if current is not None:
            return current
        if named:
            return SpeakerRole.INTERVIEWEE
        if speaker_id == anchor:
            return SpeakerRole.ANCHOR
        if speaker_id == correspondent:
            return SpeakerRole.CORRESPONDENT
        return SpeakerRole.OTHER

    speakers = tuple(
        replace(s, role=role_of(s.id, s.role, bool(s.name))) for s in transcript.speakers
    )
    return replace(transcript, speakers=speakers)
