"""Speakers benchmark: what diarization and caption OCR cost per minute of audio.

    OMP_NUM_THREADS=1 .venv/bin/python bench/speakers_bench.py            # seed.mp4, truth words
    OMP_NUM_THREADS=1 .venv/bin/python bench/speakers_bench.py --asr      # + Whisper, ratio to ASR

Caption OCR (`scan_captions`) and diarization under those captions run on one
thread, as a worker does. Without `--asr` the
diarizer gets the kit's true word times; with `--asr` the bundled
faster-whisper-base transcribes the clip first (1 thread, beam 5, word
timestamps), its time is the baseline for the "≤ 15 % of ASR" target, and the
diarizer runs on Whisper's own words (DER is printed for both inputs). Each
stage runs `--repeat` times and the fastest run is reported; times are the process's
CPU seconds (the box is shared; `--wall` for wall time).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from support.der import (  # noqa: E402
    diarization_error_rate,
    read_rttm,
    transcript_turns,
    truth_transcript,
)

from efir.transcripts.model import Segment, Transcript, Word  # noqa: E402
from worker.stages.captions import scan_captions  # noqa: E402
from worker.stages.diarize import cluster_speakers, embed_speech  # noqa: E402
from worker.stages.media import decode_audio  # noqa: E402
from worker.stages.speaker_embedding import get_dvector_embedder  # noqa: E402

T = TypeVar("T")

# CPU seconds of this process, not wall time: on a box shared with other jobs the wall
# clock measures their load; everything here runs on one thread, so the two agree on an
# idle machine. `--wall` gives wall time.
_clock = time.process_time


def fastest(repeat: int, run: Callable[[], T]) -> tuple[float, T]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = _clock()
        result = run()
        best = min(best, _clock() - started)
    assert result is not None
    return best, result


def whisper_transcript(media: Path, duration_s: float) -> tuple[float, Transcript]:
    from efir.config import get_settings
    from efir.model_assets import ensure_bundled_model
    from worker.model_cache import get_whisper_model

    model = get_whisper_model(
        ensure_bundled_model(get_settings().cache_dir),
        device="cpu",
        compute_type="int8",
        cpu_threads=1,
    )
    started = _clock()
    segments, _ = model.transcribe(str(media), language="ru", beam_size=5, word_timestamps=True)
    segments = tuple(
        Segment(
            id=i,
            start=s.start,
            end=s.end,
            text=s.text.strip(),
            words=tuple(Word(w.start, w.end, w.word, w.probability) for w in s.words or ()),
        )
        for i, s in enumerate(segments)
    )
    elapsed = _clock() - started
    return elapsed, Transcript(
        duration=duration_s, language="ru", model="faster-whisper-base", segments=segments
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, default=ROOT / "fixtures/seed/seed.mp4")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--asr", action="store_true", help="also time Whisper and diarize its words"
    )
    parser.add_argument("--wall", action="store_true", help="wall time instead of CPU time")
    args = parser.parse_args()
    if args.wall:
        global _clock
        _clock = time.perf_counter

    stem = args.clip.with_suffix("")
    audio = decode_audio(args.clip)
    minutes = len(audio) / 16_000 / 60
    get_dvector_embedder().embed(audio[:16_000])  # session load and librosa warm-up

    inputs = {"truth words": truth_transcript(stem.with_suffix(".truth.json"))}
    asr_s = None
    if args.asr:
        asr_s, inputs["whisper words"] = whisper_transcript(args.clip, len(audio) / 16_000)

    reference = read_rttm(stem.with_suffix(".rttm"))
    print(
        f"clip {args.clip.name}: {minutes * 60:.1f} s of audio, {args.repeat} runs, fastest shown"
    )
    for label, transcript in inputs.items():
        # As the pipeline runs them: captions first (OCR), then diarization under them.
        speech = [(s.start, s.end) for s in transcript.segments]
        ocr_s, captions = fastest(args.repeat, lambda s=speech: scan_captions(args.clip, s))
        diarize_s, diarization = fastest(
            args.repeat,
            lambda t=transcript, c=captions: cluster_speakers(
                t, embed_speech(t, audio), captions=c
            ),
        )
        der = diarization_error_rate(reference, transcript_turns(diarization.transcript))
        speakers = diarization.transcript.speakers
        named = sum(1 for s in speakers if s.name)
        print(
            f"[{label}] speakers {len(speakers)}, named {named}, DER {der:.3f}\n"
            f"  diarization {diarize_s:6.2f} s = {diarize_s / minutes:5.2f} s per audio minute\n"
            f"  caption OCR {ocr_s:6.2f} s = {ocr_s / minutes:5.2f} s per audio minute"
        )
        if asr_s:
            share = (diarize_s + ocr_s) / asr_s
            print(
                f"  ASR {asr_s:.1f} s; diarization + OCR = {share:.1%} of ASR time (target ≤ 15%)"
            )


if __name__ == "__main__":
    main()
