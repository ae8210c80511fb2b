"""A cut job on a worker: claim the cut, render it (worker/stages/cut.py), store the
file, end the job. The plain function behind the ``efir.cut_media`` task, usable
without Celery; a redelivered cut renders again and replaces its own result."""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from efir.config import Settings
from efir.cuts.jobs import claim_cut, cut_transcript, fail_cut, finish_cut, set_cut_progress
from efir.cuts.overlay import ReelQuote, reel_cues
from efir.cuts.spec import CutRequest, SubtitleMode
from efir.cuts.timeline import quote_frames
from efir.db import Clip, Cut
from efir.errors import InvalidCutError, NotFoundError
from efir.exports import CueRules
from efir.logs import log_context
from efir.media.analyses import load_shot_changes
from efir.media.storage import make_storage
from efir.media.storage.base import MediaStorage, file_chunks, store_chunks
from efir.transcripts.model import Transcript
from efir.transcripts.revisions import get_revision
from worker.outcome import ended_by_errors
from worker.stages.cut import AUDIO_FPS, CutMedia, render_cut, render_reel

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
        fail = partial(fail_cut, session, cut_id)
        with ended_by_errors(session, fail, transient=transient):
            storage = make_storage(settings)
            settings.cache_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=settings.cache_dir) as scratch:
                if cut.selection_id is not None:
                    _render_reel(session, storage, cut, Path(scratch))
                else:
                    _render_quote(session, storage, cut, Path(scratch))
            log.info("cut done in %.1f s: %s", time.monotonic() - started, cut.result)


def _render_quote(session: Session, storage: MediaStorage, cut: Cut, scratch: Path) -> None:
    clip = session.get(Clip, cut.clip_id)
    if clip is None:
        raise NotFoundError(f"the clip of cut {cut.id} is gone")
    transcript = cut_transcript(session, cut)
    with storage.local_copy(clip.media_key) as media_path:
        output = render_cut(
            media_path,
            transcript,
            CutRequest.from_dict(cut.spec),
            scratch,
            shot_changes=load_shot_changes(session, clip.id) or (),
            on_progress=_ProgressWriter(session, cut.id),
        )
    _finish(
        session,
        storage,
        cut.id,
        media_key=_store(storage, output.media),
        subtitles_key=_store(storage, output.subtitles) if output.subtitles else None,
        result=output.summary(),
    )


def _render_reel(session: Session, storage: MediaStorage, cut: Cut, scratch: Path) -> None:
    """A selection's quotes, frame-accurate at the broadcast rate, as one MP4, their
    subtitles burned if asked."""
    quotes = cut.spec["quotes"]
    burned = cut.spec.get("subtitles") == SubtitleMode.BURN.value
    with ExitStack() as copies:
        parts, timed = [], []
        for quote in quotes:
            clip = session.get(Clip, quote["clip_id"])
            if clip is None or clip.media_removed_at is not None:
                raise InvalidCutError(
                    f"Медиафайла сюжета {quote['clip_id']} больше нет. "
                    f"The media of clip {quote['clip_id']} is gone."
                )
            first, stop = quote_frames(quote["start_s"], quote["end_s"], AUDIO_FPS)
            path = copies.enter_context(storage.local_copy(clip.media_key))
            parts.append(CutMedia(path, first / AUDIO_FPS, (stop - first) / AUDIO_FPS))
            if burned:
                revision = get_revision(session, clip.id, quote["revision"])
                timed.append(
                    ReelQuote(
                        Transcript.from_dict(revision.data),
                        first,
                        stop - first,
                        load_shot_changes(session, clip.id) or (),
                    )
                )
        media = render_reel(
            parts,
            scratch,
            cues=reel_cues(timed, CueRules(fps=AUDIO_FPS)),
            on_progress=_ProgressWriter(session, cut.id),
        )
    duration_s = sum(part.duration_s for part in parts)
    _finish(
        session,
        storage,
        cut.id,
        media_key=_store(storage, media),
        subtitles_key=None,
        result={"quotes": len(parts), "duration_s": duration_s, "fps": AUDIO_FPS},
    )


def _finish(
    session: Session,
    storage: MediaStorage,
    cut_id: str,
    *,
    media_key: str,
    subtitles_key: str | None,
    result: dict[str, Any],
) -> None:
    if not finish_cut(
        session, cut_id, media_key=media_key, subtitles_key=subtitles_key, result=result
    ):
        log.info("cut %s was deleted while it ran; its files go too", cut_id)
        for key in (media_key, subtitles_key):
            if key:
                storage.delete(key)


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
