"""A cut job on a worker: claim the cut, render it (worker/stages/cut.py), store the
file, end the job. The plain function behind the ``efir.cut_media`` task, usable
without Celery; a redelivered cut renders again and replaces its own result."""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from efir.config import Settings
from efir.cuts.jobs import claim_cut, cut_transcript, fail_cut, finish_cut, set_cut_progress
from efir.cuts.spec import CutRequest
from efir.db import Clip
from efir.errors import EfirError, NotFoundError
from efir.logs import log_context
from efir.media.storage import make_storage
from efir.media.storage.base import MediaStorage, file_chunks, store_chunks
from worker.stages.cut import render_cut

__all__ = ["process_cut"]

_PROGRESS_WRITE_INTERVAL_S = 0.5

log = logging.getLogger(__name__)


def process_cut(
    cut_id: str,
    *,
    settings: Settings,
    sessions: sessionmaker[Session],
    transient: tuple[type[BaseException], ...] = (),
) -> None:
    """Render and store the cut; a permanent error fails it, ``transient`` ones propagate
    (the task retries them)."""
    with log_context(job_id=cut_id), sessions() as session:
        cut = claim_cut(session, cut_id)
        if cut is None:
            log.info("cut %s has already ended; nothing to do", cut_id)
            return
        started = time.monotonic()
        try:
            clip = session.get(Clip, cut.clip_id)
            if clip is None:
                raise NotFoundError(f"the clip of cut {cut_id} is gone")
            request = CutRequest.from_dict(cut.spec)
            transcript = cut_transcript(session, cut)
            storage = make_storage(settings)
            settings.cache_dir.mkdir(parents=True, exist_ok=True)
            with (
                storage.local_copy(clip.media_key) as media_path,
                tempfile.TemporaryDirectory(dir=settings.cache_dir) as scratch,
            ):
                output = render_cut(
                    media_path,
                    transcript,
                    request,
                    Path(scratch),
                    on_progress=_ProgressWriter(session, cut_id),
                )
                media_key = _store(storage, output.media)
                subtitles_key = _store(storage, output.subtitles) if output.subtitles else None
            finish_cut(
                session,
                cut_id,
                media_key=media_key,
                subtitles_key=subtitles_key,
                result=output.summary(),
            )
            log.info("cut done in %.1f s: %s", time.monotonic() - started, output.summary())
        except transient:
            session.rollback()
            raise
        except EfirError as error:
            session.rollback()
            fail_cut(session, cut_id, str(error))
            log.warning("cut failed: %s", error)
        except Exception as error:
            session.rollback()
            fail_cut(session, cut_id, f"Внутренняя ошибка: {type(error).__name__}: {error}")
            raise


def _store(storage: MediaStorage, path: Path) -> str:
    return store_chunks(storage, file_chunks(path), max_bytes=sys.maxsize).key


class _ProgressWriter:
    """ffmpeg's progress callback: a write at most every half second."""

    def __init__(self, session: Session, cut_id: str) -> None:
        self._session = session
        self._cut_id = cut_id
        self._written_at = 0.0

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        if now - self._written_at >= _PROGRESS_WRITE_INTERVAL_S and fraction < 1.0:
            set_cut_progress(self._session, self._cut_id, fraction)
            self._written_at = now
