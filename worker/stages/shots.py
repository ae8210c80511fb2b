"""Shot changes: the frames where the picture cuts, for subtitle cues timed to them.

Two field detectors, each doing what it is good at (bench/shots_bench.py,
bench/results/shots.txt). FFmpeg's ``scdet`` filter, run in-process through PyAV
(the media stage's decoder), scores every frame's difference from the one before in
C; at a low threshold it misses no cut but also fires on lower thirds appearing.
PySceneDetect's ContentDetector (hue, saturation and luma differences) then decides on
those few candidate frames only: alone it found every cut too, but for 40 % of the ASR
stage's time, where scdet costs 15 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.logging
from scenedetect import ContentDetector, FrameTimecode

from efir.errors import MediaError

__all__ = ["SceneScore", "ShotOptions", "detect_shots", "scene_scores", "shot_changes"]


@dataclass(frozen=True)
class ShotOptions:
    # Tuned on the development clips (bench/results/shots.txt).
    candidate_threshold: float = 0.8  # scdet score (0-100) that makes a frame a candidate
    content_threshold: float = 20.0  # ContentDetector score that confirms it (default 27)
    min_shot_s: float = 0.6  # PySceneDetect's 15 frames at 25 fps: no flash is a shot
    analysis_width: int = 256  # frames are compared downscaled, as PySceneDetect does
    decode_threads: int = 1  # a worker runs one stage at a time on its core


@dataclass(frozen=True)
class SceneScore:
    time_s: float  # the candidate frame's presentation time, as the decoder gives it
    scdet: float
    confirmed: bool | None  # by ContentDetector; None when not asked


def detect_shots(media_path: Path, options: ShotOptions | None = None) -> list[float]:
    """Times (s, on the media's timeline, frame-exact) of the first frame of every new
    shot; empty for media without video. Raises MediaError if the video is undecodable."""
    options = options or ShotOptions()
    return shot_changes(scene_scores(media_path, options), options)


def shot_changes(scores: Iterable[SceneScore], options: ShotOptions) -> list[float]:
    """The confirmed candidates, each at least ``min_shot_s`` after the one before."""
    changes: list[float] = []
    for score in scores:
        if score.confirmed is not False and (
            not changes or score.time_s - changes[-1] >= options.min_shot_s
        ):
            changes.append(score.time_s)
    return changes


def scene_scores(
    media_path: Path, options: ShotOptions, *, confirm: bool = True
) -> list[SceneScore]:
    """Every frame scdet scores over ``options.candidate_threshold``, with its
    ContentDetector's verdict over it and the frame before if ``confirm``."""
    try:
        # scdet logs every candidate at info level: kept out of the worker's log.
        with av.logging.Capture(True), av.open(str(media_path)) as container:
            if not container.streams.video:
                return []
            return list(_scores(container, options, confirm=confirm))
    except av.FFmpegError as error:
        raise MediaError(f"cannot read the video of {media_path.name}: {error}") from error


def _scores(
    container: av.container.InputContainer, options: ShotOptions, *, confirm: bool
) -> Iterator[SceneScore]:
    stream = container.streams.video[0]
    stream.thread_count = options.decode_threads
    rate = Fraction(stream.average_rate or 25)
    height = max(2, round(options.analysis_width * stream.height / stream.width / 2) * 2)
    graph = av.filter.Graph()
    source = graph.add_buffer(template=stream)
    scorer = graph.add("scdet", f"threshold={options.candidate_threshold}")
    sink = graph.add("buffersink")
    source.link_to(scorer)
    scorer.link_to(sink)
    graph.configure()
    previous: av.VideoFrame | None = None
    for frame in container.decode(stream):
        graph.push(frame)
        scored = graph.vpull()
        value = scored.metadata.get("lavfi.scd.score")
        if value is not None and "lavfi.scd.time" in scored.metadata and scored.time is not None:
            confirmed = None
            if confirm and previous is not None:
                # A fresh detector per pair, no flash filter: is this one frame a cut?
                detector = ContentDetector(options.content_threshold, min_scene_len=0)
                cuts = [
                    detector.process_frame(
                        FrameTimecode(index, rate),
                        pair.to_ndarray(
                            width=options.analysis_width, height=height, format="bgr24"
                        ),
                    )
                    for index, pair in enumerate((previous, scored))
                ]
                confirmed = bool(cuts[1])
            yield SceneScore(round(scored.time, 6), float(value), confirmed)
        previous = scored
