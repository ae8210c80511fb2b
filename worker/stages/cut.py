"""Cut a quote out of a clip's media: data in, a file out (ffmpeg, commands built with
ffmpeg-python).

Frame accuracy needs a re-encode: a stream copy can only start on a keyframe, often
seconds before the in point. So video is re-encoded (H.264, AAC) with the seek on the
input, which ffmpeg makes exact when transcoding (it decodes from the keyframe before
and drops what precedes the in point); the output lasts exactly the cut's frames. Audio
files (MP3, WAV) decode no picture at all. Burned subtitles and the lower third are one
ASS script drawn by libass (the ``ass`` filter); a sidecar is the same cues as SRT,
WebVTT or TTML.
"""

from __future__ import annotations

import logging

# Runs the ffmpeg command line ffmpeg-python compiled, with a list of arguments (no shell).
import subprocess  # nosec B404
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import ffmpeg

from efir.cuts.overlay import cut_cues, lower_third_speaker, render_ass, shots_within
from efir.cuts.spec import (
    CutFormat,
    CutRequest,
    CutSpan,
    SubtitleMode,
    cropped_transcript,
    frame_span,
    resolve_span,
)
from efir.errors import InvalidCutError, MediaError
from efir.exports import Cue, export_format, render
from efir.transcripts.model import Transcript

__all__ = [
    "AUDIO_FPS",
    "CutMedia",
    "CutOutput",
    "SourceMedia",
    "probe_source",
    "reel_command",
    "render_cut",
    "render_reel",
]

# Cues of an audio cut are still timed in frames: the broadcast rate.
AUDIO_FPS = 25.0
_AUDIO_CODECS: dict[CutFormat, dict[str, Any]] = {
    CutFormat.MP3: {"acodec": "libmp3lame", "audio_bitrate": "192k"},
    CutFormat.WAV: {"acodec": "pcm_s16le"},
}
_VIDEO_CODECS: dict[str, Any] = {
    "vcodec": "libx264",
    "preset": "veryfast",
    "crf": 18,
    "pix_fmt": "yuv420p",
    "acodec": "aac",
    "audio_bitrate": "192k",
    "movflags": "+faststart",
}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceMedia:
    """What a cut needs to know of the clip's file."""

    duration_s: float
    has_audio: bool
    fps: float | None = None  # None: no picture
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class CutMedia:
    """A part of the media to render: the clip's span from ``start_s`` for ``duration_s``."""

    path: Path
    start_s: float
    duration_s: float


@dataclass(frozen=True)
class CutOutput:
    media: Path
    subtitles: Path | None
    span: CutSpan
    first_frame: int
    frames: int
    fps: float

    def summary(self) -> dict[str, Any]:
        """The facts a client wants: where the cut lies on the clip and how long it is."""
        return {
            "speech_start_s": self.span.speech_start_s,
            "speech_end_s": self.span.speech_end_s,
            "in_s": self.first_frame / self.fps,
            "out_s": (self.first_frame + self.frames) / self.fps,
            "duration_s": self.frames / self.fps,
            "first_frame": self.first_frame,
            "frames": self.frames,
            "fps": self.fps,
        }


def probe_source(path: Path) -> SourceMedia:
    """The clip's duration, frame rate and picture size (ffprobe); MediaError if unreadable."""
    try:
        info = ffmpeg.probe(str(path))
    except ffmpeg.Error as error:
        raise MediaError(
            f"Медиафайл не читается: {_tail(error.stderr)}. The media cannot be read."
        ) from error
    streams = info.get("streams", [])
    video = next(
        (
            s
            for s in streams
            if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")
        ),
        None,
    )
    duration_s = float(info.get("format", {}).get("duration") or 0.0)
    has_audio = any(s.get("codec_type") == "audio" for s in streams)
    if video is None:
        return SourceMedia(duration_s=duration_s, has_audio=has_audio)
    rate = Fraction(video.get("avg_frame_rate") or video.get("r_frame_rate") or "25/1")
    if rate <= 0:
        rate = Fraction(video.get("r_frame_rate") or "25/1")
    return SourceMedia(
        duration_s=duration_s,
        has_audio=has_audio,
        fps=float(rate),
        width=int(video["width"]),
        height=int(video["height"]),
    )


def render_cut(
    media_path: Path,
    transcript: Transcript,
    request: CutRequest,
    out_dir: Path,
    *,
    shot_changes: Sequence[float] = (),
    on_progress: Callable[[float], None] | None = None,
) -> CutOutput:
    """Cut ``request`` out of ``media_path`` into ``out_dir``, its subtitles timed to the
    clip's ``shot_changes`` (s); InvalidCutError for a cut the media cannot give (video of
    an audio file), MediaError if ffmpeg fails."""
    source = probe_source(media_path)
    if request.format.has_video and source.fps is None:
        raise InvalidCutError(
            "В сюжете нет видео: выберите mp3 или wav. The clip has no video: choose mp3 or wav."
        )
    span = resolve_span(transcript, request, source.duration_s or transcript.duration)
    fps = source.fps if request.format.has_video and source.fps else AUDIO_FPS
    first, stop = frame_span(span, fps)
    start_s, duration_s = first / fps, (stop - first) / fps
    end_s = start_s + duration_s
    subtitles = None
    if request.subtitles is SubtitleMode.SIDECAR:
        # The clip's own subtitle export of the words inside the cut, timed from its start.
        subtitles = out_dir / f"cut.{export_format(request.sidecar).extension}"
        cropped = cropped_transcript(transcript, start_s, end_s)
        subtitles.write_bytes(
            render(
                cropped,
                request.sidecar,
                rules=request.cue_rules(fps),
                shot_changes=shots_within(shot_changes, start_s, end_s),
            )
        )
    script = None
    if request.subtitles is SubtitleMode.BURN or request.lower_third:
        script = out_dir / "cut.ass"
        burned = request.subtitles is SubtitleMode.BURN
        script.write_text(
            render_ass(
                cut_cues(transcript, start_s, end_s, request.cue_rules(fps), shot_changes)
                if burned
                else [],
                width=source.width,
                height=source.height,
                lower_third=lower_third_speaker(transcript, span) if request.lower_third else None,
                lower_third_from_s=max(0.0, span.speech_start_s - start_s),
            ),
            encoding="utf-8",
        )
    media = out_dir / f"cut.{request.format.value}"
    command = cut_command(
        CutMedia(media_path, start_s, duration_s),
        media,
        request.format,
        ass_script=script,
        frames=stop - first if request.format.has_video else None,
    )
    run_ffmpeg(command, duration_s, on_progress)
    return CutOutput(media, subtitles, span, first, stop - first, fps)


def cut_command(
    part: CutMedia,
    out: Path,
    fmt: CutFormat,
    *,
    ass_script: Path | None = None,
    frames: int | None = None,
) -> list[str]:
    """The ffmpeg command line for one cut: seek on the input (exact when transcoding),
    the picture through the ASS script if any, the length in seconds and frames."""
    source = ffmpeg.input(str(part.path), ss=f"{part.start_s:.6f}")
    audio = source["a:0"]
    if not fmt.has_video:
        stream = ffmpeg.output(
            audio, str(out), t=f"{part.duration_s:.6f}", vn=None, **_AUDIO_CODECS[fmt]
        )
    else:
        video = source["v:0"]
        if ass_script is not None:
            video = video.filter("ass", str(ass_script))
        options: dict[str, Any] = {"t": f"{part.duration_s:.6f}", **_VIDEO_CODECS}
        if frames is not None:
            options["frames:v"] = frames
        stream = ffmpeg.output(video, audio, str(out), **options)
    stream = stream.global_args("-v", "error", "-nostdin", "-progress", "pipe:1", "-nostats")
    args: list[str] = ffmpeg.compile(stream.overwrite_output())
    return args


def render_reel(
    parts: Sequence[CutMedia],
    out_dir: Path,
    *,
    fps: float = AUDIO_FPS,
    cues: Sequence[Cue] = (),
    on_progress: Callable[[float], None] | None = None,
) -> Path:
    """One MP4 of ``parts`` in order, for a quick look at a rough cut: each part cut
    frame-accurately and brought to the first picture's size (a sound-only part shows
    black), joined by ffmpeg's concat filter; ``cues`` (on the reel's timeline) burned."""
    if not parts:
        raise InvalidCutError("Подборка пуста. The selection is empty.")
    sources = [probe_source(part.path) for part in parts]
    sized = next((s for s in sources if s.fps is not None), None)
    width, height = (sized.width, sized.height) if sized else (1280, 720)
    out = out_dir / "reel.mp4"
    script = None
    if cues:
        script = out_dir / "reel.ass"
        script.write_text(render_ass(list(cues), width=width, height=height), encoding="utf-8")
    command = reel_command(
        parts,
        [s.fps is not None for s in sources],
        out,
        width=width,
        height=height,
        fps=fps,
        ass_script=script,
    )
    run_ffmpeg(command, sum(part.duration_s for part in parts), on_progress)
    return out


def reel_command(
    parts: Sequence[CutMedia],
    with_picture: Sequence[bool],
    out: Path,
    *,
    width: int,
    height: int,
    fps: float,
    ass_script: Path | None = None,
) -> list[str]:
    """The ffmpeg command joining ``parts``: one input per part, sought on the input; the
    joined picture through the ASS script if any."""
    streams = []
    for part, picture in zip(parts, with_picture, strict=True):
        source = ffmpeg.input(str(part.path), ss=f"{part.start_s:.6f}", t=f"{part.duration_s:.6f}")
        if picture:
            video = (
                source["v:0"]
                .filter("scale", width, height, force_original_aspect_ratio="decrease")
                .filter("pad", width, height, "(ow-iw)/2", "(oh-ih)/2")
                .filter("setsar", 1)
                .filter("fps", fps)
            )
        else:
            video = ffmpeg.input(
                f"color=c=black:s={width}x{height}:r={fps:g}", f="lavfi", t=f"{part.duration_s:.6f}"
            ).video
        audio = source["a:0"].filter("aresample", 48000).filter("aformat", channel_layouts="stereo")
        streams += [video, audio]
    joined = ffmpeg.concat(*streams, v=1, a=1).node
    picture = joined[0] if ass_script is None else joined[0].filter("ass", str(ass_script))
    stream = ffmpeg.output(picture, joined[1], str(out), **_VIDEO_CODECS)
    stream = stream.global_args("-v", "error", "-nostdin", "-progress", "pipe:1", "-nostats")
    args: list[str] = ffmpeg.compile(stream.overwrite_output())
    return args


def run_ffmpeg(
    command: Sequence[str], duration_s: float, on_progress: Callable[[float], None] | None
) -> None:
    """Run an ffmpeg command built with ``-progress pipe:1``, reporting the fraction
    written; MediaError with ffmpeg's last words if it fails."""
    log.info("ffmpeg: %s", " ".join(command))
    with subprocess.Popen(  # nosec B603
        list(command), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        for raw in process.stdout or ():
            key, _, value = raw.decode(errors="replace").strip().partition("=")
            # out_time_us (out_time_ms is microseconds too, despite its name)
            if key == "out_time_us" and value.isdigit() and on_progress and duration_s:
                on_progress(min(1.0, int(value) / 1e6 / duration_s))
        _, stderr = process.communicate()
    if process.returncode != 0:
        raise MediaError(
            f"Не удалось вырезать фрагмент: {_tail(stderr)}. The cut could not be rendered."
        )
    if on_progress is not None:
        on_progress(1.0)


def _tail(stderr: bytes | None) -> str:
    return (stderr or b"").decode(errors="replace").strip()[-300:]
