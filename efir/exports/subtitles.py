"""SRT (written by pysubs2) and WebVTT with voice tags (written by webvtt-py)."""

from __future__ import annotations

import html

import pysubs2
import webvtt

from efir.exports.cues import Cue, media_clock
from efir.exports.turns import voice_name
from efir.transcripts.model import Transcript

__all__ = ["render_srt", "render_vtt"]


def render_srt(cues: list[Cue]) -> str:
    subs = pysubs2.SSAFile()
    for cue in cues:
        event = pysubs2.SSAEvent(start=cue.start_ms, end=cue.end_ms)
        event.plaintext = cue.text
        subs.append(event)
    # keep_ssa_tags: pass the text through untouched, so a "{" in speech is not a style tag
    text: str = subs.to_string("srt", keep_ssa_tags=True)
    return text


def render_vtt(cues: list[Cue], transcript: Transcript) -> str:
    """Each cue opens with ``<v Speaker>``; a two-speaker cue tags each dash line."""
    captions = []
    for cue in cues:
        lines = [html.escape(line, quote=False) for line in cue.lines]
        voices = [html.escape(voice_name(transcript, s), quote=False) for s in cue.speakers]
        if cue.dashed:
            lines = [f"<v {voice}>{line}</v>" for voice, line in zip(voices, lines, strict=True)]
        else:
            lines[0] = f"<v {voices[0]}>{lines[0]}"
        captions.append(webvtt.Caption(media_clock(cue.start_ms), media_clock(cue.end_ms), lines))
    content: str = webvtt.WebVTT(captions=captions).content
    return content
