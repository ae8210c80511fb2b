"""TTML in the EBU-TT-D profile (EBU Tech 3380), built with xml.etree.

Times are media clock times (``hh:mm:ss.mmm``) that fall exactly on frame boundaries of
the rules' frame rate; each speaker is a ``ttm:agent`` in the head, referenced by the
``span`` of every line they speak. With ``frame_timecodes`` times are written as
``hh:mm:ss:ff`` with ``ttp:frameRate`` instead, as EBU-TT Part 1 (Tech 3350) and TTML1
allow for playout systems that want frames; EBU-TT-D itself has no frame times, so the
document then does not claim EBU-TT-D conformance. Frame timecodes need a whole frame
rate; at 29.97 and the like the clock times are kept.
"""

from __future__ import annotations

# Builds TTML for export; parses no XML, so none that is untrusted.
import xml.etree.ElementTree as ET  # nosec B405

from efir.exports.cues import Cue, media_clock
from efir.exports.turns import voice_name
from efir.transcripts.model import Transcript

__all__ = ["render_ttml"]

TT = "http://www.w3.org/ns/ttml"
TTS = "http://www.w3.org/ns/ttml#styling"
TTP = "http://www.w3.org/ns/ttml#parameter"
TTM = "http://www.w3.org/ns/ttml#metadata"
EBUTTM = "urn:ebu:tt:metadata"
XML = "http://www.w3.org/XML/1998/namespace"

for _prefix, _uri in (("", TT), ("tts", TTS), ("ttp", TTP), ("ttm", TTM), ("ebuttm", EBUTTM)):
    ET.register_namespace(_prefix, _uri)


def _agent_id(index: int) -> str:
    return f"speaker{index + 1}"


def _frame_clock(frame: int, fps: float) -> str:
    frames_per_second = round(fps)
    seconds, frames = divmod(frame, frames_per_second)
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}:{frames:02d}"


def render_ttml(
    cues: list[Cue], transcript: Transcript, *, fps: float, frame_timecodes: bool = False
) -> bytes:
    frame_timecodes = frame_timecodes and fps == round(fps)
    attributes = {
        f"{{{XML}}}lang": transcript.language or "ru",
        f"{{{TTP}}}timeBase": "media",
        f"{{{TTP}}}cellResolution": "50 30",
    }
    if frame_timecodes:
        attributes[f"{{{TTP}}}frameRate"] = str(round(fps))
    tt = ET.Element(f"{{{TT}}}tt", attributes)
    head = ET.SubElement(tt, f"{{{TT}}}head")
    metadata = ET.SubElement(head, f"{{{TT}}}metadata")
    if not frame_timecodes:
        header = ET.SubElement(metadata, f"{{{EBUTTM}}}documentMetadata")
        conforms = ET.SubElement(header, f"{{{EBUTTM}}}conformsToStandard")
        conforms.text = "urn:ebu:tt:distribution:2018-04"
    speaker_ids = list(dict.fromkeys(s for cue in cues for s in cue.speakers))
    agents = {}
    for index, speaker_id in enumerate(speaker_ids):
        agents[speaker_id] = _agent_id(index)
        agent = ET.SubElement(
            metadata, f"{{{TTM}}}agent", {f"{{{XML}}}id": agents[speaker_id], "type": "person"}
        )
        name = ET.SubElement(agent, f"{{{TTM}}}name", {"type": "full"})
        name.text = voice_name(transcript, speaker_id)
    styling = ET.SubElement(head, f"{{{TT}}}styling")
    ET.SubElement(
        styling,
        f"{{{TT}}}style",
        {
            f"{{{XML}}}id": "default",
            f"{{{TTS}}}fontFamily": "proportionalSansSerif",
            f"{{{TTS}}}fontSize": "100%",
            f"{{{TTS}}}lineHeight": "normal",
            f"{{{TTS}}}textAlign": "center",
            f"{{{TTS}}}color": "#FFFFFF",
            f"{{{TTS}}}backgroundColor": "#000000C2",
        },
    )
    layout = ET.SubElement(head, f"{{{TT}}}layout")
    ET.SubElement(
        layout,
        f"{{{TT}}}region",
        {
            f"{{{XML}}}id": "bottom",
            f"{{{TTS}}}origin": "10% 10%",
            f"{{{TTS}}}extent": "80% 80%",
            f"{{{TTS}}}displayAlign": "after",
        },
    )
    body = ET.SubElement(tt, f"{{{TT}}}body", {"style": "default"})
    div = ET.SubElement(body, f"{{{TT}}}div")
    for number, cue in enumerate(cues, start=1):
        paragraph = ET.SubElement(
            div,
            f"{{{TT}}}p",
            {
                f"{{{XML}}}id": f"sub{number}",
                "begin": _frame_clock(cue.start_frame, fps)
                if frame_timecodes
                else media_clock(cue.start_ms),
                "end": _frame_clock(cue.end_frame, fps)
                if frame_timecodes
                else media_clock(cue.end_ms),
                "region": "bottom",
            },
        )
        for index, (line, speaker_id) in enumerate(zip(cue.lines, cue.speakers, strict=True)):
            if index:
                ET.SubElement(paragraph, f"{{{TT}}}br")
            speaker_ref = {f"{{{TTM}}}agent": agents[speaker_id]}
            ET.SubElement(paragraph, f"{{{TT}}}span", speaker_ref).text = line
    ET.indent(tt, space="  ")
    for paragraph in div:
        # Whitespace inside a paragraph would be rendered: keep its lines flush.
        paragraph.text = None
        for child in paragraph:
            child.tail = None
    document: bytes = ET.tostring(tt, encoding="utf-8", xml_declaration=True)
    return document
