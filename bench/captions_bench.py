"""Caption-evidence benchmark: who speaks, judged by what the picture and the truth say.

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/captions_bench.py            # truth words
    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/captions_bench.py --asr-cache /tmp/asr

Runs the speaker half of the pipeline (`embed_speech` + `name_speakers`: diarize,
read captions, registry, roles) on each clip, no speaker count given. Words come from
the kit's truth, or with `--asr-cache` from faster-whisper-base (transcribed once per
clip by the pipeline's own `recognise`, as a worker would, and kept as JSON in that
folder, so the code under test can change and the ASR input stays the same). Point
PYTHONPATH at another checkout to measure that code with the same bench ("before").

Per clip: DER (0.25 s collar) and its parts as shares of the reference speech
(missed speech / false alarm / speaker confusion); captioned turns named right (the
truth turn's words are mostly under a speaker named as its caption); uncaptioned turns
(their speaker has no caption anywhere) under a captioned name; every turn under someone else's name
(misattributions) and how many of them the transcript flags `check`; the share of
segments flagged.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.caption_scoring import score  # noqa: E402
from support.der import read_wav_16k, truth_transcript  # noqa: E402

from efir.transcripts.model import Transcript  # noqa: E402
from worker.pipeline import PipelineOptions, name_speakers  # noqa: E402
from worker.stages.diarize import embed_speech  # noqa: E402

CLIPS = {
    "seed": ROOT / "fixtures/seed/seed",
    "second": ROOT / "fixtures/second/second",
    "dev1": ROOT / "fixtures/captions/dev/dev1",
    "dev2": ROOT / "fixtures/captions/dev/dev2",
    "dev3": ROOT / "fixtures/captions/dev/dev3",
    "dev2_tight": ROOT / "fixtures/captions/dev/dev2_tight",
    "dev4": ROOT / "fixtures/captions/dev/dev4",
    "dev5": ROOT / "fixtures/captions/dev/dev5",
    "test1": ROOT / "fixtures/captions/test/test1",
    "test1_noisy": ROOT / "fixtures/captions/test/test1_noisy",
    "test2": ROOT / "fixtures/captions/test/test2",
}


def asr_transcript(stem: Path, cache: Path) -> Transcript:
    """The words a worker would get: the pipeline's own `recognise` over the clip's
    media (the MP4 where there is one), default settings."""
    cached = cache / f"{stem.name}.asr.json"
    if not cached.is_file():
        from efir.config import get_settings
        from worker.pipeline import pipeline_options_from_settings, recognise
        from worker.stages.media import decode_audio

        media = stem.with_suffix(".mp4")
        media = media if media.is_file() else stem.with_suffix(".wav")
        options = pipeline_options_from_settings(get_settings())
        transcript = recognise(decode_audio(media), options)
        cache.mkdir(parents=True, exist_ok=True)
        cached.write_text(transcript.to_json(), encoding="utf-8")
    return Transcript.from_json(cached.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", default=",".join(CLIPS))
    parser.add_argument("--asr-cache", type=Path, help="use Whisper words, cached here")
    parser.add_argument(
        "--grid-offsets",
        help="also DER with each run's chunk grid moved by these seconds (e.g. "
        "-0.2,-0.1,0,0.1,0.2): the mean and each; needs DiarizeOptions.grid_offset_s",
    )
    args = parser.parse_args()
    options = PipelineOptions(model_dir=Path("unused"))
    print(f"code: {Path(sys.modules['worker.pipeline'].__file__ or '').parent.parent}")
    print(f"words: {'pipeline recognise (faster-whisper-base)' if args.asr_cache else 'kit truth'}")
    print(
        "clip          DER   (miss/fa/conf)      captioned-right  uncaptioned-named  "
        "wrong-name(flagged)  flagged-segments"
    )
    for name in args.clips.split(","):
        stem = CLIPS[name]
        transcript = (
            asr_transcript(stem, args.asr_cache)
            if args.asr_cache
            else truth_transcript(stem.with_suffix(".truth.json"))
        )
        audio = read_wav_16k(stem.with_suffix(".wav"))
        media = stem.with_suffix(".mp4")
        has_video = media.is_file()
        embeddings = embed_speech(transcript, audio, options=options.diarize)
        result = name_speakers(
            transcript,
            embeddings,
            media if has_video else stem.with_suffix(".wav"),
            options,
            has_video=has_video,
        )
        s = score(stem, result.transcript)
        spread = ""
        if args.grid_offsets:
            ders = [
                _der_at(transcript, audio, stem, options, float(offset))
                for offset in args.grid_offsets.split(",")
            ]
            spread = f"  grid DER {np.mean(ders):.3f} [{' '.join(f'{d:.3f}' for d in ders)}]"
        parts = s.der_parts
        captioned = f"{s.captioned_right}/{s.captioned}" if has_video else "n/a (audio)"
        print(
            f"{name:12s} {s.der:5.3f} ({parts.missed:.3f}/{parts.false_alarm:.3f}/"
            f"{parts.confusion:.3f})  {captioned:15s}  {s.uncaptioned_named}/{s.uncaptioned:<16d}"
            f" {s.wrong_name}/{s.turns} ({s.wrong_flagged})        {s.flagged}/{s.segments}{spread}"
        )


def _der_at(
    transcript: Transcript, audio: np.ndarray, stem: Path, options: PipelineOptions, offset: float
) -> float:
    """DER with every speech run's chunk grid moved by `offset` seconds."""
    options = replace(options, diarize=replace(options.diarize, grid_offset_s=offset))
    media = stem.with_suffix(".mp4")
    embeddings = embed_speech(transcript, audio, options=options.diarize)
    result = name_speakers(
        transcript,
        embeddings,
        media if media.is_file() else stem.with_suffix(".wav"),
        options,
        has_video=media.is_file(),
    )
    return score(stem, result.transcript).der


if __name__ == "__main__":
    main()
