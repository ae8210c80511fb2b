"""Numbers as digits for exports (`numbers=digits`): «за десять лет» → «за 10 лет».

Transcripts spell numbers out (Whisper base garbles digits, and spelled-out words keep
one timestamp each and match lemma search); subtitles want digits. number-parser reads
Russian cardinals in any case («трехсот двадцати» → 320). Style, as subtitles write:
a closing scale word stays a word («320 миллионов», not 320000000), a lone «один/одна» stays
a word («один из них»), ordinals stay words, and so does a number an ordinal ends
(«две тысячи двадцать четвертом»); five digits and more get thin-space
groups («15 300»).
"""

from __future__ import annotations

import re
from dataclasses import replace

from number_parser import parse_number

from efir.transcripts.model import Segment, Transcript, Word

__all__ = ["NUMBER_STYLES", "with_digits"]

NUMBER_STYLES = ("words", "digits")
_CORE = re.compile(r"^(\s*\W*)(\w+)(\W*)$")
_SCALE = re.compile(r"^(тысяч|миллион|миллиард|триллион)")
_LONE_WORDS = re.compile(r"^(один|одна|одно|одного|одной|одному|одним|одном|одну)$")
_THIN_SPACE = "\u202f"
_ORDINAL = re.compile(
    r"^(перв|втор|трет|четв[её]рт|пят|шест|седьм|восьм|девят|десят|\w+надцат|\w+дцат"
    r"|сороков|\w+десят|девяност|сот|\w+сот|тысячн|миллионн)"
    r"(ый|ой|ий|ая|ое|ые|ого|ому|ым|ом|ую|ых|ыми|ья|ье|ьего|ьему|ьим|ьем|ью|ьи|ьих)$"
)


def with_digits(transcript: Transcript) -> Transcript:
    """The transcript with every run of number words written as one number in digits."""
    return replace(transcript, segments=tuple(_segment(s) for s in transcript.segments))


def _segment(segment: Segment) -> Segment:
    words = _digit_words(segment.words)
    if words == list(segment.words):
        return segment
    # The text is converted on its own: words may be spelled for speech ("энпэ+о").
    tokens = tuple(Word(0.0, 0.0, " " + token) for token in segment.text.split())
    text = "".join(w.word for w in _digit_words(tokens)).strip()
    return replace(segment, words=tuple(words), text=text)


def _digit_words(words: tuple[Word, ...]) -> list[Word]:
    result: list[Word] = []
    i = 0
    while i < len(words):
        run = _number_run(words, i)
        if not run:
            result.append(words[i])
            i += 1
            continue
        following = _CORE.match(words[i + run].word) if i + run < len(words) else None
        if following and _ORDINAL.match(following.group(2).lower()):
            # "две тысячи двадцать четвертом": number-parser has no Russian ordinals,
            # and "2020 четвертом" would be wrong.
            result.extend(words[i : i + run])
        else:
            result.extend(_as_digits(words[i : i + run]))
        i += run
    return result


def _number_run(words: tuple[Word, ...], start: int) -> int:
    """How many words from `start` spell one number (punctuation ends a run)."""
    size = 0
    while start + size < len(words):
        match = _CORE.match(words[start + size].word)
        if match is None or not _is_number_word(match.group(2)):
            break
        size += 1
        if match.group(3):
            break  # "двадцать," closes the number
    return size


def _is_number_word(core: str) -> bool:
    return parse_number(core.lower(), language="ru") is not None


def _as_digits(run: tuple[Word, ...]) -> list[Word]:
    cores = [_CORE.match(w.word) for w in run]
    texts = [m.group(2).lower() for m in cores if m]
    scale = texts[-1] if _SCALE.match(texts[-1]) else None
    spoken = texts[:-1] if scale and len(texts) > 1 else texts
    if len(spoken) == 1 and _LONE_WORDS.match(spoken[0]) and not scale:
        return list(run)
    value = parse_number(" ".join(spoken), language="ru")
    if value is None:
        return list(run)
    first, last = cores[0], cores[-1]
    lead = first.group(1) if first else ""
    digits = f"{value:,}".replace(",", _THIN_SPACE) if value >= 10000 else str(value)
    number_end = run[len(spoken) - 1]
    number = Word(run[0].start, number_end.end, lead + digits, run[0].probability)
    if not (scale and len(texts) > 1):
        return [replace(number, word=number.word + (last.group(3) if last else ""))]
    scale_word = run[-1]
    return [number, scale_word]
