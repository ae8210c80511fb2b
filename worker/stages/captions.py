"""On-screen captions: the lower-third name and title, read from the picture over time.

`scan_captions` samples the picture at most `scan_step_s` apart over the speech
(keyframes where one falls late enough in a step, as decoding one costs a single
frame) and returns when each caption was on screen: the evidence diarization anchors
speakers on (worker/stages/diarize.py).
In each frame the text in the lower part of the picture is located by its horizontal
edge density; when there is none, OCR is skipped, which keeps anchor and voice-over
frames nearly free, and a band that looks like the last one read reuses its reading.
Found text is cropped to its band and read with Tesseract (Russian). Line 1 is the
name, the remaining lines the title.

Lines on screen in most sampled frames are channel furniture (a ticker, a programme
logo, a story strap), not anyone's caption, and are dropped. The full frame is
deliberately not an OCR fallback: outside the lower part there is only furniture,
which would name every uncaptioned speaker after the story.
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
from rapidfuzz import fuzz

from efir.errors import OcrError
from efir.morphology import analyzer
from efir.transcripts.model import SpeakerRole, Transcript
from worker.stages.media import grab_gray_frames, probe

__all__ = [
    "CaptionOptions",
    "CaptionReading",
    "CaptionSpan",
    "name_key",
    "read_caption_text",
    "read_captions",
    "scan_captions",
]

_TESSDATA_CANDIDATES = (
    "/usr/share/tesseract-ocr/5/tessdata",
    "/usr/share/tesseract-ocr/4.00/tessdata",
    "/usr/share/tessdata",
)


# «Абылай-хан КАКЕНОВ», «Наут ВАН ВАУДЕНБЕРГ»: names are short; straps run longer.
_MAX_NAME_WORDS = 5
_NAME_GRAMMEMES = frozenset({"Name", "Surn", "Patr"})
# Rows without text between two lines of one caption are fewer than this.
_LINE_GAP_ROWS = 4
# Text this close to a side of the picture (share of its width) is outside the
# title-safe area broadcast graphics keep to: a crawl running off the screen.
_TITLE_SAFE_MARGIN = 0.02


@dataclass(frozen=True)
class CaptionOptions:
    # A lower third stays 2-4 s at least: sampling every 2 s sees every one of them.
    scan_step_s: float = 2.0
    # Fraction of the picture height, from the bottom, searched for caption text.
    lower_part: float = 0.45
    min_confidence: int = 60
    # A line on screen in more than this share of the sampled frames is furniture.
    furniture_share: float = 0.5
    language: str = "rus"
    tessdata_dir: Path | None = None


@dataclass(frozen=True)
class CaptionReading:
    """One frame's OCR of the caption band."""

    lines: tuple[str, ...]
    confidence: int


@dataclass(frozen=True)
class CaptionSpan:
    """One name caption as seen on screen: from the first to the last sampled frame
    that showed it (the caption itself came up after the sample before `start` and
    went before the sample after `end`)."""

    start: float
    end: float
    name: str
    title: str | None

    @property
    def key(self) -> str:
        return name_key(self.name)


def scan_captions(
    video_path: Path,
    speech: Sequence[tuple[float, float]],
    *,
    options: CaptionOptions | None = None,
) -> list[CaptionSpan]:
    """Name captions over the `speech` spans (seconds), in time order. Audio-only media
    (no video stream) have none."""
    options = options or CaptionOptions()
    if not speech or not probe(video_path).has_video:
        return []
    keyframes, video_end_s = _keyframe_times(video_path)
    times = [t for t in _scan_times(speech, keyframes, options) if t <= video_end_s]
    if not times:
        return []
    readings: list[CaptionReading] = []
    with _TesseractReader(options) as reader:
        last: tuple[np.ndarray, CaptionReading] | None = None
        for gray in grab_gray_frames(video_path, times, keyframes_s=keyframes):
            band = _caption_band(gray, options.lower_part)
            if band is None:
                readings.append(CaptionReading(lines=(), confidence=0))
                continue
            if last is None or not _same_band(last[0], band):
                last = (band, reader.read_band(band))
            readings.append(last[1])
    return _spans(times, _drop_furniture(readings, options), options)


def read_captions(
    transcript: Transcript, video_path: Path, *, options: CaptionOptions | None = None
) -> Transcript:
    """Speakers of an already diarized transcript named after the captions over them: each
    caption goes to the speaker with most speech under it (name, title, interviewee role).

    Audio-only media (no video stream) return the transcript unchanged."""
    if not transcript.speakers:
        return transcript
    speech = [(s.start, s.end) for s in transcript.segments]
    spans = scan_captions(video_path, speech, options=options)
    captions: dict[str, tuple[float, CaptionSpan]] = {}
    for span in spans:
        under: dict[str, float] = {}
        for segment in transcript.segments:
            overlap = min(segment.end, span.end + 0.5) - max(segment.start, span.start - 0.5)
            if overlap > 0 and segment.speaker:
                under[segment.speaker] = under.get(segment.speaker, 0.0) + overlap
        if under:
            speaker_id, seconds = max(under.items(), key=lambda item: item[1])
            if seconds > captions.get(speaker_id, (0.0, span))[0]:
                captions[speaker_id] = (seconds, span)
    speakers = tuple(
        replace(
            s,
            name=captions[s.id][1].name,
            title=captions[s.id][1].title,
            role=SpeakerRole.INTERVIEWEE,
        )
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
        band = _caption_band(np.asarray(image.convert("L")), options.lower_part)
        return reader.read_band(band) if band is not None else CaptionReading((), 0)


def _scan_times(
    speech: Sequence[tuple[float, float]], keyframes: Sequence[float], options: CaptionOptions
) -> list[float]:
    """Samples over the speech (spans under a step apart joined), never more than
    `scan_step_s` apart, so every caption on screen that long is seen. Each sample is the
    latest keyframe in the second half of its step when there is one (decoding it costs
    one frame; any other frame costs the frames since its keyframe), else one step
    before the next keyframe, so that the sample after it is one. With keyframes every
    two steps, every other sample is free."""
    step = options.scan_step_s
    joined: list[tuple[float, float]] = []
    for start, end in sorted(speech):
        if joined and start - joined[-1][1] < step:
            joined[-1] = (joined[-1][0], max(end, joined[-1][1]))
        else:
            joined.append((start, end))
    keys = np.asarray(keyframes, dtype=float)
    times: set[float] = set()
    for start, end in joined:
        previous = start + step / 4 - step  # the first sample a quarter step in
        while previous + step < end:
            target = previous + step
            near = keys[(keys > previous + step / 2) & (keys <= target)]
            ahead = keys[(keys > target) & (keys <= target + step)]
            if len(near):
                previous = float(near.max())
            elif len(ahead):  # a step short of the next keyframe, so the next sample is free
                previous = float(ahead.min()) - step
            else:
                previous = target
            times.add(round(previous, 3))
    return sorted(times)


def _same_band(a: np.ndarray, b: np.ndarray) -> bool:
    """The same caption still on screen: same text box, nearly the same pixels."""
    if abs(a.shape[0] - b.shape[0]) > 4 or abs(a.shape[1] - b.shape[1]) > 8:
        return False
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    diff = np.abs(a[:h, :w].astype(np.int16) - b[:h, :w].astype(np.int16))
    return float(diff.mean()) < 12.0


def _drop_furniture(
    readings: Sequence[CaptionReading], options: CaptionOptions
) -> list[CaptionReading]:
    seen = Counter(line for r in readings for line in {_normalise(x) for x in r.lines})
    limit = options.furniture_share * max(len(readings), 1)
    furniture = {line for line, count in seen.items() if count > limit}
    return [
        replace(r, lines=tuple(x for x in r.lines if _normalise(x) not in furniture))
        if r.confidence >= options.min_confidence
        else CaptionReading(lines=(), confidence=r.confidence)
        for r in readings
    ]


def _spans(
    times: Sequence[float], readings: Sequence[CaptionReading], options: CaptionOptions
) -> list[CaptionSpan]:
    """Runs of consecutive samples reading one name; name and title by majority."""
    runs: list[tuple[str, list[float], list[CaptionReading]]] = []
    previous_t = None
    for t, reading in zip(times, readings, strict=True):
        key = name_key(reading.lines[0]) if reading.lines else ""
        if not key or not _looks_like_name(reading.lines[0]):
            previous_t = None
            continue
        adjacent = previous_t is not None and t - previous_t <= 1.6 * options.scan_step_s
        if runs and adjacent and _similar_keys(runs[-1][0], key):
            runs[-1][1].append(t)
            runs[-1][2].append(reading)
        else:
            runs.append((key, [t], [reading]))
        previous_t = t
    spans = []
    for _, run_times, run_readings in runs:
        name_line = _majority([name_key(r.lines[0]) for r in run_readings], run_readings)
        with_name = [r for r in run_readings if name_key(r.lines[0]) == name_line]
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
        spans.append(CaptionSpan(run_times[0], run_times[-1], best.lines[0], title))
    return spans


def _similar_keys(a: str, b: str) -> bool:
    """One name read twice with an OCR slip in one letter or two."""
    return a == b or fuzz.ratio(a, b) >= 85


def _majority(keys: list[str], readings: Sequence[CaptionReading]) -> str:
    """Most frequent key; ties go to the higher summed confidence."""
    confidence: Counter[str] = Counter()
    for key, reading in zip(keys, readings, strict=True):
        confidence[key] += reading.confidence
    counts = Counter(keys)
    return max(counts, key=lambda k: (counts[k], confidence[k]))


def name_key(name: str) -> str:
    """A caption name for comparison: case, ё/е, spacing and punctuation set aside."""
    return _normalise(name)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.upper().replace("Ё", "Е")).strip(" .,:;|_-—")


def _looks_like_name(line: str) -> bool:
    """A person's name line, not a story strap: letters, at most five words, no digits,
    no preposition or conjunction («ПАВОДОК В ЖИТИКАРЕ», «ЦЕНЫ НА ТОПЛИВО») except a
    surname that reads as one after a first name («Мария ЛИ»), and a
    word the dictionary knows as a name or does not know («ГРАЖДАНСКИЙ ФОРУМ» has none)."""
    letters = sum(ch.isalpha() for ch in line)
    if letters < 3 or letters < 0.6 * len(line.replace(" ", "")) or len(line) > 60:
        return False
    words = re.findall(r"[^\W\d_]+", line)
    if len(words) > _MAX_NAME_WORDS or any(ch.isdigit() for ch in line):
        return False
    morph = analyzer()
    parses = [morph.parse(word.lower()) for word in words]
    function_words = [
        k for k, parsed in enumerate(parses) if {"PREP", "CONJ"} & parsed[0].tag.grammemes
    ]
    # «Мария ЛИ»: a short surname that reads as a particle ends a line after a first name;
    # in a strap the preposition or conjunction sits between words.
    first_name = any("Name" in parsed[0].tag.grammemes for parsed in parses)
    if function_words and not (first_name and function_words == [len(words) - 1]):
        return False
    return any(
        not morph.word_is_known(word.lower())
        or any(_NAME_GRAMMEMES & p.tag.grammemes for p in parsed[:3])
        for word, parsed in zip(words, parses, strict=True)
    )


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

    def read_band(self, band: np.ndarray) -> CaptionReading:
        # Captions are light text on a dark strap; Tesseract reads dark on light best.
        gray = Image.fromarray(band)
        if band.mean() < 128:
            gray = ImageOps.invert(gray)
        self._api.SetImage(gray)
        text = self._api.GetUTF8Text()
        lines = tuple(
            re.sub(r"\s+", " ", line).strip() for line in text.splitlines() if line.strip()
        )
        return CaptionReading(lines=lines, confidence=int(self._api.MeanTextConf()))


def _caption_band(gray: np.ndarray, lower_part: float) -> np.ndarray | None:
    """The rows and columns of the lower part that carry caption text, with a margin
    (8-bit luma); None when there is none.

    Text rows are found by horizontal edge density: a caption strap's solid
    background has almost no strong horizontal steps, letters have many. A line of
    text that reaches the picture's side edges is a crawl (a news ticker), not a
    caption: captions keep inside the title-safe area, and a crawl read as one
    would name every speaker under it."""
    height, width = gray.shape
    top = int(height * (1 - lower_part))
    lower = gray[top:].astype(np.int16)
    edges = np.abs(np.diff(lower, axis=1)) > 40
    text_rows = np.flatnonzero(edges.mean(axis=1) > 0.01)
    if len(text_rows) < 8:
        return None
    caption_rows: list[np.ndarray] = []
    for line in np.split(text_rows, np.flatnonzero(np.diff(text_rows) > _LINE_GAP_ROWS) + 1):
        columns = np.flatnonzero(edges[line].sum(axis=0) >= 2)
        safe = width * _TITLE_SAFE_MARGIN
        if columns.size and (columns.min() < safe or columns.max() > width - 1 - safe):
            continue
        caption_rows.append(line)
    if not caption_rows or sum(line.size for line in caption_rows) < 8:
        return None
    rows = np.concatenate(caption_rows)
    text_cols = np.flatnonzero(edges[rows].any(axis=0))
    margin = 12
    return gray[
        max(0, top + int(rows.min()) - margin) : min(height, top + int(rows.max()) + margin),
        max(0, int(text_cols.min()) - margin) : min(width, int(text_cols.max()) + margin),
    ]


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
        # Integer division gives exactly float(pts * time_base) without building a
        # Fraction per packet (a third of this pass).
        num, den = time_base.numerator, time_base.denominator
        for packet in container.demux(stream):
            if packet.pts is None:
                continue
            time_s = packet.pts * num / den
            last_s = max(last_s, time_s)
            if packet.is_keyframe:
                keyframes.append(time_s)
    return sorted(keyframes), last_s
