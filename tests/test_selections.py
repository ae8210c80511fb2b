"""Rough cuts: a selection of three quotes from two clips over HTTP (SQLite and
PostgreSQL), exported as a CMX3600 EDL and FCP XML that OpenTimelineIO reads back to the
same in and out points, as a DOCX script, and rendered by a real worker as one MP4."""

from __future__ import annotations

import io
import subprocess
import time
from itertools import pairwise
from pathlib import Path
from typing import Any

import docx
import httpx
import opentimelineio as otio
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
from support.service_support import (
    SEED_DIR,
    SettingsFactory,
    running_api,
    running_worker,
    session_factory,
)

from efir.config import Settings
from efir.cuts.spec import cropped_transcript
from efir.db import Cut
from efir.media.storage import make_storage

FPS = 25
# Two quotes of the seed video (an interviewee, then the correspondent) around one of a
# sound-only clip cut from the seed's last turns.
VIDEO_QUOTES = [(46.17, 51.21), (68.02, 72.4)]
AUDIO_QUOTE = (2.0, 6.5)  # on the sound clip, which starts at the seed's 116 s


def _clips(settings: Settings, tmp_path: Path) -> tuple[str, str]:
    transcript = seed_transcript()
    video_id = store_clip(settings, SEED_DIR / "seed.mp4", transcript, title="Форум")
    sound = tmp_path / "spanov.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-ss", "116", "-t", "12",
         "-i", str(SEED_DIR / "seed.wav"), str(sound)],
        check=True,
    )  # fmt: skip
    audio_id = store_clip(
        settings, sound, cropped_transcript(transcript, 116.0, 128.0), title="Спанов"
    )
    return video_id, audio_id


def _cut_media_key(settings: Settings, cut_id: str) -> str | None:
    sessions = session_factory(settings.sqlalchemy_url)
    with sessions() as session:
        cut = session.get(Cut, cut_id)
        key = cut.media_key if cut else None
    sessions.kw["bind"].dispose()
    return key


def _selection(client: httpx.Client, video_id: str, audio_id: str) -> dict[str, Any]:
    created = client.post("/api/v1/selections", json={"name": "Подборка к вечернему выпуску"})
    assert created.status_code == 201, created.text
    selection_id = created.json()["id"]
    spans = [(video_id, *VIDEO_QUOTES[0]), (audio_id, *AUDIO_QUOTE), (video_id, *VIDEO_QUOTES[1])]
    for clip_id, start_s, end_s in spans:
        added = client.post(
            f"/api/v1/selections/{selection_id}/quotes",
            json={"clip_id": clip_id, "start_s": start_s, "end_s": end_s},
        )
        assert added.status_code == 201, added.text
    selection: dict[str, Any] = added.json()
    return selection


def test_a_selection_exports_an_edl_and_fcp_xml_with_its_in_and_out_points(
    database_url: str, make_settings: SettingsFactory, tmp_path: Path
) -> None:
    settings = make_settings(database_url=database_url)
    video_id, audio_id = _clips(settings, tmp_path)
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        selection = _selection(client, video_id, audio_id)
        base = f"/api/v1/selections/{selection['id']}"
        # Bad quotes are refused and change nothing; a removed quote is gone.
        for body, status in [
            ({"clip_id": video_id, "start_s": 10, "end_s": 5}, 422),
            ({"clip_id": video_id, "start_s": 140, "end_s": 190}, 422),
            ({"clip_id": "nope", "start_s": 1, "end_s": 2}, 404),
        ]:
            assert client.post(f"{base}/quotes", json=body).status_code == status, body
        extra = client.post(f"{base}/quotes", json={"clip_id": video_id, "start_s": 1, "end_s": 2})
        removed = client.delete(f"{base}/quotes/{extra.json()['quotes'][-1]['id']}")
        assert removed.status_code == 200
        assert removed.json()["quotes"] == selection["quotes"]
        assert client.delete(f"{base}/quotes/999999").status_code == 404
        listed = client.get("/api/v1/selections").json()
        assert [s["id"] for s in listed] == [selection["id"]]

        edl = client.get(f"{base}/export", params={"format": "edl"})
        xml = client.get(f"{base}/export", params={"format": "fcpxml"})
        script = client.get(f"{base}/export", params={"format": "docx"})
        empty = client.post("/api/v1/selections", json={"name": "Пусто"}).json()
        assert client.get(f"/api/v1/selections/{empty['id']}/export").status_code == 422
        assert client.delete(f"/api/v1/selections/{empty['id']}").status_code == 204
    assert edl.status_code == xml.status_code == script.status_code == 200
    assert "filename*=UTF-8''" in edl.headers["content-disposition"]

    quotes = selection["quotes"]
    assert [q["clip_id"] for q in quotes] == [video_id, audio_id, video_id]
    assert "Наут ВАН ВАУДЕНБЕРГ" in (quotes[0]["speaker"] or "")
    assert quotes[0]["text"].startswith("связанная с")
    expected = [(round(q["start_s"] * FPS), round(q["end_s"] * FPS)) for q in quotes]
    for name, text, adapter, options in [
        ("EDL", edl.text, "cmx_3600", {"rate": FPS}),
        ("FCP XML", xml.text, "fcp_xml", {}),
    ]:
        timeline = otio.adapters.read_from_string(text, adapter, **options)
        clips = list(timeline.find_clips())
        read = [
            (
                round(c.source_range.start_time.to_frames(FPS)),
                round(c.source_range.end_time_exclusive().to_frames(FPS)),
            )
            for c in clips
        ]
        assert read == expected, name
        # Back to back on the record side, in the selection's order.
        records = [c.range_in_parent() for c in clips]
        assert records[0].start_time.to_frames(FPS) == 0, name
        for before, after in pairwise(records):
            assert before.end_time_exclusive() == after.start_time, name

    document = docx.Document(io.BytesIO(script.content))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0] == "Подборка к вечернему выпуску"
    assert any(p.startswith("001  00:00:00:00–00:00:05:") for p in paragraphs)
    assert any("00:00:46:04–00:00:51:05" in p for p in paragraphs)  # the source timecodes
    assert any(p.startswith("Наут ВАН ВАУДЕНБЕРГ") for p in paragraphs)
    assert quotes[0]["text"] in paragraphs


def test_a_selection_renders_as_one_mp4(
    make_settings: SettingsFactory, redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    video_id, audio_id = _clips(settings, tmp_path)
    with (
        running_api(settings) as base_url,
        httpx.Client(base_url=base_url, timeout=60) as client,
        running_worker(settings, tmp_path / "worker.log"),
    ):
        selection = _selection(client, video_id, audio_id)
        render = f"/api/v1/selections/{selection['id']}/render"
        refused = client.post(render, json={"subtitles": "sidecar"})
        assert refused.status_code == 422, refused.text
        queued = client.post(render, json={"subtitles": "burn"})
        assert queued.status_code == 202, queued.text
        deadline = time.monotonic() + 300
        while (cut := client.get(f"/api/v1/cuts/{queued.json()['id']}").json())["state"] in (
            "queued",
            "running",
        ):
            assert time.monotonic() < deadline, "the rendering did not finish"
            time.sleep(0.3)
        assert cut["state"] == "done", cut["error"]
        download = client.get(cut["file_url"])
        reel_key = _cut_media_key(settings, cut["id"])
        assert reel_key and make_storage(settings).path_for(reel_key) is not None
        # Deleting the selection deletes its rendering, row and file.
        assert client.delete(f"/api/v1/selections/{selection['id']}").status_code == 204
        assert client.get(f"/api/v1/cuts/{cut['id']}").status_code == 404
    assert not (settings.media_dir / reel_key).exists()
    assert download.headers["content-type"] == "video/mp4"
    assert "Podborka-k-vechernemu-vypusku" in download.headers["content-disposition"]
    reel = tmp_path / "reel.mp4"
    reel.write_bytes(download.content)
    streams = ffprobe_streams(reel)
    frames = sum(round(q["end_s"] * FPS) - round(q["start_s"] * FPS) for q in selection["quotes"])
    assert abs(float(streams["video"]["duration"]) - frames / FPS) <= 1 / FPS
    assert abs(float(streams["audio"]["duration"]) - frames / FPS) <= 2 / FPS
    assert (streams["video"]["width"], streams["video"]["height"]) == (1280, 720)
    # Each quote's subtitles are burned from its own first frame on the reel's timeline:
    # one second into the third quote (the seed video again) its words are on the picture.
    third = selection["quotes"][2]
    at_s = sum(round(q["end_s"] * FPS) - round(q["start_s"] * FPS) for q in selection["quotes"][:2])
    at_s = at_s / FPS + 1.0
    drawn = video_frame(reel, at_s, tmp_path / "drawn.png")
    plain = video_frame(
        SEED_DIR / "seed.mp4", round(third["start_s"] * FPS) / FPS + 1.0, tmp_path / "plain.png"
    )
    bounds = drawn_box(drawn, plain)
    assert bounds is not None, "no subtitle drawn"
    assert bounds[1] > drawn.height / 2  # at the bottom
    read = text_words(ocr_text(drawn.crop(bounds)))
    assert share_read(text_words(third["text"])[:4], read) >= 0.75, (read, third["text"])
