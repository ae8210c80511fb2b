"""A subtitle validator independent of the exporter: files are read back with other
libraries (pysubs2, webvtt-py, xml.etree) and every cue is checked against CueRules.

Also builds the fixtures' ground-truth transcripts (``truth_transcript``) that the export
and edit tests run on: the truth's turns, speakers, captions and Festival word times.
"""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pysubs2
import webvtt

from efir.exports import render
from efir.exports.cues import DASH
from efir.exports.rules import CLINGING_WORDS, CueRules, visible_length
from efir.transcripts.model import Segment, Speaker, SpeakerRole, Transcript, Word

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
TRUTH_FIXTURES = sorted(path.parent.name for path in FIXTURES.glob("*/*.truth.json"))
TT = "{http://www.w3.org/ns/ttml}"
TTM_AGENT = "{http://www.w3.org/ns/ttml#metadata}agent"
_VOICE = re.compile(r"<v(?:\.[\w.]+)?\s+([^>]+)>")
_OPENING_PUNCTUATION = "«„\"“(['"
# Timing tolerance: files store milliseconds, frames at 25 fps are whole milliseconds.
_EPS = 1e-3


@dataclass(frozen=True)
class ReadCue:
    start: float
    end: float
    lines: tuple[str, ...]
    voices: tuple[str, ...] = ()  # WebVTT <v> / TTML agents, when the format has them

    @property
    def spoken_text(self) -> str:
        """The words of the cue without the dash-line markers, lines joined by a space."""
        lines = self.lines
        if len(lines) > 1 and all(line.startswith(DASH) for line in lines):
            lines = tuple(line[len(DASH) :] for line in lines)
        return " ".join(lines)


def read_srt(text: str) -> list[ReadCue]:
    subs = pysubs2.SSAFile.from_string(text, format_="srt", keep_unknown_html_tags=True)
    return [
        ReadCue(event.start / 1000, event.end / 1000, tuple(event.plaintext.split("\n")))
        for event in subs
    ]


def read_vtt(text: str) -> list[ReadCue]:
    cues = []
    for caption in webvtt.from_string(text):
        voices = tuple(_VOICE.findall(caption.raw_text))
        lines = tuple(html.unescape(line) for line in caption.text.split("\n"))
        start, end = caption.start_time.in_milliseconds(), caption.end_time.in_milliseconds()
        cues.append(ReadCue(start / 1000, end / 1000, lines, voices))
    return cues


def read_ttml(data: bytes) -> list[ReadCue]:
    root = ET.fromstring(data)
    agents = {
        agent.get("{http://www.w3.org/XML/1998/namespace}id"): agent.findtext(
            "{http://www.w3.org/ns/ttml#metadata}name"
        )
        for agent in root.iter("{http://www.w3.org/ns/ttml#metadata}agent")
    }
    frame_rate = float(root.get("{http://www.w3.org/ns/ttml#parameter}frameRate", "0"))
    cues = []
    for paragraph in root.iter(f"{TT}p"):
        spans = paragraph.findall(f"{TT}span")
        cues.append(
            ReadCue(
                _clock_seconds(paragraph.get("begin", ""), frame_rate),
                _clock_seconds(paragraph.get("end", ""), frame_rate),
                tuple(span.text or "" for span in spans),
                tuple(str(agents[span.get(TTM_AGENT)]) for span in spans),
            )
        )
    return cues


def _clock_seconds(clock: str, frame_rate: float) -> float:
    """TTML clock time: hh:mm:ss.fraction, or hh:mm:ss:frames at ``frame_rate``."""
    hours, minutes, seconds, *frames = clock.split(":")
    total = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    return total + (int(frames[0]) / frame_rate if frames else 0.0)


def violations(cues: Sequence[ReadCue], rules: CueRules) -> list[str]:
    """Every broken rule, one message per cue and rule; empty when all cues pass."""
    found: list[str] = []
    gap_s = rules.min_gap_frames / rules.fps
    for number, cue in enumerate(cues, start=1):
        where = f"cue {number} [{cue.start:.3f}–{cue.end:.3f}] {' | '.join(cue.lines)!r}"
        duration = cue.end - cue.start
        if len(cue.lines) > rules.max_lines:
            found.append(f"{where}: {len(cue.lines)} lines > {rules.max_lines}")
        for line in cue.lines:
            if visible_length(line) > rules.max_chars_per_line:
                found.append(f"{where}: line of {visible_length(line)} characters")
        for index, line in enumerate(cue.lines, start=1):
            last_word = line.split()[-1].lower().lstrip(_OPENING_PUNCTUATION)
            if last_word in CLINGING_WORDS:
                place = "line" if index < len(cue.lines) else "cue"
                found.append(f"{where}: {place} ends on {last_word!r}")
        dash_lines = [line.startswith(DASH) for line in cue.lines]
        if any(dash_lines) and not (all(dash_lines) and len(cue.lines) == 2):
            found.append(f"{where}: a dash line outside a two-speaker cue")
        if len(set(cue.voices)) > 1 and not all(dash_lines):
            found.append(f"{where}: two speakers without dash lines")
        if duration < rules.min_duration_s - _EPS:
            found.append(f"{where}: {duration:.3f} s shorter than {rules.min_duration_s:.3f} s")
        if duration > rules.max_duration_s + _EPS:
            found.append(f"{where}: {duration:.3f} s longer than {rules.max_duration_s} s")
        if duration > 0:
            cps = visible_length(" ".join(cue.lines)) / duration
            if cps > rules.max_cps + _EPS:
                found.append(f"{where}: {cps:.1f} characters per second > {rules.max_cps}")
        for name, time in (("start", cue.start), ("end", cue.end)):
            if abs(time * rules.fps - round(time * rules.fps)) > _EPS * rules.fps:
                found.append(f"{where}: {name} is not on a frame")
        if number > 1:
            previous = cues[number - 2]
            if cue.start < previous.start:
                found.append(f"{where}: starts before the previous cue")
            elif cue.start - previous.end < gap_s - _EPS:
                found.append(f"{where}: gap {cue.start - previous.end:.3f} s < {gap_s:.3f} s")
    return found


def spoken_text(cues: Sequence[ReadCue]) -> str:
    return normalised(" ".join(cue.spoken_text for cue in cues))


def normalised(text: str) -> str:
    return " ".join(text.split())


def read_back(
    transcript: Transcript, fmt: str, rules: CueRules | None = None, *, timecodes: bool = False
) -> list[ReadCue]:
    """Render a subtitle format and read it back with the independent reader."""
    data = render(transcript, fmt, rules=rules, timecodes=timecodes)
    if fmt == "ttml":
        return read_ttml(data)
    reader = {"srt": read_srt, "vtt": read_vtt}[fmt]
    return reader(data.decode("utf-8"))


def truth_transcript(fixture: str = "seed", *, speed: float = 1.0) -> Transcript:
    """A fixture broadcast's ground truth as a transcript: one segment per turn, speakers
    with their on-screen captions and roles, and the truth's word times (Festival tokens,
    unpunctuated, as an ASR would give them). ``speed`` > 1 plays it faster: every time
    is divided by it, as if the same words were spoken in less time."""
    truth_path = FIXTURES / fixture / f"{fixture}.truth.json"
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    speakers: dict[str, Speaker] = {}
    segments = []
    for index, turn in enumerate(truth["turns"]):
        speakers[turn["speaker"]] = Speaker(
            id=turn["speaker"],
            name=turn["caption_name"],
            title=turn["caption_title"],
            role=SpeakerRole(turn["role"]),
        )
        words = tuple(
            Word(w["start"] / speed, w["end"] / speed, w["token"]) for w in turn["tts_words"]
        )
        start, end = turn["start"] / speed, turn["end"] / speed
        segments.append(Segment(index, start, end, turn["text"], turn["speaker"], words))
    return Transcript(
        duration=truth["audio"]["duration"] / speed,
        language=truth["language"],
        model="seed-truth",
        segments=tuple(segments),
        speakers=tuple(speakers.values()),
    )
