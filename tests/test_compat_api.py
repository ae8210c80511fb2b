"""The OpenAI and whisper-asr-webservice dialects, spoken by their real clients: the
official ``openai`` package, and a Bazarr-style multipart ``/asr`` post. A real API
(production mode, efir tokens) and a real worker on loopback; one 12-second cut of the
seed, transcribed once per request, and every answer compared with efir's own transcript
and export of the clip the request made."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pysubs2
import pytest
import redis
from support.auth_support import add_user, bearer, production
from support.service_support import (
    SESSION_TOKEN,
    cut_seed_audio,
    running_api,
    running_worker,
    session_factory,
)

from api.routes.asr_compat import render_asr
from efir.accounts.users import AccountRole
from efir.config import Settings
from efir.media.analyses import load_shot_changes
from efir.transcripts.model import Transcript
from efir.transcripts.revisions import latest_revision

pytestmark = pytest.mark.slow

JOB_TIMEOUT_S = 900.0
SHOTS_CLIP = Path(__file__).resolve().parents[1] / "fixtures" / "shots" / "shots.mp4"


@dataclass(frozen=True)
class Service:
    base_url: str
    settings: Settings
    uploader_token: str
    archivist_token: str
    cut: Path

    def client(self, token: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(
            api_key=token or self.uploader_token,
            base_url=f"{self.base_url}/v1",
            timeout=JOB_TIMEOUT_S,
            max_retries=0,
        )

    def transcript(self, clip_id: str) -> Transcript:
        sessions = session_factory(self.settings.sqlalchemy_url)
        with sessions() as session:
            return Transcript.from_dict(latest_revision(session, clip_id).data)

    def shot_changes(self, clip_id: str) -> list[float] | None:
        with session_factory(self.settings.sqlalchemy_url)() as session:
            return load_shot_changes(session, clip_id)

    def efir_export(self, clip_id: str, fmt: str) -> str:
        response = httpx.get(
            f"{self.base_url}/api/v1/transcripts/{clip_id}/export",
            params={"format": fmt},
            headers=bearer(self.archivist_token),
        )
        assert response.status_code == 200, response.text
        return response.text


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Service]:
    data_dir = tmp_path_factory.mktemp("compat")
    queue_name = f"efir-test-{SESSION_TOKEN}-compat"
    settings = production(
        Settings(
            data_dir=data_dir / "data",
            database_url=f"sqlite:///{data_dir / 'efir.sqlite3'}",
            redis_url=redis_url,
            queue_name=queue_name,
            cpu_threads=1,
        )
    )
    add_user(settings, "admin", AccountRole.ADMIN)
    uploader = add_user(settings, "bazarr", AccountRole.UPLOADER)[1]
    archivist = add_user(settings, "archive", AccountRole.ARCHIVIST)[1]
    cut = cut_seed_audio(data_dir / "anchor.wav", start_s=0.0, duration_s=12.0)
    with (
        running_worker(settings, data_dir / "worker.log"),
        running_api(settings) as base_url,
    ):
        yield Service(base_url, settings, uploader, archivist, cut)
    redis.Redis.from_url(redis_url).delete(queue_name, f"{queue_name}.urgent")


@pytest.fixture(scope="module")
def verbose(service: Service) -> tuple[dict[str, Any], str]:
    """One verbose_json transcription through the SDK: its body and the clip it made."""
    with service.cut.open("rb") as audio:
        raw = service.client().audio.transcriptions.with_raw_response.create(
            model="whisper-1",
            file=audio,
            response_format="verbose_json",
            timestamp_granularities=["word", "segment"],
        )
    parsed = raw.parse()
    return parsed.model_dump(), raw.headers["X-Efir-Clip-Id"]


def test_verbose_json_matches_efirs_transcript(
    service: Service, verbose: tuple[dict[str, Any], str]
) -> None:
    body, clip_id = verbose
    transcript = service.transcript(clip_id)
    assert transcript.segments, "the anchor speaks in the cut"
    assert body["text"] == transcript.text
    assert body["language"] == "russian"
    assert body["duration"] == pytest.approx(12.0, abs=0.1)
    assert [(s["start"], s["end"], s["text"], s["speaker"]) for s in body["segments"]] == [
        (s.start, s.end, s.text, s.speaker) for s in transcript.segments
    ]
    words = [w for s in transcript.segments for w in s.words]
    assert len(words) >= 10
    assert [(w["start"], w["end"], w["word"]) for w in body["words"]] == [
        (w.start, w.end, w.word.strip()) for w in words
    ]


def test_srt_is_efirs_own_srt_export(service: Service) -> None:
    with service.cut.open("rb") as audio:
        raw = service.client().audio.transcriptions.with_raw_response.create(
            model="whisper-1", file=audio, response_format="srt"
        )
    srt = raw.parse()
    assert isinstance(srt, str)
    cues = pysubs2.SSAFile.from_string(srt)
    assert len(cues) >= 1
    expected = pysubs2.SSAFile.from_string(
        service.efir_export(raw.headers["X-Efir-Clip-Id"], "srt")
    )
    assert [(c.start, c.end, c.text) for c in cues] == [(c.start, c.end, c.text) for c in expected]


def test_a_videos_srt_waits_for_its_shot_changes(service: Service) -> None:
    # They are measured after the job is done; the answer's cues are timed to them.
    with SHOTS_CLIP.open("rb") as video:
        raw = service.client().audio.transcriptions.with_raw_response.create(
            model="whisper-1", file=video, response_format="srt"
        )
    clip_id = raw.headers["X-Efir-Clip-Id"]
    assert service.shot_changes(clip_id)
    assert raw.parse() == service.efir_export(clip_id, "srt")


def test_bad_token_raises_the_sdks_authentication_error(service: Service) -> None:
    with service.cut.open("rb") as audio, pytest.raises(openai.AuthenticationError) as raised:
        service.client("not-an-efir-token").audio.transcriptions.create(
            model="whisper-1", file=audio
        )
    assert raised.value.status_code == 401
    assert "invalid or revoked" in raised.value.message


def test_unknown_model_is_a_400_in_openais_shape(service: Service) -> None:
    with service.cut.open("rb") as audio, pytest.raises(openai.BadRequestError) as raised:
        service.client().audio.transcriptions.create(model="gpt-4o-transcribe", file=audio)
    error = raised.value.body
    assert isinstance(error, dict)
    assert (error["param"], error["code"]) == ("model", "model_not_found")
    assert "whisper-1" in error["message"] and "не обслуживается" in error["message"]


def test_models_lists_what_is_served(service: Service) -> None:
    names = [model.id for model in service.client().models.list()]
    assert names == ["whisper-1", "efir"]


def test_past_the_wait_the_answer_is_202_with_the_job(service: Service) -> None:
    """An API whose queue no worker consumes, and no wait: the job is only queued."""
    idle = service.settings.model_copy(
        update={
            "queue_name": f"efir-test-{SESSION_TOKEN}-idle-{uuid.uuid4().hex[:6]}",
            "sync_wait_s": 0.0,
        }
    )
    with running_api(idle) as base_url, service.cut.open("rb") as audio:
        response = httpx.post(
            f"{base_url}/v1/audio/transcriptions",
            files={"file": ("anchor.wav", audio)},
            data={"model": "whisper-1"},
            headers=bearer(service.uploader_token),
        )
        assert response.status_code == 202, response.text
        job_url = response.headers["Location"]
        assert job_url == f"/api/v1/jobs/{response.json()['id']}"
        job = httpx.get(f"{base_url}{job_url}", headers=bearer(service.archivist_token)).json()
        assert job["state"] == "queued"
    redis.Redis.from_url(idle.redis_url or "").delete(idle.queue_name)


def test_asr_answers_bazarr_with_srt(service: Service, verbose: tuple[dict[str, Any], str]) -> None:
    """Bazarr's whisperai provider decodes with its own ffmpeg to raw 16 kHz s16le and
    posts it as ``audio_file`` with ``encode=false``."""
    pcm = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(service.cut), "-f", "s16le", "-acodec",
         "pcm_s16le", "-ac", "1", "-ar", "16000", "-"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    response = httpx.post(
        f"{service.base_url}/asr",
        params={"task": "transcribe", "language": "ru", "output": "srt", "encode": "false"},
        files={"audio_file": ("audio_file", pcm, "application/octet-stream")},
        headers=bearer(service.uploader_token),
        timeout=JOB_TIMEOUT_S,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="audio_file.srt"'
    cues = [(c.start, c.end, c.text) for c in pysubs2.SSAFile.from_string(response.text)]
    assert cues
    own = pysubs2.SSAFile.from_string(
        service.efir_export(response.headers["X-Efir-Clip-Id"], "srt")
    )
    assert cues == [(c.start, c.end, c.text) for c in own]
    # The same samples as the WAV the SDK sent: the raw PCM was read as what it is.
    from_wav = pysubs2.SSAFile.from_string(service.efir_export(verbose[1], "srt"))
    assert cues == [(c.start, c.end, c.text) for c in from_wav]


def test_asr_outputs_follow_whisper_asr_webservice(
    service: Service, verbose: tuple[dict[str, Any], str]
) -> None:
    """txt, tsv and json as that project writes them, from the transcript the worker made
    (no further model run): a line per segment; tsv times in integer milliseconds;
    json with Whisper's segment fields and, asked for, the words."""
    transcript = service.transcript(verbose[1])
    segments = transcript.segments
    txt = render_asr(transcript, "txt", word_timestamps=False).decode()
    assert txt.splitlines() == [s.text.strip() for s in segments]
    rows = [row.split("\t") for row in render_asr(transcript, "tsv", word_timestamps=False)
            .decode().splitlines()]  # fmt: skip
    assert rows[0] == ["start", "end", "text"]
    assert rows[1:] == [
        [str(round(s.start * 1000)), str(round(s.end * 1000)), s.text.strip()] for s in segments
    ]
    body = json.loads(render_asr(transcript, "json", word_timestamps=True))
    assert body["text"] == transcript.text and body["language"] == "ru"
    assert [(s["start"], s["end"], s["text"], s["speaker"]) for s in body["segments"]] == [
        (s.start, s.end, s.text, s.speaker) for s in segments
    ]
    assert [w["word"] for s in body["segments"] for w in s["words"]] == [
        w.word for s in segments for w in s.words
    ]
    assert (
        "words"
        not in json.loads(render_asr(transcript, "json", word_timestamps=False))["segments"][0]
    )
