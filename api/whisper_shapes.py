"""A transcript segment in the shape Whisper's own tools write it, shared by the OpenAI
(api/routes/openai_compat.py) and whisper-asr-webservice (api/routes/asr_compat.py) dialects."""

from __future__ import annotations

import math
import zlib
from typing import Any

from efir.transcripts.model import Segment

__all__ = ["whisper_segment"]


def whisper_segment(segment: Segment, *, words: bool = False) -> dict[str, Any]:
    """Whisper's segment fields plus efir's ``speaker``; ``words`` adds the word list.

    efir keeps no decoder tokens or per-window statistics: ``avg_logprob`` is the mean log
    probability of the segment's words, ``compression_ratio`` is computed as Whisper does
    (text bytes over zlib-compressed bytes), and since VAD removed non-speech before
    decoding, ``no_speech_prob`` is 0.
    """
    probabilities = [max(word.probability, 1e-10) for word in segment.words]
    text = segment.text.encode("utf-8")
    shaped: dict[str, Any] = {
        "id": segment.id,
        "seek": 0,
        "start": segment.start,
        "end": segment.end,
        "text": segment.text,
        "tokens": [],
        "temperature": 0.0,
        "avg_logprob": (
            sum(map(math.log, probabilities)) / len(probabilities) if probabilities else 0.0
        ),
        "compression_ratio": len(text) / len(zlib.compress(text)) if text else 0.0,
        "no_speech_prob": 0.0,
        "speaker": segment.speaker,
    }
    if words:
        shaped["words"] = [
            {
                "start": word.start,
                "end": word.end,
                "word": word.word,
                "probability": word.probability,
            }
            for word in segment.words
        ]
    return shaped
