"""Caption OCR on the seed MP4: real frames, real Tesseract (Debian tesseract-ocr-rus)."""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from dataclasses import replace
from itertools import pairwise
from pathlib import Path

import pytest
from PIL import Image
from support.der import read_wav_16k, truth_speaker_transcript, truth_transcript

from efir.exports import render
from efir.transcripts.model import ROLE_LABELS_RU, Segment, Speaker, SpeakerRole, Transcript
from worker.stages.captions import (
    CaptionOptions,
    _keyframe_times,
    _scan_times,
    read_caption_text,
    read_captions,
)
from worker.stages.diarize import diarize
from worker.stages.roles import assign_roles

SEED = Path(__file__).resolve().parent.parent / "fixtures" / "seed"
TRUTH = json.loads((SEED / "seed.truth.json").read_text(encoding="utf-8"))


def _norm(text: str | None) -> str:
    """Case, ё/е and spacing are not OCR errors worth failing on; letters are."""
    return re.sub(r"\s+", " ", (text or "").upper().replace("Ё", "Е")).strip()


def _truth_captions() -> dict[str, tuple[str, str]]:
    return {
        t["speaker"]: (t["caption_name"], t["caption_title"])
        for t in TRUTH["turns"]
        if t["caption"]
    }


def _truth_speaker_at(time_s: float) -> str | None:
    return next((t["speaker"] for t in TRUTH["turns"] if t["start"] <= time_s <= t["end"]), None)


def test_every_interviewee_caption_on_the_right_speaker() -> None:
    result = read_captions(truth_speaker_transcript(SEED / "seed.truth.json"), SEED / "seed.mp4")
    expected = _truth_captions()
    assert len(expected) == 3
    for speaker in result.speakers:
        if speaker.id in expected:
            name, title = expected[speaker.id]
            assert _norm(speaker.name) == _norm(name)
            assert _norm(speaker.title) == _norm(title)
            assert speaker.role is SpeakerRole.INTERVIEWEE
            assert speaker.caption == f"{speaker.name}, {speaker.title}"
        else:  # anchor and correspondent: no lower-third, no name
            assert speaker.name is None and speaker.title is None and speaker.role is None


@pytest.fixture(scope="module")
def seed_chain() -> Transcript:
    """The speakers stages end to end on the seed: diarize, read captions, assign roles."""
    diarized = diarize(truth_transcript(SEED / "seed.truth.json"), read_wav_16k(SEED / "seed.wav"))
    return assign_roles(read_captions(diarized.transcript, SEED / "seed.mp4"))


def test_captions_follow_diarized_speakers(seed_chain: Transcript) -> None:
    """Each caption lands on the diarized speaker whose words are that interviewee's."""
    expected = _truth_captions()
    named = 0
    for speaker in seed_chain.speakers:
        words = [w for s in seed_chain.segments if s.speaker == speaker.id for w in s.words]
        truth_speaker = Counter(_truth_speaker_at((w.start + w.end) / 2) for w in words)
        owner = truth_speaker.most_common(1)[0][0]
        if owner in expected:
            assert (_norm(speaker.name), _norm(speaker.title)) == tuple(map(_norm, expected[owner]))
            named += 1
        else:
            assert speaker.name is None
    assert named == 3


def test_broadcast_transcript_reads_like_the_seed_document(seed_chain: Transcript) -> None:
    """Same turn order, same captions: the txt export's headings against the truth's."""
    expected = [
        _norm(t["caption"] or ROLE_LABELS_RU[SpeakerRole(t["role"])]) for t in TRUTH["turns"]
    ]
    text = render(seed_chain, "txt").decode("utf-8")
    headings = [_norm(line[:-1]) for line in text.splitlines() if line.endswith(":")]
    assert headings == expected


def test_audio_only_media_is_left_alone() -> None:
    transcript = truth_speaker_transcript(SEED / "seed.truth.json")
    assert read_captions(transcript, SEED / "seed.wav") == transcript


def test_transcript_without_speakers_is_left_alone() -> None:
    transcript = truth_transcript(SEED / "seed.truth.json")
    assert read_captions(transcript, SEED / "seed.mp4") == transcript


def test_frame_without_lower_third_reads_nothing() -> None:
    blank = Image.new("RGB", (1280, 720), (20, 40, 80))
    assert read_caption_text(blank).lines == ()


def test_missing_language_data_is_an_ocr_error(tmp_path: Path) -> None:
    from efir.errors import OcrError

    options = CaptionOptions(language="xx_missing", tessdata_dir=tmp_path)
    with pytest.raises(OcrError):
        read_caption_text(Image.new("RGB", (64, 64)), options=options)


def test_roles_on_the_seed_read_like_the_newsroom_transcript() -> None:
    captioned = read_captions(truth_speaker_transcript(SEED / "seed.truth.json"), SEED / "seed.mp4")
    roles = {s.id: s.role for s in assign_roles(captioned).speakers}
    assert roles == {t["speaker"]: SpeakerRole(t["role"]) for t in TRUTH["turns"]}


def test_roles_keep_what_is_known_and_fall_back_to_other() -> None:
    def segment(i: int, start: float, end: float, speaker: str) -> Segment:
        return Segment(id=i, start=start, end=end, text="…", speaker=speaker)

    transcript = Transcript(
        duration=60.0,
        language="ru",
        model="test",
        segments=(
            segment(0, 0, 10, "S1"),
            segment(1, 10, 15, "S2"),
            segment(2, 15, 40, "S3"),
            segment(3, 40, 50, "S4"),
        ),
        speakers=(
            Speaker("S1", role=SpeakerRole.CORRESPONDENT),  # known from the registry
            Speaker("S2"),
            Speaker("S3"),
            Speaker("S4", name="Ерлан СПАНОВ"),
        ),
    )
    roles = [s.role for s in assign_roles(transcript).speakers]
    # The opener is the known correspondent: no anchor, no second correspondent.
    assert roles == [
        SpeakerRole.CORRESPONDENT,
        SpeakerRole.OTHER,
        SpeakerRole.OTHER,
        SpeakerRole.INTERVIEWEE,
    ]
    unknown_opener = replace(transcript, speakers=(Speaker("S1"), *transcript.speakers[1:]))
    roles = [s.role for s in assign_roles(unknown_opener).speakers]
    assert roles == [
        SpeakerRole.ANCHOR,
        SpeakerRole.OTHER,
        SpeakerRole.CORRESPONDENT,
        SpeakerRole.INTERVIEWEE,
    ]


def test_picture_shorter_than_the_sound(tmp_path: Path) -> None:
    """Frames are only sought where there is picture; later speakers just go unnamed."""
    clip = tmp_path / "short_picture.mp4"
    subprocess.run(
        [
            "ffmpeg", "-v", "error", "-t", "52", "-i", str(SEED / "seed.mp4"),
            "-i", str(SEED / "seed.mp4"), "-map", "0:v", "-map", "1:a", "-c", "copy", str(clip),
        ],
        check=True,
    )  # fmt: skip
    result = read_captions(truth_speaker_transcript(SEED / "seed.truth.json"), clip)
    names = {s.id: s.name for s in result.speakers}
    assert _norm(names["vanwaudenberg"]) == _norm(_truth_captions()["vanwaudenberg"][0])
    assert names["kakenov"] is None and names["spanov"] is None


@pytest.mark.parametrize("clip", ["seed/seed", "captions/test/test2"])
def test_the_caption_scan_never_leaves_a_step_unseen_and_decodes_keyframes_where_it_can(
    clip: str,
) -> None:
    """Samples at most a step apart over the speech (a 2 s caption cannot slip between
    two), and with the fixtures' 4 s keyframe spacing at least 40 % of them keyframes,
    which decode as a single frame."""
    stem = Path(__file__).resolve().parent.parent / "fixtures" / clip
    transcript = truth_transcript(stem.with_suffix(".truth.json"))
    speech = [(s.start, s.end) for s in transcript.segments]
    keyframes, _ = _keyframe_times(stem.with_suffix(".mp4"))
    options = CaptionOptions()
    times = _scan_times(speech, keyframes, options)
    for start, end in speech:
        inside = [t for t in times if start - options.scan_step_s < t < end + options.scan_step_s]
        edges = [start - options.scan_step_s / 4, *inside, end]
        assert max(b - a for a, b in pairwise(edges)) <= options.scan_step_s
    free = sum(any(abs(t - k) < 1e-3 for k in keyframes) for t in times)
    assert free >= 0.4 * len(times)
