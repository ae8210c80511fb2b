"""EBU STL (EBU Tech 3264-E): the binary subtitle file broadcasters' teletext playout reads.

No PyPI package writes STL (pycaption and ttconv only read it; ttconv's reader checks
these files in tests), so this follows the spec: one 1024-byte General Subtitle
Information block, then one 128-byte Text and Timing Information block per cue (more when
a cue's text passes 112 bytes). Teletext level 1 (DSC "1"), the Cyrillic character table
ISO 8859-5 (CCT "01"), 25 frames a second (DFC "STL25.01"), double-height lines centred
at the bottom of the screen, at most 37 characters a line (``teletext_rules``).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import date

import iuliia

from efir.exports.cues import Cue

__all__ = ["STL_FPS", "render_stl"]

STL_FPS = 25
_TEXT_FIELD = 112
_DOUBLE_HEIGHT, _START_BOX, _END_BOX = b"\x0d", b"\x0b", b"\x0a"
_NEW_ROW, _FILL = b"\x8a", b"\x8f"
_LAST_ROW = 22  # double-height rows 22-23, the teletext subtitle line
_CENTRED = 2
_RUSSIAN = "56"  # Tech 3264 Appendix 3 language code
# Punctuation ISO 8859-5 lacks, as teletext subtitles write it.
_PLAIN = str.maketrans({"«": '"', "»": '"', "„": '"', "“": '"', "”": '"', "–": "-", "—": "-",
                        "’": "'", "…": "...", "\u00a0": " "})  # fmt: skip


def render_stl(cues: Sequence[Cue], *, title: str, today: date | None = None) -> bytes:
    """The cues (timed at 25 fps) as an EBU STL file; ``title`` fills the programme title,
    transliterated, since the GSI block is in code page 850."""
    blocks = [block for number, cue in enumerate(cues) for block in _tti_blocks(number, cue)]
    first = _timecode(cues[0].start_frame) if cues else b"\x00\x00\x00\x00"
    return _gsi_block(title, len(blocks), len(cues), first, today or date.today()) + b"".join(
        blocks
    )


def _gsi_block(title: str, blocks: int, subtitles: int, first: bytes, today: date) -> bytes:
    created = today.strftime("%y%m%d")
    first_in = "".join(f"{part:02d}" for part in first)
    fields = [
        ("850", 3),  # CPN: code page of this block
        (f"STL{STL_FPS}.01", 8),  # DFC
        ("1", 1),  # DSC: teletext level 1
        ("01", 2),  # CCT: ISO 8859-5 Cyrillic in the text fields
        (_RUSSIAN, 2),  # LC
        (iuliia.WIKIPEDIA.translate(title), 32),  # OPT
        ("", 32 * 5),  # OET, TPT, TET, TN, TCD
        ("", 16),  # SLR
        (created, 6),  # CD
        (created, 6),  # RD
        ("00", 2),  # RN
        (f"{blocks:05d}", 5),  # TNB
        (f"{subtitles:05d}", 5),  # TNS
        ("001", 3),  # TNG
        ("40", 2),  # MNC: a teletext row
        ("23", 2),  # MNR
        ("1", 1),  # TCS: timecodes are for use
        ("00000000", 8),  # TCP: programme starts at 00:00:00:00, as the media does
        (first_in, 8),  # TCF
        ("1", 1),  # TND
        ("1", 1),  # DSN
        ("", 3 + 32 * 3 + 75 + 576),  # CO, PUB, EN, ECD, spare, user area
    ]
    return b"".join(
        text.encode("cp850", errors="replace")[:size].ljust(size, b" ") for text, size in fields
    )


def _tti_blocks(number: int, cue: Cue) -> list[bytes]:
    """The cue's TTI block, and extension blocks while its text passes 112 bytes."""
    text = _text_field(cue.lines)
    pieces = [text[at : at + _TEXT_FIELD] for at in range(0, len(text), _TEXT_FIELD)] or [b""]
    row = _LAST_ROW - 2 * (len(cue.lines) - 1)
    blocks = []
    for index, piece in enumerate(pieces):
        extension = 0xFF if index == len(pieces) - 1 else index
        header = bytes([0]) + (number % 65536).to_bytes(2, "little") + bytes([extension, 0])
        timing = _timecode(cue.start_frame) + _timecode(cue.end_frame)
        layout = bytes([max(1, row), _CENTRED, 0])
        blocks.append(header + timing + layout + piece.ljust(_TEXT_FIELD, _FILL))
    return blocks


def _text_field(lines: Sequence[str]) -> bytes:
    """Each line double height in a box, rows apart by two row breaks (double height)."""
    rows = [_DOUBLE_HEIGHT + _START_BOX * 2 + _teletext(line) + _END_BOX * 2 for line in lines]
    return (_NEW_ROW * 2).join(rows)


def _teletext(line: str) -> bytes:
    """The line in ISO 8859-5, without stress marks; '?' for what the table lacks."""
    plain = "".join(c for c in unicodedata.normalize("NFC", line) if not unicodedata.combining(c))
    return plain.translate(_PLAIN).encode("iso8859_5", errors="replace")


def _timecode(frame: int) -> bytes:
    """hh mm ss ff, one binary byte each."""
    seconds, frames = divmod(frame, STL_FPS)
    return bytes([seconds // 3600 % 24, seconds % 3600 // 60, seconds % 60, frames])
