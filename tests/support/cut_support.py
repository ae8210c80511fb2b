"""Clips for the cut tests: real media in the settings' storage, with a stored transcript
(the seed's recorded ASR output, speakers named from its truth) and no model run."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from PIL import Image, ImageChops
from rapidfuzz import fuzz

from efir.config import Settings
from efir.db import Clip
from efir.jobs.lifecycle import claim_job, create_job, finish_job
from efir.media.clips import record_clip
from efir.media.probe import probe_media
from efir.media.storage import make_storage
from efir.media.storage.base import file_chunks, store_chunks
from efir.transcripts.model import Speaker, SpeakerRole, Transcript
from efir.transcripts.revisions import save_job_output
from support.service_support import SEED_DIR, session_factory

__all__ = [
    "drawn_box",
    "ffprobe_streams",
    "ocr_text",
    "seed_transcript",
    "share_read",
    "store_clip",
    "text_words",
    "video_frame",
]

SEED_TRUTH: dict[str, Any] = json.loads((SEED_DIR / "seed.truth.json").read_text("utf-8"))


def seed_transcript() -> Transcript:
    """seed.asr.json, each segment given the truth turn it overlaps most, interviewees
    named by their captions."""
    from dataclasses import replace

    recorded = Transcript.from_json((SEED_DIR / "seed.asr.json").read_text("utf-8"))
    turns = SEED_TRUTH["turns"]
    segments = []
    for segment in recorded.segments:
        turn = max(turns, key=lambda t: min(segment.end, t["end"]) - max(segment.start, t["start"]))
        segments.append(replace(segment, speaker=turn["speaker"]))
    speakers = tuple(
        Speaker(
            id=key,
            name=next((t["caption_name"] for t in turns if t["speaker"] == key), None),
            title=next((t["caption_title"] for t in turns if t["speaker"] == key), None),
            role=SpeakerRole(info["role"]),
        )
        for key, info in SEED_TRUTH["speakers"].items()
    )
    return replace(recorded, segments=tuple(segments), speakers=speakers)


def store_clip(
    settings: Settings, media: Path, transcript: Transcript, *, title: str | None = None
) -> str:
    """A clip of ``media`` in the settings' storage and database, its job done with
    ``transcript``; returns the clip id."""
    storage = make_storage(settings)
    stored = store_chunks(storage, file_chunks(media), max_bytes=1 << 34)
    sessions = session_factory(settings.sqlalchemy_url)
    with sessions() as session:
        clip: Clip = record_clip(
            session,
            stored=stored,
            summary=probe_media(media),
            filename=media.name,
            title=title,
        )
        job = create_job(session, clip_id=clip.id)
        claim_job(session, job.id)
        save_job_output(session, clip_id=clip.id, job_id=job.id, transcript=transcript)
        finish_job(session, job.id)
        clip_id: str = clip.id
    sessions.kw["bind"].dispose()
    return clip_id


def ffprobe_streams(path: Path) -> dict[str, dict[str, Any]]:
    """ffprobe's view of a file's first video and audio streams, by codec type."""
    completed = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
        check=True,
        capture_output=True,
    )
    streams: dict[str, dict[str, Any]] = {}
    for stream in json.loads(completed.stdout)["streams"]:
        streams.setdefault(stream["codec_type"], stream)
    return streams


TESSDATA = "/usr/share/tesseract-ocr/5/tessdata"


def video_frame(path: Path, at_s: float, out: Path) -> Image.Image:
    """The frame of ``path`` at ``at_s`` seconds, decoded by ffmpeg into ``out``."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-ss", f"{at_s:.3f}", "-i", str(path),
         "-frames:v", "1", str(out)],
        check=True,
    )  # fmt: skip
    return Image.open(out).convert("RGB")


def drawn_box(drawn: Image.Image, plain: Image.Image) -> tuple[int, int, int, int] | None:
    """Where ``drawn`` differs from the same frame without the overlay."""
    mask = ImageChops.difference(drawn, plain).convert("L").point(lambda v: 255 if v > 40 else 0)
    return mask.getbbox()


def ocr_text(image: Image.Image) -> str:
    """Tesseract's Russian reading of ``image``, enlarged twice for small subtitle text."""
    import tesserocr

    if not Path(TESSDATA, "rus.traineddata").exists():
        raise AssertionError(f"tesseract-ocr-rus is needed: no {TESSDATA}/rus.traineddata")
    with tesserocr.PyTessBaseAPI(path=TESSDATA, lang="rus") as api:
        api.SetImage(image.resize((image.width * 2, image.height * 2)))
        text: str = api.GetUTF8Text()
    return text


def text_words(text: str) -> list[str]:
    return [w for w in re.sub(r"[^\w\s]", " ", text.lower().replace("ё", "е")).split() if w]


def share_read(expected: list[str], read: list[str]) -> float:
    """The share of expected words that the OCR read (allowing a slip of a letter or two)."""
    found = sum(1 for word in expected if any(fuzz.ratio(word, r) >= 75 for r in read))
    return found / len(expected)
