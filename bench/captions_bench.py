"""Caption-evidence benchmark: who speaks, judged by what the picture and the truth say.

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/captions_bench.py            # truth words
    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/captions_bench.py --asr-cache /tmp/asr

Runs the speaker half of the pipeline (`embed_speech` + `name_speakers`: diarize,
read captions, registry, roles) on each clip, no speaker count given. Words come from
the kit's truth, or with `--asr-cache` from faster-whisper-base (transcribed once per
clip and kept as JSON in that folder, so the code under test can change and the
ASR input stays the same). Point PYTHONPATH at another checkout to measure that code
with the same bench ("before").

Per clip: DER (0.25 s collar); captioned turns named right (the truth turn's words are
mostly under a speaker named as its caption); uncaptioned turns (their speaker has no
caption anywhere) under a captioned name; every turn under someone else's name
(misattributions) and how many of them the transcript flags `check`; the share of
segments flagged.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from der import (  # noqa: E402
    diarization_error_rate,
    read_rttm,
    read_wav_16k,
    transcript_turns,
    truth_transcript,
)
from rapidfuzz import fuzz  # noqa: E402

from efir.transcript import Transcript  # noqa: E402
from worker.pipeline import PipelineOptions, name_speakers  # noqa: E402
from worker.stages.diarize import embed_speech  # noqa: E402

CLIPS = {
    "seed": ROOT / "fixtures/seed/seed",
    "second": ROOT / "fixtures/second/second",
    "dev1": ROOT / "fixtures/captions/dev/dev1",
    "dev2": ROOT / "fixtures/captions/dev/dev2",
    "test1": ROOT / "fixtures/captions/test/test1",
    "test1_noisy": ROOT / "fixtures/captions/test/test1_noisy",
}


@dataclass
class Score:
    der: float
    captioned: int
    captioned_right: int
    uncaptioned: int
    uncaptioned_named: int
    turns: int
    wrong_name: int
    wrong_flagged: int
    segments: int
    flagged: int


def same_name(a: str | None, b: str | None) -> bool:
    def key(text: str | None) -> str:
        return "".join(ch for ch in (text or "").upper().replace("Ё", "Е") if ch.isalpha())

    return bool(a and b) and fuzz.ratio(key(a), key(b)) >= 85


def score(stem: Path, transcript: Transcript) -> Score:
    truth = json.loads(stem.with_suffix(".truth.json").read_text(encoding="utf-8"))
    has_video = stem.with_suffix(".mp4").is_file()
    own_name = {t["speaker"]: t["caption_name"] for t in truth["turns"] if t.get("caption_name")}
    words = [
        (w.start, w.end, segment) for segment in transcript.segments for w in (segment.words or ())
    ]
    timed = any("caption_start" in t for t in truth["turns"])
    flagged_segments = sum(1 for s in transcript.segments if getattr(s, "check", False))
    result = Score(
        der=diarization_error_rate(
            read_rttm(stem.with_suffix(".rttm")), transcript_turns(transcript)
        ),
        captioned=0,
        captioned_right=0,
        uncaptioned=0,
        uncaptioned_named=0,
        turns=0,
        wrong_name=0,
        wrong_flagged=0,
        segments=len(transcript.segments),
        flagged=flagged_segments,
    )
    for turn in truth["turns"]:
        names: Counter[str] = Counter()
        flags: Counter[bool] = Counter()
        for start, end, segment in words:
            overlap = min(end, turn["end"]) - max(start, turn["start"])
            if overlap <= 0:
                continue
            speaker = transcript.speaker(segment.speaker)
            names[(speaker.name if speaker else None) or ""] += overlap
            flags[bool(getattr(segment, "check", False))] += overlap
        if not names:
            continue
        name = names.most_common(1)[0][0] or None
        result.turns += 1
        # Older renders (the seed) show every caption for its whole turn and record no span.
        shown = bool(turn.get("caption_name")) and (not timed or "caption_start" in turn)
        if shown and has_video:
            result.captioned += 1
            result.captioned_right += same_name(name, turn["caption_name"])
        if turn["speaker"] not in own_name:
            result.uncaptioned += 1
            result.uncaptioned_named += name is not None
        if name is not None and not same_name(name, own_name.get(turn["speaker"])):
            result.wrong_name += 1
            result.wrong_flagged += flags.most_common(1)[0][0]
    return result


def asr_transcript(stem: Path, cache: Path) -> Transcript:
    cached = cache / f"{stem.name}.asr.json"
    if not cached.is_file():
        sys.path.insert(0, str(ROOT / "bench"))
        from speakers_bench import whisper_transcript

        audio_s = len(read_wav_16k(stem.with_suffix(".wav"))) / 16_000
        _, transcript = whisper_transcript(stem.with_suffix(".wav"), audio_s)
        cache.mkdir(parents=True, exist_ok=True)
        cached.write_text(transcript.to_json(), encoding="utf-8")
    return Transcript.from_json(cached.read_text(encoding="utf-8"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", default=",".join(CLIPS))
    parser.add_argument("--asr-cache", type=Path, help="use Whisper words, cached here")
    args = parser.parse_args()
    options = PipelineOptions(model_dir=Path("unused"))
    print(f"code: {Path(sys.modules['worker.pipeline'].__file__ or '').parent.parent}")
    print(f"words: {'faster-whisper-base' if args.asr_cache else 'kit truth'}")
    print(
        "clip          DER   captioned-right  uncaptioned-named  wrong-name(flagged)  "
        "flagged-segments"
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
        captioned = f"{s.captioned_right}/{s.captioned}" if has_video else "n/a (audio)"
        print(
            f"{name:12s} {s.der:5.3f}   {captioned:15s}  {s.uncaptioned_named}/{s.uncaptioned:<16d}"
            f" {s.wrong_name}/{s.turns} ({s.wrong_flagged})        {s.flagged}/{s.segments}"
        )


if __name__ == "__main__":
    main()
