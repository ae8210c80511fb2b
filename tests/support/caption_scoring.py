"""Who-speaks scores against the kit's truth, for bench/captions_bench.py and the tests.

A truth turn is "under" the name that most of its words' time carries in the
hypothesis. Captioned turns (a caption was on screen over them) must be under their
own caption's name; turns of speakers who have no caption anywhere must be under no
name at all; any turn under another person's name is a misattribution, and should at
least be flagged `check`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rapidfuzz import fuzz

from efir.transcripts.model import Transcript
from support.der import DerParts, der_parts, read_rttm, transcript_turns

__all__ = ["Score", "same_name", "score"]


@dataclass
class Score:
    der: float
    der_parts: DerParts
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
    """Scores of `transcript` against the kit truth beside `stem` (NAME.truth.json)."""
    truth = json.loads(stem.with_suffix(".truth.json").read_text(encoding="utf-8"))
    has_video = stem.with_suffix(".mp4").is_file()
    own_name = {t["speaker"]: t["caption_name"] for t in truth["turns"] if t.get("caption_name")}
    words = [
        (w.start, w.end, segment) for segment in transcript.segments for w in (segment.words or ())
    ]
    timed = any("caption_start" in t for t in truth["turns"])
    # getattr: the bench also scores the code from before segments had a check flag.
    flagged_segments = sum(1 for s in transcript.segments if getattr(s, "check", False))
    parts = der_parts(read_rttm(stem.with_suffix(".rttm")), transcript_turns(transcript))
    result = Score(
        der=parts.total,
        der_parts=parts,
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
