"""Speed and accuracy of efir's pipeline beside bare faster-whisper, in one run.

    .venv/bin/python bench/asr_speed.py [MEDIA] [--truth T.json] [--glossary G] [--repeats N]

Bare = `BatchedInferencePipeline.transcribe(path, language, beam 5, batch 8,
word_timestamps, VAD on)` with the same loaded model, batch 8 whatever efir's own
batch size (issue 15's reference), and with --glossary the same glossary prompt, so
the prompt's own cost is compared like for like.
Efir = `run_pipeline` on the same file without the speaker stages: probe,
decode, VAD, decode of the windows, repair of unheard regions, guards, glossary
correction. Runs alternate (bare, efir, bare, efir…) so load from other
processes falls on both; the median of each is reported. Target: ratio ≤ 1.15.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from faster_whisper import BatchedInferencePipeline, WhisperModel

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from support.scoring import cer, load_truth_text, wer  # noqa: E402

from efir.config import Settings  # noqa: E402
from efir.glossary import Glossary  # noqa: E402
from worker.model_cache import get_whisper_model  # noqa: E402
from worker.pipeline import PipelineOptions, pipeline_options_from_settings, run_pipeline  # noqa: E402
from worker.stages.asr import AsrOptions  # noqa: E402
from worker.stages.media import SAMPLE_RATE, decode_audio  # noqa: E402

BARE = "bare BatchedInferencePipeline"
# The reference of issue 15: faster-whisper's batched pipeline as it is usually run.
BARE_BATCH_SIZE = 8
EFIR = "efir pipeline"
GLOSSARY = " + glossary prompt"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("media", type=Path, nargs="?", default=ROOT / "fixtures/seed/seed.wav")
    parser.add_argument("--truth", type=Path, default=ROOT / "fixtures/seed/seed.truth.json")
    parser.add_argument("--glossary", type=Path, help="also time the pipeline with this glossary")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()

    # ASR alone: the speakers stages are measured by bench/speakers_bench.py.
    options = replace(pipeline_options_from_settings(Settings()), find_speakers=False)
    model = get_whisper_model(
        options.model_dir,
        device=options.device,
        compute_type=options.compute_type,
        cpu_threads=options.cpu_threads,
    )
    duration_s = decode_audio(args.media).size / SAMPLE_RATE
    reference = load_truth_text(args.truth) if args.truth and args.truth.exists() else None

    def bare(prompt: str | None = None) -> str:
        return bare_transcribe(model, args.media, options.asr, prompt)

    variants: dict[str, Callable[[], str]] = {
        BARE: bare,
        EFIR: lambda: run_pipeline(args.media, options).transcript.text,
    }
    if args.glossary:
        with_glossary = _with_glossary(options, Glossary.load(args.glossary))
        variants[BARE + GLOSSARY] = lambda: bare(with_glossary.asr.initial_prompt)
        variants[EFIR + GLOSSARY] = lambda: run_pipeline(args.media, with_glossary).transcript.text

    timings: dict[str, list[float]] = {name: [] for name in variants}
    texts: dict[str, str] = {}
    for _ in range(args.repeats):
        for name, run in variants.items():
            started = time.perf_counter()
            texts[name] = run()
            timings[name].append(time.perf_counter() - started)

    print(f"{args.media.name}: {duration_s:.1f} s, model {options.model_dir.name}, "
          f"{options.cpu_threads} thread(s), beam {options.asr.beam_size}, "
          f"batch {options.asr.batch_size} (bare {BARE_BATCH_SIZE}), "
          f"median of {args.repeats}")  # fmt: skip
    print(f"{'variant':48} {'seconds':>8} {'RTF':>6} {'WER':>6} {'CER':>6}")
    medians = {name: statistics.median(seconds) for name, seconds in timings.items()}
    for name, median_s in medians.items():
        scores = (
            f"{wer(reference, texts[name]):6.3f} {cer(reference, texts[name]):6.3f}"
            if reference
            else f"{'-':>6} {'-':>6}"
        )
        print(f"{name:48} {median_s:8.1f} {median_s / duration_s:6.3f} {scores}")
    for suffix in ("", GLOSSARY) if args.glossary else ("",):
        ratio = medians[EFIR + suffix] / medians[BARE + suffix]
        print(f"ratio efir / bare{suffix}: {ratio:.2f}x (target <= 1.15x)")


def bare_transcribe(
    model: WhisperModel,
    media: Path,
    asr: AsrOptions,
    prompt: str | None = None,
    *,
    batch_size: int = BARE_BATCH_SIZE,
) -> str:
    """Bare faster-whisper on `media` with efir's language and beam, to the last segment."""
    segments, _ = BatchedInferencePipeline(model).transcribe(
        str(media),
        language=asr.language,
        beam_size=asr.beam_size,
        batch_size=batch_size,
        word_timestamps=True,
        vad_filter=True,
        initial_prompt=prompt,
    )
    return " ".join(segment.text.strip() for segment in segments)


def _with_glossary(options: PipelineOptions, glossary: Glossary) -> PipelineOptions:
    return replace(
        options, glossary=glossary, asr=replace(options.asr, initial_prompt=glossary.prompt)
    )


if __name__ == "__main__":
    main()
