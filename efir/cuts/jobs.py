"""Cut jobs: a row per cut, its state (queued → running → done | failed) and progress.

The API checks a request against the clip and its transcript before anything is queued,
so a bad request is a 4xx at once and never a failed job; the worker renders the file
(worker/stages/cut.py) and stores it. Like transcription jobs, only ids travel through
the broker, and each function commits its own small transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence, Set
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from efir.cuts.selections import get_selection, selection_quotes
from efir.cuts.spec import CutFormat, CutRequest, SubtitleMode, resolve_span
from efir.db import Clip, Cut, CutState, utcnow
from efir.errors import InvalidCutError, NotFoundError
from efir.exports.naming import export_filename
from efir.media.clips import get_clip
from efir.search.models import ClipMeta
from efir.transcripts.model import Transcript
from efir.transcripts.revisions import get_revision, latest_revision

__all__ = [
    "CutQueue",
    "claim_cut",
    "create_cut",
    "create_reel",
    "cut_filename",
    "cut_files",
    "cut_transcript",
    "fail_cut",
    "finish_cut",
    "get_cut",
    "list_cuts",
    "requeue_lost_cuts",
    "require_media",
    "set_cut_progress",
]


class CutQueue(Protocol):
    """Sends cut ids to the workers (efir.jobs.queue.CeleryJobQueue)."""

    def send_cut(self, cut_id: str) -> None: ...


def require_media(clip: Clip, *, video: bool) -> None:
    """InvalidCutError when the clip's media is gone or lacks the picture (``video``)."""
    if clip.media_removed_at is not None:
        raise InvalidCutError(
            "Медиафайл сюжета удалён по сроку хранения; вырезать нечего. "
            "The clip's media was removed by the retention setting; there is nothing to cut."
        )
    if video and not clip.has_video:
        raise InvalidCutError(
            "В сюжете нет видео: выберите mp3 или wav. The clip has no video: choose mp3 or wav."
        )


def create_cut(session: Session, clip_id: str, request: CutRequest, *, requested_by: str) -> Cut:
    """A queued cut of ``clip_id``, pinned to the transcript revision it was asked of;
    NotFoundError (no clip or transcript) or InvalidCutError before anything is saved."""
    clip = get_clip(session, clip_id)
    require_media(clip, video=request.format.has_video)
    row = (
        latest_revision(session, clip_id)
        if request.revision is None
        else get_revision(session, clip_id, request.revision)
    )
    transcript = Transcript.from_dict(row.data)
    resolve_span(transcript, request, clip.duration_s or transcript.duration)
    spec = {**request.to_dict(), "revision": row.revision}
    cut = Cut(clip_id=clip_id, requested_by=requested_by, spec=spec)
    session.add(cut)
    session.commit()
    return cut


def create_reel(
    session: Session,
    selection_id: str,
    *,
    requested_by: str,
    subtitles: SubtitleMode = SubtitleMode.NONE,
) -> Cut:
    """A queued rendering of the whole selection as one MP4, of its quotes as they are
    now, with their subtitles burned if asked (from each clip's transcript of now);
    InvalidCutError for an empty selection, a quote whose clip lost its media, or
    sidecar subtitles (a reel burns them or has none)."""
    if subtitles is SubtitleMode.SIDECAR:
        raise InvalidCutError(
            "Субтитры подборки можно только вшить. A selection's subtitles can only be burned."
        )
    get_selection(session, selection_id)
    quotes = selection_quotes(session, selection_id)
    if not quotes:
        raise InvalidCutError("Подборка пуста. The selection is empty.")
    for quote in quotes:  # a sound-only clip shows black in the reel
        require_media(get_clip(session, quote.clip_id), video=False)
    spec = {
        "format": CutFormat.MP4.value,
        "subtitles": subtitles.value,
        "quotes": [
            {
                "clip_id": q.clip_id,
                "start_s": q.start_s,
                "end_s": q.end_s,
                "revision": latest_revision(session, q.clip_id).revision,
            }
            for q in quotes
        ],
    }
    cut = Cut(selection_id=selection_id, requested_by=requested_by, spec=spec)
    session.add(cut)
    session.commit()
    return cut


def get_cut(session: Session, cut_id: str) -> Cut:
    cut = session.get(Cut, cut_id)
    if cut is None:
        raise NotFoundError(f"Нарезка {cut_id} не найдена. Cut {cut_id} not found.")
    return cut


def list_cuts(session: Session, clip_id: str) -> Sequence[Cut]:
    """The clip's cuts, newest first."""
    return session.scalars(
        select(Cut).where(Cut.clip_id == clip_id).order_by(Cut.created_at.desc()).limit(100)
    ).all()


def cut_transcript(session: Session, cut: Cut) -> Transcript:
    """The transcript revision the cut was asked of."""
    if cut.clip_id is None:
        raise NotFoundError(f"cut {cut.id} is not a cut of one clip")
    return Transcript.from_dict(get_revision(session, cut.clip_id, cut.spec["revision"]).data)


def claim_cut(session: Session, cut_id: str) -> Cut | None:
    """Queued (or a redelivered running) cut → running; None once it has ended or is
    gone (deleted with its clip or selection)."""
    cut = session.get(Cut, cut_id)
    if cut is None or cut.state.is_terminal:
        return None
    cut.state, cut.progress, cut.error = CutState.RUNNING, 0.0, None
    session.commit()
    return cut


def set_cut_progress(session: Session, cut_id: str, progress: float) -> None:
    session.execute(
        update(Cut)
        .where(Cut.id == cut_id, Cut.state == CutState.RUNNING)
        .values(progress=min(max(progress, 0.0), 1.0))
    )
    session.commit()


def finish_cut(
    session: Session,
    cut_id: str,
    *,
    media_key: str,
    subtitles_key: str | None,
    result: dict[str, Any],
) -> bool:
    """Done, with its files; False if the cut was deleted meanwhile (the caller then
    deletes the files it stored)."""
    return _end(
        session,
        cut_id,
        state=CutState.DONE,
        progress=1.0,
        media_key=media_key,
        subtitles_key=subtitles_key,
        result=result,
    )


def fail_cut(session: Session, cut_id: str, error: str) -> bool:
    """Failed with ``error``; False if the cut was deleted meanwhile."""
    return _end(session, cut_id, state=CutState.FAILED, error=error)


def _end(session: Session, cut_id: str, **values: Any) -> bool:
    updated = session.execute(
        update(Cut).where(Cut.id == cut_id).values(finished_at=utcnow(), **values)
    )
    session.commit()
    return bool(getattr(updated, "rowcount", 0))


def requeue_lost_cuts(
    session: Session,
    send: Callable[[str], None],
    *,
    live_cut_ids: Set[str],
    queued_for_s: float,
) -> list[str]:
    """Send again the cuts queued longer than ``queued_for_s`` whose message the broker
    no longer holds (Redis restarted without its data); returns their ids."""
    cutoff = utcnow() - timedelta(seconds=queued_for_s)
    waiting = session.scalars(
        select(Cut.id).where(Cut.state == CutState.QUEUED, Cut.created_at <= cutoff)
    ).all()
    lost = [cut_id for cut_id in waiting if cut_id not in live_cut_ids]
    for cut_id in lost:
        send(cut_id)
    return lost


def cut_files(session: Session, clip_id: str) -> set[str]:
    """The stored files of a clip's cuts: what to delete with the clip."""
    rows = session.execute(
        select(Cut.media_key, Cut.subtitles_key).where(Cut.clip_id == clip_id)
    ).all()
    return {key for row in rows for key in row if key}


def expire_cut_media(session: Session, clip_ids: Collection[str]) -> set[str]:
    """Forget the media files cut from these clips, their quotes and the rough cuts that
    hold one; the storage keys to delete once committed. Sidecar subtitles stay, as the
    transcripts do."""
    expired = set(clip_ids)
    keys: set[str] = set()
    cuts = session.scalars(
        select(Cut).where(
            Cut.media_key.is_not(None),
            or_(Cut.clip_id.in_(expired), Cut.selection_id.is_not(None)),
        )
    )
    for cut in cuts:
        quoted = (
            {cut.clip_id}
            if cut.selection_id is None
            else {quote["clip_id"] for quote in cut.spec.get("quotes", ())}
        )
        if cut.media_key and quoted & expired:
            keys.add(cut.media_key)
            cut.media_key = None
    return keys


def cut_filename(clip: ClipMeta, in_s: float, extension: str) -> str:
    """The export's name with the in point: ``<air date>_<programme>_<title>_00-01-23.mp4``."""
    stem = export_filename(clip, extension).rsplit(".", 1)[0]
    seconds = int(in_s)
    clock = f"{seconds // 3600:02d}-{seconds % 3600 // 60:02d}-{seconds % 60:02d}"
    return f"{stem}_{clock}.{extension}"
