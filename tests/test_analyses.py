"""Clip analyses (waveform peaks, shot changes) are stored once per clip and kind, replaced
when measured again, and go with their clip; a done video's shot changes are awaited for a
while, since their task runs after the job."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from efir.db import (
    Clip,
    ClipAnalysis,
    Job,
    JobState,
    make_engine,
    make_session_factory,
    migrate,
    utcnow,
)
from efir.media.analyses import (
    SHOTS,
    SHOTS_GRACE_S,
    SHOTS_MEASURING,
    awaited_shot_changes,
    load_analysis,
    load_shot_changes,
    requeue_lost_shots,
    save_analysis,
)


def test_an_analysis_is_replaced_and_goes_with_its_clip(database_url: str) -> None:
    migrate(database_url)
    sessions = make_session_factory(make_engine(database_url))
    with sessions() as session:
        clip = Clip(sha256="a" * 64, original_filename="news.mp4", media_key="k", size_bytes=1)
        session.add(clip)
        session.commit()
        assert load_analysis(session, clip.id, "peaks") is None

        save_analysis(session, clip.id, "peaks", {"peaks": [0.1, 0.9]})
        session.commit()
        save_analysis(session, clip.id, "peaks", {"peaks": [0.5]})
        save_analysis(session, clip.id, "shots", {"times_s": [1.2]})
        session.commit()
        assert load_analysis(session, clip.id, "peaks") == {"peaks": [0.5]}
        assert load_analysis(session, clip.id, "shots") == {"times_s": [1.2]}

        session.delete(clip)
        session.commit()
        left = select(func.count()).where(ClipAnalysis.clip_id == clip.id)
        assert session.scalar(left) == 0


def test_a_done_videos_shot_changes_are_awaited_until_stored_or_overdue(
    database_url: str,
) -> None:
    migrate(database_url)
    sessions = make_session_factory(make_engine(database_url))
    with sessions() as session:
        video = Clip(
            sha256="b" * 64, original_filename="a.mp4", media_key="v", size_bytes=1, has_video=True
        )
        audio = Clip(sha256="c" * 64, original_filename="a.wav", media_key="a", size_bytes=1)
        session.add_all([video, audio])
        session.commit()
        just_done = utcnow()
        overdue = just_done - timedelta(seconds=SHOTS_GRACE_S + 1)
        assert awaited_shot_changes(session, video, just_done).pending
        assert not awaited_shot_changes(session, video, overdue).pending  # measuring them failed
        assert not awaited_shot_changes(session, video, None).pending  # the job is not done
        assert not awaited_shot_changes(session, audio, just_done).pending  # no picture to measure
        save_analysis(session, video.id, SHOTS, SHOTS_MEASURING)
        session.commit()
        assert awaited_shot_changes(session, video, just_done).pending  # its task is at it
        assert load_shot_changes(session, video.id) is None
        save_analysis(session, video.id, SHOTS, {"times_s": []})
        session.commit()
        assert not awaited_shot_changes(session, video, just_done).pending
        assert load_shot_changes(session, video.id) == []
        assert awaited_shot_changes(session, video, just_done).times_s == []
        save_analysis(session, video.id, SHOTS, {"times_s": None, "error": "undecodable"})
        session.commit()
        assert not awaited_shot_changes(session, video, just_done).pending  # it failed: no wait
        assert load_shot_changes(session, video.id) is None


def test_the_sweep_resends_only_shot_measurements_the_broker_lost(database_url: str) -> None:
    migrate(database_url)
    sessions = make_session_factory(make_engine(database_url))
    now = utcnow()
    minutes_ago = now - timedelta(seconds=SHOTS_GRACE_S + 60)
    cases = {
        "lost": (True, JobState.DONE, minutes_ago, None),
        "queued": (True, JobState.DONE, minutes_ago, None),  # its message is in the broker
        "measuring": (True, JobState.DONE, minutes_ago, SHOTS_MEASURING),  # crashed its worker?
        "failed": (True, JobState.DONE, minutes_ago, {"times_s": None, "error": "bad video"}),
        "measured": (True, JobState.DONE, minutes_ago, {"times_s": [1.0]}),
        "just done": (True, JobState.DONE, now, None),  # its task may not have started
        "last week": (True, JobState.DONE, now - timedelta(days=7), None),  # before shots
        "audio": (False, JobState.DONE, minutes_ago, None),
        "failed job": (True, JobState.FAILED, minutes_ago, None),
    }
    ids: dict[str, str] = {}
    with sessions() as session:
        for n, (name, (video, state, finished, record)) in enumerate(cases.items()):
            clip = Clip(
                sha256=f"{n:064x}",
                original_filename=f"{n}.mp4",
                media_key=name,
                size_bytes=1,
                has_video=video,
            )
            session.add(clip)
            session.flush()
            session.add(Job(clip_id=clip.id, state=state, finished_at=finished))
            if record is not None:
                save_analysis(session, clip.id, SHOTS, record)
            ids[name] = clip.id
        session.commit()
        sent: list[str] = []
        lost = requeue_lost_shots(session, sent.append, live_clip_ids={ids["queued"]})
    assert lost == sent == [ids["lost"]]
