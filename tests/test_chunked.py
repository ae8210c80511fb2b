"""Long-programme mode: the chunk planner, windowed VAD, and a programme run in chunks
by a real worker process beside the same audio transcribed as one clip.

The programme is short (seed + second + seed, 5.6 min) with chunking forced on by
settings (chunks of about a minute), so the real model finishes in a few minutes.
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from sqlalchemy.orm import Session, sessionmaker
from support.der import read_wav_16k
from support.programme_support import (
    SECOND_WAV,
    SEED_WAV,
    speaker_agreement,
    store_clip_job,
    write_programme,
)
from support.scoring import wer
from support.service_support import SettingsFactory, running_worker, session_factory, wait_for_log

from efir.db import Clip, JobState
from efir.jobs.chunks import (
    claim_merge,
    finish_chunk,
    job_chunks,
    save_chunk_plan,
    start_chunk,
)
from efir.jobs.lifecycle import (
    JobCancelledError,
    advance_job,
    cancel_job,
    claim_job,
    create_job,
    get_job,
    touch_job,
)
from efir.jobs.queue import enqueue_job, make_celery
from efir.media.analyses import PEAKS, load_analysis
from efir.media.storage.base import LocalStorage
from efir.transcripts.model import Transcript, Word
from efir.transcripts.revisions import latest_revision, list_revisions
from worker.pipeline import pipeline_options_from_settings, run_pipeline
from worker.stages.asr import AsrOptions, TimeSpan, speech_regions
from worker.stages.chunk_plan import PCM_DTYPE, plan_chunks, speech_regions_in_file

GAPS_S = (1.5, 2.0)
CHUNK_S = 60.0
WORKER_TIMEOUT_S = 300.0


def _spans(*pairs: tuple[float, float]) -> list[TimeSpan]:
    return [TimeSpan(start, end) for start, end in pairs]


def test_the_planner_cuts_mid_way_through_the_longest_silence_near_the_target() -> None:
    # Silences (1.0 s at 50, 3.0 s at 57, 0.6 s at 64) near the 60 s target; then speech.
    speech = _spans((0, 50), (51, 57), (60, 64), (64.6, 130))
    chunks = plan_chunks(speech, 130.0, target_s=60.0)
    assert chunks == _spans((0, 58.5), (58.5, 130.0))


def test_the_planner_covers_the_programme_and_cuts_only_in_silences() -> None:
    rng = np.random.default_rng(7)
    edges = np.cumsum(rng.uniform(0.2, 12.0, size=800))
    speech = [TimeSpan(float(a), float(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    duration_s = float(edges[-1]) + 3.0
    chunks = plan_chunks(speech, duration_s, target_s=300.0)
    assert chunks[0].start == 0.0 and chunks[-1].end == duration_s
    assert all(a.end == b.start for a, b in itertools.pairwise(chunks))
    for cut in (chunk.end for chunk in chunks[:-1]):
        assert not any(region.start <= cut <= region.end for region in speech)
    assert all(150.0 <= chunk.duration <= 450.0 for chunk in chunks[:-1])
    assert chunks[-1].duration <= 450.0


def test_the_planner_never_cuts_speech_without_silence() -> None:
    speech = _spans((0, 29.9), (29.9, 59.8), (59.8, 89.7), (89.7, 500))
    assert plan_chunks(speech, 500.0, target_s=60.0) == _spans((0, 500.0))


def test_a_remainder_up_to_one_and_a_half_targets_stays_one_chunk() -> None:
    speech = _spans((0, 80), (82, 150))
    assert plan_chunks(speech, 150.0, target_s=100.0) == _spans((0, 150.0))


def test_vad_read_from_disk_window_by_window_finds_what_it_finds_in_memory(
    tmp_path: Path,
) -> None:
    audio = read_wav_16k(SEED_WAV)
    pcm = tmp_path / "seed.f32"
    audio.astype(PCM_DTYPE).tofile(pcm)
    options = AsrOptions()
    from_disk = speech_regions_in_file(pcm, options, window_s=20.0)
    assert from_disk == speech_regions(audio, options, window_s=20.0)
    # Regions a window edge split are joined again: the same silences as in one window.
    duration_s = audio.size / 16000
    in_one_window = plan_chunks(speech_regions(audio, options), duration_s, target_s=30.0)
    assert plan_chunks(from_disk, duration_s, target_s=30.0) == in_one_window


def _wait_until_ended(sessions: sessionmaker[Session], job_id: str, log_path: Path) -> JobState:
    deadline = time.monotonic() + WORKER_TIMEOUT_S
    while True:
        with sessions() as session:
            state = get_job(session, job_id).state
        if state.is_terminal:
            return state
        assert time.monotonic() < deadline, log_path.read_text()[-4000:]
        time.sleep(0.5)


def _words(transcript: Transcript) -> list[tuple[Word, str | None]]:
    return [(w, s.speaker) for s in transcript.segments for w in s.words]


def test_a_programme_in_chunks_matches_it_in_one_piece_with_one_chunk_killed(
    make_settings: SettingsFactory, redis_url: str, queue_name: str, tmp_path: Path
) -> None:
    programme = write_programme(
        tmp_path / "programme.wav", [SEED_WAV, SECOND_WAV, SEED_WAV], GAPS_S
    )
    second_seed_at = 146.08 + GAPS_S[0] + 44.53 + GAPS_S[1]
    short = tmp_path / "short.wav"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-t", "8", "-i", str(SEED_WAV), str(short)], check=True
    )
    # Chunks cut between decoder batches: batches of two windows (about a minute) let
    # a one-minute chunk size cut this short programme into several chunks.
    settings = make_settings(
        redis_url=redis_url,
        queue_name=queue_name,
        chunked_above_s=120.0,
        chunk_seconds=CHUNK_S,
        batch_size=2,
    )
    sessions = session_factory(settings.sqlalchemy_url)
    storage = LocalStorage(settings.media_dir)
    long_job = store_clip_job(sessions, storage, programme)
    short_job = store_clip_job(sessions, storage, short)
    celery = make_celery(settings)
    log_path = tmp_path / "worker.log"

    enqueue_job(celery, settings, long_job)
    with running_worker(settings, log_path) as worker:
        wait_for_log(worker, log_path, "chunk 0 started", timeout_s=WORKER_TIMEOUT_S)
        # Sent while the programme's other chunks wait in the bulk queue.
        enqueue_job(celery, settings, short_job)
        wait_for_log(worker, log_path, "chunk 2 started", timeout_s=WORKER_TIMEOUT_S)
        (child,) = psutil.Process(worker.pid).children()
        child.send_signal(signal.SIGKILL)
        assert _wait_until_ended(sessions, long_job, log_path) is JobState.DONE
    log = log_path.read_text()
    assert _wait_until_ended(sessions, short_job, log_path) is JobState.DONE

    with sessions() as session:
        job = get_job(session, long_job)
        chunks = job_chunks(session, long_job)
        revisions = list_revisions(session, job.clip_id)
        chunked = Transcript.from_dict(latest_revision(session, job.clip_id).data)
        chunked_peaks = load_analysis(session, job.clip_id, PEAKS)
        short_clip_id = get_job(session, short_job).clip_id
    # The short clip went before the programme's next chunk: bulk is the last queue.
    assert log.index(f"job started: clip {short_clip_id}") < log.index("chunk 1 started")
    # The killed chunk ran again alone; the job itself ran once and saved one revision.
    assert [c.attempts for c in chunks] == [2 if c.position == 2 else 1 for c in chunks]
    assert job.attempts == 1 and len(revisions) == 1
    assert len(chunks) >= 3 and all(c.done for c in chunks)

    one_piece = run_pipeline(programme, pipeline_options_from_settings(settings))
    reference = one_piece.transcript
    # The editor's waveform: read from the raw file a minute at a time, as measured whole.
    assert chunked_peaks is not None
    whole_peaks = one_piece.analyses[PEAKS]
    assert len(chunked_peaks["peaks"]) == len(whole_peaks["peaks"])
    difference = np.abs(np.subtract(chunked_peaks["peaks"], whole_peaks["peaks"]))
    assert difference.max() <= 1
    words = _words(chunked)
    assert all(a.start <= b.start for (a, _), (b, _) in itertools.pairwise(words))
    assert len({(w.start, w.word) for w, _ in words}) == len(words)
    for cut in (chunk.end_s for chunk in chunks[:-1]):
        assert not any(w.start < cut < w.end for w, _ in words)
        assert not any(w.start < cut < w.end for w, _ in _words(reference))
    assert wer(reference.text, chunked.text) <= 0.05

    # One voice, one id across the programme: the same opening of the seed, in its
    # first and in a later chunk, and the whole of it, word for word with one piece.
    assert len(chunked.speakers) == len(reference.speakers)
    first = words[0]
    again = next(pair for pair in words if pair[0].start >= second_seed_at)
    chunk_of = [
        next(c.position for c in chunks if c.start_s <= w.start < c.end_s)
        for w, _ in (first, again)
    ]
    assert chunk_of[0] != chunk_of[1] and first[1] == again[1]
    one_to_one, agreement = speaker_agreement(reference, chunked)
    assert one_to_one and agreement >= 0.9


def _transcribing_job(sessions: sessionmaker[Session], spans: list[tuple[float, float]]) -> str:
    with sessions() as session:
        clip = Clip(sha256="d" * 64, original_filename="эфир.mp4", media_key="k", size_bytes=1)
        session.add(clip)
        session.flush()
        job_id = create_job(session, clip_id=clip.id).id
        claim_job(session, job_id)
        advance_job(session, job_id, JobState.TRANSCRIBING, 0.05)
        save_chunk_plan(session, job_id, spans, speech=[[] for _ in spans], audio_key="a")
    return job_id


def test_each_chunk_counts_once_and_exactly_one_finisher_sends_the_merge(
    database_url: str,
) -> None:
    sessions = session_factory(database_url)
    job_id = _transcribing_job(sessions, [(0.0, 60.0), (60.0, 130.0)])
    with sessions() as session:
        assert start_chunk(session, job_id, 1) is not None
        assert start_chunk(session, job_id, 0) is not None
        assert finish_chunk(session, job_id, 1, result_key="r1") is False
        assert get_job(session, job_id).progress == pytest.approx(0.05 + 0.8 / 2)
        assert start_chunk(session, job_id, 1) is None  # done: a redelivery does nothing
        assert finish_chunk(session, job_id, 1, result_key="r1") is False
        assert finish_chunk(session, job_id, 0, result_key="r0") is True
        assert finish_chunk(session, job_id, 0, result_key="r0") is False
        assert claim_merge(session, job_id) is False  # claimed once, by the last finisher
        job = get_job(session, job_id)
        assert job.state is JobState.SPEAKERS and "speakers" in (job.stage_started_at or {})
        assert [c.attempts for c in job_chunks(session, job_id)] == [1, 1]


def test_a_cancelled_programme_starts_no_more_chunks(database_url: str) -> None:
    sessions = session_factory(database_url)
    job_id = _transcribing_job(sessions, [(0.0, 60.0), (60.0, 130.0)])
    with sessions() as session:
        cancel_job(session, job_id)
        assert start_chunk(session, job_id, 0) is None
        with pytest.raises(JobCancelledError):
            touch_job(session, job_id)
