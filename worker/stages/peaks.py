"""Waveform peaks for the editor: the loudest sample of every 10 ms of the decoded audio,
quantised to 0..255, measured once by the worker and drawn by the browser under the
player (a 60-minute programme is 360,000 small ints, not 230 MB of samples)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

import numpy as np

from worker.stages.chunk_plan import read_pcm
from worker.stages.media import SAMPLE_RATE

__all__ = ["BUCKET_SAMPLES", "PEAK_SCALE", "peaks_of_pcm", "waveform_peaks"]

BUCKET_SAMPLES = SAMPLE_RATE // 100  # 10 ms: four buckets to a 25 fps frame
PEAK_SCALE = 255
_READ_S = 60.0  # a long programme is read from its raw file a minute at a time


def waveform_peaks(blocks: Iterable[np.ndarray]) -> dict[str, Any]:
    """``{"bucket_s", "scale", "peaks"}`` of 16 kHz mono float audio given in consecutive
    blocks of any length: ``peaks[i]`` is max |sample| of bucket i times ``scale``."""
    parts: list[np.ndarray] = []
    carry = np.empty(0, dtype=np.float32)
    for block in blocks:
        samples = np.concatenate([carry, block]) if carry.size else block
        whole = samples.size - samples.size % BUCKET_SAMPLES
        if whole:
            parts.append(np.abs(samples[:whole].reshape(-1, BUCKET_SAMPLES)).max(axis=1))
        carry = samples[whole:]
    if carry.size:
        parts.append(np.abs(carry).max(keepdims=True))
    peaks = np.concatenate(parts) if parts else np.empty(0, dtype=np.float32)
    quantised = np.rint(np.clip(peaks, 0.0, 1.0) * PEAK_SCALE).astype(np.int64)
    return {
        "bucket_s": BUCKET_SAMPLES / SAMPLE_RATE,
        "scale": PEAK_SCALE,
        "peaks": quantised.tolist(),
    }


def peaks_of_pcm(source: BinaryIO, duration_s: float) -> dict[str, Any]:
    """`waveform_peaks` of a raw float32 16 kHz file (a long programme's decoded audio),
    never holding more than a minute of it."""

    def blocks() -> Iterator[np.ndarray]:
        for start in np.arange(0.0, duration_s, _READ_S):
            yield read_pcm(source, float(start), min(float(start) + _READ_S, duration_s))

    return waveform_peaks(blocks())
