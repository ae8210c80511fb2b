"""Cutting a quote: snapping in and out points to word edges, frames, the request's
checks, the API's answers to bad requests on SQLite and PostgreSQL (nothing queued,
nothing lost), and `efir cut` in process on real media."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import update
from support.cut_support import ffprobe_streams, seed_transcript, store_clip
from support.service_support import SEED_DIR, SettingsFactory, running_api, session_factory

from cli.main import main as efir_main
from efir.config import get_settings
from efir.cuts.jobs import create_cut, finish_cut
from efir.cuts.overlay import ReelQuote, cut_cues, lower_third_speaker, reel_cues
from efir.cuts.spec import (
    CutFormat,
    CutRequest,
    SubtitleMode,
    cropped_transcript,
    frame_span,
    resolve_span,
)
from efir.db import Clip, Cut
from efir.errors import InvalidCutError
from efir.exports import CueRules
from efir.jobs.queue import enqueue_cut, live_cut_ids, make_celery, recover_lost_jobs
from efir.transcripts.model import Segment, Transcript, Word
from worker.cutting import process_cut

TRANSCRIPT = Transcript(
    duration=10.0,
    language="ru",
    model="test",
    segments=(
        Segment(
            0,
            1.0,
            3.0,
            "Один два три.",
            "S0",
            (Word(1.0, 1.5, "Один"), Word(1.6, 2.2, "два"), Word(2.4, 3.0, "три.")),
        ),
        Segment(
            1, 5.0, 6.0, "Четыре пять.", "S1", (Word(5.0, 5.4, "Четыре"), Word(5.5, 6.0, "пять."))
        ),
    ),
)


def test_points_snap_outwards_to_the_words_they_touch() -> None:
    # 1.7 is inside «два» (1.6–2.2): the in point moves to its start; 2.3 lies in the
    # silence before «три»: the out point moves back to «два»'s end.
    span = resolve_span(TRANSCRIPT, CutRequest(start_s=1.7, end_s=2.3, handle_s=0.1), 10.0)
    assert (span.speech_start_s, span.speech_end_s) == (1.6, 2.2)
    assert (span.in_s, span.out_s) == pytest.approx((1.5, 2.3))
    # A start in silence moves forward to the next word; the end inside «пять» to its end.
    span = resolve_span(TRANSCRIPT, CutRequest(start_s=3.5, end_s=5.7, handle_s=0.0), 10.0)
    assert (span.speech_start_s, span.speech_end_s) == (5.0, 6.0)


def test_handles_stop_at_the_media_edges_and_frames_round() -> None:
    span = resolve_span(TRANSCRIPT, CutRequest(start_s=1.0, end_s=6.0, handle_s=2.0), 7.0)
    assert (span.in_s, span.out_s) == (0.0, 7.0)
    span = resolve_span(TRANSCRIPT, CutRequest(start_s=1.0, end_s=3.0, handle_s=0.2), 10.0)
    first, stop = frame_span(span, 25.0)
    assert (first, stop) == (20, 80)
    assert abs((stop - first) / 25.0 - (3.0 - 1.0 + 0.4)) <= 1 / 25 + 1e-6


def test_segment_ids_cut_whole_turns() -> None:
    span = resolve_span(TRANSCRIPT, CutRequest(segment_ids=(1,), handle_s=0.0), 10.0)
    assert (span.speech_start_s, span.speech_end_s) == (5.0, 6.0)
    with pytest.raises(InvalidCutError, match="no segments"):
        resolve_span(TRANSCRIPT, CutRequest(segment_ids=(7,)), 10.0)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"start_s": 3.0, "end_s": 3.0}, "before the end"),
        ({"start_s": 4.0, "end_s": 2.0}, "before the end"),
        ({"start_s": -1.0, "end_s": 2.0}, "negative"),
        ({"start_s": 1.0}, "Both"),
        ({}, "either"),
        ({"start_s": 1.0, "end_s": 2.0, "segment_ids": (0,)}, "either"),
        ({"start_s": 1.0, "end_s": 2.0, "handle_s": 9.0}, "handle_s"),
        (
            {"start_s": 1.0, "end_s": 2.0, "format": CutFormat.MP3, "subtitles": SubtitleMode.BURN},
            "burned",
        ),
        (
            {"start_s": 1.0, "end_s": 2.0, "format": CutFormat.WAV, "lower_third": True},
            "lower third",
        ),
        ({"start_s": 1.0, "end_s": 2.0, "rules": (("max_cps_typo", 12.0),)}, "max_cps_typo"),
        ({"start_s": 1.0, "end_s": 2.0, "rules": (("fps", 30.0),)}, "its clip's"),
    ],
)
def test_bad_requests_say_why_in_both_languages(fields: dict[str, object], reason: str) -> None:
    with pytest.raises(InvalidCutError, match=reason) as raised:
        CutRequest(**fields)  # type: ignore[arg-type]
    assert raised.value.messages["ru"] != raised.value.messages["en"]


def test_a_span_past_the_media_is_refused() -> None:
    with pytest.raises(InvalidCutError, match="past the end"):
        resolve_span(TRANSCRIPT, CutRequest(start_s=11.0, end_s=12.0), 10.0)
    with pytest.raises(InvalidCutError, match="past the end"):
        resolve_span(TRANSCRIPT, CutRequest(start_s=5.0, end_s=14.0), 10.0)


def test_the_cut_subtitles_hold_its_words_from_its_zero() -> None:
    cropped = cropped_transcript(TRANSCRIPT, 1.5, 5.6)
    assert [s.text for s in cropped.segments] == ["два три.", "Четыре"]
    assert cropped.segments[0].words[0].start == pytest.approx(0.1)
    cues = cut_cues(TRANSCRIPT, 1.5, 5.6, CueRules(fps=25.0))
    words = " ".join(c.text for c in cues).split()
    assert [w for w in words if w != "–"] == ["два", "три.", "Четыре"]  # two speakers: dashes
    assert cues[0].start == pytest.approx(0.1, abs=1 / 25)  # «два» at 1.6 s on the clip


def test_a_reels_cues_follow_its_quotes_back_to_back() -> None:
    rules = CueRules(fps=25.0)
    # «Четыре пять.» (5.0-6.0 s) for 40 frames, then «Один два» cut at 2.3 s.
    quotes = [ReelQuote(TRANSCRIPT, 125, 40), ReelQuote(TRANSCRIPT, 25, 32)]
    cues = reel_cues(quotes, rules)
    assert [cue.text for cue in cues] == ["Четыре пять.", "Один два"]
    assert cues[0].start_frame == 0 and cues[0].end_frame <= 40
    assert cues[1].start_frame == 40  # «Один» starts the second quote's first frame
    assert cues[1].end_frame <= 40 + 32
    alone = cut_cues(TRANSCRIPT, 1.0, 2.28, rules)
    assert [(c.start_frame + 40, c.end_frame + 40) for c in alone] == [
        (c.start_frame, c.end_frame) for c in cues[1:]
    ]


def test_the_lower_third_is_the_first_words_named_speaker() -> None:
    transcript = seed_transcript()
    span = resolve_span(transcript, CutRequest(start_s=46.0, end_s=50.0), transcript.duration)
    speaker = lower_third_speaker(transcript, span)
    assert speaker is not None and speaker.name == "Наут ВАН ВАУДЕНБЕРГ"
    span = resolve_span(transcript, CutRequest(start_s=5.0, end_s=9.0), transcript.duration)
    assert lower_third_speaker(transcript, span) is None  # the anchor has no caption


@pytest.fixture
def audio_clip(tmp_path: Path) -> Path:
    out = tmp_path / "interview.wav"
    source = str(SEED_DIR / "seed.wav")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-ss", "40", "-t", "20", "-i", source, str(out)],
        check=True,
    )
    return out


def test_the_api_refuses_cuts_the_clip_cannot_give(
    database_url: str,
    make_settings: SettingsFactory,
    redis_url: str,
    queue_name: str,
    audio_clip: Path,
) -> None:
    settings = make_settings(database_url=database_url, redis_url=redis_url, queue_name=queue_name)
    session_factory(settings.sqlalchemy_url).kw["bind"].dispose()
    video_id = store_clip(settings, SEED_DIR / "seed.mp4", seed_transcript())
    audio_transcript = cropped_transcript(seed_transcript(), 40.0, 60.0)
    audio_id = store_clip(settings, audio_clip, audio_transcript)
    with running_api(settings) as base_url, httpx.Client(base_url=base_url, timeout=30) as client:
        refused = {
            "start after end": (video_id, {"start_s": 50, "end_s": 40}),
            "past the media": (video_id, {"start_s": 140, "end_s": 160}),
            "start past the media": (video_id, {"start_s": 150, "end_s": 151}),
            "video of audio": (audio_id, {"start_s": 1, "end_s": 5, "format": "mp4"}),
            "burned into mp3": (video_id, {"start_s": 1, "end_s": 5, "format": "mp3",
                                           "subtitles": "burn"}),
            "no such segment": (video_id, {"segment_ids": [999]}),
            "unknown rule": (video_id, {"start_s": 1, "end_s": 5, "rules": {"max_cpz": 12}}),
        }  # fmt: skip
        for name, (clip_id, body) in refused.items():
            answer = client.post(f"/api/v1/clips/{clip_id}/cuts", json=body)
            assert answer.status_code == 422, (name, answer.text)
            assert answer.json()["code"] == "invalid_cut", name
            assert answer.json()["message"]["ru"] != answer.json()["message"]["en"], name
        assert (
            client.post("/api/v1/clips/nope/cuts", json={"start_s": 1, "end_s": 2}).status_code
            == 404
        )
        assert client.get("/api/v1/cuts/nope").status_code == 404
        sessions = session_factory(settings.sqlalchemy_url)
        with sessions() as session:
            # Nothing queued for a refused request (the database may hold other tests' cuts).
            queued = session.query(Cut).filter(Cut.clip_id.in_([video_id, audio_id])).count()
            assert queued == 0
            clip = session.get(Clip, audio_id)
            assert clip is not None
            clip.media_removed_at = datetime.now(UTC)
            session.commit()
        answer = client.post(
            f"/api/v1/clips/{audio_id}/cuts", json={"start_s": 1, "end_s": 5, "format": "wav"}
        )
        assert answer.status_code == 422 and "retention" in answer.json()["message"]["en"]
        accepted = client.post(
            f"/api/v1/clips/{video_id}/cuts", json={"start_s": 46, "end_s": 50, "format": "mp3"}
        )
        assert accepted.status_code == 202, accepted.text
        cut = accepted.json()
        assert cut["state"] == "queued" and cut["file_url"] is None
        assert cut["spec"]["revision"] == 1
        assert client.get(f"/api/v1/cuts/{cut['id']}/file").status_code == 409
        listed = client.get(f"/api/v1/clips/{video_id}/cuts").json()
        assert [c["id"] for c in listed] == [cut["id"]]
    sessions.kw["bind"].dispose()


def test_efir_cut_writes_a_frame_accurate_file(
    make_settings: SettingsFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings()
    clip_id = store_clip(settings, SEED_DIR / "seed.mp4", seed_transcript())
    monkeypatch.setenv("EFIR_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("EFIR_DATABASE_URL", settings.sqlalchemy_url)
    get_settings.cache_clear()
    out = tmp_path / "quote.wav"
    try:
        code = efir_main(
            ["cut", clip_id, "--start", "46.17", "--end", "51.21", "--format", "wav",
             "--subtitles", "sidecar", "--out", str(out)]
        )  # fmt: skip
    finally:
        get_settings.cache_clear()
    assert code == 0
    audio = ffprobe_streams(out)["audio"]
    assert "video" not in ffprobe_streams(out)
    assert abs(float(audio["duration"]) - (51.21 - 46.17 + 0.4)) <= 1 / 25 + 1e-6
    srt = out.with_suffix(".srt").read_text(encoding="utf-8")
    assert srt.startswith("1\n00:00:00,") and "связанная" in srt
    assert efir_main(["cut", clip_id, "--start", "9", "--end", "3", "--out", str(out)]) == 2


def test_cuts_the_broker_lost_are_sent_again(
    make_settings: SettingsFactory, redis_url: str, queue_name: str
) -> None:
    settings = make_settings(redis_url=redis_url, queue_name=queue_name)
    clip_id = store_clip(settings, SEED_DIR / "seed.mp4", seed_transcript())
    sessions = session_factory(settings.sqlalchemy_url)
    celery = make_celery(settings)
    request = CutRequest(start_s=46.0, end_s=50.0, format=CutFormat.WAV)
    with sessions() as session:
        lost, waiting, fresh = (
            create_cut(session, clip_id, request, requested_by="test") for _ in range(3)
        )
        enqueue_cut(celery, settings, waiting.id)
        session.execute(
            update(Cut)
            .where(Cut.id.in_([lost.id, waiting.id]))
            .values(created_at=datetime.now(UTC) - timedelta(seconds=120))
        )
        session.commit()
    assert live_cut_ids(settings) == {waiting.id}
    recover_lost_jobs(settings, sessions, celery)
    assert live_cut_ids(settings) == {waiting.id, lost.id}  # not the fresh one, not twice
    recover_lost_jobs(settings, sessions, celery)
    assert redis.Redis.from_url(redis_url).llen(queue_name) == 2
    assert fresh.id not in live_cut_ids(settings)
    sessions.kw["bind"].dispose()


def test_a_cut_gone_before_or_while_it_runs_leaves_nothing(
    make_settings: SettingsFactory,
) -> None:
    settings = make_settings()
    clip_id = store_clip(settings, SEED_DIR / "seed.mp4", seed_transcript())
    sessions = session_factory(settings.sqlalchemy_url)
    process_cut("0" * 32, settings=settings, sessions=sessions)  # deleted with its clip: no-op
    with sessions() as session:
        assert not finish_cut(session, "0" * 32, media_key="k", subtitles_key=None, result={})
        cut = create_cut(
            session, clip_id, CutRequest(start_s=46.0, end_s=48.0, format=CutFormat.WAV),
            requested_by="test",
        )  # fmt: skip
    process_cut(cut.id, settings=settings, sessions=sessions)
    with sessions() as session:
        done = session.get(Cut, cut.id)
        assert done is not None and done.state.value == "done" and done.progress == 1.0
        assert done.result is not None and done.result["in_s"] == pytest.approx(45.96)
    sessions.kw["bind"].dispose()
