"""The transcription pipeline: a media file in, a Transcript (and voiceprints) out.

probe → decode to 16 kHz mono → VAD → recognise (with the glossary as prompt) → correct
glossary near-misses → speakers: read on-screen name captions over the speech (video
only, beside ASR), diarize with them as evidence, name voices the registry knows, guess the
remaining roles, flag named turns nobody saw a caption over and the voice is unsure
of (`"check": true`). Registry matching comes before the role guess so that a known
correspondent keeps the role the newsroom gave her. Each stage is a plain function; this
module only wires them and reports progress as (stage, fraction 0..1). `recognise` and
`name_speakers` are also the two halves a long programme runs apart: per chunk, then once
over the whole programme (worker/chunked.py). A video's shot changes, which only
subtitle exports use, are not measured here: a task of their own does it once the
transcript is saved (worker/tasks.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np

from efir.config import Settings
from efir.db import JobState
from efir.glossary import Glossary
from efir.media.analyses import PEAKS
from efir.model_assets import resolve_model_dir
from efir.transcripts.model import Transcript
from efir.voices.registry import KnownVoice, VoicePrint, match_known_voices
from worker.model_cache import get_whisper_model
from worker.stages.asr import (
    READING_TEMPOS,
    AsrOptions,
    FractionDone,
    TimeSpan,
    speech_regions,
    transcribe,
)
from worker.stages.caption_evidence import mark_checks
from worker.stages.captions import CaptionOptions, CaptionSpan, scan_captions
from worker.stages.diarize import (
    DiarizeOptions,
    SpeechEmbeddings,
    cluster_speakers,
    embed_speech,
)
from worker.stages.media import decode_audio, probe
from worker.stages.peaks import waveform_peaks
from worker.stages.roles import assign_roles

__all__ = [
    "PipelineOptions",
    "PipelineResult",
    "StageProgress",
    "name_speakers",
    "pipeline_options_for_job",
    "pipeline_options_from_settings",
    "recognise",
    "run_pipeline",
]

# Progress of the whole pipeline: the job state of the stage running and its fraction done.
StageProgress = Callable[[JobState, float], None]


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
    find_speakers: bool = True
    ocr_captions: bool = True
    diarize: DiarizeOptions = field(default_factory=DiarizeOptions)
    captions: CaptionOptions = field(default_factory=CaptionOptions)


@dataclass(frozen=True)
class PipelineResult:
    transcript: Transcript
    # Speaker id → that speaker's voice in this clip, for the registry.
    voiceprints: dict[str, VoicePrint] = field(default_factory=dict)
    # What was measured on the media once (kind → JSON), kept by efir.media.analyses.
    analyses: dict[str, dict[str, Any]] = field(default_factory=dict)


def _default_batch_size(device: str) -> int:
    """One window at a time on a CPU, eight on a GPU ("auto" is a GPU when CTranslate2
    sees one, as faster-whisper decides)."""
    on_gpu = device == "cuda" or (device == "auto" and ctranslate2.get_cuda_device_count() > 0)
    return 8 if on_gpu else 1


def pipeline_options_from_settings(
    settings: Settings,
    *,
    glossary_terms: Iterable[str] = (),
    min_speakers: int | None = None,
    max_speakers: int | None = None,
    readings: int | None = None,
) -> PipelineOptions:
    """Options for `run_pipeline` from settings; assembles the bundled model on first use.

    The speaker-count hints are the uploader's (a job option); None leaves the estimate free.
    So are `readings` (None: the installation's EFIR_READINGS)."""
    glossary = Glossary(terms=tuple(glossary_terms))  # parsed once, by Glossary.from_text
    count_defaults = DiarizeOptions()
    return PipelineOptions(
        model_dir=resolve_model_dir(settings),
        asr=AsrOptions(
            language=settings.language,
            beam_size=settings.beam_size,
            batch_size=settings.batch_size or _default_batch_size(settings.device),
            initial_prompt=glossary.prompt,
            reading_tempos=READING_TEMPOS[: (readings or settings.readings) - 1],
        ),
        glossary=glossary,
        device=settings.device,
        compute_type=settings.compute_type,
        cpu_threads=settings.cpu_threads,
        max_duration_s=settings.max_duration_s,
        diarize=replace(
            count_defaults,
            min_speakers=min_speakers or count_defaults.min_speakers,
            max_speakers=max_speakers or count_defaults.max_speakers,
        ),
    )


def pipeline_options_for_job(settings: Settings, job_options: Mapping[str, Any]) -> PipelineOptions:
    """Options for one job: the installation's settings with what the uploader gave (a
    job's ``options``: glossary, speaker-count hints, readings)."""
    return pipeline_options_from_settings(
        settings,
        glossary_terms=tuple(job_options.get("glossary", ())),
        min_speakers=job_options.get("min_speakers"),
        max_speakers=job_options.get("max_speakers"),
        readings=job_options.get("readings"),
    )


def run_pipeline(
    media_path: Path,
    options: PipelineOptions,
    *,
    known_voices: Sequence[KnownVoice] = (),
    on_progress: StageProgress | None = None,
) -> PipelineResult:
    """Transcribe one clip and find its speakers, naming those in `known_voices` (the
    registry); raises MediaError for undecodable media, AsrError if ASR fails."""
    report = on_progress or _ignore_progress
    report(JobState.DECODING, 0.0)
    info = probe(media_path, max_duration_s=options.max_duration_s)
    audio = decode_audio(media_path, info=info, max_duration_s=options.max_duration_s)
    # The editor's waveform, from the audio already decoded: no second decode later.
    analyses: dict[str, dict[str, Any]] = {PEAKS: waveform_peaks([audio])}
    report(JobState.DECODING, 1.0)
    regions = speech_regions(audio, options.asr)
    read_captions = info.has_video and options.find_speakers and options.ocr_captions
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="picture") as picture:
        # Name captions need only the picture over the VAD speech, known before ASR, so
        # they are read beside it: a core the decoder leaves idle does the work and the
        # transcript is not later for it.
        captions = (
            picture.submit(
                scan_captions,
                media_path,
                [(r.start, r.end) for r in regions],
                options=options.captions,
            )
            if read_captions
            else None
        )
        transcript = recognise(
            audio,
            options,
            regions=regions,
            on_progress=lambda fraction: report(JobState.TRANSCRIBING, fraction),
        )
        if options.find_speakers:
            report(JobState.SPEAKERS, 0.0)
            embeddings = embed_speech(transcript, audio, options=options.diarize)
            result = name_speakers(
                transcript,
                embeddings,
                media_path,
                options,
                has_video=info.has_video,
                known_voices=known_voices,
                captions=captions.result() if captions is not None else None,
                on_progress=report,
            )
        else:
            result = PipelineResult(transcript)
    return replace(result, analyses={**result.analyses, **analyses})


def recognise(
    audio: np.ndarray,
    options: PipelineOptions,
    *,
    regions: Sequence[TimeSpan] | None = None,
    on_progress: FractionDone | None = None,
) -> Transcript:
    """ASR over 16 kHz mono audio (the whole clip, or one chunk of a long programme,
    with its VAD `regions`), glossary near-misses corrected."""
    # Said before the model loads: ASR reports its first fraction only after a whole
    # window is decoded, which made short clips look stuck in decoding (and /metrics
    # count their transcription time as decoding).
    report = on_progress or (lambda fraction: None)
    report(0.0)
    model = get_whisper_model(
        options.model_dir,
        device=options.device,
        compute_type=options.compute_type,
        cpu_threads=options.cpu_threads,
    )
    # Glossary corrections are made inside ASR, where the audio can confirm them.
    glossary = options.glossary if options.correct_glossary_terms else Glossary()
    transcript = transcribe(
        audio,
        model,
        replace(options.asr, glossary=glossary),
        model_name=options.model_dir.name,
        regions=regions,
        on_progress=report,
    )
    return transcript


def name_speakers(
    transcript: Transcript,
    embeddings: SpeechEmbeddings,
    media_path: Path,
    options: PipelineOptions,
    *,
    has_video: bool,
    known_voices: Sequence[KnownVoice] = (),
    captions: Sequence[CaptionSpan] | None = None,
    on_progress: StageProgress | None = None,
) -> PipelineResult:
    """The speaker stages over a whole clip's transcript and speech embeddings: read
    captions (video only) unless `captions` were read already, cluster the voices under
    them, name registry voices, guess roles, flag what to check."""
    report = on_progress or _ignore_progress
    if captions is None:
        captions = []
        if options.ocr_captions and has_video:
            speech = [(s.start, s.end) for s in transcript.segments]
            captions = scan_captions(media_path, speech, options=options.captions)
    report(JobState.SPEAKERS, 0.5)
    diarization = cluster_speakers(
        transcript, embeddings, options=options.diarize, captions=captions
    )
    transcript = match_known_voices(diarization.transcript, diarization.centroids, known_voices)
    transcript = assign_roles(transcript)
    transcript = mark_checks(transcript, diarization.centroids, known_voices)
    report(JobState.SPEAKERS, 1.0)
    return PipelineResult(transcript, _voiceprints(diarization.centroids, diarization.speech_s))


def _voiceprints(
    centroids: dict[str, np.ndarray], speech_s: dict[str, float]
) -> dict[str, VoicePrint]:
    return {sid: VoicePrint(vector, speech_s.get(sid, 0.0)) for sid, vector in centroids.items()}


def _ignore_progress(state: JobState, fraction: float) -> None:
    return None
