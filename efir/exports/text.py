"""Plain text in broadcast-transcript form, the way a Russian newsroom files a story:

[00:00:21] Корр:
Главная тема одиннадцатого Гражданского форума…

[00:01:56] Ерлан СПАНОВ, ЗАМЕСТИТЕЛЬ АКИМА КОСТАНАЙСКОЙ ОБЛАСТИ:
«Сегодня неправительственный сектор области…».

With `mark_checks`, a turn whose name the speaker stage was unsure of is headed
"[ПРОВЕРИТЬ] NAME, TITLE:" so nobody files it unread.
"""

from __future__ import annotations

from efir.exports.turns import format_clock, turns_of
from efir.transcripts.model import Transcript

__all__ = ["CHECK_MARK", "quoted", "render_text"]


CHECK_MARK = "[ПРОВЕРИТЬ]"


def render_text(
    transcript: Transcript, *, timecodes: bool = False, mark_checks: bool = False
) -> str:
    blocks = []
    for turn in turns_of(transcript):
        heading = f"{turn.heading}:"
        if mark_checks and turn.check:
            heading = f"{CHECK_MARK} {heading}"
        if timecodes:
            heading = f"[{format_clock(turn.start)}] {heading}"
        body = quoted(turn.text) if turn.quoted else turn.text
        blocks.append(f"{heading}\n{body}\n")
    return "\n".join(blocks)


def quoted(text: str) -> str:
    # Russian punctuation: a closing full stop goes outside the quotes, ! ? … stay inside.
    if text.endswith(".") and not text.endswith("..."):
        return f"«{text[:-1]}»."
    return f"«{text}»"
