"""Media stage: probe a container, pick its audio track, decode it to 16 kHz mono.

PyAV (FFmpeg's libraries in-process) reads every container a newsroom sends:
WAV, MP3, MP4/MOV, MXF, MPEG-TS, MKV. Frames are decoded and resampled as they
are demuxed, so the compressed file is never held in memory; only the 16 kHz mono
float32 result is (about 230 MB an hour), and long programmes stream even that to a
file (`decode_audio_to_file`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import av
import ffmpeg
import numpy as np
from PIL import Image

from efir.errors import AsrError, MediaError, MediaTooLargeError, NoAudioError

__all__ = [
    "SAMPLE_RATE",
    "AudioStreamInfo",
    "MediaInfo",
    "choose_audio_stream",
    "decode_audio",
    "decode_audio_to_file",
    "grab_frames",
    "grab_gray_frames",
    "probe",
    "stream_audio",
    "stretched",
]

SAMPLE_RATE = 16000
# A track whose first minute stays below this level carries no programme sound.
_SILENT_DBFS = -60.0
_SILENCE_PROBE_S = 60.0
# Containers round their declared duration; losing more than this means a cut file.
_TRUNCATION_TOLERANCE = 0.05
_TRUNCATION_SLACK_S = 0.5


class SupportsWrite(Protocol):
    def write(self, data: bytes, /) -> object: ...


@dataclass(frozen=True)
class AudioStreamInfo:
    index: int
    codec: str
    channels: int
    sample_rate: int
    is_default: bool
    language: str | None


@dataclass(frozen=True)
class MediaInfo:
    path: Path
    container: str
    duration_s: float
    audio_streams: tuple[AudioStreamInfo, ...]
    has_video: bool
    # Whether duration_s was declared by the container (so a shorter decode means a cut file).
    duration_declared: bool = True


def probe(path: Path, *, max_duration_s: float | None = None) -> MediaInfo:
    """Read the container's streams and duration; raise MediaError if it is not usable media."""
    path = Path(path)
    with _open(path) as container:
        audio_streams = tuple(
            AudioStreamInfo(
                index=stream.index,
                codec=stream.codec_context.name,
                channels=stream.codec_context.channels,
                sample_rate=stream.codec_context.sample_rate,
                is_default=bool(stream.disposition & av.stream.Disposition.default),
                language=stream.metadata.get("language"),
            )
            for stream in container.streams.audio
        )
        # Cover art in an MP3 or M4A shows up as a one-picture video stream.
        has_video = any(
            not stream.disposition & av.stream.Disposition.attached_pic
            for stream in container.streams.video
        )
        duration_s = _declared_duration_s(container)
        container_name = container.format.name
    if not audio_streams:
        raise NoAudioError(
            f"В файле «{path.name}» нет звуковой дорожки (the file has no audio track)"
        )
    info = MediaInfo(
        path=path,
        container=container_name,
        duration_s=duration_s or 0.0,
        audio_streams=audio_streams,
        has_video=has_video,
        duration_declared=duration_s is not None,
    )
    if info.duration_declared and info.duration_s <= 0:
        raise MediaError(f"Файл «{path.name}» нулевой длительности (zero-length media)")
    if max_duration_s is not None and info.duration_s > max_duration_s:
        raise MediaTooLargeError(
            f"Файл «{path.name}» длится {info.duration_s / 3600:.1f} ч, "
            f"предел {max_duration_s / 3600:.1f} ч (media longer than the limit)"
        )
    return info


def choose_audio_stream(info: MediaInfo) -> int:
    """The audio stream to transcribe, by this rule, in order of precedence.

    1. Not silent: broadcast MXF and TS files often carry empty spare
       tracks, so a track whose first minute stays below -60 dBFS loses
       (unless every track is silent).
    2. Marked default by the container: the muxer's own choice of programme sound.
    3. More channels: a stereo programme mix beats mono clean-feed or commentary tracks.
    4. Otherwise the first track.
    Loudness is measured only when there is more than one track, in one pass.
    """
    streams = info.audio_streams
    if len(streams) == 1:
        return streams[0].index
    levels = _stream_levels_dbfs(info.path, [stream.index for stream in streams])

    def preference(stream: AudioStreamInfo) -> tuple[bool, bool, int, int]:
        audible = levels.get(stream.index, -math.inf) >= _SILENT_DBFS
        return (audible, stream.is_default, stream.channels, -stream.index)

    return max(streams, key=preference).index


def decode_audio(
    path: Path,
    *,
    stream_index: int | None = None,
    info: MediaInfo | None = None,
    max_duration_s: float | None = None,
) -> np.ndarray:
    """Decode one audio track to float32 mono at 16 kHz, downmixing all its channels.

    The whole track in memory; long programmes use `decode_audio_to_file`. Errors as
    `stream_audio`.
    """
    pieces = list(
        stream_audio(path, stream_index=stream_index, info=info, max_duration_s=max_duration_s)
    )
    return np.concatenate(pieces)


def decode_audio_to_file(
    path: Path,
    target: SupportsWrite,
    *,
    info: MediaInfo | None = None,
    max_duration_s: float | None = None,
) -> int:
    """Decode as `decode_audio`, writing raw float32 samples to `target` as they come;
    returns the sample count. Memory stays at one frame whatever the length."""
    samples = 0
    for piece in stream_audio(path, info=info, max_duration_s=max_duration_s):
        target.write(piece.tobytes())
        samples += piece.size
    return samples


def stream_audio(
    path: Path,
    *,
    stream_index: int | None = None,
    info: MediaInfo | None = None,
    max_duration_s: float | None = None,
) -> Iterator[np.ndarray]:
    """One audio track as consecutive float32 mono 16 kHz pieces, as they decode.

    Without `stream_index`, the track is picked by `choose_audio_stream`. Raises
    MediaError when nothing decodes or when the container promised much more audio
    than it holds (a truncated upload), and MediaTooLargeError as soon as the decoded
    audio passes `max_duration_s`: a container's declared duration can be a guess
    (MP3 without a Xing header, concatenated ADTS), so only the decode itself can
    stop a small file from expanding into hours of audio.
    """
    path = Path(path)
    info = info or probe(path, max_duration_s=max_duration_s)
    if stream_index is None:
        stream_index = choose_audio_stream(info)
    max_samples = None if max_duration_s is None else int(max_duration_s * SAMPLE_RATE)
    decoded_samples = 0
    with _open(path) as container:
        stream = container.streams[stream_index]
        if not isinstance(stream, av.audio.stream.AudioStream):
            raise MediaError(f"Поток {stream_index} не звуковой (stream is not audio)")
        for piece in _resampled(container, stream):
            decoded_samples += piece.size
            if max_samples is not None and decoded_samples > max_samples:
                raise MediaTooLargeError(
                    f"Файл «{path.name}» длиннее предела {max_samples / SAMPLE_RATE / 3600:.1f} ч: "
                    "заявленная длительность неверна (media decodes past the duration limit)"
                )
            yield piece
    decoded_s = decoded_samples / SAMPLE_RATE
    if decoded_samples == 0:
        raise MediaError(
            f"В файле «{path.name}» нет ни одной секунды звука (no audio decoded: empty or corrupt)"
        )
    if info.duration_declared and decoded_s < (
        info.duration_s * (1 - _TRUNCATION_TOLERANCE) - _TRUNCATION_SLACK_S
    ):
        raise MediaError(
            f"Файл «{path.name}» обрезан: заявлено {info.duration_s:.1f} с, "
            f"декодировано {decoded_s:.1f} с (the file is truncated)"
        )


def stretched(audio: np.ndarray, tempo: float) -> np.ndarray:
    """16 kHz mono `audio` played at `tempo` (0.9: slower, longer), pitch kept (FFmpeg's
    atempo): another reading of the same speech for the recogniser."""
    try:
        out, _ = (
            ffmpeg.input("pipe:", format="f32le", ar=SAMPLE_RATE, ac=1)
            .filter("atempo", tempo)
            .output("pipe:", format="f32le", ar=SAMPLE_RATE, ac=1)
            .run(input=audio.astype(np.float32).tobytes(), capture_stdout=True, quiet=True)
        )
    except ffmpeg.Error as error:
        raise AsrError(f"Could not change the audio's tempo: {error.stderr.decode()}") from error
    return np.frombuffer(out, dtype=np.float32).copy()


def grab_frames(path: Path, times_s: Sequence[float]) -> list[Image.Image]:
    """The video frame shown at each time (seconds), as RGB images, in the order given."""
    frames = _frames_at(path, times_s, skip_nonref=False)
    return [frame.to_image() for frame in frames]  # type: ignore[no-untyped-call]


def grab_gray_frames(
    path: Path, times_s: Sequence[float], *, keyframes_s: Sequence[float] = ()
) -> list[np.ndarray]:
    """The luma plane (8-bit, height x width) of the picture near each time, for scanning
    many frames cheaply: frames no other frame refers to are not decoded, so a time
    may get its neighbour a frame or two away. Given the video's keyframe times, a time
    with no keyframe since the last one is decoded on from there instead of from its
    keyframe again (the same pictures, without decoding that keyframe twice)."""
    frames = _frames_at(path, times_s, skip_nonref=True, keyframes_s=keyframes_s)
    return [_luma(frame) for frame in frames]


def _luma(frame: av.VideoFrame) -> np.ndarray:
    """The Y plane as it is in YUV pictures (no conversion), else a converted copy."""
    if frame.format.name not in ("yuv420p", "yuvj420p", "yuv422p", "yuv444p"):
        return frame.to_ndarray(format="gray")
    plane = frame.planes[0]
    rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(plane.height, -1)
    return rows[:, : plane.width]


def _frames_at(
    path: Path,
    times_s: Sequence[float],
    *,
    skip_nonref: bool,
    keyframes_s: Sequence[float] = (),
) -> list[av.VideoFrame]:
    path = Path(path)
    frames: dict[float, av.VideoFrame] = {}
    keyframes = np.asarray(keyframes_s, dtype=float)
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError(f"В файле «{path.name}» нет видео (the file has no video track)")
        stream = container.streams.video[0]
        if skip_nonref:
            # Scanning for captions needs the picture, not its finish: frames nothing
            # refers to and the deblocking filter are skipped (about half the decoding).
            stream.codec_context.skip_frame = "NONREF"
            stream.codec_context.options = {"skip_loop_filter": "all"}
        decoding: _Decoding | None = None
        for time_s in sorted(set(times_s)):
            if decoding is None or _keyframe_between(keyframes, decoding.reached_s, time_s):
                offset = int(time_s / stream.time_base) if stream.time_base else 0
                container.seek(max(offset, 0), stream=stream, backward=True)
                decoding = _Decoding(container.decode(stream))
            frame = decoding.frame_at(time_s)
            if frame is not None:
                frames[time_s] = frame
    missing = [t for t in times_s if t not in frames]
    if missing:
        raise MediaError(f"Нет кадров на {missing[0]:.2f} с (no video frame at that time)")
    return [frames[t] for t in times_s]


def _keyframe_between(keyframes: np.ndarray, after_s: float, until_s: float) -> bool:
    """Whether decoding on from `after_s` to `until_s` would pass a keyframe, where a seek
    is cheaper (or no keyframes are known, so it must seek)."""
    return not keyframes.size or bool(np.any((keyframes > after_s) & (keyframes <= until_s)))


class _Decoding:
    """Frames decoded on from one seek: each time's frame is the last one shown by then
    (the first decoded if none is), as if decoding had started afresh at the seek."""

    def __init__(self, frames: Iterator[av.VideoFrame]) -> None:
        self._frames = frames
        self._shown: av.VideoFrame | None = None
        self._ahead: av.VideoFrame | None = None  # decoded past the last time asked for
        self.reached_s = -math.inf

    def frame_at(self, time_s: float) -> av.VideoFrame | None:
        upcoming = itertools.chain([self._ahead], self._frames) if self._ahead else self._frames
        self._ahead = None
        for frame in upcoming:
            if frame.time is not None:
                self.reached_s = max(self.reached_s, frame.time)
            if frame.time is not None and frame.time > time_s and self._shown is not None:
                self._ahead = frame
                break
            self._shown = frame
        return self._shown


def _open(path: Path) -> av.container.InputContainer:
    if not path.is_file():
        raise MediaError(f"Файл «{path.name}» не найден (file not found)")
    if path.stat().st_size == 0:
        raise MediaError(f"Файл «{path.name}» пуст (the file is empty)")
    try:
        return av.open(str(path), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError) as error:
        raise MediaError(
            f"Файл «{path.name}» не распознан как аудио или видео (not a decodable media file)"
        ) from error


def _declared_duration_s(container: av.container.InputContainer) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    durations = [
        float(stream.duration * stream.time_base)
        for stream in container.streams.audio
        if stream.duration and stream.time_base
    ]
    return max(durations) if durations else None


def _resampled(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> Iterator[np.ndarray]:
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    for frame in itertools.chain(_grouped(_decoded_frames(container, stream), stream), [None]):
        for resampled in resampler.resample(frame):
            yield resampled.to_ndarray().reshape(-1)


def _grouped(
    frames: Iterable[av.AudioFrame], stream: av.audio.stream.AudioStream
) -> Iterator[av.AudioFrame]:
    """Decoded frames joined into about a second of audio each: a compressed track's
    frames are 20-40 ms, and resampling them one call each cost twice the decoding
    (seed.mp4: 0.48 s CPU, against 0.17 s joined). The resampler streams, so its
    output is the same sample for sample."""
    fifo = av.AudioFifo()
    enough = stream.codec_context.sample_rate or SAMPLE_RATE
    for frame in frames:
        frame.pts = None  # a skipped damaged packet leaves a gap the FIFO would refuse
        fifo.write(frame)
        if fifo.samples >= enough and (joined := fifo.read()) is not None:
            yield joined
    if (rest := fifo.read()) is not None:  # None: nothing left
        yield rest


def _decoded_frames(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> Iterator[av.AudioFrame]:
    for packet in container.demux(stream):
        yield from _audio_frames(packet)


def _audio_frames(packet: av.Packet[Any]) -> list[av.AudioFrame]:
    # A damaged packet mid-stream is skipped, as ffmpeg does; a cut file is caught by length.
    try:
        decoded: list[Any] = packet.decode()
        return [frame for frame in decoded if isinstance(frame, av.AudioFrame)]
    except av.error.InvalidDataError:
        return []


def _stream_levels_dbfs(path: Path, indexes: list[int]) -> dict[int, float]:
    """Mean level of each stream's first minute, measured in one demux pass."""
    energy = dict.fromkeys(indexes, 0.0)
    measured = dict.fromkeys(indexes, 0)
    enough = int(_SILENCE_PROBE_S * SAMPLE_RATE)
    with _open(path) as container:
        resamplers = {
            i: av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE) for i in indexes
        }
        for packet in container.demux(*(container.streams[i] for i in indexes)):
            index = packet.stream.index
            if measured[index] >= enough:
                if min(measured.values()) >= enough:
                    break
                continue
            for frame in _audio_frames(packet):
                for mono in resamplers[index].resample(frame):
                    pcm = mono.to_ndarray().reshape(-1).astype(np.float64)
                    energy[index] += float(np.sum(pcm**2))
                    measured[index] += pcm.size
    return {
        i: 10 * math.log10(energy[i] / measured[i]) if energy[i] > 0 else -math.inf
        for i in indexes
        if measured[i]
    }
