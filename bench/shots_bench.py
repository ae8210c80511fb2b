"""Shot-change detectors on the kit's rendered cuts: ffmpeg's scdet beside PySceneDetect.

    nice -n 5 .venv/bin/python bench/shots_bench.py [--out bench/results/shots.txt]

Clips with ``video.shots`` in their truth (rendered by the kit with ``--shots``): the
development set (fixtures/captions/dev: dev1, dev2) picks each detector's threshold, the
test set (fixtures/captions/test/test1, fixtures/shots/shots) only reports. A detection
matches a truth cut when it lands within one frame of the cut's first new frame; timing
error is in frames over the matches. Speed is CPU seconds per second of media with one
decoding thread, as a share of the ASR stage's (bench/results/stage_speed.txt: RTF 0.0987
on one thread), since a worker runs the stages one after another on one core; the last
lines measure both on fixtures/shots/shots.mp4 in this run (ASR: the bundled model, one
thread, after a warm-up run).

Detectors: ``scdet`` (FFmpeg's filter run in-process through PyAV, the stage
worker/stages/shots.py; thresholds applied to one run's per-frame scores, exactly the
filter's own ``score > threshold``), PySceneDetect's ContentDetector and AdaptiveDetector
(PyAV backend, the library run once per setting).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from scenedetect import AdaptiveDetector, ContentDetector, SceneManager, open_video  # noqa: E402
from scenedetect.detector import SceneDetector  # noqa: E402

from worker.stages.shots import ShotOptions, detect_shots, scene_scores  # noqa: E402

DEV = ["fixtures/captions/dev/dev1", "fixtures/captions/dev/dev2"]
TEST = ["fixtures/captions/test/test1", "fixtures/shots/shots"]
ASR_RTF = 0.0987
SCDET_THRESHOLDS = (0.8, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0, 10.0)
CONTENT_THRESHOLDS = (27.0, 20.0, 15.0, 10.0, 7.0)
ADAPTIVE_THRESHOLDS = (3.0, 2.0, 1.5)
STAGE_CANDIDATES = (0.5, 0.8, 1.0)
STAGE_CONTENT = (27.0, 20.0, 15.0)


@dataclass(frozen=True)
class Score:
    hits: int
    detected: int
    truth: int
    error_frames: float  # summed |detected - truth| over hits

    def __add__(self, other: Score) -> Score:
        return Score(
            self.hits + other.hits,
            self.detected + other.detected,
            self.truth + other.truth,
            self.error_frames + other.error_frames,
        )

    def row(self) -> str:
        precision = self.hits / self.detected if self.detected else 1.0
        recall = self.hits / self.truth if self.truth else 1.0
        error = self.error_frames / self.hits if self.hits else 0.0
        counts = f"({self.hits}/{self.truth}, {self.detected} found)"
        return f"P {precision:.3f}  R {recall:.3f}  |err| {error:.2f} fr  {counts}"


def truth_frames(clip: str, fps: float) -> list[int]:
    """First frame of each new shot: the kit's drawbox switches when t >= the cut time."""
    truth = json.loads(Path(ROOT / f"{clip}.truth.json").read_text())
    return [math.ceil(t * fps - 1e-6) for t in truth["video"]["shots"]]


def score(found: Sequence[int], truth: Sequence[int]) -> Score:
    left = sorted(truth)
    hits, error = 0, 0.0
    for frame in sorted(found):
        near = [t for t in left if abs(t - frame) <= 1]
        if near:
            best = min(near, key=lambda t: abs(t - frame))
            left.remove(best)
            hits += 1
            error += abs(best - frame)
    return Score(hits, len(found), len(truth), error)


def scenedetect_frames(
    path: Path, detector: Callable[[], SceneDetector]
) -> tuple[list[int], float]:
    started = time.process_time()
    video = open_video(str(path), backend="pyav")
    manager = SceneManager()
    manager.add_detector(detector())
    manager.detect_scenes(video)
    frames = [start.frame_num for start, _ in manager.get_scene_list()[1:]]
    return frames, time.process_time() - started


def timed(detect: Callable[[], list[float]], fps: float) -> tuple[list[int], float]:
    started = time.process_time()
    found = detect()
    return [round(time_s * fps) for time_s in found], time.process_time() - started


def asr_share(path: Path) -> list[str]:
    """CPU seconds of the shot stage and of ASR on one clip, in this process."""
    from efir.config import Settings
    from worker.pipeline import pipeline_options_from_settings, recognise
    from worker.stages.media import decode_audio, probe

    options = pipeline_options_from_settings(Settings(cpu_threads=1))
    audio = decode_audio(path, info=probe(path))
    recognise(audio, options)  # loads the model
    started = time.process_time()
    recognise(audio, options)
    asr = time.process_time() - started
    started = time.process_time()
    detect_shots(path)
    shots = time.process_time() - started
    return [
        f"{path.name}: ASR {asr:.2f} s CPU, shot stage {shots:.2f} s CPU = {shots / asr:.0%} of ASR"
    ]


def media_seconds(clip: str) -> float:
    return float(json.loads(Path(ROOT / f"{clip}.truth.json").read_text())["audio"]["duration"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    fps = 25.0
    lines = [f"bench/shots_bench.py, {time.strftime('%Y-%m-%d')}, shared 2-core box"]
    clips = [c for c in DEV + TEST if (ROOT / f"{c}.mp4").exists()]
    # scdet: one run per clip keeps every frame's score; thresholds are applied after.
    scores: dict[str, list[tuple[float, float]]] = {}
    cpu: dict[str, float] = {}
    for clip in clips:
        started = time.process_time()
        scores[clip] = scene_scores(
            ROOT / f"{clip}.mp4", ShotOptions(candidate_threshold=0.0), confirm=False
        )
        cpu[clip] = time.process_time() - started
    runs: dict[str, Callable[[str], tuple[list[int], float]]] = {}
    for threshold in SCDET_THRESHOLDS:
        runs[f"scdet threshold={threshold:g}"] = lambda clip, t=threshold: (
            [round(s.time_s * fps) for s in scores[clip] if s.scdet > t],
            cpu[clip],
        )
    for candidate in STAGE_CANDIDATES:
        for content in STAGE_CONTENT:
            options = ShotOptions(candidate_threshold=candidate, content_threshold=content)
            runs[f"stage: scdet>{candidate:g} + Content>={content:g}"] = lambda clip, o=options: (
                timed(lambda: detect_shots(ROOT / f"{clip}.mp4", o), fps)
            )
    for threshold in CONTENT_THRESHOLDS:
        runs[f"PySceneDetect Content threshold={threshold:g}"] = lambda clip, t=threshold: (
            scenedetect_frames(ROOT / f"{clip}.mp4", lambda: ContentDetector(threshold=t))
        )
    for threshold in ADAPTIVE_THRESHOLDS:
        runs[f"PySceneDetect Adaptive threshold={threshold:g}"] = lambda clip, t=threshold: (
            scenedetect_frames(ROOT / f"{clip}.mp4", lambda: AdaptiveDetector(adaptive_threshold=t))
        )
    for name, run in runs.items():
        for subset, members in (("dev", DEV), ("test", TEST)):
            total, seconds, media = Score(0, 0, 0, 0.0), 0.0, 0.0
            for clip in [c for c in members if c in clips]:
                found, spent = run(clip)
                total += score(found, truth_frames(clip, fps))
                seconds += spent
                media += media_seconds(clip)
            rtf = seconds / media
            lines.append(
                f"{name:<38} {subset:<4} {total.row()}  CPU RTF {rtf:.4f} "
                f"({rtf / ASR_RTF:.0%} of ASR)"
            )
            print(lines[-1], flush=True)
    lines += asr_share(ROOT / "fixtures/shots/shots.mp4")
    print("\n".join(lines[-3:]))
    text = "\n".join(lines) + "\n"
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
