"""Long programmes: one piece against chunks, one worker against two, short clips waiting.

    OMP_NUM_THREADS=1 .venv/bin/python bench/long_programme.py [--minutes 60]
        [--chunk-seconds 480] [--out bench/results/long_programme.txt]

Builds a programme of fixture stories back to back (seed, second, seed…, gaps of
1-3 s) and runs it through real Celery worker processes (prefork, one child each,
EFIR_CPU_THREADS=1) on the local Redis, three times:

* one piece, 1 worker: long-programme mode off, the reference transcript;
* chunked, 1 worker and chunked, 2 workers: EFIR_CHUNK_SECONDS chunks.

Printed for each: wall time from enqueue to done, RTF, peak RSS of each worker's
pool child (psutil, sampled every 0.2 s), the wait and turnaround of an 8 s clip
submitted 20 s into transcription, WER of the transcript against the one-piece
one, speaker counts and how many words keep their one-piece speaker. The scaling
ratio is wall(1 worker) / wall(2 workers). Load average is printed before and
after each run: the box is shared, and contention shows up in the scaling first.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.programme_support import (  # noqa: E402
    SECOND_WAV,
    SEED_WAV,
    speaker_agreement,
    store_clip_job,
    write_programme,
)
from support.scoring import wer  # noqa: E402
from support.service_support import session_factory, start_worker, stop_process, wait_for_log  # noqa: E402

from efir.config import Settings  # noqa: E402
from efir.db import JobState, utcnow  # noqa: E402
from efir.jobs.lifecycle import get_job  # noqa: E402
from efir.jobs.queue import enqueue_job, make_celery  # noqa: E402
from efir.media.storage.base import LocalStorage  # noqa: E402
from efir.transcripts.model import Transcript  # noqa: E402
from efir.transcripts.revisions import latest_revision  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/14"
SHORT_CLIP_AFTER_S = 20.0


@dataclass
class Run:
    name: str
    workers: int
    wall_s: float
    peak_rss_mb: list[float]
    short_wait_s: float
    short_turnaround_s: float
    transcript: Transcript
    load_before: str
    load_after: str


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--chunk-seconds", type=float, default=480.0)
    parser.add_argument("--out", type=Path, help="also write the tables here")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="efir-long-"))
    programme = _build_programme(work / "programme.wav", args.minutes * 60)
    short = work / "short.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-t", "8", "-i", str(SEED_WAV), str(short)], check=True
    )
    duration_s = programme.stat().st_size / 32000

    runs = [
        _run("one piece, 1 worker", work, programme, short, workers=1, chunk_s=None),
        _run("chunked, 1 worker", work, programme, short, workers=1, chunk_s=args.chunk_seconds),
        _run("chunked, 2 workers", work, programme, short, workers=2, chunk_s=args.chunk_seconds),
    ]
    lines = _table(runs, duration_s, args.chunk_seconds)
    print("\n".join(lines))
    if args.out:
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _build_programme(out: Path, length_s: float) -> Path:
    stories, gaps, total = [], [], 0.0
    durations = {story: story.stat().st_size / 32000 for story in (SEED_WAV, SECOND_WAV)}
    while total < length_s:
        story = SEED_WAV if len(stories) % 3 != 1 else SECOND_WAV
        gap = 1.0 + len(stories) % 3
        stories.append(story)
        gaps.append(gap)
        total += durations[story] + gap
    return write_programme(out, stories, gaps)


def _run(
    name: str, work: Path, programme: Path, short: Path, *, workers: int, chunk_s: float | None
) -> Run:
    run_dir = work / uuid.uuid4().hex[:8]
    settings = Settings(
        data_dir=run_dir,
        redis_url=REDIS_URL,
        queue_name=f"efir-bench-{uuid.uuid4().hex[:8]}",
        cpu_threads=1,
        chunked_above_s=1e9 if chunk_s is None else 600.0,
        chunk_seconds=chunk_s or 480.0,
    )
    sessions = session_factory(settings.sqlalchemy_url)
    storage = LocalStorage(settings.media_dir)
    long_job = store_clip_job(sessions, storage, programme)
    short_job = store_clip_job(sessions, storage, short)
    logs = [run_dir / f"worker{i}.log" for i in range(workers)]
    processes = [start_worker(settings, log) for log in logs]
    sampler = _RssSampler(processes)
    try:
        for process, log in zip(processes, logs, strict=True):
            wait_for_log(process, log, "ready.")
        load_before = Path("/proc/loadavg").read_text().strip()
        celery = make_celery(settings)
        sampler.start()
        started = time.monotonic()
        enqueue_job(celery, settings, long_job)
        short_sent_at = None
        while True:
            with sessions() as session:
                job = get_job(session, long_job)
            if job.state is JobState.TRANSCRIBING and short_sent_at is None:
                time.sleep(SHORT_CLIP_AFTER_S)
                short_sent_at = utcnow()
                enqueue_job(celery, settings, short_job)
            if job.state.is_terminal:
                break
            time.sleep(0.5)
        wall_s = time.monotonic() - started
        if job.state is not JobState.DONE:
            raise SystemExit(
                f"{name}: job {job.state}: {job.error}\n" + logs[0].read_text()[-3000:]
            )
        while True:
            with sessions() as session:
                short_state = get_job(session, short_job)
            if short_state.state.is_terminal:
                break
            time.sleep(0.5)
        load_after = Path("/proc/loadavg").read_text().strip()
    finally:
        sampler.stop()
        for process in processes:
            stop_process(process)
    assert short_sent_at is not None and short_state.started_at and short_state.finished_at
    with sessions() as session:
        transcript = Transcript.from_dict(latest_revision(session, job.clip_id).data)
    return Run(
        name=name,
        workers=workers,
        wall_s=wall_s,
        peak_rss_mb=sampler.peaks_mb(),
        short_wait_s=(short_state.started_at - short_sent_at).total_seconds(),
        short_turnaround_s=(short_state.finished_at - short_sent_at).total_seconds(),
        transcript=transcript,
        load_before=load_before,
        load_after=load_after,
    )


class _RssSampler:
    """Peak resident memory of each worker's pool children, sampled in a thread."""

    def __init__(self, processes: list[subprocess.Popen[bytes]]) -> None:
        self._workers = [psutil.Process(p.pid) for p in processes]
        self._peaks = [0] * len(processes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peaks_mb(self) -> list[float]:
        return [peak / 2**20 for peak in self._peaks]

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            for i, worker in enumerate(self._workers):
                try:
                    rss = max((c.memory_info().rss for c in worker.children()), default=0)
                except psutil.Error:
                    continue
                self._peaks[i] = max(self._peaks[i], rss)


def _table(runs: list[Run], duration_s: float, chunk_s: float) -> list[str]:
    reference = runs[0].transcript
    lines = [
        f"programme: {duration_s / 60:.1f} min of fixture stories; chunks ~{chunk_s:.0f} s; "
        "workers: prefork, 1 child, EFIR_CPU_THREADS=1; "
        f"{psutil.cpu_count()} CPUs (shared)",
        "",
        f"{'run':22} {'wall s':>8} {'RTF':>6} {'peak RSS MB':>14} {'8 s clip wait':>14} "
        f"{'turnaround':>11} {'WER vs 1 piece':>15} {'speakers':>9} {'same spk':>9}",
    ]
    for run in runs:
        one_to_one, agreement = speaker_agreement(reference, run.transcript)
        rss = "/".join(f"{mb:.0f}" for mb in run.peak_rss_mb)
        lines.append(
            f"{run.name:22} {run.wall_s:8.1f} {run.wall_s / duration_s:6.3f} {rss:>14} "
            f"{run.short_wait_s:13.1f}s {run.short_turnaround_s:10.1f}s "
            f"{wer(reference.text, run.transcript.text):15.4f} {len(run.transcript.speakers):9d} "
            f"{agreement:8.1%}{'' if one_to_one else '*'}"
        )
    scaling = runs[1].wall_s / runs[2].wall_s
    lines += [
        "",
        f"scaling, chunked 2 workers vs 1: {scaling:.2f}x throughput (target >= 1.7x)",
        f"chunked 1 worker vs one piece: {runs[1].wall_s / runs[0].wall_s:.2f}x wall time",
        "same spk: words whose speaker id is the one their one-piece speaker mostly got "
        "(* = two one-piece speakers merged)",
        "",
        "load average before -> after each run:",
        *(f"  {run.name:22} {run.load_before}  ->  {run.load_after}" for run in runs),
    ]
    return lines


if __name__ == "__main__":
    main()
