"""Long programmes for tests and benchmarks: fixture stories back to back with gaps.

Both fixtures are 16 kHz mono 16-bit WAV, so a programme is their samples joined with
silence and written as one WAV of the same format, streamed part by part.
"""

from __future__ import annotations

import wave
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from efir.jobs.lifecycle import create_job
from efir.media.clips import record_clip
from efir.media.probe import probe_media
from efir.media.storage.base import MediaStorage, file_chunks
from efir.transcripts.model import Transcript

__all__ = [
    "FIXTURES",
    "SECOND_WAV",
    "SEED_WAV",
    "speaker_agreement",
    "store_clip_job",
    "write_programme",
]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SEED_WAV = FIXTURES / "seed" / "seed.wav"
SECOND_WAV = FIXTURES / "second" / "second.wav"
_RATE = 16_000


def write_programme(out: Path, stories: Sequence[Path], gaps_s: Sequence[float]) -> Path:
    """`stories` in order, story i followed by `gaps_s[i % len(gaps_s)]` of silence."""
    with wave.open(str(out), "wb") as programme:
        programme.setnchannels(1)
        programme.setsampwidth(2)
        programme.setframerate(_RATE)
        for i, story in enumerate(stories):
            with wave.open(str(story)) as source:
                assert source.getframerate() == _RATE and source.getnchannels() == 1
                programme.writeframes(source.readframes(source.getnframes()))
            programme.writeframes(b"\0\0" * int(gaps_s[i % len(gaps_s)] * _RATE))
    return out


def store_clip_job(sessions: sessionmaker[Session], storage: MediaStorage, media: Path) -> str:
    """Store `media` as a clip with a queued job for it; returns the job's id."""
    stored = storage.put_stream(file_chunks(media), max_bytes=10**10)
    with sessions() as session:
        clip = record_clip(session, stored=stored, summary=probe_media(media), filename=media.name)
        return create_job(session, clip_id=clip.id).id


def speaker_agreement(reference: Transcript, other: Transcript) -> tuple[bool, float]:
    """Whether `other` gives each reference speaker its own id, and the share of words
    (matched by start time, 0.1 s) whose id is the one its reference speaker mostly got."""
    by_start = {
        round(w.start, 1): segment.speaker for segment in other.segments for w in segment.words
    }
    got: dict[str | None, list[str | None]] = {}
    for segment in reference.segments:
        for word in segment.words:
            if round(word.start, 1) in by_start:
                got.setdefault(segment.speaker, []).append(by_start[round(word.start, 1)])
    mapping = {ref: max(set(ids), key=ids.count) for ref, ids in got.items()}
    agreeing = sum(ids.count(mapping[ref]) for ref, ids in got.items())
    one_to_one = len(set(mapping.values())) == len(mapping)
    return one_to_one, agreeing / max(1, sum(len(ids) for ids in got.values()))
