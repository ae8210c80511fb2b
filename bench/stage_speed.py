"""What each pipeline stage costs, and the transcript's path beside bare faster-whisper.

    OMP_NUM_THREADS=1 .venv/bin/python bench/stage_speed.py [MEDIA] [--repeats N]

On one clip (default: the seed's MP4, so caption OCR runs), in one process, with one
loaded model and EFIR_CPU_THREADS=1 as a worker runs:

* each stage alone, fed the previous stage's real output: decode (probe + PyAV to
  16 kHz mono), VAD (Silero, five-minute windows), ASR (batched decode of the VAD
  windows, re-decode of unheard spans, repair, guards, glossary correction),
  diarization (d-vectors + clustering), caption OCR over the VAD speech (video only),
  indexing (transcript revision and search rows, SQLite);
* the transcript's path, what a job waits for before it is done: `run_pipeline` (all
  of the above but indexing; captions run in a thread beside ASR) then indexing, timed
  end to end;
* the shot task, which runs after the job is done (worker/tasks.py measure_shots):
  `detect_shots` on the clip (video only), timed on its own;
* bare faster-whisper: `BatchedInferencePipeline.transcribe(path, beam 5, batch 8,
  word timestamps, VAD on)`, consumed to the last segment, same model: issue 15's
  reference, batch 8 whatever efir's own batch size. The same at batch 1 is timed
  beside it: efir decodes window by window on a CPU, and bare faster-whisper could too
  (both ratios are printed, so efir's gain from that choice is not hidden).

One untimed run of the transcript's path first loads what loads once per process (the
speaker encoder, wordfreq's list, the digit-token table). Runs then alternate (bare,
stages, transcript path, shot task, bare…) so load from other processes falls on all;
medians are reported with RTF (seconds per second of media), in wall time and in this
process's CPU time. On a shared box the CPU time is the steadier figure: at load 9 on
two cores, wall time ran three times the CPU time, and an extra few seconds of the whole
pipeline over its stages was that noise, not work. CPU time counts every thread of the
process, so the work done beside ASR counts in full; wall time is what a newsroom waits
for. The transcript's path does more than bare faster-whisper (speakers, captions,
search), so its ratio is printed beside the ratio of the ASR part (decode + VAD + ASR)
alone, the share of diarization + caption OCR in ASR's time, and the worker's whole cost
for the clip (path + shot task).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from asr_speed import BARE_BATCH_SIZE, bare_transcribe  # noqa: E402
from support.service_support import session_factory  # noqa: E402

from efir.config import Settings  # noqa: E402
from efir.db import Clip  # noqa: E402
from efir.transcripts.model import Transcript  # noqa: E402
from efir.transcripts.revisions import save_job_output  # noqa: E402
from worker.model_cache import get_whisper_model  # noqa: E402
from worker.pipeline import PipelineOptions, pipeline_options_from_settings, recognise, run_pipeline  # noqa: E402
from worker.stages.asr import speech_regions  # noqa: E402
from worker.stages.captions import scan_captions  # noqa: E402
from worker.stages.diarize import cluster_speakers, embed_speech  # noqa: E402
from worker.stages.media import SAMPLE_RATE, MediaInfo, decode_audio, probe  # noqa: E402
from worker.stages.shots import detect_shots  # noqa: E402

STAGES = ("decode", "VAD", "ASR", "diarization", "caption OCR", "indexing")
BARE = "bare faster-whisper"
BARE_1 = "bare, batch 1"
PATH = "transcript path"
SHOT_TASK = "shot task (after)"
T = TypeVar("T")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("media", type=Path, nargs="?", default=ROOT / "fixtures/seed/seed.mp4")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    options = pipeline_options_from_settings(Settings(cpu_threads=1))
    model = get_whisper_model(
        options.model_dir, device=options.device, compute_type=options.compute_type, cpu_threads=1
    )
    indexer = _Indexer(Path(tempfile.mkdtemp(prefix="efir-stages-")))
    has_video = probe(args.media).has_video
    timed = (BARE, BARE_1, *STAGES, PATH, *((SHOT_TASK,) if has_video else ()))
    timings: dict[str, list[_Spent]] = {name: [] for name in timed}

    def bare() -> None:
        bare_transcribe(model, args.media, options.asr)

    def bare_1() -> None:
        bare_transcribe(model, args.media, options.asr, batch_size=1)

    def path() -> None:
        indexer.save(run_pipeline(args.media, options).transcript)

    path()  # warm-up, untimed
    duration_s = 0.0
    for _ in range(args.repeats):
        timings[BARE].append(_timed(bare))
        timings[BARE_1].append(_timed(bare_1))
        duration_s = _time_stages(args.media, options, indexer, timings)
        timings[PATH].append(_timed(path))
        if has_video:
            timings[SHOT_TASK].append(_timed(lambda: detect_shots(args.media)))

    print(
        f"{args.media.name}: {duration_s:.1f} s, model {options.model_dir.name}, 1 thread, "
        f"beam {options.asr.beam_size}, batch {options.asr.batch_size} "
        f"(bare {BARE_BATCH_SIZE}), median of {args.repeats}"
    )
    print(f"{'':24} {'wall s':>8} {'RTF':>7} {'CPU s':>8} {'RTF':>7}")
    medians: dict[str, tuple[float, float]] = {}
    for name, spent in timings.items():
        if not spent:
            continue  # caption OCR: video only
        wall = statistics.median(s.wall for s in spent)
        cpu = statistics.median(s.cpu for s in spent)
        medians[name] = (wall, cpu)
        print(f"{name:24} {wall:8.2f} {wall / duration_s:7.4f} {cpu:8.2f} {cpu / duration_s:7.4f}")
    for clock, label in ((0, "wall"), (1, "CPU")):
        asr_part = sum(medians[name][clock] for name in ("decode", "VAD", "ASR"))
        speakers = medians["diarization"][clock] + medians.get("caption OCR", (0.0, 0.0))[clock]
        bare_s = medians[BARE][clock]
        path_s = medians[PATH][clock]
        shots_s = medians[SHOT_TASK][clock] if has_video else 0.0
        print(
            f"{label}: stages, sum {sum(medians[name][clock] for name in STAGES):.2f} s; "
            f"transcript path / bare {path_s / bare_s:.2f}x (target <= 1.15x); "
            f"decode + VAD + ASR / bare {asr_part / bare_s:.2f}x; "
            f"diarization + caption OCR / ASR {speakers / medians['ASR'][clock]:.0%} "
            f"(target <= 15%); path + shot task / bare {(path_s + shots_s) / bare_s:.2f}x; "
            f"ASR / bare {medians['ASR'][clock] / bare_s:.2f}x; against bare at batch 1: "
            f"path {path_s / medians[BARE_1][clock]:.2f}x, "
            f"ASR {medians['ASR'][clock] / medians[BARE_1][clock]:.2f}x"
        )


def _time_stages(
    media: Path, options: PipelineOptions, indexer: _Indexer, timings: dict[str, list[_Spent]]
) -> float:
    info, audio = _timed_value(timings["decode"], lambda: _decoded(media))
    regions = _timed_value(timings["VAD"], lambda: speech_regions(audio, options.asr))
    transcript = _timed_value(timings["ASR"], lambda: recognise(audio, options, regions=regions))
    speech = [(r.start, r.end) for r in regions]
    captions = (
        _timed_value(
            timings["caption OCR"],
            lambda: scan_captions(media, speech, options=options.captions),
        )
        if info.has_video
        else []
    )
    diarization = _timed_value(
        timings["diarization"],
        lambda: cluster_speakers(
            transcript,
            embed_speech(transcript, audio, options=options.diarize),
            options=options.diarize,
            captions=captions,
        ),
    )
    named = diarization.transcript
    timings["indexing"].append(_timed(lambda: indexer.save(named)))
    return audio.size / SAMPLE_RATE


def _decoded(media: Path) -> tuple[MediaInfo, np.ndarray]:
    info = probe(media)
    return info, decode_audio(media, info=info)


class _Indexer:
    """Saves transcripts as a worker does: a revision and its search rows (SQLite)."""

    def __init__(self, directory: Path) -> None:
        self._sessions = session_factory(f"sqlite:///{directory / 'efir.sqlite3'}")
        with self._sessions() as session:
            clip = Clip(sha256="0" * 64, original_filename="bench", media_key="bench", size_bytes=0)
            session.add(clip)
            session.commit()
            self._clip_id = clip.id
        self._runs = 0

    def save(self, transcript: Transcript) -> None:
        self._runs += 1
        with self._sessions() as session:
            save_job_output(
                session, clip_id=self._clip_id, job_id=str(self._runs), transcript=transcript
            )


@dataclass(frozen=True)
class _Spent:
    wall: float
    cpu: float  # this process, all threads


def _timed(run: Callable[[], object]) -> _Spent:
    spent: list[_Spent] = []
    _timed_value(spent, run)
    return spent[0]


def _timed_value(into: list[_Spent], run: Callable[[], T]) -> T:
    wall, cpu = time.perf_counter(), time.process_time()
    value = run()
    into.append(_Spent(time.perf_counter() - wall, time.process_time() - cpu))
    return value


if __name__ == "__main__":
    main()
