"""The vote between readings of the same speech (worker/stages/vote.py)."""

from __future__ import annotations

from efir.transcripts.model import Word
from worker.stages.vote import vote


def reading(text: str, sure: float = 0.9, **probabilities: float) -> list[Word]:
    """One word a second; `probabilities` overrides a word's (keyed by the word)."""
    return [
        Word(float(i), i + 0.8, f" {word}", probabilities.get(word.strip(".,"), sure))
        for i, word in enumerate(text.split())
    ]


def texts(words: list[Word]) -> str:
    return " ".join(word.word.strip() for word in words)


def test_two_readings_against_one_win_and_the_loser_is_an_alternative() -> None:
    first = reading("Уровень воды в рики поднялся.", рики=0.95)
    voted = vote(
        [first, reading("Уровень воды в реке поднялся."), reading("уровень воды в реке поднялся")],
        3,
    )
    assert texts(voted) == "Уровень воды в реке поднялся."
    assert [w.alternatives for w in voted] == [(), (), (), ("рики",), ()]
    # The winning word is the second reading's own, times and all.
    assert voted[3] == Word(3.0, 3.8, " реке", 0.9, alternatives=("рики",))


def test_case_and_punctuation_do_not_split_a_vote() -> None:
    readings = [reading("В реке."), reading("в реке"), reading("В реке,")]
    assert vote(readings, 3) == readings[0]


def test_with_no_two_alike_the_surest_reading_wins() -> None:
    readings = [
        reading("дамбу укрепляют круглые сутки", круглые=0.3),
        reading("дамбу укрепляет круглый сутки", укрепляет=0.8, круглый=0.8),
        reading("дамбу укрепляют круглой сутки", круглой=0.4),
    ]
    voted = vote(readings, 3)
    assert texts(voted) == "дамбу укрепляет круглый сутки"
    assert voted[1].alternatives == ("укрепляют круглые", "укрепляют круглой")


def test_a_tie_between_two_readings_goes_to_the_surer() -> None:
    # Two readings: no majority, so confidence decides, the first one's on a tie.
    plain, slower = (
        reading("работают двухсочеловек", двухсочеловек=0.4),
        reading("работают двести человек"),
    )
    assert texts(vote([plain, slower], 3)) == "работают двести человек"
    assert texts(vote([reading("работают двести"), reading("работают двести")], 3)) == (
        "работают двести"
    )
    same_sureness = [reading("а б в"), reading("а г в")]
    assert texts(vote(same_sureness, 3)) == "а б в"


def test_a_word_split_in_two_is_voted_as_one_stretch() -> None:
    readings = [
        reading("в городском отделе справительства обещают"),
        reading("в городском отделе строительства обещают"),
        reading("в городском отделе с правительства обещают"),
    ]
    voted = vote(readings, 3)
    # Three different stretches: the surest, with the same probabilities the first's.
    assert texts(voted) == "в городском отделе справительства обещают"
    readings[2] = reading("в городском отделе строительства обещают")
    assert texts(vote(readings, 3)) == "в городском отделе строительства обещают"


def test_a_word_only_one_reading_holds_is_dropped() -> None:
    readings = [
        reading("почти на полметра"),
        reading("почти на на полметра", на=0.99),
        reading("почти на полметра"),
    ]
    assert texts(vote(readings, 3)) == "почти на полметра"


def test_long_stretches_win_without_becoming_alternatives() -> None:
    long_one = "совсем другое предложение из пяти слов"
    readings = [reading(f"начало {long_one}"), reading("начало короче"), reading("начало короче")]
    voted = vote(readings, 3)
    assert texts(voted) == "начало короче"
    assert all(not w.alternatives for w in voted)


def test_one_reading_is_returned_as_it_is() -> None:
    words = reading("Всё здесь покрыто водой.")
    assert vote([words], 3) == words
    assert vote([[], []], 3) == []
