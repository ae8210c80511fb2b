"""Hostile uploads (issue 7): lying headers, many tracks, decompression bombs, odd names.

Each gets a clear 4xx at upload, or, where only decoding can tell, a MediaError
from the worker's media stage (a failed job); nothing is left in storage.
"""

from __future__ import annotations

import gzip
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.service_support import SEED_DIR, SettingsFactory, running_api
from test_upload_errors import assert_nothing_left, multipart_body, post_raw

from efir.config import Settings
from efir.errors import MediaTooLargeError
from efir.media.probe import MAX_AUDIO_TRACKS
from worker.stages.media import SAMPLE_RATE, choose_audio_stream, decode_audio, probe

# The test API's duration limit: small, so the bombs that exceed it stay quick to make.
LIMIT_S = 600.0
# Generous: each refusal below is measured well under a second on a loaded machine.
ANSWER_WITHIN_S = 10.0
AUDIBLE_TRACK = 37


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def silence(seconds: float) -> list[str]:
    return ["-f", "lavfi", "-t", str(seconds), "-i", f"anullsrc=r={SAMPLE_RATE}:cl=mono"]


def many_tracks(out: Path, *, tracks: int, seconds: float, audible: int | None) -> Path:
    """A Matroska file of `tracks` audio tracks, all silent but `audible` (the seed's speech)."""
    inputs = [*silence(seconds), "-ss", "10", "-t", str(seconds), "-i", str(SEED_DIR / "seed.wav")]
    maps = [arg for i in range(tracks) for arg in ("-map", "1:a" if i == audible else "0:a")]
    ffmpeg(*inputs, *maps, "-c:a", "aac", "-b:a", "16k", str(out))
    return out


def ten_hour_wav_header(out: Path) -> Path:
    """A RIFF header declaring ten hours of 16 kHz mono PCM, followed by one second of it."""
    data_size = 10 * 3600 * SAMPLE_RATE * 2
    fmt = (
        (16).to_bytes(4, "little")
        + (1).to_bytes(2, "little")  # PCM
        + (1).to_bytes(2, "little")  # mono
        + SAMPLE_RATE.to_bytes(4, "little")
        + (SAMPLE_RATE * 2).to_bytes(4, "little")
        + (2).to_bytes(2, "little")
        + (16).to_bytes(2, "little")
    )
    header = b"RIFF" + (36 + data_size).to_bytes(4, "little") + b"WAVE" + b"fmt " + fmt
    out.write_bytes(header + b"data" + data_size.to_bytes(4, "little") + bytes(SAMPLE_RATE * 2))
    return out


def mp3_with_a_lying_length(out: Path, directory: Path) -> Path:
    """10 s at 160 kbit/s then 20 min at 8 kbit/s, no Xing header: FFmpeg estimates the
    length from the first frames' bitrate (about 70 s), the decode runs 1,210 s."""
    head, tail = directory / "head.mp3", directory / "tail.mp3"
    plain_mp3 = ["-c:a", "libmp3lame", "-write_xing", "0", "-id3v2_version", "0"]
    ffmpeg("-i", str(SEED_DIR / "seed.wav"), "-t", "10", "-ac", "1", *plain_mp3, "-b:a", "160k",
           "-ar", str(SAMPLE_RATE), str(head))  # fmt: skip
    ffmpeg(*silence(1200), *plain_mp3, "-b:a", "8k", str(tail))
    out.write_bytes(head.read_bytes() + tail.read_bytes())
    return out


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("hostile-media")
    flac_bomb = directory / "bomb.flac"
    ffmpeg(*silence(2 * LIMIT_S), "-c:a", "flac", str(flac_bomb))
    adts_part = directory / "part.aac"
    ffmpeg(*silence(LIMIT_S), "-c:a", "aac", "-b:a", "8k", "-f", "adts", str(adts_part))
    adts_bomb = directory / "concatenated.aac"
    adts_bomb.write_bytes(adts_part.read_bytes() * 2)
    zipped = directory / "clip.mp4"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(SEED_DIR / "seed.wav", "seed.wav")
    gzipped = directory / "seed.wav.gz"
    gzipped.write_bytes(gzip.compress((SEED_DIR / "seed.wav").read_bytes()))
    too_many = MAX_AUDIO_TRACKS + 1
    return {
        "ten_hour_header": ten_hour_wav_header(directory / "ten-hours.wav"),
        "flac_bomb": flac_bomb,
        "adts_bomb": adts_bomb,
        "lying_mp3": mp3_with_a_lying_length(directory / "lying.mp3", directory),
        "zip": zipped,
        "gzip": gzipped,
        "fifty_tracks": many_tracks(
            directory / "fifty.mkv", tracks=50, seconds=20, audible=AUDIBLE_TRACK
        ),
        "too_many_tracks": many_tracks(
            directory / "many.mkv", tracks=too_many, seconds=1, audible=0
        ),
    }


@pytest.fixture
def limited_api(
    make_settings: SettingsFactory, redis_url: str, queue_name: str
) -> Iterator[tuple[httpx.Client, Settings]]:
    settings = make_settings(redis_url=redis_url, queue_name=queue_name, max_duration_s=LIMIT_S)
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=60) as client:
        yield client, settings


def upload(client: httpx.Client, path: Path) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.post("/api/v1/clips", files={"file": (path.name, path.read_bytes())})
    return response, time.monotonic() - started


@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("ten_hour_header", 422, "damaged or truncated"),
        ("flac_bomb", 413, "longer than the 0.2 h limit"),
        ("adts_bomb", 413, "longer than the 0.2 h limit"),
        ("zip", 422, "not decodable audio or video"),
        ("gzip", 422, "not decodable audio or video"),
        ("too_many_tracks", 422, f"at most {MAX_AUDIO_TRACKS} are accepted"),
    ],
)
def test_hostile_media_is_refused_quickly_at_upload(
    limited_api: tuple[httpx.Client, Settings],
    hostile: dict[str, Path],
    kind: str,
    status: int,
    message: str,
) -> None:
    client, settings = limited_api
    response, elapsed_s = upload(client, hostile[kind])
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert elapsed_s < ANSWER_WITHIN_S
    assert_nothing_left(settings)


def test_fifty_audio_tracks_are_accepted_and_the_audible_one_is_chosen(
    limited_api: tuple[httpx.Client, Settings], hostile: dict[str, Path]
) -> None:
    client, _ = limited_api
    path = hostile["fifty_tracks"]
    response, elapsed_s = upload(client, path)
    assert response.status_code == 202, response.text
    assert elapsed_s < ANSWER_WITHIN_S
    info = probe(path, max_duration_s=LIMIT_S)
    assert len(info.audio_streams) == 50
    started = time.monotonic()
    # Track 0 is the container's default; the silent spares must lose to the speech.
    assert choose_audio_stream(info) == info.audio_streams[AUDIBLE_TRACK].index
    # One demux pass over at most a minute per track: 50 tracks of 20 s take ~3 s here.
    assert time.monotonic() - started < 60


def test_a_length_the_container_underdeclares_is_stopped_while_decoding(
    limited_api: tuple[httpx.Client, Settings], hostile: dict[str, Path]
) -> None:
    """The upload probe can only trust the estimate; the worker's decode enforces the limit."""
    client, _ = limited_api
    path = hostile["lying_mp3"]
    response, _ = upload(client, path)
    assert response.status_code == 202, response.text
    info = probe(path, max_duration_s=LIMIT_S)
    assert info.duration_s < LIMIT_S  # the estimate the upload was accepted on
    started = time.monotonic()
    with pytest.raises(MediaTooLargeError, match="decodes past the duration limit"):
        decode_audio(path, info=info, max_duration_s=LIMIT_S)
    assert time.monotonic() - started < 30
    # Without the limit the same file decodes far past what it declared.
    assert decode_audio(path, info=info).size / SAMPLE_RATE > 2 * LIMIT_S


def test_an_encoded_traversal_name_is_only_displayed(
    api_client: tuple[httpx.Client, Settings],
) -> None:
    client, settings = api_client
    name = "..%2f..%2fetc%2fpasswd .wav"
    response = post_raw(client, multipart_body(name.encode(), (SEED_DIR / "seed.wav").read_bytes()))
    assert response.status_code == 202, response.text
    clip = client.get(f"/api/v1/clips/{response.json()['clip_id']}").json()
    assert clip["original_filename"] == name
    stored = [p.relative_to(settings.media_dir) for p in settings.media_dir.rglob("*")]
    assert all("passwd" not in str(p) and ".." not in str(p) for p in stored)
