"""Numbers as digits in exports (numbers=digits; efir/exports/numbers.py)."""

from __future__ import annotations

import pytest
from support.subtitle_rules import truth_transcript

from efir.exports import render
from efir.exports.numbers import with_digits
from efir.transcripts.model import Segment, Transcript, Word


def spoken(text: str) -> Transcript:
    words = tuple(Word(float(i), i + 0.8, " " + w) for i, w in enumerate(text.split()))
    return Transcript(len(words), "ru", "m", (Segment(0, 0.0, len(words), text, words=words),))


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("за десять лет", "за 10 лет"),
        ("более двухсот человек и сорок единиц техники", "более 200 человек и 40 единиц техники"),
        ("с трехсот двадцати миллионов до одного миллиарда тенге.",
         "с 320 миллионов до 1 миллиарда тенге."),
        ("пятнадцать тысяч триста рублей", "15\u202f300 рублей"),
        ("в две тысячи двадцать четвертом году", "в две тысячи двадцать четвертом году"),
        ("две тысячи двадцать четыре", "2024"),
        ("двадцать пять, тридцать", "25, 30"),
        ("один из них", "один из них"),  # a lone "один" reads better as a word
        ("одиннадцатый по счету", "одиннадцатый по счету"),  # ordinals stay words
        ("никаких чисел здесь нет", "никаких чисел здесь нет"),
    ],
)  # fmt: skip
def test_number_words_become_digits(text: str, digits: str) -> None:
    assert with_digits(spoken(text)).segments[0].text == digits


def test_a_number_keeps_the_time_of_its_words() -> None:
    result = with_digits(spoken("сорок две единицы"))
    number, unit = result.segments[0].words
    assert (number.start, number.end, number.word) == (0.0, 1.8, " 42")
    assert (unit.start, unit.word) == (2.0, " единицы")


def test_exports_keep_words_by_default_and_write_digits_on_request() -> None:
    seed = truth_transcript()
    words = render(seed, "txt").decode()
    digits = render(seed, "srt", numbers="digits").decode()
    assert "трехсот двадцати миллионов" in words
    assert "320 миллионов" in digits and "трехсот" not in digits
    with pytest.raises(ValueError, match="numbers"):
        render(seed, "txt", numbers="roman")
