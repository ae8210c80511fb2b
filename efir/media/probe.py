"""A light check that an upload is media efir can transcribe, before it is queued.

The API cannot import the worker's media stage, so this opens the container with
PyAV, requires an audio stream, and decodes its first seconds: a text file renamed
``.mp4``, a truncated download or a silent video is refused at upload time, with a
message a newsroom user can act on, instead of failing later in the queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av

from efir.errors import MediaError, MediaTooLargeError, NoAudioError

__all__ = ["MAX_AUDIO_TRACKS", "UNKNOWN_MEDIA_TYPE", "MediaSummary", "probe_media"]

# Enough decoded audio to be sure the stream is real, cheap even for a 4 GB file.
_CHECK_DECODE_S = 2.0
# The worker measures the first minute of every audio track to skip silent spares
# (about 0.15 s of CPU per track); broadcast MXF carries at most 16, so 64 is generous
# and keeps a hostile file with thousands of tracks from costing minutes.
MAX_AUDIO_TRACKS = 64
# A WAV holding less than this share of the data its header declares is a cut download.
_WAV_MIN_DATA_SHARE = 0.95
# Streaming writers that cannot seek back leave the data size unknown.
_WAV_UNKNOWN_SIZES = (0, 0xFFFFFFFF)


# FFmpeg's demuxer name → (type with video, type of audio only). The type the media
# route sends comes only from here, never from the uploader's file name: a WAV named
# report.html must not come back as text/html on efir's origin.
_MEDIA_TYPES: dict[str, tuple[str, str]] = {
    "mov,mp4,m4a,3gp,3g2,mj2": ("video/mp4", "audio/mp4"),
    "matroska,webm": ("video/webm", "audio/webm"),
    "ogg": ("video/ogg", "audio/ogg"),
    "mpegts": ("video/mp2t", "video/mp2t"),
    "mxf": ("application/mxf", "application/mxf"),
    "avi": ("video/x-msvideo", "video/x-msvideo"),
    "asf": ("video/x-ms-asf", "audio/x-ms-wma"),
    "wav": ("audio/wav", "audio/wav"),
    "mp3": ("audio/mpeg", "audio/mpeg"),
    "flac": ("audio/flac", "audio/flac"),
    "aac": ("audio/aac", "audio/aac"),
    "aiff": ("audio/aiff", "audio/aiff"),
}
UNKNOWN_MEDIA_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class MediaSummary:
    duration_s: float
    has_video: bool
    audio_streams: int
    format_name: str

    @property
    def media_type(self) -> str:
        """The container's media type from a fixed list, else application/octet-stream."""
        types = _MEDIA_TYPES.get(self.format_name)
        if types is None:
            return UNKNOWN_MEDIA_TYPE
        return types[0] if self.has_video else types[1]


def probe_media(path: Path, *, max_duration_s: float | None = None) -> MediaSummary:
    """Check ``path`` decodes as audio; raise ``MediaError`` subclasses with a clear reason."""
    if path.stat().st_size == 0:
        raise MediaError("Файл пуст (0 байт). The uploaded file is empty.")
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            audio = container.streams.audio
            if not audio:
                raise NoAudioError(
                    "В файле нет звуковой дорожки. The file has no audio track to transcribe."
                )
            if len(audio) > MAX_AUDIO_TRACKS:
                raise MediaError(
                    f"В файле {len(audio)} звуковых дорожек, допустимо не больше "
                    f"{MAX_AUDIO_TRACKS}. The file has {len(audio)} audio tracks; "
                    f"at most {MAX_AUDIO_TRACKS} are accepted."
                )
            has_video = bool(container.streams.video)
            duration_s = _duration_s(container, audio[0])
            decoded_s = _decode_seconds(container, audio[0])
            # A download cut short keeps its header's duration; its tail does not decode.
            tail_missing = duration_s > 2 * _CHECK_DECODE_S and not _tail_decodes(
                container, audio[0], duration_s
            )
            format_name = container.format.name
    except av.FFmpegError as error:
        raise MediaError(
            "Файл не распознан как аудио или видео или повреждён. "
            f"The file is not decodable audio or video ({error.strerror or error})."
        ) from error
    if (
        decoded_s < min(_CHECK_DECODE_S, duration_s * 0.9)
        or tail_missing
        or (format_name == "wav" and _wav_data_missing(path))
    ):
        raise MediaError(
            "Звуковая дорожка не декодируется: файл повреждён или обрезан. "
            "The audio track does not decode; the file is damaged or truncated."
        )
    duration_s = max(duration_s, decoded_s)
    if max_duration_s is not None and duration_s > max_duration_s:
        raise MediaTooLargeError(
            f"Запись длиннее допустимого ({max_duration_s / 3600:.1f} ч). "
            f"The recording is longer than the {max_duration_s / 3600:.1f} h limit."
        )
    return MediaSummary(
        duration_s=duration_s,
        has_video=has_video,
        audio_streams=len(audio),
        format_name=format_name,
    )


def _decode_seconds(container: av.container.InputContainer, stream: av.AudioStream) -> float:
    """Seconds of audio decoded from the current position, up to _CHECK_DECODE_S."""
    decoded_s = 0.0
    try:
        for frame in container.decode(stream):
            decoded_s += frame.samples / (frame.sample_rate or 1)
            if decoded_s >= _CHECK_DECODE_S:
                break
    except av.FFmpegError:
        pass  # what decoded before the damage is what counts
    return decoded_s


def _tail_decodes(
    container: av.container.InputContainer, stream: av.AudioStream, duration_s: float
) -> bool:
    target_s = duration_s - _CHECK_DECODE_S
    if stream.time_base is None:
        return False
    try:
        container.seek(int(target_s / stream.time_base), stream=stream)
    except av.FFmpegError:
        return False
    # A failed seek can leave the demuxer where it was, so check where frames come from.
    earliest_tail_s = target_s - min(10.0, duration_s / 4)
    try:
        for frame in container.decode(stream):
            if frame.time is not None:
                return frame.time >= earliest_tail_s
    except av.FFmpegError:
        return False
    return False


def _duration_s(container: av.container.InputContainer, stream: av.AudioStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _wav_data_missing(path: Path) -> bool:
    """Whether the RIFF header declares much more sample data than the file holds.

    FFmpeg quietly clamps the data chunk to the file's size, so a WAV cut short
    (or a header that claims ten hours over a second of data) would pass as a
    short clip; the header's own size is the only trace of what is missing.
    """
    file_size = path.stat().st_size
    with path.open("rb") as file:
        riff = file.read(12)
        if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:] != b"WAVE":
            return False  # RF64, W64: their sizes live elsewhere; trust the decode
        while header := file.read(8):
            if len(header) < 8:
                return False
            chunk_id, chunk_size = header[:4], int.from_bytes(header[4:], "little")
            if chunk_id == b"data":
                if chunk_size in _WAV_UNKNOWN_SIZES:
                    return False
                held = file_size - file.tell()
                return held < chunk_size * _WAV_MIN_DATA_SHARE
            file.seek(chunk_size + chunk_size % 2, 1)  # chunks are word-aligned
    return False
