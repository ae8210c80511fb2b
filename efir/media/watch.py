"""Watch folders: a playout or MAM system drops finished packages into a folder; each
becomes a clip and a queued job like any upload.

- **Stable first.** A file is taken once its size and mtime have not changed for
  ``settle_s``: a copy still arriving over the network is left alone until it stops growing.
- **Done or failed.** A taken file moves to ``done/`` beside a sidecar ``<name>.json``
  (job and clip ids, state), or to ``failed/`` beside one with the reason in Russian and
  English (media that cannot be decoded, a file over the limit). The sidecar is written
  before the file moves, so every moved file has one.
- **Exports.** With ``exports`` (e.g. srt, txt, docx), when a job ends they are written next
  to the file in ``done/`` and its sidecar gets the final state (or the job's error). For a
  video with subtitle exports, once its shot changes are measured too (they come a few
  seconds after the job; SHOTS_GRACE_S at most), since subtitle cues are timed to them.
- **Restarts.** The content hash decides: a file whose bytes a watch folder already queued
  is not queued again, only moved, so a watcher killed between recording the job and moving
  the file neither duplicates nor skips it. Jobs still running are found again from the
  sidecars in ``done/``.
- **Events and polling.** watchfiles (inotify and its kin) wakes the watcher at once; every
  second it also rescans, which is all it does on network shares (``polling``), where
  SMB and NFS send no events.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import watchfiles
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from efir.config import Settings
from efir.db import Clip, Job, JobState
from efir.errors import MediaError
from efir.exports import export_format, is_cue_format, render
from efir.jobs.lifecycle import JobQueue, create_job, get_job, send_to_workers
from efir.jobs.queue import live_job_ids
from efir.media.analyses import awaited_shot_changes
from efir.media.clips import record_clip
from efir.media.probe import probe_media
from efir.media.storage.base import MediaStorage, file_chunks, store_chunks
from efir.transcripts.model import Transcript
from efir.transcripts.revisions import latest_revision

__all__ = ["DONE_DIR", "FAILED_DIR", "FolderWatcher", "WatchOptions"]

log = logging.getLogger(__name__)

DONE_DIR = "done"
FAILED_DIR = "failed"
# Marks a watch folder's jobs in their options: restarts dedupe against these only.
SOURCE = "watch-folder"
_SIDECAR = ".json"
_RESCAN_MS = 1000


@dataclass(frozen=True)
class WatchOptions:
    """What every file of the watched folders gets: clip metadata, glossary, exports."""

    programme: str | None = None
    channel: str | None = None
    glossary: tuple[str, ...] = ()
    exports: tuple[str, ...] = ()
    settle_s: float = 5.0
    polling: bool = False

    def __post_init__(self) -> None:
        for name in self.exports:
            export_format(name)  # an unknown format fails at start, not at the first job


@dataclass
class _Seen:
    signature: tuple[int, int]
    since: float


@dataclass
class FolderWatcher:
    """Ingests the stable files of ``folders``; ``run`` until ``stop`` is set."""

    folders: Sequence[Path]
    options: WatchOptions
    settings: Settings
    sessions: sessionmaker[Session]
    storage: MediaStorage
    queue: JobQueue
    _seen: dict[Path, _Seen] = field(default_factory=dict)
    # Sidecars in done/ whose job has not ended; None until read from disk at the first scan.
    _pending: set[Path] | None = None

    def run(self, stop: threading.Event | None = None) -> None:
        for folder in self.folders:
            for sub in (DONE_DIR, FAILED_DIR):
                (folder / sub).mkdir(parents=True, exist_ok=True)
        self.scan()
        for _ in watchfiles.watch(
            *self.folders,
            stop_event=stop,
            rust_timeout=_RESCAN_MS,
            yield_on_timeout=True,
            force_polling=self.options.polling,
            poll_delay_ms=_RESCAN_MS,
            recursive=False,
            debounce=_RESCAN_MS,
        ):
            self.scan()

    def scan(self, now: float | None = None) -> None:
        """One pass: take the files that stayed unchanged for ``settle_s``, then write the
        exports of jobs that ended."""
        now = time.monotonic() if now is None else now
        present: set[Path] = set()
        for folder in self.folders:
            for path in sorted(_candidates(folder)):
                present.add(path)
                if self._settled(path, now):
                    self._take(folder, path)
        for path in set(self._seen) - present:
            del self._seen[path]
        self._follow_jobs()

    def _settled(self, path: Path, now: float) -> bool:
        try:
            status = path.stat()
        except FileNotFoundError:
            return False
        signature = (status.st_size, status.st_mtime_ns)
        seen = self._seen.get(path)
        if seen is None or seen.signature != signature:
            self._seen[path] = _Seen(signature, now)
            return False
        return now - seen.since >= self.options.settle_s

    def _take(self, folder: Path, path: Path) -> None:
        self._seen.pop(path, None)
        try:
            sidecar = self._ingest(path)
        except MediaError as error:
            log.warning("watch: %s refused: %s", path, error)
            failure = {"file": path.name, "error": str(error), "failed_at": _now()}
            _move(path, folder / FAILED_DIR, failure)
            return
        except Exception:
            # The database, broker or storage is down: the file stays and is tried again.
            log.exception("watch: %s could not be ingested now; will retry", path)
            return
        if sidecar is not None:
            moved = _move(path, folder / DONE_DIR, sidecar)
            self._unfinished().add(moved.with_name(moved.name + _SIDECAR))

    def _ingest(self, path: Path) -> dict[str, Any] | None:
        """The sidecar of the file's job, queued now or by an earlier run; None if the
        file changed while it was read (it is taken again once it settles)."""
        sha256 = _sha256(path)
        with self.sessions() as session:
            job = _queued_before(session, sha256)
            if job is not None:
                log.info("watch: %s was queued before as job %s", path.name, job.id)
                if job.state is JobState.QUEUED and job.id not in live_job_ids(self.settings):
                    # Recorded by a run stopped before it sent the job: no worker would
                    # ever hear of it, and a lone watcher has no API sweeping for it.
                    send_to_workers(self.queue, job)
                    log.info("watch: job %s was never sent; sent now", job.id)
                return _sidecar(path, sha256, job)
        summary = probe_media(path, max_duration_s=self.settings.max_duration_s)
        stored = store_chunks(
            self.storage, file_chunks(path), max_bytes=self.settings.max_upload_bytes
        )
        if stored.sha256 != sha256:
            log.info("watch: %s changed while read; waiting for it to settle", path.name)
            return None
        with self.sessions() as session:
            clip = record_clip(
                session,
                stored=stored,
                summary=summary,
                filename=path.name,
                programme=self.options.programme,
                channel=self.options.channel,
            )
            options = {"glossary": list(self.options.glossary), "source": SOURCE}
            job = create_job(session, clip_id=clip.id, options=options)
            send_to_workers(self.queue, job)
            log.info("watch: %s queued as job %s", path.name, job.id)
            return _sidecar(path, sha256, job)

    def _unfinished(self) -> set[Path]:
        if self._pending is None:
            self._pending = {
                path
                for folder in self.folders
                for path in (folder / DONE_DIR).glob(f"*{_SIDECAR}")
                if not JobState(_read_json(path)["state"]).is_terminal
            }
        return self._pending

    def _follow_jobs(self) -> None:
        """Record the end of each job whose sidecar in ``done/`` shows it unfinished,
        writing its exports first."""
        pending = self._unfinished()
        for sidecar_path in sorted(pending):
            try:
                if self._record_end(sidecar_path):
                    pending.discard(sidecar_path)
            except Exception:
                log.exception("watch: could not follow %s; will retry", sidecar_path)

    def _record_end(self, sidecar_path: Path) -> bool:
        """True once the sidecar shows the job's end."""
        sidecar = _read_json(sidecar_path)
        with self.sessions() as session:
            job = get_job(session, sidecar["job_id"])
            if not job.state.is_terminal:
                return False
            media = sidecar_path.with_name(sidecar_path.name.removesuffix(_SIDECAR))
            if job.state is JobState.DONE and self.options.exports:
                clip = session.get_one(Clip, job.clip_id)
                subtitles = any(map(is_cue_format, self.options.exports))
                shots = awaited_shot_changes(session, clip, job.finished_at)
                if subtitles and shots.pending:
                    return False  # subtitles are timed to them; a later scan writes
                transcript = Transcript.from_dict(latest_revision(session, job.clip_id).data)
                sidecar["exports"] = [
                    _write_export(media, transcript, name, shots.times_s or []).name
                    for name in self.options.exports
                ]
            sidecar.update(state=job.state.value, error=job.error, finished_at=_now())
        _write_json(sidecar_path, sidecar)
        return True


def _candidates(folder: Path) -> list[Path]:
    """Regular files waiting in ``folder``: not hidden, not partial downloads (.part,
    .tmp, .crdownload are renamed when complete), not our sidecars."""
    skipped = (".part", ".tmp", ".crdownload", _SIDECAR)
    return [
        path
        for path in folder.iterdir()
        if path.is_file() and not path.name.startswith(".") and not path.name.endswith(skipped)
    ]


def _queued_before(session: Session, sha256: str) -> Job | None:
    jobs = session.scalars(
        select(Job).join(Clip).where(Clip.sha256 == sha256).order_by(Job.created_at)
    )
    return next((job for job in jobs if job.options.get("source") == SOURCE), None)


def _sidecar(path: Path, sha256: str, job: Job) -> dict[str, Any]:
    return {
        "file": path.name,
        "sha256": sha256,
        "job_id": job.id,
        "clip_id": job.clip_id,
        "state": job.state.value,
        "error": job.error,
        "queued_at": _now(),
    }


def _move(path: Path, target_dir: Path, sidecar: dict[str, Any]) -> Path:
    """Move ``path`` into ``target_dir`` under a name not taken yet, its sidecar first."""
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    if target.exists():
        digest = sidecar.get("sha256") or _sha256(path)
        target = target_dir / f"{path.stem}-{digest[:12]}{path.suffix}"
    _write_json(target.with_name(target.name + _SIDECAR), {**sidecar, "path": str(target)})
    os.replace(path, target)
    return target


def _write_export(
    media: Path, transcript: Transcript, name: str, shot_changes: list[float]
) -> Path:
    target = media.with_suffix(f".{export_format(name).extension}")
    _write_atomic(target, render(transcript, name, shot_changes=shot_changes))
    return target


def _read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _write_json(path: Path, data: dict[str, Any]) -> None:
    _write_atomic(path, json.dumps(data, ensure_ascii=False, indent=2).encode())


def _write_atomic(path: Path, data: bytes) -> None:
    # Readers (a MAM polling done/) never see half a file.
    partial = path.with_name(f".{path.name}.part")
    partial.write_bytes(data)
    os.replace(partial, path)


def _sha256(path: Path) -> str:
    with path.open("rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
