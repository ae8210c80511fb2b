"""The transcription pipeline: a media file in, a Transcript out.

probe → decode to 16 kHz mono → recognise (with the glossary as prompt) → correct
glossary near-misses. Each stage is a plain function; this module only wires them
and reports progress as (stage, fraction 0..1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from efir.config import Settings
from efir.glossary import Glossary
from efir.model_assets import resolve_model_dir
from efir.transcript import Transcript
from worker.model_cache import get_whisper_model
from worker.stages.asr import AsrOptions, transcribe
from worker.stages.media import decode_audio, probe

__all__ = ["PipelineOptions", "ProgressCallback", "pipeline_options_from_settings", "run_pipeline"]

ProgressCallback = Callable[[str, float], None]


@dataclass(frozen=True)
class PipelineOptions:
    model_dir: Path
    asr: AsrOptions = field(default_factory=AsrOptions)
    glossary: Glossary = field(default_factory=Glossary)
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 1
    max_duration_s: float | None = None
    correct_glossary_terms: bool = True


def pipeline_options_from_settings(
    settings: Settings, *, glossary_terms: Iterable[str] = ()
) -> PipelineOptions:
    """Options for `run_pipeline` from settings; assembles the bundled model on first use."""
    glossary = Glossary.from_text("\n".join(glossary_terms))
    return PipelineOptions(
        model_dir=resolve_model_dir(settings),
        asr=AsrOptions(
            language=settings.language,
            beam_size=settings.beam_size,
            batch_size=settings.batch_size,
            initial_prompt=glossary.prompt,
        ),
        glossary=glossary,
        device=settings.device,
        compute_type=settings.compute_type,
        cpu_threads=settings.cpu_threads,
        max_duration_s=settings.max_duration_s,
    )


def run_pipeline(
    media_path: Path,
    options: PipelineOptions,
    *,
    on_progress: ProgressCallback | None = None,
) -> Transcript:
    """Transcribe one clip; raises MediaError for undecodable media, AsrError if ASR fails."""
    report = on_progress or _ignore_progress
    report("decoding", 0.0)
    info = probe(media_path, max_duration_s=options.max_duration_s)
    audio = decode_audio(media_path, info=info)
    report("decoding", 1.0)
    model = get_whisper_model(
        options.model_dir,
        device=options.device,
        compute_type=options.compute_type,
        cpu_threads=options.cpu_threads,
    )
    transcript = transcribe(
        audio,
        model,
        options.asr,
        model_name=options.model_dir.name,
        on_progress=lambda fraction: report("transcribing", fraction),
    )
    if options.correct_glossary_terms:
        transcript = options.glossary.correct(transcript)
    return transcript


def _ignore_progress(stage: str, fraction: float) -> None:
    return None
