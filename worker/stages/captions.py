"""On-screen captions: the lower-third name and title, read from the picture.

For each diarized speaker a few frames are taken inside that speaker's turns
(a second or more past the turn start, where channels show the lower-third).
In each frame the text in the lower part of the picture is located by its
horizontal edge density; when there is none, OCR is skipped, which keeps
anchor and voice-over frames nearly free. Found text is cropped to its band
and read with Tesseract (Russian). Line 1 is the name, the remaining lines the
title. Frames vote: the most frequent normalised name wins, then the most
frequent title read with it; sampling stops early once frames agree.

Lines read for more than one speaker are channel furniture (a ticker, a
programme logo, a story strap), not anyone's caption, and are dropped. The
full frame is deliberately not an OCR fallback: outside the lower part there
is only furniture, which would name every uncaptioned speaker after the story.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from efir.errors import OcrError
from efir.transcripts.model import SpeakerRole, Transcript
from worker.stages.media import grab_frames, probe

__all__ = ["CaptionOptions", "CaptionReading", "read_caption_text", "read_captions"]

_TESSDATA_CANDIDATES = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
)


@dataclass(frozen=True)
class CaptionOptions:
    frames_per_speaker: int = 6
    # Stop sampling a speaker once this many frames read the same name.
    agreeing_frames: int = 2
    # Lower-thirds appear shortly after the cut to the speaker.
    turn_lead_in_s: float = 1.0
    min_turn_s: float = 2.0
    # Fraction of the picture height, from the bottom, searched for caption text.
    lower_part: float = 0.45
    min_confidence: int = 60
    language: str = "rus"
    tessdata_dir: Path | None = None


@dataclass(frozen=True)
class CaptionReading:
    """One frame's OCR of the caption band."""

    lines: tuple[str, ...]
    confidence: int


def read_captions(
    transcript: Transcript, video_path: Path, *, options: CaptionOptions | None = None
) -> Transcript:
    """Speakers whose frames carry a caption get its name, title and the interviewee role.

    Audio-only media (no video stream) return the transcript unchanged."""
    options = options or CaptionOptions()
    if not transcript.speakers or not probe(video_path).has_video:
        return transcript

    keyframes, video_end_s = _keyframe_times(video_path)
    readings: dict[str, list[CaptionReading]] = {}
    with _TesseractReader(options) as reader:
        for speaker in transcript.speakers:
            turns = _speaker_turns(transcript, speaker.id)
            # Audio can outlast the picture: no frame to read past its last one.
            times = [t for t in _sample_times(turns, keyframes, options) if t <= video_end_s]
            frames = grab_frames(video_path, times) if times else []
            readings[speaker.id] = _read_speaker(frames, reader, options)

    captions = _vote(_drop_furniture(readings))
    speakers = tuple(
        replace(s, name=captions[s.id][0], title=captions[s.id][1], role=SpeakerRole.INTERVIEWEE)
        if s.id in captions
        else s
        for s in transcript.speakers
    )
    return replace(transcript, speakers=speakers)


def read_caption_text(
    image: Image.Image, *, options: CaptionOptions | None = None
) -> CaptionReading:
    """OCR of one picture's caption band (empty when the lower part has no text)."""
    options = options or CaptionOptions()
    with _TesseractReader(options) as reader:
        return reader.read(image)


def _speaker_turns(transcript: Transcript, speaker_id: str) -> list[tuple[float, float]]:
    """The speaker's turns (segments less than a second apart joined), longest first."""
    turns: list[tuple[float, float]] = []
    for segment in transcript.segments:
        if segment.speaker != speaker_id:
            continue
        if turns and segment.start - turns[-1][1] < 1.0:
            turns[-1] = (turns[-1][0], segment.end)
        else:
            turns.append((segment.start, segment.end))
    return sorted(turns, key=lambda t: t[0] - t[1])


def _sample_times(
    turns: Sequence[tuple[float, float]], keyframes: Sequence[float], options: CaptionOptions
) -> list[float]:
    """Frame times inside the turns, past the lead-in. Keyframes are preferred: decoding
    one costs a single frame, an arbitrary time the whole group of pictures before it."""
    times: list[float] = []
    for start, end in turns:
        if end - start < options.min_turn_s:
            continue
        lo, hi = start + options.turn_lead_in_s, end - 0.2
        inside = [k for k in keyframes if lo <= k <= hi]
        if len(inside) > 3:
            inside = [inside[0], inside[len(inside) // 2], inside[-1]]
        times.extend(inside or [min(lo, (start + end) / 2)])
    return times[: options.frames_per_speaker]


def _read_speaker(
    frames: Sequence[Image.Image], reader: _TesseractReader, options: CaptionOptions
) -> list[CaptionReading]:
    readings: list[CaptionReading] = []
    for image in frames:
        reading = reader.read(image)
        if reading.lines and reading.confidence >= options.min_confidence:
            readings.append(reading)
            names = Counter(_normalise(r.lines[0]) for r in readings)
            if names.most_common(1)[0][1] >= options.agreeing_frames:
                break
    return readings


def _drop_furniture(readings: dict[str, list[CaptionReading]]) -> dict[str, list[CaptionReading]]:
    seen_by: dict[str, set[str]] = {}
    for speaker_id, speaker_readings in readings.items():
        for reading in speaker_readings:
            for line in reading.lines:
                seen_by.setdefault(_normalise(line), set()).add(speaker_id)
    furniture = {line for line, speakers in seen_by.items() if len(speakers) > 1}
    cleaned: dict[str, list[CaptionReading]] = {}
    for speaker_id, speaker_readings in readings.items():
        kept = [
            replace(r, lines=tuple(line for line in r.lines if _normalise(line) not in furniture))
            for r in speaker_readings
        ]
        cleaned[speaker_id] = [r for r in kept if r.lines]
    return cleaned


def _vote(readings: dict[str, list[CaptionReading]]) -> dict[str, tuple[str, str | None]]:
    """Speaker id → (name, title): majority name, then majority title among its frames."""
    captions: dict[str, tuple[str, str | None]] = {}
    for speaker_id, speaker_readings in readings.items():
        named = [r for r in speaker_readings if _looks_like_name(r.lines[0])]
        if not named:
            continue
        name_key = _majority([_normalise(r.lines[0]) for r in named], named)
        with_name = [r for r in named if _normalise(r.lines[0]) == name_key]
        best = max(with_name, key=lambda r: r.confidence)
        titled = [r for r in with_name if len(r.lines) > 1]
        title = None
        if titled:
            title_key = _majority([_normalise(" ".join(r.lines[1:])) for r in titled], titled)
            title = " ".join(
                max(
                    (r for r in titled if _normalise(" ".join(r.lines[1:])) == title_key),
                    key=lambda r: r.confidence,
                ).lines[1:]
            )
        captions[speaker_id] = (best.lines[0], title)
    return captions


def _majority(keys: list[str], readings: Sequence[CaptionReading]) -> str:
    """Most frequent key; ties go to the higher summed confidence."""
    confidence: Counter[str] = Counter()
    for key, reading in zip(keys, readings, strict=True):
        confidence[key] += reading.confidence
    counts = Counter(keys)
    return max(counts, key=lambda k: (counts[k], confidence[k]))


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.upper().replace("Ё", "Е")).strip(" .,:;|_-—")


def _looks_like_name(line: str) -> bool:
    letters = sum(ch.isalpha() for ch in line)
    return letters >= 3 and letters >= 0.6 * len(line.replace(" ", "")) and len(line) <= 60


class _TesseractReader:
    """One Tesseract engine reused for every frame (loading `rus` costs ~0.3 s)."""

    def __init__(self, options: CaptionOptions) -> None:
        self._options = options

    def __enter__(self) -> _TesseractReader:
        import tesserocr

        self._api = tesserocr.PyTessBaseAPI(
            path=str(_tessdata_dir(self._options)), lang=self._options.language
        )
        return self

    def __exit__(self, *exc: object) -> None:
        self._api.End()

    def read(self, image: Image.Image) -> CaptionReading:
        band = _caption_band(image, self._options.lower_part)
        if band is None:
            return CaptionReading(lines=(), confidence=0)
        # Captions are light text on a dark strap; Tesseract reads dark on light best.
        gray = band.convert("L")
        if np.asarray(gray).mean() < 128:
            gray = ImageOps.invert(gray)
        self._api.SetImage(gray)
        text = self._api.GetUTF8Text()
        lines = tuple(
            re.sub(r"\s+", " ", line).strip() for line in text.splitlines() if line.strip()
        )
        return CaptionReading(lines=lines, confidence=int(self._api.MeanTextConf()))


def _caption_band(image: Image.Image, lower_part: float) -> Image.Image | None:
    """Crop to the rows and columns of the lower part that carry text, with a margin.

    Text rows are found by horizontal edge density: a caption strap's solid
    background has almost no strong horizontal steps, letters have many."""
    gray = np.asarray(image.convert("L"), dtype=np.float32)
    height, width = gray.shape
    top = int(height * (1 - lower_part))
    edges = np.abs(np.diff(gray[top:], axis=1)) > 40
    text_rows = np.flatnonzero(edges.mean(axis=1) > 0.01)
    if len(text_rows) < 8:
        return None
    rows = slice(text_rows.min(), text_rows.max() + 1)
    text_cols = np.flatnonzero(edges[rows].any(axis=0))
    margin = 12
    box = (
        max(0, int(text_cols.min()) - margin),
        max(0, top + int(text_rows.min()) - margin),
        min(width, int(text_cols.max()) + margin),
        min(height, top + int(text_rows.max()) + margin),
    )
    return image.crop(box)


def _tessdata_dir(options: CaptionOptions) -> Path:
    candidates = [options.tessdata_dir, os.environ.get("TESSDATA_PREFIX"), *_TESSDATA_CANDIDATES]
    for candidate in candidates:
        if candidate and (Path(candidate) / f"{options.language}.traineddata").is_file():
            return Path(candidate)
    raise OcrError(
        f"Нет данных Tesseract для языка {options.language!r} "
        f"(no {options.language}.traineddata; install tesseract-ocr-rus or set tessdata_dir)"
    )


def _keyframe_times(path: Path) -> tuple[list[float], float]:
    """Keyframe times and the last frame's time, from the packets alone (no decoding)."""
    import av

    keyframes: list[float] = []
    last_s = 0.0
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        time_base = stream.time_base
        # For mypy: a demuxed video stream has a time base.
        assert time_base is not None  # nosec B101
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            time_s = float(packet.pts * time_base)
            last_s = max(last_s, time_s)
            if packet.is_keyframe:
                keyframes.append(time_s)
    return sorted(keyframes), last_s
