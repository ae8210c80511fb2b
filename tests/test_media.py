"""Media stage against real files: the seed fixtures and small clips made with ffmpeg."""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from efir.errors import MediaError, MediaTooLargeError, NoAudioError
from worker.stages.media import (
    SAMPLE_RATE,
    choose_audio_stream,
    decode_audio,
    grab_frames,
    probe,
    stretched,
)

SEED = Path(__file__).resolve().parents[1] / "fixtures" / "seed"
SEED_SECONDS = 146.079

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="module")
def seed_mp3(media_dir: Path) -> Path:
    path = media_dir / "seed.mp3"
    ffmpeg("-i", str(SEED / "seed.wav"), "-t", "20", "-b:a", "64k", str(path))
    return path


def test_wav_decodes_to_its_exact_length() -> None:
    audio = decode_audio(SEED / "seed.wav")
    assert audio.dtype == np.float32
    assert audio.ndim == 1
    assert audio.size == 2337267


def test_mp4_decodes_to_the_same_timeline_as_the_wav() -> None:
    info = probe(SEED / "seed.mp4")
    assert info.has_video
    assert info.duration_s == pytest.approx(SEED_SECONDS, abs=0.1)
    audio = decode_audio(SEED / "seed.mp4", info=info)
    assert audio.size / SAMPLE_RATE == pytest.approx(SEED_SECONDS, abs=0.05)
    reference = decode_audio(SEED / "seed.wav")
    # Same programme sound: the loudness envelopes agree second by second.
    seconds = int(SEED_SECONDS) - 1

    def envelope(a: np.ndarray) -> np.ndarray:
        return np.sqrt((a[: seconds * SAMPLE_RATE].reshape(seconds, -1) ** 2).mean(axis=1))

    assert np.corrcoef(envelope(audio), envelope(reference))[0, 1] > 0.95


@needs_ffmpeg
def test_mp3_decodes_to_its_length(seed_mp3: Path) -> None:
    info = probe(seed_mp3)
    assert not info.has_video
    audio = decode_audio(seed_mp3, info=info)
    assert audio.size / SAMPLE_RATE == pytest.approx(20.0, abs=0.05)


@needs_ffmpeg
def test_truncated_mp3_is_rejected(seed_mp3: Path, media_dir: Path) -> None:
    truncated = media_dir / "truncated.mp3"
    truncated.write_bytes(seed_mp3.read_bytes()[: seed_mp3.stat().st_size // 2])
    with pytest.raises(MediaError, match="обрезан"):
        decode_audio(truncated)


def test_text_renamed_mp4_is_rejected(tmp_path: Path) -> None:
    fake = tmp_path / "clip.mp4"
    fake.write_text("это не видео, а текст\n" * 50, encoding="utf-8")
    with pytest.raises(MediaError, match="не распознан"):
        probe(fake)


def test_zero_byte_file_is_rejected(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.touch()
    with pytest.raises(MediaError, match="пуст"):
        probe(empty)


def test_zero_length_wav_is_rejected(tmp_path: Path) -> None:
    empty = tmp_path / "zero-length.wav"
    with wave.open(str(empty), "wb") as header_only:
        header_only.setnchannels(1)
        header_only.setsampwidth(2)
        header_only.setframerate(SAMPLE_RATE)
    with pytest.raises(MediaError, match="нет ни одной секунды звука"):
        decode_audio(empty)


@needs_ffmpeg
def test_video_without_audio_is_rejected(tmp_path: Path) -> None:
    silent_video = tmp_path / "noaudio.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=25", "-t", "2", str(silent_video))
    with pytest.raises(NoAudioError, match="нет звуковой дорожки"):
        probe(silent_video)


def test_media_over_the_duration_limit_is_rejected() -> None:
    with pytest.raises(MediaTooLargeError):
        probe(SEED / "seed.wav", max_duration_s=60.0)


def _two_track_clip(path: Path, *, codec: str, silent_layout: str) -> None:
    """A clip whose first audio track is digital silence and second is the seed's speech."""
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=size=720x576:rate=25",
        "-f", "lavfi", "-i", f"anullsrc=r=48000:cl={silent_layout}",
        "-i", str(SEED / "seed.wav"),
        "-t", "8", "-map", "0:v", "-map", "1:a", "-map", "2:a",
        "-c:v", "mpeg2video", "-c:a", codec, "-ar", "48000", str(path),
    )  # fmt: skip


@needs_ffmpeg
@pytest.mark.parametrize(
    ("name", "codec", "silent_layout"),
    [("two-tracks.ts", "mp2", "stereo"), ("two-tracks.mxf", "pcm_s16le", "mono")],
)
def test_the_audible_track_is_chosen_over_a_silent_one(
    tmp_path: Path, name: str, codec: str, silent_layout: str
) -> None:
    clip = tmp_path / name
    _two_track_clip(clip, codec=codec, silent_layout=silent_layout)
    info = probe(clip)
    assert len(info.audio_streams) == 2
    silent, speech = info.audio_streams
    # In the TS the silent track even has more channels; audibility still wins.
    assert choose_audio_stream(info) == speech.index
    audio = decode_audio(clip, info=info)
    assert audio.size / SAMPLE_RATE == pytest.approx(8.0, abs=0.1)
    assert np.sqrt(np.mean(audio**2)) > 0.01
    assert not np.any(decode_audio(clip, stream_index=silent.index, info=info))


def test_frames_are_grabbed_at_the_requested_times() -> None:
    times = [50.0, 10.0]  # 50 s: an interviewee's caption is on screen; 10 s: the anchor's
    with_caption, without_caption = grab_frames(SEED / "seed.mp4", times)
    assert with_caption.size == without_caption.size == (1280, 720)
    lower_third = (60, 560, 1220, 670)
    difference = np.abs(
        np.asarray(with_caption.crop(lower_third), dtype=np.int16)
        - np.asarray(without_caption.crop(lower_third), dtype=np.int16)
    )
    assert difference.mean() > 10


def test_frames_from_audio_only_media_are_refused() -> None:
    with pytest.raises(MediaError, match="нет видео"):
        grab_frames(SEED / "seed.wav", [1.0])


@pytest.mark.parametrize("tempo", [0.9, 1.1])
def test_a_stretched_reading_keeps_the_pitch_and_changes_the_length(tempo: float) -> None:
    seconds = 3.0
    time = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = (0.3 * np.sin(2 * np.pi * 440.0 * time)).astype(np.float32)
    heard = stretched(tone, tempo)
    assert heard.dtype == np.float32
    assert abs(heard.size / SAMPLE_RATE - seconds / tempo) < 0.02
    spectrum = np.abs(np.fft.rfft(heard))
    assert abs(np.argmax(spectrum) * SAMPLE_RATE / heard.size - 440.0) < 2.0
