"""Diarization error rate, NIST style, for the speaker tests and the bench.

DER = (missed speech + false alarm + speaker confusion) / reference speech,
measured on a 10 ms grid. A collar (default 0.25 s) either side of every
reference turn boundary is not scored, as dscore/md-eval do. Hypothesis
speakers are mapped one-to-one onto reference speakers to maximise the
overlap (Hungarian assignment via scipy).
"""

from __future__ import annotations

import json
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from efir.transcripts.model import Segment, Speaker, Transcript, Word

__all__ = [
    "DerParts",
    "Turn",
    "der_parts",
    "diarization_error_rate",
    "read_rttm",
    "read_wav_16k",
    "transcript_turns",
    "truth_speaker_transcript",
    "truth_transcript",
]

Turn = tuple[float, float, str]  # (start_s, end_s, speaker)

_STEP_S = 0.01


def read_rttm(path: Path) -> list[Turn]:
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and fields[0] == "SPEAKER":
            start, duration = float(fields[3]), float(fields[4])
            turns.append((start, start + duration, fields[7]))
    return turns


def read_wav_16k(path: Path) -> np.ndarray:
    """The kit's 16 kHz mono PCM WAV as float32 in [-1, 1]."""
    with wave.open(str(path)) as wav:
        assert wav.getframerate() == 16_000 and wav.getnchannels() == 1
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype=np.int16)
    return pcm.astype(np.float32) / 32768.0


def truth_transcript(truth_path: Path, *, words_per_segment: int = 12) -> Transcript:
    """A transcript as the ASR would give it, built from the kit's real TTS word times,
    without speakers. Segments are runs of `words_per_segment` words that ignore the
    turns, so many straddle a speaker change and the diarizer must split them."""
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    words = [
        Word(start=w["start"], end=w["end"], word=" " + w["token"])
        for turn in truth["turns"]
        for w in turn["tts_words"]
    ]
    groups = [words[i : i + words_per_segment] for i in range(0, len(words), words_per_segment)]
    segments = tuple(
        Segment(
            id=i,
            start=group[0].start,
            end=group[-1].end,
            text="".join(w.word for w in group).strip(),
            words=tuple(group),
        )
        for i, group in enumerate(groups)
    )
    duration = float(truth["audio"]["duration"])
    return Transcript(duration=duration, language="ru", model="truth", segments=segments)


def truth_speaker_transcript(truth_path: Path) -> Transcript:
    """The truth itself as a diarized transcript: one segment per turn, speaker ids as
    in the truth, speakers unnamed (what a perfect diarizer would hand on)."""
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    segments = tuple(
        Segment(
            id=i,
            start=turn["start"],
            end=turn["end"],
            text=turn["text"],
            speaker=turn["speaker"],
            words=tuple(Word(w["start"], w["end"], " " + w["token"]) for w in turn["tts_words"]),
        )
        for i, turn in enumerate(truth["turns"])
    )
    order = list(dict.fromkeys(turn["speaker"] for turn in truth["turns"]))
    return Transcript(
        duration=float(truth["audio"]["duration"]),
        language="ru",
        model="truth",
        segments=segments,
        speakers=tuple(Speaker(id=speaker) for speaker in order),
    )


def transcript_turns(transcript: Transcript, *, bridge_s: float = 0.5) -> list[Turn]:
    """Speaker time as the words cover it, pauses under `bridge_s` inside one speaker's
    speech filled in (the reference counts them as speech); segment spans stand in
    for segments without words."""
    spans: list[Turn] = []
    for segment in transcript.segments:
        speaker = segment.speaker or "?"
        timed = [(w.start, w.end) for w in segment.words] or [(segment.start, segment.end)]
        spans.extend((start, end, speaker) for start, end in timed)
    turns: list[Turn] = []
    for start, end, speaker in sorted(spans):
        if turns and turns[-1][2] == speaker and start - turns[-1][1] < bridge_s:
            turns[-1] = (turns[-1][0], max(end, turns[-1][1]), speaker)
        else:
            turns.append((start, end, speaker))
    return turns


@dataclass(frozen=True)
class DerParts:
    """DER's three errors, each a share of the scored reference speech."""

    missed: float  # reference speech the hypothesis leaves silent (or short of speakers)
    false_alarm: float  # hypothesis speech where the reference has none (or fewer speakers)
    confusion: float  # speech under the wrong speaker after the best one-to-one mapping

    @property
    def total(self) -> float:
        return self.missed + self.false_alarm + self.confusion


def diarization_error_rate(
    reference: Sequence[Turn], hypothesis: Sequence[Turn], *, collar_s: float = 0.25
) -> float:
    return der_parts(reference, hypothesis, collar_s=collar_s).total


def der_parts(
    reference: Sequence[Turn], hypothesis: Sequence[Turn], *, collar_s: float = 0.25
) -> DerParts:
    end_s = max(end for _, end, _ in [*reference, *hypothesis])
    n_frames = int(np.ceil(end_s / _STEP_S)) + 1
    ref = _activity(reference, n_frames)
    hyp = _activity(hypothesis, n_frames)

    scored = np.ones(n_frames, dtype=bool)
    for start, end, _ in reference:
        for boundary in (start, end):
            scored[_frame(boundary - collar_s) : _frame(boundary + collar_s)] = False
    ref, hyp = ref[:, scored], hyp[:, scored]

    ref_count, hyp_count = ref.sum(axis=0), hyp.sum(axis=0)
    total = ref_count.sum()
    if total == 0:
        raise ValueError("no scored reference speech")
    overlap = ref.astype(np.int64) @ hyp.T.astype(np.int64)  # frames each pair shares
    rows, cols = linear_sum_assignment(-overlap)
    correct = overlap[rows, cols].sum()
    # md-eval: error = sum over frames of max(ref, hyp) - correctly attributed, of which
    # missed = ref beyond hyp, false alarm = hyp beyond ref, confusion = the rest.
    missed = np.clip(ref_count - hyp_count, 0, None).sum()
    false_alarm = np.clip(hyp_count - ref_count, 0, None).sum()
    confusion = np.minimum(ref_count, hyp_count).sum() - correct
    return DerParts(
        missed=float(missed / total),
        false_alarm=float(false_alarm / total),
        confusion=float(confusion / total),
    )


def _activity(turns: Iterable[Turn], n_frames: int) -> np.ndarray:
    """(speakers, frames) boolean activity matrix."""
    turns = list(turns)
    names = sorted({speaker for _, _, speaker in turns})
    active = np.zeros((max(len(names), 1), n_frames), dtype=bool)
    for start, end, speaker in turns:
        active[names.index(speaker), _frame(start) : _frame(end)] = True
    return active


def _frame(time_s: float) -> int:
    return max(0, round(time_s / _STEP_S))
