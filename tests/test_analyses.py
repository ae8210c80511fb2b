"""Clip analyses (waveform peaks, shot changes) are stored once per clip and kind, replaced
when measured again, and go with their clip."""

from __future__ import annotations

from sqlalchemy import func, select

from efir.db import Clip, ClipAnalysis, make_engine, make_session_factory, migrate
from efir.media.analyses import load_analysis, save_analysis


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
