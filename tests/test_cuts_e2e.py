"""A 12-second quote of the seed interview cut through the real parts: HTTP → Redis → a
Celery worker process → ffmpeg (libass burning the subtitles) → storage → download.

The file is checked from the outside: ffprobe for its length and its streams, the
audio cross-correlated with the original at the in point, and a frame where the first
subtitle shows read back by Tesseract and compared with the same cut's SRT.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
from support.cut_support import (
    drawn_box,
    ffprobe_streams,
    ocr_text,
    seed_transcript,
    share_read,
    store_clip,
    text_words,
    video_frame,
)
from support.service_support import SEED_DIR, SettingsFactory, running_api, running_worker

from efir.config import Settings
from efir.cuts.spec import timed_words
from efir.transcripts.model import Transcript

FPS = 25.0
FRAME_S = 1 / FPS + 1e-6  # one frame, and float noise: rounding both ends may reach it exactly
HANDLE_S = 0.2
CUT_TIMEOUT_S = 300.0


def _wait(client: httpx.Client, cut_id: str, seen: list[float]) -> dict[str, Any]:
    deadline = time.monotonic() + CUT_TIMEOUT_S
    while time.monotonic() < deadline:
        cut: dict[str, Any] = client.get(f"/api/v1/cuts/{cut_id}").json()
        seen.append(cut["progress"])
        if cut["state"] in ("done", "failed"):
            return cut
        time.sleep(0.2)
    raise AssertionError(f"cut {cut_id} did not finish in {CUT_TIMEOUT_S} s")


def _twelve_seconds(transcript: Transcript) -> tuple[float, float, list[str]]:
    """An interviewee's span of about 12 s, from a word's start to a word's end, and its words."""
    words = [w for s in transcript.segments for w in timed_words(s) if w.start >= 46.0]
    last = min(words, key=lambda w: abs(w.end - (words[0].start + 12.0)))
    chosen = [w.word for w in words if w.end <= last.end]
    return words[0].start, last.end, chosen


def _audio(path: Path, start_s: float, duration_s: float) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{start_s:.3f}", "-t", f"{duration_s:.3f}",
         "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", "8000", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    return np.frombuffer(raw, dtype=np.int16).astype(np.float64)


def test_a_twelve_second_quote_with_burned_subtitles(
    make_settings: SettingsFactory, redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    transcript = seed_transcript()
    clip_id = store_clip(settings, SEED_DIR / "seed.mp4", transcript, title="Гражданский форум")
    start_s, end_s, words = _twelve_seconds(transcript)
    assert 11.0 <= end_s - start_s <= 13.0
    seen: list[float] = []
    with (
        running_api(settings) as base_url,
        httpx.Client(base_url=base_url, timeout=60) as client,
        running_worker(settings, tmp_path / "worker.log"),
    ):
        span = {"start_s": start_s, "end_s": end_s, "handle_s": HANDLE_S}
        burned = client.post(f"/api/v1/clips/{clip_id}/cuts", json={**span, "subtitles": "burn"})
        sidecar = client.post(
            f"/api/v1/clips/{clip_id}/cuts", json={**span, "subtitles": "sidecar", "format": "wav"}
        )
        assert burned.status_code == sidecar.status_code == 202, burned.text
        cut = _wait(client, burned.json()["id"], seen)
        assert cut["state"] == "done", cut["error"]
        srt_cut = _wait(client, sidecar.json()["id"], [])
        assert srt_cut["state"] == "done", srt_cut["error"]
        download = client.get(cut["file_url"])
        srt = client.get(srt_cut["subtitles_url"])
        # The cuts' files go with their clip.
        files = _stored_files(settings)
        assert len(files) == 4  # the seed, the MP4, the WAV and its SRT
        assert client.delete(f"/api/v1/clips/{clip_id}").status_code == 204
        assert _stored_files(settings) == set()
        assert client.get(f"/api/v1/cuts/{cut['id']}").status_code == 404
    assert download.status_code == 200 and download.headers["content-type"] == "video/mp4"
    disposition = download.headers["content-disposition"]
    assert f"filename*=UTF-8''{quote('Гражданский-форум')}_00-00-45.mp4" in disposition
    assert srt.status_code == 200
    assert seen[-1] == 1.0 and any(0.0 < p < 1.0 for p in seen), seen  # progress as it ran
    media = tmp_path / "quote.mp4"
    media.write_bytes(download.content)

    # Length: the asked span plus the handles, within one frame.
    streams = ffprobe_streams(media)
    video, audio = streams["video"], streams["audio"]
    asked_s = end_s - start_s + 2 * HANDLE_S
    assert abs(float(video["duration"]) - asked_s) <= FRAME_S
    assert int(video["nb_frames"]) == cut["result"]["frames"]
    assert (video["codec_name"], audio["codec_name"]) == ("h264", "aac")
    # In sync: both streams start together and end within a frame of each other ...
    assert float(video["start_time"]) == float(audio["start_time"]) == 0.0
    assert abs(float(video["duration"]) - float(audio["duration"])) <= FRAME_S
    # ... and the sound is the original's from the in point, not shifted.
    in_s = cut["result"]["in_s"]
    assert abs(in_s - (start_s - HANDLE_S)) <= FRAME_S / 2
    ours = _audio(media, 0.0, 10.0)
    original = _audio(SEED_DIR / "seed.mp4", in_s - 0.5, 11.0)
    lags = [
        float(np.dot(ours, original[shift : shift + len(ours)])) for shift in range(0, 8000 + 1, 8)
    ]
    lag_s = int(np.argmax(lags)) * 8 / 8000 - 0.5
    assert abs(lag_s) <= 1 / FPS, f"the cut's sound is {lag_s * 1000:.0f} ms off the picture"

    # The first subtitle is the SRT's first cue, drawn on the picture.
    first = srt.text.split("\n\n")[0].splitlines()
    cue_start, cue_end = (_seconds(t) for t in first[1].split(" --> "))
    cue_words = text_words(" ".join(first[2:]))
    assert cue_words == text_words(" ".join(words))[: len(cue_words)]  # the span's first words
    middle_s = (cue_start + cue_end) / 2
    frame = video_frame(media, middle_s, tmp_path / "burned.png")
    plain = video_frame(SEED_DIR / "seed.mp4", in_s + middle_s, tmp_path / "plain.png")
    bounds = drawn_box(frame, plain)
    assert bounds is not None, "nothing was drawn over the picture"
    read = text_words(ocr_text(frame.crop(bounds)))
    share = share_read(cue_words, read)
    print(f"\ncue {cue_words}\nOCR {read}\nshare read {share:.2f}; progress seen {seen[:8]}…")
    assert share >= 0.8
    # The same place in the original picture does not say it: the check can fail.
    assert share_read(cue_words, text_words(ocr_text(plain.crop(bounds)))) < 0.5


def _stored_files(settings: Settings) -> set[Path]:
    return {path for path in settings.media_dir.glob("??/*") if path.is_file()}


def _seconds(clock: str) -> float:
    hours, minutes, rest = clock.strip().split(":")
    seconds, millis = rest.split(",")
    return int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(millis) / 1000
