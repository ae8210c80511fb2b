"""Long programmes cut into chunks at silences, for transcription in parallel.

Two steps, both over the programme's decoded audio on disk (raw float32, 16 kHz mono,
as `decode_audio_to_file` writes it), so memory stays flat however long it runs:

* `speech_regions_in_file` runs the ASR stage's own VAD window by window (five
  minutes of samples at a time), exactly as `speech_regions` does in memory;
* `plan_chunks`, a pure function, cuts the timeline at the middle of the longest
  silence near each target length. Cuts fall only between VAD speech regions (the
  caller passes the ASR's windows of regions), so no word spans one and the chunks
  need not overlap: the merge concatenates, with no boundary words to de-duplicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import BinaryIO

import numpy as np

from worker.stages.asr import VAD_WINDOW_S, AsrOptions, TimeSpan, speech_regions_of_windows
from worker.stages.media import SAMPLE_RATE

__all__ = ["PCM_DTYPE", "plan_chunks", "read_pcm", "speech_regions_in_file"]

PCM_DTYPE = np.dtype("<f4")


def read_pcm(source: BinaryIO, start_s: float, end_s: float) -> np.ndarray:
    """Samples of [start_s, end_s) from a raw float32 16 kHz mono file (or S3 reader)."""
    first = round(start_s * SAMPLE_RATE)
    count = round(end_s * SAMPLE_RATE) - first
    source.seek(first * PCM_DTYPE.itemsize)
    return np.frombuffer(source.read(count * PCM_DTYPE.itemsize), dtype=PCM_DTYPE)


def speech_regions_in_file(
    path: Path, options: AsrOptions, *, window_s: float = VAD_WINDOW_S
) -> list[TimeSpan]:
    """`speech_regions` of a raw PCM file, reading one VAD window at a time."""
    duration_s = path.stat().st_size / PCM_DTYPE.itemsize / SAMPLE_RATE
    with path.open("rb") as source:
        windows = (
            (float(start), read_pcm(source, float(start), float(start) + window_s))
            for start in np.arange(0.0, duration_s, window_s)
        )
        return speech_regions_of_windows(windows, options)


def plan_chunks(
    speech: Sequence[TimeSpan],
    duration_s: float,
    *,
    target_s: float,
    min_silence_s: float = 0.25,
) -> list[TimeSpan]:
    """Back-to-back chunks covering [0, duration_s], cut in silences between `speech`.

    Each cut is the middle of the longest silence (at least `min_silence_s` between
    two speech regions) whose middle lies within ±25% of `target_s` from the chunk's
    start, else within ±50%, else the first silence after that. A remainder up to 1.5
    targets long stays one chunk; speech with no silence at all is never cut. 0.25 s
    between two of Silero's regions is a real silence (700 ms heard, less 200 ms of
    padding each side); VAD regions cut at the 30 s cap touch, and are never cut
    between. Given decoder batches as `speech`, silences are few (one per batch of
    eight windows at most), so chunks come out uneven: 344-798 s for a 480 s target
    on the 60-minute bench programme.
    """
    silences = [
        TimeSpan(before.end, after.start)
        for before, after in pairwise(sorted(speech, key=lambda r: r.start))
        if after.start - before.end >= min_silence_s
    ]
    cuts: list[float] = []
    start = 0.0
    while duration_s - start > 1.5 * target_s:
        cut = _next_cut(silences, start, target_s)
        if cut is None:
            break
        cuts.append(cut)
        start = cut
    bounds = [0.0, *cuts, duration_s]
    return [TimeSpan(a, b) for a, b in pairwise(bounds)]


def _next_cut(silences: Sequence[TimeSpan], start: float, target_s: float) -> float | None:
    for low, high in ((0.75, 1.25), (0.5, 1.5)):
        near = [
            s for s in silences if start + low * target_s <= _middle(s) <= start + high * target_s
        ]
        if near:
            return _middle(max(near, key=lambda s: s.duration))
    later = [s for s in silences if _middle(s) > start + 1.5 * target_s]
    return _middle(later[0]) if later else None


def _middle(span: TimeSpan) -> float:
    return round((span.start + span.end) / 2, 3)
