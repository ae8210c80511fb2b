"""Long-programme mode: one job's audio cut at silences, chunks transcribed in parallel.

The steps, each a plain function the Celery tasks in worker/tasks.py wrap:

1. `decode_and_plan` (the job's own task): decode the media straight into a raw
   float32 16 kHz file staged in media storage (never the whole programme in memory),
   run VAD over that file window by window, cut the timeline at the longest silences
   near EFIR_CHUNK_SECONDS (worker/stages/chunk_plan.py) and store the audio. Its key,
   the spans and each chunk's VAD regions become the job's chunk rows (efir.jobs.chunks),
   and one task per chunk goes to the bulk queue. Cuts fall only between the batches
   of ≤30 s windows the ASR would decode the whole programme in, and each chunk
   decodes its share of the programme's own regions, so a chunk decodes the whole's
   very windows in the whole's very batches.
2. `transcribe_chunk_audio` (one task per chunk, on any worker): ASR over the chunk's
   samples, read from storage by range, and the speaker embeddings of its speech; both
   shifted to the programme's timeline and stored as one blob (`encode_chunk_result`).
   A chunk's task is idempotent, so a failed or lost chunk is simply run again alone.
3. `merge_chunk_results` (once, after the last chunk): concatenate the chunks'
   sentences (cuts lie in silences between VAD speech regions, so no word spans one
   and nothing needs de-duplicating) and their embeddings; the caller then runs the
   speaker stages once over the whole programme (`worker.pipeline.name_speakers`),
   so one voice keeps one speaker id from the first chunk to the last.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from efir.media.storage.base import MediaStorage
from efir.transcripts.model import Transcript
from worker.pipeline import PipelineOptions, recognise
from worker.stages.asr import FractionDone, TimeSpan, group_windows
from worker.stages.chunk_plan import plan_chunks, read_pcm, speech_regions_in_file
from worker.stages.diarize import SpeechEmbeddings, embed_speech
from worker.stages.media import SAMPLE_RATE, MediaInfo, decode_audio_to_file

__all__ = [
    "ChunkResult",
    "PlannedChunk",
    "PlannedProgramme",
    "decode_and_plan",
    "decode_chunk_result",
    "encode_chunk_result",
    "merge_chunk_results",
    "read_chunk_audio",
    "transcribe_chunk_audio",
]


@dataclass(frozen=True)
class PlannedChunk:
    span: TimeSpan
    speech: list[TimeSpan]  # its VAD regions, on the programme's timeline


@dataclass(frozen=True)
class PlannedProgramme:
    audio_key: str  # the decoded programme in media storage (raw float32, 16 kHz mono)
    duration_s: float
    chunks: list[PlannedChunk]


@dataclass(frozen=True)
class ChunkResult:
    """One chunk's sentences and speech embeddings, on the programme's timeline."""

    transcript: Transcript
    embeddings: SpeechEmbeddings


def decode_and_plan(
    info: MediaInfo, storage: MediaStorage, options: PipelineOptions, *, chunk_s: float
) -> PlannedProgramme:
    """Decode the programme into storage and cut it into chunks of about `chunk_s`."""
    # The decode itself enforces the duration limit; the staging needs no byte cap.
    with storage.stage(max_bytes=sys.maxsize) as staged:
        samples = decode_audio_to_file(
            info.path, staged, info=info, max_duration_s=options.max_duration_s
        )
        staged.close()
        regions = speech_regions_in_file(staged.path, options.asr)
        stored = storage.commit(staged)
    duration_s = samples / SAMPLE_RATE
    spans = plan_chunks(_decoder_batches(regions, options), duration_s, target_s=chunk_s)
    return PlannedProgramme(
        audio_key=stored.key,
        duration_s=duration_s,
        chunks=[
            PlannedChunk(span, [r for r in regions if span.start <= r.start < span.end])
            for span in spans
        ],
    )


def _decoder_batches(regions: Sequence[TimeSpan], options: PipelineOptions) -> list[TimeSpan]:
    """The spans the programme in one piece would be decoded in, batch by batch.

    Cut only between these, each chunk decodes exactly the windows, in exactly the
    batches, of the whole: batched beam search is not independent of a window's batch
    mates (int8 GEMMs over other shapes round differently), and on the test programme
    cuts between windows alone left 6% of words different from the one-piece run."""
    windows = group_windows(regions, options.asr.window_s)
    size = options.asr.batch_size
    return [
        TimeSpan(windows[i].start, windows[min(i + size, len(windows)) - 1].end)
        for i in range(0, len(windows), size)
    ]


def read_chunk_audio(
    storage: MediaStorage, audio_key: str, start_s: float, end_s: float
) -> np.ndarray:
    """A chunk's samples; from S3 a ranged read, not the whole programme."""
    with storage.open(audio_key) as source:
        return read_pcm(source, start_s, end_s)


def transcribe_chunk_audio(
    audio: np.ndarray,
    start_s: float,
    speech: Sequence[TimeSpan],
    options: PipelineOptions,
    *,
    on_progress: FractionDone | None = None,
) -> ChunkResult:
    """ASR and speaker embeddings of one chunk starting `start_s` into the programme,
    its VAD regions `speech` given on the programme's timeline."""
    regions = [TimeSpan(r.start - start_s, r.end - start_s) for r in speech]
    transcript = recognise(audio, options, regions=regions, on_progress=on_progress)
    embeddings = (
        embed_speech(transcript, audio, options=options.diarize)
        if options.find_speakers
        else SpeechEmbeddings.empty()
    )
    return ChunkResult(_shifted(transcript, start_s), embeddings.shifted(start_s))


def merge_chunk_results(
    results: Sequence[ChunkResult], duration_s: float
) -> tuple[Transcript, SpeechEmbeddings]:
    """The programme's transcript (no speakers yet) and embeddings, chunks in order."""
    first = results[0].transcript
    segments = tuple(segment for result in results for segment in result.transcript.segments)
    transcript = replace(first, duration=duration_s, segments=segments).renumbered()
    return transcript, SpeechEmbeddings.concatenate([r.embeddings for r in results])


def encode_chunk_result(result: ChunkResult) -> bytes:
    buffer = io.BytesIO()
    np.savez(
        buffer,
        transcript=np.frombuffer(result.transcript.to_json().encode(), dtype=np.uint8),
        spans=result.embeddings.spans,
        runs=result.embeddings.runs,
        vectors=result.embeddings.vectors,
    )
    return buffer.getvalue()


def decode_chunk_result(data: bytes) -> ChunkResult:
    with np.load(io.BytesIO(data)) as stored:
        transcript = Transcript.from_dict(json.loads(stored["transcript"].tobytes()))
        embeddings = SpeechEmbeddings(
            spans=stored["spans"], runs=stored["runs"], vectors=stored["vectors"]
        )
    return ChunkResult(transcript, embeddings)


def _shifted(transcript: Transcript, offset_s: float) -> Transcript:
    def shift(t: float) -> float:
        return round(t + offset_s, 3)

    return replace(
        transcript,
        segments=tuple(
            replace(
                s,
                start=shift(s.start),
                end=shift(s.end),
                words=tuple(replace(w, start=shift(w.start), end=shift(w.end)) for w in s.words),
            )
            for s in transcript.segments
        ),
    )
