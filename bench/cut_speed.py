"""How fast and how exact quotes are cut from the seed broadcast (worker/stages/cut.py).

    .venv/bin/python bench/cut_speed.py [--spans 6] [--repeat 1]

For spans of 5 to 20 s of the seed (each from a word's start to a word's end, spread over
the programme), per variant — MP4 with burned subtitles, MP4 plain, MP3, WAV — it prints
the wall time, the speed in media seconds per wall second, and how far the file's length
(ffprobe) and its sound (cross-correlated with the original at the in point) are from
what was asked, in frames at 25 fps. The transcript is the seed's recorded ASR output.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from efir.cuts.spec import CutFormat, CutRequest, SubtitleMode, timed_words  # noqa: E402
from efir.transcripts.model import Transcript  # noqa: E402
from worker.stages.cut import render_cut  # noqa: E402

SEED = ROOT / "fixtures" / "seed" / "seed.mp4"
FPS = 25.0
HANDLE_S = 0.2
VARIANTS = {
    "mp4+burn": (CutFormat.MP4, SubtitleMode.BURN),
    "mp4": (CutFormat.MP4, SubtitleMode.NONE),
    "mp3": (CutFormat.MP3, SubtitleMode.NONE),
    "wav": (CutFormat.WAV, SubtitleMode.NONE),
}


def spans(transcript: Transcript, count: int) -> list[tuple[float, float]]:
    words = [w for s in transcript.segments for w in timed_words(s)]
    chosen = []
    for index in range(count):
        length_s = 5.0 + 15.0 * index / max(1, count - 1)
        first = words[(index * len(words)) // (count + 1)]
        last = min(
            (w for w in words if w.end > first.start),
            key=lambda w: abs(w.end - first.start - length_s),
        )
        chosen.append((first.start, last.end))
    return chosen


def duration_s(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        check=True,
        capture_output=True,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


def sound(path: Path, start_s: float, length_s: float) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{start_s:.3f}", "-t", f"{length_s:.3f}", "-i",
         str(path), "-f", "s16le", "-ac", "1", "-ar", "8000", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype=np.int16).astype(np.float64)


def offset_s(cut: Path, in_s: float) -> float:
    """Where the cut's first 4 s best match the original around the in point."""
    ours = sound(cut, 0.0, 4.0)
    original = sound(SEED, max(0.0, in_s - 0.5), 5.0)
    lead = min(0.5, in_s)
    scores = [float(np.dot(ours, original[i : i + len(ours)])) for i in range(0, 8000 + 1, 4)]
    return int(np.argmax(scores)) * 4 / 8000 - lead


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=6)
    args = parser.parse_args()
    transcript = Transcript.from_json((SEED.parent / "seed.asr.json").read_text("utf-8"))
    chosen = spans(transcript, args.spans)
    print(f"{len(chosen)} spans of the seed: " + ", ".join(f"{a:.2f}-{b:.2f}" for a, b in chosen))
    print(f"{'variant':10} {'wall s':>8} {'x realtime':>10} {'len err fr':>10} {'sync err fr':>11}")
    for name, (fmt, subtitles) in VARIANTS.items():
        walls, speeds, length_errors, sync_errors = [], [], [], []
        for start_s, end_s in chosen:
            request = CutRequest(
                start_s=start_s, end_s=end_s, format=fmt, subtitles=subtitles, handle_s=HANDLE_S
            )
            with tempfile.TemporaryDirectory() as scratch:
                started = time.perf_counter()
                output = render_cut(SEED, transcript, request, Path(scratch))
                wall = time.perf_counter() - started
                asked = end_s - start_s + 2 * HANDLE_S
                walls.append(wall)
                speeds.append(asked / wall)
                length_errors.append(abs(duration_s(output.media) - asked) * FPS)
                in_s = output.first_frame / output.fps  # where the cut really starts
                sync_errors.append(abs(offset_s(output.media, in_s)) * FPS)
        print(
            f"{name:10} {statistics.mean(walls):8.2f} {statistics.mean(speeds):10.1f} "
            f"{max(length_errors):10.2f} {max(sync_errors):11.2f}"
        )


if __name__ == "__main__":
    main()
