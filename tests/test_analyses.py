"""Clip analyses (waveform peaks, shot changes) are stored once per clip and kind, replaced
when measured again, and go with their clip; a done video's shot changes are awaited for a
while, since their task runs after the job."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from efir.db import Clip, ClipAnalysis, make_engine, make_session_factory, migrate, utcnow
from efir.media.analyses import (
    SHOTS,
    SHOTS_GRACE_S,
    awaiting_shot_changes,
    load_analysis,
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
        assert awaiting_shot_changes(session, video, just_done)
        assert not awaiting_shot_changes(session, video, overdue)  # measuring them failed
        assert not awaiting_shot_changes(session, video, None)  # the job is not done
        assert not awaiting_shot_changes(session, audio, just_done)  # no picture to measure
        save_analysis(session, video.id, SHOTS, {"times_s": []})
        session.commit()
        assert not awaiting_shot_changes(session, video, just_done)
