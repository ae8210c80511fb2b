"""whisper-asr-webservice's ``POST /asr``, which Bazarr and many newsroom scripts speak.

As that project documents it: multipart ``audio_file``; query ``task``, ``language``,
``initial_prompt``, ``encode``, ``word_timestamps``, ``output`` = txt (default) | json |
srt | vtt | tsv; the answer is the file as text/plain with ``Content-Disposition``
``<name>.<output>``. ``encode=false`` means the body is raw 16 kHz mono s16le PCM (what
Bazarr sends after decoding with its own ffmpeg); efir wraps it in a WAV header.

Differences, on purpose: ``task=translate`` and other languages than efir's are refused
(400), SRT and VTT are efir's broadcast cues rather than one cue per segment, and JSON
segments carry efir's ``speaker``. The upload is a clip and job like any (api/awaited.py).
"""

from __future__ import annotations

import io
import json
import wave
from collections.abc import Sequence
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.auth import Principal, require
from api.awaited import accepted, ingest_and_wait
from api.deps import JobQueueDep, SettingsDep, StorageDep
from api.multipart import InvalidUploadError, receive_media
from api.openapi import multipart_body
from api.whisper_shapes import whisper_segment
from efir.accounts.users import Permission
from efir.exports import is_cue_format, render
from efir.media.storage.base import MediaStorage, StagedMedia, file_chunks
from efir.transcripts.model import Transcript

__all__ = ["render_asr", "router"]

router = APIRouter(tags=["whisper-asr-webservice"])

AsrOutput = Literal["txt", "vtt", "srt", "tsv", "json"]
_FILE_FIELD = "audio_file"
# whisper-asr-webservice's SAMPLE_RATE: the format of an encode=false body.
_RAW_PCM_RATE = 16000
_UPLOAD_BODY = multipart_body(
    {_FILE_FIELD: {"type": "string", "format": "binary"}}, required=[_FILE_FIELD]
)


@router.post("/asr", openapi_extra=_UPLOAD_BODY)
async def asr(
    request: Request,
    settings: SettingsDep,
    storage: StorageDep,
    queue: JobQueueDep,
    uploader: Annotated[Principal, require(Permission.UPLOAD, new_upload=True)],
    task: Literal["transcribe", "translate"] = "transcribe",
    language: str | None = None,
    initial_prompt: Annotated[str | None, Query(description="glossary terms, one a line")] = None,
    encode: Annotated[bool, Query(description="false: the body is raw 16 kHz s16le")] = True,
    word_timestamps: bool = False,
    output: AsrOutput = "txt",
) -> Response:
    """Transcribe ``audio_file``; the answer is the transcript in ``output`` format, or
    202 with the job's URL past EFIR_SYNC_WAIT_S."""
    staged, filename, _ = await receive_media(request, settings, storage, file_field=_FILE_FIELD)
    try:
        _check(task, language, settings.language)
        if not encode:
            staged = await run_in_threadpool(_as_wav, staged, storage, settings.max_upload_bytes)
    except Exception:
        staged.discard()
        raise
    finished = await ingest_and_wait(
        request,
        staged=staged,
        filename=filename,
        fields={"glossary": initial_prompt or ""},
        settings=settings,
        storage=storage,
        queue=queue,
        uploader=uploader,
        wait_for_shots=is_cue_format(output),
    )
    if finished.transcript is None:
        return accepted(finished)
    return Response(
        render_asr(
            finished.transcript,
            output,
            word_timestamps=word_timestamps,
            shot_changes=finished.shot_changes,
        ),
        media_type="text/plain; charset=utf-8",
        headers={
            "Asr-Engine": "efir",
            "Content-Disposition": f'attachment; filename="{quote(filename)}.{output}"',
            **finished.headers,
        },
    )


def _check(task: str, language: str | None, served: str | None) -> None:
    if task != "transcribe":
        raise InvalidUploadError(
            "efir не переводит: task может быть только transcribe. "
            "efir does not translate: task must be transcribe."
        )
    if language and served and language.lower() != served:
        raise InvalidUploadError(
            f"efir распознаёт только язык {served!r}, запрошен {language!r}. "
            f"efir transcribes {served!r} only; {language!r} was asked for."
        )


def _as_wav(raw: StagedMedia, storage: MediaStorage, max_bytes: int) -> StagedMedia:
    """The raw PCM body behind a WAV header, staged anew (the header changes the hash)."""
    header = io.BytesIO()
    with wave.open(header, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(_RAW_PCM_RATE)
        writer.setnframes(raw.size_bytes // 2)
        writer.writeframesraw(b"")  # writes the header for the frame count set above
    remaining = raw.size_bytes // 2 * 2  # a stray odd byte is no sample
    with raw:
        wav = storage.stage(max_bytes=max_bytes + len(header.getvalue()))
        try:
            wav.write(header.getvalue())
            for chunk in file_chunks(raw.path):
                wav.write(chunk[:remaining])
                remaining -= min(len(chunk), remaining)
            wav.close()
        except BaseException:
            wav.discard()
            raise
    return wav


def render_asr(
    transcript: Transcript,
    output: str,
    *,
    word_timestamps: bool,
    shot_changes: Sequence[float] = (),
) -> bytes:
    """The transcript as whisper-asr-webservice writes ``output``."""
    texts = [segment.text.strip() for segment in transcript.segments]
    if output == "txt":
        return "".join(f"{text}\n" for text in texts).encode()
    if output == "tsv":
        rows = ["start\tend\ttext"] + [
            f"{round(1000 * segment.start)}\t{round(1000 * segment.end)}\t"
            f"{text.replace(chr(9), ' ')}"
            for segment, text in zip(transcript.segments, texts, strict=True)
        ]
        return "".join(f"{row}\n" for row in rows).encode()
    if output == "json":
        body = {
            "language": transcript.language,
            "segments": [
                whisper_segment(segment, words=word_timestamps) for segment in transcript.segments
            ],
            "text": transcript.text,
        }
        return json.dumps(body, ensure_ascii=False).encode()
    return render(transcript, output, shot_changes=shot_changes)
