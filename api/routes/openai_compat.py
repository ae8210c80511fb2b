"""OpenAI's audio transcription API, so its SDKs, n8n/Make flows and subtitle tools work
against efir unchanged: ``POST /v1/audio/transcriptions`` and ``GET /v1/models``.

The SDK's ``api_key`` is an efir API token (``Authorization: Bearer``). The upload becomes
a clip and a job like any other (api/awaited.py) and the answer comes when the job ends;
errors on ``/v1/`` answer in OpenAI's ``{"error": {...}}`` shape (api/main.py). Subtitles
are efir's own export (efir.exports), so they carry the broadcast cue rules.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.auth import Principal, require
from api.awaited import accepted, ingest_and_wait
from api.deps import JobQueueDep, SettingsDep, StorageDep
from api.multipart import InvalidUploadError, receive_media
from api.openapi import multipart_body
from api.whisper_shapes import whisper_segment
from efir.accounts.users import Permission
from efir.config import Settings
from efir.exports import is_cue_format, render
from efir.transcripts.model import Transcript

__all__ = ["MODELS", "openai_error", "router"]

router = APIRouter(prefix="/v1", tags=["openai"])

# Names a client may ask for; every one is efir's pipeline (the model in EFIR_MODEL_DIR).
# whisper-1 is what OpenAI clients send by default.
MODELS = ("whisper-1", "efir")
RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
GRANULARITIES = ("segment", "word")
_TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"
# OpenAI names the language in verbose_json; efir transcribes one language.
_LANGUAGE_NAMES = {"ru": "russian"}
_UPLOAD_BODY = multipart_body(
    {
        "file": {"type": "string", "format": "binary"},
        "model": {"type": "string", "enum": list(MODELS)},
        "language": {"type": "string"},
        "prompt": {"type": "string", "description": "glossary terms"},
        "response_format": {"type": "string", "enum": list(RESPONSE_FORMATS)},
        "timestamp_granularities[]": {
            "type": "array",
            "items": {"type": "string", "enum": list(GRANULARITIES)},
        },
        "temperature": {"type": "number", "description": "ignored"},
    },
    required=["file", "model"],
)


class OpenAIRequestError(InvalidUploadError):
    """A form field OpenAI's API would refuse; ``param`` names it in the error body."""

    def __init__(self, message: str, *, param: str, code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        self.openai_code = code


def openai_error(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """OpenAI's error body; its SDKs read ``error.message`` into the exception they raise."""
    kind = "server_error" if status >= 500 else "invalid_request_error"
    default_code = {401: "invalid_api_key", 429: "rate_limit_exceeded"}.get(status)
    return {
        "error": {"message": message, "type": kind, "param": param, "code": code or default_code}
    }


@router.get("/models", dependencies=[require(Permission.READ)])
def list_models() -> dict[str, Any]:
    """The model names ``/v1/audio/transcriptions`` accepts, in OpenAI's list shape."""
    return {
        "object": "list",
        "data": [
            {"id": name, "object": "model", "created": 0, "owned_by": "efir"} for name in MODELS
        ],
    }


@router.post("/audio/transcriptions", openapi_extra=_UPLOAD_BODY)
async def create_transcription(
    request: Request,
    settings: SettingsDep,
    storage: StorageDep,
    queue: JobQueueDep,
    uploader: Annotated[Principal, require(Permission.UPLOAD, new_upload=True)],
) -> Response:
    """OpenAI's ``audio.transcriptions.create``: multipart ``file``, ``model``, ``language``,
    ``prompt`` (glossary terms), ``response_format``, ``timestamp_granularities[]``;
    ``temperature`` is ignored. 202 with the job in ``Location`` past EFIR_SYNC_WAIT_S."""
    staged, filename, form = await receive_media(request, settings, storage)
    try:
        response_format, granularities = _checked(form.values, settings)
    except OpenAIRequestError:
        staged.discard()
        raise
    finished = await ingest_and_wait(
        request,
        staged=staged,
        filename=filename,
        fields={"glossary": _prompt_terms(form.fields.get("prompt", ""))},
        settings=settings,
        storage=storage,
        queue=queue,
        uploader=uploader,
        wait_for_shots=is_cue_format(response_format),
    )
    if finished.transcript is None:
        return accepted(finished, object="transcription.job")
    transcript, headers = finished.transcript, finished.headers
    if response_format == "json":
        return JSONResponse({"text": transcript.text}, headers=headers)
    if response_format == "verbose_json":
        return JSONResponse(verbose_json(transcript, granularities), headers=headers)
    if response_format == "text":
        body = (transcript.text + "\n").encode()
    else:
        body = render(
            transcript,
            response_format,
            title=finished.clip.title,
            shot_changes=finished.shot_changes,
        )
    return Response(body, media_type=_TEXT_MEDIA_TYPE, headers=headers)


def _checked(values: dict[str, list[str]], settings: Settings) -> tuple[str, set[str]]:
    """The response format and granularities, after the checks OpenAI makes."""

    def one(name: str, default: str) -> str:
        return (values.get(name) or [default])[-1].strip() or default

    model = one("model", "")
    if model not in MODELS:
        raise OpenAIRequestError(
            f"Модель {model!r} не обслуживается; доступны: {', '.join(MODELS)}. "
            f"The model {model!r} does not exist here; available: {', '.join(MODELS)}.",
            param="model",
            code="model_not_found",
        )
    language = one("language", settings.language or "").lower()
    if settings.language and language != settings.language:
        raise OpenAIRequestError(
            f"efir распознаёт только язык {settings.language!r}, запрошен {language!r}. "
            f"efir transcribes {settings.language!r} only; {language!r} was asked for.",
            param="language",
            code="unsupported_language",
        )
    response_format = one("response_format", "json")
    if response_format not in RESPONSE_FORMATS:
        raise OpenAIRequestError(
            f"response_format должен быть одним из: {', '.join(RESPONSE_FORMATS)}. "
            f"response_format must be one of: {', '.join(RESPONSE_FORMATS)}.",
            param="response_format",
        )
    # Plain and bracketed names both occur in the wild; OpenAI's SDKs send the brackets.
    granularities = set(
        values.get("timestamp_granularities[]", []) + values.get("timestamp_granularities", [])
    )
    if not granularities <= set(GRANULARITIES):
        raise OpenAIRequestError(
            "timestamp_granularities[] может быть segment или word. "
            "timestamp_granularities[] must be segment or word.",
            param="timestamp_granularities",
        )
    return response_format, granularities or {"segment"}


def _prompt_terms(prompt: str) -> str:
    """OpenAI's prompt as glossary lines: a prompt is usually "Name, Place, Other."."""
    return "\n".join(term.strip(" .") for term in re.split(r"[,;\n]", prompt))


def verbose_json(transcript: Transcript, granularities: set[str]) -> dict[str, Any]:
    """OpenAI's verbose_json: ``segments`` and/or ``words`` as the granularities ask, each
    segment with efir's ``speaker`` id (the ``speakers`` list names them)."""
    body: dict[str, Any] = {
        "task": "transcribe",
        "language": _LANGUAGE_NAMES.get(transcript.language, transcript.language),
        "duration": transcript.duration,
        "text": transcript.text,
        "speakers": [speaker.to_dict() for speaker in transcript.speakers],
    }
    if "segment" in granularities:
        body["segments"] = [whisper_segment(segment) for segment in transcript.segments]
    if "word" in granularities:
        body["words"] = [
            {"word": word.word.strip(), "start": word.start, "end": word.end}
            for segment in transcript.segments
            for word in segment.words
        ]
    return body
